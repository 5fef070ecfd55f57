#!/usr/bin/env python3
"""Writes small ONNX models for AMPC's importer tests with onnx's helpers
(python3-onnx; no PyTorch needed).

    onnx_models.py OUTDIR [NAME...]

Every model has float inputs named x (and y for binary ops), a symbolic
leading dimension "batch" where noted, and random float initializers from
a fixed seed. `--list` prints the names.
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
RNG = np.random.default_rng(7)


def init(name, *shape, scale=0.5):
    return numpy_helper.from_array(
        (RNG.standard_normal(shape) * scale).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def model(nodes, inputs, outputs, initializers=(), opset=OPSET):
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs],
        list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="ampc-test")
    # Outputs declared without a shape take the inferred one.
    inferred = onnx.shape_inference.infer_shapes(m)
    known = {v.name: v for v in list(inferred.graph.value_info) +
             list(inferred.graph.output)
             if v.type.tensor_type.HasField("shape")}
    for i, output in enumerate(m.graph.output):
        if not output.type.tensor_type.HasField("shape") and output.name in known:
            m.graph.output[i].CopyFrom(known[output.name])
    onnx.checker.check_model(m)
    return m


def unary(op, shape=(3, 4), **attrs):
    return lambda: model([helper.make_node(op, ["x"], ["out"], **attrs)],
                         [("x", shape)], [("out", None)])


def binary(op, a=(2, 3, 4), b=(3, 1)):
    return lambda: model([helper.make_node(op, ["x", "y"], ["out"])],
                         [("x", a), ("y", b)], [("out", None)])


def mlp():
    """torch.nn.Linear as exported: Gemm with transB, a symbolic batch."""
    return model(
        [helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], transB=1),
         helper.make_node("Relu", ["h"], ["r"]),
         helper.make_node("Gemm", ["r", "fc2.weight", "fc2.bias"], ["out"], transB=1)],
        [("x", ("batch", 6))], [("out", ("batch", 3))],
        [init("fc1.weight", 5, 6), init("fc1.bias", 5), init("fc2.weight", 3, 5),
         init("fc2.bias", 3)])


def cnn():
    """A classifier of 28x28 images: Conv (padded) + BatchNorm (eval) + Relu + MaxPool + Flatten (through a
    Shape subgraph, as torch exports x.view(x.size(0), -1)) + Gemm."""
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"],
                         pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization",
                         ["c", "bn.weight", "bn.bias", "bn.running_mean",
                          "bn.running_var"], ["b"], epsilon=1e-5),
        helper.make_node("Relu", ["b"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["p"], ["shape"]),
        helper.make_node("Gather", ["shape", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["p", "target"], ["f"]),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["out"], transB=1),
    ]
    inits = [init("conv.weight", 4, 1, 3, 3), init("conv.bias", 4),
             init("bn.weight", 4), init("bn.bias", 4),
             numpy_helper.from_array(np.array([0.1, -0.2, 0.0, 0.3], np.float32),
                                     "bn.running_mean"),
             numpy_helper.from_array(np.array([1.0, 0.5, 2.0, 1.5], np.float32),
                                     "bn.running_var"),
             init("fc.weight", 10, 4 * 14 * 14, scale=0.05), init("fc.bias", 10),
             numpy_helper.from_array(np.array(0, np.int64), "zero"),
             ints("axes0", [0]), ints("minus1", [-1])]
    return model(nodes, [("x", ("batch", 1, 28, 28))], [("out", ("batch", 10))], inits)


MODELS = {
    "mlp": mlp,
    "cnn": cnn,
    "relu": unary("Relu"),
    "leaky_relu": unary("LeakyRelu", alpha=0.2),
    "sigmoid": unary("Sigmoid"),
    "tanh": unary("Tanh"),
    "exp": unary("Exp"),
    "log": unary("Log"),
    "sqrt": unary("Sqrt"),
    "abs": unary("Abs"),
    "neg": unary("Neg"),
    "reciprocal": unary("Reciprocal"),
    "erf": unary("Erf"),
    "softmax": unary("Softmax", axis=1),
    "log_softmax": unary("LogSoftmax"),
    "flatten": unary("Flatten", shape=(2, 3, 4), axis=2),
    "transpose": unary("Transpose", shape=(2, 3, 4), perm=[2, 0, 1]),
    "reduce_mean": unary("ReduceMean", shape=(2, 3, 4), axes=[1], keepdims=1),
    "reduce_max": unary("ReduceMax", shape=(2, 3, 4), axes=[0, 2], keepdims=0),
    "global_average_pool": unary("GlobalAveragePool", shape=(2, 3, 4, 5)),
    "max_pool": unary("MaxPool", shape=(1, 2, 5, 5), kernel_shape=[2, 2],
                      strides=[2, 2], ceil_mode=1),
    "average_pool": unary("AveragePool", shape=(1, 2, 5, 5), kernel_shape=[3, 3],
                          pads=[1, 1, 1, 1]),
    "add": binary("Add"),
    "sub": binary("Sub", (3, 1), (2, 1, 4)),
    "mul": binary("Mul", (4,), (2, 3, 4)),
    "div": binary("Div"),
    "matmul_batched": binary("MatMul", (2, 3, 4), (1, 4, 5)),
    "matmul_rows": binary("MatMul", (2, 3, 4), (4, 5)),
}


def main():
    if sys.argv[1:] == ["--list"]:
        print("\n".join(MODELS))
        return
    out, names = sys.argv[1], sys.argv[2:] or list(MODELS)
    import os
    os.makedirs(out, exist_ok=True)
    for name in names:
        onnx.save(MODELS[name](), os.path.join(out, name + ".onnx"))


if __name__ == "__main__":
    main()
