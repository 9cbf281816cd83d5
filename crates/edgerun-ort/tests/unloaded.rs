//! Libraries that cannot be loaded, in a process that has not loaded ONNX Runtime (a process
//! that has refuses every other path before opening it, and uses its library for every
//! backend without a path): nothing found, and a release too old.

use edgerun_core::Error;
use edgerun_ort::OrtBackend;
use edgerun_testkit as kit;

#[test]
fn nothing_found_lists_the_places_searched() {
    for var in ["EDGERUN_ORT_LIB", "ORT_DYLIB_PATH"] {
        assert!(
            std::env::var_os(var).is_none(),
            "{var} is set: this test checks discovery without it"
        );
    }
    let e = OrtBackend::new().library().unwrap_err();
    let Error::LibraryNotFound { searched, .. } = &e else {
        panic!("expected LibraryNotFound, got {e:?}");
    };
    for place in [
        "EDGERUN_ORT_LIB (unset)",
        "ORT_DYLIB_PATH (unset)",
        "libonnxruntime.so on the loader path",
        "libonnxruntime.so.1 on the loader path",
    ] {
        assert!(searched.contains(place), "{place} missing from: {e}");
    }
    assert!(e.to_string().contains("EDGERUN_ORT_LIB"), "{e}");
}

#[test]
fn a_release_older_than_supported_is_refused_with_both_versions() {
    let e = OrtBackend::new()
        .with_library(kit::old_ort_library())
        .library()
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::LibraryLoad { .. }), "{e:?}");
    assert!(text.contains("ONNX Runtime 1.10.0"), "{text}");
    assert!(text.contains("1.17 or newer"), "{text}");
}
