//! Between edgerun's tensors, types and shapes and tract's.

use super::*;

pub(crate) fn dtype_of(dt: DatumType) -> Option<(DType, Option<Quant>)> {
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
        DatumType::U16 => DType::U16,
        DatumType::U32 => DType::U32,
        DatumType::U64 => DType::U64,
        DatumType::Bool => DType::Bool,
        // tract's type for dimensions (the output of ONNX's Shape, Size): whole numbers, which
        // ONNX declares int64; write_output converts them
        DatumType::TDim => DType::I64,
        _ => return None,
    };
    Some((t, quant))
}

/// tract has no bfloat16 type: a model that has bfloat16 tensors is refused when it loads (see
/// the ONNX check's rules for tract), so this is only met by a tensor handed in past that.
pub(crate) fn no_bf16() -> Error {
    Error::Backend {
        backend: NAME.into(),
        message: "tract has no bfloat16 type, so it takes no bf16 tensor; use the ort backend"
            .into(),
    }
}

pub(crate) fn dim_of(d: &TDim) -> Dim {
    match d.to_i64() {
        Ok(v) if v >= 0 => Dim::Fixed(v as usize),
        _ => Dim::Dynamic(Some(d.to_string())),
    }
}

pub(crate) fn outlet_name<F, O>(model: &Graph<F, O>, outlet: OutletId) -> String
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
pub(crate) fn infos(model: &TypedModel, inputs: bool) -> Result<Vec<TensorInfo>> {
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
            // an input is its source node, named as the file names the input; the outlet's
            // label may have been given to a tensor the input flows into unchanged (an
            // Identity, a no-op Reshape, a graph that returns its input)
            let name = if inputs {
                model.node(o.node).name.clone()
            } else {
                outlet_name(model, o)
            };
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
pub(crate) fn inference_infos(model: &InferenceModel, inputs: bool) -> Result<Vec<TensorInfo>> {
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
            // an input is its source node, named as the file names the input; the outlet's
            // label may have been given to a tensor the input flows into unchanged (an
            // Identity, a no-op Reshape, a graph that returns its input)
            let name = if inputs {
                model.node(o.node).name.clone()
            } else {
                outlet_name(model, o)
            };
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

pub(crate) fn to_tract(t: &TensorView<'_>, dt: DatumType) -> Result<tract_onnx::prelude::Tensor> {
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
        DataRef::U16(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::U32(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::U64(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        DataRef::Bool(v) => tract_onnx::prelude::Tensor::from_shape(shape, v),
        // tract has no bfloat16 type, so no tract model declares such an input
        DataRef::BF16(_) => return Err(no_bf16()),
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
pub(crate) fn write_output(t: &tract_onnx::prelude::Tensor, out: &mut Tensor) -> Result<()> {
    let t = if t.datum_type() == DatumType::TDim {
        t.cast_to::<i64>().map_err(|e| {
            backend_error(
                "cannot give a dimension output as a number (it is symbolic)",
                &e,
            )
        })?
    } else {
        std::borrow::Cow::Borrowed(t)
    };
    let t = t.as_ref();
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
        Data::U16(d) => d.copy_from_slice(view.as_slice::<u16>().map_err(read)?),
        Data::U32(d) => d.copy_from_slice(view.as_slice::<u32>().map_err(read)?),
        Data::U64(d) => d.copy_from_slice(view.as_slice::<u64>().map_err(read)?),
        Data::Bool(d) => d.copy_from_slice(view.as_slice::<bool>().map_err(read)?),
        Data::BF16(_) => return Err(no_bf16()),
    }
    out.set_quant(quant);
    Ok(())
}
