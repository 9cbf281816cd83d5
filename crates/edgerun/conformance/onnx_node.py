#!/usr/bin/env python3
"""ONNX's operator tests through edgerun: every node case of the onnx package, run by `edgerun
run` on each ONNX backend and on `auto`, classified as pass, wrong, refused, crash or hang.

A case is the onnx package's `onnx.backend.test.case.node` test: a one-operator model (or its
function-expanded form), fixed inputs and the expected outputs, with the case's own tolerance
(numpy's allclose: |actual - expected| <= atol + rtol * |expected|, NaN equal to NaN).

  pass      every output has the expected shape and values within the case's tolerance
  precision an output is beyond the case's tolerance but within the precision edgerun states
            for a backend (PRECISION below): a different summation order or fp16 rounding,
            not a wrong answer
  wrong     the run succeeded but an output differs (shape, or values beyond both)
  refused   edgerun exited with its one-line error (an unsupported op, type or attribute)
  crash     the process died (a signal, or an exit status other than 0 and 1); with
            containment on, an engine crash is an error naming the signal: counted here too
  hang      no answer within the timeout
  random    the expected outputs come from numpy's random generator (Dropout in training
            mode): no engine can match them; not run
  not given an input or output of a type edgerun has no tensor for (strings, sequences,
            optionals, float8, int4, complex...): not run

Writes OUT/onnx_node.json (every case, backend, outcome and detail) and OUT/onnx_node.md (the
table and the wrong answers). Needs numpy and onnx (and the edgerun binary).
"""

import argparse
import concurrent.futures as futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np

# numpy types edgerun has tensors for, by dtype name
# cases whose expected outputs are draws of numpy's random generator
RANDOM = re.compile(r"^test_training_dropout(?!_zero_ratio)")

GIVEN = {"float32", "float64", "float16", "bfloat16", "int8", "uint8", "int16", "uint16",
         "int32", "uint32", "int64", "uint64", "bool"}


def file_stem(name):
    """As edgerun's CLI names an output's .npy file."""
    s = "".join(c if (c.isascii() and c.isalnum()) or c in "-_." else "_" for c in name)
    return f"output{s}" if not s or s.startswith(".") else s


def as_array(value):
    import onnx
    if isinstance(value, np.generic):
        return np.asarray(value)
    if isinstance(value, onnx.TensorProto):
        try:
            return onnx.numpy_helper.to_array(value)
        except Exception:  # a type numpy cannot hold: left as it is, "not given"
            return value
    return value


def cases(pattern):
    warnings.simplefilter("ignore")
    from onnx.backend.test.case.node import collect_testcases
    import onnx
    out = []
    for c in collect_testcases():
        if pattern and not re.search(pattern, c.name):
            continue
        if not c.data_sets:
            continue
        model = c.model
        inits = {i.name for i in model.graph.initializer}
        in_names = [i.name for i in model.graph.input if i.name not in inits]
        out_names = [o.name for o in model.graph.output]
        for k, (inputs, outputs) in enumerate(c.data_sets):
            name = c.name if len(c.data_sets) == 1 else f"{c.name}#{k}"
            why = None
            # numpy scalars are 0-d tensors; TensorProto values are tensors too
            inputs = [as_array(a) for a in inputs]
            outputs = [as_array(a) for a in outputs]
            arrays = list(inputs) + list(outputs)
            for a in arrays:
                if not isinstance(a, np.ndarray):
                    why = f"a {type(a).__name__} value"
                    break
                if a.dtype.name not in GIVEN:
                    why = f"{a.dtype.name} tensors"
                    break
            random = bool(RANDOM.search(c.name))
            out.append({"name": name, "model": model.SerializeToString(), "random": random,
                        "inputs": list(zip(in_names, inputs)),
                        "outputs": list(zip(out_names, outputs)),
                        "rtol": float(c.rtol), "atol": float(c.atol), "not_given": why,
                        "opset": max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                                     default=0)})
    return out


