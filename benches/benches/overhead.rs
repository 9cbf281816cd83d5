//! What edgerun costs per inference over calling the engine directly: an edgerun session
//! against tract's plan and TensorFlow Lite's interpreter driven without edgerun, on the same
//! model and input, one thread, no delegate. `overhead/<engine>/<model>/{direct,edgerun}`.
//!
//! `cargo bench -p edgerun-benches --bench overhead`. The tiny model (a 16-32-4 MLP, batch 3)
//! shows the fixed cost per run; MobileNetV2 shows it against real work. Criterion's runs of
//! the three are sequential, and this machine class is noisy; so after them each case is also
//! timed in 30 interleaved rounds (direct, edgerun, alternating which goes first), and a table
//! of the medians and their difference is printed: the figures of benches/README.md, "Session
//! overhead".
//!
//! The direct paths do what an application would: tract copies the input into a new tensor
//! and runs its state; TFLite (through the `edgefirst-tflite` crate, the library of
//! `$EDGERUN_TFLITE_LIB` or the test library) copies into the input tensor, invokes and
//! copies the output out. edgerun runs `ModelSession::run_into` (inputs checked, the output
//! written into the previous run's buffer) and `ModelSession::run` (a new output).

use std::path::PathBuf;

use criterion::Criterion;
use edgerun::tflite::TfLiteBackend;
use edgerun::tract::tract_onnx;
use edgerun::{npy, Runtime, Tensor};
use tract_onnx::prelude::*;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn tflite_lib() -> PathBuf {
    std::env::var_os("EDGERUN_TFLITE_LIB")
        .map(PathBuf::from)
        .unwrap_or_else(|| models().join("../target/tflite-test-lib/libtensorflowlite_c.so"))
}

fn input(case: &str) -> Tensor {
    npy::read(models().join("reference").join(case).join("input.0.npy")).unwrap()
}

/// (engine, model name, file, reference case)
const CASES: &[(&str, &str, &str, &str)] = &[
    ("tract", "mlp", "dynamic_mlp.onnx", "dynamic_mlp_batch3"),
    (
        "tract",
        "mobilenetv2",
        "mobilenetv2_mini.onnx",
        "mobilenetv2_mini",
    ),
    (
        "tflite",
        "mlp",
        "dynamic_batch.tflite",
        "dynamic_batch_tflite",
    ),
    (
        "tflite",
        "mobilenetv2",
        "mobilenetv2_mini.tflite",
        "mobilenetv2_mini_tflite",
    ),
];

type Runner<'a> = Box<dyn FnMut() + 'a>;

/// edgerun's `run_into` and `run` on one session each.
fn edgerun_runners<'a>(
    engine: &str,
    path: &PathBuf,
    input: &'a Tensor,
) -> (Runner<'a>, Runner<'a>) {
    let rt = Runtime::new()
        .register(Box::new(
            TfLiteBackend::new()
                .with_library(tflite_lib())
                .with_xnnpack(false),
        ))
        .with_backend(engine)
        .with_threads(1);
    let model = rt.load(path).unwrap();
    let mut into = model.session().unwrap();
    let mut outputs = into.outputs();
    let mut plain = model.session().unwrap();
    (
        Box::new(move || into.run_into(&[input.view()], &mut outputs).unwrap()),
        Box::new(move || {
            std::hint::black_box(plain.run(&[input.view()]).unwrap());
        }),
    )
}

fn tract_direct<'a>(path: &PathBuf, input: &'a Tensor) -> Runner<'a> {
    let plan = tract_onnx::onnx()
        .model_for_path(path)
        .unwrap()
        .with_input_fact(0, InferenceFact::dt_shape(f32::datum_type(), input.shape()))
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let mut state = TypedSimpleState::new(&plan).unwrap();
    let data = input.as_slice::<f32>().unwrap();
    let shape = input.shape().to_vec();
    Box::new(move || {
        let t = tract_onnx::prelude::Tensor::from_shape(&shape, data).unwrap();
        std::hint::black_box(state.run(tvec![t.into()]).unwrap());
    })
}

