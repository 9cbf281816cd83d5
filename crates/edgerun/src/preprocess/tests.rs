use super::*;
use crate::{Dim, Quant};

fn info(dtype: DType, shape: &[usize], quant: Option<Quant>) -> TensorInfo {
    TensorInfo {
        name: "image".into(),
        dtype,
        shape: shape.iter().map(|&d| Dim::Fixed(d)).collect(),
        quant,
    }
}

fn gray_row(values: &[u8]) -> Image {
    Image::from_raw(
        values,
        values.len() as u32,
        1,
        values.len(),
        PixelFormat::Gray8,
    )
    .unwrap()
}

fn run(p: Preprocess, img: &Image, dtype: DType, shape: &[usize], q: Option<Quant>) -> Tensor {
    p.tensor(img, &info(dtype, shape, q), shape).unwrap().0
}

#[test]
fn raw_buffers_of_every_format_with_padded_rows() {
    // 2x2, stride 10: rows of two BGRA pixels and 2 bytes of padding
    let bgra = [
        3, 2, 1, 9, 6, 5, 4, 9, 0, 0, //
        9, 8, 7, 9, 12, 11, 10, 9, 0, 0,
    ];
    let img = Image::from_raw(&bgra, 2, 2, 10, PixelFormat::Bgra8).unwrap();
    assert_eq!(img.pixels(), &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    let rgba = [1, 2, 3, 0, 4, 5, 6, 0];
    let img = Image::from_raw(&rgba, 2, 1, 8, PixelFormat::Rgba8).unwrap();
    assert_eq!(img.pixels(), &[1, 2, 3, 4, 5, 6]);
    let bgr = [3, 2, 1];
    assert_eq!(
        Image::from_raw(&bgr, 1, 1, 3, PixelFormat::Bgr8)
            .unwrap()
            .pixel(0, 0),
        [1, 2, 3]
    );
    assert_eq!(gray_row(&[7]).pixel(0, 0), [7, 7, 7]);
    // a buffer too short for its rows, a stride shorter than a row, an empty size
    let e = Image::from_raw(&bgra[..15], 2, 2, 10, PixelFormat::Bgra8).unwrap_err();
    assert!(e.to_string().contains("18 bytes needed"), "{e}");
    let e = Image::from_raw(&bgra, 2, 2, 7, PixelFormat::Bgra8).unwrap_err();
    assert!(e.to_string().contains("stride 7"), "{e}");
    assert!(Image::from_raw(&[], 0, 1, 0, PixelFormat::Rgb8).is_err());
    // a stride so large the rows' size overflows: an error, not a panic
    assert!(Image::from_raw(&bgra, 2, 3, usize::MAX / 2 + 1, PixelFormat::Bgra8).is_err());
}

#[test]
fn bilinear_upscale_uses_pixel_centres() {
    let t = run(
        Preprocess::new().with_normalize(Normalize::Raw),
        &gray_row(&[0, 100]),
        DType::F32,
        &[1, 1, 4, 1],
        None,
    );
    // as OpenCV's INTER_LINEAR: the outer pixels clamp, the inner ones interpolate
    assert_eq!(t.as_slice::<f32>().unwrap(), &[0.0, 25.0, 75.0, 100.0]);
}

#[test]
fn bilinear_in_two_dimensions() {
    // 2x2 gray [[0, 100], [200, 40]] into 4x4: each output is the bilinear blend of its
    // clamped source position
    let img = Image::from_raw(&[0, 100, 200, 40], 2, 2, 2, PixelFormat::Gray8).unwrap();
    let t = run(
        Preprocess::new().with_normalize(Normalize::Raw),
        &img,
        DType::F32,
        &[1, 4, 4, 1],
        None,
    );
    let v = t.as_slice::<f32>().unwrap();
    let src = |x: f32, y: f32| {
        let p = [[0.0f32, 100.0], [200.0, 40.0]];
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(1), (y0 + 1).min(1));
        let (ax, ay) = (x - x0 as f32, y - y0 as f32);
        let top = p[y0][x0] + (p[y0][x1] - p[y0][x0]) * ax;
        let bottom = p[y1][x0] + (p[y1][x1] - p[y1][x0]) * ax;
        (top + (bottom - top) * ay).round()
    };
    let pos = [0.0f32, 0.25, 0.75, 1.0];
    for y in 0..4 {
        for x in 0..4 {
            assert_eq!(v[y * 4 + x], src(pos[x], pos[y]), "({x},{y})");
        }
    }
    // the corners are the source's, the middle of the bottom row a horizontal blend
    assert_eq!((v[0], v[3], v[12], v[15]), (0.0, 100.0, 200.0, 40.0));
    assert_eq!(v[13], 160.0);
}

