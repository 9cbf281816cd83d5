//! The tract backend of edgerun: pure-Rust CPU inference.
//!
//! Reads ONNX, NNEF (directory or tar archive) and the subset of TensorFlow Lite that tract
//! implements. Models are optimized once, at prepare; on aarch64 tract-linalg picks NEON matrix
//! kernels at run time. With [`Options::threads`] above one, matrix products run on a private
//! rayon pool of that many threads (tract-linalg's `multithread-mm`), named `edgerun-tract-N`.
//! With [`Options::affinity`], each pool thread pins itself to those CPUs when it starts.
//!
//! Shapes are bound at run time: a model whose inputs have dynamic dimensions is analysed with
//! those dimensions as symbols, and a session accepts any input shape that fits. Each set of
//! concrete input shapes gets its own optimized plan, built on first use and kept in a cache
//! shared by every session of the prepared model (the most recently used
//! [`TractBackend::with_plan_cache`] plans, 8 by default). Shapes given at prepare
//! ([`Options::with_input_shape`]) build their plan ahead. A model that tract cannot analyse
//! with symbolic dimensions needs its shapes at prepare, and is then fixed to them.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use std::sync::Mutex;

use edgerun_core::backend::{output_slots, ModelInfo};
use edgerun_core::{
    Availability, Backend, DType, Data, DataRef, Descriptor, Dim, Error, ModelFormat, ModelSource,
    OpTiming, Options, Prepared, Quant, Result, Session, Setting, Tensor, TensorInfo, TensorView,
};
use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{Factoid, InferenceFact};
use tract_onnx::WithOnnx;

/// The tract crates this backend runs on, for callers that want to drive tract directly
/// (benchmarks comparing with it, for one).
pub use tract_onnx;

const NAME: &str = "tract";

/// Name and formats of the tract backend.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: NAME,
    formats: if cfg!(feature = "tflite") {
        &[ModelFormat::Onnx, ModelFormat::Nnef, ModelFormat::TfLite]
    } else {
        &[ModelFormat::Onnx, ModelFormat::Nnef]
    },
};

/// Plans kept per prepared model by default (one per set of input shapes).
pub const DEFAULT_PLAN_CACHE: usize = 8;

const SETTINGS: &[Setting] = &[Setting {
    key: "tract_plan_cache",
    value: "N",
    help: "optimized plans tract keeps per model, one per set of input shapes (least recently used dropped first)",
    default: Some("8"),
}];

/// The tract backend's own options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TractOptions {
    /// Optimized plans kept per prepared model, one per set of concrete input shapes (at
    /// least 1).
    pub plan_cache: usize,
}

impl Default for TractOptions {
    fn default() -> TractOptions {
        TractOptions {
            plan_cache: DEFAULT_PLAN_CACHE,
        }
    }
}

/// The tract backend. Cheap to create.
#[derive(Debug, Default, Clone, Copy)]
pub struct TractBackend {
    options: TractOptions,
}

impl TractBackend {
    pub fn new() -> TractBackend {
        TractBackend::default()
    }

    /// All of the backend's options at once.
    pub fn with_options(mut self, options: TractOptions) -> TractBackend {
        self.options = options;
        self
    }

    /// Keep at most `plans` optimized plans per model (at least 1).
    pub fn with_plan_cache(mut self, plans: usize) -> TractBackend {
        self.options.plan_cache = plans.max(1);
        self
    }

    pub fn options(&self) -> &TractOptions {
        &self.options
    }
}

type Plan = Arc<TypedRunnableModel>;

