//! Tensors: owned ([`Tensor`]) and borrowed ([`TensorView`]).

use std::borrow::Cow;

use half::f16;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use crate::dtype::{DType, Element, Quant};
use crate::error::{Error, Result};

/// The elements of a tensor, one variant per [`DType`].
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F16(Vec<f16>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    Bool(Vec<bool>),
}

macro_rules! each_data {
    ($data:expr, $v:ident => $body:expr) => {
        match $data {
            Data::F32($v) => $body,
            Data::F16($v) => $body,
            Data::F64($v) => $body,
            Data::I8($v) => $body,
            Data::U8($v) => $body,
            Data::I16($v) => $body,
            Data::I32($v) => $body,
            Data::I64($v) => $body,
            Data::Bool($v) => $body,
        }
    };
}

impl Data {
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F16(_) => DType::F16,
            Data::F64(_) => DType::F64,
            Data::I8(_) => DType::I8,
            Data::U8(_) => DType::U8,
            Data::I16(_) => DType::I16,
            Data::I32(_) => DType::I32,
            Data::I64(_) => DType::I64,
            Data::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        each_data!(self, v => v.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `len` zeros of `dtype`, or `None` when the memory cannot be had (no abort).
    fn try_zeros(dtype: DType, len: usize) -> Option<Data> {
        fn filled<T: Clone>(len: usize, zero: T) -> Option<Vec<T>> {
            let mut v = Vec::new();
            v.try_reserve_exact(len).ok()?;
            v.resize(len, zero);
            Some(v)
        }
        Some(match dtype {
            DType::F32 => Data::F32(filled(len, 0.0)?),
            DType::F16 => Data::F16(filled(len, f16::ZERO)?),
            DType::F64 => Data::F64(filled(len, 0.0)?),
            DType::I8 => Data::I8(filled(len, 0)?),
            DType::U8 => Data::U8(filled(len, 0)?),
            DType::I16 => Data::I16(filled(len, 0)?),
            DType::I32 => Data::I32(filled(len, 0)?),
            DType::I64 => Data::I64(filled(len, 0)?),
            DType::Bool => Data::Bool(filled(len, false)?),
        })
    }

    /// Every element converted to f32 (integers as they are, without quantization).
    fn to_f32(&self) -> Vec<f32> {
        match self {
            Data::F32(v) => v.clone(),
            Data::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
            Data::F64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I8(v) => v.iter().map(|&x| x as f32).collect(),
            Data::U8(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I16(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I32(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::Bool(v) => v.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect(),
        }
    }

    /// Every element as i32, for the integer types that carry quantized values.
    fn to_i32(&self) -> Option<Vec<i32>> {
        Some(match self {
            Data::I8(v) => v.iter().map(|&x| x as i32).collect(),
            Data::U8(v) => v.iter().map(|&x| x as i32).collect(),
            Data::I16(v) => v.iter().map(|&x| x as i32).collect(),
            Data::I32(v) => v.clone(),
            _ => return None,
        })
    }

    /// Little-endian bytes of every element (bool as 0/1), as in `.npy` files and C buffers.
    pub fn to_le_bytes(&self) -> Vec<u8> {
        match self {
            Data::Bool(v) => v.iter().map(|&b| b as u8).collect(),
            Data::I8(v) => v.iter().map(|&x| x as u8).collect(),
            Data::U8(v) => v.clone(),
            Data::F16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        }
    }

    /// Elements from little-endian bytes; `bytes.len()` must be a multiple of the element size.
    /// Bool accepts only 0 and 1.
    ///
    /// # Errors
    /// [`Error::TensorBytes`] for a partial element, [`Error::NotABool`] for a bool byte
    /// other than 0 or 1.
    pub fn from_le_bytes(dtype: DType, bytes: &[u8]) -> Result<Data> {
        let size = dtype.size_of();
        if !bytes.len().is_multiple_of(size) {
            return Err(Error::TensorBytes {
                dtype,
                bytes: bytes.len(),
            });
        }
        macro_rules! le {
            ($t:ty, $n:expr) => {
                bytes
                    .chunks_exact($n)
                    .map(|c| <$t>::from_le_bytes(c.try_into().expect("chunk of exact size")))
                    .collect()
            };
        }
        Ok(match dtype {
            DType::F32 => Data::F32(le!(f32, 4)),
            DType::F16 => Data::F16(le!(f16, 2)),
            DType::F64 => Data::F64(le!(f64, 8)),
            DType::I8 => Data::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::U8 => Data::U8(bytes.to_vec()),
            DType::I16 => Data::I16(le!(i16, 2)),
            DType::I32 => Data::I32(le!(i32, 4)),
            DType::I64 => Data::I64(le!(i64, 8)),
            DType::Bool => {
                if let Some(&value) = bytes.iter().find(|&&b| b > 1) {
                    return Err(Error::NotABool { value });
                }
                Data::Bool(bytes.iter().map(|&b| b == 1).collect())
            }
        })
    }
}

/// Borrowed elements of a tensor: the twin of [`Data`] over a slice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DataRef<'a> {
    F32(&'a [f32]),
    F16(&'a [f16]),
    F64(&'a [f64]),
    I8(&'a [i8]),
    U8(&'a [u8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    Bool(&'a [bool]),
}

impl<'a> DataRef<'a> {
    pub fn dtype(&self) -> DType {
        match self {
            DataRef::F32(_) => DType::F32,
            DataRef::F16(_) => DType::F16,
            DataRef::F64(_) => DType::F64,
            DataRef::I8(_) => DType::I8,
            DataRef::U8(_) => DType::U8,
            DataRef::I16(_) => DType::I16,
            DataRef::I32(_) => DType::I32,
            DataRef::I64(_) => DType::I64,
            DataRef::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            DataRef::F32(v) => v.len(),
            DataRef::F16(v) => v.len(),
            DataRef::F64(v) => v.len(),
            DataRef::I8(v) => v.len(),
            DataRef::U8(v) => v.len(),
            DataRef::I16(v) => v.len(),
            DataRef::I32(v) => v.len(),
            DataRef::I64(v) => v.len(),
            DataRef::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Address and size in bytes of the elements (little-endian numbers, bools as one byte 0
    /// or 1), for a backend that copies them into C memory.
    pub fn raw_parts(&self) -> (*const u8, usize) {
        fn parts<T>(v: &[T]) -> (*const u8, usize) {
            (v.as_ptr().cast(), std::mem::size_of_val(v))
        }
        match *self {
            DataRef::F32(v) => parts(v),
            DataRef::F16(v) => parts(v),
            DataRef::F64(v) => parts(v),
            DataRef::I8(v) => parts(v),
            DataRef::U8(v) => parts(v),
            DataRef::I16(v) => parts(v),
            DataRef::I32(v) => parts(v),
            DataRef::I64(v) => parts(v),
            DataRef::Bool(v) => parts(v),
        }
    }

    /// Copy into owned [`Data`].
    pub fn to_owned(&self) -> Data {
        match *self {
            DataRef::F32(v) => Data::F32(v.to_vec()),
            DataRef::F16(v) => Data::F16(v.to_vec()),
            DataRef::F64(v) => Data::F64(v.to_vec()),
            DataRef::I8(v) => Data::I8(v.to_vec()),
            DataRef::U8(v) => Data::U8(v.to_vec()),
            DataRef::I16(v) => Data::I16(v.to_vec()),
            DataRef::I32(v) => Data::I32(v.to_vec()),
            DataRef::I64(v) => Data::I64(v.to_vec()),
            DataRef::Bool(v) => Data::Bool(v.to_vec()),
        }
    }
}

impl Data {
    /// Address and size in bytes of the elements, for a backend that copies them into C
    /// memory; `None` for bool, whose bytes must be checked to be 0 or 1 when written from C.
    pub fn raw_parts_mut(&mut self) -> Option<(*mut u8, usize)> {
        fn parts<T>(v: &mut [T]) -> Option<(*mut u8, usize)> {
            Some((v.as_mut_ptr().cast(), std::mem::size_of_val(v)))
        }
        match self {
            Data::F32(v) => parts(v),
            Data::F16(v) => parts(v),
            Data::F64(v) => parts(v),
            Data::I8(v) => parts(v),
            Data::U8(v) => parts(v),
            Data::I16(v) => parts(v),
            Data::I32(v) => parts(v),
            Data::I64(v) => parts(v),
            Data::Bool(_) => None,
        }
    }

    /// A borrowed view of the elements; costs nothing.
    pub fn as_ref(&self) -> DataRef<'_> {
        match self {
            Data::F32(v) => DataRef::F32(v),
            Data::F16(v) => DataRef::F16(v),
            Data::F64(v) => DataRef::F64(v),
            Data::I8(v) => DataRef::I8(v),
            Data::U8(v) => DataRef::U8(v),
            Data::I16(v) => DataRef::I16(v),
            Data::I32(v) => DataRef::I32(v),
            Data::I64(v) => DataRef::I64(v),
            Data::Bool(v) => DataRef::Bool(v),
        }
    }

    /// Hold `len` elements of `dtype`, keeping the buffer when the type is the same (its
    /// capacity is reused: no allocation once it is large enough). Values are unspecified.
    /// `None` when the memory cannot be had (the data is then unchanged).
    fn try_reuse(&mut self, dtype: DType, len: usize) -> Option<()> {
        fn grow<T: Clone>(v: &mut Vec<T>, len: usize, zero: T) -> Option<()> {
            v.try_reserve(len.saturating_sub(v.len())).ok()?;
            v.resize(len, zero);
            Some(())
        }
        if self.dtype() != dtype {
            *self = Data::try_zeros(dtype, len)?;
            return Some(());
        }
        match self {
            Data::F32(v) => grow(v, len, 0.0),
            Data::F16(v) => grow(v, len, f16::ZERO),
            Data::F64(v) => grow(v, len, 0.0),
            Data::I8(v) => grow(v, len, 0),
            Data::U8(v) => grow(v, len, 0),
            Data::I16(v) => grow(v, len, 0),
            Data::I32(v) => grow(v, len, 0),
            Data::I64(v) => grow(v, len, 0),
            Data::Bool(v) => grow(v, len, false),
        }
    }
}

/// A borrowed tensor: shape, elements in row-major order, quantization. Made from a
/// [`Tensor`] ([`Tensor::view`]), a slice ([`TensorView::from_slice`]) or an `ndarray` view
/// in standard layout, without copying the elements.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorView<'a> {
    shape: Cow<'a, [usize]>,
    data: DataRef<'a>,
    quant: Option<Quant>,
}

impl<'a> TensorView<'a> {
    /// A view of row-major elements with a shape.
    ///
    /// # Errors
    /// [`Error::TensorShape`] when the element count does not match the shape.
    pub fn from_slice<T: Element>(
        shape: impl Into<Cow<'a, [usize]>>,
        data: &'a [T],
    ) -> Result<TensorView<'a>> {
        TensorView::from_data(shape, T::wrap_ref(data))
    }

    /// A view of [`DataRef`] elements with a shape.
    ///
    /// # Errors
    /// [`Error::TensorShape`] when the element count does not match the shape.
    pub fn from_data(
        shape: impl Into<Cow<'a, [usize]>>,
        data: DataRef<'a>,
    ) -> Result<TensorView<'a>> {
        let shape = shape.into();
        match element_count(&shape) {
            Some(n) if n == data.len() => Ok(TensorView {
                shape,
                data,
                quant: None,
            }),
            expected => Err(Error::TensorShape {
                shape: shape.into_owned(),
                expected_elements: expected,
                found_elements: data.len(),
            }),
        }
    }

    /// Attach per-tensor quantization parameters.
    pub fn with_quant(mut self, quant: Option<Quant>) -> TensorView<'a> {
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

    pub fn data(&self) -> DataRef<'a> {
        self.data
    }

    /// The elements as a slice of `T`.
    ///
    /// # Errors
    /// [`Error::TensorDType`] when `T` is not the view's element type.
    pub fn as_slice<T: Element>(&self) -> Result<&'a [T]> {
        T::slice_ref(&self.data).ok_or(Error::TensorDType {
            expected: T::DTYPE,
            found: self.dtype(),
        })
    }

    /// Copy into an owned tensor.
    pub fn to_tensor(&self) -> Tensor {
        Tensor {
            shape: self.shape.to_vec(),
            data: self.data.to_owned(),
            quant: self.quant,
        }
    }
}

impl<'a> From<&'a Tensor> for TensorView<'a> {
    fn from(t: &'a Tensor) -> TensorView<'a> {
        t.view()
    }
}

impl<'a, T: Element> TryFrom<ArrayViewD<'a, T>> for TensorView<'a> {
    type Error = Error;

    /// A view of an array in standard (row-major, contiguous) layout; the shape is copied,
    /// the elements are not.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] for an array in another layout (a transposed or sliced view):
    /// make it contiguous first (`as_standard_layout`).
    fn try_from(a: ArrayViewD<'a, T>) -> Result<TensorView<'a>> {
        let shape = a.shape().to_vec();
        let data = a.to_slice().ok_or_else(|| Error::InvalidOption {
            option: "tensor view".into(),
            reason: "the array is not in standard (row-major, contiguous) layout; call .as_standard_layout() first".into(),
        })?;
        TensorView::from_slice(shape, data)
    }
}

/// Anything a session takes as an input: [`Tensor`], [`TensorView`], or a reference to one.
pub trait AsTensorView {
    /// A view of the elements; costs nothing.
    fn as_view(&self) -> TensorView<'_>;
}

impl AsTensorView for Tensor {
    fn as_view(&self) -> TensorView<'_> {
        self.view()
    }
}

impl AsTensorView for TensorView<'_> {
    fn as_view(&self) -> TensorView<'_> {
        TensorView {
            shape: Cow::Borrowed(&self.shape),
            data: self.data,
            quant: self.quant,
        }
    }
}

impl<T: AsTensorView + ?Sized> AsTensorView for &T {
    fn as_view(&self) -> TensorView<'_> {
        (**self).as_view()
    }
}

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

