//! edgerun's C API: the runtime, models and sessions of the `edgerun` crate behind opaque
//! handles, for C and C++ applications. `include/edgerun.h` is generated from this file by
//! cbindgen (`crates/edgerun-capi/regenerate-header`); its comments are these.
//!
//! Conventions, as in the C APIs of LiteRT, ONNX Runtime and tract:
//! - every handle has a create and a destroy call; destroying NULL does nothing;
//! - every other call returns an `edgerun_status`; on failure, `edgerun_last_error()` gives
//!   the message, on the calling thread, until its next call into edgerun;
//! - buffers are the caller's: inputs are read from the caller's memory during the run, and
//!   outputs stay in the session until its next run (or are copied into a caller's buffer);
//! - no Rust panic crosses into C: one is caught and returned as `EDGERUN_ERROR_INTERNAL`.
//!
//! Thread safety: a runtime may load models, and a model may make sessions, from several
//! threads at once once they are set up; the calls that change a runtime's options must not
//! run at the same time as any other call on it. A session is used by one thread at a time.

// C names for C types: the header reads as C
#![allow(non_camel_case_types)]

use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::ptr;

use facade::{
    CacheSetting, CpuAffinity, DType, DataRef, Dim, Error, ErrorKind, Model, ModelSession, Outputs,
    Policy, Runtime, TensorInfo, TensorView,
};

/// What a call did. `EDGERUN_OK` is 0; every other value is a failure, described by
/// `edgerun_last_error()`. The failures from loading and running are edgerun's error kinds;
/// `EDGERUN_ERROR_INVALID_ARGUMENT` is a mistake in the C call itself.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum edgerun_status {
    EDGERUN_OK = 0,
    /// A file could not be found or read.
    EDGERUN_ERROR_IO = 1,
    /// The model file is corrupt, truncated or not a model.
    EDGERUN_ERROR_INVALID_MODEL = 2,
    /// A valid model uses something no available backend can run.
    EDGERUN_ERROR_UNSUPPORTED = 3,
    /// An option or setting is wrong.
    EDGERUN_ERROR_INVALID_REQUEST = 4,
    /// The inputs of a run do not fit the model (count, dtype, shape).
    EDGERUN_ERROR_INVALID_INPUT = 5,
    /// The backend asked for cannot be used here (library missing or unusable).
    EDGERUN_ERROR_UNAVAILABLE = 6,
    /// The engine failed on a valid model and valid inputs.
    EDGERUN_ERROR_BACKEND = 7,
    /// The call's arguments are wrong: a NULL pointer, a string that is not UTF-8, a buffer
    /// whose size does not match, an index out of range.
    EDGERUN_ERROR_INVALID_ARGUMENT = 8,
    /// A bug in edgerun, caught at the boundary; the handle it happened on should be
    /// destroyed.
    EDGERUN_ERROR_INTERNAL = 9,
}

use edgerun_status::*;

/// Element types, as `edgerun_tensor_info.dtype` gives them and `edgerun_input.dtype` takes
/// them.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum edgerun_dtype {
    EDGERUN_DTYPE_F32 = 1,
    EDGERUN_DTYPE_F16 = 2,
    EDGERUN_DTYPE_BF16 = 3,
    EDGERUN_DTYPE_F64 = 4,
    EDGERUN_DTYPE_I8 = 5,
    EDGERUN_DTYPE_U8 = 6,
    EDGERUN_DTYPE_I16 = 7,
    EDGERUN_DTYPE_I32 = 8,
    EDGERUN_DTYPE_I64 = 9,
    EDGERUN_DTYPE_U16 = 10,
    EDGERUN_DTYPE_U32 = 11,
    EDGERUN_DTYPE_U64 = 12,
    /// One byte per element, 0 or 1.
    EDGERUN_DTYPE_BOOL = 13,
}

use edgerun_dtype::*;

const DTYPES: [(edgerun_dtype, DType); 13] = [
    (EDGERUN_DTYPE_F32, DType::F32),
    (EDGERUN_DTYPE_F16, DType::F16),
    (EDGERUN_DTYPE_BF16, DType::BF16),
    (EDGERUN_DTYPE_F64, DType::F64),
    (EDGERUN_DTYPE_I8, DType::I8),
    (EDGERUN_DTYPE_U8, DType::U8),
    (EDGERUN_DTYPE_I16, DType::I16),
    (EDGERUN_DTYPE_I32, DType::I32),
    (EDGERUN_DTYPE_I64, DType::I64),
    (EDGERUN_DTYPE_U16, DType::U16),
    (EDGERUN_DTYPE_U32, DType::U32),
    (EDGERUN_DTYPE_U64, DType::U64),
    (EDGERUN_DTYPE_BOOL, DType::Bool),
];

