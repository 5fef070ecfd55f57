#!/usr/bin/env python3
"""Writes the PTX of every gpu.binary object of an MLIR file to OUT_DIR.

  extract_ptx.py FILE.mlir OUT_DIR      writes OUT_DIR/<binary>.ptx, prints them

The PTX is the `assembly` string of a #gpu.object (format=isa), with MLIR's escapes
(\\XX hex, \\", \\\\) undone.
"""
import os
import re
import sys


def unescape(text):
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            nxt = text[i + 1]
            if nxt in "\"\\":
                out.append(ord(nxt))
                i += 2
            elif nxt == "n":
                out.append(10)
                i += 2
            elif nxt == "t":
                out.append(9)
                i += 2
            else:
                out.append(int(text[i + 1:i + 3], 16))
                i += 3
        else:
            out.extend(c.encode("utf-8"))
            i += 1
    return bytes(out)


def main():
    source, out_dir = sys.argv[1], sys.argv[2]
    text = open(source, encoding="utf-8").read()
    os.makedirs(out_dir, exist_ok=True)
    found = 0
    pattern = r'gpu\.binary @(\w+)[^\[]*\[#gpu\.object<.*?assembly = "((?:[^"\\]|\\.)*)"'
    for match in re.finditer(pattern, text):
        name, body = match.group(1), match.group(2)
        path = os.path.join(out_dir, name + ".ptx")
        with open(path, "wb") as f:
            f.write(unescape(body).rstrip(b"\0"))
        print(path)
        found += 1
    if not found:
        sys.exit("extract_ptx.py: no gpu.binary with PTX in " + source)


if __name__ == "__main__":
    main()
