//! Every reference case through the backend that should run it, compared with the peer
//! runtime's outputs (onnxruntime for ONNX, LiteRT for TensorFlow Lite).
//!
//! Float tolerance: |edgerun - reference| <= 1e-4 + 1e-3 * |reference| per element. Both sides
//! evaluate the same float32 graph; differences come only from summation order and fused
//! kernels (FMA matrix kernels, XNNPACK) and stay below 1e-5 on these models (the largest
//! seen is printed by each test). The bound leaves room for other CPUs' kernels (NEON on
//! aarch64) and still catches a real error, which is off by 1e-1 or more.
//!
//! int8 tolerance: 8 LSB of the output's scale. Kernel sets legitimately differ on int8
//! models: on mobilenetv2_mini_int8, LiteRT's XNNPACK and reference kernels differ from its
//! builtin kernels by up to 4 LSB at the output (models/README.md); TFLite 2.6's kernels are
//! one more set. A wrong scale, zero point or layout moves outputs by tens of LSB.

use edgerun_testkit as common;

use common::{case, cases, Case};
use edgerun::tflite::TfLiteBackend;
use edgerun::{DType, Runtime, Tensor, Tolerance};

const TOLERANCE: Tolerance = Tolerance::new(1e-4, 1e-3);
const INT8_LSB: f32 = 8.0;

fn runtime(backend: &str, xnnpack: bool) -> Runtime {
    let tflite = TfLiteBackend::new()
        .with_library(common::tflite_lib())
        .with_xnnpack(xnnpack);
    Runtime::new()
        .register(Box::new(tflite))
        .configure("litert_lib", common::litert_lib().to_str().unwrap())
        .unwrap()
        .with_backend(backend)
}

/// The stored integers, without quantization parameters: int8 references are raw values.
fn raw(t: &Tensor) -> Tensor {
    t.clone().with_quant(None)
}

