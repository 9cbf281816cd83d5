//! `edgerun._native`: the facade's runtime, models and sessions for Python, on numpy arrays.
//! `python/edgerun/__init__.py` re-exports it as the `edgerun` package.
//!
//! What is done here and nowhere else: numpy arrays become `TensorView`s over their own
//! memory (copied only when they are not C-contiguous), outputs become new numpy arrays,
//! edgerun's errors become exceptions of their kind, and the GIL is released while a model
//! loads or runs. Everything else is the facade's.
//!
//! No `unsafe` of its own: numpy's buffers are reached through rust-numpy's checked borrows
//! (pyo3's macros allow their own).
#![deny(unsafe_code)]

use std::path::PathBuf;
use std::sync::{Mutex, TryLockError};
use std::time::Instant;

use facade::{
    CacheSetting, CpuAffinity, DType, DataRef, Dim, Error, ErrorKind, Model as Prepared,
    ModelSession, Outputs, Policy, Runtime, TensorInfo as Info, TensorView,
};
use half::slice::HalfBitsSliceExt;
use numpy::{
    Element, PyArray, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn,
    PyUntypedArray, PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

create_exception!(
    edgerun,
    EdgerunError,
    PyException,
    "An error from edgerun. `kind` names which (`io`, `invalid_model`, `unsupported`, \
     `invalid_request`, `invalid_input`, `unavailable`, `backend`); each kind has its subclass."
);
create_exception!(
    edgerun,
    IoError,
    EdgerunError,
    "A file could not be found or read."
);
create_exception!(
    edgerun,
    InvalidModelError,
    EdgerunError,
    "The model file is corrupt, truncated or not a model."
);
create_exception!(
    edgerun,
    UnsupportedError,
    EdgerunError,
    "A valid model uses something no available backend can run."
);
create_exception!(
    edgerun,
    InvalidRequestError,
    EdgerunError,
    "An option or setting is wrong."
);
create_exception!(
    edgerun,
    InvalidInputError,
    EdgerunError,
    "The inputs of a run do not fit the model (names, count, dtype, shape)."
);
create_exception!(
    edgerun,
    UnavailableError,
    EdgerunError,
    "The backend asked for cannot be used here (library missing or unusable)."
);
create_exception!(
    edgerun,
    BackendError,
    EdgerunError,
    "The engine failed on a valid model and valid inputs."
);

/// Each exception class with the `kind` it carries.
const KINDS: [(&str, &str); 7] = [
    ("IoError", "io"),
    ("InvalidModelError", "invalid_model"),
    ("UnsupportedError", "unsupported"),
    ("InvalidRequestError", "invalid_request"),
    ("InvalidInputError", "invalid_input"),
    ("UnavailableError", "unavailable"),
    ("BackendError", "backend"),
];

/// edgerun's error as the exception of its kind, with its message.
fn raise(e: Error) -> PyErr {
    let message = e.to_string();
    match e.kind() {
        ErrorKind::Io => IoError::new_err(message),
        ErrorKind::InvalidModel => InvalidModelError::new_err(message),
        ErrorKind::Unsupported => UnsupportedError::new_err(message),
        ErrorKind::InvalidRequest => InvalidRequestError::new_err(message),
        ErrorKind::InvalidInput => InvalidInputError::new_err(message),
        ErrorKind::Unavailable => UnavailableError::new_err(message),
        // Backend, and a kind newer than this list: a failure still, with its message
        _ => BackendError::new_err(message),
    }
}

/// numpy's name for a dtype (bf16 has none in numpy itself; its outputs come out as float32).
fn numpy_name(d: DType) -> &'static str {
    match d {
        DType::F32 => "float32",
        DType::F16 => "float16",
        DType::BF16 => "bfloat16",
        DType::F64 => "float64",
        DType::I8 => "int8",
        DType::U8 => "uint8",
        DType::I16 => "int16",
        DType::I32 => "int32",
        DType::I64 => "int64",
        DType::U16 => "uint16",
        DType::U32 => "uint32",
        DType::U64 => "uint64",
        DType::Bool => "bool",
    }
}

/// A model's input or output as the model declares it.
#[pyclass(module = "edgerun", frozen)]
struct TensorInfo {
    /// The tensor's name in the model.
    #[pyo3(get)]
    name: String,
    /// numpy's name for its element type (`float32`, `uint8`, ...).
    #[pyo3(get)]
    dtype: &'static str,
    shape: Vec<Option<usize>>,
    /// The quantization scale, or `None` when the tensor is not quantized.
    #[pyo3(get)]
    scale: Option<f32>,
    /// The quantization zero point, or `None` when the tensor is not quantized.
    #[pyo3(get)]
    zero_point: Option<i32>,
}

