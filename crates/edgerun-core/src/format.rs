//! Model formats, recognised from a file's bytes rather than its name.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};

/// The model formats edgerun can recognise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelFormat {
    /// ONNX: a protobuf `ModelProto`.
    Onnx,
    /// TensorFlow Lite: a flatbuffer with the `TFL3` file identifier.
    TfLite,
    /// NNEF: a directory holding `graph.nnef`, or a tar (optionally gzipped) of one.
    Nnef,
}

impl ModelFormat {
    pub fn name(self) -> &'static str {
        match self {
            ModelFormat::Onnx => "ONNX",
            ModelFormat::TfLite => "TensorFlow Lite",
            ModelFormat::Nnef => "NNEF",
        }
    }
}

impl fmt::Display for ModelFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many leading bytes [`detect`] looks at.
pub const SNIFF_LEN: usize = 512;

/// Recognise a model format from the first bytes of a file (`head`, at most [`SNIFF_LEN`] are
/// needed) and the file's total length. Returns `None` when the bytes are no known model.
pub fn detect(head: &[u8], total_len: u64) -> Option<ModelFormat> {
    if head.len() >= 8 && &head[4..8] == b"TFL3" {
        return Some(ModelFormat::TfLite);
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Some(ModelFormat::Nnef);
    }
    if head.len() >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        return Some(ModelFormat::Nnef);
    }
    if looks_like_onnx(head, total_len) {
        return Some(ModelFormat::Onnx);
    }
    None
}

/// ONNX `ModelProto` fields: (field number, protobuf wire type).
const MODEL_PROTO_FIELDS: &[(u64, u8)] = &[
    (1, 0),  // ir_version
    (2, 2),  // producer_name
    (3, 2),  // producer_version
    (4, 2),  // domain
    (5, 0),  // model_version
    (6, 2),  // doc_string
    (7, 2),  // graph
    (8, 2),  // opset_import
    (14, 2), // metadata_props
    (20, 2), // training_info
    (25, 2), // functions
];

fn read_varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(*pos)?;
        *pos += 1;
        value |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Walks the first protobuf fields. Exporters write `ir_version` (field 1) first; otherwise two
/// consecutive well-formed `ModelProto` fields are required. A length-delimited field that runs
/// past the end of the file ends the walk (a truncated file is still recognised as ONNX, so the
/// backend can report it as truncated).
fn looks_like_onnx(head: &[u8], total_len: u64) -> bool {
    let mut pos = 0usize;
    let mut fields = 0;
    while fields < 3 && pos < head.len() {
        let Some(tag) = read_varint(head, &mut pos) else {
            break;
        };
        let (number, wire) = (tag >> 3, (tag & 7) as u8);
        if !MODEL_PROTO_FIELDS.contains(&(number, wire)) {
            return false;
        }
        if wire == 0 {
            let Some(v) = read_varint(head, &mut pos) else {
                break;
            };
            if number == 1 && fields == 0 && (1..=64).contains(&v) {
                return true;
            }
        } else {
            let Some(len) = read_varint(head, &mut pos) else {
                break;
            };
            let end = (pos as u64).saturating_add(len);
            if end > total_len {
                return fields > 0;
            }
            pos = end as usize;
        }
        fields += 1;
    }
    fields >= 2
}

/// A model to prepare: where it comes from and its detected format.
#[derive(Debug, Clone)]
pub struct ModelSource {
    path: PathBuf,
    format: ModelFormat,
    bytes: Option<Arc<[u8]>>,
}

impl ModelSource {
    /// Open a model file or NNEF directory and recognise its format from its content.
    ///
    /// # Errors
    /// [`Error::ModelNotFound`], [`Error::NotAModel`] (a directory that is not NNEF),
    /// [`Error::NotAFile`] (a device, FIFO or socket), [`Error::EmptyModel`],
    /// [`Error::UnknownFormat`] or [`Error::Io`].
    pub fn open(path: impl AsRef<Path>) -> Result<ModelSource> {
        let path = path.as_ref().to_path_buf();
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::ModelNotFound { path })
            }
            Err(source) => {
                return Err(Error::Io {
                    path,
                    source: source.into(),
                })
            }
        };
        if meta.is_dir() {
            if path.join("graph.nnef").is_file() {
                return Ok(ModelSource {
                    path,
                    format: ModelFormat::Nnef,
                    bytes: None,
                });
            }
            return Err(Error::NotAModel { path });
        }
        if !meta.is_file() {
            return Err(Error::NotAFile {
                what: "model file",
                kind: crate::limits::file_kind(&meta),
                path,
            });
        }
        if meta.len() == 0 {
            return Err(Error::EmptyModel { path });
        }
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let file = std::fs::File::open(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source: source.into(),
        })?;
        file.take(SNIFF_LEN as u64)
            .read_to_end(&mut head)
            .map_err(|source| Error::Io {
                path: path.clone(),
                source: source.into(),
            })?;
        let format = detect(&head, meta.len()).ok_or_else(|| Error::UnknownFormat {
            path: path.clone(),
            detail: describe(&head),
        })?;
        Ok(ModelSource {
            path,
            format,
            bytes: None,
        })
    }

    /// A model held in memory. `label` names it in errors.
    ///
    /// # Errors
    /// [`Error::EmptyModel`] or [`Error::UnknownFormat`]; NNEF needs a file or directory.
    pub fn from_bytes(
        label: impl Into<PathBuf>,
        bytes: impl Into<Arc<[u8]>>,
    ) -> Result<ModelSource> {
        let path = label.into();
        let bytes: Arc<[u8]> = bytes.into();
        if bytes.is_empty() {
            return Err(Error::EmptyModel { path });
        }
        match detect(&bytes[..bytes.len().min(SNIFF_LEN)], bytes.len() as u64) {
            Some(ModelFormat::Nnef) => Err(Error::UnknownFormat {
                path,
                detail: "NNEF models are loaded from a directory or archive file, not from memory"
                    .into(),
            }),
            Some(format) => Ok(ModelSource {
                path,
                format,
                bytes: Some(bytes),
            }),
            None => Err(Error::UnknownFormat {
                detail: describe(&bytes),
                path,
            }),
        }
    }

    /// The file path, or the label of an in-memory model.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn format(&self) -> ModelFormat {
        self.format
    }

    /// The bytes of an in-memory model (`None` for a model read from disk).
    pub fn memory(&self) -> Option<&[u8]> {
        self.bytes.as_deref()
    }

    /// The whole model: the in-memory bytes, or the file's content.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read.
    pub fn read_bytes(&self) -> Result<Arc<[u8]>> {
        match &self.bytes {
            Some(b) => Ok(b.clone()),
            None => std::fs::read(&self.path)
                .map(Arc::from)
                .map_err(|source| Error::Io {
                    path: self.path.clone(),
                    source: source.into(),
                }),
        }
    }
}

