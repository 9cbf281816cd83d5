//! edgerun runs neural-network models on the CPU and accelerators of Arm Cortex-A Linux boards.
//!
//! Hand it a model file; it recognises the format from the file's bytes, picks a backend that
//! can run it on this device, prepares the model once and gives sessions that turn input
//! [`Tensor`]s into output tensors.
//!
//! ```
//! # fn main() -> Result<(), edgerun::Error> {
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/mobilenetv2_mini.onnx");
//! use edgerun::{Runtime, Tensor};
//!
//! let model = Runtime::new().with_threads(2).load(path)?;
//! println!("{} runs on {}", model.path().display(), model.backend());
//!
//! let input = Tensor::from_vec(vec![1, 3, 224, 224], vec![0.5f32; 3 * 224 * 224])?;
//! let mut session = model.session()?;
//! let outputs = session.run_named(&[("input", &input)])?;
//! let logits = outputs.get("logits").expect("the model has a logits output");
//! assert_eq!(logits.shape(), &[1, 100]);
//! # Ok(())
//! # }
//! ```
//!
//! Backends are cargo features: `tract` (on by default) is pure-Rust CPU inference for ONNX,
//! NNEF and part of TensorFlow Lite. A backend compiled out still appears in
//! [`Runtime::backends`], reporting itself unavailable and why.

#![forbid(unsafe_code)]

/// The README's examples, compiled and run as doctests (from this crate's directory, where
/// `models` links to the workspace's models).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use edgerun_core::platform::{cpulist, PinGuard};

pub use edgerun_core::f16;

/// The tract backend, to configure and [`Runtime::register`].
#[cfg(feature = "tract")]
pub use edgerun_tract as tract;

pub use edgerun_core::{
    backend, check_inputs, dtype, error, format, library, npy, order_inputs, platform, tensor,
    AsTensorView, Availability, Backend, BackendReport, CpuAffinity, DType, Data, DataRef,
    DelegateReport, Descriptor, Dim, Element, Error, ErrorKind, ModelFormat, ModelInfo,
    ModelSource, OpTiming, Options, Placement, Platform, Prepared, Quant, Result, Session, Setting,
    Tensor, TensorInfo, TensorView, Tolerance,
};

mod report;
/// The LiteRT backend, to configure (library path) and [`Runtime::register`].
#[cfg(feature = "litert")]
pub use edgerun_litert as litert;
#[cfg(feature = "ort")]
pub use edgerun_ort as ort;
/// The TensorFlow Lite backend, to configure (library path, XNNPACK, external delegates) and
/// [`Runtime::register`].
#[cfg(feature = "tflite")]
pub use edgerun_tflite as tflite;
pub use report::{BuildReport, DeviceReport, PlacementReport, Report, REPORT_SCHEMA};

/// Every backend edgerun knows, in order of preference: name, cargo feature, constructor.
/// This list is the one place a backend is named; its formats come from the backend itself.
/// A backend whose cargo feature is off is listed as a stand-in that reports itself
/// unavailable and says which feature to enable.
macro_rules! backends {
    ($( $name:literal, $feature:literal, $ctor:expr; )*) => {
        /// `(name, cargo feature)` of every backend, in order of preference.
        pub const BACKENDS: &[(&str, &str)] = &[$(($name, $feature)),*];

        /// Names of the backends compiled into this build.
        fn compiled_in() -> Vec<&'static str> {
            let mut v = Vec::new();
            $(
                if cfg!(feature = $feature) {
                    v.push($name);
                }
            )*
            v
        }

        fn compiled_backends() -> Vec<Box<dyn Backend>> {
            vec![$(
                {
                    #[cfg(feature = $feature)]
                    let b: Box<dyn Backend> = Box::new($ctor);
                    #[cfg(not(feature = $feature))]
                    let b: Box<dyn Backend> = {
                        static DESCRIPTOR: Descriptor = Descriptor { name: $name, formats: &[] };
                        Box::new(Disabled { descriptor: &DESCRIPTOR, feature: $feature })
                    };
                    b
                },
            )*]
        }
    };
}

backends! {
    "litert", "litert", edgerun_litert::LiteRtBackend::new();
    "ort", "ort", edgerun_ort::OrtBackend::new();
    "tflite", "tflite", edgerun_tflite::TfLiteBackend::new();
    "tract", "tract", edgerun_tract::TractBackend::new();
}

