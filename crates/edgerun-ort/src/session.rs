//! Prepared models and sessions: one ONNX Runtime session per edgerun session.

use std::ffi::{c_char, CStr, CString};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use edgerun_core::backend::{output_slots, profiling_unavailable};
use edgerun_core::{
    DType, Data, DataRef, Dim, Error, ModelSource, OpTiming, Options, Prepared, Result, Session,
    Tensor, TensorInfo, TensorView,
};
use ort::session::builder::SessionBuilder;
use ort::session::SessionInputValue;
use ort::value::{TensorElementType, TensorRef, ValueType};
use ort::AsPointer;

use crate::{errors, Loaded, OrtOptions, NAME};

/// Everything a session is built from.
struct Recipe {
    loaded: Arc<Loaded>,
    bytes: Arc<[u8]>,
    path: PathBuf,
    threads: usize,
    /// `session.intra_op_thread_affinities` for the worker threads, when pinned.
    affinities: Option<String>,
    options: OrtOptions,
}

/// ONNX Runtime's names of the execution providers the loaded library has.
pub(crate) fn available_providers() -> Vec<String> {
    let api = ort::api();
    let mut list: *mut *mut c_char = std::ptr::null_mut();
    let mut n: std::ffi::c_int = 0;
    // SAFETY: both out-pointers are valid for writes; ONNX Runtime fills them with an array
    // of `n` C strings that it owns until ReleaseAvailableProviders.
    let status = unsafe { (api.GetAvailableProviders)(&mut list, &mut n) };
    // SAFETY: a status returned by the API is owned by the caller and released here.
    if unsafe { ort::Error::result_from_status(status) }.is_err() || list.is_null() {
        return Vec::new();
    }
    let names = (0..usize::try_from(n).unwrap_or(0))
        .map(|i| {
            // SAFETY: `i < n`, and each entry is a NUL-terminated string owned by `list`.
            unsafe { CStr::from_ptr(*list.add(i)) }
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    // SAFETY: `list` and `n` are exactly what GetAvailableProviders returned; released once.
    let status = unsafe { (api.ReleaseAvailableProviders)(list, n) };
    // SAFETY: as above, the status is ours to release.
    let _ = unsafe { ort::Error::result_from_status(status) };
    names
}

/// Add one execution provider by name, with its options.
fn append_provider(b: &mut SessionBuilder, p: &crate::Provider) -> std::result::Result<(), String> {
    let c = |s: &str| CString::new(s).map_err(|_| format!("{s:?} contains a NUL byte"));
    let name = c(&p.name)?;
    let keys = p
        .options
        .iter()
        .map(|(k, _)| c(k))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let values = p
        .options
        .iter()
        .map(|(_, v)| c(v))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let key_ptrs: Vec<*const c_char> = keys.iter().map(|k| k.as_ptr()).collect();
    let value_ptrs: Vec<*const c_char> = values.iter().map(|v| v.as_ptr()).collect();
    let api = ort::api();
    // SAFETY: the builder's options pointer is valid while `b` lives; every string is a
    // NUL-terminated CString that outlives the call; both arrays hold `len` pointers.
    let status = unsafe {
        (api.SessionOptionsAppendExecutionProvider)(
            b.ptr_mut(),
            name.as_ptr(),
            key_ptrs.as_ptr(),
            value_ptrs.as_ptr(),
            key_ptrs.len(),
        )
    };
    // SAFETY: the status is owned by the caller and released by this conversion.
    unsafe { ort::Error::result_from_status(status) }.map_err(|e| e.message().to_string())
}

fn builder_error<R>(recipe: &Recipe, e: ort::Error<R>) -> Error {
    crate::errors::engine_error(format!("configuring a session for {:?}", recipe.path), &e)
}

/// A new ONNX Runtime session for the recipe, and notes on what it left out.
fn build(recipe: &Recipe) -> Result<(ort::session::Session, Vec<String>)> {
    let env = &recipe.loaded.env;
    let err = |e: ort::Error| builder_error(recipe, e);
    let mut b = ort::session::Session::builder(env)
        .map_err(err)?
        .with_intra_threads(recipe.threads)
        .map_err(|e| builder_error(recipe, e))?
        .with_inter_threads(1)
        .map_err(|e| builder_error(recipe, e))?
        .with_optimization_level(recipe.options.optimization.level())
        .map_err(|e| builder_error(recipe, e))?;
    if let Some(a) = &recipe.affinities {
        b = b
            .with_config_entry("session.intra_op_thread_affinities", a)
            .map_err(|e| builder_error(recipe, e))?;
    }
    let mut notes = Vec::new();
    for p in &recipe.options.providers {
        if let Err(why) = append_provider(&mut b, p) {
            let available = available_providers().join(", ");
            if recipe.options.provider_fallback {
                notes.push(format!(
                    "execution provider {} left out: {why} (this build has {available})",
                    p.name
                ));
            } else {
                return Err(Error::Delegate {
                    path: p.name.clone().into(),
                    reason: format!(
                        "ONNX Runtime {} cannot add execution provider {}: {why}; this build has {available}. Leave it out, or set ort_provider_fallback=true to run without it",
                        recipe.loaded.version, p.name
                    ),
                });
            }
        }
    }
    let session = b
        .commit_from_memory(&recipe.bytes)
        .map_err(|e| errors::commit_error(&recipe.path, &recipe.bytes, e))?;
    Ok((session, notes))
}

fn dtype_of(t: TensorElementType) -> Option<DType> {
    Some(match t {
        TensorElementType::Float32 => DType::F32,
        TensorElementType::Float16 => DType::F16,
        TensorElementType::Bfloat16 => DType::BF16,
        TensorElementType::Float64 => DType::F64,
        TensorElementType::Int8 => DType::I8,
        TensorElementType::Uint8 => DType::U8,
        TensorElementType::Int16 => DType::I16,
        TensorElementType::Int32 => DType::I32,
        TensorElementType::Int64 => DType::I64,
        TensorElementType::Uint16 => DType::U16,
        TensorElementType::Uint32 => DType::U32,
        TensorElementType::Uint64 => DType::U64,
        TensorElementType::Bool => DType::Bool,
        _ => return None,
    })
}

fn info(path: &std::path::Path, name: &str, t: &ValueType) -> Result<TensorInfo> {
    let unsupported = |what: String| {
        Error::Backend {
        backend: NAME.into(),
        message: format!(
            "{path:?}: tensor {name:?} is {what}, which edgerun does not exchange (it passes f32, f16, bf16, f64, i8, u8, i16, u16, i32, u32, i64, u64 and bool tensors)"
        ),
    }
    };
    let ValueType::Tensor {
        ty,
        shape,
        dimension_symbols,
    } = t
    else {
        return Err(unsupported(format!("a {t}")));
    };
    let dtype = dtype_of(*ty).ok_or_else(|| unsupported(format!("a tensor of {ty}")))?;
    let dims = shape
        .iter()
        .enumerate()
        .map(|(i, &d)| match usize::try_from(d) {
            Ok(n) => Dim::Fixed(n),
            Err(_) => Dim::Dynamic(dimension_symbols.get(i).filter(|s| !s.is_empty()).cloned()),
        })
        .collect();
    Ok(TensorInfo {
        name: name.to_string(),
        dtype,
        shape: dims,
        quant: None,
    })
}

/// ONNX Runtime's 1-based processor list for `cpus`, once per worker thread (the calling
/// thread, pinned by the facade, is the first of `threads`).
fn affinities(cpus: &[usize], threads: usize) -> Option<String> {
    if cpus.is_empty() || threads < 2 {
        return None;
    }
    let set = cpus
        .iter()
        .map(|c| (c + 1).to_string())
        .collect::<Vec<_>>()
        .join(",");
    Some(vec![set; threads - 1].join(";"))
}

pub(crate) fn prepare(
    loaded: Arc<Loaded>,
    source: &ModelSource,
    options: &Options,
    ort_options: &OrtOptions,
) -> Result<Box<dyn Prepared>> {
    let threads = options.threads.unwrap_or(1).max(1);
    let bytes = source.read_bytes()?;
    // sizes and data lengths checked before ONNX Runtime allocates from them
    edgerun_formats::onnx::check(crate::NAME, source.path(), &bytes)?;
    if ort_options.refuse_known_faults {
        edgerun_formats::onnx::refuse_known_fault(
            crate::NAME,
            edgerun_formats::onnx::Engine::OnnxRuntime,
            "ort_known_faults",
            &bytes,
        )?;
    }
    let recipe = Recipe {
        loaded,
        bytes,
        path: source.path().into(),
        threads,
        affinities: options
            .affinity
            .as_deref()
            .and_then(|cpus| affinities(cpus, threads)),
        options: ort_options.clone(),
    };
    let (session, notes) = build(&recipe)?;
    let path = recipe.path.clone();
    let inputs = session
        .inputs()
        .iter()
        .map(|o| info(&path, o.name(), o.dtype()))
        .collect::<Result<Vec<_>>>()?;
    let outputs = session
        .outputs()
        .iter()
        .map(|o| info(&path, o.name(), o.dtype()))
        .collect::<Result<Vec<_>>>()?;
    options.check_input_shapes(&inputs)?;
    let prepared_shapes = inputs
        .iter()
        .map(|i| {
            options
                .input_shape(&i.name)
                .map(<[usize]>::to_vec)
                .or_else(|| i.fixed_shape())
        })
        .collect();
    Ok(Box::new(OrtPrepared {
        recipe: Arc::new(recipe),
        inputs,
        outputs,
        notes,
        prepared_shapes,
        spare: Mutex::new(Some(session)),
    }))
}

struct OrtPrepared {
    recipe: Arc<Recipe>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
    notes: Vec<String>,
    prepared_shapes: Vec<Option<Vec<usize>>>,
    /// The session made while preparing, handed to the first `session()`.
    spare: Mutex<Option<ort::session::Session>>,
}

impl Prepared for OrtPrepared {
    fn backend(&self) -> &'static str {
        NAME
    }

    fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    fn notes(&self) -> Vec<String> {
        let r = &self.recipe;
        let mut notes = vec![format!(
            "ONNX Runtime {}, {} intra-op thread{}, graph optimization {:?}{}",
            r.loaded.version,
            r.threads,
            if r.threads == 1 { "" } else { "s" },
            r.options.optimization,
            match &r.affinities {
                Some(a) => format!(", worker threads pinned to processors {a} (1-based)"),
                None => String::new(),
            }
        )];
        notes.extend(self.notes.iter().cloned());
        notes
    }

    fn prepared_shape(&self, index: usize) -> Option<Vec<usize>> {
        self.prepared_shapes.get(index).cloned().flatten()
    }

    fn session(&self) -> Result<Box<dyn Session>> {
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).take();
        let session = match spare {
            Some(s) => s,
            None => build(&self.recipe)?.0,
        };
        Ok(Box::new(OrtSession {
            session,
            outputs: self.outputs.iter().map(|o| o.dtype).collect(),
            path: self.recipe.path.clone(),
            version: self.recipe.loaded.version.clone(),
            profile: None,
        }))
    }
}

