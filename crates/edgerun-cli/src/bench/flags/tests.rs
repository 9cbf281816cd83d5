use super::*;

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_backend_setting_is_a_flag_of_its_backend() {
    for (backend, setting) in edgerun::Runtime::new().settings() {
        let s = spec(setting.key)
            .unwrap_or_else(|| panic!("--{} of {backend} is not a bench flag", setting.key));
        let ok = match s.scope {
            Scope::Backend(b) => b == backend,
            Scope::TfLite => backend == "tflite",
            _ => false,
        };
        assert!(
            ok,
            "--{} is scoped {:?}, not to {backend}",
            setting.key, s.scope
        );
        // benchmark_model's own flags keep the tool's defaults (--use_xnnpack=false is
        // the tool's); edgerun's flags show the backend's
        if let (Some(d), Scope::Backend(_)) = (setting.default, s.scope) {
            assert_eq!(s.default, d, "--{}", setting.key);
        }
    }
}

#[test]
fn defaults_are_benchmark_models() {
    let p = Params::defaults();
    assert_eq!(p.int("num_runs"), 50);
    assert_eq!(p.float("min_secs"), 1.0);
    assert_eq!(p.float("max_secs"), 150.0);
    assert_eq!(p.float("run_delay"), -1.0);
    assert_eq!(p.float("run_frequency"), -1.0);
    assert_eq!(p.int("num_threads"), -1);
    assert_eq!(p.int("warmup_runs"), 1);
    assert_eq!(p.float("warmup_min_secs"), 0.5);
    assert_eq!(p.int("memory_footprint_check_interval_ms"), 50);
    assert_eq!(p.str("op_profiling_output_mode"), "stdout");
    assert_eq!(p.str("graph"), "");
    for b in [
        "dry_run",
        "verbose",
        "use_xnnpack",
        "enable_op_profiling",
        "report_peak_memory_footprint",
        "print_postinvoke_state",
    ] {
        assert!(!p.bool(b), "{b}");
    }
    let mut names: Vec<_> = specs().iter().map(|s| s.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), specs().len(), "a flag is listed twice");
}

#[test]
fn parses_like_the_tool() {
    let p = Params::parse(&args(&[
        "--graph=m.tflite",
        "--num_runs=12abc",
        "--min_secs=1e-1x",
        "--max_secs=",
        "--verbose=1",
        "--use_xnnpack=false",
        "--num_runs=7",
        "--dry_run",
        "--num_threads",
        "4",
        "--no_such_flag=3",
    ]))
    .unwrap();
    assert_eq!(p.str("graph"), "m.tflite");
    assert_eq!(
        p.int("num_runs"),
        12,
        "trailing text is ignored; first wins"
    );
    assert!((p.float("min_secs") - 0.1).abs() < 1e-7);
    assert_eq!(p.float("max_secs"), 0.0, "an empty number reads as 0");
    assert!(p.bool("verbose"));
    assert!(!p.bool("use_xnnpack") && p.is_set("use_xnnpack"));
    assert!(!p.bool("dry_run"), "a bare --flag is not a boolean true");
    assert_eq!(
        p.unconsumed,
        args(&[
            "--num_runs=7",
            "--dry_run",
            "--num_threads",
            "4",
            "--no_such_flag=3"
        ])
    );
    assert_eq!(
        Params::parse(&args(&["--num_runs=2.7"]))
            .unwrap()
            .int("num_runs"),
        2
    );
}

#[test]
fn bad_values_are_named_as_the_tool_names_them() {
    let e = Params::parse(&args(&["--num_runs=abc", "--verbose=yes", "--min_secs=x"])).unwrap_err();
    assert_eq!(
        e.0,
        vec![
            "Failed to parse flag 'num_runs' against argv '--num_runs=abc'",
            "Failed to parse flag 'min_secs' against argv '--min_secs=x'",
            "Failed to parse flag 'verbose' against argv '--verbose=yes'",
        ]
    );
    assert!(Params::parse(&args(&["--verbose=True"])).is_err());
    // out of range: clamped, as a C++ stream that read the whole text leaves it
    let p = Params::parse(&args(&["--num_runs=99999999999", "--min_secs=1e999"])).unwrap();
    assert_eq!(p.int("num_runs"), i32::MAX);
    assert_eq!(p.float("min_secs"), f32::MAX);
    // an exponent cut short: 0 at the end of the text, an error before more text
    assert_eq!(
        Params::parse(&args(&["--min_secs=1e"]))
            .unwrap()
            .float("min_secs"),
        0.0
    );
    assert!(Params::parse(&args(&["--min_secs=1ex"])).is_err());
    // errors come in the order of the tool's flag list, not of the command line
    let e = Params::parse(&args(&["--graph=g", "--warmup_runs=x", "--num_runs=y"])).unwrap_err();
    assert!(
        e.0[0].contains("'num_runs'") && e.0[1].contains("'warmup_runs'"),
        "{e:?}"
    );
}

