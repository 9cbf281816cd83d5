//! Every TensorFlow Lite reference case through LiteRT's C library, against the references
//! made by LiteRT's Python interpreter (builtin kernels). edgerun's LiteRT backend runs the
//! CPU accelerator (XNNPACK), so floats differ by summation order only: the tolerance is the
//! conformance suite's, |diff| <= 1e-4 + 1e-3 |ref|; int8 within 8 LSB (models/README.md).

use edgerun_core::{Backend, DType, Options, Tensor, Tolerance};
use edgerun_litert::LiteRtBackend;
use edgerun_testkit as kit;

fn backend() -> LiteRtBackend {
    LiteRtBackend::new().with_library(kit::litert_lib())
}

fn check(case: &str, threads: usize) {
    let c = kit::case(case);
    let source = edgerun_core::ModelSource::open(&c.model).unwrap();
    let prepared = backend()
        .prepare(&source, &Options::new().with_threads(threads))
        .unwrap_or_else(|e| panic!("{case}: {e}"));
    let mut session = prepared.session().unwrap();
    let inputs: Vec<&Tensor> = c.inputs.iter().collect();
    let out = session.run_tensors(&inputs).unwrap();
    assert_eq!(out.len(), c.outputs.len());
    for (k, (got, expected)) in out.iter().zip(&c.outputs).enumerate() {
        assert_eq!(got.dtype(), expected.dtype(), "{case} output {k}");
        let tol = match got.dtype() {
            DType::I8 | DType::U8 => Tolerance::new(8.0, 0.0),
            _ => Tolerance::new(1e-4, 1e-3),
        };
        let (g, e) = (
            got.clone().with_quant(None),
            expected.clone().with_quant(None),
        );
        let diff = tol
            .check(&g, &e)
            .unwrap_or_else(|err| panic!("{case} output {k} ({threads} threads): {err}"));
        eprintln!("{case} output {k}, {threads} threads: max |diff| {diff:e}");
    }
}

#[test]
fn mobilenetv2_float() {
    check("mobilenetv2_mini_tflite", 1);
    check("mobilenetv2_mini_tflite", 2);
}

#[test]
fn mobilenetv2_int8() {
    check("mobilenetv2_mini_int8_tflite", 1);
    check("mobilenetv2_mini_int8_tflite", 2);
}

#[test]
fn blazeface() {
    check("blazeface_front", 1);
    check("blazeface_front", 2);
}

/// bfloat16 in and out (CAST both ways): LiteRT's bfloat16 kernels, which TFLite 2.6 lacks.
#[test]
fn bfloat16_in_and_out() {
    check("cast_bf16_tflite", 1);
}

#[test]
fn dynamic_batch() {
    check("dynamic_batch_tflite", 1);
    check("dynamic_batch_tflite", 2);
}