fn to_c_dtype(d: DType) -> edgerun_dtype {
    DTYPES
        .iter()
        .find(|(_, r)| *r == d)
        .map_or(EDGERUN_DTYPE_F32, |(c, _)| *c)
}

/// The dtype of a C `int32_t` (an `edgerun_dtype` value, but read as an integer: a value
/// outside the enum is an error, not undefined behaviour).
fn from_c_dtype(v: i32) -> Option<DType> {
    DTYPES.iter().find(|(c, _)| *c as i32 == v).map(|(_, r)| *r)
}

/// A model's input or output as the model declares it; `edgerun_session_output` fills one
/// with the shape of the last run. The pointers belong to the model (or the session) and stay
/// valid while it lives.
#[repr(C)]
pub struct edgerun_tensor_info {
    /// NUL-terminated, UTF-8.
    pub name: *const c_char,
    pub dtype: edgerun_dtype,
    /// Number of dimensions.
    pub rank: usize,
    /// `rank` dimensions; -1 for one that is known only at run time.
    pub shape: *const i64,
    /// Whether the tensor is quantized (then `scale` and `zero_point` apply).
    pub quantized: bool,
    pub scale: f32,
    pub zero_point: i32,
}

/// One input of a run, in the caller's memory, read during `edgerun_session_run` only.
#[repr(C)]
pub struct edgerun_input {
    /// The elements, in row-major order, aligned for their type. May be NULL when `bytes` is
    /// 0.
    pub data: *const c_void,
    /// Size of `data` in bytes: the element count times the element size.
    pub bytes: usize,
    /// An `edgerun_dtype` value.
    pub dtype: i32,
    /// `rank` dimensions, none negative.
    pub shape: *const i64,
    pub rank: usize,
}

/// An output of the last run, in the session's memory until its next run or destroy.
#[repr(C)]
pub struct edgerun_output {
    pub data: *const c_void,
    pub bytes: usize,
    pub info: edgerun_tensor_info,
}

/// Options, and the backends, that models are loaded with.
pub struct edgerun_runtime {
    rt: Runtime,
}

/// A model prepared on the backend chosen for it. Shared by the sessions made from it.
pub struct edgerun_model {
    model: Model,
    inputs: Vec<Described>,
    outputs: Vec<Described>,
    decision: CString,
}

/// One inference at a time on a model, with its outputs.
pub struct edgerun_session {
    session: ModelSession,
    outputs: Outputs,
    names: Vec<CString>,
    shapes: Vec<Vec<i64>>,
    /// The last run succeeded: its outputs are there to read.
    ran: bool,
}

/// A tensor's description, with the C strings and shape the info points into.
struct Described {
    name: CString,
    shape: Vec<i64>,
    info: TensorInfo,
}

impl Described {
    fn new(info: &TensorInfo) -> Described {
        Described {
            name: c_string(&info.name),
            shape: info
                .shape
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => i64::try_from(*n).unwrap_or(i64::MAX),
                    Dim::Dynamic(_) => -1,
                })
                .collect(),
            info: info.clone(),
        }
    }

    fn c_info(&self) -> edgerun_tensor_info {
        tensor_info(&self.name, self.info.dtype, &self.shape, self.info.quant)
    }
}

fn tensor_info(
    name: &CStr,
    dtype: DType,
    shape: &[i64],
    quant: Option<facade::Quant>,
) -> edgerun_tensor_info {
    edgerun_tensor_info {
        name: name.as_ptr(),
        dtype: to_c_dtype(dtype),
        rank: shape.len(),
        shape: shape.as_ptr(),
        quantized: quant.is_some(),
        scale: quant.map_or(0.0, |q| q.scale),
        zero_point: quant.map_or(0, |q| q.zero_point),
    }
}

/// A C string of `s`, with any NUL (which C cannot carry) shown as U+FFFD.
fn c_string(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{fffd}")).unwrap_or_default()
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    LAST_ERROR.with(|e| *e.borrow_mut() = c_string(message));
}

fn status_of(e: &Error) -> edgerun_status {
    match e.kind() {
        ErrorKind::Io => EDGERUN_ERROR_IO,
        ErrorKind::InvalidModel => EDGERUN_ERROR_INVALID_MODEL,
        ErrorKind::Unsupported => EDGERUN_ERROR_UNSUPPORTED,
        ErrorKind::InvalidRequest => EDGERUN_ERROR_INVALID_REQUEST,
        ErrorKind::InvalidInput => EDGERUN_ERROR_INVALID_INPUT,
        ErrorKind::Unavailable => EDGERUN_ERROR_UNAVAILABLE,
        ErrorKind::Backend => EDGERUN_ERROR_BACKEND,
        // a kind newer than this list: a failure still, with its message
        _ => EDGERUN_ERROR_BACKEND,
    }
}