#[test]
fn nhwc_interleaves_and_nchw_plans_several_pixels_in_bgr() {
    // 2x1: a red and a green pixel, bilinear at scale 1 gives them back
    let img = Image::from_raw(&[255, 0, 0, 0, 255, 0], 2, 1, 6, PixelFormat::Rgb8).unwrap();
    let p = Preprocess::new()
        .with_order(ChannelOrder::Bgr)
        .with_normalize(Normalize::Raw);
    let t = run(p, &img, DType::F32, &[1, 1, 2, 3], None);
    assert_eq!(
        t.as_slice::<f32>().unwrap(),
        &[0.0, 0.0, 255.0, 0.0, 255.0, 0.0]
    );
    let t = run(p, &img, DType::F32, &[1, 3, 1, 2], None);
    // planes B, G, R, each [pixel 0, pixel 1]
    assert_eq!(
        t.as_slice::<f32>().unwrap(),
        &[0.0, 0.0, 0.0, 255.0, 255.0, 0.0]
    );
    // mean/std per channel in the model's (BGR) order
    let p = p.with_normalize(Normalize::MeanStd {
        mean: [0.0, 0.5, 1.0],
        std: [1.0, 0.5, 0.25],
    });
    let t = run(p, &img, DType::F32, &[1, 3, 1, 2], None);
    assert_eq!(
        t.as_slice::<f32>().unwrap(),
        &[0.0, 0.0, -1.0, 1.0, 0.0, -4.0]
    );
}

#[test]
fn layouts_are_told_apart_and_huge_or_bad_inputs_refused() {
    let i = |s: &[usize]| image_layout(&info(DType::F32, s, None), s);
    assert_eq!(i(&[1, 224, 224, 3]).unwrap(), (Layout::Nhwc, 224, 224, 3));
    assert_eq!(i(&[1, 3, 224, 224]).unwrap(), (Layout::Nchw, 224, 224, 3));
    assert_eq!(i(&[1, 3, 8, 1]).unwrap(), (Layout::Nchw, 8, 1, 3));
    assert_eq!(i(&[1, 1, 8, 8]).unwrap(), (Layout::Nchw, 8, 8, 1));
    assert_eq!(i(&[1, 8, 8, 1]).unwrap(), (Layout::Nhwc, 8, 8, 1));
    let e = i(&[1, 3, 1 << 40, 3]).unwrap_err();
    assert!(e.to_string().contains("over 16384"), "{e}");
    let img = gray_row(&[1, 2]);
    let bad = Quant::new(0.0, 0);
    let shape = [1, 2, 2, 3];
    let e = Preprocess::new()
        .tensor(&img, &info(DType::I8, &shape, Some(bad)), &shape)
        .unwrap_err();
    assert!(e.to_string().contains("quantization scale 0"), "{e}");
}

#[test]
fn stretch_and_crop_geometry_map_back() {
    let img = Image::from_raw(&[0; 8 * 4 * 3], 8, 4, 24, PixelFormat::Rgb8).unwrap();
    let g = Preprocess::new().geometry(&img, 4, 4);
    assert_eq!(g.to_source(4.0, 4.0), (8.0, 4.0));
    assert_eq!(g.to_source(2.0, 1.0), (4.0, 1.0));
    // centre crop of 8x4 into 4x4: scale 1, the middle columns 2..6
    let g = Preprocess::new()
        .with_fit(Fit::CenterCrop)
        .geometry(&img, 4, 4);
    assert_eq!(g.to_source(0.0, 0.0), (2.0, 0.0));
    assert_eq!(g.to_source(4.0, 4.0), (6.0, 4.0));
}

