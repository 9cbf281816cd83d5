//! Attribute values the engines divide by, index with or size allocations with, checked before
//! an engine reads the file. Each rule was found by building one-operator models with such a
//! value and running them through ONNX Runtime 1.31.1 and tract 0.23.9: they ended the process
//! (SIGFPE, SIGSEGV, an abort on a failed allocation or a panic inside a panic) or never
//! finished. Values ONNX forbids are refused as ONNX defines them; where ONNX sets no bound
//! (pads, block sizes, scales), edgerun sets one far above what models use. Ranks and zero
//! dimensions are checked where the graph declares the shape; elsewhere the engines check them
//! where they read the shapes, and containment catches what they miss.

use super::nodes::{Graph, Node};

/// Padding per side, in elements. Models pad by about a kernel's size; a 10,000 pad made tract
/// allocate gigabytes and abort, 2^31 made it never finish.
const MAX_PAD: i64 = 1024;
/// DepthToSpace's and SpaceToDepth's block size (ONNX Runtime squares it and multiplies by the
/// channels; 2^32 overflowed into a division by zero).
const MAX_BLOCK: i64 = 65535;
/// A Resize or Upsample scale (1e9 made tract allocate 64 GB and abort).
const MAX_SCALE: f64 = 4096.0;
/// A bound on an axis where the rank is not declared: no engine takes a tensor of this rank.
const MAX_RANK: i64 = 64;

/// `TensorProto.DataType` of the integer constants the division rule reads.
const INT32: i64 = 6;
const INT64: i64 = 7;

/// Why a node of `model` must not reach an engine, naming the node: the first such node.
pub fn attribute_fault(model: &[u8]) -> Option<String> {
    let g = Graph::read(model);
    g.nodes
        .iter()
        .find_map(|n| rule(&g, n).map(|why| format!("{}: {why}", n.label())))
}

fn at_least_one(n: &Node, attr: &str) -> Option<String> {
    let v = n.ints(attr)?;
    v.iter()
        .any(|&x| x < 1)
        .then(|| format!("{attr} {v:?}: each must be at least 1"))
}

fn pads(attr: &str, v: &[i64]) -> Option<String> {
    v.iter().any(|&p| !(0..=MAX_PAD).contains(&p)).then(|| {
        format!("{attr} {v:?}: edgerun takes pads from 0 to {MAX_PAD} (larger ones make engines allocate without bound or never finish)")
    })
}

/// `axis` within the rank of `input` (`extra`: one more place, as OneHot and Flatten allow).
fn axis(g: &Graph, n: &Node, input: usize, extra: i64) -> Option<String> {
    let a = n.int("axis")?;
    let rank = n
        .inputs
        .get(input)
        .and_then(|i| g.rank_of(i))
        .map(|r| r as i64);
    match rank {
        Some(r) if !(-(r + extra)..r + extra).contains(&a) => Some(format!(
            "axis {a} is outside its input's rank {r} (from {} to {})",
            -(r + extra),
            r + extra - 1
        )),
        None if a.abs() >= MAX_RANK => Some(format!(
            "axis {a} is beyond any rank an engine takes (below {MAX_RANK})"
        )),
        _ => None,
    }
}

fn declares_zero(g: &Graph, n: &Node, input: usize) -> Option<String> {
    let name = n.inputs.get(input)?;
    let shape = g.shapes.get(name)?;
    shape.contains(&Some(0)).then(|| {
        format!("input {name:?} is declared with an empty dimension ({shape:?}), which crashes ONNX Runtime in this op")
    })
}

