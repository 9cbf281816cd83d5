#!/usr/bin/env python3
"""Side-by-side latency of edgerun's backends and the peer runtimes (onnxruntime and LiteRT from
PyPI) on the same models, inputs and thread counts, in one run.

Runtimes are interleaved round by round (each round runs every runtime on every model and
thread count, in an order rotated each round), so the noise of a shared machine falls on all of
them alike. Each chunk is one process: load, warm-up runs, timed runs. Medians are taken over
every timed run of every round. Outputs of the last run are compared with the peer runtime of
the model's format (onnxruntime for ONNX, LiteRT for TensorFlow Lite), so a fast wrong answer is
shown as such and never counted as the fastest.

Writes compare.json, compare.md (the table) and compare.svg (the chart) to --out. A benchmark,
not a test: it never fails on speed. Run it through benches/compare/run, which sets up the
virtual environment and builds edgerun.
"""
import argparse
import atexit
import datetime
import json
import math
import os
import shutil
import shlex
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# model (relative to the repository), input shapes for dynamic inputs, note
DEFAULT_MODELS = [
    ("models/mobilenetv2_mini.onnx", "", "MobileNetV2-style CNN, float32, bundled"),
    ("models/mobilenetv2_mini.tflite", "", "the same network converted to TensorFlow Lite"),
    ("models/mobilenetv2_mini_int8.tflite", "", "the same network, full int8"),
    ("models/fetched/ch_ppocr_mobile_v2.0_cls_infer.onnx", "x=1,3,48,192", "PP-OCR text direction classifier"),
    ("models/fetched/ch_PP-OCRv4_det_infer.onnx", "x=1,3,256,256", "PP-OCRv4 text detector, dynamic shape"),
    ("models/fetched/face_detection_front.tflite", "", "BlazeFace, fp16 weights"),
    ("models/fetched/hand_landmark_full.tflite", "", "MediaPipe hand landmarks, float32, 5.5 MB"),
]


def runtimes_for(model, with_tract_tflite, isolation_cost=False):
    if model.endswith(".onnx"):
        rts = ["edgerun:auto", "edgerun:ort", "edgerun:tract", "onnxruntime"]
    else:
        rts = ["edgerun:auto", "edgerun:litert", "edgerun:tflite", "litert"]
        if with_tract_tflite:
            rts.insert(2, "edgerun:tract")
    if isolation_cost:
        # each edgerun runtime also without containment (`~off`): what the helper costs
        rts += [f"{r}~off" for r in rts if r.startswith("edgerun:")]
    return rts


def peer_of(model):
    return "onnxruntime" if model.endswith(".onnx") else "litert"


def parse_shapes(text):
    shapes = {}
    for item in filter(None, text.split(";")):
        name, dims = item.rsplit("=", 1)
        shapes[name] = [int(d) for d in dims.split(",")]
    return shapes


def describe(model, shapes):
    """Inputs (name, dtype, shape) and output dtypes, as the peer runtime reads the model."""
    if model.endswith(".onnx"):
        import onnxruntime as ort
        sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        import ml_dtypes
        types = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32,
                 "tensor(uint8)": np.uint8, "tensor(int8)": np.int8,
                 "tensor(bfloat16)": ml_dtypes.bfloat16, "tensor(float16)": np.float16}
        inputs = []
        for i in sess.get_inputs():
            shape = shapes.get(i.name) or [d if isinstance(d, int) else 1 for d in i.shape]
            inputs.append((i.name, types[i.type], shape))
        return inputs, [types[o.type] for o in sess.get_outputs()]
    from ai_edge_litert.interpreter import Interpreter
    import ml_dtypes  # noqa: F401 (LiteRT's bfloat16 tensors need it imported)
    interp = Interpreter(model_path=model)
    inputs = [(d["name"], d["dtype"], shapes.get(d["name"]) or [int(x) for x in d["shape"]])
              for d in interp.get_input_details()]
    return inputs, [d["dtype"] for d in interp.get_output_details()]


def make_inputs(inputs, directory, seed):
    rng = np.random.default_rng(seed)
    for name, dtype, shape in inputs:
        # ml_dtypes' bfloat16 is not a numpy floating type, but is a float
        if np.issubdtype(dtype, np.floating) or np.dtype(dtype).name == "bfloat16":
            data = rng.uniform(-1.0, 1.0, size=shape).astype(dtype)
        else:
            info = np.iinfo(dtype)
            data = rng.integers(max(info.min, -128), min(info.max, 255), size=shape, endpoint=True).astype(dtype)
        np.save(os.path.join(directory, name.replace("/", "_").replace(":", "_") + ".npy"), data)


