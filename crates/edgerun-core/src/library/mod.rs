//! Finding and checking the native libraries that run-time-loaded backends use: where to look
//! (explicit path, environment variable, a directory shipped beside the executable, edgerun's
//! system directory, the engine inside an installed Python wheel, the usual names on the
//! loader path) and, before the loader sees a file, whether it is a shared library for this
//! machine.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

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
    /// File names looked for in the bundle and system directories, in order; a trailing `*`
    /// matches a version suffix (`libonnxruntime.so.*`), the highest version first.
    pub files: &'static [&'static str],
    /// The library inside Python wheels that ship it, looked for in site-packages.
    pub wheels: &'static [WheelLib],
    /// Names tried on the loader path, in order.
    pub names: &'static [&'static str],
}

/// An engine library that a Python package installs into site-packages.
#[derive(Debug, Clone, Copy)]
pub struct WheelLib {
    /// The package's name on PyPI (`ai-edge-litert`).
    pub package: &'static str,
    /// Path below site-packages; a trailing `*` matches a version suffix.
    pub file: &'static str,
}

/// edgerun's system library directory, searched after the one beside the executable: where a
/// distribution or a Yocto recipe installs the engines for every program on the board.
pub const SYSTEM_DIR: &str = "/usr/lib/edgerun";

/// The library directory of a bundle, relative to the parent of the directory holding the
/// executable: `bin/edgerun` finds its engines in `lib/edgerun/`.
pub const BUNDLE_DIR: &str = "lib/edgerun";

/// The directory holding the shared library edgerun runs in, when a binding built as one (the
/// C API's `libedgerun.so`) has said where it is: its `edgerun/` directory, as a bundle lays it
/// out (`lib/libedgerun.so` -> `lib/edgerun/`), is searched after the one beside the
/// executable. A C application's executable is its own, not edgerun's, so the executable's
/// bundle directory rarely holds the engines that came with the library.
static LIBRARY_HOME: OnceLock<PathBuf> = OnceLock::new();

/// Records the directory of the shared library edgerun is part of (see [`Places::library`]);
/// the first call wins, as the library cannot move while it is loaded.
pub fn set_library_home(dir: PathBuf) {
    let _ = LIBRARY_HOME.set(dir);
}

/// Where a library was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The path the application (or a setting, or a flag) gave.
    Explicit,
    /// The path an environment variable named.
    Env(&'static str),
    /// The library directory shipped beside the executable (`bin/edgerun` -> `lib/edgerun/`).
    Bundle(PathBuf),
    /// The library directory shipped beside `libedgerun.so` (`lib/libedgerun.so` ->
    /// `lib/edgerun/`).
    BesideLibrary(PathBuf),
    /// edgerun's system library directory ([`SYSTEM_DIR`]).
    SystemDir(PathBuf),
    /// Inside an installed Python package.
    Wheel {
        package: &'static str,
        /// Which installation: the active virtual environment, the user's, the system's.
        place: String,
    },
    /// The system loader's search (`LD_LIBRARY_PATH`, `/etc/ld.so.cache`, `/lib`, `/usr/lib`).
    LoaderPath,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Explicit => write!(f, "given explicitly"),
            Origin::Env(var) => write!(f, "named by {var}"),
            Origin::Bundle(dir) => write!(f, "bundled beside the executable, in {}", dir.display()),
            Origin::BesideLibrary(dir) => {
                write!(f, "bundled beside libedgerun.so, in {}", dir.display())
            }
            Origin::SystemDir(dir) => write!(f, "in edgerun's system directory {}", dir.display()),
            Origin::Wheel { package, place } => {
                write!(f, "in the Python package {package}, {place}")
            }
            Origin::LoaderPath => write!(f, "on the loader path"),
        }
    }
}

/// A library found and loaded, with where it came from and what was passed over before it.
#[derive(Debug)]
pub struct Located<T> {
    pub lib: T,
    pub path: PathBuf,
    pub origin: Origin,
    /// Candidates found earlier in the search but not usable, each with the reason (a library
    /// for another CPU in site-packages, say).
    pub skipped: Vec<String>,
}

