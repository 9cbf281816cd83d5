//! A test fixture: a shared library that looks like ONNX Runtime 1.10 to anyone who asks. It
//! exports `OrtGetApiBase`, reports version "1.10.0" and serves no API version above 10, as
//! that release would; the ort backend must refuse it with an error naming both versions.

use std::ffi::{c_char, c_void};

#[repr(C)]
pub struct ApiBase {
    get_api: extern "C" fn(u32) -> *const c_void,
    get_version_string: extern "C" fn() -> *const c_char,
}

/// Stands in for the API table of an old release (never read: only API 10 and below return it).
static TABLE: [usize; 1] = [0];

extern "C" fn get_api(version: u32) -> *const c_void {
    if version <= 10 {
        TABLE.as_ptr().cast()
    } else {
        std::ptr::null()
    }
}

extern "C" fn get_version_string() -> *const c_char {
    c"1.10.0".as_ptr()
}

static BASE: ApiBase = ApiBase {
    get_api,
    get_version_string,
};

#[no_mangle]
pub extern "C" fn OrtGetApiBase() -> *const ApiBase {
    &BASE
}
