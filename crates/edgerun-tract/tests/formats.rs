//! NNEF and tract's TensorFlow Lite subset, on models converted here from the bundled ONNX
//! MobileNetV2 and checked against the same onnxruntime references as the ONNX file.

use std::path::PathBuf;

use edgerun_core::{npy, Backend, ModelFormat, ModelSource, Options, Tolerance};
use edgerun_tract::TractBackend;
use tract_onnx::prelude::*;
use tract_onnx::WithOnnx;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn scratch(name: &str) -> edgerun_testkit::Scratch {
    edgerun_testkit::scratch(&format!("tract-{name}"))
}

/// The bundled MobileNetV2 as a decluttered tract model, the form NNEF and TFLite writers take.
fn mobilenet_typed() -> TypedModel {
    tract_onnx::onnx()
        .model_for_path(models().join("mobilenetv2_mini.onnx"))
        .unwrap()
        .into_typed()
        .unwrap()
        .into_decluttered()
        .unwrap()
}

/// Prepare `path` with the edgerun tract backend and compare with the ONNX references.
fn check_against_reference(path: &std::path::Path, expect: ModelFormat, nhwc: bool) {
    let source = ModelSource::open(path).unwrap();
    assert_eq!(source.format(), expect);
    let prepared = TractBackend::new()
        .prepare(&source, &Options::new())
        .unwrap();
    let mut input = npy::read(models().join("reference/mobilenetv2_mini/input.0.npy")).unwrap();
    if nhwc {
        let a = input
            .to_array::<f32>()
            .unwrap()
            .permuted_axes(vec![0, 2, 3, 1]);
        input = edgerun_core::Tensor::from(a.as_standard_layout().into_owned());
    }
    let out = prepared.session().unwrap().run_tensors(&[&input]).unwrap();
    let expected = npy::read(models().join("reference/mobilenetv2_mini/output.0.npy")).unwrap();
    // compared as it comes: Tolerance::check refuses a shape that differs
    Tolerance::new(1e-4, 1e-3)
        .check(&out[0], &expected)
        .unwrap();
}

#[test]
fn nnef_archive_and_directory() {
    let typed = mobilenet_typed();
    let dir = scratch("nnef");
    let tar = dir.join("mobilenetv2_mini.nnef.tar");
    tract_nnef::nnef()
        .with_onnx()
        .write_to_tar(&typed, std::fs::File::create(&tar).unwrap())
        .unwrap();
    check_against_reference(&tar, ModelFormat::Nnef, false);

    let unpacked = dir.join("mobilenetv2_mini.nnef");
    tract_nnef::nnef()
        .with_onnx()
        .write_to_dir(&typed, &unpacked)
        .unwrap();
    check_against_reference(&unpacked, ModelFormat::Nnef, false);
}

#[cfg(feature = "tflite")]
#[test]
fn tflite_subset() {
    let mut typed = mobilenet_typed();
    tract_tflite::rewriter::rewrite_for_tflite(&mut typed).unwrap();
    let dir = scratch("tflite");
    let path = dir.join("mobilenetv2_mini.tflite");
    let mut bytes = vec![];
    tract_tflite::tflite().write(&typed, &mut bytes).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let info = TractBackend::new()
        .inspect(&ModelSource::open(&path).unwrap())
        .unwrap();
    let nhwc = info.inputs[0].shape_string() == "1,224,224,3";
    check_against_reference(&path, ModelFormat::TfLite, nhwc);
}

#[test]
fn corrupt_nnef_archive_is_an_error() {
    let typed = mobilenet_typed();
    let dir = scratch("nnef-corrupt");
    let tar = dir.join("m.nnef.tar");
    tract_nnef::nnef()
        .with_onnx()
        .write_to_tar(&typed, std::fs::File::create(&tar).unwrap())
        .unwrap();
    let bytes = std::fs::read(&tar).unwrap();
    std::fs::write(&tar, &bytes[..bytes.len() / 2]).unwrap();
    let source = ModelSource::open(&tar).unwrap();
    let err = TractBackend::new()
        .prepare(&source, &Options::new())
        .err()
        .expect("a half archive must not load");
    assert!(err.to_string().contains("corrupt or truncated"), "{err}");
}

