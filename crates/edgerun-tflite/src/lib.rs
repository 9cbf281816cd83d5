//! The TensorFlow Lite backend of edgerun.
//!
//! The TFLite C library (`libtensorflowlite_c.so`) is loaded at run time, never linked: one
//! binary runs on boards with and without it, and cross-compiling needs no TFLite at all.
//! Loading goes through the `edgefirst-tflite` crate (libloading underneath); every C function
//! edgerun calls is checked to be present before the first call ([`sys::REQUIRED_SYMBOLS`]).
//! `tflitec`, the better-known binding, links TFLite at build time, builds TensorFlow with Bazel
//! over the network, and cannot attach an external delegate, so it does not fit a runtime that
//! must work on whatever a board ships.
//!
//! Where the library comes from, in order: an explicit path ([`TfLiteBackend::with_library`],
//! CLI `--tflite_lib`), the `EDGERUN_TFLITE_LIB` environment variable, then the usual names on
//! the loader path ([`LIBRARY_NAMES`]).
//!
//! Delegates: XNNPACK (on by default, with the session's thread count) and one external
//! delegate plugin (`tflite_plugin_create_delegate`, options in benchmark_model's
//! `key1:value1;key2:value2` syntax, passed in the given order). With
//! [`TfLiteBackend::with_delegate_fallback`] a delegate that fails to load or to apply is
//! dropped and the model runs on the CPU, with a note saying so.
//!
//! Model files are untrusted: before TFLite sees a file, [`flatbuf::parse`] checks every
//! offset, index and constant buffer size in it.

pub mod flatbuf;
mod sys;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use edgerun_core::backend::ModelInfo;
use edgerun_core::error::shape_string;
use edgerun_core::{
    Availability, Backend, DType, Data, DelegateReport, Dim, Error, ModelFormat, ModelSource,
    Options, Prepared, Quant, Result, Session, Tensor, TensorInfo,
};

pub use sys::REQUIRED_SYMBOLS;

const NAME: &str = "tflite";
const LIBRARY: &str = "TensorFlow Lite C library";

/// Environment variable naming the TFLite C library to load.
pub const ENV_VAR: &str = "EDGERUN_TFLITE_LIB";

/// Library names tried on the loader path when no path is given.
pub const LIBRARY_NAMES: &[&str] = &[
    "libtensorflowlite_c.so",
    "libtensorflowlite_c.so.2",
    "libtensorflow-lite.so",
];

/// The first TFLite release edgerun trusts with per-channel quantized FULLY_CONNECTED weights.
/// 2.6 runs such models without an error and returns a constant output; releases in between
/// are refused too, to be safe.
pub const PER_CHANNEL_FC_SINCE: (u32, u32) = (2, 15);

/// An external delegate plugin and its options, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalDelegate {
    pub path: PathBuf,
    pub options: Vec<(String, String)>,
}

/// Parse delegate options in benchmark_model's syntax: `key1:value1;key2:value2`. Order is
/// kept; an empty string gives no options.
///
/// # Errors
/// [`Error::InvalidOption`] for an entry without `:` or with an empty key.
pub fn parse_delegate_options(text: &str) -> Result<Vec<(String, String)>> {
    text.split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|entry| match entry.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(Error::InvalidOption {
                option: "external delegate options".into(),
                reason: format!(
                    "{entry:?} is not key:value; write them as key1:value1;key2:value2"
                ),
            }),
        })
        .collect()
}

/// Delegate plugins `edgerun info` looks for: the Arm NN delegate, Arm's Ethos-U delegate,
/// NXP's VX delegate (i.MX 8 NPU), Qualcomm's QNN delegate.
pub const KNOWN_DELEGATES: &[&str] = &[
    "libarmnnDelegate.so",
    "libethosu_delegate.so",
    "libvx_delegate.so",
    "libQnnTFLiteDelegate.so",
];