/// How far actual values may be from expected ones: `|a - e| <= abs + rel * |e|`, on real
/// (dequantized) values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    pub abs: f32,
    pub rel: f32,
}

impl Tolerance {
    pub const fn new(abs: f32, rel: f32) -> Tolerance {
        Tolerance { abs, rel }
    }

    /// Compare two tensors of the same shape. Returns the largest absolute difference.
    ///
    /// # Errors
    /// [`Mismatch`]: the shapes, or the worst element, its index and both values.
    pub fn check(&self, actual: &Tensor, expected: &Tensor) -> std::result::Result<f32, Mismatch> {
        if actual.shape() != expected.shape() {
            return Err(Mismatch::Shape {
                actual: actual.shape().to_vec(),
                expected: expected.shape().to_vec(),
            });
        }
        let (a, e) = (actual.to_f32_vec(), expected.to_f32_vec());
        let mut max_diff = 0f32;
        let mut worst: Option<(usize, f32)> = None;
        for (i, (&x, &y)) in a.iter().zip(&e).enumerate() {
            let diff = (x - y).abs();
            if diff.is_nan() && !(x.is_nan() && y.is_nan()) {
                return Err(Mismatch::Element {
                    index: i,
                    actual: x,
                    expected: y,
                    tolerance: *self,
                    largest: diff,
                });
            }
            max_diff = max_diff.max(diff);
            let excess = diff - (self.abs + self.rel * y.abs());
            if excess > 0.0 && worst.is_none_or(|(_, w)| excess > w) {
                worst = Some((i, excess));
            }
        }
        match worst {
            None => Ok(max_diff),
            Some((i, _)) => Err(Mismatch::Element {
                index: i,
                actual: a[i],
                expected: e[i],
                tolerance: *self,
                largest: max_diff,
            }),
        }
    }
}

