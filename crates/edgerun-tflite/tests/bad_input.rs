//! Untrusted `.tflite` files: corrupt, truncated and bit-flipped files give errors (the process
//! survives hundreds of them), and models this TFLite cannot run correctly are refused.

use edgerun_core::{Backend, Error, ModelSource, Options};
use edgerun_testkit as kit;
use edgerun_tflite::TfLiteBackend;

fn backend() -> TfLiteBackend {
    TfLiteBackend::new()
        .with_library(kit::tflite_lib())
        .with_xnnpack(false)
}

fn prepare_bytes(
    label: &str,
    bytes: Vec<u8>,
) -> edgerun_core::Result<Box<dyn edgerun_core::Prepared>> {
    let source = ModelSource::from_bytes(label, bytes)?;
    backend().prepare(&source, &Options::new())
}

#[test]
fn truncated_files() {
    let bytes = std::fs::read(kit::model("mobilenetv2_mini_int8.tflite")).unwrap();
    for cut in [8, 64, bytes.len() / 10, bytes.len() / 2, bytes.len() - 1] {
        let err = prepare_bytes("truncated", bytes[..cut].to_vec())
            .err()
            .expect("a truncated model must not load");
        assert!(
            matches!(err, Error::InvalidModel { .. }),
            "cut at {cut}: {err:?}"
        );
    }
}

use edgerun_testkit::xorshift;

/// Flip bits in a model, prepare it and run it when it prepares. Any outcome but a crash is
/// acceptable; returns how many mutants were refused.
fn mutants(rel: &str, rounds: usize, flips: usize, seed: u64, header_only: bool) -> usize {
    let original = std::fs::read(kit::model(rel)).unwrap();
    let span = if header_only {
        original.len().min(4096)
    } else {
        original.len()
    };
    let mut state = seed;
    let mut refused = 0;
    for _ in 0..rounds {
        let mut bytes = original.clone();
        for _ in 0..flips {
            let at = (xorshift(&mut state) % span as u64) as usize;
            bytes[at] ^= 1 << (xorshift(&mut state) % 8);
        }
        match prepare_bytes("mutant", bytes) {
            Err(_) => refused += 1,
            Ok(p) => {
                if kit::run_on_zeros(p.as_ref()).is_err() {
                    refused += 1;
                }
            }
        }
    }
    refused
}

#[test]
fn hundreds_of_bit_flipped_files_never_crash() {
    // a real CNN: flips in the flatbuffer's tables (the first 4 KiB hold the vtables, tensor
    // and operator tables of this file), then anywhere; and BlazeFace, flipped anywhere
    let tables = mutants("mobilenetv2_mini_int8.tflite", 300, 2, 3, true);
    let anywhere = mutants("mobilenetv2_mini_int8.tflite", 100, 4, 4, false);
    let face = mutants("fetched/face_detection_front.tflite", 150, 2, 5, false);
    assert!(tables > 0, "some flips in the tables must break the file");
    // and the others load and run: mutants reach the interpreter, not only the checker
    assert!(
        tables < 300 && anywhere < 100 && face < 150,
        "every mutant of a set refused"
    );
    eprintln!("refused mutants: mobilenet tables {tables}/300, mobilenet anywhere {anywhere}/100, blazeface {face}/150");
}

/// A depthwise convolution whose options carry another operator's union member (2, its own,
/// made 18, SkipGramOptions): TensorFlow Lite 2.6 prepares it with zeroed parameters and its
/// first run divides by the zero stride, ending the process with SIGFPE. The check refuses the
/// file first; should it let the file through, the run below crashes this test.
#[test]
fn an_operator_with_another_operators_options_is_refused() {
    let model = std::fs::read(kit::model("mobilenetv2_mini_int8.tflite")).unwrap();
    let damaged = kit::tflite_with_operator_byte(&model, 4, 3, 18);
    let err = match prepare_bytes("damaged", damaged) {
        Err(err) => err,
        Ok(prepared) => {
            let ran = kit::run_on_zeros(prepared.as_ref());
            panic!("the damaged model was prepared, and its run gave {ran:?}");
        }
    };
    let Error::InvalidModel { reason, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        reason.contains("(DEPTHWISE_CONV_2D) carries BuiltinOptions member 18")
            && reason.contains("member 2 (DepthwiseConv2DOptions)"),
        "{reason}"
    );
}

#[test]
fn an_unresolved_custom_op_is_named_with_its_place() {
    let source = ModelSource::open(kit::model("custom_op.tflite")).unwrap();
    let err = backend().prepare(&source, &Options::new()).err().unwrap();
    match &err {
        Error::UnsupportedOp { op, node, .. } => {
            assert_eq!(op, "custom EdgerunMysteryOp");
            assert_eq!(node, "operator #0, writing tensor \"y\"");
        }
        other => panic!("expected UnsupportedOp, got {other:?}"),
    }
}

#[test]
fn an_op_this_tflite_build_lacks() {
    // GELU (builtin 150) arrived after TFLite 2.6
    let source = ModelSource::open(kit::model("gelu.tflite")).unwrap();
    let err = backend().prepare(&source, &Options::new()).err().unwrap();
    match &err {
        Error::UnsupportedOp {
            backend,
            op,
            node,
            source,
            ..
        } => {
            assert_eq!(backend, "tflite");
            assert_eq!(op, "GELU");
            // TensorFlow Lite's status and reports are kept
            let source = source.as_ref().expect("the engine's error");
            assert_eq!(source.engine, "TensorFlow Lite");
            assert!(source.message.contains("150"), "{source:?}");
            // the model's only operator, and the tensor it writes
            assert!(node.starts_with("operator #0, writing tensor \""), "{node}");
        }
        other => panic!("expected UnsupportedOp, got {other:?}"),
    }
}

#[test]
fn a_tensor_type_this_tflite_build_lacks() {
    // BFLOAT16 (schema type 18) arrived after TFLite 2.6; LiteRT runs the same file
    let source = ModelSource::open(kit::model("cast_bf16.tflite")).unwrap();
    let err = backend().prepare(&source, &Options::new()).err().unwrap();
    assert_eq!(err.kind(), edgerun_core::ErrorKind::Unsupported, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("it has BFLOAT16 tensors, which TensorFlow Lite 2.6"),
        "{text}"
    );
    assert!(text.contains("try another backend"), "{text}");
}

#[test]
fn per_channel_fully_connected_is_refused_on_old_tflite() {
    let source = ModelSource::open(kit::model("dense_per_channel_int8.tflite")).unwrap();
    let err = backend().prepare(&source, &Options::new()).err().unwrap();
    let text = err.to_string();
    assert!(
        text.contains("per channel") && text.contains("2.6.0"),
        "{text}"
    );
    assert!(
        text.contains("_experimental_disable_per_channel_quantization_for_dense_layers"),
        "{text}"
    );
}

#[test]
fn inspect_needs_no_library() {
    let source = ModelSource::open(kit::model("mobilenetv2_mini_int8.tflite")).unwrap();
    let info = TfLiteBackend::new()
        .with_library("/nonexistent.so")
        .inspect(&source)
        .unwrap();
    assert_eq!(info.inputs[0].shape_string(), "1,224,224,3");
    assert_eq!(info.inputs[0].dtype, edgerun_core::DType::I8);
    let q = info.inputs[0].quant.unwrap();
    assert!(
        (q.scale - 1.0 / 127.5).abs() < 1e-6 && q.zero_point == 0,
        "{q:?}"
    );
}
