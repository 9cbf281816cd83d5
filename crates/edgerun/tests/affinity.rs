//! Thread placement, proven by reading it back from the kernel: the worker threads each backend
//! starts run only on the CPUs asked for, and the calling thread gets its own CPUs back.
//!
//! The tests in this file start and count threads, so they run one at a time.

use std::collections::BTreeSet;
use std::sync::Mutex;

use edgerun::platform::{thread_affinity, threads_of_this_process};
use edgerun::{CpuAffinity, Platform, Runtime};
use edgerun_testkit as kit;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn thread_name(tid: i32) -> String {
    std::fs::read_to_string(format!("/proc/self/task/{tid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// The last CPU this process may use: pinning there differs from the default on any machine
/// with two or more CPUs.
fn target_cpu() -> usize {
    let usable = Platform::detect().usable;
    assert!(
        usable.len() >= 2,
        "these tests need two usable CPUs to tell pinned from unpinned; this process may use {usable:?}"
    );
    *usable.last().unwrap()
}

#[test]
fn tract_pool_threads_are_pinned() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cpu = target_cpu();
    let before = thread_affinity(0).unwrap();
    let model = Runtime::new()
        .with_backend("tract")
        .with_threads(2)
        .with_affinity(CpuAffinity::Cpus(vec![cpu]))
        .load(kit::models_dir().join("mobilenetv2_mini.onnx"))
        .unwrap();
    assert_eq!(model.placement().affinity, Some(vec![cpu]));
    let pool: Vec<i32> = threads_of_this_process()
        .into_iter()
        .filter(|&t| thread_name(t).starts_with("edgerun-tract"))
        .collect();
    assert_eq!(pool.len(), 2, "tract's pool has the 2 threads asked for");
    for tid in &pool {
        assert_eq!(thread_affinity(*tid).unwrap(), vec![cpu], "thread {tid}");
    }
    let case = kit::case("mobilenetv2_mini");
    let mut session = model.session().unwrap();
    let out = session.run(&case.inputs).unwrap();
    // pinned threads compute the same result
    edgerun::Tolerance::new(1e-4, 1e-3)
        .check(&out[0], &case.outputs[0])
        .unwrap();
    // preparing, creating a session and running pinned the calling thread only meanwhile
    assert_eq!(thread_affinity(0).unwrap(), before);
    drop(session);
    drop(model);

    // without an affinity, on a CPU whose cores are alike, the pool is not pinned
    if !Platform::detect().is_heterogeneous() {
        let _model = Runtime::new()
            .with_backend("tract")
            .with_threads(2)
            .load(kit::models_dir().join("mobilenetv2_mini.onnx"))
            .unwrap();
        for tid in threads_of_this_process()
            .into_iter()
            .filter(|&t| thread_name(t).starts_with("edgerun-tract"))
        {
            assert_eq!(thread_affinity(tid).unwrap(), before, "thread {tid}");
        }
    }
}

#[test]
fn tflite_xnnpack_threads_are_pinned() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let cpu = target_cpu();
    let before_affinity = thread_affinity(0).unwrap();
    let tflite = edgerun::tflite::TfLiteBackend::new().with_library(kit::tflite_lib());
    // load the library first: only the threads the interpreter starts are counted
    tflite.library().unwrap();
    let before: BTreeSet<i32> = threads_of_this_process().into_iter().collect();
    let model = Runtime::new()
        .register(Box::new(tflite))
        .with_backend("tflite")
        .with_threads(2)
        .with_affinity(CpuAffinity::Cpus(vec![cpu]))
        .load(kit::models_dir().join("mobilenetv2_mini.tflite"))
        .unwrap();
    let mut session = model.session().unwrap();
    let case = kit::case("mobilenetv2_mini_tflite");
    let out = session.run(&case.inputs).unwrap();
    edgerun::Tolerance::new(1e-4, 1e-3)
        .check(&out[0], &case.outputs[0])
        .unwrap();
    let started: Vec<i32> = threads_of_this_process()
        .into_iter()
        .filter(|t| !before.contains(t))
        .collect();
    assert!(
        !started.is_empty(),
        "XNNPACK with 2 threads starts at least one worker thread"
    );
    for tid in &started {
        assert_eq!(thread_affinity(*tid).unwrap(), vec![cpu], "thread {tid}");
    }
    assert_eq!(thread_affinity(0).unwrap(), before_affinity);
}

#[test]
fn default_placement_is_the_devices() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // the device's default as it is, not a thread count measured against it
    let rt = Runtime::new().with_thread_search(false);
    let default = rt.platform().default_placement();
    let model = rt
        .load(kit::models_dir().join("mobilenetv2_mini.onnx"))
        .unwrap();
    assert_eq!(model.placement(), &default);
    // a captured big.LITTLE board: the big cores, one thread each
    let rk = Runtime::new().with_platform(Platform::from_root(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../edgerun-core/tests/fixtures/rk3399"
    )));
    let p = rk.placement().unwrap();
    assert_eq!((p.threads, p.affinity), (2, Some(vec![4, 5])));
    let p = rk
        .with_threads(3)
        .with_affinity(CpuAffinity::Little)
        .placement()
        .unwrap();
    assert_eq!((p.threads, p.affinity), (3, Some(vec![0, 1, 2, 3])));
    assert!(p.why.contains("3 threads as asked"), "{}", p.why);
}

#[test]
fn an_affinity_outside_the_device_is_refused_at_load() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let e = Runtime::new()
        .with_affinity(CpuAffinity::Cpus(vec![1000]))
        .load(kit::models_dir().join("mobilenetv2_mini.onnx"))
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("CPU 1000 does not exist") && msg.contains("this device has CPUs"),
        "{msg}"
    );
}
