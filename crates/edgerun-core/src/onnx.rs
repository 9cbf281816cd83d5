//! Just enough of ONNX's protobuf encoding to check the sizes an ONNX file declares before a
//! runtime allocates them, and to find a node by its op type (for naming the node ONNX Runtime
//! refused: its message names only the op). Every read is bounds-checked: the file is
//! untrusted. A part that does not decode is left to the runtime's own parser, which refuses
//! it.

use std::path::Path;

use crate::error::{shape_string, Error, Result};

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

/// Check every tensor an ONNX model holds (initializers, sparse initializers, constants in
/// node attributes, in nested graphs too) before a runtime reads it: no negative dimension,
/// within the tensor size limit ([`crate::limits`]), and raw data exactly as long as the
/// shape and type say. Data kept in external files is not read here.
///
/// # Errors
/// [`Error::InvalidModel`] (for `backend`) naming the tensor and what is wrong, or
/// [`Error::TooLarge`].
pub fn check(backend: &str, path: &Path, model: &[u8]) -> Result<()> {
    let invalid = |reason: String| Error::InvalidModel {
        backend: backend.into(),
        path: path.into(),
        reason,
    };
    let Some(graph) = fields(model)
        .find(|(f, _)| *f == MODEL_GRAPH)
        .map(|(_, g)| g)
    else {
        return Ok(());
    };
    // graphs to visit, with their nesting depth: a list, not recursion
    let mut graphs = vec![(graph, 0usize)];
    while let Some((graph, depth)) = graphs.pop() {
        if depth > MAX_NESTING {
            return Err(invalid(format!("graphs nest more than {MAX_NESTING} deep")));
        }
        for (f, body) in fields(graph) {
            match f {
                GRAPH_INITIALIZER => tensor(body, "initializer", &invalid)?,
                GRAPH_SPARSE_INITIALIZER => {
                    for (f, t) in fields(body) {
                        if f == SPARSE_VALUES || f == SPARSE_INDICES {
                            tensor(t, "sparse initializer", &invalid)?;
                        }
                    }
                }
                GRAPH_NODE => {
                    for (f, attribute) in fields(body) {
                        if f != NODE_ATTRIBUTE {
                            continue;
                        }
                        for (f, v) in fields(attribute) {
                            match f {
                                ATTRIBUTE_T | ATTRIBUTE_TENSORS => tensor(v, "constant", &invalid)?,
                                ATTRIBUTE_G | ATTRIBUTE_GRAPHS => graphs.push((v, depth + 1)),
                                _ => {}
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// One TensorProto: its dimensions, size and raw data length.
fn tensor(body: &[u8], what: &str, invalid: &dyn Fn(String) -> Error) -> Result<()> {
    let (mut dims, mut data_type, mut raw, mut external, mut name) =
        (Vec::new(), 0, None, false, String::new());
    for (f, v) in values(body) {
        match (f, v) {
            (TENSOR_DIMS, v) => {
                let decoded = push_varints(v, &mut dims);
                if decoded.is_none() {
                    return Ok(()); // left to the runtime's parser
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
    if let Some(d) = dims.iter().find(|&&d| d < 0) {
        return Err(invalid(format!("{label} has negative dimension {d}")));
    }
    let shape = shape_string(&dims);
    let elements = if dims.contains(&0) {
        Some(0)
    } else {
        dims.iter()
            .try_fold(1u128, |acc, &d| acc.checked_mul(d as u128))
    };
    let bits = element_bits(data_type);
    let bytes = elements.and_then(|n| n.checked_mul(bits.unwrap_or(8)).map(|b| b.div_ceil(8)));
    let limit = crate::limits::max_tensor_bytes();
    if bytes.is_none_or(|b| b > u128::from(limit)) {
        return Err(Error::TooLarge {
            what: format!("{label} of shape [{shape}], declared by the model,"),
            size: bytes.map_or_else(
                || "more than 2^128 bytes".into(),
                crate::limits::human_bytes,
            ),
            limit: crate::limits::human_bytes(limit.into()),
        });
    }
    if let (Some(raw), Some(_), Some(needed), false) = (raw, bits, bytes, external) {
        if raw as u128 != needed {
            return Err(invalid(format!(
                "{label} of shape [{shape}] needs {needed} bytes of data but holds {raw}"
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
mod tests {
    use super::*;

    fn len_field(field: u64, body: &[u8]) -> Vec<u8> {
        let mut v = vec![((field << 3) | LEN) as u8, body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn finds_a_node_by_op_type_and_survives_garbage() {
        let relu = [len_field(NODE_NAME, b"r"), len_field(NODE_OP_TYPE, b"Relu")].concat();
        let odd = [
            len_field(NODE_OP_TYPE, b"Odd"),
            len_field(NODE_NAME, b"odd_1"),
        ]
        .concat();
        let graph = [len_field(GRAPH_NODE, &relu), len_field(GRAPH_NODE, &odd)].concat();
        // a varint field first (ir_version = 8), then the graph
        let model = [vec![0x08, 8], len_field(MODEL_GRAPH, &graph)].concat();
        assert_eq!(node_with_op(&model, "Odd").as_deref(), Some("odd_1"));
        assert_eq!(node_with_op(&model, "Relu").as_deref(), Some("r"));
        assert_eq!(node_with_op(&model, "Conv"), None);
        for cut in 0..model.len() {
            let _ = node_with_op(&model[..cut], "Odd");
        }
        assert_eq!(node_with_op(&[0xff; 16], "Odd"), None);
    }

    fn varint_bytes(mut v: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                out.push(b);
                return out;
            }
            out.push(b | 0x80);
        }
    }

    /// A length-delimited field of any length.
    fn field(number: u64, body: &[u8]) -> Vec<u8> {
        [
            varint_bytes((number << 3) | LEN),
            varint_bytes(body.len() as u64),
            body.to_vec(),
        ]
        .concat()
    }

    fn varint_field(number: u64, v: u64) -> Vec<u8> {
        [varint_bytes(number << 3), varint_bytes(v)].concat()
    }

    /// A TensorProto: dims (unpacked, or packed), FLOAT, a name, raw data of `raw` bytes.
    fn tensor_proto(dims: &[i64], packed: bool, raw: Option<usize>) -> Vec<u8> {
        let mut t = Vec::new();
        if packed {
            let body: Vec<u8> = dims.iter().flat_map(|&d| varint_bytes(d as u64)).collect();
            t.extend(field(TENSOR_DIMS, &body));
        } else {
            for &d in dims {
                t.extend(varint_field(TENSOR_DIMS, d as u64));
            }
        }
        t.extend(varint_field(TENSOR_DATA_TYPE, 1));
        t.extend(field(TENSOR_NAME, b"w"));
        if let Some(n) = raw {
            t.extend(field(TENSOR_RAW_DATA, &vec![0u8; n]));
        }
        t
    }

    fn model_with(graph: &[u8]) -> Vec<u8> {
        [varint_field(1, 8), field(MODEL_GRAPH, graph)].concat()
    }

    fn checked(model: &[u8]) -> Result<()> {
        check("tract", Path::new("m.onnx"), model)
    }

    #[test]
    fn initializers_are_checked_for_size_and_data_length() {
        for packed in [false, true] {
            let ok = model_with(&field(
                GRAPH_INITIALIZER,
                &tensor_proto(&[2, 3], packed, Some(24)),
            ));
            checked(&ok).unwrap();
            let short = model_with(&field(
                GRAPH_INITIALIZER,
                &tensor_proto(&[2, 3], packed, Some(20)),
            ));
            let e = checked(&short).unwrap_err();
            assert_eq!(e.kind(), crate::ErrorKind::InvalidModel);
            assert!(
                e.to_string().contains(
                    "initializer \"w\" of shape [2,3] needs 24 bytes of data but holds 20"
                ),
                "{e}"
            );
        }
        let huge = model_with(&field(
            GRAPH_INITIALIZER,
            &tensor_proto(&[100_000_000_000, 16], false, None),
        ));
        let e = checked(&huge).unwrap_err();
        assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
        assert!(
            e.to_string().starts_with(
                "initializer \"w\" of shape [100000000000,16], declared by the model, needs 6.4 TB"
            ),
            "{e}"
        );
        let negative = model_with(&field(
            GRAPH_INITIALIZER,
            &tensor_proto(&[2, -1], false, None),
        ));
        assert!(checked(&negative)
            .unwrap_err()
            .to_string()
            .contains("initializer \"w\" has negative dimension -1"));
        // garbage is left to the runtime's parser
        checked(&[0xff; 32]).unwrap();
        for cut in 0..short_model().len() {
            let _ = checked(&short_model()[..cut]);
        }
    }

    fn short_model() -> Vec<u8> {
        model_with(&field(
            GRAPH_INITIALIZER,
            &tensor_proto(&[2, 3], false, Some(20)),
        ))
    }

    #[test]
    fn constants_in_nested_graphs_are_checked_and_nesting_is_bounded() {
        // a node whose attribute is a graph (an If branch) holding a Constant node whose
        // attribute is a tensor with too little data
        let constant = field(
            GRAPH_NODE,
            &field(
                NODE_ATTRIBUTE,
                &field(ATTRIBUTE_T, &tensor_proto(&[4], false, Some(12))),
            ),
        );
        let branch = field(
            GRAPH_NODE,
            &field(NODE_ATTRIBUTE, &field(ATTRIBUTE_G, &constant)),
        );
        let e = checked(&model_with(&branch)).unwrap_err();
        assert!(
            e.to_string()
                .contains("constant \"w\" of shape [4] needs 16 bytes of data but holds 12"),
            "{e}"
        );
        let mut graph = Vec::new();
        for _ in 0..100 {
            graph = field(
                GRAPH_NODE,
                &field(NODE_ATTRIBUTE, &field(ATTRIBUTE_G, &graph)),
            );
        }
        let e = checked(&model_with(&graph)).unwrap_err();
        assert!(
            e.to_string().contains("graphs nest more than 64 deep"),
            "{e}"
        );
    }
}
