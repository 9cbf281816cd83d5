//! On Arm without a TensorFlow Lite library (cross/test-arm, under qemu): models load on tract
//! as before, and a `.tflite` model gets an error that explains why no backend took it.
#![cfg(any(target_arch = "aarch64", target_arch = "arm"))]

use edgerun::Tolerance;
use edgerun_testkit as kit;

#[test]
fn without_a_tflite_library_onnx_still_runs_and_tflite_is_explained() {
    std::env::remove_var(edgerun::tflite::ENV_VAR);
    let case = kit::case("mobilenetv2_mini");
    let model = edgerun::load(&case.model).unwrap();
    assert_eq!(model.backend(), "tract");
    let out = model.session().unwrap().run(&case.inputs).unwrap();
    Tolerance::new(1e-4, 1e-3)
        .check(&out[0], &case.outputs[0])
        .unwrap();

    let err = edgerun::load(kit::model("mobilenetv2_mini.tflite"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("tflite: skipped: unavailable") && err.contains("not found"),
        "{err}"
    );
    assert!(
        err.contains("tract: skipped: not chosen automatically"),
        "{err}"
    );
}
