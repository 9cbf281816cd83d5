//! `edgerun`: run, inspect and list backends from the command line.
//!
//! Flags follow TensorFlow Lite's `benchmark_model` where they overlap (`--graph`,
//! `--num_threads`, `--input_layer`, `--input_layer_shape`), so device scripts carry over.

#![forbid(unsafe_code)]

mod bench;
mod info;
mod summary;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use edgerun::{fill, npy, CpuAffinity, Model, Options, Platform, Runtime, Tensor};

/// With the `mimalloc` feature, mimalloc serves every allocation. musl's malloc, which the static
/// build would otherwise use, hands large freed blocks back to the kernel at once, so each
/// inference maps and faults in its scratch buffers again.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `println!` that ends the program quietly when stdout is closed (`edgerun ... | head`).
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                std::process::exit(0);
            }
        }
    }};
}

#[derive(Parser)]
#[command(
    name = "edgerun",
    version,
    about = "Run neural-network models on Arm Cortex-A Linux boards"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args)]
struct ModelArgs {
    /// Model file: .onnx, .tflite, or an NNEF directory or .tar/.tgz archive
    #[arg(long)]
    graph: PathBuf,
    /// The backend or variant to run on (see `edgerun info`); auto (default): measure the
    /// candidates and take the fastest whose outputs agree; first: the first in order
    #[arg(long)]
    backend: Option<String>,
    /// List every candidate backend with its skip reason or measured median, and the winner
    #[arg(long)]
    explain: bool,
    /// A policy file (TOML) pinning backends, threads and delegates per model
    #[arg(long)]
    policy: Option<PathBuf>,
    /// File of measured backend choices, or `off` (default: $EDGERUN_CACHE, else
    /// $XDG_CACHE_HOME/edgerun/decisions.json)
    #[arg(long = "decision_cache")]
    decision_cache: Option<String>,
    /// Milliseconds auto may spend timing candidates at load (default 500); 0 takes the first
    /// candidate in order
    #[arg(long = "measure_ms")]
    measure_ms: Option<u64>,
    /// The largest tensor, in MB (10^6 bytes), edgerun makes or lets a backend prepare
    /// (default: half of the memory this process may use)
    #[arg(long = "max_tensor_mb", value_parser = clap::value_parser!(u64).range(1..))]
    max_tensor_mb: Option<u64>,
    #[command(flatten)]
    placement: PlacementArgs,
    /// Input names the shapes of --input_layer_shape belong to, comma-separated
    /// (default: the model's inputs in order)
    #[arg(long = "input_layer", value_delimiter = ',')]
    input_layer: Vec<String>,
    /// Shapes for inputs with dynamic dimensions: dims separated by commas, inputs by colons,
    /// e.g. 1,3,224,224:1,10
    #[arg(long = "input_layer_shape")]
    input_layer_shape: Option<String>,
    #[command(flatten)]
    backends: BackendArgs,
}

/// Threads and CPUs for inference.
#[derive(clap::Args)]
struct PlacementArgs {
    /// Threads for one inference; -1: edgerun's default for this device (one per big core
    /// this process may use; see `edgerun info`)
    #[arg(long = "num_threads", default_value_t = -1, allow_negative_numbers = true)]
    num_threads: i64,
    /// CPUs for inference threads: big, little, all, default, or a list such as 0-3,6
    #[arg(long = "cpu_affinity", default_value = "default")]
    cpu_affinity: String,
}

impl PlacementArgs {
    fn apply(&self, mut rt: Runtime) -> Result<Runtime> {
        match self.num_threads {
            -1 => {}
            n if n >= 1 => rt = rt.with_threads(usize::try_from(n)?),
            n => bail!("--num_threads={n}: give a number of threads of at least 1, or -1 for edgerun's default for this device"),
        }
        Ok(rt.with_affinity(self.cpu_affinity.parse::<CpuAffinity>()?))
    }
}

/// Every backend's own settings (`Backend::settings`), offered as `--key value` flags: the
/// CLI knows no backend's options, only how to pass them on.
#[derive(Default)]
struct BackendArgs {
    given: Vec<(&'static str, String)>,
}

impl BackendArgs {
    fn settings() -> Vec<(&'static str, &'static edgerun::Setting)> {
        Runtime::new().settings()
    }

    /// Apply the settings given to the runtime's backends.
    fn apply(&self, mut rt: Runtime) -> Result<Runtime> {
        for (key, value) in &self.given {
            rt = rt
                .configure(key, value)
                .with_context(|| format!("--{key}={value}"))?;
        }
        Ok(rt)
    }
}

impl clap::FromArgMatches for BackendArgs {
    fn from_arg_matches(m: &clap::ArgMatches) -> std::result::Result<Self, clap::Error> {
        let mut args = BackendArgs::default();
        args.update_from_arg_matches(m)?;
        Ok(args)
    }

