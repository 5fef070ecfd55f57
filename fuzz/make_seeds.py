#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into fuzz/corpus/ (run with
Debian's /usr/bin/python3 and python3-numpy; the files are in the tree, so
this only needs to run again when a format changes)."""
import gzip
import io
import os
import random
import struct
import zlib

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as f:
        f.write(data)


def npy_seeds():
    arrays = {
        "f32": np.arange(6, dtype=np.float32).reshape(2, 3),
        "f64": np.array([1.5, -2.0]),
        "f16": np.ones((2, 2), dtype=np.float16),
        "bool": np.array([True, False]),
        "i8": np.array([-1, 2], dtype=np.int8),
        "i32": np.arange(4, dtype=np.int32),
        "i64": np.array(7, dtype=np.int64),
        "u8": np.arange(5, dtype=np.uint8),
        "u16": np.arange(3, dtype=np.uint16),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }
    for name, array in arrays.items():
        buffer = io.BytesIO()
        np.save(buffer, array)
        write("npy", name + ".npy", buffer.getvalue())
    # Format 2.0 (4-byte header length).
    header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }"
    header += b" " * (-(len(header) + 13) % 64) + b"\n"
    write("npy", "v2.npy", b"\x93NUMPY\x02\x00" + struct.pack("<I", len(header)) +
          header + np.array([1, 2], dtype=np.float32).tobytes())


def idx_seeds():
    images = bytes([0, 0, 8, 3]) + struct.pack(">III", 2, 3, 3) + bytes(range(18))
    labels = bytes([0, 0, 8, 1]) + struct.pack(">I", 4) + bytes([1, 2, 3, 9])
    write("idx", "images-idx3", images)
    write("idx", "labels-idx1", labels)
    write("idx", "images-idx3.gz", gzip.compress(images))
    # Two gzip members, as concatenated files are.
    write("idx", "labels-two-members.gz",
          gzip.compress(labels[:6]) + gzip.compress(labels[6:]))


def literal_seeds():
    for i, text in enumerate(["2x3xf32=1 2 3 4 5 6", "f32=1.5", "4xbf16=1,2,3,4",
                              "2x2xf16=[[1, 2], [3, 4]]", "3xi32=1 -2 3",
                              "2xi64=9007199254740992 -5", "2xi1=0 1",
                              "2xi8=-128 127", "2xf8E4M3FN=448 -0.5",
                              "1xf8E5M2=57344", "0x4xf64=", "8xf32=0.25"]):
        write("literal", "seed%02d" % i, text.encode())


def checkpoint_seed(w, step):
    def entry(name, dtype, shape, data):
        body = struct.pack("<I", len(name)) + name + struct.pack("<II", dtype, len(shape))
        body += b"".join(struct.pack("<q", d) for d in shape)
        body += struct.pack("<Q", len(data)) + data
        return body + struct.pack("<I", zlib.crc32(body))
    f32, i64 = 0, 9  # ampc_rt::DType
    data = b"AMPCCKPT" + struct.pack("<IQ", 2, 2)
    data += entry(b"w", f32, [2, 3], np.asarray(w, dtype=np.float32).tobytes())
    data += entry(b"step", i64, [], struct.pack("<q", step))
    return data + struct.pack("<I", zlib.crc32(data))


def checkpoint_seeds():
    write("checkpoint", "state", checkpoint_seed(np.arange(6) / 4, 3))
    write("checkpoint", "zeros", checkpoint_seed(np.zeros(6), 0))


def ir_seeds():
    rng = random.Random(1)
    for i in range(16):
        write("ir", "seed%02d" % i, bytes(rng.randrange(256) for _ in range(24 + 6 * i)))


if __name__ == "__main__":
    npy_seeds()
    idx_seeds()
    literal_seeds()
    checkpoint_seeds()
    ir_seeds()
