//! `edgerun info` as text.

use edgerun::platform::{cpulist, CoreClass};
use edgerun::Report;

fn mhz(khz: Option<u64>) -> String {
    khz.map_or_else(
        || "max frequency unknown".into(),
        |k| format!("{} MHz", k / 1000),
    )
}

/// The report, one line each: the build, the device, the default placement, the backends.
pub fn text(r: &Report) -> Vec<String> {
    let mut lines = Vec::new();
    build(r, &mut lines);
    device(r, &mut lines);
    placement(r, &mut lines);
    backends(r, &mut lines);
    for n in &r.device.platform.notes {
        lines.push(format!("note: {n}"));
    }
    lines
}

fn build(r: &Report, lines: &mut Vec<String>) {
    let b = &r.edgerun;
    lines.push(format!(
        "edgerun {} ({}-{}-{}; backends compiled in: {})",
        b.version,
        b.arch,
        b.os,
        b.env,
        if b.backends_compiled.is_empty() {
            "none".into()
        } else {
            b.backends_compiled.join(", ")
        }
    ));
}

fn device(r: &Report, lines: &mut Vec<String>) {
    let d = &r.device.platform;
    if let Some(board) = &d.board {
        lines.push(format!("device: {board}"));
    }
    lines.push(format!("cpu: {} ({})", d.cpu_model, d.arch));
    for c in &d.clusters {
        let class = match c.class {
            CoreClass::Big if d.is_heterogeneous() => ", big",
            CoreClass::Little => ", little",
            CoreClass::Big => "",
        };
        lines.push(format!(
            "  {}x {}: CPUs {}, {}{}{class}",
            c.count,
            c.core,
            cpulist::format(&c.cpus),
            mhz(c.max_freq_khz),
            c.capacity
                .map(|v| format!(", capacity {v}"))
                .unwrap_or_default()
        ));
    }
    if d.is_heterogeneous() {
        lines.push(format!("  big.LITTLE, told apart by {}", d.classed_by));
    }
    lines.push(format!(
        "cpus: online {}, usable by this process {}{}",
        cpulist::format(&d.online()),
        cpulist::format(&d.usable),
        d.cpu_quota
            .map(|q| format!(", cgroup quota {q} CPUs"))
            .unwrap_or_default()
    ));
    lines.push(format!(
        "features: {} (from {})",
        if d.features.is_empty() {
            "none found".into()
        } else {
            d.features.join(" ")
        },
        d.features_source
    ));
    lines.push(format!(
        "kernel: {}; libc: {}",
        d.kernel.as_deref().unwrap_or("unknown"),
        d.libc.as_deref().unwrap_or("unknown")
    ));
    lines.push(format!(
        "signature: {} ({})",
        r.device.signature, r.device.signature_hash
    ));
}

fn placement(r: &Report, lines: &mut Vec<String>) {
    let p = &r.placement;
    lines.push(format!(
        "inference: {} thread(s), {}: {}",
        p.threads,
        p.affinity
            .as_ref()
            .map_or_else(|| "not pinned".into(), |a| format!("pinned to CPUs {a}")),
        p.why
    ));
    if let Some(e) = &p.error {
        lines.push(format!("  the affinity asked for cannot be used: {e}"));
    }
}

fn backends(r: &Report, lines: &mut Vec<String>) {
    for be in &r.backends {
        match (&be.detail, &be.reason) {
            (Some(detail), _) => lines.push(format!(
                "{}: available: {detail}; reads {}",
                be.name,
                be.formats.join(", ")
            )),
            (None, Some(reason)) => lines.push(format!("{}: unavailable: {reason}", be.name)),
            (None, None) => lines.push(format!("{}: unavailable", be.name)),
        }
        if let Some(v) = &be.version {
            let lib = be
                .library
                .as_ref()
                .map(|l| format!(", library {}", l.display()))
                .unwrap_or_default();
            lines.push(format!("  version {v}{lib}"));
        }
        for dl in &be.delegates {
            lines.push(format!(
                "  delegate {} ({}): {}: {}",
                dl.path.display(),
                if dl.configured { "configured" } else { "found" },
                if dl.usable { "usable" } else { "not usable" },
                dl.status
            ));
        }
    }
}