impl Backend for TractBackend {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn settings(&self) -> &'static [Setting] {
        SETTINGS
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            "tract_plan_cache" => match value.parse::<usize>() {
                Ok(n) if n >= 1 => {
                    self.options.plan_cache = n;
                    Ok(())
                }
                _ => Err(Error::InvalidOption {
                    option: key.into(),
                    reason: format!("{value:?} is not a number of plans of at least 1"),
                }),
            },
            _ => Err(Error::InvalidOption {
                option: key.into(),
                reason: "backend tract has no such setting".into(),
            }),
        }
    }

    fn availability(&self) -> Availability {
        Availability::Available {
            detail: format!(
                "tract {} (pure Rust, {} kernels)",
                tract_version(),
                std::env::consts::ARCH
            ),
        }
    }

    fn settings_fingerprint(&self) -> String {
        format!("{:?}", self.options)
    }

    fn version(&self) -> Option<String> {
        Some(tract_version().to_string())
    }

    fn auto_choice(&self, format: ModelFormat) -> std::result::Result<(), String> {
        match format {
            ModelFormat::TfLite => Err(TFLITE_NOT_AUTOMATIC.into()),
            _ => Ok(()),
        }
    }

    fn prepare(&self, model: &ModelSource, options: &Options) -> Result<Box<dyn Prepared>> {
        let template = guard(model.path(), model.format(), "preparing the model", || {
            template(model, options)
        })?;
        let inputs = template.inputs()?;
        let outputs = template.outputs()?;
        let input_symbols = match &template {
            Template::Typed(m) => input_symbols(m)?,
            Template::Onnx(_) => Vec::new(),
        };
        let executor = match options.threads {
            Some(n) if n > 1 => guard(model.path(), model.format(), "starting threads", || {
                pool(n, options.affinity.clone())
            })?,
            _ => Executor::SingleThread,
        };
        // the shapes to plan for now: fixed ones, else the hints given
        let prepared_shapes: Vec<Option<Vec<usize>>> = inputs
            .iter()
            .map(|i| {
                i.fixed_shape()
                    .or_else(|| options.input_shape(&i.name).map(<[usize]>::to_vec))
            })
            .collect();
        let shared = Arc::new(Shared {
            template,
            input_symbols,
            plans: Mutex::new(Vec::new()),
            capacity: self.options.plan_cache.max(1),
            path: model.path().into(),
            format: model.format(),
        });
        if prepared_shapes.iter().all(Option::is_some) {
            let shapes: Vec<&[usize]> = prepared_shapes
                .iter()
                .flatten()
                .map(Vec::as_slice)
                .collect();
            shared.plan_for(&shapes)?;
        }
        Ok(Box::new(TractPrepared {
            shared,
            inputs,
            outputs,
            executor,
            prepared_shapes,
        }))
    }

    fn inspect(&self, model: &ModelSource) -> Result<ModelInfo> {
        guard(
            model.path(),
            model.format(),
            "reading the model",
            || match model.format() {
                ModelFormat::Onnx => {
                    let m = load_onnx(model)?;
                    let inputs = inference_infos(&m, true)?;
                    // outputs as analysed with symbolic inputs; what the file declares if that fails
                    Ok(match symbolic_outputs(m.clone(), &inputs) {
                        Some(outputs) => ModelInfo {
                            inputs,
                            outputs,
                            output_shapes_known: true,
                        },
                        None => ModelInfo {
                            outputs: inference_infos(&m, false)?,
                            inputs,
                            output_shapes_known: false,
                        },
                    })
                }
                _ => {
                    let m = load_typed(model)?;
                    Ok(ModelInfo {
                        inputs: infos(&m, true)?,
                        outputs: infos(&m, false)?,
                        output_shapes_known: true,
                    })
                }
            },
        )
    }
}

/// Why the dispatcher does not pick tract for `.tflite` models by itself.
pub const TFLITE_NOT_AUTOMATIC: &str = "not chosen automatically for TensorFlow Lite models: tract 0.23.9's TensorFlow Lite reader computes a TensorFlow-converted MobileNetV2 (models/mobilenetv2_mini.tflite) wrongly, off by 0.66 on logits of magnitude 8; choose the tract backend by name to use it anyway";

/// tract's version, as compiled in.
pub fn tract_version() -> &'static str {
    "0.23.9"
}

/// One optimized plan for one set of concrete input shapes.
struct PlanEntry {
    /// Every input's dims, concatenated (ranks are the model's, so this is unambiguous).
    key: Vec<usize>,
    plan: Plan,
    input_types: Vec<DatumType>,
}

/// What every session of a prepared model shares: the analysed model with its dimension
/// symbols, and the plans optimized so far.
struct Shared {
    template: Template,
    /// For each input, the symbol of each dimension that has one.
    input_symbols: Vec<Vec<Option<Symbol>>>,
    /// Most recently used first.
    plans: Mutex<Vec<Arc<PlanEntry>>>,
    capacity: usize,
    path: std::path::PathBuf,
    format: ModelFormat,
}

fn same_key<'a>(key: &[usize], shapes: impl Iterator<Item = &'a [usize]>) -> bool {
    key.iter().eq(shapes.flatten())
}