/// A failure of a call: edgerun's own error, or a mistake in the C arguments.
enum Failure {
    Edgerun(Error),
    Argument(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Edgerun(e)
    }
}

fn argument(message: impl Into<String>) -> Failure {
    Failure::Argument(message.into())
}

/// Runs a call's body: its failure becomes a status and the thread's last error, and a panic
/// is caught before it reaches C.
fn call(name: &str, body: impl FnOnce() -> Result<(), Failure>) -> edgerun_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last_error("");
            EDGERUN_OK
        }
        Ok(Err(Failure::Edgerun(e))) => {
            set_last_error(&e.to_string());
            status_of(&e)
        }
        Ok(Err(Failure::Argument(m))) => {
            set_last_error(&format!("{name}: {m}"));
            EDGERUN_ERROR_INVALID_ARGUMENT
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no message");
            set_last_error(&format!(
                "{name}: internal error in edgerun ({what}); please report it"
            ));
            EDGERUN_ERROR_INTERNAL
        }
    }
}

/// A required handle, or an error naming the argument.
///
/// # Safety
/// `p` is NULL or points to a live value of its type.
unsafe fn handle<'a, T>(p: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: the caller's contract: NULL or a live handle made by this library
    unsafe { p.as_ref() }.ok_or_else(|| argument(format!("{what} is NULL")))
}

/// # Safety
/// As [`handle`], and no other reference to the value is in use.
unsafe fn handle_mut<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller's contract: NULL or a live handle used by one thread at a time
    unsafe { p.as_mut() }.ok_or_else(|| argument(format!("{what} is NULL")))
}

/// A required out-pointer.
///
/// # Safety
/// `p` is NULL or valid for a write of `T`.
unsafe fn out<'a, T>(p: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: the caller's contract: NULL or writable
    unsafe { p.as_mut() }.ok_or_else(|| argument(format!("{what} (the result) is NULL")))
}

/// A required string argument, as UTF-8.
///
/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn text<'a>(p: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(argument(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|e| argument(format!("{what} is not UTF-8 ({e})")))
}

/// The runtime, replaced by what `f` makes of it; on an error the runtime is unchanged.
fn update(
    h: &mut edgerun_runtime,
    check: impl Fn(Runtime) -> facade::Result<Runtime>,
) -> Result<(), Failure> {
    // each setter consumes the runtime: try it on a fresh one first, so that a refused
    // setting leaves this one as it was
    check(Runtime::new())?;
    let rt = std::mem::replace(&mut h.rt, Runtime::with_backends(Vec::new()));
    h.rt = check(rt)?;
    Ok(())
}

/// edgerun's version, `MAJOR.MINOR.PATCH`; static, never NULL.
#[no_mangle]
pub extern "C" fn edgerun_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The message of the calling thread's last failed call ("" after a call that succeeded).
/// Valid until the thread's next call into edgerun; never NULL.
#[no_mangle]
pub extern "C" fn edgerun_last_error() -> *const c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// A runtime with every backend of this build and the defaults: `auto` chooses the backend by
/// measuring, one thread per big core, the decision store in `~/.cache/edgerun`.
///
/// # Safety
/// `out_runtime` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgerun_runtime_create(
    out_runtime: *mut *mut edgerun_runtime,
) -> edgerun_status {
    call("edgerun_runtime_create", || {
        // SAFETY: forwarded contract
        let slot = unsafe { out(out_runtime, "out_runtime") }?;
        // before the first search for an engine: `lib/edgerun/` beside this library, where a
        // bundle or an install prefix puts the engines that came with it
        static HOME: std::sync::Once = std::sync::Once::new();
        HOME.call_once(|| {
            if let Some(dir) = library_dir() {
                facade::library::set_library_home(dir);
            }
        });
        *slot = Box::into_raw(Box::new(edgerun_runtime { rt: Runtime::new() }));
        Ok(())
    })
}

