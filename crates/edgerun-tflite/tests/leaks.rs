//! Model + interpreter + delegates, created, run and destroyed many times: resident memory
//! stays flat, within a third of what a 2 KiB-per-cycle leak adds
//! (`edgerun_testkit::assert_flat_rss`, which also proves the bound catches that leak), and
//! every delegate the plugin creates is destroyed.
//!
//! The TFLite library is loaded once, as an application does; each cycle creates and releases
//! the model, the interpreter and both delegates (the test plugin's and XNNPACK).
//! `EDGERUN_LEAK_CYCLES` changes the count (1,000 by default), and `EDGERUN_LEAK_RSS=off`
//! drops the resident-memory bound, for a run under valgrind (which keeps memory of its own).

use std::cell::Cell;

use edgerun_core::{Backend, ModelSource, Options, Tensor};
use edgerun_testkit as kit;
use edgerun_tflite::TfLiteBackend;

mod plugin_probe;
use plugin_probe::Probe;

#[test]
fn a_thousand_create_run_destroy_cycles_do_not_leak() {
    let plugin = kit::test_delegate();
    // holding the probe keeps the plugin (and its counters) loaded between cycles; without it
    // the loader unloads the plugin when each cycle's last delegate is gone
    let probe = Probe::new();
    let bytes: std::sync::Arc<[u8]> =
        std::fs::read(kit::model("fetched/face_detection_front.tflite"))
            .unwrap()
            .into();
    let input = Tensor::zeros(edgerun_core::DType::F32, vec![1, 128, 128, 3]).unwrap();
    let b = TfLiteBackend::new()
        .with_library(kit::tflite_lib())
        .with_xnnpack(true)
        .with_external_delegate(&plugin, vec![("num_threads".into(), "1".into())]);
    let ran = Cell::new(0u64);
    kit::assert_flat_rss(
        "a_thousand_create_run_destroy_cycles_do_not_leak",
        1000,
        2,
        || {
            let source = ModelSource::from_bytes("blazeface", bytes.clone()).unwrap();
            let prepared = b.prepare(&source, &Options::new()).unwrap();
            let out = prepared.session().unwrap().run_tensors(&[&input]).unwrap();
            assert_eq!(out[0].shape(), &[1, 896, 16]);
            ran.set(ran.get() + 1);
        },
    );
    // the cycles run in a child process of this test (see `assert_flat_rss`); the delegate
    // counts are checked where they ran
    if ran.get() > 0 {
        let stats = probe.stats();
        assert_eq!(stats.created, ran.get(), "{stats:?}");
        assert_eq!(
            stats.destroyed,
            ran.get(),
            "every delegate destroyed: {stats:?}"
        );
        assert!(stats.claimed_nodes > 0, "the plugin took part: {stats:?}");
    }
}
