//! The one place this backend touches C directly: before the `ort` crate is given a library,
//! edgerun opens it itself, checks it exports `OrtGetApiBase`, reads its version and checks
//! that it serves the API version `ort` asks for. `ort` would panic on the last two.

use std::ffi::CStr;
use std::os::raw::c_char;
use std::path::Path;

use edgerun_core::library::{loader_message, LoadFailure};

/// The entry point every ONNX Runtime library exports.
pub const ENTRY: &str = "OrtGetApiBase";

/// `OrtApiBase` of onnxruntime_c_api.h: two function pointers.
#[repr(C)]
struct ApiBase {
    get_api: unsafe extern "C" fn(u32) -> *const std::ffi::c_void,
    get_version_string: unsafe extern "C" fn() -> *const c_char,
}

/// What a checked library is.
#[derive(Debug)]
pub struct Checked {
    /// edgerun's own handle, kept open while the process runs (as `ort` keeps its own):
    /// unloading ONNX Runtime while its threads or statics live is never safe.
    pub library: libloading::Library,
    /// As the library reports it (`1.31.1`).
    pub version: String,
    /// Whether it serves the API version `ort` needs.
    pub serves_api: bool,
}

/// Open the library, read its version and ask for API `api_version`.
pub fn check(path: &Path, api_version: u32) -> Result<Checked, LoadFailure> {
    // SAFETY: loading a shared library runs its initialisers; the file was checked to be an
    // ELF shared object for this machine (or is a name the system loader resolves), which is
    // the contract of every run-time-loaded backend.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|e| LoadFailure::Open(loader_message(&e)))?;
    // SAFETY: the symbol's type is `const OrtApiBase* OrtGetApiBase(void)` in every ONNX
    // Runtime release; it is only called while `lib` is open.
    let entry = unsafe {
        lib.get::<unsafe extern "C" fn() -> *const ApiBase>(b"OrtGetApiBase\0")
            .map_err(|_| LoadFailure::MissingSymbol(ENTRY))?
    };
    // SAFETY: OrtGetApiBase takes nothing and returns a pointer to a static struct (or null,
    // checked below).
    let base = unsafe { entry() };
    if base.is_null() {
        return Err(LoadFailure::Open(
            "OrtGetApiBase returned no API table".into(),
        ));
    }
    // SAFETY: `base` is non-null and points to the library's static OrtApiBase, which lives
    // while the library is loaded; both members are plain C functions without arguments or
    // with one integer.
    let (version, serves_api) = unsafe {
        let base = &*base;
        let v = (base.get_version_string)();
        let version = if v.is_null() {
            String::from("unknown")
        } else {
            CStr::from_ptr(v).to_string_lossy().into_owned()
        };
        (version, !(base.get_api)(api_version).is_null())
    };
    Ok(Checked {
        library: lib,
        version,
        serves_api,
    })
}
