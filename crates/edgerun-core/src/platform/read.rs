//! Reading the device description from `/proc` and `/sys` under a root directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::libc::{libc_from_maps, live_libc};
use super::{cpulist, features, parts, thread_affinity, Cluster, CoreClass, Cpu, Platform};

/// One `processor` block of `/proc/cpuinfo`.
#[derive(Debug, Default, Clone)]
struct CpuinfoEntry {
    implementer: Option<u32>,
    part: Option<u32>,
    architecture: Option<String>,
    model_name: Option<String>,
    flags: Vec<String>,
}

#[derive(Debug, Default)]
struct Cpuinfo {
    entries: BTreeMap<usize, CpuinfoEntry>,
    /// Lines outside processor blocks (`Hardware`, `Model` on Raspberry Pi OS).
    extra: BTreeMap<String, String>,
}

fn parse_hex(v: &str) -> Option<u32> {
    let v = v.trim();
    let v = v.strip_prefix("0x").or_else(|| v.strip_prefix("0X"))?;
    u32::from_str_radix(v, 16).ok()
}

fn parse_cpuinfo(text: &str) -> Cpuinfo {
    let mut info = Cpuinfo::default();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "processor" {
            // 32-bit Arm kernels also print "Processor : ARMv7 ..." (capital P), not a number
            current = value.parse().ok();
            if let Some(id) = current {
                info.entries.entry(id).or_default();
            }
            continue;
        }
        let Some(entry) = current.and_then(|id| info.entries.get_mut(&id)) else {
            info.extra.insert(key.to_string(), value.to_string());
            continue;
        };
        match key {
            "CPU implementer" => entry.implementer = parse_hex(value),
            "CPU part" => entry.part = parse_hex(value),
            "CPU architecture" => entry.architecture = Some(value.to_string()),
            "model name" => entry.model_name = Some(value.to_string()),
            "Features" | "flags" => {
                entry.flags = value.split_whitespace().map(String::from).collect()
            }
            // Raspberry Pi OS and others print these after the last processor block
            "Hardware" | "Revision" | "Serial" | "Model" => {
                info.extra.insert(key.to_string(), value.to_string());
            }
            _ => {}
        }
    }
    info
}

impl Cpuinfo {
    /// The architecture this cpuinfo describes, if it tells.
    fn arch(&self) -> Option<&'static str> {
        let first = self.entries.values().next()?;
        if first.implementer.is_some() {
            return Some(match first.architecture.as_deref() {
                Some("7") => "arm",
                _ if first.flags.iter().any(|f| f == "asimd" || f == "fp") => "aarch64",
                Some(a) if a.starts_with('8') || a.starts_with("AArch64") => "aarch64",
                _ => "arm",
            });
        }
        if first.flags.iter().any(|f| f == "lm") {
            return Some("x86_64");
        }
        if first.model_name.is_some() {
            return Some("x86");
        }
        None
    }
}

/// Reads a device description from files under a root directory.
struct Reader {
    root: PathBuf,
}

impl Reader {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    fn text(&self, rel: &str) -> Option<String> {
        std::fs::read(self.path(rel))
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    }

    fn trimmed(&self, rel: &str) -> Option<String> {
        self.text(rel)
            .map(|t| {
                t.trim_matches(|c: char| c.is_whitespace() || c == '\0')
                    .to_string()
            })
            .filter(|t| !t.is_empty())
    }

    fn number<T: std::str::FromStr>(&self, rel: &str) -> Option<T> {
        self.trimmed(rel)?.parse().ok()
    }
}

/// How this process's view differs between a live system and a captured tree.
pub(super) enum Source {
    /// This machine: the affinity mask comes from `sched_getaffinity`, the architecture and
    /// C library from this program.
    Live,
    /// A tree captured elsewhere: everything comes from its files.
    Captured,
}

/// What sets a cluster apart: cluster id, implementer, part, maximum frequency, capacity.
type ClusterKey = (
    Option<u32>,
    Option<u32>,
    Option<u32>,
    Option<u64>,
    Option<u32>,
);

