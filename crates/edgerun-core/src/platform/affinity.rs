//! Where inference threads may run: the `--cpu_affinity` choice, and pinning threads (Linux
//! `sched_setaffinity`) with a way to read it back.

use std::fmt;
use std::str::FromStr;

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use serde::Serialize;

use super::{cpulist, Platform};
use crate::error::{Error, Result};

/// Which CPUs inference threads may run on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuAffinity {
    /// edgerun's choice for the device: the big cores on a big.LITTLE CPU, no pinning on a
    /// CPU whose cores are all alike (see [`Platform::default_placement`]).
    Default,
    /// The big cores usable by this process.
    Big,
    /// The little cores usable by this process.
    Little,
    /// Every CPU usable by this process.
    All,
    /// These CPUs.
    Cpus(Vec<usize>),
}

impl FromStr for CpuAffinity {
    type Err = Error;

    /// `big`, `little`, `all`, `default`, or a CPU list such as `0-3,6`.
    fn from_str(s: &str) -> Result<CpuAffinity> {
        match s.trim() {
            "default" => Ok(CpuAffinity::Default),
            "big" => Ok(CpuAffinity::Big),
            "little" => Ok(CpuAffinity::Little),
            "all" => Ok(CpuAffinity::All),
            list => {
                let cpus = cpulist::parse(list).map_err(|reason| {
                    invalid(format!(
                        "{list:?}: {reason}; write big, little, all, or a CPU list such as 0-3,6"
                    ))
                })?;
                if cpus.is_empty() {
                    return Err(invalid(
                        "the CPU list is empty; write big, little, all, or a CPU list such as 0-3,6"
                            .into(),
                    ));
                }
                Ok(CpuAffinity::Cpus(cpus))
            }
        }
    }
}

impl fmt::Display for CpuAffinity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CpuAffinity::Default => f.write_str("default"),
            CpuAffinity::Big => f.write_str("big"),
            CpuAffinity::Little => f.write_str("little"),
            CpuAffinity::All => f.write_str("all"),
            CpuAffinity::Cpus(c) => f.write_str(&cpulist::format(c)),
        }
    }
}

fn invalid(reason: String) -> Error {
    Error::InvalidOption {
        option: "cpu_affinity".into(),
        reason,
    }
}

impl CpuAffinity {
    /// The CPUs to pin to on `platform`; `None` means "do not pin" (the default on a CPU whose
    /// cores are all alike).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] naming the CPUs that exist, are online and are usable, when the
    /// choice selects none of them or names one that is not usable.
    pub fn resolve(&self, platform: &Platform) -> Result<Option<Vec<usize>>> {
        let usable = &platform.usable;
        let what_exists = || {
            format!(
                "this device has CPUs {} (online {}, usable by this process {})",
                cpulist::format(&platform.cpus.iter().map(|c| c.id).collect::<Vec<_>>()),
                cpulist::format(&platform.online()),
                cpulist::format(usable),
            )
        };
        let usable_of = |class| -> Vec<usize> {
            platform
                .cpus_of_class(class)
                .into_iter()
                .filter(|c| usable.contains(c))
                .collect()
        };
        match self {
            CpuAffinity::Default => Ok(platform.default_placement().affinity),
            CpuAffinity::All => Ok(Some(usable.clone())),
            CpuAffinity::Big | CpuAffinity::Little => {
                if !platform.is_heterogeneous() {
                    if *self == CpuAffinity::Big {
                        return Ok(Some(usable.clone()));
                    }
                    return Err(invalid(format!(
                        "this CPU has no little cores: its cores are all alike; {}",
                        what_exists()
                    )));
                }
                let class = if *self == CpuAffinity::Big {
                    super::CoreClass::Big
                } else {
                    super::CoreClass::Little
                };
                let cpus = usable_of(class);
                if cpus.is_empty() {
                    return Err(invalid(format!(
                        "none of the {self} cores ({}) is usable by this process; {}",
                        cpulist::format(&platform.cpus_of_class(class)),
                        what_exists()
                    )));
                }
                Ok(Some(cpus))
            }
            CpuAffinity::Cpus(list) => {
                for &c in list {
                    let Some(cpu) = platform.cpus.iter().find(|x| x.id == c) else {
                        return Err(invalid(format!(
                            "CPU {c} does not exist; {}",
                            what_exists()
                        )));
                    };
                    if !cpu.online {
                        return Err(invalid(format!("CPU {c} is offline; {}", what_exists())));
                    }
                    if !usable.contains(&c) {
                        return Err(invalid(format!(
                            "CPU {c} is not usable by this process (its affinity or cpuset excludes it); {}",
                            what_exists()
                        )));
                    }
                }
                Ok(Some(list.clone()))
            }
        }
    }
}