fn rule(g: &Graph, n: &Node) -> Option<String> {
    let op = n.op_type.as_str();
    if !(n.domain.is_empty() || n.domain == "ai.onnx") {
        return None;
    }
    match op {
        "Conv" | "ConvTranspose" | "ConvInteger" | "QLinearConv" => n
            .int("group")
            .filter(|&g| g < 1)
            .map(|v| format!("group {v}: must be at least 1"))
            .or_else(|| at_least_one(n, "strides"))
            .or_else(|| at_least_one(n, "dilations"))
            .or_else(|| at_least_one(n, "kernel_shape"))
            .or_else(|| pads("pads", n.ints("pads")?)),
        "MaxPool" | "AveragePool" | "LpPool" | "MaxRoiPool" => {
            match n.ints("kernel_shape") {
                None | Some([]) => return Some("kernel_shape is missing or empty; ONNX requires one size per spatial dimension".into()),
                _ => {}
            }
            at_least_one(n, "kernel_shape")
                .or_else(|| at_least_one(n, "strides"))
                .or_else(|| at_least_one(n, "dilations"))
                .or_else(|| pads("pads", n.ints("pads")?))
        }
        "DepthToSpace" | "SpaceToDepth" => n
            .int("blocksize")
            .filter(|b| !(1..=MAX_BLOCK).contains(b))
            .map(|b| format!("blocksize {b}: edgerun takes 1 to {MAX_BLOCK}")),
        "GatherND" => n
            .int("batch_dims")
            .filter(|&b| b < 0)
            .map(|b| format!("batch_dims {b}: must not be negative")),
        "Transpose" => {
            let perm = n.ints("perm")?;
            let mut seen = vec![false; perm.len()];
            let permutation = perm.iter().all(|&p| {
                usize::try_from(p)
                    .ok()
                    .and_then(|p| seen.get_mut(p))
                    .is_some_and(|s| !std::mem::replace(s, true))
            });
            let rank = n.inputs.first().and_then(|i| g.rank_of(i));
            if !permutation {
                Some(format!(
                    "perm {perm:?} is not a permutation of 0..{}",
                    perm.len()
                ))
            } else {
                rank.filter(|&r| r != perm.len()).map(|r| {
                    format!(
                        "perm {perm:?} has {} entries for an input of rank {r}",
                        perm.len()
                    )
                })
            }
        }
        "Pad" => {
            // an attribute before op set 11, an input since; negative pads crop
            let v: Vec<i64> = match n.ints("pads") {
                Some(v) => v.to_vec(),
                None => g
                    .values_of(n.inputs.get(1)?)?
                    .iter()
                    .map(|&x| x as i64)
                    .collect(),
            };
            v.iter().any(|p| p.abs() > MAX_PAD).then(|| {
                format!("pads {v:?}: edgerun takes pads of at most {MAX_PAD} (larger ones make engines allocate without bound)")
            })
        }
        "Resize" | "Upsample" => {
            let scales = n.ints("scales").map(|_| Vec::new()).or_else(|| {
                let at = if op == "Upsample" { 1 } else { 2 };
                g.values_of(n.inputs.get(at)?).map(<[f64]>::to_vec)
            })?;
            scales
                .iter()
                .any(|&s| !(s > 0.0 && s <= MAX_SCALE))
                .then(|| {
                    format!(
                        "scales {scales:?}: edgerun takes scales above 0 and at most {MAX_SCALE}"
                    )
                })
        }
        "Softmax" | "LogSoftmax" | "Hardmax" | "Gather" | "GatherElements" | "ScatterElements"
        | "Split" | "Concat" | "ArgMax" | "ArgMin" | "LayerNormalization" | "TopK" | "Compress"
        | "CumSum" => axis(g, n, 0, 0),
        "OneHot" => axis(g, n, 0, 1),
        "Flatten" => axis(g, n, 0, 1),
        "BatchNormalization" => {
            let r = g.rank_of(n.inputs.first()?)?;
            (r < 2).then(|| format!("input of rank {r}: BatchNormalization needs at least a batch and a channel dimension"))
        }
        "InstanceNormalization" | "RNN" | "GRU" | "LSTM" => declares_zero(g, n, 0),
        "STFT" => {
            let length = n.inputs.get(3).and_then(|l| g.values_of(l));
            let window = n
                .inputs
                .get(2)
                .filter(|w| !w.is_empty())
                .and_then(|w| g.constants.get(w));
            if length.is_some_and(|l| l.iter().any(|&x| x < 1.0)) {
                Some("frame_length below 1".into())
            } else {
                window
                    .filter(|w| w.values.is_empty())
                    .map(|_| "an empty window".into())
            }
        }
        "SplitToSequence" => {
            let split = g.constants.get(n.inputs.get(1)?)?;
            split
                .values
                .iter()
                .any(|&x| if split.dims.is_empty() { x < 1.0 } else { x < 0.0 })
                .then(|| format!("split {:?}: a scalar split must be at least 1, and a list's entries not negative", split.values))
        }
        "Div" | "Mod" => {
            let divisor = g.constants.get(n.inputs.get(1)?)?;
            if !matches!(divisor.data_type, INT32 | INT64) {
                return None;
            }
            if divisor.values.contains(&0.0) {
                return Some("an integer division by a constant zero".into());
            }
            let min = if divisor.data_type == INT32 {
                f64::from(i32::MIN)
            } else {
                i64::MIN as f64
            };
            let dividend = g.constants.get(n.inputs.first()?)?;
            (divisor.values.contains(&-1.0) && dividend.values.contains(&min)).then(|| {
                "an integer division of the type's minimum by -1 among constants (it overflows)"
                    .into()
            })
        }
        _ => None,
    }
}
