//! Every call into the TensorFlow Lite C library and into delegate plugins. The only module of
//! this crate with `unsafe`.
//!
//! Each C handle is a `NonNull` owned by one Rust value whose `Drop` releases it. Handles keep
//! what they depend on alive: an interpreter holds its model (whose bytes TFLite reads until the
//! end) and its delegates, and everything holds the [`Api`], so the shared library is never
//! unloaded while a handle from it lives.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::{Arc, Mutex};

use edgefirst_tflite_sys::{
    TfLiteDelegate, TfLiteInterpreter, TfLiteInterpreterOptions, TfLiteModel,
    TfLiteQuantizationParams, TfLiteStatus, TfLiteTensor, TfLiteType,
};
use edgerun_core::library::{loader_message, LoadFailure};
use edgerun_core::{Data, DataRef};

/// The C functions edgerun calls on the normal path. All must be present.
macro_rules! api_fns {
    ($($name:ident : $ty:ty;)*) => {
        #[allow(non_snake_case)]
        struct Fns { $($name: $ty,)* }

        /// Names of the required functions, in the order they are checked.
        pub const REQUIRED_SYMBOLS: &[&str] = &[$(stringify!($name)),*];

        impl Fns {
            fn resolve(sys: &edgefirst_tflite_sys::tensorflowlite_c) -> Result<Fns, &'static str> {
                Ok(Fns { $($name: *sys.$name.as_ref().map_err(|_| stringify!($name))?,)* })
            }
        }
    };
}

api_fns! {
    TfLiteVersion: unsafe extern "C" fn() -> *const c_char;
    TfLiteModelCreate: unsafe extern "C" fn(*const c_void, usize) -> *mut TfLiteModel;
    TfLiteModelDelete: unsafe extern "C" fn(*mut TfLiteModel);
    TfLiteInterpreterOptionsCreate: unsafe extern "C" fn() -> *mut TfLiteInterpreterOptions;
    TfLiteInterpreterOptionsDelete: unsafe extern "C" fn(*mut TfLiteInterpreterOptions);
    TfLiteInterpreterOptionsSetNumThreads: unsafe extern "C" fn(*mut TfLiteInterpreterOptions, i32);
    TfLiteInterpreterOptionsAddDelegate: unsafe extern "C" fn(*mut TfLiteInterpreterOptions, *mut TfLiteDelegate);
    TfLiteInterpreterCreate: unsafe extern "C" fn(*const TfLiteModel, *const TfLiteInterpreterOptions) -> *mut TfLiteInterpreter;
    TfLiteInterpreterDelete: unsafe extern "C" fn(*mut TfLiteInterpreter);
    TfLiteInterpreterGetInputTensorCount: unsafe extern "C" fn(*const TfLiteInterpreter) -> i32;
    TfLiteInterpreterGetOutputTensorCount: unsafe extern "C" fn(*const TfLiteInterpreter) -> i32;
    TfLiteInterpreterGetInputTensor: unsafe extern "C" fn(*const TfLiteInterpreter, i32) -> *mut TfLiteTensor;
    TfLiteInterpreterGetOutputTensor: unsafe extern "C" fn(*const TfLiteInterpreter, i32) -> *const TfLiteTensor;
    TfLiteInterpreterResizeInputTensor: unsafe extern "C" fn(*mut TfLiteInterpreter, i32, *const c_int, i32) -> TfLiteStatus;
    TfLiteInterpreterAllocateTensors: unsafe extern "C" fn(*mut TfLiteInterpreter) -> TfLiteStatus;
    TfLiteInterpreterInvoke: unsafe extern "C" fn(*mut TfLiteInterpreter) -> TfLiteStatus;
    TfLiteTensorType: unsafe extern "C" fn(*const TfLiteTensor) -> TfLiteType;
    TfLiteTensorNumDims: unsafe extern "C" fn(*const TfLiteTensor) -> i32;
    TfLiteTensorDim: unsafe extern "C" fn(*const TfLiteTensor, i32) -> i32;
    TfLiteTensorName: unsafe extern "C" fn(*const TfLiteTensor) -> *const c_char;
    TfLiteTensorQuantizationParams: unsafe extern "C" fn(*const TfLiteTensor) -> TfLiteQuantizationParams;
    TfLiteTensorCopyFromBuffer: unsafe extern "C" fn(*mut TfLiteTensor, *const c_void, usize) -> TfLiteStatus;
    TfLiteTensorCopyToBuffer: unsafe extern "C" fn(*const TfLiteTensor, *mut c_void, usize) -> TfLiteStatus;
}

