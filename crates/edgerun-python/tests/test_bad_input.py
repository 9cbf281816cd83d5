"""Bad input from Python: every mistake gives an exception that names the problem, never a
crash. edgerun's own errors are edgerun.Error subclasses with their `kind`; mistakes in the
Python call are TypeError, ValueError or RuntimeError."""

import threading

import numpy as np
import pytest

import edgerun
from conftest import ARCH, MODELS, ROOT, case


def mlp(backend="tract"):
    return edgerun.load(MODELS / "dynamic_mlp.onnx", backend=backend)


def test_every_error_class_is_an_edgerun_error_with_its_kind():
    kinds = {
        edgerun.IoError: "io",
        edgerun.InvalidModelError: "invalid_model",
        edgerun.UnsupportedError: "unsupported",
        edgerun.InvalidRequestError: "invalid_request",
        edgerun.InvalidInputError: "invalid_input",
        edgerun.UnavailableError: "unavailable",
        edgerun.BackendError: "backend",
    }
    for cls, kind in kinds.items():
        assert issubclass(cls, edgerun.Error) and cls.kind == kind
    assert edgerun.Error.kind is None


# --- models


def test_a_missing_file(tmp_path):
    with pytest.raises(edgerun.IoError, match="no-such-model.onnx") as e:
        edgerun.load(tmp_path / "no-such-model.onnx")
    assert e.value.kind == "io"


def test_a_directory_and_an_empty_file(tmp_path):
    with pytest.raises(edgerun.Error, match="directory"):
        edgerun.load(tmp_path)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(edgerun.Error, match="empty"):
        edgerun.load(empty)


def test_a_source_that_is_neither_a_path_nor_bytes():
    with pytest.raises(TypeError, match="path"):
        edgerun.load(12345)


def test_bytes_that_are_no_model():
    with pytest.raises(edgerun.InvalidModelError, match="junk"):
        edgerun.load(b"\x00" * 64 + b"not a model at all", name="junk")


def test_a_truncated_model(tmp_path):
    data = (MODELS / "mobilenetv2_mini.onnx").read_bytes()
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(edgerun.InvalidModelError, match="cut.onnx"):
        edgerun.load(cut, backend="tract")
    with pytest.raises(edgerun.InvalidModelError):
        edgerun.load(data[:100], name="cut", backend="tract")


def test_an_unsupported_op_names_the_op_and_node():
    with pytest.raises(edgerun.UnsupportedError) as e:
        edgerun.load(MODELS / "unsupported_op.onnx", backend="tract")
    assert "EdgerunMysteryOp" in str(e.value) and "mystery_node" in str(e.value)


# --- options


def test_an_unknown_backend_lists_the_known_ones():
    with pytest.raises(edgerun.InvalidRequestError, match="tract") as e:
        mlp(backend="tensorrt")
    assert "tensorrt" in str(e.value)


def test_an_unknown_setting_and_a_bad_value():
    with pytest.raises(edgerun.InvalidRequestError, match="no_such_setting"):
        edgerun.load(MODELS / "dynamic_mlp.onnx", settings={"no_such_setting": "1"})
    with pytest.raises(edgerun.InvalidRequestError, match="use_xnnpack"):
        edgerun.load(MODELS / "dynamic_mlp.onnx", settings={"use_xnnpack": "sometimes"})
    with pytest.raises(TypeError, match="settings"):
        edgerun.load(MODELS / "dynamic_mlp.onnx", settings={1: "1"})


def test_threads_and_affinity():
    with pytest.raises(ValueError, match="threads=0"):
        edgerun.load(MODELS / "dynamic_mlp.onnx", threads=0)
    with pytest.raises(TypeError):
        edgerun.load(MODELS / "dynamic_mlp.onnx", threads="two")
    with pytest.raises(edgerun.InvalidRequestError, match="fastest"):
        edgerun.load(MODELS / "dynamic_mlp.onnx", affinity="fastest")


def test_input_shapes_that_do_not_fit():
    with pytest.raises(TypeError, match="input_shapes"):
        edgerun.load(MODELS / "dynamic_mlp.onnx", input_shapes={"x": (-1, 16)})
    with pytest.raises(edgerun.Error, match="x"):
        edgerun.load(MODELS / "dynamic_mlp.onnx", backend="tract", input_shapes={"x": (3, 17)})


def test_a_missing_policy_file(tmp_path):
    with pytest.raises(edgerun.InvalidRequestError, match="policy.toml: cannot read it"):
        edgerun.load(MODELS / "dynamic_mlp.onnx", policy=tmp_path / "policy.toml")


def test_strings_that_are_not_utf8(tmp_path):
    # a lone surrogate cannot be encoded as UTF-8: refused by the binding, naming the argument
    with pytest.raises(UnicodeEncodeError):
        edgerun.load(MODELS / "dynamic_mlp.onnx", backend="tr\udcffact")
    # a path is bytes to the OS: this one is simply not there
    with pytest.raises(edgerun.IoError):
        edgerun.load(str(tmp_path) + "/model-\udcff.onnx")


