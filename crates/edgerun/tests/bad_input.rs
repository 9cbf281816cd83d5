//! Every kind of bad input gives an `Error` that names the problem; none panics.

use edgerun_testkit as common;

use std::path::PathBuf;

use common::model;
use edgerun::{DType, Error, Runtime, Tensor};

/// A file `name` in a scratch directory of its own, removed with the returned guard.
fn scratch(name: &str) -> (edgerun_testkit::Scratch, PathBuf) {
    let dir = edgerun_testkit::scratch("bad-input");
    let path = dir.join(name);
    (dir, path)
}

fn load_err(path: impl AsRef<std::path::Path>) -> Error {
    match edgerun::load(path) {
        Ok(m) => panic!("{} loaded, expected an error", m.path().display()),
        Err(e) => e,
    }
}

#[test]
fn missing_file() {
    let e = load_err("/nonexistent/model.onnx");
    assert!(
        matches!(&e, Error::ModelNotFound { path } if path == std::path::Path::new("/nonexistent/model.onnx")),
        "{e:?}"
    );
}

#[test]
fn directory_and_empty_file() {
    let (_scratch, dir) = scratch("a_dir");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(matches!(load_err(&dir), Error::NotAModel { .. }));
    let (_scratch, empty) = scratch("empty.onnx");
    std::fs::write(&empty, b"").unwrap();
    let e = load_err(&empty);
    assert!(
        matches!(&e, Error::EmptyModel { path } if *path == empty),
        "{e:?}"
    );
}

#[test]
fn bytes_that_are_no_model() {
    let (_scratch, junk) = scratch("junk.onnx");
    std::fs::write(&junk, b"this is a text file, not a neural network").unwrap();
    let e = load_err(&junk);
    assert!(matches!(e, Error::UnknownFormat { .. }), "{e:?}");
    assert!(e.to_string().contains("ONNX"), "{e}");
}

#[test]
fn truncated_onnx() {
    let bytes = std::fs::read(model("mobilenetv2_mini.onnx")).unwrap();
    for cut in [20, bytes.len() / 10, bytes.len() / 2, bytes.len() - 1] {
        let (_scratch, path) = scratch(&format!("truncated_{cut}.onnx"));
        std::fs::write(&path, &bytes[..cut]).unwrap();
        let e = load_err(&path);
        assert!(
            matches!(&e, Error::InvalidModel { path: p, .. } if *p == path),
            "cut at {cut}: {e:?}"
        );
    }
}

/// Deterministic xorshift, so a failure names a reproducible mutation.
use edgerun_testkit::xorshift;

/// Load (and, when it loads, run) hundreds of bit-flipped copies of a model. Each must give an
/// error or a result; a panic or an abort fails the test. Returns how many were refused.
fn mutate_and_load(rel: &str, rounds: usize, flips: usize, seed: u64) -> usize {
    let original = std::fs::read(model(rel)).unwrap();
    let mut state = seed;
    let mut refused = 0;
    for round in 0..rounds {
        let mut bytes = original.clone();
        for _ in 0..flips {
            let at = (xorshift(&mut state) % bytes.len() as u64) as usize;
            bytes[at] ^= 1 << (xorshift(&mut state) % 8);
        }
        match Runtime::new().load_bytes(&format!("{rel} mutation {round}"), bytes) {
            Err(_) => refused += 1,
            Ok(m) => {
                let inputs: Vec<Tensor> = m
                    .inputs()
                    .iter()
                    .enumerate()
                    .map(|(k, i)| {
                        // a mutant may open a dimension: run it with size 1 there
                        let shape = m.prepared_shape(k).unwrap_or_else(|| {
                            i.shape.iter().map(|d| d.fixed().unwrap_or(1)).collect()
                        });
                        Tensor::zeros(i.dtype, shape).unwrap()
                    })
                    .collect();
                if m.session().and_then(|mut s| s.run(&inputs)).is_err() {
                    refused += 1;
                }
            }
        }
    }
    refused
}

#[test]
fn bit_flipped_onnx_never_crashes() {
    // the small MLP: every part of the file (structure, names, weights) gets hit
    let refused = mutate_and_load("dynamic_mlp.onnx", 300, 1, 0x5eed);
    assert!(refused > 0, "some single-bit flips must break the model");
    // and many still load and run: the run path sees mutants too
    assert!(refused < 300, "every mutant refused: none reached a run");
    // the CNN: flips land mostly in weights (still a valid model) and sometimes in structure
    let refused = mutate_and_load("mobilenetv2_mini.onnx", 40, 8, 0xc0ffee);
    assert!(refused < 40, "every mutant refused: none reached a run");
}

