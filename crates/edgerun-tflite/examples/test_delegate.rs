//! A real TensorFlow Lite external delegate plugin, built as a shared library for the tests.
//!
//! It implements the plugin interface (`tflite_plugin_create_delegate`,
//! `tflite_plugin_destroy_delegate`) and takes over float32 ADD nodes without a fused
//! activation whose operands have equal shapes: it claims them in `Prepare` and computes them
//! itself in its kernel's `invoke`, counting both. Tests read the counts through
//! `edgerun_test_delegate_stats` and the option keys it received, in order, through
//! `edgerun_test_delegate_keys`.
//!
//! When the environment variable `EDGERUN_TEST_DELEGATE_REPORT` names a file, each destroyed
//! delegate appends a line `claimed=N invoked=M` (the process's totals so far) to it: how a
//! test of a separate process (the CLI) learns what the delegate did.
//!
//! Options: `num_threads` (an integer, recorded), `claim` (`add`, the default, or `none`),
//! `fail` (`true` makes creation fail). Any other key is refused: creation reports
//! `unknown option KEY` and returns NULL.
//!
//! The structs below follow TensorFlow Lite 2.6's C ABI (`common.h`); this plugin is a test
//! fixture for that release, not a general-purpose delegate.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::Mutex;

type Status = c_int;
const OK: Status = 0;
const ERROR: Status = 1;
const FLOAT32: u32 = 1;
const BUILTIN_ADD: i32 = 0;
const BUILTIN_DELEGATE: i32 = 51;

#[repr(C)]
pub struct IntArray {
    size: c_int,
    data: [c_int; 0],
}

/// Reads the elements of a `TfLiteIntArray`.
///
/// # Safety
/// `a` is NULL or points to a valid `TfLiteIntArray`.
unsafe fn ints(a: *const IntArray) -> Vec<i32> {
    if a.is_null() {
        return vec![];
    }
    // SAFETY: a valid TfLiteIntArray holds `size` ints after its size field.
    unsafe { std::slice::from_raw_parts((*a).data.as_ptr(), (*a).size.max(0) as usize).to_vec() }
}

/// The prefix of TFLite 2.6's `TfLiteTensor` this plugin reads; 112 bytes in all.
#[repr(C)]
pub struct Tensor {
    tensor_type: u32,
    data: *mut c_void,
    dims: *const IntArray,
    params: [u8; 8],
    allocation_type: u32,
    bytes: usize,
    _rest: [u8; 64],
}
const _: () = assert!(std::mem::size_of::<Tensor>() == 112);

#[repr(C)]
pub struct Node {
    inputs: *const IntArray,
    outputs: *const IntArray,
    intermediates: *const IntArray,
    temporaries: *const IntArray,
    user_data: *mut c_void,
    builtin_data: *mut c_void,
}

#[repr(C)]
#[derive(Clone, Copy)]
pub struct Registration {
    init: Option<unsafe extern "C" fn(*mut Context, *const c_char, usize) -> *mut c_void>,
    free: Option<unsafe extern "C" fn(*mut Context, *mut c_void)>,
    prepare: Option<unsafe extern "C" fn(*mut Context, *mut Node) -> Status>,
    invoke: Option<unsafe extern "C" fn(*mut Context, *mut Node) -> Status>,
    profiling_string: Option<unsafe extern "C" fn(*const Context, *const Node) -> *const c_char>,
    builtin_code: i32,
    custom_name: *const c_char,
    version: c_int,
}
const _: () = assert!(std::mem::size_of::<Registration>() == 64);

#[repr(C)]
pub struct Context {
    tensors_size: usize,
    get_execution_plan: Option<unsafe extern "C" fn(*mut Context, *mut *mut IntArray) -> Status>,
    tensors: *mut Tensor,
    impl_: *mut c_void,
    resize_tensor: *mut c_void,
    report_error: *mut c_void,
    add_tensors: *mut c_void,
    get_node_and_registration: Option<
        unsafe extern "C" fn(*mut Context, c_int, *mut *mut Node, *mut *mut Registration) -> Status,
    >,
    replace_node_subsets_with_delegate_kernels: Option<
        unsafe extern "C" fn(*mut Context, Registration, *const IntArray, *mut Delegate) -> Status,
    >,
}

