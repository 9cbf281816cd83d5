//! A thousand mutants of a small model per format, through every backend that reads the
//! format: each is refused with an error, or loads and runs. None may crash the process.

use edgerun::{ErrorKind, Runtime, Tensor};
use edgerun_testkit as kit;
use edgerun_testkit::xorshift;

/// A mutant: one to four changes, each a flipped bit or a byte set to a value parsers often
/// trip on (0, 0xff, 0x7f, 0x80).
fn mutate(original: &[u8], state: &mut u64) -> Vec<u8> {
    let mut bytes = original.to_vec();
    for _ in 0..1 + xorshift(state) % 4 {
        let at = (xorshift(state) % bytes.len() as u64) as usize;
        bytes[at] = match xorshift(state) % 6 {
            0 => 0,
            1 => 0xff,
            2 => 0x7f,
            3 => 0x80,
            _ => bytes[at] ^ (1 << (xorshift(state) % 8)),
        };
    }
    bytes
}

fn runtime(backend: &str) -> Runtime {
    let mut rt = Runtime::new()
        .register(Box::new(
            edgerun::ort::OrtBackend::new().with_library(kit::ort_lib()),
        ))
        .register(Box::new(
            edgerun::litert::LiteRtBackend::new().with_library(kit::litert_lib()),
        ));
    if cfg!(target_arch = "x86_64") {
        rt = rt.register(Box::new(
            edgerun::tflite::TfLiteBackend::new().with_library(kit::tflite_lib()),
        ));
    }
    rt.with_backend(backend).with_threads(1)
}

/// Load and run `count` mutants of `model` on each backend; returns (refused, ran) per backend.
/// A mutant is refused with an error that says what is wrong with it: the file (naming it),
/// what a backend cannot run, or a failure of the run; never an error that blames the
/// backend's library or the file system, which would hide a corrupt file behind the wrong
/// account. A mutant equal to the original runs.
fn mutants(model: &str, backends: &[&str], count: usize, seed: u64) -> Vec<(usize, usize)> {
    let original = std::fs::read(kit::model(model)).unwrap();
    let runtimes: Vec<Runtime> = backends.iter().map(|b| runtime(b)).collect();
    let mut tally = vec![(0, 0); backends.len()];
    let mut state = seed;
    for k in 0..count {
        let bytes = mutate(&original, &mut state);
        for (rt, t) in runtimes.iter().zip(&mut tally) {
            let outcome = rt
                .load_bytes(&format!("{model} mutant {k}"), bytes.clone())
                .and_then(|m| {
                    let inputs = m
                        .inputs()
                        .iter()
                        .map(|i| {
                            let shape: Vec<usize> =
                                i.shape.iter().map(|d| d.fixed().unwrap_or(1)).collect();
                            Tensor::zeros(i.dtype, shape)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    m.session()?.run(&inputs)
                });
            let label = format!("{model} mutant {k}");
            match outcome {
                Ok(_) => t.1 += 1,
                Err(e) => {
                    assert!(bytes != original, "{label}, unchanged, was refused: {e}");
                    match e.kind() {
                        ErrorKind::InvalidModel => {
                            assert!(e.to_string().contains(&label), "{label}: {e}")
                        }
                        ErrorKind::Unsupported
                        | ErrorKind::InvalidRequest
                        | ErrorKind::InvalidInput
                        | ErrorKind::Backend => {}
                        other => panic!("{label}: refused as {other:?}: {e}"),
                    }
                    t.0 += 1;
                }
            }
        }
    }
    tally
}

fn check(model: &str, backends: &[&str], count: usize, seed: u64) {
    let tally = mutants(model, backends, count, seed);
    for (b, (refused, ran)) in backends.iter().zip(&tally) {
        eprintln!("{model} on {b}: {refused} mutants refused, {ran} ran");
        assert!(*refused > 0, "{b}: no mutant of {model} was refused");
        assert!(
            *ran > 0,
            "{b}: no mutant of {model} ran: the run path saw none"
        );
    }
}

#[test]
fn a_thousand_onnx_mutants_on_every_onnx_backend() {
    check("dynamic_mlp.onnx", &["tract", "ort"], 1000, 0x0a11);
}

#[test]
fn a_thousand_tflite_mutants_on_every_tflite_backend() {
    let mut backends = vec!["litert", "tract"];
    if cfg!(target_arch = "x86_64") {
        backends.push("tflite");
    }
    check("relu.tflite", &backends, 1000, 0x7f17);
    // a converter's file, with a signature (tract's reader fails on it unmutated: not here)
    backends.retain(|b| *b != "tract");
    check("dynamic_batch.tflite", &backends, 1000, 0x7f18);
}
