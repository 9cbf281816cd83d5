//! Every call into LiteRT's C library (`libLiteRt.so`). The only module of this crate with
//! `unsafe`.
//!
//! Signatures follow google-ai-edge/LiteRT's `litert/c/` headers of the 2.2/2.3 line. Each C
//! handle is owned by one Rust value whose `Drop` releases it, and holds what it depends on
//! (the [`Api`], hence the loaded library; a compiled model its environment and model).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::{Path, PathBuf};
use std::ptr::{null, null_mut, NonNull};
use std::sync::Arc;

use edgerun_core::library::{loader_message, LoadFailure};
use edgerun_core::{Data, DataRef};

pub type Status = c_int;
type Handle = *mut c_void;
type Index = usize;

/// `LiteRtLayout`: rank in bits 0-6 of the first word, `has_strides` in bit 7, then
/// `int32_t dimensions[8]` and `uint32_t strides[8]` (68 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Layout {
    rank_bits: u32,
    pub dims: [i32; 8],
    strides: [u32; 8],
}

impl Layout {
    pub fn rank(&self) -> usize {
        (self.rank_bits & 0x7f) as usize
    }

    pub fn dims(&self) -> &[i32] {
        &self.dims[..self.rank().min(8)]
    }

    pub fn of(shape: &[usize]) -> Option<Layout> {
        if shape.len() > 8 {
            return None;
        }
        let mut dims = [0i32; 8];
        for (d, &s) in dims.iter_mut().zip(shape) {
            *d = i32::try_from(s).ok()?;
        }
        Some(Layout {
            rank_bits: shape.len() as u32,
            dims,
            strides: [0; 8],
        })
    }
}

/// `LiteRtRankedTensorType` (72 bytes).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct RankedType {
    pub element_type: c_int,
    pub layout: Layout,
}

/// `LiteRtQuantizationPerTensor`.
#[repr(C)]
#[derive(Clone, Copy, Default)]
struct PerTensor {
    scale: f32,
    zero_point: i64,
}

const _: () = assert!(std::mem::size_of::<Layout>() == 68);
const _: () = assert!(std::mem::size_of::<RankedType>() == 72);
const _: () = assert!(std::mem::size_of::<PerTensor>() == 16);

const OK: Status = 0;
const HW_CPU: c_int = 1;
/// TFLITE_XNNPACK_DELEGATE_FLAG_QS8, _QU8 and _FORCE_FP16 (tflite/delegates/xnnpack/
/// xnnpack_delegate.h).
const XNN_QS8: u32 = 0x1;
const XNN_QU8: u32 = 0x2;
const XNN_FORCE_FP16: u32 = 0x4;
const LOCK_READ: c_int = 0;
const LOCK_WRITE: c_int = 1;
const RANKED: c_int = 0;
const PER_TENSOR: c_int = 1;

/// The C functions edgerun calls. All must be present.
macro_rules! api_fns {
    ($($name:ident : $ty:ty;)*) => {
        #[allow(non_snake_case)]
        struct Fns { $($name: $ty,)* }

        /// Names of the required functions, in the order they are checked.
        pub const REQUIRED_SYMBOLS: &[&str] = &[$(stringify!($name)),*];

        impl Fns {
            fn resolve(lib: &libloading::Library) -> Result<Fns, &'static str> {
                // SAFETY: each name is looked up with the signature of the LiteRT C header it
                // comes from; a missing name gives Err, never a call.
                unsafe {
                    Ok(Fns { $($name: *lib
                        .get::<$ty>(concat!(stringify!($name), "\0").as_bytes())
                        .map_err(|_| stringify!($name))?,)* })
                }
            }
        }
    };
}