/// tract's TFLite reader computes the TensorFlow-converted MobileNetV2 wrongly, which is why
/// the dispatcher does not pick tract for `.tflite` files by itself. When a tract release fixes
/// it, this test fails: then let tract be chosen again (`auto_choice`).
#[cfg(feature = "tflite")]
#[test]
fn tract_tflite_reader_still_miscomputes_a_tf_converted_mobilenet() {
    let source = ModelSource::open(models().join("mobilenetv2_mini.tflite")).unwrap();
    let prepared = TractBackend::new()
        .prepare(&source, &Options::new())
        .unwrap();
    let input = npy::read(models().join("reference/mobilenetv2_mini_tflite/input.0.npy")).unwrap();
    let out = prepared.session().unwrap().run_tensors(&[&input]).unwrap();
    let expected =
        npy::read(models().join("reference/mobilenetv2_mini_tflite/output.0.npy")).unwrap();
    let err = Tolerance::new(1e-2, 0.0)
        .check(&out[0], &expected)
        .unwrap_err();
    eprintln!("tract on mobilenetv2_mini.tflite: {err}");
    assert!(edgerun_tract::DESCRIPTOR
        .not_automatic_for(ModelFormat::TfLite)
        .is_some());
}

/// Files valid for the TFLite C library that tract 0.23.9's reader panics on (found by the
/// fuzzer, kept in its regressions): refused before tract reads them, naming the tensor and the
/// backends that read them, not reported as a fault inside tract.
#[cfg(feature = "tflite")]
#[test]
fn tflite_files_beyond_tracts_reader_are_refused_before_it_reads_them() {
    let found = models().join("../crates/edgerun-fuzz/regressions/load_run");
    for (file, what) in [
        (
            "tract-quantization-on-f64.tflite",
            "tensor 3 (\"StatefulPartitionedCall_1:0\") of type F64 has quantization parameters",
        ),
        (
            "tract-constant-of-non-numeric-type-1.tflite",
            "tensor 2 (\"functional_3_1/y_1/MatMul\") holds constant data of type STRING",
        ),
    ] {
        let source = ModelSource::open(found.join(file)).unwrap();
        let err = TractBackend::new()
            .prepare(&source, &Options::new())
            .err()
            .unwrap_or_else(|| panic!("{file} must not load on tract"));
        let text = err.to_string();
        assert!(text.contains(what), "{file}: {text}");
        assert!(text.contains("try the tflite or litert backend"), "{text}");
        assert!(!text.contains("fault"), "{text}");
    }
}

/// tract has no bfloat16 type: a model with bf16 tensors, ONNX or TFLite, is a valid model it
/// cannot build (unsupported, so `auto` goes on to ONNX Runtime or LiteRT), not a corrupt file.
#[test]
fn bfloat16_models_are_unsupported_not_corrupt() {
    for (file, what) in [
        ("cast_bf16.onnx", "it has bfloat16 tensors, a type tract does not have"),
        (
            "cast_bf16.tflite",
            "subgraph 0 tensor 0 (\"x\") is BFLOAT16, a type tract's TensorFlow Lite reader does not have",
        ),
    ] {
        let source = ModelSource::open(models().join(file)).unwrap();
        let err = TractBackend::new()
            .prepare(&source, &Options::new())
            .err()
            .unwrap_or_else(|| panic!("{file} must not load on tract"));
        assert_eq!(err.kind(), edgerun_core::ErrorKind::Unsupported, "{file}: {err}");
        assert!(err.to_string().contains(what), "{file}: {err}");
    }
}

