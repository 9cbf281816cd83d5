//! bfloat16 tensors end to end, against the peers' outputs for the same inputs
//! (`models/reference/cast_bf16*`: onnxruntime 1.31.1 and LiteRT 2.3.0 from PyPI; numpy files
//! as ml_dtypes saves bfloat16). The models cast both ways, so the tolerance is none: the same
//! engine rounds the same way, and every bit must match. ONNX Runtime and LiteRT have
//! bfloat16 kernels; tract and TensorFlow Lite 2.6 have no such type and refuse the models as
//! unsupported, so `auto` passes them by.

use std::time::Duration;

use edgerun::{CacheSetting, DType, ErrorKind, Runtime};
use edgerun_testkit as kit;

fn runtime(backend: &str) -> Runtime {
    Runtime::new()
        .configure("ort_lib", kit::ort_lib().to_str().unwrap())
        .unwrap()
        .configure("litert_lib", kit::litert_lib().to_str().unwrap())
        .unwrap()
        .configure("tflite_lib", kit::tflite_lib().to_str().unwrap())
        .unwrap()
        .with_cache(CacheSetting::Off)
        .with_measure_budget(Duration::from_millis(50))
        .with_backend(backend)
}

fn runs_as_the_peer(case: &str, backend: &str, expected_backend: &str) {
    let c = kit::case(case);
    let model = runtime(backend)
        .load(&c.model)
        .unwrap_or_else(|e| panic!("{case} on {backend}: {e}"));
    assert_eq!(model.backend(), expected_backend, "{case}");
    let declared: Vec<DType> = model.inputs().iter().map(|i| i.dtype).collect();
    assert_eq!(declared, [DType::BF16, DType::F32], "{case}");
    let outputs = model.session().unwrap().run(&c.inputs).unwrap();
    assert_eq!(outputs[0].dtype(), DType::F32, "{case}");
    assert_eq!(outputs[1].dtype(), DType::BF16, "{case}");
    assert_eq!(outputs.tensors(), &c.outputs[..], "{case} on {backend}");
}

#[test]
fn onnx_runtime_takes_and_gives_bfloat16() {
    runs_as_the_peer("cast_bf16", "ort", "ort");
}

#[test]
fn litert_takes_and_gives_bfloat16() {
    runs_as_the_peer("cast_bf16_tflite", "litert", "litert");
}

#[test]
fn auto_takes_bfloat16_models_to_the_backends_that_have_the_type() {
    runs_as_the_peer("cast_bf16", "auto", "ort");
    runs_as_the_peer("cast_bf16_tflite", "auto", "litert");
}

#[test]
fn backends_without_the_type_refuse_it_as_unsupported() {
    for (model, backend) in [
        ("cast_bf16.onnx", "tract"),
        ("cast_bf16.tflite", "tract"),
        ("cast_bf16.tflite", "tflite"),
    ] {
        let err = runtime(backend)
            .load(kit::model(model))
            .err()
            .unwrap_or_else(|| panic!("{model} must not load on {backend}"));
        assert_eq!(
            err.kind(),
            ErrorKind::Unsupported,
            "{model} on {backend}: {err}"
        );
        assert!(
            err.to_string().to_ascii_lowercase().contains("bfloat16"),
            "{model} on {backend}: {err}"
        );
    }
}
