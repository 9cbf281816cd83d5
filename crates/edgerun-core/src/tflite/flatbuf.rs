//! A bounds-checked reader for the parts of a `.tflite` flatbuffer edgerun needs, and the
//! checks that keep a corrupt file away from the C library.
//!
//! TensorFlow Lite trusts its model: an index out of range or a constant buffer shorter than
//! its tensor can crash the process. Every offset here is checked against the file before it is
//! read, and [`parse`] rejects a model whose tables point outside their arrays, so a mutated
//! file gives an error instead of reaching C.

use std::fmt;

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
}

/// Read and check a model. Every table, vector and index is checked; constant buffers must be
/// as large as their tensors.
///
/// # Errors
/// [`Invalid`] with what is wrong and where.
pub fn parse(bytes: &[u8]) -> R<ModelDecl> {
    if bytes.len() < 8 || &bytes[4..8] != b"TFL3" {
        return bad("the file lacks the TFL3 identifier");
    }
    let buf = Buf(bytes);
    let model = Table::at(buf, buf.follow(0)?)?;
    let version = model.scalar_i32(0, 0)?;
    if version != 3 {
        return bad(format!("schema version {version}, expected 3"));
    }
    let opcodes = model.tables(1)?;
    let mut codes = Vec::with_capacity(opcodes.len());
    let mut customs = Vec::with_capacity(opcodes.len());
    for oc in &opcodes {
        let deprecated = oc.scalar_u8(0, 0)? as i8 as i32;
        let code = if deprecated < 127 {
            deprecated
        } else {
            oc.scalar_i32(3, 0)?
        };
        codes.push(code);
        customs.push(oc.string(1)?);
    }
    let buffers = model.tables(4)?;
    let subgraphs = model.tables(2)?;
    if subgraphs.is_empty() {
        return bad("the model has no subgraph");
    }
    let mut per_channel_fully_connected = Vec::new();
    let mut operator_count = 0;
    let mut operators = Vec::new();
    let mut main: Option<(Vec<TensorDecl>, Vec<i32>, Vec<i32>)> = None;
    for (g, sg) in subgraphs.iter().enumerate() {
        let tensor_tables = sg.tables(0)?;
        let mut tensors = Vec::with_capacity(tensor_tables.len());
        for (t, tt) in tensor_tables.iter().enumerate() {
            tensors.push(tensor(tt, t, g, &buffers, bytes.len())?);
        }
        let n = tensors.len() as i32;
        let check = |what: &str, ix: &[i32], optional: bool| -> R<()> {
            match ix
                .iter()
                .find(|&&i| i >= n || i < if optional { -1 } else { 0 })
            {
                Some(i) => bad(format!(
                    "subgraph {g}: {what} refers to tensor {i}, but there are {n}"
                )),
                None => Ok(()),
            }
        };
        let inputs = sg.i32s(1)?.unwrap_or_default();
        let outputs = sg.i32s(2)?.unwrap_or_default();
        check("the input list", &inputs, false)?;
        check("the output list", &outputs, false)?;
        for (k, op) in sg.tables(3)?.iter().enumerate() {
            let ix = op.field(0)?.map_or(Ok(0), |at| buf.u32(at))? as usize;
            let Some(&code) = codes.get(ix) else {
                return bad(format!(
                    "subgraph {g} operator {k} uses op code {ix}, but there are {}",
                    codes.len()
                ));
            };
            let op_inputs = op.i32s(1)?.unwrap_or_default();
            check(&format!("operator {k}'s input list"), &op_inputs, true)?;
            let op_outputs = op.i32s(2)?.unwrap_or_default();
            check(&format!("operator {k}'s output list"), &op_outputs, true)?;
            operators.push(OpDecl {
                subgraph: g,
                index: k,
                code,
                custom: customs[ix].clone(),
                output: op_outputs
                    .iter()
                    .find(|&&o| o >= 0)
                    .map(|&o| tensors[o as usize].name.clone()),
            });
            if code == FULLY_CONNECTED {
                if let Some(w) = op_inputs
                    .get(1)
                    .filter(|&&w| w >= 0)
                    .map(|&w| &tensors[w as usize])
                {
                    if w.scales.len() > 1 {
                        per_channel_fully_connected.push(w.name.clone());
                    }
                }
            }
            operator_count += 1;
        }
        if g == 0 {
            main = Some((tensors, inputs, outputs));
        }
    }
    let (tensors, inputs, outputs) = main.expect("subgraph 0 exists");
    let pick = |ix: &[i32]| ix.iter().map(|&i| tensors[i as usize].clone()).collect();
    Ok(ModelDecl {
        inputs: pick(&inputs),
        outputs: pick(&outputs),
        per_channel_fully_connected,
        operator_count,
        operators,
    })
}

