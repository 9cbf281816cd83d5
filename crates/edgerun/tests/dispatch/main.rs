//! The dispatcher with scripted backends: each takes a set time per run, gives set outputs,
//! or fails where told, so ordering, measuring, agreement, fallback, error aggregation,
//! policy and the decision cache are checked without depending on real engines' speed.
//! Time is scripted too: a run advances the runtime's clock by its set time and spends none,
//! so every test's timings, and so its decisions, are the same on any machine and load.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use edgerun::{
    CacheSetting, Error, ModelFormat, Outcome, Policy, Precision, Runtime, Selection, Source,
    Tensor, Variant,
};
use edgerun_testkit as kit;

mod scripted;

use scripted::*;

fn runtime(scripts: &[&Script]) -> Runtime {
    Runtime::with_backends(scripts.iter().map(|s| s.backend()).collect())
        .with_threads(1)
        .with_cache(CacheSetting::Off)
        .with_clock(Arc::new(Scripted))
}

fn model() -> std::path::PathBuf {
    kit::model("mobilenetv2_mini.onnx")
}

/// A decision file in a scratch directory of its own, removed with the returned guard.
fn temp_cache(name: &str) -> (kit::Scratch, std::path::PathBuf) {
    let d = kit::scratch(&format!("dispatch-{name}"));
    let path = d.join("decisions.json");
    (d, path)
}

fn median(m: &edgerun::Model, label: &str) -> Duration {
    match &m.decision().candidate(label).unwrap().outcome {
        Outcome::Measured { median, .. } => *median,
        o => panic!("{label} was not measured: {o}"),
    }
}

#[test]
fn the_fastest_of_agreeing_candidates_wins_and_the_decision_says_so() {
    let (a, b, c) = (
        script("slow", 16.0, 1.0),
        script("fast", 0.3, 1.0),
        script("mid", 4.0, 1.0),
    );
    let m = runtime(&[&a, &b, &c]).load(model()).unwrap();
    assert_eq!(m.backend(), "fast");
    let d = m.decision();
    assert_eq!(d.chosen, "fast");
    assert_eq!(d.source, Source::Measured);
    assert_eq!(median(&m, "fast"), Duration::from_micros(300));
    assert_eq!(median(&m, "mid"), Duration::from_millis(4));
    assert_eq!(median(&m, "slow"), Duration::from_millis(16));
    let text = d.to_string();
    assert!(text.contains("backend fast: measured now"), "{text}");
    assert!(
        text.contains("fast, 1 thread: median") && text.contains("<- chosen"),
        "{text}"
    );
    assert!(!d.measuring.is_zero());
}

#[test]
fn a_fast_backend_with_wrong_outputs_never_wins() {
    let (a, wrong, c) = (
        script("right_slow", 12.0, 1.0),
        script("wrong_fast", 0.2, 1.5),
        script("right_mid", 2.0, 1.0),
    );
    let m = runtime(&[&a, &wrong, &c]).load(model()).unwrap();
    assert_eq!(m.backend(), "right_mid");
    match &m.decision().candidate("wrong_fast").unwrap().outcome {
        Outcome::Disagreed { detail, .. } => {
            assert!(
                detail.contains("1.5 against 1") || detail.contains("1 against 1.5"),
                "{detail}"
            )
        }
        o => panic!("wrong_fast was not rejected: {o}"),
    }
    assert!(m
        .decision()
        .to_string()
        .contains("rejected: outputs disagree"));
}

#[test]
fn of_two_that_disagree_the_reference_backend_of_the_format_is_kept() {
    // for ONNX models ONNX Runtime is the reference, whatever the speed
    let (ort, tract) = (script("ort", 4.0, 1.0), script("tract", 0.2, 7.0));
    let m = runtime(&[&tract, &ort]).load(model()).unwrap();
    assert_eq!(m.backend(), "ort");
    assert!(matches!(
        m.decision().candidate("tract").unwrap().outcome,
        Outcome::Disagreed { .. }
    ));
    let notes = m.decision().notes.join("\n");
    assert!(
        notes.contains("kept ort, the reference backend for ONNX"),
        "{notes}"
    );
}

#[test]
fn small_differences_within_tolerance_agree() {
    let (a, b) = (script("ort", 3.0, 1.0), script("tract", 0.3, 1.0 + 5e-5));
    let m = runtime(&[&a, &b]).load(model()).unwrap();
    assert_eq!(m.backend(), "tract");
}

