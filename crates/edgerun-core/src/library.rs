//! Finding and checking the native libraries that run-time-loaded backends use: where to look
//! (explicit path, environment variable, usual names on the loader path) and, before the
//! loader sees a file, whether it is a shared library for this machine.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where a backend's library comes from.
#[derive(Debug, Clone, Copy)]
pub struct LibrarySpec {
    /// The backend's name (`tflite`).
    pub backend: &'static str,
    /// What the library is, for messages (`TensorFlow Lite C library`).
    pub library: &'static str,
    /// Environment variable naming the library's path.
    pub env: &'static str,
    /// Further variables tried, in order, when `env` is unset (another tool's own, such as
    /// ONNX Runtime's `ORT_DYLIB_PATH`).
    pub more_env: &'static [&'static str],
    /// Names tried on the loader path, in order.
    pub names: &'static [&'static str],
}

/// Why a library could not be used, as the backend's loader says it.
#[derive(Debug)]
pub enum LoadFailure {
    /// The loader failed: not found, not a shared object, missing dependency...
    Open(String),
    /// A function the backend needs is absent.
    MissingSymbol(&'static str),
}

/// What the system loader said: the message under a loading error (libloading's own says only
/// "dlopen failed" and keeps the loader's text as its source).
pub fn loader_message(e: &dyn std::error::Error) -> String {
    match e.source() {
        Some(src) => src.to_string(),
        None => e.to_string(),
    }
}

/// The ELF machine this program is built for.
fn host_machine() -> Option<(u16, &'static str)> {
    match std::env::consts::ARCH {
        "x86_64" => Some((62, "x86_64")),
        "aarch64" => Some((183, "aarch64")),
        "arm" => Some((40, "32-bit Arm")),
        "x86" => Some((3, "x86")),
        "riscv64" => Some((243, "riscv64")),
        _ => None,
    }
}

fn machine_name(m: u16) -> String {
    match m {
        3 => "x86".into(),
        40 => "32-bit Arm".into(),
        62 => "x86_64".into(),
        183 => "aarch64".into(),
        243 => "riscv64".into(),
        other => format!("ELF machine {other}"),
    }
}

/// Check that a file is a shared library for this machine before handing it to the loader
/// (which would otherwise say only "wrong ELF class" or nothing useful).
///
/// # Errors
/// [`Error::LibraryLoad`]: the file is missing, unreadable, not ELF, or built for another CPU.
pub fn check_elf(path: &Path) -> Result<()> {
    use std::io::Read;
    let fail = |reason: String| Error::LibraryLoad {
        path: path.into(),
        reason,
    };
    let mut head = Vec::with_capacity(20);
    let read = std::fs::File::open(path).and_then(|f| f.take(20).read_to_end(&mut head));
    match read {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail("the file does not exist".into()))
        }
        Err(e) => return Err(fail(e.to_string())),
    }
    if head.len() < 20 || &head[..4] != b"\x7fELF" {
        return Err(fail("it is not a shared library (no ELF header)".into()));
    }
    let machine = if head[5] == 2 {
        u16::from_be_bytes([head[18], head[19]])
    } else {
        u16::from_le_bytes([head[18], head[19]])
    };
    if let Some((host, host_name)) = host_machine() {
        if machine != host {
            return Err(fail(format!(
                "it is built for {}, but this program runs on {host_name}; install the {host_name} build of the library",
                machine_name(machine)
            )));
        }
    }
    Ok(())
}

fn loaded<T>(spec: &LibrarySpec, path: &Path, r: std::result::Result<T, LoadFailure>) -> Result<T> {
    r.map_err(|e| match e {
        LoadFailure::Open(reason) => Error::LibraryLoad {
            path: path.into(),
            reason,
        },
        LoadFailure::MissingSymbol(symbol) => Error::MissingSymbol {
            path: path.into(),
            library: spec.library.into(),
            symbol: symbol.into(),
        },
    })
}

