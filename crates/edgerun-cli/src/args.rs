//! The command line: commands, their flags, and the backends' settings offered as flags.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use edgerun::{CpuAffinity, Runtime};

#[derive(Parser)]
#[command(
    name = "edgerun",
    version,
    about = "Run neural-network models on Arm Cortex-A Linux boards"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(clap::Args)]
pub(crate) struct ModelArgs {
    /// Model file: .onnx, .tflite, or an NNEF directory or .tar/.tgz archive
    #[arg(long)]
    pub(crate) graph: PathBuf,
    /// The backend or variant to run on (see `edgerun info`); auto (default): measure the
    /// candidates and take the fastest whose outputs agree; first: the first in order
    #[arg(long)]
    pub(crate) backend: Option<String>,
    /// List every candidate backend with its skip reason or measured median, and the winner
    #[arg(long)]
    pub(crate) explain: bool,
    /// A policy file (TOML) pinning backends, threads and delegates per model
    #[arg(long)]
    pub(crate) policy: Option<PathBuf>,
    /// File of measured backend choices, or `off` (default: $EDGERUN_CACHE, else
    /// $XDG_CACHE_HOME/edgerun/decisions.json)
    #[arg(long = "decision_cache")]
    pub(crate) decision_cache: Option<String>,
    /// Milliseconds auto may spend timing candidates at load (default 500); 0 takes the first
    /// candidate in order
    #[arg(long = "measure_ms")]
    pub(crate) measure_ms: Option<u64>,
    /// With auto and no --num_threads, also measure the winning backend at 1 thread, at half
    /// the default and (big.LITTLE) on every core unpinned, and keep the fastest count whose
    /// outputs agree [default: true]
    #[arg(
        long = "measure_threads",
        value_name = "BOOL",
        num_args = 0..=1,
        default_value_t = true,
        default_missing_value = "true",
        action = clap::ArgAction::Set
    )]
    pub(crate) measure_threads: bool,
    /// The arithmetic auto may choose: exact (default), or fp16 (each backend's fp16 twin is
    /// also measured on CPUs with fp16 arithmetic, and kept only within the fp16 guard)
    #[arg(long, value_parser = ["exact", "fp16"])]
    pub(crate) precision: Option<String>,
    #[command(flatten)]
    pub(crate) isolation: IsolationArgs,
    /// The largest tensor, in MB (10^6 bytes), edgerun makes or lets a backend prepare
    /// (default: half of the memory this process may use)
    #[arg(long = "max_tensor_mb", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) max_tensor_mb: Option<u64>,
    #[command(flatten)]
    pub(crate) placement: PlacementArgs,
    /// Input names the shapes of --input_layer_shape belong to, comma-separated
    /// (default: the model's inputs in order)
    #[arg(long = "input_layer", value_delimiter = ',')]
    pub(crate) input_layer: Vec<String>,
    /// Shapes for inputs with dynamic dimensions: dims separated by commas, inputs by colons,
    /// e.g. 1,3,224,224:1,10
    #[arg(long = "input_layer_shape")]
    pub(crate) input_layer_shape: Option<String>,
    #[command(flatten)]
    pub(crate) backends: BackendArgs,
}

/// Containment of engine crashes.
#[derive(clap::Args)]
pub(crate) struct IsolationArgs {
    /// probe (default): each backend first loads the model and runs it once in a helper
    /// process (this executable), so that an engine crash on the model is an error, not the end
    /// of edgerun; the verdict is kept in the decision cache. off: load in this process only
    #[arg(long, value_enum, default_value_t = IsolationMode::Probe)]
    pub(crate) isolation: IsolationMode,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum IsolationMode {
    Probe,
    Off,
}

impl IsolationArgs {
    pub(crate) fn apply(&self, rt: Runtime) -> Runtime {
        match self.isolation {
            IsolationMode::Probe => rt.with_isolation(edgerun::Isolation::probe()),
            IsolationMode::Off => rt.with_isolation(edgerun::Isolation::Off),
        }
    }
}

/// Threads and CPUs for inference.
#[derive(clap::Args)]
pub(crate) struct PlacementArgs {
    /// Threads for one inference; -1: edgerun's default for this device (one per big core
    /// this process may use; see `edgerun info`)
    #[arg(long = "num_threads", default_value_t = -1, allow_negative_numbers = true)]
    pub(crate) num_threads: i64,
    /// CPUs for inference threads: big, little, all, default, or a list such as 0-3,6
    #[arg(long = "cpu_affinity", default_value = "default")]
    pub(crate) cpu_affinity: String,
}

impl PlacementArgs {
    pub(crate) fn apply(&self, mut rt: Runtime) -> Result<Runtime> {
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
pub(crate) struct BackendArgs {
    pub(crate) given: Vec<(&'static str, String)>,
}

impl BackendArgs {
    pub(crate) fn settings() -> Vec<(&'static str, &'static edgerun::Setting)> {
        Runtime::new().settings()
    }

    /// Apply the settings given to the runtime's backends.
    pub(crate) fn apply(&self, mut rt: Runtime) -> Result<Runtime> {
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
pub(crate) struct ImageArgs {
    /// Image for an image input: [NAME=]FILE (default: the first input shaped like an image)
    #[arg(long, value_name = "[NAME=]FILE")]
    pub(crate) image: Option<String>,
    /// How the image's aspect ratio meets the input's
    #[arg(long = "image_fit", value_enum, default_value_t = ImageFit::Stretch)]
    pub(crate) fit: ImageFit,
    /// Pixel values the model expects: LO:HI (e.g. 0:1, -1:1), raw (0-255), or imagenet
    /// (torchvision's mean and std)
    #[arg(long = "image_normalize", default_value = "0:1")]
    pub(crate) normalize: String,
    /// Channel order the model expects
    #[arg(long = "image_order", value_enum, default_value_t = ImageOrder::Rgb)]
    pub(crate) order: ImageOrder,
    /// Sampling when resizing
    #[arg(long = "image_resize", value_enum, default_value_t = ImageResize::Bilinear)]
    pub(crate) resize: ImageResize,
}

#[cfg(feature = "image")]
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ImageFit {
    /// The whole image onto the whole input
    Stretch,
    /// Keep the aspect ratio, pad with black
    Letterbox,
    /// Keep the aspect ratio, cut to the centre
    Crop,
}

#[cfg(feature = "image")]
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ImageOrder {
    Rgb,
    Bgr,
}

#[cfg(feature = "image")]
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum ImageResize {
    Bilinear,
    Nearest,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Fill {
    /// Uniform values in [-1, 1) (integers over their range), from --seed
    Random,
    Zeros,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum CacheAction {
    Show,
    Clear,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
        isolation: IsolationArgs,
        #[command(flatten)]
        backends: BackendArgs,
    },
    /// Show or empty the store of measured decisions and kept artifacts (XNNPACK's packed
    /// weights)
    Cache {
        /// show: what it holds; clear: remove it all (the next load of each model measures
        /// and packs again)
        #[arg(value_enum, default_value_t = CacheAction::Show)]
        action: CacheAction,
        /// The decision file, or `off` (default: $EDGERUN_CACHE, else
        /// $XDG_CACHE_HOME/edgerun/decisions.json); artifacts are in `artifacts/` beside it
        #[arg(long = "decision_cache")]
        decision_cache: Option<String>,
    },
    /// The helper that loads a model and runs it once, for containment: reads a request on
    /// standard input (see edgerun::isolation), answers on standard output
    #[command(hide = true)]
    Probe,
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
