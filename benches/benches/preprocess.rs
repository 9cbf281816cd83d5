//! Image to model input: a 1920x1080 JPEG (a synthetic camera frame, quality 90) decoded and
//! made into a MobileNetV2 input [1,3,224,224] f32, stretched and letterboxed; and the same
//! from an already decoded frame, which is what a camera pipeline delivering raw pixels pays.
//! `cargo bench -p edgerun-benches --bench preprocess`.

use criterion::{criterion_group, criterion_main, Criterion};
use edgerun::preprocess::{Fit, Image, Normalize, Preprocess};
use edgerun::{DType, Dim, TensorInfo};

fn frame_jpeg() -> Vec<u8> {
    let (w, h) = (1920u32, 1080u32);
    // gradients and a checkerboard: texture for the encoder, nothing uniform
    let mut rgb = Vec::with_capacity((w * h * 3) as usize);
    for y in 0..h {
        for x in 0..w {
            let check = if (x / 40 + y / 40) % 2 == 0 { 60 } else { 0 };
            rgb.extend_from_slice(&[
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x + y) % 256) as u8 / 2 + check,
            ]);
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&rgb, w, h, image::ExtendedColorType::Rgb8)
        .expect("the frame encodes");
    out
}

fn bench(c: &mut Criterion) {
    let jpeg = frame_jpeg();
    let info = TensorInfo {
        name: "input".into(),
        dtype: DType::F32,
        shape: [1, 3, 224, 224].iter().map(|&d| Dim::Fixed(d)).collect(),
        quant: None,
    };
    let shape = [1usize, 3, 224, 224];
    let imagenet = Normalize::MeanStd {
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };
    let stretch = Preprocess::new().with_normalize(imagenet);
    let letterbox = stretch.with_fit(Fit::Letterbox { pad: [0, 0, 0] });
    let decoded = Image::decode(&jpeg).unwrap();
    let mut g = c.benchmark_group("preprocess");
    g.bench_function("decode_1920x1080_jpeg", |b| {
        b.iter(|| Image::decode(&jpeg).unwrap())
    });
    g.bench_function("jpeg_to_224_stretch", |b| {
        b.iter(|| {
            let img = Image::decode(&jpeg).unwrap();
            stretch.tensor(&img, &info, &shape).unwrap()
        })
    });
    g.bench_function("frame_to_224_stretch", |b| {
        b.iter(|| stretch.tensor(&decoded, &info, &shape).unwrap())
    });
    g.bench_function("frame_to_224_letterbox", |b| {
        b.iter(|| letterbox.tensor(&decoded, &info, &shape).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