#[repr(C)]
pub struct Delegate {
    data: *mut c_void,
    prepare: Option<unsafe extern "C" fn(*mut Context, *mut Delegate) -> Status>,
    copy_from_buffer_handle: *mut c_void,
    copy_to_buffer_handle: *mut c_void,
    free_buffer_handle: *mut c_void,
    flags: i64,
    // later releases append fields; keep them zero
    _reserved: [usize; 4],
}

#[repr(C)]
struct DelegateParams {
    delegate: *mut Delegate,
    nodes_to_replace: *const IntArray,
    input_tensors: *const IntArray,
    output_tensors: *const IntArray,
}

/// What the tests read back.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Stats {
    pub created: u64,
    pub destroyed: u64,
    pub claimed_nodes: u64,
    pub invoked_nodes: u64,
    pub num_threads: i64,
}

struct State {
    stats: Stats,
    keys: Vec<String>,
}

static STATE: Mutex<State> = Mutex::new(State {
    stats: Stats {
        created: 0,
        destroyed: 0,
        claimed_nodes: 0,
        invoked_nodes: 0,
        num_threads: -1,
    },
    keys: Vec::new(),
});

fn state() -> std::sync::MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

static NAME: &CStr = c"EdgerunTestDelegate";

/// Per-delegate settings, behind `Delegate::data`.
struct Settings {
    claim: bool,
}

/// Copy the counters out.
///
/// # Safety
/// `out` points to writable memory for a `Stats`.
#[no_mangle]
pub unsafe extern "C" fn edgerun_test_delegate_stats(out: *mut Stats) {
    let s = state().stats;
    // SAFETY: the caller passes a valid, writable Stats.
    unsafe { out.write(s) };
}

/// The option keys of the last creation, comma-separated, NUL-terminated into `buf`.
///
/// # Safety
/// `buf` is writable for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn edgerun_test_delegate_keys(buf: *mut c_char, len: usize) {
    let joined = CString::new(state().keys.join(",")).unwrap_or_default();
    let bytes = joined.as_bytes_with_nul();
    let n = bytes.len().min(len);
    if n == 0 {
        return;
    }
    // SAFETY: `buf` is writable for `len` >= n bytes; the last byte written is a NUL.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes.as_ptr().cast(), buf, n);
        *buf.add(n - 1) = 0;
    }
}

fn report(cb: Option<unsafe extern "C" fn(*const c_char)>, msg: &str) {
    if let (Some(cb), Ok(c)) = (cb, CString::new(msg)) {
        // SAFETY: the host's callback takes a NUL-terminated message valid during the call.
        unsafe { cb(c.as_ptr()) };
    }
}

