//! Reduced precision through `auto` with real engines: with fp16 allowed, LiteRT's fp16 twin
//! (`litert-fp16`) competes where the CPU computes fp16 (aarch64 with FEAT_FP16, as qemu's
//! `max` CPU; `cross/test-arm` runs this there) and is held to the fp16 guard against the
//! exact candidates; elsewhere (x86_64) it is skipped with the reason. Either way the model's
//! outputs stay within that guard of LiteRT's float32 reference. Which candidate wins is for
//! the device's timings to say, and not asserted.

use edgerun::{CacheSetting, Outcome, Platform, Precision, Runtime};
use edgerun_testkit as kit;

#[test]
fn the_fp16_twin_is_guarded_where_the_cpu_has_fp16_and_skipped_elsewhere() {
    let c = kit::case("mobilenetv2_mini_tflite");
    let model = Runtime::new()
        .configure("litert_lib", kit::litert_lib().to_str().unwrap())
        .unwrap()
        .configure("tflite_lib", kit::tflite_lib().to_str().unwrap())
        .unwrap()
        .with_cache(CacheSetting::Off)
        .with_precision(Precision::Fp16)
        .load(&c.model)
        .unwrap();
    let d = model.decision();
    eprintln!("{d}");
    let twin = d
        .candidate("litert-fp16")
        .expect("the fp16 twin is a candidate");
    if Platform::detect().has_feature("fp16") {
        assert!(matches!(twin.outcome, Outcome::Measured { .. }), "{d}");
        assert!(
            d.notes
                .iter()
                .any(|n| n.starts_with("litert-fp16: within the fp16 guard of ")),
            "{d}"
        );
    } else {
        match &twin.outcome {
            Outcome::Skipped(why) => assert!(why.contains("no fp16 arithmetic"), "{why}"),
            o => panic!("{o}"),
        }
    }
    let out = model.session().unwrap().run(&c.inputs).unwrap();
    let (got, want) = (out[0].to_f32_vec(), c.outputs[0].to_f32_vec());
    let largest = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (a, e) in got.iter().zip(&want) {
        assert!((a - e).abs() <= 1e-2 * largest, "{a} against {e}");
    }
}
