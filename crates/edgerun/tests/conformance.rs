//! Every reference case through the tract backend, compared with onnxruntime's outputs.
//!
//! Tolerance: |edgerun - onnxruntime| <= 1e-4 + 1e-3 * |onnxruntime| per element. Both run the
//! same float32 graph; differences come only from summation order and fused kernels (tract's
//! FMA matrix kernels against onnxruntime's unfused reference evaluation), which stay below
//! 1e-5 on these models. The bound leaves room for other CPUs' kernels (NEON on aarch64)
//! while still catching any real error (a wrong layout or op is off by 1e-1 or more).

mod common;

use common::{case, cases, Case};
use edgerun::{Runtime, Tolerance};

const TOLERANCE: Tolerance = Tolerance::new(1e-4, 1e-3);

fn check(case: &Case, threads: usize) {
    let mut rt = Runtime::new().with_backend("tract").with_threads(threads);
    for (name, shape) in &case.shapes {
        rt = rt.with_input_shape(name.clone(), shape.clone());
    }
    let model = rt
        .load(&case.model)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(model.backend(), "tract");
    let outputs = model
        .session()
        .unwrap()
        .run(&case.inputs)
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    assert_eq!(outputs.len(), case.outputs.len(), "{}", case.name);
    for (k, expected) in case.outputs.iter().enumerate() {
        let diff = TOLERANCE
            .check(&outputs[k], expected)
            .unwrap_or_else(|e| panic!("{} output {k} ({threads} threads): {e}", case.name));
        eprintln!(
            "{} output {k} ({threads} threads): max |diff| {diff:e}",
            case.name
        );
    }
}

macro_rules! conformance {
    ($($test:ident => $case:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                check(&case($case), 1);
            }
        )*

        #[test]
        fn every_reference_case_has_a_test() {
            let tested = [$($case),*];
            for c in cases() {
                assert!(tested.contains(&c.name.as_str()), "reference case {} has no test", c.name);
            }
        }
    };
}

conformance! {
    mobilenetv2_mini => "mobilenetv2_mini",
    dynamic_mlp_batch3 => "dynamic_mlp_batch3",
    ppocr_cls => "ppocr_cls",
    ppocr_det_64x96 => "ppocr_det_64x96",
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
    assert!(
        model.choice().to_string().starts_with("tract: chosen"),
        "{}",
        model.choice()
    );
}
