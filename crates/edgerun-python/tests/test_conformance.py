"""Every reference case through the Python package, on the backends that run it, against the
peer runtime's outputs (tolerances: conftest.assert_close)."""

import numpy as np
import pytest

import edgerun
from conftest import ARCH, assert_close, case, cases

# the backends each case runs on here: one ONNX engine of each kind for ONNX, both TensorFlow
# Lite engines for .tflite (TFLite 2.6's test library is x86_64 only); bf16 where the engine
# has it. The Rust conformance tests cover the rest of the matrix.
BACKENDS = {
    "mobilenetv2_mini": ["tract", "ort"],
    "dynamic_mlp_batch3": ["tract", "ort"],
    "ppocr_cls": ["ort"],
    "ppocr_det_64x96": ["ort"],
    "ppocr_det_96x128": ["ort"],
    "mobilenetv2_mini_tflite": ["litert", "tflite"],
    "mobilenetv2_mini_int8_tflite": ["litert", "tflite"],
    "blazeface_front": ["litert", "tflite"],
    "dynamic_batch_tflite": ["litert", "tflite"],
    "cast_bf16": ["ort"],
    "cast_bf16_tflite": ["litert"],
}
PAIRS = [
    (name, backend)
    for name, backends in BACKENDS.items()
    for backend in backends
    if not (backend == "tflite" and ARCH != "x86_64")
]


def test_every_reference_case_has_backends():
    assert sorted(c.name for c in cases()) == sorted(BACKENDS)


@pytest.mark.parametrize("name,backend", PAIRS)
def test_matches_the_reference(name, backend, libraries):
    c = case(name)
    # no input shapes at load: dynamic dimensions are bound by the arrays of the run
    model = edgerun.load(c.model, backend=backend, threads=1)
    assert model.backend == backend
    assert [i.name for i in model.inputs] == list(c.shapes)
    outputs = model.session().run(dict(zip(c.shapes, c.inputs)))
    assert [o.name for o in model.outputs] == list(outputs)
    assert len(outputs) == len(c.outputs)
    for k, (got, expected) in enumerate(zip(outputs.values(), c.outputs)):
        assert isinstance(got, np.ndarray)
        assert_close(got, expected, f"{name} output {k} on {backend}")


def test_a_list_in_input_order_runs_as_the_dict_does(libraries):
    c = case("cast_bf16")
    session = edgerun.load(c.model, backend="ort").session()
    by_name = session.run(dict(zip(c.shapes, c.inputs)))
    in_order = session.run(list(c.inputs))
    reversed_dict = session.run(dict(reversed(list(zip(c.shapes, c.inputs)))))
    for name in by_name:
        np.testing.assert_array_equal(by_name[name], in_order[name])
        np.testing.assert_array_equal(by_name[name], reversed_dict[name])


def test_arrays_that_are_not_contiguous_give_the_same_outputs(libraries):
    c = case("mobilenetv2_mini")
    session = edgerun.load(c.model, backend="ort", threads=1).session()
    x = c.inputs[0]
    # the same values, Fortran-ordered, and as a strided view of a larger array
    fortran = np.asfortranarray(x)
    wide = np.zeros(x.shape[:-1] + (x.shape[-1] * 2,), np.float32)
    wide[..., ::2] = x
    strided = wide[..., ::2]
    assert not fortran.flags.c_contiguous and not strided.flags.c_contiguous
    expected = session.run({"input": x})["logits"]
    for other in (fortran, strided):
        np.testing.assert_array_equal(session.run({"input": other})["logits"], expected)
    # nested lists go through numpy.asarray: float64 here, so refused with the fix named
    with pytest.raises(edgerun.InvalidInputError, match="f64|float64"):
        session.run({"input": x.tolist()})
    np.testing.assert_array_equal(
        session.run({"input": np.asarray(x.tolist(), np.float32)})["logits"], expected
    )


def test_outputs_are_new_arrays_that_the_next_run_leaves_alone(libraries):
    c = case("dynamic_mlp_batch3")
    session = edgerun.load(c.model, backend="tract").session()
    first = session.run(list(c.inputs))
    kept = {k: v.copy() for k, v in first.items()}
    second = session.run([c.inputs[0][:1] * 2])
    for name in first:
        np.testing.assert_array_equal(first[name], kept[name])
        assert second[name].shape[0] == 1
        assert first[name].flags.writeable
        assert not np.shares_memory(first[name], second[name])

