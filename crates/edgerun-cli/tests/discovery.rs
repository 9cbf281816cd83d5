//! Where the `edgerun` binary finds the engines it loads at run time when no path and no
//! environment variable names them: the `lib/edgerun/` directory of an unpacked device bundle,
//! and the libraries that `pip install ai-edge-litert onnxruntime` puts in site-packages. Each
//! test lays out the tree itself, with the test libraries of `crates/*/fetch-test-lib`, and runs
//! the real binary in it (under qemu when the tests run on aarch64).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use edgerun::{npy, Tolerance};
use edgerun_testkit as kit;

/// The architecture whose libraries this machine cannot load.
fn other_arch() -> &'static str {
    if std::env::consts::ARCH == "aarch64" {
        "x86_64"
    } else {
        "aarch64"
    }
}

/// `bin/edgerun` (a copy: the kernel names a hard link or copy by its own path, a symbolic link
/// by its target's), `bin/benchmark_model` linking to it, and `lib/edgerun/`.
fn bundle(name: &str) -> kit::Scratch {
    let root = kit::scratch(&format!("discovery-bundle-{name}"));
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::create_dir_all(root.join("lib/edgerun")).unwrap();
    let exe = root.join("bin/edgerun");
    if std::fs::hard_link(env!("CARGO_BIN_EXE_edgerun"), &exe).is_err() {
        std::fs::copy(env!("CARGO_BIN_EXE_edgerun"), &exe).unwrap();
    }
    std::os::unix::fs::symlink("edgerun", root.join("bin/benchmark_model")).unwrap();
    root
}

fn link(target: &Path, at: &Path) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(target, at).unwrap();
}

/// The engines, as the device bundle lays them out.
fn add_engines(lib_dir: &Path) {
    link(&kit::litert_lib(), &lib_dir.join("libLiteRt.so"));
    link(&kit::ort_lib(), &lib_dir.join("libonnxruntime.so.1.31.1"));
}

/// The binary at `exe` with nothing in the environment that names an engine or a Python
/// installation but `venv`, the active virtual environment when given: only what discovery
/// finds by looking counts. `home` stands for the user's home directory (its `.local` is the
/// user's site-packages).
fn command(exe: &Path, home: &Path, venv: Option<&Path>) -> Command {
    let mut c = kit::command(exe);
    for var in [
        "EDGERUN_LITERT_LIB",
        "EDGERUN_ORT_LIB",
        "EDGERUN_TFLITE_LIB",
        "ORT_DYLIB_PATH",
        "VIRTUAL_ENV",
        "PYTHONUSERBASE",
    ] {
        c.env_remove(var);
    }
    c.env("HOME", home).env("EDGERUN_CACHE", "off");
    if let Some(v) = venv {
        c.env("VIRTUAL_ENV", v);
    }
    c
}

/// `edgerun info` from the bundle at `root`.
fn run_info(root: &Path, home: &Path, venv: Option<&Path>) -> String {
    ok(command(&root.join("bin/edgerun"), home, venv)
        .arg("info")
        .output()
        .unwrap())
    .0
}

