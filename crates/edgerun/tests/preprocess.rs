//! Image inputs on real models: the input's layout, size, type and quantization come from the
//! model (NCHW float ONNX, NHWC int8 TensorFlow Lite, NHWC float BlazeFace), and the model runs
//! on the result.
#![cfg(feature = "image")]

use edgerun::preprocess::{Fit, Image, Normalize, PixelFormat, Preprocess};
use edgerun::{CacheSetting, DType, Runtime};
use edgerun_testkit as kit;

/// A 40x30 frame: red on the left half, blue on the right, as BGRA with padded rows.
fn frame() -> Image {
    let (w, h, stride) = (40usize, 30usize, 40 * 4 + 8);
    let mut data = vec![0u8; stride * h];
    for y in 0..h {
        for x in 0..w {
            let p = &mut data[y * stride + x * 4..y * stride + x * 4 + 4];
            p.copy_from_slice(if x < w / 2 {
                &[0, 0, 255, 255]
            } else {
                &[255, 0, 0, 255]
            });
        }
    }
    Image::from_raw(&data, w as u32, h as u32, stride, PixelFormat::Bgra8).unwrap()
}

#[test]
fn nchw_float_input_of_an_onnx_model() {
    let model = Runtime::new()
        .with_backend("tract")
        .load(kit::model("mobilenetv2_mini.onnx"))
        .unwrap();
    let (t, g) = model.image_input(0, &frame(), &Preprocess::new()).unwrap();
    assert_eq!(t.shape(), &[1, 3, 224, 224]);
    assert_eq!(t.dtype(), DType::F32);
    let v = t.as_slice::<f32>().unwrap();
    let at = |c: usize, y: usize, x: usize| v[(c * 224 + y) * 224 + x];
    // red left, blue right, in [0, 1]; stretched 40 -> 224 wide
    assert_eq!(
        (at(0, 100, 10), at(1, 100, 10), at(2, 100, 10)),
        (1.0, 0.0, 0.0)
    );
    assert_eq!((at(0, 100, 200), at(2, 100, 200)), (0.0, 1.0));
    assert_eq!(g.scale, (224.0 / 40.0, 224.0 / 30.0));
    let out = model.session().unwrap().run(&[t]).unwrap();
    assert_eq!(out[0].shape(), &[1, 100]);
}

#[test]
fn nhwc_int8_input_of_a_quantized_tflite_model_is_quantized_with_its_parameters() {
    let model = Runtime::new()
        .register(Box::new(
            edgerun::litert::LiteRtBackend::new().with_library(kit::litert_lib()),
        ))
        .with_backend("litert")
        .with_cache(CacheSetting::Off)
        .load(kit::model("mobilenetv2_mini_int8.tflite"))
        .unwrap();
    let info = model.inputs()[0].clone();
    assert_eq!(info.dtype, DType::I8);
    let q = info.quant.expect("a quantized input");
    let how = Preprocess::new().with_normalize(Normalize::Range(-1.0, 1.0));
    let (t, _) = model.image_input(0, &frame(), &how).unwrap();
    assert_eq!(t.shape(), &[1, 224, 224, 3]);
    assert_eq!(t.quant(), Some(q));
    let v = t.as_slice::<i8>().unwrap();
    let expect =
        |real: f32| ((real / q.scale).round() + q.zero_point as f32).clamp(-128.0, 127.0) as i8;
    // red pixel on the left: R = 1.0, G = B = -1.0 after normalizing
    assert_eq!(
        &v[(100 * 224 + 10) * 3..(100 * 224 + 10) * 3 + 3],
        &[expect(1.0), expect(-1.0), expect(-1.0)]
    );
    let out = model.session().unwrap().run(&[t]).unwrap();
    assert_eq!(out[0].dtype(), DType::I8);
}

#[test]
fn letterboxed_nhwc_float_input_of_blazeface_maps_back_to_the_frame() {
    let model = Runtime::new()
        .register(Box::new(
            edgerun::litert::LiteRtBackend::new().with_library(kit::litert_lib()),
        ))
        .with_backend("litert")
        .with_cache(CacheSetting::Off)
        .load(kit::model("fetched/face_detection_front.tflite"))
        .unwrap();
    let how = Preprocess::new()
        .with_fit(Fit::Letterbox { pad: [0, 0, 0] })
        .with_normalize(Normalize::Range(-1.0, 1.0));
    let (t, g) = model.image_input(0, &frame(), &how).unwrap();
    assert_eq!(t.shape(), &[1, 128, 128, 3]);
    // 40x30 into 128x128: scale 3.2, 96 rows of image centred with 16 rows of padding above
    assert_eq!(g.offset, (0.0, 16.0));
    let v = t.as_slice::<f32>().unwrap();
    assert_eq!(
        &v[(5 * 128 + 5) * 3..(5 * 128 + 5) * 3 + 3],
        &[-1.0, -1.0, -1.0],
        "padding"
    );
    assert_eq!(
        &v[(60 * 128 + 5) * 3..(60 * 128 + 5) * 3 + 3],
        &[1.0, -1.0, -1.0],
        "red"
    );
    let (x, y) = g.to_source(128.0, 112.0);
    assert!(
        (x - 40.0).abs() < 1e-4 && (y - 30.0).abs() < 1e-4,
        "{x},{y}"
    );
    let out = model.session().unwrap().run(&[t]).unwrap();
    assert_eq!(out[0].shape(), &[1, 896, 16]);
}

#[test]
fn an_open_size_or_a_non_image_input_is_a_clear_error() {
    let model = Runtime::new()
        .with_backend("tract")
        .load(kit::model("dynamic_mlp.onnx"))
        .unwrap();
    let e = model
        .image_input(0, &frame(), &Preprocess::new())
        .unwrap_err();
    assert!(
        matches!(&e, edgerun::Error::ImageSizeOpen { input, height: 30, width: 40, .. } if input == "x"),
        "{e:?}"
    );
    let model = Runtime::new()
        .with_backend("tract")
        .with_input_shape("x", [2, 16])
        .load(kit::model("dynamic_mlp.onnx"))
        .unwrap();
    let e = model
        .image_input(0, &frame(), &Preprocess::new())
        .unwrap_err();
    assert!(e.to_string().contains("not 4-dimensional"), "{e}");
    let e = model
        .image_input(3, &frame(), &Preprocess::new())
        .unwrap_err();
    assert!(e.to_string().contains("1 input"), "{e}");
}