#[test]
fn candidates_that_cannot_run_are_skipped_with_their_reasons() {
    let mut gone = script("gone", 0.1, 1.0);
    gone.available = false;
    let mut lacks = script("lacks", 0.1, 1.0);
    lacks.unsupported = Some("FancyOp");
    let mut nnef_only = script("nnef_only", 0.1, 1.0);
    nnef_only.formats = &[ModelFormat::Nnef];
    let (ok1, ok2) = (script("ok1", 2.0, 1.0), script("ok2", 0.5, 1.0));
    let m = runtime(&[&gone, &lacks, &nnef_only, &ok1, &ok2])
        .load(model())
        .unwrap();
    assert_eq!(m.backend(), "ok2");
    let d = m.decision();
    assert!(
        matches!(&d.candidate("gone").unwrap().outcome, Outcome::Skipped(r) if r.contains("library not found"))
    );
    assert!(
        matches!(&d.candidate("lacks").unwrap().outcome, Outcome::Failed(r) if r.contains("FancyOp"))
    );
    assert!(
        matches!(&d.candidate("nnef_only").unwrap().outcome, Outcome::Skipped(r) if r.contains("does not read ONNX"))
    );
    assert_eq!(
        gone.prepares.load(Ordering::SeqCst),
        0,
        "an unavailable backend is not tried"
    );

    // none left: every candidate with its reason
    let e = runtime(&[&gone, &lacks, &nnef_only])
        .load(model())
        .unwrap_err();
    let text = e.to_string();
    for want in [
        "gone: skipped",
        "library not found",
        "lacks: failed",
        "FancyOp",
        "nnef_only: skipped",
    ] {
        assert!(text.contains(want), "{want:?} missing from: {text}");
    }
}

#[test]
fn one_candidate_is_taken_without_measuring() {
    let mut gone = script("gone", 0.1, 1.0);
    gone.available = false;
    let only = script("only", 1.0, 1.0);
    let m = runtime(&[&gone, &only]).load(model()).unwrap();
    assert_eq!(m.decision().source, Source::Only);
    assert_eq!(
        only.runs.load(Ordering::SeqCst),
        0,
        "nothing to compare, nothing run"
    );
}

#[test]
fn first_and_a_zero_budget_take_the_first_in_order_unmeasured() {
    let (a, b) = (script("a", 3.0, 1.0), script("b", 0.2, 1.0));
    for rt in [
        runtime(&[&a, &b]).with_selection(Selection::First),
        runtime(&[&a, &b]).with_measure_budget(Duration::ZERO),
    ] {
        let m = rt.load(model()).unwrap();
        assert_eq!(m.backend(), "a");
        assert_eq!(m.decision().source, Source::Order);
        assert_eq!(
            m.decision().candidate("b").unwrap().outcome,
            Outcome::NotTried
        );
    }
    assert_eq!(
        a.runs.load(Ordering::SeqCst) + b.runs.load(Ordering::SeqCst),
        0
    );
}

#[test]
fn the_budget_bounds_the_timed_runs() {
    let (a, b) = (script("a", 30.0, 1.0), script("b", 30.0, 1.0));
    let m = runtime(&[&a, &b])
        .with_measure_budget(Duration::from_millis(100))
        .load(model())
        .unwrap();
    // the warm-ups (one run each) take 60 of the 100 ms; a timed run starts only while one
    // more run (as long as the candidate's last) still fits: a runs once more, then b's
    // would end at 120 ms
    assert_eq!(a.runs.load(Ordering::SeqCst), 2);
    assert_eq!(b.runs.load(Ordering::SeqCst), 1);
    let timed = |l: &str| match m.decision().candidate(l).unwrap().outcome {
        Outcome::Measured { runs, .. } => runs,
        ref o => panic!("{o}"),
    };
    assert_eq!((timed("a"), timed("b")), (1, 0));
    assert_eq!(m.decision().measuring, Duration::from_millis(90));
}

#[test]
fn a_clear_winner_ends_measuring_early() {
    let (a, b) = (script("a", 20.0, 1.0), script("b", 0.3, 1.0));
    let m = runtime(&[&a, &b])
        .with_measure_budget(Duration::from_secs(30))
        .load(model())
        .unwrap();
    assert_eq!(m.backend(), "b");
    // the slow candidate's every run is slower than the fast one's: after its warm-up, three
    // rounds decide
    assert_eq!(a.runs.load(Ordering::SeqCst), 1 + 3);
    assert_eq!(b.runs.load(Ordering::SeqCst), 1 + 3);
}