/// Class each cluster (by key: cluster id, implementer, part, frequency, capacity): by
/// capacity, else frequency, else core design.
fn classify(keys: &[ClusterKey]) -> (Vec<CoreClass>, String) {
    let uniform = || (vec![CoreClass::Big; keys.len()], "uniform".to_string());
    if keys.len() < 2 {
        return uniform();
    }
    let capacities: Option<Vec<u32>> = keys.iter().map(|k| k.4).collect();
    if let Some(caps) = capacities {
        let max = *caps.iter().max().unwrap_or(&0);
        // a core of under 60% of the fastest one's capacity is a little core; clusters of one
        // design binned at different frequencies stay big
        let classes: Vec<CoreClass> = caps
            .iter()
            .map(|&c| {
                if (c as f64) < 0.6 * max as f64 {
                    CoreClass::Little
                } else {
                    CoreClass::Big
                }
            })
            .collect();
        if caps.iter().any(|&c| c != max) {
            return (classes, "capacity".into());
        }
    }
    let freqs: Option<Vec<u64>> = keys.iter().map(|k| k.3).collect();
    if let Some(freqs) = freqs {
        let max = *freqs.iter().max().unwrap_or(&0);
        if freqs.iter().any(|&f| f != max) {
            let classes = freqs
                .iter()
                .map(|&f| {
                    if (f as f64) <= 0.8 * max as f64 {
                        CoreClass::Little
                    } else {
                        CoreClass::Big
                    }
                })
                .collect();
            return (classes, "frequency".into());
        }
    }
    let designs: Vec<Option<(u32, u32)>> = keys.iter().map(|k| k.1.zip(k.2)).collect();
    let little = |d: &Option<(u32, u32)>| d.is_some_and(|(i, p)| parts::is_efficiency_core(i, p));
    if designs.iter().any(little) && designs.iter().any(|d| d.is_some() && !little(d)) {
        let classes = designs
            .iter()
            .map(|d| {
                if little(d) {
                    CoreClass::Little
                } else {
                    CoreClass::Big
                }
            })
            .collect();
        return (classes, "part".into());
    }
    uniform()
}

fn cpu_model(cpuinfo: &Cpuinfo, fits: bool, clusters: &[Cluster], arch: &str) -> String {
    if fits {
        if let Some(name) = cpuinfo.entries.values().find_map(|e| e.model_name.clone()) {
            if !arch.starts_with("arm") && arch != "aarch64" {
                return name;
            }
        }
    }
    let mut parts: Vec<(String, usize, Option<u64>)> = Vec::new();
    for c in clusters {
        match parts
            .iter_mut()
            .find(|(core, _, f)| *core == c.core && *f == c.max_freq_khz)
        {
            Some(p) => p.1 += c.count,
            None => parts.push((c.core.clone(), c.count, c.max_freq_khz)),
        }
    }
    // fastest first, as boards are described
    parts.sort_by_key(|p| std::cmp::Reverse(p.2.unwrap_or(0)));
    let soc = cpuinfo
        .extra
        .get("Hardware")
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    let described: Vec<String> = parts
        .iter()
        .map(|(core, n, f)| match f {
            Some(f) => format!("{n}x {core} @ {:.2} GHz", *f as f64 / 1e6),
            None => format!("{n}x {core}"),
        })
        .collect();
    format!("{}{soc}", described.join(" + "))
}

/// The CPU quota of this process's cgroup, in CPUs: cgroup v2 `cpu.max`, or v1
/// `cpu.cfs_quota_us` / `cpu.cfs_period_us`. The smallest quota on the way up the hierarchy.
fn cgroup_quota(r: &Reader) -> Option<f64> {
    let cgroups = r.text("proc/self/cgroup").unwrap_or_default();
    let mut quotas = Vec::new();
    for line in cgroups.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let ancestors = |base: &str| -> Vec<String> {
            let mut dirs = Vec::new();
            let mut p = Path::new(path).to_path_buf();
            loop {
                dirs.push(format!("{base}/{}", p.display()).replace("//", "/"));
                if !p.pop() {
                    break;
                }
            }
            dirs
        };
        if controllers.is_empty() {
            // cgroup v2
            for dir in ancestors("sys/fs/cgroup") {
                if let Some(text) = r.trimmed(&format!("{dir}/cpu.max")) {
                    let mut it = text.split_whitespace();
                    if let (Some(q), Some(p)) = (it.next(), it.next()) {
                        if let (Ok(q), Ok(p)) = (q.parse::<f64>(), p.parse::<f64>()) {
                            if p > 0.0 {
                                quotas.push(q / p);
                            }
                        }
                    }
                }
            }
        } else if controllers.split(',').any(|c| c == "cpu") {
            for base in ["sys/fs/cgroup/cpu,cpuacct", "sys/fs/cgroup/cpu"] {
                for dir in ancestors(base) {
                    let q: Option<f64> = r.number(&format!("{dir}/cpu.cfs_quota_us"));
                    let p: Option<f64> = r.number(&format!("{dir}/cpu.cfs_period_us"));
                    if let (Some(q), Some(p)) = (q, p) {
                        if q > 0.0 && p > 0.0 {
                            quotas.push(q / p);
                        }
                    }
                }
            }
        }
    }
    quotas
        .into_iter()
        .fold(None, |m: Option<f64>, q| Some(m.map_or(q, |m| m.min(q))))
        .map(|q| (q * 100.0).round() / 100.0)
}

