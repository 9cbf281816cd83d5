"""The package's surface: descriptions of inputs and outputs, the dispatcher's decision, the
device record and the version."""

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

import edgerun
from conftest import MODELS, ROOT, case


def test_descriptions_of_inputs_and_outputs(libraries):
    model = edgerun.load(MODELS / "dynamic_mlp.onnx", backend="tract")
    (x,) = model.inputs
    assert (x.name, x.dtype) == ("x", "float32")
    assert len(x.shape) == 2 and x.shape[0] is None and x.shape[1] == 16
    assert x.scale is None and x.zero_point is None
    assert "None, 16" in repr(x)

    # a shape given at load prepares the dynamic input for it
    fixed = edgerun.load(MODELS / "dynamic_mlp.onnx", backend="tract", input_shapes={"x": (3, 16)})
    assert fixed.session().run({"x": np.zeros((3, 16), np.float32)})

    int8 = edgerun.load(MODELS / "mobilenetv2_mini_int8.tflite", backend="litert")
    (i,) = int8.inputs
    assert i.dtype == "int8" and i.shape == (1, 224, 224, 3)
    assert i.scale > 0 and -128 <= i.zero_point <= 127
    (o,) = int8.outputs
    assert o.dtype == "int8" and o.scale > 0

    bf16 = edgerun.load(MODELS / "cast_bf16.onnx", backend="ort")
    assert [t.dtype for t in bf16.inputs] == ["bfloat16", "float32"]
    assert [t.dtype for t in bf16.outputs] == ["float32", "bfloat16"]


def test_bf16_goes_in_as_two_byte_values_and_comes_out_as_float32(libraries):
    c = case("cast_bf16")
    x, u = c.inputs
    assert x.dtype.kind == "V" and x.dtype.itemsize == 2
    session = edgerun.load(c.model, backend="ort").session()
    out = session.run({"x": x, "u": u})
    # y = float(x), exactly; v = bf16(u), returned as float32
    bits = (x.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(out["y"], bits)
    assert out["v"].dtype == np.float32
    # the same bits as uint16 are a different dtype: refused, naming the model's
    with pytest.raises(edgerun.InvalidInputError, match="bf16|bfloat16"):
        session.run({"x": x.view(np.uint16), "u": u})


def test_the_decision_explains_the_choice(libraries):
    model = edgerun.load(MODELS / "mobilenetv2_mini.onnx", cache="off", threads=1)
    text = model.decision
    first = text.splitlines()[0]
    assert first.startswith(f"backend {model.backend}: measured now"), text
    # every ONNX engine of this build is a candidate, with its time or why it is not one
    for backend in ("tract", "ort"):
        assert re.search(rf"^  {backend}\b.*: ", text, re.M), f"{backend} missing:\n{text}"
    chosen = [line for line in text.splitlines() if line.endswith("<- chosen")]
    assert len(chosen) == 1 and chosen[0].strip().startswith(model.backend), text

    named = edgerun.load(MODELS / "mobilenetv2_mini.onnx", backend="tract")
    assert named.backend == "tract"
    assert named.decision.startswith("backend tract: chosen by name")


def test_the_decision_cache_is_used_on_the_next_load(tmp_path, libraries):
    store = tmp_path / "decisions.json"
    first = edgerun.load(MODELS / "mobilenetv2_mini.onnx", cache=store, threads=1)
    assert "measured now" in first.decision.splitlines()[0]
    assert store.is_file()
    again = edgerun.load(MODELS / "mobilenetv2_mini.onnx", cache=store, threads=1)
    assert "from the decision cache" in again.decision.splitlines()[0]
    assert again.backend == first.backend


def test_info_is_the_cli_device_record():
    record = edgerun.info()
    assert set(record) >= {"edgerun", "device", "placement", "backends"}, record.keys()
    # the same record as `edgerun info --json` prints on this machine (EDGERUN_TEST_CLI: the
    # CLI for this architecture, EDGERUN_TEST_RUNNER: what runs it, under qemu)
    cli = Path(os.environ.get("EDGERUN_TEST_CLI", ROOT / "target/debug/edgerun"))
    assert cli.is_file(), f"{cli} is missing: run cargo build -p edgerun-cli"
    runner = os.environ.get("EDGERUN_TEST_RUNNER", "").split()
    printed = json.loads(
        subprocess.run([*runner, cli, "info", "--json"], capture_output=True, check=True).stdout
    )
    assert record["device"] == printed["device"]
    assert record["placement"] == printed["placement"]
    assert [b["name"] for b in record["backends"]] == [b["name"] for b in printed["backends"]]


def test_version_matches_the_crate():
    cargo = (ROOT / "Cargo.toml").read_text()
    version = re.search(r'^version = "([^"]+)"', cargo, re.M).group(1)
    assert edgerun.__version__ == version


def test_context_managers_close():
    with edgerun.load(MODELS / "dynamic_mlp.onnx", backend="tract") as model:
        with model.session() as session:
            assert session.run({"x": np.ones((1, 16), np.float32)})
        with pytest.raises(ValueError, match="closed"):
            session.run({"x": np.ones((1, 16), np.float32)})
    with pytest.raises(ValueError, match="closed"):
        model.session()
