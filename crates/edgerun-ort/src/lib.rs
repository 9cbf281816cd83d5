//! The ONNX Runtime backend of edgerun, on the `ort` crate with its library loaded at run time.
//!
//! ONNX Runtime's shared library (`libonnxruntime.so`, shipped in the `onnxruntime` wheels for
//! x86_64 and aarch64) is opened at run time, never linked, never downloaded at build time.
//! Where it comes from, in order: an explicit path ([`OrtBackend::with_library`], setting
//! `ort_lib`), `EDGERUN_ORT_LIB`, ONNX Runtime's own `ORT_DYLIB_PATH`,
//! `lib/edgerun/libonnxruntime.so*` beside the executable's directory (a device bundle),
//! `/usr/lib/edgerun`, `onnxruntime/capi/libonnxruntime.so.*` in an installed `onnxruntime`
//! wheel (the active virtual environment, the user's, the system's site-packages), then
//! `libonnxruntime.so` and `libonnxruntime.so.1` on the loader path. Before `ort` sees a file,
//! edgerun checks its architecture, that it exports `OrtGetApiBase`, and that it serves the API
//! version `ort` needs (ONNX Runtime 1.17 or newer); `ort` would panic on the last.
//!
//! One process holds one ONNX Runtime library and one ONNX Runtime environment: the first
//! backend that loads one fixes it; a backend given no path later uses it, and one given
//! another path gets an error naming both.
//!
//! Each session owns an ONNX Runtime session with `threads` intra-op threads (the calling
//! thread is one of them) and one inter-op thread, the graph optimised at the chosen level
//! (all by default, as onnxruntime's Python API does). Inputs are handed to ONNX Runtime as
//! views of the caller's memory, without a copy; outputs are copied once into the caller's
//! tensors. Dynamic dimensions take any size at each run.

mod errors;
mod profile;
mod session;
mod sys;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use edgerun_core::backend::ModelInfo;
use edgerun_core::library::{discover, Found, LibrarySpec, LoadFailure, WheelLib};
use edgerun_core::settings::{self, Kind, Value};
use edgerun_core::{
    Availability, Backend, Descriptor, Error, ModelFormat, ModelSource, Options, Prepared, Result,
    Setting,
};

const NAME: &str = "ort";

/// Name and formats of the ONNX Runtime backend.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: NAME,
    formats: &[ModelFormat::Onnx],
    settings: SETTINGS,
    library_setting: Some("ort_lib"),
    not_automatic: &[],
};

/// Environment variable naming the ONNX Runtime library to load.
pub const ENV_VAR: &str = "EDGERUN_ORT_LIB";

/// Library names tried on the loader path when no path is given.
pub const LIBRARY_NAMES: &[&str] = &["libonnxruntime.so", "libonnxruntime.so.1"];

const SPEC: LibrarySpec = LibrarySpec {
    backend: NAME,
    library: "ONNX Runtime library (libonnxruntime.so)",
    env: ENV_VAR,
    more_env: &["ORT_DYLIB_PATH"],
    // the wheels and the device bundle carry the versioned file (libonnxruntime.so.1.31.1)
    files: &["libonnxruntime.so", "libonnxruntime.so.*"],
    wheels: &[WheelLib {
        package: "onnxruntime",
        file: "onnxruntime/capi/libonnxruntime.so.*",
    }],
    names: LIBRARY_NAMES,
};

/// The oldest ONNX Runtime release this backend runs with (its C API version).
pub fn min_version() -> String {
    format!("1.{}", ort::MINOR_VERSION)
}

const SETTINGS: &[Setting] = &[
    Setting {
        key: "ort_lib",
        kind: Kind::Path,
        help: "the ONNX Runtime library to load (default: $EDGERUN_ORT_LIB, $ORT_DYLIB_PATH, then lib/edgerun/ beside the executable, /usr/lib/edgerun, the onnxruntime Python package, libonnxruntime.so on the loader path)",
        default: None,
    },
    Setting {
        key: "ort_optimization",
        kind: Kind::Choice(Optimization::NAMES),
        help: "graph optimization level",
        default: Some("all"),
    },
    Setting {
        key: "ort_providers",
        kind: Kind::Text("NAME[:key=value;...][,NAME...]"),
        help: "execution providers before the CPU one, by ONNX Runtime's name, each with options: NAME[:key=value;key=value][,NAME...] (e.g. XNNPACK:intra_op_num_threads=2)",
        default: None,
    },
    Setting {
        key: "ort_provider_fallback",
        kind: Kind::Bool,
        help: "when a provider cannot be added, go on without it (noted in the model's notes) instead of failing",
        default: Some("false"),
    },
    Setting {
        key: "ort_known_faults",
        kind: Kind::Choice(edgerun_formats::onnx::KNOWN_FAULTS),
        help: "refuse (default): refuse a model using a construct ONNX Runtime computes wrongly (docs/onnx-node.md); allow: run it anyway",
        default: Some("refuse"),
    },
];