# --- engines


def test_a_missing_engine_library():
    with pytest.raises(edgerun.UnavailableError, match="/nonexistent/libonnxruntime.so"):
        edgerun.load(
            MODELS / "dynamic_mlp.onnx",
            backend="ort",
            settings={"ort_lib": "/nonexistent/libonnxruntime.so"},
        )


def test_an_engine_library_for_another_architecture(libraries):
    foreign = "aarch64" if ARCH == "x86_64" else "x86_64"
    lib = ROOT / f"target/ort-test-lib/{foreign}/libonnxruntime.so.1.31.1"
    assert lib.is_file(), f"{lib} is missing: run crates/edgerun-ort/fetch-test-lib"
    with pytest.raises(edgerun.UnavailableError, match=foreign):
        edgerun.load(MODELS / "dynamic_mlp.onnx", backend="ort", settings={"ort_lib": str(lib)})


# TFLite 2.6's test library is built for x86_64 only (as the Rust tests' cfg says)
if ARCH == "x86_64":

    def test_a_delegate_that_fails_to_load(libraries):
        with pytest.raises(edgerun.Error, match="/nonexistent/libdelegate.so"):
            edgerun.load(
                MODELS / "mobilenetv2_mini.tflite",
                backend="tflite",
                settings={"external_delegate_path": "/nonexistent/libdelegate.so"},
            )


# --- runs


def test_input_names_count_dtype_and_shape():
    session = mlp().session()
    x = np.zeros((3, 16), np.float32)
    with pytest.raises(edgerun.InvalidInputError, match="nope"):
        session.run({"nope": x})
    with pytest.raises(edgerun.InvalidInputError):
        session.run({})
    with pytest.raises(edgerun.InvalidInputError):
        session.run([x, x])
    with pytest.raises(edgerun.InvalidInputError, match="f64|float64"):
        session.run({"x": x.astype(np.float64)})
    with pytest.raises(edgerun.InvalidInputError, match="17"):
        session.run({"x": np.zeros((3, 17), np.float32)})
    with pytest.raises(edgerun.InvalidInputError):
        session.run({"x": np.zeros((3, 4, 4), np.float32)})
    # the session still runs after each refusal
    assert session.run({"x": x})


def test_values_that_are_not_arrays_of_an_edgerun_dtype():
    session = mlp().session()
    with pytest.raises(TypeError, match="dict"):
        session.run(np.zeros((3, 16), np.float32))
    with pytest.raises(TypeError, match="str"):
        session.run({1: np.zeros((3, 16), np.float32)})
    with pytest.raises(TypeError, match="complex64"):
        session.run({"x": np.zeros((3, 16), np.complex64)})
    with pytest.raises(TypeError, match="dtype"):
        session.run({"x": np.array([["a"] * 16] * 3)})
    with pytest.raises(TypeError, match="byte order"):
        session.run({"x": np.zeros((3, 16), ">f4")})


def test_a_closed_model_and_session():
    model = mlp()
    session = model.session()
    session.close()
    with pytest.raises(ValueError, match="closed"):
        session.run({"x": np.zeros((3, 16), np.float32)})
    model.close()
    with pytest.raises(ValueError, match="closed"):
        model.session()
    with pytest.raises(ValueError, match="closed"):
        model.inputs
    assert "closed" in repr(model)
    # closing twice is harmless, as destroying NULL is in C
    model.close()
    session.close()


def test_a_session_made_before_close_keeps_running():
    model = mlp()
    session = model.session()
    model.close()
    out = session.run({"x": np.ones((2, 16), np.float32)})
    assert next(iter(out.values())).shape[0] == 2


def test_one_session_on_two_threads_is_refused_while_the_gil_is_released(libraries):
    # A second thread runs the session in a loop. The main thread can only reach run() while
    # that thread is inside a run if the run released the GIL; it then finds the session
    # taken. Were the GIL held, every attempt here would fall between two runs and succeed.
    c = case("ppocr_det_96x128")
    session = edgerun.load(c.model, backend="ort", threads=1).session()
    feed = dict(zip(c.shapes, c.inputs))
    session.run(feed)
    done = threading.Event()

    def loop():
        # the worker's own runs may be refused too, while the main thread is inside one
        for _ in range(200):
            try:
                session.run(feed)
            except RuntimeError:
                pass
            if done.is_set():
                break
        done.set()

    worker = threading.Thread(target=loop)
    worker.start()
    refused = None
    while refused is None and not done.is_set():
        try:
            session.run(feed)
        except RuntimeError as e:
            refused = e
    done.set()
    worker.join()
    assert refused is not None, "never refused: the run held the GIL"
    assert "another thread" in str(refused)
