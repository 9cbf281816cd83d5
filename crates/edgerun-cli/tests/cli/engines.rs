//! The run-time-loaded engines from the command line: LiteRT, TensorFlow Lite with and
//! without delegates, ONNX Runtime, and a missing library.

use super::*;

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
        // the device's default thread count, not one measured against it
        "--measure_threads=false",
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
            // no cached containment verdict: the helper runs every time
            "--decision_cache=off",
            // one candidate: the report counts its processes
            "--measure_threads=false",
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
    // the plugin's own account, a line per process: it took the 5 independent residual ADDs
    // and ran each once, in the containment helper (which loads the model with the same
    // delegate and options, and runs it once) and in edgerun
    let report = std::fs::read_to_string(&report).unwrap();
    assert_eq!(
        report.lines().collect::<Vec<_>>(),
        ["claimed=5 invoked=5"; 2],
        "{report}"
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

/// `edgerun cache` lists what LiteRT kept (XNNPACK's packed weights) and `cache clear` empties
/// the store, saying what it held.
#[test]
fn cache_shows_and_clears_litert_packed_weights() {
    let graph = models().join("mobilenetv2_mini.tflite");
    let dir = scratch("cache-clear");
    let store = format!("--decision_cache={}", dir.join("decisions.json").display());
    let out = edgerun(&[
        "run",
        "--graph",
        graph.to_str().unwrap(),
        "--backend=litert",
        &format!("--litert_lib={}", kit::litert_lib().display()),
        "--litert_weight_cache=true",
        &store,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = edgerun(&["cache", &store]);
    let listing = text(&shown.stdout);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    // the decisions: containment's verdict on the model
    assert!(
        listing.contains(" decision") && listing.contains(", 1 artifact ("),
        "{listing}"
    );
    assert!(
        listing.contains(".litert")
            && listing.contains("litert for ")
            && listing.contains("mobilenetv2_mini.tflite"),
        "{listing}"
    );
    let cleared = edgerun(&["cache", "clear", &store]);
    let said = text(&cleared.stdout);
    assert!(cleared.status.success(), "{}", text(&cleared.stderr));
    assert!(
        said.contains("cleared; it held") && said.contains(", 1 artifact ("),
        "{said}"
    );
    let empty: Vec<_> = std::fs::read_dir(dir.join("artifacts"))
        .map(|d| d.collect())
        .unwrap_or_default();
    assert!(empty.is_empty(), "{empty:?}");
    let again = text(&edgerun(&["cache", &store]).stdout);
    assert!(again.contains("holds 0 decisions, 0 artifacts"), "{again}");
    let off = text(&edgerun(&["cache", "--decision_cache=off"]).stdout);
    assert!(off.starts_with("cache: off"), "{off}");
}