def edgerun_cmd(args, model, backend, threads, inputs, inputs_dir, out_json, out_bin, runs):
    backend, _, isolation = backend.partition("~")
    files = ",".join(
        f"{name.replace(':', '::')}:{os.path.join(inputs_dir, name.replace('/', '_').replace(':', '_') + '.npy')}"
        for name, _, _ in inputs)
    cmd = [args.edgerun, "bench", f"--graph={model}", f"--backend={backend}",
           f"--num_runs={runs}", "--min_secs=0",
           f"--warmup_runs={args.warmup}", "--warmup_min_secs=0",
           f"--input_layer_value_files={files}", "--format=json", f"--result_file={out_json}",
           f"--output_filepath={out_bin}"]
    # "default": no thread count, as an application that leaves it to edgerun
    if threads != "default":
        cmd.append(f"--num_threads={threads}")
    names = [n for n, _, _ in inputs]
    cmd += [f"--input_layer={','.join(names)}",
            "--input_layer_shape=" + ":".join(",".join(str(d) for d in s) for _, _, s in inputs)]
    if args.tflite_lib:
        cmd.append(f"--tflite_lib={args.tflite_lib}")
    if args.litert_lib:
        cmd.append(f"--litert_lib={args.litert_lib}")
    if args.ort_lib:
        cmd.append(f"--ort_lib={args.ort_lib}")
    # each edgerun row (model, threads, runtime) has a store of its own in this run, so that
    # its first load is cold: auto measures then (the later loads find its choice), and
    # whatever a backend is set to keep is built then
    row = f"{os.path.basename(model)}-{threads}-{backend}" + ("-isolation-off" if isolation == "off" else "")
    store = os.path.join(args.store_root, row.replace("/", "_"))
    cmd.append(f"--decision_cache={os.path.join(store, 'decisions.json')}")
    if isolation == "off":
        cmd.append("--isolation=off")
    return cmd


def chunk(args, model, runtime, threads, inputs, inputs_dir, work, runs):
    out_json = os.path.join(work, "r.json")
    out_bin = os.path.join(work, "out.bin")
    for f in (out_json, out_bin):
        if os.path.exists(f):
            os.remove(f)
    if runtime.startswith("edgerun:"):
        cmd = edgerun_cmd(args, model, runtime.split(":", 1)[1], threads, inputs, inputs_dir,
                          out_json, out_bin, runs)
    else:
        cmd = [sys.executable, os.path.join(HERE, "peer.py"), runtime, model, str(threads),
               str(args.warmup), str(runs), inputs_dir, out_json, out_bin]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0 or not os.path.exists(out_json):
        err = [l.removeprefix("ERROR: ") for l in (proc.stderr or proc.stdout).splitlines()
               if l.strip() and not l.endswith("Benchmarking failed.")]
        return None, (err[-1] if err else f"exit status {proc.returncode}")
    with open(out_json) as f:
        r = json.load(f)
    with open(out_bin, "rb") as f:
        out = f.read()
    if runtime.startswith("edgerun:"):
        return {"samples_us": r["inference"]["samples_us"], "version": r.get("backend_version"),
                "threads": r["threads"], "notes": r.get("notes", []), "out": out,
                "backend": r["backend"], "choice": r.get("choice"), "init_us": r["init_us"],
                "first_us": r["first_inference_us"]}, None
    return {"samples_us": r["samples_us"], "version": r["version"], "threads": threads,
            "notes": [], "out": out, "output_nbytes": r["output_nbytes"],
            "backend": runtime, "choice": None, "init_us": r["init_us"],
            "first_us": r["first_us"], "import_us": r.get("import_us")}, None


def split(raw, nbytes):
    """Cut the raw bytes of a run's outputs into one piece per output."""
    if nbytes is None or sum(nbytes) != len(raw):
        return None
    pieces, at = [], 0
    for n in nbytes:
        pieces.append(raw[at:at + n])
        at += n
    return pieces


def max_diff(out, ref, nbytes, dtypes):
    """Largest absolute difference between two runs' outputs, output by output."""
    a, b = split(out, nbytes), split(ref, nbytes)
    if a is None or b is None or len(dtypes) != len(a):
        return None
    worst = 0.0
    for x, y, dt in zip(a, b, dtypes):
        x = np.frombuffer(x, dtype=dt).astype(np.float64)
        y = np.frombuffer(y, dtype=dt).astype(np.float64)
        if x.size:
            worst = max(worst, float(np.max(np.abs(x - y))))
    return worst


