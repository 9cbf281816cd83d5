#!/usr/bin/env python3
"""Convert the bundled MobileNetV2-shaped ONNX model to TensorFlow Lite, float32 and full int8.

Needs TensorFlow (pip install tensorflow-cpu onnx numpy); only to generate, never at test time.
Writes, next to this script:

  mobilenetv2_mini.tflite       the same network and weights as mobilenetv2_mini.onnx, in
                                TFLite's NHWC layout: input [1,224,224,3] f32, output [1,100] f32
  mobilenetv2_mini_int8.tflite  full-integer quantization of it: int8 input and output,
                                int8 weights and activations, calibrated on 64 seeded inputs
  gelu.tflite                   x [1,8] f32 -> GELU -> y: an op (GELU, builtin 150) that
                                TensorFlow Lite releases before 2.9 do not have
  dynamic_batch.tflite          x [N,16] f32 -> Dense(4) -> y [N,4]: a dynamic batch (-1 in the
                                input's shape signature), for input resizing
  dense_per_channel_int8.tflite x [1,16] int8 -> Dense(8) -> y int8, with the converter's
                                default per-channel quantization of the dense weights: the
                                model old TFLite releases silently compute wrongly

The ONNX graph is translated op by op into a Keras model (Conv -> Conv2D or DepthwiseConv2D,
Clip(0, 6) -> ReLU(6), Add, GlobalAveragePool, Gemm -> Dense) with its weights copied over.
Padding is made explicit (ZeroPadding2D) so strided convolutions pad like ONNX does.

Dense layers are quantized per tensor, not per channel
(`_experimental_disable_per_channel_quantization_for_dense_layers`): TensorFlow Lite runtimes
before 2.11 have no per-channel FULLY_CONNECTED kernel and silently compute garbage with one.
"""
import os

import numpy as np
import onnx
from onnx import numpy_helper
import tensorflow as tf

HERE = os.path.dirname(os.path.abspath(__file__))


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return onnx.helper.get_attribute_value(a)
    return default


def keras_from_onnx(path):
    model = onnx.load(path)
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    inp = tf.keras.Input(shape=(224, 224, 3), batch_size=1, name="input")
    values = {"input": inp}
    for node in model.graph.node:
        x = values[node.input[0]]
        if node.op_type == "Conv":
            w, b = weights[node.input[1]], weights[node.input[2]]
            k = w.shape[2]
            stride = attr(node, "strides")[0]
            pad = attr(node, "pads")[0]
            group = attr(node, "group", 1)
            if pad:
                x = tf.keras.layers.ZeroPadding2D(pad)(x)
            if group == 1:
                layer = tf.keras.layers.Conv2D(w.shape[0], k, strides=stride, padding="valid")
                y = layer(x)
                layer.set_weights([w.transpose(2, 3, 1, 0), b])
            else:
                layer = tf.keras.layers.DepthwiseConv2D(k, strides=stride, padding="valid")
                y = layer(x)
                layer.set_weights([w.transpose(2, 3, 0, 1), b])
        elif node.op_type == "Clip":
            lo, hi = weights[node.input[1]], weights[node.input[2]]
            assert float(lo) == 0.0 and float(hi) == 6.0
            y = tf.keras.layers.ReLU(6.0)(x)
        elif node.op_type == "Add":
            y = tf.keras.layers.Add()([x, values[node.input[1]]])
        elif node.op_type == "GlobalAveragePool":
            y = tf.keras.layers.GlobalAveragePooling2D()(x)
        elif node.op_type == "Flatten":
            y = x  # GlobalAveragePooling2D already gives [1, C]
        elif node.op_type == "Gemm":
            w, b = weights[node.input[1]], weights[node.input[2]]
            assert attr(node, "transB") == 1
            layer = tf.keras.layers.Dense(w.shape[0], name="logits")
            y = layer(x)
            layer.set_weights([w.T, b])
        else:
            raise SystemExit(f"no translation for ONNX op {node.op_type}")
        values[node.output[0]] = y
    return tf.keras.Model(inp, values[model.graph.output[0].name])


def main():
    keras_model = keras_from_onnx(os.path.join(HERE, "mobilenetv2_mini.onnx"))

    # the float conversion must compute what the ONNX model computes
    import onnxruntime as ort
    x = np.random.default_rng(99).uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32)
    want = ort.InferenceSession(os.path.join(HERE, "mobilenetv2_mini.onnx")).run(None, {"input": x})[0]
    got = keras_model(x.transpose(0, 2, 3, 1)).numpy()
    assert np.abs(got - want).max() < 1e-3, np.abs(got - want).max()

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    with open(os.path.join(HERE, "mobilenetv2_mini.tflite"), "wb") as f:
        f.write(converter.convert())

    def calibration():
        rng = np.random.default_rng(1234)
        for _ in range(64):
            yield [rng.uniform(-1, 1, (1, 224, 224, 3)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    with open(os.path.join(HERE, "mobilenetv2_mini_int8.tflite"), "wb") as f:
        f.write(converter.convert())
    small_models()
    for name in ["mobilenetv2_mini.tflite", "mobilenetv2_mini_int8.tflite", "gelu.tflite",
                 "dense_per_channel_int8.tflite", "dynamic_batch.tflite"]:
        print(f"wrote {name} ({os.path.getsize(os.path.join(HERE, name))} bytes)")


def small_models():
    x = tf.keras.Input(shape=(8,), batch_size=1, name="x")
    gelu = tf.keras.Model(x, tf.keras.layers.Activation("gelu", name="y")(x))
    with open(os.path.join(HERE, "gelu.tflite"), "wb") as f:
        f.write(tf.lite.TFLiteConverter.from_keras_model(gelu).convert())

    x = tf.keras.Input(shape=(16,), name="x")
    layer = tf.keras.layers.Dense(4, name="y")
    dynamic = tf.keras.Model(x, layer(x))
    layer.set_weights([np.random.default_rng(8).normal(0, 0.5, (16, 4)).astype(np.float32),
                       np.zeros(4, np.float32)])
    with open(os.path.join(HERE, "dynamic_batch.tflite"), "wb") as f:
        f.write(tf.lite.TFLiteConverter.from_keras_model(dynamic).convert())

    x = tf.keras.Input(shape=(16,), batch_size=1, name="x")
    layer = tf.keras.layers.Dense(8, name="y")
    dense = tf.keras.Model(x, layer(x))
    rng = np.random.default_rng(5)
    layer.set_weights([rng.normal(0, 0.5, (16, 8)).astype(np.float32),
                       rng.normal(0, 0.1, (8,)).astype(np.float32)])

    def calibration():
        r = np.random.default_rng(6)
        for _ in range(32):
            yield [r.uniform(-1, 1, (1, 16)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(dense)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = calibration
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = tf.int8
    converter.inference_output_type = tf.int8
    with open(os.path.join(HERE, "dense_per_channel_int8.tflite"), "wb") as f:
        f.write(converter.convert())


if __name__ == "__main__":
    main()
