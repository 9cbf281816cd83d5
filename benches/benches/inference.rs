//! Inference latency per backend, model and thread count: `backend/model/threads`.
//!
//! `cargo bench -p edgerun-benches` (add `-- tract/mobilenetv2_mini` to filter). Every backend
//! compiled in runs every model it can: tract, TensorFlow Lite (the library of
//! `$EDGERUN_TFLITE_LIB`, else the test library of `crates/edgerun-tflite/fetch-test-lib`) and
//! LiteRT (`$EDGERUN_LITERT_LIB`, else the test library of `crates/edgerun-litert/fetch-test-lib`
//! for this architecture) and ONNX Runtime (`$EDGERUN_ORT_LIB`, else the test library of
//! `crates/edgerun-ort/fetch-test-lib` for this architecture).
//! Models that need `models/fetch`, and backends that cannot run here or cannot run a model,
//! are skipped with a note: a benchmark measures, it does not test. Preparation is outside the
//! timed loop; one iteration is one `Session::run`. tract does not time `.tflite` models: its
//! TFLite reader computes mobilenetv2_mini.tflite wrongly and rejects BlazeFace's fp16 weights,
//! and a wrong answer's speed is no figure.
//! `backend/model/threads/pinned` runs the same with every thread pinned to the CPUs this
//! process may use: the difference from the unpinned run is what pinning costs per run.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use edgerun::litert::LiteRtBackend;
use edgerun::ort::OrtBackend;
use edgerun::tflite::TfLiteBackend;
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
        name: "mobilenetv2_mini_tflite",
        model: "mobilenetv2_mini.tflite",
        shapes: &[],
    },
    Case {
        name: "mobilenetv2_mini_int8_tflite",
        model: "mobilenetv2_mini_int8.tflite",
        shapes: &[],
    },
    Case {
        name: "ppocr_cls",
        model: "fetched/ch_ppocr_mobile_v2.0_cls_infer.onnx",
        shapes: &[("x", &[1, 3, 48, 192])],
    },
    Case {
        name: "ppocr_det_64x96",
        model: "fetched/ch_PP-OCRv4_det_infer.onnx",
        shapes: &[("x", &[1, 3, 64, 96])],
    },
    Case {
        name: "blazeface_front",
        model: "fetched/face_detection_front.tflite",
        shapes: &[],
    },
];

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// `$var`, else the test library at `fallback` (relative to the workspace).
fn library(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| models().join("..").join(fallback))
}

/// Every backend compiled in, TensorFlow Lite, LiteRT and ONNX Runtime with their libraries
/// found as described above.
fn runtime() -> Runtime {
    let tflite = library(
        "EDGERUN_TFLITE_LIB",
        "target/tflite-test-lib/libtensorflowlite_c.so",
    );
    let litert = library(
        "EDGERUN_LITERT_LIB",
        &format!(
            "target/litert-test-lib/{}/libLiteRt.so",
            std::env::consts::ARCH
        ),
    );
    let ort = library(
        "EDGERUN_ORT_LIB",
        &format!(
            "target/ort-test-lib/{}/libonnxruntime.so.1.31.1",
            std::env::consts::ARCH
        ),
    );
    Runtime::new()
        .register(Box::new(TfLiteBackend::new().with_library(tflite)))
        .register(Box::new(LiteRtBackend::new().with_library(litert)))
        .register(Box::new(OrtBackend::new().with_library(ort)))
}

fn inference(c: &mut Criterion) {
    for b in runtime().backends() {
        if let edgerun::Availability::Unavailable { reason } = b.availability() {
            eprintln!("skipping backend {}: {reason}", b.name());
        }
    }
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
        let probe = runtime();
        for backend in probe
            .backends()
            .iter()
            .filter(|b| b.availability().is_available())
        {
            if backend.name() == "tract" && case.model.ends_with(".tflite") {
                continue;
            }
            if let Ok(source) = edgerun::ModelSource::open(&path) {
                if !backend.formats().contains(&source.format()) {
                    continue;
                }
            }
            for threads in [1, 2] {
                let mut rt = runtime().with_backend(backend.name()).with_threads(threads);
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
                // a wrong answer's speed is no figure: check it first
                let expected = npy::read(
                    models()
                        .join("reference")
                        .join(case.name)
                        .join("output.0.npy"),
                )
                .unwrap();
                let got = session.run(&inputs).unwrap();
                let tolerance = if got[0].dtype().is_float() {
                    edgerun::Tolerance::new(1e-4, 1e-3)
                } else {
                    edgerun::Tolerance::new(8.0, 0.0)
                };
                let (a, e) = (got[0].clone().with_quant(None), expected.with_quant(None));
                if let Err(why) = tolerance.check(&a, &e) {
                    panic!(
                        "{}/{}: wrong output, not timed: {why}",
                        backend.name(),
                        case.name
                    );
                }
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