/// A CPU as its files describe it: design, frequency, capacity, cluster id.
#[derive(Clone, Copy)]
struct Raw {
    id: usize,
    online: bool,
    implementer: Option<u32>,
    part: Option<u32>,
    max_freq_khz: Option<u64>,
    capacity: Option<u32>,
    cluster_id: Option<u32>,
}

const SYS_CPU: &str = "sys/devices/system/cpu";

impl Platform {
    /// The description, in the order its parts depend on each other: cpuinfo and the
    /// architecture, which CPUs exist, each CPU, their clusters, the features, the CPUs this
    /// process may use, then kernel, C library and board.
    pub(super) fn read(root: &Path, source: Source) -> Platform {
        let r = Reader {
            root: root.to_path_buf(),
        };
        let mut notes = Vec::new();
        let cpuinfo = parse_cpuinfo(&r.text("proc/cpuinfo").unwrap_or_default());
        if cpuinfo.entries.is_empty() {
            notes.push("/proc/cpuinfo is missing or lists no processor".to_string());
        }
        let cpuinfo_arch = cpuinfo.arch();
        let arch = match source {
            Source::Live => std::env::consts::ARCH.to_string(),
            Source::Captured => cpuinfo_arch.unwrap_or("unknown").to_string(),
        };
        // under an emulator (qemu-user) /proc/cpuinfo describes the host, not this program's CPU
        let fits = match cpuinfo_arch {
            Some(a) => a == arch || (a == "aarch64" && arch == "arm"),
            None => false,
        };
        if !cpuinfo.entries.is_empty() && !fits {
            notes.push(format!(
                "/proc/cpuinfo describes a {} CPU but this program runs on {arch} (an emulator?): core names and cpuinfo features are not used",
                cpuinfo_arch.unwrap_or("different")
            ));
        }
        let (present, online) = cpu_sets(&r, &cpuinfo, &mut notes);
        let raws = raw_cpus(&r, &cpuinfo, fits, &present, &online);
        if raws.iter().all(|c| c.max_freq_khz.is_none()) {
            notes.push(
                "no cpufreq (usual in containers and emulators): maximum frequencies unknown"
                    .into(),
            );
        }
        let (cpus, clusters, classed_by) = group(&raws, &cpuinfo, fits);
        let (features, features_source) = cpu_features(&r, &arch, &cpuinfo, fits);
        if features_source == "none" {
            notes.push("no CPU feature source readable (auxv, cpuinfo)".into());
        }
        let usable = usable_cpus(&r, &source, &online, &mut notes);
        let cpu_quota = cgroup_quota(&r);
        if let Some(q) = cpu_quota {
            notes.push(format!("the cgroup limits this process to {q} CPUs"));
        }
        let libc = match source {
            Source::Live => live_libc(),
            Source::Captured => r.text("proc/self/maps").and_then(|m| libc_from_maps(&m).0),
        };
        let board = r
            .trimmed("proc/device-tree/model")
            .or_else(|| r.trimmed("sys/firmware/devicetree/base/model"))
            .or_else(|| r.trimmed("sys/devices/virtual/dmi/id/product_name"))
            .or_else(|| cpuinfo.extra.get("Model").cloned());
        Platform {
            cpu_model: cpu_model(&cpuinfo, fits, &clusters, &arch),
            arch,
            board,
            cpus,
            clusters,
            classed_by,
            features,
            features_source,
            kernel: r.trimmed("proc/sys/kernel/osrelease"),
            libc,
            usable,
            cpu_quota,
            notes,
        }
    }
}