/// Directories searched for [`KNOWN_DELEGATES`], after `LD_LIBRARY_PATH` and the directory of
/// the TFLite library in use.
pub const DELEGATE_DIRS: &[&str] = &[
    "/opt/tflite",
    "/usr/local/lib",
    "/usr/lib",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib/arm-linux-gnueabihf",
    "/usr/lib/x86_64-linux-gnu",
];

/// The TensorFlow Lite backend.
pub struct TfLiteBackend {
    library: Option<PathBuf>,
    xnnpack: bool,
    external: Option<ExternalDelegate>,
    fallback: bool,
    api: OnceLock<Arc<sys::Api>>,
}

impl Default for TfLiteBackend {
    fn default() -> TfLiteBackend {
        TfLiteBackend::new()
    }
}

impl TfLiteBackend {
    /// Library found by discovery, XNNPACK on, no external delegate, no fallback.
    pub fn new() -> TfLiteBackend {
        TfLiteBackend {
            library: None,
            xnnpack: true,
            external: None,
            fallback: false,
            api: OnceLock::new(),
        }
    }

    /// Load the TFLite C library from this path instead of searching.
    pub fn with_library(mut self, path: impl Into<PathBuf>) -> TfLiteBackend {
        self.library = Some(path.into());
        self
    }

    /// Use TFLite's XNNPACK delegate (default: on), as benchmark_model's `--use_xnnpack`.
    pub fn with_xnnpack(mut self, on: bool) -> TfLiteBackend {
        self.xnnpack = on;
        self
    }

    /// Attach an external delegate plugin to every interpreter.
    pub fn with_external_delegate(
        mut self,
        path: impl Into<PathBuf>,
        options: Vec<(String, String)>,
    ) -> TfLiteBackend {
        self.external = Some(ExternalDelegate {
            path: path.into(),
            options,
        });
        self
    }

    /// Run on the CPU when a delegate cannot be loaded or applied, instead of failing.
    pub fn with_delegate_fallback(mut self, on: bool) -> TfLiteBackend {
        self.fallback = on;
        self
    }

    /// Load (once) and return the library: path and `TfLiteVersion()`.
    ///
    /// # Errors
    /// [`Error::LibraryNotFound`] (with the places searched), [`Error::LibraryLoad`] (wrong
    /// architecture, not a shared library) or [`Error::MissingSymbol`].
    pub fn library(&self) -> Result<(PathBuf, String)> {
        let api = self.api()?;
        Ok((api.path().to_path_buf(), api.version().to_string()))
    }

