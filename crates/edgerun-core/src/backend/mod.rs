//! The backend contract: a [`Backend`] prepares a model into a [`Prepared`], which spawns
//! [`Session`]s that run it.

use std::fmt;
use std::path::PathBuf;

use crate::dtype::{DType, Quant};
use crate::error::{shape_string, Error, Result};
use crate::format::{ModelFormat, ModelSource};
use crate::settings::{Setting, Value};
use crate::tensor::{AsTensorView, Tensor, TensorView};

/// One dimension of a model's input or output shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    Fixed(usize),
    /// Known only at run time; carries the model's symbol for it (`N`, `batch`...) if any.
    Dynamic(Option<String>),
}

impl Dim {
    pub fn fixed(&self) -> Option<usize> {
        match self {
            Dim::Fixed(n) => Some(*n),
            Dim::Dynamic(_) => None,
        }
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Dynamic(Some(s)) => f.write_str(s),
            Dim::Dynamic(None) => f.write_str("?"),
        }
    }
}

/// Name, type, shape and quantization of a model input or output.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    pub dtype: DType,
    pub shape: Vec<Dim>,
    pub quant: Option<Quant>,
}

impl TensorInfo {
    /// The shape if every dimension is fixed.
    pub fn fixed_shape(&self) -> Option<Vec<usize>> {
        self.shape.iter().map(Dim::fixed).collect()
    }

    /// `1,3,224,224`, with `?` or the symbol for dynamic dimensions.
    pub fn shape_string(&self) -> String {
        shape_string(&self.shape)
    }

    /// Does a concrete shape fit this (possibly dynamic) shape?
    pub fn accepts_shape(&self, shape: &[usize]) -> bool {
        shape.len() == self.shape.len()
            && self
                .shape
                .iter()
                .zip(shape)
                .all(|(d, &s)| d.fixed().is_none_or(|f| f == s))
    }
}

impl fmt::Display for TensorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} [{}]", self.name, self.dtype, self.shape_string())?;
        if let Some(q) = self.quant {
            write!(f, " ({q})")?;
        }
        Ok(())
    }
}

/// Options for preparing a model. Unset values take the backend's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// Threads for one inference; `None` lets the backend choose (one thread for tract).
    pub threads: Option<usize>,
    /// Shapes for inputs with dynamic dimensions, by input name: a hint that prepares the
    /// plan for these shapes ahead of the first run. Sessions still accept any shape that fits
    /// the model's, on backends that can re-plan.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// CPUs the backend's worker threads are pinned to; `None`: not pinned. The facade resolves
    /// it from a [`crate::CpuAffinity`] and also pins the threads that prepare and run.
    pub affinity: Option<Vec<usize>>,
    /// Sessions will be asked to time operators ([`Session::run`] with timings). A backend
    /// whose engine times operators only when compiled for it (LiteRT) compiles for it; that
    /// costs it time on every run, so it is off unless asked for.
    pub profiling: bool,
    /// A file where a backend that derives something costly from the model for this device
    /// (XNNPACK's packed weights) keeps it, so that later loads map it instead of deriving it
    /// again. It is given only to a backend whose [`Backend::artifact_key`] is `Some`, named
    /// by that key; the backend loads the file when it is there and otherwise builds it, then
    /// moves it into place whole. Checking an existing file is the giver's duty.
    pub artifact: Option<PathBuf>,
}

impl Options {
    pub fn new() -> Options {
        Options::default()
    }

    /// Threads for one inference (at least 1).
    pub fn with_threads(mut self, threads: usize) -> Options {
        self.threads = Some(threads.max(1));
        self
    }

    /// The shape an input with dynamic dimensions is prepared for (a hint: runs may use
    /// other shapes that fit the model); replaces an earlier shape for it.
    pub fn with_input_shape(
        mut self,
        input: impl Into<String>,
        shape: impl Into<Vec<usize>>,
    ) -> Options {
        let input = input.into();
        self.input_shapes.retain(|(n, _)| *n != input);
        self.input_shapes.push((input, shape.into()));
        self
    }

    /// Compile for per-operator timing where a backend must (see [`Options::profiling`]).
    pub fn with_profiling(mut self, profiling: bool) -> Options {
        self.profiling = profiling;
        self
    }