/// Which CPUs exist (present) and which are online; from cpuinfo when `/sys` says neither.
fn cpu_sets(r: &Reader, cpuinfo: &Cpuinfo, notes: &mut Vec<String>) -> (Vec<usize>, Vec<usize>) {
    let online = r
        .text(&format!("{SYS_CPU}/online"))
        .and_then(|t| cpulist::parse(&t).ok());
    let present = r
        .text(&format!("{SYS_CPU}/present"))
        .and_then(|t| cpulist::parse(&t).ok());
    let (present, online) = match (present, online) {
        (Some(p), Some(o)) => (p, o),
        (None, Some(o)) => (o.clone(), o),
        (p, None) => {
            let listed: Vec<usize> = cpuinfo.entries.keys().copied().collect();
            let o = if listed.is_empty() { vec![0] } else { listed };
            notes.push(format!(
                "{SYS_CPU}/online is missing: CPUs taken from /proc/cpuinfo"
            ));
            (p.unwrap_or_else(|| o.clone()), o)
        }
    };
    let offline: Vec<usize> = present
        .iter()
        .copied()
        .filter(|c| !online.contains(c))
        .collect();
    if !offline.is_empty() {
        notes.push(format!("CPUs {} are offline", cpulist::format(&offline)));
    }
    (present, online)
}

/// Each present CPU as its files describe it. An offline CPU is absent from cpuinfo and has
/// no cpufreq: it takes those of an online CPU of its cluster id and capacity.
fn raw_cpus(
    r: &Reader,
    cpuinfo: &Cpuinfo,
    fits: bool,
    present: &[usize],
    online: &[usize],
) -> Vec<Raw> {
    let raws: Vec<Raw> = present
        .iter()
        .map(|&id| {
            let entry = cpuinfo.entries.get(&id).filter(|_| fits);
            let cluster_id = r
                .number::<i64>(&format!("{SYS_CPU}/cpu{id}/topology/cluster_id"))
                .filter(|&v| (0..65535).contains(&v))
                .map(|v| v as u32);
            Raw {
                id,
                online: online.contains(&id),
                implementer: entry.and_then(|e| e.implementer),
                part: entry.and_then(|e| e.part),
                max_freq_khz: r.number(&format!("{SYS_CPU}/cpu{id}/cpufreq/cpuinfo_max_freq")),
                capacity: r.number(&format!("{SYS_CPU}/cpu{id}/cpu_capacity")),
                cluster_id,
            }
        })
        .collect();
    raws.iter()
        .map(|raw| {
            let sibling = (!raw.online && raw.implementer.is_none())
                .then(|| {
                    raws.iter().find(|o| {
                        o.online && o.cluster_id == raw.cluster_id && o.capacity == raw.capacity
                    })
                })
                .flatten();
            Raw {
                implementer: raw.implementer.or(sibling.and_then(|s| s.implementer)),
                part: raw.part.or(sibling.and_then(|s| s.part)),
                max_freq_khz: raw.max_freq_khz.or(sibling.and_then(|s| s.max_freq_khz)),
                ..*raw
            }
        })
        .collect()
}

/// Alike CPUs grouped into clusters, each classed big or little, and by what.
fn group(raws: &[Raw], cpuinfo: &Cpuinfo, fits: bool) -> (Vec<Cpu>, Vec<Cluster>, String) {
    let mut keys: Vec<ClusterKey> = Vec::new();
    let mut cpus = Vec::new();
    for raw in raws {
        let key = (
            raw.cluster_id,
            raw.implementer,
            raw.part,
            raw.max_freq_khz,
            raw.capacity,
        );
        let cluster = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                keys.len() - 1
            }
        };
        let core = if raw.implementer.is_some() {
            parts::display_name(raw.implementer, raw.part)
        } else {
            cpuinfo
                .entries
                .get(&raw.id)
                .filter(|_| fits)
                .and_then(|e| e.model_name.clone())
                .unwrap_or_else(|| "unknown core".into())
        };
        cpus.push(Cpu {
            id: raw.id,
            online: raw.online,
            core,
            implementer: raw.implementer.map(|v| format!("{v:#04x}")),
            part: raw.part.map(|v| format!("{v:#05x}")),
            max_freq_khz: raw.max_freq_khz,
            capacity: raw.capacity,
            cluster,
        });
    }
    let (classes, classed_by) = classify(&keys);
    let clusters: Vec<Cluster> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let members: Vec<usize> = cpus
                .iter()
                .filter(|c| c.cluster == i)
                .map(|c| c.id)
                .collect();
            let core = cpus
                .iter()
                .find(|c| c.cluster == i)
                .map(|c| c.core.clone())
                .unwrap_or_default();
            Cluster {
                core,
                count: members.len(),
                cpus: members,
                max_freq_khz: k.3,
                capacity: k.4,
                class: classes[i],
            }
        })
        .collect();
    (cpus, clusters, classed_by)
}