    fn api(&self) -> Result<Arc<sys::Api>> {
        if let Some(api) = self.api.get() {
            return Ok(api.clone());
        }
        let api = Arc::new(discover(self.library.as_deref())?);
        Ok(self.api.get_or_init(|| api).clone())
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

/// Check a file is a shared library for this machine before handing it to the loader.
fn check_elf(path: &Path) -> Result<()> {
    let fail = |reason: String| Error::LibraryLoad {
        path: path.into(),
        reason,
    };
    let head = std::fs::read(path).map(|b| b.into_iter().take(20).collect::<Vec<u8>>());
    let head = match head {
        Ok(h) => h,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(fail("the file does not exist".into()))
        }
        Err(e) => return Err(fail(e.to_string())),
    };
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

fn load(path: &Path) -> Result<sys::Api> {
    sys::Api::load(path).map_err(|e| match e {
        sys::LoadError::Open(reason) => Error::LibraryLoad {
            path: path.into(),
            reason,
        },
        sys::LoadError::MissingSymbol(symbol) => Error::MissingSymbol {
            path: path.into(),
            library: LIBRARY.into(),
            symbol: symbol.into(),
        },
    })
}

/// Explicit path, then `EDGERUN_TFLITE_LIB`, then the usual names on the loader path.
fn discover(explicit: Option<&Path>) -> Result<sys::Api> {
    if let Some(p) = explicit {
        check_elf(p)?;
        return load(p);
    }
    if let Some(p) = std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        let p = PathBuf::from(p);
        check_elf(&p).map_err(|e| match e {
            Error::LibraryLoad { path, reason } => Error::LibraryLoad {
                path,
                reason: format!("{reason} (named by {ENV_VAR})"),
            },
            other => other,
        })?;
        return load(&p);
    }
    let mut searched = vec![format!("{ENV_VAR} (unset)")];
    for name in LIBRARY_NAMES {
        match sys::Api::load(Path::new(name)) {
            Ok(api) => return Ok(api),
            Err(sys::LoadError::MissingSymbol(symbol)) => {
                return Err(Error::MissingSymbol {
                    path: name.into(),
                    library: LIBRARY.into(),
                    symbol: symbol.into(),
                })
            }
            Err(sys::LoadError::Open(reason)) => {
                // a library that exists but fails to load is reported, not skipped
                if !reason.contains("No such file") && !reason.contains("cannot open shared object")
                {
                    return Err(Error::LibraryLoad {
                        path: name.into(),
                        reason,
                    });
                }
                searched.push(format!("{name} on the loader path"));
            }
        }
    }
    let ld = std::env::var("LD_LIBRARY_PATH").unwrap_or_default();
    searched.push(format!(
        "(loader path: LD_LIBRARY_PATH={}, /etc/ld.so.cache, /lib, /usr/lib)",
        if ld.is_empty() { "unset" } else { &ld }
    ));
    Err(Error::LibraryNotFound {
        library: LIBRARY.into(),
        searched: searched.join(", "),
    })
}

/// `major.minor` of a version string such as `2.6.0`.
fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split(['.', '-']);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

impl Backend for TfLiteBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    fn availability(&self) -> Availability {
        match self.api() {
            Ok(api) => Availability::Available {
                detail: format!(
                    "TensorFlow Lite {} from {}{}",
                    api.version(),
                    api.path().display(),
                    if api.has_xnnpack() {
                        ", with XNNPACK"
                    } else {
                        ""
                    }
                ),
            },
            Err(e) => Availability::Unavailable {
                reason: e.to_string(),
            },
        }
    }

    fn formats(&self) -> &'static [ModelFormat] {
        &[ModelFormat::TfLite]
    }

    fn version(&self) -> Option<String> {
        self.api().ok().map(|a| a.version().to_string())
    }

    fn library_path(&self) -> Option<PathBuf> {
        self.api().ok().map(|a| a.path().to_path_buf())
    }

    fn delegates(&self) -> Vec<DelegateReport> {
        let mut reports = Vec::new();
        if let Some(ext) = &self.external {
            reports.push(check_plugin(&ext.path, true));
        }
        let mut dirs: Vec<PathBuf> = std::env::var("LD_LIBRARY_PATH")
            .unwrap_or_default()
            .split(':')
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .collect();
        if let Some(dir) = self
            .library_path()
            .and_then(|p| p.parent().map(Path::to_path_buf))
        {
            dirs.push(dir);
        }
        dirs.extend(DELEGATE_DIRS.iter().map(PathBuf::from));
        let mut seen = Vec::new();
        for dir in dirs {
            for name in KNOWN_DELEGATES {
                let path = dir.join(name);
                let Ok(real) = path.canonicalize() else {
                    continue;
                };
                if seen.contains(&real) || reports.iter().any(|r: &DelegateReport| r.path == path) {
                    continue;
                }
                seen.push(real);
                reports.push(check_plugin(&path, false));
            }
        }
        reports
    }

    fn prepare(&self, source: &ModelSource, options: &Options) -> Result<Box<dyn Prepared>> {
        if source.format() != ModelFormat::TfLite {
            return Err(Error::UnsupportedFormat {
                backend: NAME.into(),
                format: source.format(),
            });
        }
        let api = self.api()?;
        let bytes = source.read_bytes()?;
        let decl = flatbuf::parse(&bytes).map_err(|e| Error::InvalidModel {
            backend: NAME.into(),
            path: source.path().into(),
            reason: e.0,
        })?;
        if let Some(w) = decl.per_channel_fully_connected.first() {
            if major_minor(api.version()).is_none_or(|v| v < PER_CHANNEL_FC_SINCE) {
                return Err(Error::Backend {
                    backend: NAME.into(),
                    message: format!(
                        "model {:?} quantizes FULLY_CONNECTED weights per channel (tensor {w:?}); TensorFlow Lite {} computes such layers wrongly without any error; use TensorFlow Lite {}.{} or newer, or convert the model again with converter._experimental_disable_per_channel_quantization_for_dense_layers = True",
                        source.path(),
                        api.version(),
                        PER_CHANNEL_FC_SINCE.0,
                        PER_CHANNEL_FC_SINCE.1
                    ),
                });
            }
        }
        let declared = declared_infos(&decl.inputs)?;
        options.check_input_shapes(&declared)?;
        let mut shapes = Vec::with_capacity(declared.len());
        for info in &declared {
            shapes.push(options.resolve_shape(info)?);
        }
        let model =
            sys::Model::new(api, bytes)
                .map(Arc::new)
                .ok_or_else(|| Error::InvalidModel {
                    backend: NAME.into(),
                    path: source.path().into(),
                    reason: "TensorFlow Lite refused the file (TfLiteModelCreate returned NULL)"
                        .into(),
                })?;
        let plugin = match &self.external {
            Some(ext) => match sys::Plugin::load(&ext.path) {
                Ok(p) => Some(p),
                Err(e) if self.fallback => {
                    let note =
                        format!("external delegate not used: {}", plugin_error(&ext.path, e));
                    return self.finish(source, model, shapes, options, None, vec![note]);
                }
                Err(e) => return Err(plugin_error(&ext.path, e)),
            },
            None => None,
        };
        self.finish(source, model, shapes, options, plugin, vec![])
    }

    fn inspect(&self, source: &ModelSource) -> Result<ModelInfo> {
        let bytes = source.read_bytes()?;
        let decl = flatbuf::parse(&bytes).map_err(|e| Error::InvalidModel {
            backend: NAME.into(),
            path: source.path().into(),
            reason: e.0,
        })?;
        Ok(ModelInfo {
            inputs: declared_infos(&decl.inputs)?,
            outputs: declared_infos(&decl.outputs)?,
            output_shapes_known: decl.outputs.iter().all(|o| o.dynamic_dims().is_empty()),
        })
    }
}

