//! The one error type of edgerun.
//!
//! Every variant carries what a user needs to act: the file, the backend, the node or op, and
//! what was expected against what was found. Messages are one line and end with what to do.

use std::path::PathBuf;

use crate::dtype::DType;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shape printed the way the CLI takes it: `1,3,224,224` (`?` or a symbol for unknown dims).
/// An I/O error with what to do about it.
fn io_hint(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => format!("{e}; check the path"),
        std::io::ErrorKind::PermissionDenied => format!("{e}; check the file's permissions"),
        _ => e.to_string(),
    }
}

pub fn shape_string<T: std::fmt::Display>(dims: &[T]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("model file {path:?} does not exist; check the path (relative paths start from the current directory)")]
    ModelNotFound { path: PathBuf },

    #[error("cannot read {path:?}: {}", io_hint(source))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{path:?} is a directory without an NNEF graph (graph.nnef); pass a model file (.onnx, .tflite) or an NNEF directory or archive")]
    NotAModel { path: PathBuf },

    #[error("model file {path:?} is empty; the download or copy was probably interrupted, fetch the model again")]
    EmptyModel { path: PathBuf },

    #[error("{path:?} is not a model edgerun knows (ONNX, TensorFlow Lite, NNEF): {detail}")]
    UnknownFormat { path: PathBuf, detail: String },

    #[error("{backend}: model {path:?} is corrupt or truncated: {reason}; fetch or export the model again")]
    InvalidModel {
        backend: String,
        path: PathBuf,
        reason: String,
    },

    #[error("{backend}: op {op} (node {node:?}) is not supported by this backend{}; try another backend or re-export the model without it", if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    UnsupportedOp {
        backend: String,
        op: String,
        node: String,
        detail: String,
    },

    #[error("{backend} cannot read {format} models; use a backend that can (see `edgerun info`)")]
    UnsupportedFormat {
        backend: String,
        format: crate::format::ModelFormat,
    },

    #[error("input {input:?} has unknown dimension {dim} ({symbol}) in shape [{shape}]; give the full shape, e.g. --input_layer={input} --input_layer_shape=1,... (or Options::with_input_shape)")]
    MissingInputShape {
        input: String,
        dim: usize,
        symbol: String,
        shape: String,
    },

    #[error(
        "shape [{given}] given for input {input:?} does not fit the model's [{model}]: {reason}"
    )]
    InputShapeOption {
        input: String,
        given: String,
        model: String,
        reason: String,
    },

    #[error(
        "a shape was given for {input:?}, but the model has no such input; its inputs are: {known}"
    )]
    UnknownShapeOption { input: String, known: String },

    #[error("the model takes {expected} input(s) ({names}) but {found} were given")]
    InputCount {
        expected: usize,
        found: usize,
        names: String,
    },

    #[error("the model has no input named {name:?}; its inputs are: {known}")]
    UnknownInput { name: String, known: String },

    #[error("input {name:?} was given twice")]
    DuplicateInput { name: String },

    #[error("input {name:?} expects {expected} elements but got {found}; convert the data to {expected} (or quantize it with Tensor::quantize)")]
    InputDType {
        name: String,
        expected: DType,
        found: DType,
    },

    #[error("input {name:?} expects shape [{expected}] but got [{found}]; reshape the data, or give the shape at load time if the model allows it")]
    InputShape {
        name: String,
        expected: String,
        found: String,
    },

    #[error("tensor of shape [{}] needs {} elements but has {found_elements}", shape_string(shape), expected_elements.map(|n| n.to_string()).unwrap_or_else(|| "more than usize::MAX".into()))]
    TensorShape {
        shape: Vec<usize>,
        expected_elements: Option<usize>,
        found_elements: usize,
    },

    #[error("tensor holds {found} elements, not {expected}")]
    TensorDType { expected: DType, found: DType },

    #[error("backend {backend} is not available: {reason}")]
    BackendUnavailable { backend: String, reason: String },

    #[error("{library} not found; searched: {searched}; install it, or give its path (--tflite_lib, or the EDGERUN_TFLITE_LIB environment variable)")]
    LibraryNotFound { library: String, searched: String },

    #[error("cannot load {path:?}: {reason}")]
    LibraryLoad { path: PathBuf, reason: String },

    #[error("{path:?} lacks the function {symbol}: it is not a {library}, or one too old for edgerun; use a TensorFlow Lite C library built from the 2.x sources")]
    MissingSymbol {
        path: PathBuf,
        library: String,
        symbol: String,
    },

    #[error("delegate {path:?}: {reason}")]
    Delegate { path: PathBuf, reason: String },

    #[error("no backend can run {path:?}: {reasons}")]
    NoBackend { path: PathBuf, reasons: String },

    #[error("invalid option {option}: {reason}")]
    InvalidOption { option: String, reason: String },

    #[error("{path:?} is not a valid .npy file: {reason}")]
    Npy { path: PathBuf, reason: String },

    #[error("{backend}: {message}")]
    Backend { backend: String, message: String },

    #[error("{backend} cannot time operators: {reason}")]
    ProfilingUnavailable { backend: String, reason: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_name_the_problem() {
        let errors = [
            Error::ModelNotFound {
                path: "m.onnx".into(),
            },
            Error::UnsupportedOp {
                backend: "tract".into(),
                op: "FooOp".into(),
                node: "n1".into(),
                detail: String::new(),
            },
            Error::InputShape {
                name: "x".into(),
                expected: "1,3".into(),
                found: "1,4".into(),
            },
            Error::TensorShape {
                shape: vec![2, 3],
                expected_elements: Some(6),
                found_elements: 5,
            },
        ];
        for e in &errors {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
        let missing = Error::Io {
            path: "in.npy".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert!(
            missing.to_string().ends_with("; check the path"),
            "{missing}"
        );
        let s = errors[1].to_string();
        assert!(
            s.contains("FooOp") && s.contains("n1") && s.contains("tract"),
            "{s}"
        );
        assert!(!s.contains("()"), "{s}");
        assert!(errors[2].to_string().contains("[1,3]"));
    }
}
