//! The `edgerun` binary end to end: what it prints, what it writes, how it fails.

use std::process::Output;

use edgerun::{npy, Tolerance};
use edgerun_testkit as kit;

fn models() -> std::path::PathBuf {
    kit::models_dir()
}

fn edgerun(args: &[&str]) -> Output {
    kit::command(env!("CARGO_BIN_EXE_edgerun"))
        .args(args)
        .output()
        .expect("edgerun starts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> std::path::PathBuf {
    kit::scratch(&format!("cli-{name}"))
}

/// A failure prints exactly one line, `error: ...`, and exits with 1.
fn assert_one_line_error(out: &Output) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "stderr: {err}");
    assert_eq!(
        err.lines().last(),
        Some(lines[0]),
        "the error is the last line: {err}"
    );
    lines[0].to_string()
}

#[test]
fn huge_shapes_and_non_files_are_one_line_errors_not_aborts() {
    let dynamic = models().join("dynamic_mlp.onnx");
    let out = edgerun(&[
        "run",
        "--graph",
        dynamic.to_str().unwrap(),
        "--input_layer_shape=100000000000,16",
    ]);
    let line = assert_one_line_error(&out);
    assert!(
        line.starts_with(
            "error: input \"x\" of shape [100000000000,16] (f32) needs 6.4 TB, more than the limit of"
        ),
        "{line}"
    );
    // a model whose own input is that large
    let out = edgerun(&[
        "run",
        "--graph",
        models().join("huge_input.onnx").to_str().unwrap(),
    ]);
    assert!(assert_one_line_error(&out).contains("needs 6.4 TB"));
    // the limit is a flag
    let out = edgerun(&[
        "run",
        "--graph",
        dynamic.to_str().unwrap(),
        "--input_layer_shape=100000,16",
        "--max_tensor_mb=1",
    ]);
    let line = assert_one_line_error(&out);
    assert!(
        line.contains("needs 6.4 MB, more than the limit of 1.0 MB"),
        "{line}"
    );
    // the library names its API; the command line adds its flag
    assert!(
        line.ends_with("on the command line: --max_tensor_mb=N (MB)"),
        "{line}"
    );
    let out = edgerun(&[
        "run",
        "--graph",
        dynamic.to_str().unwrap(),
        "--input_layer_shape=1000,16",
        "--max_tensor_mb=1",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = edgerun(&["run", "--graph", "/dev/zero"]);
    assert_eq!(
        assert_one_line_error(&out),
        "error: model file \"/dev/zero\" is a character device, not a regular file; pass the path of a file"
    );
    let out = edgerun(&[
        "run",
        "--graph",
        dynamic.to_str().unwrap(),
        "--input",
        "x=/nonexistent/x.npy",
    ]);
    let line = assert_one_line_error(&out);
    assert!(
        line.contains("input file \"/nonexistent/x.npy\" not found; check the path"),
        "{line}"
    );
    assert!(!line.contains("permission"), "{line}");
}

#[test]
fn run_with_input_file_writes_outputs_matching_the_reference() {
    let graph = models().join("mobilenetv2_mini.onnx");
    let input = models().join("reference/mobilenetv2_mini/input.0.npy");
    let dir = scratch("run");
    let out = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--input",
        &format!("input={}", input.display()),
        "--output_dir",
        dir.to_str().unwrap(),
        "--num_threads",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("output \"logits\" f32 [1,100]"), "{stdout}");
    assert!(stdout.contains("top-5: "), "{stdout}");
    let written = npy::read(dir.join("logits.npy")).unwrap();
    let expected = npy::read(models().join("reference/mobilenetv2_mini/output.0.npy")).unwrap();
    Tolerance::new(1e-4, 1e-3)
        .check(&written, &expected)
        .unwrap();
    // the printed top-1 is the reference's arg-max
    let v = expected.as_slice::<f32>().unwrap();
    let top1 = (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap();
    assert!(stdout.contains(&format!("top-5: {top1} (")), "{stdout}");
}

#[test]
fn run_without_inputs_says_what_it_feeds() {
    let graph = models().join("mobilenetv2_mini.onnx");
    let out = edgerun(&["run", "--graph", graph.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no file given, using seeded random values (seed 0)"));
    let zeros = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--input_fill",
        "zeros",
    ]);
    assert!(zeros.status.success(), "{}", text(&zeros.stderr));
    assert!(text(&zeros.stderr).contains("using zeros"));
    assert_ne!(
        out.stdout, zeros.stdout,
        "different inputs, different outputs"
    );
    let again = edgerun(&["run", "--graph", graph.to_str().unwrap()]);
    assert_eq!(
        out.stdout, again.stdout,
        "the same seed gives the same outputs"
    );
}

#[test]
fn dynamic_model_needs_a_shape_and_takes_one() {
    let graph = models().join("dynamic_mlp.onnx");
    let out = edgerun(&["run", "--graph", graph.to_str().unwrap()]);
    let line = assert_one_line_error(&out);
    assert!(
        line.contains("\"x\"") && line.contains("--input_layer_shape"),
        "{line}"
    );

    let out = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--input_layer=x",
        "--input_layer_shape=5,16",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("output \"y\" f32 [5,4]"),
        "{}",
        text(&out.stdout)
    );
    // without --input_layer the shapes go to the inputs in order
    let out = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--input_layer_shape",
        "2,16",
    ]);
    assert!(text(&out.stdout).contains("[2,4]"), "{}", text(&out.stderr));
    // an input file fixes the shape by itself
    let input = models().join("reference/dynamic_mlp_batch3/input.0.npy");
    let out = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--input",
        &format!("x={}", input.display()),
    ]);
    assert!(text(&out.stdout).contains("[3,4]"), "{}", text(&out.stderr));
}

