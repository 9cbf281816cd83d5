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

/// An engine's own account of a failure, kept beside edgerun's: which engine, its status code
/// where it gives one (named as the engine names it), and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{engine}{}: {message}", code.as_ref().map(|c| format!(" status {c}")).unwrap_or_default())]
pub struct EngineError {
    pub engine: &'static str,
    pub code: Option<String>,
    pub message: String,
}

impl EngineError {
    /// Boxed, as errors hold it (an engine's error is large beside edgerun's own).
    pub fn new(
        engine: &'static str,
        code: Option<String>,
        message: impl Into<String>,
    ) -> Box<EngineError> {
        Box::new(EngineError {
            engine,
            code,
            message: message.into(),
        })
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{backend}: the engine {what}, on {path:?} in a helper process (this process was spared); the file may be damaged, or it reaches a fault in the engine: use another backend, and report it with the model")]
    EngineCrashed {
        backend: String,
        path: PathBuf,
        /// How it ended and at which stage: `was killed by SIGSEGV (...) while loading the model`.
        what: String,
    },

    #[error("model file {path:?} does not exist; check the path (relative paths start from the current directory)")]
    ModelNotFound { path: PathBuf },

    #[error("cannot read {path:?}: {}", io_hint(source))]
    Io {
        path: PathBuf,
        /// Shared, so that an error can be cloned (a batch gives each input its own copy).
        #[source]
        source: std::sync::Arc<std::io::Error>,
    },

    #[error("{what} {path:?} not found; check the path (relative paths start from the current directory)")]
    FileNotFound { what: &'static str, path: PathBuf },

    #[error("{what} {path:?} is {kind}, not a regular file; pass the path of a file")]
    NotAFile {
        what: &'static str,
        path: PathBuf,
        kind: &'static str,
    },

    #[error("{what} needs {size}, more than the limit of {limit} per tensor; give a smaller shape, or raise the limit (edgerun::limits::set_max_tensor_bytes)")]
    TooLarge {
        what: String,
        size: String,
        limit: String,
    },

    #[error("cannot allocate {size} for {what}: this process is out of memory; give a smaller shape, or free memory")]
    OutOfMemory { what: String, size: String },

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
        /// The engine's own error, when an engine refused the file.
        #[source]
        source: Option<Box<EngineError>>,
    },

    #[error("{backend}: op {op} (node {node:?}) is not supported by this backend{}; try another backend or re-export the model without it", if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    UnsupportedOp {
        backend: String,
        op: String,
        node: String,
        detail: String,
        /// The engine's own error, when an engine reported the op.
        #[source]
        source: Option<Box<EngineError>>,
    },

    #[error(
        "{backend} cannot build {path:?}, a valid model, as it is: {reason}; try another backend"
    )]
    UnsupportedModel {
        backend: String,
        path: PathBuf,
        reason: String,
        /// The engine's own error.
        #[source]
        source: Option<Box<EngineError>>,
    },

    #[error("{backend} cannot read {format} models; use a backend that can (see `edgerun info`)")]
    UnsupportedFormat {
        backend: String,
        format: crate::format::ModelFormat,
    },

    #[error("input {input:?} has unknown dimension {dim} ({symbol}) in shape [{shape}], which {backend} cannot leave open until run time; give the input's full shape when loading (Runtime::with_input_shape)")]
    MissingInputShape {
        backend: String,
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

    #[error("input {name:?} expects shape [{expected}] but got [{found}]; reshape the data to fit the model's shape")]
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

    #[error("{bytes} bytes is not a whole number of {dtype} elements ({} bytes each)", dtype.size_of())]
    TensorBytes { dtype: DType, bytes: usize },

    #[error("bool element with value {value} (only 0 and 1 are valid)")]
    NotABool { value: u8 },

    #[error("backend {backend} is not available: {reason}")]
    BackendUnavailable { backend: String, reason: String },

    #[error("{library} not found; searched: {searched}; install it, or give its path (the {backend} backend's library option, or the {env} environment variable)")]
    LibraryNotFound {
        backend: String,
        library: String,
        env: String,
        searched: String,
    },

    #[error("cannot load {path:?}: {reason}")]
    LibraryLoad { path: PathBuf, reason: String },

    #[error("{path:?} lacks the function {symbol}: it is not a {library}, or one older than edgerun supports; use a newer build of it")]
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

    #[error("setting {key}: {value:?} is not valid; give {accepts}")]
    InvalidSetting {
        key: String,
        value: String,
        accepts: String,
    },

    #[error("no setting {key:?} here; the settings are: {known}")]
    UnknownSetting { key: String, known: String },

    #[error("image {what}: {reason}")]
    Image { what: String, reason: String },

    #[error("image for input {input:?} [{}]: its size is left open; give it at load (Runtime::with_input_shape), e.g. 1,3,{height},{width} or 1,{height},{width},3", shape_string(shape))]
    ImageSizeOpen {
        input: String,
        shape: Vec<String>,
        height: usize,
        width: usize,
    },

    #[error("{path:?} is not a valid .npy file: {reason}")]
    Npy { path: PathBuf, reason: String },

    #[error("{backend}: {message}")]
    Backend { backend: String, message: String },

    /// An engine failed on a valid model or valid inputs: what edgerun was doing, and the
    /// engine's own error.
    #[error("{backend}: {context}: {source}")]
    Engine {
        backend: String,
        context: String,
        #[source]
        source: Box<EngineError>,
    },

    #[error("{backend} cannot time operators: {reason}")]
    ProfilingUnavailable { backend: String, reason: String },

    #[error("inputs {first:?} and {second:?} share dimension {symbol} but give it different sizes ({first_size} and {second_size}); give both the same size")]
    SymbolClash {
        symbol: String,
        first: String,
        first_size: usize,
        second: String,
        second_size: usize,
    },
}