/// Stand-in for a backend that was compiled out.
#[allow(dead_code)]
struct Disabled {
    descriptor: &'static Descriptor,
    feature: &'static str,
}

impl Backend for Disabled {
    fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }

    fn availability(&self) -> Availability {
        Availability::Unavailable {
            reason: format!(
                "edgerun was built without the `{}` cargo feature; enable it to use this backend",
                self.feature
            ),
        }
    }

    fn prepare(&self, _: &ModelSource, _: &Options) -> Result<Box<dyn Prepared>> {
        match self.availability() {
            Availability::Unavailable { reason } => Err(Error::BackendUnavailable {
                backend: self.name().into(),
                reason,
            }),
            Availability::Available { .. } => unreachable!("a disabled backend is never available"),
        }
    }
}

/// The backends and the options models are loaded with.
///
/// Threads and CPUs follow the device unless set: one thread per big core this process may
/// use, pinned to the big cores on a big.LITTLE CPU ([`Platform::default_placement`]).
pub struct Runtime {
    backends: Vec<Box<dyn Backend>>,
    options: Options,
    only: Option<String>,
    affinity: CpuAffinity,
    platform: OnceLock<Platform>,
}

impl Default for Runtime {
    fn default() -> Runtime {
        Runtime::new()
    }
}

impl Runtime {
    /// Every backend compiled in, default options.
    pub fn new() -> Runtime {
        Runtime::with_backends(compiled_backends())
    }

    /// A runtime over the given backends, tried in this order.
    pub fn with_backends(backends: Vec<Box<dyn Backend>>) -> Runtime {
        Runtime {
            backends,
            options: Options::default(),
            only: None,
            affinity: CpuAffinity::Default,
            platform: OnceLock::new(),
        }
    }

    /// Put a configured backend in place of the built-in one of the same name (keeping its
    /// rank), or add it last.
    pub fn register(mut self, backend: Box<dyn Backend>) -> Runtime {
        match self
            .backends
            .iter()
            .position(|b| b.name() == backend.name())
        {
            Some(i) => self.backends[i] = backend,
            None => self.backends.push(backend),
        }
        self
    }

    /// Every backend's own settings, with the backend's name.
    pub fn settings(&self) -> Vec<(&'static str, &'static Setting)> {
        self.backends
            .iter()
            .flat_map(|b| b.settings().iter().map(move |s| (b.name(), s)))
            .collect()
    }

    /// Set a backend's setting by its key (see [`Runtime::settings`]), e.g.
    /// `("tflite_lib", "/opt/lib/libtensorflowlite_c.so")`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when no backend has the setting or the value does not parse.
    pub fn configure(mut self, key: &str, value: &str) -> Result<Runtime> {
        match self
            .backends
            .iter_mut()
            .find(|b| b.settings().iter().any(|s| s.key == key))
        {
            Some(b) => {
                b.set(key, value)?;
                Ok(self)
            }
            None => Err(Error::InvalidOption {
                option: key.into(),
                reason: "no backend of this build has such a setting".into(),
            }),
        }
    }

    /// Threads for one inference (default: [`Platform::default_placement`]).
    pub fn with_threads(mut self, threads: usize) -> Runtime {
        self.options = self.options.with_threads(threads);
        self
    }

    /// Where inference threads run: `big`, `little`, `all`, CPUs, or the device's default.
    /// The backend's worker threads, and the calling thread while it prepares a model, creates
    /// a session or runs one, are pinned there; the calling thread gets its former CPUs back.
    pub fn with_affinity(mut self, affinity: CpuAffinity) -> Runtime {
        self.affinity = affinity;
        self
    }

    /// Describe the device from this platform instead of detecting it (a captured tree, see
    /// [`Platform::from_root`]).
    pub fn with_platform(self, platform: Platform) -> Runtime {
        let cell = OnceLock::new();
        let _ = cell.set(platform);
        Runtime {
            platform: cell,
            ..self
        }
    }

    /// The device, detected once.
    pub fn platform(&self) -> &Platform {
        self.platform.get_or_init(Platform::detect)
    }