fn tflite_direct<'a>(path: &PathBuf, input: &'a Tensor) -> Runner<'a> {
    use edgefirst_tflite::{Interpreter, Library, Model};
    // leaked: the interpreter borrows the library and model for the whole bench
    let lib: &'static Library = Box::leak(Box::new(Library::from_path(tflite_lib()).unwrap()));
    let model: &'static Model<'static> = Box::leak(Box::new(Model::from_file(lib, path).unwrap()));
    let mut it = Interpreter::builder(lib)
        .unwrap()
        .num_threads(1)
        .build(model)
        .unwrap();
    let dims: Vec<i32> = input.shape().iter().map(|&d| d as i32).collect();
    it.resize_input(0, &dims).unwrap();
    it.allocate_tensors().unwrap();
    let data = input.as_slice::<f32>().unwrap();
    let mut out: Vec<f32> = Vec::new();
    Box::new(move || {
        it.inputs_mut().unwrap()[0].copy_from_slice(data).unwrap();
        it.invoke().unwrap();
        let outputs = it.outputs().unwrap();
        out.clear();
        out.extend_from_slice(outputs[0].as_slice::<f32>().unwrap());
    })
}

/// Interleaved rounds: each round times `direct` then `edgerun` over the same number of runs;
/// the medians over rounds of the per-run time, in microseconds.
fn interleaved(direct: &mut Runner<'_>, edgerun: &mut Runner<'_>, per_round: usize) -> (f64, f64) {
    let time = |f: &mut Runner<'_>| {
        let start = std::time::Instant::now();
        for _ in 0..per_round {
            f();
        }
        start.elapsed().as_secs_f64() * 1e6 / per_round as f64
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..30 {
        // alternate which goes first, so neither always runs on a warmer cache
        if round % 2 == 0 {
            a.push(time(direct));
            b.push(time(edgerun));
        } else {
            b.push(time(edgerun));
            a.push(time(direct));
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (median(a), median(b))
}

fn main() {
    let mut c = Criterion::default().sample_size(30).configure_from_args();
    let mut rows = Vec::new();
    for &(engine, name, file, case) in CASES {
        let path = models().join(file);
        let input = input(case);
        let mut direct = if engine == "tract" {
            tract_direct(&path, &input)
        } else {
            tflite_direct(&path, &input)
        };
        let (mut into, mut plain) = edgerun_runners(engine, &path, &input);
        c.bench_function(&format!("overhead/{engine}/{name}/direct"), |b| {
            b.iter(&mut direct)
        });
        c.bench_function(&format!("overhead/{engine}/{name}/edgerun"), |b| {
            b.iter(&mut into)
        });
        c.bench_function(&format!("overhead/{engine}/{name}/edgerun_run"), |b| {
            b.iter(&mut plain)
        });
        // about 20 ms per round and side
        let start = std::time::Instant::now();
        direct();
        let once = start.elapsed().as_secs_f64();
        let per_round = ((0.02 / once.max(1e-7)) as usize).clamp(3, 20_000);
        let (d, e) = interleaved(&mut direct, &mut into, per_round);
        let (d2, r) = interleaved(&mut direct, &mut plain, per_round);
        rows.push((engine, name, d, e, d2, r));
    }
    c.final_summary();
    println!(
        "\nInterleaved: 30 rounds alternating direct and edgerun, medians of the per-run time."
    );
    println!("| engine | model | direct (µs) | edgerun run_into (µs) | overhead | direct (µs) | edgerun run (µs) | overhead |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let over = |x: f64, d: f64| format!("{:+.2} µs ({:+.1}%)", x - d, 100.0 * (x - d) / d);
    for (engine, name, d, e, d2, r) in rows {
        println!(
            "| {engine} | {name} | {d:.2} | {e:.2} | {} | {d2:.2} | {r:.2} | {} |",
            over(e, d),
            over(r, d2)
        );
    }
}
