//! The LiteRT backend of edgerun: TensorFlow Lite's successor, through its C API.
//!
//! LiteRT's C library (`libLiteRt.so`, shipped in the `ai-edge-litert` wheels for x86_64 and
//! aarch64) is loaded at run time, never linked. Every function edgerun calls is checked to be
//! present before the first call ([`REQUIRED_SYMBOLS`]), and a file's architecture before it
//! is loaded. Where the library comes from, in order: an explicit path
//! ([`LiteRtBackend::with_library`], setting `litert_lib`), the `EDGERUN_LITERT_LIB`
//! environment variable, `lib/edgerun/libLiteRt.so` beside the executable's directory (a
//! device bundle), `/usr/lib/edgerun`, `ai_edge_litert/libLiteRt.so` in an installed
//! `ai-edge-litert` wheel (the active virtual environment, the user's, the system's
//! site-packages), then `libLiteRt.so` on the loader path
//! ([`edgerun_core::library::discover`]).
//!
//! A model runs as a LiteRT *compiled model* on the CPU accelerator (XNNPACK), with the
//! session's thread count given as the CPU options' TOML payload (`num_threads = N`), which is
//! what LiteRT's own header-only `LrtSetCpuOptionsNumThread` builds. Inputs and outputs go
//! through tensor buffers over 64-byte-aligned host memory that each session owns: one copy
//! in, one copy out. A dynamic input dimension is resized per run
//! (`LiteRtCompiledModelResizeInputTensor`) when its shape changes.
//!
//! Model files are untrusted: edgerun's TensorFlow Lite format checker reads every offset of
//! the file before LiteRT does.

mod session;
mod sys;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use edgerun_core::artifact::ArtifactKey;
use edgerun_core::backend::ModelInfo;
use edgerun_core::library::{discover, Found, LibrarySpec, WheelLib};
use edgerun_core::settings::{self, Kind, Value};
use edgerun_core::{
    Availability, Backend, Descriptor, Dim, Error, ModelFormat, ModelSource, Options, Prepared,
    Quant, Result, Setting, TensorInfo,
};
use edgerun_formats::tflite::{flatbuf, types};

pub use sys::REQUIRED_SYMBOLS;

const NAME: &str = "litert";

/// What the LiteRT backend is: its name, format and settings.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: NAME,
    formats: &[ModelFormat::TfLite],
    settings: SETTINGS,
    library_setting: Some("litert_lib"),
    not_automatic: &[],
};

/// Environment variable naming the LiteRT C library to load.
pub const ENV_VAR: &str = "EDGERUN_LITERT_LIB";

/// Library names tried on the loader path when no path is given.
pub const LIBRARY_NAMES: &[&str] = &["libLiteRt.so"];

const SPEC: LibrarySpec = LibrarySpec {
    backend: NAME,
    library: "LiteRT C library (libLiteRt.so)",
    env: ENV_VAR,
    more_env: &[],
    files: &["libLiteRt.so"],
    wheels: &[WheelLib {
        package: "ai-edge-litert",
        file: "ai_edge_litert/libLiteRt.so",
    }],
    names: LIBRARY_NAMES,
};

const SETTINGS: &[Setting] = &[
    Setting {
        key: "litert_lib",
        kind: Kind::Path,
        help: "the LiteRT C library to load (default: $EDGERUN_LITERT_LIB, then lib/edgerun/ beside the executable, /usr/lib/edgerun, the ai-edge-litert Python package, libLiteRt.so on the loader path)",
        default: None,
    },
    Setting {
        key: "litert_fp16",
        kind: Kind::Bool,
        help: "XNNPACK computes float operators in fp16 (FORCE_FP16): about twice as fast on ARMv8.2 cores with fp16 arithmetic (Cortex-A55, A76, A78), emulated and slower elsewhere; outputs change by fp16 rounding",
        default: Some("false"),
    },
    Setting {
        key: "litert_weight_cache",
        kind: Kind::Choice(WeightCache::WORDS),
        help: "keep XNNPACK's packed weights in edgerun's store and map them at later loads instead of packing again: auto (the default) when the load hashes the model anyway (auto with the decision store, or containment on), true always, false never (see the guide's Warm starts)",
        default: Some("auto"),
    },
    Setting {
        key: "litert_model_check",
        kind: Kind::Choice(flatbuf::Depth::WORDS),
        help: flatbuf::DEPTH_HELP,
        default: Some("full"),
    },
];