#[test]
fn an_explicit_choice_wins_or_fails_with_its_reason() {
    let (a, b) = (script("a", 0.2, 1.0), script("b", 3.0, 1.0));
    let m = runtime(&[&a, &b]).with_backend("b").load(model()).unwrap();
    assert_eq!(m.backend(), "b");
    assert_eq!(m.decision().source, Source::Explicit);
    assert_eq!(a.prepares.load(Ordering::SeqCst), 0);

    let mut lacks = script("lacks", 0.1, 1.0);
    lacks.unsupported = Some("FancyOp");
    let e = runtime(&[&a, &lacks])
        .with_backend("lacks")
        .load(model())
        .unwrap_err();
    assert!(
        e.to_string().contains("FancyOp"),
        "no silent substitution: {e}"
    );

    let e = runtime(&[&a])
        .with_backend("nope")
        .load(model())
        .unwrap_err();
    assert!(e.to_string().contains("known: auto, first, a"), "{e}");
}

#[test]
fn variants_compete_under_their_own_labels_and_threads() {
    let base = script("eng", 3.0, 1.0);
    let fast = script("eng", 0.3, 1.0);
    let rt = runtime(&[&base])
        .with_variant(Variant::new("eng-fast", fast.backend()).with_threads(3))
        .unwrap();
    let m = rt.load(model()).unwrap();
    assert_eq!(m.decision().chosen, "eng-fast");
    assert_eq!(m.backend(), "eng");
    assert_eq!(fast.threads_seen.load(Ordering::SeqCst), 3);
    assert_eq!(base.threads_seen.load(Ordering::SeqCst), 1);
    assert_eq!(m.placement().threads, 3);
    assert!(m
        .decision()
        .to_string()
        .contains("eng-fast (eng), 3 threads"));
    // labels are unique
    let e = runtime(&[&base])
        .with_variant(Variant::new("eng", fast.backend()))
        .err()
        .unwrap();
    assert!(e.to_string().contains("own label"), "{e}");
}

/// A runtime that leaves the thread count to the device, a captured Raspberry Pi 4 (four
/// Cortex-A72: four threads), so the thread search also measures 1 and 2.
fn searching(scripts: &[&Script]) -> Runtime {
    Runtime::with_backends(scripts.iter().map(|s| s.backend()).collect())
        .with_cache(CacheSetting::Off)
        .with_clock(Arc::new(Scripted))
        .with_platform(edgerun::Platform::from_root(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../edgerun-core/tests/fixtures/rpi4"
        )))
        .with_thread_search(true)
}

#[test]
fn the_thread_search_measures_fewer_threads_and_keeps_the_fastest() {
    // eng wins among the backends at the default 4 threads; at 2 it is faster still
    let mut eng = script("eng", 1.5, 1.0);
    eng.at_threads = vec![
        (1, Duration::from_millis(3), None),
        (2, Duration::from_millis(1), None),
    ];
    let mut other = script("other", 2.0, 1.0);
    // other would be fastest of all on one thread, but it lost at the default: its counts are
    // not measured (the search is bounded to the winner's)
    other.at_threads = vec![(1, Duration::from_micros(500), None)];
    let m = searching(&[&eng, &other]).load(model()).unwrap();
    let d = m.decision();
    assert_eq!(d.chosen, "eng@2", "{d}");
    assert_eq!(d.source, Source::Measured);
    assert_eq!(m.backend(), "eng");
    assert_eq!(m.placement().threads, 2);
    assert!(m.placement().why.contains("for variant eng@2"), "{m:?}");
    assert_eq!(eng.threads_seen.load(Ordering::SeqCst), 2);
    // eng keeps its figure from the round against other; its counts were timed after
    assert_eq!(median(&m, "eng"), Duration::from_micros(1500));
    assert_eq!(median(&m, "eng@1"), Duration::from_millis(3));
    assert_eq!(median(&m, "other"), Duration::from_millis(2));
    for label in ["other@1", "other@2"] {
        match &d.candidate(label).unwrap().outcome {
            Outcome::Skipped(why) => {
                assert!(why.contains("fastest of the others only: eng"), "{why}")
            }
            o => panic!("{label} was not skipped: {o}"),
        }
    }
    assert_eq!(
        other.threads_seen.load(Ordering::SeqCst),
        4,
        "other prepared at 4 only"
    );
    let text = d.to_string();
    assert!(text.contains("eng@2 (eng), 2 threads: median"), "{text}");
    assert!(text.contains("eng, 4 threads: median"), "{text}");
    assert!(
        text.contains("eng's other counts measured against it in a second round"),
        "{text}"
    );

    // the count is cached with the choice: the next load takes it without measuring
    let (_store, cache) = temp_cache("threads");
    let rt = || searching(&[&eng, &other]).with_cache(CacheSetting::File(cache.clone()));
    rt().load(model()).unwrap();
    let runs = eng.runs.load(Ordering::SeqCst);
    let again = rt().load(model()).unwrap();
    assert_eq!(again.decision().source, Source::Cache);
    assert_eq!(again.decision().chosen, "eng@2");
    assert_eq!(again.placement().threads, 2);
    assert_eq!(eng.runs.load(Ordering::SeqCst), runs, "measured again");
}