fn cpu_set(cpus: &[usize]) -> Result<CpuSet> {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c)
            .map_err(|e| invalid(format!("CPU {c} cannot be put in a CPU set: {e}")))?;
    }
    Ok(set)
}

fn set_to_list(set: &CpuSet) -> Vec<usize> {
    (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// The CPUs a thread of this process may run on (`tid` 0: the calling thread).
///
/// # Errors
/// [`Error::Backend`] when the kernel refuses (no such thread).
pub fn thread_affinity(tid: i32) -> Result<Vec<usize>> {
    sched_getaffinity(Pid::from_raw(tid))
        .map(|s| set_to_list(&s))
        .map_err(|e| Error::Backend {
            backend: "platform".into(),
            message: format!("cannot read the CPU affinity of thread {tid}: {e}"),
        })
}

/// Pin the calling thread to these CPUs. Threads it starts afterwards inherit the set.
///
/// # Errors
/// [`Error::InvalidOption`] when the kernel refuses the set (CPUs offline or outside this
/// process's cpuset).
pub fn pin_current_thread(cpus: &[usize]) -> Result<()> {
    sched_setaffinity(Pid::from_raw(0), &cpu_set(cpus)?).map_err(|e| {
        invalid(format!(
            "the kernel refused to pin to CPUs {}: {e}",
            cpulist::format(cpus)
        ))
    })
}

/// Pins the calling thread for as long as it lives, then gives it back its former CPUs.
#[must_use = "the thread is unpinned when the guard is dropped"]
pub struct PinGuard {
    previous: Option<CpuSet>,
}

impl PinGuard {
    /// Pin the calling thread to `cpus` (nothing when `None`) until the guard is dropped.
    ///
    /// # Errors
    /// As [`pin_current_thread`].
    pub fn new(cpus: Option<&[usize]>) -> Result<PinGuard> {
        let Some(cpus) = cpus else {
            return Ok(PinGuard { previous: None });
        };
        let previous = sched_getaffinity(Pid::from_raw(0)).ok();
        pin_current_thread(cpus)?;
        Ok(PinGuard { previous })
    }
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        if let Some(set) = &self.previous {
            // the former set was valid a moment ago; if a CPU went offline since, the thread
            // keeps the pinned set, which is still a valid one
            let _ = sched_setaffinity(Pid::from_raw(0), set);
        }
    }
}

/// Thread ids of this process (`/proc/self/task`).
pub fn threads_of_this_process() -> Vec<i32> {
    let mut tids: Vec<i32> = std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    tids.sort_unstable();
    tids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_choices() {
        assert_eq!("big".parse::<CpuAffinity>().unwrap(), CpuAffinity::Big);
        assert_eq!(
            "0-2,6".parse::<CpuAffinity>().unwrap(),
            CpuAffinity::Cpus(vec![0, 1, 2, 6])
        );
        let e = "fast".parse::<CpuAffinity>().unwrap_err().to_string();
        assert!(e.contains("cpu_affinity") && e.contains("0-3,6"), "{e}");
        let e = ",".parse::<CpuAffinity>().unwrap_err().to_string();
        assert!(e.contains("empty"), "{e}");
    }

    #[test]
    fn pins_and_restores_the_calling_thread() {
        // on a thread of its own, so the test harness's threads are untouched
        std::thread::spawn(|| {
            let before = thread_affinity(0).unwrap();
            let target = *before.last().unwrap();
            {
                let _g = PinGuard::new(Some(&[target])).unwrap();
                assert_eq!(thread_affinity(0).unwrap(), vec![target]);
            }
            assert_eq!(thread_affinity(0).unwrap(), before);
        })
        .join()
        .unwrap();
    }
}
