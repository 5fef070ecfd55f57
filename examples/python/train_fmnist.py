#!/usr/bin/env python3
"""Trains the zoo MLP on Fashion-MNIST under a policy with the `ampc` module.

Usage: train_fmnist.py [STEPS] [POLICY] [MODEL]   (defaults: 469 bf16 mlp.mlir)
Needs Debian's dataset-fashion-mnist and python3-numpy.
"""
import gzip, os, sys
import numpy as np
import ampc

def idx(name, offset):  # the IDX files: a header, then unsigned bytes
    with gzip.open(f"/usr/share/datasets/fashion-mnist/{name}.gz") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)

steps = int(sys.argv[1]) if len(sys.argv) > 1 else 469
policy = sys.argv[2] if len(sys.argv) > 2 else "bf16"
model = sys.argv[3] if len(sys.argv) > 3 else os.path.join(
    os.path.dirname(__file__), "..", "models", "mlp.mlir")
x = idx("train-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / 255
y = np.eye(10, dtype=np.float32)[idx("train-labels-idx1-ubyte", 8)]
tx = idx("t10k-images-idx3-ubyte", 16).reshape(-1, 784).astype(np.float32) / 255
ty = idx("t10k-labels-idx1-ubyte", 8)

trainer = ampc.Trainer(model, policy=policy, optimizer="adam", lr=2e-3,
                       lr_schedule="cosine", total_steps=steps, seed=1)
order = np.random.default_rng(0).permutation(len(x))
for step in range(steps):
    batch = order[(step * 128) % 59904:][:128]
    result = trainer.step(x[batch], y[batch])
    if step % 100 == 0 or step == steps - 1:
        print(f"step {step}: loss {result['loss']:.4f} lr {result['lr']:.2e}")
correct = 0
for i in range(0, len(tx), 128):  # the last batch padded: every image counts
    n = len(tx[i:i + 128])
    batch = np.zeros((128, 784), np.float32)
    batch[:n] = tx[i:i + n]
    logits = trainer.evaluate(batch, np.zeros((128, 10), np.float32))[1]
    correct += (logits[:n].argmax(1) == ty[i:i + n]).sum()
print(f"test accuracy: {100 * correct / len(tx):.2f} % ({policy}, {steps} steps)")
