//! ONNX Runtime session + input views + outputs, created, run and destroyed many times:
//! resident memory stays flat. Even with one malloc arena (`edgerun_testkit::assert_flat_rss`
//! runs the check that way) ONNX Runtime's own arena makes resident memory settle only after
//! some cycles and then swing around that level, so the bound is a third of what a 16 KiB-per-
//! cycle leak adds (and the helper proves the bound catches that leak). A smaller leak shows
//! with more cycles (`EDGERUN_LEAK_CYCLES`, 400 by default).

use edgerun_core::{Backend, ModelSource, Options, Tensor};
use edgerun_ort::OrtBackend;
use edgerun_testkit as kit;

#[test]
fn create_run_destroy_cycles_do_not_leak() {
    let bytes: std::sync::Arc<[u8]> =
        std::fs::read(kit::model("fetched/ch_ppocr_mobile_v2.0_cls_infer.onnx"))
            .unwrap()
            .into();
    let input = Tensor::zeros(edgerun_core::DType::F32, vec![1, 3, 48, 192]).unwrap();
    let b = OrtBackend::new().with_library(kit::ort_lib());
    kit::assert_flat_rss("create_run_destroy_cycles_do_not_leak", 400, 16, || {
        let source = ModelSource::from_bytes("ppocr_cls.onnx", bytes.clone()).unwrap();
        let prepared = b.prepare(&source, &Options::new()).unwrap();
        let out = prepared.session().unwrap().run_tensors(&[&input]).unwrap();
        assert_eq!(out[0].shape(), &[1, 2]);
    });
}