#[test]
fn a_thread_count_must_win_clearly_to_replace_the_default() {
    // 2.5 % faster at 2 threads: within the margin, so the default's 4 threads stay
    let mut eng = script("eng", 2.0, 1.0);
    eng.at_threads = vec![(2, Duration::from_micros(1950), None)];
    let other = script("other", 3.0, 1.0);
    let m = searching(&[&eng, &other]).load(model()).unwrap();
    let d = m.decision();
    assert_eq!(d.chosen, "eng", "{d}");
    assert_eq!(m.placement().threads, 4);
    assert_eq!(median(&m, "eng@2"), Duration::from_micros(1950));
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("eng@2 was not clearly faster than eng") && n.contains("5 %")),
        "{d}"
    );
    // 10 % faster: clear enough
    eng.at_threads = vec![(2, Duration::from_micros(1800), None)];
    let m = searching(&[&eng, &other]).load(model()).unwrap();
    assert_eq!(m.decision().chosen, "eng@2", "{}", m.decision());
}

#[test]
fn a_thread_count_whose_outputs_disagree_is_rejected() {
    // eng wins at the default; fastest at 1 thread, but wrong there (a race in a kernel, say)
    let mut eng = script("eng", 3.0, 1.0);
    eng.at_threads = vec![(1, Duration::from_micros(100), Some(7.0))];
    let other = script("other", 4.0, 1.0);
    let m = searching(&[&eng, &other]).load(model()).unwrap();
    let d = m.decision();
    // eng@2 is as fast as eng: a tie goes to the device's default
    assert_eq!(d.chosen, "eng", "{d}");
    assert_eq!(m.placement().threads, 4);
    match &d.candidate("eng@1").unwrap().outcome {
        Outcome::Disagreed { detail, .. } => assert!(detail.contains("with eng"), "{detail}"),
        o => panic!("eng@1 was not rejected: {o}"),
    }
}

/// A captured two-core machine made big.LITTLE: CPU 0 little, CPU 1 big. The default is one
/// thread pinned to CPU 1, so "every usable core, unpinned" is a count of its own.
fn big_little_here(dir: &std::path::Path) -> edgerun::Platform {
    let from = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../edgerun-core/tests/fixtures/x86_64");
    let copy = std::process::Command::new("cp")
        .arg("-r")
        .arg(&from)
        .arg(dir.join("root"))
        .status()
        .unwrap();
    assert!(copy.success());
    let cpus = dir.join("root/sys/devices/system/cpu");
    std::fs::write(cpus.join("cpu0/cpu_capacity"), "512\n").unwrap();
    std::fs::write(cpus.join("cpu0/topology/cluster_id"), "0\n").unwrap();
    std::fs::write(cpus.join("cpu1/topology/cluster_id"), "1\n").unwrap();
    let p = edgerun::Platform::from_root(dir.join("root"));
    assert_eq!(p.default_placement().affinity, Some(vec![1]), "{p:?}");
    p
}

