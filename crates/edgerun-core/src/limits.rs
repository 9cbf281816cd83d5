//! How large a tensor edgerun makes, and what a file must be before edgerun reads it.
//!
//! Shapes come from untrusted places: the command line, `.npy` headers, model files. A shape
//! that asks for terabytes must be an error that names it, not an allocation that aborts the
//! process. Every tensor edgerun allocates, and every shape it hands a backend, is checked
//! against one process-wide limit: by default half of the memory this process may use (the
//! machine's, or its control group's when that is smaller), 4 GiB when neither can be read.
//! [`set_max_tensor_bytes`] changes it (the CLI's `--max_tensor_mb`).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::dtype::DType;
use crate::error::{shape_string, Error, Result};

static LIMIT: AtomicU64 = AtomicU64::new(0);

/// The largest tensor, in bytes, edgerun will make or let a backend prepare.
pub fn max_tensor_bytes() -> u64 {
    match LIMIT.load(Ordering::Relaxed) {
        0 => default_max_tensor_bytes(),
        set => set,
    }
}

/// Set the tensor size limit for this process; 0 restores the default.
pub fn set_max_tensor_bytes(bytes: u64) {
    LIMIT.store(bytes, Ordering::Relaxed);
}

/// Half of the memory this process may use: the smaller of the machine's (`MemTotal`) and
/// its cgroup's (`memory.max`); 4 GiB when neither is known.
pub fn default_max_tensor_bytes() -> u64 {
    static DEFAULT: OnceLock<u64> = OnceLock::new();
    *DEFAULT.get_or_init(|| {
        let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kib| kib.saturating_mul(1024))
        });
        let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok());
        match (total, cgroup) {
            (Some(t), Some(c)) => t.min(c) / 2,
            (Some(m), None) | (None, Some(m)) => m / 2,
            (None, None) => 4 << 30,
        }
        .max(1)
    })
}

/// Bytes as a person reads them: `6.4 TB`, `512 MB`, `900 B`.
pub fn human_bytes(bytes: u128) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// The size in bytes of a tensor of `dtype` and `shape`, computed without overflow, or `None`
/// past `u128`.
pub fn tensor_bytes(dtype: DType, shape: &[usize]) -> Option<u128> {
    if shape.contains(&0) {
        return crate::tensor::element_count(shape).map(|_| 0);
    }
    shape.iter().try_fold(dtype.size_of() as u128, |acc, &d| {
        acc.checked_mul(d as u128)
    })
}

/// Check that a tensor `what` (e.g. `input "x"`) of `dtype` and `shape` fits the limit, and
/// return its element count.
///
/// # Errors
/// [`Error::TooLarge`] naming the tensor, its shape, its size and the limit.
pub fn check_tensor(what: &str, dtype: DType, shape: &[usize]) -> Result<usize> {
    let limit = max_tensor_bytes();
    let bytes = tensor_bytes(dtype, shape);
    match (bytes, crate::tensor::element_count(shape)) {
        (Some(b), Some(n)) if b <= u128::from(limit) => Ok(n),
        _ => Err(Error::TooLarge {
            what: format!("{what} of shape [{}] ({dtype})", shape_string(shape)),
            size: bytes.map_or_else(|| "more than 2^128 bytes".into(), human_bytes),
            limit: human_bytes(limit.into()),
        }),
    }
}

/// Check that `path` is a regular file (or a symbolic link to one) before it is read, and
/// return its length. `what` names it in errors (`model file`, `input file`).
///
/// # Errors
/// [`Error::FileNotFound`] when it does not exist, [`Error::NotAFile`] for a directory,
/// device, FIFO or socket, [`Error::Io`] when its metadata cannot be read.
pub fn regular_file(what: &'static str, path: &Path) -> Result<u64> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::FileNotFound {
                what,
                path: path.into(),
            })
        }
        Err(source) => {
            return Err(Error::Io {
                path: path.into(),
                source: source.into(),
            })
        }
    };
    if meta.is_file() {
        return Ok(meta.len());
    }
    Err(Error::NotAFile {
        what,
        path: path.into(),
        kind: file_kind(&meta),
    })
}