    /// Pin the backend's worker threads to these CPUs (`None`: no pinning).
    pub fn with_affinity(mut self, cpus: Option<Vec<usize>>) -> Options {
        self.affinity = cpus;
        self
    }

    pub fn input_shape(&self, input: &str) -> Option<&[usize]> {
        self.input_shapes
            .iter()
            .find(|(n, _)| n == input)
            .map(|(_, s)| s.as_slice())
    }

    /// The concrete shape of an input: the one given for it, else the model's if every
    /// dimension is fixed.
    ///
    /// # Errors
    /// [`Error::MissingInputShape`] naming the backend and the first dynamic dimension.
    pub fn resolve_shape(&self, backend: &str, info: &TensorInfo) -> Result<Vec<usize>> {
        if let Some(given) = self.input_shape(&info.name) {
            return Ok(given.to_vec());
        }
        info.shape
            .iter()
            .enumerate()
            .map(|(dim, d)| {
                d.fixed().ok_or_else(|| Error::MissingInputShape {
                    backend: backend.into(),
                    input: info.name.clone(),
                    dim,
                    symbol: match d {
                        Dim::Dynamic(Some(s)) => format!("symbol {s}"),
                        _ => "unnamed".into(),
                    },
                    shape: info.shape_string(),
                })
            })
            .collect()
    }

