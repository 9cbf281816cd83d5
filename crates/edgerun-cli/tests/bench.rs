//! `edgerun bench` and `benchmark_model` end to end. The line patterns below are written from
//! the format strings of TensorFlow Lite's benchmark tool (`benchmark_model.cc`,
//! `stats_calculator.cc`, `logging.h`), so a script that parses the real tool's output parses
//! these too.

use std::path::Path;
use std::process::Output;

use edgerun::{npy, Tensor, Tolerance};
use edgerun_testkit as kit;
use regex::Regex;

fn bench_cmd(program: &Path, args: &[String]) -> Output {
    kit::command(program)
        .args(args)
        .output()
        .expect("edgerun starts")
}

fn bench(args: &[&str]) -> Output {
    let mut all = vec!["bench".to_string()];
    all.extend(args.iter().map(|s| s.to_string()));
    bench_cmd(Path::new(env!("CARGO_BIN_EXE_edgerun")), &all)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn onnx() -> String {
    format!("--graph={}", kit::model("mobilenetv2_mini.onnx").display())
}

/// Few, quick runs: exactly `runs` regular runs and one warm-up.
const QUICK: &[&str] = &[
    "--num_runs=3",
    "--min_secs=0",
    "--warmup_runs=1",
    "--warmup_min_secs=0",
    "--num_threads=1",
];

fn quick(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = QUICK.iter().map(|s| s.to_string()).collect();
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn run_ok(args: &[String]) -> String {
    run_ok_both(args).0
}

/// stdout and stderr of a successful run.
fn run_ok_both(args: &[String]) -> (String, String) {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = bench(&refs);
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    (text(&out.stdout), text(&out.stderr))
}

/// What TensorFlow Lite itself logs (on stderr) when it creates its XNNPACK delegate.
const TFLITE_XNNPACK_LINE: &str = "Created TensorFlow Lite XNNPACK delegate for CPU.";

const NUM: &str = r"-?[0-9]+(?:\.[0-9]+)?(?:e[+-][0-9]+)?";

struct Patterns {
    size: Regex,
    init: Regex,
    running: Regex,
    stats: Regex,
    timings: Regex,
    memory: Regex,
    peak: Regex,
}

fn patterns() -> Patterns {
    let r = |s: String| Regex::new(&s).unwrap();
    Patterns {
        size: r(format!(
            r"^INFO: The input model file size \(MB\): ({NUM})$"
        )),
        init: r(format!(r"^INFO: Initialized session in ({NUM})ms\.$")),
        running: r(format!(
            r"^INFO: Running benchmark for at least (-?\d+) iterations and at least ({NUM}) seconds but terminate if exceeding ({NUM}) seconds\.$"
        )),
        stats: r(format!(
            r"^INFO: count=(\d+)(?: first=(\d+) curr=(\d+) min=(\d+) max=(\d+) avg=({NUM}) std=(\d+)| curr=(\d+)(\(all same\))?)? p5=(\d+) median=(\d+) p95=(\d+)$"
        )),
        timings: r(format!(
            r"^INFO: Inference timings in us: Init: (\d+), First inference: (\d+), Warmup \(avg\): ({NUM}), Inference \(avg\): ({NUM})$"
        )),
        memory: r(format!(
            r"^INFO: Memory footprint delta from the start of the tool \(MB\): init=({NUM}) overall=({NUM})$"
        )),
        peak: r(format!(
            r"^INFO: Overall peak memory footprint \(MB\) via periodic monitoring: ({NUM})$"
        )),
    }
}

/// Every line of a benchmark's stdout in benchmark_model's shape, and the numbers consistent.
fn check_lines(stdout: &str, regular_runs: usize) {
    let p = patterns();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "INFO: STARTING!", "{stdout}");
    assert!(
        lines
            .iter()
            .all(|l| l.is_empty() || l.starts_with("INFO: ") || l.starts_with("WARN: ")),
        "{stdout}"
    );
    let find = |re: &Regex| -> Vec<usize> {
        (0..lines.len())
            .filter(|&i| re.is_match(lines[i]))
            .collect()
    };
    assert_eq!(find(&p.size).len(), 1, "{stdout}");
    assert_eq!(find(&p.init).len(), 1, "{stdout}");
    let running = find(&p.running);
    let stats = find(&p.stats);
    assert_eq!(running.len(), 2, "warm-up and regular: {stdout}");
    assert_eq!(stats.len(), 2, "{stdout}");
    // each loop: its announcement, then its statistics followed by an empty line
    for (a, s) in running.iter().zip(&stats) {
        assert_eq!(*s, a + 1, "{stdout}");
        assert_eq!(lines[s + 1], "", "{stdout}");
    }
    assert!(find(&p.size)[0] < find(&p.init)[0] && find(&p.init)[0] < running[0]);
    let regular = p.stats.captures(lines[stats[1]]).unwrap();
    assert_eq!(
        regular[1].parse::<usize>().unwrap(),
        regular_runs,
        "{stdout}"
    );
    let timings = find(&p.timings);
    assert_eq!(timings.len(), 1, "{stdout}");
    assert!(timings[0] > stats[1]);
    let t = p.timings.captures(lines[timings[0]]).unwrap();
    // the closing line repeats the loops' numbers: first warm-up run, regular average
    let warm = p.stats.captures(lines[stats[0]]).unwrap();
    let warm_first = warm.get(2).or(warm.get(8)).unwrap().as_str();
    assert_eq!(&t[2], warm_first, "{stdout}");
    if let Some(avg) = regular.get(6) {
        assert_eq!(&t[4], avg.as_str(), "{stdout}");
    }
    let init_ms: f64 = p.init.captures(lines[find(&p.init)[0]]).unwrap()[1]
        .parse()
        .unwrap();
    let init_us: f64 = t[1].parse().unwrap();
    // the ms figure is printed with six significant digits (1131416 us -> 1131.42ms)
    assert!(
        (init_ms * 1000.0 - init_us).abs() <= 1.0 + init_us * 5e-6,
        "{init_ms} ms vs {init_us} us"
    );
    assert_eq!(find(&p.memory).len(), 1, "{stdout}");
}

#[test]
fn bench_lines_parse_with_benchmark_models_patterns() {
    let out = run_ok(&quick(&[
        &onnx(),
        "--report_peak_memory_footprint=true",
        "--memory_footprint_check_interval_ms=1",
    ]));
    check_lines(&out, 3);
    let p = patterns();
    let peak: Vec<&str> = out.lines().filter(|l| p.peak.is_match(l)).collect();
    assert_eq!(peak.len(), 1, "{out}");
    assert!(
        out.contains("INFO: Memory status at the end of exeution:"),
        "{out}"
    );
    // parameters given are logged as the tool logs them
    for want in [
        "INFO: Log parameter values verbosely: [0]",
        "INFO: Min num runs: [3]",
        "INFO: Min runs duration (seconds): [0]",
        "INFO: Num threads: [1]",
        "INFO: Report the peak memory footprint: [1]",
        "INFO: Signature to run: []",
        "INFO: edgerun: backend tract 0.23.9",
    ] {
        assert!(out.lines().any(|l| l == want), "{want}: {out}");
    }
}

#[test]
fn called_benchmark_model_every_argument_is_a_flag() {
    let dir = kit::scratch("bench-argv0");
    let link = dir.join("benchmark_model");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_edgerun"), &link).unwrap();
    let out = bench_cmd(&link, &quick(&[&onnx()]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    check_lines(&text(&out.stdout), 3);
    // without --graph, the tool's error and exit status
    let out = bench_cmd(&link, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "INFO: STARTING!\n");
    assert_eq!(
        text(&out.stderr),
        "ERROR: Please specify the name of your TF Lite input file with --graph\nERROR: Benchmarking failed.\n"
    );
    // the usage names the program it was called as
    for help in ["--help=true", "--help"] {
        let out = bench_cmd(&link, &[help.to_string()]);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "ERROR: usage: {} <flags>\nFlags:\n",
                link.display()
            )),
            "{err}"
        );
        assert!(err.contains("\t--num_runs=50 "), "{err}");
    }
}