#[test]
fn nearest_downscale_takes_the_pixel_under_each_centre() {
    let p = Preprocess::new()
        .with_resize(Resize::Nearest)
        .with_normalize(Normalize::Raw);
    let t = run(
        p,
        &gray_row(&[10, 20, 30, 40]),
        DType::F32,
        &[1, 1, 2, 1],
        None,
    );
    assert_eq!(t.as_slice::<f32>().unwrap(), &[20.0, 40.0]);
}

#[test]
fn mean_std_into_nchw_float() {
    let img = Image::from_raw(&[0, 51, 255], 1, 1, 3, PixelFormat::Rgb8).unwrap();
    let p = Preprocess::new().with_normalize(Normalize::MeanStd {
        mean: [0.5; 3],
        std: [0.5; 3],
    });
    let t = run(p, &img, DType::F32, &[1, 3, 2, 2], None);
    assert_eq!(t.shape(), &[1, 3, 2, 2]);
    let v = t.as_slice::<f32>().unwrap();
    for (i, want) in [-1.0f32, -0.6, 1.0].iter().enumerate() {
        for x in &v[i * 4..i * 4 + 4] {
            assert!((x - want).abs() < 1e-6, "channel {i}: {x} vs {want}");
        }
    }
    // range normalization, the default being [0, 1]
    let t = run(Preprocess::new(), &img, DType::F32, &[1, 1, 1, 3], None);
    assert_eq!(t.as_slice::<f32>().unwrap(), &[0.0, 0.2, 1.0]);
    let t = run(
        Preprocess::new().with_normalize(Normalize::Range(-1.0, 1.0)),
        &img,
        DType::F32,
        &[1, 1, 1, 3],
        None,
    );
    let v = t.as_slice::<f32>().unwrap();
    assert!(
        (v[1] + 0.6).abs() < 1e-6 && v[0] == -1.0 && v[2] == 1.0,
        "{v:?}"
    );
}

#[test]
fn half_precision_inputs_take_the_rounded_values() {
    let img = Image::from_raw(&[0, 51, 255], 1, 1, 3, PixelFormat::Rgb8).unwrap();
    let t = run(Preprocess::new(), &img, DType::F16, &[1, 1, 1, 3], None);
    let want: Vec<crate::f16> = [0.0, 0.2, 1.0].map(crate::f16::from_f32).to_vec();
    assert_eq!(t.as_slice::<crate::f16>().unwrap(), &want[..]);
    let t = run(Preprocess::new(), &img, DType::BF16, &[1, 3, 1, 1], None);
    // 0.2 in bfloat16 is 0.2001953125
    let want: Vec<crate::bf16> = [0.0, 0.2, 1.0].map(crate::bf16::from_f32).to_vec();
    assert_eq!(t.as_slice::<crate::bf16>().unwrap(), &want[..]);
    assert_eq!(t.to_f32_vec()[1], 0.200_195_31);
}

#[test]
fn uint8_and_int8_inputs() {
    let img = Image::from_raw(&[0, 51, 255], 1, 1, 3, PixelFormat::Rgb8).unwrap();
    // uint8 without quantization: the pixels, here in BGR order
    let t = run(
        Preprocess::new().with_order(ChannelOrder::Bgr),
        &img,
        DType::U8,
        &[1, 1, 1, 3],
        None,
    );
    assert_eq!(t.as_slice::<u8>().unwrap(), &[255, 51, 0]);
    // uint8 quantized with scale 1/255: the same values through [0, 1]
    let q = Quant::new(1.0 / 255.0, 0);
    let t = run(Preprocess::new(), &img, DType::U8, &[1, 1, 1, 3], Some(q));
    assert_eq!(t.as_slice::<u8>().unwrap(), &[0, 51, 255]);
    assert_eq!(t.quant(), Some(q));
    // int8 quantized with scale 1/128 from [-1, 1]: -1 -> -128, -0.6 -> -77, 1 -> 127 (clamped)
    let q = Quant::new(1.0 / 128.0, 0);
    let p = Preprocess::new().with_normalize(Normalize::Range(-1.0, 1.0));
    let t = run(p, &img, DType::I8, &[1, 1, 1, 3], Some(q));
    assert_eq!(t.as_slice::<i8>().unwrap(), &[-128, -77, 127]);
    // a zero point shifts
    let q = Quant::new(1.0 / 255.0, -128);
    let t = run(Preprocess::new(), &img, DType::I8, &[1, 1, 1, 3], Some(q));
    assert_eq!(t.as_slice::<i8>().unwrap(), &[-128, -77, 127]);
}