    /// Threads and CPUs models will be loaded with, and why.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when the affinity names no usable CPU (the error lists the
    /// CPUs that exist).
    pub fn placement(&self) -> Result<Placement> {
        let platform = self.platform();
        let default = platform.default_placement();
        let affinity = self.affinity.resolve(platform)?;
        let (threads, mut why) = match self.options.threads {
            Some(t) => (
                t,
                format!("{t} thread{} as asked", if t == 1 { "" } else { "s" }),
            ),
            None if self.affinity == CpuAffinity::Default => (default.threads, default.why),
            None => {
                // one thread per CPU of the chosen set, within the cgroup's quota
                let n = affinity.as_ref().map_or(default.threads, Vec::len);
                let n = match platform.cpu_quota {
                    Some(q) => n.min((q.ceil() as usize).max(1)),
                    None => n,
                };
                (
                    n,
                    format!("one thread per CPU of the {} set", self.affinity),
                )
            }
        };
        if self.affinity != CpuAffinity::Default || self.options.threads.is_some() {
            match &affinity {
                Some(cpus) => why.push_str(&format!(
                    "; pinned to CPUs {} ({})",
                    cpulist::format(cpus),
                    self.affinity
                )),
                None => why.push_str("; not pinned"),
            }
        }
        Ok(Placement {
            threads,
            affinity,
            why,
        })
    }

    /// Everything `edgerun info` prints: build, device, default placement, backends.
    pub fn report(&self) -> Report {
        report::build(self)
    }

    /// The shape an input with dynamic dimensions is prepared for: its plan is made at load.
    /// Runs may still give other shapes that fit the model (on backends that re-plan).
    pub fn with_input_shape(
        mut self,
        input: impl Into<String>,
        shape: impl Into<Vec<usize>>,
    ) -> Runtime {
        self.options = self.options.with_input_shape(input, shape);
        self
    }

    /// Replace all options at once.
    pub fn with_options(mut self, options: Options) -> Runtime {
        self.options = options;
        self
    }

