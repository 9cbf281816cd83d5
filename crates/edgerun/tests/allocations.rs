//! Allocations per run, counted: a steady-state run allocates nothing but its outputs, and
//! nothing at all when the outputs are written into the caller's buffers (`run_into`).
//!
//! The global allocator of this test binary (from the `allocation-counter` crate) counts the
//! allocations of the calling thread (tests run on several threads at once; each counts its
//! own). Memory that a C library
//! allocates with malloc is not counted: what is measured is edgerun's own work per run.
//! tract allocates inside its plan on every run; for tract the check is that a run through
//! edgerun allocates no more than the same plan run directly.

use edgerun::tract::tract_onnx;
use edgerun::{Runtime, Tensor};
use edgerun_testkit as kit;
use tract_onnx::prelude::*;

/// Allocations made by `f` on this thread (the `allocation-counter` crate's global allocator
/// counts them per thread).
fn count(f: impl FnOnce()) -> u64 {
    allocation_counter::measure(f).count_total
}

/// Allocations an owned result of `n` tensors takes: the vector, and each tensor's shape and
/// elements.
fn outputs_cost(n: usize) -> u64 {
    1 + 2 * n as u64
}

#[test]
fn the_counter_counts() {
    assert_eq!(count(|| drop(std::hint::black_box(vec![1u8; 64]))), 1);
}

#[test]
fn tflite_runs_allocate_only_their_outputs() {
    let c = kit::case("mobilenetv2_mini_tflite");
    let model = Runtime::new()
        .register(Box::new(
            edgerun::tflite::TfLiteBackend::new().with_library(kit::tflite_lib()),
        ))
        .with_backend("tflite")
        .with_threads(1)
        .load(&c.model)
        .unwrap();
    let mut session = model.session().unwrap();
    let mut outputs = session.outputs();
    session.run_into(&c.inputs, &mut outputs).unwrap();
    let n = count(|| session.run_into(&c.inputs, &mut outputs).unwrap());
    assert_eq!(n, 0, "run_into in a steady state allocates nothing");
    let n = count(|| {
        session.run(&c.inputs).unwrap();
    });
    assert!(n <= outputs_cost(1), "run allocated {n} times");
    let name = model.inputs()[0].name.clone();
    let n = count(|| {
        session.run_named(&[(name.as_str(), &c.inputs[0])]).unwrap();
    });
    assert!(n <= outputs_cost(1), "run_named allocated {n} times");
    // and a batch that changes shape re-plans once, then is steady again
    let d = kit::case("dynamic_batch_tflite");
    let model = Runtime::new()
        .register(Box::new(
            edgerun::tflite::TfLiteBackend::new().with_library(kit::tflite_lib()),
        ))
        .with_threads(1)
        .load(&d.model)
        .unwrap();
    let mut session = model.session().unwrap();
    let mut outputs = session.outputs();
    session.run_into(&d.inputs, &mut outputs).unwrap();
    let n = count(|| session.run_into(&d.inputs, &mut outputs).unwrap());
    assert_eq!(n, 0);
    TOLERANCE
        .check(&outputs.tensors()[0], &d.outputs[0])
        .unwrap();
}

const TOLERANCE: edgerun::Tolerance = edgerun::Tolerance::new(1e-4, 1e-3);

#[test]
fn tract_runs_allocate_no_more_than_tract_itself() {
    let c = kit::case("mobilenetv2_mini");
    let model = Runtime::new()
        .with_backend("tract")
        .with_threads(1)
        .load(&c.model)
        .unwrap();
    let mut session = model.session().unwrap();
    let mut outputs = session.outputs();
    session.run_into(&c.inputs, &mut outputs).unwrap();
    session.run_into(&c.inputs, &mut outputs).unwrap();
    let through_edgerun = count(|| session.run_into(&c.inputs, &mut outputs).unwrap());
    TOLERANCE
        .check(&outputs.tensors()[0], &c.outputs[0])
        .unwrap();

    // the same model, planned and run with tract's own API
    let plan = tract_onnx::onnx()
        .model_for_path(&c.model)
        .unwrap()
        .into_optimized()
        .unwrap()
        .into_runnable()
        .unwrap();
    let mut state = TypedSimpleState::new(&plan).unwrap();
    let data = c.inputs[0].as_slice::<f32>().unwrap();
    let shape = c.inputs[0].shape().to_vec();
    let mut direct = || {
        let input = tract_onnx::prelude::Tensor::from_shape(&shape, data).unwrap();
        state.run(tvec![input.into()]).unwrap()
    };
    direct();
    let mut out = None;
    let tract_alone = count(|| out = Some(direct()));
    let out = out.unwrap();
    let logits = out[0].try_as_plain_ram().unwrap();
    let logits =
        Tensor::from_vec(vec![1, 100], logits.as_slice::<f32>().unwrap().to_vec()).unwrap();
    TOLERANCE.check(&logits, &c.outputs[0]).unwrap();
    eprintln!("allocations per run: tract alone {tract_alone}, through edgerun (run_into) {through_edgerun}");
    assert!(
        through_edgerun <= tract_alone,
        "edgerun allocated {through_edgerun} times per run, tract alone {tract_alone}"
    );
}
