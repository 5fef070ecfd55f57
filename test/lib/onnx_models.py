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
    inferred = onnx.shape_inference.infer_shapes(m, data_prop=True)
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


def with_const(op, shape, consts, extra_inputs=(), **attrs):
    """`op` on x and constant inputs (name -> array or None for omitted)."""
    names, inits = ["x"], []
    for name, value in consts:
        names.append(name if value is not None else "")
        if value is not None:
            inits.append(numpy_helper.from_array(np.asarray(value), name))
    return lambda: model([helper.make_node(op, names, ["out"], **attrs)],
                         [("x", shape)], [("out", None)], inits)


def gemm(**attrs):
    a = (4, 3) if attrs.get("transA") else (3, 4)
    b = (5, 4) if attrs.get("transB") else (4, 5)
    return lambda: model(
        [helper.make_node("Gemm", ["x", "w", "c"], ["out"], **attrs)],
        [("x", a)], [("out", None)], [init("w", *b), init("c", 5)])


def conv(**attrs):
    groups = attrs.get("group", 1)
    return lambda: model(
        [helper.make_node("Conv", ["x", "w", "b"], ["out"], **attrs)],
        [("x", (2, 4, 7, 6))], [("out", None)],
        [init("w", 6, 4 // groups, 3, 2), init("b", 6)])


def conv_nd(x, w, **attrs):
    """A 1-D or 3-D convolution of x by a weight of shape w, with bias."""
    return lambda: model(
        [helper.make_node("Conv", ["x", "w", "b"], ["out"], **attrs)],
        [("x", x)], [("out", None)], [init("w", *w), init("b", w[0])])


def volume_chain():
    """Conv (3-D) + Relu + MaxPool (3-D) + Flatten + Gemm: trained in the
    tests against numpy's gradients."""
    return model(
        [helper.make_node("Conv", ["x", "c.w", "c.b"], ["c"], pads=[1, 0, 0, 0, 1, 0]),
         helper.make_node("Relu", ["c"], ["r"]),
         helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
         helper.make_node("Flatten", ["p"], ["f"]),
         helper.make_node("Gemm", ["f", "fc.w", "fc.b"], ["out"], transB=1)],
        [("x", ("batch", 1, 3, 3, 3))], [("out", ("batch", 3))],
        [init("c.w", 2, 1, 2, 2, 2), init("c.b", 2), init("fc.w", 3, 2),
         init("fc.b", 3)])


def sequence_chain():
    """Conv (1-D, strided, dilated) + AveragePool (1-D) + Flatten: trained
    in the tests against numpy's gradients."""
    return model(
        [helper.make_node("Conv", ["x", "c.w", "c.b"], ["c"], pads=[1, 1],
                          strides=[2], dilations=[2]),
         helper.make_node("AveragePool", ["c"], ["p"], kernel_shape=[2], pads=[0, 1]),
         helper.make_node("Flatten", ["p"], ["out"])],
        [("x", ("batch", 2, 9))], [("out", ("batch", 12))],
        [init("c.w", 3, 2, 3), init("c.b", 3)])


def layer_norm():
    return model(
        [helper.make_node("LayerNormalization", ["x", "g", "b"], ["out"],
                          axis=-1, epsilon=1e-5)],
        [("x", (2, 3, 8))], [("out", None)], [init("g", 8), init("b", 8)],
        opset=17)


def batch_norm():
    return model(
        [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["out"],
                          epsilon=1e-3)],
        [("x", (2, 3, 4, 4))], [("out", None)],
        [init("s", 3), init("b", 3), init("m", 3),
         numpy_helper.from_array(np.array([0.5, 1.0, 2.0], np.float32), "v")])


def bn_train():
    """BatchNormalization in training mode (opset 15: training_mode = 1 and
    the running statistics as outputs), Flatten, Gemm."""
    nodes = [
        helper.make_node("BatchNormalization",
                         ["x", "bn.weight", "bn.bias", "bn.running_mean",
                          "bn.running_var"], ["b", "rm", "rv"],
                         epsilon=1e-5, momentum=0.8, training_mode=1),
        helper.make_node("Flatten", ["b"], ["f"]),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["out"], transB=1)]
    inits = [init("bn.weight", 3), init("bn.bias", 3),
             numpy_helper.from_array(np.array([0.2, -0.1, 0.4], np.float32),
                                     "bn.running_mean"),
             numpy_helper.from_array(np.array([1.5, 0.5, 2.0], np.float32),
                                     "bn.running_var"),
             init("fc.weight", 2, 12), init("fc.bias", 2)]
    return model(nodes, [("x", ("batch", 3, 2, 2))], [("out", ("batch", 2))],
                 inits, opset=15)


def conv_chain():
    """Two convolutions (the second strided): training it differentiates a
    convolution's input, the transposed convolution."""
    return model(
        [helper.make_node("Conv", ["x", "c1.w", "c1.b"], ["a"], pads=[1, 1, 1, 1]),
         helper.make_node("Relu", ["a"], ["r"]),
         helper.make_node("Conv", ["r", "c2.w", "c2.b"], ["out"], pads=[1, 1, 1, 1],
                          strides=[2, 2])],
        [("x", ("batch", 3, 5, 5))], [("out", ("batch", 2, 3, 3))],
        [init("c1.w", 4, 3, 3, 3), init("c1.b", 4), init("c2.w", 2, 4, 3, 3),
         init("c2.b", 2)])


def dropout_train():
    """Dropout in training mode as torch.onnx.export writes it: the ratio
    and training_mode from Constant nodes, the mask output named but
    unused."""
    const = lambda name, value: helper.make_node(
        "Constant", [], [name], value=numpy_helper.from_array(value))
    return model(
        [helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h"], transB=1),
         helper.make_node("Relu", ["h"], ["r"]),
         const("ratio", np.array(0.3, np.float32)),
         const("mode", np.array(True)),
         helper.make_node("Dropout", ["r", "ratio", "mode"], ["d", "mask"]),
         helper.make_node("Gemm", ["d", "fc2.weight", "fc2.bias"], ["out"], transB=1)],
        [("x", ("batch", 6))], [("out", ("batch", 3))],
        [init("fc1.weight", 16, 6), init("fc1.bias", 16), init("fc2.weight", 3, 16),
         init("fc2.bias", 3)])


def shape_folding():
    """Unsqueeze(Gather(Shape(x))) * 2 as a Reshape target, through Cast."""
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Gather", ["s", "one"], ["d"], axis=0),
             helper.make_node("Mul", ["d", "two"], ["d2"]),
             helper.make_node("Cast", ["d2"], ["d3"], to=TensorProto.INT64),
             helper.make_node("Unsqueeze", ["d3", "axes0"], ["u"]),
             helper.make_node("Constant", [], ["m1"],
                              value=numpy_helper.from_array(np.array([-1], np.int64))),
             helper.make_node("Concat", ["m1", "u"], ["target"], axis=0),
             helper.make_node("Reshape", ["x", "target"], ["out"])]
    return model(nodes, [("x", (4, 6, 2))], [("out", ("n", 12))],
                 [numpy_helper.from_array(np.array(1, np.int64), "one"),
                  numpy_helper.from_array(np.array(2, np.int64), "two"),
                  ints("axes0", [0])])


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
    "max": binary("Max", (2, 3), (3,)),
    "min": binary("Min", (2, 3), (2, 1)),
    "pow": with_const("Pow", (3, 4), [("e", np.float32(3.0))]),
    "square": with_const("Pow", (3, 4), [("e", np.float32(2.0))]),
    "clip": with_const("Clip", (3, 4), [("lo", np.float32(-0.5)),
                                        ("hi", np.float32(0.7))]),
    "clip_low": with_const("Clip", (3, 4), [("lo", np.float32(0.1))]),
    "identity": unary("Identity"),
    "dropout": unary("Dropout"),
    "cast": unary("Cast", to=TensorProto.FLOAT),
    "reduce_sum": with_const("ReduceSum", (2, 3, 4), [("axes", np.array([-1], np.int64))],
                             keepdims=0),
    "reshape": with_const("Reshape", (2, 3, 4), [("shape", np.array([0, -1, 2], np.int64))]),
    "squeeze": with_const("Squeeze", (2, 1, 4, 1), [("axes", np.array([1, -1], np.int64))]),
    "unsqueeze": with_const("Unsqueeze", (2, 4), [("axes", np.array([0, 3], np.int64))]),
    "expand": with_const("Expand", (3, 1), [("shape", np.array([2, 3, 4], np.int64))]),
    "slice": with_const("Slice", (5, 6), [("starts", np.array([1, -5], np.int64)),
                                          ("ends", np.array([100, 6], np.int64)),
                                          ("axes", np.array([0, 1], np.int64)),
                                          ("steps", np.array([2, 2], np.int64))]),
    "gather": with_const("Gather", (3, 5), [("idx", np.array([4, 0, -1], np.int64))],
                         axis=1),
    "gather_scalar": with_const("Gather", (3, 5), [("idx", np.array(1, np.int64))]),
    "pad": with_const("Pad", (2, 3), [("pads", np.array([1, 0, 0, 2], np.int64)),
                                      ("value", np.float32(1.5))]),
    "concat": lambda: model(
        [helper.make_node("Concat", ["x", "y"], ["out"], axis=1)],
        [("x", (2, 3)), ("y", (2, 2))], [("out", None)]),
    "gemm_plain": gemm(),
    "gemm_transposed": gemm(transA=1, transB=1, alpha=0.5, beta=2.0),
    "conv_strided": conv(strides=[2, 1], pads=[1, 0, 0, 1], dilations=[1, 2]),
    "conv_groups": conv(group=2, pads=[1, 1, 1, 1]),
    "conv_same": conv(auto_pad="SAME_UPPER"),
    "average_pool_include_pad": unary("AveragePool", shape=(1, 2, 5, 5),
                                      kernel_shape=[3, 3], strides=[2, 2],
                                      pads=[1, 1, 1, 1], count_include_pad=1),
    "layer_norm": layer_norm,
    "batch_norm": batch_norm,
    "shape_folding": shape_folding,
    "bn_train": bn_train,
    "conv_chain": conv_chain,
    "dropout_train": dropout_train,
    "conv1d": conv_nd((2, 4, 9), (6, 2, 3), group=2, strides=[2], pads=[1, 2],
                      dilations=[2]),
    "conv3d": conv_nd((2, 3, 5, 4, 6), (4, 3, 3, 2, 3), pads=[1, 0, 1, 0, 1, 1],
                      strides=[1, 2, 1]),
    "conv3d_groups": conv_nd((1, 4, 4, 4, 4), (6, 2, 2, 2, 2), group=2,
                             dilations=[1, 2, 1]),
    "max_pool1d": unary("MaxPool", shape=(2, 3, 9), kernel_shape=[3], strides=[2],
                        ceil_mode=1),
    "average_pool1d": unary("AveragePool", shape=(2, 3, 9), kernel_shape=[3],
                            pads=[1, 1]),
    "max_pool3d": unary("MaxPool", shape=(1, 2, 5, 4, 6), kernel_shape=[2, 2, 3],
                        strides=[2, 2, 2]),
    "average_pool3d": unary("AveragePool", shape=(1, 2, 4, 5, 4),
                            kernel_shape=[3, 3, 2], pads=[1, 1, 0, 1, 1, 1],
                            strides=[2, 2, 2], count_include_pad=1),
    "volume_chain": volume_chain,
    "sequence_chain": sequence_chain,
}


