//! Bad input to the ONNX Runtime backend: each a clear error, never a panic or a crash.

use edgerun_core::{Backend, Error, ModelSource, Options, Tensor};
use edgerun_ort::OrtBackend;
use edgerun_testkit as kit;

fn backend() -> OrtBackend {
    OrtBackend::new().with_library(kit::ort_lib())
}

#[test]
fn a_missing_library_says_where_it_looked() {
    let e = OrtBackend::new()
        .with_library("/nonexistent/libonnxruntime.so")
        .library()
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("/nonexistent/libonnxruntime.so"), "{text}");
    assert!(text.contains("does not exist"), "{text}");
}

#[test]
fn a_library_for_another_architecture_is_refused_before_loading() {
    let other = if cfg!(target_arch = "x86_64") {
        "aarch64"
    } else {
        "x86_64"
    };
    let e = OrtBackend::new()
        .with_library(kit::ort_lib_for(other))
        .library()
        .unwrap_err();
    assert!(e.to_string().contains(&format!("built for {other}")), "{e}");
}

#[test]
fn an_unknown_op_is_named_with_its_node() {
    let source = ModelSource::open(kit::model("unsupported_op.onnx")).unwrap();
    let e = backend().prepare(&source, &Options::new()).err().unwrap();
    match &e {
        Error::UnsupportedOp {
            backend,
            op,
            node,
            source,
            ..
        } => {
            assert_eq!(backend, "ort");
            assert!(op.contains("EdgerunMysteryOp"), "{e}");
            assert_eq!(node, "mystery_node", "{e}");
            // ONNX Runtime's own error is kept, with its status code
            let source = source.as_ref().expect("the engine's error");
            assert_eq!(source.engine, "ONNX Runtime");
            assert!(source.code.is_some(), "{source:?}");
            assert!(source.message.contains("EdgerunMysteryOp"), "{source:?}");
            assert!(std::error::Error::source(&e).is_some());
        }
        other => panic!("expected UnsupportedOp, got {other:?}"),
    }
}

#[test]
fn truncated_and_bit_flipped_models_never_crash() {
    let b = backend();
    let bytes = std::fs::read(kit::model("mobilenetv2_mini.onnx")).unwrap();
    for keep in [0, 7, 64, 1000, bytes.len() / 2, bytes.len() - 1] {
        let Ok(source) = ModelSource::from_bytes("truncated.onnx", bytes[..keep].to_vec()) else {
            continue;
        };
        let e = b.prepare(&source, &Options::new()).err();
        assert!(e.is_some(), "{keep} bytes loaded");
    }
    // flips anywhere in the graph's structure (the first 4 KiB hold no weights): each loads
    // and runs, or is refused with an error
    let input = Tensor::zeros(edgerun_core::DType::F32, vec![1, 3, 224, 224]).unwrap();
    let mut state = 0x9e37_79b9_u64;
    let (mut refused, mut ran) = (0, 0);
    for _ in 0..200 {
        let mut m = bytes.clone();
        let r = kit::xorshift(&mut state) as usize;
        m[r % 4096] ^= 1 << (r % 8);
        let Ok(source) = ModelSource::from_bytes("flipped.onnx", m) else {
            refused += 1;
            continue;
        };
        match b.prepare(&source, &Options::new()) {
            Err(_) => refused += 1,
            Ok(p) => {
                let mut s = p.session().unwrap();
                let _ = s.run_tensors(&[&input]);
                ran += 1;
            }
        }
    }
    eprintln!("bit flips: {refused} refused, {ran} loaded and ran");
    assert!(refused > 0 && ran > 0, "{refused} refused, {ran} ran");
}

#[test]
fn one_process_holds_one_library() {
    // loaded from one path, a second path is refused, naming the first
    let kit_lib = edgerun_testkit::ort_lib();
    OrtBackend::new().with_library(&kit_lib).library().unwrap();
    let copy = std::env::temp_dir().join(format!("edgerun-ort-copy-{}.so", std::process::id()));
    std::fs::copy(&kit_lib, &copy).unwrap();
    let e = OrtBackend::new().with_library(&copy).library().unwrap_err();
    std::fs::remove_file(&copy).ok();
    assert!(e.to_string().contains("one ONNX Runtime library"), "{e}");
    // a backend without a path uses the one loaded
    assert_eq!(OrtBackend::new().library().unwrap(), kit_lib);
}

#[test]
fn a_provider_this_build_lacks_fails_or_is_noted() {
    let source = ModelSource::open(kit::model("dynamic_mlp.onnx")).unwrap();
    let wanted = edgerun_ort::parse_providers("EdgerunNoSuchProvider:opt=1").unwrap();
    let e = backend()
        .with_providers(wanted.clone(), false)
        .prepare(&source, &Options::new())
        .err()
        .unwrap();
    let text = e.to_string();
    assert!(matches!(e, Error::Delegate { .. }), "{e:?}");
    assert!(text.contains("EdgerunNoSuchProvider"), "{text}");
    // the providers the build has are listed (every build has the CPU one)
    assert!(text.contains("CPUExecutionProvider"), "{text}");
    assert!(text.contains("ort_provider_fallback"), "{text}");
    // allowed to fall back: it loads, runs, and says what it left out
    let p = backend()
        .with_providers(wanted, true)
        .prepare(&source, &Options::new())
        .unwrap();
    let notes = p.notes().join("\n");
    assert!(
        notes.contains("execution provider EdgerunNoSuchProvider left out"),
        "{notes}"
    );
    let x = Tensor::zeros(edgerun_core::DType::F32, vec![2, 16]).unwrap();
    assert_eq!(
        p.session().unwrap().run_tensors(&[&x]).unwrap()[0].shape(),
        &[2, 4]
    );
}