/// The directory of the shared library this code was loaded from (`dladdr` on one of its
/// functions), or `None` when it is linked statically into the program: the program's own
/// bundle directory is searched already.
fn library_dir() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    let here = edgerun_version as *const c_void;
    // SAFETY: dladdr only reads the address (a function of this object) and fills `info`
    let found = unsafe { libc::dladdr(here, info.as_mut_ptr()) };
    if found == 0 {
        return None;
    }
    // SAFETY: dladdr succeeded, so it wrote the whole struct (it was zeroed before)
    let info = unsafe { info.assume_init() };
    if info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: a NUL-terminated path owned by the dynamic loader, alive while this object is
    // loaded; copied at once
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    let path = std::path::Path::new(std::ffi::OsStr::from_bytes(name.to_bytes()));
    let file = path.file_name()?.to_string_lossy();
    if !file.contains(".so") {
        return None;
    }
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    path.parent().map(std::path::Path::to_path_buf)
}

/// Destroys a runtime. Models loaded with it stay valid. NULL does nothing.
///
/// # Safety
/// `runtime` is NULL or a runtime not destroyed yet, used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn edgerun_runtime_destroy(runtime: *mut edgerun_runtime) {
    if !runtime.is_null() {
        // SAFETY: made by Box::into_raw in edgerun_runtime_create, destroyed once
        drop(unsafe { Box::from_raw(runtime) });
    }
}

/// Inference threads per model; 0 or less restores the default (one per big core, and the
/// count measured by `auto`).
///
/// # Safety
/// `runtime` is NULL or a live runtime, used by no other thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn edgerun_runtime_set_threads(
    runtime: *mut edgerun_runtime,
    threads: i32,
) -> edgerun_status {
    call("edgerun_runtime_set_threads", || {
        // SAFETY: forwarded contract
        let h = unsafe { handle_mut(runtime, "runtime") }?;
        let options = facade::Options {
            threads: usize::try_from(threads).ok().filter(|&t| t > 0),
            ..h.rt.options().clone()
        };
        update(h, |rt| Ok(rt.with_options(options.clone())))
    })
}

/// The CPUs inference threads run on: `big`, `little`, `all`, `default` or a list such as
/// `0-3,6`.
///
/// # Safety
/// `runtime` is NULL or a live runtime, used by no other thread meanwhile; `affinity` is
/// NULL or NUL-terminated.
#[no_mangle]
pub unsafe extern "C" fn edgerun_runtime_set_affinity(
    runtime: *mut edgerun_runtime,
    affinity: *const c_char,
) -> edgerun_status {
    call("edgerun_runtime_set_affinity", || {
        // SAFETY: forwarded contract
        let h = unsafe { handle_mut(runtime, "runtime") }?;
        // SAFETY: forwarded contract
        let a: CpuAffinity = unsafe { text(affinity, "affinity") }?.parse()?;
        update(h, |rt| Ok(rt.with_affinity(a.clone())))
    })
}

/// How the backend is chosen: `auto` (measure, the default), `first`, or a backend's name
/// (`tract`, `tflite`, `litert`, `ort`).
///
/// # Safety
/// As `edgerun_runtime_set_affinity`.
#[no_mangle]
pub unsafe extern "C" fn edgerun_runtime_set_backend(
    runtime: *mut edgerun_runtime,
    backend: *const c_char,
) -> edgerun_status {
    call("edgerun_runtime_set_backend", || {
        // SAFETY: forwarded contract
        let h = unsafe { handle_mut(runtime, "runtime") }?;
        // SAFETY: forwarded contract
        let name = unsafe { text(backend, "backend") }?.to_string();
        update(h, |rt| Ok(rt.with_backend(name.clone())))
    })
}

/// A backend's setting by name, as the CLI's `--key=value` (`litert_lib`, `use_xnnpack`,
/// `ort_optimization`, ...).
///
/// # Safety
/// As `edgerun_runtime_set_affinity`, for `key` and `value`.
#[no_mangle]
pub unsafe extern "C" fn edgerun_runtime_configure(
    runtime: *mut edgerun_runtime,
    key: *const c_char,
    value: *const c_char,
) -> edgerun_status {
    call("edgerun_runtime_configure", || {
        // SAFETY: forwarded contract
        let h = unsafe { handle_mut(runtime, "runtime") }?;
        // SAFETY: forwarded contract
        let (key, value) = unsafe { (text(key, "key")?, text(value, "value")?) };
        update(h, |rt| rt.configure(key, value))
    })
}

/// A policy file (TOML) whose rules set the backend, threads, affinity and settings per model.
///
/// # Safety
/// As `edgerun_runtime_set_affinity`, for `path`.
#[no_mangle]
pub unsafe extern "C" fn edgerun_runtime_set_policy(
    runtime: *mut edgerun_runtime,
    path: *const c_char,
) -> edgerun_status {
    call("edgerun_runtime_set_policy", || {
        // SAFETY: forwarded contract
        let h = unsafe { handle_mut(runtime, "runtime") }?;
        // SAFETY: forwarded contract
        let path = unsafe { text(path, "path") }?;
        let policy = Policy::from_file(path)?;
        update(h, |rt| rt.with_policy(policy.clone()))
    })
}

