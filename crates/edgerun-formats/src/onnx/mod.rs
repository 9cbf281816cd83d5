//! Just enough of ONNX's protobuf encoding to check the sizes an ONNX file declares before a
//! runtime allocates them, and to find a node by its op type (for naming the node ONNX Runtime
//! refused: its message names only the op). Every read is bounds-checked: the file is
//! untrusted. A part that does not decode is left to the runtime's own parser, which refuses
//! it.

use std::path::Path;

use edgerun_core::error::{shape_string, Error, Result};

mod nodes;
pub use nodes::{nodes, opset, Graph, Node};
mod attributes;
mod known;
pub use attributes::attribute_fault;
pub use known::{known_fault, refuse_known_fault, Engine, Fault, CHOICES as KNOWN_FAULTS};

/// Wire types of protobuf.
const VARINT: u64 = 0;
const FIXED64: u64 = 1;
const LEN: u64 = 2;
const FIXED32: u64 = 5;

/// Field numbers: ModelProto.graph, GraphProto.node, NodeProto.name and op_type.
const MODEL_GRAPH: u64 = 7;
const GRAPH_NODE: u64 = 1;
const NODE_NAME: u64 = 3;
const NODE_OP_TYPE: u64 = 4;

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

/// A field's value.
#[derive(Clone, Copy)]
enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// The fields of one message, with their values, up to the first that does not decode.
fn values(buf: &[u8]) -> impl Iterator<Item = (u64, Value<'_>)> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= buf.len() {
            return None;
        }
        let key = varint(buf, &mut pos)?;
        let value = match key & 7 {
            VARINT => Value::Varint(varint(buf, &mut pos)?),
            FIXED64 => {
                pos = pos.checked_add(8).filter(|&p| p <= buf.len())?;
                Value::Fixed
            }
            FIXED32 => {
                pos = pos.checked_add(4).filter(|&p| p <= buf.len())?;
                Value::Fixed
            }
            LEN => {
                let n = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(n).filter(|&e| e <= buf.len())?;
                let body = &buf[pos..end];
                pos = end;
                Value::Bytes(body)
            }
            _ => return None,
        };
        Some((key >> 3, value))
    })
}

/// The length-delimited fields of one message: (field number, bytes).
fn fields(buf: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    values(buf).filter_map(|(f, v)| match v {
        Value::Bytes(b) => Some((f, b)),
        _ => None,
    })
}

/// A repeated integer field's values, packed or not; `None` when packed data does not decode.
fn push_varints(value: Value<'_>, out: &mut Vec<u64>) -> Option<()> {
    match value {
        Value::Varint(v) => out.push(v),
        Value::Bytes(b) => {
            let mut pos = 0;
            while pos < b.len() {
                out.push(varint(b, &mut pos)?);
            }
        }
        Value::Fixed => return None,
    }
    Some(())
}

/// Field numbers of GraphProto, NodeProto, AttributeProto, TensorProto and SparseTensorProto.
const GRAPH_INITIALIZER: u64 = 5;
const GRAPH_SPARSE_INITIALIZER: u64 = 15;
const NODE_ATTRIBUTE: u64 = 5;
const ATTRIBUTE_T: u64 = 5;
const ATTRIBUTE_G: u64 = 6;
const ATTRIBUTE_TENSORS: u64 = 10;
const ATTRIBUTE_GRAPHS: u64 = 11;
const TENSOR_DIMS: u64 = 1;
const TENSOR_DATA_TYPE: u64 = 2;
const TENSOR_NAME: u64 = 8;
const TENSOR_RAW_DATA: u64 = 9;
const TENSOR_DATA_LOCATION: u64 = 14;
const SPARSE_VALUES: u64 = 1;
const SPARSE_INDICES: u64 = 2;
/// Graphs inside graphs (If, Loop, Scan bodies) deeper than this are refused.
const MAX_NESTING: usize = 64;

