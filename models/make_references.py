#!/usr/bin/env python3
"""Compute reference outputs with onnxruntime for fixed, seeded inputs.

Needs `onnxruntime` and `numpy` (pip install onnxruntime numpy), the bundled models and the
fetched ones (models/fetch). For each case below it writes, under models/reference/CASE/,
input.K.npy and output.K.npy (K = position in the model's input/output list), and lists the
cases in models/reference/cases.tsv, which the conformance tests read:

  case <TAB> model path relative to models/ <TAB> input=shape;input=shape <TAB> producer

onnxruntime runs on one thread with graph optimizations off, so the references are the plain
float32 evaluation of each graph.
"""
import os

import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "reference")

# case, model (relative to models/), {input: shape}
CASES = [
    ("mobilenetv2_mini", "mobilenetv2_mini.onnx", {"input": (1, 3, 224, 224)}),
    ("dynamic_mlp_batch3", "dynamic_mlp.onnx", {"x": (3, 16)}),
    ("ppocr_cls", "fetched/ch_ppocr_mobile_v2.0_cls_infer.onnx", {"x": (1, 3, 48, 192)}),
    ("ppocr_det_64x96", "fetched/ch_PP-OCRv4_det_infer.onnx", {"x": (1, 3, 64, 96)}),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for seed, (case, model, shapes) in enumerate(CASES):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(os.path.join(HERE, model), opts, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(seed)
        feeds = {}
        for i in sess.get_inputs():
            feeds[i.name] = rng.uniform(-1.0, 1.0, shapes[i.name]).astype(np.float32)
        outs = sess.run(None, feeds)
        d = os.path.join(OUT, case)
        os.makedirs(d, exist_ok=True)
        for k, i in enumerate(sess.get_inputs()):
            np.save(os.path.join(d, f"input.{k}.npy"), feeds[i.name])
        for k, o in enumerate(outs):
            np.save(os.path.join(d, f"output.{k}.npy"), o)
        spec = ";".join(f"{n}={','.join(map(str, s))}" for n, s in shapes.items())
        lines.append(f"{case}\t{model}\t{spec}\tonnxruntime {ort.__version__}")
        print(case, [o.shape for o in outs])
    with open(os.path.join(OUT, "cases.tsv"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
