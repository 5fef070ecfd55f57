#!/usr/bin/env python3
"""Every ONNX test model (test/lib/onnx_models.py) imported and run by
ampc-run, against numpy written here from the ONNX operator specs.

    onnx_import_test.py BUILD_BIN_DIR [PYTHON_MODULE_DIR]

Without the directory of the ampc Python module (a sanitizer build has none)
the training-mode BatchNorm step is skipped, with a message.
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
MODULE_DIR = sys.argv[2] if len(sys.argv) > 2 else None
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


def conv2d(x, w, b, pad, stride=(1, 1), dilation=(1, 1), groups=1):
    """pad: (top, left, bottom, right)."""
    x = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[2]), (pad[1], pad[3])))
    n, c, h, wd = x.shape
    f, cg, kh, kw = w.shape
    eh, ew = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    y = np.zeros((n, f, (h - eh) // stride[0] + 1, (wd - ew) // stride[1] + 1))
    fg = f // groups
    for g in range(groups):
        xs = x[:, g * cg:(g + 1) * cg]
        ws = w[g * fg:(g + 1) * fg]
        for i in range(y.shape[2]):
            for j in range(y.shape[3]):
                r, q = i * stride[0], j * stride[1]
                patch = xs[:, :, r:r + eh:dilation[0], q:q + ew:dilation[1]]
                y[:, g * fg:(g + 1) * fg, i, j] = np.einsum("nchw,fchw->nf", patch, ws)
    return y + b[None, :, None, None]


def conv_nd(x, w, b, low, high, stride, dilation, groups=1):
    """Any number of spatial dimensions; pads as low and high lists."""
    x = np.pad(x, [(0, 0), (0, 0)] + list(zip(low, high)))
    f, cg = w.shape[:2]
    kernel = w.shape[2:]
    extent = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    out = [(size - e) // s + 1 for size, e, s in zip(x.shape[2:], extent, stride)]
    y = np.zeros((x.shape[0], f, *out))
    fg = f // groups
    for g in range(groups):
        xs, ws = x[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg]
        for pos in np.ndindex(*out):
            window = tuple(slice(p * s, p * s + e, d)
                           for p, s, e, d in zip(pos, stride, extent, dilation))
            patch = xs[(slice(None), slice(None)) + window]
            y[(slice(None), slice(g * fg, (g + 1) * fg)) + pos] = \
                np.tensordot(patch, ws, axes=(list(range(1, patch.ndim)),
                                              list(range(1, ws.ndim))))
    return y + b.reshape((1, f) + (1,) * len(kernel))


def pool_nd(x, kernel, stride, low, high, kind, ceil=False, include_pad=False):
    """Max or average pooling over any number of spatial dimensions."""
    spatial = x.shape[2:]
    def size(n, k, s, lo, hi):
        num = n + lo + hi - k
        return (-(-num // s) if ceil else num // s) + 1
    out = [size(*a) for a in zip(spatial, kernel, stride, low, high)]
    y = np.zeros(x.shape[:2] + tuple(out))
    for pos in np.ndindex(*out):
        starts = [p * s - lo for p, s, lo in zip(pos, stride, low)]
        ranges = [range(max(a, 0), min(a + k, n)) for a, k, n in zip(starts, kernel, spatial)]
        window = x[(slice(None), slice(None)) + np.ix_(*ranges)]
        reduced = window.reshape(x.shape[:2] + (-1,))
        if kind == "max":
            y[(slice(None), slice(None)) + pos] = reduced.max(axis=-1)
        else:
            count = np.prod([min(a + k, n + hi) - max(a, -lo) for a, k, n, lo, hi in
                             zip(starts, kernel, spatial, low, high)]) if include_pad \
                else reduced.shape[-1]
            y[(slice(None), slice(None)) + pos] = reduced.sum(axis=-1) / count
    return y


def volume_chain_forward(x, p):
    c = np.maximum(conv_nd(x, p["c.w"], p["c.b"], (1, 0, 0), (0, 1, 0), (1, 1, 1),
                           (1, 1, 1)), 0)
    f = pool_nd(c, (2, 2, 2), (2, 2, 2), (0, 0, 0), (0, 0, 0), "max").reshape(len(x), -1)
    return f @ p["fc.w"].T + p["fc.b"]


def sequence_chain_forward(x, p):
    c = conv_nd(x, p["c.w"], p["c.b"], (1,), (1,), (2,), (2,))
    return pool_nd(c, (2,), (1,), (0,), (1,), "avg").reshape(len(x), -1)


def layer_norm(x, g, b, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * g + b


def batch_norm(x, p, eps):
    c = lambda v: v[None, :, None, None]
    return (x - c(p["m"])) / np.sqrt(c(p["v"]) + eps) * c(p["s"]) + c(p["b"])


def bn_train_forward(x, p, training):
    """test/lib/onnx_models.py's bn_train: logits and the running statistics
    after the step (training: batch statistics, momentum 0.8, unbiased
    running variance)."""
    c = lambda v: v[None, :, None, None]
    if training:
        mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        n = x.size / x.shape[1]
        running = (0.8 * p["bn.running_mean"] + 0.2 * mean,
                   0.8 * p["bn.running_var"] + 0.2 * var * n / (n - 1))
    else:
        mean, var = p["bn.running_mean"], p["bn.running_var"]
        running = (mean, var)
    b = (x - c(mean)) / np.sqrt(c(var) + 1e-5) * c(p["bn.weight"]) + c(p["bn.bias"])
    logits = b.reshape(x.shape[0], -1) @ p["fc.weight"].T + p["fc.bias"]
    return logits, running


def cross_entropy(logits, onehot):
    shifted = logits - logits.max(axis=1, keepdims=True)
    logp = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(onehot * logp).sum() / len(logits)


def conv_chain_forward(x, p):
    r = np.maximum(conv2d(x, p["c1.w"], p["c1.b"], (1, 1, 1, 1)), 0)
    return conv2d(r, p["c2.w"], p["c2.b"], (1, 1, 1, 1), stride=(2, 2))


def numeric_gradients(loss, p0, names):
    """Central differences of `loss` (float64) for every element of the
    parameters `names`."""
    grads = {}
    for name in names:
        grad = np.zeros_like(p0[name])
        for i in np.ndindex(grad.shape):
            up, down = dict(p0), dict(p0)
            up[name] = p0[name].copy(); up[name][i] += 1e-6
            down[name] = p0[name].copy(); down[name][i] -= 1e-6
            grad[i] = (loss(up) - loss(down)) / 2e-6
        grads[name] = grad
    return grads


def sgd_step(trainer_class, tmp, name, forward, x_shape, t_shape, loss_name):
    """One SGD step of the model `name` against numpy's gradients (central
    differences of `forward`'s loss)."""
    trainer = trainer_class(os.path.join(tmp, name + ".onnx"), batch=x_shape[0],
                            lr=0.1, momentum=0.0, loss=loss_name)
    x = RNG.standard_normal(x_shape).astype(np.float32)
    if loss_name == "mse":
        t = RNG.standard_normal(t_shape).astype(np.float32)
        loss = lambda p: float(((forward(x.astype(np.float64), p) - t) ** 2).mean())
    else:
        t = np.eye(t_shape[1], dtype=np.float32)[RNG.integers(0, t_shape[1], t_shape[0])]
        loss = lambda p: cross_entropy(forward(x.astype(np.float64), p), t)
    p0 = {n: v.astype(np.float64) for n, v in trainer.parameters().items()}
    trainer.step(x, t)
    p1 = trainer.parameters()
    grads = numeric_gradients(loss, p0, list(p0))
    worst = max(float(np.abs(p1[n] - (p0[n] - 0.1 * grads[n])).max()) for n in p0)
    return check(worst < 1e-5, f"{name}: SGD step matches numpy's gradients "
                 f"(max difference {worst:.1e})")