/// Bits per element of an ONNX `TensorProto.DataType`, for the types of fixed size.
fn element_bits(data_type: u64) -> Option<u128> {
    Some(match data_type {
        2 | 3 | 9 | 17..=20 => 8, // UINT8, INT8, BOOL, FLOAT8 variants
        4 | 5 | 10 | 16 => 16,    // UINT16, INT16, FLOAT16, BFLOAT16
        1 | 6 | 12 => 32,         // FLOAT, INT32, UINT32
        7 | 11 | 13 | 14 => 64,   // INT64, DOUBLE, UINT64, COMPLEX64
        15 => 128,                // COMPLEX128
        21..=23 => 4,             // UINT4, INT4, FLOAT4E2M1
        _ => return None,         // STRING and types yet to come
    })
}

/// Every field of one message, or why it does not decode. Stricter than the runtimes' parsers,
/// which skip groups and keep what follows: a part of the file this check could not read
/// is a part the runtime must not read either.
fn strict(buf: &[u8]) -> std::result::Result<Vec<(u64, Value<'_>)>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let at = pos;
        let bad = |what: &str| format!("{what} at byte {at} of a {}-byte message", buf.len());
        let key = varint(buf, &mut pos).ok_or_else(|| bad("a field key that does not decode"))?;
        let value = match key & 7 {
            VARINT => Value::Varint(
                varint(buf, &mut pos).ok_or_else(|| bad("a varint that does not decode"))?,
            ),
            FIXED64 | FIXED32 => {
                let n = if key & 7 == FIXED64 { 8 } else { 4 };
                pos = pos
                    .checked_add(n)
                    .filter(|&p| p <= buf.len())
                    .ok_or_else(|| bad("a fixed-size field past the end"))?;
                Value::Fixed
            }
            LEN => {
                let n = varint(buf, &mut pos)
                    .and_then(|n| usize::try_from(n).ok())
                    .ok_or_else(|| bad("a length that does not decode"))?;
                let end = pos
                    .checked_add(n)
                    .filter(|&e| e <= buf.len())
                    .ok_or_else(|| bad(&format!("a {n}-byte field past the end")))?;
                let body = &buf[pos..end];
                pos = end;
                Value::Bytes(body)
            }
            w => return Err(bad(&format!("wire type {w}, which ONNX files do not use"))),
        };
        out.push((key >> 3, value));
    }
    Ok(out)
}

/// The length-delimited fields of a message numbered `number`, refusing another wire type.
fn messages<'a>(
    fields: &[(u64, Value<'a>)],
    number: u64,
    what: &str,
) -> std::result::Result<Vec<&'a [u8]>, String> {
    fields
        .iter()
        .filter(|(f, _)| *f == number)
        .map(|(_, v)| match v {
            Value::Bytes(b) => Ok(*b),
            _ => Err(format!("{what} is not a message")),
        })
        .collect()
}

/// A singular message field given more than once (protobuf would merge the copies: what this
/// check read would not be what the runtime reads).
fn at_most_one<'a>(
    list: Vec<&'a [u8]>,
    what: &str,
) -> std::result::Result<Option<&'a [u8]>, String> {
    match list.len() {
        0 => Ok(None),
        1 => Ok(Some(list[0])),
        n => Err(format!("{what} is given {n} times")),
    }
}

/// Field numbers of ModelProto, FunctionProto, AttributeProto and SparseTensorProto beyond
/// those above.
const MODEL_FUNCTIONS: u64 = 25;
const FUNCTION_NODE: u64 = 7;
const ATTRIBUTE_SPARSE_TENSOR: u64 = 22;
const ATTRIBUTE_SPARSE_TENSORS: u64 = 23;
const SPARSE_DIMS: u64 = 3;