#[test]
fn unsupported_onnx_op_names_op_and_node() {
    // chosen by name: tract's own typed error
    let e = Runtime::new()
        .with_backend("tract")
        .load(model("unsupported_op.onnx"))
        .unwrap_err();
    match &e {
        Error::UnsupportedOp {
            backend, op, node, ..
        } => {
            assert_eq!(backend, "tract");
            assert_eq!(op, "EdgerunMysteryOp");
            assert_eq!(node, "mystery_node");
        }
        other => panic!("expected UnsupportedOp, got {other:?}"),
    }
    // chosen automatically: every candidate with its reason, the op and node among them,
    // and what else could read the model were it installed
    let e = Runtime::new()
        .with_cache(edgerun::CacheSetting::Off)
        .register(Box::new(
            edgerun::ort::OrtBackend::new().with_library("/nonexistent/libonnxruntime.so"),
        ))
        .load(model("unsupported_op.onnx"))
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::NoBackend { .. }), "{e:?}");
    for want in [
        "EdgerunMysteryOp",
        "mystery_node",
        "tract: failed",
        "ort: skipped",
        "/nonexistent/libonnxruntime.so",
    ] {
        assert!(text.contains(want), "{want:?} missing: {text}");
    }
}

#[test]
fn tflite_op_outside_tracts_subset_is_named() {
    // BlazeFace keeps fp16 weights behind DEQUANTIZE, which tract's TFLite reader lacks
    let e = Runtime::new()
        .with_backend("tract")
        .load(model("fetched/face_detection_front.tflite"))
        .unwrap_err();
    match &e {
        Error::UnsupportedOp { op, node, .. } => {
            assert_eq!(op, "DEQUANTIZE");
            assert!(node.contains("tensor #"), "{node}");
        }
        other => panic!("expected UnsupportedOp, got {other:?}"),
    }
}

fn mobilenet() -> edgerun::Model {
    edgerun::load(model("mobilenetv2_mini.onnx")).unwrap()
}

#[test]
fn wrong_number_of_inputs() {
    let m = mobilenet();
    let x = Tensor::zeros(DType::F32, vec![1, 3, 224, 224]).unwrap();
    let e = m.session().unwrap().run::<Tensor>(&[]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InputCount {
                expected: 1,
                found: 0,
                ..
            }
        ),
        "{e:?}"
    );
    let e = m.session().unwrap().run(&[x.clone(), x]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InputCount {
                expected: 1,
                found: 2,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        matches!(&e, Error::InputCount { names, .. } if names.contains("\"input\"")),
        "{e:?}"
    );
}

#[test]
fn unknown_input_name() {
    let x = Tensor::zeros(DType::F32, vec![1, 3, 224, 224]).unwrap();
    let e = mobilenet()
        .session()
        .unwrap()
        .run_named(&[("image", &x)])
        .unwrap_err();
    assert!(
        matches!(&e, Error::UnknownInput { name, known } if name == "image" && known.contains("\"input\"")),
        "{e:?}"
    );
}

