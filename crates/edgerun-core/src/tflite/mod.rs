//! The TensorFlow Lite file format, shared by the backends that run it (`tflite`, `litert`):
//! a checker that reads every offset of an untrusted model before a C library does, and the
//! format's type codes and op names.

pub mod flatbuf;
pub mod types;
