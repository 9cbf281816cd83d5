//! The fuzz targets of edgerun: each takes arbitrary bytes and feeds them to code that reads
//! untrusted input. A target returns normally whatever the bytes are; an error from the code
//! under test is a correct outcome, a panic or a crash is a bug.
//!
//! `afl/` wraps each target in an AFL++ program (`cargo afl`); the tests of this crate replay
//! the seed corpus and every input that once crashed (`regressions/`) through the same
//! functions. [`TARGETS`] lists them; `README.md` says how to run the fuzzer.

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
    limit();
    for backend in ["tract", "ort", "litert", "tflite"] {
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