    /// Check that every shape option names a model input and fits its shape, and that every
    /// input's shape (given, or fixed by the model) is within the tensor size limit
    /// ([`crate::limits`]).
    ///
    /// # Errors
    /// [`Error::UnknownShapeOption`], [`Error::InputShapeOption`] or [`Error::TooLarge`].
    pub fn check_input_shapes(&self, inputs: &[TensorInfo]) -> Result<()> {
        for (name, shape) in &self.input_shapes {
            let Some(info) = inputs.iter().find(|i| &i.name == name) else {
                return Err(Error::UnknownShapeOption {
                    input: name.clone(),
                    known: names(inputs),
                });
            };
            if !info.accepts_shape(shape) {
                let reason = if shape.len() != info.shape.len() {
                    format!(
                        "rank {} given, the model's is {}",
                        shape.len(),
                        info.shape.len()
                    )
                } else {
                    "a fixed dimension differs".to_string()
                };
                return Err(Error::InputShapeOption {
                    input: name.clone(),
                    given: shape_string(shape),
                    model: info.shape_string(),
                    reason,
                });
            }
            crate::limits::check_tensor(&format!("input {name:?}"), info.dtype, shape)?;
        }
        // the model's own fixed shapes too: a file may declare an input of terabytes
        for info in inputs {
            if self.input_shape(&info.name).is_none() {
                if let Some(shape) = info.fixed_shape() {
                    crate::limits::check_tensor(
                        &format!("input {:?}", info.name),
                        info.dtype,
                        &shape,
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Comma-separated names of tensors, for error messages.
pub fn names(infos: &[TensorInfo]) -> String {
    if infos.is_empty() {
        return "(none)".into();
    }
    infos
        .iter()
        .map(|i| format!("{:?}", i.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a backend can be used on this machine, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Availability {
    /// Usable; the detail says what was found (library path and version, CPU kernels...).
    Available { detail: String },
    /// Not usable; the reason says why and what would fix it.
    Unavailable { reason: String },
}

impl Availability {
    pub fn is_available(&self) -> bool {
        matches!(self, Availability::Available { .. })
    }
}

/// What a backend is, independent of how it is configured: its name, the formats it reads,
/// its settings, and the formats `auto` must leave to others. Each backend crate exports one
/// as `DESCRIPTOR`; reports and policy read it as data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Descriptor {
    /// Short stable name (`tract`, `tflite`).
    pub name: &'static str,
    /// Formats it reads.
    pub formats: &'static [ModelFormat],
    /// Its own options: the one declaration of each ([`crate::settings`]).
    pub settings: &'static [Setting],
    /// The setting that names the native library it loads at run time, if it loads one.
    pub library_setting: Option<&'static str>,
    /// Formats it reads but that `auto` does not choose it for, each with the reason (a
    /// format whose models it is known to compute wrongly); chosen by name, it still runs them.
    pub not_automatic: &'static [(ModelFormat, &'static str)],
}

impl Descriptor {
    /// Why `auto` does not choose this backend for `format`, when it does not.
    pub fn not_automatic_for(&self, format: ModelFormat) -> Option<&'static str> {
        self.not_automatic
            .iter()
            .find(|(f, _)| *f == format)
            .map(|(_, why)| *why)
    }
}

/// An inference engine edgerun can drive.
pub trait Backend: Send + Sync {
    /// Name and formats.
    fn descriptor(&self) -> &'static Descriptor;

    /// Short stable name (`tract`, `tflite`).
    fn name(&self) -> &'static str {
        self.descriptor().name
    }

    /// Formats this backend reads.
    fn formats(&self) -> &'static [ModelFormat] {
        self.descriptor().formats
    }

    /// Whether this backend can run here; a compiled-out or library-less backend still answers.
    fn availability(&self) -> Availability;

    /// Take a value for one of the descriptor's settings, already parsed by its kind (see
    /// [`crate::settings::configure`] for setting one from text).
    ///
    /// # Errors
    /// [`Error::UnknownSetting`] for a key it does not declare; a value it cannot use.
    fn set(&mut self, key: &str, value: Value) -> Result<()> {
        let _ = value;
        Err(crate::settings::unknown(self.descriptor(), key))
    }

    /// The value a setting holds now, `None` when unset (and for no default).
    fn get(&self, key: &str) -> Option<Value> {
        let _ = key;
        None
    }

    /// Version of the engine (tract's crate version, the loaded library's own version), when
    /// known without loading a model.
    fn version(&self) -> Option<String> {
        None
    }

    /// The native library a run-time-loaded backend uses, once found, and where it was found.
    fn found_library(&self) -> Option<crate::library::Found> {
        None
    }

    /// Delegates or accelerator plugins configured for, or found by, this backend.
    fn delegates(&self) -> Vec<DelegateReport> {
        Vec::new()
    }

    /// Parse, check and optimize a model once, for any number of sessions.
    ///
    /// # Errors
    /// Corrupt model, unsupported op or format, missing input shape, backend unavailable.
    fn prepare(&self, model: &ModelSource, options: &Options) -> Result<Box<dyn Prepared>>;

    /// This backend, with its settings, computing float operators in fp16 where its engine
    /// can (XNNPACK's `FORCE_FP16`): a candidate the dispatcher measures when the application
    /// allows reduced precision, and keeps only if its outputs stay close to the exact ones.
    /// `None` (the default) for a backend without it.
    fn reduced_precision(&self) -> Option<Box<dyn Backend>> {
        None
    }

    /// What the artifact this backend keeps for a model ([`Options::artifact`]) depends on
    /// besides the model and the CPU, and when it is kept. `None` (the default): the backend
    /// keeps none.
    fn artifact_key(&self) -> Option<crate::artifact::ArtifactKey> {
        None
    }

    /// Inputs and outputs as the model declares them, dynamic dimensions included; needs no
    /// input shapes. The default prepares the model and reports the prepared infos.
    ///
    /// # Errors
    /// As [`Backend::prepare`], less the missing-shape error where the backend can avoid it.
    fn inspect(&self, model: &ModelSource) -> Result<ModelInfo> {
        let p = self.prepare(model, &Options::default())?;
        Ok(ModelInfo {
            inputs: p.inputs().to_vec(),
            outputs: p.outputs().to_vec(),
            output_shapes_known: true,
        })
    }
}

impl dyn Backend + '_ {
    /// What, besides its name and the load options, decides how this backend runs a model:
    /// engine version, library, and the backend's settings. A change re-measures the
    /// dispatcher's cached choices.
    pub fn fingerprint(&self) -> String {
        format!(
            "version {}; library {}; settings {}",
            self.version().as_deref().unwrap_or("?"),
            self.found_library()
                .map_or_else(|| "-".into(), |l| l.path.display().to_string()),
            crate::settings::fingerprint(self)
        )
    }

    /// Everything `edgerun info` says about this backend.
    pub fn report(&self) -> BackendReport {
        let availability = self.availability();
        let found = self.found_library();
        BackendReport {
            name: self.name().to_string(),
            available: availability.is_available(),
            version: self.version(),
            library: found.as_ref().map(|l| l.path.clone()),
            library_origin: found.as_ref().map(|l| l.origin.to_string()),
            library_skipped: found.map(|l| l.skipped).unwrap_or_default(),
            formats: self
                .formats()
                .iter()
                .map(|f| f.name().to_string())
                .collect(),
            detail: match &availability {
                Availability::Available { detail } => Some(detail.clone()),
                Availability::Unavailable { .. } => None,
            },
            reason: match availability {
                Availability::Unavailable { reason } => Some(reason),
                Availability::Available { .. } => None,
            },
            delegates: self.delegates(),
        }
    }
}

/// What `edgerun info` reports for a backend.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BackendReport {
    pub name: String,
    pub available: bool,
    pub version: Option<String>,
    /// The run-time-loaded library in use.
    pub library: Option<std::path::PathBuf>,
    /// Where it was found: the path given, an environment variable, the bundle beside the
    /// executable, edgerun's system directory, a Python package, the loader path.
    pub library_origin: Option<String>,
    /// Files passed over before it, each with the reason (another CPU's build, say).
    pub library_skipped: Vec<String>,
    pub formats: Vec<String>,
    /// What was found, when available.
    pub detail: Option<String>,
    /// Why not, and what would fix it, when unavailable.
    pub reason: Option<String>,
    pub delegates: Vec<DelegateReport>,
}

/// A delegate plugin: configured by the user, or found in a usual place.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DelegateReport {
    pub path: std::path::PathBuf,
    /// Given by the user (true) or found by looking in the usual directories (false).
    pub configured: bool,
    /// Can it be loaded as a delegate plugin here?
    pub usable: bool,
    /// What was checked, or what is wrong with it.
    pub status: String,
}