/// Whether a file can be loaded here as a delegate plugin (architecture, then entry points).
fn check_plugin(path: &Path, configured: bool) -> DelegateReport {
    let (usable, status) = if !path.exists() {
        (false, "the file does not exist".to_string())
    } else {
        match check_elf(path)
            .and_then(|_| sys::Plugin::load(path).map_err(|e| plugin_error(path, e)))
        {
            Ok(_) => (
                true,
                "loads, exports tflite_plugin_create_delegate and tflite_plugin_destroy_delegate"
                    .to_string(),
            ),
            Err(Error::LibraryLoad { reason, .. }) => (false, reason),
            Err(Error::Delegate { reason, .. }) => (false, reason),
            Err(e) => (false, e.to_string()),
        }
    };
    DelegateReport {
        path: path.to_path_buf(),
        configured,
        usable,
        status,
    }
}

fn plugin_error(path: &Path, e: sys::PluginError) -> Error {
    let reason = match e {
        sys::PluginError::Open(r) => format!("cannot load it: {r}"),
        sys::PluginError::MissingSymbol(s) => {
            format!("it lacks {s}; an external delegate plugin exports tflite_plugin_create_delegate and tflite_plugin_destroy_delegate")
        }
        sys::PluginError::BadOption(r) => format!("bad option: {r}"),
        sys::PluginError::Refused(reports) if reports.is_empty() => {
            "tflite_plugin_create_delegate returned NULL (check its options)".into()
        }
        sys::PluginError::Refused(reports) => {
            format!(
                "tflite_plugin_create_delegate returned NULL: {}",
                reports.join("; ")
            )
        }
    };
    Error::Delegate {
        path: path.into(),
        reason,
    }
}

/// A loaded plugin and the options each of its delegates is created with.
type PluginUse = (Arc<sys::Plugin>, Vec<(String, String)>);

