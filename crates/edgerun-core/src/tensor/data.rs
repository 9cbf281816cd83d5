//! The elements of a tensor, owned ([`Data`]) and borrowed ([`DataRef`]).

use half::{bf16, f16};

use crate::dtype::DType;
use crate::error::{Error, Result};

/// The elements of a tensor, one variant per [`DType`].
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    F32(Vec<f32>),
    F16(Vec<f16>),
    BF16(Vec<bf16>),
    F64(Vec<f64>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U16(Vec<u16>),
    U32(Vec<u32>),
    U64(Vec<u64>),
    Bool(Vec<bool>),
}

impl Data {
    pub fn dtype(&self) -> DType {
        match self {
            Data::F32(_) => DType::F32,
            Data::F16(_) => DType::F16,
            Data::BF16(_) => DType::BF16,
            Data::F64(_) => DType::F64,
            Data::I8(_) => DType::I8,
            Data::U8(_) => DType::U8,
            Data::I16(_) => DType::I16,
            Data::I32(_) => DType::I32,
            Data::I64(_) => DType::I64,
            Data::U16(_) => DType::U16,
            Data::U32(_) => DType::U32,
            Data::U64(_) => DType::U64,
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
    pub(super) fn try_zeros(dtype: DType, len: usize) -> Option<Data> {
        fn filled<T: Clone>(len: usize, zero: T) -> Option<Vec<T>> {
            let mut v = Vec::new();
            v.try_reserve_exact(len).ok()?;
            v.resize(len, zero);
            Some(v)
        }
        Some(match dtype {
            DType::F32 => Data::F32(filled(len, 0.0)?),
            DType::F16 => Data::F16(filled(len, f16::ZERO)?),
            DType::BF16 => Data::BF16(filled(len, bf16::ZERO)?),
            DType::F64 => Data::F64(filled(len, 0.0)?),
            DType::I8 => Data::I8(filled(len, 0)?),
            DType::U8 => Data::U8(filled(len, 0)?),
            DType::I16 => Data::I16(filled(len, 0)?),
            DType::I32 => Data::I32(filled(len, 0)?),
            DType::I64 => Data::I64(filled(len, 0)?),
            DType::U16 => Data::U16(filled(len, 0)?),
            DType::U32 => Data::U32(filled(len, 0)?),
            DType::U64 => Data::U64(filled(len, 0)?),
            DType::Bool => Data::Bool(filled(len, false)?),
        })
    }

    /// Every element converted to f32 (integers as they are, without quantization).
    pub(super) fn to_f32(&self) -> Vec<f32> {
        match self {
            Data::F32(v) => v.clone(),
            Data::F16(v) => v.iter().map(|x| x.to_f32()).collect(),
            Data::BF16(v) => v.iter().map(|x| x.to_f32()).collect(),
            Data::F64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I8(v) => v.iter().map(|&x| x as f32).collect(),
            Data::U8(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I16(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I32(v) => v.iter().map(|&x| x as f32).collect(),
            Data::I64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::U16(v) => v.iter().map(|&x| x as f32).collect(),
            Data::U32(v) => v.iter().map(|&x| x as f32).collect(),
            Data::U64(v) => v.iter().map(|&x| x as f32).collect(),
            Data::Bool(v) => v.iter().map(|&x| if x { 1.0 } else { 0.0 }).collect(),
        }
    }

    /// Every element as i32, for the integer types that carry quantized values.
    pub(super) fn to_i32(&self) -> Option<Vec<i32>> {
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
            Data::BF16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U16(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::U64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
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
            DType::BF16 => Data::BF16(le!(bf16, 2)),
            DType::F64 => Data::F64(le!(f64, 8)),
            DType::I8 => Data::I8(bytes.iter().map(|&b| b as i8).collect()),
            DType::U8 => Data::U8(bytes.to_vec()),
            DType::I16 => Data::I16(le!(i16, 2)),
            DType::I32 => Data::I32(le!(i32, 4)),
            DType::I64 => Data::I64(le!(i64, 8)),
            DType::U16 => Data::U16(le!(u16, 2)),
            DType::U32 => Data::U32(le!(u32, 4)),
            DType::U64 => Data::U64(le!(u64, 8)),
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
    BF16(&'a [bf16]),
    F64(&'a [f64]),
    I8(&'a [i8]),
    U8(&'a [u8]),
    I16(&'a [i16]),
    I32(&'a [i32]),
    I64(&'a [i64]),
    U16(&'a [u16]),
    U32(&'a [u32]),
    U64(&'a [u64]),
    Bool(&'a [bool]),
}

impl<'a> DataRef<'a> {
    pub fn dtype(&self) -> DType {
        match self {
            DataRef::F32(_) => DType::F32,
            DataRef::F16(_) => DType::F16,
            DataRef::BF16(_) => DType::BF16,
            DataRef::F64(_) => DType::F64,
            DataRef::I8(_) => DType::I8,
            DataRef::U8(_) => DType::U8,
            DataRef::I16(_) => DType::I16,
            DataRef::I32(_) => DType::I32,
            DataRef::I64(_) => DType::I64,
            DataRef::U16(_) => DType::U16,
            DataRef::U32(_) => DType::U32,
            DataRef::U64(_) => DType::U64,
            DataRef::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            DataRef::F32(v) => v.len(),
            DataRef::F16(v) => v.len(),
            DataRef::BF16(v) => v.len(),
            DataRef::F64(v) => v.len(),
            DataRef::I8(v) => v.len(),
            DataRef::U8(v) => v.len(),
            DataRef::I16(v) => v.len(),
            DataRef::I32(v) => v.len(),
            DataRef::I64(v) => v.len(),
            DataRef::U16(v) => v.len(),
            DataRef::U32(v) => v.len(),
            DataRef::U64(v) => v.len(),
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
            DataRef::BF16(v) => parts(v),
            DataRef::F64(v) => parts(v),
            DataRef::I8(v) => parts(v),
            DataRef::U8(v) => parts(v),
            DataRef::I16(v) => parts(v),
            DataRef::I32(v) => parts(v),
            DataRef::I64(v) => parts(v),
            DataRef::U16(v) => parts(v),
            DataRef::U32(v) => parts(v),
            DataRef::U64(v) => parts(v),
            DataRef::Bool(v) => parts(v),
        }
    }

    /// Copy into owned [`Data`].
    pub fn to_owned(&self) -> Data {
        match *self {
            DataRef::F32(v) => Data::F32(v.to_vec()),
            DataRef::F16(v) => Data::F16(v.to_vec()),
            DataRef::BF16(v) => Data::BF16(v.to_vec()),
            DataRef::F64(v) => Data::F64(v.to_vec()),
            DataRef::I8(v) => Data::I8(v.to_vec()),
            DataRef::U8(v) => Data::U8(v.to_vec()),
            DataRef::I16(v) => Data::I16(v.to_vec()),
            DataRef::I32(v) => Data::I32(v.to_vec()),
            DataRef::I64(v) => Data::I64(v.to_vec()),
            DataRef::U16(v) => Data::U16(v.to_vec()),
            DataRef::U32(v) => Data::U32(v.to_vec()),
            DataRef::U64(v) => Data::U64(v.to_vec()),
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
            Data::BF16(v) => parts(v),
            Data::F64(v) => parts(v),
            Data::I8(v) => parts(v),
            Data::U8(v) => parts(v),
            Data::I16(v) => parts(v),
            Data::I32(v) => parts(v),
            Data::I64(v) => parts(v),
            Data::U16(v) => parts(v),
            Data::U32(v) => parts(v),
            Data::U64(v) => parts(v),
            Data::Bool(_) => None,
        }
    }

    /// A borrowed view of the elements; costs nothing.
    pub fn as_ref(&self) -> DataRef<'_> {
        match self {
            Data::F32(v) => DataRef::F32(v),
            Data::F16(v) => DataRef::F16(v),
            Data::BF16(v) => DataRef::BF16(v),
            Data::F64(v) => DataRef::F64(v),
            Data::I8(v) => DataRef::I8(v),
            Data::U8(v) => DataRef::U8(v),
            Data::I16(v) => DataRef::I16(v),
            Data::I32(v) => DataRef::I32(v),
            Data::I64(v) => DataRef::I64(v),
            Data::U16(v) => DataRef::U16(v),
            Data::U32(v) => DataRef::U32(v),
            Data::U64(v) => DataRef::U64(v),
            Data::Bool(v) => DataRef::Bool(v),
        }
    }

    /// Hold `len` elements of `dtype`, keeping the buffer when the type is the same (its
    /// capacity is reused: no allocation once it is large enough). Values are unspecified.
    /// `None` when the memory cannot be had (the data is then unchanged).
    pub(super) fn try_reuse(&mut self, dtype: DType, len: usize) -> Option<()> {
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
            Data::BF16(v) => grow(v, len, bf16::ZERO),
            Data::F64(v) => grow(v, len, 0.0),
            Data::I8(v) => grow(v, len, 0),
            Data::U8(v) => grow(v, len, 0),
            Data::I16(v) => grow(v, len, 0),
            Data::I32(v) => grow(v, len, 0),
            Data::I64(v) => grow(v, len, 0),
            Data::U16(v) => grow(v, len, 0),
            Data::U32(v) => grow(v, len, 0),
            Data::U64(v) => grow(v, len, 0),
            Data::Bool(v) => grow(v, len, false),
        }
    }
}