#[test]
fn log_lines_show_given_flags_or_all_when_verbose() {
    let p = Params::parse(&args(&["--graph=m.tflite", "--num_threads=4"])).unwrap();
    assert_eq!(
        p.log_lines(),
        vec![
            "Log parameter values verbosely: [0]",
            "Num threads: [4]",
            "Graph: [m.tflite]",
            "Signature to run: []",
            "#threads used for CPU inference: [4]",
        ]
    );
    // the model's flags in the tool's order: Graph and Signature first
    let p = Params::parse(&args(&[
        "--input_layer=x",
        "--graph=m.onnx",
        "--use_gpu=false",
    ]))
    .unwrap();
    assert_eq!(
        p.log_lines()[1..],
        [
            "Graph: [m.onnx]",
            "Signature to run: []",
            "Input layers: [x]",
            "Use gpu: [0]"
        ]
    );
    let p = Params::parse(&args(&["--graph=m.tflite", "--verbose=true"])).unwrap();
    let lines = p.log_lines();
    assert_eq!(lines[0], "Log parameter values verbosely: [1]");
    for want in [
        "Min num runs: [50]",
        "Min runs duration (seconds): [1]",
        "Max runs duration (seconds): [150]",
        "Inter-run delay (seconds): [-1]",
        "Min warmup runs duration (seconds): [0.5]",
        "Run w/o invoking kernels: [0]",
        "Memory footprint check interval (ms): [50]",
    ] {
        assert!(lines.iter().any(|l| l == want), "{want} in {lines:?}");
    }
}

#[test]
fn value_lists() {
    assert_eq!(
        value_ranges("input1,1,2:input2,0,254").unwrap(),
        vec![("input1".into(), 1, 2), ("input2".into(), 0, 254)]
    );
    assert_eq!(
        value_ranges("a,1").unwrap_err(),
        "Wrong input value range item specified: a,1"
    );
    assert_eq!(
        value_ranges("a,5,1").unwrap_err(),
        "Wrong low and high value of the input value range specified: a,5,1"
    );
    assert_eq!(
        value_files("input::0:/tmp/path,b:c.npy").unwrap(),
        vec![
            ("input:0".into(), "/tmp/path".into()),
            ("b".into(), "c.npy".into())
        ]
    );
    assert_eq!(
        value_files("x:y,name:").unwrap_err(),
        "name: doesn't contain any delimiter.\nWrong input value file item specified: name:"
    );
    assert_eq!(
        value_files("a:b:c").unwrap_err(),
        "a:b:c contains more than one delimiter.\nWrong input value file item specified: a:b:c"
    );
    assert_eq!(shapes("1,30:1,10").unwrap(), vec![vec![1, 30], vec![1, 10]]);
    assert!(shapes("1,-1").unwrap_err().contains("(-1's)"));
    assert!(shapes("1,x").unwrap_err().contains("1,x"));
    assert_eq!(shapes("1,224x,3,:").unwrap(), vec![vec![1, 224, 3], vec![]]);
}

#[test]
fn usage_lists_every_flag_with_its_default() {
    let u = usage("benchmark_model");
    assert!(u.starts_with("usage: benchmark_model <flags>\nFlags:\n"));
    for s in specs() {
        let row = u
            .lines()
            .find(|l| l.starts_with(&format!("\t--{}=", s.name)))
            .unwrap_or_else(|| panic!("{} missing", s.name));
        assert!(row.contains(&format!("--{}={}", s.name, s.default)));
        assert!(row.contains(&format!("\t{}\toptional\t", s.kind.name())));
    }
}
