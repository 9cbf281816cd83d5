//! The fuzz targets of edgerun: each takes arbitrary bytes and feeds them to code that reads
//! untrusted input. A target returns normally whatever the bytes are; an error from the code
//! under test is a correct outcome, a panic or a crash is a bug.
//!
//! `afl/` wraps each target in an AFL++ program (`cargo afl`); the tests of this crate replay
//! the seed corpus and every input that once crashed (`regressions/`) through the same
//! functions. [`TARGETS`] lists them; `README.md` says how to run the fuzzer.

pub mod mutate;

use edgerun_core::{limits, npy, platform::cpulist, DType, ModelSource};
use edgerun_formats::{onnx, tflite::flatbuf};

/// A fuzz target: takes any bytes, returns normally.
pub type Target = fn(&[u8]);

/// Every target: its name (the AFL program is `fuzz_NAME`) and function.
pub const TARGETS: &[(&str, Target)] = &[
    ("format", format),
    ("tflite_check", tflite_check),
    ("onnx_check", onnx_check),
    ("npy", npy_file),
    ("text", text),
    #[cfg(feature = "models")]
    ("image", image),
    #[cfg(feature = "models")]
    ("load_run", load_run),
    #[cfg(feature = "models")]
    ("load_run_structured", load_run_structured),
];

/// The largest tensor a target lets the code under test make: big enough for every bundled
/// model, small enough that thousands of runs a second stay in memory.
pub const TENSOR_LIMIT: u64 = 64 << 20;

fn limit() {
    limits::set_max_tensor_bytes(TENSOR_LIMIT);
}

/// Format detection of a model given as bytes.
pub fn format(data: &[u8]) {
    let _ = ModelSource::from_bytes("fuzz", data.to_vec());
}

/// The TensorFlow Lite checker that stands between a file and the C libraries.
pub fn tflite_check(data: &[u8]) {
    limit();
    if let Ok(decl) = flatbuf::parse(data) {
        let _ = decl.check_sizes();
        for op in &decl.operators {
            let _ = (op.name(), op.place());
        }
        for t in decl.inputs.iter().chain(&decl.outputs) {
            let _ = t.dynamic_dims();
        }
    }
}

/// The ONNX pre-check and node search.
pub fn onnx_check(data: &[u8]) {
    limit();
    let _ = onnx::check("fuzz", std::path::Path::new("fuzz.onnx"), data);
    let _ = onnx::node_with_op(data, "Relu");
}

/// `.npy` reading, and writing back what was read.
pub fn npy_file(data: &[u8]) {
    limit();
    if let Ok(t) = npy::from_bytes(data) {
        let again = npy::to_bytes(&t);
        assert_eq!(
            npy::from_bytes(&again).map(|u| u.shape().to_vec()).ok(),
            Some(t.shape().to_vec()),
            "a tensor read from .npy reads back from its own .npy"
        );
    }
}

/// The small text formats users type: shapes, CPU lists and affinities, type names; with the
/// `models` feature also delegate options, ONNX Runtime providers, backend selections and
/// policy files. One input is split at newlines, each line given to every parser.
pub fn text(data: &[u8]) {
    limit();
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        if let Ok(shapes) = edgerun_core::tensor::parse_shapes(line) {
            for s in shapes {
                let _ = limits::check_tensor("fuzz", DType::F32, &s);
            }
        }
        if let Some(cpus) = cpulist::parse(line).ok().filter(|c| !c.is_empty()) {
            assert_eq!(
                cpulist::parse(&cpulist::format(&cpus)).ok(),
                Some(cpus),
                "a CPU list reads back from its own text"
            );
        }
        let _ = line.parse::<edgerun_core::CpuAffinity>();
        let _ = DType::parse(line);
        for kind in [
            edgerun_core::Kind::Bool,
            edgerun_core::Kind::Count { min: 1 },
            edgerun_core::Kind::Choice(&["all", "basic"]),
        ] {
            let setting = edgerun_core::Setting {
                key: "fuzz",
                kind,
                help: "",
                default: None,
            };
            let _ = setting.parse(line);
        }
        #[cfg(feature = "models")]
        {
            let _ = edgerun::tflite::parse_delegate_options(line);
            let _ = edgerun::ort::parse_providers(line);
            let _ = edgerun::Selection::parse(line);
        }
    }
    #[cfg(feature = "models")]
    let _ = edgerun::Policy::parse(&text, "fuzz");
}

/// Image decoding (JPEG, PNG) and preprocessing onto a small input.
#[cfg(feature = "models")]
pub fn image(data: &[u8]) {
    use edgerun::preprocess::{Fit, Image, Preprocess};
    let Ok(image) = Image::decode(data) else {
        return;
    };
    let info = edgerun::TensorInfo {
        name: "image".into(),
        dtype: DType::U8,
        shape: [1, 8, 8, 3].map(edgerun::Dim::Fixed).to_vec(),
        quant: None,
    };
    let how = Preprocess::new().with_fit(Fit::Letterbox { pad: [0, 0, 0] });
    let _ = how.tensor(&image, &info, &[1, 8, 8, 3]);
}

/// Load the bytes as a model on every backend that reads their format, and run what loads on
/// seeded inputs. The backends' libraries come from `EDGERUN_TFLITE_LIB`, `EDGERUN_LITERT_LIB`
/// and `EDGERUN_ORT_LIB`; a backend whose library is missing is skipped. NNEF archives go
/// through a file (they are read from paths only).
#[cfg(feature = "models")]
pub fn load_run(data: &[u8]) {
    load_run_on(data, &backends());
}

