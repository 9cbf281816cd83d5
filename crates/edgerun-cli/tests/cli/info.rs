//! `edgerun info` and `--json`: the backends, this machine and captured boards, against
//! INFO.md.

use super::*;

fn fixture(board: &str) -> String {
    let p = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../edgerun-core/tests/fixtures")
        .join(board);
    assert!(p.is_dir(), "missing fixture {}", p.display());
    p.to_str().unwrap().to_string()
}

fn info_json(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["info", "--json"];
    all.extend_from_slice(args);
    let out = edgerun(&all);
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("info --json prints one JSON object")
}

/// The documented table of crates/edgerun-cli/INFO.md: (path, type).
fn documented_fields() -> Vec<(String, String)> {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/INFO.md")).unwrap();
    doc.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let path = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((path.to_string(), cells.get(2)?.to_string()))
        })
        .collect()
}

/// Every value at `path` (`a.b[].c`) in `v`.
fn values_at<'a>(v: &'a serde_json::Value, path: &str) -> Vec<&'a serde_json::Value> {
    let mut current = vec![v];
    for part in path.split('.') {
        let (key, each) = match part.strip_suffix("[]") {
            Some(k) => (k, true),
            None => (part, false),
        };
        let mut next = Vec::new();
        for c in current {
            let field = c
                .get(key)
                .unwrap_or_else(|| panic!("{path}: no field {key:?} in {c}"));
            if each {
                next.extend(field.as_array().expect("an array").iter());
            } else {
                next.push(field);
            }
        }
        current = next;
    }
    current
}

fn type_fits(v: &serde_json::Value, documented: &str) -> bool {
    documented.split(" or ").any(|t| match t {
        "string" => v.is_string(),
        "integer" => v.is_u64() || v.is_i64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        other => panic!("INFO.md names an unknown type {other:?}"),
    })
}

#[test]
fn info_json_follows_info_md() {
    let fields = documented_fields();
    assert!(fields.len() > 40, "INFO.md table not found: {fields:?}");
    // this machine and two fixture boards
    let reports = [
        info_json(&[]),
        info_json(&["--platform_root", &fixture("rk3588")]),
        info_json(&["--platform_root", &fixture("container-arm64")]),
    ];
    for report in &reports {
        check_against_info_md(report, &fields);
    }
}

fn check_against_info_md(report: &serde_json::Value, fields: &[(String, String)]) {
    for (path, ty) in fields {
        for v in values_at(report, path) {
            assert!(type_fits(v, ty), "{path} = {v} is not {ty}");
        }
    }
}

#[test]
fn info_json_reports_the_tflite_library_and_delegate() {
    let plugin = kit::test_delegate();
    let report = info_json(&[
        &lib_arg(),
        &format!("--external_delegate_path={}", plugin.display()),
    ]);
    check_against_info_md(&report, &documented_fields());
    let tflite = report["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "tflite")
        .unwrap()
        .clone();
    assert_eq!(tflite["available"], true);
    assert_eq!(tflite["version"], "2.6.0");
    assert!(
        tflite["library"]
            .as_str()
            .unwrap()
            .ends_with("libtensorflowlite_c.so"),
        "{tflite}"
    );
    let delegate = &tflite["delegates"][0];
    assert_eq!(delegate["configured"], true);
    assert_eq!(delegate["usable"], true, "{delegate}");
    // a configured delegate that is not there is reported, not fatal
    let report = info_json(&[&lib_arg(), "--external_delegate_path=/nonexistent/libx.so"]);
    let tflite = report["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "tflite")
        .unwrap();
    let d = &tflite["delegates"][0];
    assert_eq!(
        (d["usable"].clone(), d["status"].clone()),
        (false.into(), "the file does not exist".into())
    );
}

#[test]
fn info_describes_fixture_boards() {
    let rk = info_json(&["--platform_root", &fixture("rk3588")]);
    assert_eq!(rk["device"]["board"], "Radxa ROCK 5B");
    assert_eq!(rk["placement"]["threads"], 4);
    assert_eq!(rk["placement"]["affinity"], "4-7");
    let classes: Vec<&str> = rk["device"]["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["class"].as_str().unwrap())
        .collect();
    assert_eq!(classes, vec!["little", "big", "big"]);
    // the flags change the placement shown
    let little = info_json(&[
        "--platform_root",
        &fixture("rk3588"),
        "--cpu_affinity=little",
    ]);
    assert_eq!(little["placement"]["threads"], 4);
    assert_eq!(little["placement"]["affinity"], "0-3");
    let two = info_json(&[
        "--platform_root",
        &fixture("rk3399"),
        "--num_threads=1",
        "--cpu_affinity=5",
    ]);
    assert_eq!(two["placement"]["threads"], 1);
    assert_eq!(two["placement"]["affinity"], "5");

    let out = edgerun(&["info", "--platform_root", &fixture("rpi4")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let t = text(&out.stdout);
    for needle in [
        "device: Raspberry Pi 4 Model B Rev 1.4",
        "cpu: 4x Cortex-A72 @ 1.80 GHz (BCM2835) (aarch64)",
        "  4x Cortex-A72: CPUs 0-3, 1800 MHz, capacity 1024",
        "features: neon (from hwcap+cpuinfo)",
        "kernel: 6.1.21-v8+; libc: glibc 2.31",
        "inference: 4 thread(s), not pinned: the cores are all alike",
        "tract: available:",
    ] {
        assert!(t.contains(needle), "{needle:?} not in:\n{t}");
    }
    let out = edgerun(&["info", "--platform_root", &fixture("container-arm64")]);
    let t = text(&out.stdout);
    assert!(
        t.contains("cpus: online 0-15, usable by this process 0-3, cgroup quota 1.5 CPUs"),
        "{t}"
    );
    assert!(t.contains("inference: 2 thread(s)"), "{t}");
}

#[test]
fn info_describes_this_machine() {
    let live = edgerun_core::Platform::detect();
    let report = info_json(&[]);
    assert_eq!(report["device"]["arch"], std::env::consts::ARCH);
    assert_eq!(
        report["device"]["usable"].as_array().unwrap().len(),
        live.usable.len()
    );
    assert_eq!(
        report["placement"]["threads"],
        live.default_placement().threads
    );
    assert_eq!(report["device"]["signature_hash"], live.signature_hash());
}

#[test]
fn bad_affinity_and_thread_flags_are_one_line_errors() {
    let graph = models().join("mobilenetv2_mini.onnx");
    let g = graph.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["run", "--graph", g, "--cpu_affinity=4096"], "beyond"),
        (&["run", "--graph", g, "--cpu_affinity=fast"], "0-3,6"),
        (
            &["run", "--graph", g, "--cpu_affinity=999"],
            "CPU 999 does not exist",
        ),
        (
            &["run", "--graph", g, "--num_threads=0"],
            "-1 for edgerun's default",
        ),
        (
            &["info", "--platform_root", "/nonexistent-edgerun-root"],
            "no such directory",
        ),
    ];
    for (args, needle) in cases {
        let line = assert_one_line_error(&edgerun(args));
        assert!(line.contains(needle), "{args:?}: {line}");
    }
    let line = assert_one_line_error(&edgerun(&[
        "info",
        "--platform_root",
        &fixture("rpi5"),
        "--cpu_affinity=little",
    ]));
    assert!(line.contains("no little cores"), "{line}");
}
