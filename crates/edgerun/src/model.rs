//! A prepared model: what it declares, how it was placed and chosen, its sessions and batches.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use crate::dispatch::decision::Decision;
use crate::platform::PinGuard;
use crate::session::{ModelSession, Outputs};
#[cfg(feature = "image")]
use crate::{preprocess, Tensor};
use crate::{
    AsTensorView, Error, ModelFormat, ModelSource, Placement, Prepared, Result, TensorInfo,
};

/// A prepared model. Cheap to clone; share it between threads and give each its own session.
#[derive(Clone)]
pub struct Model {
    pub(crate) prepared: Arc<dyn Prepared>,
    pub(crate) output_names: Arc<[String]>,
    pub(crate) source: ModelSource,
    pub(crate) decision: Decision,
    pub(crate) placement: Placement,
    pub(crate) affinity: Option<Arc<[usize]>>,
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

    /// Input `index` made of an image: resized, fitted, normalized and laid out for that
    /// input's prepared shape, type and quantization (see [`preprocess`]), with where the
    /// image lies in it.
    ///
    /// # Errors
    /// [`Error::Image`] when the input is not an image input, [`Error::ImageSizeOpen`] when its
    /// height or width is left open (give its shape at load); [`Error::InvalidOption`] for an
    /// index past the inputs.
    #[cfg(feature = "image")]
    pub fn image_input(
        &self,
        index: usize,
        image: &preprocess::Image,
        how: &preprocess::Preprocess,
    ) -> Result<(Tensor, preprocess::Geometry)> {
        let info = self
            .inputs()
            .get(index)
            .ok_or_else(|| Error::InvalidOption {
                option: format!("input index {index}"),
                reason: format!("the model has {} input(s)", self.inputs().len()),
            })?;
        let shape = self
            .prepared_shape(index)
            .ok_or_else(|| Error::ImageSizeOpen {
                input: info.name.clone(),
                shape: info.shape.iter().map(ToString::to_string).collect(),
                height: image.height() as usize,
                width: image.width() as usize,
            })?;
        how.tensor(image, info, &shape)
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

    /// How this backend was chosen: every candidate, skip reasons, measured medians,
    /// agreement, the winner and whether it came from cache, policy or measurement.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// Threads and CPUs the model runs with, and why.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// How many sessions [`Model::run_batch`] runs at once: the CPUs the model may use (its
    /// pinned set, else those this process may use) divided by the threads of one inference,
    /// at least 1. Workers × threads never exceed the CPUs unless one inference alone has more
    /// threads than there are CPUs: a model loaded with one thread per core runs a batch one
    /// input at a time, each input on every core; a model loaded with one thread runs one
    /// input per core.
    pub fn batch_workers(&self) -> usize {
        let cpus = match &self.placement.affinity {
            Some(set) => set.len(),
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        (cpus / self.placement.threads.max(1)).max(1)
    }

    /// Run many inputs, each a list in the order of [`Model::inputs`], across
    /// [`Model::batch_workers`] sessions (one per worker thread of a rayon pool; a session is
    /// never shared). Results come back in the order of `inputs`; an input that fails gets its
    /// error and the others still run.
    ///
    /// # Errors
    /// Per input, as [`ModelSession::run`]; when the sessions or the worker threads cannot be
    /// made, every input gets that error.
    pub fn run_batch<T: AsTensorView + Sync>(&self, inputs: &[Vec<T>]) -> Vec<Result<Outputs>> {
        // one failure that befalls every input: each gets it, of the same kind
        let every =
            |e: &Error| -> Vec<Result<Outputs>> { inputs.iter().map(|_| Err(e.clone())).collect() };
        let workers = self.batch_workers().min(inputs.len());
        if workers <= 1 {
            return match self.session() {
                Ok(mut s) => inputs.iter().map(|i| s.run(i)).collect(),
                Err(e) => every(&e),
            };
        }
        let pool = match rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("edgerun-batch-{i}"))
            .build()
        {
            Ok(p) => p,
            Err(e) => {
                return every(&Error::Backend {
                    backend: self.backend().into(),
                    message: format!("cannot start {workers} batch worker threads: {e}"),
                })
            }
        };
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done: std::sync::Mutex<Vec<(usize, Result<Outputs>)>> =
            std::sync::Mutex::new(Vec::with_capacity(inputs.len()));
        pool.scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|_| {
                    let mut mine = Vec::new();
                    let mut session = self.session();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else { break };
                        let r = match &mut session {
                            Ok(s) => s.run(input),
                            Err(e) => Err(e.clone()),
                        };
                        mine.push((i, r));
                    }
                    done.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(mine);
                });
            }
        });
        let mut done = done
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        done.sort_unstable_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
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
