//! ONNX Runtime session + input views + outputs, created, run and destroyed many times:
//! resident memory stays flat. ONNX Runtime's per-session allocations (its thread pool's
//! malloc arenas) make resident memory swing by about 0.5 MiB from cycle to cycle with no
//! growth over 800 cycles, so the bound is a third of what a 16 KiB-per-cycle leak adds; the
//! test checks that such a leak breaks it by leaking that much on purpose. A smaller leak
//! shows with more cycles (`EDGERUN_LEAK_CYCLES`, 400 by default).

use edgerun_core::{Backend, ModelSource, Options, Tensor};
use edgerun_ort::OrtBackend;
use edgerun_testkit as kit;

use edgerun_testkit::rss_kib;

/// The leak the test must catch, per cycle.
const LEAK_KIB: u64 = 16;

#[test]
fn create_run_destroy_cycles_do_not_leak() {
    let cycles: usize = std::env::var("EDGERUN_LEAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400);
    let warmup = (cycles / 10).max(1);
    let bytes: std::sync::Arc<[u8]> =
        std::fs::read(kit::model("fetched/ch_ppocr_mobile_v2.0_cls_infer.onnx"))
            .unwrap()
            .into();
    let input = Tensor::zeros(edgerun_core::DType::F32, vec![1, 3, 48, 192]).unwrap();
    let b = OrtBackend::new().with_library(kit::ort_lib());
    let cycle = |leak: bool| {
        if leak {
            std::mem::forget(std::hint::black_box(vec![0xa5u8; LEAK_KIB as usize * 1024]));
        }
        let source = ModelSource::from_bytes("ppocr_cls.onnx", bytes.clone()).unwrap();
        let prepared = b.prepare(&source, &Options::new()).unwrap();
        let out = prepared.session().unwrap().run_tensors(&[&input]).unwrap();
        assert_eq!(out[0].shape(), &[1, 2]);
    };
    // resident memory after a phase: the lowest of its last 10 cycles (the swings are brief)
    let phase = |n: usize, leak: bool| {
        let mut low = u64::MAX;
        for i in 0..n {
            cycle(leak);
            if i + 10 >= n {
                low = low.min(rss_kib());
            }
        }
        low
    };
    let measured = (cycles - warmup) as u64;
    // a third of what the leak adds over the measured cycles
    let bound = measured * LEAK_KIB / 3;
    let before = phase(warmup, false);
    let after = phase(cycles - warmup, false);
    eprintln!("RSS after {warmup} warm-up cycles: {before} KiB; after {cycles}: {after} KiB");
    assert!(
        after <= before + bound,
        "RSS grew from {before} KiB to {after} KiB over {measured} cycles (bound {bound} KiB)"
    );
    let leaked = phase(cycles - warmup, true);
    eprintln!("RSS after {measured} cycles leaking {LEAK_KIB} KiB each: {leaked} KiB");
    assert!(
        leaked > after + bound,
        "a {LEAK_KIB} KiB-per-cycle leak grew RSS only from {after} KiB to {leaked} KiB"
    );
}
