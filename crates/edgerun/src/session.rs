//! Running a model: sessions and their outputs.

use std::sync::Arc;

use crate::platform::PinGuard;
use crate::{
    check_inputs, order_inputs, AsTensorView, Error, OpTiming, Prepared, Result, Session, Tensor,
    TensorView,
};

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
    pub(crate) session: Box<dyn Session>,
    pub(crate) prepared: Arc<dyn Prepared>,
    pub(crate) output_names: Arc<[String]>,
    pub(crate) affinity: Option<Arc<[usize]>>,
    /// Room for the input views of a run, kept between runs (empty between them).
    pub(crate) views: Vec<TensorView<'static>>,
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
        self.run_named_into(inputs, &mut outputs)?;
        Ok(outputs)
    }

    /// [`ModelSession::run_named`], writing into `outputs` as [`ModelSession::run_into`] does.
    ///
    /// # Errors
    /// As [`ModelSession::run_named`].
    pub fn run_named_into<T: AsTensorView>(
        &mut self,
        inputs: &[(&str, T)],
        outputs: &mut Outputs,
    ) -> Result<()> {
        let mut views = recycle(std::mem::take(&mut self.views));
        let r = order_inputs(self.prepared.inputs(), inputs, &mut views)
            .and_then(|()| self.run_views(&views, outputs, None));
        self.views = recycle(views);
        r
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

    /// Whether [`ModelSession::run_profiled`] can time operators with this backend.
    ///
    /// # Errors
    /// [`Error::ProfilingUnavailable`] with the backend's reason when it cannot.
    pub fn profiling(&self) -> Result<()> {
        self.session.profiling().map_err(|e| self.named(e))
    }

    /// Run like [`ModelSession::run`] and append the time each operator took to `timings`:
    /// tract's plan, each node ONNX Runtime ran (1.25 and later), or each operator XNNPACK ran
    /// in LiteRT (a model loaded with [`crate::Runtime::with_profiling`]). TensorFlow Lite's C
    /// API times nothing.
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
            .map_err(|e| self.named(e))
    }

    /// A backend's profiling error names that backend (a session does not know its name).
    fn named(&self, e: Error) -> Error {
        match e {
            Error::ProfilingUnavailable { reason, .. } => Error::ProfilingUnavailable {
                backend: self.prepared.backend().into(),
                reason,
            },
            e => e,
        }
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
