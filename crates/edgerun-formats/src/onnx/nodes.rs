//! The nodes of an ONNX model's main graph with their integer and string attributes: what the
//! rules on attribute values and the rules on known wrong answers read. Reads only files that
//! [`super::check`] accepted; a part that does not decode is skipped.

use super::{
    fields, push_varints, values, Value, GRAPH_NODE, MODEL_GRAPH, NODE_ATTRIBUTE, NODE_NAME,
    NODE_OP_TYPE,
};

const NODE_INPUT: u64 = 1;
const NODE_OUTPUT: u64 = 2;
const NODE_DOMAIN: u64 = 7;
const ATTRIBUTE_NAME: u64 = 1;
const ATTRIBUTE_T: u64 = 5;
const ATTRIBUTE_I: u64 = 3;
const ATTRIBUTE_S: u64 = 4;
const ATTRIBUTE_INTS: u64 = 8;
const MODEL_OPSET_IMPORT: u64 = 8;
const OPSET_DOMAIN: u64 = 1;
const OPSET_VERSION: u64 = 2;

/// One node of the main graph.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    /// Empty for the default domain (`ai.onnx`).
    pub domain: String,
    /// Input names; an empty name is an optional input left out.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub ints: Vec<(String, Vec<i64>)>,
    pub strings: Vec<(String, String)>,
    /// Every attribute's name, whatever its type.
    pub attributes: Vec<String>,
    /// Float values of a tensor attribute (`value` of a Constant), when small.
    pub tensor: Option<Vec<f32>>,
}

impl Node {
    /// An integer attribute (`i`), or a list (`ints`).
    pub fn ints(&self, name: &str) -> Option<&[i64]> {
        self.ints
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.ints(name).and_then(|v| v.first().copied())
    }

    pub fn string(&self, name: &str) -> Option<&str> {
        self.strings
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The op in the default domain: `ai.onnx`, or no domain given.
    pub fn is(&self, op_type: &str) -> bool {
        self.op_type == op_type && (self.domain.is_empty() || self.domain == "ai.onnx")
    }

    /// An input that is given (not left out as an empty name).
    pub fn has_input(&self, index: usize) -> bool {
        self.inputs.get(index).is_some_and(|n| !n.is_empty())
    }

    /// `node "NAME" (OP)` for messages.
    pub fn label(&self) -> String {
        format!("node {:?} ({})", self.name, self.op_type)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The main graph's nodes, in order.
pub fn nodes(model: &[u8]) -> Vec<Node> {
    let Some(graph) = fields(model)
        .find(|(f, _)| *f == MODEL_GRAPH)
        .map(|(_, g)| g)
    else {
        return Vec::new();
    };
    fields(graph)
        .filter(|(f, _)| *f == GRAPH_NODE)
        .map(|(_, body)| node(body))
        .collect()
}

fn node(body: &[u8]) -> Node {
    let mut n = Node::default();
    for (f, v) in fields(body) {
        match f {
            NODE_INPUT => n.inputs.push(text(v)),
            NODE_OUTPUT => n.outputs.push(text(v)),
            NODE_NAME => n.name = text(v),
            NODE_OP_TYPE => n.op_type = text(v),
            NODE_DOMAIN => n.domain = text(v),
            NODE_ATTRIBUTE => {
                let mut name = String::new();
                let mut ints = Vec::new();
                let mut string = None;
                for (af, av) in values(v) {
                    match (af, av) {
                        (ATTRIBUTE_NAME, Value::Bytes(b)) => name = text(b),
                        (ATTRIBUTE_T, Value::Bytes(b)) => n.tensor = float_values(b),
                        (ATTRIBUTE_I | ATTRIBUTE_INTS, value) => {
                            let mut raw = Vec::new();
                            if push_varints(value, &mut raw).is_some() {
                                ints.extend(raw.into_iter().map(|u| u as i64));
                            }
                        }
                        (ATTRIBUTE_S, Value::Bytes(b)) => string = Some(text(b)),
                        _ => {}
                    }
                }
                n.attributes.push(name.clone());
                if let Some(s) = string {
                    n.strings.push((name.clone(), s));
                }
                if !ints.is_empty() {
                    n.ints.push((name, ints));
                }
            }
            _ => {}
        }
    }
    n
}

/// The version of the default domain's operator set the model imports (0 when it names none).
pub fn opset(model: &[u8]) -> i64 {
    fields(model)
        .filter(|(f, _)| *f == MODEL_OPSET_IMPORT)
        .filter_map(|(_, body)| {
            let mut domain = String::new();
            let mut version = None;
            for (f, v) in values(body) {
                match (f, v) {
                    (OPSET_DOMAIN, Value::Bytes(b)) => domain = text(b),
                    (OPSET_VERSION, Value::Varint(x)) => version = Some(x as i64),
                    _ => {}
                }
            }
            (domain.is_empty() || domain == "ai.onnx")
                .then_some(version)
                .flatten()
        })
        .max()
        .unwrap_or(0)
}

/// TensorProto and ValueInfoProto fields.
const TENSOR_DATA_TYPE: u64 = 2;
const TENSOR_FLOAT_DATA: u64 = 4;
const TENSOR_NAME: u64 = 8;
const TENSOR_RAW_DATA: u64 = 9;
const GRAPH_INITIALIZER: u64 = 5;
const GRAPH_INPUT: u64 = 11;
const GRAPH_OUTPUT: u64 = 12;
const GRAPH_VALUE_INFO: u64 = 13;
const VALUE_INFO_NAME: u64 = 1;
const VALUE_INFO_TYPE: u64 = 2;
const TYPE_TENSOR: u64 = 1;
const TENSOR_TYPE_ELEM: u64 = 1;
/// `TensorProto.DataType` of FLOAT.
pub const FLOAT: i64 = 1;
/// Float constants longer than this are not read (the rules need scales and scalars).
const SMALL: usize = 4096;

/// The float values of a FLOAT TensorProto (raw or `float_data`), when it has at most
/// [`SMALL`] of them.
fn float_values(tensor: &[u8]) -> Option<Vec<f32>> {
    let mut data_type = 0;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < tensor.len() {
        let key = super::varint(tensor, &mut pos)?;
        match (key >> 3, key & 7) {
            (TENSOR_DATA_TYPE, 0) => data_type = super::varint(tensor, &mut pos)? as i64,
            (_, 0) => {
                super::varint(tensor, &mut pos)?;
            }
            (f, 1 | 5) => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                let end = pos.checked_add(n).filter(|&e| e <= tensor.len())?;
                if f == TENSOR_FLOAT_DATA && n == 4 {
                    out.push(f32::from_le_bytes(tensor[pos..end].try_into().ok()?));
                }
                pos = end;
            }
            (f, 2) => {
                let len = usize::try_from(super::varint(tensor, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|&e| e <= tensor.len())?;
                let body = &tensor[pos..end];
                if (f == TENSOR_RAW_DATA || f == TENSOR_FLOAT_DATA) && body.len() / 4 <= SMALL {
                    out.extend(
                        body.chunks_exact(4)
                            .map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))),
                    );
                }
                pos = end;
            }
            _ => return None,
        }
        if out.len() > SMALL {
            return None;
        }
    }
    (data_type == FLOAT).then_some(out)
}

