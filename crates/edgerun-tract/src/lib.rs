//! The tract backend of edgerun: pure-Rust CPU inference.
//!
//! Reads ONNX, NNEF (directory or tar archive) and the subset of TensorFlow Lite that tract
//! implements. Models are optimized once, at prepare; on aarch64 tract-linalg picks NEON matrix
//! kernels at run time. With [`Options::threads`] above one, matrix products run on a private
//! rayon pool of that many threads (tract-linalg's `multithread-mm`), named `edgerun-tract-N`.
//! With [`Options::affinity`], each pool thread pins itself to those CPUs when it starts.
//!
//! Dynamic input dimensions must be fixed at prepare time through
//! [`Options::with_input_shape`]; a model whose shape stays unknown is refused with
//! [`Error::MissingInputShape`], naming the input and the dimension.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use edgerun_core::backend::ModelInfo;
use edgerun_core::{
    Availability, Backend, DType, Data, Dim, Error, ModelFormat, ModelSource, OpTiming, Options,
    Prepared, Quant, Result, Session, Tensor, TensorInfo,
};
use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{Factoid, InferenceFact};
use tract_onnx::WithOnnx;

const NAME: &str = "tract";

/// The tract backend. Cheap to create; holds no state.
#[derive(Debug, Default, Clone, Copy)]
pub struct TractBackend;

impl TractBackend {
    pub fn new() -> TractBackend {
        TractBackend
    }
}

type Plan = Arc<TypedRunnableModel>;

impl Backend for TractBackend {
    fn name(&self) -> &'static str {
        NAME
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

    fn formats(&self) -> &'static [ModelFormat] {
        #[cfg(feature = "tflite")]
        return &[ModelFormat::Onnx, ModelFormat::Nnef, ModelFormat::TfLite];
        #[cfg(not(feature = "tflite"))]
        return &[ModelFormat::Onnx, ModelFormat::Nnef];
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
        let plan = guard(model.path(), "preparing the model", || {
            prepare_plan(model, options)
        })?;
        let typed = plan.model();
        let inputs = infos(typed, true)?;
        let outputs = infos(typed, false)?;
        let executor = match options.threads {
            Some(n) if n > 1 => guard(model.path(), "starting threads", || {
                pool(n, options.affinity.clone())
            })?,
            _ => Executor::SingleThread,
        };
        Ok(Box::new(TractPrepared {
            plan,
            inputs,
            outputs,
            executor,
        }))
    }

    fn inspect(&self, model: &ModelSource) -> Result<ModelInfo> {
        guard(model.path(), "reading the model", || match model.format() {
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
        })
    }
}

/// Why the dispatcher does not pick tract for `.tflite` models by itself.
pub const TFLITE_NOT_AUTOMATIC: &str = "not chosen automatically for TensorFlow Lite models: tract 0.23.9's TensorFlow Lite reader computes a TensorFlow-converted MobileNetV2 (models/mobilenetv2_mini.tflite) wrongly, off by 0.66 on logits of magnitude 8; choose it by name (--backend tract) to use it anyway";

/// tract's version, as compiled in.
pub fn tract_version() -> &'static str {
    "0.23.9"
}

struct TractPrepared {
    plan: Plan,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    executor: Executor,
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

    fn session(&self) -> Result<Box<dyn Session>> {
        let state = TypedSimpleState::new(&self.plan)
            .map_err(|e| backend_error("cannot create a session", &e))?;
        Ok(Box::new(TractSession {
            state,
            executor: self.executor.clone(),
            input_types: self.plan.model().input_fact_types()?,
        }))
    }
}

struct TractSession {
    state: TypedSimpleState,
    executor: Executor,
    input_types: Vec<DatumType>,
}

