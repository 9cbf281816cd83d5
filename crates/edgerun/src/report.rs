//! The description of this build, the device and the backends that `edgerun info` prints and
//! benchmark results embed. Its JSON form is documented in `crates/edgerun-cli/INFO.md`.

use serde::Serialize;

use crate::{BackendReport, Platform, Runtime};
use edgerun_core::platform::cpulist;

/// Names and versions the JSON form: bumped when a field changes meaning or goes away.
pub const REPORT_SCHEMA: &str = "edgerun-info/1";

/// Everything `edgerun info` says.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub edgerun: BuildReport,
    pub device: DeviceReport,
    pub placement: PlacementReport,
    pub backends: Vec<BackendReport>,
}

/// This build of edgerun.
#[derive(Debug, Clone, Serialize)]
pub struct BuildReport {
    pub version: &'static str,
    /// `aarch64`, `x86_64`...
    pub arch: &'static str,
    pub os: &'static str,
    /// `gnu`, `musl`...
    pub env: &'static str,
    /// Backend cargo features compiled in.
    pub backends_compiled: Vec<&'static str>,
}

/// The device, with its signature.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceReport {
    #[serde(flatten)]
    pub platform: Platform,
    /// [`Platform::signature`].
    pub signature: String,
    /// [`Platform::signature_hash`].
    pub signature_hash: String,
}

/// The threads and CPUs models will be loaded with.
#[derive(Debug, Clone, Serialize)]
pub struct PlacementReport {
    pub threads: usize,
    /// CPUs inference threads are pinned to, as a Linux CPU list; `null` when not pinned.
    pub affinity: Option<String>,
    pub why: String,
    /// Set when the runtime's affinity option cannot be honoured here.
    pub error: Option<String>,
}

pub(crate) fn build(rt: &Runtime) -> Report {
    let platform = rt.platform().clone();
    let placement = match rt.placement() {
        Ok(p) => PlacementReport {
            threads: p.threads,
            affinity: p.affinity.as_deref().map(cpulist::format),
            why: p.why,
            error: None,
        },
        Err(e) => {
            let d = platform.default_placement();
            PlacementReport {
                threads: d.threads,
                affinity: d.affinity.as_deref().map(cpulist::format),
                why: d.why,
                error: Some(e.to_string()),
            }
        }
    };
    let mut compiled = crate::backends::compiled_in();
    compiled.sort_unstable();
    if cfg!(feature = "tract-tflite") {
        compiled.push("tract-tflite");
    }
    Report {
        schema: REPORT_SCHEMA,
        edgerun: BuildReport {
            version: env!("CARGO_PKG_VERSION"),
            arch: std::env::consts::ARCH,
            os: std::env::consts::OS,
            env: if cfg!(target_env = "musl") {
                "musl"
            } else if cfg!(target_env = "gnu") {
                "gnu"
            } else {
                "other"
            },
            backends_compiled: compiled,
        },
        device: DeviceReport {
            signature: platform.signature(),
            signature_hash: platform.signature_hash(),
            platform,
        },
        placement,
        backends: rt.backends().iter().map(|b| b.report()).collect(),
    }
}
