//! A check of an NNEF model's tensor files (`.dat`) before tract reads them: each header's
//! data size must fit inside its file and within the tensor size limit ([`edgerun_core::limits`]),
//! so that a truncated or crafted file cannot make the reader allocate what the file does not
//! hold. NNEF comes as a directory or as a tar archive; gzip-compressed archives are checked
//! as tract reads them, through a decompressor whose output is bounded.

use std::io::Read;
use std::path::Path;

use edgerun_core::error::{shape_string, Error, Result};

/// The fixed header of an NNEF tensor file.
const HEADER: usize = 128;
/// A tar block.
const BLOCK: usize = 512;

/// Check every `.dat` file of the NNEF model at `path` (a directory, a `.tar`, or a gzip'd
/// tar).
///
/// # Errors
/// [`Error::InvalidModel`] (for `backend`) naming the tensor file and what is wrong,
/// [`Error::TooLarge`] for a tensor over the limit, [`Error::Io`] when a file cannot be read.
pub fn check(backend: &str, path: &Path) -> Result<()> {
    let invalid = |reason: String| Error::InvalidModel {
        source: None,
        backend: backend.into(),
        path: path.into(),
        reason,
    };
    let io = |source: std::io::Error| Error::Io {
        path: path.into(),
        source: source.into(),
    };
    if path.is_dir() {
        let mut dirs = vec![path.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).map_err(io)? {
                let entry = entry.map_err(io)?;
                // links are not followed: the model is what the directory itself holds
                let kind = entry.file_type().map_err(io)?;
                let p = entry.path();
                if kind.is_dir() {
                    dirs.push(p);
                } else if kind.is_file() && p.extension().is_some_and(|e| e == "dat") {
                    let len = entry.metadata().map_err(io)?.len();
                    let mut head = Vec::with_capacity(HEADER);
                    std::fs::File::open(&p)
                        .map_err(io)?
                        .take(HEADER as u64)
                        .read_to_end(&mut head)
                        .map_err(io)?;
                    let name = p.strip_prefix(path).unwrap_or(&p).display().to_string();
                    tensor_file(&name, &head, len, &invalid)?;
                }
            }
        }
        return Ok(());
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let gzip = {
        let mut f = &file;
        f.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b]
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // a gzip'd archive may not expand to more than four tensors at the limit
    let cap = edgerun_core::limits::max_tensor_bytes().saturating_mul(4);
    if gzip {
        let reader = flate2::read::GzDecoder::new(file).take(cap.saturating_add(1));
        tar(reader, cap, &invalid)
    } else {
        tar(file, u64::MAX, &invalid)
    }
}

/// Walk a tar stream, checking each `.dat` entry's header against the entry's size.
fn tar(mut r: impl Read, cap: u64, invalid: &dyn Fn(String) -> Error) -> Result<()> {
    let mut block = [0u8; BLOCK];
    let mut read: u64 = 0;
    loop {
        match read_full(&mut r, &mut block) {
            Ok(true) => {}
            // the end of the stream, or bytes the reader of the archive will refuse itself
            Ok(false) | Err(_) => return Ok(()),
        }
        read += BLOCK as u64;
        if block.iter().all(|&b| b == 0) {
            return Ok(());
        }
        let name_end = block[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&block[..name_end]).into_owned();
        let size_text = String::from_utf8_lossy(&block[124..136]);
        let size_text = size_text.trim_matches(|c: char| c == '\0' || c == ' ');
        let Ok(size) = u64::from_str_radix(size_text, 8) else {
            return Err(invalid(format!(
                "archive entry {name:?} has size field {size_text:?}, not a number"
            )));
        };
        let kind = block[156];
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        if (kind == b'0' || kind == 0) && name.ends_with(".dat") {
            let mut head = vec![0u8; HEADER.min(size as usize)];
            if read_full(&mut r, &mut head).is_err() {
                return Ok(());
            }
            tensor_file(&name, &head, size, invalid)?;
            skip(&mut r, padded - head.len() as u64)?;
        } else {
            skip(&mut r, padded)?;
        }
        read = read.saturating_add(padded);
        if read > cap {
            return Err(Error::TooLarge {
                what: "the gzip'd NNEF archive, expanded,".into(),
                size: format!(
                    "more than {}",
                    edgerun_core::limits::human_bytes(cap.into())
                ),
                limit: edgerun_core::limits::human_bytes(cap.into()),
            });
        }
    }
}

/// Fill `buf`; false at a clean end of the stream before any byte.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<bool> {
    let mut at = 0;
    while at < buf.len() {
        match r.read(&mut buf[at..])? {
            0 if at == 0 => return Ok(false),
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => at += n,
        }
    }
    Ok(true)
}

fn skip(r: &mut impl Read, n: u64) -> Result<()> {
    // a short archive ends the walk; tract reports it
    let _ = std::io::copy(&mut r.take(n), &mut std::io::sink());
    Ok(())
}

/// One tensor file's header against the file's length and the size limit.
fn tensor_file(name: &str, head: &[u8], len: u64, invalid: &dyn Fn(String) -> Error) -> Result<()> {
    if head.len() < HEADER || head[..2] != [0x4e, 0xef] {
        return Err(invalid(format!(
            "tensor file {name:?} lacks the 128-byte NNEF tensor header"
        )));
    }
    let u32_at = |at: usize| u32::from_le_bytes(head[at..at + 4].try_into().expect("4 bytes"));
    let data = u64::from(u32_at(4));
    let rank = u32_at(8) as usize;
    if rank > 8 {
        return Err(invalid(format!(
            "tensor file {name:?} has rank {rank}, NNEF's largest is 8"
        )));
    }
    let dims: Vec<u64> = (0..rank).map(|k| u64::from(u32_at(12 + 4 * k))).collect();
    if data > len - HEADER as u64 {
        return Err(invalid(format!(
            "tensor file {name:?} says it holds {data} bytes of data but has {}",
            len - HEADER as u64
        )));
    }
    let bits = u128::from(u32_at(44)).max(1);
    let elements = dims
        .iter()
        .try_fold(1u128, |acc, &d| acc.checked_mul(u128::from(d)));
    let bytes = elements
        .and_then(|n| n.checked_mul(bits))
        .map(|b| b.div_ceil(8));
    let limit = edgerun_core::limits::max_tensor_bytes();
    if bytes.is_none_or(|b| b > u128::from(limit)) {
        return Err(Error::TooLarge {
            what: format!(
                "tensor file {name:?} of shape [{}], declared by the model,",
                shape_string(&dims)
            ),
            size: bytes.map_or_else(
                || "more than 2^128 bytes".into(),
                edgerun_core::limits::human_bytes,
            ),
            limit: edgerun_core::limits::human_bytes(limit.into()),
        });
    }
    Ok(())
}
