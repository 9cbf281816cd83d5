//! `Model::run_batch`: the same results as running the inputs one by one, in the inputs'
//! order, an error kept to the input that caused it, and workers × threads within the CPUs.

use edgerun::{fill, CpuAffinity, Runtime, Tensor};
use edgerun_testkit as kit;

fn inputs_for(model: &edgerun::Model, n: usize) -> Vec<Vec<Tensor>> {
    let info = &model.inputs()[0];
    let shape = model.prepared_shape(0).unwrap();
    (0..n)
        .map(|i| vec![fill::random(info, &shape, 100 + i as u64).unwrap()])
        .collect()
}

#[test]
fn a_batch_gives_the_sequential_results_in_order() {
    let model = Runtime::new()
        .with_backend("tract")
        .with_threads(1)
        .load(kit::model("mobilenetv2_mini.onnx"))
        .unwrap();
    let inputs = inputs_for(&model, 7);
    let batch = model.run_batch(&inputs);
    let mut session = model.session().unwrap();
    assert_eq!(batch.len(), inputs.len());
    for (i, (got, input)) in batch.iter().zip(&inputs).enumerate() {
        let want = session.run(input).unwrap();
        assert_eq!(
            got.as_ref().unwrap().tensors(),
            want.tensors(),
            "input {i}: the batch result differs from a sequential run"
        );
    }
    // distinct inputs gave distinct outputs, so the order check above means something
    assert_ne!(
        batch[0].as_ref().unwrap().tensors(),
        batch[1].as_ref().unwrap().tensors()
    );
}

#[test]
fn an_error_stays_with_its_input() {
    let model = Runtime::new()
        .with_backend("tract")
        .with_threads(1)
        .load(kit::model("dynamic_mlp.onnx"))
        .unwrap();
    let ok = |n: usize, v: f32| vec![Tensor::from_vec(vec![n, 16], vec![v; n * 16]).unwrap()];
    let bad = vec![Tensor::from_vec(vec![2, 15], vec![0.5f32; 30]).unwrap()];
    let inputs = vec![ok(1, 0.1), ok(3, 0.2), bad, ok(2, 0.3), ok(5, 0.4)];
    let results = model.run_batch(&inputs);
    let mut session = model.session().unwrap();
    for (i, r) in results.iter().enumerate() {
        if i == 2 {
            let e = r.as_ref().unwrap_err();
            assert!(e.to_string().contains("2,15"), "{e}");
        } else {
            let want = session.run(&inputs[i]).unwrap();
            assert_eq!(r.as_ref().unwrap().tensors(), want.tensors(), "input {i}");
        }
    }
}

#[test]
fn workers_times_threads_stay_within_the_cpus() {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let load = |rt: Runtime| {
        rt.with_backend("tract")
            .load(kit::model("dynamic_mlp.onnx"))
            .unwrap()
    };
    assert_eq!(load(Runtime::new().with_threads(1)).batch_workers(), cpus);
    assert_eq!(load(Runtime::new().with_threads(cpus)).batch_workers(), 1);
    // pinned to one CPU: one worker, whatever the threads
    let one = load(
        Runtime::new()
            .with_threads(1)
            .with_affinity(CpuAffinity::Cpus(vec![0])),
    );
    assert_eq!(one.batch_workers(), 1);
    let empty: Vec<Vec<Tensor>> = Vec::new();
    assert!(one.run_batch(&empty).is_empty());
}