/// A session's configuration, shared by the prepared model and its sessions.
struct Recipe {
    model: Arc<sys::Model>,
    threads: i32,
    xnnpack: bool,
    plugin: Option<PluginUse>,
    shapes: Vec<Vec<usize>>,
    path: PathBuf,
}

impl Recipe {
    /// Build an interpreter: delegates in order (external first, then XNNPACK), inputs
    /// resized, tensors allocated.
    fn interpreter(&self) -> Result<sys::Interpreter> {
        let mut delegates = Vec::new();
        if let Some((plugin, options)) = &self.plugin {
            delegates.push(
                plugin
                    .create(options)
                    .map_err(|e| plugin_error(plugin.path(), e))?,
            );
        }
        if self.xnnpack {
            if let Some(x) = sys::xnnpack(&self.model_api(), self.threads) {
                delegates.push(x);
            }
        }
        let api = self.model_api();
        let failure = |f: sys::Failure| tflite_failure(&self.path, &api, f);
        let mut it =
            sys::Interpreter::new(self.model.clone(), self.threads, delegates).map_err(failure)?;
        for (ix, shape) in self.shapes.iter().enumerate() {
            let dims: Vec<i32> = shape
                .iter()
                .map(|&d| d.min(i32::MAX as usize) as i32)
                .collect();
            it.resize_input(ix, &dims).map_err(failure)?;
        }
        it.allocate().map_err(failure)?;
        Ok(it)
    }

    fn model_api(&self) -> Arc<sys::Api> {
        self.model.api()
    }
}