def tolerance(ref, nbytes, dtypes):
    """8 LSB when an output is integer (kernel sets legitimately differ by a few), else
    1e-3 x max(1, largest |reference value|)."""
    pieces = split(ref, nbytes)
    if pieces is None or len(pieces) != len(dtypes):
        return None
    if any(np.issubdtype(dt, np.integer) for dt in dtypes):
        return 8.0
    largest = max((float(np.max(np.abs(np.frombuffer(p, dtype=dt)))) for p, dt in zip(pieces, dtypes)
                   if len(p)), default=1.0)
    return 1e-3 * max(1.0, largest)


def svg_chart(groups, path):
    """Horizontal bars of each runtime's median relative to the fastest, per model and thread
    count, on a log2 axis (1 = fastest; each grid line doubles)."""
    bar_h, gap, left, width, base = 16, 14, 330, 420, 24
    rows = sum(len(g["rows"]) for g in groups) * bar_h + len(groups) * (gap + 18) + 70
    colors = {"edgerun:auto": "#c0392b", "edgerun:tract": "#1b7f5f", "edgerun:tflite": "#2a9d8f", "edgerun:litert": "#e07a1f", "edgerun:ort": "#8e44ad", "onnxruntime": "#5a6fd6",
              "litert": "#e07b39"}
    worst = max([r["ratio"] for g in groups for r in g["rows"] if r.get("ratio")] + [2.0])
    octaves = max(1, math.ceil(math.log2(worst)))
    per_octave = (width - base) / octaves

    def x_of(ratio):
        return left + base + per_octave * math.log2(ratio)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 170}" height="{rows}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           '<text x="10" y="20" font-size="14" font-weight="bold">Median latency relative to the '
           'fastest correct runtime (log scale; lower is better)</text>']
    y = 50
    top = y - 8
    for g in groups:
        out.append(f'<text x="10" y="{y + 12}" font-weight="bold">{g["title"]}</text>')
        y += 18
        for r in g["rows"]:
            out.append(f'<text x="20" y="{y + 12}">{r["runtime"]}</text>')
            if r.get("ratio"):
                w = x_of(r["ratio"]) - left
                ok = r.get("ok")
                fill = colors.get(r["runtime"], "#888") if ok else "#bbbbbb"
                out.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{bar_h - 4}" fill="{fill}"/>')
                label = f'{r["median_ms"]:.2f} ms  \u00d7{r["ratio"]:.2f}'
                if ok is False:
                    label += "  (wrong output)"
                elif ok is None:
                    label += "  (output unchecked)"
                out.append(f'<text x="{left + w + 6:.1f}" y="{y + 12}">{label}</text>')
            else:
                out.append(f'<text x="{left}" y="{y + 12}" fill="#a00">did not run</text>')
            y += bar_h
        y += gap
    for k in range(octaves + 1):
        x = x_of(2 ** k)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{y}" stroke="#999" '
                   'stroke-dasharray="2,3"/>')
        out.append(f'<text x="{x:.1f}" y="{y + 14}" text-anchor="middle">\u00d7{2 ** k}</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edgerun", default=os.path.join(ROOT, "target/release/edgerun"))
    ap.add_argument("--tflite-lib", default=os.environ.get("EDGERUN_TFLITE_LIB", ""))
    ap.add_argument("--litert-lib", default=os.environ.get("EDGERUN_LITERT_LIB", ""))
    ap.add_argument("--ort-lib", default=os.environ.get("EDGERUN_ORT_LIB", ""))
    ap.add_argument("--models", nargs="*", help="MODEL or MODEL@name=1,3,64,96;name2=... "
                    "(default: the bundled and fetched models)")
    ap.add_argument("--threads", default="1,2",
                    help="thread counts, comma-separated; `default` gives none, leaving the count "
                         "to each runtime (edgerun: one per big core; onnxruntime: one per "
                         "physical core; LiteRT: its own default)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--runs", type=int, default=10, help="timed runs per runtime per round")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--tract-tflite", action="store_true",
                    help="also time tract on .tflite models")
    ap.add_argument("--isolation-cost", action="store_true",
                    help="also run each edgerun runtime with --isolation=off (as NAME~off), "
                         "to measure what containment costs at load")
    ap.add_argument("--out", default=os.path.join(ROOT, "target/compare"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)

    if args.models:
        models = [(m.split("@")[0], m.split("@")[1] if "@" in m else "", "") for m in args.models]
    else:
        models = [m for m in DEFAULT_MODELS if os.path.exists(os.path.join(ROOT, m[0]))]
        missing = [m[0] for m in DEFAULT_MODELS if m not in models]
        if missing:
            print(f"compare: skipping {', '.join(missing)} (run models/fetch --large)", file=sys.stderr)
    threads = [t if t == "default" else int(t) for t in args.threads.split(",")]
    info = json.loads(subprocess.run([args.edgerun, "info", "--json"], capture_output=True,
                                     text=True, check=True).stdout)

    work = tempfile.mkdtemp(prefix="edgerun-compare-")
    # inputs, outputs and every row's decision store (with LiteRT's packed weights): megabytes
    atexit.register(shutil.rmtree, work, True)
    args.store_root = os.path.join(work, "stores")
    plan = []
    for model, shapes, note in models:
        path = model if os.path.isabs(model) else os.path.join(ROOT, model)
        inputs, out_dtypes = describe(path, parse_shapes(shapes))
        inputs_dir = os.path.join(work, f"inputs{len(plan)}")
        os.makedirs(inputs_dir)
        make_inputs(inputs, inputs_dir, seed=len(plan))
        for t in threads:
            plan.append({"model": model, "path": path, "note": note, "threads": t, "inputs": inputs,
                         "inputs_dir": inputs_dir, "out_dtypes": out_dtypes,
                         "runtimes": runtimes_for(model, args.tract_tflite, args.isolation_cost),
                         "samples": {}, "errors": {}, "versions": {}, "outs": {}, "notes": {}})

    for rnd in range(args.rounds):
        print(f"compare: round {rnd + 1}/{args.rounds}", file=sys.stderr)
        for item in plan:
            rts = item["runtimes"]
            k = rnd % len(rts)
            for rt in rts[k:] + rts[:k]:
                if rt in item["errors"]:
                    continue
                res, err = chunk(args, item["path"], rt, item["threads"], item["inputs"],
                                 item["inputs_dir"], work, args.runs)
                if err:
                    item["errors"][rt] = err
                    continue
                item["samples"].setdefault(rt, []).extend(res["samples_us"])
                item["versions"][rt] = res["version"]
                item["outs"][rt] = res["out"]
                item["notes"][rt] = res["notes"]
                item.setdefault("loads", {}).setdefault(rt, []).append(
                    {"backend": res["backend"], "source": (res["choice"] or {}).get("source"),
                     "measuring_us": (res["choice"] or {}).get("measuring_us"),
                     "chosen": (res["choice"] or {}).get("chosen"), "threads": res["threads"],
                     "init_us": res["init_us"], "first_us": res["first_us"],
                     "import_us": res.get("import_us")})
                if "output_nbytes" in res:
                    item["output_nbytes"] = res["output_nbytes"]

    results, groups = [], []
    for item in plan:
        peer = peer_of(item["model"])
        ref = item["outs"].get(peer)
        rows = []
        for rt in item["runtimes"]:
            s = item["samples"].get(rt)
            row = {"model": item["model"], "threads": item["threads"], "runtime": rt,
                   "version": item["versions"].get(rt), "error": item["errors"].get(rt),
                   "loads": item.get("loads", {}).get(rt, [])}
            if s:
                q = statistics.quantiles(s, n=20, method="inclusive") if len(s) > 1 else [s[0]] * 19
                row.update({"median_us": statistics.median(s), "p5_us": q[0], "p95_us": q[18],
                            "runs": len(s), "samples_us": s, "notes": item["notes"].get(rt, [])})
                if ref is not None and rt != peer:
                    nbytes = item.get("output_nbytes")
                    d = max_diff(item["outs"][rt], ref, nbytes, item["out_dtypes"])
                    tol = tolerance(ref, nbytes, item["out_dtypes"])
                    row.update({"max_diff": d, "tolerance": tol,
                                "ok": d is not None and tol is not None and d <= tol})
                else:
                    # the reference itself; anything else without a reference is unchecked, and
                    # an unchecked result is never the best
                    row["ok"] = True if rt == peer else None
            rows.append(row)
        ok_medians = [r["median_us"] for r in rows if r.get("median_us") and r.get("ok")]
        best = min(ok_medians) if ok_medians else None
        for r in rows:
            if r.get("median_us") and best:
                r["ratio"] = r["median_us"] / best
                r["median_ms"] = r["median_us"] / 1000
        results.extend(rows)
        groups.append({"title": f'{os.path.basename(item["model"])}, {item["threads"]} thread(s)',
                       "rows": rows})

    program = os.environ.get("EDGERUN_COMPARE_PROGRAM") or os.path.relpath(sys.argv[0], ROOT)
    command = " ".join(shlex.quote(a) for a in [program] + sys.argv[1:])
    table = ["| model | threads | runtime | median ms | p5–p95 ms | × fastest | output vs peer |",
             "| --- | ---: | --- | ---: | ---: | ---: | --- |"]
    for r in results:
        name = f'{r["runtime"]} {r["version"] or ""}'.strip()
        if r["runtime"] == "edgerun:auto" and r["loads"]:
            chosen = sorted({l["backend"] for l in r["loads"]})
            name = f'edgerun:auto → {"/".join(chosen)} {r["version"] or ""}'.strip()
        if not r.get("median_us"):
            table.append(f'| {os.path.basename(r["model"])} | {r["threads"]} | {name} | — | — | — | did not run: {r["error"]} |')
            continue
        if "max_diff" in r:
            if r["ok"]:
                check = f'max diff {r["max_diff"]:.3g} (tolerance {r["tolerance"]:.3g})'
            elif r["max_diff"] is None:
                check = "**outputs cannot be compared** (sizes differ)"
            else:
                check = f'**differs**: max diff {r["max_diff"]:.3g} (tolerance {r["tolerance"]:.3g})'

        else:
            check = "reference" if r["runtime"] == peer_of(r["model"]) else "no reference"
        table.append(f'| {os.path.basename(r["model"])} | {r["threads"]} | {name} | '
                     f'{r["median_us"] / 1000:.2f} | {r["p5_us"] / 1000:.2f}–{r["p95_us"] / 1000:.2f} | '
                     f'{r["ratio"]:.2f} | {check} |')
    table += ["", "Time to first inference (load + first run): cold is each runtime's first load "
              "in this run (edgerun's `auto` measures then), warm the median of its later loads "
              "(`auto` finds its choice in the decision cache); every load is a new process:", "",
              "| model | threads | runtime | cold | warm | auto's measuring | ran on |",
              "| --- | ---: | --- | ---: | ---: | ---: | --- |"]
    for r in results:
        loads = r["loads"]
        if not loads:
            continue
        first = (loads[0]["init_us"] + loads[0]["first_us"]) / 1000
        later = [(l["init_us"] + l["first_us"]) / 1000 for l in loads[1:]]
        later_s = f"{statistics.median(later):.1f} ms" if later else "—"
        imports = [l["import_us"] / 1000 for l in loads if l.get("import_us") is not None]
        # a peer's Python module import loads its engine's library: shown beside, not added,
        # as it also brings Python code an application in C would not load
        if imports:
            later_s += f" (+{statistics.median(imports):.0f} ms import)"
        meas = loads[0]["measuring_us"]
        meas_s = f"{meas / 1000:.1f} ms ({loads[0]['source']})" if meas else (loads[0]["source"] or "—")
        # what ran: auto's choice (a backend, a variant, BACKEND@COUNT) and its thread count
        ran = sorted({f'{l.get("chosen") or l["backend"]}, {l["threads"]} thread'
                      f'{"" if l["threads"] == 1 else "s"}' for l in loads})
        table.append(f'| {os.path.basename(r["model"])} | {r["threads"]} | {r["runtime"]} | '
                     f'{first:.1f} ms | {later_s} | {meas_s} | {"; ".join(ran)} |')
    md = "\n".join(table) + "\n"
    with open(os.path.join(args.out, "compare.md"), "w") as f:
        f.write(md)
    with open(os.path.join(args.out, "compare.json"), "w") as f:
        json.dump({"schema": "edgerun-compare/1",
                   "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                   "command": command,
                   "config": {"rounds": args.rounds, "runs_per_round": args.runs, "warmup": args.warmup,
                              "threads": threads},
                   "device": info, "results": results}, f, indent=1)
    svg_chart(groups, os.path.join(args.out, "compare.svg"))
    print(md)
    print(f"command: {command}")
    print(f"compare: {args.rounds} rounds x {args.runs} runs per runtime; "
          f"written {args.out}/compare.md, compare.json, compare.svg")


if __name__ == "__main__":
    main()