#[test]
fn flag_mistakes_get_the_tools_messages() {
    let out = bench(&[&onnx(), "--num_runs=abc"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(
            "ERROR: Failed to parse flag 'num_runs' against argv '--num_runs=abc'\nERROR: usage: "
        ),
        "{err}"
    );
    assert!(err.ends_with("ERROR: Benchmarking failed.\n"), "{err}");

    // an unknown flag is a warning ...
    let mut args = quick(&[&onnx(), "--no_such_flag=1", "--dry_run"]);
    let out = run_ok(&args);
    assert!(
        out.lines()
            .any(|l| l == "WARN: Unconsumed cmdline flags: --no_such_flag=1 --dry_run"),
        "{out}"
    );
    // ... and an error under --strict
    args.push("--strict=true".into());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = bench(&refs);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("--no_such_flag=1 --dry_run"),
        "{}",
        text(&out.stderr)
    );

    // a TFLite-only flag on another backend is accepted and reported as ignored
    let out = run_ok(&quick(&[
        &onnx(),
        "--use_xnnpack=true",
        "--allow_fp16=true",
    ]));
    for flag in ["use_xnnpack", "allow_fp16"] {
        let want = format!("WARN: --{flag} has no effect with backend tract; ignored");
        assert!(out.lines().any(|l| l == want), "{want}: {out}");
    }

    let out = bench(&[
        &onnx(),
        "--enable_op_profiling=true",
        "--op_profiling_output_mode=xml",
    ]);
    assert!(
        text(&out.stderr).contains("ERROR: Output modexml is not supported. Supported values are: 'stdout', 'csv' and 'proto'."),
        "{}",
        text(&out.stderr)
    );
    let out = bench(&[&onnx(), "--input_layer_value_range=input,5,1"]);
    assert!(
        text(&out.stderr)
            .contains("Wrong low and high value of the input value range specified: input,5,1"),
        "{}",
        text(&out.stderr)
    );
    let out = bench(&[
        &onnx(),
        "--input_layer=input,mask",
        "--input_layer_shape=1,3,224,224",
    ]);
    assert!(
        text(&out.stderr).contains("ERROR: The number of items in --input_layer_shape (1,3,224,224, with 1 items) must match the number of items in --input_layer (input,mask, with 2 items)."),
        "{}",
        text(&out.stderr)
    );
    let out = bench(&[&onnx(), "--input_layer_value_range=image,0,1"]);
    let err = text(&out.stderr);
    assert!(err.contains("\"image\"") && err.contains("input"), "{err}");
}

