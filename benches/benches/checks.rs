//! What the checks on untrusted model files cost, against loading the model: the TensorFlow
//! Lite check (`tflite::flatbuf::parse` and the size limit) on MobileNetV2-mini int8 and the
//! BlazeFace model, the ONNX pre-check (`onnx::check`) on MobileNetV2-mini and PP-OCRv4 det,
//! each next to a full load of the same model on a backend that reads it (tract for ONNX,
//! LiteRT for TFLite, from the bytes in memory, no measuring: the backend named).
//! `cargo bench -p edgerun-benches --bench checks` (needs models/fetch and
//! crates/edgerun-litert/fetch-test-lib).

use criterion::{criterion_group, criterion_main, Criterion};
use edgerun::Runtime;
use std::path::PathBuf;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models")
}

fn checks(c: &mut Criterion) {
    let litert = models().join("../target/litert-test-lib/x86_64/libLiteRt.so");
    let mut group = c.benchmark_group("checks");
    group.sample_size(20);
    for (name, backend) in [
        ("mobilenetv2_mini_int8.tflite", "litert"),
        ("fetched/face_detection_front.tflite", "litert"),
        ("mobilenetv2_mini.onnx", "tract"),
        ("fetched/ch_PP-OCRv4_det_infer.onnx", "tract"),
    ] {
        let bytes = std::fs::read(models().join(name)).expect("run models/fetch");
        let short = name.rsplit('/').next().unwrap_or(name);
        if name.ends_with(".tflite") {
            group.bench_function(format!("check/{short}"), |b| {
                b.iter(|| {
                    let decl = edgerun::tflite::flatbuf::parse(&bytes).expect("a valid model");
                    decl.check_sizes().expect("within the limit");
                })
            });
        } else {
            group.bench_function(format!("check/{short}"), |b| {
                b.iter(|| {
                    edgerun::onnx::check("tract", std::path::Path::new(name), &bytes)
                        .expect("a valid model")
                })
            });
        }
        let rt = Runtime::new()
            .register(Box::new(
                edgerun::litert::LiteRtBackend::new().with_library(&litert),
            ))
            .with_backend(backend)
            .with_threads(1)
            .with_cache(edgerun::CacheSetting::Off);
        group.bench_function(format!("load/{short}"), |b| {
            b.iter(|| rt.load_bytes(short, bytes.clone()).expect("loads"))
        });
    }
    group.finish();
}

criterion_group!(benches, checks);
criterion_main!(benches);
