//! External delegates, with the test plugin (examples/test_delegate.rs): options arrive in
//! order, nodes really run in the delegate, every delegate is destroyed once, and each way a
//! plugin can fail has its own error.

use std::path::Path;
use std::sync::Mutex;

use edgerun_core::{Backend, Error, ModelSource, Options, Tolerance};
use edgerun_testkit as kit;
use edgerun_tflite::TfLiteBackend;

mod plugin_probe;
use plugin_probe::Probe;

/// The plugin's counters are process-wide: tests that read them run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn opts(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn backend(plugin: &Path, options: Vec<(String, String)>) -> TfLiteBackend {
    TfLiteBackend::new()
        .with_library(kit::tflite_lib())
        .with_xnnpack(false)
        .with_external_delegate(plugin, options)
}

fn mobilenet() -> ModelSource {
    ModelSource::open(kit::model("mobilenetv2_mini.tflite")).unwrap()
}

#[test]
fn delegate_runs_the_add_nodes_and_outputs_stay_correct() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let probe = Probe::new();
    let before = probe.stats();
    let case = kit::case("mobilenetv2_mini_tflite");
    {
        let b = backend(
            &kit::test_delegate(),
            opts(&[("num_threads", "3"), ("claim", "add")]),
        );
        let prepared = b.prepare(&mobilenet(), &Options::new()).unwrap();
        let mut session = prepared.session().unwrap();
        let inputs: Vec<&edgerun_core::Tensor> = case.inputs.iter().collect();
        for _ in 0..2 {
            let out = session.run_tensors(&inputs).unwrap();
            // the delegate computes the residual ADDs itself: the result must still match LiteRT
            Tolerance::new(1e-4, 1e-3)
                .check(&out[0], &case.outputs[0])
                .unwrap();
        }
        let during = probe.stats();
        // MobileNetV2-mini has 6 residual ADDs; in the 16-channel stage the second ADD takes
        // the first one's output, and the plugin claims only ADDs that do not feed each other
        // (one ADD per partition): 5 claimed, and each run executes each of them once
        assert_eq!(during.claimed_nodes - before.claimed_nodes, 5, "{during:?}");
        assert_eq!(
            during.invoked_nodes - before.invoked_nodes,
            10,
            "{during:?}"
        );
        assert_eq!(
            during.num_threads, 3,
            "the num_threads option reached the plugin"
        );
        assert_eq!(probe.keys(), "num_threads,claim");
        assert_eq!(
            during.created - during.destroyed,
            before.created - before.destroyed + 1,
            "one live delegate"
        );
    }
    let after = probe.stats();
    assert_eq!(after.created - before.created, 1);
    assert_eq!(
        after.destroyed - before.destroyed,
        1,
        "destroyed once, when the last user went away"
    );
}

#[test]
fn options_reach_the_plugin_in_the_given_order() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let probe = Probe::new();
    let b = backend(
        &kit::test_delegate(),
        edgerun_tflite::parse_delegate_options("claim:none;num_threads:7").unwrap(),
    );
    let before = probe.stats();
    let prepared = b.prepare(&mobilenet(), &Options::new()).unwrap();
    assert_eq!(probe.keys(), "claim,num_threads");
    assert_eq!(probe.stats().num_threads, 7);
    assert_eq!(
        probe.stats().claimed_nodes,
        before.claimed_nodes,
        "claim:none claims nothing"
    );
    drop(prepared);
}

#[test]
fn a_plugin_that_returns_null_names_itself_and_its_reason() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let plugin = kit::test_delegate();
    let err = backend(&plugin, opts(&[("fail", "true")]))
        .prepare(&mobilenet(), &Options::new())
        .err()
        .unwrap();
    match &err {
        Error::Delegate { path, reason } => {
            assert_eq!(path, &plugin);
            assert!(
                reason.contains("returned NULL") && reason.contains("asked to fail"),
                "{reason}"
            );
        }
        other => panic!("expected a delegate error, got {other:?}"),
    }
    let err = backend(&plugin, opts(&[("frobnicate", "1")]))
        .prepare(&mobilenet(), &Options::new())
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("unknown option frobnicate"),
        "{err}"
    );
}

#[test]
fn a_library_without_the_plugin_symbols() {
    // the TFLite library is a real shared library, but no delegate plugin
    let not_a_plugin = kit::tflite_lib();
    let err = backend(&not_a_plugin, vec![])
        .prepare(&mobilenet(), &Options::new())
        .err()
        .unwrap();
    assert!(matches!(err, Error::Delegate { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("lacks tflite_plugin_create_delegate"),
        "{err}"
    );
}

#[test]
fn a_wrong_plugin_path() {
    let err = backend(Path::new("/nonexistent/libdelegate.so"), vec![])
        .prepare(&mobilenet(), &Options::new())
        .err()
        .unwrap();
    assert!(matches!(err, Error::Delegate { .. }), "{err:?}");
    assert!(
        err.to_string().contains("/nonexistent/libdelegate.so"),
        "{err}"
    );
}

#[test]
fn fallback_runs_on_the_cpu_and_says_so() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let b = backend(&kit::test_delegate(), opts(&[("fail", "true")])).with_delegate_fallback(true);
    let prepared = b.prepare(&mobilenet(), &Options::new()).unwrap();
    let notes = prepared.notes().join("; ");
    assert!(
        notes.contains("external delegate not used") && notes.contains("asked to fail"),
        "{notes}"
    );
    let case = kit::case("mobilenetv2_mini_tflite");
    let out = prepared
        .session()
        .unwrap()
        .run_tensors(&[&case.inputs[0]])
        .unwrap();
    Tolerance::new(1e-4, 1e-3)
        .check(&out[0], &case.outputs[0])
        .unwrap();

    let b = backend(Path::new("/nonexistent/libdelegate.so"), vec![]).with_delegate_fallback(true);
    let prepared = b.prepare(&mobilenet(), &Options::new()).unwrap();
    let notes = prepared.notes().join("; ");
    assert!(
        notes.contains("external delegate not used")
            && notes.contains("/nonexistent/libdelegate.so"),
        "{notes}"
    );
    let out = prepared
        .session()
        .unwrap()
        .run_tensors(&[&case.inputs[0]])
        .unwrap();
    Tolerance::new(1e-4, 1e-3)
        .check(&out[0], &case.outputs[0])
        .unwrap();
}

#[test]
fn xnnpack_takes_the_graph_and_matches() {
    let case = kit::case("mobilenetv2_mini_tflite");
    let run = |xnnpack: bool| {
        let b = TfLiteBackend::new()
            .with_library(kit::tflite_lib())
            .with_xnnpack(xnnpack);
        let prepared = b
            .prepare(&mobilenet(), &Options::new().with_threads(2))
            .unwrap();
        let out = prepared
            .session()
            .unwrap()
            .run_tensors(&[&case.inputs[0]])
            .unwrap();
        Tolerance::new(1e-4, 1e-3)
            .check(&out[0], &case.outputs[0])
            .unwrap();
        out.into_iter().next().unwrap()
    };
    let with = run(true);
    let without = run(false);
    // XNNPACK's kernels sum in another order than TFLite's builtin ones: had it taken no node,
    // the two runs would be bit-identical
    assert_ne!(
        with, without,
        "XNNPACK on and off give bit-identical outputs: XNNPACK did not run"
    );
}