def conv_chain_step(trainer_class, tmp):
    """The strided second convolution's input gradient (2-D), the 3-D
    convolution and pooling, the 1-D convolution and average pooling."""
    return (sgd_step(trainer_class, tmp, "conv_chain", conv_chain_forward,
                     (2, 3, 5, 5), (2, 2, 3, 3), "mse") +
            sgd_step(trainer_class, tmp, "volume_chain", volume_chain_forward,
                     (2, 1, 3, 3, 3), (2, 3), "cross-entropy") +
            sgd_step(trainer_class, tmp, "sequence_chain", sequence_chain_forward,
                     (2, 2, 9), (2, 12), "mse"))


def mix32(h):
    """murmur3's finalizer on uint64 arrays holding 32-bit values."""
    m = np.uint64(0xFFFFFFFF)
    h = h ^ (h >> np.uint64(16))
    h = (h * np.uint64(0x85EBCA6B)) & m
    h = h ^ (h >> np.uint64(13))
    h = (h * np.uint64(0xC2B2AE35)) & m
    return h ^ (h >> np.uint64(16))


def dropout_mask(shape, name, step, ratio):
    """The documented mask of a training-mode Dropout whose first output is
    `name` (README, "Dropout"): FNV-1a of the name seeds it."""
    seed = 2166136261
    for c in name.encode():
        seed = ((seed ^ c) * 16777619) & 0xFFFFFFFF
    inner = mix32(np.uint64(step ^ seed))
    position = np.arange(int(np.prod(shape)), dtype=np.uint64).reshape(shape)
    u = (mix32(position ^ inner) >> np.uint64(8)).astype(np.float64) / 2 ** 24
    return np.where(u >= ratio, np.float32(1 / (1 - ratio)), 0).astype(np.float64)


