//! Per-node timings of one run, from ONNX Runtime's run-level profiler.
//!
//! ONNX Runtime 1.25 added profiling per run (`RunOptionsEnableProfiling`): the run writes its
//! events to `<prefix>_<timestamp>.json` when it ends, in the format of its session profiler
//! (Chrome trace events). Session-level profiling would not do: it writes its file only when
//! profiling ends, once per session, and cannot be restarted. So each profiled run gets its own
//! file in a directory of the session's, which is read and removed right after the run.

use std::ffi::{c_char, c_void, CString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use edgerun_core::{Error, OpTiming, Result};
use ort::AsPointer;

use crate::NAME;

/// The first release with `RunOptionsEnableProfiling` (C API 25).
pub(crate) const SINCE: (u32, u32) = (1, 25);

/// The position of `RunOptionsEnableProfiling` in ONNX Runtime's `OrtApi` function table.
/// edgerun asks for C API 17 (ONNX Runtime 1.17 and newer load), for which `ort-sys` declares
/// the table without this entry; ONNX Runtime only appends to the table, so in a library of
/// 1.25 or later the entry is at this index. It is the entry's position among the fields of
/// `ort-sys`' `OrtApi` with every API feature on (those declared twice for WebAssembly counted
/// once); the tests check the counting against the entries this build declares, and a
/// profiled run of a real library checks the entry.
const RUN_OPTIONS_ENABLE_PROFILING: usize = 415;

/// `RunOptionsEnableProfiling(options, profile_file_prefix)` (onnxruntime_c_api.h).
type EnableProfiling = unsafe extern "system" fn(
    *mut ort::sys::OrtRunOptions,
    *const c_char,
) -> ort::sys::OrtStatusPtr;

/// Whether ONNX Runtime `version` (`1.31.1`) profiles single runs.
pub(crate) fn supported(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= SINCE
}

/// Turn profiling on for the runs made with `options`, their files starting with `prefix`.
/// The caller has checked that the library is 1.25 or newer ([`supported`]).
pub(crate) fn enable(options: &mut ort::session::RunOptions, prefix: &Path) -> Result<()> {
    let prefix =
        CString::new(prefix.as_os_str().as_encoded_bytes()).map_err(|_| Error::Backend {
            backend: NAME.into(),
            message: format!("profile path {prefix:?} contains a NUL byte"),
        })?;
    let table = (ort::api() as *const ort::sys::OrtApi).cast::<*const c_void>();
    // SAFETY: the table is ONNX Runtime's `OrtApi`, an array of function pointers, of a library
    // of 1.25 or newer (checked by the caller), which has RunOptionsEnableProfiling at this
    // index with this signature; the entry is read, not written.
    let f: EnableProfiling = unsafe {
        std::mem::transmute::<*const c_void, EnableProfiling>(
            *table.add(RUN_OPTIONS_ENABLE_PROFILING),
        )
    };
    // SAFETY: `options` is a live OrtRunOptions owned by the caller; the prefix is a
    // NUL-terminated string that outlives the call (ONNX Runtime copies it).
    let status = unsafe { f(options.ptr_mut(), prefix.as_ptr()) };
    // SAFETY: a status returned by the API is the caller's, released by this call.
    unsafe { ort::Error::result_from_status(status) }.map_err(|e| Error::Backend {
        backend: NAME.into(),
        message: format!("ONNX Runtime refused to profile the run: {e}"),
    })
}

/// A directory for one session's profile files, removed with it.
pub(crate) struct ProfileDir {
    path: PathBuf,
}

impl ProfileDir {
    pub(crate) fn new() -> Result<ProfileDir> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "edgerun-ort-profile-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).map_err(|e| Error::Backend {
            backend: NAME.into(),
            message: format!("cannot make {path:?} for ONNX Runtime's profile: {e}"),
        })?;
        Ok(ProfileDir { path })
    }

    /// The prefix ONNX Runtime names each run's file after.
    pub(crate) fn prefix(&self) -> PathBuf {
        self.path.join("run")
    }

    /// The timings of the run that just ended, from the files it wrote (removed once read).
    pub(crate) fn take(&self) -> Result<Vec<OpTiming>> {
        let unreadable = |why: String| Error::Backend {
            backend: NAME.into(),
            message: format!(
                "cannot read ONNX Runtime's profile in {:?}: {why}",
                self.path
            ),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.path)
            .map_err(|e| unreadable(e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(unreadable("the run wrote no profile".into()));
        }
        let mut timings = Vec::new();
        for file in &files {
            let text = std::fs::read_to_string(file);
            let _ = std::fs::remove_file(file);
            timings.extend(
                node_timings(&text.map_err(|e| unreadable(e.to_string()))?).map_err(unreadable)?,
            );
        }
        for (i, t) in timings.iter_mut().enumerate() {
            t.index = i;
        }
        Ok(timings)
    }
}