#[test]
fn bad_models_fail_with_the_tools_closing_line() {
    let dir = kit::scratch("bench-bad-models");
    let truncated = dir.join("truncated.onnx");
    let bytes = std::fs::read(kit::model("mobilenetv2_mini.onnx")).unwrap();
    std::fs::write(&truncated, &bytes[..1000]).unwrap();
    let missing = dir.join("missing.onnx");
    for (graph, says) in [
        (&truncated, "corrupt or truncated"),
        (&missing, "does not exist"),
    ] {
        let out = bench(&[&format!("--graph={}", graph.display())]);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.last(), Some(&"ERROR: Benchmarking failed."), "{err}");
        assert!(
            lines[lines.len() - 2].starts_with("ERROR: ") && err.contains(says),
            "{err}"
        );
    }
    let out = bench(&[&format!(
        "--graph={}",
        kit::model("unsupported_op.onnx").display()
    )]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("EdgerunMysteryOp"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn dry_run_loads_and_runs_nothing() {
    let out = run_ok(&[onnx(), "--dry_run=true".into()]);
    assert!(out.contains("INFO: Running benchmark for at least 0 iterations and at least -1 seconds but terminate if exceeding 150 seconds.\nINFO: count=0 p5=0 median=0 p95=0\n\n"), "{out}");
    assert!(out.contains("Inference timings in us: Init: "), "{out}");
    assert!(
        out.contains(", First inference: 0, Warmup (avg): 0, Inference (avg): 0\n"),
        "{out}"
    );
}

/// What `--output_filepath` wrote, as f32 values.
fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn value_files_reach_the_model() {
    let dir = kit::scratch("bench-files");
    let input = kit::model("reference/mobilenetv2_mini/input.0.npy");
    let expected = npy::read(kit::model("reference/mobilenetv2_mini/output.0.npy")).unwrap();
    // the same values as .npy and as raw little-endian bytes
    let raw = dir.join("in put.raw");
    std::fs::write(&raw, npy::read(&input).unwrap().data().to_le_bytes()).unwrap();
    for file in [input.clone(), raw] {
        let out_file = dir.join("out.bin");
        run_ok(&quick(&[
            &onnx(),
            &format!("--input_layer_value_files=input:{}", file.display()),
            &format!("--output_filepath={}", out_file.display()),
        ]));
        let got = Tensor::from_vec(vec![1, 100], read_f32(&out_file)).unwrap();
        // tract against onnxruntime's reference, as in the conformance suite
        Tolerance::new(1e-4, 1e-4)
            .check(&got, &expected)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
    // a raw file of the wrong size is refused with both sizes
    let short = dir.join("short.raw");
    std::fs::write(&short, [0u8; 12]).unwrap();
    let out = bench(&[
        &onnx(),
        &format!("--input_layer_value_files=input:{}", short.display()),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!(
            "The size of {} is 12 bytes. It should be 602112 bytes.",
            short.display()
        )),
        "{err}"
    );
    // a device is refused for what it is, before it is read (it would never end)
    let out = bench(&[&onnx(), "--input_layer_value_files=input:/dev/zero"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("input file \"/dev/zero\" is a character device, not a regular file"),
        "{err}"
    );
}

#[test]
fn shapes_over_the_tensor_limit_are_refused() {
    let dynamic = format!("--graph={}", kit::model("dynamic_mlp.onnx").display());
    let out = bench(&[
        &dynamic,
        "--input_layer=x",
        "--input_layer_shape=100000000000,16",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains(
            "input \"x\" of shape [100000000000,16] (f32) needs 6.4 TB, more than the limit of"
        ),
        "{err}"
    );
    // the limit is a flag: 1 MB refuses 6.4 MB and takes 64 kB
    let out = bench(&[
        &dynamic,
        "--input_layer=x",
        "--input_layer_shape=100000,16",
        "--max_tensor_mb=1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("needs 6.4 MB, more than the limit of 1.0 MB per tensor"),
        "{}",
        text(&out.stderr)
    );
    run_ok(&quick(&[
        &dynamic,
        "--input_layer=x",
        "--input_layer_shape=1000,16",
        "--max_tensor_mb=1",
    ]));
}

#[test]
fn value_ranges_reach_the_model() {
    let dir = kit::scratch("bench-ranges");
    let graph = kit::model("mobilenetv2_mini.onnx");
    let model = edgerun::Runtime::new()
        .with_backend("tract")
        .with_threads(1)
        .load(&graph)
        .unwrap();
    let mut session = model.session().unwrap();
    for value in [1.0f32, -2.0] {
        let ones = Tensor::from_vec(vec![1, 3, 224, 224], vec![value; 3 * 224 * 224]).unwrap();
        let expected = session.run(&[ones]).unwrap().into_vec().remove(0);
        let out_file = dir.join("out.bin");
        run_ok(&quick(&[
            &onnx(),
            &format!("--input_layer_value_range=input,{value},{value}"),
            &format!("--output_filepath={}", out_file.display()),
        ]));
        let got = Tensor::from_vec(vec![1, 100], read_f32(&out_file)).unwrap();
        Tolerance::new(1e-5, 1e-5)
            .check(&got, &expected)
            .unwrap_or_else(|e| panic!("range {value}: {e}"));
    }
}

#[test]
fn json_and_csv_results_carry_the_run_and_the_device() {
    let dir = kit::scratch("bench-results");
    let json = dir.join("r.json");
    run_ok(&quick(&[
        &onnx(),
        "--format=json",
        &format!("--result_file={}", json.display()),
        "--benchmark_name=mnv2",
    ]));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(r["schema"], "edgerun-bench/1");
    assert_eq!(r["benchmark_name"], "mnv2");
    assert_eq!(r["backend"], "tract");
    assert_eq!(r["backend_version"], "0.23.9");
    assert_eq!(r["threads"], 1);
    assert_eq!(r["flags"]["num_runs"], "3");
    let inf = &r["inference"];
    assert_eq!(inf["count"], 3);
    let samples: Vec<i64> = inf["samples_us"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    assert_eq!(samples.len(), 3);
    let (min, max) = (
        *samples.iter().min().unwrap(),
        *samples.iter().max().unwrap(),
    );
    assert_eq!(inf["min_us"], min);
    assert_eq!(inf["max_us"], max);
    let mut sorted = samples.clone();
    sorted.sort_unstable();
    assert_eq!(inf["median_us"].as_f64().unwrap(), sorted[1] as f64);
    let avg = samples.iter().sum::<i64>() as f64 / 3.0;
    assert!((inf["avg_us"].as_f64().unwrap() - avg).abs() < 1e-6);
    assert_eq!(r["warmup"]["count"], 1);
    assert_eq!(r["first_inference_us"], r["warmup"]["samples_us"][0]);
    assert_eq!(r["choice"]["chosen"], r["backend"]);
    let source = r["choice"]["source"].as_str().unwrap();
    assert!(
        ["explicit", "policy", "cache", "measured", "only", "order"].contains(&source),
        "{source}"
    );
    assert!(r["choice"]["measuring_us"].as_i64().unwrap() <= r["init_us"].as_i64().unwrap());
    assert_eq!(r["device"]["schema"], "edgerun-info/1");
    assert!(!r["device"]["device"]["signature"]
        .as_str()
        .unwrap()
        .is_empty());
    assert!(r["memory"]["overall_mb"].as_f64().is_some());
    assert!(r["init_warm_us"].is_null(), "no second load unless asked");

    // CSV on stdout after the log: a header and one row of as many fields
    let out = run_ok(&quick(&[&onnx(), "--format=csv"]));
    let lines: Vec<&str> = out.lines().collect();
    let header = lines
        .iter()
        .position(|l| l.starts_with("benchmark_name,"))
        .expect(&out);
    let columns: Vec<&str> = lines[header].split(',').collect();
    assert_eq!(columns.len(), 23);
    let row = csv_split(lines[header + 1]);
    assert_eq!(row.len(), columns.len(), "{}", lines[header + 1]);
    let at = |c: &str| &row[columns.iter().position(|x| *x == c).unwrap()];
    assert_eq!(at("backend"), "tract");
    assert_eq!(at("count"), "3");
    assert_eq!(at("threads"), "1");
    // every column is documented
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("BENCH.md")).unwrap();
    for c in columns {
        assert!(doc.contains(&format!("`{c}`")), "BENCH.md lacks {c}");
    }
}

/// Split one CSV row with RFC 4180 quotes.
fn csv_split(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// The profile section of a bench's stdout, checked line by line against benchmark_model's
/// format; its operator rows.
fn profile_rows(out: &str) -> Vec<String> {
    let at = out
        .find("INFO: Operator-wise Profiling Info for Regular Benchmark Runs:\n============================== Run Order ==============================\n")
        .expect(out);
    let section = &out[at..];
    let header = Regex::new(r"^\t +\[node type\]\t +\[first\]\t +\[avg ms\]\t +\[%\]\t +\[cdf%\]\t +\[mem KB\]\t\[times called\]\t\[Name\]$").unwrap();
    // numbers are right-aligned in their columns, and fill them when wide ("100.000%")
    let row = Regex::new(&format!(
        r"^\t +\S.*\t *{NUM}\t *{NUM}\t *{NUM}%\t *{NUM}%\t *0\.000\t +1\t\[.+\]:\d+$"
    ))
    .unwrap();
    let lines: Vec<&str> = section.lines().collect();
    assert!(header.is_match(lines[2]), "{}", lines[2]);
    let rows = lines[3..].iter().take_while(|l| !l.is_empty()).count();
    assert!(
        lines[3..3 + rows].iter().all(|l| row.is_match(l)),
        "{section}"
    );
    // the cumulative share ends at 100%
    assert!(lines[2 + rows].contains("100.000%"), "{}", lines[2 + rows]);
    assert!(section.contains(
        "============================== Top by Computation Time =============================="
    ));
    assert!(section.contains(&format!("Number of nodes executed: {rows}\n============================== Summary by node type ==============================\n")));
    let summary = Regex::new(r"\nTimings \(microseconds\): count=3 first=\d+ curr=\d+ min=\d+ max=\d+ avg=\S+ std=\d+\nMemory \(bytes\): count=0\n(\d+) nodes observed\n").unwrap();
    let c = summary.captures(section).expect(section);
    assert_eq!(c[1].parse::<usize>().unwrap(), rows);
    // three empty lines close the section, as in the tool (its report, its writer, its logger)
    assert!(section.ends_with(" nodes observed\n\n\n\n"), "{section:?}");
    lines[3..3 + rows].iter().map(|l| l.to_string()).collect()
}

/// `--warm_init` loads the model a second time and reports both initialisations.
#[test]
fn warm_initialisation_is_reported_apart_when_asked() {
    let dir = kit::scratch("bench-warm");
    let json = dir.join("r.json");
    let out = run_ok(&quick(&[
        &onnx(),
        "--warm_init=true",
        "--format=json",
        &format!("--result_file={}", json.display()),
        &format!("--decision_cache={}", dir.join("decisions.json").display()),
    ]));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let (cold, warm) = (
        r["init_us"].as_i64().unwrap(),
        r["init_warm_us"].as_i64().unwrap(),
    );
    let line = Regex::new(r"(?m)^INFO: edgerun: initialization cold ([0-9.]+) ms \(the first load in this process\), warm ([0-9.]+) ms \(a second load\)$").unwrap();
    let c = line.captures(&out).unwrap_or_else(|| panic!("{out}"));
    let ms = |k: usize| c[k].parse::<f64>().unwrap();
    assert!((ms(1) * 1000.0 - cold as f64).abs() <= 1.0 + cold as f64 * 5e-6);
    assert!((ms(2) * 1000.0 - warm as f64).abs() <= 1.0 + warm as f64 * 5e-6);
}

#[test]
fn op_profiling_prints_the_tools_tables() {
    let out = run_ok(&quick(&[&onnx(), "--enable_op_profiling=true"]));
    let rows = profile_rows(&out);
    assert!(rows.len() > 50, "{} operators", rows.len());

    // csv mode into a file
    let dir = kit::scratch("bench-profile");
    let file = dir.join("ops.csv");
    let out = run_ok(&quick(&[
        &onnx(),
        "--enable_op_profiling=true",
        "--op_profiling_output_mode=csv",
        &format!("--op_profiling_output_file={}", file.display()),
    ]));
    assert!(
        !out.contains("Operator-wise"),
        "the profile goes to the file"
    );
    let csv = std::fs::read_to_string(&file).unwrap();
    assert!(csv.starts_with("Operator-wise Profiling Info for Regular Benchmark Runs:\n============================== Run Order ==============================\nnode type, first, avg_ms, %, cdf%, mem KB, times called, name\n"), "{csv}");
    assert!(csv.contains("node type, count, avg_ms, avg %, cdf %, mem KB, times called\n"));
}

/// ONNX Runtime's run-level profiler fills the same tables, a row per node it ran. Without its
/// graph optimizations that is each of the model's 76 nodes, under the model's names.
#[test]
fn op_profiling_tables_for_onnx_runtime() {
    let out = run_ok(&quick(&[
        &onnx(),
        "--backend=ort",
        &format!("--ort_lib={}", kit::ort_lib().display()),
        "--ort_optimization=disable",
        "--enable_op_profiling=true",
    ]));
    let rows = profile_rows(&out);
    assert_eq!(rows.len(), 76, "{rows:#?}");
    let first = Regex::new(r"^\t +Conv\t.*\t\[conv_1\]:0$").unwrap();
    assert!(first.is_match(&rows[0]), "{}", rows[0]);
    assert!(
        rows[75].contains("Gemm") && rows[75].ends_with("[classifier]:75"),
        "{}",
        rows[75]
    );
    assert!(!out.contains("Op profiling is not available"), "{out}");
}

/// LiteRT's profiler fills them too: a row per operator XNNPACK ran, named as
/// benchmark_model names a delegate's operators. The bench compiles the model with the
/// profiler only because profiling was asked for.
#[test]
fn op_profiling_tables_for_litert() {
    let out = run_ok(&quick(&[
        &format!(
            "--graph={}",
            kit::model("mobilenetv2_mini.tflite").display()
        ),
        "--backend=litert",
        &format!("--litert_lib={}", kit::litert_lib().display()),
        "--enable_op_profiling=true",
    ]));
    let rows = profile_rows(&out);
    assert!(rows.len() > 40, "{rows:#?}");
    let row = Regex::new(r"^\t +([A-Z][^\t]+)\t.*\t\[Delegate/([^\]]+):(\d+)\]:(\d+)$").unwrap();
    for (k, r) in rows.iter().enumerate() {
        let c = row.captures(r).unwrap_or_else(|| panic!("{r}"));
        assert_eq!(c[1].trim(), &c[2], "{r}");
        assert_eq!((&c[3], &c[4]), (&*k.to_string(), &*k.to_string()), "{r}");
    }
    assert!(!out.contains("Op profiling is not available"), "{out}");
}

fn tflite_lib_flag() -> String {
    format!("--tflite_lib={}", kit::tflite_lib().display())
}

#[test]
fn bench_tflite_runs_on_the_tflite_backend() {
    let graph = format!(
        "--graph={}",
        kit::model("mobilenetv2_mini.tflite").display()
    );
    let (out, err) = run_ok_both(&quick(&[
        &graph,
        &tflite_lib_flag(),
        "--enable_op_profiling=true",
    ]));
    check_lines(&out, 3);
    // TFLite's own word that it made the delegate, besides edgerun's note
    assert!(err.contains(TFLITE_XNNPACK_LINE), "{err}");
    assert!(
        out.lines()
            .any(|l| l == "INFO: edgerun: backend tflite 2.6.0"),
        "{out}"
    );
    assert!(
        out.contains("INFO: edgerun:   delegates: XNNPACK (1 threads)"),
        "{out}"
    );
    // no profiler in the C API: said in one line, the benchmark still runs
    let warn: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("WARN: Op profiling is not available with backend tflite"))
        .collect();
    assert_eq!(warn.len(), 1, "{out}");
    // --use_xnnpack=false turns the delegate off, as in benchmark_model
    let (out, err) = run_ok_both(&quick(&[&graph, &tflite_lib_flag(), "--use_xnnpack=false"]));
    assert!(!out.contains("XNNPACK"), "{out}");
    assert!(!err.contains(TFLITE_XNNPACK_LINE), "{err}");
    // the TFLite model also runs on tract when asked for
    let out = run_ok(&quick(&[&graph, "--backend=tract"]));
    assert!(
        out.lines()
            .any(|l| l == "INFO: edgerun: backend tract 0.23.9"),
        "{out}"
    );
    check_lines(&out, 3);
}