/// The LiteRT backend's own options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiteRtOptions {
    /// The C library to load; `None`: discovery ([`ENV_VAR`], the bundle and system
    /// directories, Python wheels, then [`LIBRARY_NAMES`]).
    pub library: Option<PathBuf>,
    /// How much of edgerun's TensorFlow Lite check runs before LiteRT reads a file (default:
    /// all of it).
    pub model_check: flatbuf::Depth,
    /// XNNPACK computes float operators in fp16 (its `FORCE_FP16` flag).
    pub fp16: bool,
    /// When XNNPACK's packed weights are kept in edgerun's store ([`Backend::artifact_key`]).
    pub weight_cache: WeightCache,
}

/// When LiteRT keeps XNNPACK's packed weights (`litert_weight_cache`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WeightCache {
    /// When the load computes the model's SHA-256 anyway, which ties the kept file to the
    /// model: `auto` with the decision store on, or containment on. Hashing a model only for
    /// its packed weights can cost more than packing it (see the guide's Warm starts).
    #[default]
    Auto,
    /// Always: the model is hashed for it if nothing else hashes it.
    Always,
    /// Never.
    Never,
}

impl WeightCache {
    /// The setting's words, in the order of the variants.
    pub const WORDS: &'static [&'static str] = &["auto", "true", "false"];

    fn word(self) -> &'static str {
        match self {
            WeightCache::Auto => "auto",
            WeightCache::Always => "true",
            WeightCache::Never => "false",
        }
    }

    fn from_word(w: &str) -> Option<WeightCache> {
        match w {
            "auto" => Some(WeightCache::Auto),
            "true" => Some(WeightCache::Always),
            "false" => Some(WeightCache::Never),
            _ => None,
        }
    }
}

/// The LiteRT backend.
#[derive(Default)]
pub struct LiteRtBackend {
    options: LiteRtOptions,
    api: OnceLock<(Arc<sys::Api>, Found)>,
}

impl LiteRtBackend {
    /// Library found by discovery.
    pub fn new() -> LiteRtBackend {
        LiteRtBackend::default()
    }

    /// A backend with all its options given at once.
    pub fn with_options(options: LiteRtOptions) -> LiteRtBackend {
        LiteRtBackend {
            options,
            api: OnceLock::new(),
        }
    }

    /// Load the LiteRT C library from this path instead of searching.
    pub fn with_library(mut self, path: impl Into<PathBuf>) -> LiteRtBackend {
        self.options.library = Some(path.into());
        self.api = OnceLock::new();
        self
    }

    /// XNNPACK computes float operators in fp16 (see [`LiteRtOptions::fp16`]).
    pub fn with_fp16(mut self, on: bool) -> LiteRtBackend {
        self.options.fp16 = on;
        self
    }

    pub fn options(&self) -> &LiteRtOptions {
        &self.options
    }

    /// Load (once) and return the path of the library in use.
    ///
    /// # Errors
    /// [`Error::LibraryNotFound`] (with the places searched), [`Error::LibraryLoad`] (wrong
    /// architecture, not a shared library) or [`Error::MissingSymbol`].
    pub fn library(&self) -> Result<PathBuf> {
        Ok(self.api()?.path().to_path_buf())
    }

    fn api(&self) -> Result<Arc<sys::Api>> {
        Ok(self.loaded()?.0.clone())
    }

    fn loaded(&self) -> Result<&(Arc<sys::Api>, Found)> {
        if let Some(l) = self.api.get() {
            return Ok(l);
        }
        let (api, found) =
            discover(&SPEC, self.options.library.as_deref(), sys::Api::load)?.split();
        Ok(self.api.get_or_init(|| (Arc::new(api), found)))
    }
}

/// What LiteRT can say of its version: the library exports no version function, only its
/// symbols' version.
const VERSION: &str = "C API VERS_1.0";

impl Backend for LiteRtBackend {
    fn reduced_precision(&self) -> Option<Box<dyn Backend>> {
        // the library, once found, is shared: no second search
        let api = OnceLock::new();
        if let Some(found) = self.api.get() {
            let _ = api.set(found.clone());
        }
        Some(Box::new(LiteRtBackend {
            options: LiteRtOptions {
                fp16: true,
                ..self.options.clone()
            },
            api,
        }))
    }

    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    /// XNNPACK's packed weights ([`LiteRtOptions::weight_cache`]); they depend on the
    /// library (its XNNPACK and kernels) and on fp16.
    fn artifact_key(&self) -> Option<ArtifactKey> {
        if self.options.weight_cache == WeightCache::Never {
            return None;
        }
        let (_, found) = self.loaded().ok()?;
        let library = edgerun_core::artifact::library_identity(&found.path)?;
        Some(ArtifactKey {
            key: format!("xnnpack-weights 1; {library}; fp16 {}", self.options.fp16),
            only_if_hashed: self.options.weight_cache == WeightCache::Auto,
        })
    }

