//! What the C boundary costs per inference: `edgerun_session_run` plus reading the output
//! (`edgerun_session_output`), called through the C ABI, against the Rust
//! `ModelSession::run_into` on the same model, backend (tract), input and one thread.
//!
//! `cargo bench -p edgerun-capi --bench boundary`. 30 interleaved rounds of about 20 ms per
//! side (alternating which goes first), medians of the per-run time; a table for the crate's
//! README, "Cost of the boundary". The tiny model (a 16-32-4 MLP, batch 3) shows the fixed
//! cost; MobileNetV2-mini shows it against real work.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use edgerun_capi::*;
use facade::{npy, Runtime, Tensor};

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

type Runner<'a> = Box<dyn FnMut() + 'a>;

fn check(status: edgerun_status) {
    assert_eq!(status, edgerun_status::EDGERUN_OK, "{:?}", unsafe {
        // SAFETY: edgerun_last_error never returns NULL, and the text lives until the next call
        std::ffi::CStr::from_ptr(edgerun_last_error())
    });
}

/// A session made and run through the C API.
fn c_runner<'a>(path: &Path, input: &'a Tensor) -> Runner<'a> {
    let path = CString::new(path.to_str().unwrap()).unwrap();
    let (mut rt, mut model, mut session) = (
        std::ptr::null_mut(),
        std::ptr::null_mut(),
        std::ptr::null_mut(),
    );
    // SAFETY: every pointer passed is a live local or a handle just made; the handles are
    // leaked on purpose, they live for the whole bench
    unsafe {
        check(edgerun_runtime_create(&mut rt));
        check(edgerun_runtime_set_backend(rt, c"tract".as_ptr()));
        check(edgerun_runtime_set_threads(rt, 1));
        check(edgerun_runtime_set_decision_cache(rt, c"off".as_ptr()));
        check(edgerun_model_load(rt, path.as_ptr(), &mut model));
        check(edgerun_session_create(model, &mut session));
    }
    let data = input.as_slice::<f32>().unwrap();
    let shape: Vec<i64> = input.shape().iter().map(|&d| d as i64).collect();
    Box::new(move || {
        let given = edgerun_input {
            data: data.as_ptr().cast(),
            bytes: std::mem::size_of_val(data),
            dtype: edgerun_dtype::EDGERUN_DTYPE_F32 as i32,
            shape: shape.as_ptr(),
            rank: shape.len(),
        };
        let mut out = std::mem::MaybeUninit::<edgerun_output>::uninit();
        // SAFETY: the session is live and used by this thread only; `given` points into
        // `data` and `shape`, alive for the call; `out` is writable
        unsafe {
            check(edgerun_session_run(session, &given, 1));
            check(edgerun_session_output(session, 0, out.as_mut_ptr()));
        }
        std::hint::black_box(out);
    })
}

fn rust_runner<'a>(path: &Path, input: &'a Tensor) -> Runner<'a> {
    let model = Runtime::new()
        .with_backend("tract")
        .with_threads(1)
        .load(path)
        .unwrap();
    let mut session = model.session().unwrap();
    let mut outputs = session.outputs();
    Box::new(move || session.run_into(&[input.view()], &mut outputs).unwrap())
}

/// Medians over 30 interleaved rounds of the per-run time of `a` and `b`, in microseconds.
fn interleaved(a: &mut Runner<'_>, b: &mut Runner<'_>, per_round: usize) -> (f64, f64) {
    let time = |f: &mut Runner<'_>| {
        let start = Instant::now();
        for _ in 0..per_round {
            f();
        }
        start.elapsed().as_secs_f64() * 1e6 / per_round as f64
    };
    let (mut ta, mut tb) = (Vec::new(), Vec::new());
    for round in 0..30 {
        if round % 2 == 0 {
            ta.push(time(a));
            tb.push(time(b));
        } else {
            tb.push(time(b));
            ta.push(time(a));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(ta), median(tb))
}

fn main() {
    println!("| model | Rust run_into (µs) | C run + output (µs) | C boundary |");
    println!("| --- | ---: | ---: | ---: |");
    for (name, file, case) in [
        (
            "MLP 16-32-4, batch 3",
            "dynamic_mlp.onnx",
            "dynamic_mlp_batch3",
        ),
        (
            "MobileNetV2-mini",
            "mobilenetv2_mini.onnx",
            "mobilenetv2_mini",
        ),
    ] {
        let path = models().join(file);
        let input = npy::read(models().join("reference").join(case).join("input.0.npy")).unwrap();
        let mut rust = rust_runner(&path, &input);
        let mut c = c_runner(&path, &input);
        let start = Instant::now();
        rust();
        let once = start.elapsed().as_secs_f64();
        let per_round = ((0.02 / once.max(1e-7)) as usize).clamp(3, 20_000);
        let (r, cc) = interleaved(&mut rust, &mut c, per_round);
        println!(
            "| {name} | {r:.2} | {cc:.2} | {:+.2} µs ({:+.1}%) |",
            cc - r,
            100.0 * (cc - r) / r
        );
    }
}
