//! Per-operator timings from LiteRT's profiler, on the bundled float MobileNetV2: the model is
//! compiled with the profiler attached only when asked, each profiled run reports the
//! operators XNNPACK ran for it alone, and profiling changes no output.

use edgerun_core::{Backend, Options, Session, Tensor, Tolerance};
use edgerun_litert::LiteRtBackend;
use edgerun_testkit as kit;

fn session(profiling: bool) -> Box<dyn Session> {
    let c = kit::case("mobilenetv2_mini_tflite");
    let source = edgerun_core::ModelSource::open(&c.model).unwrap();
    LiteRtBackend::new()
        .with_library(kit::litert_lib())
        .prepare(
            &source,
            &Options::new().with_threads(1).with_profiling(profiling),
        )
        .unwrap()
        .session()
        .unwrap()
}

#[test]
fn profiled_runs_time_the_operators_xnnpack_ran() {
    let c = kit::case("mobilenetv2_mini_tflite");
    let mut s = session(true);
    s.profiling().unwrap();
    let views: Vec<_> = c.inputs.iter().map(Tensor::view).collect();
    let mut counts = Vec::new();
    let mut types = std::collections::BTreeSet::new();
    for _ in 0..2 {
        let mut outputs = Vec::new();
        let mut timings = Vec::new();
        s.run(&views, &mut outputs, Some(&mut timings)).unwrap();
        Tolerance::new(1e-4, 1e-3)
            .check(&outputs[0], &c.outputs[0])
            .unwrap();
        for (i, t) in timings.iter().enumerate() {
            assert_eq!(t.index, i);
            types.insert(t.op_type.split(" (").next().unwrap_or("").to_string());
            // XNNPACK's operators, named as benchmark_model names them
            assert_eq!(t.name, format!("Delegate/{}:{i}", t.op_type), "{t:?}");
        }
        counts.push(timings.len());
    }
    // each run's own operators, not the earlier runs' as well; XNNPACK's graph has no more
    // operators than the model's 53 (it may fuse some)
    assert_eq!(counts[0], counts[1]);
    assert!(counts[0] > 40 && counts[0] <= 53, "{counts:?}");
    for kind in ["Convolution", "Fully Connected", "Add", "Mean"] {
        assert!(types.contains(kind), "{types:?}");
    }
}

#[test]
fn a_model_not_compiled_for_profiling_says_how_to_get_it() {
    let c = kit::case("mobilenetv2_mini_tflite");
    let mut s = session(false);
    let err = s.profiling().unwrap_err();
    assert!(
        matches!(err, edgerun_core::Error::ProfilingUnavailable { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("with_profiling"), "{err}");
    let views: Vec<_> = c.inputs.iter().map(Tensor::view).collect();
    let mut timings = Vec::new();
    assert!(s.run(&views, &mut Vec::new(), Some(&mut timings)).is_err());
    // and runs unprofiled as before
    let mut outputs = Vec::new();
    s.run(&views, &mut outputs, None).unwrap();
    Tolerance::new(1e-4, 1e-3)
        .check(&outputs[0], &c.outputs[0])
        .unwrap();
}
