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
//! setting `tflite_lib`), the `EDGERUN_TFLITE_LIB` environment variable,
//! `lib/edgerun/libtensorflowlite_c.so` beside the executable's directory (a device bundle),
//! `/usr/lib/edgerun`, then the usual names on the loader path ([`LIBRARY_NAMES`]). No Python
//! wheel ships TensorFlow Lite's C library, so none is searched.
//!
//! Delegates: XNNPACK (on by default, with the session's thread count) and one external
//! delegate plugin (`tflite_plugin_create_delegate`, options in benchmark_model's
//! `key1:value1;key2:value2` syntax, passed in the given order). With
//! [`TfLiteBackend::with_delegate_fallback`] a delegate that fails to load or to apply is
//! dropped and the model runs on the CPU, with a note saying so.
//!
//! Model files are untrusted: before TFLite sees a file, [`flatbuf::parse`] checks every
//! offset, index and constant buffer size in it.

mod delegates;
mod errors;
mod library;
mod session;
mod sys;

pub use edgerun_formats::tflite::{flatbuf, types};

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use edgerun_core::backend::ModelInfo;
use edgerun_core::library::Found;
use edgerun_core::settings::{self, Kind, Value};
use edgerun_core::{
    Availability, Backend, DelegateReport, Descriptor, Dim, Error, ModelFormat, ModelSource,
    Options, Prepared, Quant, Result, Setting, TensorInfo,
};

pub use delegates::{parse_delegate_options, ExternalDelegate, DELEGATE_DIRS, KNOWN_DELEGATES};
pub use library::{ENV_VAR, LIBRARY_NAMES};
pub use sys::REQUIRED_SYMBOLS;

use errors::{plugin_error, unsupported_type};
use session::{Recipe, TfLitePrepared};

const NAME: &str = "tflite";

/// What the TensorFlow Lite backend is: its name, format and settings.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: NAME,
    formats: &[ModelFormat::TfLite],
    settings: SETTINGS,
    library_setting: Some("tflite_lib"),
    not_automatic: &[],
};

/// The first TFLite release edgerun trusts with per-channel quantized FULLY_CONNECTED weights.
/// 2.6 runs such models without an error and returns a constant output; releases in between
/// are refused too, to be safe.
pub const PER_CHANNEL_FC_SINCE: (u32, u32) = (2, 15);

/// Is a TFLite of this version trusted with per-channel quantized FULLY_CONNECTED weights?
pub fn trusts_per_channel_fc(version: &str) -> bool {
    library::major_minor(version).is_some_and(|v| v >= PER_CHANNEL_FC_SINCE)
}

const SETTINGS: &[Setting] = &[
    Setting {
        key: "tflite_lib",
        kind: Kind::Path,
        help: "the TensorFlow Lite C library to load (default: $EDGERUN_TFLITE_LIB, then lib/edgerun/ beside the executable, /usr/lib/edgerun, libtensorflowlite_c.so on the loader path)",
        default: None,
    },
    Setting {
        key: "use_xnnpack",
        kind: Kind::Bool,
        help: "use TensorFlow Lite's XNNPACK delegate",
        default: Some("true"),
    },
    Setting {
        key: "external_delegate_path",
        kind: Kind::Path,
        help: "external delegate plugin (.so exporting tflite_plugin_create_delegate)",
        default: None,
    },
    Setting {
        key: "external_delegate_options",
        kind: Kind::Text("KEY:VALUE;..."),
        help: "options for the external delegate, key1:value1;key2:value2, passed in this order",
        default: None,
    },
    Setting {
        key: "delegate_fallback",
        kind: Kind::Bool,
        help: "run on the CPU when the delegate cannot be loaded or applied",
        default: Some("false"),
    },
    Setting {
        key: "tflite_model_check",
        kind: Kind::Choice(flatbuf::Depth::WORDS),
        help: flatbuf::DEPTH_HELP,
        default: Some("full"),
    },
];

/// The TensorFlow Lite backend's own options.
#[derive(Debug, Clone, PartialEq)]
pub struct TfLiteOptions {
    /// The C library to load; `None`: discovery ([`ENV_VAR`], then [`LIBRARY_NAMES`]).
    pub library: Option<PathBuf>,
    /// Use TFLite's XNNPACK delegate, as benchmark_model's `--use_xnnpack` (default: on).
    pub xnnpack: bool,
    /// An external delegate plugin to attach to every interpreter.
    pub external_delegate: Option<PathBuf>,
    /// Its options, in order.
    pub external_delegate_options: Vec<(String, String)>,
    /// Run on the CPU when a delegate cannot be loaded or applied, instead of failing.
    pub delegate_fallback: bool,
    /// How much of edgerun's TensorFlow Lite check runs before the library reads a file
    /// (default: all of it).
    pub model_check: flatbuf::Depth,
}