/// A model's declared inputs and outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    /// False when output shapes can only be known once input shapes are fixed; the outputs'
    /// shapes are then empty.
    pub output_shapes_known: bool,
}

/// A model prepared by a backend: immutable, shareable between threads.
pub trait Prepared: Send + Sync {
    /// Name of the backend that prepared it.
    fn backend(&self) -> &'static str;
    fn inputs(&self) -> &[TensorInfo];
    fn outputs(&self) -> &[TensorInfo];

    /// What a user may want to know about how the model will run (delegates in use, a
    /// delegate that was dropped for a CPU fallback...). Empty by default.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }

    /// The concrete shape input `index` is prepared for: its fixed shape, the shape given at
    /// load, or the model's own default (a TensorFlow Lite model's `shape`); `None` when the
    /// model leaves a dimension open and nothing fixes it.
    fn prepared_shape(&self, index: usize) -> Option<Vec<usize>> {
        self.inputs().get(index)?.fixed_shape()
    }

    /// A new session with its own state and scratch memory.
    ///
    /// # Errors
    /// When the backend cannot allocate the session.
    fn session(&self) -> Result<Box<dyn Session>>;
}

/// Runs a prepared model. One session serves one thread at a time.
pub trait Session: Send {
    /// Run once. `inputs` are in the order of [`Prepared::inputs`] and already checked with
    /// [`check_inputs`]; their shapes may differ from run to run (the session re-plans).
    ///
    /// Outputs are written into `outputs`, in the order of [`Prepared::outputs`]: the vector
    /// is made that long, and a tensor already in a slot is reused ([`Tensor::reuse_as`]), so
    /// a caller that passes the same vector every run gets no new output buffers.
    ///
    /// With `timings`, one [`OpTiming`] per operator executed is appended, in execution order.
    ///
    /// # Errors
    /// [`Error::ProfilingUnavailable`] when `timings` is given and the backend cannot time
    /// operators (see [`Session::profiling`]); otherwise when the backend fails at run time.
    fn run(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &mut Vec<Tensor>,
        timings: Option<&mut Vec<OpTiming>>,
    ) -> Result<()>;

    /// Whether [`Session::run`] can time operators here.
    ///
    /// # Errors
    /// [`Error::ProfilingUnavailable`] with the reason when it cannot.
    fn profiling(&self) -> Result<()> {
        Err(profiling_unavailable(
            "",
            "this backend has no per-operator timing".into(),
        ))
    }
}

impl dyn Session + '_ {
    /// Run once with owned inputs and fresh outputs: the simple form, for tests and one-off
    /// runs (the facade's `ModelSession` checks inputs first; this does not).
    ///
    /// # Errors
    /// As [`Session::run`].
    pub fn run_tensors(&mut self, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        let views: Vec<TensorView<'_>> = inputs.iter().map(|t| t.view()).collect();
        let mut outputs = Vec::new();
        self.run(&views, &mut outputs, None)?;
        Ok(outputs)
    }
}

