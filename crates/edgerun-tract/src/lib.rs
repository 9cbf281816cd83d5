//! The tract backend of edgerun: pure-Rust CPU inference.
//!
//! Reads ONNX, NNEF (directory or tar archive) and the subset of TensorFlow Lite that tract
//! implements. Models are optimized once, at prepare; on aarch64 tract-linalg picks NEON matrix
//! kernels at run time. With [`Options::threads`] above one, matrix products run on a private
//! rayon pool of that many threads (tract-linalg's `multithread-mm`), named `edgerun-tract-N`.
//! With [`Options::affinity`], each pool thread pins itself to those CPUs when it starts.
//!
//! Shapes are bound at run time: a model whose inputs have dynamic dimensions is analysed with
//! those dimensions as symbols, and a session accepts any input shape that fits. Each set of
//! concrete input shapes gets its own optimized plan, built on first use and kept in a cache
//! shared by every session of the prepared model (the most recently used
//! [`TractBackend::with_plan_cache`] plans, 8 by default). Shapes given at prepare
//! ([`Options::with_input_shape`]) build their plan ahead. A model that tract cannot analyse
//! with symbolic dimensions needs its shapes at prepare, and is then fixed to them.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use std::sync::Mutex;

use edgerun_core::backend::{output_slots, ModelInfo};
use edgerun_core::settings::{self, Kind, Value};
use edgerun_core::{
    Availability, Backend, DType, Data, DataRef, Descriptor, Dim, Error, ModelFormat, ModelSource,
    OpTiming, Options, Prepared, Quant, Result, Session, Setting, Tensor, TensorInfo, TensorView,
};
use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{Factoid, InferenceFact};
use tract_onnx::WithOnnx;

mod convert;
mod errors;
mod load;
mod plan;
mod quiet;
mod session;

use convert::*;
use errors::*;
use load::*;
use plan::*;
use session::*;

/// The tract crates this backend runs on, for callers that want to drive tract directly
/// (benchmarks comparing with it, for one).
pub use tract_onnx;

const NAME: &str = "tract";

/// What the tract backend is: its name, formats and settings.
pub const DESCRIPTOR: Descriptor = Descriptor {
    name: NAME,
    formats: if cfg!(feature = "tflite") {
        &[ModelFormat::Onnx, ModelFormat::Nnef, ModelFormat::TfLite]
    } else {
        &[ModelFormat::Onnx, ModelFormat::Nnef]
    },
    settings: SETTINGS,
    library_setting: None,
    not_automatic: &[(ModelFormat::TfLite, TFLITE_NOT_AUTOMATIC)],
};

/// Plans kept per prepared model by default (one per set of input shapes).
pub const DEFAULT_PLAN_CACHE: usize = 8;

const SETTINGS: &[Setting] = &[
    Setting {
        key: "tract_plan_cache",
        kind: Kind::Count { min: 1 },
        help: "optimized plans tract keeps per model, one per set of input shapes (least recently used dropped first)",
        default: Some("8"),
    },
    Setting {
        key: "tract_known_faults",
        kind: Kind::Choice(edgerun_formats::onnx::KNOWN_FAULTS),
        help: "refuse (default): refuse an ONNX model using a construct tract computes wrongly (docs/onnx-node.md); allow: run it anyway",
        default: Some("refuse"),
    },
];

/// The tract backend's own options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TractOptions {
    /// Optimized plans kept per prepared model, one per set of concrete input shapes (at
    /// least 1).
    pub plan_cache: usize,
    /// Refuse ONNX models that use a construct tract is known to compute wrongly (default).
    pub refuse_known_faults: bool,
}

impl Default for TractOptions {
    fn default() -> TractOptions {
        TractOptions {
            plan_cache: DEFAULT_PLAN_CACHE,
            refuse_known_faults: true,
        }
    }
}

/// The tract backend. Cheap to create.
#[derive(Debug, Default, Clone, Copy)]
pub struct TractBackend {
    options: TractOptions,
}

impl TractBackend {
    pub fn new() -> TractBackend {
        TractBackend::default()
    }

    /// All of the backend's options at once.
    pub fn with_options(mut self, options: TractOptions) -> TractBackend {
        self.options = options;
        self
    }

    /// Keep at most `plans` optimized plans per model (at least 1).
    pub fn with_plan_cache(mut self, plans: usize) -> TractBackend {
        self.options.plan_cache = plans.max(1);
        self
    }

    pub fn options(&self) -> &TractOptions {
        &self.options
    }
}

type Plan = Arc<TypedRunnableModel>;

