//! What a cached choice is keyed by: the model's digest.

use crate::{Error, ModelSource, Result};

/// SHA-256 of a model: its bytes, or for an NNEF directory every file's relative path and
/// bytes in path order.
pub(crate) fn model_digest(source: &ModelSource) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let root = source.path();
    if source.memory().is_none() && root.is_dir() {
        let mut files = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(d) = dirs.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| Error::Io {
                path: d.clone(),
                source: e.into(),
            })?;
            for e in entries {
                let e = e.map_err(|source| Error::Io {
                    path: d.clone(),
                    source: source.into(),
                })?;
                let p = e.path();
                let kind = e.file_type().map_err(|source| Error::Io {
                    path: p.clone(),
                    source: source.into(),
                })?;
                // a link to a directory is not followed (a loop would never end)
                if kind.is_dir() {
                    dirs.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        files.sort();
        for f in files {
            h.update(
                f.strip_prefix(root)
                    .unwrap_or(&f)
                    .to_string_lossy()
                    .as_bytes(),
            );
            h.update([0]);
            h.update(std::fs::read(&f).map_err(|e| Error::Io {
                path: f.clone(),
                source: e.into(),
            })?);
        }
    } else {
        h.update(&source.read_bytes()?[..]);
    }
    Ok(hex(&h.finalize()))
}

/// [`model_digest`], kept in `cell` once computed (a model may be large, and one load asks for
/// its digest several times).
pub(crate) fn once(cell: &std::cell::OnceCell<String>, source: &ModelSource) -> Result<String> {
    if let Some(d) = cell.get() {
        return Ok(d.clone());
    }
    let d = model_digest(source)?;
    Ok(cell.get_or_init(|| d).clone())
}

pub(crate) fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