/// A thousand mutants of an NNEF archive (the dynamic-batch MLP written by tract): each is
/// refused with an error, or prepares and runs; none crashes the process.
#[test]
fn a_thousand_nnef_archive_mutants_never_crash() {
    let original = mlp_nnef_tar();
    let dir = scratch("nnef-mutants");
    let path = dir.join("mutant.nnef.tar");
    let (mut refused, mut ran) = (0, 0);
    let mut state = 0x22ef;
    for _ in 0..1000 {
        let mut bytes = original.clone();
        for _ in 0..1 + edgerun_testkit::xorshift(&mut state) % 4 {
            let at = (edgerun_testkit::xorshift(&mut state) % bytes.len() as u64) as usize;
            bytes[at] ^= 1 << (edgerun_testkit::xorshift(&mut state) % 8);
        }
        std::fs::write(&path, &bytes).unwrap();
        let outcome = ModelSource::open(&path).and_then(|source| {
            let p = TractBackend::new().prepare(&source, &Options::new())?;
            edgerun_testkit::run_on_zeros(p.as_ref())
        });
        match outcome {
            Ok(()) => ran += 1,
            Err(_) => refused += 1,
        }
    }
    eprintln!("NNEF archive mutants: {refused} refused, {ran} ran");
    assert!(refused > 0 && ran > 0, "{refused} refused, {ran} ran");
}

/// The dynamic-batch MLP as an NNEF archive, in memory.
fn mlp_nnef_tar() -> Vec<u8> {
    let typed = tract_onnx::onnx()
        .model_for_path(models().join("dynamic_mlp.onnx"))
        .unwrap()
        .into_typed()
        .unwrap()
        .into_decluttered()
        .unwrap();
    let mut tar = Vec::new();
    tract_nnef::nnef()
        .with_onnx()
        .write_to_tar(&typed, &mut tar)
        .unwrap();
    tar
}

/// Where each tensor file's header starts in an archive (block-aligned, NNEF's magic).
fn dat_headers(tar: &[u8]) -> Vec<usize> {
    (0..tar.len())
        .step_by(512)
        .filter(|&at| tar[at..].starts_with(&[0x4e, 0xef, 1, 0]))
        .collect()
}

#[test]
fn nnef_tensor_headers_are_checked_against_their_files_and_the_limit() {
    let dir = scratch("nnef-headers");
    let original = mlp_nnef_tar();
    let headers = dat_headers(&original);
    assert!(headers.len() >= 2, "the MLP's weights and biases");
    let load = |bytes: &[u8], name: &str| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        let source = ModelSource::open(&path).unwrap();
        TractBackend::new().prepare(&source, &Options::new()).err()
    };
    assert!(load(&original, "ok.nnef.tar").is_none());

    // a header claiming 4 GB of data in a file of a few hundred bytes
    let mut claims = original.clone();
    claims[headers[0] + 4..headers[0] + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let e = load(&claims, "claims.nnef.tar").expect("refused");
    assert_eq!(e.kind(), edgerun_core::ErrorKind::InvalidModel, "{e}");
    assert!(
        e.to_string()
            .contains("says it holds 4294967280 bytes of data but has"),
        "{e}"
    );

    // dimensions declaring more than the limit
    let mut huge = original.clone();
    for k in 0..2 {
        let at = headers[0] + 12 + 4 * k;
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    }
    let e = load(&huge, "huge.nnef.tar").expect("refused");
    assert!(matches!(e, edgerun_core::Error::TooLarge { .. }), "{e:?}");
    assert!(
        e.to_string().contains("of shape [4294967295,4294967295"),
        "{e}"
    );

    // the same archive gzip'd is checked through the decompressor
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &claims).unwrap();
    let e = load(&gz.finish().unwrap(), "claims.nnef.tgz").expect("refused");
    assert!(
        e.to_string().contains("says it holds 4294967280 bytes"),
        "{e}"
    );
}
