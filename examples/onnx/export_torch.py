#!/usr/bin/env python3
"""Exports PyTorch models to ONNX for AMPC (needs python3-torch), and checks
that AMPC computes what PyTorch computes.

    export_torch.py OUTDIR                  # writes mlp.onnx, cnn.onnx, cnn_dropout.onnx, transformer.onnx
    export_torch.py OUTDIR --check BIN_DIR  # ... and runs each with BIN_DIR/ampc-run

The models classify Fashion-MNIST (28x28 images, 10 classes):
  mlp          784-256-10 with ReLU (torch.nn.Linear: Gemm)
  cnn          LeNet-style: two 5x5 convolutions with BatchNorm and ReLU, 2x2
               max pooling, three linear layers; exported in training mode,
               so that BatchNorm normalizes by the batch's statistics and
               carries its running statistics (AMPC's @forward_train), as
               module.train() does
  cnn_dropout  the same with dropout (0.25) after the first linear layer,
               which drops in training (@forward_train) and not in
               evaluation
  transformer  the 28 rows as tokens: a linear embedding, one
               torch.nn.TransformerEncoderLayer (4 heads), the mean over
               tokens, a linear classifier

Each is exported with a dynamic batch (dynamic_axes), opset 13 (17 for the
transformer's LayerNormalization), from torch.manual_seed(0) weights, so
`ampc-train OUTDIR/cnn.onnx --batch=64` trains from the same initial
weights as the PyTorch module.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import torch
import torch.nn as nn


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 256)
        self.fc2 = nn.Linear(256, 10)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.flatten(1))))


class LeNet(nn.Module):
    def __init__(self, dropout=0.0):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.bn2 = nn.BatchNorm2d(16)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)
        self.drop = nn.Dropout(dropout) if dropout else nn.Identity()

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = torch.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        x = x.view(x.size(0), -1)
        x = self.drop(torch.relu(self.fc1(x)))
        return self.fc3(torch.relu(self.fc2(x)))


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(28, 32)
        self.encoder = nn.TransformerEncoderLayer(
            d_model=32, nhead=4, dim_feedforward=64, dropout=0.0,
            batch_first=True)
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        h = self.encoder(self.embed(x.view(x.size(0), 28, 28)))
        return self.head(h.mean(dim=1))


# name -> (module class, example input shape, opset, exported for training)
MODELS = {
    "mlp": (Mlp, (1, 784), 13, False),
    "cnn": (LeNet, (2, 1, 28, 28), 13, True),
    "cnn_dropout": (lambda: LeNet(0.25), (2, 1, 28, 28), 13, True),
    "transformer": (Transformer, (1, 28, 28), 17, False),
}


def build(name):
    """The module from seed 0, in the mode it is exported and trained in."""
    torch.manual_seed(0)
    return MODELS[name][0]().train(MODELS[name][3])


def export(name, path):
    module = build(name)
    _, shape, opset, training = MODELS[name]
    mode = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL
    with warnings.catch_warnings():
        # The exporter warns about every BatchNorm's step counter.
        warnings.simplefilter("ignore")
        torch.onnx.export(module, torch.randn(*shape), path, opset_version=opset,
                          input_names=["x"], output_names=["logits"], training=mode,
                          do_constant_folding=not training,
                          dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}})
    # Tracing in training mode ran the module once (its running statistics
    # moved); the initializers hold the module's state after that run, as
    # the module does.
    return module


def check(name, module, path, bin_dir):
    """AMPC's forward pass on a random batch of 5 against PyTorch's, both
    in evaluation mode (a training-mode export evaluates with its running
    statistics: AMPC's @forward)."""
    module.eval()
    x = torch.randn(5, *MODELS[name][1][1:])
    with tempfile.TemporaryDirectory() as tmp:
        np.save(os.path.join(tmp, "x.npy"), x.numpy())
        subprocess.run([os.path.join(bin_dir, "ampc-run"), path, "--batch=5",
                        f"--input=@{tmp}/x.npy", f"--output=@{tmp}/y.npy"],
                       check=True)
        got = np.load(os.path.join(tmp, "y.npy"))
    want = module(x).detach().numpy()
    error = float(np.abs(got - want).max())
    ok = np.allclose(got, want, rtol=1e-4, atol=1e-5)
    print(f"{'ok  ' if ok else 'FAIL'} {name}: AMPC vs PyTorch max abs "
          f"difference {error:.2e}")
    return ok


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--check", metavar="BIN_DIR")
    parser.add_argument("--models", default=",".join(MODELS))
    args = parser.parse_args()
    os.makedirs(args.outdir, exist_ok=True)
    ok = True
    for name in args.models.split(","):
        path = os.path.join(args.outdir, name + ".onnx")
        module = export(name, path)
        print(f"wrote {path}")
        if args.check:
            ok = check(name, module, path, args.check) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
