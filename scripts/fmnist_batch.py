#!/usr/bin/env python3
"""Writes the inputs of the zoo MLP for the demo as .npy files, without NumPy:
a batch of 128 Fashion-MNIST test images (the real dataset from Debian's
dataset-fashion-mnist, scaled to [0, 1] and normalised with mean 0.2860 and
std 0.3530), their one-hot labels, and seeded random weights (uniform in
+-1/sqrt(fan_in), as torch.nn.Linear initialises them).

  fmnist_batch.py OUT_DIR [--dataset DIR] [--seed N]
"""
import argparse
import gzip
import os
import random
import struct
import sys

MEAN, STD = 0.2860, 0.3530


def write_npy(path, shape, values):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else ""))
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
        f.write(header.encode("latin1"))
        f.write(struct.pack("<%df" % len(values), *values))


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, count = struct.unpack(">II", data[:8])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return shape, data[4 + 4 * dims:]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out")
    parser.add_argument("--dataset", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    images = os.path.join(args.dataset, "t10k-images-idx3-ubyte.gz")
    labels = os.path.join(args.dataset, "t10k-labels-idx1-ubyte.gz")
    for path in (images, labels):
        if not os.path.exists(path):
            sys.exit("fmnist_batch.py: %s not found (apt-get install "
                     "dataset-fashion-mnist)" % path)
    shape, pixels = read_idx(images)
    _, label_bytes = read_idx(labels)
    n, size = args.batch, shape[1] * shape[2]
    x = [((p / 255.0) - MEAN) / STD for p in pixels[:n * size]]
    onehot = [0.0] * (n * 10)
    for i in range(n):
        onehot[i * 10 + label_bytes[i]] = 1.0
    os.makedirs(args.out, exist_ok=True)
    write_npy(os.path.join(args.out, "x.npy"), (n, size), x)
    write_npy(os.path.join(args.out, "onehot.npy"), (n, 10), onehot)
    rng = random.Random(args.seed)

    def uniform(count, fan_in):
        bound = 1.0 / fan_in ** 0.5
        return [rng.uniform(-bound, bound) for _ in range(count)]

    write_npy(os.path.join(args.out, "w1.npy"), (size, 256), uniform(size * 256, size))
    write_npy(os.path.join(args.out, "b1.npy"), (256,), uniform(256, size))
    write_npy(os.path.join(args.out, "w2.npy"), (256, 10), uniform(2560, 256))
    write_npy(os.path.join(args.out, "b2.npy"), (10,), uniform(10, 256))
    with open(os.path.join(args.out, "labels.txt"), "w") as f:
        f.write(" ".join(str(label_bytes[i]) for i in range(n)) + "\n")


if __name__ == "__main__":
    main()