/// One ONNX Runtime session. `Send`, not `Sync` (edgerun's contract; ONNX Runtime's own
/// session would allow more).
struct OrtSession {
    session: ort::session::Session,
    outputs: Vec<DType>,
    path: PathBuf,
    /// The library's version, which says whether it profiles single runs.
    version: String,
    /// Where profiled runs write their events; made by the first one.
    profile: Option<crate::profile::ProfileDir>,
}

/// A view of the caller's memory as an ONNX Runtime input, without a copy.
fn input_value<'a>(t: &TensorView<'a>) -> ort::Result<SessionInputValue<'a>> {
    let shape: Vec<i64> = t.shape().iter().map(|&d| d as i64).collect();
    Ok(match t.data() {
        DataRef::F32(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::F16(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::BF16(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::F64(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::I8(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::U8(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::I16(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::I32(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::I64(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::U16(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::U32(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::U64(v) => TensorRef::from_array_view((shape, v))?.into(),
        DataRef::Bool(v) => TensorRef::from_array_view((shape, v))?.into(),
    })
}

/// Copy an output into the caller's tensor (reusing its buffer).
fn copy_out(value: &ort::value::DynValue, dtype: DType, out: &mut Tensor) -> ort::Result<()> {
    macro_rules! take {
        ($t:ty, $variant:ident) => {{
            let (shape, src) = value.try_extract_tensor::<$t>()?;
            let dims: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
            match out.reuse_as(dtype, &dims) {
                Ok(Data::$variant(dst)) => dst.copy_from_slice(src),
                _ => unreachable!("reuse_as gives the asked-for type and size"),
            }
        }};
    }
    match dtype {
        DType::F32 => take!(f32, F32),
        DType::F16 => take!(half::f16, F16),
        DType::BF16 => take!(half::bf16, BF16),
        DType::F64 => take!(f64, F64),
        DType::I8 => take!(i8, I8),
        DType::U8 => take!(u8, U8),
        DType::I16 => take!(i16, I16),
        DType::I32 => take!(i32, I32),
        DType::I64 => take!(i64, I64),
        DType::U16 => take!(u16, U16),
        DType::U32 => take!(u32, U32),
        DType::U64 => take!(u64, U64),
        DType::Bool => take!(bool, Bool),
    }
    Ok(())
}

impl Session for OrtSession {
    fn profiling(&self) -> Result<()> {
        if crate::profile::supported(&self.version) {
            return Ok(());
        }
        let (major, minor) = crate::profile::SINCE;
        Err(profiling_unavailable(
            NAME,
            format!(
                "ONNX Runtime {} cannot profile single runs ({major}.{minor} and later can); use a newer ONNX Runtime, or the tract backend",
                self.version
            ),
        ))
    }

    fn run(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &mut Vec<Tensor>,
        timings: Option<&mut Vec<OpTiming>>,
    ) -> Result<()> {
        let path = &self.path;
        let fail = |e: ort::Error| crate::errors::engine_error(format!("running {path:?}"), &e);
        let values = inputs
            .iter()
            .map(input_value)
            .collect::<ort::Result<Vec<_>>>()
            .map_err(fail)?;
        // a profiled run writes its events to a file of the session's directory
        let profiled = match timings {
            Some(timings) => {
                self.profiling()?;
                let dir = match self.profile.take() {
                    Some(d) => d,
                    None => crate::profile::ProfileDir::new()?,
                };
                let dir = &*self.profile.insert(dir);
                let mut options = ort::session::RunOptions::new().map_err(fail)?;
                crate::profile::enable(&mut options, &dir.prefix())?;
                Some((timings, dir, options))
            }
            None => None,
        };
        let result = match &profiled {
            Some((_, _, options)) => self.session.run_with_options(values.as_slice(), options),
            None => self.session.run(values.as_slice()),
        }
        .map_err(fail)?;
        output_slots(outputs, self.outputs.len());
        for (k, (out, &dtype)) in outputs.iter_mut().zip(&self.outputs).enumerate() {
            copy_out(&result[k], dtype, out).map_err(fail)?;
        }
        // the outputs hold on to the run's options until they are gone
        drop(result);
        if let Some((timings, dir, _)) = profiled {
            timings.extend(dir.take()?);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::affinities;

    #[test]
    fn worker_affinities_are_one_based_one_per_worker() {
        assert_eq!(affinities(&[0, 1], 1), None);
        assert_eq!(affinities(&[0, 1], 2).as_deref(), Some("1,2"));
        assert_eq!(affinities(&[4, 5, 6], 3).as_deref(), Some("5,6,7;5,6,7"));
        assert_eq!(affinities(&[], 4), None);
    }
}