/// TFLite's own reports say best what went wrong: an op this build lacks, a delegate that
/// refused the graph, a tensor it could not allocate.
fn tflite_failure(path: &Path, api: &sys::Api, f: sys::Failure) -> Error {
    let text = f.reports.join("; ");
    let lib = format!(
        "TensorFlow Lite {} from {}",
        api.version(),
        api.path().display()
    );
    if let Some(at) = text.find("Didn't find op for builtin opcode '") {
        let rest = &text[at + 35..];
        let op = rest.split('\'').next().unwrap_or("?").to_string();
        return Error::UnsupportedOp {
            backend: NAME.into(),
            op,
            node: "?".into(),
            detail: format!("{lib} lacks it: {text}"),
        };
    }
    if let Some(at) = text.find("Op builtin_code out of range: ") {
        let code = text[at + 30..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap_or("?")
            .to_string();
        return Error::UnsupportedOp {
            backend: NAME.into(),
            op: format!("builtin #{code}"),
            node: "?".into(),
            detail: format!("{lib} is older than the model's ops: {text}"),
        };
    }
    if let Some(at) = text.find("Encountered unresolved custom op: ") {
        let op = text[at + 34..]
            .split(['.', ';', ' '])
            .next()
            .unwrap_or("?")
            .to_string();
        return Error::UnsupportedOp {
            backend: NAME.into(),
            op: format!("custom {op}"),
            node: "?".into(),
            detail: format!("{lib} has no such custom op"),
        };
    }
    let detail = if text.is_empty() {
        "no message from TensorFlow Lite".into()
    } else {
        text
    };
    Error::Backend {
        backend: NAME.into(),
        message: format!("{} failed for {path:?}: {detail}", f.what),
    }
}

impl TfLiteBackend {
    fn finish(
        &self,
        source: &ModelSource,
        model: Arc<sys::Model>,
        shapes: Vec<Vec<usize>>,
        options: &Options,
        plugin: Option<Arc<sys::Plugin>>,
        mut notes: Vec<String>,
    ) -> Result<Box<dyn Prepared>> {
        let threads = options.threads.unwrap_or(1).min(i32::MAX as usize) as i32;
        let mut recipe = Recipe {
            model,
            threads,
            xnnpack: self.xnnpack,
            plugin: plugin.map(|p| {
                (
                    p,
                    self.external
                        .as_ref()
                        .map(|e| e.options.clone())
                        .unwrap_or_default(),
                )
            }),
            shapes,
            path: source.path().into(),
        };
        // build one interpreter now: errors surface at prepare, and its tensors give the infos
        let probe = match recipe.interpreter() {
            Ok(it) => it,
            Err(e) if self.fallback && recipe.plugin.is_some() => {
                notes.push(format!("external delegate not used: {e}"));
                recipe.plugin = None;
                recipe.interpreter()?
            }
            Err(e) => return Err(e),
        };
        let inputs = (0..probe.input_count())
            .map(|i| info_of(&probe, true, i))
            .collect::<Result<Vec<_>>>()?;
        let outputs = (0..probe.output_count())
            .map(|i| info_of(&probe, false, i))
            .collect::<Result<Vec<_>>>()?;
        let mut delegates = Vec::new();
        if let Some((p, _)) = &recipe.plugin {
            delegates.push(format!("external delegate {}", p.path().display()));
        }
        if recipe.xnnpack && recipe.model_api().has_xnnpack() {
            delegates.push(format!("XNNPACK ({threads} threads)"));
        }
        notes.push(if delegates.is_empty() {
            "no delegate".into()
        } else {
            format!("delegates: {}", delegates.join(", "))
        });
        Ok(Box::new(TfLitePrepared {
            recipe: Arc::new(recipe),
            inputs,
            outputs,
            notes,
            spare: std::sync::Mutex::new(Some(probe)),
        }))
    }
}

/// TFLite's C `TfLiteType` to edgerun's.
fn dtype_of(t: u32) -> Option<DType> {
    Some(match t {
        1 => DType::F32,
        2 => DType::I32,
        3 => DType::U8,
        4 => DType::I64,
        6 => DType::Bool,
        7 => DType::I16,
        9 => DType::I8,
        10 => DType::F16,
        11 => DType::F64,
        _ => return None,
    })
}

/// The schema's `TensorType` (numbered differently from the C enum) to edgerun's.
fn dtype_of_schema(t: u8) -> Option<DType> {
    Some(match t {
        0 => DType::F32,
        1 => DType::F16,
        2 => DType::I32,
        3 => DType::U8,
        4 => DType::I64,
        6 => DType::Bool,
        7 => DType::I16,
        9 => DType::I8,
        10 => DType::F64,
        _ => return None,
    })
}

fn unsupported_type(name: &str, t: impl std::fmt::Display) -> Error {
    Error::Backend {
        backend: NAME.into(),
        message: format!("tensor {name:?} has TensorFlow Lite type {t}, which edgerun does not exchange (strings, complex and resource tensors)"),
    }
}

fn declared_infos(decls: &[flatbuf::TensorDecl]) -> Result<Vec<TensorInfo>> {
    decls
        .iter()
        .map(|d| {
            let dtype = dtype_of_schema(d.tensor_type)
                .ok_or_else(|| unsupported_type(&d.name, d.tensor_type))?;
            let dynamic = d.dynamic_dims();
            let shape = d
                .shape
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    if dynamic.contains(&i) {
                        Dim::Dynamic(None)
                    } else {
                        Dim::Fixed(n as usize)
                    }
                })
                .collect();
            let quant = match (d.scales.as_slice(), d.zero_points.as_slice()) {
                ([s], [z]) if *s != 0.0 => Some(Quant::new(*s, *z as i32)),
                ([s], []) if *s != 0.0 => Some(Quant::new(*s, 0)),
                _ => None,
            };
            Ok(TensorInfo {
                name: d.name.clone(),
                dtype,
                shape,
                quant,
            })
        })
        .collect()
}

fn info_of(it: &sys::Interpreter, input: bool, index: usize) -> Result<TensorInfo> {
    let m = it.meta(input, index).ok_or_else(|| Error::Backend {
        backend: NAME.into(),
        message: format!(
            "cannot read {} tensor {index}",
            if input { "input" } else { "output" }
        ),
    })?;
    let dtype = dtype_of(m.tensor_type).ok_or_else(|| unsupported_type(&m.name, m.tensor_type))?;
    let quant = (m.scale != 0.0).then(|| Quant::new(m.scale, m.zero_point));
    let shape = m
        .shape
        .iter()
        .map(|&d| {
            if d < 0 {
                Dim::Dynamic(None)
            } else {
                Dim::Fixed(d as usize)
            }
        })
        .collect();
    Ok(TensorInfo {
        name: m.name,
        dtype,
        shape,
        quant,
    })
}

