//! The device edgerun runs on: CPU topology (big.LITTLE clusters), CPU features, the CPUs this
//! process may use, kernel and C library, and where inference threads should go by default.
//!
//! Everything is read from `/proc` and `/sys` under a root directory, so a tree captured on a
//! board ([`Platform::from_root`]) reads exactly as the board itself ([`Platform::detect`]).
//! Missing or odd files make the description less precise, never an error: containers and
//! emulators have no cpufreq, offline CPUs are absent from `/proc/cpuinfo`.
//!
//! ```
//! let device = edgerun_core::platform::Platform::detect();
//! let placement = device.default_placement();
//! assert!(placement.threads >= 1);
//! println!("{}: {} threads ({})", device.cpu_model, placement.threads, placement.why);
//! ```

mod affinity;
pub mod cpulist;
pub mod features;
mod libc;
pub mod parts;
mod read;

use std::path::Path;

use read::Source;

use serde::Serialize;

pub use affinity::{
    pin_current_thread, thread_affinity, threads_of_this_process, CpuAffinity, PinGuard,
};

/// Big or little, for inference: a little core runs inference markedly slower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CoreClass {
    Big,
    Little,
}

/// One CPU (a hardware thread).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cpu {
    pub id: usize,
    pub online: bool,
    /// Core design, e.g. `Cortex-A76`; `unknown core (...)` with the numbers when unknown.
    pub core: String,
    /// MIDR implementer (`0x41` is Arm), as `/proc/cpuinfo` writes it.
    pub implementer: Option<String>,
    /// MIDR part number (`0xd0b` is a Cortex-A76).
    pub part: Option<String>,
    /// `cpufreq/cpuinfo_max_freq`, in kHz.
    pub max_freq_khz: Option<u64>,
    /// `cpu_capacity` (the fastest core is 1024).
    pub capacity: Option<u32>,
    /// Index into [`Platform::clusters`].
    pub cluster: usize,
}

/// CPUs of one design, frequency and capacity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cluster {
    pub core: String,
    pub cpus: Vec<usize>,
    pub count: usize,
    pub max_freq_khz: Option<u64>,
    pub capacity: Option<u32>,
    pub class: CoreClass,
}

/// What edgerun knows about the device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Platform {
    /// `aarch64`, `arm`, `x86_64`...
    pub arch: String,
    /// The board or machine (device tree `model`, or DMI product name), if it says.
    pub board: Option<String>,
    /// The CPU: its model name on x86, the clusters' cores on Arm (`4x Cortex-A76 + ...`).
    pub cpu_model: String,
    /// Every CPU present, online or not.
    pub cpus: Vec<Cpu>,
    /// Groups of alike CPUs, in order of their first CPU.
    pub clusters: Vec<Cluster>,
    /// How big and little were told apart: `capacity`, `frequency`, `part`, or `uniform`
    /// when every core is alike.
    pub classed_by: String,
    /// Kernel-reported features that decide kernels (`neon`, `dotprod`, `i8mm`, `avx2`...).
    pub features: Vec<String>,
    /// Where the features came from: `hwcap` (the auxiliary vector), `cpuinfo`, or both.
    pub features_source: String,
    /// Kernel release (`/proc/sys/kernel/osrelease`).
    pub kernel: Option<String>,
    /// C library, with its version when it can be told.
    pub libc: Option<String>,
    /// Online CPUs this process may run on (its affinity mask).
    pub usable: Vec<usize>,
    /// The cgroup's CPU quota, in CPUs (`cpu.max` or `cpu.cfs_quota_us`), if limited.
    pub cpu_quota: Option<f64>,
    /// What could not be read, and what that means.
    pub notes: Vec<String>,
}

/// Threads and CPUs for inference, with the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Placement {
    pub threads: usize,
    /// CPUs to pin inference threads to; `None`: not pinned.
    pub affinity: Option<Vec<usize>>,
    pub why: String,
}

impl Platform {
    /// Describe the machine this program runs on.
    pub fn detect() -> Platform {
        Platform::read(Path::new("/"), Source::Live)
    }

    /// Describe the device whose `proc/` and `sys/` trees were copied under `root` (as the
    /// test fixtures are): `proc/cpuinfo`, `proc/self/status` (`Cpus_allowed_list`),
    /// `proc/self/auxv`, `proc/self/cgroup`, `proc/self/maps`, `proc/sys/kernel/osrelease`,
    /// `proc/device-tree/model`, `sys/devices/system/cpu/...` and `sys/fs/cgroup/...`.
    /// Missing files are allowed.
    pub fn from_root(root: impl AsRef<Path>) -> Platform {
        Platform::read(root.as_ref(), Source::Captured)
    }