# The precision edgerun states for a backend's float outputs, against the suite's expected
# values: |actual - expected| <= 1e-4 * max(1, max |expected|) + r * |expected|, with r = 1e-3
# for float32 and float64, 1e-2 for float16 (about ten float16 steps: fp16 arithmetic rounds
# at every op, and engines order their sums differently) and 3e-2 for bfloat16 (four to eight
# steps of its 8-bit significand). Integer and bool outputs: exact.
PRECISION_ABS = 1e-4
PRECISION_REL = {"float16": 1e-2, "bfloat16": 3e-2, "float32": 1e-3, "float64": 1e-3}


def within_precision(expected, actual):
    rel = PRECISION_REL.get(expected.dtype.name)
    if rel is None or tuple(expected.shape) != tuple(actual.shape):
        return False
    e = expected.astype(np.float64)
    a = actual.astype(np.float64)
    finite = e[np.isfinite(e)]
    scale = max(1.0, float(np.abs(finite).max())) if finite.size else 1.0
    same = (e == a) | (np.isnan(e) & np.isnan(a))
    return bool(np.all(same | (np.abs(a - e) <= PRECISION_ABS * scale + rel * np.abs(e))))


def compare(expected, actual, rtol, atol):
    if tuple(expected.shape) != tuple(actual.shape):
        return f"shape {list(actual.shape)} where {list(expected.shape)} is expected"
    if expected.size == 0:
        return None
    e = expected.astype(np.float64) if expected.dtype != np.bool_ else expected.astype(np.int8)
    a = actual.astype(np.float64) if actual.dtype != np.bool_ else actual.astype(np.int8)
    both_nan = np.isnan(e) & np.isnan(a)
    same = (e == a) | both_nan
    close = np.abs(a - e) <= atol + rtol * np.abs(e)
    bad = ~(same | close)
    if not bad.any():
        return None
    i = int(np.argmax(bad.reshape(-1)))
    diff = np.abs(a - e).reshape(-1)
    finite = diff[np.isfinite(diff)]
    worst = float(finite.max()) if finite.size else float("nan")
    return (f"element {i}: {a.reshape(-1)[i]!r} where {e.reshape(-1)[i]!r} is expected "
            f"({int(bad.sum())} of {bad.size} beyond rtol {rtol:g} atol {atol:g}; largest difference {worst:.3g})")


def run_one(args, case, backend, work):
    d = tempfile.mkdtemp(dir=work)
    try:
        graph = os.path.join(d, "model.onnx")
        with open(graph, "wb") as f:
            f.write(case["model"])
        cmd = [args.edgerun, "run", "--graph", graph, f"--backend={backend}", "--num_threads=1",
               "--decision_cache=off", f"--isolation={args.isolation}", "--output_dir",
               os.path.join(d, "out")]
        for k, (name, value) in enumerate(case["inputs"]):
            p = os.path.join(d, f"in{k}.npy")
            np.save(p, np.require(value, requirements='C'))
            cmd += ["--input", f"{name}={p}"]
        os.makedirs(os.path.join(d, "out"))
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            return "hang", f"no answer within {args.timeout} s"
        err = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
        if proc.returncode == 1 and err:
            line = err[-1][len("error: "):]
            if "in a helper process" in line and "the engine " in line:
                return "crash", "contained: " + line
            return "refused", line
        if proc.returncode != 0:
            tail = (proc.stderr.strip().splitlines() or [""])[-1]
            how = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit status {proc.returncode}"
            return "crash", f"{how}: {tail[:200]}"
        chosen = re.search(r"on backend (\S+)", proc.stderr)
        chosen = chosen.group(1) if chosen else "?"
        imprecise = None
        for name, expected in case["outputs"]:
            p = os.path.join(d, "out", file_stem(name) + ".npy")
            if not os.path.exists(p):
                return "wrong", f"[{chosen}] no output {name!r}"
            actual = np.load(p)
            if expected.dtype.name == "bfloat16" and actual.dtype == np.dtype("V2"):
                # edgerun saves bfloat16 as ml_dtypes does: 2-byte void
                actual = actual.view(expected.dtype)
            why = compare(expected, actual, case["rtol"], case["atol"])
            if why and within_precision(expected, actual):
                imprecise = imprecise or f"[{chosen}] output {name!r}: {why}"
            elif why:
                return "wrong", f"[{chosen}] output {name!r}: {why}"
        if imprecise:
            return "precision", imprecise
        return "pass", chosen
    finally:
        shutil.rmtree(d, ignore_errors=True)