impl TractSession {
    /// One run; with `timings`, each operator is timed (tract's `run_plan_with_eval`).
    fn execute(
        &mut self,
        inputs: &[&Tensor],
        timings: Option<&mut Vec<OpTiming>>,
    ) -> Result<Vec<Tensor>> {
        let values = inputs
            .iter()
            .zip(&self.input_types)
            .map(|(t, dt)| to_tract(t, *dt).map(TValue::from))
            .collect::<Result<TVec<TValue>>>()?;
        let state = &mut self.state;
        let outputs = catch_unwind(AssertUnwindSafe(|| {
            multithread_tract_scope(self.executor.clone(), || match timings {
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
        outputs.iter().map(|t| from_tract(t)).collect()
    }
}

impl Session for TractSession {
    fn run(&mut self, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        self.execute(inputs, None)
    }

    fn profiling(&self) -> std::result::Result<(), String> {
        Ok(())
    }

    fn run_profiled(
        &mut self,
        inputs: &[&Tensor],
        timings: &mut Vec<OpTiming>,
    ) -> Result<Vec<Tensor>> {
        self.execute(inputs, Some(timings))
    }
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

/// Run `f`, turning a panic inside tract into an error: a corrupt model must not take the
/// process down.
fn guard<T>(path: &Path, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        Err(Error::InvalidModel {
            backend: NAME.into(),
            path: path.into(),
            reason: panic_message(what, p),
        })
    })
}

fn panic_message(what: &str, p: Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| p.downcast_ref::<&str>().copied())
        .unwrap_or("unknown cause");
    format!("tract failed while {what} ({msg})")
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
        ModelFormat::Nnef => tract_nnef::nnef()
            .with_onnx()
            .model_for_path(path)
            .map_err(|e| invalid(path, &e)),
        #[cfg(feature = "tflite")]
        ModelFormat::TfLite => {
            let tfl = tract_tflite::tflite();
            match source.memory() {
                Some(bytes) => tfl.model_for_read(&mut &bytes[..]),
                None => tfl.model_for_path(path),
            }
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

fn prepare_plan(source: &ModelSource, options: &Options) -> Result<Plan> {
    let path = source.path();
    let typed = match source.format() {
        ModelFormat::Onnx => {
            let mut model = load_onnx(source)?;
            let declared = inference_infos(&model, true)?;
            options.check_input_shapes(&declared)?;
            for (ix, info) in declared.iter().enumerate() {
                let shape = options.resolve_shape(info)?;
                let dt = model
                    .input_fact(ix)
                    .ok()
                    .and_then(|f| f.datum_type.concretize());
                let fact = match dt {
                    Some(dt) => InferenceFact::dt_shape(dt, shape),
                    None => InferenceFact::shape(shape),
                };
                model
                    .set_input_fact(ix, fact)
                    .map_err(|e| invalid(path, &e))?;
            }
            model.into_typed().map_err(|e| analysis_error(path, &e))?
        }
        _ => {
            let model = load_typed(source)?;
            let declared = infos(&model, true)?;
            options.check_input_shapes(&declared)?;
            let mut subs = HashMap::new();
            for (ix, info) in declared.iter().enumerate() {
                let shape = options.resolve_shape(info)?;
                let fact = model.input_fact(ix).map_err(|e| invalid(path, &e))?;
                for (d, &v) in fact.shape.iter().zip(&shape) {
                    if let TDim::Sym(sym) = d {
                        subs.insert(sym.clone(), TDim::Val(v as i64));
                    }
                }
            }
            if subs.is_empty() {
                model
            } else {
                model
                    .set_symbols(&subs)
                    .map_err(|e| analysis_error(path, &e))?
            }
        }
    };
    let optimized = typed
        .into_optimized()
        .map_err(|e| analysis_error(path, &e))?;
    optimized
        .into_runnable()
        .map_err(|e| analysis_error(path, &e))
}

/// Analyse an ONNX model with every unknown input dimension made a symbol, and report its
/// outputs. `None` when tract cannot analyse it that way.
fn symbolic_outputs(mut model: InferenceModel, inputs: &[TensorInfo]) -> Option<Vec<TensorInfo>> {
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
        let dt = model.input_fact(ix).ok()?.datum_type.concretize()?;
        model
            .set_input_fact(ix, InferenceFact::dt_shape(dt, dims))
            .ok()?;
    }
    infos(&model.into_typed().ok()?, false).ok()
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

fn to_tract(t: &Tensor, dt: DatumType) -> Result<tract_onnx::prelude::Tensor> {
    let shape = t.shape();
    let built = match t.data() {
        Data::F32(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        Data::F16(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        Data::F64(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        Data::I8(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        Data::U8(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        Data::I16(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        Data::I32(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        Data::I64(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        Data::Bool(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
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

fn from_tract(t: &tract_onnx::prelude::Tensor) -> Result<Tensor> {
    let (dtype, quant) =
        dtype_of(t.datum_type()).ok_or_else(|| unsupported_type("output", t.datum_type()))?;
    let view = t
        .try_as_plain_ram()
        .map_err(|e| backend_error("cannot read an output", &e))?;
    let read = |e: TractError| backend_error("cannot read an output", &e);
    let data = match dtype {
        DType::F32 => Data::F32(view.as_slice::<f32>().map_err(read)?.to_vec()),
        DType::F16 => Data::F16(view.as_slice::<f16>().map_err(read)?.to_vec()),
        DType::F64 => Data::F64(view.as_slice::<f64>().map_err(read)?.to_vec()),
        DType::I8 => Data::I8(view.as_slice::<i8>().map_err(read)?.to_vec()),
        DType::U8 => Data::U8(view.as_slice::<u8>().map_err(read)?.to_vec()),
        DType::I16 => Data::I16(view.as_slice::<i16>().map_err(read)?.to_vec()),
        DType::I32 => Data::I32(view.as_slice::<i32>().map_err(read)?.to_vec()),
        DType::I64 => Data::I64(view.as_slice::<i64>().map_err(read)?.to_vec()),
        DType::Bool => Data::Bool(view.as_slice::<bool>().map_err(read)?.to_vec()),
    };
    Ok(Tensor::from_data(t.shape().to_vec(), data)?.with_quant(quant))
}