def bn_training():
    m = batch_norm()
    m.opset_import[0].version = 15
    m.graph.node[0].attribute.append(helper.make_attribute("training_mode", 1))
    return m


def dropout_errors(ratio, mask_used):
    const = lambda name, value: helper.make_node(
        "Constant", [], [name], value=numpy_helper.from_array(value))
    nodes = [const("ratio", np.array(ratio, np.float32)), const("mode", np.array(True)),
             helper.make_node("Dropout", ["x", "ratio", "mode"], ["d", "mask"])]
    if mask_used:
        nodes += [helper.make_node("Cast", ["mask"], ["m"], to=TensorProto.FLOAT),
                  helper.make_node("Mul", ["d", "m"], ["out"])]
    else:
        nodes.append(helper.make_node("Identity", ["d"], ["out"]))
    return lambda: model(nodes, [("x", (2, 3))], [("out", None)])


def int_input():
    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["out"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.INT64, (2, 3))],
        [helper.make_tensor_value_info("out", TensorProto.INT64, (2, 3))])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])


# Models the importer must refuse, each with a clear error (lit tests).
ERROR_MODELS = {
    "opset11": lambda: model([helper.make_node("Relu", ["x"], ["out"])],
                             [("x", (2, 3))], [("out", None)], opset=11),
    "unsupported_op": unary("Hardmax"),
    "conv4d": lambda: model(
        [helper.make_node("Conv", ["x", "w"], ["out"])],
        [("x", (1, 1, 3, 3, 3, 3))], [("out", None)], [init("w", 1, 1, 2, 2, 2, 2)]),
    "bn_training": bn_training,
    "dropout_mask_used": dropout_errors(0.5, True),
    "dropout_ratio_one": dropout_errors(1.0, False),
    "int_input": int_input,
    "symbolic_feature": lambda: model(
        [helper.make_node("Relu", ["x"], ["out"])],
        [("x", ("batch", "features"))], [("out", ("batch", "features"))]),
}


def main():
    every = {**MODELS, **ERROR_MODELS}
    if sys.argv[1:] == ["--list"]:
        print("\n".join(every))
        return
    out, names = sys.argv[1], sys.argv[2:] or list(every)
    import os
    os.makedirs(out, exist_ok=True)
    for name in names:
        onnx.save(every[name](), os.path.join(out, name + ".onnx"))


if __name__ == "__main__":
    main()