impl Drop for ProfileDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The kernels of a profile, in the order they started. ONNX Runtime records three events per
/// node (`NAME_fence_before`, `NAME_kernel_time`, `NAME_fence_after`, category `Node`); the
/// kernel's is the node's time, and its `op_name` argument the node's type.
pub(crate) fn node_timings(json: &str) -> std::result::Result<Vec<OpTiming>, String> {
    let events: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    // a JSON array of events, or an object holding them as `traceEvents`
    let list = events
        .as_array()
        .or_else(|| events.get("traceEvents").and_then(|v| v.as_array()))
        .ok_or("it holds no list of events")?;
    let mut kernels: Vec<(u64, OpTiming)> = list
        .iter()
        .filter(|e| e.get("cat").and_then(|c| c.as_str()) == Some("Node"))
        .filter_map(|e| {
            let name = e.get("name")?.as_str()?.strip_suffix("_kernel_time")?;
            let op_type = e
                .get("args")
                .and_then(|a| a.get("op_name"))
                .and_then(|o| o.as_str())
                .unwrap_or("?");
            Some((
                e.get("ts").and_then(|t| t.as_u64()).unwrap_or(0),
                OpTiming {
                    index: 0,
                    name: name.to_string(),
                    op_type: op_type.to_string(),
                    micros: e.get("dur").and_then(|d| d.as_u64()).unwrap_or(0),
                },
            ))
        })
        .collect();
    kernels.sort_by_key(|(ts, _)| *ts);
    Ok(kernels
        .into_iter()
        .enumerate()
        .map(|(i, (_, t))| OpTiming { index: i, ..t })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_counted_as_this_build_declares_it() {
        // the counting that puts RunOptionsEnableProfiling at 415 gives C API 17's table 276
        // entries, CreateRunOptions the 40th and ReleaseStatus the 94th: as compiled here
        let entry = std::mem::size_of::<*const c_void>();
        assert_eq!(std::mem::size_of::<ort::sys::OrtApi>(), 276 * entry);
        assert_eq!(
            std::mem::offset_of!(ort::sys::OrtApi, CreateRunOptions),
            39 * entry
        );
        assert_eq!(
            std::mem::offset_of!(ort::sys::OrtApi, ReleaseStatus),
            93 * entry
        );
    }

    #[test]
    fn versions_from_1_25_profile_runs() {
        assert!(supported("1.25.0"));
        assert!(supported("1.31.1"));
        assert!(supported("2.0.0"));
        assert!(!supported("1.24.4"));
        assert!(!supported("1.17.0"));
        assert!(!supported("garbage"));
    }

    #[test]
    fn kernel_events_become_timings_in_start_order() {
        let json = r#"[
            {"cat":"Session","name":"model_run","dur":500,"ts":10,"args":{}},
            {"cat":"Node","name":"relu_fence_before","dur":0,"ts":40,"args":{"op_name":"Relu"}},
            {"cat":"Node","name":"relu_kernel_time","dur":7,"ts":41,"args":{"op_name":"Relu"}},
            {"cat":"Node","name":"conv1_kernel_time","dur":120,"ts":20,"args":{"op_name":"Conv"}},
            {"cat":"Node","name":"relu_fence_after","dur":0,"ts":48,"args":{"op_name":"Relu"}}
        ]"#;
        let t = node_timings(json).unwrap();
        let seen: Vec<(usize, &str, &str, u64)> = t
            .iter()
            .map(|t| (t.index, t.name.as_str(), t.op_type.as_str(), t.micros))
            .collect();
        assert_eq!(seen, [(0, "conv1", "Conv", 120), (1, "relu", "Relu", 7)]);
        assert!(node_timings("{").is_err());
        assert!(node_timings("{\"a\": 1}").is_err());
    }
}