#[test]
fn inspect_lists_inputs_and_outputs() {
    let out = edgerun(&[
        "inspect",
        "--graph",
        models().join("mobilenetv2_mini.onnx").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let s = text(&out.stdout);
    assert!(s.contains("format: ONNX"), "{s}");
    assert!(s.contains("  input f32 [1,3,224,224]"), "{s}");
    assert!(s.contains("  logits f32 [1,100]"), "{s}");
    let out = edgerun(&[
        "inspect",
        "--graph",
        models().join("dynamic_mlp.onnx").to_str().unwrap(),
    ]);
    assert!(
        text(&out.stdout).contains("  x f32 [N,16]"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn info_lists_backends() {
    let out = edgerun(&["info"]);
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("tract: available"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn bad_inputs_fail_with_one_line() {
    let graph = models().join("mobilenetv2_mini.onnx");
    let g = graph.to_str().unwrap();
    let line = assert_one_line_error(&edgerun(&["run", "--graph", "/no/such/model.onnx"]));
    assert!(line.contains("does not exist"), "{line}");

    let dir = scratch("bad");
    let corrupt = dir.join("corrupt.onnx");
    let bytes = std::fs::read(&graph).unwrap();
    std::fs::write(&corrupt, &bytes[..bytes.len() / 3]).unwrap();
    let line = assert_one_line_error(&edgerun(&["run", "--graph", corrupt.to_str().unwrap()]));
    assert!(line.contains("corrupt or truncated"), "{line}");

    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        models().join("unsupported_op.onnx").to_str().unwrap(),
    ]));
    assert!(
        line.contains("EdgerunMysteryOp") && line.contains("mystery_node"),
        "{line}"
    );

    let wrong = dir.join("wrong.npy");
    npy::write(
        &wrong,
        &edgerun::Tensor::zeros(edgerun::DType::F32, vec![1, 3, 32, 32]).unwrap(),
    )
    .unwrap();
    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        g,
        "--input",
        &format!("input={}", wrong.display()),
    ]));
    assert!(
        line.contains("[1,3,224,224]") && line.contains("[1,3,32,32]"),
        "{line}"
    );

    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        g,
        "--input",
        &format!("image={}", wrong.display()),
    ]));
    assert!(line.contains("\"image\""), "{line}");

    let not_npy = dir.join("x.npy");
    std::fs::write(&not_npy, b"1,2,3").unwrap();
    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        g,
        "--input",
        &format!("input={}", not_npy.display()),
    ]));
    assert!(line.contains("not a valid .npy"), "{line}");

    let line = assert_one_line_error(&edgerun(&["run", "--graph", g, "--input", "input"]));
    assert!(line.contains("NAME=FILE.npy"), "{line}");

    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        g,
        "--input_layer_shape",
        "1,3,x",
    ]));
    assert!(line.contains("\"x\""), "{line}");
}