    /// Use only the named backend (`tract`...), instead of choosing.
    pub fn with_backend(mut self, name: impl Into<String>) -> Runtime {
        self.only = Some(name.into());
        self
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Every known backend, available or not.
    pub fn backends(&self) -> &[Box<dyn Backend>] {
        &self.backends
    }

    /// Open a model file (or NNEF directory) and prepare it on the first backend that can run it.
    ///
    /// # Errors
    /// The file is missing, empty, corrupt or of no known format; the model needs an input
    /// shape that was not given; no backend can run it (each backend's reason is given).
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Model> {
        self.load_source(ModelSource::open(path)?)
    }

    /// Prepare a model held in memory; `label` names it in messages.
    ///
    /// # Errors
    /// As [`Runtime::load`].
    pub fn load_bytes(&self, label: &str, bytes: impl Into<Arc<[u8]>>) -> Result<Model> {
        self.load_source(ModelSource::from_bytes(label, bytes)?)
    }

    /// What a model declares (format, inputs and outputs with dynamic dimensions), read by the
    /// first backend that reads its format; no input shapes needed.
    ///
    /// # Errors
    /// As [`Runtime::load`].
    pub fn inspect(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<(ModelSource, &'static str, ModelInfo)> {
        let source = ModelSource::open(path)?;
        let mut reasons = Vec::new();
        let mut first_error = None;
        // reading a model's declarations may not need a backend's native library: try every
        // backend that reads the format, available or not
        for b in self.candidates()? {
            if !b.formats().contains(&source.format()) {
                continue;
            }
            match b.inspect(&source) {
                Ok(info) => return Ok((source, b.name(), info)),
                Err(e) => {
                    reasons.push(format!("{}: {e}", b.name()));
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if reasons.len() == 1 => Err(e),
            _ => Err(Error::NoBackend {
                path: source.path().into(),
                reasons: reasons.join("; "),
            }),
        }
    }

    fn candidates(&self) -> Result<Vec<&dyn Backend>> {
        let all = self.backends.iter().map(|b| b.as_ref());
        match &self.only {
            None => Ok(all.collect()),
            Some(name) => {
                let chosen: Vec<_> = all.filter(|b| b.name() == name).collect();
                if chosen.is_empty() {
                    let known: Vec<_> = self.backends.iter().map(|b| b.name()).collect();
                    return Err(Error::InvalidOption {
                        option: format!("backend {name:?}"),
                        reason: format!("no such backend; known backends: {}", known.join(", ")),
                    });
                }
                Ok(chosen)
            }
        }
    }

    fn load_source(&self, source: ModelSource) -> Result<Model> {
        let placement = self.placement()?;
        let options = Options {
            threads: Some(placement.threads),
            affinity: placement.affinity.clone(),
            ..self.options.clone()
        };
        let affinity: Option<Arc<[usize]>> = placement.affinity.as_deref().map(Arc::from);
        // threads a backend starts while preparing inherit the caller's CPUs
        let _pin = PinGuard::new(affinity.as_deref())?;
        let mut considered = Vec::new();
        let mut errors = Vec::new();
        for b in self.candidates()? {
            if let Some(why) = skip_reason(b, source.format()) {
                // a backend chosen by name that cannot run here says why in its own error
                if self.only.is_some()
                    && (b.formats().contains(&source.format()) || b.formats().is_empty())
                {
                    return Err(b.prepare(&source, &options).err().unwrap_or_else(|| {
                        Error::BackendUnavailable {
                            backend: b.name().into(),
                            reason: why,
                        }
                    }));
                }
                considered.push((b.name(), why));
                continue;
            }
            if self.only.is_none() {
                if let Err(why) = b.auto_choice(source.format()) {
                    considered.push((b.name(), why));
                    continue;
                }
            }
            match b.prepare(&source, &options) {
                Ok(prepared) => {
                    let why = match b.preference(source.format()) {
                        Some(p) => {
                            format!("chosen: first available backend that prepared the model ({p})")
                        }
                        None => "chosen: first available backend that prepared the model".into(),
                    };
                    considered.push((b.name(), why));
                    let output_names = prepared.outputs().iter().map(|o| o.name.clone()).collect();
                    return Ok(Model {
                        prepared: Arc::from(prepared),
                        output_names,
                        source,
                        choice: Choice {
                            chosen: b.name(),
                            considered,
                        },
                        placement,
                        affinity,
                    });
                }
                // a mistake in what the user asked for (a delegate that fails, a shape that does
                // not fit) is reported, not papered over by another backend
                Err(e) if e.stops_dispatch() => return Err(e),
                Err(e) => {
                    considered.push((b.name(), format!("failed: {e}")));
                    errors.push(e);
                }
            }
        }
        // a single backend that tried and failed has the most precise error: give it as is
        if errors.len() == 1 {
            return Err(errors.remove(0));
        }
        let reasons = considered
            .iter()
            .map(|(n, r)| format!("{n}: {r}"))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::NoBackend {
            path: source.path().into(),
            reasons,
        })
    }
}

fn skip_reason(b: &dyn Backend, format: ModelFormat) -> Option<String> {
    // a compiled-out backend cannot say what it reads, only why it is missing
    if !b.formats().contains(&format) && !b.formats().is_empty() {
        return Some(format!("does not read {format} models"));
    }
    match b.availability() {
        Availability::Available { .. } => None,
        Availability::Unavailable { reason } => Some(format!("unavailable: {reason}")),
    }
}

/// Open and prepare a model with default options on the first backend that can run it.
///
/// # Errors
/// See [`Runtime::load`].
pub fn load(path: impl AsRef<Path>) -> Result<Model> {
    Runtime::new().load(path)
}

/// Which backend took a model, and what became of the others.
#[derive(Debug, Clone)]
pub struct Choice {
    pub chosen: &'static str,
    /// Every backend considered, in order, with what happened.
    pub considered: Vec<(&'static str, String)>,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, what)) in self.considered.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{name}: {what}")?;
        }
        Ok(())
    }
}

/// A prepared model. Cheap to clone; share it between threads and give each its own session.
#[derive(Clone)]
pub struct Model {
    prepared: Arc<dyn Prepared>,
    output_names: Arc<[String]>,
    source: ModelSource,
    choice: Choice,
    placement: Placement,
    affinity: Option<Arc<[usize]>>,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.source.path())
            .field("format", &self.source.format())
            .field("backend", &self.backend())
            .finish()
    }
}

