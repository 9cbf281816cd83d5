//! Model + interpreter + delegates, created, run and destroyed 1,000 times: resident memory
//! stays flat and every delegate the plugin creates is destroyed.
//!
//! The TFLite library is loaded once, as an application does; each cycle creates and releases
//! the model, the interpreter and both delegates (the test plugin's and XNNPACK).
//! `EDGERUN_LEAK_CYCLES` changes the count, and `EDGERUN_LEAK_RSS=off` drops the resident-memory
//! bound, for a run under valgrind (which keeps memory of its own).

use edgerun_core::{Backend, ModelSource, Options, Tensor};
use edgerun_testkit as kit;
use edgerun_tflite::TfLiteBackend;

mod plugin_probe;
use plugin_probe::Probe;

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn a_thousand_create_run_destroy_cycles_do_not_leak() {
    let cycles: usize = std::env::var("EDGERUN_LEAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let warmup = (cycles / 10).max(1);
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
    let cycle = || {
        let source = ModelSource::from_bytes("blazeface", bytes.clone()).unwrap();
        let prepared = b.prepare(&source, &Options::new()).unwrap();
        let out = prepared.session().unwrap().run_tensors(&[&input]).unwrap();
        assert_eq!(out[0].shape(), &[1, 896, 16]);
    };
    for _ in 0..warmup {
        cycle();
    }
    let before = rss_kib();
    for _ in warmup..cycles {
        cycle();
    }
    let after = rss_kib();
    eprintln!(
        "RSS after {warmup} warm-up cycles: {before} KiB; after {cycles} cycles: {after} KiB"
    );
    // one leaked model copy per cycle would be 224 KiB x cycles; an interpreter, megabytes
    let check_rss = std::env::var("EDGERUN_LEAK_RSS").map_or(true, |v| v != "off");
    assert!(
        !check_rss || after <= before + 8 * 1024,
        "RSS grew from {before} KiB to {after} KiB over {} cycles",
        cycles - warmup
    );

    let stats = probe.stats();
    assert_eq!(stats.created, cycles as u64, "{stats:?}");
    assert_eq!(
        stats.destroyed, cycles as u64,
        "every delegate destroyed: {stats:?}"
    );
    assert!(stats.claimed_nodes > 0, "the plugin took part: {stats:?}");
}