fn lib_arg() -> String {
    format!("--tflite_lib={}", kit::tflite_lib().display())
}

#[test]
fn litert_runs_a_tflite_model_given_its_library() {
    let graph = models().join("mobilenetv2_mini.tflite");
    let input = models().join("reference/mobilenetv2_mini_tflite/input.0.npy");
    let dir = scratch("litert");
    let out = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--backend=litert",
        &format!("--litert_lib={}", kit::litert_lib().display()),
        &lib_arg(),
        "--input",
        &format!("serving_default_input:0={}", input.display()),
        "--output_dir",
        dir.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("on backend litert"), "{err}");
    let written = npy::read(dir.join("StatefulPartitionedCall_1_0.npy")).unwrap();
    let expected =
        npy::read(models().join("reference/mobilenetv2_mini_tflite/output.0.npy")).unwrap();
    Tolerance::new(1e-4, 1e-3)
        .check(&written, &expected)
        .unwrap();
    // a library that is not LiteRT: the missing function named, the flag hinted nowhere needed
    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--backend",
        "litert",
        &format!("--litert_lib={}", kit::system_math_library().display()),
    ]));
    assert!(
        line.contains("lacks the function LiteRtCreateEnvironment"),
        "{line}"
    );
}

#[test]
fn tflite_model_runs_on_the_tflite_backend() {
    let graph = models().join("mobilenetv2_mini_int8.tflite");
    let dir = scratch("tflite");
    let input = models().join("reference/mobilenetv2_mini_int8_tflite/input.0.npy");
    let out = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        &lib_arg(),
        "--input",
        &format!("serving_default_input:0={}", input.display()),
        "--output_dir",
        dir.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    // with no --num_threads, XNNPACK gets the device's default thread count
    let threads = edgerun_core::Platform::detect().default_placement().threads;
    assert!(
        err.contains("on backend tflite")
            && err.contains(&format!("delegates: XNNPACK ({threads} threads)")),
        "{err}"
    );
    // and TFLite's own word that it created the delegate
    assert!(
        err.contains("Created TensorFlow Lite XNNPACK delegate for CPU."),
        "{err}"
    );
    let written = npy::read(dir.join("StatefulPartitionedCall_1_0.npy")).unwrap();
    let expected =
        npy::read(models().join("reference/mobilenetv2_mini_int8_tflite/output.0.npy")).unwrap();
    Tolerance::new(8.0, 0.0).check(&written, &expected).unwrap();
}

#[test]
fn tflite_with_an_external_delegate_and_without_xnnpack() {
    let graph = models().join("mobilenetv2_mini.tflite");
    let plugin = kit::test_delegate();
    let input = models().join("reference/mobilenetv2_mini_tflite/input.0.npy");
    let dir = scratch("delegate");
    let report = dir.join("delegate-report.txt");
    let _ = std::fs::remove_file(&report);
    let out = kit::command(env!("CARGO_BIN_EXE_edgerun"))
        .args([
            "run",
            "--graph",
            graph.to_str().unwrap(),
            &lib_arg(),
            "--use_xnnpack=false",
            &format!("--external_delegate_path={}", plugin.display()),
            "--external_delegate_options=num_threads:2;claim:add",
            "--input",
            &format!("serving_default_input:0={}", input.display()),
            "--output_dir",
            dir.to_str().unwrap(),
        ])
        .env("EDGERUN_TEST_DELEGATE_REPORT", &report)
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("XNNPACK"), "{err}");
    // the plugin's own account: it took the 5 independent residual ADDs, ran each once
    let report = std::fs::read_to_string(&report).unwrap();
    assert_eq!(report.trim(), "claimed=5 invoked=5", "{report}");
    let written = npy::read(dir.join("StatefulPartitionedCall_1_0.npy")).unwrap();
    let expected =
        npy::read(models().join("reference/mobilenetv2_mini_tflite/output.0.npy")).unwrap();
    Tolerance::new(1e-4, 1e-3)
        .check(&written, &expected)
        .unwrap();

    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        &lib_arg(),
        &format!("--external_delegate_path={}", plugin.display()),
        "--external_delegate_options=colour:blue",
    ]));
    assert!(line.contains("unknown option colour"), "{line}");
    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--external_delegate_options=a:b",
    ]));
    assert!(line.contains("without external_delegate_path"), "{line}");
}

