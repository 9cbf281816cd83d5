//! `edgerun run` and `inspect`: inputs from files and images, outputs against the
//! references, dynamic shapes, placement, and mistakes as one-line errors.

use super::*;

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