/// Check every tensor an ONNX model holds (initializers, sparse initializers, constants and
/// sparse constants in node attributes, in nested graphs and functions too) before a runtime
/// reads it: no negative dimension, within the tensor size limit ([`edgerun_core::limits`]), and raw
/// data exactly as long as the shape and type say. Data kept in external files is not read
/// here. The protobuf must decode whole, and a message the runtime would merge from copies
/// (a second graph, a second tensor in one attribute) is refused. Attribute values that end
/// an engine's process are refused too ([`attribute_fault`]).
///
/// # Errors
/// [`Error::InvalidModel`] (for `backend`) naming the tensor and what is wrong, or
/// [`Error::TooLarge`].
pub fn check(backend: &str, path: &Path, model: &[u8]) -> Result<()> {
    let invalid = |reason: String| Error::InvalidModel {
        source: None,
        backend: backend.into(),
        path: path.into(),
        reason,
    };
    let top = strict(model).map_err(|e| invalid(format!("the model: {e}")))?;
    // graphs to visit (as their node lists, initializers and sparse initializers), with
    // their nesting depth: a list, not recursion
    let mut graphs: Vec<(&[u8], usize, bool)> = Vec::new();
    if let Some(g) = at_most_one(
        messages(&top, MODEL_GRAPH, "the graph").map_err(&invalid)?,
        "the graph",
    )
    .map_err(&invalid)?
    {
        graphs.push((g, 0, false));
    }
    for f in messages(&top, MODEL_FUNCTIONS, "a function").map_err(&invalid)? {
        graphs.push((f, 0, true));
    }
    while let Some((graph, depth, function)) = graphs.pop() {
        if depth > MAX_NESTING {
            return Err(invalid(format!("graphs nest more than {MAX_NESTING} deep")));
        }
        let fields = strict(graph).map_err(|e| invalid(format!("a graph: {e}")))?;
        let node_field = if function { FUNCTION_NODE } else { GRAPH_NODE };
        if !function {
            for t in messages(&fields, GRAPH_INITIALIZER, "an initializer").map_err(&invalid)? {
                tensor(t, "initializer", &invalid)?;
            }
            for sp in messages(&fields, GRAPH_SPARSE_INITIALIZER, "a sparse initializer")
                .map_err(&invalid)?
            {
                sparse(sp, "sparse initializer", &invalid)?;
            }
        }
        for node in messages(&fields, node_field, "a node").map_err(&invalid)? {
            let node = strict(node).map_err(|e| invalid(format!("a node: {e}")))?;
            for attribute in messages(&node, NODE_ATTRIBUTE, "an attribute").map_err(&invalid)? {
                let a = strict(attribute).map_err(|e| invalid(format!("an attribute: {e}")))?;
                let one = |number, what| {
                    at_most_one(messages(&a, number, what).map_err(&invalid)?, what)
                        .map_err(&invalid)
                };
                if let Some(t) = one(ATTRIBUTE_T, "an attribute's tensor")? {
                    tensor(t, "constant", &invalid)?;
                }
                for t in
                    messages(&a, ATTRIBUTE_TENSORS, "an attribute's tensor").map_err(&invalid)?
                {
                    tensor(t, "constant", &invalid)?;
                }
                if let Some(sp) = one(ATTRIBUTE_SPARSE_TENSOR, "an attribute's sparse tensor")? {
                    sparse(sp, "sparse constant", &invalid)?;
                }
                for sp in messages(&a, ATTRIBUTE_SPARSE_TENSORS, "an attribute's sparse tensor")
                    .map_err(&invalid)?
                {
                    sparse(sp, "sparse constant", &invalid)?;
                }
                if let Some(g) = one(ATTRIBUTE_G, "an attribute's graph")? {
                    graphs.push((g, depth + 1, false));
                }
                for g in messages(&a, ATTRIBUTE_GRAPHS, "an attribute's graph").map_err(&invalid)? {
                    graphs.push((g, depth + 1, false));
                }
            }
        }
    }
    if let Some(why) = attribute_fault(model) {
        return Err(invalid(why));
    }
    Ok(())
}

/// A SparseTensorProto: its values and indices, and the dense shape it expands to (what a
/// runtime allocates when it densifies it).
fn sparse(body: &[u8], what: &str, invalid: &dyn Fn(String) -> Error) -> Result<()> {
    let fields = strict(body).map_err(|e| invalid(format!("a {what}: {e}")))?;
    let one = |number, part: &str| {
        at_most_one(messages(&fields, number, part).map_err(invalid)?, part).map_err(invalid)
    };
    let mut data_type = 1;
    if let Some(values) = one(SPARSE_VALUES, "a sparse tensor's values")? {
        tensor(values, what, invalid)?;
        for (f, v) in strict(values).map_err(|e| invalid(format!("a {what}: {e}")))? {
            if let (TENSOR_DATA_TYPE, Value::Varint(t)) = (f, v) {
                data_type = t;
            }
        }
    }
    if let Some(indices) = one(SPARSE_INDICES, "a sparse tensor's indices")? {
        tensor(indices, what, invalid)?;
    }
    let mut dims = Vec::new();
    for (f, v) in &fields {
        if *f == SPARSE_DIMS && push_varints(*v, &mut dims).is_none() {
            return Err(invalid(format!("a {what}'s dense shape does not decode")));
        }
    }
    let dims: Vec<i64> = dims.into_iter().map(|d| d as i64).collect();
    sized(&format!("{what} (dense)"), &dims, data_type, invalid).map(|_| ())
}