#[test]
fn no_tflite_library_says_where_it_looked() {
    let out = kit::command(env!("CARGO_BIN_EXE_edgerun"))
        .arg("info")
        .env_remove("EDGERUN_TFLITE_LIB")
        .env("LD_LIBRARY_PATH", "")
        .output()
        .unwrap();
    let s = text(&out.stdout);
    assert!(out.status.success());
    assert!(
        s.contains("tflite: unavailable: TensorFlow Lite C library not found"),
        "{s}"
    );
    assert!(
        s.contains("EDGERUN_TFLITE_LIB (unset)")
            && s.contains("libtensorflowlite_c.so on the loader path"),
        "{s}"
    );
    assert!(s.contains("tract: available"), "{s}");

    let graph = models().join("mobilenetv2_mini_int8.tflite");
    let out = kit::command(env!("CARGO_BIN_EXE_edgerun"))
        .args([
            "run",
            "--graph",
            graph.to_str().unwrap(),
            "--backend",
            "tflite",
        ])
        .env_remove("EDGERUN_TFLITE_LIB")
        .env("LD_LIBRARY_PATH", "")
        .output()
        .unwrap();
    let line = assert_one_line_error(&out);
    assert!(
        line.contains("not found") && line.contains("--tflite_lib"),
        "{line}"
    );
}

#[test]
fn int8_model_fed_float_data() {
    let graph = models().join("mobilenetv2_mini_int8.tflite");
    let float_input = models().join("reference/mobilenetv2_mini_tflite/input.0.npy");
    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        &lib_arg(),
        "--input",
        &format!("serving_default_input:0={}", float_input.display()),
    ]));
    assert!(
        line.contains("expects i8 elements but got f32") && line.contains("quantize"),
        "{line}"
    );
}

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

#[test]
fn run_reports_and_applies_the_affinity() {
    let graph = models().join("mobilenetv2_mini.onnx");
    let last = *edgerun_core::Platform::detect().usable.last().unwrap();
    let out = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        &format!("--cpu_affinity={last}"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("1 thread(s), pinned to CPUs {last}")),
        "{err}"
    );
}

#[test]
fn ort_runs_an_onnx_model_given_its_library() {
    let graph = models().join("mobilenetv2_mini.onnx");
    let input = models().join("reference/mobilenetv2_mini/input.0.npy");
    let dir = scratch("ort");
    let out = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--backend=ort",
        &format!("--ort_lib={}", kit::ort_lib().display()),
        "--num_threads",
        "2",
        "--input",
        &format!("input={}", input.display()),
        "--output_dir",
        dir.to_str().unwrap(),
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("on backend ort"), "{err}");
    let written = npy::read(dir.join("logits.npy")).unwrap();
    let expected = npy::read(models().join("reference/mobilenetv2_mini/output.0.npy")).unwrap();
    Tolerance::new(1e-4, 1e-3)
        .check(&written, &expected)
        .unwrap();
    // an optimization level that does not exist: one line naming the accepted ones
    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--backend",
        "ort",
        &format!("--ort_lib={}", kit::ort_lib().display()),
        "--ort_optimization=max",
    ]));
    assert!(
        line.contains("ort_optimization: \"max\" is not valid; give one of disable, basic, extended, layout, all"),
        "{line}"
    );
}

// The dispatcher from the command line: `--explain`, the decision cache across processes,
// processes that load at once, and policy files.

fn mobilenet_onnx() -> String {
    kit::model("mobilenetv2_mini.onnx").display().to_string()
}

fn run_args<'a>(cache: &'a str, ort: &'a str, extra: &[&'a str]) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "run".into(),
        "--graph".into(),
        mobilenet_onnx(),
        format!("--ort_lib={ort}"),
        "--num_threads=1".into(),
        format!("--decision_cache={cache}"),
    ];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_cli(args: &[String]) -> (bool, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = edgerun(&args);
    (out.status.success(), text(&out.stderr))
}

