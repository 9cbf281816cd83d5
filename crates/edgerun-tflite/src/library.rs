//! Finding and loading the TensorFlow Lite C library.

use std::path::Path;

use edgerun_core::library::{discover, LibrarySpec, Located};
use edgerun_core::Result;

use crate::sys;

/// Environment variable naming the TFLite C library to load.
pub const ENV_VAR: &str = "EDGERUN_TFLITE_LIB";

/// Library names tried on the loader path when no path is given.
pub const LIBRARY_NAMES: &[&str] = &[
    "libtensorflowlite_c.so",
    "libtensorflowlite_c.so.2",
    "libtensorflow-lite.so",
];

pub(crate) const SPEC: LibrarySpec = LibrarySpec {
    backend: crate::NAME,
    library: "TensorFlow Lite C library",
    env: ENV_VAR,
    more_env: &[],
    files: &["libtensorflowlite_c.so"],
    wheels: &[],
    names: LIBRARY_NAMES,
};

/// Explicit path, then `EDGERUN_TFLITE_LIB`, the bundle and system directories, then the usual
/// names on the loader path.
pub(crate) fn load(explicit: Option<&Path>) -> Result<Located<sys::Api>> {
    discover(&SPEC, explicit, sys::Api::load)
}

/// `major.minor` of a version string such as `2.6.0`.
pub(crate) fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split(['.', '-']);
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}
