//! Prepared models and sessions: interpreters with their delegates, resized when the input
//! shapes change.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use edgerun_core::backend::output_slots;
use edgerun_core::{
    DType, Error, OpTiming, Prepared, Quant, Result, Session, Tensor, TensorInfo, TensorView,
};
use edgerun_formats::tflite::dims_i32;

use crate::errors::{plugin_error, tflite_failure};
use crate::flatbuf::OpDecl;
use crate::{sys, NAME};

/// A loaded plugin and the options each of its delegates is created with.
pub(crate) type PluginUse = (Arc<sys::Plugin>, Vec<(String, String)>);

/// How to build an interpreter, shared by the prepared model and its sessions.
pub(crate) struct Recipe {
    pub model: Arc<sys::Model>,
    pub threads: i32,
    pub xnnpack: bool,
    pub plugin: Option<PluginUse>,
    /// The shapes interpreters are allocated for at first: the hints given, else the model's.
    pub shapes: Vec<Vec<usize>>,
    pub path: PathBuf,
    pub ops: Arc<[OpDecl]>,
}

impl Recipe {
    /// Build an interpreter: delegates in order (external first, then XNNPACK), inputs
    /// resized where the prepared shapes differ from the model's, tensors allocated.
    pub fn interpreter(&self) -> Result<sys::Interpreter> {
        let mut delegates = Vec::new();
        if let Some((plugin, options)) = &self.plugin {
            delegates.push(
                plugin
                    .create(options)
                    .map_err(|e| plugin_error(plugin.path(), e))?,
            );
        }
        let api = self.model.api();
        if self.xnnpack {
            if let Some(x) = sys::xnnpack(&api, self.threads) {
                delegates.push(x);
            }
        }
        let failure = |f: sys::Failure| tflite_failure(&self.path, &api, &self.ops, f);
        let mut it =
            sys::Interpreter::new(self.model.clone(), self.threads, delegates).map_err(failure)?;
        let mut dims = Vec::new();
        for (ix, shape) in self.shapes.iter().enumerate() {
            if it.dims(true, ix, &mut dims) && dims == *shape {
                continue;
            }
            it.resize_input(ix, &dims_i32(shape)?).map_err(failure)?;
        }
        it.allocate().map_err(failure)?;
        Ok(it)
    }
}

pub(crate) struct TfLitePrepared {
    pub recipe: Arc<Recipe>,
    pub inputs: Vec<TensorInfo>,
    pub outputs: Vec<TensorInfo>,
    pub notes: Vec<String>,
    /// The interpreter built at prepare, handed to the first session.
    pub spare: Mutex<Option<sys::Interpreter>>,
}

impl Prepared for TfLitePrepared {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn prepared_shape(&self, index: usize) -> Option<Vec<usize>> {
        self.recipe.shapes.get(index).cloned()
    }

    fn session(&self) -> Result<Box<dyn Session>> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let interpreter = match spare {
            Some(it) => it,
            None => self.recipe.interpreter()?,
        };
        Ok(Box::new(TfLiteSession {
            interpreter,
            shapes: self.recipe.shapes.clone(),
            outputs: self.outputs.iter().map(|o| (o.dtype, o.quant)).collect(),
            recipe: self.recipe.clone(),
            dims: Vec::new(),
            scratch: Vec::new(),
        }))
    }
}

/// One interpreter. `Send`, not `Sync`: TFLite interpreters are not thread-safe.
struct TfLiteSession {
    interpreter: sys::Interpreter,
    /// The input shapes the interpreter is allocated for.
    shapes: Vec<Vec<usize>>,
    /// Type and quantization of each output.
    outputs: Vec<(DType, Option<Quant>)>,
    recipe: Arc<Recipe>,
    /// Scratch for output dims and bool outputs, kept between runs.
    dims: Vec<usize>,
    scratch: Vec<u8>,
}

impl TfLiteSession {
    fn failure(&self, f: sys::Failure) -> Error {
        tflite_failure(
            &self.recipe.path,
            &self.interpreter.library(),
            &self.recipe.ops,
            f,
        )
    }

    /// Resize the inputs whose shape changed, and reallocate; nothing when none did.
    fn fit(&mut self, inputs: &[TensorView<'_>]) -> Result<()> {
        let mut changed = false;
        for (ix, t) in inputs.iter().enumerate() {
            if self.shapes[ix] != t.shape() {
                let r = self.interpreter.resize_input(ix, &dims_i32(t.shape())?);
                r.map_err(|f| self.failure(f))?;
                self.shapes[ix].clear();
                self.shapes[ix].extend_from_slice(t.shape());
                changed = true;
            }
        }
        if changed {
            let r = self.interpreter.allocate();
            r.map_err(|f| self.failure(f))?;
        }
        Ok(())
    }
}

impl Session for TfLiteSession {
    fn profiling(&self) -> Result<()> {
        let api = self.interpreter.library();
        Err(edgerun_core::backend::profiling_unavailable(
            NAME,
            format!(
                "the TensorFlow Lite C API ({} at {}) gives applications no per-operator timings; \
             profile with the tract backend, or with TensorFlow Lite's own benchmark_model",
                api.version(),
                api.path().display()
            ),
        ))
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
        self.fit(inputs)?;
        for (ix, t) in inputs.iter().enumerate() {
            // tensors are little-endian in edgerun and in TFLite on every target it supports
            let r = self.interpreter.write_input(ix, t.data());
            r.map_err(|f| self.failure(f))?;
        }
        let r = self.interpreter.invoke();
        r.map_err(|f| self.failure(f))?;
        output_slots(outputs, self.outputs.len());
        for (ix, (out, &(dtype, quant))) in outputs.iter_mut().zip(&self.outputs).enumerate() {
            if !self.interpreter.dims(false, ix, &mut self.dims) {
                return Err(Error::Backend {
                    backend: NAME.into(),
                    message: format!("cannot read output {ix}"),
                });
            }
            let data = out.reuse_as(dtype, &self.dims)?;
            let r = self.interpreter.read_output(ix, data, &mut self.scratch);
            r.map_err(|f| {
                tflite_failure(
                    &self.recipe.path,
                    &self.interpreter.library(),
                    &self.recipe.ops,
                    f,
                )
            })?;
            out.set_quant(quant);
        }
        Ok(())
    }
}