/// `va_list` as a parameter: a pointer on x86_64 (array decay) and aarch64 (composite passed
/// by reference), a one-pointer struct passed by value on 32-bit Arm.
type VaList = *mut c_void;
type ReporterFn = unsafe extern "C" fn(*mut c_void, *const c_char, VaList);
type SetErrorReporterFn =
    unsafe extern "C" fn(*mut TfLiteInterpreterOptions, Option<ReporterFn>, *mut c_void);
type XnnCreateFn = unsafe extern "C" fn(*const c_void) -> *mut TfLiteDelegate;
type XnnDeleteFn = unsafe extern "C" fn(*mut TfLiteDelegate);
type PluginCreateFn = unsafe extern "C" fn(
    *const *const c_char,
    *const *const c_char,
    usize,
    Option<unsafe extern "C" fn(*const c_char)>,
) -> *mut TfLiteDelegate;
type PluginDestroyFn = unsafe extern "C" fn(*mut TfLiteDelegate);

extern "C" {
    fn vsnprintf(buf: *mut c_char, size: usize, format: *const c_char, args: VaList) -> c_int;
}

const OK: TfLiteStatus = 0;

/// A loaded TensorFlow Lite C library with every required function resolved.
pub struct Api {
    fns: Fns,
    set_error_reporter: Option<SetErrorReporterFn>,
    xnnpack: Option<(XnnCreateFn, XnnDeleteFn)>,
    path: PathBuf,
    version: String,
    // last: the function pointers above point into it
    _lib: edgefirst_tflite::Library,
}

// SAFETY: the library's function table is immutable after loading, and the TFLite C API
// functions used here are safe to call from any thread on distinct objects.
unsafe impl Send for Api {}
// SAFETY: as above; `Api` holds no mutable state.
unsafe impl Sync for Api {}