impl Shared {
    /// The plan for these input shapes: from the cache, or optimized now and cached.
    fn plan_for(&self, shapes: &[&[usize]]) -> Result<Arc<PlanEntry>> {
        let mut plans = self.plans.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = plans
            .iter()
            .position(|p| same_key(&p.key, shapes.iter().copied()))
        {
            let entry = plans.remove(i);
            plans.insert(0, entry.clone());
            return Ok(entry);
        }
        let entry = Arc::new(guard(
            &self.path,
            self.format,
            "optimizing the model for its input shapes",
            || self.optimize(shapes),
        )?);
        plans.insert(0, entry.clone());
        plans.truncate(self.capacity);
        Ok(entry)
    }

    fn optimize(&self, shapes: &[&[usize]]) -> Result<PlanEntry> {
        let typed = match &self.template {
            Template::Typed(template) => {
                let mut subs = HashMap::new();
                for (syms, shape) in self.input_symbols.iter().zip(shapes) {
                    for (sym, &v) in syms.iter().zip(shape.iter()) {
                        if let Some(sym) = sym {
                            subs.insert(sym.clone(), TDim::Val(v as i64));
                        }
                    }
                }
                if subs.is_empty() {
                    template.clone()
                } else {
                    template
                        .set_symbols(&subs)
                        .map_err(|e| shape_error(&self.path, shapes, &e))?
                }
            }
            Template::Onnx(template) => {
                let mut model = template.clone();
                for (ix, shape) in shapes.iter().enumerate() {
                    let dt = model
                        .input_fact(ix)
                        .ok()
                        .and_then(|f| f.datum_type.concretize());
                    let fact = match dt {
                        Some(dt) => InferenceFact::dt_shape(dt, *shape),
                        None => InferenceFact::shape(*shape),
                    };
                    model
                        .set_input_fact(ix, fact)
                        .map_err(|e| shape_error(&self.path, shapes, &e))?;
                }
                model
                    .into_typed()
                    .map_err(|e| analysis_error(&self.path, &e))?
            }
        };
        let plan = typed
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(|e| shape_error(&self.path, shapes, &e))?;
        let input_types = plan.model().input_fact_types()?;
        Ok(PlanEntry {
            key: shapes.iter().flat_map(|s| s.iter().copied()).collect(),
            plan,
            input_types,
        })
    }
}

fn shape_error(path: &Path, shapes: &[&[usize]], e: &TractError) -> Error {
    let given = shapes
        .iter()
        .map(|s| format!("[{}]", edgerun_core::error::shape_string(s)))
        .collect::<Vec<_>>()
        .join(", ");
    Error::Backend {
        backend: NAME.into(),
        message: format!(
            "cannot plan model {path:?} for input shapes {given}: {}; check that these shapes suit the model",
            chain(e)
        ),
    }
}

/// The symbol of each input dimension that is a bare symbol.
fn input_symbols(model: &TypedModel) -> Result<Vec<Vec<Option<Symbol>>>> {
    (0..model.inputs.len())
        .map(|i| {
            let fact = model
                .input_fact(i)
                .map_err(|e| backend_error("cannot read input facts", &e))?;
            Ok(fact
                .shape
                .iter()
                .map(|d| match d {
                    TDim::Sym(s) => Some(s.clone()),
                    _ => None,
                })
                .collect())
        })
        .collect()
}

struct TractPrepared {
    shared: Arc<Shared>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    executor: Executor,
    prepared_shapes: Vec<Option<Vec<usize>>>,
}

impl Prepared for TractPrepared {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    fn prepared_shape(&self, index: usize) -> Option<Vec<usize>> {
        self.prepared_shapes.get(index)?.clone()
    }

    fn session(&self) -> Result<Box<dyn Session>> {
        Ok(Box::new(TractSession {
            shared: self.shared.clone(),
            current: None,
            buffers: Vec::new(),
            executor: self.executor.clone(),
        }))
    }
}

struct TractSession {
    shared: Arc<Shared>,
    /// The plan for the last run's shapes and its state.
    current: Option<(Arc<PlanEntry>, TypedSimpleState)>,
    /// Input tensors kept between runs and refilled in place when the shape is unchanged.
    buffers: Vec<Option<Arc<tract_onnx::prelude::Tensor>>>,
    executor: Executor,
}

impl TractSession {
    /// The plan and state for these inputs' shapes, re-planning when they changed.
    fn state_for(&mut self, inputs: &[TensorView<'_>]) -> Result<()> {
        if let Some((entry, _)) = &self.current {
            if same_key(&entry.key, inputs.iter().map(|t| t.shape())) {
                return Ok(());
            }
        }
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape()).collect();
        let entry = self.shared.plan_for(&shapes)?;
        let state = TypedSimpleState::new(&entry.plan)
            .map_err(|e| backend_error("cannot create a session", &e))?;
        self.current = Some((entry, state));
        Ok(())
    }

