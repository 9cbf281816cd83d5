//! Borrowed tensors, and what may be passed where a run takes its inputs.

use std::borrow::Cow;

use ndarray::ArrayViewD;

use super::{element_count, DataRef, Tensor};
use crate::dtype::{DType, Element, Quant};
use crate::error::{Error, Result};

/// A borrowed tensor: shape, elements in row-major order, quantization. Made from a
/// [`Tensor`] ([`Tensor::view`]), a slice ([`TensorView::from_slice`]) or an `ndarray` view
/// in standard layout, without copying the elements.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorView<'a> {
    pub(super) shape: Cow<'a, [usize]>,
    pub(super) data: DataRef<'a>,
    pub(super) quant: Option<Quant>,
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
