//! Bad libraries and bad models give errors that name the problem; none crashes.

use edgerun_core::{Backend, DType, Error, ModelSource, Options, Tensor};
use edgerun_litert::LiteRtBackend;
use edgerun_testkit as kit;

#[test]
fn a_missing_library_says_where_it_looked() {
    let e = LiteRtBackend::new()
        .with_library("/nonexistent/libLiteRt.so")
        .library()
        .unwrap_err();
    assert!(
        matches!(&e, Error::LibraryLoad { .. }) && e.to_string().contains("does not exist"),
        "{e}"
    );
}

#[test]
fn a_library_for_another_architecture_is_refused_before_loading() {
    let other = if std::env::consts::ARCH == "x86_64" {
        "aarch64"
    } else {
        "x86_64"
    };
    let e = LiteRtBackend::new()
        .with_library(kit::litert_lib_for(other))
        .library()
        .unwrap_err();
    assert!(e.to_string().contains(&format!("built for {other}")), "{e}");
}

#[test]
fn a_library_that_is_not_litert_names_the_missing_function() {
    // a library of the right architecture that exports no LiteRt* function
    let e = LiteRtBackend::new()
        .with_library(kit::system_math_library())
        .library()
        .unwrap_err();
    match &e {
        Error::MissingSymbol { symbol, .. } => {
            assert_eq!(symbol, edgerun_litert::REQUIRED_SYMBOLS[0])
        }
        other => panic!("expected MissingSymbol, got {other:?}"),
    }
}

#[test]
fn truncated_and_bit_flipped_models_never_crash() {
    let b = LiteRtBackend::new().with_library(kit::litert_lib());
    let bytes = std::fs::read(kit::model("mobilenetv2_mini_int8.tflite")).unwrap();
    for keep in [0, 7, 64, 1000, bytes.len() / 2, bytes.len() - 1] {
        let source = ModelSource::from_bytes("truncated", bytes[..keep].to_vec());
        let Ok(source) = source else { continue };
        let e = b.prepare(&source, &Options::new()).err().unwrap();
        assert!(matches!(e, Error::InvalidModel { .. }), "{keep} bytes: {e}");
    }
    // flips in the first 4 KiB (the flatbuffer's tables): each loads and runs, or is refused
    let mut state = 0x1234_5678_u64;
    let mut refused = 0;
    for _ in 0..100 {
        let mut m = bytes.clone();
        for _ in 0..2 {
            let at = (kit::xorshift(&mut state) % 4096) as usize;
            m[at] ^= 1 << (kit::xorshift(&mut state) % 8);
        }
        match b.prepare(
            &ModelSource::from_bytes("mutant", m).unwrap(),
            &Options::new(),
        ) {
            Err(_) => refused += 1,
            Ok(p) => {
                if kit::run_on_zeros(p.as_ref()).is_err() {
                    refused += 1;
                }
            }
        }
    }
    assert!(refused > 0 && refused < 100, "refused {refused} of 100");
}

#[test]
fn wrong_input_dtype_is_refused_by_the_facade_check() {
    let b = LiteRtBackend::new().with_library(kit::litert_lib());
    let source = ModelSource::open(kit::model("mobilenetv2_mini_int8.tflite")).unwrap();
    let p = b.prepare(&source, &Options::new()).unwrap();
    // what edgerun's ModelSession checks before a backend sees the inputs
    let f = Tensor::zeros(DType::F32, vec![1, 224, 224, 3]).unwrap();
    let e = edgerun_core::check_inputs(p.inputs(), &[f.view()]).unwrap_err();
    assert!(matches!(e, Error::InputDType { .. }), "{e}");
    assert_eq!(p.inputs()[0].dtype, DType::I8);
    assert!(
        p.inputs()[0].quant.is_some(),
        "int8 input carries its quantization"
    );
}

#[test]
fn an_op_litert_lacks_is_named_with_its_place() {
    // a custom op no runtime registers; LiteRT finds out when it first allocates
    let b = LiteRtBackend::new().with_library(kit::litert_lib());
    let source = ModelSource::open(kit::model("custom_op.tflite")).unwrap();
    let e = b.prepare(&source, &Options::new()).err().unwrap();
    match &e {
        Error::UnsupportedOp {
            backend, op, node, ..
        } => {
            assert_eq!(backend, "litert");
            assert_eq!(op, "custom EdgerunMysteryOp");
            assert_eq!(node, "operator #0, writing tensor \"y\"");
        }
        other => panic!("expected UnsupportedOp, got {other:?}"),
    }
}
