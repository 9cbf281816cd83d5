//! Just enough of ONNX's protobuf encoding to find a node by its op type, for naming the node
//! ONNX Runtime refused (its message names only the op). Every read is bounds-checked: the
//! file is untrusted, and a malformed one yields `None`.

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

/// The fields of one message: (field number, bytes of a length-delimited field).
fn fields(buf: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    let mut pos = 0;
    std::iter::from_fn(move || loop {
        if pos >= buf.len() {
            return None;
        }
        let key = varint(buf, &mut pos)?;
        match key & 7 {
            VARINT => {
                varint(buf, &mut pos)?;
            }
            FIXED64 => pos = pos.checked_add(8).filter(|&p| p <= buf.len())?,
            FIXED32 => pos = pos.checked_add(4).filter(|&p| p <= buf.len())?,
            LEN => {
                let n = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let end = pos.checked_add(n).filter(|&e| e <= buf.len())?;
                let body = &buf[pos..end];
                pos = end;
                return Some((key >> 3, body));
            }
            _ => return None,
        }
    })
}

/// The name of the first node of the main graph whose op type is `op_type`.
pub(crate) fn node_with_op(model: &[u8], op_type: &str) -> Option<String> {
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
}
