//! ONNX Runtime's failures to load a model, turned into edgerun errors that name the problem.

use std::path::Path;

use edgerun_core::Error;
use ort::ErrorCode;

use crate::NAME;

/// The text after `marker`, up to the first of `ends`.
fn after<'t>(text: &'t str, marker: &str, ends: &[char]) -> Option<&'t str> {
    let (_, rest) = text.split_once(marker)?;
    rest.split(ends).next().filter(|s| !s.is_empty())
}

/// Creating a session from the model's bytes failed.
pub(crate) fn commit_error(path: &Path, model: &[u8], e: ort::Error) -> Error {
    let mut err = classify(path, e.code(), e.message());
    // ONNX Runtime names the node only for some failures: find it in the model
    if let Error::UnsupportedOp { op, node, .. } = &mut err {
        if node == "?" {
            let op_type = op.rsplit(':').next().unwrap_or(op);
            if let Some(name) = edgerun_core::onnx::node_with_op(model, op_type) {
                *node = name;
            }
        }
    }
    err
}

fn classify(path: &Path, code: ErrorCode, text: &str) -> Error {
    // "Fatal error: ai.edgerun.test:EdgerunMysteryOp(-1) is not a registered function/op"
    if let Some(op) = text
        .split_once("Fatal error: ")
        .and_then(|(_, rest)| rest.split_once(" is not a registered function/op"))
        .map(|(op, _)| op)
    {
        return Error::UnsupportedOp {
            backend: NAME.into(),
            op: op.split('(').next().unwrap_or(op).to_string(),
            node: after(text, "node with name '", &['\''])
                .unwrap_or("?")
                .to_string(),
            detail: format!("ONNX Runtime has no such operator in its op sets: {text}"),
        };
    }
    // "Could not find an implementation for EdgerunOp(1) node with name 'n'"
    if let Some(op) = after(text, "Could not find an implementation for ", &['(', ' ']) {
        return Error::UnsupportedOp {
            backend: NAME.into(),
            op: op.to_string(),
            node: after(text, "node with name '", &['\''])
                .unwrap_or("?")
                .to_string(),
            detail: format!("this ONNX Runtime build has no kernel for it: {text}"),
        };
    }
    match code {
        ErrorCode::InvalidProtobuf | ErrorCode::InvalidGraph | ErrorCode::NoModel => {
            Error::InvalidModel {
                backend: NAME.into(),
                path: path.into(),
                reason: format!("ONNX Runtime refused it: {text}"),
            }
        }
        _ => Error::Backend {
            backend: NAME.into(),
            message: format!("loading {path:?}: {text}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_ops_are_named_with_their_node() {
        let e = classify(
            Path::new("m.onnx"),
            ErrorCode::GenericFailure,
            "Load model from memory failed:This is an invalid model. In Node, (\"mystery_node\", EdgerunMysteryOp, \"ai.edgerun.test\", -1) : (\"h\") -> (\"y\") , Error No Op registered for EdgerunMysteryOp with domain_version of 1",
        );
        // a message this function does not know stays a backend error, with ORT's text
        assert!(matches!(e, Error::Backend { .. }), "{e:?}");
        let e = classify(
            Path::new("m.onnx"),
            ErrorCode::NotImplemented,
            "Could not find an implementation for Foo(7) node with name 'foo_1'",
        );
        match e {
            Error::UnsupportedOp { op, node, .. } => {
                assert_eq!(op, "Foo");
                assert_eq!(node, "foo_1");
            }
            other => panic!("{other:?}"),
        }
        let e = classify(
            Path::new("m.onnx"),
            ErrorCode::InvalidProtobuf,
            "Protobuf parsing failed.",
        );
        assert!(matches!(e, Error::InvalidModel { .. }), "{e:?}");
    }
}