    fn set(&mut self, key: &str, value: Value) -> Result<()> {
        match (key, value) {
            ("litert_lib", Value::Path(p)) => {
                self.options.library = Some(p);
                self.api = OnceLock::new();
            }
            ("litert_fp16", Value::Bool(on)) => self.options.fp16 = on,
            ("litert_weight_cache", Value::Choice(w)) => {
                self.options.weight_cache =
                    WeightCache::from_word(w).ok_or_else(|| settings::unknown(&DESCRIPTOR, key))?;
            }
            ("litert_model_check", Value::Choice(w)) => {
                self.options.model_check = flatbuf::Depth::from_word(w)
                    .ok_or_else(|| settings::unknown(&DESCRIPTOR, key))?;
            }
            (key, _) => return Err(settings::unknown(&DESCRIPTOR, key)),
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<Value> {
        match key {
            "litert_lib" => self.options.library.clone().map(Value::Path),
            "litert_model_check" => Some(Value::Choice(self.options.model_check.word())),
            "litert_fp16" => Some(Value::Bool(self.options.fp16)),
            "litert_weight_cache" => Some(Value::Choice(self.options.weight_cache.word())),
            _ => None,
        }
    }

    fn availability(&self) -> Availability {
        match self.loaded() {
            Ok((_, found)) => Availability::Available {
                detail: format!(
                    "LiteRT ({VERSION}; the library reports no release number) from {found}, CPU accelerator (XNNPACK)"
                ),
            },
            Err(e) => Availability::Unavailable {
                reason: e.to_string(),
            },
        }
    }

    fn version(&self) -> Option<String> {
        self.api().ok().map(|_| VERSION.to_string())
    }

    fn found_library(&self) -> Option<Found> {
        self.loaded().ok().map(|(_, f)| f.clone())
    }

    fn prepare(&self, source: &ModelSource, options: &Options) -> Result<Box<dyn Prepared>> {
        if source.format() != ModelFormat::TfLite {
            return Err(Error::UnsupportedFormat {
                backend: NAME.into(),
                format: source.format(),
            });
        }
        let api = self.api()?;
        let (bytes, decl) =
            edgerun_formats::tflite::read_checked_to(NAME, source, self.options.model_check)?;
        let fail = |f: sys::Failure| failure(source, f);
        let env = Arc::new(sys::Environment::new(api).map_err(fail)?);
        let model = sys::Model::new(env, bytes).map_err(|f| Error::InvalidModel {
            source: None,
            backend: NAME.into(),
            path: source.path().into(),
            reason: format!("LiteRT refused the file: {f}"),
        })?;
        let model = Arc::new(model);
        let sig_inputs = model.tensors(true).map_err(fail)?;
        let sig_outputs = model.tensors(false).map_err(fail)?;
        // the order of the model's subgraph (what TFLite and the references use), by name
        let in_order = order(&decl.inputs, &sig_inputs);
        let out_order = order(&decl.outputs, &sig_outputs);
        let inputs = infos(&in_order, &sig_inputs, &decl.inputs)?;
        let outputs = infos(&out_order, &sig_outputs, &decl.outputs)?;
        options.check_input_shapes(&inputs)?;
        let threads = options.threads.unwrap_or(1).max(1);
        session::prepared(session::Recipe {
            model,
            threads,
            in_order,
            out_order,
            inputs,
            outputs,
            element_types: (
                sig_inputs.iter().map(|t| t.element_type).collect(),
                sig_outputs.iter().map(|t| t.element_type).collect(),
            ),
            hints: options.input_shapes.clone(),
            path: source.path().into(),
            ops: decl.operators,
            profiling: options.profiling,
            fp16: self.options.fp16,
            weight_cache: options.artifact.clone(),
        })
    }

    fn inspect(&self, source: &ModelSource) -> Result<ModelInfo> {
        let (_, decl) =
            edgerun_formats::tflite::read_checked_to(NAME, source, self.options.model_check)?;
        let plain: Vec<usize> = (0..decl.inputs.len()).collect();
        let outs: Vec<usize> = (0..decl.outputs.len()).collect();
        let as_sig = |d: &[flatbuf::TensorDecl]| -> Vec<sys::TensorDecl> {
            d.iter()
                .map(|t| sys::TensorDecl {
                    name: t.name.clone(),
                    element_type: types::from_schema(t.tensor_type).map_or(0, c_code),
                    dims: Some(t.signature.clone().unwrap_or_else(|| t.shape.clone())),
                    quant: match (t.scales.as_slice(), t.zero_points.as_slice()) {
                        ([s], [z]) if *s != 0.0 => Some((*s, *z)),
                        _ => None,
                    },
                })
                .collect()
        };
        Ok(ModelInfo {
            inputs: infos(&plain, &as_sig(&decl.inputs), &decl.inputs)?,
            outputs: infos(&outs, &as_sig(&decl.outputs), &decl.outputs)?,
            output_shapes_known: true,
        })
    }
}

/// The C element type code of an edgerun type (LiteRT numbers them as TFLite's C API does).
fn c_code(d: edgerun_core::DType) -> i32 {
    (0..=11u32)
        .find(|&c| types::from_c(c) == Some(d))
        .map_or(0, |c| c as i32)
}

/// For each tensor of the subgraph, in its order, the index of the signature tensor of the
/// same name; the signature's own order when the names do not all match.
fn order(subgraph: &[flatbuf::TensorDecl], signature: &[sys::TensorDecl]) -> Vec<usize> {
    let found: Option<Vec<usize>> = subgraph
        .iter()
        .map(|d| signature.iter().position(|s| s.name == d.name))
        .collect();
    match found {
        Some(v) if v.len() == signature.len() => v,
        _ => (0..signature.len()).collect(),
    }
}

fn infos(
    order: &[usize],
    signature: &[sys::TensorDecl],
    subgraph: &[flatbuf::TensorDecl],
) -> Result<Vec<TensorInfo>> {
    order
        .iter()
        .map(|&i| {
            let t = &signature[i];
            let dtype = types::from_c(t.element_type as u32).ok_or_else(|| Error::Backend {
                backend: NAME.into(),
                message: format!(
                    "tensor {:?} has LiteRT element type {}, which edgerun does not exchange (strings, complex, 4-bit and resource tensors)",
                    t.name, t.element_type
                ),
            })?;
            // dynamic where the file's shape_signature says -1 (LiteRT may report its default)
            let declared = subgraph.iter().find(|d| d.name == t.name);
            let dynamic = declared.map(|d| d.dynamic_dims()).unwrap_or_default();
            let shape = match &t.dims {
                Some(dims) => dims
                    .iter()
                    .enumerate()
                    .map(|(k, &n)| {
                        if n < 0 || dynamic.contains(&k) {
                            Dim::Dynamic(None)
                        } else {
                            Dim::Fixed(n as usize)
                        }
                    })
                    .collect(),
                None => Vec::new(),
            };
            Ok(TensorInfo {
                name: t.name.clone(),
                dtype,
                shape,
                quant: t
                    .quant
                    .filter(|q| q.0 != 0.0)
                    .map(|(s, z)| Quant::new(s, z as i32)),
            })
        })
        .collect()
}

/// Loading the model failed: by LiteRT's status, a file it finds invalid, or its failure.
fn failure(source: &ModelSource, f: sys::Failure) -> Error {
    if f.invalid_model() {
        return Error::InvalidModel {
            backend: NAME.into(),
            path: source.path().into(),
            reason: f.to_string(),
            source: Some(f.engine()),
        };
    }
    Error::Engine {
        backend: NAME.into(),
        context: format!("loading {:?}", source.path()),
        source: f.engine(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_weight_cache_setting_takes_its_three_words_and_defaults_to_auto() {
        let mut b = LiteRtBackend::new();
        assert_eq!(b.options.weight_cache, WeightCache::Auto);
        assert_eq!(
            b.get("litert_weight_cache"),
            Some(Value::Choice("auto")),
            "the default is reported as set"
        );
        for (word, want) in [
            ("true", WeightCache::Always),
            ("false", WeightCache::Never),
            ("auto", WeightCache::Auto),
        ] {
            b.set("litert_weight_cache", Value::Choice(word)).unwrap();
            assert_eq!(b.options.weight_cache, want);
            assert_eq!(b.get("litert_weight_cache"), Some(Value::Choice(word)));
        }
        assert!(b
            .set("litert_weight_cache", Value::Choice("sometimes"))
            .is_err());
        // never: no artifact, whatever the library
        b.set("litert_weight_cache", Value::Choice("false"))
            .unwrap();
        assert_eq!(b.artifact_key(), None);
    }
}
