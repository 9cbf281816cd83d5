//! The thread count takes effect: ONNX Runtime starts `threads - 1` intra-op workers per
//! session (the calling thread is the first), seen in /proc/self/task.

use edgerun_core::{Backend, ModelSource, Options};
use edgerun_ort::OrtBackend;
use edgerun_testkit as kit;

fn task_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn the_thread_count_starts_that_many_workers() {
    let backend = OrtBackend::new().with_library(kit::ort_lib());
    let source = ModelSource::open(kit::model("mobilenetv2_mini.onnx")).unwrap();
    // load the library and make its environment first: they may start threads of their own
    drop(
        backend
            .prepare(&source, &Options::new().with_threads(1))
            .unwrap(),
    );
    let mut started = Vec::new();
    for threads in [1, 4] {
        let before = task_count();
        let prepared = backend
            .prepare(&source, &Options::new().with_threads(threads))
            .unwrap();
        started.push(task_count() - before);
        drop(prepared);
    }
    assert_eq!(started, vec![0, 3], "workers started for 1 and 4 threads");
}