#[test]
fn every_core_unpinned_competes_on_big_little_and_keeps_its_placement() {
    let usable = thread_cpus();
    assert_eq!(usable, "0-1", "this test needs CPUs 0 and 1 usable");
    let dir = kit::scratch("dispatch-unpinned");
    let mut eng = script("eng", 2.0, 1.0);
    eng.at_threads = vec![(2, Duration::from_millis(1), None)];
    let other = script("other", 3.0, 1.0);
    let rt = searching(&[&eng, &other]).with_platform(big_little_here(&dir));
    let m = rt.load(model()).unwrap();
    let d = m.decision();
    assert_eq!(d.chosen, "eng@2", "{d}");
    let c = d.candidate("eng@2").unwrap();
    assert!(c.unpinned && c.threads == 2, "{d}");
    assert!(
        d.to_string()
            .contains("eng@2 (eng), 2 threads on every usable CPU, unpinned: median"),
        "{d}"
    );
    // the model runs as the winner was measured: two threads, no pinning
    assert_eq!(m.placement().threads, 2);
    assert_eq!(m.placement().affinity, None);
    assert!(
        m.placement().why.contains("unpinned"),
        "{:?}",
        m.placement()
    );
    // prepared and timed on the big core at the default, on both cores unpinned
    let seen = eng.placements.lock().unwrap().clone();
    for (what, threads, cpus) in [
        ("prepare", 1, "1"),
        ("run", 1, "1"),
        ("prepare", 2, "0-1"),
        ("run", 2, "0-1"),
    ] {
        assert!(
            seen.contains(&(what, threads, cpus.to_string())),
            "{what} at {threads}: {seen:?}"
        );
    }
    assert_eq!(seen.len(), 4, "{seen:?}");
    // and the loading thread got its CPUs back
    assert_eq!(thread_cpus(), usable);
    let mut session = m.session().unwrap();
    session
        .run(&[edgerun::Tensor::from_vec(vec![1, 4], vec![0f32; 4]).unwrap()])
        .unwrap();
    assert!(eng
        .placements
        .lock()
        .unwrap()
        .iter()
        .all(|(_, t, cpus)| *t != 2 || cpus == "0-1"));
}

#[test]
fn an_explicit_thread_count_is_never_searched() {
    let mut eng = script("eng", 4.0, 1.0);
    eng.at_threads = vec![(1, Duration::from_micros(100), None)];
    let other = script("other", 3.0, 1.0);
    for rt in [
        searching(&[&eng, &other]).with_threads(4),
        searching(&[&eng, &other]).with_backend("eng"),
        searching(&[&eng, &other]).with_measure_budget(Duration::ZERO),
        searching(&[&eng, &other]).with_thread_search(false),
    ] {
        let m = rt.load(model()).unwrap();
        let labels: Vec<&str> = m
            .decision()
            .candidates
            .iter()
            .map(|c| c.label.as_str())
            .collect();
        assert_eq!(labels, ["eng", "other"]);
        assert_eq!(m.placement().threads, 4);
    }
}

/// A runtime on a captured Raspberry Pi 5 (Cortex-A76: fp16 arithmetic), allowing fp16.
fn fp16_allowed(scripts: &[&Script]) -> Runtime {
    Runtime::with_backends(scripts.iter().map(|s| s.backend()).collect())
        .with_threads(1)
        .with_cache(CacheSetting::Off)
        .with_clock(Arc::new(Scripted))
        .with_platform(edgerun::Platform::from_root(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../edgerun-core/tests/fixtures/rpi5"
        )))
        .with_precision(Precision::Fp16)
}

/// `eng` (4 ms a run, outputs 1.0) whose fp16 twin runs in `fp16_us` and gives `fp16_value`,
/// and `other` (3 ms, 1.0).
fn with_twin(fp16_us: u64, fp16_value: f32) -> (Script, Script) {
    let mut eng = script("eng", 4.0, 1.0);
    eng.fp16 = Some((Duration::from_micros(fp16_us), fp16_value));
    (eng, script("other", 3.0, 1.0))
}

