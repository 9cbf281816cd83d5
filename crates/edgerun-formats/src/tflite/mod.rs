//! The TensorFlow Lite file format, shared by the backends that run it (`tflite`, `litert`):
//! a checker that reads every offset of an untrusted model before a C library does, and the
//! format's type codes and op names.

pub mod flatbuf;
pub mod types;

/// A shape as TensorFlow Lite's 32-bit dimensions.
///
/// # Errors
/// [`edgerun_core::Error::InvalidOption`] when a dimension is over `i32::MAX`, the largest TensorFlow
/// Lite and LiteRT take (a dimension is never clamped to fit).
pub fn dims_i32(shape: &[usize]) -> edgerun_core::Result<Vec<i32>> {
    shape
        .iter()
        .map(|&d| {
            i32::try_from(d).map_err(|_| edgerun_core::Error::InvalidOption {
                option: format!("input shape [{}]", edgerun_core::error::shape_string(shape)),
                reason: format!(
                    "dimension {d} is over {}, the largest TensorFlow Lite takes; give a smaller shape",
                    i32::MAX
                ),
            })
        })
        .collect()
}

/// A TensorFlow Lite model's bytes, checked by [`flatbuf::parse`] and against the tensor size
/// limit before any C code reads them.
///
/// # Errors
/// [`edgerun_core::Error::Io`] when the file cannot be read, [`edgerun_core::Error::InvalidModel`] (for
/// `backend`) when the check fails, [`edgerun_core::Error::TooLarge`] for a tensor over the limit.
pub fn read_checked(
    backend: &str,
    source: &edgerun_core::ModelSource,
) -> edgerun_core::Result<(std::sync::Arc<[u8]>, flatbuf::ModelDecl)> {
    read_checked_to(backend, source, flatbuf::Depth::Full)
}

/// [`read_checked`] to the given depth of the check.
///
/// # Errors
/// As [`read_checked`].
pub fn read_checked_to(
    backend: &str,
    source: &edgerun_core::ModelSource,
    depth: flatbuf::Depth,
) -> edgerun_core::Result<(std::sync::Arc<[u8]>, flatbuf::ModelDecl)> {
    let bytes = source.read_bytes()?;
    let decl = flatbuf::parse_to(&bytes, depth).map_err(|e| edgerun_core::Error::InvalidModel {
        source: None,
        backend: backend.into(),
        path: source.path().into(),
        reason: e.0,
    })?;
    decl.check_sizes()?;
    Ok((bytes, decl))
}