def dropout_forward(x, p, mask):
    r = np.maximum(x @ p["fc1.weight"].T + p["fc1.bias"], 0)
    return (r if mask is None else r * mask) @ p["fc2.weight"].T + p["fc2.bias"]


def dropout_training_step(trainer_class, tmp):
    """Two SGD steps of dropout_train against numpy with the documented
    masks (steps 0 and 1), the step counter, evaluation without dropout,
    and the export (no counter in it). The mask formula itself: about
    `ratio` of a million elements dropped, and a new mask each step."""
    wide = dropout_mask((1000, 1000), "d", 0, 0.3)
    failures = check(abs((wide == 0).mean() - 0.3) < 0.002 and
                     (wide != dropout_mask((1000, 1000), "d", 1, 0.3)).mean() > 0.4,
                     f"dropout mask: {100 * (wide == 0).mean():.2f}% of 1e6 dropped "
                     "(ratio 30%), a new mask each step")
    path = os.path.join(tmp, "dropout_train.onnx")
    trainer = trainer_class(path, batch=8, lr=0.1, momentum=0.0)
    x = RNG.standard_normal((8, 6)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[RNG.integers(0, 3, 8)]
    xd = x.astype(np.float64)
    names = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    for step in range(2):
        p0 = {n: v.astype(np.float64) for n, v in trainer.parameters().items()}
        mask = dropout_mask((8, 16), "d", step, 0.3)
        loss = lambda p: cross_entropy(dropout_forward(xd, p, mask), y)
        result = trainer.step(x, y)
        p1 = trainer.parameters()
        grads = numeric_gradients(loss, p0, names)
        worst = max(float(np.abs(p1[n] - (p0[n] - 0.1 * grads[n])).max())
                    for n in names)
        failures += check(abs(result["loss"] - loss(p0)) < 1e-5 and worst < 1e-5 and
                          p1["dropout_step"][0] == step + 1,
                          f"dropout_train step {step}: loss {result['loss']:.6f} "
                          f"(numpy {loss(p0):.6f}), SGD step max difference "
                          f"{worst:.1e}, step counter {p1['dropout_step'][0]:.0f}")
    logits = trainer.evaluate(x, y)[1]
    want = dropout_forward(xd, {n: v.astype(np.float64) for n, v in p1.items()}, None)
    failures += check(np.allclose(logits, want, rtol=1e-5, atol=1e-5),
                      "dropout_train: evaluation without dropout")
    out = os.path.join(tmp, "dropout_trained.onnx")
    trainer.export_onnx(out)
    exported = params(out)
    failures += check(sorted(exported) == sorted(names) and
                      all(np.array_equal(exported[n], p1[n]) for n in names),
                      "dropout_train: exported with the trained weights, no step counter")
    return failures


def bn_training_step(tmp):
    """One SGD step of bn_train through the Python Trainer against numpy:
    the loss of the batch statistics, each parameter moved by lr times its
    gradient (central differences of the numpy loss), the running
    statistics moved by the momentum, and evaluation with them."""
    if not MODULE_DIR:
        print("skipped bn_train's training step: the ampc Python module is "
              "not built here")
        return 0
    sys.path.insert(0, MODULE_DIR)
    import ampc
    path = os.path.join(tmp, "bn_train.onnx")
    trainer = ampc.Trainer(path, batch=4, lr=0.1, momentum=0.0)
    x = RNG.standard_normal((4, 3, 2, 2)).astype(np.float32)
    y = np.eye(2, dtype=np.float32)[[0, 1, 1, 0]]
    p0 = {n: v.astype(np.float64) for n, v in trainer.parameters().items()}
    result = trainer.step(x, y)
    p1 = trainer.parameters()
    xd = x.astype(np.float64)
    loss = lambda p: cross_entropy(bn_train_forward(xd, p, True)[0], y)
    failures = check(abs(result["loss"] - loss(p0)) < 1e-5 * (1 + loss(p0)),
                     f"bn_train: training loss {result['loss']:.6f} (batch "
                     f"statistics; numpy {loss(p0):.6f})")
    grads = numeric_gradients(loss, p0, ["bn.weight", "bn.bias", "fc.weight",
                                         "fc.bias"])
    worst = max(float(np.abs(p1[n] - (p0[n] - 0.1 * g)).max())
                for n, g in grads.items())
    failures += check(worst < 1e-5, f"bn_train: SGD step matches numpy's "
                      f"gradients (max difference {worst:.1e})")
    _, (mean, var) = bn_train_forward(xd, p0, True)
    failures += check(np.allclose(p1["bn.running_mean"], mean, atol=1e-6) and
                      np.allclose(p1["bn.running_var"], var, atol=1e-6),
                      "bn_train: running statistics moved by the momentum "
                      "(unbiased variance)")
    failures += conv_chain_step(ampc.Trainer, tmp)
    failures += dropout_training_step(ampc.Trainer, tmp)
    mlir = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "models",
                        "mlp.mlir")
    try:
        ampc.Trainer(mlir, batch=2).export_onnx(os.path.join(tmp, "no.onnx"))
        failures += check(False, "export_onnx of an .mlir model is an error")
    except ampc.Error as error:
        failures += check("exporting to ONNX needs a model imported from an .onnx "
                          "file" in str(error) and
                          not os.path.exists(os.path.join(tmp, "no.onnx")),
                          f"export_onnx of an .mlir model: {error}")
    logits = trainer.evaluate(x, y)[1]
    want = bn_train_forward(xd, {n: v.astype(np.float64) for n, v in p1.items()},
                            False)[0]
    failures += check(np.allclose(logits, want, rtol=1e-5, atol=1e-5),
                      "bn_train: evaluation uses the running statistics")
    return failures


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
        "max": lambda: np.maximum(x, y), "min": lambda: np.minimum(x, y),
        "pow": lambda: x ** 3, "square": lambda: x ** 2,
        "clip": lambda: np.clip(x, -0.5, 0.7), "clip_low": lambda: np.maximum(x, 0.1),
        "identity": lambda: x, "dropout": lambda: x, "cast": lambda: x,
        "reduce_sum": lambda: x.sum(axis=-1),
        "reshape": lambda: x.reshape(2, 6, 2),
        "squeeze": lambda: x.reshape(2, 4),
        "unsqueeze": lambda: x.reshape(1, 2, 4, 1),
        "expand": lambda: np.broadcast_to(x, (2, 3, 4)),
        "slice": lambda: x[1:100:2, -5:6:2],
        "gather": lambda: x[:, [4, 0, -1]],
        "gather_scalar": lambda: x[1],
        "pad": lambda: np.pad(x, ((1, 0), (0, 2)), constant_values=1.5),
        "concat": lambda: np.concatenate([x, y], axis=1),
        "gemm_plain": lambda: x @ p["w"] + p["c"],
        "gemm_transposed": lambda: 0.5 * (x.T @ p["w"].T) + 2.0 * p["c"],
        "conv_strided": lambda: conv2d(x, p["w"], p["b"], (1, 0, 0, 1), (2, 1), (1, 2)),
        "conv_groups": lambda: conv2d(x, p["w"], p["b"], (1, 1, 1, 1), groups=2),
        # SAME_UPPER for a 3x2 kernel: 2 rows (1 + 1), 1 column (0 + 1).
        "conv_same": lambda: conv2d(x, p["w"], p["b"], (1, 0, 1, 1)),
        "average_pool_include_pad": lambda: pool2d(
            np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), (2, 2),
            (0, 0, 0, 0), lambda v: v.mean(axis=(2, 3))),
        "layer_norm": lambda: layer_norm(x, p["g"], p["b"], 1e-5),
        "batch_norm": lambda: batch_norm(x, p, 1e-3),
        "shape_folding": lambda: x.reshape(-1, 12),
        "bn_train": lambda: bn_train_forward(x, p, training=False)[0],
        "conv_chain": lambda: conv_chain_forward(x, p),
        "conv1d": lambda: conv_nd(x, p["w"], p["b"], (1,), (2,), (2,), (2,), groups=2),
        "conv3d": lambda: conv_nd(x, p["w"], p["b"], (1, 0, 1), (0, 1, 1), (1, 2, 1),
                                  (1, 1, 1)),
        "conv3d_groups": lambda: conv_nd(x, p["w"], p["b"], (0, 0, 0), (0, 0, 0),
                                         (1, 1, 1), (1, 2, 1), groups=2),
        "max_pool1d": lambda: pool_nd(x, (3,), (2,), (0,), (0,), "max", ceil=True),
        "average_pool1d": lambda: pool_nd(x, (3,), (1,), (1,), (1,), "avg"),
        "max_pool3d": lambda: pool_nd(x, (2, 2, 3), (2, 2, 2), (0, 0, 0), (0, 0, 0), "max"),
        "average_pool3d": lambda: pool_nd(x, (3, 3, 2), (2, 2, 2), (1, 1, 0), (1, 1, 1),
                                          "avg", include_pad=True),
        "volume_chain": lambda: volume_chain_forward(x, p),
        "sequence_chain": lambda: sequence_chain_forward(x, p),
        # @forward evaluates: Dropout is the identity.
        "dropout_train": lambda: dropout_forward(x, p, None),
    }
    return table[name]()


