"""What the Python boundary costs per inference, and edgerun from Python beside the peers'
own Python packages, all in one interleaved run.

Boundary: `Session.run` from Python (the dict of arrays in, new arrays out) against the Rust
`ModelSession::run_into` on the same session, inputs and backend (tract, one thread), timed
inside the extension (`Session._rust_run_ns`). Peers: edgerun's `run` on the ONNX Runtime and
LiteRT backends (one thread) against onnxruntime's `InferenceSession.run` and LiteRT's
`Interpreter` (set_tensor, invoke, get_tensor) on the same models and inputs, one thread each.

Run by crates/edgerun-python/bench, which builds the release wheel; prints Markdown tables.
"""

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

import edgerun

ROOT = Path(__file__).resolve().parents[3]
MODELS = ROOT / "models"
REF = MODELS / "reference"


def per_call_ns(fn, seconds):
    """Calls fn until `seconds` have passed (at least 3 times); the mean ns per call."""
    calls, start = 0, time.perf_counter_ns()
    deadline = start + seconds * 1e9
    while True:
        fn()
        calls += 1
        now = time.perf_counter_ns()
        if calls >= 3 and now >= deadline:
            return (now - start) / calls


def interleaved(runners, rounds, seconds):
    """Each runner once per round, in an order that rotates; the median per-call ns of each."""
    names = list(runners)
    times = {n: [] for n in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for n in order:
            times[n].append(runners[n]())
    return {n: statistics.median(t) for n, t in times.items()}


def fmt(ns):
    return f"{ns / 1e3:.2f} µs" if ns < 1e5 else f"{ns / 1e6:.3f} ms"


def boundary_rows(rounds, seconds):
    cases = [
        ("MLP 16-32-4, batch 3", "dynamic_mlp.onnx", "dynamic_mlp_batch3", "x"),
        ("MobileNetV2-mini", "mobilenetv2_mini.onnx", "mobilenetv2_mini", "input"),
    ]
    rows = []
    for label, model, case, name in cases:
        x = np.load(REF / case / "input.0.npy")
        session = edgerun.load(MODELS / model, backend="tract", threads=1, cache="off").session()
        feed = {name: x}
        session.run(feed)
        # the Rust side times `runs` runs itself: as many as the Python side makes in the time
        runs = max(3, int(seconds * 1e9 / per_call_ns(lambda: session.run(feed), 0.05)))
        med = interleaved(
            {
                "rust": lambda: session._rust_run_ns([x], runs),
                "python": lambda: per_call_ns(lambda: session.run(feed), seconds),
            },
            rounds,
            seconds,
        )
        diff = med["python"] - med["rust"]
        rows.append(
            f"| {label} | {fmt(med['rust'])} | {fmt(med['python'])} | "
            f"+{diff / 1e3:.2f} µs ({100 * diff / med['rust']:+.1f} %) |"
        )
    return rows


def peer_rows(rounds, seconds):
    import onnxruntime as ort

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        from tflite_runtime.interpreter import Interpreter

    rows = []
    for label, model, case in [
        ("MLP (ONNX)", "dynamic_mlp.onnx", "dynamic_mlp_batch3"),
        ("MobileNetV2-mini (ONNX)", "mobilenetv2_mini.onnx", "mobilenetv2_mini"),
    ]:
        x = np.load(REF / case / "input.0.npy")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        peer = ort.InferenceSession(str(MODELS / model), opts, providers=["CPUExecutionProvider"])
        peer_feed = {peer.get_inputs()[0].name: x}
        session = edgerun.load(MODELS / model, backend="ort", threads=1, cache="off").session()
        feed = {edgerun.load(MODELS / model, backend="tract").inputs[0].name: x}
        ours = next(iter(session.run(feed).values()))
        theirs = peer.run(None, peer_feed)[0]
        assert np.allclose(ours, theirs, rtol=1e-3, atol=1e-4), label
        med = interleaved(
            {
                "edgerun": lambda: per_call_ns(lambda: session.run(feed), seconds),
                "peer": lambda: per_call_ns(lambda: peer.run(None, peer_feed), seconds),
            },
            rounds,
            seconds,
        )
        rows.append(
            f"| {label} | edgerun `ort` {fmt(med['edgerun'])} | onnxruntime {fmt(med['peer'])} | "
            f"{med['peer'] / med['edgerun']:.2f} |"
        )

    for label, model, case in [
        ("MobileNetV2-mini (TFLite)", "mobilenetv2_mini.tflite", "mobilenetv2_mini_tflite"),
        ("MobileNetV2-mini int8", "mobilenetv2_mini_int8.tflite", "mobilenetv2_mini_int8_tflite"),
    ]:
        x = np.load(REF / case / "input.0.npy")
        interp = Interpreter(model_path=str(MODELS / model), num_threads=1)
        interp.allocate_tensors()
        i = interp.get_input_details()[0]["index"]
        o = interp.get_output_details()[0]["index"]

        def peer_run():
            interp.set_tensor(i, x)
            interp.invoke()
            return interp.get_tensor(o)

        m = edgerun.load(MODELS / model, backend="litert", threads=1, cache="off")
        session = m.session()
        feed = {m.inputs[0].name: x}
        ours = next(iter(session.run(feed).values()))
        theirs = peer_run()
        assert np.abs(ours.astype(np.float64) - theirs.astype(np.float64)).max() <= 8, label
        med = interleaved(
            {
                "edgerun": lambda: per_call_ns(lambda: session.run(feed), seconds),
                "peer": lambda: per_call_ns(peer_run, seconds),
            },
            rounds,
            seconds,
        )
        rows.append(
            f"| {label} | edgerun `litert` {fmt(med['edgerun'])} | LiteRT {fmt(med['peer'])} | "
            f"{med['peer'] / med['edgerun']:.2f} |"
        )
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=30)
    p.add_argument("--seconds", type=float, default=0.02, help="time per side per round")
    args = p.parse_args()
    print(f"edgerun {edgerun.__version__}, numpy {np.__version__}, {os.cpu_count()} CPUs")
    print()
    print("| model | Rust `run_into` | Python `run` | Python boundary |")
    print("| --- | ---: | ---: | ---: |")
    for row in boundary_rows(args.rounds, args.seconds):
        print(row)
    print()
    print("| model | edgerun from Python | peer from Python | peer / edgerun |")
    print("| --- | ---: | ---: | ---: |")
    for row in peer_rows(args.rounds, args.seconds):
        print(row)


if __name__ == "__main__":
    main()