/// Where `auto` keeps its measured choices (and LiteRT its packed weights): a file path,
/// `off` to measure on every load, or NULL for the default (`EDGERUN_CACHE`, else
/// `~/.cache/edgerun/decisions.json`).
///
/// # Safety
/// As `edgerun_runtime_set_affinity`, for `path` (which may be NULL).
#[no_mangle]
pub unsafe extern "C" fn edgerun_runtime_set_decision_cache(
    runtime: *mut edgerun_runtime,
    path: *const c_char,
) -> edgerun_status {
    call("edgerun_runtime_set_decision_cache", || {
        // SAFETY: forwarded contract
        let h = unsafe { handle_mut(runtime, "runtime") }?;
        let setting = if path.is_null() {
            CacheSetting::Default
        } else {
            // SAFETY: forwarded contract
            match unsafe { text(path, "path") }? {
                "off" => CacheSetting::Off,
                p => CacheSetting::File(PathBuf::from(p)),
            }
        };
        update(h, |rt| Ok(rt.with_cache(setting.clone())))
    })
}

/// The shape a dynamic input is prepared for at load (`rank` dimensions, none negative).
///
/// # Safety
/// As `edgerun_runtime_set_affinity`, for `input`; `shape` is NULL or has `rank` elements.
#[no_mangle]
pub unsafe extern "C" fn edgerun_runtime_set_input_shape(
    runtime: *mut edgerun_runtime,
    input: *const c_char,
    shape: *const i64,
    rank: usize,
) -> edgerun_status {
    call("edgerun_runtime_set_input_shape", || {
        // SAFETY: forwarded contract
        let h = unsafe { handle_mut(runtime, "runtime") }?;
        // SAFETY: forwarded contract
        let name = unsafe { text(input, "input") }?.to_string();
        // SAFETY: forwarded contract
        let dims = unsafe { dims(shape, rank) }?;
        update(h, |rt| Ok(rt.with_input_shape(name.clone(), dims.clone())))
    })
}

/// `rank` dimensions from C, none negative.
///
/// # Safety
/// `shape` is NULL or has `rank` readable elements.
unsafe fn dims(shape: *const i64, rank: usize) -> Result<Vec<usize>, Failure> {
    if rank == 0 {
        return Ok(Vec::new());
    }
    if shape.is_null() {
        return Err(argument(format!("shape is NULL with rank {rank}")));
    }
    // SAFETY: non-NULL with `rank` elements by the caller's contract
    let s = unsafe { std::slice::from_raw_parts(shape, rank) };
    s.iter()
        .map(|&d| {
            usize::try_from(d)
                .map_err(|_| argument(format!("shape {s:?} has a negative dimension")))
        })
        .collect()
}

fn model_handle(model: Model) -> *mut edgerun_model {
    let inputs = model.inputs().iter().map(Described::new).collect();
    let outputs = model.outputs().iter().map(Described::new).collect();
    let decision = c_string(&model.decision().to_string());
    Box::into_raw(Box::new(edgerun_model {
        model,
        inputs,
        outputs,
        decision,
    }))
}

/// Loads a model file (ONNX, TensorFlow Lite, NNEF) on the backend the runtime chooses.
///
/// # Safety
/// `runtime` is NULL or a live runtime; `path` NULL or NUL-terminated; `out_model` NULL or
/// writable.
#[no_mangle]
pub unsafe extern "C" fn edgerun_model_load(
    runtime: *const edgerun_runtime,
    path: *const c_char,
    out_model: *mut *mut edgerun_model,
) -> edgerun_status {
    call("edgerun_model_load", || {
        // SAFETY: forwarded contract
        let (h, path, slot) = unsafe {
            (
                handle(runtime, "runtime")?,
                text(path, "path")?,
                out(out_model, "out_model")?,
            )
        };
        *slot = model_handle(h.rt.load(path)?);
        Ok(())
    })
}