api_fns! {
    LiteRtCreateEnvironment: unsafe extern "C" fn(c_int, *const c_void, *mut Handle) -> Status;
    LiteRtDestroyEnvironment: unsafe extern "C" fn(Handle);
    LiteRtCreateModelFromBuffer: unsafe extern "C" fn(Handle, *const c_void, usize, *mut Handle) -> Status;
    LiteRtDestroyModel: unsafe extern "C" fn(Handle);
    LiteRtGetNumModelSignatures: unsafe extern "C" fn(Handle, *mut Index) -> Status;
    LiteRtGetModelSignature: unsafe extern "C" fn(Handle, Index, *mut Handle) -> Status;
    LiteRtGetNumSignatureInputs: unsafe extern "C" fn(Handle, *mut Index) -> Status;
    LiteRtGetNumSignatureOutputs: unsafe extern "C" fn(Handle, *mut Index) -> Status;
    LiteRtGetSignatureInputName: unsafe extern "C" fn(Handle, Index, *mut *const c_char) -> Status;
    LiteRtGetSignatureOutputName: unsafe extern "C" fn(Handle, Index, *mut *const c_char) -> Status;
    LiteRtGetSignatureInputTensorByIndex: unsafe extern "C" fn(Handle, Index, *mut Handle) -> Status;
    LiteRtGetSignatureOutputTensorByIndex: unsafe extern "C" fn(Handle, Index, *mut Handle) -> Status;
    LiteRtGetTensorName: unsafe extern "C" fn(Handle, *mut *const c_char) -> Status;
    LiteRtGetTensorTypeId: unsafe extern "C" fn(Handle, *mut c_int) -> Status;
    LiteRtGetRankedTensorType: unsafe extern "C" fn(Handle, *mut RankedType) -> Status;
    LiteRtGetQuantizationTypeId: unsafe extern "C" fn(Handle, *mut c_int) -> Status;
    LiteRtGetPerTensorQuantization: unsafe extern "C" fn(Handle, *mut PerTensor) -> Status;
    LiteRtCreateOptions: unsafe extern "C" fn(*mut Handle) -> Status;
    LiteRtDestroyOptions: unsafe extern "C" fn(Handle);
    LiteRtSetOptionsHardwareAccelerators: unsafe extern "C" fn(Handle, c_int) -> Status;
    LiteRtCreateOpaqueOptions: unsafe extern "C" fn(*const c_char, *mut c_void, Option<unsafe extern "C" fn(*mut c_void)>, *mut Handle) -> Status;
    LiteRtDestroyOpaqueOptions: unsafe extern "C" fn(Handle);
    LiteRtAddOpaqueOptions: unsafe extern "C" fn(Handle, Handle) -> Status;
    LiteRtCreateCompiledModel: unsafe extern "C" fn(Handle, Handle, Handle, *mut Handle) -> Status;
    LiteRtDestroyCompiledModel: unsafe extern "C" fn(Handle);
    LiteRtGetCompiledModelInputTensorLayout: unsafe extern "C" fn(Handle, Index, Index, *mut Layout) -> Status;
    LiteRtGetCompiledModelOutputTensorLayouts: unsafe extern "C" fn(Handle, Index, usize, *mut Layout, bool) -> Status;
    LiteRtGetCompiledModelInputBufferRequirements: unsafe extern "C" fn(Handle, Index, Index, *mut Handle) -> Status;
    LiteRtGetCompiledModelOutputBufferRequirements: unsafe extern "C" fn(Handle, Index, Index, *mut Handle) -> Status;
    LiteRtGetTensorBufferRequirementsBufferSize: unsafe extern "C" fn(Handle, *mut usize) -> Status;
    LiteRtCompiledModelResizeInputTensor: unsafe extern "C" fn(Handle, Index, Index, *const c_int, usize) -> Status;
    LiteRtCreateTensorBufferFromHostMemory: unsafe extern "C" fn(*const RankedType, *mut c_void, usize, Option<unsafe extern "C" fn(*mut c_void)>, *mut Handle) -> Status;
    LiteRtDestroyTensorBuffer: unsafe extern "C" fn(Handle);
    LiteRtLockTensorBuffer: unsafe extern "C" fn(Handle, *mut *mut c_void, c_int) -> Status;
    LiteRtUnlockTensorBuffer: unsafe extern "C" fn(Handle) -> Status;
    LiteRtRunCompiledModel: unsafe extern "C" fn(Handle, Index, usize, *mut Handle, usize, *mut Handle) -> Status;
}

/// LiteRT's profiler (`litert/c/litert_profiler.h`, `LiteRtCompiledModelGetProfiler` in
/// `litert_compiled_model.h`): optional, a library without it runs unprofiled.
#[allow(non_snake_case)]
struct ProfilerFns {
    LiteRtCompiledModelGetProfiler: unsafe extern "C" fn(Handle, *mut Handle) -> Status,
    LiteRtStartProfiler: unsafe extern "C" fn(Handle) -> Status,
    LiteRtStopProfiler: unsafe extern "C" fn(Handle) -> Status,
    LiteRtGetNumProfilerEvents: unsafe extern "C" fn(Handle, *mut c_int) -> Status,
    LiteRtGetProfilerEvents: unsafe extern "C" fn(Handle, c_int, *mut ProfiledEventData) -> Status,
}

impl ProfilerFns {
    fn resolve(lib: &libloading::Library) -> Option<ProfilerFns> {
        // SAFETY: each name is looked up with the signature of the header it comes from; a
        // missing one gives None, never a call.
        unsafe {
            Some(ProfilerFns {
                LiteRtCompiledModelGetProfiler: *lib
                    .get(b"LiteRtCompiledModelGetProfiler\0")
                    .ok()?,
                LiteRtStartProfiler: *lib.get(b"LiteRtStartProfiler\0").ok()?,
                LiteRtStopProfiler: *lib.get(b"LiteRtStopProfiler\0").ok()?,
                LiteRtGetNumProfilerEvents: *lib.get(b"LiteRtGetNumProfilerEvents\0").ok()?,
                LiteRtGetProfilerEvents: *lib.get(b"LiteRtGetProfilerEvents\0").ok()?,
            })
        }
    }
}

/// `LiteRtMemoryUsage` (`litert/c/litert_profiler_event.h`).
#[repr(C)]
#[derive(Clone, Copy)]
struct MemoryUsage {
    total_allocated: usize,
    in_use_allocated: usize,
    private_footprint: usize,
}