#[test]
fn wrong_dtype() {
    let x = Tensor::zeros(DType::U8, vec![1, 3, 224, 224]).unwrap();
    let e = mobilenet().session().unwrap().run(&[x]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InputDType {
                expected: DType::F32,
                found: DType::U8,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn wrong_shape() {
    let x = Tensor::zeros(DType::F32, vec![1, 224, 224, 3]).unwrap();
    let e = mobilenet().session().unwrap().run(&[x]).unwrap_err();
    assert!(
        matches!(&e, Error::InputShape { name, expected, found }
            if name == "input" && expected == "1,3,224,224" && found == "1,224,224,3"),
        "{e}"
    );
}

#[test]
fn dynamic_dimensions_take_only_shapes_that_fit() {
    // no shape at load: the batch is bound by each run, the feature size stays fixed
    let m = edgerun::load(model("dynamic_mlp.onnx")).unwrap();
    assert_eq!(m.prepared_shape(0), None);
    let mut s = m.session().unwrap();
    let e = s
        .run(&[Tensor::zeros(DType::F32, vec![3, 15]).unwrap()])
        .unwrap_err();
    assert!(
        matches!(&e, Error::InputShape { expected, found, .. } if expected == "N,16" && found == "3,15"),
        "{e}"
    );
    let e = s
        .run(&[Tensor::zeros(DType::F32, vec![48]).unwrap()])
        .unwrap_err();
    assert!(matches!(e, Error::InputShape { .. }), "{e:?}");
    // and the session still runs a shape that fits afterwards
    let out = s
        .run(&[Tensor::zeros(DType::F32, vec![5, 16]).unwrap()])
        .unwrap();
    assert_eq!(out[0].shape(), &[5, 4]);
}

#[test]
fn shape_options_that_do_not_fit() {
    let rt = Runtime::new().with_input_shape("y", vec![1, 16]);
    let e = rt.load(model("dynamic_mlp.onnx")).unwrap_err();
    assert!(matches!(e, Error::UnknownShapeOption { .. }), "{e:?}");
    let e = Runtime::new()
        .with_input_shape("x", vec![2, 15])
        .load(model("dynamic_mlp.onnx"))
        .unwrap_err();
    assert!(matches!(e, Error::InputShapeOption { .. }), "{e:?}");
}

#[test]
fn unknown_backend_name() {
    let e = Runtime::new()
        .with_backend("gpu")
        .load(model("mobilenetv2_mini.onnx"))
        .unwrap_err();
    assert!(
        e.to_string().contains(&format!(
            "known: auto, first, {}",
            edgerun::BACKENDS
                .iter()
                .map(|b| b.0)
                .collect::<Vec<_>>()
                .join(", ")
        )),
        "{e}"
    );
}

#[test]
fn tflite_input_mistakes() {
    let rt = || {
        let b = edgerun::tflite::TfLiteBackend::new().with_library(common::tflite_lib());
        Runtime::new().register(Box::new(b)).with_backend("tflite")
    };
    let m = rt().load(model("mobilenetv2_mini_int8.tflite")).unwrap();
    let mut s = m.session().unwrap();
    // an int8 model fed float data: the error says to quantize
    let f = Tensor::zeros(DType::F32, vec![1, 224, 224, 3]).unwrap();
    let e = s.run(&[f]).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InputDType {
                expected: DType::I8,
                found: DType::F32,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("quantize"), "{e}");
    let wrong = Tensor::zeros(DType::I8, vec![1, 3, 224, 224]).unwrap();
    assert!(matches!(
        s.run(&[wrong]).unwrap_err(),
        Error::InputShape { .. }
    ));
    // quantizing with the input's own parameters is the fix
    let info = &m.inputs()[0];
    let q = Tensor::zeros(DType::F32, vec![1, 224, 224, 3])
        .unwrap()
        .quantize(DType::I8, info.quant.unwrap())
        .unwrap();
    assert_eq!(s.run(&[q]).unwrap()[0].shape(), &[1, 100]);

    // a dynamic batch loads with the model's default; a feature size that differs is refused
    let m = rt().load(model("dynamic_batch.tflite")).unwrap();
    let e = m
        .session()
        .unwrap()
        .run(&[Tensor::zeros(DType::F32, vec![2, 15]).unwrap()])
        .unwrap_err();
    assert!(matches!(e, Error::InputShape { .. }), "{e:?}");
}

/// A runtime of every backend that reads the model's format, with the test libraries, asked
/// for `backend` (a name, or `auto`).
fn every_backend(backend: &str) -> Runtime {
    let mut rt = Runtime::new()
        .register(Box::new(
            edgerun::ort::OrtBackend::new().with_library(common::ort_lib()),
        ))
        .register(Box::new(
            edgerun::litert::LiteRtBackend::new().with_library(common::litert_lib()),
        ));
    // the TensorFlow Lite test library exists for x86_64 only
    if cfg!(target_arch = "x86_64") {
        rt = rt.register(Box::new(
            edgerun::tflite::TfLiteBackend::new().with_library(common::tflite_lib()),
        ));
    }
    rt.with_backend(backend)
}

fn assert_too_large(e: &Error, size: &str) {
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    assert_eq!(e.kind(), edgerun::ErrorKind::InvalidRequest);
    let text = e.to_string();
    let limit = edgerun::limits::human_bytes(edgerun::limits::max_tensor_bytes().into());
    assert!(
        text.contains(&format!(
            "needs {size}, more than the limit of {limit} per tensor"
        )),
        "{text}"
    );
}

#[test]
fn huge_shapes_are_refused_before_anything_is_allocated() {
    // a valid ONNX model whose fixed input needs 6.4 TB: every backend, and auto, refuse it
    // with the one error (auto measures on seeded inputs of that shape)
    for backend in ["tract", "ort", "auto"] {
        let e = every_backend(backend)
            .load(model("huge_input.onnx"))
            .unwrap_err();
        assert_too_large(&e, "6.4 TB");
        assert!(
            e.to_string()
                .starts_with("input \"x\" of shape [100000000000,16] (f32) needs 6.4 TB"),
            "{backend}: {e}"
        );
    }
    // the same shape given for a dynamic batch
    for backend in ["tract", "ort"] {
        let e = every_backend(backend)
            .with_input_shape("x", vec![100_000_000_000, 16])
            .load(model("dynamic_mlp.onnx"))
            .unwrap_err();
        assert_too_large(&e, "6.4 TB");
    }
    let e = every_backend("litert")
        .with_input_shape("serving_default_x:0", vec![3_000_000_000, 16])
        .load(model("dynamic_batch.tflite"))
        .unwrap_err();
    assert_too_large(&e, "192.0 GB");

    // a TFLite file declaring a tensor of 2147483647 x 2147483647 floats (the custom-op
    // fixture with both tensors' shapes [1,8] rewritten)
    let mut bytes = std::fs::read(model("custom_op.tflite")).unwrap();
    let small: Vec<u8> = [2i32, 1, 8].iter().flat_map(|v| v.to_le_bytes()).collect();
    let huge: Vec<u8> = [2i32, i32::MAX, i32::MAX]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let mut patched = 0;
    while let Some(at) = bytes.windows(12).position(|w| w == small) {
        bytes[at..at + 12].copy_from_slice(&huge);
        patched += 1;
    }
    assert_eq!(patched, 2, "both tensors' shapes");
    let (_scratch, path) = scratch("huge_tensor.tflite");
    std::fs::write(&path, &bytes).unwrap();
    let tflite_backends: &[&str] = if cfg!(target_arch = "x86_64") {
        &["tflite", "litert"]
    } else {
        &["litert"]
    };
    for &backend in tflite_backends {
        let e = every_backend(backend).load(&path).unwrap_err();
        assert_too_large(&e, "18.4 EB");
    }

    // tensors made through the API
    let e = Tensor::zeros(DType::F32, vec![100_000_000_000, 16]).unwrap_err();
    assert_too_large(&e, "6.4 TB");
    let mut t = Tensor::zeros(DType::F32, vec![2]).unwrap();
    let e = t
        .reuse_as(DType::F64, &[usize::MAX, usize::MAX])
        .unwrap_err();
    assert!(e.to_string().contains("needs more than 2^128 bytes"), "{e}");
    assert_eq!(
        t.shape(),
        [2],
        "a refused reuse leaves the tensor as it was"
    );
    let e = edgerun::fill::random(
        &edgerun::TensorInfo {
            name: "x".into(),
            dtype: DType::U8,
            shape: vec![edgerun::Dim::Fixed(1)],
            quant: None,
        },
        &[1 << 40, 1 << 30],
        0,
    )
    .unwrap_err();
    assert_too_large(&e, "1.2 ZB");
}

#[test]
fn npy_headers_and_files_that_claim_too_much() {
    // a header that claims 6.4 TB over 16 bytes of data
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000, 16), }";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    let padded = format!("{header:<117}\n");
    npy.extend_from_slice(&(padded.len() as u16).to_le_bytes());
    npy.extend_from_slice(padded.as_bytes());
    npy.extend_from_slice(&[0u8; 16]);
    let (_scratch, path) = scratch("claims_terabytes.npy");
    std::fs::write(&path, &npy).unwrap();
    let e = edgerun::npy::read(&path).unwrap_err();
    assert!(matches!(e, Error::Npy { .. }), "{e:?}");
    assert!(e.to_string().contains("claims_terabytes.npy"), "{e}");

    // /dev/zero would never end: refused for what it is, before it is read
    let e = edgerun::npy::read("/dev/zero").unwrap_err();
    assert_eq!(
        e.to_string(),
        "input file \"/dev/zero\" is a character device, not a regular file; pass the path of a file"
    );
    let e = edgerun::npy::read("/nonexistent/x.npy").unwrap_err();
    assert!(matches!(e, Error::FileNotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("not found"), "{e}");
}

#[test]
fn model_paths_that_are_not_files_say_what_they_are() {
    let e = load_err("/dev/zero");
    assert!(matches!(e, Error::NotAFile { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "model file \"/dev/zero\" is a character device, not a regular file; pass the path of a file"
    );
    let (_scratch, fifo) = scratch("model.fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    // a FIFO is not opened (that would block until a writer came)
    let e = load_err(&fifo);
    assert!(
        e.to_string()
            .contains("is a FIFO (named pipe), not a regular file"),
        "{e}"
    );
    std::fs::remove_file(&fifo).unwrap();
}