#[test]
fn an_fp16_twin_within_its_guard_wins_on_speed_and_says_how_close_it_came() {
    // fp16 rounding: 0.4 % off, at half the time
    let (eng, other) = with_twin(2000, 1.004);
    let m = fp16_allowed(&[&eng, &other]).load(model()).unwrap();
    let d = m.decision();
    assert_eq!(d.chosen, "eng-fp16", "{d}");
    assert_eq!(m.backend(), "eng");
    assert_eq!(median(&m, "eng-fp16"), Duration::from_millis(2));
    let text = d.to_string();
    assert!(
        text.contains("eng-fp16: within the fp16 guard of eng: largest difference 4.00e-3 (fp16 bound 1.00e-2), same arg-max"),
        "{text}"
    );
    // exact arithmetic, the default: no twin
    let m = runtime(&[&eng, &other]).load(model()).unwrap();
    assert!(m.decision().candidate("eng-fp16").is_none());
    assert_eq!(m.decision().chosen, "other");
    // a policy rule may allow fp16 for the models it matches
    let policy = |model: &str| {
        Policy::parse(
            &format!("[[rule]]\nmodel = \"{model}\"\nprecision = \"fp16\"\n"),
            "p.toml",
        )
        .unwrap()
    };
    let rt = || fp16_allowed(&[&eng, &other]).with_precision(Precision::Exact);
    let m = rt()
        .with_policy(policy("*.onnx"))
        .unwrap()
        .load(model())
        .unwrap();
    assert_eq!(m.decision().chosen, "eng-fp16");
    let m = rt()
        .with_policy(policy("*.tflite"))
        .unwrap()
        .load(model())
        .unwrap();
    assert!(m.decision().candidate("eng-fp16").is_none());
}

#[test]
fn an_fp16_twin_beyond_its_guard_is_rejected_however_fast() {
    let (eng, other) = with_twin(100, 1.5);
    let m = fp16_allowed(&[&eng, &other]).load(model()).unwrap();
    let d = m.decision();
    assert_eq!(d.chosen, "other", "{d}");
    match &d.candidate("eng-fp16").unwrap().outcome {
        Outcome::Disagreed { detail, .. } => assert!(
            detail.contains("1.5 against 1 (difference 5.00e-1, fp16 bound 1.00e-2)"),
            "{detail}"
        ),
        o => panic!("eng-fp16 was not rejected: {o}"),
    }
}

#[test]
fn an_fp16_twin_is_skipped_on_a_cpu_without_fp16_arithmetic() {
    let (eng, other) = with_twin(100, 1.0);
    // a Raspberry Pi 4: Cortex-A72, ARMv8.0
    let m = fp16_allowed(&[&eng, &other])
        .with_platform(edgerun::Platform::from_root(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../edgerun-core/tests/fixtures/rpi4"
        )))
        .load(model())
        .unwrap();
    assert_eq!(m.decision().chosen, "other");
    match &m.decision().candidate("eng-fp16").unwrap().outcome {
        Outcome::Skipped(why) => assert!(why.contains("no fp16 arithmetic"), "{why}"),
        o => panic!("eng-fp16 was not skipped: {o}"),
    }
}

#[test]
fn a_policy_pins_backend_and_threads_and_may_allow_fallback() {
    let (a, b) = (script("a", 0.2, 1.0), script("b", 3.0, 1.0));
    let policy = Policy::parse(
        "[[rule]]\nmodel = \"mobilenet*.onnx\"\nbackend = \"b\"\nthreads = 2\n",
        "p.toml",
    )
    .unwrap();
    let m = runtime(&[&a, &b])
        .with_policy(policy)
        .unwrap()
        .load(model())
        .unwrap();
    assert_eq!(m.backend(), "b");
    assert_eq!(
        m.decision().source,
        Source::Policy("mobilenet*.onnx".into())
    );
    assert_eq!(b.threads_seen.load(Ordering::SeqCst), 2);

    // a pinned backend that cannot run the model: an error, unless the rule allows fallback
    let mut lacks = script("lacks", 0.1, 1.0);
    lacks.unsupported = Some("FancyOp");
    let pin = |fallback: bool| {
        Policy::parse(
            &format!("[[rule]]\nmodel = \"**\"\nbackend = \"lacks\"\nfallback = {fallback}\n"),
            "p.toml",
        )
        .unwrap()
    };
    let e = runtime(&[&lacks, &a])
        .with_policy(pin(false))
        .unwrap()
        .load(model())
        .unwrap_err();
    assert!(e.to_string().contains("FancyOp"), "{e}");
    let m = runtime(&[&lacks, &a])
        .with_policy(pin(true))
        .unwrap()
        .load(model())
        .unwrap();
    assert_eq!(m.backend(), "a");
    assert!(
        m.decision().notes[0].contains("lacks cannot run it"),
        "{:?}",
        m.decision().notes
    );

    // a rule that names a backend the runtime lacks is refused up front
    let bad = Policy::parse("[[rule]]\nmodel = \"*\"\nbackend = \"zzz\"\n", "p.toml").unwrap();
    let e = runtime(&[&a]).with_policy(bad).err().unwrap();
    assert!(
        e.to_string().contains("zzz") && e.to_string().contains("p.toml"),
        "{e}"
    );
}

