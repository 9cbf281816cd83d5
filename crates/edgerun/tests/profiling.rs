//! Per-operator timing (`ModelSession::run_profiled`): tract times every operator of its plan
//! and computes the same outputs; TensorFlow Lite, whose C API has no profiler, says so.

use edgerun::tflite::TfLiteBackend;
use edgerun::{npy, Error, OpTiming, Runtime};
use edgerun_testkit as kit;

#[test]
fn tract_times_every_operator_and_computes_the_same() {
    let model = Runtime::new()
        .with_backend("tract")
        .with_threads(1)
        .load(kit::model("mobilenetv2_mini.onnx"))
        .unwrap();
    let input = npy::read(kit::model("reference/mobilenetv2_mini/input.0.npy")).unwrap();
    let mut session = model.session().unwrap();
    session.profiling().unwrap();
    let plain = session.run(std::slice::from_ref(&input)).unwrap();
    let mut timings: Vec<OpTiming> = Vec::new();
    for run in 0..2 {
        let before = timings.len();
        let profiled = session
            .run_profiled(std::slice::from_ref(&input), &mut timings)
            .unwrap();
        assert_eq!(profiled[0], plain[0], "profiling changes nothing computed");
        let this_run = &timings[before..];
        // every operator of the optimised plan, in execution order, each run
        assert!(this_run.len() > 50, "{} operators", this_run.len());
        assert!(this_run.iter().enumerate().all(|(i, t)| t.index == i));
        assert!(this_run
            .iter()
            .all(|t| !t.name.is_empty() && !t.op_type.is_empty()));
        assert!(this_run.iter().any(|t| t.op_type.contains("Conv")), "{run}");
        // the operators' time is most of the run: some take whole microseconds
        assert!(this_run.iter().map(|t| t.micros).sum::<u64>() > 100);
    }
    let (first, second) = timings.split_at(timings.len() / 2);
    assert!(first.iter().zip(second).all(|(a, b)| a.name == b.name));
}

#[test]
fn tflite_cannot_time_operators_and_says_why() {
    let rt = Runtime::new()
        .register(Box::new(
            TfLiteBackend::new().with_library(kit::tflite_lib()),
        ))
        .with_backend("tflite")
        .with_threads(1);
    let model = rt.load(kit::model("mobilenetv2_mini.tflite")).unwrap();
    let input = npy::read(kit::model("reference/mobilenetv2_mini_tflite/input.0.npy")).unwrap();
    let mut session = model.session().unwrap();
    let why = match session.profiling().unwrap_err() {
        Error::ProfilingUnavailable { backend, reason } => {
            assert_eq!(backend, "tflite");
            assert!(
                reason.contains("2.6.0") && reason.contains("the tract backend"),
                "{reason}"
            );
            reason
        }
        e => panic!("{e:?}"),
    };
    let mut timings = Vec::new();
    match session.run_profiled(&[input], &mut timings) {
        Err(Error::ProfilingUnavailable { backend, reason }) => {
            assert_eq!(backend, "tflite");
            assert_eq!(reason, why);
        }
        other => panic!("{other:?}"),
    }
    assert!(timings.is_empty());
}
