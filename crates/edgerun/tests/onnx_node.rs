//! A fast sample of ONNX's own operator tests (the onnx package's node cases; the whole suite is
//! `crates/edgerun/conformance/run`, its table `docs/onnx-node.md`), through ONNX Runtime, tract
//! and `auto`: the cases behind edgerun's fixes and rules. Each case's inputs and expected
//! outputs come from the onnx package (`models/onnx-node/`, written by `onnx_node.py --export`);
//! `models/onnx-node/expect.tsv` says what each backend must do with it:
//!
//! - `pass`: run, every output within the case's own tolerance (numpy's allclose, NaN equal);
//! - `precision`: run, every output within edgerun's stated precision for float outputs
//!   (|a - e| <= 1e-4 * max(1, max |e|) + r * |e|, r = 1e-3, or 1e-2 for float16, 3e-2 for
//!   bfloat16);
//! - `refused OP`: the load fails as unsupported, naming OP (`-`: any refusal but a corrupt
//!   file).
//!
//! What this sample covers: indices, ids and labels as inputs (Gather, GatherND, ScatterElements,
//! rotary embeddings' position ids, NLL loss, ArrayFeatureExtractor), which `auto` once refused
//! because it measured on random indices; u16, u32, u64 and bf16 tensors; tract's input names where a
//! graph passes an input on unchanged, and its dimension outputs (Shape); each construct an
//! engine computes wrongly, refused for that engine by the known-fault rules; a valid model
//! tract cannot build, reported unsupported, not corrupt; DFT, where ONNX Runtime differs from
//! the reference only by float32 rounding.

use std::path::{Path, PathBuf};
use std::time::Duration;

use edgerun::{npy, CacheSetting, ErrorKind, Runtime, Tensor};
use edgerun_testkit as kit;

struct Case {
    dir: PathBuf,
    inputs: Vec<String>,
    outputs: Vec<String>,
    rtol: f64,
    atol: f64,
}

fn case(name: &str) -> Case {
    let dir = kit::models_dir().join("onnx-node").join(name);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
    let names = |k: &str| -> Vec<String> {
        meta[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    Case {
        inputs: names("inputs"),
        outputs: names("outputs"),
        rtol: meta["rtol"].as_f64().unwrap(),
        atol: meta["atol"].as_f64().unwrap(),
        dir,
    }
}

fn values(t: &Tensor) -> Vec<f64> {
    match t.data() {
        edgerun::Data::F64(v) => v.clone(),
        edgerun::Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
        edgerun::Data::U64(v) => v.iter().map(|&x| x as f64).collect(),
        _ => t.to_f32_vec().into_iter().map(f64::from).collect(),
    }
}

/// Why `actual` is not `expected` within the case's tolerance, or within edgerun's stated
/// precision when `precision`.
fn differs(expected: &Tensor, actual: &Tensor, c: &Case, precision: bool) -> Option<String> {
    if expected.shape() != actual.shape() {
        return Some(format!(
            "shape {:?} where {:?}",
            actual.shape(),
            expected.shape()
        ));
    }
    let (e, a) = (values(expected), values(actual));
    let scale = e
        .iter()
        .filter(|x| x.is_finite())
        .fold(1f64, |m, x| m.max(x.abs()));
    if expected.dtype() != actual.dtype() {
        return Some(format!("{} where {}", actual.dtype(), expected.dtype()));
    }
    let rel = match expected.dtype() {
        edgerun::DType::F16 => 1e-2,
        edgerun::DType::BF16 => 3e-2,
        _ => 1e-3,
    };
    e.iter().zip(&a).enumerate().find_map(|(i, (&x, &y))| {
        let allowed = if precision {
            1e-4 * scale + rel * x.abs()
        } else {
            c.atol + c.rtol * x.abs()
        };
        let same = x == y || (x.is_nan() && y.is_nan());
        // a NaN difference (NaN against a number) is never within the tolerance
        let within = (x - y).abs() <= allowed;
        (!same && !within).then(|| format!("element {i}: {y} where {x} (allowed {allowed})"))
    })
}

fn check(name: &str, backend: &str, outcome: &str) -> Result<(), String> {
    let c = case(name);
    let rt = Runtime::new()
        .configure("ort_lib", kit::ort_lib().to_str().unwrap())
        .unwrap()
        .with_threads(1)
        .with_cache(CacheSetting::Off)
        .with_measure_budget(Duration::from_millis(50))
        .with_backend(backend);
    let loaded = rt.load(c.dir.join("model.onnx")).and_then(|m| {
        let inputs: Vec<(String, Tensor)> = c
            .inputs
            .iter()
            .enumerate()
            .map(|(k, n)| {
                (
                    n.clone(),
                    npy::read(c.dir.join(format!("in{k}.npy"))).unwrap(),
                )
            })
            .collect();
        let named: Vec<(&str, &Tensor)> = inputs.iter().map(|(n, t)| (n.as_str(), t)).collect();
        let out = m.session()?.run_named(&named)?;
        Ok((m.backend().to_string(), out))
    });
    match (outcome.split_once(' '), loaded) {
        (None, Ok((chosen, out))) => {
            for (k, o) in c.outputs.iter().enumerate() {
                let expected = npy::read(c.dir.join(format!("expected{k}.npy"))).unwrap();
                let actual = out.get(o).ok_or(format!("no output {o:?}"))?;
                if let Some(why) = differs(&expected, actual, &c, outcome == "precision") {
                    return Err(format!("{chosen}: output {o:?}: {why}"));
                }
            }
            Ok(())
        }
        (None, Err(e)) => Err(format!("expected {outcome}, got: {e}")),
        (Some((_, op)), Err(e)) => {
            let text = e.to_string();
            // never called corrupt: these are valid models; a rule's refusal names its op
            let named = match op {
                "-" => e.kind() != ErrorKind::InvalidModel,
                op => {
                    matches!(e.kind(), ErrorKind::Unsupported | ErrorKind::Unavailable)
                        && text.contains(&format!("op {op} "))
                }
            };
            if named {
                Ok(())
            } else {
                Err(format!("expected refused {op}, got {:?}: {text}", e.kind()))
            }
        }
        (Some(_), Ok((chosen, _))) => Err(format!("expected {outcome}, but {chosen} ran it")),
    }
}

#[test]
fn onnx_operator_cases_pass_or_are_refused_with_their_reason() {
    let table = std::fs::read_to_string(kit::models_dir().join("onnx-node/expect.tsv")).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for line in table
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 3, "{line}");
        if let Err(why) = check(f[0], f[1], f[2]) {
            failures.push(format!("{} on {}: {why}", f[0], f[1]));
        }
        checked += 1;
    }
    assert!(checked >= 60, "{checked} rows");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_exported_case_is_in_the_table() {
    let table = std::fs::read_to_string(kit::models_dir().join("onnx-node/expect.tsv")).unwrap();
    for entry in std::fs::read_dir(kit::models_dir().join("onnx-node")).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            assert!(
                table.lines().any(|l| l.starts_with(&format!("{name}\t"))),
                "{} has no row",
                Path::new(&name).display()
            );
        }
    }
}