impl<T> Located<T> {
    /// The library, and the record of where it was found.
    pub fn split(self) -> (T, Found) {
        (
            self.lib,
            Found {
                path: self.path,
                origin: self.origin,
                skipped: self.skipped,
            },
        )
    }
}

/// Where a backend's library was found, for `edgerun info` and the dispatcher's explanation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub origin: Origin,
    /// Files passed over before it, each with the reason.
    pub skipped: Vec<String>,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.path.display(), self.origin)?;
        for s in &self.skipped {
            write!(f, "; {s}")?;
        }
        Ok(())
    }
}

/// Why a library could not be used, as the backend's loader says it.
#[derive(Debug)]
pub enum LoadFailure {
    /// The loader failed: not found, not a shared object, missing dependency...
    Open(String),
    /// A function the backend needs is absent.
    MissingSymbol(&'static str),
}

impl fmt::Display for LoadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadFailure::Open(reason) => f.write_str(reason),
            LoadFailure::MissingSymbol(symbol) => write!(f, "it lacks the function {symbol}"),
        }
    }
}

/// One Python installation whose site-packages are searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonPlace {
    /// What it is, for messages (`the active virtual environment`).
    pub what: String,
    /// Its `lib` directory, holding `python3.N/site-packages` or `python3/dist-packages`.
    pub lib_dir: PathBuf,
}

/// The places searched between the environment variables and the loader path. Read from the
/// process ([`Places::from_env`]) or given, so that tests can lay out their own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Places {
    /// `lib/edgerun/` beside the executable's `bin/`, when the executable's path is known.
    pub bundle: Option<PathBuf>,
    /// `edgerun/` beside `libedgerun.so`, when edgerun runs as that library
    /// ([`set_library_home`]).
    pub library: Option<PathBuf>,
    /// edgerun's system directory ([`SYSTEM_DIR`]).
    pub system: Option<PathBuf>,
    /// Python installations, in the order searched.
    pub python: Vec<PythonPlace>,
}

impl Places {
    /// This process's places: the bundle directory beside its executable, [`SYSTEM_DIR`], and
    /// the Python installations a `pip install` on the device writes to: the active virtual
    /// environment (`$VIRTUAL_ENV`), the user's (`$PYTHONUSERBASE`, else `~/.local`), then the
    /// system's (`/usr/local/lib`, `/usr/lib`). Python itself is never run.
    pub fn from_env() -> Places {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        // `<prefix>/bin/edgerun` -> `<prefix>/lib/edgerun` (the kernel resolves the link a
        // program was started through, so a link elsewhere still finds its bundle)
        let bundle = std::env::current_exe().ok().and_then(|exe| {
            let prefix = exe.parent()?.parent()?;
            Some(prefix.join(BUNDLE_DIR))
        });
        let mut python = Vec::new();
        if let Some(venv) = var("VIRTUAL_ENV") {
            python.push(PythonPlace {
                what: format!("the active virtual environment {}", venv.display()),
                lib_dir: venv.join("lib"),
            });
        }
        if let Some(base) = var("PYTHONUSERBASE").or_else(|| var("HOME").map(|h| h.join(".local")))
        {
            python.push(PythonPlace {
                what: format!("the user's packages {}", base.display()),
                lib_dir: base.join("lib"),
            });
        }
        for prefix in ["/usr/local", "/usr"] {
            python.push(PythonPlace {
                what: format!("the system's packages {prefix}"),
                lib_dir: Path::new(prefix).join("lib"),
            });
        }
        Places {
            bundle,
            library: LIBRARY_HOME.get().map(|d| d.join("edgerun")),
            system: Some(PathBuf::from(SYSTEM_DIR)),
            python,
        }
    }
}

/// The version in a file name's suffix after `prefix` (`1.31.1` in `libonnxruntime.so.1.31.1`),
/// as numbers, for ordering; `None` when the suffix is not dotted numbers.
fn version_suffix(name: &str, prefix: &str) -> Option<Vec<u64>> {
    let rest = name.strip_prefix(prefix)?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    rest.split('.').map(|p| p.parse().ok()).collect()
}