fn tensor(
    tt: &Table<'_>,
    t: usize,
    g: usize,
    buffers: &[Table<'_>],
    file_len: usize,
) -> R<TensorDecl> {
    let name = tt.string(3)?.unwrap_or_default();
    let shape = tt.i32s(0)?.unwrap_or_default();
    let tensor_type = tt.scalar_u8(1, 0)?;
    let where_ = || format!("subgraph {g} tensor {t} ({name:?})");
    if let Some(d) = shape.iter().find(|&&d| d < 0) {
        return bad(format!("{} has negative dimension {d}", where_()));
    }
    let b = tt.field(2)?.map_or(Ok(0), |at| tt.buf.u32(at))? as usize;
    let Some(buffer) = buffers.get(b) else {
        return bad(format!(
            "{} uses buffer {b}, but there are {}",
            where_(),
            buffers.len()
        ));
    };
    let data_len = match buffer.vector(0, 1)? {
        Some((_, len)) => len as u64,
        None => {
            // large models keep constants after the flatbuffer: offset and size into the file
            let (offset, size) = (buffer.scalar_u64(1, 0)?, buffer.scalar_u64(2, 0)?);
            if offset > 1
                && offset
                    .checked_add(size)
                    .is_none_or(|end| end > file_len as u64)
            {
                return bad(format!(
                    "{}'s data at offset {offset} (+{size}) lies outside the file",
                    where_()
                ));
            }
            if offset > 1 {
                size
            } else {
                0
            }
        }
    };
    if data_len > 0 {
        if let Some(size) = tensor_type_size(tensor_type) {
            let count = shape
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
            let needed = count.and_then(|c| c.checked_mul(size as u64));
            if needed != Some(data_len) {
                return bad(format!(
                    "{} of shape {shape:?} needs {} bytes of constant data but its buffer holds {data_len}",
                    where_(),
                    needed.map_or("more than 2^64".to_string(), |n| n.to_string())
                ));
            }
        }
    }
    let (scales, zero_points) = match tt.table(4)? {
        Some(q) => (
            q.f32s(2)?.unwrap_or_default(),
            q.i64s(3)?.unwrap_or_default(),
        ),
        None => (vec![], vec![]),
    };
    if !zero_points.is_empty() && zero_points.len() != scales.len() {
        return bad(format!(
            "{} has {} scales but {} zero points",
            where_(),
            scales.len(),
            zero_points.len()
        ));
    }
    let signature = tt.i32s(7)?;
    if let Some(sig) = &signature {
        if sig.len() != shape.len() {
            return bad(format!(
                "{} has a shape signature of rank {} for a shape of rank {}",
                where_(),
                sig.len(),
                shape.len()
            ));
        }
    }
    Ok(TensorDecl {
        name,
        tensor_type,
        shape,
        signature,
        scales,
        zero_points,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_files_without_identifier_or_too_short() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\x10\0\0\0TFL3").unwrap_err().0.contains("outside"));
        assert!(parse(b"\x10\0\0\0ONNX\0\0\0\0")
            .unwrap_err()
            .0
            .contains("TFL3"));
    }

    #[test]
    fn reads_offsets_only_inside_the_file() {
        let b = Buf(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]);
        assert!(b.u32(0).is_ok());
        assert!(b.u32(5).is_err());
        assert!(b.bytes(usize::MAX, 2).is_err());
        // an offset pointing far past the end
        assert!(b.follow(4).is_ok() && b.u32(b.follow(4).unwrap()).is_err());
    }
}
