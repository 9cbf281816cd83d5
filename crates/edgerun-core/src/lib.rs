//! Values and contracts shared by every edgerun crate: tensors, element types, model formats,
//! the backend contract, the one error type, and the device description. Nothing here depends on
//! a backend.

#![forbid(unsafe_code)]

pub mod artifact;
pub mod backend;
pub mod dtype;
pub mod error;
pub mod format;
pub mod library;
pub mod limits;
pub mod npy;
pub mod platform;
pub mod settings;
pub mod tensor;

pub use backend::{
    check_inputs, order_inputs, Availability, Backend, BackendReport, DelegateReport, Descriptor,
    Dim, ModelInfo, OpTiming, Options, Prepared, Session, TensorInfo,
};
pub use dtype::{DType, Element, Quant};
pub use error::{EngineError, Error, ErrorKind, Result};
pub use format::{ModelFormat, ModelSource};
pub use half::{bf16, f16};
pub use platform::{CpuAffinity, Placement, Platform};
pub use settings::{Kind, Setting, Value};
pub use tensor::{AsTensorView, Data, DataRef, Mismatch, Tensor, TensorView, Tolerance};