#[test]
fn the_cache_skips_measuring_and_any_change_of_the_key_measures_again() {
    let (_store, path) = temp_cache("key");
    let (a, b) = (script("a", 3.0, 1.0), script("b", 0.3, 1.0));
    let rt = |a: &Script, b: &Script, threads: usize| {
        runtime(&[a, b])
            .with_threads(threads)
            .with_cache(CacheSetting::File(path.clone()))
    };
    let first = rt(&a, &b, 1).load(model()).unwrap();
    assert_eq!(first.decision().source, Source::Measured);
    assert_eq!(first.backend(), "b");
    let runs = a.runs.load(Ordering::SeqCst);
    let prepares = a.prepares.load(Ordering::SeqCst);

    let second = rt(&a, &b, 1).load(model()).unwrap();
    assert_eq!(second.decision().source, Source::Cache);
    assert_eq!(second.backend(), "b");
    assert_eq!(a.runs.load(Ordering::SeqCst), runs, "a hit runs nothing");
    assert_eq!(
        a.prepares.load(Ordering::SeqCst),
        prepares,
        "a hit prepares only the winner"
    );
    assert!(matches!(
        second.decision().candidate("a").unwrap().outcome,
        Outcome::Cached { median: Some(_) }
    ));

    // another thread count, another engine version, another model: measured again
    assert_eq!(
        rt(&a, &b, 2).load(model()).unwrap().decision().source,
        Source::Measured
    );
    let mut newer = a.clone();
    newer.version = "1.1".into();
    assert_eq!(
        rt(&newer, &b, 1).load(model()).unwrap().decision().source,
        Source::Measured
    );
    let other = rt(&a, &b, 1).load(kit::model("dynamic_mlp.onnx")).unwrap();
    assert_eq!(other.decision().source, Source::Measured);
    // and the first key still hits
    assert_eq!(
        rt(&a, &b, 1).load(model()).unwrap().decision().source,
        Source::Cache
    );
}

#[test]
fn a_corrupt_or_unwritable_cache_is_a_warning_not_a_failure() {
    let (_store, path) = temp_cache("corrupt");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"\x00not json").unwrap();
    let (a, b) = (script("a", 2.0, 1.0), script("b", 0.3, 1.0));
    let m = runtime(&[&a, &b])
        .with_cache(CacheSetting::File(path.clone()))
        .load(model())
        .unwrap();
    assert_eq!(m.decision().source, Source::Measured);
    let warnings: Vec<_> = m.decision().warnings().collect();
    assert!(warnings[0].contains("not a decision cache"), "{warnings:?}");
    // replaced by a valid file that now hits
    let m = runtime(&[&a, &b])
        .with_cache(CacheSetting::File(path.clone()))
        .load(model())
        .unwrap();
    assert_eq!(m.decision().source, Source::Cache);

    // a directory in the file's place: cannot be read or written
    let (_store, blocked) = temp_cache("blocked");
    std::fs::create_dir_all(&blocked).unwrap();
    let m = runtime(&[&a, &b])
        .with_cache(CacheSetting::File(blocked))
        .load(model())
        .unwrap();
    assert_eq!(m.backend(), "b", "{}", m.decision());
    let w: Vec<_> = m.decision().warnings().collect();
    assert!(w.iter().any(|w| w.contains("cannot write")), "{w:?}");
}

#[test]
fn a_cached_winner_that_no_longer_prepares_is_measured_again() {
    let (_store, path) = temp_cache("stale");
    let (a, b) = (script("a", 2.0, 1.0), script("b", 0.3, 1.0));
    let rt = |b: &Script| runtime(&[&a, b]).with_cache(CacheSetting::File(path.clone()));
    assert_eq!(rt(&b).load(model()).unwrap().backend(), "b");
    let mut broken = b.clone();
    broken.unsupported = Some("FancyOp");
    let m = rt(&broken).load(model()).unwrap();
    assert_eq!(m.backend(), "a");
    assert!(m
        .decision()
        .notes
        .iter()
        .any(|n| n.contains("failed to prepare now")));
}

