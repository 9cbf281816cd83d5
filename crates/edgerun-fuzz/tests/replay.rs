//! Every seed and every input that once crashed a target goes through that target again; none
//! may panic. The fuzzer (`run`) finds new inputs; this keeps the ones it found fixed.

use std::path::{Path, PathBuf};

use edgerun_testkit as kit;

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn target(name: &str) -> fn(&[u8]) {
    edgerun_fuzz::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no target {name}"))
        .1
}

/// The inputs that once crashed `regressions/TARGET/`, and the committed seeds.
fn committed(name: &str) -> Vec<PathBuf> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = files(&here.join("regressions").join(name));
    all.extend(files(&here.join("seeds").join(name)));
    all
}

#[test]
fn every_target_has_a_program_and_a_directory_of_regressions_or_seeds() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, _) in edgerun_fuzz::TARGETS {
        let program = here.join(format!("afl/src/bin/fuzz_{name}.rs"));
        let source = std::fs::read_to_string(&program)
            .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
        assert!(source.contains("afl::fuzz!"), "{}", program.display());
    }
    // the programs of the targets that need the backends exist without them too
    assert!(files(&here.join("afl/src/bin")).len() >= edgerun_fuzz::TARGETS.len());
}

#[test]
fn the_seed_models_and_inputs_pass_through_their_targets() {
    let models = kit::models_dir();
    let mut ran = 0;
    for f in files(&models) {
        let Ok(bytes) = std::fs::read(&f) else {
            continue;
        };
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".tflite") {
            target("tflite_check")(&bytes);
            target("format")(&bytes);
            ran += 1;
        } else if name.ends_with(".onnx") {
            target("onnx_check")(&bytes);
            target("format")(&bytes);
            ran += 1;
        }
    }
    assert!(ran >= 10, "{ran} bundled models");
    for f in files(&models.join("reference/dynamic_mlp_batch3")) {
        target("npy")(&std::fs::read(f).unwrap());
    }
    for name in ["text", "image"] {
        if edgerun_fuzz::TARGETS.iter().any(|(n, _)| *n == name) {
            for f in committed(name) {
                target(name)(&std::fs::read(f).unwrap());
            }
        }
    }
}

/// The backends' test libraries for `load_run` (a test must fail, not skip, without them).
fn libraries() {
    #[cfg(feature = "models")]
    {
        std::env::set_var("EDGERUN_LITERT_LIB", kit::litert_lib());
        std::env::set_var("EDGERUN_ORT_LIB", kit::ort_lib());
        #[cfg(target_arch = "x86_64")]
        std::env::set_var("EDGERUN_TFLITE_LIB", kit::tflite_lib());
    }
}

thread_local! {
    /// Panics on this thread since the last look, caught or not.
    static PANICS: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// As under AFL, where every panic aborts: a panic that edgerun catches (a fault inside a
/// backend, reported as an error) still counts as a crash, so each one is recorded.
fn record_panics() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.with(|p| p.borrow_mut().push(info.to_string()));
        previous(info);
    }));
}

#[test]
fn inputs_that_once_crashed_a_target_no_longer_do() {
    libraries();
    record_panics();
    let mut replayed = 0;
    let mut panicked = Vec::new();
    for (name, run) in edgerun_fuzz::TARGETS {
        for f in files(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("regressions")
                .join(name),
        ) {
            run(&std::fs::read(&f).unwrap());
            replayed += 1;
            for p in PANICS.with(|p| std::mem::take(&mut *p.borrow_mut())) {
                panicked.push(format!("{name} {}: {p}", f.display()));
            }
        }
    }
    assert!(replayed >= 2, "{replayed} regressions replayed");
    assert!(panicked.is_empty(), "{}", panicked.join("\n"));
}

/// The load_run target on the bundled models: each loads on some backend and runs.
#[cfg(feature = "models")]
#[test]
fn load_run_runs_the_small_bundled_models() {
    libraries();
    for name in [
        "dynamic_mlp.onnx",
        "typed_io.onnx",
        "huge_input.onnx",
        "huge_initializer.onnx",
        "dynamic_batch.tflite",
        "custom_op.tflite",
        "gelu.tflite",
    ] {
        edgerun_fuzz::load_run(&std::fs::read(kit::model(name)).unwrap());
    }
}
