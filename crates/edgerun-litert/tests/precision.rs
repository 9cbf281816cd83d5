//! LiteRT with XNNPACK's fp16 arithmetic (`litert_fp16`, FORCE_FP16) on the bundled float
//! MobileNetV2, against LiteRT's own float32 reference outputs: the fp16 guard holds (every
//! logit within 1e-2 × max(1, largest |reference|), the same arg-max), and the outputs do
//! differ from float32, so fp16 was really used. On x86_64 XNNPACK emulates fp16; on aarch64
//! (qemu's `max` CPU has FEAT_FP16) it computes it natively.

use edgerun_core::{Backend, Options, Tensor};
use edgerun_litert::LiteRtBackend;
use edgerun_testkit as kit;

#[test]
fn fp16_outputs_stay_within_the_guard_of_float32() {
    let c = kit::case("mobilenetv2_mini_tflite");
    let source = edgerun_core::ModelSource::open(&c.model).unwrap();
    let prepared = LiteRtBackend::new()
        .with_library(kit::litert_lib())
        .with_fp16(true)
        .prepare(&source, &Options::new().with_threads(1))
        .unwrap();
    assert!(
        prepared.notes().iter().any(|n| n.contains("fp16")),
        "{:?}",
        prepared.notes()
    );
    let inputs: Vec<&Tensor> = c.inputs.iter().collect();
    let out = prepared.session().unwrap().run_tensors(&inputs).unwrap();
    let (got, want) = (out[0].to_f32_vec(), c.outputs[0].to_f32_vec());
    let largest = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    let worst = got
        .iter()
        .zip(&want)
        .map(|(a, e)| (a - e).abs())
        .fold(0f32, f32::max);
    eprintln!("fp16 against float32: largest difference {worst:e} of {largest}");
    assert!(worst <= 1e-2 * largest, "{worst} beyond the fp16 guard");
    assert!(
        worst > 0.0,
        "no fp16 rounding at all: FORCE_FP16 was not applied"
    );
    let top = |v: &[f32]| {
        v.iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(k, _)| k)
    };
    assert_eq!(top(&got), top(&want));
}