/// A short description of unrecognised bytes, with a hint for common mistakes.
fn describe(head: &[u8]) -> String {
    let hex: Vec<String> = head.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let hint = if head.starts_with(b"version https://git-lfs") {
        "it is a Git LFS pointer; run `git lfs pull` to get the real file"
    } else if head.starts_with(b"<") || head.starts_with(b"{") {
        "it looks like text (an HTML error page or JSON?); download the model again"
    } else if head.starts_with(b"PK") {
        "it is a zip archive; unpack the model from it first"
    } else if head.starts_with(b"\x7fELF") {
        "it is a shared library or program, not a model"
    } else {
        "expected an ONNX protobuf, a TFLite flatbuffer (TFL3) or an NNEF directory/tar"
    };
    format!("starts with bytes {}; {hint}", hex.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn onnx_header() -> Vec<u8> {
        // ir_version = 8, producer_name = "x", graph of 3 bytes
        vec![0x08, 0x08, 0x12, 0x01, b'x', 0x3a, 0x03, 0, 0, 0]
    }

    #[test]
    fn detects_formats_from_content() {
        let onnx = onnx_header();
        assert_eq!(detect(&onnx, onnx.len() as u64), Some(ModelFormat::Onnx));
        let mut tfl = vec![0x1c, 0, 0, 0];
        tfl.extend_from_slice(b"TFL3");
        tfl.extend_from_slice(&[0; 16]);
        assert_eq!(detect(&tfl, tfl.len() as u64), Some(ModelFormat::TfLite));
        let mut tar = vec![0u8; 512];
        tar[257..262].copy_from_slice(b"ustar");
        assert_eq!(detect(&tar, 512), Some(ModelFormat::Nnef));
        assert_eq!(detect(&[0x1f, 0x8b, 8, 0], 4), Some(ModelFormat::Nnef));
    }

    #[test]
    fn rejects_junk() {
        assert_eq!(detect(b"hello world, this is not a model", 32), None);
        assert_eq!(detect(&[0xff; 64], 64), None);
        assert_eq!(detect(&[], 0), None);
        // ir_version out of range
        assert_eq!(detect(&[0x08, 0xff, 0x7f], 3), None);
    }

    #[test]
    fn truncated_onnx_is_still_onnx() {
        let onnx = onnx_header();
        // the graph field claims 3 bytes; cut the file inside it
        assert_eq!(detect(&onnx[..7], 7), Some(ModelFormat::Onnx));
        // a header without ir_version: two valid fields are needed
        let no_ir = vec![0x12, 0x01, b'x', 0x3a, 0x01, 0];
        assert_eq!(detect(&no_ir, 6), Some(ModelFormat::Onnx));
        assert_eq!(detect(&no_ir[..3], 3), None);
    }

    #[test]
    fn open_reports_missing_empty_dir_and_junk() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        assert!(matches!(
            ModelSource::open(dir.join("nope.onnx")),
            Err(Error::ModelNotFound { .. })
        ));
        assert!(matches!(
            ModelSource::open(dir),
            Err(Error::NotAModel { .. })
        ));
        let empty = dir.join("empty.onnx");
        std::fs::write(&empty, b"").unwrap();
        assert!(matches!(
            ModelSource::open(&empty),
            Err(Error::EmptyModel { .. })
        ));
        let html = dir.join("page.onnx");
        std::fs::write(&html, b"<html>404 not found</html>").unwrap();
        let err = ModelSource::open(&html).unwrap_err();
        assert!(err.to_string().contains("looks like text"), "{err}");
        // content wins over the extension
        let tfl = dir.join("really_tflite.onnx");
        std::fs::write(&tfl, b"\x1c\0\0\0TFL3\0\0\0\0").unwrap();
        assert_eq!(
            ModelSource::open(&tfl).unwrap().format(),
            ModelFormat::TfLite
        );
        std::fs::write(dir.join("graph.nnef"), b"version 1.0;").unwrap();
        assert_eq!(ModelSource::open(dir).unwrap().format(), ModelFormat::Nnef);
    }

    #[test]
    fn from_bytes() {
        assert!(matches!(
            ModelSource::from_bytes("m", Vec::new()),
            Err(Error::EmptyModel { .. })
        ));
        let s = ModelSource::from_bytes("m", onnx_header()).unwrap();
        assert_eq!(s.format(), ModelFormat::Onnx);
        assert_eq!(s.read_bytes().unwrap().len(), 10);
    }
}
