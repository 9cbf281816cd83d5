//! Per-node timings from ONNX Runtime's run-level profiler (ONNX Runtime 1.25 and later), on
//! the bundled MobileNetV2: every node is timed, under the names the model gives them, and
//! profiling changes no output.

use std::collections::BTreeSet;

use edgerun_core::{Backend, OpTiming, Options, Session, Tensor, Tolerance};
use edgerun_ort::{Optimization, OrtBackend};
use edgerun_testkit as kit;

/// Two profiled runs (the second must find its own events, not the first's), checked against
/// the reference outputs; the second run's timings.
fn profiled(optimization: Optimization) -> Vec<OpTiming> {
    let c = kit::case("mobilenetv2_mini");
    let source = edgerun_core::ModelSource::open(&c.model).unwrap();
    let prepared = OrtBackend::new()
        .with_library(kit::ort_lib())
        .with_optimization(optimization)
        .prepare(&source, &Options::new().with_threads(1))
        .unwrap();
    let mut session: Box<dyn Session> = prepared.session().unwrap();
    session.profiling().unwrap();
    let views: Vec<_> = c.inputs.iter().map(Tensor::view).collect();
    let mut timings = Vec::new();
    for _ in 0..2 {
        let mut outputs = Vec::new();
        timings.clear();
        session
            .run(&views, &mut outputs, Some(&mut timings))
            .unwrap();
        Tolerance::new(1e-4, 1e-3)
            .check(&outputs[0], &c.outputs[0])
            .unwrap();
    }
    let indices: Vec<usize> = timings.iter().map(|t| t.index).collect();
    assert_eq!(indices, (0..timings.len()).collect::<Vec<_>>());
    timings
}

fn graph() -> edgerun_formats::onnx::Graph {
    edgerun_formats::onnx::Graph::read(&std::fs::read(kit::model("mobilenetv2_mini.onnx")).unwrap())
}

fn model_nodes() -> BTreeSet<(String, String)> {
    graph()
        .nodes
        .into_iter()
        .map(|n| (n.name, n.op_type))
        .collect()
}

#[test]
fn without_graph_optimizations_each_node_of_the_model_is_timed_once() {
    let timings = profiled(Optimization::Disable);
    let seen: Vec<(String, String)> = timings
        .iter()
        .map(|t| (t.name.clone(), t.op_type.clone()))
        .collect();
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a node timed twice");
    assert_eq!(unique, model_nodes());
}

#[test]
fn optimized_graphs_are_timed_as_onnx_runtime_runs_them() {
    // ONNX Runtime fuses each Conv with its Clip and lays convolutions out in blocks of
    // channels: a node it rewrites that way is named after the model's value it computes
    // (`relu6_97_nchwc` for the Conv and Clip that compute `relu6_97`), and the nodes it adds to
    // reorder the layout are `ReorderInput...`, `ReorderOutput...`; the rest keep the model's names
    let timings = profiled(Optimization::All);
    let g = graph();
    let nodes: BTreeSet<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
    let values: BTreeSet<&str> = g
        .nodes
        .iter()
        .flat_map(|n| n.outputs.iter().map(String::as_str))
        .collect();
    for t in &timings {
        let known = match t.name.strip_suffix("_nchwc") {
            Some(value) => values.contains(value),
            None => nodes.contains(t.name.as_str()) || t.name.starts_with("Reorder"),
        };
        assert!(known, "{t:?} is no node of the model");
    }
    let types: BTreeSet<&str> = timings.iter().map(|t| t.op_type.as_str()).collect();
    assert!(
        types.contains("Conv") && types.contains("Gemm"),
        "{types:?}"
    );
    assert!(timings.len() < model_nodes().len(), "nothing was fused");
}