/// The backends `load_run` tries: `$EDGERUN_FUZZ_BACKEND` (names separated by commas), so
/// that one engine is fuzzed at a time, else all four.
#[cfg(feature = "models")]
pub fn backends() -> Vec<String> {
    match std::env::var("EDGERUN_FUZZ_BACKEND") {
        Ok(list) if !list.is_empty() => list.split(',').map(String::from).collect(),
        _ => ["tract", "ort", "litert", "tflite"]
            .map(String::from)
            .to_vec(),
    }
}

/// The real models `load_run_structured` mutates: the `.tflite` and `.onnx` files of the
/// directory `$EDGERUN_FUZZ_MODELS` (the fuzzing script fills it with the bundled and fetched
/// models), else the bundled ones; read once, in name order.
#[cfg(feature = "models")]
pub fn seed_models() -> &'static [(String, Vec<u8>, mutate::Format)] {
    static MODELS: std::sync::OnceLock<Vec<(String, Vec<u8>, mutate::Format)>> =
        std::sync::OnceLock::new();
    MODELS.get_or_init(|| {
        let dir = std::env::var_os("EDGERUN_FUZZ_MODELS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../../models").into());
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        paths.sort();
        paths
            .into_iter()
            .filter_map(|p| {
                let bytes = std::fs::read(&p).ok()?;
                let format = mutate::Format::of(&bytes)?;
                // the two files made to be refused are no starting point, nor a file none of
                // the backends fuzzed reads
                let name = p.file_name()?.to_string_lossy().into_owned();
                let reads = |b: &str| match format {
                    mutate::Format::Tflite => matches!(b, "tract" | "litert" | "tflite"),
                    mutate::Format::Onnx => matches!(b, "tract" | "ort"),
                };
                (!name.starts_with("huge_") && backends().iter().any(|b| reads(b)))
                    .then_some((name, bytes, format))
            })
            .collect()
    })
}

/// Structure-aware fuzzing of the engines: the first byte picks one of [`seed_models`], each
/// following 8 bytes seed one structure-aware mutation of it (`mutate::steps_of`, at most 8),
/// and the mutant is loaded and run as in [`load_run`]. The fuzzer changes the steps, so a
/// mutation that reached new code is kept and others are tried beside it.
#[cfg(feature = "models")]
pub fn load_run_structured(data: &[u8]) {
    let models = seed_models();
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if models.is_empty() {
        return;
    }
    let (_, original, format) = &models[pick as usize % models.len()];
    let steps = program_steps(rest);
    if let Some(m) = mutate::steps_of(*format, original, &steps) {
        load_run_on(&m.bytes, &backends());
    }
}

/// The mutation seeds of a `load_run_structured` input after its first byte: little-endian
/// words of 8 bytes (the last one padded with zeros), at most 8.
pub fn program_steps(rest: &[u8]) -> Vec<u64> {
    rest.chunks(8)
        .take(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect()
}

/// Load a mutant through `rt` and run it once on the dispatcher's measuring inputs (open
/// dimensions as 1): what the mutant tools do with each mutant.
#[cfg(feature = "models")]
pub fn load_and_run(rt: &edgerun::Runtime, label: &str, bytes: Vec<u8>) -> edgerun::Result<()> {
    let loaded = rt.load_bytes(label, bytes)?;
    let inputs = loaded
        .inputs()
        .iter()
        .map(|info| {
            let shape: Vec<usize> = info.shape.iter().map(|d| d.fixed().unwrap_or(1)).collect();
            edgerun::fill::measuring(info, &shape, 1)
        })
        .collect::<edgerun::Result<Vec<_>>>()?;
    loaded.session()?.run(&inputs).map(|_| ())
}

/// `load_run` on the given backends.
#[cfg(feature = "models")]
pub fn load_run_on(data: &[u8], backends: &[String]) {
    limit();
    for backend in backends {
        let rt = edgerun::Runtime::new()
            .with_backend(backend)
            .with_threads(1)
            .with_cache(edgerun::CacheSetting::Off);
        let loaded = if is_archive(data) {
            let path =
                std::env::temp_dir().join(format!("edgerun-fuzz-{}.tar", std::process::id()));
            if std::fs::write(&path, data).is_err() {
                return;
            }
            let m = rt.load(&path);
            let _ = std::fs::remove_file(&path);
            m
        } else {
            rt.load_bytes("fuzz", data.to_vec())
        };
        let Ok(model) = loaded else {
            continue;
        };
        let inputs: Result<Vec<_>, _> = model
            .inputs()
            .iter()
            .map(|info| {
                let shape: Vec<usize> = info.shape.iter().map(|d| d.fixed().unwrap_or(1)).collect();
                edgerun::fill::random(info, &shape, 1)
            })
            .collect();
        if let (Ok(inputs), Ok(mut session)) = (inputs, model.session()) {
            let _ = session.run(&inputs);
        }
    }
}

/// A tar archive (`ustar` at 257) or gzip stream: how NNEF models come as one file.
#[cfg(feature = "models")]
fn is_archive(data: &[u8]) -> bool {
    data.get(257..262) == Some(b"ustar") || data.starts_with(&[0x1f, 0x8b])
}
