//! `edgerun run`: the runtime the flags describe, the inputs (files, images, filled), the
//! outputs written and summarised.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use edgerun::{fill, npy, Model, Options, Runtime, Tensor};

use crate::args::*;
use crate::*;

/// Parse `--input_layer_shape` (`1,3,224,224:1,10`).
pub(crate) fn parse_shapes(text: &str) -> Result<Vec<Vec<usize>>> {
    edgerun::tensor::parse_shapes(text).map_err(|e| anyhow!("--input_layer_shape: {e}"))
}

/// Pair `--input_layer` names with `--input_layer_shape` shapes; without names, shapes go to
/// the model's inputs in order.
pub(crate) fn shape_options(
    rt: &Runtime,
    graph: &Path,
    names: &[String],
    shapes: Vec<Vec<usize>>,
) -> Result<Vec<(String, Vec<usize>)>> {
    if shapes.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = if names.is_empty() {
        let (_, _, declared) = rt.inspect(graph)?;
        declared.inputs.into_iter().map(|i| i.name).collect()
    } else {
        names.to_vec()
    };
    if names.len() < shapes.len() {
        bail!(
            "The number of items in --input_layer_shape ({} items) must match the number of items in --input_layer ({} items: {}). For example --input_layer=input1,input2 --input_layer_shape=1,224,224,4:1,20",
            shapes.len(),
            names.len(),
            names.join(",")
        );
    }
    Ok(names.into_iter().zip(shapes).collect())
}

pub(crate) fn runtime(args: &ModelArgs, extra_shapes: &[(String, Vec<usize>)]) -> Result<Runtime> {
    let mut options = Options::new();
    for (name, shape) in extra_shapes {
        options = options.with_input_shape(name.clone(), shape.clone());
    }
    let rt = args.backends.apply(Runtime::new())?;
    if let Some(shapes) = &args.input_layer_shape {
        let shapes = parse_shapes(shapes)?;
        if !args.input_layer.is_empty() && args.input_layer.len() != shapes.len() {
            bail!(
                "--input_layer names {} input(s) but --input_layer_shape gives {} shape(s); give one shape per input",
                args.input_layer.len(),
                shapes.len()
            );
        }
        for (name, shape) in shape_options(&rt, &args.graph, &args.input_layer, shapes)? {
            options = options.with_input_shape(name, shape);
        }
    }
    let mut rt = args
        .isolation
        .apply(args.placement.apply(rt.with_options(options))?);
    if let Some(b) = &args.backend {
        rt = rt.with_backend(b.clone());
    }
    rt = rt.with_thread_search(args.measure_threads);
    if let Some(p) = args
        .precision
        .as_deref()
        .and_then(edgerun::Precision::parse)
    {
        rt = rt.with_precision(p);
    }
    dispatch_args(
        rt,
        args.policy.as_deref(),
        args.decision_cache.as_deref(),
        args.measure_ms,
    )
}

/// The dispatcher's flags: policy file, decision cache, measuring budget.
pub(crate) fn dispatch_args(
    mut rt: Runtime,
    policy: Option<&Path>,
    cache: Option<&str>,
    measure_ms: Option<u64>,
) -> Result<Runtime> {
    if let Some(p) = policy {
        rt = rt.with_policy(edgerun::Policy::from_file(p)?)?;
    }
    match cache {
        None | Some("") => {}
        Some("off") => rt = rt.with_cache(edgerun::CacheSetting::Off),
        Some(path) => rt = rt.with_cache(edgerun::CacheSetting::File(path.into())),
    }
    if let Some(ms) = measure_ms {
        rt = rt.with_measure_budget(std::time::Duration::from_millis(ms));
    }
    Ok(rt)
}

/// The input `--image` names (or the first image-shaped one) made of the image file.
#[cfg(feature = "image")]
pub(crate) fn image_input(model: &Model, a: &ImageArgs) -> Result<Option<(String, Tensor)>> {
    let Some(spec) = a.image.as_deref() else {
        return Ok(None);
    };
    use edgerun::preprocess::{
        image_layout, ChannelOrder, Fit, Image, Normalize, Preprocess, Resize,
    };
    let (name, file) = match spec.split_once('=') {
        Some((n, f)) if model.inputs().iter().any(|i| i.name == n) => (Some(n), f),
        _ => (None, spec),
    };
    let ix = match name {
        Some(n) => model.inputs().iter().position(|i| i.name == n).expect("checked above"),
        None => (0..model.inputs().len())
            .find(|&i| {
                model
                    .prepared_shape(i)
                    .is_some_and(|s| image_layout(&model.inputs()[i], &s).is_ok())
            })
            .ok_or_else(|| {
                anyhow!(
                    "--image: no input of the model is shaped like an image ([1,H,W,3], [1,3,H,W], or 1 channel); its inputs: {}",
                    edgerun::backend::names(model.inputs())
                )
            })?,
    };
    let normalize = match a.normalize.as_str() {
        "raw" => Normalize::Raw,
        // ImageNet's constants are given for R, G, B; the model's order may be B, G, R
        "imagenet" => {
            let (mut mean, mut std) = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
            if matches!(a.order, ImageOrder::Bgr) {
                mean.reverse();
                std.reverse();
            }
            Normalize::MeanStd { mean, std }
        }
        range => {
            let parsed = range
                .split_once(':')
                .and_then(|(lo, hi)| Some((lo.parse::<f32>().ok()?, hi.parse::<f32>().ok()?)));
            let Some((lo, hi)) = parsed else {
                bail!("--image_normalize={range}: give LO:HI (e.g. 0:1 or -1:1), raw or imagenet");
            };
            Normalize::Range(lo, hi)
        }
    };
    let how = Preprocess {
        resize: match a.resize {
            ImageResize::Bilinear => Resize::Bilinear,
            ImageResize::Nearest => Resize::Nearest,
        },
        fit: match a.fit {
            ImageFit::Stretch => Fit::Stretch,
            ImageFit::Letterbox => Fit::Letterbox { pad: [0, 0, 0] },
            ImageFit::Crop => Fit::CenterCrop,
        },
        order: match a.order {
            ImageOrder::Rgb => ChannelOrder::Rgb,
            ImageOrder::Bgr => ChannelOrder::Bgr,
        },
        normalize,
    };
    let img = Image::open(file)?;
    let (t, _) = model.image_input(ix, &img, &how)?;
    let info = &model.inputs()[ix];
    eprintln!(
        "input {:?} {} [{}]: image {file} ({}x{}), {:?}, {:?}, {:?}",
        info.name,
        info.dtype,
        edgerun::error::shape_string(t.shape()),
        img.width(),
        img.height(),
        how.fit,
        how.resize,
        how.normalize
    );
    Ok(Some((info.name.clone(), t)))
}