def table(results, backends):
    kinds = ["pass", "precision", "wrong", "refused", "crash", "hang", "random", "not given"]
    rows = ["| backend | " + " | ".join(kinds) + " |", "| --- |" + " ---: |" * len(kinds)]
    for b in backends:
        counts = {k: 0 for k in kinds}
        for r in results:
            counts[r["outcomes"][b][0]] += 1
        rows.append(f"| {b} | " + " | ".join(str(counts[k]) for k in kinds) + " |")
    return rows


def export(all_cases, directory):
    """The fixtures of edgerun's fast sample of this suite (crates/edgerun/tests/onnx_node.rs)."""
    for c in all_cases:
        if c["not_given"]:
            print(f"onnx_node: {c['name']} not exported: {c['not_given']}", file=sys.stderr)
            continue
        d = os.path.join(directory, c["name"].replace("#", "_"))
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "model.onnx"), "wb") as f:
            f.write(c["model"])
        for k, (_, value) in enumerate(c["inputs"]):
            np.save(os.path.join(d, f"in{k}.npy"), np.require(value, requirements='C'))
        for k, (_, value) in enumerate(c["outputs"]):
            np.save(os.path.join(d, f"expected{k}.npy"), np.require(value, requirements='C'))
        with open(os.path.join(d, "case.json"), "w") as f:
            json.dump({"inputs": [n for n, _ in c["inputs"]], "outputs": [n for n, _ in c["outputs"]],
                       "rtol": c["rtol"], "atol": c["atol"]}, f, indent=1)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--edgerun", required=True)
    ap.add_argument("--backends", default="ort,tract,auto")
    ap.add_argument("--filter", default="", help="regular expression on case names")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--isolation", default="probe", choices=["probe", "off"])
    ap.add_argument("--out", required=True)
    ap.add_argument("--export", metavar="DIR",
                    help="write the cases --filter selects to DIR (one directory each: model.onnx, "
                         "in<k>.npy, expected<k>.npy, case.json) instead of running them")
    args = ap.parse_args()
    backends = args.backends.split(",")
    os.makedirs(args.out, exist_ok=True)
    work = tempfile.mkdtemp(prefix="edgerun-onnx-node-")
    all_cases = cases(args.filter)
    if args.export:
        export(all_cases, args.export)
        return
    print(f"onnx_node: {len(all_cases)} cases, backends {', '.join(backends)}", file=sys.stderr)
    results = [{"name": c["name"], "opset": c["opset"], "outcomes": {}} for c in all_cases]
    jobs = {}
    with futures.ThreadPoolExecutor(args.jobs) as pool:
        for i, c in enumerate(all_cases):
            for b in backends:
                if c["random"]:
                    results[i]["outcomes"][b] = ("random", "the expected outputs are random draws")
                elif c["not_given"]:
                    results[i]["outcomes"][b] = ("not given", c["not_given"])
                else:
                    jobs[pool.submit(run_one, args, c, b, work)] = (i, b)
        done = 0
        for f in futures.as_completed(jobs):
            i, b = jobs[f]
            results[i]["outcomes"][b] = f.result()
            done += 1
            if done % 200 == 0:
                print(f"onnx_node: {done}/{len(jobs)} runs", file=sys.stderr)
    shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(args.out, "onnx_node.json"), "w") as f:
        json.dump({"schema": "edgerun-onnx-node/1", "backends": backends,
                   "isolation": args.isolation, "cases": results}, f, indent=1)
    lines = table(results, backends)
    for b in backends:
        for kind in ("wrong", "precision", "crash", "hang"):
            listed = [r for r in results if r["outcomes"][b][0] == kind]
            if listed:
                lines += ["", f"{b}, {kind}:", ""]
                lines += [f"- `{r['name']}`: {r['outcomes'][b][1]}" for r in listed]
    with open(os.path.join(args.out, "onnx_node.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(table(results, backends)))


if __name__ == "__main__":
    main()
