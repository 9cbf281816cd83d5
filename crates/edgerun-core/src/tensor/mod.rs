//! Tensors: owned ([`Tensor`]) and borrowed ([`TensorView`]).

macro_rules! each_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            Data::F32($v) => $body,
            Data::F16($v) => $body,
            Data::BF16($v) => $body,
            Data::F64($v) => $body,
            Data::I8($v) => $body,
            Data::U8($v) => $body,
            Data::I16($v) => $body,
            Data::I32($v) => $body,
            Data::I64($v) => $body,
            Data::U16($v) => $body,
            Data::U32($v) => $body,
            Data::U64($v) => $body,
            Data::Bool($v) => $body,
        }
    };
}

mod data;
mod tolerance;
mod view;

pub use data::{Data, DataRef};
pub use tolerance::{Mismatch, Tolerance};
pub use view::{AsTensorView, TensorView};

use std::borrow::Cow;

use ndarray::{ArrayD, IxDyn};

use crate::dtype::{DType, Element, Quant};
use crate::error::{Error, Result};

/// An owned tensor: shape, typed elements in row-major order, and optional quantization.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Data,
    quant: Option<Quant>,
}

/// Parse shapes as the command line takes them: dimensions separated by commas, shapes by
/// colons (`1,3,224,224:1,10`).
///
/// # Errors
/// A description naming the first part that is not a dimension.
pub fn parse_shapes(text: &str) -> std::result::Result<Vec<Vec<usize>>, String> {
    text.split(':')
        .map(|shape| {
            shape
                .split(',')
                .map(|d| {
                    d.trim().parse::<usize>().map_err(|_| {
                        format!("{d:?} in {shape:?} is not a dimension; write shapes like 1,3,224,224:1,10")
                    })
                })
                .collect()
        })
        .collect()
}

fn out_of_memory(dtype: DType, shape: &[usize]) -> Error {
    Error::OutOfMemory {
        what: format!(
            "a tensor of shape [{}] ({dtype})",
            crate::error::shape_string(shape)
        ),
        size: crate::limits::tensor_bytes(dtype, shape)
            .map_or_else(|| "too many bytes".into(), crate::limits::human_bytes),
    }
}

/// Number of elements of a shape, or `None` on overflow. A shape with a 0 has none, but its
/// other dimensions must still multiply within range (strides are computed from them).
pub fn element_count(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return shape
            .iter()
            .filter(|&&d| d != 0)
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .map(|_| 0);
    }
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

impl Tensor {
    /// A tensor from a shape and row-major elements.
    ///
    /// # Errors
    /// [`Error::TensorShape`] when the element count does not match the shape.
    pub fn from_vec<T: Element>(shape: impl Into<Vec<usize>>, data: Vec<T>) -> Result<Tensor> {
        Tensor::from_data(shape, T::wrap(data))
    }

    /// A tensor from a shape and [`Data`].
    ///
    /// # Errors
    /// [`Error::TensorShape`] when the element count does not match the shape.
    pub fn from_data(shape: impl Into<Vec<usize>>, data: Data) -> Result<Tensor> {
        let shape = shape.into();
        match element_count(&shape) {
            Some(n) if n == data.len() => Ok(Tensor {
                shape,
                data,
                quant: None,
            }),
            expected => Err(Error::TensorShape {
                shape,
                expected_elements: expected,
                found_elements: data.len(),
            }),
        }
    }