/// How a tensor fails [`Tolerance::check`].
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Mismatch {
    #[error(
        "shape [{}] differs from the expected [{}]",
        crate::error::shape_string(actual),
        crate::error::shape_string(expected)
    )]
    Shape {
        actual: Vec<usize>,
        expected: Vec<usize>,
    },
    /// The element furthest outside the tolerance (or a NaN against a number).
    #[error("element {index} is {actual}, expected {expected} (difference {}, allowed {} + {} x |expected|); largest difference {largest}", (actual - expected).abs(), tolerance.abs, tolerance.rel)]
    Element {
        index: usize,
        actual: f32,
        expected: f32,
        tolerance: Tolerance,
        largest: f32,
    },
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
mod tests {
    use super::*;
    use ndarray::{arr2, Array};

    #[test]
    fn shape_must_match_elements() {
        let err = Tensor::from_vec(vec![2, 3], vec![1.0f32; 5]).unwrap_err();
        assert!(err.to_string().contains("6"), "{err}");
        assert!(Tensor::from_vec(vec![2, 3], vec![1.0f32; 6]).is_ok());
    }

    #[test]
    fn typed_access_checks_dtype() {
        let t = Tensor::from_vec(vec![2], vec![1i8, -2]).unwrap();
        assert_eq!(t.as_slice::<i8>().unwrap(), &[1, -2]);
        let err = t.as_slice::<f32>().unwrap_err();
        assert!(matches!(
            err,
            Error::TensorDType {
                expected: DType::F32,
                found: DType::I8
            }
        ));
    }

