//! The thread count takes effect: ONNX Runtime starts `threads - 1` intra-op workers per
//! session (the calling thread is the first), seen in /proc/self/task.

use edgerun_core::{Backend, ModelSource, Options};
use edgerun_ort::OrtBackend;
use edgerun_testkit as kit;

/// The tests count this process's threads: one at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn task_count() -> usize {
    std::fs::read_dir("/proc/self/task").unwrap().count()
}

#[test]
fn the_thread_count_starts_that_many_workers() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
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

#[test]
fn pinned_workers_run_only_on_the_given_cpus() {
    use edgerun_core::platform::{thread_affinity, threads_of_this_process};
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let backend = OrtBackend::new().with_library(kit::ort_lib());
    let source = ModelSource::open(kit::model("mobilenetv2_mini.onnx")).unwrap();
    drop(backend.prepare(&source, &Options::new()).unwrap());
    // the last CPU this thread may use; this thread stays unpinned, so a worker pinned there
    // got it from ONNX Runtime's session.intra_op_thread_affinities
    let mine = thread_affinity(0).unwrap();
    let last = *mine.last().unwrap();
    let before = threads_of_this_process();
    let prepared = backend
        .prepare(
            &source,
            &Options::new()
                .with_threads(2)
                .with_affinity(Some(vec![last])),
        )
        .unwrap();
    let new: Vec<i32> = threads_of_this_process()
        .into_iter()
        .filter(|t| !before.contains(t))
        .collect();
    assert_eq!(new.len(), 1, "one worker for 2 threads");
    // the worker pins itself once it starts running, which may be just after `prepare`
    // returns: wait for it (up to 5 s), then look
    let mut pinned = thread_affinity(new[0]).unwrap();
    for _ in 0..500 {
        if pinned == vec![last] {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        pinned = thread_affinity(new[0]).unwrap();
    }
    assert_eq!(pinned, vec![last]);
    assert_eq!(
        thread_affinity(0).unwrap(),
        mine,
        "the caller is left as it was"
    );
    drop(prepared);
}