/// Without image support there are no image flags.
#[cfg(not(feature = "image"))]
pub(crate) enum ImageArgs {}

#[cfg(not(feature = "image"))]
pub(crate) fn image_input(_: &Model, a: &ImageArgs) -> Result<Option<(String, Tensor)>> {
    match *a {}
}

/// Where the model runs and why, on stderr: the backend, the decision (in full with
/// `--explain`), the backend's notes, the placement.
fn describe(model: &Model, explain: bool) {
    eprintln!(
        "model {} ({}) on backend {}",
        model.path().display(),
        model.format(),
        model.backend()
    );
    if explain {
        for line in model.decision().to_string().lines() {
            eprintln!("  {line}");
        }
    } else {
        let d = model.decision();
        eprintln!(
            "  {}: {} (--explain lists every candidate)",
            d.chosen, d.source
        );
        for w in d.warnings() {
            eprintln!("  warning: {w}");
        }
    }
    for note in model.notes() {
        eprintln!("  {note}");
    }
    eprintln!("  {}", placement_line(model.placement()));
}

/// The model's inputs in its order: those given, and the rest filled (zeros or seeded random
/// values) at their prepared shapes; an input given that the model lacks is an error.
fn complete_inputs(
    model: &Model,
    mut given: Vec<(String, Tensor)>,
    fill: Fill,
    seed: u64,
) -> Result<Vec<(String, Tensor)>> {
    let mut inputs: Vec<(String, Tensor)> = Vec::new();
    for (ix, info) in model.inputs().iter().enumerate() {
        if let Some(pos) = given.iter().position(|(n, _)| *n == info.name) {
            inputs.push(given.remove(pos));
            continue;
        }
        let Some(shape) = model.prepared_shape(ix) else {
            bail!(
                "input {:?} [{}] has dimensions the model leaves open; give its data (--input {}=FILE.npy) or its shape (--input_layer={} --input_layer_shape=...)",
                info.name,
                info.shape_string(),
                info.name,
                info.name
            );
        };
        let t = match fill {
            Fill::Zeros => Tensor::zeros(info.dtype, shape.clone())?,
            Fill::Random => fill::random(info, &shape, seed.wrapping_add(ix as u64))?,
        };
        let how = match fill {
            Fill::Zeros => "zeros".to_string(),
            Fill::Random => format!("seeded random values (seed {seed})"),
        };
        eprintln!(
            "input {:?} {} [{}]: no file given, using {how}",
            info.name,
            info.dtype,
            edgerun::error::shape_string(&shape)
        );
        inputs.push((info.name.clone(), t));
    }
    if let Some((name, _)) = given.first() {
        return Err(edgerun::Error::UnknownInput {
            name: name.clone(),
            known: edgerun::backend::names(model.inputs()),
        }
        .into());
    }

    Ok(inputs)
}

pub(crate) fn run(
    args: &ModelArgs,
    input_args: &[String],
    fill: Fill,
    seed: u64,
    image: Option<&ImageArgs>,
    output_dir: Option<&Path>,
) -> Result<()> {
    let mut given: Vec<(String, Tensor)> = Vec::new();
    for spec in input_args {
        let (name, file) = spec
            .split_once('=')
            .ok_or_else(|| anyhow!("--input {spec:?}: write it as NAME=FILE.npy"))?;
        let tensor = npy::read(file)?;
        given.push((name.to_string(), tensor));
    }
    // a file fixes the shape of a dynamic input unless --input_layer_shape says otherwise
    let from_files: Vec<(String, Vec<usize>)> = given
        .iter()
        .map(|(n, t)| (n.clone(), t.shape().to_vec()))
        .collect();
    let model = runtime(args, &from_files)?.load(&args.graph)?;
    describe(&model, args.explain);

    if let Some(a) = image {
        if let Some((name, t)) = image_input(&model, a)? {
            if given.iter().any(|(n, _)| *n == name) {
                bail!("input {name:?} is given both by --input and by --image; give it once");
            }
            given.push((name, t));
        }
    }
    let inputs = complete_inputs(&model, given, fill, seed)?;
    let named: Vec<(&str, &Tensor)> = inputs.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let outputs = session_run(&model, &named)?;
    if let Some(dir) = output_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create output directory {}", dir.display()))?;
    }
    for (name, t) in outputs.iter() {
        out!("{}", summary::describe(name, t));
        if let Some(dir) = output_dir {
            let path = dir.join(format!("{}.npy", summary::file_stem(name)));
            npy::write(&path, t)?;
            out!("  written to {}", path.display());
        }
    }
    Ok(())
}

pub(crate) fn session_run(model: &Model, inputs: &[(&str, &Tensor)]) -> Result<edgerun::Outputs> {
    Ok(model.session()?.run_named(inputs)?)
}