#[test]
fn the_largest_agreeing_group_wins_over_lone_outliers() {
    // two agree, two are each off on their own (and faster)
    let (a, b) = (script("a", 8.0, 1.0), script("b", 1.0, 1.0));
    let (c, d) = (script("c", 0.2, 3.0), script("d", 0.3, -2.0));
    let m = runtime(&[&c, &a, &d, &b]).load(model()).unwrap();
    assert_eq!(m.backend(), "b");
    for l in ["c", "d"] {
        assert!(matches!(
            m.decision().candidate(l).unwrap().outcome,
            Outcome::Disagreed { .. }
        ));
    }
}

#[test]
fn equal_infinities_agree() {
    let (a, b) = (
        script("a", 3.0, f32::NEG_INFINITY),
        script("b", 0.3, f32::NEG_INFINITY),
    );
    let m = runtime(&[&a, &b]).load(model()).unwrap();
    assert_eq!(m.backend(), "b");
    assert!(m.decision().notes.is_empty(), "{:?}", m.decision().notes);
}

#[test]
fn candidates_that_all_fail_on_the_measuring_inputs_fall_back_to_the_order_uncached() {
    let (_store, path) = temp_cache("runfail");
    let mut a = script("a", 0.1, 1.0);
    a.fail_run = true;
    let mut b = script("b", 0.1, 1.0);
    b.fail_run = true;
    // failing on seeded inputs is no verdict on the model: the first in order, and a note
    let m = runtime(&[&a, &b])
        .with_cache(CacheSetting::File(path.clone()))
        .load(model())
        .unwrap();
    assert_eq!(m.backend(), "a");
    let d = m.decision();
    assert_eq!(d.source, Source::Order);
    assert!(
        d.notes.iter().any(
            |n| n.contains("every candidate failed on the measuring inputs")
                && n.contains("a taken as the first in order")
        ),
        "{:?}",
        d.notes
    );
    assert_eq!(d.candidate("a").unwrap().outcome, Outcome::Prepared);
    assert!(
        matches!(&d.candidate("b").unwrap().outcome, Outcome::Failed(why) if why.contains("scripted run failure")),
        "{}",
        d.candidate("b").unwrap().outcome
    );
    assert!(!path.exists(), "an unmeasured choice is not cached");
    // one of two runs: it is the only candidate left, and that is not cached either
    let ok = script("ok", 0.1, 1.0);
    let m = runtime(&[&a, &ok])
        .with_cache(CacheSetting::File(path.clone()))
        .load(model())
        .unwrap();
    assert_eq!(m.backend(), "ok");
    assert_eq!(m.decision().source, Source::Only);
    assert!(!path.exists());
}

#[test]
fn policy_settings_must_fit_the_rules_backend() {
    let a = script("a", 0.2, 1.0);
    let rt = || {
        Runtime::new()
            .with_clock(Arc::new(Scripted))
            .with_variant(Variant::new("v", a.backend()))
            .unwrap()
    };
    let p = |text: &str| Policy::parse(text, "p.toml").unwrap();
    let e = rt()
        .with_policy(p(
            "[[rule]]\nmodel = \"*\"\nbackend = \"v\"\n[rule.settings]\nuse_xnnpack = \"false\"\n",
        ))
        .err()
        .unwrap();
    assert!(e.to_string().contains("is a variant"), "{e}");
    let e = rt()
        .with_policy(p("[[rule]]\nmodel = \"*\"\nbackend = \"tract\"\n[rule.settings]\nuse_xnnpack = \"false\"\n"))
        .err()
        .unwrap();
    assert!(
        e.to_string().contains("setting of tflite, not of tract"),
        "{e}"
    );
    assert!(rt()
        .with_policy(p(
            "[[rule]]\nmodel = \"*\"\n[rule.settings]\nuse_xnnpack = \"false\"\n"
        ))
        .is_ok());
}

#[test]
fn a_batch_whose_sessions_cannot_be_made_gives_each_input_that_error() {
    let mut s = script("nosession", 0.1, 1.0);
    s.fail_session = true;
    let m = runtime(&[&s]).load(model()).unwrap();
    let input = Tensor::from_vec(vec![1, 4], vec![0f32; 4]).unwrap();
    let results = m.run_batch(&[vec![&input], vec![&input], vec![&input]]);
    assert_eq!(results.len(), 3);
    for r in results {
        let e = r.unwrap_err();
        // the session's own error, of its own kind, not rewrapped as a backend failure
        assert_eq!(e.kind(), edgerun::ErrorKind::InvalidRequest, "{e}");
        assert!(matches!(e, Error::OutOfMemory { .. }), "{e:?}");
    }
}