/// # Safety
/// `keys` and `values` hold `n` NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn tflite_plugin_create_delegate(
    keys: *const *const c_char,
    values: *const *const c_char,
    n: usize,
    report_error: Option<unsafe extern "C" fn(*const c_char)>,
) -> *mut Delegate {
    let mut settings = Settings { claim: true };
    let mut seen = Vec::new();
    for i in 0..n {
        // SAFETY: the host passes `n` valid NUL-terminated keys and values.
        let (k, v) = unsafe {
            (
                CStr::from_ptr(*keys.add(i)).to_string_lossy().into_owned(),
                CStr::from_ptr(*values.add(i))
                    .to_string_lossy()
                    .into_owned(),
            )
        };
        seen.push(k.clone());
        match (k.as_str(), v.as_str()) {
            ("num_threads", v) => match v.parse::<i64>() {
                Ok(t) => state().stats.num_threads = t,
                Err(_) => {
                    report(
                        report_error,
                        &format!("num_threads must be an integer, got {v:?}"),
                    );
                    state().keys = seen;
                    return std::ptr::null_mut();
                }
            },
            ("claim", "add") => settings.claim = true,
            ("claim", "none") => settings.claim = false,
            ("fail", "true") => {
                report(report_error, "asked to fail by the fail option");
                state().keys = seen;
                return std::ptr::null_mut();
            }
            (k, _) => {
                report(report_error, &format!("unknown option {k}"));
                state().keys = seen;
                return std::ptr::null_mut();
            }
        }
    }
    let mut st = state();
    st.keys = seen;
    st.stats.created += 1;
    let d = Box::new(Delegate {
        data: Box::into_raw(Box::new(settings)).cast(),
        prepare: Some(delegate_prepare),
        copy_from_buffer_handle: std::ptr::null_mut(),
        copy_to_buffer_handle: std::ptr::null_mut(),
        free_buffer_handle: std::ptr::null_mut(),
        flags: 0,
        _reserved: [0; 4],
    });
    Box::into_raw(d)
}

/// # Safety
/// `d` came from `tflite_plugin_create_delegate` and is destroyed once.
#[no_mangle]
pub unsafe extern "C" fn tflite_plugin_destroy_delegate(d: *mut Delegate) {
    if d.is_null() {
        return;
    }
    // SAFETY: `d` and its settings were boxed by tflite_plugin_create_delegate.
    unsafe {
        let d = Box::from_raw(d);
        drop(Box::from_raw(d.data.cast::<Settings>()));
    }
    let stats = {
        let mut st = state();
        st.stats.destroyed += 1;
        st.stats
    };
    if let Some(path) = std::env::var_os("EDGERUN_TEST_DELEGATE_REPORT") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(
                f,
                "claimed={} invoked={}",
                stats.claimed_nodes, stats.invoked_nodes
            );
        }
    }
}

/// # Safety
/// Called by TFLite with a live context during delegate application.
unsafe fn tensor<'a>(ctx: *mut Context, index: i32) -> Option<&'a Tensor> {
    // SAFETY: `tensors` holds `tensors_size` tensors of the 2.6 layout.
    unsafe {
        if index < 0 || index as usize >= (*ctx).tensors_size {
            return None;
        }
        Some(&*(*ctx).tensors.add(index as usize))
    }
}

/// # Safety
/// As `tensor`.
unsafe fn same_float_shape(ctx: *mut Context, a: i32, b: i32) -> bool {
    // SAFETY: forwarded from the caller.
    unsafe {
        match (tensor(ctx, a), tensor(ctx, b)) {
            (Some(x), Some(y)) => {
                x.tensor_type == FLOAT32 && y.tensor_type == FLOAT32 && ints(x.dims) == ints(y.dims)
            }
            _ => false,
        }
    }
}