    /// One run; with `timings`, each operator is timed (tract's `run_plan_with_eval`).
    fn execute(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &mut Vec<Tensor>,
        timings: Option<&mut Vec<OpTiming>>,
    ) -> Result<()> {
        self.state_for(inputs)?;
        let (entry, state) = self.current.as_mut().expect("state_for sets the plan");
        if self.buffers.len() != inputs.len() {
            self.buffers = vec![None; inputs.len()];
        }
        let mut values: TVec<TValue> = TVec::new();
        for ((t, dt), slot) in inputs.iter().zip(&entry.input_types).zip(&mut self.buffers) {
            values.push(TValue::from_const(input_value(slot, t, *dt)?));
        }
        let executor = self.executor.clone();
        let results = catch_unwind(AssertUnwindSafe(|| {
            multithread_tract_scope(executor, || match timings {
                None => state.run(values),
                Some(timings) => {
                    let first = timings.len();
                    state.run_plan_with_eval(values, |ctx, op_state, node, input| {
                        let start = Instant::now();
                        let out = tract_onnx::tract_core::plan::eval(ctx, op_state, node, input);
                        let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
                        timings.push(OpTiming {
                            index: timings.len() - first,
                            name: node.name.clone(),
                            op_type: node.op().name().into_owned(),
                            micros,
                        });
                        out
                    })
                }
            })
        }))
        .map_err(|p| Error::Backend {
            backend: NAME.into(),
            message: panic_message("running the model", p),
        })?
        .map_err(|e| backend_error("inference failed", &e))?;
        output_slots(outputs, results.len());
        for (t, out) in results.iter().zip(outputs.iter_mut()) {
            write_output(t, out)?;
        }
        Ok(())
    }
}

impl Session for TractSession {
    fn run(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &mut Vec<Tensor>,
        timings: Option<&mut Vec<OpTiming>>,
    ) -> Result<()> {
        self.execute(inputs, outputs, timings)
    }

    fn profiling(&self) -> std::result::Result<(), String> {
        Ok(())
    }
}

/// The tract value for one input: the session's buffer refilled in place when tract has let
/// go of it and it has the same type and shape, else a new tensor (the one copy either way).
fn input_value(
    slot: &mut Option<Arc<tract_onnx::prelude::Tensor>>,
    t: &TensorView<'_>,
    dt: DatumType,
) -> Result<Arc<tract_onnx::prelude::Tensor>> {
    if let Some(buf) = slot.as_mut() {
        if buf.datum_type() == dt && buf.shape() == t.shape() {
            if let Some(tensor) = Arc::get_mut(buf) {
                fill(tensor, t.data()).map_err(|e| backend_error("cannot fill an input", &e))?;
                return Ok(buf.clone());
            }
        }
    }
    let fresh = Arc::new(to_tract(t, dt)?);
    *slot = Some(fresh.clone());
    Ok(fresh)
}

fn fill(dst: &mut tract_onnx::prelude::Tensor, src: DataRef<'_>) -> TractResult<()> {
    let mut view = dst.try_as_plain_ram_mut()?;
    match src {
        DataRef::F32(v) => view.as_slice_mut::<f32>()?.copy_from_slice(v),
        DataRef::F16(v) => view.as_slice_mut::<f16>()?.copy_from_slice(v),
        DataRef::F64(v) => view.as_slice_mut::<f64>()?.copy_from_slice(v),
        DataRef::I8(v) => view.as_slice_mut::<i8>()?.copy_from_slice(v),
        DataRef::U8(v) => view.as_slice_mut::<u8>()?.copy_from_slice(v),
        DataRef::I16(v) => view.as_slice_mut::<i16>()?.copy_from_slice(v),
        DataRef::I32(v) => view.as_slice_mut::<i32>()?.copy_from_slice(v),
        DataRef::I64(v) => view.as_slice_mut::<i64>()?.copy_from_slice(v),
        DataRef::Bool(v) => view.as_slice_mut::<bool>()?.copy_from_slice(v),
    }
    Ok(())
}

trait InputTypes {
    fn input_fact_types(&self) -> Result<Vec<DatumType>>;
}

impl InputTypes for TypedModel {
    fn input_fact_types(&self) -> Result<Vec<DatumType>> {
        (0..self.inputs.len())
            .map(|i| self.input_fact(i).map(|f| f.datum_type))
            .collect::<TractResult<_>>()
            .map_err(|e| backend_error("cannot read input types", &e))
    }
}

