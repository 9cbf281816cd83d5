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

fn check_with(case: &Case, backend: &str, threads: usize, xnnpack: bool) {
    let mut rt = runtime(backend, xnnpack).with_threads(threads);
    for (name, shape) in &case.shapes {
        rt = rt.with_input_shape(name.clone(), shape.clone());
    }
    let model = rt
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
    (tract: [$($test:ident => $case:literal),* $(,)?], tflite: [$($ttest:ident => $tcase:literal),* $(,)?] $(,)?) => {
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

        #[test]
        fn every_reference_case_has_a_test() {
            let tested = [$($case,)* $($tcase,)*];
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
    ],
    tflite: [
        tflite_mobilenetv2_mini => "mobilenetv2_mini_tflite",
        tflite_mobilenetv2_mini_int8 => "mobilenetv2_mini_int8_tflite",
        tflite_blazeface_front => "blazeface_front",
        tflite_dynamic_batch => "dynamic_batch_tflite",
    ],
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

#[test]
fn dynamic_batch_follows_the_given_shape() {
    let c = case("dynamic_mlp_batch3");
    // the same weights with batch 1: the first row of the batch-3 reference
    let row = edgerun::Tensor::from_vec(
        vec![1, 16],
        c.inputs[0].as_slice::<f32>().unwrap()[..16].to_vec(),
    )
    .unwrap();
    let model = Runtime::new()
        .with_input_shape("x", vec![1, 16])
        .load(&c.model)
        .unwrap();
    assert_eq!(model.inputs()[0].fixed_shape(), Some(vec![1, 16]));
    assert_eq!(model.outputs()[0].fixed_shape(), Some(vec![1, 4]));
    let out = model.session().unwrap().run(&[row]).unwrap();
    let expected = edgerun::Tensor::from_vec(
        vec![1, 4],
        c.outputs[0].as_slice::<f32>().unwrap()[..4].to_vec(),
    )
    .unwrap();
    TOLERANCE.check(&out[0], &expected).unwrap();
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
fn choice_explains_the_backend() {
    let model = edgerun::load(common::model("mobilenetv2_mini.onnx")).unwrap();
    assert_eq!(model.choice().chosen, "tract");
    let text = model.choice().to_string();
    assert!(text.contains("tflite: does not read ONNX models"), "{text}");
    assert!(text.contains("tract: chosen"), "{text}");
}
