//! Prepared models and sessions: one compiled model per session, with its tensor buffers.

use std::os::raw::c_int;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use edgerun_core::artifact::ArtifactFile;
use edgerun_core::backend::{output_slots, profiling_unavailable};
use edgerun_core::{
    DType, Error, OpTiming, Prepared, Quant, Result, Session, Tensor, TensorInfo, TensorView,
};

use edgerun_formats::tflite::flatbuf::{OpDecl, CUSTOM};
use edgerun_formats::tflite::types;

use crate::sys::{self, CompiledModel, Layout, TensorBuffer};
use crate::NAME;

/// Everything a session is built from.
pub(crate) struct Recipe {
    pub model: Arc<sys::Model>,
    pub threads: usize,
    /// For each edgerun input (output), its index in the signature.
    pub in_order: Vec<usize>,
    pub out_order: Vec<usize>,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    /// LiteRT element types of the signature's inputs and outputs, in signature order.
    pub element_types: (Vec<c_int>, Vec<c_int>),
    pub hints: Vec<(String, Vec<usize>)>,
    pub path: PathBuf,
    /// The model's operators, to name the one LiteRT cannot run when compiling fails.
    pub ops: Vec<OpDecl>,
    /// Compile with LiteRT's profiler attached ([`edgerun_core::Options::profiling`]).
    pub profiling: bool,
    /// XNNPACK computes float operators in fp16.
    pub fp16: bool,
    /// XNNPACK's packed weights are kept in this file ([`edgerun_core::Options::artifact`]).
    pub weight_cache: Option<PathBuf>,
}

/// LiteRT reads its CPU options as TOML lines and unquotes strings without escapes: a path
/// fits only as UTF-8 without quotes, line breaks or surrounding blanks.
pub(crate) fn toml_path(path: &Path) -> Option<&str> {
    let s = path.to_str()?;
    let fits = !s.contains(['"', '\n', '\r']) && s.trim() == s && !s.is_empty();
    fits.then_some(s)
}

fn backend_error(recipe: &Recipe, f: sys::Failure) -> Error {
    Error::Engine {
        backend: NAME.into(),
        context: format!("{:?}", recipe.path),
        source: f.engine(),
    }
}

/// Custom ops that LiteRT's built-in op resolver registers (`tflite/core/kernels/register.cc`).
const BUILTIN_CUSTOM_OPS: &[&str] = &[
    "NumericVerify",
    "Mfcc",
    "AudioSpectrogram",
    "TFLite_Detection_PostProcess",
    "aeq.hadamard_rotation",
];

/// Where XNNPACK (through cpuinfo) reads which CPUs exist when LiteRT compiles a model.
const CPU_LIST: &str = "/sys/devices/system/cpu/possible";

/// Without `/sys` (a chroot, a sandbox that does not mount it) XNNPACK cannot read the CPU
/// lists and compiling fails with a bare runtime failure: say what is missing.
fn missing_sys_hint(cpu_list: &std::path::Path) -> Option<String> {
    (!cpu_list.exists()).then(|| {
        format!(
            "{} is missing, and XNNPACK reads the CPU lists there: mount /sys (a container has it; a chroot or sandbox may not)",
            cpu_list.display()
        )
    })
}

/// Compiling failed. LiteRT says why only in its log, so when the model has an op that LiteRT's
/// built-in op set cannot hold (a builtin code newer than the schema, or a custom op it does not
/// register), that op is named, and a missing `/sys` is named; anything else stays a backend
/// error.
fn compile_error(recipe: &Recipe, f: sys::Failure) -> Error {
    let foreign = recipe.ops.iter().find(|o| match (o.code, &o.custom) {
        (CUSTOM, Some(name)) => !BUILTIN_CUSTOM_OPS.contains(&name.as_str()),
        (CUSTOM, None) => true,
        (code, _) => !types::known_builtin(code),
    });
    match foreign {
        Some(op) => Error::UnsupportedOp {
            source: Some(f.engine()),
            backend: NAME.into(),
            op: op.name(),
            node: op.place(),
            detail: format!("{f}; LiteRT has no kernel for it (its log above names the cause)"),
        },
        None => match missing_sys_hint(std::path::Path::new(CPU_LIST)) {
            Some(hint) => Error::Engine {
                backend: NAME.into(),
                context: format!("compiling {:?}; {hint}", recipe.path),
                source: f.engine(),
            },
            None => backend_error(recipe, f),
        },
    }
}