    fn update_from_arg_matches(
        &mut self,
        m: &clap::ArgMatches,
    ) -> std::result::Result<(), clap::Error> {
        for (_, s) in BackendArgs::settings() {
            if let Ok(Some(v)) = m.try_get_one::<String>(s.key) {
                self.given.retain(|(k, _)| *k != s.key);
                self.given.push((s.key, v.clone()));
            }
        }
        Ok(())
    }
}

impl clap::Args for BackendArgs {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for (backend, s) in BackendArgs::settings() {
            let default = s
                .default
                .map(|d| format!(" [default: {d}]"))
                .unwrap_or_default();
            // a wrong word is the library's one-line error, which names the words
            let choices = match s.choices() {
                [] => String::new(),
                words => format!(" [one of: {}]", words.join(", ")),
            };
            let mut arg = clap::Arg::new(s.key)
                .long(s.key)
                .value_name(s.value_name())
                .help(format!("{} backend: {}{choices}{default}", backend, s.help));
            if s.is_bool() {
                arg = arg.num_args(0..=1).default_missing_value("true");
            }
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        BackendArgs::augment_args(cmd)
    }
}

/// An image as a model input (JPEG or PNG), resized and normalized to fit it.
#[cfg(feature = "image")]
#[derive(clap::Args)]
struct ImageArgs {
    /// Image for an image input: [NAME=]FILE (default: the first input shaped like an image)
    #[arg(long, value_name = "[NAME=]FILE")]
    image: Option<String>,
    /// How the image's aspect ratio meets the input's
    #[arg(long = "image_fit", value_enum, default_value_t = ImageFit::Stretch)]
    fit: ImageFit,
    /// Pixel values the model expects: LO:HI (e.g. 0:1, -1:1), raw (0-255), or imagenet
    /// (torchvision's mean and std)
    #[arg(long = "image_normalize", default_value = "0:1")]
    normalize: String,
    /// Channel order the model expects
    #[arg(long = "image_order", value_enum, default_value_t = ImageOrder::Rgb)]
    order: ImageOrder,
    /// Sampling when resizing
    #[arg(long = "image_resize", value_enum, default_value_t = ImageResize::Bilinear)]
    resize: ImageResize,
}

#[cfg(feature = "image")]
#[derive(Clone, Copy, ValueEnum)]
enum ImageFit {
    /// The whole image onto the whole input
    Stretch,
    /// Keep the aspect ratio, pad with black
    Letterbox,
    /// Keep the aspect ratio, cut to the centre
    Crop,
}

#[cfg(feature = "image")]
#[derive(Clone, Copy, ValueEnum)]
enum ImageOrder {
    Rgb,
    Bgr,
}

#[cfg(feature = "image")]
#[derive(Clone, Copy, ValueEnum)]
enum ImageResize {
    Bilinear,
    Nearest,
}

#[derive(Clone, Copy, ValueEnum)]
enum Fill {
    /// Uniform values in [-1, 1) (integers over their range), from --seed
    Random,
    Zeros,
}

#[derive(Subcommand)]
enum Command {
    /// Benchmark a model as TensorFlow Lite's benchmark_model does, on any backend: the same
    /// --flag=value flags and output lines (see `edgerun bench --help=true`). The binary called
    /// as `benchmark_model` (e.g. a symlink) is this command.
    #[command(disable_help_flag = true)]
    Bench {
        /// benchmark_model flags, e.g. --graph=model.tflite --num_threads=4
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<String>,
    },
    /// Run a model once and print a summary of each output
    Run {
        #[command(flatten)]
        model: Box<ModelArgs>,
        /// Input data, NAME=FILE.npy; repeat for each input
        #[arg(long = "input", value_name = "NAME=FILE.npy")]
        inputs: Vec<String>,
        /// Values for inputs given no file
        #[arg(long = "input_fill", value_enum, default_value_t = Fill::Random)]
        fill: Fill,
        /// Seed of the random input values
        #[arg(long, default_value_t = 0)]
        seed: u64,
        #[cfg(feature = "image")]
        #[command(flatten)]
        image: ImageArgs,
        /// Write each output as NAME.npy in this directory
        #[arg(long = "output_dir")]
        output_dir: Option<PathBuf>,
    },
    /// Print a model's format, inputs and outputs
    Inspect {
        /// Model file: .onnx, .tflite, or an NNEF directory or archive
        #[arg(long)]
        graph: PathBuf,
        /// Read the model with this backend
        #[arg(long)]
        backend: Option<String>,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// Describe the device (CPU clusters, features, default threads and CPUs) and the
    /// backends that can run here
    Info {
        /// Print one JSON object (schema in crates/edgerun-cli/INFO.md)
        #[arg(long)]
        json: bool,
        /// Describe the device captured under this directory (its proc/ and sys/ files, see
        /// crates/edgerun-core/tests/fixtures/capture) instead of this machine
        #[arg(long = "platform_root")]
        platform_root: Option<PathBuf>,
        #[command(flatten)]
        placement: PlacementArgs,
        #[command(flatten)]
        backends: BackendArgs,
    },
}

fn main() -> ExitCode {
    // tract reports failed shape inferences while it loads a model as errors, which capture a
    // backtrace when RUST_BACKTRACE or RUST_LIB_BACKTRACE asks for one. edgerun never prints
    // those backtraces, and taking them made loading up to 8x slower in the static musl build.
    // Panics keep theirs (RUST_BACKTRACE alone governs them). No thread exists yet.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    // tract's panics on corrupt models are caught and reported as errors; keep the default
    // multi-line panic report out of the way unless a backtrace is asked for
    if std::env::var_os("RUST_BACKTRACE").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
    let mut argv = std::env::args_os();
    let program = argv
        .next()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    // called as benchmark_model: every argument is a benchmark flag
    if Path::new(&program)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().starts_with("benchmark_model"))
    {
        let args: Vec<String> = argv.map(|a| a.to_string_lossy().into_owned()).collect();
        return bench_guarded(&program, &args);
    }
    let cli = Cli::parse();
    if let Command::Bench { args } = &cli.command {
        return bench_guarded(&format!("{program} bench"), args);
    }
    match std::panic::catch_unwind(|| dispatch(cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            let mut msg = error_text(&e);
            if let Some(hint) = e.downcast_ref::<edgerun::Error>().and_then(flag_hint) {
                msg.push_str(&hint);
            }
            eprintln!(
                "error: {}",
                msg.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "error: internal error in edgerun; rerun with RUST_BACKTRACE=1 and report it"
            );
            ExitCode::from(101)
        }
    }
}

/// The benchmark, with a panic turned into benchmark_model's failure lines.
fn bench_guarded(program: &str, args: &[String]) -> ExitCode {
    std::panic::catch_unwind(|| bench::main(program, args)).unwrap_or_else(|_| {
        eprintln!("ERROR: internal error in edgerun; rerun with RUST_BACKTRACE=1 and report it");
        eprintln!("ERROR: Benchmarking failed.");
        ExitCode::from(101)
    })
}

fn dispatch(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Bench { .. } => unreachable!("handled before dispatch"),
        Command::Run {
            model,
            inputs,
            fill,
            seed,
            #[cfg(feature = "image")]
            image,
            output_dir,
        } => {
            #[cfg(feature = "image")]
            let image = Some(&image);
            #[cfg(not(feature = "image"))]
            let image = None;
            // before any input file is read: the limit applies to them too
            if let Some(mb) = model.max_tensor_mb {
                edgerun::limits::set_max_tensor_bytes(mb.saturating_mul(1_000_000));
            }
            run(&model, &inputs, fill, seed, image, output_dir.as_deref())
        }
        Command::Inspect {
            graph,
            backend,
            backends,
        } => inspect(&graph, backend, &backends),
        Command::Info {
            json,
            platform_root,
            placement,
            backends,
        } => info(json, platform_root.as_deref(), &placement, &backends),
    }
}