/// What `--explain` printed: the chosen candidate, and each measured candidate's median in
/// µs (`None` when none was chosen).
fn explained(text: &str) -> (Option<String>, Vec<(String, f64)>) {
    let mut chosen = None;
    let mut medians = Vec::new();
    for line in text.lines() {
        // `run` prints the decision as it is, `bench` after "INFO: edgerun:"
        let line = line
            .trim_start_matches("INFO: ")
            .trim_start_matches("edgerun:")
            .trim_start();
        let Some((label, rest)) = line.split_once(", ") else {
            continue;
        };
        if line.ends_with("<- chosen") {
            chosen = Some(label.to_string());
        }
        let Some(m) = rest.split_once(": median ") else {
            continue;
        };
        let mut words = m.1.split_whitespace();
        let (value, unit) = (words.next().unwrap(), words.next().unwrap());
        let value: f64 = value.parse().unwrap();
        medians.push((
            label.to_string(),
            if unit == "ms" { value * 1e3 } else { value },
        ));
    }
    (chosen, medians)
}

/// `--explain` measured ort and tract and chose the faster: which one that is, is a
/// benchmark's question.
fn chose_the_faster_of_ort_and_tract(text: &str) -> String {
    let (chosen, medians) = explained(text);
    let labels: Vec<&str> = medians.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels, ["ort", "tract"], "{text}");
    let fastest = if medians[0].1 <= medians[1].1 {
        "ort"
    } else {
        "tract"
    };
    assert_eq!(chosen.as_deref(), Some(fastest), "{text}");
    fastest.to_string()
}

#[test]
fn explain_lists_the_candidates_and_the_second_load_hits_the_cache() {
    let dir = kit::scratch("cli-dispatch-explain");
    let cache = dir.join("decisions.json").display().to_string();
    let ort = kit::ort_lib().display().to_string();
    let (ok, err) = run_cli(&run_args(&cache, &ort, &["--explain"]));
    assert!(ok, "{err}");
    let winner = chose_the_faster_of_ort_and_tract(&err);
    assert!(err.contains(&format!("on backend {winner}")), "{err}");
    assert!(err.contains("measured now"), "{err}");
    assert!(
        err.contains("tflite, 1 thread: skipped: does not read ONNX models"),
        "{err}"
    );

    let (ok, err) = run_cli(&run_args(&cache, &ort, &["--explain"]));
    assert!(ok, "{err}");
    assert!(err.contains("from the decision cache"), "{err}");
    assert!(err.contains("(cached)"), "{err}");
    // without --explain: one line says where the choice came from
    let (ok, err) = run_cli(&run_args(&cache, &ort, &[]));
    assert!(ok, "{err}");
    assert!(
        err.contains(&format!("{winner}: from the decision cache")) && err.contains("--explain"),
        "{err}"
    );
    assert!(!err.contains("tract, 1 thread"), "{err}");
}