/// A compiled model and buffers for the shapes it is allocated for.
struct Engine {
    cm: CompiledModel,
    /// Buffers in signature order.
    inputs: Vec<TensorBuffer>,
    outputs: Vec<TensorBuffer>,
    /// Current input shapes, edgerun order.
    shapes: Vec<Vec<usize>>,
    /// Output layouts, signature order.
    out_layouts: Vec<Layout>,
    /// What became of XNNPACK's weight cache, when one was asked for.
    weights: Option<String>,
}

impl Engine {
    /// Compile and allocate. LiteRT resolves some kernels (custom ops) only when it first
    /// allocates, so a failure anywhere here may be an op it cannot run.
    fn new(recipe: &Recipe) -> Result<Engine> {
        let err = |f| compile_error(recipe, f);
        // XNNPACK maps a file that exists and packs into one that does not
        let cache = recipe
            .weight_cache
            .as_deref()
            .map(ArtifactFile::begin)
            .filter(|c| toml_path(c.path()).is_some());
        let mut cm = CompiledModel::new(
            recipe.model.clone(),
            recipe.threads,
            recipe.profiling,
            recipe.fp16,
            cache.as_ref().and_then(|c| toml_path(c.path())),
        )
        .map_err(err)?;
        let weights = cache.map(|c| c.finish("XNNPACK's packed weights"));
        // the shapes given at load, applied now
        for (name, shape) in &recipe.hints {
            if let Some(ix) = recipe.inputs.iter().position(|i| &i.name == name) {
                let dims = edgerun_formats::tflite::dims_i32(shape)?;
                cm.resize_input(recipe.in_order[ix], &dims).map_err(err)?;
            }
        }
        let mut shapes = Vec::with_capacity(recipe.inputs.len());
        for &sig in &recipe.in_order {
            let l = cm.input_layout(sig).map_err(err)?;
            shapes.push(l.dims().iter().map(|&d| d.max(0) as usize).collect());
        }
        let mut engine = Engine {
            cm,
            inputs: Vec::new(),
            outputs: Vec::new(),
            shapes,
            out_layouts: Vec::new(),
            weights,
        };
        engine.allocate(recipe).map_err(err)?;
        Ok(engine)
    }

    /// (Re)create every buffer for the current shapes.
    fn allocate(&mut self, recipe: &Recipe) -> std::result::Result<(), sys::Failure> {
        let api = self.cm.api().clone();
        let n_in = recipe.element_types.0.len();
        let n_out = recipe.element_types.1.len();
        let mut inputs = Vec::with_capacity(n_in);
        for sig in 0..n_in {
            let layout = self.cm.input_layout(sig)?;
            let size = self.cm.buffer_size(true, sig)?;
            inputs.push(TensorBuffer::new(
                api.clone(),
                recipe.element_types.0[sig],
                layout,
                size,
            )?);
        }
        let mut layouts = vec![Layout::of(&[]).expect("rank 0 fits"); n_out];
        self.cm.output_layouts(&mut layouts)?;
        let mut outputs = Vec::with_capacity(n_out);
        for (sig, layout) in layouts.iter().enumerate() {
            let size = self.cm.buffer_size(false, sig)?;
            outputs.push(TensorBuffer::new(
                api.clone(),
                recipe.element_types.1[sig],
                *layout,
                size,
            )?);
        }
        self.inputs = inputs;
        self.outputs = outputs;
        self.out_layouts = layouts;
        Ok(())
    }

