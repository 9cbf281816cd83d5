//! edgerun runs neural-network models on the CPU and accelerators of Arm Cortex-A Linux boards.
//!
//! Hand it a model file; it recognises the format from the file's bytes, picks a backend that
//! can run it on this device, prepares the model once and gives sessions that turn input
//! [`Tensor`]s into output tensors.
//!
//! ```
//! # fn main() -> Result<(), edgerun::Error> {
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/mobilenetv2_mini.onnx");
//! use edgerun::{Runtime, Tensor};
//!
//! let model = Runtime::new().with_threads(2).load(path)?;
//! println!("{} runs on {}", model.path().display(), model.backend());
//!
//! let input = Tensor::from_vec(vec![1, 3, 224, 224], vec![0.5f32; 3 * 224 * 224])?;
//! let mut session = model.session()?;
//! let outputs = session.run_named(&[("input", &input)])?;
//! let logits = outputs.get("logits").expect("the model has a logits output");
//! assert_eq!(logits.shape(), &[1, 100]);
//! # Ok(())
//! # }
//! ```
//!
//! Backends are cargo features: `tract` (on by default) is pure-Rust CPU inference for ONNX,
//! NNEF and part of TensorFlow Lite. A backend compiled out still appears in
//! [`Runtime::backends`], reporting itself unavailable and why.

#![forbid(unsafe_code)]

/// The README's examples, compiled and run as doctests (from this crate's directory, where
/// `models` links to the workspace's models).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

use std::path::Path;

pub use edgerun_core::{bf16, f16};
/// The model-file checks every backend runs before its engine reads a file.
pub use edgerun_formats::{nnef, onnx};

/// The tract backend, to configure and [`Runtime::register`].
#[cfg(feature = "tract")]
pub use edgerun_tract as tract;

pub use edgerun_core::{
    backend, check_inputs, dtype, error, format, library, npy, order_inputs, platform, settings,
    tensor, AsTensorView, Availability, Backend, BackendReport, CpuAffinity, DType, Data, DataRef,
    DelegateReport, Descriptor, Dim, Element, Error, ErrorKind, Kind, ModelFormat, ModelInfo,
    ModelSource, OpTiming, Options, Placement, Platform, Prepared, Quant, Result, Session, Setting,
    Tensor, TensorInfo, TensorView, Tolerance, Value,
};

mod backends;
pub mod clock;
/// Using the library: choosing the backend, shapes at run time, image inputs, batches, each
/// engine's options, threads and CPUs. Its examples are compiled and run as doctests.
#[doc = include_str!("guide.md")]
pub mod guide {}
mod dispatch;
pub mod fill;
pub mod isolation;
pub use edgerun_core::limits;
mod model;
mod policy;
/// Image inputs: decoding, resizing, fitting and normalizing into a model's input tensor.
#[cfg(feature = "image")]
pub mod preprocess;
mod report;
mod runtime;
mod session;
pub use backends::BACKENDS;
pub use clock::{Clock, SystemClock};
pub use dispatch::cache::{CacheContents, CacheSetting};
pub use dispatch::decision::{CandidateReport, Decision, Outcome, Source};
/// The LiteRT backend, to configure (library path) and [`Runtime::register`].
#[cfg(feature = "litert")]
pub use edgerun_litert as litert;
#[cfg(feature = "ort")]
pub use edgerun_ort as ort;
/// The TensorFlow Lite backend, to configure (library path, XNNPACK, external delegates) and
/// [`Runtime::register`].
#[cfg(feature = "tflite")]
pub use edgerun_tflite as tflite;
pub use isolation::Isolation;
pub use model::Model;
pub use policy::{Policy, Rule};
pub use report::{BuildReport, DeviceReport, PlacementReport, Report, REPORT_SCHEMA};
pub use runtime::{Precision, Runtime, Selection, Variant, DEFAULT_MEASURE_BUDGET};
pub use session::{ModelSession, Outputs};

/// Open and prepare a model with default options on the backend chosen for it (see
/// [`Runtime::load_source`]).
///
/// # Errors
/// See [`Runtime::load`].
pub fn load(path: impl AsRef<Path>) -> Result<Model> {
    Runtime::new().load(path)
}
