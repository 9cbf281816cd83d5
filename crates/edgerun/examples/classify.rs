//! Classify an image: the five most likely labels with their probabilities.
//!
//! ```text
//! cargo run --release -p edgerun --example classify -- MODEL IMAGE [--labels FILE]
//!     [--normalize 0:1|-1:1|imagenet] [--crop]
//! ```
//!
//! The model's first input is the image (any layout, size and type `edgerun::preprocess`
//! handles), its first output the class scores; a labels file has one label per line, in class
//! order. Scores that are not probabilities yet (logits) go through a softmax.

use edgerun::preprocess::{Fit, Image, Normalize, Preprocess};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (mut positional, mut labels, mut normalize, mut crop) =
        (Vec::new(), None, "0:1".to_string(), false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--labels" => labels = Some(args.next().ok_or("--labels needs a file")?),
            "--normalize" => normalize = args.next().ok_or("--normalize needs a value")?,
            "--crop" => crop = true,
            _ => positional.push(a),
        }
    }
    let [model_path, image_path] = positional.as_slice() else {
        return Err(
            "usage: classify MODEL IMAGE [--labels FILE] [--normalize 0:1|-1:1|imagenet] [--crop]"
                .into(),
        );
    };
    let normalize = match normalize.as_str() {
        "imagenet" => Normalize::MeanStd {
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        },
        "-1:1" => Normalize::Range(-1.0, 1.0),
        "0:1" => Normalize::Range(0.0, 1.0),
        other => return Err(format!("--normalize {other}: give 0:1, -1:1 or imagenet").into()),
    };
    let labels: Vec<String> = match &labels {
        Some(f) => std::fs::read_to_string(f)?
            .lines()
            .map(str::to_string)
            .collect(),
        None => Vec::new(),
    };

    // the dispatcher picks the backend for this model on this device
    let model = edgerun::load(model_path)?;
    let image = Image::open(image_path)?;
    let how = Preprocess::new()
        .with_normalize(normalize)
        .with_fit(if crop { Fit::CenterCrop } else { Fit::Stretch });
    let (input, _) = model.image_input(0, &image, &how)?;
    let outputs = model.session()?.run(&[input])?;
    let scores = outputs[0].to_f32_vec();

    let probabilities = if scores.iter().all(|s| (0.0..=1.0).contains(s))
        && (scores.iter().sum::<f32>() - 1.0).abs() < 1e-3
    {
        scores
    } else {
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
        let sum: f32 = exp.iter().sum();
        exp.into_iter().map(|e| e / sum).collect()
    };
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| {
        probabilities[b]
            .total_cmp(&probabilities[a])
            .then(a.cmp(&b))
    });
    println!(
        "{} on {} ({}x{})",
        model_path,
        model.backend(),
        image.width(),
        image.height()
    );
    for &class in order.iter().take(5) {
        let label = labels
            .get(class)
            .map_or_else(|| format!("class {class}"), Clone::clone);
        println!("{:.4} {class} {label}", probabilities[class]);
    }
    Ok(())
}