/// `ProfiledEventData` (`litert/c/litert_profiler_event.h`); the enums read as `int`.
#[repr(C)]
#[derive(Clone, Copy)]
struct ProfiledEventData {
    tag: *const c_char,
    event_type: c_int,
    start_timestamp_us: u64,
    elapsed_time_us: u64,
    begin_mem_usage: MemoryUsage,
    end_mem_usage: MemoryUsage,
    event_metadata1: u64,
    event_metadata2: u64,
    event_source: c_int,
}

/// One event of a profiled run, copied out of LiteRT's buffer.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileEvent {
    /// The operator's name as its kernel says it (`CONV_2D`, or an XNNPACK operator's
    /// `Convolution (NHWC, F32) IGEMM`), or a runtime stage's.
    pub tag: String,
    /// `LiteRtProfilerEventType`: 2 an operator the interpreter ran, 8 an operator a delegate
    /// ran and timed (XNNPACK), others runtime stages.
    pub kind: c_int,
    pub micros: u64,
    /// The interpreter's node index (kind 2), or the operator's index in the delegate's own
    /// graph (kind 8).
    pub node: u64,
    pub subgraph: u64,
}

/// The interpreter ran an operator.
pub const EVENT_OPERATOR: c_int = 2;
/// A delegate ran an operator and timed it itself.
pub const EVENT_DELEGATE_OPERATOR: c_int = 8;

/// LiteRT's status codes, named (the library exports no function that names them).
pub fn status_name(s: Status) -> &'static str {
    match s {
        0 => "ok",
        1 => "invalid argument",
        2 => "memory allocation failure",
        3 => "runtime failure",
        4 => "missing input tensor",
        5 => "unsupported",
        6 => "not found",
        7 => "timeout expired",
        8 => "wrong version",
        9 => "unknown error",
        10 => "already exists",
        100 => "cancelled",
        500 => "file I/O error",
        501 => "invalid flatbuffer",
        502 => "dynamic loading error",
        503 => "serialization error",
        504 => "compilation error",
        1000 => "index out of bounds",
        1001 => "invalid IR type",
        1002 => "invalid graph invariant",
        4000 => "unsupported runtime version",
        4001 => "unsupported compiler version",
        4002 => "incompatible byte code version",
        5000 => "no shape inference for an op",
        5001 => "shape inference failed",
        _ => "unrecognised status",
    }
}

/// A failed call: which function, and its status.
#[derive(Debug)]
pub struct Failure {
    pub call: &'static str,
    pub status: Status,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} returned status {} ({})",
            self.call,
            self.status,
            status_name(self.status)
        )
    }
}

impl Failure {
    /// LiteRT's own account: its status code, named, and the call that returned it.
    pub fn engine(&self) -> Box<edgerun_core::EngineError> {
        edgerun_core::EngineError::new(
            "LiteRT",
            Some(format!("{} ({})", self.status, status_name(self.status))),
            format!("{} failed", self.call),
        )
    }

    /// LiteRT says the model's flatbuffer is invalid.
    pub fn invalid_model(&self) -> bool {
        self.status == 501
    }
}

fn check(call: &'static str, status: Status) -> Result<(), Failure> {
    if status == OK {
        Ok(())
    } else {
        Err(Failure { call, status })
    }
}

/// `RTLD_NODELETE` (the same value on Linux for x86_64, aarch64 and 32-bit Arm).
const fn libc_rtld_nodelete() -> std::ffi::c_int {
    0x1000
}

/// A loaded LiteRT C library with every required function resolved.
pub struct Api {
    fns: Fns,
    profiler: Option<ProfilerFns>,
    path: PathBuf,
    // last: the function pointers above point into it
    _lib: libloading::Library,
}

// SAFETY: the function table is immutable after loading; the LiteRT C functions used here
// may be called from any thread on distinct objects.
unsafe impl Send for Api {}
// SAFETY: as above; `Api` holds no mutable state.
unsafe impl Sync for Api {}