/// How far ONNX Runtime rewrites the graph before running it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Optimization {
    Disable,
    Basic,
    Extended,
    Layout,
    #[default]
    All,
}

impl Optimization {
    /// The levels' names, in order.
    pub const NAMES: &'static [&'static str] = &["disable", "basic", "extended", "layout", "all"];

    /// This level's name, as [`Optimization::parse`] takes it.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    /// Parse `disable`, `basic`, `extended`, `layout` or `all`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the accepted values.
    pub fn parse(s: &str) -> Result<Optimization> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "disable" | "none" | "0" => Optimization::Disable,
            "basic" | "1" => Optimization::Basic,
            "extended" | "2" => Optimization::Extended,
            "layout" | "3" => Optimization::Layout,
            "all" | "99" => Optimization::All,
            other => {
                return Err(Error::InvalidOption {
                    option: "ort_optimization".into(),
                    reason: format!(
                        "{other:?} is not a level; use disable, basic, extended, layout or all"
                    ),
                })
            }
        })
    }

    fn level(self) -> ort::session::builder::GraphOptimizationLevel {
        use ort::session::builder::GraphOptimizationLevel as L;
        match self {
            Optimization::Disable => L::Disable,
            Optimization::Basic => L::Level1,
            Optimization::Extended => L::Level2,
            Optimization::Layout => L::Level3,
            Optimization::All => L::All,
        }
    }
}

/// An execution provider asked for by name, with its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// The name ONNX Runtime's `SessionOptionsAppendExecutionProvider` takes (`XNNPACK`,
    /// `QNN`, `OpenVINO`, `SNPE`, `WEBGPU`...).
    pub name: String,
    pub options: Vec<(String, String)>,
}

