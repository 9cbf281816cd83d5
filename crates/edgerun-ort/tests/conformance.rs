//! Every ONNX reference case through ONNX Runtime's library, against the references made by
//! onnxruntime 1.31.1 from Python (the same library): |diff| <= 1e-4 + 1e-3 |ref|, the
//! conformance suite's tolerance, at 1 and 2 threads.

use edgerun_core::{Backend, Options, Tensor, Tolerance};
use edgerun_ort::OrtBackend;
use edgerun_testkit as kit;

fn backend() -> OrtBackend {
    OrtBackend::new().with_library(kit::ort_lib())
}

fn check(case: &str, threads: usize) {
    let c = kit::case(case);
    let source = edgerun_core::ModelSource::open(&c.model).unwrap();
    // no shapes given: dynamic dimensions are bound by the run
    let prepared = backend()
        .prepare(&source, &Options::new().with_threads(threads))
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let mut session = prepared.session().unwrap();
    let inputs: Vec<&Tensor> = c.inputs.iter().collect();
    let out = session.run_tensors(&inputs).unwrap();
    assert_eq!(out.len(), c.outputs.len());
    for (k, (got, expected)) in out.iter().zip(&c.outputs).enumerate() {
        assert_eq!(got.dtype(), expected.dtype(), "{case} output {k}");
        let diff = Tolerance::new(1e-4, 1e-3)
            .check(got, expected)
            .unwrap_or_else(|err| panic!("{case} output {k} ({threads} threads): {err}"));
        eprintln!("{case} output {k}, {threads} threads: max |diff| {diff:e}");
    }
}

#[test]
fn mobilenetv2_mini() {
    check("mobilenetv2_mini", 1);
    check("mobilenetv2_mini", 2);
}

#[test]
fn dynamic_mlp_batch3() {
    check("dynamic_mlp_batch3", 1);
    check("dynamic_mlp_batch3", 2);
}

#[test]
fn ppocr_cls() {
    check("ppocr_cls", 1);
    check("ppocr_cls", 2);
}

/// bfloat16 in and out (Cast both ways), against onnxruntime's own casts: the same library, so
/// the same rounding (the tolerance is met with a difference of 0).
#[test]
fn bfloat16_in_and_out() {
    check("cast_bf16", 1);
}

#[test]
fn ppocr_det() {
    check("ppocr_det_64x96", 1);
    check("ppocr_det_96x128", 2);
}

#[test]
fn one_detector_model_serves_two_image_sizes() {
    let small = kit::case("ppocr_det_64x96");
    let large = kit::case("ppocr_det_96x128");
    let source = edgerun_core::ModelSource::open(&small.model).unwrap();
    let prepared = backend().prepare(&source, &Options::new()).unwrap();
    let mut session = prepared.session().unwrap();
    for c in [&small, &large, &small] {
        let out = session.run_tensors(&[&c.inputs[0]]).unwrap();
        Tolerance::new(1e-4, 1e-3)
            .check(&out[0], &c.outputs[0])
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        assert_eq!(out[0].shape(), c.outputs[0].shape());
    }
}

#[test]
fn declared_dynamic_dimensions_are_reported() {
    let c = kit::case("ppocr_det_64x96");
    let source = edgerun_core::ModelSource::open(&c.model).unwrap();
    let info = backend().inspect(&source).unwrap();
    let x = &info.inputs[0];
    assert_eq!(x.name, "x");
    assert_eq!(x.shape.len(), 4);
    assert_eq!(x.shape[1], edgerun_core::Dim::Fixed(3));
    assert!(x.shape[2].fixed().is_none() && x.shape[3].fixed().is_none());
}

#[test]
fn every_tensor_type_goes_in_and_out() {
    use edgerun_core::{DType, Data};
    use half::f16;
    let source = edgerun_core::ModelSource::open(kit::model("typed_io.onnx")).unwrap();
    let prepared = backend().prepare(&source, &Options::new()).unwrap();
    let types: Vec<DType> = prepared.inputs().iter().map(|i| i.dtype).collect();
    assert_eq!(
        types,
        [
            DType::F32,
            DType::F16,
            DType::F64,
            DType::I8,
            DType::U8,
            DType::I16,
            DType::I32,
            DType::I64,
            DType::Bool
        ]
    );
    let n = 5;
    let k = |i: usize| i as i64 - 2; // -2..=2
    let inputs = vec![
        Data::F32((0..n).map(|i| k(i) as f32 * 0.5).collect()),
        Data::F16((0..n).map(|i| f16::from_f32(k(i) as f32 * 0.25)).collect()),
        Data::F64((0..n).map(|i| k(i) as f64 * 1e10).collect()),
        Data::I8((0..n).map(|i| (k(i) * 60) as i8).collect()),
        Data::U8((0..n).map(|i| (i * 60) as u8).collect()),
        Data::I16((0..n).map(|i| (k(i) * 16000) as i16).collect()),
        Data::I32((0..n).map(|i| (k(i) * 1_000_000_000) as i32 / 2).collect()),
        Data::I64((0..n).map(|i| k(i) << 40).collect()),
        Data::Bool((0..n).map(|i| i % 2 == 0).collect()),
    ];
    let tensors: Vec<Tensor> = inputs
        .iter()
        .map(|d| Tensor::from_data(vec![n], d.clone()).unwrap())
        .collect();
    let refs: Vec<&Tensor> = tensors.iter().collect();
    let out = prepared.session().unwrap().run_tensors(&refs).unwrap();
    let expected = vec![
        Data::F32((0..n).map(|i| k(i) as f32).collect()),
        inputs[1].clone(),
        Data::F64((0..n).map(|i| k(i) as f64 * 2e10).collect()),
        inputs[3].clone(),
        inputs[4].clone(),
        inputs[5].clone(),
        Data::I32((0..n).map(|i| (k(i) * 1_000_000_000) as i32).collect()),
        Data::I64((0..n).map(|i| k(i) << 41).collect()),
        Data::Bool((0..n).map(|i| i % 2 == 1).collect()),
    ];
    for (got, want) in out.iter().zip(&expected) {
        assert_eq!(got.shape(), &[n]);
        assert_eq!(got.data(), want, "{:?}", got.dtype());
    }
}