/// Parse `--input_layer_shape` (`1,3,224,224:1,10`).
fn parse_shapes(text: &str) -> Result<Vec<Vec<usize>>> {
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

fn runtime(args: &ModelArgs, extra_shapes: &[(String, Vec<usize>)]) -> Result<Runtime> {
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
    let mut rt = args.placement.apply(rt.with_options(options))?;
    if let Some(b) = &args.backend {
        rt = rt.with_backend(b.clone());
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
fn image_input(model: &Model, a: &ImageArgs) -> Result<Option<(String, Tensor)>> {
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
enum ImageArgs {}

#[cfg(not(feature = "image"))]
fn image_input(_: &Model, a: &ImageArgs) -> Result<Option<(String, Tensor)>> {
    match *a {}
}

fn run(
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
    eprintln!(
        "model {} ({}) on backend {}",
        model.path().display(),
        model.format(),
        model.backend()
    );
    if args.explain {
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

    if let Some(a) = image {
        if let Some((name, t)) = image_input(&model, a)? {
            if given.iter().any(|(n, _)| *n == name) {
                bail!("input {name:?} is given both by --input and by --image; give it once");
            }
            given.push((name, t));
        }
    }
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

/// An error and its causes, each said once: a cause whose text its error already quotes is
/// left out.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let c = cause.to_string();
        if !text.contains(&c) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&c);
        }
        // an edgerun error's message already says what its source (an engine's error, an
        // I/O error) says
        if cause.downcast_ref::<edgerun::Error>().is_some() {
            break;
        }
    }
    text
}

/// What to do about an error on the command line, where the library's message names only
/// library terms.
pub(crate) fn flag_hint(e: &edgerun::Error) -> Option<String> {
    match e {
        edgerun::Error::MissingInputShape { input, .. } => Some(format!(
            "; on the command line: --input_layer={input} --input_layer_shape=1,..."
        )),
        edgerun::Error::TooLarge { .. } => {
            Some("; on the command line: --max_tensor_mb=N (MB)".into())
        }
        edgerun::Error::ImageSizeOpen { input, .. } => Some(format!(
            "; on the command line: --input_layer={input} --input_layer_shape=1,..."
        )),
        edgerun::Error::LibraryNotFound { backend, .. } => Runtime::new()
            .backends()
            .iter()
            .find(|b| b.name() == backend)
            .and_then(|b| b.descriptor().library_setting)
            .map(|key| format!("; on the command line: --{key}=PATH")),
        _ => None,
    }
}

/// `N thread(s), pinned to CPUs 4-7: why` (or `not pinned`).
pub(crate) fn placement_line(placement: &edgerun::Placement) -> String {
    format!(
        "{} thread(s), {}: {}",
        placement.threads,
        match &placement.affinity {
            Some(cpus) => format!(
                "pinned to CPUs {}",
                edgerun::platform::cpulist::format(cpus)
            ),
            None => "not pinned".into(),
        },
        placement.why
    )
}

fn session_run(model: &Model, inputs: &[(&str, &Tensor)]) -> Result<edgerun::Outputs> {
    Ok(model.session()?.run_named(inputs)?)
}

fn inspect(graph: &Path, backend: Option<String>, backends: &BackendArgs) -> Result<()> {
    let mut rt = backends.apply(Runtime::new())?;
    if let Some(b) = backend {
        rt = rt.with_backend(b);
    }
    let (source, backend, info) = rt.inspect(graph)?;
    out!("model: {}", source.path().display());
    out!("format: {}", source.format());
    out!("read by: {backend}");
    if let Some(b) = rt.backends().iter().find(|b| b.name() == backend) {
        match b.availability() {
            edgerun::Availability::Available { detail } => out!("backend: {detail}"),
            edgerun::Availability::Unavailable { reason } => {
                out!("backend cannot run it here: {reason}")
            }
        }
    }
    out!("inputs:");
    for t in &info.inputs {
        out!("  {t}");
    }
    out!("outputs:");
    for t in &info.outputs {
        if info.output_shapes_known {
            out!("  {t}");
        } else {
            out!(
                "  {} {} [shape known once input shapes are given]",
                t.name,
                t.dtype
            );
        }
    }
    Ok(())
}

fn info(
    json: bool,
    root: Option<&Path>,
    placement: &PlacementArgs,
    backends: &BackendArgs,
) -> Result<()> {
    let mut rt = backends.apply(Runtime::new())?;
    if let Some(root) = root {
        if !root.is_dir() {
            bail!(
                "--platform_root {}: no such directory; give a directory holding a captured proc/ and sys/",
                root.display()
            );
        }
        rt = rt.with_platform(Platform::from_root(root));
    }
    let rt = placement.apply(rt)?;
    // an affinity that cannot be honoured here is an error, not a field of the report
    rt.placement()?;
    let report = rt.report();
    if json {
        out!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    for line in info::text(&report) {
        out!("{line}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_says_each_cause_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let e = anyhow::Error::new(edgerun::Error::Io {
            path: "x.npy".into(),
            source: io.into(),
        })
        .context("--input x=x.npy");
        let text = error_text(&e);
        assert_eq!(text.matches("not found").count(), 1, "{text}");
        assert!(
            text.starts_with("--input x=x.npy: cannot read \"x.npy\""),
            "{text}"
        );
    }

    #[test]
    fn parses_shape_lists() {
        assert_eq!(
            parse_shapes("1,3,224,224:1,10").unwrap(),
            vec![vec![1, 3, 224, 224], vec![1, 10]]
        );
        let e = parse_shapes("1,x").unwrap_err().to_string();
        assert!(e.contains("\"x\""), "{e}");
    }
}
