//! Reading a model file into a tract graph, with dynamic dimensions as symbols.

use super::*;

pub(crate) fn load_onnx(source: &ModelSource) -> Result<InferenceModel> {
    let onnx = tract_onnx::onnx();
    // sizes and data lengths checked before tract allocates from them
    edgerun_formats::onnx::check(NAME, source.path(), &source.read_bytes()?)?;
    // from the path when there is one: external data files are found beside the model
    let model = match source.memory() {
        Some(bytes) => onnx.model_for_read(&mut &bytes[..]),
        None => onnx.model_for_path(source.path()),
    }
    .map_err(|e| unbuildable(source.path(), &e))?;
    // ops tract does not know are loaded as placeholders; refuse them by name now
    for node in model.nodes() {
        let op = node.op.name();
        if let Some(inner) = op
            .strip_prefix("Unimplemented(")
            .and_then(|s| s.strip_suffix(')'))
        {
            return Err(Error::UnsupportedOp {
                source: None,
                backend: NAME.into(),
                op: inner.to_string(),
                node: node.name.clone(),
                detail: "tract has no implementation of it".into(),
            });
        }
    }
    Ok(model)
}

pub(crate) fn load_typed(source: &ModelSource) -> Result<TypedModel> {
    let path = source.path();
    match source.format() {
        ModelFormat::Nnef => {
            // tensor headers checked against their files and the size limit first
            edgerun_formats::nnef::check(NAME, path)?;
            tract_nnef::nnef()
                .with_onnx()
                .model_for_path(path)
                .map_err(|e| invalid(path, &e))
        }
        #[cfg(feature = "tflite")]
        ModelFormat::TfLite => {
            // the same check as before the C libraries: tract then reads checked bytes
            let (bytes, decl) = edgerun_formats::tflite::read_checked(NAME, source)?;
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
            // types tract's reader has no DatumType for (it calls such a file unreadable)
            let lacks = |t: u8| t == 11 || t > 16;
            if let Some((&t, at)) = decl.types.iter().find(|(&t, _)| lacks(t)) {
                return Err(Error::UnsupportedModel {
                    backend: NAME.into(),
                    path: path.into(),
                    reason: format!(
                        "{at} is {}, a type tract's TensorFlow Lite reader does not have",
                        edgerun_formats::tflite::types::schema_type_name(t)
                    ),
                    source: None,
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

/// What every plan of a model is made from.
pub(crate) enum Template {
    /// The analysed model; input dimensions the model leaves open are symbols, bound per plan.
    Typed(TypedModel),
    /// An ONNX model tract cannot analyse with open dimensions: analysed anew for each set
    /// of concrete input shapes.
    Onnx(InferenceModel),
}

impl Template {
    pub(crate) fn inputs(&self) -> Result<Vec<TensorInfo>> {
        match self {
            Template::Typed(m) => infos(m, true),
            Template::Onnx(m) => inference_infos(m, true),
        }
    }

    pub(crate) fn outputs(&self) -> Result<Vec<TensorInfo>> {
        match self {
            Template::Typed(m) => infos(m, false),
            Template::Onnx(m) => inference_infos(m, false),
        }
    }
}

pub(crate) fn template(source: &ModelSource, options: &Options) -> Result<Template> {
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
pub(crate) fn symbolic(
    mut model: InferenceModel,
    inputs: &[TensorInfo],
) -> TractResult<TypedModel> {
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
pub(crate) fn symbolic_outputs(
    model: InferenceModel,
    inputs: &[TensorInfo],
) -> Option<Vec<TensorInfo>> {
    infos(&symbolic(model, inputs).ok()?, false).ok()
}
