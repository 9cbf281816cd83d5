//! Containment: an engine that crashes on a model crashes the helper process, and edgerun
//! reports it as an error. The models are ones edgerun's TensorFlow Lite check refuses; the
//! backends' `*_model_check=reader` setting lets them through to the engine, as a check that
//! missed a rule would.

use std::ffi::OsString;
use std::time::Duration;

use edgerun::{Error, ErrorKind, Isolation, Runtime};

use super::*;

/// A signature whose output is its subgraph's input: LiteRT's C API lets a C++ exception
/// escape, and the process aborts (found by the load_run fuzzer).
fn litert_aborts_on() -> std::path::PathBuf {
    kit::model(
        "../crates/edgerun-fuzz/regressions/load_run/litert-signature-output-is-the-input.tflite",
    )
}

/// The helper started as the tests start edgerun: under the test runner when emulated.
fn launcher() -> Option<Vec<OsString>> {
    std::env::var("EDGERUN_TEST_RUNNER")
        .ok()
        .filter(|r| !r.trim().is_empty())
        .map(|r| r.split_whitespace().map(OsString::from).collect())
}

fn edgerun_contained(args: &[&str], cache: &std::path::Path, helper: &str) -> Output {
    let mut c = kit::command(env!("CARGO_BIN_EXE_edgerun"));
    if let Some(l) = launcher() {
        c.env(
            "EDGERUN_PROBE_LAUNCHER",
            l.join(OsString::from(" ").as_os_str()),
        );
    }
    c.args(args)
        .arg(format!("--decision_cache={}", cache.display()))
        .env("EDGERUN_PROBE", helper)
        .output()
        .expect("edgerun starts")
}

#[test]
fn an_engine_that_aborts_is_an_error_and_the_verdict_is_cached() {
    let dir = scratch("contain-abort");
    let cache = dir.join("decisions.json");
    let graph = litert_aborts_on();
    let lib = format!("--litert_lib={}", kit::litert_lib().display());
    let args = [
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--backend=litert",
        &lib,
        "--litert_model_check=reader",
    ];
    let line = assert_one_line_error(&edgerun_contained(
        &args,
        &cache,
        env!("CARGO_BIN_EXE_edgerun"),
    ));
    assert!(
        line.contains("error: litert: the engine was killed by SIGABRT")
            && line.contains("while loading the model")
            && line.contains("in a helper process"),
        "{line}"
    );
    // the second start reads the verdict from the cache: no helper is needed
    let again = assert_one_line_error(&edgerun_contained(&args, &cache, "/no/such/helper"));
    assert_eq!(again, line);
    // what the helper spared: without containment the engine takes edgerun down
    let out = edgerun_contained(
        &[&args[..], &["--isolation=off", "--decision_cache=off"]].concat(),
        &cache,
        env!("CARGO_BIN_EXE_edgerun"),
    );
    assert!(
        out.status.code().is_none_or(|c| c != 0 && c != 1),
        "the engine did not crash: {:?} {}",
        out.status,
        text(&out.stderr)
    );
}

#[test]
fn the_runtime_option_contains_a_crash_and_notes_a_missing_helper() {
    let probe = |helper: &str| Isolation::Probe {
        helper: Some(helper.into()),
        launcher: launcher(),
        timeout: Duration::from_secs(120),
    };
    let rt = |helper: &str| {
        Runtime::new()
            .configure("litert_lib", kit::litert_lib().to_str().unwrap())
            .unwrap()
            .configure("litert_model_check", "reader")
            .unwrap()
            .with_cache(edgerun::CacheSetting::Off)
            .with_isolation(probe(helper))
    };
    let e = rt(env!("CARGO_BIN_EXE_edgerun"))
        .with_backend("litert")
        .load(litert_aborts_on())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Backend);
    match &e {
        Error::EngineCrashed { backend, what, .. } => {
            assert_eq!(backend, "litert");
            assert!(what.starts_with("was killed by SIGABRT"), "{what}");
        }
        other => panic!("{other:?}"),
    }
    // a model that runs: loaded as without isolation, nothing to note
    let m = rt(env!("CARGO_BIN_EXE_edgerun"))
        .with_backend("tract")
        .load(models().join("mobilenetv2_mini.onnx"))
        .unwrap();
    assert!(m.decision().notes.is_empty(), "{:?}", m.decision().notes);
    // no helper: isolation is reported unavailable, and the model loads in this process
    let m = rt("/no/such/helper")
        .with_backend("tract")
        .load(models().join("mobilenetv2_mini.onnx"))
        .unwrap();
    assert!(
        m.decision()
            .notes
            .iter()
            .any(|n| n.starts_with("isolation: unavailable") && n.contains("/no/such/helper")),
        "{:?}",
        m.decision().notes
    );
}

/// TensorFlow Lite 2.6 divides by a zero stride when a depthwise convolution carries another
/// operator's options (an x86_64 library: natively only). Under `auto`, the crash is one
/// candidate's failure among the others' reasons.
#[test]
fn tflite_dividing_by_zero_is_one_candidates_failure_under_auto() {
    let dir = scratch("contain-fpe");
    let model = std::fs::read(models().join("mobilenetv2_mini_int8.tflite")).unwrap();
    let damaged = dir.join("depthwise_with_skipgram_options.tflite");
    std::fs::write(&damaged, kit::tflite_with_operator_byte(&model, 4, 3, 18)).unwrap();
    let out = edgerun_contained(
        &[
            "run",
            "--graph",
            damaged.to_str().unwrap(),
            &lib_arg(),
            &format!("--litert_lib={}", kit::litert_lib().display()),
            "--tflite_model_check=reader",
            "--litert_model_check=reader",
        ],
        &dir.join("decisions.json"),
        env!("CARGO_BIN_EXE_edgerun"),
    );
    let line = assert_one_line_error(&out);
    assert!(
        line.contains("tflite: failed: tflite: the engine was killed by SIGFPE")
            && line.contains("while running the model for the first time")
            && line.contains("litert: failed"),
        "{line}"
    );
}