#[pymethods]
impl TensorInfo {
    /// Its dimensions, a tuple as numpy's shapes are; `None` for one known only at run time.
    #[getter]
    fn shape<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.shape)
    }

    fn __repr__(&self) -> String {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|d| d.map_or("None".into(), |n| n.to_string()))
            .collect();
        let quant = match (self.scale, self.zero_point) {
            (Some(s), Some(z)) => format!(", scale={s}, zero_point={z}"),
            _ => String::new(),
        };
        format!(
            "TensorInfo(name={:?}, dtype={:?}, shape=({}{}){quant})",
            self.name,
            self.dtype,
            dims.join(", "),
            if dims.len() == 1 { "," } else { "" }
        )
    }
}

fn describe(info: &Info) -> TensorInfo {
    TensorInfo {
        name: info.name.clone(),
        dtype: numpy_name(info.dtype),
        shape: info
            .shape
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => Some(*n),
                Dim::Dynamic(_) => None,
            })
            .collect(),
        scale: info.quant.map(|q| q.scale),
        zero_point: info.quant.map(|q| q.zero_point),
    }
}

/// A model prepared on the backend chosen for it. Share it between threads; give each thread
/// its own session.
#[pyclass(module = "edgerun", frozen)]
struct Model {
    model: Mutex<Option<Prepared>>,
}

impl Model {
    /// The model, or the error for one closed.
    fn get(&self) -> PyResult<Prepared> {
        let guard = self.model.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .clone()
            .ok_or_else(|| PyValueError::new_err("the model is closed: load it again"))
    }
}

#[pymethods]
impl Model {
    /// The inputs, in the order `Session.run` takes a list in.
    #[getter]
    fn inputs(&self) -> PyResult<Vec<TensorInfo>> {
        Ok(self.get()?.inputs().iter().map(describe).collect())
    }

    /// The outputs, in the order of `Session.run`'s dict.
    #[getter]
    fn outputs(&self) -> PyResult<Vec<TensorInfo>> {
        Ok(self.get()?.outputs().iter().map(describe).collect())
    }

    /// The backend the model runs on (`tract`, `tflite`, `litert`, `ort`).
    #[getter]
    fn backend(&self) -> PyResult<&'static str> {
        Ok(self.get()?.backend())
    }

    /// How the backend was chosen: every candidate, its measured time or why it was skipped,
    /// and the winner (the CLI's `--explain`).
    #[getter]
    fn decision(&self) -> PyResult<String> {
        Ok(self.get()?.decision().to_string())
    }

    /// A session to run the model. Sessions made before `close()` keep working.
    fn session(&self, py: Python<'_>) -> PyResult<Session> {
        let model = self.get()?;
        // an engine may plan or compile here: the GIL is released as for a load
        let session = py.detach(|| model.session()).map_err(raise)?;
        let outputs = session.outputs();
        Ok(Session {
            state: Mutex::new(Some(State { session, outputs })),
            names: model.outputs().iter().map(|o| o.name.clone()).collect(),
        })
    }

    /// Releases the model now rather than when it is collected.
    fn close(&self) {
        *self.model.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        _kind: &Bound<'_, PyAny>,
        _value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) {
        self.close();
    }

    fn __repr__(&self) -> String {
        match self.get() {
            Ok(m) => format!("<edgerun.Model {} on {}>", m.path().display(), m.backend()),
            Err(_) => "<edgerun.Model (closed)>".into(),
        }
    }
}

/// What a session holds while it is open.
struct State {
    session: ModelSession,
    outputs: Outputs,
}

/// One inference at a time on a model. A session is for one thread: a run while another
/// thread runs the same session raises `RuntimeError`.
#[pyclass(module = "edgerun", frozen)]
struct Session {
    state: Mutex<Option<State>>,
    names: Vec<String>,
}

