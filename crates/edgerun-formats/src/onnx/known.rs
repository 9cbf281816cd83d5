//! Constructs an engine version is known to compute wrongly: a valid model that uses one is
//! refused for that engine (another backend runs it, or the application allows it by a
//! setting), so that neither `auto` nor a backend named explicitly returns a wrong answer
//! silently. Each rule comes from a failing case of ONNX's own operator tests (the onnx
//! package's node cases, run by `crates/edgerun/conformance/run`; table in
//! `docs/onnx-node.md`), and names that case.

use super::nodes::{Graph, Node};

/// The engines the rules are for, at the versions edgerun ships with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// tract 0.23.9.
    Tract,
    /// ONNX Runtime 1.31.1.
    OnnxRuntime,
}

/// A construct of the model the engine computes wrongly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub op: String,
    pub node: String,
    /// What the engine does wrong, and the ONNX test that shows it.
    pub why: String,
}

/// `TensorProto.DataType` codes the rules look at.
const INT8: i64 = 3;
const INT16: i64 = 5;
const INT32: i64 = 6;
const INT64: i64 = 7;
const FLOAT16: i64 = 10;

fn fault(n: &Node, why: impl Into<String>) -> Fault {
    Fault {
        op: n.op_type.clone(),
        node: n.name.clone(),
        why: why.into(),
    }
}

/// The words of the backends' `*_known_faults` settings: refuse (the default) or allow.
pub const CHOICES: &[&str] = &["refuse", "allow"];

/// Refuse `model` for `backend` when it uses a construct `engine` is known to compute wrongly;
/// `setting` is the backend's setting that allows it anyway.
///
/// # Errors
/// [`edgerun_core::Error::UnsupportedOp`] naming the node, the fault and the setting.
pub fn refuse_known_fault(
    backend: &str,
    engine: Engine,
    setting: &str,
    model: &[u8],
) -> edgerun_core::Result<()> {
    match known_fault(engine, model) {
        None => Ok(()),
        Some(f) => Err(edgerun_core::Error::UnsupportedOp {
            backend: backend.into(),
            op: f.op,
            node: f.node,
            detail: format!(
                "{}; another backend computes it correctly, or {setting}=allow runs it anyway",
                f.why
            ),
            source: None,
        }),
    }
}

/// The first construct of `model` that `engine` is known to compute wrongly.
pub fn known_fault(engine: Engine, model: &[u8]) -> Option<Fault> {
    let g = Graph::read(model);
    match engine {
        Engine::Tract => g.nodes.iter().find_map(|n| tract(&g, n)),
        Engine::OnnxRuntime => g.nodes.iter().find_map(|n| onnx_runtime(&g, n)),
    }
}

fn tract(g: &Graph, n: &Node) -> Option<Fault> {
    if (n.is("RNN") || n.is("GRU") || n.is("LSTM")) && n.string("direction") == Some("reverse") {
        return Some(fault(
            n,
            "tract 0.23.9 computes a reverse-direction RNN, GRU or LSTM wrongly (ONNX tests test_simple_rnn_reverse, test_gru_reverse, test_lstm_reverse: off by 0.2 to 0.34)",
        ));
    }
    if n.is("SpaceToDepth") && n.string("mode").is_some_and(|m| m != "DCR") {
        return Some(fault(
            n,
            "tract 0.23.9 ignores SpaceToDepth's mode and lays the blocks out as DCR (ONNX test test_spacetodepth_crd_mode_example)",
        ));
    }
    if n.is("BitShift")
        && n.inputs
            .iter()
            .any(|i| matches!(g.type_of(i), Some(INT8 | INT16 | INT32 | INT64)))
    {
        return Some(fault(
            n,
            "tract 0.23.9 shifts signed integers by negative amounts and amounts at or beyond the width differently from ONNX (ONNX tests test_bitshift_*_int8_* and *_int32_*)",
        ));
    }
    if n.is("Celu") && n.inputs.first().and_then(|i| g.type_of(i)) == Some(FLOAT16) {
        return Some(fault(
            n,
            "tract 0.23.9 computes Celu on float16 wrongly (ONNX test test_celu_float16: half the expected value)",
        ));
    }
    if n.is("Swish") && n.attributes.iter().any(|a| a == "alpha") {
        return Some(fault(
            n,
            "tract 0.23.9 ignores Swish's alpha (ONNX test test_swiglu_alpha_expanded)",
        ));
    }
    if ["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"]
        .iter()
        .any(|op| n.is(op))
        && n.inputs.len() == 2
    {
        let reduced = n
            .inputs
            .iter()
            .find_map(|i| origin(g, i).filter(|o| o.is("ReduceMax") || o.is("ReduceMin")));
        let infinite = n
            .inputs
            .iter()
            .any(|i| constant_origin(g, i).is_some_and(|v| v.iter().any(|x| x.is_infinite())));
        if let (Some(r), true) = (reduced, infinite) {
            return Some(fault(
                r,
                "tract 0.23.9 reduces a row of infinities to the largest finite float instead of the infinity (ReduceMax over -inf gives -3.4e38), and this model compares the reduction with an infinity, as masked attention does to find fully masked rows (ONNX tests test_attention_23_*fullymasked*_expanded: NaN where 0 is expected)",
            ));
        }
    }
    None
}

