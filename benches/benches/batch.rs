//! Throughput of `Model::run_batch` against running the same inputs one by one in one session:
//! MobileNetV2-mini (ONNX) on tract, one thread per inference, batches of 1 to 8 inputs.
//! criterion's throughput is inferences per second.
//! `cargo bench -p edgerun-benches --bench batch`.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use edgerun::{fill, Runtime, Tensor};

fn bench(c: &mut Criterion) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/mobilenetv2_mini.onnx"
    );
    let model = Runtime::new()
        .with_backend("tract")
        .with_threads(1)
        .load(path)
        .expect("the bundled model loads");
    let info = model.inputs()[0].clone();
    let shape = model.prepared_shape(0).unwrap();
    let all: Vec<Vec<Tensor>> = (0..8)
        .map(|i| vec![fill::random(&info, &shape, i).unwrap()])
        .collect();
    let mut g = c.benchmark_group(format!("batch/{}workers", model.batch_workers()));
    for n in [1usize, 2, 4, 8] {
        let inputs = &all[..n];
        g.throughput(Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("sequential", n), inputs, |b, inputs| {
            let mut s = model.session().unwrap();
            b.iter(|| {
                for i in inputs {
                    s.run(i).unwrap();
                }
            })
        });
        g.bench_with_input(BenchmarkId::new("run_batch", n), inputs, |b, inputs| {
            b.iter(|| {
                for r in model.run_batch(inputs) {
                    r.unwrap();
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