impl Default for TfLiteOptions {
    fn default() -> TfLiteOptions {
        TfLiteOptions {
            library: None,
            xnnpack: true,
            external_delegate: None,
            external_delegate_options: Vec::new(),
            delegate_fallback: false,
            model_check: flatbuf::Depth::Full,
        }
    }
}

/// The TensorFlow Lite backend.
pub struct TfLiteBackend {
    options: TfLiteOptions,
    api: OnceLock<(Arc<sys::Api>, Found)>,
}

impl Default for TfLiteBackend {
    fn default() -> TfLiteBackend {
        TfLiteBackend::new()
    }
}

impl TfLiteBackend {
    /// Library found by discovery, XNNPACK on, no external delegate, no fallback.
    pub fn new() -> TfLiteBackend {
        TfLiteBackend::with_options(TfLiteOptions::default())
    }

    /// A backend with all its options given at once.
    pub fn with_options(options: TfLiteOptions) -> TfLiteBackend {
        TfLiteBackend {
            options,
            api: OnceLock::new(),
        }
    }

    pub fn options(&self) -> &TfLiteOptions {
        &self.options
    }

    /// Load the TFLite C library from this path instead of searching.
    pub fn with_library(mut self, path: impl Into<PathBuf>) -> TfLiteBackend {
        self.options.library = Some(path.into());
        self.api = OnceLock::new();
        self
    }

    /// Use TFLite's XNNPACK delegate (default: on), as benchmark_model's `--use_xnnpack`.
    pub fn with_xnnpack(mut self, on: bool) -> TfLiteBackend {
        self.options.xnnpack = on;
        self
    }

    /// Attach an external delegate plugin to every interpreter.
    pub fn with_external_delegate(
        mut self,
        path: impl Into<PathBuf>,
        options: Vec<(String, String)>,
    ) -> TfLiteBackend {
        self.options.external_delegate = Some(path.into());
        self.options.external_delegate_options = options;
        self
    }

