//! The example apps, built by `cargo test`, run as a user would run them.
#![cfg(feature = "image")]

use edgerun::preprocess::{Image, Preprocess};
use edgerun_testkit as kit;

#[test]
fn classify_prints_the_top_five_labels_of_an_image() {
    let dir = kit::scratch("example-classify");
    // a 50x40 picture: a diagonal gradient with a bright square
    let mut rgb = Vec::new();
    for y in 0..40u32 {
        for x in 0..50u32 {
            let inside = (15..30).contains(&x) && (10..25).contains(&y);
            rgb.extend_from_slice(&if inside {
                [250, 240, 30]
            } else {
                [(x * 5) as u8, (y * 6) as u8, 90]
            });
        }
    }
    let png = dir.join("picture.png");
    image::save_buffer(&png, &rgb, 50, 40, image::ExtendedColorType::Rgb8).unwrap();
    let labels = dir.join("labels.txt");
    let names: Vec<String> = (0..100).map(|i| format!("label-{i}")).collect();
    std::fs::write(&labels, names.join("\n")).unwrap();
    let graph = kit::model("mobilenetv2_mini.onnx");

    let out = kit::command(kit::example_program("classify", "edgerun"))
        .args([
            graph.to_str().unwrap(),
            png.to_str().unwrap(),
            "--labels",
            labels.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );

    // the same through the API: top five classes of the softmax of the logits
    let model = edgerun::load(&graph).unwrap();
    let img = Image::open(&png).unwrap();
    let (input, _) = model.image_input(0, &img, &Preprocess::new()).unwrap();
    let logits = model.session().unwrap().run(&[input]).unwrap()[0].to_f32_vec();
    let mut order: Vec<usize> = (0..logits.len()).collect();
    order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]).then(a.cmp(&b)));
    let lines: Vec<&str> = stdout.lines().skip(1).collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    let mut last = f32::INFINITY;
    for (line, &class) in lines.iter().zip(&order) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            fields[1..],
            [class.to_string().as_str(), &format!("label-{class}")],
            "{stdout}"
        );
        let p: f32 = fields[0].parse().unwrap();
        assert!(p > 0.0 && p <= last, "probabilities descend: {stdout}");
        last = p;
    }

    // a mistake is one line and exit status 1
    let out = kit::command(kit::example_program("classify", "edgerun"))
        .args([graph.to_str().unwrap(), "/nonexistent.png"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("error: image file \"/nonexistent.png\" not found; check the path"));
}

/// The faces `models/make_face_reference.py` found in the astronaut photo with a peer
/// pipeline: score, then the box and six keypoints in image pixels.
fn reference_faces() -> Vec<Vec<f32>> {
    let table =
        std::fs::read_to_string(kit::models_dir().join("reference/astronaut_faces/faces.tsv"))
            .unwrap();
    table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split('\t').map(|v| v.parse().unwrap()).collect())
        .collect()
}

/// Runs detect_faces on the astronaut photo with `backend` and checks its faces against the
/// reference and its drawing.
///
/// Tolerance: half a pixel for every coordinate (the example prints tenths; the two runs
/// differ by up to 0.15 pixels, kernels apart), 0.005 for the score. The reference shrinks the
/// photo with the same pixel-centre bilinear convention, so the inputs agree; a decoding
/// mistake (anchor order or offset, scale, mapping back to the photo) moves a face by two
/// pixels or more.
fn detect_faces_on(backend: &str, library: (&str, std::path::PathBuf)) {
    let dir = kit::scratch(&format!("example-faces-{backend}"));
    let photo = kit::model("fetched/astronaut.png");
    let drawn = dir.join("faces.png");
    let out = kit::command(kit::example_program("detect_faces", "edgerun"))
        .env(library.0, &library.1)
        .args([
            kit::model("fetched/face_detection_front.tflite")
                .to_str()
                .unwrap(),
            photo.to_str().unwrap(),
            "--backend",
            backend,
            "--out",
            drawn.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = stdout.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .ends_with(&format!("(512x512) on {backend}")),
        "{stdout}"
    );
    let faces: Vec<Vec<f32>> = lines
        .map(|l| l.split([' ', ',']).filter_map(|w| w.parse().ok()).collect())
        .collect();
    let expected = reference_faces();
    assert_eq!(faces.len(), expected.len(), "{stdout}");
    for (face, want) in faces.iter().zip(&expected) {
        assert_eq!(face.len(), 17, "{stdout}");
        assert!((face[0] - want[0]).abs() < 0.005, "score: {stdout}");
        for (k, (got, want)) in face[1..].iter().zip(&want[1..]).enumerate() {
            assert!(
                (got - want).abs() <= 0.5,
                "coordinate {k}: {got} against the reference's {want}\n{stdout}"
            );
        }
    }

    // the drawing: the photo, a green box on each face's edge, red keypoints
    let original = Image::open(&photo).unwrap();
    let picture = Image::open(&drawn).unwrap();
    assert_eq!((picture.width(), picture.height()), (512, 512));
    let face = &faces[0];
    let middle_y = ((face[2] + face[4]) / 2.0).round() as u32;
    assert_eq!(picture.pixel(face[1].round() as u32, middle_y), [0, 255, 0]);
    assert_eq!(picture.pixel(face[3].round() as u32, middle_y), [0, 255, 0]);
    let nose = (face[9].round() as u32, face[10].round() as u32);
    assert_eq!(picture.pixel(nose.0, nose.1), [255, 0, 0]);
    assert_ne!(original.pixel(nose.0, nose.1), [255, 0, 0]);
    assert_eq!(picture.pixel(450, 450), original.pixel(450, 450));
}

#[test]
fn litert_detect_faces_finds_the_astronaut_as_the_reference_does() {
    detect_faces_on("litert", ("EDGERUN_LITERT_LIB", kit::litert_lib()));
}

#[test]
fn tflite_detect_faces_finds_the_astronaut_as_the_reference_does() {
    detect_faces_on("tflite", ("EDGERUN_TFLITE_LIB", kit::tflite_lib()));
}

#[test]
fn detect_faces_refuses_a_model_that_is_not_blazeface() {
    let out = kit::command(kit::example_program("detect_faces", "edgerun"))
        .env("EDGERUN_LITERT_LIB", kit::litert_lib())
        .args([
            kit::model("mobilenetv2_mini.tflite").to_str().unwrap(),
            kit::model("fetched/astronaut.png").to_str().unwrap(),
            "--backend",
            "litert",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: the model's outputs are not BlazeFace's"),
        "{stderr}"
    );
}
