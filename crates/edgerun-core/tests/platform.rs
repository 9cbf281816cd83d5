//! The device description against fixture trees of real boards (tests/fixtures/README.md),
//! and thread pinning on this machine, read back from the kernel.

use std::path::PathBuf;

use edgerun_core::platform::{
    thread_affinity, threads_of_this_process, CoreClass, CpuAffinity, PinGuard, Platform,
};

fn board(name: &str) -> Platform {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    assert!(root.is_dir(), "missing fixture {}", root.display());
    Platform::from_root(root)
}

/// (core, count, class, max MHz) of each cluster.
fn clusters(p: &Platform) -> Vec<(String, usize, CoreClass, Option<u64>)> {
    p.clusters
        .iter()
        .map(|c| {
            (
                c.core.clone(),
                c.count,
                c.class,
                c.max_freq_khz.map(|f| f / 1000),
            )
        })
        .collect()
}

fn s(v: &str) -> String {
    v.to_string()
}

/// Why `cpus` (a `--cpu_affinity` value) cannot be honoured on `p`.
fn refused(p: &Platform, cpus: &str) -> String {
    cpus.parse::<CpuAffinity>()
        .unwrap()
        .resolve(p)
        .unwrap_err()
        .to_string()
}

#[test]
fn raspberry_pi_4() {
    let p = board("rpi4");
    assert_eq!(p.arch, "aarch64");
    assert_eq!(p.board.as_deref(), Some("Raspberry Pi 4 Model B Rev 1.4"));
    assert_eq!(
        clusters(&p),
        vec![(s("Cortex-A72"), 4, CoreClass::Big, Some(1800))]
    );
    assert_eq!(p.classed_by, "uniform");
    assert_eq!(p.cpu_model, "4x Cortex-A72 @ 1.80 GHz (BCM2835)");
    assert_eq!(p.features, vec!["neon"]);
    assert_eq!(p.features_source, "hwcap+cpuinfo");
    assert_eq!(p.kernel.as_deref(), Some("6.1.21-v8+"));
    assert_eq!(p.libc.as_deref(), Some("glibc 2.31"));
    assert_eq!(p.cpus[2].implementer.as_deref(), Some("0x41"));
    assert_eq!(p.cpus[2].part.as_deref(), Some("0xd08"));
    let d = p.default_placement();
    assert_eq!((d.threads, d.affinity), (4, None));
    assert!(d.why.contains("all alike"), "{}", d.why);
}

#[test]
fn raspberry_pi_5() {
    let p = board("rpi5");
    assert_eq!(
        clusters(&p),
        vec![(s("Cortex-A76"), 4, CoreClass::Big, Some(2400))]
    );
    assert_eq!(p.features, vec!["neon", "fp16", "dotprod"]);
    assert!(p.has_feature("dotprod") && !p.has_feature("i8mm"));
    assert_eq!(p.libc.as_deref(), Some("glibc"));
    assert_eq!(p.default_placement().threads, 4);
}

#[test]
fn rk3399_is_big_little_by_capacity() {
    let p = board("rk3399");
    assert_eq!(
        clusters(&p),
        vec![
            (s("Cortex-A53"), 4, CoreClass::Little, Some(1416)),
            (s("Cortex-A72"), 2, CoreClass::Big, Some(1800)),
        ]
    );
    assert_eq!(p.classed_by, "capacity");
    assert!(p.is_heterogeneous());
    assert_eq!(
        p.cpu_model,
        "2x Cortex-A72 @ 1.80 GHz + 4x Cortex-A53 @ 1.42 GHz"
    );
    assert_eq!(p.features, vec!["neon"]);
    assert_eq!(p.features_source, "cpuinfo");
    let d = p.default_placement();
    assert_eq!((d.threads, d.affinity), (2, Some(vec![4, 5])));
    assert!(d.why.contains("2x Cortex-A72"), "{}", d.why);
}

#[test]
fn rk3588_has_two_big_clusters() {
    let p = board("rk3588");
    assert_eq!(
        clusters(&p),
        vec![
            (s("Cortex-A55"), 4, CoreClass::Little, Some(1800)),
            (s("Cortex-A76"), 2, CoreClass::Big, Some(2352)),
            (s("Cortex-A76"), 2, CoreClass::Big, Some(2352)),
        ]
    );
    assert_eq!(
        p.cpu_model,
        "4x Cortex-A76 @ 2.35 GHz + 4x Cortex-A55 @ 1.80 GHz"
    );
    assert_eq!(p.features, vec!["neon", "fp16", "dotprod"]);
    let d = p.default_placement();
    assert_eq!((d.threads, d.affinity), (4, Some(vec![4, 5, 6, 7])));
    assert!(d.why.contains("4x Cortex-A76"), "{}", d.why);
    assert_eq!(
        CpuAffinity::Little.resolve(&p).unwrap(),
        Some(vec![0, 1, 2, 3])
    );
    assert_eq!(
        CpuAffinity::Big.resolve(&p).unwrap(),
        Some(vec![4, 5, 6, 7])
    );
    assert_eq!(
        "6-7".parse::<CpuAffinity>().unwrap().resolve(&p).unwrap(),
        Some(vec![6, 7])
    );
    let e = refused(&p, "2,9");
    assert!(
        e.contains("CPU 9 does not exist") && e.contains("CPUs 0-7"),
        "{e}"
    );
}