    /// A scalar (rank-0) tensor.
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor {
            shape: vec![],
            data: T::wrap(vec![value]),
            quant: None,
        }
    }

    /// A tensor of zeros (false for bool).
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the tensor is over [`crate::limits::max_tensor_bytes`],
    /// [`Error::OutOfMemory`] when its memory cannot be had.
    pub fn zeros(dtype: DType, shape: impl Into<Vec<usize>>) -> Result<Tensor> {
        let shape = shape.into();
        let n = crate::limits::check_tensor("a tensor", dtype, &shape)?;
        let data = Data::try_zeros(dtype, n).ok_or_else(|| out_of_memory(dtype, &shape))?;
        Ok(Tensor {
            shape,
            data,
            quant: None,
        })
    }

    /// Attach per-tensor quantization parameters (meaningful on integer tensors).
    pub fn with_quant(mut self, quant: Option<Quant>) -> Tensor {
        self.quant = quant;
        self
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn len(&self) -> usize {
        self.data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn quant(&self) -> Option<Quant> {
        self.quant
    }

    pub fn data(&self) -> &Data {
        &self.data
    }

    /// A tensor with no shape and no elements, allocating nothing: a slot for a backend to
    /// fill with [`Tensor::reuse_as`] (it is not a valid tensor until then).
    pub(crate) fn slot() -> Tensor {
        Tensor {
            shape: Vec::new(),
            data: Data::F32(Vec::new()),
            quant: None,
        }
    }

    /// A borrowed view of this tensor; costs nothing (no copy, no allocation).
    pub fn view(&self) -> TensorView<'_> {
        TensorView {
            shape: Cow::Borrowed(&self.shape),
            data: self.data.as_ref(),
            quant: self.quant,
        }
    }

    /// Make this tensor hold `dtype` elements of `shape` for a backend to write into, reusing
    /// its buffers: once they are large enough, no allocation. Element values are unspecified
    /// until written; the quantization is cleared.
    ///
    /// # Errors
    /// [`Error::TooLarge`] when the tensor would be over
    /// [`crate::limits::max_tensor_bytes`], [`Error::OutOfMemory`] when its memory cannot be
    /// had; the tensor is then unchanged.
    pub fn reuse_as(&mut self, dtype: DType, shape: &[usize]) -> Result<&mut Data> {
        let n = crate::limits::check_tensor("a tensor", dtype, shape)?;
        self.data
            .try_reuse(dtype, n)
            .ok_or_else(|| out_of_memory(dtype, shape))?;
        self.shape.clear();
        self.shape.extend_from_slice(shape);
        self.quant = None;
        Ok(&mut self.data)
    }

    /// Set the quantization in place.
    pub fn set_quant(&mut self, quant: Option<Quant>) {
        self.quant = quant;
    }

    pub fn into_data(self) -> Data {
        self.data
    }

    /// The elements as a slice of `T`.
    ///
    /// # Errors
    /// [`Error::TensorDType`] when `T` is not the tensor's element type.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        T::slice(&self.data).ok_or(Error::TensorDType {
            expected: T::DTYPE,
            found: self.dtype(),
        })
    }

    /// The elements as a mutable slice of `T`.
    ///
    /// # Errors
    /// [`Error::TensorDType`] when `T` is not the tensor's element type.
    pub fn as_slice_mut<T: Element>(&mut self) -> Result<&mut [T]> {
        let found = self.dtype();
        T::slice_mut(&mut self.data).ok_or(Error::TensorDType {
            expected: T::DTYPE,
            found,
        })
    }

    /// Consume into a `Vec<T>`.
    ///
    /// # Errors
    /// [`Error::TensorDType`] when `T` is not the tensor's element type.
    pub fn into_vec<T: Element>(self) -> Result<Vec<T>> {
        let found = self.dtype();
        T::unwrap(self.data).map_err(|_| Error::TensorDType {
            expected: T::DTYPE,
            found,
        })
    }

    /// Copy into an `ndarray` array.
    ///
    /// # Errors
    /// [`Error::TensorDType`] when `T` is not the tensor's element type.
    pub fn to_array<T: Element>(&self) -> Result<ArrayD<T>> {
        let v = self.as_slice::<T>()?.to_vec();
        Ok(ArrayD::from_shape_vec(IxDyn(&self.shape), v).expect("shape checked at construction"))
    }

    /// Consume into an `ndarray` array without copying.
    ///
    /// # Errors
    /// [`Error::TensorDType`] when `T` is not the tensor's element type.
    pub fn into_array<T: Element>(self) -> Result<ArrayD<T>> {
        let shape = self.shape.clone();
        let v = self.into_vec::<T>()?;
        Ok(ArrayD::from_shape_vec(IxDyn(&shape), v).expect("shape checked at construction"))
    }

    /// Real values as f32: quantized integers are dequantized with the tensor's parameters,
    /// other types are converted as they are.
    pub fn to_f32_vec(&self) -> Vec<f32> {
        match (self.quant, self.data.to_i32()) {
            (Some(q), Some(ints)) => ints.into_iter().map(|i| q.dequantize(i)).collect(),
            _ => self.data.to_f32(),
        }
    }

    /// A float32 tensor of the real values (see [`Tensor::to_f32_vec`]).
    pub fn dequantize(&self) -> Tensor {
        Tensor {
            shape: self.shape.clone(),
            data: Data::F32(self.to_f32_vec()),
            quant: None,
        }
    }

    /// Quantize a float tensor into `dtype` (i8, u8, i16 or i32) with the given parameters.
    ///
    /// # Errors
    /// [`Error::TensorDType`] when this tensor is not float or `dtype` is not an integer type
    /// that carries quantized values.
    pub fn quantize(&self, dtype: DType, quant: Quant) -> Result<Tensor> {
        if !self.dtype().is_float() {
            return Err(Error::TensorDType {
                expected: DType::F32,
                found: self.dtype(),
            });
        }
        let reals = self.data.to_f32();
        let q = |min: i32, max: i32| reals.iter().map(move |&x| quant.quantize(x, min, max));
        let data = match dtype {
            DType::I8 => Data::I8(q(i8::MIN as i32, i8::MAX as i32).map(|v| v as i8).collect()),
            DType::U8 => Data::U8(q(0, u8::MAX as i32).map(|v| v as u8).collect()),
            DType::I16 => Data::I16(
                q(i16::MIN as i32, i16::MAX as i32)
                    .map(|v| v as i16)
                    .collect(),
            ),
            DType::I32 => Data::I32(q(i32::MIN, i32::MAX).collect()),
            other => {
                return Err(Error::TensorDType {
                    expected: DType::I8,
                    found: other,
                })
            }
        };
        Ok(Tensor {
            shape: self.shape.clone(),
            data,
            quant: Some(quant),
        })
    }
}

impl<T: Element> From<ArrayD<T>> for Tensor {
    fn from(a: ArrayD<T>) -> Tensor {
        let shape = a.shape().to_vec();
        let v = if a.is_standard_layout() {
            a.into_raw_vec_and_offset().0
        } else {
            a.iter().copied().collect()
        };
        Tensor {
            shape,
            data: T::wrap(v),
            quant: None,
        }
    }
}

#[cfg(test)]
mod tests;
