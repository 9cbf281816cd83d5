//! Environment + model + compiled model + buffers, created, run and destroyed many times:
//! resident memory stays flat, within a third of what a 4 KiB-per-cycle leak adds
//! (`edgerun_testkit::assert_flat_rss`, which proves the bound catches that leak).
//! `EDGERUN_LEAK_CYCLES` changes the count (600 by default; resident memory settles within the first 120).

use edgerun_core::{Backend, ModelSource, Options, Tensor};
use edgerun_litert::LiteRtBackend;
use edgerun_testkit as kit;

#[test]
fn create_run_destroy_cycles_do_not_leak() {
    let bytes: std::sync::Arc<[u8]> =
        std::fs::read(kit::model("fetched/face_detection_front.tflite"))
            .unwrap()
            .into();
    let input = Tensor::zeros(edgerun_core::DType::F32, vec![1, 128, 128, 3]).unwrap();
    let b = LiteRtBackend::new().with_library(kit::litert_lib());
    kit::assert_flat_rss("create_run_destroy_cycles_do_not_leak", 600, 4, || {
        let source = ModelSource::from_bytes("blazeface", bytes.clone()).unwrap();
        let prepared = b.prepare(&source, &Options::new()).unwrap();
        let out = prepared.session().unwrap().run_tensors(&[&input]).unwrap();
        assert_eq!(out[0].shape(), &[1, 896, 16]);
    });
}