/// Loads a model from memory (`bytes` bytes at `data`, copied), named `name` in messages.
///
/// # Safety
/// As `edgerun_model_load`; `data` is NULL or has `bytes` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn edgerun_model_load_bytes(
    runtime: *const edgerun_runtime,
    name: *const c_char,
    data: *const u8,
    bytes: usize,
    out_model: *mut *mut edgerun_model,
) -> edgerun_status {
    call("edgerun_model_load_bytes", || {
        // SAFETY: forwarded contract
        let (h, name, slot) = unsafe {
            (
                handle(runtime, "runtime")?,
                text(name, "name")?,
                out(out_model, "out_model")?,
            )
        };
        if data.is_null() && bytes > 0 {
            return Err(argument(format!("data is NULL with {bytes} bytes")));
        }
        let copy: Vec<u8> = if bytes == 0 {
            Vec::new()
        } else {
            // SAFETY: non-NULL with `bytes` readable bytes by the caller's contract
            unsafe { std::slice::from_raw_parts(data, bytes) }.to_vec()
        };
        *slot = model_handle(h.rt.load_bytes(name, copy)?);
        Ok(())
    })
}

/// Destroys a model. Its sessions must be destroyed first. NULL does nothing.
///
/// # Safety
/// `model` is NULL or a model not destroyed yet, with no session and no other thread using
/// it.
#[no_mangle]
pub unsafe extern "C" fn edgerun_model_destroy(model: *mut edgerun_model) {
    if !model.is_null() {
        // SAFETY: made by Box::into_raw in model_handle, destroyed once
        drop(unsafe { Box::from_raw(model) });
    }
}

/// Number of inputs (`output` false) or outputs (`output` true).
///
/// # Safety
/// `model` is NULL or live; `out_count` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgerun_model_count(
    model: *const edgerun_model,
    output: bool,
    out_count: *mut usize,
) -> edgerun_status {
    call("edgerun_model_count", || {
        // SAFETY: forwarded contract
        let (m, slot) = unsafe { (handle(model, "model")?, out(out_count, "out_count")?) };
        *slot = if output {
            m.outputs.len()
        } else {
            m.inputs.len()
        };
        Ok(())
    })
}

/// The description of input (`output` false) or output (`output` true) number `index`.
///
/// # Safety
/// `model` is NULL or live; `out_info` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgerun_model_tensor(
    model: *const edgerun_model,
    output: bool,
    index: usize,
    out_info: *mut edgerun_tensor_info,
) -> edgerun_status {
    call("edgerun_model_tensor", || {
        // SAFETY: forwarded contract
        let (m, slot) = unsafe { (handle(model, "model")?, out(out_info, "out_info")?) };
        let list = if output { &m.outputs } else { &m.inputs };
        let d = list.get(index).ok_or_else(|| {
            argument(format!(
                "{} {index} does not exist: the model has {}",
                if output { "output" } else { "input" },
                list.len()
            ))
        })?;
        *slot = d.c_info();
        Ok(())
    })
}

/// The index of the input named `name`.
///
/// # Safety
/// `model` is NULL or live; `name` NULL or NUL-terminated; `out_index` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgerun_model_input_index(
    model: *const edgerun_model,
    name: *const c_char,
    out_index: *mut usize,
) -> edgerun_status {
    call("edgerun_model_input_index", || {
        // SAFETY: forwarded contract
        let (m, name, slot) = unsafe {
            (
                handle(model, "model")?,
                text(name, "name")?,
                out(out_index, "out_index")?,
            )
        };
        let names: Vec<&str> = m.inputs.iter().map(|d| d.info.name.as_str()).collect();
        *slot = names.iter().position(|n| *n == name).ok_or_else(|| {
            argument(format!(
                "the model has no input {name:?}; its inputs: {}",
                names.join(", ")
            ))
        })?;
        Ok(())
    })
}

/// How the backend was chosen (`--explain`'s text): every candidate, its measured time or why
/// it was skipped, and the winner. Owned by the model.
///
/// # Safety
/// `model` is NULL or live; `out_text` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgerun_model_decision(
    model: *const edgerun_model,
    out_text: *mut *const c_char,
) -> edgerun_status {
    call("edgerun_model_decision", || {
        // SAFETY: forwarded contract
        let (m, slot) = unsafe { (handle(model, "model")?, out(out_text, "out_text")?) };
        *slot = m.decision.as_ptr();
        Ok(())
    })
}

/// A session to run the model. Each thread that runs the model at the same time needs its own.
///
/// # Safety
/// `model` is NULL or live (and outlives the session); `out_session` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgerun_session_create(
    model: *const edgerun_model,
    out_session: *mut *mut edgerun_session,
) -> edgerun_status {
    call("edgerun_session_create", || {
        // SAFETY: forwarded contract
        let (m, slot) = unsafe { (handle(model, "model")?, out(out_session, "out_session")?) };
        let session = m.model.session()?;
        let outputs = session.outputs();
        let names = m.outputs.iter().map(|d| d.name.clone()).collect();
        *slot = Box::into_raw(Box::new(edgerun_session {
            session,
            outputs,
            names,
            shapes: vec![Vec::new(); m.outputs.len()],
            ran: false,
        }));
        Ok(())
    })
}