/// The line `info` prints for `backend`.
fn backend_line<'a>(info: &'a str, backend: &str) -> &'a str {
    info.lines()
        .find(|l| l.starts_with(&format!("{backend}: ")))
        .unwrap_or_else(|| panic!("no {backend} line: {info}"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(out: Output) -> (String, String) {
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    (stdout, stderr)
}

/// Runs `case` on the backend that comes first for its format (`--backend first`: the choice
/// by order, without timing anything) and checks its outputs against the reference. Returns
/// what `--explain` printed.
fn run_case(
    exe: &Path,
    home: &Path,
    venv: Option<&Path>,
    case: &str,
    expect_backend: &str,
) -> String {
    let c = kit::case(case);
    // inside the test's own home: tests run at once, and two of them run the same case
    let out_dir = home.join(format!("out-{case}"));
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&out_dir).unwrap();
    let (input_name, _) = &c.shapes[0];
    let input = kit::models_dir().join(format!("reference/{case}/input.0.npy"));
    let (_, stderr) = ok(command(exe, home, venv)
        .args(["run", "--explain", "--backend", "first", "--graph"])
        .arg(&c.model)
        .arg("--input")
        .arg(format!("{input_name}={}", input.display()))
        .arg("--output_dir")
        .arg(&out_dir)
        .output()
        .unwrap());
    assert!(
        stderr.contains(&format!("on backend {expect_backend}\n")),
        "{case}: {stderr}"
    );
    let written: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    let got = npy::read(&written[0]).unwrap();
    // the conformance suites' tolerance against the peer runtimes' outputs
    Tolerance::new(1e-4, 1e-3)
        .check(&got, &c.outputs[0])
        .unwrap_or_else(|e| panic!("{case} on {expect_backend}: {e}"));
    stderr
}

#[test]
fn an_unpacked_bundle_finds_its_engines_with_no_environment_variable() {
    let root = bundle("found");
    add_engines(&root.join("lib/edgerun"));
    let home = kit::scratch("discovery-found-home");
    let lib_dir = root.join("lib/edgerun");

    let info = run_info(&root, &home, None);
    for (backend, file) in [
        ("litert", "libLiteRt.so"),
        ("ort", "libonnxruntime.so.1.31.1"),
    ] {
        let line = backend_line(&info, backend);
        assert!(
            line.starts_with(&format!("{backend}: available: "))
                && line.contains(&format!(
                    "{} (bundled beside the executable, in {})",
                    lib_dir.join(file).display(),
                    lib_dir.display()
                )),
            "{line}"
        );
    }

    // --explain names the library and where it came from; outputs match the references
    for (case, backend, file) in [
        ("mobilenetv2_mini", "ort", "libonnxruntime.so.1.31.1"),
        ("mobilenetv2_mini_tflite", "litert", "libLiteRt.so"),
    ] {
        let explained = run_case(&root.join("bin/edgerun"), &home, None, case, backend);
        assert!(
            explained.contains(&format!(
                "library {} (bundled beside the executable",
                lib_dir.join(file).display()
            )),
            "{explained}"
        );
    }

    // started as benchmark_model (a link to bin/edgerun), it still finds the bundle
    let (bench, _) = ok(command(&root.join("bin/benchmark_model"), &home, None)
        .args(["--backend=first", "--num_runs=1", "--warmup_runs=0"])
        .arg(format!(
            "--graph={}",
            kit::models_dir().join("mobilenetv2_mini.tflite").display()
        ))
        .output()
        .unwrap());
    assert!(bench.contains("backend litert"), "{bench}");
}

#[test]
fn a_bundle_without_engines_says_where_it_looked() {
    let root = bundle("empty");
    let home = kit::scratch("discovery-empty-home");
    let info = run_info(&root, &home, None);
    let litert = backend_line(&info, "litert");
    let lib_dir = root.join("lib/edgerun");
    for place in [
        "litert: unavailable: LiteRT C library (libLiteRt.so) not found; searched: EDGERUN_LITERT_LIB (unset)".to_string(),
        format!("{} (beside the executable)", lib_dir.join("libLiteRt.so").display()),
        "/usr/lib/edgerun/libLiteRt.so (edgerun's system directory)".to_string(),
        format!(
            "{}/python3*/{{site,dist}}-packages/ai_edge_litert/libLiteRt.so (the user's packages {})",
            home.join(".local/lib").display(),
            home.join(".local").display()
        ),
        "/usr/lib/python3*/{site,dist}-packages/ai_edge_litert/libLiteRt.so (the system's packages /usr)".to_string(),
        "libLiteRt.so on the loader path".to_string(),
    ] {
        assert!(litert.contains(&place), "{place:?} missing from: {litert}");
    }
    let ort = backend_line(&info, "ort");
    assert!(
        ort.starts_with("ort: unavailable: ")
            && ort.contains("onnxruntime/capi/libonnxruntime.so.*"),
        "{ort}"
    );
    // and an ONNX model runs on tract
    let out = command(&root.join("bin/edgerun"), &home, None)
        .args(["run", "--backend", "first", "--graph"])
        .arg(kit::models_dir().join("mobilenetv2_mini.onnx"))
        .output()
        .unwrap();
    let (_, stderr) = ok(out);
    assert!(stderr.contains("on backend tract"), "{stderr}");
}

#[test]
fn engines_installed_by_pip_are_found_in_site_packages() {
    // a virtual environment with both wheels' files where pip puts them
    let root = bundle("venv");
    let home = kit::scratch("discovery-venv-home");
    let venv = kit::scratch("discovery-venv");
    let site = venv.join("lib/python3.11/site-packages");
    link(
        &kit::litert_lib(),
        &site.join("ai_edge_litert/libLiteRt.so"),
    );
    link(
        &kit::ort_lib(),
        &site.join("onnxruntime/capi/libonnxruntime.so.1.31.1"),
    );
    let info = run_info(&root, &home, Some(&venv));
    let litert = backend_line(&info, "litert");
    assert!(
        litert.contains(&format!(
            "{} (in the Python package ai-edge-litert, {} (the active virtual environment {}))",
            site.join("ai_edge_litert/libLiteRt.so").display(),
            site.display(),
            venv.display()
        )),
        "{litert}"
    );
    let ort = backend_line(&info, "ort");
    assert!(
        ort.contains("in the Python package onnxruntime") && ort.contains("virtual environment"),
        "{ort}"
    );
    let exe = root.join("bin/edgerun");
    run_case(&exe, &home, Some(&venv), "mobilenetv2_mini", "ort");
    run_case(
        &exe,
        &home,
        Some(&venv),
        "mobilenetv2_mini_tflite",
        "litert",
    );

    // the user's site-packages (pip install --user) when no environment is active
    let user_site = home.join(".local/lib/python3.11/site-packages");
    link(
        &kit::litert_lib(),
        &user_site.join("ai_edge_litert/libLiteRt.so"),
    );
    let info = run_info(&root, &home, None);
    let litert = backend_line(&info, "litert");
    assert!(
        litert.starts_with("litert: available: ") && litert.contains("the user's packages"),
        "{litert}"
    );
}

#[test]
fn another_cpus_engine_in_site_packages_is_skipped_with_its_reason_and_never_loaded() {
    let root = bundle("foreign");
    let home = kit::scratch("discovery-foreign-home");
    let venv = kit::scratch("discovery-foreign-venv");
    let foreign = venv.join("lib/python3.11/site-packages/ai_edge_litert/libLiteRt.so");
    link(&kit::litert_lib_for(other_arch()), &foreign);
    let info = run_info(&root, &home, Some(&venv));
    let litert = backend_line(&info, "litert");
    // not loaded: the loader would have said "wrong ELF class" or "cannot open"
    assert!(
        litert.starts_with("litert: unavailable: ")
            && litert.contains(&format!(
                "{} skipped: it is built for {}, but this program runs on {}",
                foreign.display(),
                other_arch(),
                std::env::consts::ARCH
            )),
        "{litert}"
    );

    // with the right one later in the search (the user's packages), that one is used, and
    // info says what it passed over
    let user_site = home.join(".local/lib/python3.12/site-packages");
    link(
        &kit::litert_lib(),
        &user_site.join("ai_edge_litert/libLiteRt.so"),
    );
    let info = run_info(&root, &home, Some(&venv));
    let litert = backend_line(&info, "litert");
    assert!(
        litert.starts_with("litert: available: ")
            && litert.contains("the user's packages")
            && litert.contains(&format!("; {} skipped: it is built for", foreign.display())),
        "{litert}"
    );
}
