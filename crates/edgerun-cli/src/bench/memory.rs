//! Memory footprint as benchmark_model measures it on Linux: the process's peak resident set
//! (`getrusage` `ru_maxrss`, in KiB), sampled at points of the benchmark and, with
//! `--report_peak_memory_footprint`, by a monitor thread every
//! `--memory_footprint_check_interval_ms`.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// One reading. `None` where the platform cannot tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryUsage {
    /// Peak resident set so far, KiB (`ru_maxrss`).
    pub footprint_kb: Option<i64>,
    /// `footprint_kb` plus swapped-out memory (`VmSwap`), in bytes.
    pub private_bytes: Option<i64>,
}

impl MemoryUsage {
    pub fn now() -> MemoryUsage {
        // `max_rss` is a C long: 64 bits here, 32 on armv7
        #[allow(clippy::useless_conversion)]
        let footprint_kb = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF)
            .ok()
            .map(|r| i64::from(r.max_rss()));
        let swap_kb = vm_swap_kb();
        MemoryUsage {
            footprint_kb,
            private_bytes: footprint_kb
                .zip(swap_kb)
                .map(|(rss, swap)| (rss + swap) * 1024),
        }
    }

    /// The change from `start` (the tool's `operator-`), in KiB.
    pub fn footprint_delta_kb(&self, start: &MemoryUsage) -> Option<i64> {
        Some(self.footprint_kb? - start.footprint_kb?)
    }
}

/// `VmSwap` of /proc/self/status in KiB: 0 when the line is absent, `None` when the file cannot
/// be read.
fn vm_swap_kb() -> Option<i64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(status_kb(&status, "VmSwap:").unwrap_or(0))
}

/// The KiB figure of a `/proc/self/status` line such as `VmSwap:     1234 kB`.
fn status_kb(status: &str, field: &str) -> Option<i64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A thread that reads [`MemoryUsage`] every interval and keeps the largest footprint.
pub struct PeakMonitor {
    stop: Arc<AtomicBool>,
    peak_kb: Arc<AtomicI64>,
    thread: Option<JoinHandle<()>>,
}

impl PeakMonitor {
    /// Start sampling, once at once and then every `interval_ms` (at least 1 ms).
    pub fn start(interval_ms: u64) -> PeakMonitor {
        let stop = Arc::new(AtomicBool::new(false));
        let peak_kb = Arc::new(AtomicI64::new(-1));
        let (s, p) = (stop.clone(), peak_kb.clone());
        let interval = Duration::from_millis(interval_ms.max(1));
        let thread = std::thread::Builder::new()
            .name("edgerun-memmon".into())
            .spawn(move || loop {
                if let Some(kb) = MemoryUsage::now().footprint_kb {
                    p.fetch_max(kb, Ordering::Relaxed);
                }
                if s.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::park_timeout(interval);
            })
            .ok();
        PeakMonitor {
            stop,
            peak_kb,
            thread,
        }
    }

    /// Stop sampling (after one last sample) and return the peak in MB (KiB / 1024), or
    /// `None` when nothing could be read.
    pub fn stop(mut self) -> Option<f64> {
        self.halt();
        let kb = self.peak_kb.load(Ordering::Relaxed);
        (kb >= 0).then(|| kb as f64 / 1024.0)
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl Drop for PeakMonitor {
    fn drop(&mut self) {
        self.halt();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm_rss_kb() -> i64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        status_kb(&status, "VmRSS:").unwrap()
    }

    #[test]
    fn footprint_grows_with_touched_memory_and_the_monitor_sees_it() {
        let start = MemoryUsage::now();
        assert!(start.footprint_kb.unwrap() > 0);
        let monitor = PeakMonitor::start(1);
        let rss_before = vm_rss_kb();
        // touch 64 MiB: the peak resident set must reach what was resident plus that
        let block = vec![1u8; 64 << 20];
        std::thread::sleep(Duration::from_millis(20));
        let sum: u64 = block.iter().step_by(4096).map(|&b| u64::from(b)).sum();
        assert_eq!(sum, (64 << 20) / 4096);
        let after = MemoryUsage::now();
        let peak_kb = after.footprint_kb.unwrap();
        assert!(
            peak_kb >= rss_before + 60 * 1024,
            "peak {peak_kb} KiB, resident before {rss_before} KiB"
        );
        // the delta counts the 64 MiB touched since `start` (less what was resident already)
        let delta = after.footprint_delta_kb(&start).unwrap();
        assert!(
            delta >= rss_before + 60 * 1024 - start.footprint_kb.unwrap(),
            "delta {delta} KiB"
        );
        let peak_mb = monitor.stop().unwrap();
        assert!(
            peak_mb * 1024.0 >= (rss_before + 60 * 1024) as f64,
            "monitor {peak_mb} MB"
        );
        drop(block);
    }
}