    /// Online CPUs.
    pub fn online(&self) -> Vec<usize> {
        self.cpus
            .iter()
            .filter(|c| c.online)
            .map(|c| c.id)
            .collect()
    }

    /// Does the CPU mix big and little cores?
    pub fn is_heterogeneous(&self) -> bool {
        self.clusters.iter().any(|c| c.class == CoreClass::Little)
    }

    /// CPUs of a class, online or not.
    pub fn cpus_of_class(&self, class: CoreClass) -> Vec<usize> {
        self.cpus
            .iter()
            .filter(|c| self.clusters[c.cluster].class == class)
            .map(|c| c.id)
            .collect()
    }

    /// Does the device have this feature (`neon`, `dotprod`, `avx2`...)?
    pub fn has_feature(&self, name: &str) -> bool {
        self.features.iter().any(|f| f == name)
    }

    /// Threads and CPUs edgerun uses for inference when told nothing: one thread per big core
    /// this process may use, pinned to those cores on a big.LITTLE CPU; one thread per usable
    /// core, not pinned, when the cores are all alike; never more threads than the cgroup's
    /// CPU quota allows.
    pub fn default_placement(&self) -> Placement {
        let big: Vec<usize> = self
            .cpus_of_class(CoreClass::Big)
            .into_iter()
            .filter(|c| self.usable.contains(c))
            .collect();
        let usable = &self.usable;
        let (mut threads, affinity, mut why) = if self.is_heterogeneous() && !big.is_empty() {
            let names = self.class_names(CoreClass::Big);
            (
                big.len(),
                Some(big.clone()),
                format!(
                    "big.LITTLE: one thread per big core ({names}) this process may use, pinned to CPUs {}; little cores left to the rest of the system",
                    cpulist::format(&big)
                ),
            )
        } else if self.is_heterogeneous() {
            (
                usable.len().max(1),
                None,
                format!(
                    "big.LITTLE, but no big core is usable by this process (CPUs {} only): one thread per usable core",
                    cpulist::format(usable)
                ),
            )
        } else {
            let core = self
                .clusters
                .first()
                .map(|c| c.core.clone())
                .unwrap_or_else(|| "unknown".into());
            (
                usable.len().max(1),
                None,
                format!(
                    "the cores are all alike ({core}): one thread per core this process may use (CPUs {})",
                    cpulist::format(usable)
                ),
            )
        };
        if let Some(q) = self.cpu_quota {
            let cap = (q.ceil() as usize).max(1);
            if cap < threads {
                threads = cap;
                why.push_str(&format!(
                    "; capped at {cap} by the cgroup's CPU quota of {q} CPUs"
                ));
            }
        }
        Placement {
            threads,
            affinity,
            why,
        }
    }

    fn class_names(&self, class: CoreClass) -> String {
        let mut names: Vec<(String, usize)> = Vec::new();
        for c in self.clusters.iter().filter(|c| c.class == class) {
            match names.iter_mut().find(|(n, _)| *n == c.core) {
                Some(entry) => entry.1 += c.count,
                None => names.push((c.core.clone(), c.count)),
            }
        }
        names
            .iter()
            .map(|(n, k)| format!("{k}x {n}"))
            .collect::<Vec<_>>()
            .join(" + ")
    }

    /// A stable text naming what decides inference speed on this device: architecture, core
    /// designs and counts with their frequencies, features, kernel and C library. Two devices
    /// with the same signature run a model alike; it keys the dispatcher's measurements.
    pub fn signature(&self) -> String {
        let clusters: Vec<String> = self
            .clusters
            .iter()
            .map(|c| {
                let freq = c
                    .max_freq_khz
                    .map(|f| format!("@{}MHz", f / 1000))
                    .unwrap_or_default();
                format!("{}x{}{freq}", c.count, c.core.replace(' ', "_"))
            })
            .collect();
        format!(
            "{}|{}|{}|{}|{}",
            self.arch,
            clusters.join("+"),
            self.features.join(","),
            self.kernel.as_deref().unwrap_or("kernel?"),
            self.libc.as_deref().unwrap_or("libc?")
        )
    }

    /// A short hash of [`Platform::signature`] (FNV-1a, 64 bits, hex): a file-name-safe key.
    pub fn signature_hash(&self) -> String {
        let mut h: u64 = 0xcbf29ce484222325;
        for b in self.signature().bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        format!("{h:016x}")
    }
}
