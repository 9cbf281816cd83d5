//! Finding and loading the TFLite C library: each way it can go wrong has its own error.

use edgerun_core::{Availability, Backend, Error};
use edgerun_testkit as kit;
use edgerun_tflite::TfLiteBackend;

#[test]
fn loads_the_test_library_and_reports_its_version() {
    let b = TfLiteBackend::new().with_library(kit::tflite_lib());
    let (path, version) = b.library().unwrap();
    assert_eq!(path, kit::tflite_lib());
    assert_eq!(version, "2.6.0");
    match b.availability() {
        Availability::Available { detail } => {
            assert!(
                detail.contains("2.6.0") && detail.contains("libtensorflowlite_c.so"),
                "{detail}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_file() {
    let err = TfLiteBackend::new()
        .with_library("/nonexistent/libtensorflowlite_c.so")
        .library()
        .unwrap_err();
    assert!(matches!(err, Error::LibraryLoad { .. }), "{err:?}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn a_library_for_another_architecture() {
    // the real library with its ELF machine changed to aarch64 (183), as an aarch64 build is
    let mut bytes = std::fs::read(kit::tflite_lib()).unwrap();
    bytes[18..20].copy_from_slice(&183u16.to_le_bytes());
    let dir = kit::scratch("arch");
    let path = dir.join("libtensorflowlite_c.so");
    std::fs::write(&path, bytes).unwrap();
    let err = TfLiteBackend::new()
        .with_library(&path)
        .library()
        .unwrap_err();
    assert!(matches!(err, Error::LibraryLoad { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("built for aarch64") && text.contains("x86_64"),
        "{text}"
    );
}

#[test]
fn a_file_that_is_no_library() {
    let err = TfLiteBackend::new()
        .with_library(kit::model("mobilenetv2_mini.tflite"))
        .library()
        .unwrap_err();
    assert!(err.to_string().contains("no ELF header"), "{err}");
}

#[test]
fn a_shared_library_that_is_not_tflite() {
    // a real shared library of the right architecture, without the TFLite C API
    let err = TfLiteBackend::new()
        .with_library(kit::test_delegate())
        .library()
        .unwrap_err();
    match &err {
        Error::MissingSymbol { symbol, .. } => assert_eq!(symbol, "TfLiteVersion"),
        other => panic!("expected MissingSymbol, got {other:?}"),
    }
    assert!(
        err.to_string().contains("lacks the function TfLiteVersion"),
        "{err}"
    );
}

#[test]
fn every_required_symbol_is_in_tflite_2_6() {
    // the list edgerun checks is the list it calls; 2.6 must have them all
    let b = TfLiteBackend::new().with_library(kit::tflite_lib());
    assert!(b.library().is_ok());
    // looked up one by one in the library itself, not only through the backend's own check
    // SAFETY: loading the TFLite test library runs its initialisers, as the backend does
    let lib = unsafe { libloading::Library::new(kit::tflite_lib()) }.unwrap();
    for name in edgerun_tflite::REQUIRED_SYMBOLS {
        // SAFETY: only the symbol's address is looked up; nothing is called
        let found = unsafe { lib.get::<*const ()>(name.as_bytes()) };
        assert!(found.is_ok(), "{name} is missing from TFLite 2.6");
    }
    // and a name that is not there is not found (the lookup can fail)
    // SAFETY: as above
    assert!(unsafe { lib.get::<*const ()>(b"TfLiteNoSuchFunction") }.is_err());
}