/// What kind of problem an [`Error`] is: small and stable, for callers to match on while the
/// variants and their fields evolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be found or read.
    Io,
    /// The model file is corrupt, truncated or not a model.
    InvalidModel,
    /// A valid model uses something this backend cannot run (an op, a format, a type).
    Unsupported,
    /// What the caller asked for is wrong: an option, a shape given at load, a delegate that
    /// cannot be used. Another backend would not fix it.
    InvalidRequest,
    /// The inputs given to a run do not fit the model.
    InvalidInput,
    /// The backend cannot be used here (compiled out, library missing or unusable).
    Unavailable,
    /// The backend failed on a valid model and valid inputs.
    Backend,
}

impl Error {
    /// The kind of problem, for matching.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::ModelNotFound { .. }
            | Error::FileNotFound { .. }
            | Error::NotAFile { .. }
            | Error::Io { .. }
            | Error::Npy { .. } => ErrorKind::Io,
            Error::NotAModel { .. }
            | Error::EmptyModel { .. }
            | Error::UnknownFormat { .. }
            | Error::InvalidModel { .. } => ErrorKind::InvalidModel,
            Error::UnsupportedOp { .. }
            | Error::UnsupportedModel { .. }
            | Error::UnsupportedFormat { .. } => ErrorKind::Unsupported,
            Error::MissingInputShape { .. }
            | Error::InputShapeOption { .. }
            | Error::UnknownShapeOption { .. }
            | Error::InvalidOption { .. }
            | Error::InvalidSetting { .. }
            | Error::UnknownSetting { .. }
            | Error::TooLarge { .. }
            | Error::OutOfMemory { .. }
            | Error::Delegate { .. } => ErrorKind::InvalidRequest,
            Error::InputCount { .. }
            | Error::Image { .. }
            | Error::ImageSizeOpen { .. }
            | Error::UnknownInput { .. }
            | Error::DuplicateInput { .. }
            | Error::InputDType { .. }
            | Error::InputShape { .. }
            | Error::TensorShape { .. }
            | Error::TensorDType { .. }
            | Error::TensorBytes { .. }
            | Error::NotABool { .. }
            | Error::SymbolClash { .. } => ErrorKind::InvalidInput,
            Error::BackendUnavailable { .. }
            | Error::LibraryNotFound { .. }
            | Error::LibraryLoad { .. }
            | Error::MissingSymbol { .. }
            | Error::NoBackend { .. } => ErrorKind::Unavailable,
            Error::Backend { .. }
            | Error::Engine { .. }
            | Error::EngineCrashed { .. }
            | Error::ProfilingUnavailable { .. } => ErrorKind::Backend,
        }
    }

    /// Should choosing a backend stop at this error instead of trying the next backend? Yes
    /// when the caller asked for something wrong: another backend would hide the mistake.
    pub fn stops_dispatch(&self) -> bool {
        self.kind() == ErrorKind::InvalidRequest
    }
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
                source: None,
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
            source: std::io::Error::from(std::io::ErrorKind::NotFound).into(),
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
