//! XNNPACK's packed weights kept in edgerun's store (`litert_weight_cache`), with the real
//! LiteRT library: the first load packs them and keeps the file, a later load maps it, and a
//! file that changed since it was recorded is removed and built again rather than mapped.
//! `false` keeps nothing; `auto`, the default, keeps them only when the load hashes the model
//! anyway. Outputs match LiteRT's float32 reference every time (tolerance 1e-5 of the largest
//! output: the same engine and kernels, whether the weights were packed now or mapped).

use std::path::{Path, PathBuf};

use edgerun::{CacheSetting, Model, Runtime};
use edgerun_testkit as kit;

fn load(store: &Path) -> Model {
    load_with(store, Some("true"), "litert")
}

/// The bundled MobileNetV2 loaded with `litert_weight_cache` set to `setting` (left at its
/// default when `None`) and the backend selection `selection`.
fn load_with(store: &Path, setting: Option<&str>, selection: &str) -> Model {
    let c = kit::case("mobilenetv2_mini_tflite");
    let mut rt = Runtime::new()
        .configure("litert_lib", kit::litert_lib().to_str().unwrap())
        .unwrap();
    if let Some(setting) = setting {
        rt = rt.configure("litert_weight_cache", setting).unwrap();
    }
    let model = rt
        .with_backend(selection)
        .with_cache(CacheSetting::File(store.join("decisions.json")))
        .load(&c.model)
        .unwrap();
    let out = model.session().unwrap().run(&c.inputs).unwrap();
    let (got, want) = (out[0].to_f32_vec(), c.outputs[0].to_f32_vec());
    let largest = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    for (a, e) in got.iter().zip(&want) {
        assert!((a - e).abs() <= 1e-5 * largest, "{a} against {e}");
    }
    model
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn note(model: &Model, part: &str) -> Option<String> {
    let notes = model.notes();
    notes.into_iter().find(|n| n.contains(part))
}

#[test]
fn packed_weights_are_kept_mapped_and_rebuilt_when_changed() {
    let store = edgerun_testkit::scratch("weight-cache");
    let artifacts = store.join("artifacts");

    let never = load_with(&store, Some("false"), "auto");
    assert!(files(&artifacts).is_empty(), "false keeps nothing");
    assert_eq!(note(&never, "packed weights"), None);
    // by default, a backend named without containment hashes nothing: nothing is kept
    let default = load_with(&store, None, "litert");
    assert!(
        files(&artifacts).is_empty(),
        "kept only when the model is hashed"
    );
    assert_eq!(note(&default, "packed weights"), None);

    let first = load(&store);
    let kept = files(&artifacts);
    assert_eq!(kept.len(), 1, "one file, no build leftovers: {kept:?}");
    assert!(kept[0].to_string_lossy().ends_with(".litert"));
    let n = note(&first, "packed weights kept in").expect("the first load packs");
    assert!(n.contains(&*kept[0].to_string_lossy()), "{n}");
    // XNNPACK's packed copy is larger than nothing and than a header
    let bytes = std::fs::metadata(&kept[0]).unwrap().len();
    assert!(bytes > 100_000, "{bytes} bytes");
    let (_, c) = CacheSetting::File(store.join("decisions.json"))
        .contents()
        .unwrap()
        .unwrap();
    assert_eq!(c.artifacts.len(), 1);
    assert_eq!(c.artifact_bytes, bytes);

    let second = load(&store);
    assert!(
        note(&second, "packed weights read from").is_some(),
        "{:?}",
        second.notes()
    );
    assert_eq!(files(&artifacts), kept);

    // one byte of the packed weights changed on disk: mapping it would give wrong outputs
    let mut data = std::fs::read(&kept[0]).unwrap();
    let middle = data.len() / 2;
    data[middle] ^= 0x40;
    std::fs::write(&kept[0], &data).unwrap();
    let third = load(&store);
    assert!(
        third
            .decision()
            .notes
            .iter()
            .any(|n| n.contains("was rebuilt") && n.contains("CRC-32")),
        "{}",
        third.decision()
    );
    assert!(note(&third, "packed weights kept in").is_some());
    assert_ne!(std::fs::read(&kept[0]).unwrap(), data, "built again");

    drop((never, default, first, second, third));
    // by default, `auto` hashes the model for the decision store: LiteRT's candidate keeps
    // its packed weights
    let store = edgerun_testkit::scratch("weight-cache-auto");
    let artifacts = store.join("artifacts");
    let chosen = load_with(&store, None, "auto");
    let kept = files(&artifacts);
    assert_eq!(kept.len(), 1, "{kept:?}; {}", chosen.decision());
    assert!(kept[0].to_string_lossy().ends_with(".litert"));
    let (_, held) = CacheSetting::File(store.join("decisions.json"))
        .clear()
        .unwrap()
        .unwrap();
    assert_eq!(held.artifacts.len(), 1);
    assert!(files(&artifacts).is_empty());
}