def cnn(x, p):
    c = conv2d(x, p["conv.weight"], p["conv.bias"], (1, 1, 1, 1))
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


def check(condition, message):
    print(("ok   " if condition else "FAIL ") + message)
    return 0 if condition else 1


def train_and_export(tmp):
    """ampc-train trains the CNN under two policies from its exported
    weights and writes it back: the trained initializers are the trained
    parameters, everything else is the original model, and the written
    model computes what numpy computes with those weights."""
    path = os.path.join(tmp, "cnn.onnx")
    out = os.path.join(tmp, "trained.onnx")
    run = subprocess.run(
        [os.path.join(BIN, "ampc-train"), path, "--batch=16", "--policy=fp32,bf16",
         "--max-steps=60", "--test-limit=512", "--lr=0.01", "--progress=never",
         f"--save-params={tmp}/params", f"--export-onnx={out}",
         f"--summary-json={tmp}/summary.json"], capture_output=True, text=True)
    if run.returncode != 0:
        return check(False, "ampc-train cnn.onnx: " + run.stderr)
    import json
    summary = json.load(open(os.path.join(tmp, "summary.json")))
    failures = 0
    for policy in summary["policies"]:
        accuracy = policy["final_test_accuracy_percent"]
        failures += check(accuracy > 50, f"cnn.onnx {policy['policy']}: "
                          f"{accuracy:.1f}% after 60 steps (> 50%)")
    original = {t.name: numpy_helper.to_array(t)
                for t in onnx.load(path).graph.initializer}
    for policy in ("fp32", "bf16"):
        trained_path = os.path.join(tmp, f"trained.{policy}.onnx")
        trained = onnx.load(trained_path)
        onnx.checker.check_model(trained)
        values = {t.name: numpy_helper.to_array(t) for t in trained.graph.initializer}
        saved = {n[:-4]: np.load(os.path.join(tmp, "params", policy, n))
                 for n in os.listdir(os.path.join(tmp, "params", policy))}
        failures += check(
            sorted(values) == sorted(original) and
            all(np.array_equal(values[n], saved[n]) for n in saved) and
            all(not np.array_equal(values[n], original[n]) for n in saved) and
            all(np.array_equal(values[n], original[n]) for n in original
                if n not in saved),
            f"trained.{policy}.onnx: {len(saved)} trained initializers, "
            f"{len(original) - len(saved)} kept")
        failures += check(
            [n.op_type for n in trained.graph.node] ==
            [n.op_type for n in onnx.load(path).graph.node],
            f"trained.{policy}.onnx: the original graph")
        x = RNG.standard_normal((3, 1, 28, 28)).astype(np.float32)
        np.save(os.path.join(tmp, "x.npy"), x)
        run = subprocess.run([os.path.join(BIN, "ampc-run"), trained_path, "--batch=3",
                              f"--input=@{tmp}/x.npy", f"--output=@{tmp}/y.npy"],
                             capture_output=True, text=True)
        got = np.load(os.path.join(tmp, "y.npy")) if run.returncode == 0 else None
        want = cnn(x.astype(np.float64),
                   {n: v.astype(np.float64) for n, v in values.items()})
        failures += check(got is not None and np.allclose(got, want, rtol=1e-5, atol=1e-5),
                          f"trained.{policy}.onnx runs as numpy computes it")
    run = subprocess.run([os.path.join(BIN, "ampc-train"),
                          os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                                       "models", "mlp.mlir"), f"--export-onnx={out}"],
                         capture_output=True, text=True)
    failures += check(run.returncode != 0 and
                      "--export-onnx needs an .onnx model" in run.stderr,
                      "--export-onnx of an .mlir model is an error")
    return failures


def main():
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, onnx_models.__file__, tmp], check=True)
        for name in onnx_models.MODELS:
            path = os.path.join(tmp, name + ".onnx")
            arrays = inputs_for(path, name)
            command = [os.path.join(BIN, "ampc-run"), path]
            if any(d.HasField("dim_param") for v in onnx.load(path).graph.input
                   for d in v.type.tensor_type.shape.dim):
                command.append("--batch=2")
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
        print(f"{len(onnx_models.MODELS) - failures}/{len(onnx_models.MODELS)} "
              "models match numpy")
        failures += train_and_export(tmp)
        failures += bn_training_step(tmp)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
