//! The dispatcher from the command line: `--explain`, the decision cache across processes,
//! processes that load at once, and policy files.

use super::*;

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
    // writers take turns: no process's entry is lost, each whole: a decision per thread count,
    // and the containment verdict of each candidate at each
    let (probes, decisions): (Vec<_>, Vec<_>) = file["entries"]
        .as_object()
        .unwrap()
        .values()
        .partition(|e| e["key"].as_str().unwrap().starts_with("probe "));
    assert_eq!(probes.len(), 4, "{file}");
    assert!(
        probes
            .iter()
            .all(|e| e["winner"] == "ort" || e["winner"] == "tract"),
        "{file}"
    );
    assert_eq!(decisions.len(), 2, "{file}");
    for e in decisions {
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
