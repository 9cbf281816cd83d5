//! On Arm without a TensorFlow Lite library (cross/test-arm, under qemu): a `.tflite` model that
//! tract can run still loads and runs, on tract, and the choice says why.
#![cfg(any(target_arch = "aarch64", target_arch = "arm"))]

use edgerun::Tolerance;
use edgerun_testkit as kit;

#[test]
fn tflite_model_falls_back_to_tract_when_no_tflite_library_is_installed() {
    std::env::remove_var(edgerun::tflite::ENV_VAR);
    let case = kit::case("mobilenetv2_mini_tflite");
    let model = edgerun::load(&case.model).unwrap();
    assert_eq!(model.backend(), "tract");
    let why = model.choice().to_string();
    assert!(
        why.contains("tflite: unavailable") && why.contains("not found"),
        "{why}"
    );
    let out = model.session().unwrap().run(&case.inputs).unwrap();
    Tolerance::new(1e-4, 1e-3)
        .check(&out[0], &case.outputs[0])
        .unwrap();
}