    /// Run on the CPU when a delegate cannot be loaded or applied, instead of failing.
    pub fn with_delegate_fallback(mut self, on: bool) -> TfLiteBackend {
        self.options.delegate_fallback = on;
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

    /// Options that make no sense together.
    fn check_options(&self) -> Result<()> {
        if self.options.external_delegate.is_none()
            && !self.options.external_delegate_options.is_empty()
        {
            return Err(Error::InvalidOption {
                option: "external_delegate_options".into(),
                reason: "given without external_delegate_path; give the delegate plugin's path too"
                    .into(),
            });
        }
        Ok(())
    }

    fn api(&self) -> Result<Arc<sys::Api>> {
        Ok(self.loaded()?.0.clone())
    }

    fn loaded(&self) -> Result<&(Arc<sys::Api>, Found)> {
        if let Some(l) = self.api.get() {
            return Ok(l);
        }
        let (api, found) = library::load(self.options.library.as_deref())?.split();
        Ok(self.api.get_or_init(|| (Arc::new(api), found)))
    }
}

impl Backend for TfLiteBackend {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn set(&mut self, key: &str, value: Value) -> Result<()> {
        let o = &mut self.options;
        match (key, value) {
            ("tflite_lib", Value::Path(p)) => {
                o.library = Some(p);
                self.api = OnceLock::new();
            }
            ("use_xnnpack", Value::Bool(b)) => o.xnnpack = b,
            ("external_delegate_path", Value::Path(p)) => o.external_delegate = Some(p),
            ("external_delegate_options", Value::Text(t)) => {
                o.external_delegate_options = parse_delegate_options(&t)?
            }
            ("delegate_fallback", Value::Bool(b)) => o.delegate_fallback = b,
            ("tflite_model_check", Value::Choice(w)) => {
                o.model_check = flatbuf::Depth::from_word(w)
                    .ok_or_else(|| settings::unknown(&DESCRIPTOR, key))?;
            }
            (key, _) => return Err(settings::unknown(&DESCRIPTOR, key)),
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<Value> {
        let o = &self.options;
        match key {
            "tflite_lib" => o.library.clone().map(Value::Path),
            "use_xnnpack" => Some(Value::Bool(o.xnnpack)),
            "external_delegate_path" => o.external_delegate.clone().map(Value::Path),
            "external_delegate_options" => Some(Value::Text(
                o.external_delegate_options
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(";"),
            )),
            "delegate_fallback" => Some(Value::Bool(o.delegate_fallback)),
            "tflite_model_check" => Some(Value::Choice(o.model_check.word())),
            _ => None,
        }
    }

    fn availability(&self) -> Availability {
        if let Err(e) = self.check_options() {
            return Availability::Unavailable {
                reason: e.to_string(),
            };
        }
        match self.loaded() {
            Ok((api, found)) => Availability::Available {
                detail: format!(
                    "TensorFlow Lite {} from {found}{}",
                    api.version(),
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

    fn version(&self) -> Option<String> {
        self.api().ok().map(|a| a.version().to_string())
    }

    fn found_library(&self) -> Option<Found> {
        self.loaded().ok().map(|(_, f)| f.clone())
    }

    fn delegates(&self) -> Vec<DelegateReport> {
        delegates::find(
            self.options.external_delegate.as_deref(),
            self.found_library().map(|f| f.path),
        )
    }

    fn prepare(&self, source: &ModelSource, options: &Options) -> Result<Box<dyn Prepared>> {
        if source.format() != ModelFormat::TfLite {
            return Err(Error::UnsupportedFormat {
                backend: NAME.into(),
                format: source.format(),
            });
        }
        self.check_options()?;
        let api = self.api()?;
        let (bytes, decl) =
            edgerun_formats::tflite::read_checked_to(NAME, source, self.options.model_check)?;
        refuse_untrusted_layers(source, &api, &decl)?;
        let inputs = declared_infos(&decl.inputs)?;
        let outputs = declared_infos(&decl.outputs)?;
        options.check_input_shapes(&inputs)?;
        // the shape each input is prepared for: the hint, else the model's own `shape` (a
        // dynamic batch of a Keras model is 1 there), as TFLite's interpreter does
        let shapes = inputs
            .iter()
            .zip(&decl.inputs)
            .map(|(info, d)| match options.input_shape(&info.name) {
                Some(s) => s.to_vec(),
                None => d.shape.iter().map(|&n| n.max(0) as usize).collect(),
            })
            .collect();
        let model =
            sys::Model::new(api, bytes)
                .map(Arc::new)
                .ok_or_else(|| Error::InvalidModel {
                    source: None,
                    backend: NAME.into(),
                    path: source.path().into(),
                    reason: "TensorFlow Lite refused the file (TfLiteModelCreate returned NULL)"
                        .into(),
                })?;
        let threads = options.threads.unwrap_or(1).min(i32::MAX as usize) as i32;
        let mut recipe = Recipe {
            model,
            threads,
            xnnpack: self.options.xnnpack,
            plugin: None,
            shapes,
            path: source.path().into(),
            ops: decl.operators.into(),
        };
        let mut notes = Vec::new();
        let probe = self.probe(&mut recipe, &mut notes)?;
        let (mut inputs, mut outputs) = (inputs, outputs);
        agree(source, &probe, &mut inputs, &mut outputs)?;
        notes.push(delegate_note(&recipe));
        Ok(Box::new(TfLitePrepared {
            recipe: Arc::new(recipe),
            inputs,
            outputs,
            notes,
            spare: Mutex::new(Some(probe)),
        }))
    }

    fn inspect(&self, source: &ModelSource) -> Result<ModelInfo> {
        let (_, decl) =
            edgerun_formats::tflite::read_checked_to(NAME, source, self.options.model_check)?;
        Ok(ModelInfo {
            inputs: declared_infos(&decl.inputs)?,
            outputs: declared_infos(&decl.outputs)?,
            output_shapes_known: true,
        })
    }
}

/// Inputs or outputs as the file declares them: dynamic where `shape_signature` is -1.
fn declared_infos(decls: &[flatbuf::TensorDecl]) -> Result<Vec<TensorInfo>> {
    decls
        .iter()
        .map(|d| {
            let dtype = types::from_schema(d.tensor_type)
                .ok_or_else(|| unsupported_type(&d.name, d.tensor_type))?;
            let dynamic = d.dynamic_dims();
            let shape = d
                .shape
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    if dynamic.contains(&i) || n < 0 {
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

/// TensorFlow Lite releases that compute per-channel quantized FULLY_CONNECTED layers wrongly,
/// without an error, do not get such a model.
fn refuse_untrusted_layers(
    source: &ModelSource,
    api: &sys::Api,
    decl: &edgerun_formats::tflite::flatbuf::ModelDecl,
) -> Result<()> {
    let Some(w) = decl.per_channel_fully_connected.first() else {
        return Ok(());
    };
    if trusts_per_channel_fc(api.version()) {
        return Ok(());
    }
    Err(Error::Backend {
        backend: NAME.into(),
        message: format!(
            "model {:?} quantizes FULLY_CONNECTED weights per channel (tensor {w:?}); TensorFlow Lite {} computes such layers wrongly without any error; use TensorFlow Lite {}.{} or newer, or convert the model again with converter._experimental_disable_per_channel_quantization_for_dense_layers = True",
            source.path(),
            api.version(),
            PER_CHANNEL_FC_SINCE.0,
            PER_CHANNEL_FC_SINCE.1
        ),
    })
}

/// The interpreter TensorFlow Lite builds from the file must see the inputs and outputs the
/// file declares, of the same names and types; their quantization is taken as it reads it.
fn agree(
    source: &ModelSource,
    probe: &sys::Interpreter,
    inputs: &mut [TensorInfo],
    outputs: &mut [TensorInfo],
) -> Result<()> {
    if probe.input_count() != inputs.len() || probe.output_count() != outputs.len() {
        return Err(Error::InvalidModel {
            source: None,
            backend: NAME.into(),
            path: source.path().into(),
            reason: format!(
                "the file declares {} inputs and {} outputs, TensorFlow Lite sees {} and {}",
                inputs.len(),
                outputs.len(),
                probe.input_count(),
                probe.output_count()
            ),
        });
    }
    // what the file declares must be what the library sees; quantization as it reads it
    for (input, infos) in [(true, inputs), (false, outputs)] {
        for (ix, info) in infos.iter_mut().enumerate() {
            let meta = probe.meta(input, ix);
            let seen = meta.as_ref().and_then(|m| types::from_c(m.tensor_type));
            match meta {
                Some(m) if seen == Some(info.dtype) && m.name == info.name => {
                    info.quant = (m.scale != 0.0).then(|| Quant::new(m.scale, m.zero_point));
                }
                _ => {
                    return Err(Error::InvalidModel {
                        source: None,
                        backend: NAME.into(),
                        path: source.path().into(),
                        reason: format!(
                            "tensor {:?} ({}) is not what TensorFlow Lite sees at its place ({})",
                            info.name,
                            info.dtype,
                            seen.map_or("another type".into(), |d| d.to_string())
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The delegates a model runs with, for its notes.
fn delegate_note(recipe: &Recipe) -> String {
    let mut delegates = Vec::new();
    if let Some((p, _)) = &recipe.plugin {
        delegates.push(format!("external delegate {}", p.path().display()));
    }
    if recipe.xnnpack && recipe.model.api().has_xnnpack() {
        delegates.push(format!("XNNPACK ({} threads)", recipe.threads));
    }
    if delegates.is_empty() {
        "no delegate".into()
    } else {
        format!("delegates: {}", delegates.join(", "))
    }
}

impl TfLiteBackend {
    /// The external delegate attached to the recipe, and one interpreter built now so that
    /// errors surface at prepare; with `delegate_fallback`, a delegate that fails to load or
    /// to apply is left out and noted.
    fn probe(&self, recipe: &mut Recipe, notes: &mut Vec<String>) -> Result<sys::Interpreter> {
        if let Some(path) = &self.options.external_delegate {
            match sys::Plugin::load(path) {
                Ok(p) => recipe.plugin = Some((p, self.options.external_delegate_options.clone())),
                Err(e) if self.options.delegate_fallback => {
                    notes.push(format!(
                        "external delegate not used: {}",
                        plugin_error(path, e)
                    ));
                }
                Err(e) => return Err(plugin_error(path, e)),
            }
        }
        match recipe.interpreter() {
            Ok(it) => Ok(it),
            Err(e) if self.options.delegate_fallback && recipe.plugin.is_some() => {
                notes.push(format!("external delegate not used: {e}"));
                recipe.plugin = None;
                recipe.interpreter()
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_channel_cut_off() {
        assert!(!trusts_per_channel_fc("2.6.0"));
        assert!(!trusts_per_channel_fc("2.14.1"));
        assert!(trusts_per_channel_fc("2.15.0"));
        assert!(trusts_per_channel_fc("2.16.1-rc0"));
        assert!(trusts_per_channel_fc("3.0.0"));
        assert!(!trusts_per_channel_fc("garbage"));
    }
}