/// Find and load a backend's library: the explicit path, else the file named by the
/// environment variable, else the usual names on the loader path. Files named by path are
/// checked with [`check_elf`] first. A library found on the loader path that fails to load is
/// reported, not skipped.
///
/// # Errors
/// [`Error::LibraryNotFound`] listing the places searched, [`Error::LibraryLoad`] or
/// [`Error::MissingSymbol`].
pub fn discover<T>(
    spec: &LibrarySpec,
    explicit: Option<&Path>,
    load: impl Fn(&Path) -> std::result::Result<T, LoadFailure>,
) -> Result<T> {
    if let Some(p) = explicit {
        check_elf(p)?;
        return loaded(spec, p, load(p));
    }
    let mut searched = Vec::new();
    for var in std::iter::once(&spec.env).chain(spec.more_env) {
        let Some(p) = std::env::var_os(var).filter(|v| !v.is_empty()) else {
            searched.push(format!("{var} (unset)"));
            continue;
        };
        let p = PathBuf::from(p);
        check_elf(&p).map_err(|e| match e {
            Error::LibraryLoad { path, reason } => Error::LibraryLoad {
                path,
                reason: format!("{reason} (named by {var})"),
            },
            other => other,
        })?;
        return loaded(spec, &p, load(&p));
    }
    for name in spec.names {
        let path = Path::new(name);
        match load(path) {
            Ok(lib) => return Ok(lib),
            Err(LoadFailure::Open(reason))
                if reason.contains("No such file")
                    || reason.contains("cannot open shared object") =>
            {
                searched.push(format!("{name} on the loader path"));
            }
            Err(e) => return loaded(spec, path, Err(e)),
        }
    }
    let ld = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    searched.push(format!(
        "(loader path: LD_LIBRARY_PATH={}, /etc/ld.so.cache, /lib, /usr/lib)",
        if ld.is_empty() { "unset" } else { &ld }
    ));
    Err(Error::LibraryNotFound {
        backend: spec.backend.into(),
        library: spec.library.into(),
        env: spec.env.into(),
        searched: searched.join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_check_names_the_problem() {
        let dir = std::env::temp_dir().join(format!("edgerun-elf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = dir.join("not_elf.so");
        std::fs::write(&text, b"hello, this is not a library at all").unwrap();
        let e = check_elf(&text).unwrap_err().to_string();
        assert!(e.contains("no ELF header"), "{e}");
        // an ELF header for another machine than this one
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[5] = 1;
        let other: u16 = if std::env::consts::ARCH == "aarch64" {
            62
        } else {
            183
        };
        elf[18..20].copy_from_slice(&other.to_le_bytes());
        let foreign = dir.join("foreign.so");
        std::fs::write(&foreign, &elf).unwrap();
        let e = check_elf(&foreign).unwrap_err().to_string();
        assert!(e.contains("built for") && e.contains("install the"), "{e}");
        let e = check_elf(&dir.join("absent.so")).unwrap_err().to_string();
        assert!(e.contains("does not exist"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn discovery_reports_what_was_searched() {
        let spec = LibrarySpec {
            backend: "demo",
            library: "demo library",
            env: "EDGERUN_TEST_NO_SUCH_VAR",
            more_env: &[],
            names: &["libedgerun_absent_a.so", "libedgerun_absent_b.so"],
        };
        let e = discover(&spec, None, |p| -> std::result::Result<(), _> {
            Err(LoadFailure::Open(format!(
                "{}: cannot open shared object file: No such file or directory",
                p.display()
            )))
        })
        .unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(&e, Error::LibraryNotFound { backend, .. } if backend == "demo"),
            "{e:?}"
        );
        assert!(
            text.contains("libedgerun_absent_b.so on the loader path")
                && text.contains("EDGERUN_TEST_NO_SUCH_VAR"),
            "{text}"
        );
        // found but unusable: reported with its reason, not skipped
        let e = discover(&spec, None, |_| -> std::result::Result<(), _> {
            Err(LoadFailure::MissingSymbol("demo_fn"))
        })
        .unwrap_err();
        assert!(matches!(e, Error::MissingSymbol { .. }), "{e:?}");
    }
}
