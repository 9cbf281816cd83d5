//! Inference latency per backend, model and thread count: `backend/model/threads`.
//!
//! `cargo bench -p edgerun-benches` (add `-- tract/mobilenetv2_mini` to filter). Models that
//! need `models/fetch` are skipped with a note when absent: a benchmark measures, it does not
//! test. Preparation is outside the timed loop; one iteration is one `Session::run`.
//! `backend/model/threads/pinned` runs the same with every thread pinned to the CPUs this
//! process may use: the difference from the unpinned run is what pinning costs per run.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use edgerun::{npy, CpuAffinity, Runtime, Tensor};

struct Case {
    name: &'static str,
    model: &'static str,
    shapes: &'static [(&'static str, &'static [usize])],
}

const CASES: &[Case] = &[
    Case {
        name: "mobilenetv2_mini",
        model: "mobilenetv2_mini.onnx",
        shapes: &[],
    },
    Case {
        name: "ppocr_det_64x96",
        model: "fetched/ch_PP-OCRv4_det_infer.onnx",
        shapes: &[("x", &[1, 3, 64, 96])],
    },
];

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn inference(c: &mut Criterion) {
    for case in CASES {
        let path = models().join(case.model);
        if !path.exists() {
            eprintln!(
                "skipping {}: {} is missing (run models/fetch)",
                case.name,
                path.display()
            );
            continue;
        }
        let input = npy::read(
            models()
                .join("reference")
                .join(case.name)
                .join("input.0.npy"),
        )
        .unwrap();
        for backend in Runtime::new()
            .backends()
            .iter()
            .filter(|b| b.availability().is_available())
        {
            for threads in [1, 2] {
                let mut rt = Runtime::new()
                    .with_backend(backend.name())
                    .with_threads(threads);
                for (name, shape) in case.shapes {
                    rt = rt.with_input_shape(*name, shape.to_vec());
                }
                let model = match rt.load(&path) {
                    Ok(m) => m,
                    Err(e) => {
                        eprintln!("skipping {}/{}: {e}", backend.name(), case.name);
                        break;
                    }
                };
                let inputs: Vec<Tensor> = vec![input.clone()];
                let mut session = model.session().unwrap();
                c.bench_function(
                    &format!("{}/{}/{threads}", backend.name(), case.name),
                    |b| b.iter(|| session.run(&inputs).unwrap()),
                );
                let pinned = rt.with_affinity(CpuAffinity::All).load(&path).unwrap();
                let mut session = pinned.session().unwrap();
                c.bench_function(
                    &format!("{}/{}/{threads}/pinned", backend.name(), case.name),
                    |b| b.iter(|| session.run(&inputs).unwrap()),
                );
            }
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = inference
}
criterion_main!(benches);