    #[test]
    fn ndarray_round_trip_including_non_standard_layout() {
        let a = arr2(&[[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]).into_dyn();
        let t = Tensor::from(a.clone());
        assert_eq!(t.shape(), &[2, 3]);
        assert_eq!(t.to_array::<f32>().unwrap(), a);
        // a transposed view is not in standard layout: elements must come out in logical order
        let tr = a.t().to_owned();
        let t2 = Tensor::from(a.t().as_standard_layout().into_owned());
        assert_eq!(t2.to_array::<f32>().unwrap(), tr);
        let rev = Array::from_shape_vec(IxDyn(&[3, 2]), vec![1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0])
            .unwrap()
            .reversed_axes();
        let t3 = Tensor::from(rev.clone());
        assert_eq!(
            t3.as_slice::<f32>().unwrap(),
            rev.iter().copied().collect::<Vec<_>>()
        );
    }

    #[test]
    fn quantize_dequantize() {
        let t = Tensor::from_vec(vec![4], vec![-1.0f32, 0.0, 0.5, 100.0]).unwrap();
        let q = t.quantize(DType::I8, Quant::new(0.5, -3)).unwrap();
        assert_eq!(q.as_slice::<i8>().unwrap(), &[-5, -3, -2, 127]);
        assert_eq!(q.to_f32_vec(), vec![-1.0, 0.0, 0.5, 65.0]);
        let u = t.quantize(DType::U8, Quant::new(1.0, 128)).unwrap();
        assert_eq!(u.as_slice::<u8>().unwrap(), &[127, 128, 129, 228]);
        assert!(t.quantize(DType::F32, Quant::new(1.0, 0)).is_err());
        assert!(q.quantize(DType::I8, Quant::new(1.0, 0)).is_err());
    }

    #[test]
    fn tolerance_check() {
        let e = Tensor::from_vec(vec![3], vec![1.0f32, 100.0, -2.0]).unwrap();
        let a = Tensor::from_vec(vec![3], vec![1.001f32, 100.05, -2.0]).unwrap();
        let diff = Tolerance::new(0.002, 0.001).check(&a, &e).unwrap();
        assert!((diff - 0.05).abs() < 1e-4, "{diff}");
        let err = Tolerance::new(0.002, 0.0).check(&a, &e).unwrap_err();
        match err {
            Mismatch::Element {
                index,
                actual,
                expected,
                largest,
                ..
            } => {
                assert_eq!((index, actual, expected), (1, 100.05, 100.0));
                assert!((largest - 0.05).abs() < 1e-4, "{largest}");
            }
            e => panic!("{e:?}"),
        }
        let other = Tensor::from_vec(vec![1, 3], vec![1.0f32, 100.0, -2.0]).unwrap();
        assert_eq!(
            Tolerance::new(1.0, 1.0).check(&other, &e).unwrap_err(),
            Mismatch::Shape {
                actual: vec![1, 3],
                expected: vec![3]
            }
        );
        let nan = Tensor::from_vec(vec![3], vec![f32::NAN, 100.0, -2.0]).unwrap();
        assert!(matches!(
            Tolerance::new(1.0, 1.0).check(&nan, &e),
            Err(Mismatch::Element { index: 0, .. })
        ));
    }

    #[test]
    fn views_borrow_without_copying() {
        let t = Tensor::from_vec(vec![2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
        let v = t.view();
        assert_eq!(
            v.as_slice::<f32>().unwrap().as_ptr(),
            t.as_slice::<f32>().unwrap().as_ptr()
        );
        assert_eq!(v.to_tensor(), t);
        let a = ndarray::Array::from_shape_vec(IxDyn(&[2, 3]), vec![1i8, 2, 3, 4, 5, 6]).unwrap();
        let view = TensorView::try_from(a.view()).unwrap();
        assert_eq!(view.shape(), &[2, 3]);
        assert_eq!(view.as_slice::<i8>().unwrap().as_ptr(), a.as_ptr());
        // a transposed array is not contiguous in row-major order: refused, not copied
        assert!(TensorView::try_from(a.t()).is_err());
        assert!(TensorView::from_slice(vec![3], &[1u8, 2][..]).is_err());
    }

    #[test]
    fn reuse_keeps_the_buffer() {
        let mut t = Tensor::zeros(DType::F32, vec![4, 4]).unwrap();
        let before = t.as_slice::<f32>().unwrap().as_ptr();
        t.reuse_as(DType::F32, &[2, 8]).unwrap();
        assert_eq!(t.shape(), &[2, 8]);
        assert_eq!(t.as_slice::<f32>().unwrap().as_ptr(), before);
        t.reuse_as(DType::I8, &[3]).unwrap();
        assert_eq!((t.dtype(), t.len()), (DType::I8, 3));
    }

    #[test]
    fn bytes_round_trip_all_types() {
        for dtype in DType::ALL {
            let t = Tensor::zeros(dtype, vec![3]).unwrap();
            let bytes = t.data().to_le_bytes();
            assert_eq!(bytes.len(), 3 * dtype.size_of());
            assert_eq!(Data::from_le_bytes(dtype, &bytes).unwrap(), *t.data());
        }
        assert!(Data::from_le_bytes(DType::F32, &[0, 0, 0]).is_err());
        assert!(Data::from_le_bytes(DType::Bool, &[0, 2]).is_err());
    }
}
