#!/usr/bin/env python3
"""Every ONNX test model (test/lib/onnx_models.py) imported and run by
ampc-run, against numpy written here from the ONNX operator specs.

    onnx_import_test.py BUILD_BIN_DIR
"""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np
from onnx import numpy_helper
import onnx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import onnx_models  # noqa: E402

BIN = sys.argv[1]
RNG = np.random.default_rng(11)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def pool2d(x, k, s, pads, reducer, ceil=False, fill=-np.inf):
    n, c, h, w = x.shape
    pt, pl, pb, pr = pads
    def out(size, lo, hi, kk, ss):
        num = size + lo + hi - kk
        return (-(-num // ss) if ceil else num // ss) + 1
    oh, ow = out(h, pt, pb, k[0], s[0]), out(w, pl, pr, k[1], s[1])
    y = np.zeros((n, c, oh, ow), np.float64)
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * s[0] - pt, j * s[1] - pl
            rows = [r for r in range(r0, r0 + k[0]) if 0 <= r < h]
            cols = [q for q in range(c0, c0 + k[1]) if 0 <= q < w]
            y[:, :, i, j] = reducer(x[:, :, rows][:, :, :, cols])
    return y


def conv2d(x, w, b, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    f, _, kh, kw = w.shape
    y = np.zeros((n, f, h - kh + 1, wd - kw + 1))
    for i in range(y.shape[2]):
        for j in range(y.shape[3]):
            patch = x[:, :, i:i + kh, j:j + kw]
            y[:, :, i, j] = np.einsum("nchw,fchw->nf", patch, w)
    return y + b[None, :, None, None]


def params(path):
    return {t.name: numpy_helper.to_array(t).astype(np.float64)
            for t in onnx.load(path).graph.initializer}


def reference(name, inputs, p):
    x = inputs[0].astype(np.float64)
    y = inputs[1].astype(np.float64) if len(inputs) > 1 else None
    table = {
        "relu": lambda: np.maximum(x, 0),
        "leaky_relu": lambda: np.where(x > 0, x, 0.2 * x),
        "sigmoid": lambda: sigmoid(x),
        "tanh": lambda: np.tanh(x),
        "exp": lambda: np.exp(x),
        "log": lambda: np.log(x),
        "sqrt": lambda: np.sqrt(x),
        "abs": lambda: np.abs(x),
        "neg": lambda: -x,
        "reciprocal": lambda: 1 / x,
        "erf": lambda: np.vectorize(math.erf)(x),
        "softmax": lambda: softmax(x, 1),
        "log_softmax": lambda: np.log(softmax(x, -1)),
        "flatten": lambda: x.reshape(6, 4),
        "transpose": lambda: x.transpose(2, 0, 1),
        "reduce_mean": lambda: x.mean(axis=1, keepdims=True),
        "reduce_max": lambda: x.max(axis=(0, 2)),
        "global_average_pool": lambda: x.mean(axis=(2, 3), keepdims=True),
        "max_pool": lambda: pool2d(x, (2, 2), (2, 2), (0, 0, 0, 0),
                                   lambda v: v.max(axis=(2, 3)), ceil=True),
        "average_pool": lambda: pool2d(x, (3, 3), (1, 1), (1, 1, 1, 1),
                                       lambda v: v.mean(axis=(2, 3))),
        "add": lambda: x + y, "sub": lambda: x - y, "mul": lambda: x * y,
        "div": lambda: x / y,
        "matmul_batched": lambda: np.matmul(x, y),
        "matmul_rows": lambda: np.matmul(x, y),
        "mlp": lambda: np.maximum(x @ p["fc1.weight"].T + p["fc1.bias"], 0)
        @ p["fc2.weight"].T + p["fc2.bias"],
        "cnn": lambda: cnn(x, p),
    }
    return table[name]()


def cnn(x, p):
    c = conv2d(x, p["conv.weight"], p["conv.bias"], 1)
    scale = p["bn.weight"] / np.sqrt(p["bn.running_var"] + 1e-5)
    b = (c - p["bn.running_mean"][None, :, None, None]) * scale[None, :, None, None] \
        + p["bn.bias"][None, :, None, None]
    r = np.maximum(b, 0)
    pooled = pool2d(r, (2, 2), (2, 2), (0, 0, 0, 0), lambda v: v.max(axis=(2, 3)))
    f = pooled.reshape(x.shape[0], -1)
    return f @ p["fc.weight"].T + p["fc.bias"]


def inputs_for(path, name):
    graph = onnx.load(path).graph
    init = {t.name for t in graph.initializer}
    arrays = []
    for value in graph.input:
        if value.name in init:
            continue
        shape = [d.dim_value if d.HasField("dim_value") else 2
                 for d in value.type.tensor_type.shape.dim]
        a = RNG.standard_normal(shape).astype(np.float32)
        if name in ("log", "sqrt", "reciprocal") or (name == "div" and value.name == "y"):
            a = np.abs(a) + 0.25
        arrays.append(a)
    return arrays


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, onnx_models.__file__, tmp], check=True)
        for name in onnx_models.MODELS:
            path = os.path.join(tmp, name + ".onnx")
            arrays = inputs_for(path, name)
            command = [os.path.join(BIN, "ampc-run"), path, "--batch=2"]
            for i, a in enumerate(arrays):
                np.save(os.path.join(tmp, f"in{i}.npy"), a)
                command.append(f"--input=@{tmp}/in{i}.npy")
            command.append(f"--output=@{tmp}/out.npy")
            run = subprocess.run(command, capture_output=True, text=True)
            if run.returncode != 0:
                print(f"FAIL {name}: ampc-run failed:\n{run.stderr}")
                failures += 1
                continue
            got = np.load(os.path.join(tmp, "out.npy"))
            want = reference(name, arrays, params(path))
            if got.shape != want.shape:
                print(f"FAIL {name}: shape {got.shape}, expected {want.shape}")
                failures += 1
                continue
            err = np.max(np.abs(got - want) / (1e-6 + np.abs(want))) if got.size else 0
            ok = np.allclose(got, want, rtol=2e-6, atol=2e-6)
            print(f"{'ok  ' if ok else 'FAIL'} {name}: {got.shape} max rel err {err:.2e}")
            failures += not ok
    print(f"{len(onnx_models.MODELS) - failures}/{len(onnx_models.MODELS)} models match numpy")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
