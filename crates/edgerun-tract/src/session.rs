//! A prepared model and its sessions: inputs in, outputs out, on a private thread pool.

use super::*;

pub(crate) struct TractPrepared {
    pub(crate) shared: Arc<Shared>,
    pub(crate) inputs: Vec<TensorInfo>,
    pub(crate) outputs: Vec<TensorInfo>,
    pub(crate) executor: Executor,
    pub(crate) prepared_shapes: Vec<Option<Vec<usize>>>,
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

pub(crate) struct TractSession {
    pub(crate) shared: Arc<Shared>,
    /// The plan for the last run's shapes and its state.
    pub(crate) current: Option<(Arc<PlanEntry>, TypedSimpleState)>,
    /// Input tensors kept between runs and refilled in place when the shape is unchanged.
    pub(crate) buffers: Vec<Option<Arc<tract_onnx::prelude::Tensor>>>,
    pub(crate) executor: Executor,
}

impl TractSession {
    /// The plan and state for these inputs' shapes, re-planning when they changed.
    pub(crate) fn state_for(&mut self, inputs: &[TensorView<'_>]) -> Result<()> {
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
    pub(crate) fn execute(
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
        let results = crate::quiet::catch(|| {
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
        })
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

    fn profiling(&self) -> Result<()> {
        Ok(())
    }
}

/// The tract value for one input: the session's buffer refilled in place when tract has let
/// go of it and it has the same type and shape, else a new tensor (the one copy either way).
pub(crate) fn input_value(
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

pub(crate) fn fill(dst: &mut tract_onnx::prelude::Tensor, src: DataRef<'_>) -> TractResult<()> {
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
        DataRef::U16(v) => view.as_slice_mut::<u16>()?.copy_from_slice(v),
        DataRef::U32(v) => view.as_slice_mut::<u32>()?.copy_from_slice(v),
        DataRef::U64(v) => view.as_slice_mut::<u64>()?.copy_from_slice(v),
        DataRef::Bool(v) => view.as_slice_mut::<bool>()?.copy_from_slice(v),
        DataRef::BF16(_) => {
            return Err(TractError::msg(
                "tract has no bfloat16 type; use the ort backend",
            ))
        }
    }
    Ok(())
}

pub(crate) trait InputTypes {
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
pub(crate) fn pool(n: usize, affinity: Option<Vec<usize>>) -> Result<Executor> {
    let mut builder = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("{}{i}", crate::quiet::POOL_THREAD));
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
pub(crate) fn guard<T>(
    path: &Path,
    format: ModelFormat,
    what: &str,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    crate::quiet::catch(f).unwrap_or_else(|p| {
        Err(match format {
            ModelFormat::Nnef => Error::InvalidModel {
                source: None,
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