impl Api {
    /// Open the library at `path` and check every required function is present.
    pub fn load(path: &Path) -> Result<Api, LoadFailure> {
        // open once directly for the loader's own message (edgefirst-tflite's error does not
        // carry it); the second open below only takes another reference
        // SAFETY: loading a library runs its initialisers; the path is the TFLite library the
        // user pointed to or the usual name on the loader path.
        let first = unsafe { libloading::Library::new(path) }
            .map_err(|e| LoadFailure::Open(loader_message(&e)))?;
        let lib = edgefirst_tflite::Library::from_path(path)
            .map_err(|e| LoadFailure::Open(e.to_string()))?;
        drop(first);
        let fns = Fns::resolve(lib.as_sys()).map_err(LoadFailure::MissingSymbol)?;
        let raw = lib.as_sys().library();
        // SAFETY: the symbol names and signatures are those of the TFLite C API
        // (c_api.h, xnnpack_delegate.h); a missing symbol gives Err, never a call.
        let set_error_reporter =
            unsafe { raw.get::<SetErrorReporterFn>(b"TfLiteInterpreterOptionsSetErrorReporter\0") }
                .ok()
                .map(|s| *s);
        // SAFETY: as above.
        let xnnpack = unsafe {
            match (
                raw.get::<XnnCreateFn>(b"TfLiteXNNPackDelegateCreate\0"),
                raw.get::<XnnDeleteFn>(b"TfLiteXNNPackDelegateDelete\0"),
            ) {
                (Ok(c), Ok(d)) => Some((*c, *d)),
                _ => None,
            }
        };
        // SAFETY: TfLiteVersion was resolved above; it returns a static NUL-terminated string
        // (or NULL from a broken library, checked).
        let version = unsafe {
            let v = (fns.TfLiteVersion)();
            if v.is_null() {
                "unknown".to_string()
            } else {
                CStr::from_ptr(v).to_string_lossy().into_owned()
            }
        };
        Ok(Api {
            fns,
            set_error_reporter,
            xnnpack,
            path: path.to_path_buf(),
            version,
            _lib: lib,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `TfLiteVersion()`, e.g. `2.6.0`.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn has_xnnpack(&self) -> bool {
        self.xnnpack.is_some()
    }
}

/// The loader's own words (dlerror), which libloading keeps as the error's source.
/// Messages TFLite reports while building or running an interpreter.
#[derive(Default)]
pub struct Reports(Mutex<Vec<String>>);

impl Reports {
    fn push(&self, msg: String) {
        let mut v = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if v.len() < 64 {
            v.push(msg);
        }
    }

    /// Take what was reported so far.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// Format one report. Called by TFLite; must not unwind into C.
unsafe extern "C" fn report(user_data: *mut c_void, format: *const c_char, args: VaList) {
    let _ = std::panic::catch_unwind(|| {
        if user_data.is_null() || format.is_null() {
            return;
        }
        let mut buf = [0 as c_char; 1024];
        // SAFETY: `buf` is writable for its length; `format` and `args` come from TFLite's
        // reporter call and are forwarded unchanged, as the C API intends.
        let n = unsafe { vsnprintf(buf.as_mut_ptr(), buf.len(), format, args) };
        if n < 0 {
            return;
        }
        // SAFETY: vsnprintf NUL-terminates within the buffer.
        let text = unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .trim()
            .to_string();
        // SAFETY: `user_data` is the `Reports` registered with this interpreter's options; it
        // is boxed and outlives the interpreter (see `Interpreter`).
        let reports = unsafe { &*(user_data as *const Reports) };
        reports.push(text);
    });
}

/// A model: TFLite's handle and the bytes it reads from for its whole life.
pub struct Model {
    ptr: NonNull<TfLiteModel>,
    _bytes: Arc<[u8]>,
    api: Arc<Api>,
}

// SAFETY: a TfLiteModel is immutable after creation and may be shared by interpreters on any
// thread (c_api.h); the bytes it reads are an immutable Arc.
unsafe impl Send for Model {}
// SAFETY: as above.
unsafe impl Sync for Model {}

impl Model {
    /// Create a model from bytes already checked by `flatbuf::parse`.
    pub fn new(api: Arc<Api>, bytes: Arc<[u8]>) -> Option<Model> {
        // SAFETY: the pointer and length describe `bytes`, which this value keeps alive for as
        // long as the model (and every interpreter, which holds the model) exists.
        let ptr = unsafe { (api.fns.TfLiteModelCreate)(bytes.as_ptr().cast(), bytes.len()) };
        NonNull::new(ptr).map(|ptr| Model {
            ptr,
            _bytes: bytes,
            api,
        })
    }

    pub fn api(&self) -> Arc<Api> {
        self.api.clone()
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from TfLiteModelCreate and is deleted once, here; every
        // interpreter using it holds an Arc<Model> and so is already gone.
        unsafe { (self.api.fns.TfLiteModelDelete)(self.ptr.as_ptr()) }
    }
}

/// A delegate instance, released with the function that matches how it was created.
pub struct Delegate {
    ptr: NonNull<TfLiteDelegate>,
    release: unsafe extern "C" fn(*mut TfLiteDelegate),
    // keeps the code behind `release` loaded
    _owner: DelegateOwner,
}

enum DelegateOwner {
    Tflite(#[allow(dead_code)] Arc<Api>),
    Plugin(#[allow(dead_code)] Arc<Plugin>),
}

// SAFETY: a delegate is used by one interpreter, which is Send; the handle is moved, never
// shared.
unsafe impl Send for Delegate {}

impl Drop for Delegate {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from the create function paired with `release`, whose library
        // `_owner` keeps loaded; the interpreter using it was deleted first (field order in
        // `Interpreter`).
        unsafe { (self.release)(self.ptr.as_ptr()) }
    }
}

/// The XNNPACK delegate of the loaded TFLite library.
///
/// Only `num_threads` is set; the rest of the options struct is zero. The struct grew across
/// TFLite releases and `TfLiteXNNPackDelegateOptionsDefault` returns it by value, so calling
/// that with one fixed layout would be undefined on other releases; a zeroed 64-byte block
/// is a valid prefix for every layout so far.
pub fn xnnpack(api: &Arc<Api>, threads: i32) -> Option<Delegate> {
    let (create, delete) = api.xnnpack?;
    #[repr(C, align(8))]
    struct Opts([u8; 64]);
    let mut opts = Opts([0; 64]);
    opts.0[..4].copy_from_slice(&threads.to_ne_bytes());
    // SAFETY: `opts` is a zero-initialised block larger than any TfLiteXNNPackDelegateOptions
    // so far, with `num_threads` (its first field) set; TFLite copies what it needs.
    let ptr = unsafe { create((&opts as *const Opts).cast()) };
    NonNull::new(ptr).map(|ptr| Delegate {
        ptr,
        release: delete,
        _owner: DelegateOwner::Tflite(api.clone()),
    })
}

/// An external delegate plugin: a shared library with `tflite_plugin_create_delegate` and
/// `tflite_plugin_destroy_delegate`.
pub struct Plugin {
    create: PluginCreateFn,
    destroy: PluginDestroyFn,
    path: PathBuf,
    // last: the function pointers above point into it
    _lib: libloading::Library,
}

/// Why a plugin could not be used.
pub enum PluginError {
    Open(String),
    MissingSymbol(&'static str),
    BadOption(String),
    /// `tflite_plugin_create_delegate` returned NULL; with what the plugin reported.
    Refused(Vec<String>),
}

thread_local! {
    /// Reports of the plugin being created on this thread (the plugin error callback has no
    /// user data, and creation is synchronous).
    static PLUGIN_REPORTS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

unsafe extern "C" fn plugin_report(msg: *const c_char) {
    let _ = std::panic::catch_unwind(|| {
        if msg.is_null() {
            return;
        }
        // SAFETY: the plugin passes a NUL-terminated message valid during this call.
        let text = unsafe { CStr::from_ptr(msg) }
            .to_string_lossy()
            .trim()
            .to_string();
        PLUGIN_REPORTS.with(|r| r.borrow_mut().push(text));
    });
}

impl Plugin {
    /// Load a plugin and resolve its two entry points.
    pub fn load(path: &Path) -> Result<Arc<Plugin>, PluginError> {
        // SAFETY: loading a library runs its initialisers; the path is the user's explicit
        // choice of delegate, as with benchmark_model's --external_delegate_path.
        let lib = unsafe { libloading::Library::new(path) }
            .map_err(|e| PluginError::Open(loader_message(&e)))?;
        // SAFETY: the names and signatures are those of TFLite's external delegate plugin
        // interface (external_delegate_adaptor / delegate_plugin.h); a missing symbol is Err.
        let (create, destroy) = unsafe {
            let c = lib
                .get::<PluginCreateFn>(b"tflite_plugin_create_delegate\0")
                .map_err(|_| PluginError::MissingSymbol("tflite_plugin_create_delegate"))?;
            let d = lib
                .get::<PluginDestroyFn>(b"tflite_plugin_destroy_delegate\0")
                .map_err(|_| PluginError::MissingSymbol("tflite_plugin_destroy_delegate"))?;
            (*c, *d)
        };
        Ok(Arc::new(Plugin {
            create,
            destroy,
            path: path.to_path_buf(),
            _lib: lib,
        }))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Create a delegate, passing the options in the given order.
    pub fn create(
        self: &Arc<Plugin>,
        options: &[(String, String)],
    ) -> Result<Delegate, PluginError> {
        let c = |s: &str| {
            CString::new(s)
                .map_err(|_| PluginError::BadOption(format!("{s:?} contains a NUL byte")))
        };
        let keys: Vec<CString> = options
            .iter()
            .map(|(k, _)| c(k))
            .collect::<Result<_, _>>()?;
        let values: Vec<CString> = options
            .iter()
            .map(|(_, v)| c(v))
            .collect::<Result<_, _>>()?;
        let key_ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
        let value_ptrs: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
        PLUGIN_REPORTS.with(|r| r.borrow_mut().clear());
        // SAFETY: the arrays hold `options.len()` valid NUL-terminated strings that live
        // across the call; `plugin_report` matches the callback type and never unwinds.
        let ptr = unsafe {
            (self.create)(
                key_ptrs.as_ptr(),
                value_ptrs.as_ptr(),
                options.len(),
                Some(plugin_report),
            )
        };
        let reports = PLUGIN_REPORTS.with(|r| std::mem::take(&mut *r.borrow_mut()));
        match NonNull::new(ptr) {
            Some(ptr) => Ok(Delegate {
                ptr,
                release: self.destroy,
                _owner: DelegateOwner::Plugin(self.clone()),
            }),
            None => Err(PluginError::Refused(reports)),
        }
    }
}

/// A tensor's type, shape and quantization, as the interpreter has it.
pub struct TensorMeta {
    pub name: String,
    pub tensor_type: u32,
    pub scale: f32,
    pub zero_point: i32,
}

/// An interpreter with its delegates and model. Field order is drop order after `drop`.
pub struct Interpreter {
    ptr: NonNull<TfLiteInterpreter>,
    _delegates: Vec<Delegate>,
    reports: Box<Reports>,
    model: Arc<Model>,
}

// SAFETY: a TfLiteInterpreter may be used from any one thread at a time; `Interpreter` gives
// out no shared access (no Sync), and everything it owns is Send.
unsafe impl Send for Interpreter {}

/// A failed interpreter call, with TFLite's status (when a call returned one) and its own
/// reports.
pub struct Failure {
    pub what: &'static str,
    pub status: Option<TfLiteStatus>,
    pub reports: Vec<String>,
}

impl Failure {
    /// TensorFlow Lite's own account: its status, named as `TfLiteStatus` names it, and its
    /// reports.
    pub fn engine(&self) -> Box<edgerun_core::EngineError> {
        let code = self.status.map(|s| {
            let name = match s {
                1 => "kTfLiteError",
                2 => "kTfLiteDelegateError",
                3 => "kTfLiteApplicationError",
                4 => "kTfLiteDelegateDataNotFound",
                5 => "kTfLiteDelegateDataWriteError",
                6 => "kTfLiteDelegateDataReadError",
                7 => "kTfLiteUnresolvedOps",
                8 => "kTfLiteCancelled",
                _ => "unknown",
            };
            format!("{s} ({name})")
        });
        let message = if self.reports.is_empty() {
            format!("{} failed, with no report", self.what)
        } else {
            format!("{} failed: {}", self.what, self.reports.join("; "))
        };
        edgerun_core::EngineError::new("TensorFlow Lite", code, message)
    }
}

impl Interpreter {
    /// Create an interpreter with `threads` threads and the delegates, in order.
    pub fn new(
        model: Arc<Model>,
        threads: i32,
        delegates: Vec<Delegate>,
    ) -> Result<Interpreter, Failure> {
        let api = model.api.clone();
        let reports = Box::<Reports>::default();
        // SAFETY: every call below uses pointers created here and checked for NULL; the
        // options are deleted before returning (TfLiteInterpreterCreate copies what it needs);
        // the reporter's user data is the boxed `reports`, moved into the returned value so it
        // outlives the interpreter; the delegates are moved in too, and deleted after it.
        unsafe {
            let options = (api.fns.TfLiteInterpreterOptionsCreate)();
            if options.is_null() {
                return Err(Failure {
                    what: "creating interpreter options",
                    status: None,
                    reports: vec![],
                });
            }
            (api.fns.TfLiteInterpreterOptionsSetNumThreads)(options, threads);
            if let Some(set) = api.set_error_reporter {
                set(
                    options,
                    Some(report),
                    (&*reports as *const Reports).cast_mut().cast(),
                );
            }
            for d in &delegates {
                (api.fns.TfLiteInterpreterOptionsAddDelegate)(options, d.ptr.as_ptr());
            }
            let ptr = (api.fns.TfLiteInterpreterCreate)(model.ptr.as_ptr(), options);
            (api.fns.TfLiteInterpreterOptionsDelete)(options);
            match NonNull::new(ptr) {
                Some(ptr) => Ok(Interpreter {
                    ptr,
                    _delegates: delegates,
                    reports,
                    model,
                }),
                None => Err(Failure {
                    what: "creating the interpreter",
                    status: None,
                    reports: reports.take(),
                }),
            }
        }
    }

    fn api(&self) -> &Api {
        &self.model.api
    }

    /// The library this interpreter comes from.
    pub fn library(&self) -> Arc<Api> {
        self.model.api.clone()
    }

    fn status(&self, status: TfLiteStatus, what: &'static str) -> Result<(), Failure> {
        if status == OK {
            Ok(())
        } else {
            Err(Failure {
                what,
                status: Some(status),
                reports: self.reports.take(),
            })
        }
    }

    pub fn input_count(&self) -> usize {
        // SAFETY: `ptr` is a live interpreter.
        unsafe { (self.api().fns.TfLiteInterpreterGetInputTensorCount)(self.ptr.as_ptr()) }.max(0)
            as usize
    }

    pub fn output_count(&self) -> usize {
        // SAFETY: `ptr` is a live interpreter.
        unsafe { (self.api().fns.TfLiteInterpreterGetOutputTensorCount)(self.ptr.as_ptr()) }.max(0)
            as usize
    }

    pub fn resize_input(&mut self, index: usize, shape: &[i32]) -> Result<(), Failure> {
        // SAFETY: `index` < input_count (checked by the caller), `shape` is valid for its length.
        let s = unsafe {
            (self.api().fns.TfLiteInterpreterResizeInputTensor)(
                self.ptr.as_ptr(),
                index as i32,
                shape.as_ptr(),
                shape.len() as i32,
            )
        };
        self.status(s, "resizing an input")
    }

    pub fn allocate(&mut self) -> Result<(), Failure> {
        // SAFETY: `ptr` is a live interpreter.
        let s = unsafe { (self.api().fns.TfLiteInterpreterAllocateTensors)(self.ptr.as_ptr()) };
        self.status(s, "allocating tensors")
    }

    pub fn invoke(&mut self) -> Result<(), Failure> {
        // SAFETY: `ptr` is a live interpreter whose tensors were allocated.
        let s = unsafe { (self.api().fns.TfLiteInterpreterInvoke)(self.ptr.as_ptr()) };
        self.status(s, "running the model")
    }

    fn tensor(&self, input: bool, index: usize) -> Option<*const TfLiteTensor> {
        let count = if input {
            self.input_count()
        } else {
            self.output_count()
        };
        if index >= count {
            return None;
        }
        // SAFETY: `index` is below the tensor count of this live interpreter.
        let t = unsafe {
            if input {
                (self.api().fns.TfLiteInterpreterGetInputTensor)(self.ptr.as_ptr(), index as i32)
                    .cast_const()
            } else {
                (self.api().fns.TfLiteInterpreterGetOutputTensor)(self.ptr.as_ptr(), index as i32)
            }
        };
        (!t.is_null()).then_some(t)
    }

    pub fn meta(&self, input: bool, index: usize) -> Option<TensorMeta> {
        let t = self.tensor(input, index)?;
        let f = &self.api().fns;
        // SAFETY: `t` is a live tensor of this interpreter; the name is NUL-terminated and
        // copied at once (NULL checked).
        unsafe {
            let name_ptr = (f.TfLiteTensorName)(t);
            let name = if name_ptr.is_null() {
                String::new()
            } else {
                CStr::from_ptr(name_ptr).to_string_lossy().into_owned()
            };
            let q = (f.TfLiteTensorQuantizationParams)(t);
            Some(TensorMeta {
                name,
                tensor_type: (f.TfLiteTensorType)(t),
                scale: q.scale,
                zero_point: q.zero_point,
            })
        }
    }

    /// The current dims of input or output `index`, into `dims` (cleared first).
    pub fn dims(&self, input: bool, index: usize, dims: &mut Vec<usize>) -> bool {
        let Some(t) = self.tensor(input, index) else {
            return false;
        };
        let f = &self.api().fns;
        dims.clear();
        // SAFETY: `t` is a live tensor of this interpreter; dims are read by index below its
        // rank.
        unsafe {
            let rank = (f.TfLiteTensorNumDims)(t).max(0);
            dims.extend((0..rank).map(|d| (f.TfLiteTensorDim)(t, d).max(0) as usize));
        }
        true
    }

    /// Copy `src` straight into input `index`'s buffer (TFLite checks the byte size).
    pub fn write_input(&mut self, index: usize, src: DataRef<'_>) -> Result<(), Failure> {
        let t = self.tensor(true, index).ok_or(Failure {
            what: "finding an input",
            status: None,
            reports: vec![],
        })?;
        let (ptr, len) = src.raw_parts();
        // SAFETY: `t` is a live input tensor; `ptr` is valid for `len` bytes (the elements of
        // `src`, whose types are plain little-endian values or bools, which TFLite stores as
        // one byte 0/1 like Rust); TfLiteTensorCopyFromBuffer checks `len` against the tensor's
        // byte size before copying.
        let s =
            unsafe { (self.api().fns.TfLiteTensorCopyFromBuffer)(t.cast_mut(), ptr.cast(), len) };
        self.status(s, "copying an input")
    }

    /// Copy output `index` straight into `dst`, which has the output's type and element
    /// count; bools pass through `scratch` and are checked to be 0 or 1.
    pub fn read_output(
        &self,
        index: usize,
        dst: &mut Data,
        scratch: &mut Vec<u8>,
    ) -> Result<(), Failure> {
        let t = self.tensor(false, index).ok_or(Failure {
            what: "finding an output",
            status: None,
            reports: vec![],
        })?;
        let copy = self.api().fns.TfLiteTensorCopyToBuffer;
        let s = match dst.raw_parts_mut() {
            Some((ptr, len)) => {
                // SAFETY: `ptr` is writable for `len` bytes (the elements of `dst`, of types
                // for which every bit pattern is valid); the call checks `len` against the
                // tensor's byte size before copying.
                unsafe { copy(t, ptr.cast(), len) }
            }
            None => {
                let Data::Bool(v) = dst else {
                    unreachable!("only bool has no raw parts")
                };
                scratch.clear();
                scratch.resize(v.len(), 0);
                // SAFETY: `scratch` is writable for its length, which the call checks against
                // the tensor's byte size.
                let s = unsafe { copy(t, scratch.as_mut_ptr().cast(), scratch.len()) };
                if s == OK {
                    if scratch.iter().any(|&b| b > 1) {
                        return Err(Failure {
                            what: "reading a bool output (a value other than 0 or 1)",
                            status: None,
                            reports: vec![],
                        });
                    }
                    for (b, &x) in v.iter_mut().zip(scratch.iter()) {
                        *b = x == 1;
                    }
                }
                s
            }
        };
        self.status(s, "copying an output")
    }
}

impl Drop for Interpreter {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from TfLiteInterpreterCreate and is deleted once, here, before
        // the delegates, reports and model it uses (dropped after this, in field order).
        unsafe { (self.api().fns.TfLiteInterpreterDelete)(self.ptr.as_ptr()) }
    }
}
