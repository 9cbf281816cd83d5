#!/usr/bin/env python3
"""Generate the small models edgerun bundles, with deterministic weights.

Needs `onnx` and `numpy` (pip install onnx numpy). Writes into the folder of this script:

  mobilenetv2_mini.onnx  MobileNetV2-shaped CNN, 1x3x224x224 -> 1x100 logits
  dynamic_mlp.onnx       two-layer MLP with a dynamic batch dimension N: Nx16 -> Nx4
  unsupported_op.onnx    a graph with an op no runtime implements (for error tests)
  typed_io.onnx          one input and output per tensor type edgerun passes (f32, f16, f64,
                         i8, u8, i16, i32, i64, bool), each of a dynamic length N
  cast_bf16.onnx         bfloat16 in and out through Cast

Weights come from numpy's PCG64 generator with fixed seeds, so running the script again gives
byte-identical files.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OPSET = 13
IR_VERSION = 8


class Builder:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}_{self.n}"

    def const(self, prefix, arr):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
        return name

    def conv(self, x, cin, cout, k, stride=1, groups=1, act=True):
        fan_in = (cin // groups) * k * k
        w = self.rng.normal(0.0, np.sqrt(2.0 / fan_in), (cout, cin // groups, k, k))
        b = self.rng.normal(0.0, 0.05, (cout,))
        out = self.name("conv")
        pad = k // 2
        self.nodes.append(helper.make_node(
            "Conv", [x, self.const("w", w), self.const("b", b)], [out], name=out,
            kernel_shape=[k, k], strides=[stride, stride], pads=[pad] * 4, group=groups))
        return self.relu6(out) if act else out

    def relu6(self, x):
        out = self.name("relu6")
        lo = self.const("lo", np.array(0.0))
        hi = self.const("hi", np.array(6.0))
        self.nodes.append(helper.make_node("Clip", [x, lo, hi], [out], name=out))
        return out

    def inverted_residual(self, x, cin, cout, stride, expand):
        hidden = cin * expand
        h = self.conv(x, cin, hidden, 1) if expand != 1 else x
        h = self.conv(h, hidden, hidden, 3, stride=stride, groups=hidden)
        h = self.conv(h, hidden, cout, 1, act=False)
        if stride == 1 and cin == cout:
            out = self.name("add")
            self.nodes.append(helper.make_node("Add", [x, h], [out], name=out))
            return out
        return h


def save(model, filename, check=True):
    model.ir_version = IR_VERSION
    if check:
        onnx.checker.check_model(model)
    onnx.save(model, os.path.join(HERE, filename))
    print(f"wrote {filename} ({os.path.getsize(os.path.join(HERE, filename))} bytes)")


def mobilenetv2_mini():
    b = Builder(seed=20261122)
    x = b.conv("input", 3, 16, 3, stride=2)
    cin = 16
    # (expansion, channels, repeats, first stride): MobileNetV2's table at half width
    for t, c, n, s in [(1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 3, 2), (6, 32, 2, 2),
                       (6, 48, 2, 1), (6, 80, 2, 2), (6, 160, 1, 1)]:
        for i in range(n):
            x = b.inverted_residual(x, cin, c, s if i == 0 else 1, t)
            cin = c
    x = b.conv(x, cin, 320, 1)
    b.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"], name="pool"))
    b.nodes.append(helper.make_node("Flatten", ["pooled"], ["features"], name="flatten", axis=1))
    w = b.rng.normal(0.0, np.sqrt(1.0 / 320), (100, 320))
    bias = b.rng.normal(0.0, 0.05, (100,))
    b.nodes.append(helper.make_node(
        "Gemm", ["features", b.const("fc_w", w), b.const("fc_b", bias)], ["logits"],
        name="classifier", transB=1))
    graph = helper.make_graph(
        b.nodes, "mobilenetv2_mini",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 100])],
        b.inits)
    model = helper.make_model(graph, producer_name="edgerun-models",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    save(model, "mobilenetv2_mini.onnx")


def dynamic_mlp():
    rng = np.random.default_rng(7)
    w1 = numpy_helper.from_array(rng.normal(0, 0.3, (16, 32)).astype(np.float32), "w1")
    b1 = numpy_helper.from_array(rng.normal(0, 0.1, (32,)).astype(np.float32), "b1")
    w2 = numpy_helper.from_array(rng.normal(0, 0.3, (32, 4)).astype(np.float32), "w2")
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"], name="fc1"),
        helper.make_node("Add", ["h0", "b1"], ["h1"], name="fc1_bias"),
        helper.make_node("Relu", ["h1"], ["h2"], name="relu"),
        helper.make_node("MatMul", ["h2", "w2"], ["y"], name="fc2"),
    ]
    graph = helper.make_graph(
        nodes, "dynamic_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        [w1, b1, w2])
    save(helper.make_model(graph, producer_name="edgerun-models",
                           opset_imports=[helper.make_opsetid("", OPSET)]), "dynamic_mlp.onnx")


def unsupported_op():
    nodes = [
        helper.make_node("Relu", ["x"], ["h"], name="relu"),
        helper.make_node("EdgerunMysteryOp", ["h"], ["y"], name="mystery_node",
                         domain="ai.edgerun.test"),
    ]
    graph = helper.make_graph(
        nodes, "unsupported_op",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, producer_name="edgerun-models",
                              opset_imports=[helper.make_opsetid("", OPSET),
                                             helper.make_opsetid("ai.edgerun.test", 1)])
    model.ir_version = IR_VERSION
    # the checker rejects ops it does not know, which is the point of this model
    onnx.save(model, os.path.join(HERE, "unsupported_op.onnx"))
    print("wrote unsupported_op.onnx")


def typed_io():
    # (name, type, op): Add doubles, Not negates, Identity passes the values through
    kinds = [("f32", TensorProto.FLOAT, "Add"), ("f16", TensorProto.FLOAT16, "Identity"),
             ("f64", TensorProto.DOUBLE, "Add"), ("i8", TensorProto.INT8, "Identity"),
             ("u8", TensorProto.UINT8, "Identity"), ("i16", TensorProto.INT16, "Identity"),
             ("i32", TensorProto.INT32, "Add"), ("i64", TensorProto.INT64, "Add"),
             ("bool", TensorProto.BOOL, "Not")]
    nodes, inputs, outputs = [], [], []
    for name, ty, op in kinds:
        args = [name, name] if op == "Add" else [name]
        nodes.append(helper.make_node(op, args, [f"{name}_out"], name=f"{op.lower()}_{name}"))
        inputs.append(helper.make_tensor_value_info(name, ty, ["N"]))
        outputs.append(helper.make_tensor_value_info(f"{name}_out", ty, ["N"]))
    graph = helper.make_graph(nodes, "typed_io", inputs, outputs)
    save(helper.make_model(graph, producer_name="edgerun-models",
                           opset_imports=[helper.make_opsetid("", OPSET)]), "typed_io.onnx")


def cast_bf16():
    # bfloat16 both ways, as the TFLite cast_bf16.tflite: x bf16 -> Cast -> y f32 and
    # u f32 -> Cast -> v bf16 (ONNX Runtime's CPU kernels take bfloat16 in Cast)
    nodes = [helper.make_node("Cast", ["x"], ["y"], name="to_f32", to=TensorProto.FLOAT),
             helper.make_node("Cast", ["u"], ["v"], name="to_bf16", to=TensorProto.BFLOAT16)]
    graph = helper.make_graph(
        nodes, "cast_bf16",
        [helper.make_tensor_value_info("x", TensorProto.BFLOAT16, ["N"]),
         helper.make_tensor_value_info("u", TensorProto.FLOAT, ["N"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N"]),
         helper.make_tensor_value_info("v", TensorProto.BFLOAT16, ["N"])])
    save(helper.make_model(graph, producer_name="edgerun-models",
                           opset_imports=[helper.make_opsetid("", OPSET)]), "cast_bf16.onnx")


def huge_input():
    # a valid model whose fixed input shape asks for 6.4 TB: sizes must be checked before
    # anything is allocated
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "huge_input",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [100000000000, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [100000000000, 16])])
    save(helper.make_model(graph, producer_name="edgerun-models",
                           opset_imports=[helper.make_opsetid("", OPSET)]), "huge_input.onnx")


def huge_initializer():
    # a constant that declares 6.4 TB and holds no data: refused before a runtime allocates it
    w = TensorProto()
    w.name = "w"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([100000000000, 16])
    w.raw_data = b""
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], name="add")], "huge_initializer",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [100000000000, 16])],
        initializer=[w])
    save(helper.make_model(graph, producer_name="edgerun-models",
                           opset_imports=[helper.make_opsetid("", OPSET)]), "huge_initializer.onnx",
         check=False)  # the checker rightly refuses a constant without data


if __name__ == "__main__":
    mobilenetv2_mini()
    dynamic_mlp()
    unsupported_op()
    typed_io()
    cast_bf16()
    huge_input()
    huge_initializer()