/// A private rayon pool of `n` threads for tract's matrix products, each pinned to `affinity`.
fn pool(n: usize, affinity: Option<Vec<usize>>) -> Result<Executor> {
    let mut builder = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("edgerun-tract-{i}"));
    if let Some(cpus) = affinity {
        builder = builder.start_handler(move |_| {
            // the CPUs were checked against this process's affinity before; should the kernel
            // refuse now (a CPU went offline), the thread keeps the creator's affinity
            let _ = edgerun_core::platform::pin_current_thread(&cpus);
        });
    }
    builder
        .build()
        .map(|p| Executor::MultiThread(Arc::new(p)))
        .map_err(|e| Error::Backend {
            backend: NAME.into(),
            message: format!("cannot start {n} threads: {e}"),
        })
}

/// Run `f`, turning a panic inside tract into an error: a model must not take the process
/// down. ONNX and TensorFlow Lite files passed edgerun's own checks before tract read them, so
/// a panic on one is tract's failure, reported with its version; of an NNEF model only the
/// tensor files are checked beforehand, so there it is taken for a corrupt file.
fn guard<T>(
    path: &Path,
    format: ModelFormat,
    what: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(match format {
            ModelFormat::Nnef => Error::InvalidModel {
                backend: NAME.into(),
                path: path.into(),
                reason: panic_message(what, p),
            },
            _ => Error::Backend {
                backend: NAME.into(),
                message: format!(
                    "{} on {path:?}, a file that passed edgerun's checks: a fault in tract, not a corrupt file; try another backend, and report it with the model",
                    panic_message(what, p)
                ),
            },
        })
    })
}

fn panic_message(what: &str, p: Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| p.downcast_ref::<&str>().copied())
        .unwrap_or("unknown cause");
    format!("tract {} failed while {what} ({msg})", tract_version())
}