/// An input array, borrowed read-only from numpy for the run (or a contiguous copy of it).
enum Held<'py> {
    F32(PyReadonlyArrayDyn<'py, f32>),
    F16(PyReadonlyArrayDyn<'py, half::f16>),
    /// bfloat16 as numpy holds it without a type of its own: 2-byte values (`V2`, as
    /// ml_dtypes saves them, or ml_dtypes' `bfloat16`), read as their bits
    BF16(PyReadonlyArrayDyn<'py, u16>),
    F64(PyReadonlyArrayDyn<'py, f64>),
    I8(PyReadonlyArrayDyn<'py, i8>),
    U8(PyReadonlyArrayDyn<'py, u8>),
    I16(PyReadonlyArrayDyn<'py, i16>),
    I32(PyReadonlyArrayDyn<'py, i32>),
    I64(PyReadonlyArrayDyn<'py, i64>),
    U16(PyReadonlyArrayDyn<'py, u16>),
    U32(PyReadonlyArrayDyn<'py, u32>),
    U64(PyReadonlyArrayDyn<'py, u64>),
    Bool(PyReadonlyArrayDyn<'py, bool>),
}

/// The array as `T`'s, borrowed read-only, if its dtype is `T`'s.
fn typed<'py, T: Element>(
    array: &Bound<'py, PyAny>,
) -> PyResult<Option<PyReadonlyArrayDyn<'py, T>>> {
    match array.cast::<PyArrayDyn<T>>() {
        Ok(a) => a
            .try_readonly()
            .map(Some)
            .map_err(|e| PyRuntimeError::new_err(format!("the array is in use: {e}"))),
        Err(_) => Ok(None),
    }
}

impl<'py> Held<'py> {
    /// `value` as an input: a numpy array of a dtype edgerun has, C-contiguous (copied into
    /// one if it is not), or anything `numpy.asarray` makes one of.
    fn new(what: &str, value: &Bound<'py, PyAny>) -> PyResult<Held<'py>> {
        let py = value.py();
        let array = match value.cast::<PyUntypedArray>() {
            Ok(a) if a.is_c_contiguous() => a.clone(),
            // a view with strides, or a Fortran-ordered array: edgerun reads row-major memory
            Ok(_) => py
                .import("numpy")?
                .getattr("ascontiguousarray")?
                .call1((value,))?
                .cast_into::<PyUntypedArray>()?,
            Err(_) => py
                .import("numpy")?
                .getattr("asarray")?
                .call1((value,))?
                .cast_into::<PyUntypedArray>()?,
        };
        let dtype = array.dtype();
        // one cast, chosen by the dtype's kind and size: the cast checks the rest (byte order
        // among it), and trying each element type in turn cost about a microsecond per input
        macro_rules! held {
            ($variant:ident, $t:ty) => {
                typed::<$t>(array.as_any())?.map(Held::$variant)
            };
        }
        let held = match (dtype.kind(), dtype.itemsize()) {
            (b'f', 4) => held!(F32, f32),
            (b'f', 2) => held!(F16, half::f16),
            (b'f', 8) => held!(F64, f64),
            (b'i', 1) => held!(I8, i8),
            (b'i', 2) => held!(I16, i16),
            (b'i', 4) => held!(I32, i32),
            (b'i', 8) => held!(I64, i64),
            (b'u', 1) => held!(U8, u8),
            (b'u', 2) => held!(U16, u16),
            (b'u', 4) => held!(U32, u32),
            (b'u', 8) => held!(U64, u64),
            (b'b', 1) => held!(Bool, bool),
            // bfloat16 as numpy holds it (`V2`, ml_dtypes' bfloat16): read as its bits
            (b'V', 2) => {
                let bits = array.call_method1("view", (numpy::dtype::<u16>(py),))?;
                typed::<u16>(&bits)?.map(Held::BF16)
            }
            _ => None,
        };
        held.ok_or_else(|| {
            let name = dtype
                .getattr("name")
                .and_then(|n| n.extract::<String>())
                .unwrap_or_default();
            let code = dtype.str().map(|s| s.to_string()).unwrap_or_default();
            let name = format!("{name} ({code})");
            PyTypeError::new_err(format!(
                "{what}: numpy dtype {name} is not one edgerun takes (float32, float16, \
                 float64, int8-64, uint8-64, bool, bfloat16, in the machine's byte order); \
                 convert it with .astype()"
            ))
        })
    }

    fn view(&self) -> PyResult<TensorView<'_>> {
        macro_rules! view {
            ($a:expr, $variant:ident) => {{
                let shape = $a.shape().to_vec();
                // C-contiguous by construction (Held::new)
                let data = $a
                    .as_slice()
                    .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
                TensorView::from_data(shape, DataRef::$variant(data)).map_err(raise)
            }};
        }
        match self {
            Held::F32(a) => view!(a, F32),
            Held::F16(a) => view!(a, F16),
            Held::BF16(a) => {
                let bits = a
                    .as_slice()
                    .map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
                let data = DataRef::BF16(bits.reinterpret_cast::<half::bf16>());
                TensorView::from_data(a.shape().to_vec(), data).map_err(raise)
            }
            Held::F64(a) => view!(a, F64),
            Held::I8(a) => view!(a, I8),
            Held::U8(a) => view!(a, U8),
            Held::I16(a) => view!(a, I16),
            Held::I32(a) => view!(a, I32),
            Held::I64(a) => view!(a, I64),
            Held::U16(a) => view!(a, U16),
            Held::U32(a) => view!(a, U32),
            Held::U64(a) => view!(a, U64),
            Held::Bool(a) => view!(a, Bool),
        }
    }
}

/// The inputs of a run: a dict by name, or a list or tuple in the model's order.
enum Feed<'py> {
    Named(Vec<(String, Held<'py>)>),
    Ordered(Vec<Held<'py>>),
}

impl<'py> Feed<'py> {
    fn new(inputs: &Bound<'py, PyAny>) -> PyResult<Feed<'py>> {
        if let Ok(d) = inputs.cast::<PyDict>() {
            let mut named = Vec::with_capacity(d.len());
            for (k, v) in d.iter() {
                let name: String = k.extract().map_err(|_| {
                    PyTypeError::new_err(format!(
                        "input names are str; got {}",
                        k.get_type()
                            .name()
                            .map(|n| n.to_string())
                            .unwrap_or_default()
                    ))
                })?;
                let held = Held::new(&format!("input {name:?}"), &v)?;
                named.push((name, held));
            }
            return Ok(Feed::Named(named));
        }
        let items: Vec<Bound<'py, PyAny>> = if let Ok(l) = inputs.cast::<PyList>() {
            l.iter().collect()
        } else if let Ok(t) = inputs.cast::<PyTuple>() {
            t.iter().collect()
        } else {
            return Err(PyTypeError::new_err(
                "run() takes a dict {name: array} or a list of arrays in the model's input order",
            ));
        };
        items
            .iter()
            .enumerate()
            .map(|(k, v)| Held::new(&format!("input {k}"), v))
            .collect::<PyResult<_>>()
            .map(Feed::Ordered)
    }

    /// Runs `state`'s session on these inputs with the GIL released.
    fn run(&self, py: Python<'_>, state: &mut State) -> PyResult<()> {
        match self {
            Feed::Named(named) => {
                let views = named
                    .iter()
                    .map(|(n, h)| Ok((n.as_str(), h.view()?)))
                    .collect::<PyResult<Vec<_>>>()?;
                py.detach(|| state.session.run_named_into(&views, &mut state.outputs))
            }
            Feed::Ordered(held) => {
                let views = held.iter().map(Held::view).collect::<PyResult<Vec<_>>>()?;
                py.detach(|| state.session.run_into(&views, &mut state.outputs))
            }
        }
        .map_err(raise)
    }
}

/// A new numpy array holding a copy of the output.
fn to_numpy<'py>(py: Python<'py>, t: &facade::Tensor) -> PyResult<Bound<'py, PyAny>> {
    fn array<'py, T: Element>(
        py: Python<'py>,
        s: &[T],
        shape: &[usize],
    ) -> PyResult<Bound<'py, PyAny>> {
        // one numpy allocation of the final shape (a flat array reshaped made two)
        let view = ndarray::ArrayView::from_shape(shape, s)
            .map_err(|e| PyRuntimeError::new_err(format!("an output's shape: {e}")))?;
        Ok(PyArray::from_array(py, &view).into_any())
    }
    let shape = t.shape();
    match t.data().as_ref() {
        DataRef::F32(s) => array(py, s, shape),
        DataRef::F16(s) => array(py, s, shape),
        // numpy has no bfloat16 of its own: float32 holds each value exactly
        DataRef::BF16(s) => {
            let wide: Vec<f32> = s.iter().map(|x| x.to_f32()).collect();
            array(py, &wide, shape)
        }
        DataRef::F64(s) => array(py, s, shape),
        DataRef::I8(s) => array(py, s, shape),
        DataRef::U8(s) => array(py, s, shape),
        DataRef::I16(s) => array(py, s, shape),
        DataRef::I32(s) => array(py, s, shape),
        DataRef::I64(s) => array(py, s, shape),
        DataRef::U16(s) => array(py, s, shape),
        DataRef::U32(s) => array(py, s, shape),
        DataRef::U64(s) => array(py, s, shape),
        DataRef::Bool(s) => array(py, s, shape),
    }
}

impl Session {
    /// Runs `body` on the open session, refusing one closed or in use on another thread.
    fn with_state<R>(&self, body: impl FnOnce(&mut State) -> PyResult<R>) -> PyResult<R> {
        let mut guard = match self.state.try_lock() {
            Ok(g) => g,
            Err(TryLockError::WouldBlock) => {
                return Err(PyRuntimeError::new_err(
                    "the session is running on another thread: give each thread its own \
                     session (model.session())",
                ))
            }
            // a run that panicked (caught by pyo3 and raised) left the session half-run
            Err(TryLockError::Poisoned(_)) => {
                return Err(PyRuntimeError::new_err(
                    "the session failed inside edgerun earlier (a bug; please report it): \
                     make a new session",
                ))
            }
        };
        let state = guard
            .as_mut()
            .ok_or_else(|| PyValueError::new_err("the session is closed: make a new one"))?;
        body(state)
    }
}

#[pymethods]
impl Session {
    /// Runs the model once. `inputs` is a dict {name: array} or a list of arrays in the order
    /// of `model.inputs`; C-contiguous arrays of the input's dtype are read in place. Returns
    /// a dict {name: array} of new arrays, in the order of `model.outputs`.
    fn run<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let feed = Feed::new(inputs)?;
        self.with_state(|state| {
            feed.run(py, state)?;
            let out = PyDict::new(py);
            for (name, t) in self.names.iter().zip(state.outputs.tensors()) {
                out.set_item(name, to_numpy(py, t)?)?;
            }
            Ok(out)
        })
    }

    /// For the boundary bench only: `runs` runs of `run_into` from Rust on these inputs,
    /// converted once, timed from Rust; the mean nanoseconds per run.
    fn _rust_run_ns(&self, py: Python<'_>, inputs: &Bound<'_, PyAny>, runs: u32) -> PyResult<f64> {
        let feed = Feed::new(inputs)?;
        let Feed::Ordered(held) = feed else {
            return Err(PyTypeError::new_err("_rust_run_ns takes a list of arrays"));
        };
        let views = held.iter().map(Held::view).collect::<PyResult<Vec<_>>>()?;
        self.with_state(|state| {
            py.detach(|| {
                let start = Instant::now();
                for _ in 0..runs {
                    state.session.run_into(&views, &mut state.outputs)?;
                }
                Ok(start.elapsed().as_nanos() as f64 / f64::from(runs.max(1)))
            })
            .map_err(raise)
        })
    }

    /// Releases the session now rather than when it is collected.
    fn close(&self) -> PyResult<()> {
        match self.state.try_lock() {
            Ok(mut g) => {
                *g = None;
                Ok(())
            }
            Err(TryLockError::Poisoned(p)) => {
                *p.into_inner() = None;
                Ok(())
            }
            Err(TryLockError::WouldBlock) => Err(PyRuntimeError::new_err(
                "the session is running on another thread: close it when the run returns",
            )),
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        _kind: &Bound<'_, PyAny>,
        _value: &Bound<'_, PyAny>,
        _traceback: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.close()
    }
}

/// A setting's value as the CLI takes it: Python's True and False as `true` and `false`.
fn setting_text(v: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(b) = v.cast::<pyo3::types::PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.into());
    }
    Ok(v.str()?.to_string())
}

/// The runtime `load` builds from its keyword arguments.
#[allow(clippy::too_many_arguments)]
fn runtime(
    backend: &str,
    threads: Option<i64>,
    affinity: Option<String>,
    settings: Option<&Bound<'_, PyDict>>,
    cache: Option<PathBuf>,
    input_shapes: Option<&Bound<'_, PyDict>>,
    policy: Option<PathBuf>,
) -> PyResult<Runtime> {
    let mut rt = Runtime::new().with_backend(backend);
    if let Some(t) = threads {
        let t = usize::try_from(t).ok().filter(|&t| t > 0).ok_or_else(|| {
            PyValueError::new_err(format!(
                "threads={t}: give 1 or more, or None for the default (one per big core)"
            ))
        })?;
        rt = rt.with_threads(t);
    }
    if let Some(a) = affinity {
        rt = rt.with_affinity(a.parse::<CpuAffinity>().map_err(raise)?);
    }
    if let Some(settings) = settings {
        for (k, v) in settings.iter() {
            let key: String = k
                .extract()
                .map_err(|_| PyTypeError::new_err("settings: the names are str"))?;
            rt = rt.configure(&key, &setting_text(&v)?).map_err(raise)?;
        }
    }
    if let Some(p) = policy {
        rt = rt
            .with_policy(Policy::from_file(&p).map_err(raise)?)
            .map_err(raise)?;
    }
    if let Some(c) = cache {
        rt = rt.with_cache(if c.as_os_str() == "off" {
            CacheSetting::Off
        } else {
            CacheSetting::File(c)
        });
    }
    if let Some(shapes) = input_shapes {
        for (k, v) in shapes.iter() {
            let name: String = k
                .extract()
                .map_err(|_| PyTypeError::new_err("input_shapes: the names are str"))?;
            let shape: Vec<usize> = v.extract().map_err(|_| {
                PyTypeError::new_err(format!(
                    "input_shapes[{name:?}]: give a tuple of dimensions, none negative"
                ))
            })?;
            rt = rt.with_input_shape(name, shape);
        }
    }
    Ok(rt)
}

fn model(m: Prepared) -> Model {
    Model {
        model: Mutex::new(Some(m)),
    }
}

/// Loads a model (ONNX, TensorFlow Lite, NNEF) on the backend edgerun chooses for it, from a
/// file, or from memory when `source` is bytes (named `name` in messages).
///
/// backend: `auto` (measure the installed backends, the default), `first`, or a backend's
/// name. threads: inference threads (default: one per big core). affinity: `big`, `little`,
/// `all` or CPUs such as `0-3`. settings: backend settings by name, as the CLI's
/// `--key=value`. cache: where `auto` keeps its choices (a file, or `off`). input_shapes:
/// {name: shape} for dynamic inputs. policy: a policy file (TOML).
#[pyfunction]
#[pyo3(signature = (source, *, name=None, backend="auto".to_string(), threads=None,
    affinity=None, settings=None, cache=None, input_shapes=None, policy=None))]
#[allow(clippy::too_many_arguments)]
fn load(
    py: Python<'_>,
    source: &Bound<'_, PyAny>,
    name: Option<String>,
    backend: String,
    threads: Option<i64>,
    affinity: Option<String>,
    settings: Option<&Bound<'_, PyDict>>,
    cache: Option<PathBuf>,
    input_shapes: Option<&Bound<'_, PyDict>>,
    policy: Option<PathBuf>,
) -> PyResult<Model> {
    let rt = runtime(
        &backend,
        threads,
        affinity,
        settings,
        cache,
        input_shapes,
        policy,
    )?;
    let loaded = if let Ok(bytes) = source.cast::<pyo3::types::PyBytes>() {
        let data = bytes.as_bytes().to_vec();
        let name = name.unwrap_or_else(|| "<bytes>".into());
        py.detach(|| rt.load_bytes(&name, data))
    } else {
        let path: PathBuf = source.extract().map_err(|_| {
            PyTypeError::new_err("load() takes a path (str or os.PathLike) or the model's bytes")
        })?;
        py.detach(|| rt.load(&path))
    };
    loaded.map(model).map_err(raise)
}

/// The device record, as `edgerun info --json` prints it: the build, the CPUs and their
/// placement, and each backend's availability.
#[pyfunction]
fn info(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    let report = Runtime::new().report();
    let text = serde_json::to_string(&report)
        .map_err(|e| PyRuntimeError::new_err(format!("the device record: {e}")))?;
    py.import("json")?.getattr("loads")?.call1((text,))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(info, m)?)?;
    m.add_class::<Model>()?;
    m.add_class::<Session>()?;
    m.add_class::<TensorInfo>()?;
    m.add("Error", py.get_type::<EdgerunError>())?;
    m.getattr("Error")?.setattr("kind", py.None())?;
    m.add("IoError", py.get_type::<IoError>())?;
    m.add("InvalidModelError", py.get_type::<InvalidModelError>())?;
    m.add("UnsupportedError", py.get_type::<UnsupportedError>())?;
    m.add("InvalidRequestError", py.get_type::<InvalidRequestError>())?;
    m.add("InvalidInputError", py.get_type::<InvalidInputError>())?;
    m.add("UnavailableError", py.get_type::<UnavailableError>())?;
    m.add("BackendError", py.get_type::<BackendError>())?;
    for (class, kind) in KINDS {
        m.getattr(class)?.setattr("kind", kind)?;
    }
    Ok(())
}