struct TfLitePrepared {
    recipe: Arc<Recipe>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    notes: Vec<String>,
    /// The interpreter built at prepare, handed to the first session.
    spare: std::sync::Mutex<Option<sys::Interpreter>>,
}

impl Prepared for TfLitePrepared {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }

    fn session(&self) -> Result<Box<dyn Session>> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let interpreter = match spare {
            Some(it) => it,
            None => self.recipe.interpreter()?,
        };
        Ok(Box::new(TfLiteSession {
            interpreter,
            outputs: self.outputs.clone(),
            path: self.recipe.path.clone(),
        }))
    }
}

/// One interpreter. `Send`, not `Sync`: TFLite interpreters are not thread-safe.
struct TfLiteSession {
    interpreter: sys::Interpreter,
    outputs: Vec<TensorInfo>,
    path: PathBuf,
}

impl Session for TfLiteSession {
    fn profiling(&self) -> std::result::Result<(), String> {
        let api = self.interpreter.library();
        Err(format!(
            "the TensorFlow Lite C API ({} at {}) gives applications no per-operator timings; \
             profile with --backend=tract, or with TensorFlow Lite's own benchmark_model",
            api.version(),
            api.path().display()
        ))
    }

    fn run(&mut self, inputs: &[&Tensor]) -> Result<Vec<Tensor>> {
        let api = self.interpreter.library();
        let failure = |f: sys::Failure| tflite_failure(&self.path, &api, f);
        for (ix, t) in inputs.iter().enumerate() {
            // tensors are little-endian in edgerun and in TFLite on every target it supports
            self.interpreter
                .write_input(ix, &t.data().to_le_bytes())
                .map_err(failure)?;
        }
        self.interpreter.invoke().map_err(failure)?;
        let mut out = Vec::with_capacity(self.outputs.len());
        for (ix, info) in self.outputs.iter().enumerate() {
            let bytes = self.interpreter.read_output(ix).map_err(failure)?;
            let data =
                Data::from_le_bytes(info.dtype, &bytes).map_err(|reason| Error::Backend {
                    backend: NAME.into(),
                    message: format!("output {:?}: {reason}", info.name),
                })?;
            let meta = self.interpreter.meta(false, ix);
            let shape: Vec<usize> = match (&meta, info.fixed_shape()) {
                (Some(m), _) => m.shape.iter().map(|&d| d.max(0) as usize).collect(),
                (None, Some(s)) => s,
                (None, None) => vec![data.len()],
            };
            let tensor = Tensor::from_data(shape.clone(), data).map_err(|_| Error::Backend {
                backend: NAME.into(),
                message: format!(
                    "output {:?} has [{}] but {} bytes",
                    info.name,
                    shape_string(&shape),
                    bytes.len()
                ),
            })?;
            out.push(tensor.with_quant(info.quant));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegate_options_keep_order() {
        let o = parse_delegate_options(
            "backends:CpuAcc,GpuAcc;number-of-threads:4; logging-severity:info",
        )
        .unwrap();
        assert_eq!(
            o,
            vec![
                ("backends".to_string(), "CpuAcc,GpuAcc".to_string()),
                ("number-of-threads".to_string(), "4".to_string()),
                ("logging-severity".to_string(), "info".to_string()),
            ]
        );
        assert!(parse_delegate_options("").unwrap().is_empty());
        assert!(parse_delegate_options("novalue").is_err());
        assert!(parse_delegate_options(":x").is_err());
    }

    #[test]
    fn versions() {
        assert_eq!(major_minor("2.6.0"), Some((2, 6)));
        assert_eq!(major_minor("2.16.1-rc0"), Some((2, 16)));
        assert!(major_minor("2.6.0").unwrap() < PER_CHANNEL_FC_SINCE);
        assert_eq!(major_minor("garbage"), None);
    }
}
