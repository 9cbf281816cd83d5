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
    assert!(
        err.contains("on backend tflite") && err.contains("delegates: XNNPACK (1 threads)"),
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
    let out = edgerun(&[
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
    ]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("delegates: external delegate") && !err.contains("XNNPACK"),
        "{err}"
    );
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
    assert!(line.contains("--external_delegate_path"), "{line}");
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