unsafe extern "C" fn delegate_prepare(ctx: *mut Context, delegate: *mut Delegate) -> Status {
    let result = std::panic::catch_unwind(|| {
        // SAFETY: TFLite calls Prepare with a live context and this plugin's delegate; the
        // context functions and node/registration pointers it returns are valid for the call.
        unsafe {
            let settings = &*((*delegate).data as *const Settings);
            if !settings.claim {
                return OK;
            }
            let (Some(plan_fn), Some(get), Some(replace)) = (
                (*ctx).get_execution_plan,
                (*ctx).get_node_and_registration,
                (*ctx).replace_node_subsets_with_delegate_kernels,
            ) else {
                return ERROR;
            };
            let mut plan: *mut IntArray = std::ptr::null_mut();
            if plan_fn(ctx, &mut plan) != OK {
                return ERROR;
            }
            let mut claimed: Vec<i32> = Vec::new();
            let mut claimed_outputs: Vec<i32> = Vec::new();
            for idx in ints(plan) {
                let (mut node, mut reg) = (std::ptr::null_mut(), std::ptr::null_mut());
                if get(ctx, idx, &mut node, &mut reg) != OK || node.is_null() || reg.is_null() {
                    continue;
                }
                if (*reg).builtin_code != BUILTIN_ADD {
                    continue;
                }
                let (ins, outs) = (ints((*node).inputs), ints((*node).outputs));
                let activation = if (*node).builtin_data.is_null() {
                    0
                } else {
                    *((*node).builtin_data as *const i32)
                };
                let fits = ins.len() == 2
                    && outs.len() == 1
                    && activation == 0
                    && same_float_shape(ctx, ins[0], ins[1])
                    && same_float_shape(ctx, ins[0], outs[0])
                    && !ins.iter().any(|i| claimed_outputs.contains(i));
                if fits {
                    claimed.push(idx);
                    claimed_outputs.push(outs[0]);
                }
            }
            if claimed.is_empty() {
                return OK;
            }
            let mut array: Vec<c_int> = Vec::with_capacity(claimed.len() + 1);
            array.push(claimed.len() as c_int);
            array.extend(&claimed);
            let registration = Registration {
                init: Some(kernel_init),
                free: Some(kernel_free),
                prepare: None,
                invoke: Some(kernel_invoke),
                profiling_string: None,
                builtin_code: BUILTIN_DELEGATE,
                custom_name: NAME.as_ptr(),
                version: 1,
            };
            let status = replace(ctx, registration, array.as_ptr().cast(), delegate);
            if status == OK {
                state().stats.claimed_nodes += claimed.len() as u64;
            }
            status
        }
    });
    result.unwrap_or(ERROR)
}

/// One delegated partition: a single ADD (claimed ADDs never feed each other).
struct Kernel {
    inputs: Vec<i32>,
    output: i32,
}

unsafe extern "C" fn kernel_init(
    _ctx: *mut Context,
    buffer: *const c_char,
    _len: usize,
) -> *mut c_void {
    // SAFETY: for delegate kernels TFLite passes a TfLiteDelegateParams as the init buffer.
    let params = unsafe { &*(buffer as *const DelegateParams) };
    // SAFETY: its arrays are valid during init.
    let (inputs, outputs) = unsafe { (ints(params.input_tensors), ints(params.output_tensors)) };
    let k = Kernel {
        inputs,
        output: outputs.first().copied().unwrap_or(-1),
    };
    Box::into_raw(Box::new(k)).cast()
}

unsafe extern "C" fn kernel_free(_ctx: *mut Context, data: *mut c_void) {
    if !data.is_null() {
        // SAFETY: `data` is the Kernel boxed by kernel_init.
        drop(unsafe { Box::from_raw(data.cast::<Kernel>()) });
    }
}

unsafe extern "C" fn kernel_invoke(ctx: *mut Context, node: *mut Node) -> Status {
    // SAFETY: TFLite invokes the kernel with a live context and the node whose user_data is
    // this kernel's; tensor data pointers are allocated and sized by `bytes`.
    unsafe {
        let k = &*((*node).user_data as *const Kernel);
        let [a, b] = k.inputs[..] else { return ERROR };
        let (Some(ta), Some(tb), Some(to)) =
            (tensor(ctx, a), tensor(ctx, b), tensor(ctx, k.output))
        else {
            return ERROR;
        };
        let n = to.bytes / 4;
        if ta.bytes / 4 != n
            || tb.bytes / 4 != n
            || ta.data.is_null()
            || tb.data.is_null()
            || to.data.is_null()
        {
            return ERROR;
        }
        let (x, y) = (
            std::slice::from_raw_parts(ta.data as *const f32, n),
            std::slice::from_raw_parts(tb.data as *const f32, n),
        );
        let out = std::slice::from_raw_parts_mut(to.data as *mut f32, n);
        for i in 0..n {
            out[i] = x[i] + y[i];
        }
    }
    state().stats.invoked_nodes += 1;
    OK
}