impl Model {
    pub fn inputs(&self) -> &[TensorInfo] {
        self.prepared.inputs()
    }

    pub fn outputs(&self) -> &[TensorInfo] {
        self.prepared.outputs()
    }

    /// The concrete shape input `index` is prepared for: its fixed shape, the shape given at
    /// load, or the model's own default (a TensorFlow Lite model's); `None` when a dimension
    /// is open and nothing fixes it (any shape that fits may then be given at run time).
    pub fn prepared_shape(&self, index: usize) -> Option<Vec<usize>> {
        self.prepared.prepared_shape(index)
    }

    /// Name of the backend running this model.
    pub fn backend(&self) -> &'static str {
        self.prepared.backend()
    }

    pub fn format(&self) -> ModelFormat {
        self.source.format()
    }

    pub fn path(&self) -> &Path {
        self.source.path()
    }

    /// How the backend will run it (delegates in use, fallbacks taken).
    pub fn notes(&self) -> Vec<String> {
        self.prepared.notes()
    }

    /// Why this backend was chosen.
    pub fn choice(&self) -> &Choice {
        &self.choice
    }

    /// Threads and CPUs the model runs with, and why.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// A session to run the model.
    ///
    /// # Errors
    /// When the backend cannot allocate one, or the CPUs to pin to went away.
    pub fn session(&self) -> Result<ModelSession> {
        let _pin = PinGuard::new(self.affinity.as_deref())?;
        Ok(ModelSession {
            session: self.prepared.session()?,
            prepared: self.prepared.clone(),
            output_names: self.output_names.clone(),
            affinity: self.affinity.clone(),
            views: Vec::new(),
        })
    }
}

/// Runs a [`Model`]. A session may move to another thread (`Send`) but is not shared between
/// threads (not `Sync`): a TensorFlow Lite interpreter is not thread-safe. Give each thread its
/// own session.
///
/// ```
/// fn is_send<T: Send>() {}
/// is_send::<edgerun::ModelSession>();
/// ```
///
/// ```compile_fail
/// fn is_sync<T: Sync>() {}
/// is_sync::<edgerun::ModelSession>();
/// ```
pub struct ModelSession {
    session: Box<dyn Session>,
    prepared: Arc<dyn Prepared>,
    output_names: Arc<[String]>,
    affinity: Option<Arc<[usize]>>,
    /// Room for the input views of a run, kept between runs (empty between them).
    views: Vec<TensorView<'static>>,
}

