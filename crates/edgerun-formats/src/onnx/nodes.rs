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
/// AttributeProto.type, and its value for a single integer
const ATTRIBUTE_TYPE: u64 = 20;
const ATTRIBUTE_TYPE_INT: u64 = 2;
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
    /// A tensor attribute (`value` of a Constant), when small and numeric.
    pub tensor: Option<Constant>,
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
                let mut kind = 0;
                for (af, av) in values(v) {
                    match (af, av) {
                        (ATTRIBUTE_NAME, Value::Bytes(b)) => name = text(b),
                        (ATTRIBUTE_TYPE, Value::Varint(t)) => kind = t,
                        (ATTRIBUTE_T, Value::Bytes(b)) => n.tensor = constant(b),
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
                // an INT attribute without its value is 0 to the engines (the protobuf
                // default): ONNX Runtime 1.31.1 divided by such a ConvTranspose group
                if ints.is_empty() && kind == ATTRIBUTE_TYPE_INT {
                    ints.push(0);
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
const TENSOR_TYPE_SHAPE: u64 = 2;
const SHAPE_DIM: u64 = 1;
const DIM_VALUE: u64 = 1;
/// `TensorProto.DataType` of FLOAT.
pub const FLOAT: i64 = 1;
/// Constants longer than this are not read (the rules need scales, scalars and short lists).
const SMALL: usize = 4096;

/// `TensorProto.DataType` codes of the constants the rules read.
const INT32: i64 = 6;
const INT64: i64 = 7;
const DOUBLE: i64 = 11;
const TENSOR_INT32_DATA: u64 = 5;
const TENSOR_INT64_DATA: u64 = 7;
const TENSOR_DOUBLE_DATA: u64 = 10;
const TENSOR_DIMS: u64 = 1;

/// A small constant: its dimensions and its values (FLOAT, DOUBLE, INT32 and INT64 ones; as
/// f64, which holds every int32 and the int64 values the rules look for).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Constant {
    /// `TensorProto.DataType`.
    pub data_type: i64,
    pub dims: Vec<i64>,
    pub values: Vec<f64>,
}

/// The dimensions and values of a TensorProto (raw or typed data), when it has at most
/// [`SMALL`] values; `None` for other types or larger tensors.
fn constant(tensor: &[u8]) -> Option<Constant> {
    let mut data_type = 0;
    let mut c = Constant::default();
    let mut raw: &[u8] = &[];
    let mut pos = 0;
    while pos < tensor.len() {
        let key = super::varint(tensor, &mut pos)?;
        let field = key >> 3;
        match key & 7 {
            0 => {
                let v = super::varint(tensor, &mut pos)?;
                match field {
                    TENSOR_DATA_TYPE => data_type = v as i64,
                    TENSOR_DIMS => c.dims.push(v as i64),
                    TENSOR_INT32_DATA => c.values.push(f64::from(v as i64 as i32)),
                    TENSOR_INT64_DATA => c.values.push(v as i64 as f64),
                    _ => {}
                }
            }
            w @ (1 | 5) => {
                let n = if w == 1 { 8 } else { 4 };
                let end = pos.checked_add(n).filter(|&e| e <= tensor.len())?;
                let b = &tensor[pos..end];
                match (field, n) {
                    (TENSOR_FLOAT_DATA, 4) => c
                        .values
                        .push(f64::from(f32::from_le_bytes(b.try_into().ok()?))),
                    (TENSOR_DOUBLE_DATA, 8) => {
                        c.values.push(f64::from_le_bytes(b.try_into().ok()?))
                    }
                    _ => {}
                }
                pos = end;
            }
            2 => {
                let len = usize::try_from(super::varint(tensor, &mut pos)?).ok()?;
                let end = pos.checked_add(len).filter(|&e| e <= tensor.len())?;
                let body = &tensor[pos..end];
                match field {
                    TENSOR_RAW_DATA => raw = body,
                    TENSOR_DIMS => {
                        let mut p = 0;
                        while p < body.len() {
                            c.dims.push(super::varint(body, &mut p)? as i64);
                        }
                    }
                    TENSOR_FLOAT_DATA if body.len() / 4 <= SMALL => c
                        .values
                        .extend(body.chunks_exact(4).map(|x| {
                            f64::from(f32::from_le_bytes(x.try_into().expect("4 bytes")))
                        })),
                    TENSOR_DOUBLE_DATA if body.len() / 8 <= SMALL => c.values.extend(
                        body.chunks_exact(8)
                            .map(|x| f64::from_le_bytes(x.try_into().expect("8 bytes"))),
                    ),
                    TENSOR_INT32_DATA | TENSOR_INT64_DATA => {
                        let mut p = 0;
                        while p < body.len() && c.values.len() <= SMALL {
                            let v = super::varint(body, &mut p)? as i64;
                            c.values.push(if field == TENSOR_INT32_DATA {
                                f64::from(v as i32)
                            } else {
                                v as f64
                            });
                        }
                    }
                    _ => {}
                }
                pos = end;
            }
            _ => return None,
        }
        if c.values.len() > SMALL {
            return None;
        }
    }
    let size = match data_type {
        FLOAT | INT32 => 4,
        DOUBLE | INT64 => 8,
        _ => return None,
    };
    c.data_type = data_type;
    if !raw.is_empty() {
        if raw.len() / size > SMALL {
            return None;
        }
        c.values = raw
            .chunks_exact(size)
            .map(|x| match data_type {
                FLOAT => f64::from(f32::from_le_bytes(x.try_into().expect("4 bytes"))),
                INT32 => f64::from(i32::from_le_bytes(x.try_into().expect("4 bytes"))),
                DOUBLE => f64::from_le_bytes(x.try_into().expect("8 bytes")),
                _ => i64::from_le_bytes(x.try_into().expect("8 bytes")) as f64,
            })
            .collect();
    }
    Some(c)
}

/// A declared shape: each dimension's value, `None` for a symbolic or missing one.
type Shape = Vec<Option<i64>>;

/// The element type and shape a ValueInfoProto's tensor type declares (`None` for what it
/// leaves out); `None` when it is no tensor type.
fn declared_shape(type_proto: &[u8]) -> Option<(Option<i64>, Option<Shape>)> {
    let tensor_type = fields(type_proto)
        .find(|(f, _)| *f == TYPE_TENSOR)
        .map(|(_, b)| b)?;
    let mut elem = None;
    let mut shape = None;
    for (f, v) in values(tensor_type) {
        match (f, v) {
            (TENSOR_TYPE_ELEM, Value::Varint(e)) => elem = Some(e as i64),
            (TENSOR_TYPE_SHAPE, Value::Bytes(b)) => {
                shape = Some(
                    fields(b)
                        .filter(|(f, _)| *f == SHAPE_DIM)
                        .map(|(_, dim)| {
                            values(dim).find_map(|(df, dv)| match (df, dv) {
                                (DIM_VALUE, Value::Varint(x)) => Some(x as i64),
                                _ => None,
                            })
                        })
                        .collect(),
                );
            }
            _ => {}
        }
    }
    Some((elem, shape))
}

/// What the rules read of the main graph: its nodes, the element type each name is declared
/// with (inputs, outputs, value infos), and its small float constants (initializers and
/// Constant nodes) by name.
#[derive(Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub types: std::collections::HashMap<String, i64>,
    /// Declared shapes: each dimension's value, `None` where symbolic.
    pub shapes: std::collections::HashMap<String, Shape>,
    pub constants: std::collections::HashMap<String, Constant>,
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
                    if let (Some(name), Some(c)) = (name, constant(body)) {
                        let dims = c.dims.iter().map(|&d| Some(d)).collect();
                        g.shapes.insert(name.clone(), dims);
                        g.constants.insert(name, c);
                    }
                }
                GRAPH_INPUT | GRAPH_OUTPUT | GRAPH_VALUE_INFO => {
                    let mut name = None;
                    let mut declared = None;
                    for (vf, vb) in fields(body) {
                        match vf {
                            VALUE_INFO_NAME => name = Some(text(vb)),
                            VALUE_INFO_TYPE => declared = declared_shape(vb),
                            _ => {}
                        }
                    }
                    if let (Some(n), Some((elem, shape))) = (name, declared) {
                        if let Some(e) = elem {
                            g.types.insert(n.clone(), e);
                        }
                        if let Some(s) = shape {
                            g.shapes.entry(n).or_insert(s);
                        }
                    }
                }
                _ => {}
            }
        }
        let from_nodes: Vec<(String, Constant)> = g
            .nodes
            .iter()
            .filter(|n| n.is("Constant"))
            .filter_map(|n| Some((n.outputs.first()?.clone(), n.tensor.clone()?)))
            .collect();
        g.constants.extend(from_nodes);
        g
    }

    /// The rank `name` is declared with, if the graph declares its shape.
    pub fn rank_of(&self, name: &str) -> Option<usize> {
        self.shapes.get(name).map(Vec::len)
    }

    /// The values of the constant `name`, if it is a small numeric one.
    pub fn values_of(&self, name: &str) -> Option<&[f64]> {
        self.constants.get(name).map(|c| c.values.as_slice())
    }

    /// The element type `name` is declared with, if the graph declares it.
    pub fn type_of(&self, name: &str) -> Option<i64> {
        self.types.get(name).copied()
    }
}
