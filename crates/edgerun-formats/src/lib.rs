//! The model-file checks of edgerun: a backend hands a file to its engine only after these
//! have read it. Engines trust their files (an index out of range in a TensorFlow Lite
//! flatbuffer, a tensor header that lies, a graph that refers to nothing can crash the
//! process); every offset, size and index here is checked against the file first, so a
//! corrupt or hostile file is an error naming what is wrong instead of a crash.
//!
//! - [`onnx`]: the protobuf's structure, tensors and graph references, and finding a node by
//!   its op;
//! - [`tflite`]: a bounds-checked flatbuffer reader and the checks on every table
//!   ([`tflite::flatbuf`]), type codes ([`tflite::types`]);
//! - [`nnef`]: an NNEF directory's or archive's graph and tensor files.

#![forbid(unsafe_code)]

pub mod nnef;
pub mod onnx;
pub mod tflite;