/// What a non-regular file is, in words.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_fifo() {
        "a FIFO (named pipe)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Read a whole regular file whose length is at most `max` bytes, failing cleanly (no
/// allocation) when it is longer.
///
/// # Errors
/// As [`regular_file`], and [`Error::TooLarge`] when the file is over `max` bytes.
pub fn read_file(what: &'static str, path: &Path, max: u64) -> Result<Vec<u8>> {
    let len = regular_file(what, path)?;
    if len > max {
        return Err(Error::TooLarge {
            what: format!("{what} {path:?}"),
            size: human_bytes(len.into()),
            limit: human_bytes(max.into()),
        });
    }
    let io = |source: std::io::Error| Error::Io {
        path: path.into(),
        source: source.into(),
    };
    let mut out = Vec::new();
    out.try_reserve_exact(len as usize)
        .map_err(|_| Error::OutOfMemory {
            what: format!("{what} {path:?}"),
            size: human_bytes(len.into()),
        })?;
    use std::io::Read;
    std::fs::File::open(path)
        .map_err(io)?
        .take(max.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(io)?;
    if out.len() as u64 > max {
        return Err(Error::TooLarge {
            what: format!("{what} {path:?}"),
            size: format!("more than {}", human_bytes(max.into())),
            limit: human_bytes(max.into()),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_computed_without_overflow_and_checked_against_the_limit() {
        assert_eq!(tensor_bytes(DType::F32, &[2, 3]), Some(24));
        assert_eq!(tensor_bytes(DType::I8, &[]), Some(1));
        assert_eq!(
            tensor_bytes(DType::I8, &[usize::MAX, usize::MAX]),
            Some((usize::MAX as u128) * (usize::MAX as u128))
        );
        // past 2^128 on 32- and 64-bit targets alike
        assert_eq!(tensor_bytes(DType::F64, &[usize::MAX; 5]), None);
        assert_eq!(human_bytes(900), "900 B");
        assert_eq!(human_bytes(6_400_000_000_000), "6.4 TB");

        let default = default_max_tensor_bytes();
        assert!(default >= 1 << 20, "{default}");
        // dimensions that fit a 32-bit usize too
        let e = check_tensor("input \"x\"", DType::F32, &[100_000, 1_000_000, 16]).unwrap_err();
        match &e {
            Error::TooLarge { what, size, limit } => {
                assert_eq!(what, "input \"x\" of shape [100000,1000000,16] (f32)");
                assert_eq!(size, "6.4 TB");
                assert_eq!(*limit, human_bytes(default.into()));
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(e.kind(), crate::ErrorKind::InvalidRequest);
        assert_eq!(check_tensor("t", DType::F32, &[0, usize::MAX]).unwrap(), 0);
        // a 0 makes no elements, but the other dimensions must multiply within range
        assert!(check_tensor("t", DType::F32, &[usize::MAX, 2, 0]).is_err());
        assert_eq!(check_tensor("t", DType::F32, &[7, 0, 9]).unwrap(), 0);
        assert_eq!(check_tensor("t", DType::U8, &[4, 4]).unwrap(), 16);
    }

    #[test]
    fn files_that_are_not_regular_are_named_for_what_they_are() {
        let e = regular_file("model file", Path::new("/dev/zero")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "model file \"/dev/zero\" is a character device, not a regular file; pass the \
             path of a file"
        );
        let e = regular_file("input file", Path::new("/")).unwrap_err();
        assert!(e.to_string().contains("is a directory"), "{e}");
        let e = regular_file("input file", Path::new("/no/such/input.npy")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "input file \"/no/such/input.npy\" not found; check the path (relative paths \
             start from the current directory)"
        );
        assert_eq!(e.kind(), crate::ErrorKind::Io);

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ten");
        std::fs::write(&file, [7u8; 10]).unwrap();
        assert_eq!(read_file("input file", &file, 10).unwrap(), [7u8; 10]);
        let e = read_file("input file", &file, 9).unwrap_err();
        assert!(
            e.to_string()
                .contains("needs 10 B, more than the limit of 9 B"),
            "{e}"
        );
    }
}
