//! Element types and per-tensor quantization.

use std::fmt;

use half::{bf16, f16};

/// The element type of a tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F16,
    /// bfloat16 (brain float): f32's exponent range with an 8-bit significand.
    BF16,
    F64,
    I8,
    U8,
    I16,
    I32,
    I64,
    U16,
    U32,
    U64,
    Bool,
}

impl DType {
    /// Every type edgerun knows, in a stable order.
    pub const ALL: [DType; 13] = [
        DType::F32,
        DType::F16,
        DType::BF16,
        DType::F64,
        DType::I8,
        DType::U8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::Bool,
    ];

    /// Size of one element in bytes.
    pub fn size_of(self) -> usize {
        match self {
            DType::I8 | DType::U8 | DType::Bool => 1,
            DType::F16 | DType::BF16 | DType::I16 | DType::U16 => 2,
            DType::F32 | DType::I32 | DType::U32 => 4,
            DType::F64 | DType::I64 | DType::U64 => 8,
        }
    }

    /// Lower-case name, as printed by the CLI (`f32`, `i8`, `bool`...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
            DType::F64 => "f64",
            DType::I8 => "i8",
            DType::U8 => "u8",
            DType::I16 => "i16",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U16 => "u16",
            DType::U32 => "u32",
            DType::U64 => "u64",
            DType::Bool => "bool",
        }
    }

    /// True for f16, bf16, f32 and f64.
    pub fn is_float(self) -> bool {
        matches!(self, DType::F16 | DType::BF16 | DType::F32 | DType::F64)
    }

    /// Parse a name as printed by [`DType::name`]; also accepts `float32`, `int8`, `uint8`...
    pub fn parse(s: &str) -> Option<DType> {
        Some(match s.to_ascii_lowercase().as_str() {
            "f32" | "float32" | "float" => DType::F32,
            "f16" | "float16" | "half" => DType::F16,
            "bf16" | "bfloat16" => DType::BF16,
            "f64" | "float64" | "double" => DType::F64,
            "i8" | "int8" => DType::I8,
            "u8" | "uint8" => DType::U8,
            "i16" | "int16" => DType::I16,
            "i32" | "int32" => DType::I32,
            "i64" | "int64" => DType::I64,
            "u16" | "uint16" => DType::U16,
            "u32" | "uint32" => DType::U32,
            "u64" | "uint64" => DType::U64,
            "bool" => DType::Bool,
            _ => return None,
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Affine per-tensor quantization: `real = scale * (q - zero_point)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quant {
    pub scale: f32,
    pub zero_point: i32,
}

impl Quant {
    pub fn new(scale: f32, zero_point: i32) -> Quant {
        Quant { scale, zero_point }
    }

    /// Real value of a quantized integer (in 64 bits: a zero point from a model file may be
    /// anywhere in `i32`).
    pub fn dequantize(&self, q: i32) -> f32 {
        self.scale * (i64::from(q) - i64::from(self.zero_point)) as f32
    }

    /// Nearest quantized integer of a real value (ties away from zero), clamped to `[min, max]`.
    /// Saturating: any scale and zero point (a model file's) give a value in range.
    pub fn quantize(&self, x: f32, min: i32, max: i32) -> i32 {
        let q = ((x / self.scale).round() as i64).saturating_add(i64::from(self.zero_point));
        q.clamp(i64::from(min), i64::from(max)) as i32
    }
}

#[cfg(test)]
mod quant_tests {
    use super::Quant;

    #[test]
    fn extreme_parameters_saturate() {
        let q = Quant::new(1e-30, i32::MAX);
        assert_eq!(q.quantize(1e30, -128, 127), 127);
        assert_eq!(Quant::new(1e-30, i32::MIN).quantize(-1e30, -128, 127), -128);
        assert_eq!(Quant::new(0.0, 3).quantize(1.0, 0, 255), 255);
        let d = Quant::new(1.0, i32::MIN).dequantize(i32::MAX);
        assert_eq!(d, (i64::from(i32::MAX) - i64::from(i32::MIN)) as f32);
        assert_eq!(Quant::new(0.5, 2).quantize(1.0, -128, 127), 4);
        assert_eq!(Quant::new(0.5, 2).dequantize(4), 1.0);
    }
}

impl fmt::Display for Quant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scale={} zero_point={}", self.scale, self.zero_point)
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A Rust type that can be the element of a [`crate::Tensor`].
///
/// Implemented for `f32`, `half::f16`, `half::bf16`, `f64`, `i8`, `u8`, `i16`, `u16`, `i32`, `u32`,
/// `i64`, `u64` and `bool`; sealed.
pub trait Element: sealed::Sealed + Copy + Default + Send + Sync + 'static {
    /// The matching [`DType`].
    const DTYPE: DType;
    #[doc(hidden)]
    fn wrap(v: Vec<Self>) -> crate::tensor::Data;
    #[doc(hidden)]
    fn slice(d: &crate::tensor::Data) -> Option<&[Self]>;
    #[doc(hidden)]
    fn slice_mut(d: &mut crate::tensor::Data) -> Option<&mut [Self]>;
    #[doc(hidden)]
    fn unwrap(d: crate::tensor::Data) -> Result<Vec<Self>, crate::tensor::Data>;
    #[doc(hidden)]
    fn wrap_ref(v: &[Self]) -> crate::tensor::DataRef<'_>;
    #[doc(hidden)]
    fn slice_ref<'a>(d: &crate::tensor::DataRef<'a>) -> Option<&'a [Self]>;
}

macro_rules! element {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl sealed::Sealed for $t {}
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(v: Vec<Self>) -> crate::tensor::Data {
                crate::tensor::Data::$variant(v)
            }
            fn slice(d: &crate::tensor::Data) -> Option<&[Self]> {
                match d {
                    crate::tensor::Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn slice_mut(d: &mut crate::tensor::Data) -> Option<&mut [Self]> {
                match d {
                    crate::tensor::Data::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn unwrap(d: crate::tensor::Data) -> Result<Vec<Self>, crate::tensor::Data> {
                match d {
                    crate::tensor::Data::$variant(v) => Ok(v),
                    other => Err(other),
                }
            }
            fn wrap_ref(v: &[Self]) -> crate::tensor::DataRef<'_> {
                crate::tensor::DataRef::$variant(v)
            }
            fn slice_ref<'a>(d: &crate::tensor::DataRef<'a>) -> Option<&'a [Self]> {
                match *d {
                    crate::tensor::DataRef::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    )*};
}

element!(
    f32 => F32,
    f16 => F16,
    bf16 => BF16,
    f64 => F64,
    i8 => I8,
    u8 => U8,
    i16 => I16,
    i32 => I32,
    i64 => I64,
    u16 => U16,
    u32 => U32,
    u64 => U64,
    bool => Bool,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::parse(d.name()), Some(d));
        }
        assert_eq!(DType::parse("uint8"), Some(DType::U8));
        assert_eq!(DType::parse("complex64"), None);
    }

    #[test]
    fn quant_round_trip_and_clamp() {
        let q = Quant::new(0.5, 10);
        assert_eq!(q.quantize(1.0, -128, 127), 12);
        assert_eq!(q.dequantize(12), 1.0);
        assert_eq!(q.quantize(1000.0, -128, 127), 127);
        assert_eq!(q.quantize(-1000.0, 0, 255), 0);
        // ties round away from zero
        assert_eq!(q.quantize(0.25, -128, 127), 11);
    }
}
