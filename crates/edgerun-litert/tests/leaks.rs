//! Environment + model + compiled model + buffers, created, run and destroyed many times:
//! resident memory stays flat. A leak of 4 KiB per cycle breaks the bound, as the test checks
//! by leaking that much on purpose. `EDGERUN_LEAK_CYCLES` changes the count.

use edgerun_core::{Backend, ModelSource, Options, Tensor};
use edgerun_litert::LiteRtBackend;
use edgerun_testkit as kit;

use edgerun_testkit::rss_kib;

#[test]
fn create_run_destroy_cycles_do_not_leak() {
    let cycles: usize = std::env::var("EDGERUN_LEAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let warmup = (cycles / 10).max(1);
    let bytes: std::sync::Arc<[u8]> =
        std::fs::read(kit::model("fetched/face_detection_front.tflite"))
            .unwrap()
            .into();
    let input = Tensor::zeros(edgerun_core::DType::F32, vec![1, 128, 128, 3]).unwrap();
    let b = LiteRtBackend::new().with_library(kit::litert_lib());
    let cycle = |leak: bool| {
        if leak {
            std::mem::forget(std::hint::black_box(vec![0xa5u8; 4096]));
        }
        let source = ModelSource::from_bytes("blazeface", bytes.clone()).unwrap();
        let prepared = b.prepare(&source, &Options::new()).unwrap();
        let out = prepared.session().unwrap().run_tensors(&[&input]).unwrap();
        assert_eq!(out[0].shape(), &[1, 896, 16]);
    };
    for _ in 0..warmup {
        cycle(false);
    }
    let measured = (cycles - warmup) as u64;
    // a third of what 4 KiB per measured cycle adds
    let bound = measured * 4 / 3;
    let before = rss_kib();
    for _ in warmup..cycles {
        cycle(false);
    }
    let after = rss_kib();
    eprintln!("RSS after {warmup} warm-up cycles: {before} KiB; after {cycles}: {after} KiB");
    assert!(
        after <= before + bound,
        "RSS grew from {before} KiB to {after} KiB over {measured} cycles (bound {bound} KiB)"
    );
    for _ in warmup..cycles {
        cycle(true);
    }
    let leaked = rss_kib();
    eprintln!("RSS after {measured} cycles leaking 4 KiB each: {leaked} KiB");
    assert!(
        leaked > after + bound,
        "a 4 KiB-per-cycle leak grew RSS only from {after} KiB to {leaked} KiB"
    );
}