/// The CPU's features, in the architecture's order, and where they were read: the auxiliary
/// vector on Arm, cpuinfo's flags everywhere (a feature counts when every core that reports
/// flags has it).
fn cpu_features(r: &Reader, arch: &str, cpuinfo: &Cpuinfo, fits: bool) -> (Vec<String>, String) {
    let mut found: Vec<&'static str> = Vec::new();
    let mut sources = Vec::new();
    if arch == "aarch64" {
        if let Some((h1, h2)) = std::fs::read(r.path("proc/self/auxv"))
            .ok()
            .and_then(|b| features::hwcaps_from_auxv(&b, 8))
        {
            found.extend(features::aarch64_from_hwcaps(h1, h2));
            sources.push("hwcap");
        }
    }
    if fits {
        let mut common: Option<Vec<&'static str>> = None;
        for e in cpuinfo.entries.values().filter(|e| !e.flags.is_empty()) {
            let f = features::from_cpuinfo_flags(arch, &e.flags);
            common = Some(match common {
                None => f,
                Some(c) => c.into_iter().filter(|x| f.contains(x)).collect(),
            });
        }
        if let Some(c) = common {
            found.extend(c);
            sources.push("cpuinfo");
        }
    }
    let mut features: Vec<String> = features::known(arch)
        .iter()
        .filter(|n| found.contains(n))
        .map(|n| n.to_string())
        .collect();
    features.dedup();
    let source = if sources.is_empty() {
        "none".into()
    } else {
        sources.join("+")
    };
    (features, source)
}

/// The online CPUs this process may use (its affinity mask or cpuset); all online CPUs when
/// the mask names none of them.
fn usable_cpus(
    r: &Reader,
    source: &Source,
    online: &[usize],
    notes: &mut Vec<String>,
) -> Vec<usize> {
    let allowed = match source {
        Source::Live => thread_affinity(0).ok(),
        Source::Captured => r.text("proc/self/status").and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .and_then(|v| cpulist::parse(v).ok())
        }),
    };
    let usable: Vec<usize> = match &allowed {
        Some(a) => online.iter().copied().filter(|c| a.contains(c)).collect(),
        None => online.to_vec(),
    };
    let usable = if usable.is_empty() {
        online.to_vec()
    } else {
        usable
    };
    if usable.len() < online.len() {
        notes.push(format!(
            "this process may use CPUs {} of the online {} (affinity or cpuset)",
            cpulist::format(&usable),
            cpulist::format(online)
        ));
    }
    usable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_by_capacity_then_frequency_then_part() {
        let k = |cap, freq, part| (None, Some(0x41), Some(part), freq, cap);
        let (c, by) = classify(&[
            k(Some(414), Some(1_800_000), 0xd05),
            k(Some(1024), Some(2_400_000), 0xd0b),
        ]);
        assert_eq!(
            (c, by.as_str()),
            (vec![CoreClass::Little, CoreClass::Big], "capacity")
        );
        let (c, by) = classify(&[
            k(None, Some(1_800_000), 0xd08),
            k(None, Some(1_416_000), 0xd03),
        ]);
        assert_eq!(
            (c, by.as_str()),
            (vec![CoreClass::Big, CoreClass::Little], "frequency")
        );
        let (c, by) = classify(&[k(None, None, 0xd08), k(None, None, 0xd03)]);
        assert_eq!(
            (c, by.as_str()),
            (vec![CoreClass::Big, CoreClass::Little], "part")
        );
        // one design at two bins: both big
        let (c, _) = classify(&[
            k(Some(1000), Some(2_256_000), 0xd0b),
            k(Some(1024), Some(2_400_000), 0xd0b),
        ]);
        assert_eq!(c, vec![CoreClass::Big, CoreClass::Big]);
    }

    #[test]
    fn the_live_machine_reads_sensibly() {
        let p = Platform::detect();
        assert_eq!(p.arch, std::env::consts::ARCH);
        assert!(!p.cpus.is_empty() && !p.usable.is_empty(), "{p:?}");
        let placement = p.default_placement();
        assert!(placement.threads >= 1 && placement.threads <= p.usable.len());
        assert_eq!(p.signature_hash().len(), 16);
    }
}
