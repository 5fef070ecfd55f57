#!/usr/bin/env python3
"""Trains a PyTorch model on Fashion-MNIST in PyTorch (fp32) and, exported to
ONNX, with `ampc-train` under each policy, from the same initial weights and
with the same schedule; prints the test accuracies side by side.

    compare_torch.py BIN_DIR [--model cnn|cnn_dropout|mlp|transformer] [--epochs 1]
                     [--batch 64] [--lr 0.05] [--policies fp32,bf16,fp16,fp8]

Both sides: SGD with momentum 0.9, softmax cross-entropy averaged over the
batch, inputs (x / 255 - 0.2860) / 0.3530, a fresh shuffle per epoch (each
side its own), evaluation on the 10,000 test images in eval mode. The CNN's
BatchNorm trains with batch statistics on both sides (module.train(); the
ONNX export in training mode) and evaluates with its running statistics.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_torch  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"


def idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(split):
    prefix = "train" if split == "train" else "t10k"
    x = idx(f"{prefix}-images-idx3-ubyte.gz").astype(np.float32)
    x = (x / 255.0 - 0.2860) / 0.3530
    y = idx(f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def train_torch(name, module, args):
    """`module` as exported (its state is the ONNX file's initializers)."""
    shape = export_torch.MODELS[name][1][1:]
    x, y = load("train")
    tx, ty = load("test")
    opt = torch.optim.SGD(module.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(0)
    start = time.time()
    steps = 0
    for _ in range(args.epochs):
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x) - args.batch + 1, args.batch):
            idx_ = order[i:i + args.batch]
            opt.zero_grad()
            loss = loss_fn(module(x[idx_].view(-1, *shape)), y[idx_])
            loss.backward()
            opt.step()
            steps += 1
    ms = (time.time() - start) * 1000 / max(steps, 1)
    module.eval()
    with torch.no_grad():
        predicted = torch.cat([module(tx[i:i + 1000].view(-1, *shape)).argmax(1)
                               for i in range(0, len(tx), 1000)])
    return float((predicted == ty).float().mean() * 100), ms


def train_ampc(path, args, tmp):
    summary = os.path.join(tmp, "summary.json")
    subprocess.run([os.path.join(args.bin, "ampc-train"), path,
                    f"--batch={args.batch}", f"--epochs={args.epochs}",
                    f"--lr={args.lr}", "--momentum=0.9",
                    f"--policy={args.policies}", "--progress=never",
                    f"--summary-json={summary}"], check=True,
                   stdout=subprocess.DEVNULL)
    return json.load(open(summary))["policies"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bin")
    parser.add_argument("--model", default="cnn", choices=list(export_torch.MODELS))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--policies", default="fp32,bf16,fp16,fp8")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count())
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, args.model + ".onnx")
        module = export_torch.export(args.model, path)
        torch_accuracy, torch_ms = train_torch(args.model, module, args)
        runs = train_ampc(path, args, tmp)
    print(f"{args.model}: {args.epochs} epoch(s), batch {args.batch}, SGD lr "
          f"{args.lr} momentum 0.9, Fashion-MNIST test accuracy")
    print(f"  PyTorch {torch.__version__} fp32: {torch_accuracy:.2f}%  "
          f"({torch_ms:.2f} ms/step)")
    for run in runs:
        accuracy = run["final_test_accuracy_percent"]
        print(f"  AMPC {run['policy']:5s}: {accuracy:.2f}%  "
              f"({accuracy - torch_accuracy:+.2f} points, "
              f"{run['mean_ms_per_step']:.2f} ms/step)")


if __name__ == "__main__":
    main()