    /// Resize the inputs whose shape changed and reallocate; nothing when none did.
    fn fit(&mut self, recipe: &Recipe, inputs: &[TensorView<'_>]) -> Result<()> {
        let mut changed = false;
        for (ix, t) in inputs.iter().enumerate() {
            if self.shapes[ix] != t.shape() {
                let dims = edgerun_formats::tflite::dims_i32(t.shape())?;
                self.cm
                    .resize_input(recipe.in_order[ix], &dims)
                    .map_err(|f| Error::Engine {
                        backend: NAME.into(),
                        context: format!(
                            "input {:?} cannot take shape [{}]",
                            recipe.inputs[ix].name,
                            edgerun_core::error::shape_string(t.shape())
                        ),
                        source: f.engine(),
                    })?;
                self.shapes[ix].clear();
                self.shapes[ix].extend_from_slice(t.shape());
                changed = true;
            }
        }
        if changed {
            self.allocate(recipe)
                .map_err(|f| backend_error(recipe, f))?;
        }
        Ok(())
    }
}

pub(crate) struct LiteRtPrepared {
    recipe: Arc<Recipe>,
    prepared_shapes: Vec<Vec<usize>>,
    spare: Mutex<Option<Engine>>,
    /// What the first compile did with XNNPACK's weight cache.
    weights: Option<String>,
}

/// Prepare: compile once now, so errors surface here and the first session gets it.
pub(crate) fn prepared(recipe: Recipe) -> Result<Box<dyn Prepared>> {
    let engine = Engine::new(&recipe)?;
    Ok(Box::new(LiteRtPrepared {
        prepared_shapes: engine.shapes.clone(),
        weights: engine.weights.clone(),
        recipe: Arc::new(recipe),
        spare: Mutex::new(Some(engine)),
    }))
}

impl Prepared for LiteRtPrepared {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn inputs(&self) -> &[TensorInfo] {
        &self.recipe.inputs
    }

    fn outputs(&self) -> &[TensorInfo] {
        &self.recipe.outputs
    }

    fn notes(&self) -> Vec<String> {
        let mut notes = vec![format!(
            "CPU accelerator (XNNPACK), {} thread{}{}",
            self.recipe.threads,
            if self.recipe.threads == 1 { "" } else { "s" },
            if self.recipe.fp16 {
                ", float operators in fp16 (FORCE_FP16)"
            } else {
                ""
            }
        )];
        notes.extend(self.weights.clone());
        notes
    }

    fn prepared_shape(&self, index: usize) -> Option<Vec<usize>> {
        self.prepared_shapes.get(index).cloned()
    }

    fn session(&self) -> Result<Box<dyn Session>> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let engine = match spare {
            Some(e) => e,
            None => Engine::new(&self.recipe)?,
        };
        Ok(Box::new(LiteRtSession {
            outputs: self
                .recipe
                .outputs
                .iter()
                .map(|o| (o.dtype, o.quant))
                .collect(),
            engine,
            recipe: self.recipe.clone(),
            dims: Vec::new(),
        }))
    }
}

/// One compiled model. `Send`, not `Sync`.
struct LiteRtSession {
    engine: Engine,
    outputs: Vec<(DType, Option<Quant>)>,
    recipe: Arc<Recipe>,
    dims: Vec<usize>,
}

impl Session for LiteRtSession {
    fn profiling(&self) -> Result<()> {
        let cm = &self.engine.cm;
        if cm.profiles() {
            Ok(())
        } else if !cm.library_profiles() {
            Err(profiling_unavailable(
                NAME,
                "this LiteRT library has no profiler in its C API (LiteRtCompiledModelGetProfiler); use LiteRT 2.2 or newer".into(),
            ))
        } else {
            Err(profiling_unavailable(
                NAME,
                "LiteRT times operators only in a model compiled for it; load the model with profiling on (Runtime::with_profiling(true); edgerun bench --enable_op_profiling does)".into(),
            ))
        }
    }