#[test]
fn letterbox_pads_and_maps_back() {
    // 4x2 source into a 4x4 input: scale 1, one row of padding above and below
    let src: Vec<u8> = (0..8).map(|i| i * 10).collect();
    let img = Image::from_raw(&src, 4, 2, 4, PixelFormat::Gray8).unwrap();
    let p = Preprocess::new()
        .with_fit(Fit::Letterbox { pad: [7, 7, 7] })
        .with_normalize(Normalize::Raw);
    let (t, g) = p
        .tensor(&img, &info(DType::F32, &[1, 4, 4, 1], None), &[1, 4, 4, 1])
        .unwrap();
    let v: Vec<u8> = t
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|&x| x as u8)
        .collect();
    assert_eq!(v, [7, 7, 7, 7, 0, 10, 20, 30, 40, 50, 60, 70, 7, 7, 7, 7]);
    assert_eq!(g.to_source(0.0, 1.0), (0.0, 0.0));
    assert_eq!(g.to_source(4.0, 3.0), (4.0, 2.0));
    // a wide source into a square: scale 0.5, centred vertically
    let wide = Image::from_raw(&[200; 8 * 2], 8, 2, 8, PixelFormat::Gray8).unwrap();
    let g = p.geometry(&wide, 4, 4);
    assert_eq!(g.scale, (0.5, 0.5));
    assert_eq!(g.offset, (0.0, 1.0));
}

#[test]
fn center_crop_keeps_the_middle() {
    let img = gray_row(&[0, 10, 20, 30]);
    let p = Preprocess::new()
        .with_fit(Fit::CenterCrop)
        .with_normalize(Normalize::Raw);
    // 4x1 into 2x1 at scale 1: the middle two columns
    let t = run(p, &img, DType::F32, &[1, 1, 2, 1], None);
    assert_eq!(t.as_slice::<f32>().unwrap(), &[10.0, 20.0]);
}

#[test]
fn grayscale_inputs_take_luma() {
    let img = Image::from_raw(&[0, 51, 255], 1, 1, 3, PixelFormat::Rgb8).unwrap();
    // (77 R + 150 G + 29 B + 128) >> 8
    let t = run(Preprocess::new(), &img, DType::U8, &[1, 1, 1, 1], None);
    assert_eq!(t.as_slice::<u8>().unwrap(), &[59]);
}

#[test]
fn shapes_and_types_that_are_not_images_are_refused() {
    let img = gray_row(&[1, 2]);
    let p = Preprocess::new();
    for (dtype, shape, want) in [
        (DType::F32, vec![1, 224, 224], "not 4-dimensional"),
        (DType::F32, vec![2, 3, 8, 8], "batch is not 1"),
        (DType::F32, vec![1, 5, 8, 8], "neither the last"),
        (DType::I32, vec![1, 8, 8, 3], "i32 input cannot take pixels"),
        (DType::I8, vec![1, 8, 8, 3], "without quantization"),
    ] {
        let e = p
            .tensor(&img, &info(dtype, &shape, None), &shape)
            .unwrap_err();
        assert!(e.to_string().contains(want), "{shape:?}: {e}");
        assert_eq!(e.kind(), crate::ErrorKind::InvalidInput);
    }
}

#[test]
fn png_round_trips_and_garbage_is_refused() {
    let mut png = Vec::new();
    let rgb: Vec<u8> = (0..18).collect();
    image::ImageEncoder::write_image(
        image::codecs::png::PngEncoder::new(&mut png),
        &rgb,
        3,
        2,
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    let img = Image::decode(&png).unwrap();
    assert_eq!((img.width(), img.height()), (3, 2));
    assert_eq!(img.pixels(), &rgb[..]);
    let e = Image::decode(b"GIF89a....").unwrap_err();
    assert!(e.to_string().contains("not a JPEG or PNG"), "{e}");
    let e = Image::decode(&png[..png.len() / 2]).unwrap_err();
    assert!(e.to_string().contains("cannot decode"), "{e}");
}
