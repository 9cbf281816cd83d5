//! The ONNX Runtime backend through the runtime: chosen for ONNX models while its library is
//! present, agreeing with tract, and refusing wrong inputs. Its own test binary: a process that
//! has loaded ONNX Runtime uses it for every ONNX model, which the other suites do not expect.

use edgerun_testkit as common;

use common::case;
use edgerun::{DType, Error, Runtime, Tensor, Tolerance};

const TOLERANCE: Tolerance = Tolerance::new(1e-4, 1e-3);

fn ort_runtime() -> Runtime {
    Runtime::new().register(Box::new(
        edgerun::ort::OrtBackend::new().with_library(common::ort_lib()),
    ))
}

#[test]
fn auto_measures_ort_and_tract_and_says_why() {
    // which engine is faster here is a benchmark's question (benches/compare); the decision's
    // is that both were measured and the faster median taken, with outputs that agree
    let c = case("mobilenetv2_mini");
    let model = ort_runtime()
        .with_threads(1)
        .with_cache(edgerun::CacheSetting::Off)
        .load(&c.model)
        .unwrap();
    let d = model.decision();
    assert_eq!(d.source, edgerun::Source::Measured, "{d}");
    let median = |l: &str| match d.candidate(l).unwrap().outcome {
        edgerun::Outcome::Measured { median, .. } => median,
        ref o => panic!("{l}: {o}"),
    };
    let faster = if median("ort") <= median("tract") {
        "ort"
    } else {
        "tract"
    };
    assert_eq!(model.backend(), faster, "{d}");
    let text = d.to_string();
    assert!(
        text.contains(&format!("{faster}, 1 thread: median")) && text.contains("<- chosen"),
        "{text}"
    );
    let out = model.session().unwrap().run(&c.inputs).unwrap();
    TOLERANCE.check(&out[0], &c.outputs[0]).unwrap();
}

#[test]
fn ort_and_tract_agree() {
    for name in ["mobilenetv2_mini", "ppocr_cls"] {
        let c = case(name);
        for threads in [1, 2] {
            let ort = ort_runtime()
                .with_backend("ort")
                .with_threads(threads)
                .load(&c.model)
                .unwrap();
            let tract = Runtime::new()
                .with_backend("tract")
                .with_threads(threads)
                .load(&c.model)
                .unwrap();
            let a = ort.session().unwrap().run(&c.inputs).unwrap();
            let b = tract.session().unwrap().run(&c.inputs).unwrap();
            for (x, y) in a.tensors().iter().zip(b.tensors()) {
                let d = TOLERANCE
                    .check(x, y)
                    .unwrap_or_else(|e| panic!("{name}, {threads} threads: {e}"));
                eprintln!("{name}, {threads} threads: ort vs tract max |diff| {d:e}");
            }
        }
    }
}

#[test]
fn ort_input_mistakes() {
    let m = Runtime::new()
        .register(Box::new(
            edgerun::ort::OrtBackend::new().with_library(common::ort_lib()),
        ))
        .with_backend("ort")
        .load(common::model("dynamic_mlp.onnx"))
        .unwrap();
    assert_eq!(m.backend(), "ort");
    let mut s = m.session().unwrap();
    let e = s
        .run(&[Tensor::zeros(DType::I64, vec![2, 16]).unwrap()])
        .unwrap_err();
    assert!(matches!(e, Error::InputDType { .. }), "{e:?}");
    let e = s
        .run(&[Tensor::zeros(DType::F32, vec![2, 15]).unwrap()])
        .unwrap_err();
    assert!(matches!(e, Error::InputShape { .. }), "{e:?}");
    let e = s
        .run_named(&[("nope", Tensor::zeros(DType::F32, vec![2, 16]).unwrap())])
        .unwrap_err();
    assert!(matches!(e, Error::UnknownInput { .. }), "{e:?}");
    // and the right input runs, at any batch
    for batch in [2, 5] {
        let out = s
            .run(&[Tensor::zeros(DType::F32, vec![batch, 16]).unwrap()])
            .unwrap();
        assert_eq!(out[0].shape(), &[batch, 4]);
    }
}