    fn run(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &mut Vec<Tensor>,
        timings: Option<&mut Vec<OpTiming>>,
    ) -> Result<()> {
        if timings.is_some() {
            self.profiling()?;
        }
        let recipe = &*self.recipe;
        self.engine.fit(recipe, inputs)?;
        let err = |f| backend_error(recipe, f);
        for (ix, t) in inputs.iter().enumerate() {
            self.engine.inputs[recipe.in_order[ix]]
                .write(t.data())
                .map_err(err)?;
        }
        let e = &mut self.engine;
        match timings {
            None => e.cm.run(&e.inputs, &e.outputs).map_err(err)?,
            Some(timings) => {
                let events = e.cm.run_profiled(&e.inputs, &e.outputs).map_err(err)?;
                timings.extend(operator_timings(&events, &recipe.ops));
            }
        }
        output_slots(outputs, self.outputs.len());
        for (ix, (out, &(dtype, quant))) in outputs.iter_mut().zip(&self.outputs).enumerate() {
            let sig = recipe.out_order[ix];
            self.dims.clear();
            self.dims
                .extend(e.out_layouts[sig].dims().iter().map(|&d| d.max(0) as usize));
            let data = out.reuse_as(dtype, &self.dims)?;
            e.outputs[sig].read(data).map_err(err)?;
            out.set_quant(quant);
        }
        Ok(())
    }
}

/// The operators among a profiled run's events, as benchmark_model names them: an operator
/// XNNPACK ran is `Delegate/TAG:K` (its K-th operator; XNNPACK's operators are its own,
/// after fusing, not the model's), one the interpreter ran is named after the tensor it
/// writes. Runtime stages (buffer registration, Invoke) are not operators.
fn operator_timings(events: &[sys::ProfileEvent], ops: &[OpDecl]) -> Vec<OpTiming> {
    events
        .iter()
        .filter_map(|e| {
            let name = match e.kind {
                sys::EVENT_DELEGATE_OPERATOR => format!("Delegate/{}:{}", e.tag, e.node),
                sys::EVENT_OPERATOR => ops
                    .iter()
                    .find(|o| o.subgraph as u64 == e.subgraph && o.index as u64 == e.node)
                    .and_then(|o| o.output.clone())
                    .unwrap_or_else(|| format!("node {}", e.node)),
                _ => return None,
            };
            Some((name, e))
        })
        .enumerate()
        .map(|(index, (name, e))| OpTiming {
            index,
            name,
            op_type: e.tag.clone(),
            micros: e.micros,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_cpu_list_is_named_with_the_fix() {
        let dir = std::env::temp_dir().join(format!("edgerun-litert-sys-{}", std::process::id()));
        let list = dir.join("possible");
        let hint = missing_sys_hint(&list).expect("a hint when the CPU list is missing");
        assert!(
            hint.contains(&list.display().to_string()) && hint.contains("mount /sys"),
            "{hint}"
        );
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(&list, "0-1\n").unwrap();
        assert_eq!(missing_sys_hint(&list), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn operators_are_named_as_benchmark_model_names_them() {
        let event = |tag: &str, kind, node, subgraph| sys::ProfileEvent {
            tag: tag.into(),
            kind,
            micros: 7,
            node,
            subgraph,
        };
        let ops = vec![OpDecl {
            subgraph: 0,
            index: 3,
            code: 25,
            custom: None,
            output: Some("probs".into()),
        }];
        let events = [
            event("LiteRT::Run[buffer registration]", 1, 0, 0),
            event(
                "Convolution (NHWC, F32) IGEMM",
                sys::EVENT_DELEGATE_OPERATOR,
                0,
                0,
            ),
            event("Invoke", 1, 0, 0),
            event("SOFTMAX", sys::EVENT_OPERATOR, 3, 0),
            event("SOFTMAX", sys::EVENT_OPERATOR, 4, 0),
        ];
        let t = operator_timings(&events, &ops);
        let seen: Vec<(usize, &str, &str)> = t
            .iter()
            .map(|t| (t.index, t.name.as_str(), t.op_type.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (
                    0,
                    "Delegate/Convolution (NHWC, F32) IGEMM:0",
                    "Convolution (NHWC, F32) IGEMM"
                ),
                (1, "probs", "SOFTMAX"),
                (2, "node 4", "SOFTMAX"),
            ]
        );
        assert!(t.iter().all(|t| t.micros == 7));
    }
}