/// Ops that pass a value on unchanged, for the rules that follow a value back to its source.
const PASS_THROUGH: &[&str] = &[
    "Cast",
    "CastLike",
    "Identity",
    "Reshape",
    "Unsqueeze",
    "Squeeze",
];

/// The node that computes `name`, looking through a few ops that pass values on unchanged.
fn origin<'g>(g: &'g Graph, name: &str) -> Option<&'g Node> {
    let mut name = name;
    for _ in 0..8 {
        let n = g
            .nodes
            .iter()
            .find(|n| n.outputs.iter().any(|o| o == name))?;
        match n.inputs.first() {
            Some(first) if PASS_THROUGH.iter().any(|op| n.is(op)) => name = first,
            _ => return Some(n),
        }
    }
    None
}

/// The constant values `name` holds, looking through ops that pass values on unchanged.
fn constant_origin<'g>(g: &'g Graph, name: &str) -> Option<&'g [f64]> {
    let mut name = name;
    for _ in 0..8 {
        if let Some(v) = g.values_of(name) {
            return Some(v);
        }
        let n = g
            .nodes
            .iter()
            .find(|n| n.outputs.iter().any(|o| o == name))?;
        if !PASS_THROUGH.iter().any(|op| n.is(op)) {
            return None;
        }
        name = n.inputs.first()?;
    }
    None
}

fn onnx_runtime(g: &Graph, n: &Node) -> Option<Fault> {
    if n.is("MaxUnpool") && n.has_input(2) {
        return Some(fault(
            n,
            "ONNX Runtime 1.31.1 places MaxUnpool's values wrongly when an output shape is given (ONNX test test_maxunpool_export_with_output_shape)",
        ));
    }
    if n.is("Resize")
        && n.string("coordinate_transformation_mode") == Some("align_corners")
        && matches!(n.string("mode"), Some("linear" | "cubic"))
        && !upsamples(g, n)
    {
        return Some(fault(
            n,
            "ONNX Runtime 1.31.1 computes a linear or cubic Resize with align_corners wrongly when it downsamples (ONNX tests test_resize_downsample_scales_linear_align_corners, test_resize_downsample_scales_cubic_align_corners: off by up to 1.05); edgerun lets it through only where the model's constant scales show it upsamples",
        ));
    }
    None
}

/// Does this Resize only enlarge: are its scales a constant of values of at least 1, and no
/// sizes given?
fn upsamples(g: &Graph, n: &Node) -> bool {
    if n.has_input(3) || !n.has_input(2) {
        return false;
    }
    n.inputs
        .get(2)
        .and_then(|s| g.values_of(s))
        .is_some_and(|scales| !scales.is_empty() && scales.iter().all(|&s| s >= 1.0))
}
