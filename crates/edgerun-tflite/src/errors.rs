//! TensorFlow Lite's failures turned into edgerun errors that name what went wrong.

use std::path::Path;

use edgerun_core::Error;

use crate::flatbuf::{OpDecl, CUSTOM};
use crate::{sys, types, NAME};

/// Where in the model an op is: `operator #k (subgraph g), writing tensor "name"`, for the
/// first operator matching `pick`.
fn node_of(ops: &[OpDecl], pick: impl Fn(&OpDecl) -> bool) -> String {
    ops.iter()
        .find(|o| pick(o))
        .map_or("?".into(), OpDecl::place)
}

/// The text after `marker` in `text`, up to the first of `ends`.
fn after<'t>(text: &'t str, marker: &str, ends: &[char]) -> Option<&'t str> {
    let (_, rest) = text.split_once(marker)?;
    rest.split(ends).next().filter(|s| !s.is_empty())
}

/// TFLite's own reports say best what went wrong: an op this build lacks, a delegate that
/// refused the graph, a tensor it could not allocate. Its status says only that a call failed
/// (`kTfLiteError` for all of these), so the kind comes from the reports; the status and the
/// reports stay the error's source. The model's operators (`ops`) locate an unsupported op.
pub(crate) fn tflite_failure(
    path: &Path,
    api: &sys::Api,
    ops: &[OpDecl],
    f: sys::Failure,
) -> Error {
    let text = f.reports.join("; ");
    let engine = f.engine();
    let lib = format!(
        "TensorFlow Lite {} from {}",
        api.version(),
        api.path().display()
    );
    if let Some(op) = after(&text, "Didn't find op for builtin opcode '", &['\'']) {
        let code = types::builtin_code(op);
        return Error::UnsupportedOp {
            source: Some(engine.clone()),
            backend: NAME.into(),
            op: op.to_string(),
            node: node_of(ops, |o| Some(o.code) == code),
            detail: format!("{lib} lacks it: {text}"),
        };
    }
    if let Some(code) = after(&text, "Op builtin_code out of range: ", &['.', ' ', ';']) {
        let number = code.parse::<i32>().ok();
        return Error::UnsupportedOp {
            source: Some(engine.clone()),
            backend: NAME.into(),
            op: number.map_or_else(|| format!("builtin #{code}"), types::builtin_name),
            node: node_of(ops, |o| Some(o.code) == number),
            detail: format!("{lib} is older than the model's ops: {text}"),
        };
    }
    if let Some(code) = after(&text, "Unsupported data type ", &[' ', ';']) {
        let name = code
            .parse::<u8>()
            .map_or_else(|_| format!("type {code}"), types::schema_type_name);
        return Error::UnsupportedModel {
            source: Some(engine.clone()),
            backend: NAME.into(),
            path: path.into(),
            reason: format!(
                "it has {name} tensors, which {lib} does not have (LiteRT and later TensorFlow Lite releases do)"
            ),
        };
    }
    if let Some(op) = after(
        &text,
        "Encountered unresolved custom op: ",
        &['.', ';', ' ', '\n'],
    ) {
        return Error::UnsupportedOp {
            source: Some(engine.clone()),
            backend: NAME.into(),
            op: format!("custom {op}"),
            node: node_of(ops, |o| o.code == CUSTOM && o.custom.as_deref() == Some(op)),
            detail: format!("{lib} has no such custom op"),
        };
    }
    Error::Engine {
        backend: NAME.into(),
        context: format!("{path:?}"),
        source: engine,
    }
}

pub(crate) fn plugin_error(path: &Path, e: sys::PluginError) -> Error {
    let reason = match e {
        sys::PluginError::Open(r) => format!("cannot load it: {r}"),
        sys::PluginError::MissingSymbol(s) => {
            format!("it lacks {s}; an external delegate plugin exports tflite_plugin_create_delegate and tflite_plugin_destroy_delegate")
        }
        sys::PluginError::BadOption(r) => format!("bad option: {r}"),
        sys::PluginError::Refused(reports) if reports.is_empty() => {
            "tflite_plugin_create_delegate returned NULL (check its options)".into()
        }
        sys::PluginError::Refused(reports) => {
            format!(
                "tflite_plugin_create_delegate returned NULL: {}",
                reports.join("; ")
            )
        }
    };
    Error::Delegate {
        path: path.into(),
        reason,
    }
}

pub(crate) fn unsupported_type(name: &str, t: impl std::fmt::Display) -> Error {
    Error::Backend {
        backend: NAME.into(),
        message: format!("tensor {name:?} has TensorFlow Lite type {t}, which edgerun does not exchange (strings, complex and resource tensors)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(index: usize, code: i32, custom: Option<&str>, out: &str) -> OpDecl {
        OpDecl {
            subgraph: 0,
            index,
            code,
            custom: custom.map(str::to_string),
            output: Some(out.into()),
        }
    }

    #[test]
    fn names_the_operator_of_an_unsupported_op() {
        let ops = [
            op(0, 3, None, "conv"),
            op(1, 150, None, "gelu_out"),
            op(2, CUSTOM, Some("MyOp"), "custom_out"),
        ];
        assert_eq!(
            node_of(&ops, |o| o.code == 150),
            "operator #1, writing tensor \"gelu_out\""
        );
        assert_eq!(
            after(
                "x; Didn't find op for builtin opcode 'GELU' version '1'",
                "opcode '",
                &['\'']
            ),
            Some("GELU")
        );
        assert_eq!(
            after(
                "Encountered unresolved custom op: MyOp.",
                "custom op: ",
                &['.']
            ),
            Some("MyOp")
        );
        assert_eq!(after("nothing here", "custom op: ", &['.']), None);
        assert_eq!(node_of(&ops, |o| o.code == 77), "?");
    }
}