fn compare(name: &str, got: &Tensor, expected: &Tensor) -> f32 {
    let (tol, got, expected) = match got.dtype() {
        DType::I8 | DType::U8 => (Tolerance::new(INT8_LSB, 0.0), raw(got), raw(expected)),
        _ => (TOLERANCE, got.clone(), expected.clone()),
    };
    tol.check(&got, &expected)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Load the case's model without input shapes (dynamic dimensions are bound by the run) and
/// compare its outputs with the reference.
fn check_with(case: &Case, backend: &str, threads: usize, xnnpack: bool) {
    let model = runtime(backend, xnnpack)
        .with_threads(threads)
        .load(&case.model)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(model.backend(), backend);
    let outputs = model
        .session()
        .unwrap()
        .run(&case.inputs)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(outputs.len(), case.outputs.len(), "{}", case.name);
    for (k, expected) in case.outputs.iter().enumerate() {
        let what = format!(
            "{} output {k} ({backend}, {threads} threads, xnnpack {xnnpack})",
            case.name
        );
        let diff = compare(&what, &outputs[k], expected);
        eprintln!("{what}: max |diff| {diff:e}");
    }
}

fn check(case: &Case, threads: usize) {
    check_with(case, "tract", threads, false);
}

macro_rules! conformance {
    (
        tract: [$($test:ident => $case:literal),* $(,)?],
        tflite: [$($ttest:ident => $tcase:literal),* $(,)?],
        others: [$($otest:ident => $ocase:literal on $obackend:literal),* $(,)?],
        elsewhere: [$($ecase:literal),* $(,)?] $(,)?
    ) => {
        $(
            #[test]
            fn $test() {
                check(&case($case), 1);
            }
        )*
        $(
            #[test]
            fn $ttest() {
                let c = case($tcase);
                check_with(&c, "tflite", 1, false);
                check_with(&c, "tflite", 2, true);
            }
        )*

        $(
            #[test]
            fn $otest() {
                check_with(&case($ocase), $obackend, 1, false);
            }
        )*

        #[test]
        fn every_reference_case_has_a_test() {
            let tested = [$($case,)* $($tcase,)* $($ocase,)* $($ecase,)*];
            for c in cases() {
                assert!(tested.contains(&c.name.as_str()), "reference case {} has no test", c.name);
            }
        }
    };
}

conformance! {
    tract: [
        mobilenetv2_mini => "mobilenetv2_mini",
        dynamic_mlp_batch3 => "dynamic_mlp_batch3",
        ppocr_cls => "ppocr_cls",
        ppocr_det_64x96 => "ppocr_det_64x96",
        ppocr_det_96x128 => "ppocr_det_96x128",
    ],
    tflite: [
        tflite_mobilenetv2_mini => "mobilenetv2_mini_tflite",
        tflite_mobilenetv2_mini_int8 => "mobilenetv2_mini_int8_tflite",
        tflite_blazeface_front => "blazeface_front",
        tflite_dynamic_batch => "dynamic_batch_tflite",
    ],
    // bfloat16, which tract and TFLite 2.6 do not have
    others: [
        litert_cast_bf16 => "cast_bf16_tflite" on "litert",
    ],
    // through ONNX Runtime, in tests/bfloat16.rs: once a runtime has loaded ONNX Runtime's
    // library, every later runtime of the process finds it, and this file's tests of `auto`
    // expect it absent
    elsewhere: ["cast_bf16"],
}

/// The same network as ONNX on tract and as TFLite on TFLite: NHWC input is the NCHW input
/// transposed, and the logits agree within the float tolerance.
#[test]
fn tract_and_tflite_agree_on_the_same_network() {
    let onnx = case("mobilenetv2_mini");
    let nchw = onnx.inputs[0].to_array::<f32>().unwrap();
    let nhwc = Tensor::from(
        nchw.permuted_axes(vec![0, 2, 3, 1])
            .as_standard_layout()
            .into_owned(),
    );
    let tflite = runtime("tflite", true)
        .load(common::model("mobilenetv2_mini.tflite"))
        .unwrap();
    let from_tflite = tflite.session().unwrap().run(&[nhwc]).unwrap();
    let from_tract = edgerun::load(&onnx.model)
        .unwrap()
        .session()
        .unwrap()
        .run(&onnx.inputs)
        .unwrap();
    let diff = compare("tflite vs tract", &from_tflite[0], &from_tract[0]);
    eprintln!("tflite vs tract on mobilenetv2_mini: max |diff| {diff:e}");
}

#[test]
fn multithreaded_matmul_gives_the_same_outputs() {
    check(&case("mobilenetv2_mini"), 2);
    check(&case("ppocr_det_64x96"), 2);
}

#[test]
fn sessions_are_reusable_and_independent() {
    let c = case("mobilenetv2_mini");
    let model = edgerun::load(&c.model).unwrap();
    let mut s1 = model.session().unwrap();
    let mut s2 = model.session().unwrap();
    let zeros = edgerun::Tensor::zeros(edgerun::DType::F32, vec![1, 3, 224, 224]).unwrap();
    let a = s1.run(&c.inputs).unwrap();
    let z = s2.run(std::slice::from_ref(&zeros)).unwrap();
    let b = s1.run(&c.inputs).unwrap();
    assert_eq!(a[0], b[0], "the same input twice gives the same output");
    assert_ne!(a[0], z[0], "different inputs give different outputs");
    TOLERANCE.check(&a[0], &c.outputs[0]).unwrap();
}

#[test]
fn a_model_is_shared_between_threads() {
    let c = case("mobilenetv2_mini");
    let model = edgerun::load(&c.model).unwrap();
    std::thread::scope(|s| {
        for _ in 0..2 {
            let (model, c) = (&model, &c);
            s.spawn(move || {
                let out = model.session().unwrap().run(&c.inputs).unwrap();
                TOLERANCE.check(&out[0], &c.outputs[0]).unwrap();
            });
        }
    });
}

#[test]
fn model_from_memory_and_named_inputs() {
    let c = case("mobilenetv2_mini");
    let bytes = std::fs::read(&c.model).unwrap();
    let model = Runtime::new()
        .load_bytes("mobilenet in memory", bytes)
        .unwrap();
    let out = model
        .session()
        .unwrap()
        .run_named(&[("input", &c.inputs[0])])
        .unwrap();
    TOLERANCE
        .check(out.get("logits").unwrap(), &c.outputs[0])
        .unwrap();
    assert!(out.get("nope").is_none());
}

/// The first `rows` rows of a batch (rows of an MLP are computed independently).
fn rows(t: &Tensor, rows: usize) -> Tensor {
    let width = t.shape()[1];
    Tensor::from_vec(
        vec![rows, width],
        t.as_slice::<f32>().unwrap()[..rows * width].to_vec(),
    )
    .unwrap()
}

#[test]
fn one_detector_model_serves_two_image_sizes() {
    let small = case("ppocr_det_64x96");
    let large = case("ppocr_det_96x128");
    // one plan kept at a time: alternating sizes must re-plan every run and stay right
    for plans in [8, 1] {
        let rt = Runtime::new().register(Box::new(
            edgerun::tract::TractBackend::new().with_plan_cache(plans),
        ));
        let model = rt.load(&small.model).unwrap();
        let declared = &model.inputs()[0].shape;
        assert_eq!(declared[1], edgerun::Dim::Fixed(3));
        assert!(declared[2].fixed().is_none() && declared[3].fixed().is_none());
        assert_eq!(model.prepared_shape(0), None);
        let mut session = model.session().unwrap();
        for c in [&small, &large, &small] {
            let out = session.run(&c.inputs).unwrap();
            let diff = compare(&c.name, &out[0], &c.outputs[0]);
            eprintln!(
                "{} through one model ({plans} plans): max |diff| {diff:e}",
                c.name
            );
        }
    }
}

#[test]
fn a_shape_given_at_load_prepares_it_and_others_still_run() {
    let c = case("dynamic_mlp_batch3");
    let model = Runtime::new()
        .with_input_shape("x", vec![1, 16])
        .load(&c.model)
        .unwrap();
    assert_eq!(model.inputs()[0].shape_string(), "N,16");
    assert_eq!(model.prepared_shape(0), Some(vec![1, 16]));
    let mut session = model.session().unwrap();
    let one = session.run(&[rows(&c.inputs[0], 1)]).unwrap();
    TOLERANCE.check(&one[0], &rows(&c.outputs[0], 1)).unwrap();
    let three = session.run(&c.inputs).unwrap();
    TOLERANCE.check(&three[0], &c.outputs[0]).unwrap();
}

#[test]
fn tflite_keras_batch_defaults_to_the_declared_shape_and_resizes() {
    let c = case("dynamic_batch_tflite");
    let model = runtime("tflite", true).load(&c.model).unwrap();
    // shape_signature [-1,16], shape [1,16]: dynamic, prepared for batch 1 as TFLite does
    assert_eq!(model.inputs()[0].shape_string(), "?,16");
    assert_eq!(model.prepared_shape(0), Some(vec![1, 16]));
    let mut session = model.session().unwrap();
    for n in [3, 1, 3] {
        let out = session.run(&[rows(&c.inputs[0], n)]).unwrap();
        assert_eq!(out[0].shape(), &[n, 4]);
        TOLERANCE.check(&out[0], &rows(&c.outputs[0], n)).unwrap();
    }
}

#[test]
fn run_into_reuses_the_output_buffers() {
    let c = case("mobilenetv2_mini");
    let model = edgerun::load(&c.model).unwrap();
    let mut session = model.session().unwrap();
    let mut outputs = session.outputs();
    session.run_into(&c.inputs, &mut outputs).unwrap();
    let first = outputs.tensors()[0].as_slice::<f32>().unwrap().as_ptr();
    let view = c.inputs[0].view();
    session.run_into(&[view], &mut outputs).unwrap();
    assert_eq!(
        outputs.tensors()[0].as_slice::<f32>().unwrap().as_ptr(),
        first,
        "the second run writes into the first run's buffer"
    );
    TOLERANCE
        .check(outputs.get("logits").unwrap(), &c.outputs[0])
        .unwrap();
}

#[test]
fn inspect_reports_declared_dynamic_dimensions() {
    let (source, backend, info) = Runtime::new()
        .inspect(common::model("dynamic_mlp.onnx"))
        .unwrap();
    assert_eq!(source.format(), edgerun::ModelFormat::Onnx);
    assert_eq!(backend, "tract");
    assert_eq!(info.inputs[0].shape_string(), "N,16");
    assert_eq!(info.outputs[0].shape_string(), "N,4");
    let (_, _, det) = Runtime::new()
        .inspect(common::model("fetched/ch_PP-OCRv4_det_infer.onnx"))
        .unwrap();
    assert_eq!(det.inputs[0].shape.len(), 4);
    assert_eq!(det.inputs[0].shape[1], edgerun::Dim::Fixed(3));
    assert!(det.inputs[0].shape[2].fixed().is_none());
}

#[test]
fn decision_explains_the_backend() {
    let load = |search: bool| {
        Runtime::new()
            .with_cache(edgerun::CacheSetting::Off)
            .with_thread_search(search)
            .load(common::model("mobilenetv2_mini.onnx"))
            .unwrap()
    };
    let model = load(false);
    let d = model.decision();
    assert_eq!(d.chosen, "tract");
    assert_eq!(d.source, edgerun::Source::Only);
    let text = d.to_string();
    assert!(
        text.contains("tflite, 2 threads: skipped: does not read ONNX models")
            || text.contains("tflite, 1 thread: skipped: does not read ONNX models"),
        "{text}"
    );
    assert!(text.contains("<- chosen"), "{text}");

    // by default tract, the one backend here that reads ONNX, is measured against itself at
    // fewer threads than the default (on a machine with two or more usable CPUs)
    let default = edgerun::Platform::detect().default_placement().threads;
    let model = load(true);
    let d = model.decision();
    if default >= 2 {
        assert_eq!(d.source, edgerun::Source::Measured, "{d}");
        assert!(["tract", "tract@1"].contains(&d.chosen.as_str()), "{d}");
        let one = d.candidate("tract@1").expect("tract at one thread");
        assert!(
            matches!(one.outcome, edgerun::Outcome::Measured { .. }),
            "{d}"
        );
        assert_eq!(one.threads, 1);
        assert_eq!(
            model.placement().threads,
            d.candidate(&d.chosen).unwrap().threads
        );
    } else {
        assert_eq!(d.chosen, "tract", "{d}");
    }
}

fn litert_and_tflite(xnnpack: bool) -> Runtime {
    Runtime::new()
        .register(Box::new(
            edgerun::litert::LiteRtBackend::new().with_library(common::litert_lib()),
        ))
        .register(Box::new(
            TfLiteBackend::new()
                .with_library(common::tflite_lib())
                .with_xnnpack(xnnpack),
        ))
        .with_threads(1)
        .with_cache(edgerun::CacheSetting::Off)
}

/// The candidate with the lowest median of those measured whose outputs agree: what a
/// measured choice must be, whichever engine is faster on this machine.
fn fastest_measured(d: &edgerun::Decision) -> &str {
    d.candidates
        .iter()
        .filter_map(|c| match c.outcome {
            edgerun::Outcome::Measured { median, .. } => Some((median, c.label.as_str())),
            _ => None,
        })
        .min()
        .map(|(_, label)| label)
        .unwrap_or_else(|| panic!("nothing measured: {d}"))
}

#[test]
fn auto_measures_litert_and_tflite_and_takes_the_faster() {
    // which engine is faster here is a benchmark's question (benches/compare); the decision's
    // is that both were measured on the real engines and the faster median was taken
    let c = case("mobilenetv2_mini_int8_tflite");
    let model = litert_and_tflite(false).load(&c.model).unwrap();
    let d = model.decision();
    assert_eq!(d.source, edgerun::Source::Measured, "{d}");
    for l in ["litert", "tflite"] {
        assert!(
            matches!(
                d.candidate(l).unwrap().outcome,
                edgerun::Outcome::Measured { runs, .. } if runs >= 1
            ),
            "{d}"
        );
    }
    assert_eq!(model.backend(), fastest_measured(d), "{d}");
    assert!(
        matches!(&d.candidate("tract").unwrap().outcome, edgerun::Outcome::Skipped(r) if r.contains("not chosen automatically")),
        "{d}"
    );
    let out = model.session().unwrap().run(&c.inputs).unwrap();
    assert_eq!(out[0].dtype(), c.outputs[0].dtype());
}

#[test]
fn a_variant_competes_with_its_backend() {
    // TensorFlow Lite with and without XNNPACK as two candidates of one runtime
    let c = case("mobilenetv2_mini_int8_tflite");
    let plain = TfLiteBackend::new()
        .with_library(common::tflite_lib())
        .with_xnnpack(false);
    let model = Runtime::new()
        .register(Box::new(
            TfLiteBackend::new().with_library(common::tflite_lib()),
        ))
        .with_variant(edgerun::Variant::new("tflite-plain", Box::new(plain)))
        .unwrap()
        .with_threads(1)
        .with_cache(edgerun::CacheSetting::Off)
        .load(&c.model)
        .unwrap();
    let d = model.decision();
    assert_eq!(d.source, edgerun::Source::Measured, "{d}");
    for l in ["tflite", "tflite-plain"] {
        assert!(
            matches!(
                d.candidate(l).unwrap().outcome,
                edgerun::Outcome::Measured { .. }
            ),
            "{d}"
        );
    }
}

#[test]
fn a_tflite_model_without_its_libraries_falls_back_or_lists_every_reason() {
    let model = common::model("mobilenetv2_mini.tflite");
    let missing = |lib: &str| std::path::PathBuf::from(format!("/nonexistent/{lib}"));
    // LiteRT missing: TensorFlow Lite takes the model, and LiteRT's absence is on record
    let m = Runtime::new()
        .register(Box::new(
            edgerun::litert::LiteRtBackend::new().with_library(missing("libLiteRt.so")),
        ))
        .register(Box::new(
            TfLiteBackend::new().with_library(common::tflite_lib()),
        ))
        .with_cache(edgerun::CacheSetting::Off)
        .load(&model)
        .unwrap();
    assert_eq!(m.backend(), "tflite");
    let text = m.decision().to_string();
    assert!(
        text.contains("litert, ") && text.contains("/nonexistent/libLiteRt.so"),
        "{text}"
    );
    // both missing: tract reads TensorFlow Lite but is not chosen for it automatically; the
    // error says so for each
    let e = Runtime::new()
        .register(Box::new(
            edgerun::litert::LiteRtBackend::new().with_library(missing("libLiteRt.so")),
        ))
        .register(Box::new(
            TfLiteBackend::new().with_library(missing("libtensorflowlite_c.so")),
        ))
        .with_cache(edgerun::CacheSetting::Off)
        .load(&model)
        .unwrap_err();
    let text = e.to_string();
    for want in [
        "litert: skipped",
        "/nonexistent/libLiteRt.so",
        "tflite: skipped",
        "/nonexistent/libtensorflowlite_c.so",
        "tract: skipped: not chosen automatically",
        "ort: skipped: does not read TensorFlow Lite",
    ] {
        assert!(text.contains(want), "{want:?} missing: {text}");
    }
}

#[test]
fn a_model_tract_cannot_run_goes_to_a_backend_that_can() {
    // BlazeFace's fp16 weights behind DEQUANTIZE are outside tract's TensorFlow Lite subset
    let m = Runtime::with_backends(vec![
        Box::new(edgerun::tract::TractBackend::new()),
        Box::new(edgerun::litert::LiteRtBackend::new().with_library(common::litert_lib())),
    ])
    .with_cache(edgerun::CacheSetting::Off)
    .load(common::model("fetched/face_detection_front.tflite"))
    .unwrap();
    assert_eq!(m.backend(), "litert");
    // and by name, tract says what it lacks
    let e = Runtime::with_backends(vec![Box::new(edgerun::tract::TractBackend::new())])
        .with_backend("tract")
        .load(common::model("fetched/face_detection_front.tflite"))
        .unwrap_err();
    assert!(
        e.to_string().contains("DEQUANTIZE") || e.to_string().contains("Dequantize"),
        "{e}"
    );
}

#[test]
fn first_takes_litert_for_tflite_models_when_present_and_says_why() {
    let c = case("mobilenetv2_mini_tflite");
    let model = litert_and_tflite(true)
        .with_backend("first")
        .load(&c.model)
        .unwrap();
    assert_eq!(model.backend(), "litert");
    let d = model.decision();
    assert_eq!(d.source, edgerun::Source::Order);
    assert!(d.notes.iter().any(|n| n.contains("preferred")), "{d}");
    let out = model.session().unwrap().run(&c.inputs).unwrap();
    TOLERANCE.check(&out[0], &c.outputs[0]).unwrap();
}

#[test]
fn litert_and_tflite_agree() {
    for name in ["mobilenetv2_mini_tflite", "blazeface_front"] {
        let c = case(name);
        let litert = Runtime::new()
            .register(Box::new(
                edgerun::litert::LiteRtBackend::new().with_library(common::litert_lib()),
            ))
            .with_backend("litert")
            .load(&c.model)
            .unwrap();
        let tflite = runtime("tflite", true).load(&c.model).unwrap();
        let a = litert.session().unwrap().run(&c.inputs).unwrap();
        let b = tflite.session().unwrap().run(&c.inputs).unwrap();
        assert_eq!(a.len(), b.len(), "{name}");
        for (x, y) in a.tensors().iter().zip(b.tensors()) {
            TOLERANCE
                .check(x, y)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