/// Files in `dir` matching `pattern` (a name, or a name ending in `*` before a version
/// suffix), the highest version first.
fn matching(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let Some(prefix) = pattern.strip_suffix('*') else {
        let p = dir.join(pattern);
        return if p.exists() { vec![p] } else { Vec::new() };
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let v = version_suffix(&name, prefix).filter(|v| !v.is_empty())?;
            Some((v, e.path()))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0));
    found.into_iter().map(|(_, p)| p).collect()
}

/// The site-packages directories of one Python installation: `python3.N/site-packages` and
/// `python3.N/dist-packages`, the newest Python first, then Debian's `python3/dist-packages`.
fn site_dirs(lib_dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(lib_dir) else {
        return Vec::new();
    };
    let mut pythons: Vec<(Vec<u64>, PathBuf)> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let v = match name.strip_prefix("python3") {
                Some("") => vec![3],
                Some(minor) => vec![3, minor.strip_prefix('.')?.parse().ok()?, 1],
                None => return None,
            };
            Some((v, e.path()))
        })
        .collect();
    pythons.sort_by(|a, b| b.0.cmp(&a.0));
    pythons
        .into_iter()
        .flat_map(|(_, p)| [p.join("site-packages"), p.join("dist-packages")])
        .filter(|p| p.is_dir())
        .collect()
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

/// Find and load a backend's library from this process's places ([`Places::from_env`]); see
/// [`discover_in`].
///
/// # Errors
/// As [`discover_in`].
pub fn discover<T>(
    spec: &LibrarySpec,
    explicit: Option<&Path>,
    load: impl Fn(&Path) -> std::result::Result<T, LoadFailure>,
) -> Result<Located<T>> {
    discover_in(spec, explicit, &Places::from_env(), load)
}

/// The library an environment variable names, loaded: the first variable set wins, and its
/// failure is the error (the user chose that file). Unset variables are noted as searched.
#[allow(clippy::type_complexity)]
fn from_env<T>(
    spec: &LibrarySpec,
    load: &impl Fn(&Path) -> std::result::Result<T, LoadFailure>,
    searched: &mut Vec<String>,
) -> Result<Option<(T, PathBuf, &'static str)>> {
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
        return Ok(Some((loaded(spec, &p, load(&p))?, p, var)));
    }
    Ok(None)
}

/// Every file that may be the library in the bundle and system directories and the Python
/// packages, with its origin, in the order searched; each place is noted as searched.
fn candidates(
    spec: &LibrarySpec,
    places: &Places,
    searched: &mut Vec<String>,
) -> Vec<(PathBuf, Origin)> {
    let mut candidates: Vec<(PathBuf, Origin)> = Vec::new();
    let dirs = [
        places
            .bundle
            .as_ref()
            .map(|d| (d, Origin::Bundle(d.clone()), "beside the executable")),
        places
            .library
            .as_ref()
            .filter(|d| places.bundle.as_ref() != Some(*d))
            .map(|d| (d, Origin::BesideLibrary(d.clone()), "beside libedgerun.so")),
        places.system.as_ref().map(|d| {
            (
                d,
                Origin::SystemDir(d.clone()),
                "edgerun's system directory",
            )
        }),
    ];
    for (dir, origin, what) in dirs.into_iter().flatten() {
        if spec.files.is_empty() {
            continue;
        }
        searched.push(format!(
            "{} ({what})",
            dir.join(spec.files.join("|")).display()
        ));
        for pattern in spec.files {
            for p in matching(dir, pattern) {
                candidates.push((p, origin.clone()));
            }
        }
    }
    if !spec.wheels.is_empty() {
        let files: Vec<&str> = spec.wheels.iter().map(|w| w.file).collect();
        for place in &places.python {
            searched.push(format!(
                "{}/python3*/{{site,dist}}-packages/{} ({})",
                place.lib_dir.display(),
                files.join("|"),
                place.what
            ));
            for site in site_dirs(&place.lib_dir) {
                for w in spec.wheels {
                    let (sub, name) = match w.file.rsplit_once('/') {
                        Some((sub, name)) => (site.join(sub), name),
                        None => (site.clone(), w.file),
                    };
                    for p in matching(&sub, name) {
                        let origin = Origin::Wheel {
                            package: w.package,
                            place: format!("{} ({})", site.display(), place.what),
                        };
                        candidates.push((p, origin));
                    }
                }
            }
        }
    }
    candidates
}