impl Backend for TractBackend {
    fn descriptor(&self) -> &'static Descriptor {
        &DESCRIPTOR
    }

    fn set(&mut self, key: &str, value: Value) -> Result<()> {
        match (key, value) {
            ("tract_plan_cache", Value::Count(n)) => self.options.plan_cache = n.max(1),
            ("tract_known_faults", Value::Choice(w)) => {
                self.options.refuse_known_faults = w == "refuse"
            }
            (key, _) => return Err(settings::unknown(&DESCRIPTOR, key)),
        }
        Ok(())
    }

    fn get(&self, key: &str) -> Option<Value> {
        match key {
            "tract_plan_cache" => Some(Value::Count(self.options.plan_cache)),
            "tract_known_faults" => Some(Value::Choice(if self.options.refuse_known_faults {
                "refuse"
            } else {
                "allow"
            })),
            _ => None,
        }
    }

    fn availability(&self) -> Availability {
        Availability::Available {
            detail: format!(
                "tract {} (pure Rust, {} kernels)",
                tract_version(),
                std::env::consts::ARCH
            ),
        }
    }

    fn version(&self) -> Option<String> {
        Some(tract_version().to_string())
    }

    fn prepare(&self, model: &ModelSource, options: &Options) -> Result<Box<dyn Prepared>> {
        if model.format() == ModelFormat::Onnx && self.options.refuse_known_faults {
            edgerun_formats::onnx::refuse_known_fault(
                NAME,
                edgerun_formats::onnx::Engine::Tract,
                "tract_known_faults",
                &model.read_bytes()?,
            )?;
        }
        let template = guard(model.path(), model.format(), "preparing the model", || {
            template(model, options)
        })?;
        let inputs = template.inputs()?;
        let outputs = template.outputs()?;
        let input_symbols = match &template {
            Template::Typed(m) => input_symbols(m)?,
            Template::Onnx(_) => Vec::new(),
        };
        let executor = match options.threads {
            Some(n) if n > 1 => guard(model.path(), model.format(), "starting threads", || {
                pool(n, options.affinity.clone())
            })?,
            _ => Executor::SingleThread,
        };
        // the shapes to plan for now: fixed ones, else the hints given
        let prepared_shapes: Vec<Option<Vec<usize>>> = inputs
            .iter()
            .map(|i| {
                i.fixed_shape()
                    .or_else(|| options.input_shape(&i.name).map(<[usize]>::to_vec))
            })
            .collect();
        let shared = Arc::new(Shared {
            template,
            input_symbols,
            plans: Mutex::new(Vec::new()),
            capacity: self.options.plan_cache.max(1),
            path: model.path().into(),
            format: model.format(),
        });
        if prepared_shapes.iter().all(Option::is_some) {
            let shapes: Vec<&[usize]> = prepared_shapes
                .iter()
                .flatten()
                .map(Vec::as_slice)
                .collect();
            shared.plan_for(&shapes)?;
        }
        Ok(Box::new(TractPrepared {
            shared,
            inputs,
            outputs,
            executor,
            prepared_shapes,
        }))
    }

    fn inspect(&self, model: &ModelSource) -> Result<ModelInfo> {
        guard(
            model.path(),
            model.format(),
            "reading the model",
            || match model.format() {
                ModelFormat::Onnx => {
                    let m = load_onnx(model)?;
                    let inputs = inference_infos(&m, true)?;
                    // outputs as analysed with symbolic inputs; what the file declares if that fails
                    Ok(match symbolic_outputs(m.clone(), &inputs) {
                        Some(outputs) => ModelInfo {
                            inputs,
                            outputs,
                            output_shapes_known: true,
                        },
                        None => ModelInfo {
                            outputs: inference_infos(&m, false)?,
                            inputs,
                            output_shapes_known: false,
                        },
                    })
                }
                _ => {
                    let m = load_typed(model)?;
                    Ok(ModelInfo {
                        inputs: infos(&m, true)?,
                        outputs: infos(&m, false)?,
                        output_shapes_known: true,
                    })
                }
            },
        )
    }
}

/// Why the dispatcher does not pick tract for `.tflite` models by itself.
pub const TFLITE_NOT_AUTOMATIC: &str = "not chosen automatically for TensorFlow Lite models: tract 0.23.9's TensorFlow Lite reader computes a TensorFlow-converted MobileNetV2 (models/mobilenetv2_mini.tflite) wrongly, off by 0.66 on logits of magnitude 8; choose the tract backend by name to use it anyway";

/// tract's version, as compiled in.
pub fn tract_version() -> &'static str {
    "0.23.9"
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_panic_is_a_fault_in_tract_on_checked_formats_and_corruption_on_nnef() {
        let path = Path::new("m.onnx");
        let e = guard::<()>(path, ModelFormat::Onnx, "reading the model", || {
            panic!("index out of bounds")
        })
        .unwrap_err();
        assert_eq!(e.kind(), edgerun_core::ErrorKind::Backend);
        let text = e.to_string();
        let (head, tail) = text.split_once(", at ").unwrap();
        assert_eq!(
            head,
            format!(
                "tract: tract {} failed while reading the model (index out of bounds",
                tract_version()
            )
        );
        assert!(
            tail.starts_with("crates/edgerun-tract/src/lib.rs:"),
            "{tail}"
        );
        assert!(
            tail.ends_with(") on \"m.onnx\", a file that passed edgerun's checks: a fault in tract, not a corrupt file; try another backend, and report it with the model"),
            "{tail}"
        );
        let e = guard::<()>(path, ModelFormat::Nnef, "reading the model", || {
            panic!("eof")
        })
        .unwrap_err();
        assert_eq!(e.kind(), edgerun_core::ErrorKind::InvalidModel);
        assert!(e.to_string().contains("corrupt or truncated"), "{e}");
        assert_eq!(guard(path, ModelFormat::Onnx, "x", || Ok(7)).unwrap(), 7);
    }

    use super::*;

    #[test]
    fn the_version_is_the_one_built_in() {
        // the tract-onnx this workspace locks, read from Cargo.lock
        let lock =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock"))
                .unwrap();
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains("name = \"tract-onnx\"\n"))
            .and_then(|p| p.split("version = \"").nth(1))
            .and_then(|v| v.split('"').next())
            .unwrap();
        assert_eq!(tract_version(), locked);
    }
}
