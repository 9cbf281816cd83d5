//! A bounds-checked reader for the parts of a `.tflite` flatbuffer edgerun needs, and the
//! checks that keep a corrupt file away from the C library.
//!
//! TensorFlow Lite trusts its model: an index out of range or a constant buffer shorter than
//! its tensor can crash the process. Every offset here is checked against the file before it is
//! read, and [`parse`] rejects a model whose tables point outside their arrays, so a mutated
//! file gives an error instead of reaching C.

use std::fmt;

mod arity;
mod builtin;
mod model;
mod options;
mod tensor;

use builtin::check_builtin_options;
pub use model::{parse, parse_to, Depth, DEPTH_HELP};
use options::*;
use tensor::*;

/// Why a model was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type R<T> = Result<T, Invalid>;

fn bad<T>(what: impl Into<String>) -> R<T> {
    Err(Invalid(what.into()))
}

/// The flatbuffer bytes with checked little-endian reads.
#[derive(Clone, Copy)]
struct Buf<'a>(&'a [u8]);

impl<'a> Buf<'a> {
    fn bytes(&self, at: usize, n: usize) -> R<&'a [u8]> {
        at.checked_add(n)
            .and_then(|end| self.0.get(at..end))
            .ok_or_else(|| {
                Invalid(format!(
                    "offset {at} (+{n} bytes) lies outside the {}-byte file",
                    self.0.len()
                ))
            })
    }
    fn u8(&self, at: usize) -> R<u8> {
        Ok(self.bytes(at, 1)?[0])
    }
    fn u16(&self, at: usize) -> R<u16> {
        Ok(u16::from_le_bytes(
            self.bytes(at, 2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&self, at: usize) -> R<u32> {
        Ok(u32::from_le_bytes(
            self.bytes(at, 4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i32(&self, at: usize) -> R<i32> {
        Ok(self.u32(at)? as i32)
    }
    fn u64(&self, at: usize) -> R<u64> {
        Ok(u64::from_le_bytes(
            self.bytes(at, 8)?.try_into().expect("8 bytes"),
        ))
    }
    /// Follow a `uoffset` stored at `at`.
    fn follow(&self, at: usize) -> R<usize> {
        at.checked_add(self.u32(at)? as usize)
            .ok_or_else(|| Invalid("offset overflows".into()))
    }
}

/// A table: its position and its vtable's.
#[derive(Clone, Copy)]
struct Table<'a> {
    buf: Buf<'a>,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Table<'a> {
    fn at(buf: Buf<'a>, pos: usize) -> R<Table<'a>> {
        let soffset = buf.i32(pos)? as i64;
        let vtable = pos as i64 - soffset;
        if vtable < 0 {
            return bad(format!(
                "table at {pos} has its vtable before the file start"
            ));
        }
        let vtable = vtable as usize;
        let vtable_len = buf.u16(vtable)? as usize;
        if vtable_len < 4 || !vtable_len.is_multiple_of(2) {
            return bad(format!("vtable at {vtable} has a bad size {vtable_len}"));
        }
        buf.bytes(vtable, vtable_len)?;
        let table_len = buf.u16(vtable + 2)? as usize;
        buf.bytes(pos, table_len.max(4))?;
        // every field lies inside the table (after its vtable offset), as a flatbuffer writer
        // puts it: a reader may then take any scalar of a field without reading past the
        // table. Readers know at most 24 fields of any table of the schema: slots past those
        // are never read (and a huge vtable shared by many tables costs nothing)
        for slot in (4..vtable_len.min(4 + 2 * 24)).step_by(2) {
            let off = buf.u16(vtable + slot)? as usize;
            if off != 0 && (off < 4 || off >= table_len) {
                return bad(format!(
                    "table at {pos} puts field {} at offset {off}, outside its {table_len} bytes",
                    (slot - 4) / 2
                ));
            }
        }
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// Position of field `i`, if present.
    fn field(&self, i: usize) -> R<Option<usize>> {
        let slot = 4 + 2 * i;
        if slot + 2 > self.vtable_len {
            return Ok(None);
        }
        match self.buf.u16(self.vtable + slot)? as usize {
            0 => Ok(None),
            off => Ok(Some(self.pos + off)),
        }
    }

    fn table(&self, i: usize) -> R<Option<Table<'a>>> {
        match self.field(i)? {
            None => Ok(None),
            Some(at) => Table::at(self.buf, self.buf.follow(at)?).map(Some),
        }
    }

    /// A vector field: (position of the first element, length).
    fn vector(&self, i: usize, elem: usize) -> R<Option<(usize, usize)>> {
        let Some(at) = self.field(i)? else {
            return Ok(None);
        };
        let v = self.buf.follow(at)?;
        let len = self.buf.u32(v)? as usize;
        let size = len
            .checked_mul(elem)
            .ok_or_else(|| Invalid("vector size overflows".into()))?;
        self.buf.bytes(v + 4, size)?;
        Ok(Some((v + 4, len)))
    }

    fn tables(&self, i: usize) -> R<Vec<Table<'a>>> {
        let Some((start, len)) = self.vector(i, 4)? else {
            return Ok(vec![]);
        };
        (0..len)
            .map(|k| Table::at(self.buf, self.buf.follow(start + 4 * k)?))
            .collect()
    }

    fn i32s(&self, i: usize) -> R<Option<Vec<i32>>> {
        let Some((start, len)) = self.vector(i, 4)? else {
            return Ok(None);
        };
        (0..len)
            .map(|k| self.buf.i32(start + 4 * k))
            .collect::<R<_>>()
            .map(Some)
    }

    fn f32s(&self, i: usize) -> R<Option<Vec<f32>>> {
        let Some((start, len)) = self.vector(i, 4)? else {
            return Ok(None);
        };
        (0..len)
            .map(|k| self.buf.u32(start + 4 * k).map(f32::from_bits))
            .collect::<R<_>>()
            .map(Some)
    }

    fn i64s(&self, i: usize) -> R<Option<Vec<i64>>> {
        let Some((start, len)) = self.vector(i, 8)? else {
            return Ok(None);
        };
        (0..len)
            .map(|k| self.buf.u64(start + 8 * k).map(|v| v as i64))
            .collect::<R<_>>()
            .map(Some)
    }

    fn string(&self, i: usize) -> R<Option<String>> {
        let Some((start, len)) = self.vector(i, 1)? else {
            return Ok(None);
        };
        Ok(Some(
            String::from_utf8_lossy(self.buf.bytes(start, len)?).into_owned(),
        ))
    }

    fn scalar_u8(&self, i: usize, default: u8) -> R<u8> {
        self.field(i)?.map_or(Ok(default), |at| self.buf.u8(at))
    }

    fn scalar_i32(&self, i: usize, default: i32) -> R<i32> {
        self.field(i)?.map_or(Ok(default), |at| self.buf.i32(at))
    }

    fn scalar_u64(&self, i: usize, default: u64) -> R<u64> {
        self.field(i)?.map_or(Ok(default), |at| self.buf.u64(at))
    }

    fn scalar_u32(&self, i: usize, default: u32) -> R<u32> {
        self.field(i)?.map_or(Ok(default), |at| self.buf.u32(at))
    }
}

/// Element size of the TFLite `TensorType` values edgerun exchanges.
pub fn tensor_type_size(t: u8) -> Option<usize> {
    super::types::from_schema(t).map(|d| d.size_of())
}

/// An operator as the model file declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpDecl {
    pub subgraph: usize,
    /// Position in its subgraph's operator list.
    pub index: usize,
    /// Builtin op code (`BuiltinOperator`); 32 is CUSTOM.
    pub code: i32,
    /// The custom op's name, for custom ops.
    pub custom: Option<String>,
    /// Name of the first tensor it writes.
    pub output: Option<String>,
}

impl OpDecl {
    /// Where the op is, for messages: `operator #3 of subgraph 1, writing tensor "y"`.
    pub fn place(&self) -> String {
        let mut s = format!("operator #{}", self.index);
        if self.subgraph > 0 {
            s.push_str(&format!(" of subgraph {}", self.subgraph));
        }
        if let Some(out) = &self.output {
            s.push_str(&format!(", writing tensor {out:?}"));
        }
        s
    }

    /// The op's name: the schema's for builtins (`CONV_2D`), `custom NAME` for custom ops.
    pub fn name(&self) -> String {
        match (&self.custom, self.code) {
            (Some(c), CUSTOM) => format!("custom {c}"),
            _ => super::types::builtin_name(self.code),
        }
    }
}

/// Builtin op code of CUSTOM in the TFLite schema.
pub const CUSTOM: i32 = 32;

/// Builtin op code of FULLY_CONNECTED in the TFLite schema.
pub const FULLY_CONNECTED: i32 = 9;

/// A tensor as the model file declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorDecl {
    pub name: String,
    /// Raw TFLite `TensorType`.
    pub tensor_type: u8,
    pub shape: Vec<i32>,
    /// `shape_signature`: like `shape`, with -1 where a dimension is dynamic.
    pub signature: Option<Vec<i32>>,
    pub scales: Vec<f32>,
    pub zero_points: Vec<i64>,
}

impl TensorDecl {
    /// Dimensions that are dynamic (-1 in the signature).
    pub fn dynamic_dims(&self) -> Vec<usize> {
        self.signature
            .as_ref()
            .map(|s| {
                s.iter()
                    .enumerate()
                    .filter(|(_, &d)| d < 0)
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What edgerun reads from a model file before handing it to the C library.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDecl {
    pub inputs: Vec<TensorDecl>,
    pub outputs: Vec<TensorDecl>,
    /// Names of FULLY_CONNECTED weight tensors quantized per channel.
    pub per_channel_fully_connected: Vec<String>,
    pub operator_count: usize,
    /// Every operator of every subgraph, in order.
    pub operators: Vec<OpDecl>,
    /// The largest tensor the model declares (any subgraph): where it is, its shape, and its
    /// size in bytes (`None` past 2^128).
    pub largest: Option<(String, Vec<i32>, Option<u128>)>,
    /// The first tensor declared in a way that is valid for the C library but uncommon,
    /// described: quantization parameters present but not the usual kind (non-empty scales
    /// and zero points on an INT8, UINT8 or INT32 tensor), or constant data of a type whose
    /// values are not plain numbers (STRING, COMPLEX64, RESOURCE, VARIANT). tract's reader
    /// cannot read such a file.
    pub uncommon: Option<String>,
    /// Each tensor type (schema `TensorType` code) the model uses, with the first tensor of
    /// that type: a backend names the tensor when it lacks the type.
    pub types: std::collections::BTreeMap<u8, String>,
}

impl ModelDecl {
    /// Check the largest declared tensor against the tensor size limit
    /// ([`edgerun_core::limits::max_tensor_bytes`]) before a runtime allocates it.
    ///
    /// # Errors
    /// [`edgerun_core::Error::TooLarge`] naming the tensor, its shape and size, and the limit.
    pub fn check_sizes(&self) -> edgerun_core::Result<()> {
        let limit = edgerun_core::limits::max_tensor_bytes();
        match &self.largest {
            Some((what, shape, bytes)) if bytes.is_none_or(|b| b > u128::from(limit)) => {
                Err(edgerun_core::Error::TooLarge {
                    what: format!(
                        "{what}, declared by the model with shape [{}],",
                        edgerun_core::error::shape_string(shape)
                    ),
                    size: bytes.map_or_else(
                        || "more than 2^128 bytes".into(),
                        edgerun_core::limits::human_bytes,
                    ),
                    limit: edgerun_core::limits::human_bytes(limit.into()),
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
