//! Comparing a tensor with reference values within a stated tolerance.

use super::Tensor;

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
