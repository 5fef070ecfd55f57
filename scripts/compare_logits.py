#!/usr/bin/env python3
"""Compares the logits each policy computed with the fp32 ones: largest
absolute difference, and how often the predicted class agrees.

  compare_logits.py DIR   (reads DIR/logits-<policy>.npy and DIR/loss-<policy>.npy)
"""
import os
import struct
import sys


def read_f32(path):
    with open(path, "rb") as f:
        blob = f.read()
    length = struct.unpack("<H", blob[8:10])[0]
    data = blob[10 + length:]
    return list(struct.unpack("<%df" % (len(data) // 4), data))


def main():
    d = sys.argv[1]
    ref = read_f32(os.path.join(d, "logits-fp32.npy"))
    rows = len(ref) // 10
    argmax = lambda v, r: max(range(10), key=lambda c: v[r * 10 + c])
    print("%-6s %10s %14s %18s" % ("policy", "loss", "max |dlogit|", "same prediction"))
    for policy in ("fp32", "bf16", "fp16", "fp8"):
        logits = read_f32(os.path.join(d, "logits-%s.npy" % policy))
        loss = read_f32(os.path.join(d, "loss-%s.npy" % policy))[0]
        diff = max(abs(a - b) for a, b in zip(logits, ref))
        same = sum(argmax(logits, r) == argmax(ref, r) for r in range(rows))
        print("%-6s %10.5f %14.6f %13d / %d" % (policy, loss, diff, same, rows))


if __name__ == "__main__":
    main()