/// What the rules read of the main graph: its nodes, the element type each name is declared
/// with (inputs, outputs, value infos), and its small float constants (initializers and
/// Constant nodes) by name.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub types: std::collections::HashMap<String, i64>,
    pub constants: std::collections::HashMap<String, Vec<f32>>,
    pub opset: i64,
}

impl Graph {
    pub fn read(model: &[u8]) -> Graph {
        let mut g = Graph {
            nodes: nodes(model),
            opset: opset(model),
            ..Graph::default()
        };
        let Some(graph) = fields(model)
            .find(|(f, _)| *f == MODEL_GRAPH)
            .map(|(_, b)| b)
        else {
            return g;
        };
        for (f, body) in fields(graph) {
            match f {
                GRAPH_INITIALIZER => {
                    let name = fields(body)
                        .find(|(f, _)| *f == TENSOR_NAME)
                        .map(|(_, b)| text(b));
                    if let (Some(name), Some(v)) = (name, float_values(body)) {
                        g.constants.insert(name, v);
                    }
                }
                GRAPH_INPUT | GRAPH_OUTPUT | GRAPH_VALUE_INFO => {
                    let mut name = None;
                    let mut elem = None;
                    for (vf, vb) in fields(body) {
                        match vf {
                            VALUE_INFO_NAME => name = Some(text(vb)),
                            VALUE_INFO_TYPE => {
                                elem = fields(vb).find(|(tf, _)| *tf == TYPE_TENSOR).and_then(
                                    |(_, tt)| {
                                        values(tt).find_map(|(ef, ev)| match (ef, ev) {
                                            (TENSOR_TYPE_ELEM, Value::Varint(e)) => Some(e as i64),
                                            _ => None,
                                        })
                                    },
                                );
                            }
                            _ => {}
                        }
                    }
                    if let (Some(n), Some(e)) = (name, elem) {
                        g.types.insert(n, e);
                    }
                }
                _ => {}
            }
        }
        let from_nodes: Vec<(String, Vec<f32>)> = g
            .nodes
            .iter()
            .filter(|n| n.is("Constant"))
            .filter_map(|n| Some((n.outputs.first()?.clone(), n.tensor.clone()?)))
            .collect();
        g.constants.extend(from_nodes);
        g
    }

    /// The element type `name` is declared with, if the graph declares it.
    pub fn type_of(&self, name: &str) -> Option<i64> {
        self.types.get(name).copied()
    }
}
