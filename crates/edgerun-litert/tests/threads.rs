//! The thread count reaches LiteRT's CPU accelerator: XNNPACK starts worker threads for it.
//! (Its own test binary: no other test's threads are counted.)

use edgerun_core::{Backend, ModelSource, Options};
use edgerun_litert::LiteRtBackend;
use edgerun_testkit as kit;

fn threads_of_this_process() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn the_thread_count_starts_that_many_workers() {
    let b = LiteRtBackend::new().with_library(kit::litert_lib());
    let c = kit::case("mobilenetv2_mini_tflite");
    let source = ModelSource::open(&c.model).unwrap();
    let mut counts = Vec::new();
    for threads in [1, 4] {
        let before = threads_of_this_process();
        let prepared = b
            .prepare(&source, &Options::new().with_threads(threads))
            .unwrap();
        let mut session = prepared.session().unwrap();
        let out = session.run_tensors(&[&c.inputs[0]]).unwrap();
        edgerun_core::Tolerance::new(1e-4, 1e-3)
            .check(&out[0], &c.outputs[0])
            .unwrap();
        counts.push(threads_of_this_process() - before);
        drop(session);
        drop(prepared);
    }
    eprintln!("threads started by LiteRT: {counts:?} for 1 and 4 threads");
    // the calling thread computes too: N threads asked for means N - 1 workers
    assert!(
        counts[1] >= counts[0] + 3,
        "4 threads started {} worker threads, 1 thread {}",
        counts[1],
        counts[0]
    );
}