#[test]
fn processes_loading_at_once_leave_a_valid_cache() {
    let dir = kit::scratch("cli-dispatch-concurrent");
    let cache = dir.join("decisions.json").display().to_string();
    let ort = kit::ort_lib().display().to_string();
    // different thread counts: different keys, all stored into one file at about the same time
    let children: Vec<_> = (1..=4)
        .map(|t| {
            let mut args = run_args(&cache, &ort, &[]);
            args[4] = format!("--num_threads={}", 1 + t % 2);
            kit::command(env!("CARGO_BIN_EXE_edgerun"))
                .args(&args)
                .stderr(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(!err.contains("warning: cache"), "{err}");
    }
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cache).unwrap()).expect("valid JSON");
    let entries = file["entries"].as_object().unwrap();
    // writers take turns: no process's entry is lost (one per thread count), each whole
    assert_eq!(entries.len(), 2, "{file}");
    for e in entries.values() {
        assert!(e["winner"] == "ort" || e["winner"] == "tract", "{e}");
        assert_eq!(e["medians_us"].as_object().unwrap().len(), 2, "{e}");
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // and the file serves the next load
    let (ok, err) = run_cli(&run_args(&cache, &ort, &[]));
    assert!(ok && err.contains("from the decision cache"), "{err}");
}

#[test]
fn a_policy_file_pins_the_backend() {
    let dir = kit::scratch("cli-dispatch-policy");
    let policy = dir.join("policy.toml");
    std::fs::write(
        &policy,
        "[[rule]]\nmodel = \"mobilenetv2_*.onnx\"\nbackend = \"tract\"\nthreads = 1\n",
    )
    .unwrap();
    let ort = kit::ort_lib().display().to_string();
    let policy_arg = format!("--policy={}", policy.display());
    let (ok, err) = run_cli(&run_args("off", &ort, &[&policy_arg, "--explain"]));
    assert!(ok, "{err}");
    assert!(err.contains("on backend tract"), "{err}");
    assert!(
        err.contains("pinned by the policy rule for \"mobilenetv2_*.onnx\""),
        "{err}"
    );

    // a mistake in the file: one line naming the file and the key
    std::fs::write(&policy, "[[rule]]\nmodel = \"*\"\nbakend = \"tract\"\n").unwrap();
    let (ok, err) = run_cli(&run_args("off", &ort, &[&policy_arg]));
    assert!(!ok);
    let last = err.lines().last().unwrap();
    assert!(
        last.starts_with("error:") && last.contains("policy.toml") && last.contains("bakend"),
        "{err}"
    );
}

#[test]
fn bench_explains_its_choice() {
    let ort = kit::ort_lib().display().to_string();
    let out = edgerun(&[
        "bench",
        &format!("--graph={}", mobilenet_onnx()),
        &format!("--ort_lib={ort}"),
        "--num_threads=1",
        "--num_runs=2",
        "--warmup_runs=1",
        "--min_secs=0",
        "--decision_cache=off",
        "--explain=true",
    ]);
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{all}");
    let winner = chose_the_faster_of_ort_and_tract(&all);
    assert!(
        all.contains(&format!("edgerun: backend {winner}: measured now")),
        "{all}"
    );
}

#[test]
fn run_takes_an_image_and_fits_it_to_the_input() {
    let dir = scratch("image");
    // a solid red 64x48 PNG: stretched to [1,3,224,224] in [0, 1] it is 1 in channel 0, 0 elsewhere
    let png = dir.join("red.png");
    let pixels: Vec<u8> = [255u8, 0, 0].repeat(64 * 48);
    image::save_buffer(&png, &pixels, 64, 48, image::ExtendedColorType::Rgb8).unwrap();
    let mut data = vec![0f32; 3 * 224 * 224];
    data[..224 * 224].fill(1.0);
    let npy_in = dir.join("red.npy");
    npy::write(
        &npy_in,
        &edgerun::Tensor::from_vec(vec![1, 3, 224, 224], data).unwrap(),
    )
    .unwrap();
    let graph = models().join("mobilenetv2_mini.onnx");
    let run = |extra: &[&str], out: &str| {
        let mut args = vec![
            "run",
            "--graph",
            graph.to_str().unwrap(),
            "--backend=tract",
            "--output_dir",
            out,
        ];
        args.extend_from_slice(extra);
        let o = edgerun(&args);
        assert!(o.status.success(), "{}", text(&o.stderr));
        text(&o.stderr)
    };
    let (a, b) = (dir.join("a"), dir.join("b"));
    let err = run(&["--image", png.to_str().unwrap()], a.to_str().unwrap());
    assert!(
        err.contains("input \"input\" f32 [1,3,224,224]: image") && err.contains("(64x48)"),
        "{err}"
    );
    run(
        &["--input", &format!("input={}", npy_in.display())],
        b.to_str().unwrap(),
    );
    assert_eq!(
        npy::read(a.join("logits.npy")).unwrap(),
        npy::read(b.join("logits.npy")).unwrap(),
        "the image gives exactly the tensor it stands for"
    );
    // mistakes: a file that is no image, a bad normalization
    let bad = dir.join("bad.png");
    std::fs::write(&bad, b"not an image").unwrap();
    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--image",
        bad.to_str().unwrap(),
    ]));
    assert!(line.contains("not a JPEG or PNG"), "{line}");
    let line = assert_one_line_error(&edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--image",
        png.to_str().unwrap(),
        "--image_normalize=0-1",
    ]));
    assert!(line.contains("LO:HI"), "{line}");
}
