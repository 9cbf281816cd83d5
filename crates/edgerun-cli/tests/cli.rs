//! The `edgerun` binary end to end: what it prints, what it writes, how it fails.

use std::path::PathBuf;
use std::process::{Command, Output};

use edgerun::{npy, Tolerance};

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn edgerun(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_edgerun"))
        .args(args)
        .output()
        .expect("edgerun starts")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("edgerun-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
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