/// An empty vector of views of any lifetime that keeps the buffer of `v` (no allocation).
fn recycle<'a, 'b>(mut v: Vec<TensorView<'a>>) -> Vec<TensorView<'b>> {
    v.clear();
    // collecting an emptied vector into one of a same-sized type reuses its buffer
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

impl ModelSession {
    /// Run with inputs in the order of [`Model::inputs`]: [`Tensor`]s, [`TensorView`]s or
    /// references to them. Input shapes may change from run to run where the model's
    /// dimensions are dynamic.
    ///
    /// # Errors
    /// Wrong number of inputs, wrong dtype or shape (named in the error), or a backend failure.
    pub fn run<T: AsTensorView>(&mut self, inputs: &[T]) -> Result<Outputs> {
        let mut outputs = self.outputs();
        self.run_into(inputs, &mut outputs)?;
        Ok(outputs)
    }

    /// Run with inputs given by name, in any order.
    ///
    /// # Errors
    /// Unknown, missing or repeated input names, wrong dtype or shape, or a backend failure.
    pub fn run_named<T: AsTensorView>(&mut self, inputs: &[(&str, T)]) -> Result<Outputs> {
        let mut outputs = self.outputs();
        let mut views = recycle(std::mem::take(&mut self.views));
        let r = order_inputs(self.prepared.inputs(), inputs, &mut views)
            .and_then(|()| self.run_views(&views, &mut outputs, None));
        self.views = recycle(views);
        r.map(|()| outputs)
    }

    /// An empty [`Outputs`] for [`ModelSession::run_into`].
    pub fn outputs(&self) -> Outputs {
        Outputs {
            names: self.output_names.clone(),
            tensors: Vec::new(),
        }
    }

    /// Run and write the results into `outputs`, reusing its tensors' buffers: a loop that
    /// passes the same [`Outputs`] every time allocates nothing for its results after the
    /// first run (as long as the shapes do not grow).
    ///
    /// # Errors
    /// As [`ModelSession::run`].
    pub fn run_into<T: AsTensorView>(&mut self, inputs: &[T], outputs: &mut Outputs) -> Result<()> {
        let mut views = recycle(std::mem::take(&mut self.views));
        views.extend(inputs.iter().map(|t| t.as_view()));
        let r = self.run_views(&views, outputs, None);
        self.views = recycle(views);
        r
    }

    /// Whether [`ModelSession::run_profiled`] can time operators with this backend; the reason
    /// when it cannot.
    ///
    /// # Errors
    /// The backend's reason, as a sentence.
    pub fn profiling(&self) -> std::result::Result<(), String> {
        self.session.profiling()
    }

    /// Run like [`ModelSession::run`] and append the time each operator took to `timings`.
    ///
    /// # Errors
    /// [`Error::ProfilingUnavailable`] when the backend cannot time operators, else as
    /// [`ModelSession::run`].
    pub fn run_profiled<T: AsTensorView>(
        &mut self,
        inputs: &[T],
        timings: &mut Vec<OpTiming>,
    ) -> Result<Outputs> {
        let mut outputs = self.outputs();
        let views: Vec<TensorView<'_>> = inputs.iter().map(|t| t.as_view()).collect();
        self.run_views(&views, &mut outputs, Some(timings))?;
        Ok(outputs)
    }

    fn run_views(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &mut Outputs,
        timings: Option<&mut Vec<OpTiming>>,
    ) -> Result<()> {
        check_inputs(self.prepared.inputs(), inputs)?;
        // the calling thread computes too (TFLite, single-threaded tract): pin it for the run
        let _pin = PinGuard::new(self.affinity.as_deref())?;
        if !Arc::ptr_eq(&outputs.names, &self.output_names) {
            outputs.names = self.output_names.clone();
        }
        self.session
            .run(inputs, &mut outputs.tensors, timings)
            .map_err(|e| match e {
                Error::ProfilingUnavailable { reason, .. } => Error::ProfilingUnavailable {
                    backend: self.prepared.backend().into(),
                    reason,
                },
                e => e,
            })
    }
}

/// The outputs of one run, in the model's order, with their names (shared with the model,
/// not copied per run).
#[derive(Debug, Clone)]
pub struct Outputs {
    names: Arc<[String]>,
    tensors: Vec<Tensor>,
}

impl Outputs {
    /// The output of that name.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.tensors.get(i))
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// `(name, tensor)` pairs in the model's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.names.iter().map(String::as_str).zip(&self.tensors)
    }

    /// The tensors, in the model's order.
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }

    pub fn into_vec(self) -> Vec<Tensor> {
        self.tensors
    }
}

impl std::ops::Index<usize> for Outputs {
    type Output = Tensor;
    fn index(&self, i: usize) -> &Tensor {
        &self.tensors[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_and_the_backends_agree() {
        let built = compiled_backends();
        assert_eq!(built.len(), BACKENDS.len());
        for (b, (name, feature)) in built.iter().zip(BACKENDS) {
            assert_eq!(b.name(), *name, "the backend's own descriptor names it");
            // only a compiled-out stand-in reads no format; it names the feature to enable
            if b.formats().is_empty() {
                assert!(
                    matches!(b.availability(), Availability::Unavailable { reason } if reason.contains(feature)),
                    "a compiled-out {name} names its feature"
                );
            }
        }
        let names: Vec<_> = BACKENDS.iter().map(|b| b.0).collect();
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names, unique, "each backend once");
    }

    #[test]
    fn settings_reach_their_backend() {
        #[cfg(feature = "tract")]
        {
            assert!(Runtime::new().configure("tract_plan_cache", "2").is_ok());
            let e = Runtime::new()
                .configure("tract_plan_cache", "0")
                .err()
                .unwrap();
            assert!(e.to_string().contains("tract_plan_cache"), "{e}");
        }
        let e = Runtime::new()
            .configure("no_such_setting", "1")
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let keys: Vec<_> = Runtime::new().settings().iter().map(|s| s.1.key).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            keys.len(),
            unique.len(),
            "setting keys are unique: {keys:?}"
        );
    }
}