impl Api {
    /// Open the library at `path` and check every required function is present.
    pub fn load(path: &Path) -> Result<Api, LoadFailure> {
        // SAFETY: loading a library runs its initialisers; the path is the LiteRT library the
        // user pointed to, or the usual name on the loader path.
        // RTLD_NODELETE: the library stays mapped for the life of the process. LiteRT leaves
        // process-wide state behind (its XNNPACK thread pools and registries, destroyed at
        // exit); unmapping its code earlier makes that exit crash.
        let lib = unsafe {
            libloading::os::unix::Library::open(
                Some(path),
                libloading::os::unix::RTLD_LAZY
                    | libloading::os::unix::RTLD_LOCAL
                    | libc_rtld_nodelete(),
            )
        }
        .map(libloading::Library::from)
        .map_err(|e| LoadFailure::Open(loader_message(&e)))?;
        let fns = Fns::resolve(&lib).map_err(LoadFailure::MissingSymbol)?;
        Ok(Api {
            fns,
            profiler: ProfilerFns::resolve(&lib),
            path: path.to_path_buf(),
            _lib: lib,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A LiteRT environment.
pub struct Environment {
    ptr: NonNull<c_void>,
    api: Arc<Api>,
}

// SAFETY: an environment is created once and only read by the models and compiled models that
// hold it; LiteRT shares it between compiled models on any thread.
unsafe impl Send for Environment {}
// SAFETY: as above.
unsafe impl Sync for Environment {}

impl Environment {
    pub fn new(api: Arc<Api>) -> Result<Environment, Failure> {
        let mut env = null_mut();
        // SAFETY: no options (count 0, NULL), as the header allows; `env` receives the handle.
        let s = unsafe { (api.fns.LiteRtCreateEnvironment)(0, null(), &mut env) };
        check("LiteRtCreateEnvironment", s)?;
        let ptr = NonNull::new(env).ok_or(Failure {
            call: "LiteRtCreateEnvironment",
            status: 9,
        })?;
        Ok(Environment { ptr, api })
    }
}

impl Drop for Environment {
    fn drop(&mut self) {
        // SAFETY: created by LiteRtCreateEnvironment, destroyed once; every model and compiled
        // model using it holds an Arc and is gone.
        unsafe { (self.api.fns.LiteRtDestroyEnvironment)(self.ptr.as_ptr()) }
    }
}

/// A tensor of a model's signature, as declared.
pub struct TensorDecl {
    pub name: String,
    pub element_type: c_int,
    /// Dims, -1 where dynamic; `None` for an unranked tensor.
    pub dims: Option<Vec<i32>>,
    /// Per-tensor quantization (scale, zero point).
    pub quant: Option<(f32, i64)>,
}

/// A model, with the bytes LiteRT reads from for its whole life.
pub struct Model {
    ptr: NonNull<c_void>,
    env: Arc<Environment>,
    _bytes: Arc<[u8]>,
}

// SAFETY: a model is immutable after creation and is shared by compiled models on any thread.
unsafe impl Send for Model {}
// SAFETY: as above.
unsafe impl Sync for Model {}

impl Model {
    /// Create a model from bytes already checked by the TFLite format checker.
    pub fn new(env: Arc<Environment>, bytes: Arc<[u8]>) -> Result<Model, Failure> {
        let mut m = null_mut();
        // SAFETY: the pointer and length describe `bytes`, kept alive by the returned value
        // for as long as the model exists.
        let s = unsafe {
            (env.api.fns.LiteRtCreateModelFromBuffer)(
                env.ptr.as_ptr(),
                bytes.as_ptr().cast(),
                bytes.len(),
                &mut m,
            )
        };
        check("LiteRtCreateModelFromBuffer", s)?;
        let ptr = NonNull::new(m).ok_or(Failure {
            call: "LiteRtCreateModelFromBuffer",
            status: 9,
        })?;
        Ok(Model {
            ptr,
            env,
            _bytes: bytes,
        })
    }

    fn fns(&self) -> &Fns {
        &self.env.api.fns
    }

    fn signature(&self) -> Result<Handle, Failure> {
        let f = self.fns();
        let mut n = 0;
        // SAFETY: `ptr` is a live model; the out-pointers are valid.
        unsafe {
            check(
                "LiteRtGetNumModelSignatures",
                (f.LiteRtGetNumModelSignatures)(self.ptr.as_ptr(), &mut n),
            )?;
            let mut sig = null_mut();
            check(
                "LiteRtGetModelSignature",
                (f.LiteRtGetModelSignature)(self.ptr.as_ptr(), 0, &mut sig),
            )?;
            Ok(sig)
        }
    }

    /// The inputs (or outputs) of the model's first signature, as declared.
    pub fn tensors(&self, inputs: bool) -> Result<Vec<TensorDecl>, Failure> {
        let sig = self.signature()?;
        let f = self.fns();
        let mut n = 0;
        // SAFETY: `sig` is a signature of this live model; every out-pointer is valid, and
        // the strings returned are owned by the model and copied at once (NULL checked).
        unsafe {
            if inputs {
                check(
                    "LiteRtGetNumSignatureInputs",
                    (f.LiteRtGetNumSignatureInputs)(sig, &mut n),
                )?;
            } else {
                check(
                    "LiteRtGetNumSignatureOutputs",
                    (f.LiteRtGetNumSignatureOutputs)(sig, &mut n),
                )?;
            }
            let mut out = Vec::with_capacity(n.min(4096));
            for i in 0..n {
                let mut t = null_mut();
                let mut name: *const c_char = null();
                if inputs {
                    check(
                        "LiteRtGetSignatureInputTensorByIndex",
                        (f.LiteRtGetSignatureInputTensorByIndex)(sig, i, &mut t),
                    )?;
                    check(
                        "LiteRtGetSignatureInputName",
                        (f.LiteRtGetSignatureInputName)(sig, i, &mut name),
                    )?;
                } else {
                    check(
                        "LiteRtGetSignatureOutputTensorByIndex",
                        (f.LiteRtGetSignatureOutputTensorByIndex)(sig, i, &mut t),
                    )?;
                    check(
                        "LiteRtGetSignatureOutputName",
                        (f.LiteRtGetSignatureOutputName)(sig, i, &mut name),
                    )?;
                }
                // the tensor's own name (`serving_default_x:0`) is what TFLite and the
                // references use; the signature's name is the fallback
                let mut tname: *const c_char = null();
                let tn = (f.LiteRtGetTensorName)(t, &mut tname);
                let chosen = if tn == OK && !tname.is_null() {
                    tname
                } else {
                    name
                };
                let name = if chosen.is_null() {
                    format!("{} {i}", if inputs { "input" } else { "output" })
                } else {
                    CStr::from_ptr(chosen).to_string_lossy().into_owned()
                };
                let mut type_id = 0;
                check(
                    "LiteRtGetTensorTypeId",
                    (f.LiteRtGetTensorTypeId)(t, &mut type_id),
                )?;
                let (element_type, dims) = if type_id == RANKED {
                    let mut rt = RankedType {
                        element_type: 0,
                        layout: Layout::of(&[]).expect("rank 0 fits"),
                    };
                    check(
                        "LiteRtGetRankedTensorType",
                        (f.LiteRtGetRankedTensorType)(t, &mut rt),
                    )?;
                    (rt.element_type, Some(rt.layout.dims().to_vec()))
                } else {
                    (0, None)
                };
                let mut q_type = 0;
                let mut quant = None;
                if (f.LiteRtGetQuantizationTypeId)(t, &mut q_type) == OK && q_type == PER_TENSOR {
                    let mut q = PerTensor::default();
                    if (f.LiteRtGetPerTensorQuantization)(t, &mut q) == OK {
                        quant = Some((q.scale, q.zero_point));
                    }
                }
                out.push(TensorDecl {
                    name,
                    element_type,
                    dims,
                    quant,
                });
            }
            Ok(out)
        }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: created by LiteRtCreateModelFromBuffer, destroyed once; compiled models using
        // it hold an Arc<Model> and are gone.
        unsafe { (self.env.api.fns.LiteRtDestroyModel)(self.ptr.as_ptr()) }
    }
}

/// Frees a TOML payload given to LiteRT as opaque options. Called by LiteRT; never unwinds.
unsafe extern "C" fn free_payload(p: *mut c_void) {
    if !p.is_null() {
        // SAFETY: `p` came from CString::into_raw in `compile`, and LiteRT calls this once.
        drop(unsafe { CString::from_raw(p.cast()) });
    }
}

/// A compiled model: the model prepared for the CPU accelerator with a thread count.
pub struct CompiledModel {
    ptr: NonNull<c_void>,
    model: Arc<Model>,
    /// The profiler the compiled model made and owns (until it is destroyed), when compiled
    /// with profiling on.
    profiler: Option<NonNull<c_void>>,
}

// SAFETY: a compiled model is used by one session at a time (no Sync); it may move between
// threads.
unsafe impl Send for CompiledModel {}

impl CompiledModel {
    /// Compile for the CPU with `threads` XNNPACK threads; with `profiling`, with LiteRT's
    /// profiler attached (XNNPACK then times each of its operators on every run); with
    /// `weight_cache`, XNNPACK's packed weights are read from that file, or written to it when
    /// it is missing (a path fit for LiteRT's TOML: see `session::toml_path`).
    pub fn new(
        model: Arc<Model>,
        threads: usize,
        profiling: bool,
        fp16: bool,
        weight_cache: Option<&str>,
    ) -> Result<CompiledModel, Failure> {
        let f = model.fns();
        let env = &model.env;
        let mut opts = null_mut();
        // SAFETY: the options are created, filled and destroyed here (the compiled model
        // copies what it needs, the caller keeps ownership per the header). Each opaque
        // options payload is a heap C string whose ownership passes to LiteRT with its
        // destructor, on success; on failure it is freed here.
        unsafe {
            check("LiteRtCreateOptions", (f.LiteRtCreateOptions)(&mut opts))?;
            let result = (|| -> Result<Handle, Failure> {
                check(
                    "LiteRtSetOptionsHardwareAccelerators",
                    (f.LiteRtSetOptionsHardwareAccelerators)(opts, HW_CPU),
                )?;
                // the CPU accelerator reads its options as TOML under "xnnpack"; newer
                // sources also read "cpu_delegate" for the interpreter: give both. The
                // runtime's own options ("runtime_options_string") turn the profiler on.
                let mut cpu = format!("num_threads = {threads}\n");
                if fp16 {
                    // `flags` replaces the delegate's default flags: QS8 and QU8 (quantized
                    // operators, on in LiteRT's builds) are given again with FORCE_FP16
                    cpu.push_str(&format!("flags = {}\n", XNN_QS8 | XNN_QU8 | XNN_FORCE_FP16));
                }
                if let Some(path) = weight_cache {
                    // XNNPACK maps the file when it holds packed weights, else packs into it
                    cpu.push_str(&format!("weight_cache_file_path = \"{path}\"\n"));
                }
                let mut payloads = vec![(c"xnnpack", cpu.clone()), (c"cpu_delegate", cpu)];
                if profiling {
                    payloads.push((
                        c"runtime_options_string",
                        "enable_profiling = true\n".into(),
                    ));
                }
                for (id, text) in payloads {
                    let payload = CString::new(text)
                        .expect("no NUL in the payload")
                        .into_raw();
                    let mut o = null_mut();
                    let s = (f.LiteRtCreateOpaqueOptions)(
                        id.as_ptr(),
                        payload.cast(),
                        Some(free_payload),
                        &mut o,
                    );
                    if s != OK {
                        free_payload(payload.cast());
                        return Err(Failure {
                            call: "LiteRtCreateOpaqueOptions",
                            status: s,
                        });
                    }
                    let s = (f.LiteRtAddOpaqueOptions)(opts, o);
                    if s != OK {
                        (f.LiteRtDestroyOpaqueOptions)(o);
                        return Err(Failure {
                            call: "LiteRtAddOpaqueOptions",
                            status: s,
                        });
                    }
                }
                let mut cm = null_mut();
                check(
                    "LiteRtCreateCompiledModel",
                    (f.LiteRtCreateCompiledModel)(
                        env.ptr.as_ptr(),
                        model.ptr.as_ptr(),
                        opts,
                        &mut cm,
                    ),
                )?;
                Ok(cm)
            })();
            (f.LiteRtDestroyOptions)(opts);
            let cm = result?;
            let ptr = NonNull::new(cm).ok_or(Failure {
                call: "LiteRtCreateCompiledModel",
                status: 9,
            })?;
            let mut profiler = null_mut();
            if let (true, Some(p)) = (profiling, &model.env.api.profiler) {
                // without the runtime option the call succeeds with no profiler (NULL)
                check(
                    "LiteRtCompiledModelGetProfiler",
                    (p.LiteRtCompiledModelGetProfiler)(ptr.as_ptr(), &mut profiler),
                )?;
            }
            Ok(CompiledModel {
                ptr,
                model: model.clone(),
                profiler: NonNull::new(profiler),
            })
        }
    }

    /// Whether [`CompiledModel::run_profiled`] gives events: compiled with profiling, by a
    /// library that has LiteRT's profiler.
    pub fn profiles(&self) -> bool {
        self.profiler.is_some()
    }

    /// Whether the library has LiteRT's profiler at all.
    pub fn library_profiles(&self) -> bool {
        self.api().profiler.is_some()
    }

    /// Run as [`CompiledModel::run`], with the profiler recording this run alone; its events.
    pub fn run_profiled(
        &mut self,
        inputs: &[TensorBuffer],
        outputs: &[TensorBuffer],
    ) -> Result<Vec<ProfileEvent>, Failure> {
        let api = self.api().clone();
        let (Some(profiler), Some(p)) = (self.profiler, &api.profiler) else {
            self.run(inputs, outputs)?;
            return Ok(Vec::new());
        };
        let h = profiler.as_ptr();
        // SAFETY: the profiler belongs to this live compiled model, which is not shared
        // (`&mut self`), so no run records into it meanwhile. Start clears earlier events.
        check("LiteRtStartProfiler", unsafe { (p.LiteRtStartProfiler)(h) })?;
        let ran = self.run(inputs, outputs);
        // SAFETY: as above; stopped whether or not the run succeeded.
        let stopped = check("LiteRtStopProfiler", unsafe { (p.LiteRtStopProfiler)(h) });
        ran?;
        stopped?;
        let mut n: c_int = 0;
        // SAFETY: `n` is valid for writes.
        check("LiteRtGetNumProfilerEvents", unsafe {
            (p.LiteRtGetNumProfilerEvents)(h, &mut n)
        })?;
        let count = usize::try_from(n).unwrap_or(0);
        if count == 0 {
            return Ok(Vec::new());
        }
        let empty = MemoryUsage {
            total_allocated: 0,
            in_use_allocated: 0,
            private_footprint: 0,
        };
        let mut raw = vec![
            ProfiledEventData {
                tag: null(),
                event_type: 0,
                start_timestamp_us: 0,
                elapsed_time_us: 0,
                begin_mem_usage: empty,
                end_mem_usage: empty,
                event_metadata1: 0,
                event_metadata2: 0,
                event_source: 0,
            };
            count
        ];
        // SAFETY: `raw` holds `n` events for LiteRT to fill.
        check("LiteRtGetProfilerEvents", unsafe {
            (p.LiteRtGetProfilerEvents)(h, n, raw.as_mut_ptr())
        })?;
        Ok(raw
            .iter()
            .map(|e| ProfileEvent {
                tag: if e.tag.is_null() {
                    String::new()
                } else {
                    // SAFETY: a tag is a NUL-terminated string in the profiler's buffer, valid
                    // until the next run records into it: copied now
                    unsafe { CStr::from_ptr(e.tag) }
                        .to_string_lossy()
                        .into_owned()
                },
                kind: e.event_type,
                micros: e.elapsed_time_us,
                node: e.event_metadata1,
                subgraph: e.event_metadata2,
            })
            .collect())
    }

    fn fns(&self) -> &Fns {
        self.model.fns()
    }

    /// The concrete layout of input `index`.
    pub fn input_layout(&self, index: usize) -> Result<Layout, Failure> {
        let mut l = Layout::of(&[]).expect("rank 0 fits");
        // SAFETY: live compiled model, signature 0; `l` is a valid out-pointer.
        let s = unsafe {
            (self.fns().LiteRtGetCompiledModelInputTensorLayout)(
                self.ptr.as_ptr(),
                0,
                index,
                &mut l,
            )
        };
        check("LiteRtGetCompiledModelInputTensorLayout", s)?;
        Ok(l)
    }

    /// The concrete layouts of all outputs, updating the allocation after a resize.
    pub fn output_layouts(&self, layouts: &mut [Layout]) -> Result<(), Failure> {
        // SAFETY: `layouts` is writable for its length, which is passed as the count.
        let s = unsafe {
            (self.fns().LiteRtGetCompiledModelOutputTensorLayouts)(
                self.ptr.as_ptr(),
                0,
                layouts.len(),
                layouts.as_mut_ptr(),
                true,
            )
        };
        check("LiteRtGetCompiledModelOutputTensorLayouts", s)
    }

    /// Bytes LiteRT wants for input or output `index`'s buffer.
    pub fn buffer_size(&self, input: bool, index: usize) -> Result<usize, Failure> {
        let f = self.fns();
        let mut req = null_mut();
        let mut size = 0;
        // SAFETY: live compiled model; the requirements handle is owned by the compiled model
        // (not destroyed here) and read at once.
        unsafe {
            if input {
                check(
                    "LiteRtGetCompiledModelInputBufferRequirements",
                    (f.LiteRtGetCompiledModelInputBufferRequirements)(
                        self.ptr.as_ptr(),
                        0,
                        index,
                        &mut req,
                    ),
                )?;
            } else {
                check(
                    "LiteRtGetCompiledModelOutputBufferRequirements",
                    (f.LiteRtGetCompiledModelOutputBufferRequirements)(
                        self.ptr.as_ptr(),
                        0,
                        index,
                        &mut req,
                    ),
                )?;
            }
            check(
                "LiteRtGetTensorBufferRequirementsBufferSize",
                (f.LiteRtGetTensorBufferRequirementsBufferSize)(req, &mut size),
            )?;
        }
        Ok(size)
    }

    /// Resize input `index` (a dynamic dimension of the signature) to `dims`.
    pub fn resize_input(&mut self, index: usize, dims: &[i32]) -> Result<(), Failure> {
        // SAFETY: live compiled model; `dims` is valid for its length.
        let s = unsafe {
            (self.fns().LiteRtCompiledModelResizeInputTensor)(
                self.ptr.as_ptr(),
                0,
                index,
                dims.as_ptr(),
                dims.len(),
            )
        };
        check("LiteRtCompiledModelResizeInputTensor", s)
    }

    /// Run with these buffers, in signature order.
    pub fn run(
        &mut self,
        inputs: &[TensorBuffer],
        outputs: &[TensorBuffer],
    ) -> Result<(), Failure> {
        // handles on the stack for up to 16 inputs and outputs (no allocation per run)
        const MAX: usize = 16;
        let (mut ins_a, mut outs_a) = ([null_mut(); MAX], [null_mut(); MAX]);
        let (mut ins_v, mut outs_v) = (Vec::new(), Vec::new());
        let ins: &mut [Handle] = if inputs.len() <= MAX {
            &mut ins_a[..inputs.len()]
        } else {
            ins_v.resize(inputs.len(), null_mut());
            &mut ins_v
        };
        let outs: &mut [Handle] = if outputs.len() <= MAX {
            &mut outs_a[..outputs.len()]
        } else {
            outs_v.resize(outputs.len(), null_mut());
            &mut outs_v
        };
        for (h, b) in ins.iter_mut().zip(inputs) {
            *h = b.ptr.as_ptr();
        }
        for (h, b) in outs.iter_mut().zip(outputs) {
            *h = b.ptr.as_ptr();
        }
        // SAFETY: live compiled model; the arrays hold live buffers created for its inputs and
        // outputs, and the counts are theirs.
        let s = unsafe {
            (self.fns().LiteRtRunCompiledModel)(
                self.ptr.as_ptr(),
                0,
                ins.len(),
                ins.as_mut_ptr(),
                outs.len(),
                outs.as_mut_ptr(),
            )
        };
        check("LiteRtRunCompiledModel", s)
    }

    pub fn api(&self) -> &Arc<Api> {
        &self.model.env.api
    }
}

impl Drop for CompiledModel {
    fn drop(&mut self) {
        // SAFETY: created by LiteRtCreateCompiledModel, destroyed once, before the model and
        // environment it holds.
        unsafe { (self.fns().LiteRtDestroyCompiledModel)(self.ptr.as_ptr()) }
    }
}

/// 64 bytes, 64-byte aligned: the unit of a host buffer (LiteRT wants 64-byte alignment).
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Block([u8; 64]);

/// A tensor buffer over host memory this value owns.
pub struct TensorBuffer {
    ptr: NonNull<c_void>,
    // the buffer's memory: LiteRT reads and writes it until the buffer is destroyed
    _memory: Vec<Block>,
    bytes: usize,
    api: Arc<Api>,
}

// SAFETY: the buffer and its memory are used by one session at a time; they may move between
// threads (the memory is a heap allocation that does not move with the value).
unsafe impl Send for TensorBuffer {}

impl TensorBuffer {
    /// A buffer of `element_type` and `layout` over `bytes` (rounded up to 64) of new memory.
    pub fn new(
        api: Arc<Api>,
        element_type: c_int,
        layout: Layout,
        bytes: usize,
    ) -> Result<TensorBuffer, Failure> {
        // the size comes from the model: over the tensor limit, or more than this process can
        // have, is LiteRT's own "memory allocation failure", not an abort
        let blocks = bytes.div_ceil(64).max(1);
        let refused = Failure {
            call: "allocating a tensor buffer",
            status: 2,
        };
        if bytes as u64 > edgerun_core::limits::max_tensor_bytes() {
            return Err(refused);
        }
        let mut memory = Vec::new();
        memory.try_reserve_exact(blocks).map_err(|_| refused)?;
        memory.resize(blocks, Block([0; 64]));
        let ty = RankedType {
            element_type,
            layout,
        };
        let mut b = null_mut();
        // SAFETY: `memory` is 64-byte aligned and writable for its whole length, and outlives
        // the buffer (both are owned by the returned value, which destroys the buffer first);
        // no deallocator: this value frees the memory.
        let s = unsafe {
            (api.fns.LiteRtCreateTensorBufferFromHostMemory)(
                &ty,
                memory.as_mut_ptr().cast(),
                memory.len() * 64,
                None,
                &mut b,
            )
        };
        check("LiteRtCreateTensorBufferFromHostMemory", s)?;
        let ptr = NonNull::new(b).ok_or(Failure {
            call: "LiteRtCreateTensorBufferFromHostMemory",
            status: 9,
        })?;
        Ok(TensorBuffer {
            ptr,
            _memory: memory,
            bytes,
            api,
        })
    }

    /// Lock, hand the host address to `f` (NULL checked), unlock.
    fn locked<R>(&mut self, mode: c_int, f: impl FnOnce(*mut u8) -> R) -> Result<R, Failure> {
        let fns = &self.api.fns;
        let mut addr = null_mut();
        // SAFETY: live buffer; the address is valid for the buffer's size until unlocked.
        unsafe {
            check(
                "LiteRtLockTensorBuffer",
                (fns.LiteRtLockTensorBuffer)(self.ptr.as_ptr(), &mut addr, mode),
            )?;
        }
        let r = (!addr.is_null()).then(|| f(addr.cast()));
        // SAFETY: locked just above.
        let s = unsafe { (fns.LiteRtUnlockTensorBuffer)(self.ptr.as_ptr()) };
        check("LiteRtUnlockTensorBuffer", s)?;
        r.ok_or(Failure {
            call: "LiteRtLockTensorBuffer (no address)",
            status: 9,
        })
    }

    /// Copy `src` into the buffer (its bytes, at most the buffer's size).
    pub fn write(&mut self, src: DataRef<'_>) -> Result<(), Failure> {
        let (ptr, len) = src.raw_parts();
        let n = len.min(self.bytes);
        // SAFETY: `ptr` is readable for `len` bytes; the locked address is writable for the
        // buffer's `bytes`; `n` is within both.
        self.locked(LOCK_WRITE, |addr| unsafe {
            std::ptr::copy_nonoverlapping(ptr, addr, n)
        })
    }

    /// Copy the buffer's bytes into `dst` (as many as `dst` holds); bools are checked to be
    /// 0 or 1.
    pub fn read(&mut self, dst: &mut Data) -> Result<(), Failure> {
        let bytes = self.bytes;
        match dst.raw_parts_mut() {
            Some((ptr, len)) => {
                let n = len.min(bytes);
                // SAFETY: the locked address is readable for `bytes`; `ptr` is writable for
                // `len` bytes of elements of which every bit pattern is valid.
                self.locked(LOCK_READ, |addr| unsafe {
                    std::ptr::copy_nonoverlapping(addr.cast_const(), ptr, n)
                })
            }
            None => {
                let Data::Bool(v) = dst else {
                    unreachable!("only bool has no raw parts")
                };
                let n = v.len().min(bytes);
                // SAFETY: the locked address is readable for `bytes` >= `n`.
                let raw = self.locked(LOCK_READ, |addr| unsafe {
                    std::slice::from_raw_parts(addr.cast_const(), n).to_vec()
                })?;
                if raw.iter().any(|&b| b > 1) {
                    return Err(Failure {
                        call: "reading a bool output (a value other than 0 or 1)",
                        status: 9,
                    });
                }
                for (b, &x) in v.iter_mut().zip(&raw) {
                    *b = x == 1;
                }
                Ok(())
            }
        }
    }
}

impl Drop for TensorBuffer {
    fn drop(&mut self) {
        // SAFETY: created by LiteRtCreateTensorBufferFromHostMemory, destroyed once, before
        // `memory` (dropped after this) is freed.
        unsafe { (self.api.fns.LiteRtDestroyTensorBuffer)(self.ptr.as_ptr()) }
    }
}
