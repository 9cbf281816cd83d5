#!/usr/bin/env python3
"""Compute reference outputs with peer runtimes for fixed, seeded inputs.

ONNX models run in onnxruntime, TensorFlow Lite models in LiteRT. Needs `onnxruntime`,
`ai-edge-litert` and `numpy` (pip install onnxruntime ai-edge-litert numpy), the bundled models
and the fetched ones (models/fetch). For each case below it writes, under models/reference/CASE/,
input.K.npy and output.K.npy (K = position in the model's input/output list), and lists the
cases in models/reference/cases.tsv, which the conformance tests read:

  case <TAB> model path relative to models/ <TAB> input=shape;input=shape <TAB> producer

onnxruntime runs on one thread with graph optimizations off, so the references are the plain
float32 evaluation of each graph. LiteRT runs on one thread with its builtin kernels and no
default delegate (no XNNPACK). Float inputs are uniform in [-1, 1); an int8 or uint8 input gets
the same floats quantized with the input's own scale and zero point.
"""
import os

import numpy as np

try:
    import onnxruntime as ort
except ImportError:  # only the TFLite cases can be made then
    ort = None

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "reference")

# case, model (relative to models/), {input: shape}
CASES = [
    ("mobilenetv2_mini", "mobilenetv2_mini.onnx", {"input": (1, 3, 224, 224)}),
    ("dynamic_mlp_batch3", "dynamic_mlp.onnx", {"x": (3, 16)}),
    ("ppocr_cls", "fetched/ch_ppocr_mobile_v2.0_cls_infer.onnx", {"x": (1, 3, 48, 192)}),
    ("ppocr_det_64x96", "fetched/ch_PP-OCRv4_det_infer.onnx", {"x": (1, 3, 64, 96)}),
    ("mobilenetv2_mini_tflite", "mobilenetv2_mini.tflite", {"serving_default_input:0": (1, 224, 224, 3)}),
    ("mobilenetv2_mini_int8_tflite", "mobilenetv2_mini_int8.tflite",
     {"serving_default_input:0": (1, 224, 224, 3)}),
    ("blazeface_front", "fetched/face_detection_front.tflite", {"input": (1, 128, 128, 3)}),
    ("dynamic_batch_tflite", "dynamic_batch.tflite", {"serving_default_x:0": (3, 16)}),
    # a second image size for the same detector: one loaded model must serve both
    ("ppocr_det_96x128", "fetched/ch_PP-OCRv4_det_infer.onnx", {"x": (1, 3, 96, 128)}),
    # bfloat16 in and out (saved as ml_dtypes saves bfloat16: 2-byte void, '<V2')
    ("cast_bf16", "cast_bf16.onnx", {"x": (8,), "u": (8,)}),
    ("cast_bf16_tflite", "cast_bf16.tflite", {"x": (1, 8), "u": (1, 8)}),
]


def run_onnx(path, shapes, rng):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    feeds = [rng.uniform(-1.0, 1.0, shapes[i.name]).astype(np.float32) for i in sess.get_inputs()]
    if not any(i.type == "tensor(bfloat16)" for i in sess.get_inputs() + sess.get_outputs()):
        outs = sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), feeds)})
        return feeds, outs, f"onnxruntime {ort.__version__}"
    # onnxruntime's Python API takes and gives bfloat16 only as raw 16-bit values in OrtValues
    import ml_dtypes
    binding = sess.io_binding()
    for k, i in enumerate(sess.get_inputs()):
        if i.type == "tensor(bfloat16)":
            feeds[k] = feeds[k].astype(ml_dtypes.bfloat16)
            value = ort.OrtValue.ortvalue_from_numpy_with_onnx_type(feeds[k].view(np.uint16), 16)
        else:
            value = ort.OrtValue.ortvalue_from_numpy(feeds[k])
        binding.bind_ortvalue_input(i.name, value)
    outs = []
    for o in sess.get_outputs():
        # the cases with bfloat16 have outputs of their inputs' shape
        shape = shapes[sess.get_inputs()[0].name]
        if o.type == "tensor(bfloat16)":
            raw = np.zeros(shape, np.uint16)
            binding.bind_ortvalue_output(o.name, ort.OrtValue.ortvalue_from_numpy_with_onnx_type(raw, 16))
            outs.append(raw.view(ml_dtypes.bfloat16))
        else:
            out = np.zeros(shape, np.float32)
            binding.bind_ortvalue_output(o.name, ort.OrtValue.ortvalue_from_numpy(out))
            outs.append(out)
    sess.run_with_iobinding(binding)
    return feeds, outs, f"onnxruntime {ort.__version__}"


def run_tflite(path, shapes, rng):
    from ai_edge_litert import interpreter as litert
    import importlib.metadata
    import ml_dtypes  # noqa: F401 (LiteRT's bfloat16 tensors need it imported)
    interp = litert.Interpreter(
        model_path=path, num_threads=1,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    feeds = []
    for d in interp.get_input_details():
        real = rng.uniform(-1.0, 1.0, shapes[d["name"]]).astype(np.float32)
        if np.dtype(d["dtype"]).name == "bfloat16":
            real = real.astype(d["dtype"])
        elif d["dtype"] in (np.int8, np.uint8):
            scale, zero = d["quantization"]
            info = np.iinfo(d["dtype"])
            real = np.clip(np.round(real / scale) + zero, info.min, info.max).astype(d["dtype"])
        interp.resize_tensor_input(d["index"], shapes[d["name"]])
        feeds.append(real)
    interp.allocate_tensors()
    for d, x in zip(interp.get_input_details(), feeds):
        interp.set_tensor(d["index"], x)
    interp.invoke()
    outs = [interp.get_tensor(d["index"]) for d in interp.get_output_details()]
    return feeds, outs, f"litert {importlib.metadata.version('ai-edge-litert')}"


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for seed, (case, model, shapes) in enumerate(CASES):
        rng = np.random.default_rng(seed)
        run = run_tflite if model.endswith(".tflite") else run_onnx
        feeds, outs, producer = run(os.path.join(HERE, model), shapes, rng)
        d = os.path.join(OUT, case)
        os.makedirs(d, exist_ok=True)
        for k, x in enumerate(feeds):
            np.save(os.path.join(d, f"input.{k}.npy"), x)
        for k, o in enumerate(outs):
            np.save(os.path.join(d, f"output.{k}.npy"), o)
        spec = ";".join(f"{n}={','.join(map(str, s))}" for n, s in shapes.items())
        lines.append(f"{case}\t{model}\t{spec}\t{producer}")
        print(case, [o.shape for o in outs])
    with open(os.path.join(OUT, "cases.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