/// Providers written as [`parse_providers`] reads them.
pub fn format_providers(providers: &[Provider]) -> String {
    providers
        .iter()
        .map(|p| {
            let options: Vec<String> = p.options.iter().map(|(k, v)| format!("{k}={v}")).collect();
            if options.is_empty() {
                p.name.clone()
            } else {
                format!("{}:{}", p.name, options.join(";"))
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Parse `NAME[:key=value;key=value][,NAME...]`.
///
/// # Errors
/// [`Error::InvalidOption`] for an empty name or an option without `=`.
pub fn parse_providers(s: &str) -> Result<Vec<Provider>> {
    let bad = |reason: String| Error::InvalidOption {
        option: "ort_providers".into(),
        reason,
    };
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, opts) = item.split_once(':').unwrap_or((item, ""));
        let name = name.trim();
        if name.is_empty() {
            return Err(bad(format!(
                "{item:?} has no provider name; write NAME[:key=value;...]"
            )));
        }
        let mut options = Vec::new();
        for kv in opts.split(';').map(str::trim).filter(|o| !o.is_empty()) {
            let Some((k, v)) = kv.split_once('=') else {
                return Err(bad(format!(
                    "option {kv:?} of provider {name} is not key=value"
                )));
            };
            options.push((k.trim().to_string(), v.trim().to_string()));
        }
        out.push(Provider {
            name: name.to_string(),
            options,
        });
    }
    Ok(out)
}

/// The ONNX Runtime backend's own options.
#[derive(Debug, Clone, PartialEq)]
pub struct OrtOptions {
    /// The library to load; `None`: discovery ([`ENV_VAR`], `ORT_DYLIB_PATH`, then
    /// [`LIBRARY_NAMES`]).
    pub library: Option<PathBuf>,
    pub optimization: Optimization,
    /// Execution providers tried before the CPU one, in order.
    pub providers: Vec<Provider>,
    /// A provider that cannot be added is skipped (and noted) instead of failing the load.
    pub provider_fallback: bool,
    /// Refuse models that use a construct ONNX Runtime is known to compute wrongly (default).
    pub refuse_known_faults: bool,
}

impl Default for OrtOptions {
    fn default() -> OrtOptions {
        OrtOptions {
            library: None,
            optimization: Optimization::default(),
            providers: Vec::new(),
            provider_fallback: false,
            refuse_known_faults: true,
        }
    }
}

/// The library this process loaded, and its one environment.
pub(crate) struct Loaded {
    pub path: PathBuf,
    /// Where discovery found it (the first backend's search, for later ones too).
    pub found: OnceLock<Found>,
    pub version: String,
    pub env: ort::environment::Environment,
    _library: libloading::Library,
}

/// The one library and environment of this process, once loaded.
static LOADED: Mutex<Option<Arc<Loaded>>> = Mutex::new(None);

/// Load `path` as this process's ONNX Runtime, or return the one already loaded from it.
fn load(path: &Path) -> std::result::Result<Arc<Loaded>, LoadFailure> {
    // one file named two ways (relative, through a symlink) is the same library
    let same = |a: &Path, b: &Path| {
        a == b
            || matches!((std::fs::canonicalize(a), std::fs::canonicalize(b)), (Ok(x), Ok(y)) if x == y)
    };
    let mut slot = LOADED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(l) = slot.as_ref() {
        if same(&l.path, path) {
            return Ok(l.clone());
        }
        // not even opened: a second ONNX Runtime in one process is never safe
        return Err(LoadFailure::Open(format!(
            "this process already runs ONNX Runtime {} from {:?}, and one process can hold one ONNX Runtime library; use that path or run another process",
            l.version, l.path
        )));
    }
    let checked = sys::check(path, ort::MINOR_VERSION)?;
    if !checked.serves_api {
        return Err(LoadFailure::Open(format!(
            "it is ONNX Runtime {}, which does not serve the C API of ONNX Runtime {} that edgerun needs; install ONNX Runtime {} or newer",
            checked.version,
            min_version(),
            min_version()
        )));
    }
    let env = ort::init_from(path)
        .map_err(|e| LoadFailure::Open(format!("ONNX Runtime refused to load it: {e}")))?
        .with_name("edgerun")
        .with_telemetry(false)
        .build()
        .map_err(|e| LoadFailure::Open(format!("cannot create ONNX Runtime's environment: {e}")))?;
    let loaded = Arc::new(Loaded {
        path: path.to_path_buf(),
        found: OnceLock::new(),
        version: checked.version,
        env,
        _library: checked.library,
    });
    *slot = Some(loaded.clone());
    Ok(loaded)
}

/// The ONNX Runtime backend.
#[derive(Default)]
pub struct OrtBackend {
    options: OrtOptions,
    loaded: OnceLock<Arc<Loaded>>,
}

impl OrtBackend {
    /// Library found by discovery, every option at its default.
    pub fn new() -> OrtBackend {
        OrtBackend::default()
    }

    /// A backend with all its options given at once.
    pub fn with_options(options: OrtOptions) -> OrtBackend {
        OrtBackend {
            options,
            loaded: OnceLock::new(),
        }
    }

    /// Load ONNX Runtime from this path instead of searching.
    pub fn with_library(mut self, path: impl Into<PathBuf>) -> OrtBackend {
        self.options.library = Some(path.into());
        self.loaded = OnceLock::new();
        self
    }

    pub fn with_optimization(mut self, level: Optimization) -> OrtBackend {
        self.options.optimization = level;
        self
    }

    /// Execution providers to add before the CPU one.
    pub fn with_providers(mut self, providers: Vec<Provider>, fallback: bool) -> OrtBackend {
        self.options.providers = providers;
        self.options.provider_fallback = fallback;
        self
    }

    pub fn options(&self) -> &OrtOptions {
        &self.options
    }

    /// Load (once) and return the path of the library in use.
    ///
    /// # Errors
    /// [`Error::LibraryNotFound`] (with the places searched), [`Error::LibraryLoad`] (wrong
    /// architecture, too old, another library already loaded) or [`Error::MissingSymbol`].
    pub fn library(&self) -> Result<PathBuf> {
        Ok(self.loaded()?.path.clone())
    }

    fn loaded(&self) -> Result<Arc<Loaded>> {
        if let Some(l) = self.loaded.get() {
            return Ok(l.clone());
        }
        // without a path of its own, a backend uses the library this process already runs
        let current = LOADED.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let l = match (&self.options.library, current) {
            (None, Some(l)) => l,
            _ => {
                let (l, found) = discover(&SPEC, self.options.library.as_deref(), load)?.split();
                // the first discovery of this process's library says where it came from
                let _ = l.found.set(found);
                l
            }
        };
        Ok(self.loaded.get_or_init(|| l).clone())
    }
}

impl Backend for OrtBackend {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn set(&mut self, key: &str, value: Value) -> Result<()> {
        let o = &mut self.options;
        match (key, value) {
            ("ort_lib", Value::Path(p)) => {
                o.library = Some(p);
                self.loaded = OnceLock::new();
            }
            ("ort_optimization", Value::Choice(level)) => {
                o.optimization = Optimization::parse(level)?
            }
            ("ort_providers", Value::Text(t)) => o.providers = parse_providers(&t)?,
            ("ort_provider_fallback", Value::Bool(b)) => o.provider_fallback = b,
            ("ort_known_faults", Value::Choice(w)) => o.refuse_known_faults = w == "refuse",
            (key, _) => return Err(settings::unknown(&DESCRIPTOR, key)),
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<Value> {
        let o = &self.options;
        match key {
            "ort_lib" => o.library.clone().map(Value::Path),
            "ort_optimization" => Some(Value::Choice(o.optimization.name())),
            "ort_providers" => Some(Value::Text(format_providers(&o.providers))),
            "ort_provider_fallback" => Some(Value::Bool(o.provider_fallback)),
            "ort_known_faults" => Some(Value::Choice(if o.refuse_known_faults {
                "refuse"
            } else {
                "allow"
            })),
            _ => None,
        }
    }

    fn availability(&self) -> Availability {
        match self.loaded() {
            Ok(l) => Availability::Available {
                detail: format!(
                    "ONNX Runtime {} from {}, providers: {}",
                    l.version,
                    l.found
                        .get()
                        .map_or_else(|| l.path.display().to_string(), |f| f.to_string()),
                    session::available_providers().join(", ")
                ),
            },
            Err(e) => Availability::Unavailable {
                reason: e.to_string(),
            },
        }
    }

    fn version(&self) -> Option<String> {
        self.loaded().ok().map(|l| l.version.clone())
    }

    fn found_library(&self) -> Option<Found> {
        self.loaded().ok()?.found.get().cloned()
    }

    fn prepare(&self, source: &ModelSource, options: &Options) -> Result<Box<dyn Prepared>> {
        if source.format() != ModelFormat::Onnx {
            return Err(Error::UnsupportedFormat {
                backend: NAME.into(),
                format: source.format(),
            });
        }
        let loaded = self.loaded()?;
        session::prepare(loaded, source, options, &self.options)
    }

    fn inspect(&self, source: &ModelSource) -> Result<ModelInfo> {
        let prepared = self.prepare(source, &Options::new())?;
        Ok(ModelInfo {
            inputs: prepared.inputs().to_vec(),
            outputs: prepared.outputs().to_vec(),
            output_shapes_known: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn providers_parse_with_their_options() {
        let p = parse_providers("XNNPACK:intra_op_num_threads=2; x = y ,QNN").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].name, "XNNPACK");
        assert_eq!(
            p[0].options,
            vec![
                ("intra_op_num_threads".to_string(), "2".to_string()),
                ("x".to_string(), "y".to_string())
            ]
        );
        assert_eq!(p[1].name, "QNN");
        assert!(p[1].options.is_empty());
        let e = parse_providers("XNNPACK:threads").unwrap_err().to_string();
        assert!(e.contains("not key=value"), "{e}");
        let e = parse_providers(":a=b").unwrap_err().to_string();
        assert!(e.contains("no provider name"), "{e}");
    }

    #[test]
    fn optimization_levels_parse() {
        assert_eq!(Optimization::parse("ALL").unwrap(), Optimization::All);
        assert_eq!(Optimization::parse("basic").unwrap(), Optimization::Basic);
        let e = Optimization::parse("max").unwrap_err().to_string();
        assert!(e.contains("disable, basic, extended, layout or all"), "{e}");
    }

    #[test]
    fn no_api_feature_raises_the_oldest_release() {
        // ort without an api-NN feature asks for C API 17: ONNX Runtime 1.17 and newer load
        assert_eq!(min_version(), "1.17");
    }
}