#[test]
fn imx8mp_with_an_offline_cpu() {
    let p = board("imx8mp");
    assert_eq!(p.cpus.len(), 4);
    assert_eq!(p.online(), vec![0, 1, 2]);
    assert_eq!(p.usable, vec![0, 1, 2]);
    // the offline CPU stays with its cluster
    assert_eq!(
        clusters(&p),
        vec![(s("Cortex-A53"), 4, CoreClass::Big, Some(1800))]
    );
    assert!(
        p.notes.iter().any(|n| n.contains("CPUs 3 are offline")),
        "{:?}",
        p.notes
    );
    assert_eq!(p.default_placement().threads, 3);
    let e = refused(&p, "3");
    assert!(
        e.contains("CPU 3 is offline") && e.contains("online 0-2"),
        "{e}"
    );
    let e = CpuAffinity::Little.resolve(&p).unwrap_err().to_string();
    assert!(e.contains("no little cores"), "{e}");
}

#[test]
fn container_honours_affinity_and_quota() {
    let p = board("container-arm64");
    assert_eq!(p.cpus.len(), 16);
    assert_eq!(p.usable, vec![0, 1, 2, 3]);
    assert_eq!(p.cpu_quota, Some(1.5));
    assert_eq!(p.clusters[0].core, "Neoverse-N1");
    assert_eq!(p.clusters[0].max_freq_khz, None);
    assert_eq!(p.libc.as_deref(), Some("musl"));
    assert_eq!(p.features_source, "hwcap+cpuinfo");
    assert!(
        p.notes.iter().any(|n| n.contains("no cpufreq")),
        "{:?}",
        p.notes
    );
    let d = p.default_placement();
    assert_eq!((d.threads, d.affinity.clone()), (2, None));
    assert!(d.why.contains("quota of 1.5"), "{}", d.why);
    let e = refused(&p, "5");
    assert!(
        e.contains("not usable by this process") && e.contains("usable by this process 0-3"),
        "{e}"
    );
}

#[test]
fn x86_64_development_machine() {
    let p = board("x86_64");
    assert_eq!(p.arch, "x86_64");
    assert_eq!(p.cpu_model, "AMD EPYC");
    assert_eq!(p.clusters.len(), 1);
    for f in ["sse4.1", "avx", "avx2", "fma", "avx512f", "avx512vnni"] {
        assert!(p.has_feature(f), "{f} missing from {:?}", p.features);
    }
    assert!(!p.has_feature("amx"));
    assert_eq!(p.cpu_quota, None);
    assert_eq!(p.default_placement().threads, 2);
}

#[test]
fn signatures_tell_devices_apart_and_stay_stable() {
    let a = board("rk3588");
    assert_eq!(
        a.signature(),
        "aarch64|4xCortex-A55@1800MHz+2xCortex-A76@2352MHz+2xCortex-A76@2352MHz|neon,fp16,dotprod|5.10.160-rockchip|glibc"
    );
    let all: Vec<String> = [
        "rpi4",
        "rpi5",
        "rk3399",
        "rk3588",
        "imx8mp",
        "container-arm64",
        "x86_64",
    ]
    .iter()
    .map(|b| board(b).signature_hash())
    .collect();
    for (i, h) in all.iter().enumerate() {
        assert!(!all[i + 1..].contains(h), "signature hash {h} repeats");
    }
}

#[test]
fn a_missing_tree_degrades_to_one_cpu() {
    let p = Platform::from_root("/nonexistent-edgerun-root");
    assert_eq!(p.usable, vec![0]);
    assert_eq!(p.default_placement().threads, 1);
    assert!(!p.notes.is_empty());
}

/// Pinning is proven by reading it back from the kernel: a thread started by a pinned thread
/// runs on the pinned CPU only, and the pinning thread gets its own CPUs back afterwards.
#[test]
fn pinning_is_visible_to_the_kernel() {
    std::thread::spawn(|| {
        let before = thread_affinity(0).unwrap();
        let target = *before.last().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let _pin = PinGuard::new(Some(&[target])).unwrap();
            std::thread::spawn(move || {
                tx.send(thread_affinity(0).unwrap()).unwrap();
            })
            .join()
            .unwrap();
        }
        assert_eq!(rx.recv().unwrap(), vec![target]);
        assert_eq!(thread_affinity(0).unwrap(), before);
        assert!(threads_of_this_process().len() >= 2);
    })
    .join()
    .unwrap();
}