/// One line from a tract error chain, shortened.
fn chain(e: &TractError) -> String {
    let mut s = format!("{e:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if s.len() > 400 {
        let cut = (0..=400)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

fn backend_error(what: &str, e: &TractError) -> Error {
    Error::Backend {
        backend: NAME.into(),
        message: format!("{what}: {}", chain(e)),
    }
}

fn invalid(path: &Path, e: &TractError) -> Error {
    Error::InvalidModel {
        backend: NAME.into(),
        path: path.into(),
        reason: chain(e),
    }
}

fn load_onnx(source: &ModelSource) -> Result<InferenceModel> {
    let onnx = tract_onnx::onnx();
    // sizes and data lengths checked before tract allocates from them
    edgerun_core::onnx::check(NAME, source.path(), &source.read_bytes()?)?;
    // from the path when there is one: external data files are found beside the model
    let model = match source.memory() {
        Some(bytes) => onnx.model_for_read(&mut &bytes[..]),
        None => onnx.model_for_path(source.path()),
    }
    .map_err(|e| invalid(source.path(), &e))?;
    // ops tract does not know are loaded as placeholders; refuse them by name now
    for node in model.nodes() {
        let op = node.op.name();
        if let Some(inner) = op
            .strip_prefix("Unimplemented(")
            .and_then(|s| s.strip_suffix(')'))
        {
            return Err(Error::UnsupportedOp {
                backend: NAME.into(),
                op: inner.to_string(),
                node: node.name.clone(),
                detail: "tract has no implementation of it".into(),
            });
        }
    }
    Ok(model)
}

fn load_typed(source: &ModelSource) -> Result<TypedModel> {
    let path = source.path();
    match source.format() {
        ModelFormat::Nnef => {
            // tensor headers checked against their files and the size limit first
            edgerun_core::nnef::check(NAME, path)?;
            tract_nnef::nnef()
                .with_onnx()
                .model_for_path(path)
                .map_err(|e| invalid(path, &e))
        }
        #[cfg(feature = "tflite")]
        ModelFormat::TfLite => {
            // the same check as before the C libraries: tract then reads checked bytes
            let (bytes, decl) = edgerun_core::tflite::read_checked(NAME, source)?;
            // tract's reader quantizes any tensor carrying both vectors, by their first entry,
            // and loads constants of numeric types only; it panics on the rest
            if let Some(what) = decl.uncommon {
                return Err(Error::Backend {
                    backend: NAME.into(),
                    message: format!(
                        "tract's TensorFlow Lite reader cannot read {path:?}: {what}; it reads \
                         quantization on INT8, UINT8 and INT32 tensors and constants of numeric \
                         types only; try the tflite or litert backend"
                    ),
                });
            }
            tract_tflite::tflite()
                .model_for_read(&mut &bytes[..])
                .map_err(|e| tflite_error(path, &e))
        }
        #[cfg(not(feature = "tflite"))]
        ModelFormat::TfLite => Err(Error::UnsupportedFormat {
            backend: NAME.into(),
            format: ModelFormat::TfLite,
        }),
        ModelFormat::Onnx => unreachable!("ONNX goes through load_onnx"),
    }
}

#[cfg(feature = "tflite")]
/// tract's TFLite reader reports an op it lacks as `Unsupported: OperatorCode { ...,
/// builtin_code: NAME, ... }` for the operator writing some tensors; name op and tensor.
fn tflite_error(path: &Path, e: &TractError) -> Error {
    let full = format!("{e:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let Some(at) = full.find("Unsupported: OperatorCode") else {
        if full.contains("Translating proto-op") {
            return Error::Backend {
                backend: NAME.into(),
                message: format!(
                    "tract's TensorFlow Lite reader cannot translate an op of {path:?}: {}; try the tflite backend",
                    chain(e)
                ),
            };
        }
        return invalid(path, e);
    };
    let rest = &full[at..];
    let field = |key: &str| -> Option<String> {
        let i = rest
            .match_indices(key)
            .find(|(i, _)| !rest[..*i].ends_with("deprecated_"))?
            .0;
        let v = rest[i + key.len()..]
            .split([',', ' ', '}'])
            .find(|s| !s.is_empty())?;
        Some(v.trim_matches('"').to_string())
    };
    // as in the TFLite schema: the old 8-bit code wins unless it is the placeholder (127)
    let deprecated = field("deprecated_builtin_code: ").and_then(|c| c.parse::<i32>().ok());
    let mut op = match deprecated {
        Some(code) if code < 127 => tract_tflite::tflite::BuiltinOperator(code)
            .variant_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("builtin #{code}")),
        _ => field("builtin_code: ").unwrap_or_else(|| "?".into()),
    };
    if op == "CUSTOM" {
        if let Some(custom) = field("custom_code: Some(") {
            op = format!("CUSTOM {custom}");
        }
    }
    let outputs = full
        .find("outputs: Some( [")
        .and_then(|i| full[i + 16..].split([']', ',']).next())
        .map(|s| format!("writing tensor #{}", s.trim()))
        .unwrap_or_else(|| "?".into());
    Error::UnsupportedOp {
        backend: NAME.into(),
        op,
        node: outputs,
        detail: "tract's TensorFlow Lite reader covers a subset of the builtin ops".into(),
    }
}

/// The node name in a tract message of the form `... node #12 "name" ...`.
fn node_of(text: &str) -> Option<String> {
    let at = text.find("node #")?;
    let rest = &text[at..];
    let start = rest.find('"')? + 1;
    let len = rest[start..].find('"')?;
    Some(rest[start..start + len].to_string())
}

/// What every plan of a model is made from.
enum Template {
    /// The analysed model; input dimensions the model leaves open are symbols, bound per plan.
    Typed(TypedModel),
    /// An ONNX model tract cannot analyse with open dimensions: analysed anew for each set
    /// of concrete input shapes.
    Onnx(InferenceModel),
}

impl Template {
    fn inputs(&self) -> Result<Vec<TensorInfo>> {
        match self {
            Template::Typed(m) => infos(m, true),
            Template::Onnx(m) => inference_infos(m, true),
        }
    }

    fn outputs(&self) -> Result<Vec<TensorInfo>> {
        match self {
            Template::Typed(m) => infos(m, false),
            Template::Onnx(m) => inference_infos(m, false),
        }
    }
}

fn template(source: &ModelSource, options: &Options) -> Result<Template> {
    match source.format() {
        ModelFormat::Onnx => {
            let model = load_onnx(source)?;
            let declared = inference_infos(&model, true)?;
            options.check_input_shapes(&declared)?;
            Ok(match symbolic(model.clone(), &declared) {
                Ok(typed) => Template::Typed(typed),
                Err(_) => Template::Onnx(model),
            })
        }
        _ => {
            let model = load_typed(source)?;
            options.check_input_shapes(&infos(&model, true)?)?;
            Ok(Template::Typed(model))
        }
    }
}

/// Analyse an ONNX model with every unknown input dimension made a symbol (the model's own
/// name for it, else `<input>_<axis>`).
fn symbolic(mut model: InferenceModel, inputs: &[TensorInfo]) -> TractResult<TypedModel> {
    for (ix, info) in inputs.iter().enumerate() {
        let dims: TVec<TDim> = info
            .shape
            .iter()
            .enumerate()
            .map(|(d, dim)| match dim {
                Dim::Fixed(n) => TDim::Val(*n as i64),
                Dim::Dynamic(sym) => {
                    let name: String = sym
                        .clone()
                        .unwrap_or_else(|| format!("{}_{d}", info.name))
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                        .collect();
                    model.symbols.sym(&name).into()
                }
            })
            .collect();
        let dt = model
            .input_fact(ix)?
            .datum_type
            .concretize()
            .ok_or_else(|| TractError::msg(format!("input {} has no element type", info.name)))?;
        model.set_input_fact(ix, InferenceFact::dt_shape(dt, dims))?;
    }
    model.into_typed()
}

/// Analyse an ONNX model with symbolic inputs and report its outputs. `None` when tract cannot
/// analyse it that way.
fn symbolic_outputs(model: InferenceModel, inputs: &[TensorInfo]) -> Option<Vec<TensorInfo>> {
    infos(&symbolic(model, inputs).ok()?, false).ok()
}

fn analysis_error(path: &Path, e: &TractError) -> Error {
    let text = chain(e);
    match node_of(&text) {
        Some(node) => Error::Backend {
            backend: NAME.into(),
            message: format!(
                "cannot analyse model {path:?} at node {node:?}: {text}; check the input shapes, or try another backend"
            ),
        },
        None => Error::InvalidModel { backend: NAME.into(), path: path.into(), reason: text },
    }
}

fn dtype_of(dt: DatumType) -> Option<(DType, Option<Quant>)> {
    let quant = dt.qparams().map(|q| {
        let (zero_point, scale) = q.zp_scale();
        Quant { scale, zero_point }
    });
    let t = match dt.unquantized() {
        DatumType::F32 => DType::F32,
        DatumType::F16 => DType::F16,
        DatumType::F64 => DType::F64,
        DatumType::I8 => DType::I8,
        DatumType::U8 => DType::U8,
        DatumType::I16 => DType::I16,
        DatumType::I32 => DType::I32,
        DatumType::I64 => DType::I64,
        DatumType::Bool => DType::Bool,
        _ => return None,
    };
    Some((t, quant))
}

fn unsupported_type(name: &str, dt: impl std::fmt::Debug) -> Error {
    Error::Backend {
        backend: NAME.into(),
        message: format!(
            "tensor {name:?} has element type {dt:?}, which edgerun does not exchange"
        ),
    }
}

fn dim_of(d: &TDim) -> Dim {
    match d.to_i64() {
        Ok(v) if v >= 0 => Dim::Fixed(v as usize),
        _ => Dim::Dynamic(Some(d.to_string())),
    }
}

fn outlet_name<F, O>(model: &Graph<F, O>, outlet: OutletId) -> String
where
    F: Fact + Clone + 'static,
    O: std::fmt::Debug + std::fmt::Display + AsRef<dyn Op> + AsMut<dyn Op> + Clone + 'static,
{
    model
        .outlet_label(outlet)
        .map(str::to_string)
        .unwrap_or_else(|| model.node(outlet.node).name.clone())
}

/// Input or output infos of a typed (analysed) model.
fn infos(model: &TypedModel, inputs: bool) -> Result<Vec<TensorInfo>> {
    let outlets = if inputs {
        &model.inputs
    } else {
        &model.outputs
    };
    outlets
        .iter()
        .map(|&o| {
            let fact = model
                .outlet_fact(o)
                .map_err(|e| backend_error("cannot read model facts", &e))?;
            let name = outlet_name(model, o);
            let (dtype, quant) = dtype_of(fact.datum_type)
                .ok_or_else(|| unsupported_type(&name, fact.datum_type))?;
            Ok(TensorInfo {
                name,
                dtype,
                shape: fact.shape.iter().map(dim_of).collect(),
                quant,
            })
        })
        .collect()
}

/// Input or output infos of an ONNX model before analysis: what the file declares.
fn inference_infos(model: &InferenceModel, inputs: bool) -> Result<Vec<TensorInfo>> {
    let outlets = if inputs {
        &model.inputs
    } else {
        &model.outputs
    };
    outlets
        .iter()
        .map(|&o| {
            let fact = model
                .outlet_fact(o)
                .map_err(|e| backend_error("cannot read model facts", &e))?;
            let name = outlet_name(model, o);
            let (dtype, quant) = match fact.datum_type.concretize() {
                Some(dt) => dtype_of(dt).ok_or_else(|| unsupported_type(&name, dt))?,
                // outputs of an ONNX file may leave their type to inference; f32 is what they hold
                None if !inputs => (DType::F32, None),
                None => {
                    return Err(Error::Backend {
                        backend: NAME.into(),
                        message: format!(
                            "input {name:?} declares no element type; the model file is incomplete"
                        ),
                    })
                }
            };
            let shape = fact
                .shape
                .dims()
                .map(|d| match d.concretize() {
                    Some(t) => dim_of(&t),
                    None => Dim::Dynamic(None),
                })
                .collect();
            Ok(TensorInfo {
                name,
                dtype,
                shape,
                quant,
            })
        })
        .collect()
}

fn to_tract(t: &TensorView<'_>, dt: DatumType) -> Result<tract_onnx::prelude::Tensor> {
    let shape = t.shape();
    let built = match t.data() {
        DataRef::F32(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::F16(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::F64(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::I8(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::U8(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::I16(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::I32(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::I64(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::Bool(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
    };
    let mut tensor = built.map_err(|e| backend_error("cannot build the input tensor", &e))?;
    if dt.is_quantized() && dt.unquantized() == tensor.datum_type() {
        // SAFETY: the model's quantized type differs from the tensor's only by its quantization
        // parameters (checked just above: same unquantized type, so the same element size and
        // layout); the raw integers are what the model expects.
        unsafe { tensor.set_datum_type(dt) };
    }
    Ok(tensor)
}

/// Copy a tract output into an edgerun tensor, reusing its buffer.
fn write_output(t: &tract_onnx::prelude::Tensor, out: &mut Tensor) -> Result<()> {
    let (dtype, quant) =
        dtype_of(t.datum_type()).ok_or_else(|| unsupported_type("output", t.datum_type()))?;
    let view = t
        .try_as_plain_ram()
        .map_err(|e| backend_error("cannot read an output", &e))?;
    let read = |e: TractError| backend_error("cannot read an output", &e);
    let data = out.reuse_as(dtype, t.shape())?;
    match data {
        Data::F32(d) => d.copy_from_slice(view.as_slice::<f32>().map_err(read)?),
        Data::F16(d) => d.copy_from_slice(view.as_slice::<f16>().map_err(read)?),
        Data::F64(d) => d.copy_from_slice(view.as_slice::<f64>().map_err(read)?),
        Data::I8(d) => d.copy_from_slice(view.as_slice::<i8>().map_err(read)?),
        Data::U8(d) => d.copy_from_slice(view.as_slice::<u8>().map_err(read)?),
        Data::I16(d) => d.copy_from_slice(view.as_slice::<i16>().map_err(read)?),
        Data::I32(d) => d.copy_from_slice(view.as_slice::<i32>().map_err(read)?),
        Data::I64(d) => d.copy_from_slice(view.as_slice::<i64>().map_err(read)?),
        Data::Bool(d) => d.copy_from_slice(view.as_slice::<bool>().map_err(read)?),
    }
    out.set_quant(quant);
    Ok(())
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_panic_is_a_fault_in_tract_on_checked_formats_and_corruption_on_nnef() {
        let path = Path::new("m.onnx");
        let e = guard::<()>(path, ModelFormat::Onnx, "reading the model", || {
            panic!("index out of bounds")
        })
        .unwrap_err();
        assert_eq!(e.kind(), edgerun_core::ErrorKind::Backend);
        assert_eq!(
            e.to_string(),
            format!(
                "tract: tract {} failed while reading the model (index out of bounds) on \"m.onnx\", a file that passed edgerun's checks: a fault in tract, not a corrupt file; try another backend, and report it with the model",
                tract_version()
            )
        );
        let e = guard::<()>(path, ModelFormat::Nnef, "reading the model", || {
            panic!("eof")
        })
        .unwrap_err();
        assert_eq!(e.kind(), edgerun_core::ErrorKind::InvalidModel);
        assert!(e.to_string().contains("corrupt or truncated"), "{e}");
        assert_eq!(guard(path, ModelFormat::Onnx, "x", || Ok(7)).unwrap(), 7);
    }

    use super::*;

    #[test]
    fn the_version_is_the_one_built_in() {
        // the tract-onnx this workspace locks, read from Cargo.lock
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
                .unwrap();
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"tract-onnx\"\n"))
            .and_then(|p| p.split("version = \"").nth(1))
            .and_then(|v| v.split('"').next())
            .unwrap();
        assert_eq!(tract_version(), locked);
    }
}
