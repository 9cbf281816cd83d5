//! On Arm (run under qemu by cross/test-arm), where no TensorFlow Lite library is installed:
//! the loader says so clearly, and refuses the x86_64 test library by its architecture.
#![cfg(any(target_arch = "aarch64", target_arch = "arm"))]

use edgerun_core::{Availability, Backend, Error};
use edgerun_testkit as kit;
use edgerun_tflite::TfLiteBackend;

#[test]
fn no_library_on_the_device_is_reported_with_the_places_searched() {
    // SAFETY of the environment change: this test binary runs this one test that reads it
    std::env::remove_var(edgerun_tflite::ENV_VAR);
    let b = TfLiteBackend::new();
    let err = b.library().unwrap_err();
    assert!(matches!(err, Error::LibraryNotFound { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("libtensorflowlite_c.so on the loader path")
            && text.contains("EDGERUN_TFLITE_LIB"),
        "{text}"
    );
    assert!(matches!(b.availability(), Availability::Unavailable { .. }));
}

#[test]
fn the_x86_64_test_library_is_refused_by_its_architecture() {
    let err = TfLiteBackend::new()
        .with_library(kit::tflite_lib())
        .library()
        .unwrap_err();
    assert!(matches!(err, Error::LibraryLoad { .. }), "{err:?}");
    assert!(err.to_string().contains("built for x86_64"), "{err}");
}
