//! tract's errors and panics in edgerun's terms: which file, node and op, and whose fault.

use super::*;

/// A panic caught in tract (its message, from [`crate::quiet::catch`]) while doing `what`.
pub(crate) fn panic_message(what: &str, msg: String) -> String {
    format!("tract {} failed while {what} ({msg})", tract_version())
}

/// One line from a tract error chain, shortened.
pub(crate) fn chain(e: &TractError) -> String {
    let mut s = format!("{e:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if s.len() > 400 {
        let cut = (0..=400)
            .rev()
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(0);
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// tract's error chain, kept as the source of edgerun's. tract has no status codes: its
/// errors are anyhow chains.
pub(crate) fn engine(e: &TractError) -> Box<edgerun_core::EngineError> {
    edgerun_core::EngineError::new("tract", None, chain(e))
}

pub(crate) fn backend_error(what: &str, e: &TractError) -> Error {
    Error::Engine {
        backend: NAME.into(),
        context: what.into(),
        source: engine(e),
    }
}

/// tract could not build a graph from an ONNX file that passed edgerun's check. The check
/// decoded the whole protobuf, so the file is not truncated or garbled: what tract refuses
/// is a construct it does not implement (a Scan whose state has no declared type, a Pad mode,
/// blocked quantization, an optional input), named with the node's op when tract says it.
pub(crate) fn unbuildable(path: &Path, e: &TractError) -> Error {
    let mut reason = chain(e);
    // a tensor type tract has no DatumType for (bfloat16, float8...): say so first
    if let Some(ty) = reason
        .split_once("Unknown DatumType ")
        .map(|(_, rest)| rest.split([' ', ',', ')']).next().unwrap_or(rest))
    {
        // the full chain stays the error's source
        reason = format!(
            "it has {} tensors, a type tract does not have",
            ty.to_ascii_lowercase()
        );
    }
    match reason
        .split_once("Building node (")
        .and_then(|(_, rest)| rest.split_once(')'))
    {
        Some((op, _)) => Error::UnsupportedOp {
            backend: NAME.into(),
            op: op.to_string(),
            node: String::new(),
            detail: reason.clone(),
            source: Some(engine(e)),
        },
        None => Error::UnsupportedModel {
            backend: NAME.into(),
            path: path.into(),
            reason,
            source: Some(engine(e)),
        },
    }
}

pub(crate) fn invalid(path: &Path, e: &TractError) -> Error {
    Error::InvalidModel {
        source: Some(engine(e)),
        backend: NAME.into(),
        path: path.into(),
        reason: chain(e),
    }
}

#[cfg(feature = "tflite")]
/// tract's TFLite reader reports an op it lacks as `Unsupported: OperatorCode { ...,
/// builtin_code: NAME, ... }` for the operator writing some tensors; name op and tensor.
pub(crate) fn tflite_error(path: &Path, e: &TractError) -> Error {
    let full = format!("{e:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let Some(at) = full.find("Unsupported: OperatorCode") else {
        if full.contains("Translating proto-op") {
            return Error::Backend {
                backend: NAME.into(),
                message: format!(
                    "tract's TensorFlow Lite reader cannot translate an op of {path:?}: {}; try the tflite backend",
                    chain(e)
                ),
            };
        }
        return invalid(path, e);
    };
    let rest = &full[at..];
    let field = |key: &str| -> Option<String> {
        let i = rest
            .match_indices(key)
            .find(|(i, _)| !rest[..*i].ends_with("deprecated_"))?
            .0;
        let v = rest[i + key.len()..]
            .split([',', ' ', '}'])
            .find(|s| !s.is_empty())?;
        Some(v.trim_matches('"').to_string())
    };
    // as in the TFLite schema: the old 8-bit code wins unless it is the placeholder (127)
    let deprecated = field("deprecated_builtin_code: ").and_then(|c| c.parse::<i32>().ok());
    let mut op = match deprecated {
        Some(code) if code < 127 => tract_tflite::tflite::BuiltinOperator(code)
            .variant_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("builtin #{code}")),
        _ => field("builtin_code: ").unwrap_or_else(|| "?".into()),
    };
    if op == "CUSTOM" {
        if let Some(custom) = field("custom_code: Some(") {
            op = format!("CUSTOM {custom}");
        }
    }
    let outputs = full
        .find("outputs: Some( [")
        .and_then(|i| full[i + 16..].split([']', ',']).next())
        .map(|s| format!("writing tensor #{}", s.trim()))
        .unwrap_or_else(|| "?".into());
    Error::UnsupportedOp {
        source: None,
        backend: NAME.into(),
        op,
        node: outputs,
        detail: "tract's TensorFlow Lite reader covers a subset of the builtin ops".into(),
    }
}

/// The node name in a tract message of the form `... node #12 "name" ...`.
pub(crate) fn node_of(text: &str) -> Option<String> {
    let at = text.find("node #")?;
    let rest = &text[at..];
    let start = rest.find('"')? + 1;
    let len = rest[start..].find('"')?;
    Some(rest[start..start + len].to_string())
}

pub(crate) fn analysis_error(path: &Path, e: &TractError) -> Error {
    let text = chain(e);
    match node_of(&text) {
        Some(node) => Error::Backend {
            backend: NAME.into(),
            message: format!(
                "cannot analyse model {path:?} at node {node:?}: {text}; check the input shapes, or try another backend"
            ),
        },
        None => Error::InvalidModel { backend: NAME.into(), path: path.into(), reason: text, source: None },
    }
}

pub(crate) fn unsupported_type(name: &str, dt: impl std::fmt::Debug) -> Error {
    Error::Backend {
        backend: NAME.into(),
        message: format!(
            "tensor {name:?} has element type {dt:?}, which edgerun does not exchange"
        ),
    }
}
