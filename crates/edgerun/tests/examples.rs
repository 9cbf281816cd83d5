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
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: cannot read"));
}
