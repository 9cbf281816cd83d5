//! ONNX Runtime's failures to load a model, turned into edgerun errors that name the problem.

use std::path::Path;

use edgerun_core::{EngineError, Error};
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
            if let Some(name) = edgerun_formats::onnx::node_with_op(model, op_type) {
                *node = name;
            }
        }
    }
    err
}

/// ONNX Runtime's error, kept as the source of edgerun's.
pub(crate) fn engine(code: ErrorCode, text: &str) -> Box<EngineError> {
    EngineError::new("ONNX Runtime", Some(format!("{code:?}")), text)
}

/// A failure on a valid model (running it, configuring a session): what edgerun was doing,
/// and ONNX Runtime's error.
pub(crate) fn engine_error<R>(context: String, e: &ort::Error<R>) -> Error {
    Error::Engine {
        backend: NAME.into(),
        context,
        source: engine(e.code(), e.message()),
    }
}

/// The kind comes from ONNX Runtime's status code; its message only names the op and node,
/// which the code does not carry.
fn classify(path: &Path, code: ErrorCode, text: &str) -> Error {
    let node = || {
        after(text, "node with name '", &['\''])
            .unwrap_or("?")
            .to_string()
    };
    match code {
        ErrorCode::InvalidProtobuf | ErrorCode::NoModel => Error::InvalidModel {
            backend: NAME.into(),
            path: path.into(),
            reason: format!("ONNX Runtime refused it: {text}"),
            source: Some(engine(code, text)),
        },
        // "Could not find an implementation for EdgerunOp(1) node with name 'n'"
        ErrorCode::NotImplemented => Error::UnsupportedOp {
            backend: NAME.into(),
            op: after(text, "Could not find an implementation for ", &['(', ' '])
                .unwrap_or("?")
                .to_string(),
            node: node(),
            detail: format!("this ONNX Runtime build has no kernel for it: {text}"),
            source: Some(engine(code, text)),
        },
        // an op missing from ONNX Runtime's op sets comes with a graph or generic status:
        // "Fatal error: ai.edgerun.test:EdgerunMysteryOp(-1) is not a registered function/op"
        _ if unregistered_op(text).is_some() => {
            let op = unregistered_op(text).unwrap_or_default();
            Error::UnsupportedOp {
                backend: NAME.into(),
                op: op.split('(').next().unwrap_or(op).to_string(),
                node: node(),
                detail: format!("ONNX Runtime has no such operator in its op sets: {text}"),
                source: Some(engine(code, text)),
            }
        }
        // a valid model of a newer ONNX than this ONNX Runtime knows: an attribute added to
        // an op since, or a newer IR version; not a damaged file
        _ if text.contains("Unrecognized attribute: ") => Error::UnsupportedOp {
            backend: NAME.into(),
            op: after(text, " for operator ", &[' ', '.', '\n'])
                .unwrap_or("?")
                .to_string(),
            node: node(),
            detail: format!("this ONNX Runtime does not know one of its attributes, which a newer ONNX added: {text}"),
            source: Some(engine(code, text)),
        },
        _ if text.contains("Unsupported model IR version") => Error::UnsupportedModel {
            backend: NAME.into(),
            path: path.into(),
            reason: format!("it is of a newer ONNX than this ONNX Runtime reads: {text}"),
            source: Some(engine(code, text)),
        },
        ErrorCode::InvalidGraph => Error::InvalidModel {
            backend: NAME.into(),
            path: path.into(),
            reason: format!("ONNX Runtime refused it: {text}"),
            source: Some(engine(code, text)),
        },
        _ => Error::Engine {
            backend: NAME.into(),
            context: format!("loading {path:?}"),
            source: engine(code, text),
        },
    }
}

fn unregistered_op(text: &str) -> Option<&str> {
    text.split_once("Fatal error: ")
        .and_then(|(_, rest)| rest.split_once(" is not a registered function/op"))
        .map(|(op, _)| op)
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
        // a generic status this function cannot place stays the engine's error, kept whole
        match &e {
            Error::Engine { source, .. } => {
                assert_eq!(source.code.as_deref(), Some("GenericFailure"));
                assert!(source.message.contains("EdgerunMysteryOp"));
            }
            e => panic!("{e:?}"),
        }
        let e = classify(
            Path::new("m.onnx"),
            ErrorCode::NotImplemented,
            "Could not find an implementation for Foo(7) node with name 'foo_1'",
        );
        match e {
            Error::UnsupportedOp {
                op, node, source, ..
            } => {
                assert_eq!(op, "Foo");
                assert_eq!(node, "foo_1");
                assert_eq!(source.unwrap().code.as_deref(), Some("NotImplemented"));
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

    #[test]
    fn a_model_of_a_newer_onnx_is_unsupported_not_corrupt() {
        // as ONNX Runtime 1.31.1 refuses ONNX 1.23's Attention with a window
        let e = classify(
            Path::new("m.onnx"),
            ErrorCode::InvalidGraph,
            "This is an invalid model. In Node, (\"\", Attention, \"\", -1) : (\"Q\": tensor(float),) -> (\"Y\": tensor(float),) , Error Unrecognized attribute: left_window_size for operator Attention",
        );
        match &e {
            Error::UnsupportedOp { op, .. } => assert_eq!(op, "Attention"),
            e => panic!("{e:?}"),
        }
        let e = classify(
            Path::new("m.onnx"),
            ErrorCode::GenericFailure,
            "Unsupported model IR version: 14, max supported IR version: 13",
        );
        assert_eq!(e.kind(), edgerun_core::ErrorKind::Unsupported, "{e:?}");
    }
}
