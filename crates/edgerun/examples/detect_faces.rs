//! Find faces in an image with BlazeFace (MediaPipe's short-range face detector,
//! `face_detection_front.tflite`): boxes and six keypoints per face, drawn into a PNG.
//!
//! ```text
//! cargo run --release -p edgerun --example detect_faces -- MODEL IMAGE [--out FILE.png]
//!     [--backend auto|first|NAME] [--threshold 0.75]
//! ```
//!
//! Prints one line per face, in pixels of the image:
//! `face SCORE box XMIN YMIN XMAX YMAX keypoints X,Y X,Y ...` with the keypoints in the
//! model's order: right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion
//! (right and left of the person).
//!
//! The model's outputs are raw: for each of 896 anchors, 16 box numbers (centre offset, size,
//! six keypoint offsets, in input pixels) and one score logit. The anchors, the decoding and
//! the weighted non-maximum suppression below follow MediaPipe's settings for this model.

use edgerun::preprocess::{Fit, Geometry, Image, Normalize, Preprocess};

/// Feature-map strides of the anchor layers; two anchors per cell and layer.
const STRIDES: [usize; 4] = [8, 16, 16, 16];
/// Faces overlapping more than this (intersection over union) are one face.
const SAME_FACE_IOU: f32 = 0.3;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

struct Face {
    score: f32,
    /// xmin, ymin, xmax, ymax, then x, y of six keypoints: in input pixels, later in the
    /// image's.
    coords: [f32; 16],
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let Args {
        model_path,
        image_path,
        out,
        backend,
        threshold,
    } = Args::parse()?;

    let model = edgerun::Runtime::new()
        .with_backend(backend)
        .load(model_path)?;
    let image = Image::open(&image_path)?;
    // the whole image, aspect ratio kept, black around it, pixels onto [-1, 1]
    let how = Preprocess::new()
        .with_fit(Fit::Letterbox { pad: [0, 0, 0] })
        .with_normalize(Normalize::Range(-1.0, 1.0));
    let (input, geometry) = model.image_input(0, &image, &how)?;
    let (_, size_h, size_w, _) =
        edgerun::preprocess::image_layout(&model.inputs()[0], input.shape())?;
    let outputs = model.session()?.run(&[input])?;
    let (boxes, scores) = blazeface_outputs(&outputs)?;
    let anchors = anchors(size_w, size_h);
    let (boxes, scores) = (boxes.to_f32_vec(), scores.to_f32_vec());
    if scores.len() != anchors.len() || boxes.len() != 16 * anchors.len() {
        return Err(format!(
            "the model has {} anchors, BlazeFace at {size_w}x{size_h} has {}",
            scores.len(),
            anchors.len()
        )
        .into());
    }

    let candidates = decode(&anchors, &boxes, &scores, threshold);
    let faces = weighted_nms(candidates);

    println!(
        "{} face(s) in {} ({}x{}) on {}",
        faces.len(),
        image_path,
        image.width(),
        image.height(),
        model.backend()
    );
    let faces: Vec<Face> = faces.into_iter().map(|f| to_image(f, &geometry)).collect();
    for face in &faces {
        let c = &face.coords;
        let points: Vec<String> = (0..6)
            .map(|k| format!("{:.1},{:.1}", c[4 + 2 * k], c[5 + 2 * k]))
            .collect();
        println!(
            "face {:.4} box {:.1} {:.1} {:.1} {:.1} keypoints {}",
            face.score,
            c[0],
            c[1],
            c[2],
            c[3],
            points.join(" ")
        );
    }
    if let Some(out) = out {
        draw(&image, &faces, &out)?;
    }
    Ok(())
}

/// The command line.
struct Args {
    model_path: String,
    image_path: String,
    out: Option<String>,
    backend: String,
    threshold: f32,
}

impl Args {
    fn parse() -> Result<Args, Box<dyn std::error::Error>> {
        let mut args = std::env::args().skip(1);
        let (mut positional, mut out, mut backend, mut threshold) =
            (Vec::new(), None, "auto".to_string(), 0.75f32);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--out" => out = Some(args.next().ok_or("--out needs a file")?),
                "--backend" => backend = args.next().ok_or("--backend needs a name")?,
                "--threshold" => {
                    threshold = args
                        .next()
                        .and_then(|t| t.parse().ok())
                        .filter(|t| (0.0..1.0).contains(t))
                        .ok_or("--threshold needs a number from 0 to 1")?
                }
                _ => positional.push(a),
            }
        }
        let [model_path, image_path] = <[String; 2]>::try_from(positional).map_err(|_| {
            "usage: detect_faces MODEL IMAGE [--out FILE.png] [--backend NAME] [--threshold 0.75]"
        })?;
        Ok(Args {
            model_path,
            image_path,
            out,
            backend,
            threshold,
        })
    }
}

/// BlazeFace's two outputs: 16 box numbers per anchor, and a score per anchor.
fn blazeface_outputs(
    outputs: &edgerun::Outputs,
) -> Result<(&edgerun::Tensor, &edgerun::Tensor), Box<dyn std::error::Error>> {
    let (Some(boxes), Some(scores)) = (
        outputs
            .iter()
            .map(|(_, t)| t)
            .find(|t| t.shape().last() == Some(&16)),
        outputs
            .iter()
            .map(|(_, t)| t)
            .find(|t| t.shape().last() == Some(&1)),
    ) else {
        return Err(
            "the model's outputs are not BlazeFace's: 16 box numbers and 1 score \
                    per anchor"
                .into(),
        );
    };
    Ok((boxes, scores))
}