/// Destroys a session and its outputs. NULL does nothing.
///
/// # Safety
/// `session` is NULL or a session not destroyed yet, used by no other thread.
#[no_mangle]
pub unsafe extern "C" fn edgerun_session_destroy(session: *mut edgerun_session) {
    if !session.is_null() {
        // SAFETY: made by Box::into_raw in edgerun_session_create, destroyed once
        drop(unsafe { Box::from_raw(session) });
    }
}

/// A view of one C input.
///
/// # Safety
/// `i.data` has `i.bytes` readable bytes and `i.shape` `i.rank` elements, or are NULL.
unsafe fn view<'a>(index: usize, i: &edgerun_input) -> Result<TensorView<'a>, Failure> {
    let dtype = from_c_dtype(i.dtype).ok_or_else(|| {
        argument(format!(
            "input {index}: dtype {} is not an edgerun_dtype value",
            i.dtype
        ))
    })?;
    // SAFETY: forwarded contract
    let shape = unsafe { dims(i.shape, i.rank) }.map_err(|f| match f {
        Failure::Argument(m) => argument(format!("input {index}: {m}")),
        other => other,
    })?;
    let count = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| argument(format!("input {index}: shape {shape:?} overflows")))?;
    let size = dtype.size_of();
    if count.checked_mul(size) != Some(i.bytes) {
        return Err(argument(format!(
            "input {index}: {} bytes given; shape {shape:?} of {dtype} needs {count} × {size}",
            i.bytes
        )));
    }
    if count > 0 && i.data.is_null() {
        return Err(argument(format!("input {index}: data is NULL")));
    }
    if count > 0 && !(i.data as usize).is_multiple_of(size) {
        return Err(argument(format!(
            "input {index}: data is not aligned for {dtype} ({size} bytes)"
        )));
    }
    macro_rules! slice {
        ($t:ty) => {
            if count == 0 {
                &[]
            } else {
                // SAFETY: non-NULL, aligned for $t, and `count` elements long (checked above
                // against `bytes`, which the caller vouches for); read-only for the run
                unsafe { std::slice::from_raw_parts(i.data.cast::<$t>(), count) }
            }
        };
    }
    let data = match dtype {
        DType::F32 => DataRef::F32(slice!(f32)),
        DType::F16 => DataRef::F16(slice!(half::f16)),
        DType::BF16 => DataRef::BF16(slice!(half::bf16)),
        DType::F64 => DataRef::F64(slice!(f64)),
        DType::I8 => DataRef::I8(slice!(i8)),
        DType::U8 => DataRef::U8(slice!(u8)),
        DType::I16 => DataRef::I16(slice!(i16)),
        DType::I32 => DataRef::I32(slice!(i32)),
        DType::I64 => DataRef::I64(slice!(i64)),
        DType::U16 => DataRef::U16(slice!(u16)),
        DType::U32 => DataRef::U32(slice!(u32)),
        DType::U64 => DataRef::U64(slice!(u64)),
        DType::Bool => {
            let bytes: &[u8] = slice!(u8);
            // a byte other than 0 or 1 is not a Rust bool
            if let Some(at) = bytes.iter().position(|&b| b > 1) {
                return Err(argument(format!(
                    "input {index}: bool element {at} is {}, not 0 or 1",
                    bytes[at]
                )));
            }
            // SAFETY: every byte is 0 or 1, valid bools of the same size and alignment
            DataRef::Bool(unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast(), count) })
        }
    };
    Ok(TensorView::from_data(shape, data)?)
}

/// Runs the model once on `count` inputs, in the order of the model's inputs. Outputs stay in
/// the session until its next run: `edgerun_session_output`.
///
/// # Safety
/// `session` is NULL or live, used by this thread only; `inputs` is NULL or has `count`
/// elements, each valid as `edgerun_input` says.
#[no_mangle]
pub unsafe extern "C" fn edgerun_session_run(
    session: *mut edgerun_session,
    inputs: *const edgerun_input,
    count: usize,
) -> edgerun_status {
    call("edgerun_session_run", || {
        // SAFETY: forwarded contract
        let s = unsafe { handle_mut(session, "session") }?;
        let given: &[edgerun_input] = if count == 0 {
            &[]
        } else if inputs.is_null() {
            return Err(argument(format!("inputs is NULL with count {count}")));
        } else {
            // SAFETY: non-NULL with `count` elements by the caller's contract
            unsafe { std::slice::from_raw_parts(inputs, count) }
        };
        let views = given
            .iter()
            .enumerate()
            // SAFETY: each input is valid by the caller's contract
            .map(|(k, i)| unsafe { view(k, i) })
            .collect::<Result<Vec<_>, Failure>>()?;
        s.ran = false;
        s.session.run_into(&views, &mut s.outputs)?;
        s.ran = true;
        for (shape, t) in s.shapes.iter_mut().zip(s.outputs.tensors()) {
            shape.clear();
            shape.extend(
                t.shape()
                    .iter()
                    .map(|&d| i64::try_from(d).unwrap_or(i64::MAX)),
            );
        }
        Ok(())
    })
}