/// Make `outputs` hold exactly `count` tensors, keeping those already there for reuse.
pub fn output_slots(outputs: &mut Vec<Tensor>, count: usize) {
    outputs.truncate(count);
    while outputs.len() < count {
        outputs.push(Tensor::slot());
    }
}

/// The error a backend without per-operator timing gives when asked for timings.
pub fn profiling_unavailable(backend: &str, reason: String) -> Error {
    Error::ProfilingUnavailable {
        backend: backend.into(),
        reason,
    }
}

/// How long one operator of a model took in one profiled run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpTiming {
    /// Position of the operator in the model's execution order.
    pub index: usize,
    /// The node's name in the model.
    pub name: String,
    /// The operator's type (`Conv`, `CONV_2D`, ...), as the backend names it.
    pub op_type: String,
    /// Wall-clock time in microseconds.
    pub micros: u64,
}

/// Check tensors against a model's inputs: count, dtype and shape, in order; a dimension
/// symbol shared by several inputs must have one size. Allocates nothing when all is well.
///
/// # Errors
/// [`Error::InputCount`], [`Error::InputDType`], [`Error::InputShape`] or
/// [`Error::SymbolClash`].
pub fn check_inputs(infos: &[TensorInfo], inputs: &[TensorView<'_>]) -> Result<()> {
    if infos.len() != inputs.len() {
        return Err(Error::InputCount {
            expected: infos.len(),
            found: inputs.len(),
            names: names(infos),
        });
    }
    for (info, t) in infos.iter().zip(inputs) {
        if info.dtype != t.dtype() {
            return Err(Error::InputDType {
                name: info.name.clone(),
                expected: info.dtype,
                found: t.dtype(),
            });
        }
        if !info.accepts_shape(t.shape()) {
            return Err(Error::InputShape {
                name: info.name.clone(),
                expected: info.shape_string(),
                found: shape_string(t.shape()),
            });
        }
    }
    // a named symbol takes one value across all inputs
    for (i, (info, t)) in infos.iter().zip(inputs).enumerate() {
        for (d, dim) in info.shape.iter().enumerate() {
            let Dim::Dynamic(Some(sym)) = dim else {
                continue;
            };
            for (other, u) in infos.iter().zip(inputs).skip(i + 1) {
                for (e, odim) in other.shape.iter().enumerate() {
                    if matches!(odim, Dim::Dynamic(Some(s)) if s == sym)
                        && u.shape()[e] != t.shape()[d]
                    {
                        return Err(Error::SymbolClash {
                            symbol: sym.clone(),
                            first: info.name.clone(),
                            first_size: t.shape()[d],
                            second: other.name.clone(),
                            second_size: u.shape()[e],
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

/// Put named inputs in the model's order, appending views of them to `ordered` (cleared
/// first). Allocates nothing when `ordered` has room.
///
/// # Errors
/// [`Error::UnknownInput`], [`Error::DuplicateInput`] or [`Error::InputCount`] (naming the
/// inputs left out).
pub fn order_inputs<'v, T: AsTensorView>(
    infos: &[TensorInfo],
    named: &'v [(&str, T)],
    ordered: &mut Vec<TensorView<'v>>,
) -> Result<()> {
    ordered.clear();
    for (k, (name, _)) in named.iter().enumerate() {
        if !infos.iter().any(|i| i.name == *name) {
            return Err(Error::UnknownInput {
                name: name.to_string(),
                known: names(infos),
            });
        }
        if named[..k].iter().any(|(n, _)| n == name) {
            return Err(Error::DuplicateInput {
                name: name.to_string(),
            });
        }
    }
    if named.len() < infos.len() {
        let missing: Vec<TensorInfo> = infos
            .iter()
            .filter(|i| !named.iter().any(|(n, _)| *n == i.name))
            .cloned()
            .collect();
        return Err(Error::InputCount {
            expected: infos.len(),
            found: named.len(),
            names: format!("missing {}", names(&missing)),
        });
    }
    for info in infos {
        if let Some((_, t)) = named.iter().find(|(n, _)| *n == info.name) {
            ordered.push(t.as_view());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