/// The anchors whose score passes `threshold`, as faces in input pixels.
fn decode(anchors: &[(f32, f32)], boxes: &[f32], scores: &[f32], threshold: f32) -> Vec<Face> {
    let mut candidates: Vec<Face> = Vec::new();
    for (i, &(ax, ay)) in anchors.iter().enumerate() {
        let score = 1.0 / (1.0 + (-scores[i].clamp(-100.0, 100.0)).exp());
        if score < threshold {
            continue;
        }
        let raw = &boxes[i * 16..(i + 1) * 16];
        let (cx, cy) = (raw[0] + ax, raw[1] + ay);
        let (w, h) = (raw[2], raw[3]);
        if w <= 0.0 || h <= 0.0 {
            continue;
        }
        let mut coords = [0.0; 16];
        coords[..4].copy_from_slice(&[cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0]);
        for k in 0..6 {
            coords[4 + 2 * k] = raw[4 + 2 * k] + ax;
            coords[5 + 2 * k] = raw[5 + 2 * k] + ay;
        }
        candidates.push(Face { score, coords });
    }
    candidates
}

/// Anchor centres in input pixels, in the order of the model's rows: layer by layer of equal
/// stride, then row by row, column by column, two anchors per layer at each cell.
fn anchors(width: usize, height: usize) -> Vec<(f32, f32)> {
    let mut anchors = Vec::new();
    let mut layer = 0;
    while layer < STRIDES.len() {
        let stride = STRIDES[layer];
        let same = STRIDES[layer..]
            .iter()
            .take_while(|&&s| s == stride)
            .count();
        for y in 0..height / stride {
            for x in 0..width / stride {
                let centre = (
                    (x as f32 + 0.5) * stride as f32,
                    (y as f32 + 0.5) * stride as f32,
                );
                anchors.extend(std::iter::repeat_n(centre, 2 * same));
            }
        }
        layer += same;
    }
    anchors
}

fn iou(a: &[f32; 16], b: &[f32; 16]) -> f32 {
    let w = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let h = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = w * h;
    let area = |c: &[f32; 16]| (c[2] - c[0]) * (c[3] - c[1]);
    inter / (area(a) + area(b) - inter)
}

/// MediaPipe's weighted non-maximum suppression: the best remaining candidate and every
/// candidate overlapping it become one face, its coordinates their score-weighted mean, its
/// score the best one's.
fn weighted_nms(mut candidates: Vec<Face>) -> Vec<Face> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut faces = Vec::new();
    while !candidates.is_empty() {
        let best = candidates[0].coords;
        let (same, rest): (Vec<Face>, Vec<Face>) = candidates
            .into_iter()
            .partition(|c| iou(&best, &c.coords) > SAME_FACE_IOU);
        let total: f32 = same.iter().map(|f| f.score).sum();
        let mut coords = [0.0; 16];
        for f in &same {
            for (sum, v) in coords.iter_mut().zip(f.coords) {
                *sum += v * f.score / total;
            }
        }
        faces.push(Face {
            score: same[0].score,
            coords,
        });
        candidates = rest;
    }
    faces
}

/// Input pixels to the image's.
fn to_image(face: Face, geometry: &Geometry) -> Face {
    let mut coords = face.coords;
    for point in coords.chunks_mut(2) {
        let (x, y) = geometry.to_source(point[0], point[1]);
        (point[0], point[1]) = (x, y);
    }
    Face { coords, ..face }
}

/// The image with a green box around each face and a red dot on each keypoint, as a PNG.
fn draw(image: &Image, faces: &[Face], out: &str) -> Result<(), Box<dyn std::error::Error>> {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let mut rgb = image.pixels().to_vec();
    let mut put = |x: i64, y: i64, colour: [u8; 3]| {
        if (0..w).contains(&x) && (0..h).contains(&y) {
            let i = ((y * w + x) * 3) as usize;
            rgb[i..i + 3].copy_from_slice(&colour);
        }
    };
    let thick = (w.max(h) / 256).max(1);
    for face in faces {
        // coordinates just outside the picture at most: a box far off draws nothing
        let c = face
            .coords
            .map(|v| (v.round() as i64).clamp(-thick, w.max(h) + thick));
        for t in 0..thick {
            for x in c[0]..=c[2] {
                put(x, c[1] + t, [0, 255, 0]);
                put(x, c[3] - t, [0, 255, 0]);
            }
            for y in c[1]..=c[3] {
                put(c[0] + t, y, [0, 255, 0]);
                put(c[2] - t, y, [0, 255, 0]);
            }
        }
        for k in 0..6 {
            let (px, py) = (c[4 + 2 * k], c[5 + 2 * k]);
            for dy in -thick..=thick {
                for dx in -thick..=thick {
                    put(px + dx, py + dy, [255, 0, 0]);
                }
            }
        }
    }
    image::save_buffer(
        out,
        &rgb,
        image.width(),
        image.height(),
        image::ExtendedColorType::Rgb8,
    )
    .map_err(|e| format!("cannot write {out}: {e}"))?;
    Ok(())
}