/// Output number `index` of the last run: its elements (in the session's memory until the
/// next run or destroy) and its description with the run's shape.
///
/// # Safety
/// `session` is NULL or live; `out_output` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn edgerun_session_output(
    session: *const edgerun_session,
    index: usize,
    out_output: *mut edgerun_output,
) -> edgerun_status {
    call("edgerun_session_output", || {
        // SAFETY: forwarded contract
        let (s, slot) = unsafe { (handle(session, "session")?, out(out_output, "out_output")?) };
        if !s.ran {
            return Err(argument(
                "the session has no outputs: its last run failed, or it has not run",
            ));
        }
        let t = s.outputs.tensors().get(index).ok_or_else(|| {
            argument(format!(
                "output {index} does not exist: the model has {}",
                s.outputs.len()
            ))
        })?;
        let (data, bytes) = bytes_of(t.data().as_ref());
        *slot = edgerun_output {
            data,
            bytes,
            info: tensor_info(&s.names[index], t.dtype(), &s.shapes[index], t.quant()),
        };
        Ok(())
    })
}

/// Copies output number `index` of the last run into the caller's `buffer` of `bytes` bytes,
/// which must be its exact size.
///
/// # Safety
/// `session` is NULL or live; `buffer` NULL or writable for `bytes` bytes.
#[no_mangle]
pub unsafe extern "C" fn edgerun_session_copy_output(
    session: *const edgerun_session,
    index: usize,
    buffer: *mut c_void,
    bytes: usize,
) -> edgerun_status {
    let mut output = edgerun_output {
        data: ptr::null(),
        bytes: 0,
        info: tensor_info(c"", DType::F32, &[], None),
    };
    // SAFETY: forwarded contract; `output` is writable
    let status = unsafe { edgerun_session_output(session, index, &mut output) };
    if status != EDGERUN_OK {
        return status;
    }
    call("edgerun_session_copy_output", || {
        if output.bytes != bytes {
            return Err(argument(format!(
                "output {index} has {} bytes; the buffer has {bytes}",
                output.bytes
            )));
        }
        if bytes > 0 {
            if buffer.is_null() {
                return Err(argument("buffer is NULL"));
            }
            // SAFETY: both regions are `bytes` long (the output's by its tensor, the buffer by
            // the caller's contract) and cannot overlap: the output is the session's
            unsafe { ptr::copy_nonoverlapping(output.data.cast::<u8>(), buffer.cast(), bytes) };
        }
        Ok(())
    })
}

/// The address and byte length of a tensor's elements.
fn bytes_of(data: DataRef<'_>) -> (*const c_void, usize) {
    fn raw<T>(s: &[T]) -> (*const c_void, usize) {
        (s.as_ptr().cast(), std::mem::size_of_val(s))
    }
    match data {
        DataRef::F32(s) => raw(s),
        DataRef::F16(s) => raw(s),
        DataRef::BF16(s) => raw(s),
        DataRef::F64(s) => raw(s),
        DataRef::I8(s) => raw(s),
        DataRef::U8(s) => raw(s),
        DataRef::I16(s) => raw(s),
        DataRef::I32(s) => raw(s),
        DataRef::I64(s) => raw(s),
        DataRef::U16(s) => raw(s),
        DataRef::U32(s) => raw(s),
        DataRef::U64(s) => raw(s),
        DataRef::Bool(s) => raw(s),
    }
}

// what the header promises about sharing: a runtime and a model may be used from several
// threads, a session moved between them
const _: () = {
    const fn shared<T: Send + Sync>() {}
    const fn sent<T: Send>() {}
    shared::<Runtime>();
    shared::<Model>();
    sent::<ModelSession>();
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtypes_map_both_ways_and_refuse_unknown_values() {
        for d in DType::ALL {
            assert_eq!(from_c_dtype(to_c_dtype(d) as i32), Some(d));
        }
        assert_eq!(from_c_dtype(0), None);
        assert_eq!(from_c_dtype(99), None);
    }
}
