"""Fixtures of the Python package's tests: the bundled models, their reference outputs
(models/reference, from onnxruntime and LiteRT) and the engines' test libraries, which
`crates/*/fetch-test-lib` put under target/. A missing one fails the test with the command
that provides it; nothing is skipped."""

import os
import platform
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
MODELS = ROOT / "models"
ARCH = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[platform.machine()]

# The engines loaded at run time, as the Rust tests use them. Set before any runtime exists:
# edgerun reads these variables when it looks for a library.
LIBRARIES = {
    "EDGERUN_TFLITE_LIB": (
        ROOT / "target/tflite-test-lib/libtensorflowlite_c.so",
        "crates/edgerun-tflite/fetch-test-lib",
    ),
    "EDGERUN_LITERT_LIB": (
        ROOT / f"target/litert-test-lib/{ARCH}/libLiteRt.so",
        "crates/edgerun-litert/fetch-test-lib",
    ),
    "EDGERUN_ORT_LIB": (
        ROOT / f"target/ort-test-lib/{ARCH}/libonnxruntime.so.1.31.1",
        "crates/edgerun-ort/fetch-test-lib",
    ),
}
for var, (path, _) in LIBRARIES.items():
    os.environ[var] = str(path)
# decisions measured by the tests stay out of the user's ~/.cache/edgerun
os.environ["EDGERUN_CACHE"] = "off"


def library(var):
    """The test library behind `var`, or a failure naming the command that fetches it."""
    path, fetch = LIBRARIES[var]
    if not path.is_file():
        pytest.fail(f"{path} is missing: run {fetch}")
    return path


@pytest.fixture
def libraries():
    """Every engine's test library, present (TFLite 2.6 only on x86_64: its test library is
    built for this machine)."""
    wanted = LIBRARIES if ARCH == "x86_64" else {k: v for k, v in LIBRARIES.items() if k != "EDGERUN_TFLITE_LIB"}
    return {var: library(var) for var in wanted}


class Case:
    """One row of models/reference/cases.tsv: a model, fixed inputs, the peer's outputs."""

    def __init__(self, line):
        name, model, shapes, peer = line.split("\t")
        self.name = name
        self.model = MODELS / model
        self.peer = peer
        self.shapes = {}
        for item in shapes.split(";"):
            input_name, dims = item.rsplit("=", 1)
            self.shapes[input_name] = tuple(int(d) for d in dims.split(","))
        folder = MODELS / "reference" / name
        self.inputs = [np.load(folder / f"input.{k}.npy") for k in range(len(self.shapes))]
        self.outputs = sorted(folder.glob("output.*.npy"), key=lambda p: int(p.name.split(".")[1]))
        self.outputs = [np.load(p) for p in self.outputs]
        if not self.model.is_file():
            pytest.fail(f"{self.model} is missing: run models/fetch")


def cases():
    table = (MODELS / "reference" / "cases.tsv").read_text()
    return [Case(line) for line in table.splitlines() if line.strip()]


def case(name):
    found = [c for c in cases() if c.name == name]
    assert found, f"no case {name} in cases.tsv"
    return found[0]


def bf16_to_f32(a):
    """bfloat16 values held as 2-byte voids (as ml_dtypes saves them) as float32, exactly."""
    return (a.view(np.uint16).astype(np.uint32) << 16).view(np.float32)


def assert_close(got, expected, what):
    """Float outputs: |got - expected| <= 1e-4 + 1e-3 |expected| per element, the Rust
    conformance tests' bound (crates/edgerun/tests/conformance.rs says why). int8 and uint8:
    8 LSB of the output's scale. Returns the largest difference."""
    if expected.dtype.kind == "V":
        expected = bf16_to_f32(expected)
    assert got.shape == expected.shape, f"{what}: shape {got.shape}, expected {expected.shape}"
    if expected.dtype in (np.int8, np.uint8):
        assert got.dtype == expected.dtype, f"{what}: dtype {got.dtype}, expected {expected.dtype}"
        diff = np.abs(got.astype(np.int32) - expected.astype(np.int32))
        assert diff.max(initial=0) <= 8, f"{what}: off by {diff.max()} LSB (8 allowed)"
        return float(diff.max(initial=0))
    got64, exp64 = got.astype(np.float64), expected.astype(np.float64)
    diff = np.abs(got64 - exp64)
    bound = 1e-4 + 1e-3 * np.abs(exp64)
    worst = int(np.argmax(diff - bound)) if diff.size else 0
    assert np.all(diff <= bound), (
        f"{what}: element {worst} is {got64.flat[worst]}, expected {exp64.flat[worst]} "
        f"(|diff| {diff.flat[worst]:.3g} > {bound.flat[worst]:.3g})"
    )
    return float(diff.max(initial=0))