/// A shape of `data_type` against negative dimensions and the size limit; its size in bytes.
fn sized(
    label: &str,
    dims: &[i64],
    data_type: u64,
    invalid: &dyn Fn(String) -> Error,
) -> Result<u128> {
    if let Some(d) = dims.iter().find(|&&d| d < 0) {
        return Err(invalid(format!("{label} has negative dimension {d}")));
    }
    // the dimensions other than 0 must still multiply within range
    let nonzero = dims
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1u128, |acc, &d| acc.checked_mul(d as u128));
    let elements = nonzero.map(|n| if dims.contains(&0) { 0 } else { n });
    let bits = element_bits(data_type).unwrap_or(8);
    let bytes = elements.and_then(|n| n.checked_mul(bits).map(|b| b.div_ceil(8)));
    let limit = edgerun_core::limits::max_tensor_bytes();
    match bytes {
        Some(b) if b <= u128::from(limit) && nonzero.is_some_and(|n| n <= u128::from(u64::MAX)) => {
            Ok(b)
        }
        _ => Err(Error::TooLarge {
            what: format!(
                "{label} of shape [{}], declared by the model,",
                shape_string(dims)
            ),
            size: bytes.map_or_else(
                || "more than 2^128 bytes".into(),
                edgerun_core::limits::human_bytes,
            ),
            limit: edgerun_core::limits::human_bytes(limit.into()),
        }),
    }
}

/// One TensorProto: its dimensions, size and raw data length.
fn tensor(body: &[u8], what: &str, invalid: &dyn Fn(String) -> Error) -> Result<()> {
    let (mut dims, mut data_type, mut raw, mut external, mut name) =
        (Vec::new(), 0, None, false, String::new());
    for (f, v) in strict(body).map_err(|e| invalid(format!("a {what}: {e}")))? {
        match (f, v) {
            (TENSOR_DIMS, v) => {
                let decoded = push_varints(v, &mut dims);
                if decoded.is_none() {
                    return Err(invalid(format!("a {what}'s dimensions do not decode")));
                }
            }
            (TENSOR_DATA_TYPE, Value::Varint(t)) => data_type = t,
            (TENSOR_NAME, Value::Bytes(n)) => name = String::from_utf8_lossy(n).into_owned(),
            (TENSOR_RAW_DATA, Value::Bytes(r)) => raw = Some(r.len()),
            (TENSOR_DATA_LOCATION, Value::Varint(l)) => external = l == 1,
            _ => {}
        }
    }
    let dims: Vec<i64> = dims.into_iter().map(|d| d as i64).collect();
    let label = format!("{what} {name:?}");
    let needed = sized(&label, &dims, data_type, invalid)?;
    if let (Some(raw), Some(_), false) = (raw, element_bits(data_type), external) {
        if raw as u128 != needed {
            return Err(invalid(format!(
                "{label} of shape [{}] needs {needed} bytes of data but holds {raw}",
                shape_string(&dims)
            )));
        }
    }
    Ok(())
}

/// The name of the first node of the main graph whose op type is `op_type`.
pub fn node_with_op(model: &[u8], op_type: &str) -> Option<String> {
    let graph = fields(model).find(|(f, _)| *f == MODEL_GRAPH)?.1;
    fields(graph)
        .filter(|(f, _)| *f == GRAPH_NODE)
        .find_map(|(_, node)| {
            let mut name = None;
            let mut matches = false;
            for (f, v) in fields(node) {
                match f {
                    NODE_NAME => name = std::str::from_utf8(v).ok(),
                    NODE_OP_TYPE => matches = v == op_type.as_bytes(),
                    _ => {}
                }
            }
            matches.then(|| name.unwrap_or("").to_string())
        })
}

#[cfg(test)]
mod tests;
