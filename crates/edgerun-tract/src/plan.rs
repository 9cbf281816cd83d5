//! The cache of optimized plans, one per set of concrete input shapes, shared by every
//! session of a prepared model.

use super::*;

/// One optimized plan for one set of concrete input shapes.
pub(crate) struct PlanEntry {
    /// Every input's dims, concatenated (ranks are the model's, so this is unambiguous).
    pub(crate) key: Vec<usize>,
    pub(crate) plan: Plan,
    pub(crate) input_types: Vec<DatumType>,
}

/// What every session of a prepared model shares: the analysed model with its dimension
/// symbols, and the plans optimized so far.
pub(crate) struct Shared {
    pub(crate) template: Template,
    /// For each input, the symbol of each dimension that has one.
    pub(crate) input_symbols: Vec<Vec<Option<Symbol>>>,
    /// Most recently used first.
    pub(crate) plans: Mutex<Vec<Arc<PlanEntry>>>,
    pub(crate) capacity: usize,
    pub(crate) path: std::path::PathBuf,
    pub(crate) format: ModelFormat,
}

pub(crate) fn same_key<'a>(key: &[usize], shapes: impl Iterator<Item = &'a [usize]>) -> bool {
    key.iter().eq(shapes.flatten())
}

impl Shared {
    /// The plan for these input shapes: from the cache, or optimized now and cached.
    pub(crate) fn plan_for(&self, shapes: &[&[usize]]) -> Result<Arc<PlanEntry>> {
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

    pub(crate) fn optimize(&self, shapes: &[&[usize]]) -> Result<PlanEntry> {
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

pub(crate) fn shape_error(path: &Path, shapes: &[&[usize]], e: &TractError) -> Error {
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
pub(crate) fn input_symbols(model: &TypedModel) -> Result<Vec<Vec<Option<Symbol>>>> {
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
