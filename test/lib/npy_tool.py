#!/usr/bin/env python3
"""Writes and dumps .npy files for the lit tests, without NumPy.

  npy_tool.py write PATH DESCR SHAPE V1 V2 ...   e.g. write a.npy '<f4' 2,3 1 2 3 4 5 6
  npy_tool.py dump PATH                          prints descr, shape, values
Values of '<u2' and '|u1' arrays are integers (bit patterns), written and
printed in hex (0x3f80).
"""
import struct
import sys

FORMATS = {"<f4": "f", "<f8": "d", "<f2": "e", "<i4": "i", "<i8": "q",
           "|i1": "b", "|u1": "B", "<u2": "H", "|b1": "?"}


def write(path, descr, shape, values):
    dims = tuple(int(d) for d in shape.split(",") if d) if shape != "()" else ()
    code = FORMATS[descr]
    parse = (lambda v: int(v, 0)) if code in "iqbBH?" else float
    data = struct.pack("<" + code * len(values), *[parse(v) for v in values])
    shape_text = "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, shape_text)
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode("latin1") + data)


def dump(path):
    with open(path, "rb") as f:
        blob = f.read()
    assert blob[:6] == b"\x93NUMPY", "not a .npy file"
    length = struct.unpack("<H", blob[8:10])[0]
    header = eval(blob[10:10 + length].decode("latin1"))
    code = FORMATS[header["descr"]]
    count = 1
    for d in header["shape"]:
        count *= d
    values = struct.unpack("<" + code * count, blob[10 + length:])
    if code in "BH":
        text = " ".join("0x%x" % v for v in values)
    else:
        text = " ".join(repr(v) for v in values)
    print("descr=%s shape=%s" % (header["descr"], header["shape"]))
    print("values=" + text)


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    else:
        dump(sys.argv[2])