/// The first candidate that is a library for this CPU and loads; the others, with why.
fn first_loadable<T>(
    candidates: Vec<(PathBuf, Origin)>,
    load: &impl Fn(&Path) -> std::result::Result<T, LoadFailure>,
    skipped: &mut Vec<String>,
) -> Option<(T, PathBuf, Origin)> {
    for (path, origin) in candidates {
        // another CPU's build is never handed to the loader
        if let Err(e) = check_elf(&path) {
            let reason = match e {
                Error::LibraryLoad { reason, .. } => reason,
                other => other.to_string(),
            };
            skipped.push(format!("{} skipped: {reason}", path.display()));
            continue;
        }
        match load(&path) {
            Ok(lib) => return Some((lib, path, origin)),
            Err(e) => skipped.push(format!("{} skipped: {e}", path.display())),
        }
    }

    None
}

/// Find and load a backend's library. In order: the explicit path; the file named by the
/// environment variables; the bundle directory beside the executable; edgerun's system
/// directory; the engine inside installed Python wheels; the usual names on the loader path.
///
/// A path given explicitly or by a variable is the user's choice: when it is unusable that is
/// the error. A file found in a directory (bundle, system, site-packages) is checked with
/// [`check_elf`] before the loader sees it; one for another CPU, or one the backend cannot
/// load, is passed over with its reason, which the result (or the not-found error) keeps. A
/// library found on the loader path that fails to load is reported, not passed over.
///
/// # Errors
/// [`Error::LibraryNotFound`] listing every place searched and every file passed over,
/// [`Error::LibraryLoad`] or [`Error::MissingSymbol`].
pub fn discover_in<T>(
    spec: &LibrarySpec,
    explicit: Option<&Path>,
    places: &Places,
    load: impl Fn(&Path) -> std::result::Result<T, LoadFailure>,
) -> Result<Located<T>> {
    let found = |lib, path: &Path, origin, skipped| Located {
        lib,
        path: path.to_path_buf(),
        origin,
        skipped,
    };
    if let Some(p) = explicit {
        check_elf(p)?;
        return Ok(found(
            loaded(spec, p, load(p))?,
            p,
            Origin::Explicit,
            Vec::new(),
        ));
    }
    let mut searched = Vec::new();
    if let Some((lib, p, var)) = from_env(spec, &load, &mut searched)? {
        return Ok(found(lib, &p, Origin::Env(var), Vec::new()));
    }

    let candidates = candidates(spec, places, &mut searched);
    let mut skipped = Vec::new();
    if let Some((lib, path, origin)) = first_loadable(candidates, &load, &mut skipped) {
        return Ok(found(lib, &path, origin, skipped));
    }

    for name in spec.names {
        let path = Path::new(name);
        match load(path) {
            Ok(lib) => return Ok(found(lib, path, Origin::LoaderPath, skipped)),
            Err(LoadFailure::Open(reason))
                if reason.contains("No such file")
                    || reason.contains("cannot open shared object") =>
            {
                searched.push(format!("{name} on the loader path"));
            }
            Err(e) => {
                return loaded(spec, path, Err(e))
                    .map(|lib| found(lib, path, Origin::LoaderPath, skipped))
            }
        }
    }
    let ld = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    searched.push(format!(
        "(loader path: LD_LIBRARY_PATH={}, /etc/ld.so.cache, /lib, /usr/lib)",
        if ld.is_empty() { "unset" } else { &ld }
    ));
    searched.extend(skipped);
    Err(Error::LibraryNotFound {
        backend: spec.backend.into(),
        library: spec.library.into(),
        env: spec.env.into(),
        searched: searched.join(", "),
    })
}

#[cfg(test)]
mod tests;
