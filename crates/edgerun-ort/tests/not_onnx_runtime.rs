//! A library that is not ONNX Runtime, given as the backend's library, in a process of its own:
//! once a process holds ONNX Runtime, any other library path is refused before it is opened
//! (one process can hold one ONNX Runtime), so the tests in `bad_input.rs` that load ONNX
//! Runtime would decide the answer by the order they run in.

use edgerun_core::Error;
use edgerun_ort::OrtBackend;
use edgerun_testkit as kit;

#[test]
fn a_library_that_is_not_onnx_runtime_names_the_missing_function() {
    let e = OrtBackend::new()
        .with_library(kit::system_math_library())
        .library()
        .unwrap_err();
    match &e {
        Error::MissingSymbol { symbol, .. } => assert_eq!(symbol, "OrtGetApiBase"),
        other => panic!("expected MissingSymbol, got {other:?}"),
    }
}
