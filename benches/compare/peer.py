#!/usr/bin/env python3
"""Time one model on a peer runtime (onnxruntime or LiteRT from PyPI) the way `edgerun bench`
times it: load, warm-up runs, then timed runs of the inference call alone.

Usage: peer.py RUNTIME MODEL THREADS WARMUP RUNS INPUTS_DIR OUT_JSON [OUTPUT_BIN]
  RUNTIME     onnxruntime | litert
  THREADS     a count, or `default` to leave it to the runtime
  INPUTS_DIR  holds NAME.npy for each input (names with '/' or ':' written as '_')
Prints nothing; writes {"samples_us": [...], "init_us": N, "first_us": N, "import_us": N,
"version": "...", "output_nbytes": [...]} to OUT_JSON (import_us: importing the runtime's Python
module, which loads its library; init_us: the load after it) and
the last run's outputs, raw bytes one after another, to OUTPUT_BIN.
"""
import ctypes
import json
import os
import sys
import time

import numpy as np


def input_file(inputs_dir, name):
    return os.path.join(inputs_dir, name.replace("/", "_").replace(":", "_") + ".npy")


def session(runtime, model, threads, inputs_dir):
    if runtime == "onnxruntime":
        import onnxruntime as ort
        opts = ort.SessionOptions()
        if threads is not None:
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
        feeds = {i.name: np.load(input_file(inputs_dir, i.name)) for i in sess.get_inputs()}
        names = [o.name for o in sess.get_outputs()]
        bf16 = "tensor(bfloat16)"
        if not any(v.type == bf16 for v in sess.get_inputs() + sess.get_outputs()):
            return (lambda: sess.run(names, feeds)), ort.__version__
        # onnxruntime's Python API takes bfloat16 only as raw 16-bit values in OrtValues, and
        # gives it back only as OrtValues: the I/O binding is how a Python application runs
        # such a model
        binding = sess.io_binding()
        for i in sess.get_inputs():
            data = feeds[i.name]
            value = (ort.OrtValue.ortvalue_from_numpy_with_onnx_type(data.view(np.uint16), 16)
                     if i.type == bf16 else ort.OrtValue.ortvalue_from_numpy(data))
            binding.bind_ortvalue_input(i.name, value)
        for name in names:
            binding.bind_output(name)

        def run():
            sess.run_with_iobinding(binding)
            return binding.get_outputs()
        return run, ort.__version__
    if runtime == "litert":
        from ai_edge_litert.interpreter import Interpreter
        import ai_edge_litert
        # LiteRT's Python API finds numpy's bfloat16 in ml_dtypes only once that is imported;
        # without it a model with BFLOAT16 tensors fails with "Invalid data-type for array"
        import ml_dtypes  # noqa: F401
        interp = (Interpreter(model_path=model) if threads is None
                  else Interpreter(model_path=model, num_threads=threads))
        details = interp.get_input_details()
        for d in details:
            data = np.load(input_file(inputs_dir, d["name"]))
            if list(d["shape"]) != list(data.shape):
                interp.resize_tensor_input(d["index"], data.shape)
        interp.allocate_tensors()
        # a bfloat16 file loads as numpy's 2-byte void: view it as the interpreter's type
        feeds = [(d["index"], np.load(input_file(inputs_dir, d["name"])).view(d["dtype"]))
                 for d in details]
        outs = [d["index"] for d in interp.get_output_details()]

        def run():
            for index, data in feeds:
                interp.set_tensor(index, data)
            interp.invoke()
            return [interp.get_tensor(i) for i in outs]
        version = getattr(ai_edge_litert, "__version__", "2.3.0")
        return run, version
    raise SystemExit(f"peer.py: unknown runtime {runtime!r}; use onnxruntime or litert")


def main():
    runtime, model, threads, warmup, runs, inputs_dir, out_json = sys.argv[1:8]
    output_bin = sys.argv[8] if len(sys.argv) > 8 else None
    # the runtime's Python module is imported before the load is timed, and timed on its own:
    # it loads the engine's library (edgerun's load includes that), and Python code besides
    t0 = time.perf_counter_ns()
    if runtime == "onnxruntime":
        import onnxruntime  # noqa: F401
    elif runtime == "litert":
        import ai_edge_litert.interpreter  # noqa: F401
        import ml_dtypes  # noqa: F401
    import_us = (time.perf_counter_ns() - t0) // 1000
    t0 = time.perf_counter_ns()
    run, version = session(runtime, model, None if threads == "default" else int(threads),
                           inputs_dir)
    init_us = (time.perf_counter_ns() - t0) // 1000
    t0 = time.perf_counter_ns()
    run()
    first_us = (time.perf_counter_ns() - t0) // 1000
    for _ in range(int(warmup)):
        run()
    samples = []
    outputs = None
    for _ in range(int(runs)):
        start = time.perf_counter_ns()
        outputs = run()
        samples.append((time.perf_counter_ns() - start) // 1000)
    # an OrtValue (from the I/O binding) is read as its raw bytes
    raw = [ctypes.string_at(o.data_ptr(), o.tensor_size_in_bytes()) if hasattr(o, "data_ptr")
           else np.ascontiguousarray(o).tobytes() for o in (outputs or [])]
    if output_bin and outputs is not None:
        with open(output_bin, "wb") as f:
            for r in raw:
                f.write(r)
    nbytes = [len(r) for r in raw]
    with open(out_json, "w") as f:
        json.dump({"samples_us": samples, "init_us": init_us, "first_us": first_us,
                   "import_us": import_us, "version": version,
                   "output_nbytes": nbytes}, f)


if __name__ == "__main__":
    main()
