use super::*;

fn len_field(field: u64, body: &[u8]) -> Vec<u8> {
    let mut v = vec![((field << 3) | LEN) as u8, body.len() as u8];
    v.extend_from_slice(body);
    v
}

#[test]
fn finds_a_node_by_op_type_and_survives_garbage() {
    let relu = [len_field(NODE_NAME, b"r"), len_field(NODE_OP_TYPE, b"Relu")].concat();
    let odd = [
        len_field(NODE_OP_TYPE, b"Odd"),
        len_field(NODE_NAME, b"odd_1"),
    ]
    .concat();
    let graph = [len_field(GRAPH_NODE, &relu), len_field(GRAPH_NODE, &odd)].concat();
    // a varint field first (ir_version = 8), then the graph
    let model = [vec![0x08, 8], len_field(MODEL_GRAPH, &graph)].concat();
    assert_eq!(node_with_op(&model, "Odd").as_deref(), Some("odd_1"));
    assert_eq!(node_with_op(&model, "Relu").as_deref(), Some("r"));
    assert_eq!(node_with_op(&model, "Conv"), None);
    for cut in 0..model.len() {
        let _ = node_with_op(&model[..cut], "Odd");
    }
    assert_eq!(node_with_op(&[0xff; 16], "Odd"), None);
}

fn varint_bytes(mut v: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// A length-delimited field of any length.
fn field(number: u64, body: &[u8]) -> Vec<u8> {
    [
        varint_bytes((number << 3) | LEN),
        varint_bytes(body.len() as u64),
        body.to_vec(),
    ]
    .concat()
}

fn varint_field(number: u64, v: u64) -> Vec<u8> {
    [varint_bytes(number << 3), varint_bytes(v)].concat()
}

/// A TensorProto: dims (unpacked, or packed), FLOAT, a name, raw data of `raw` bytes.
fn tensor_proto(dims: &[i64], packed: bool, raw: Option<usize>) -> Vec<u8> {
    let mut t = Vec::new();
    if packed {
        let body: Vec<u8> = dims.iter().flat_map(|&d| varint_bytes(d as u64)).collect();
        t.extend(field(TENSOR_DIMS, &body));
    } else {
        for &d in dims {
            t.extend(varint_field(TENSOR_DIMS, d as u64));
        }
    }
    t.extend(varint_field(TENSOR_DATA_TYPE, 1));
    t.extend(field(TENSOR_NAME, b"w"));
    if let Some(n) = raw {
        t.extend(field(TENSOR_RAW_DATA, &vec![0u8; n]));
    }
    t
}

fn model_with(graph: &[u8]) -> Vec<u8> {
    [varint_field(1, 8), field(MODEL_GRAPH, graph)].concat()
}

fn checked(model: &[u8]) -> Result<()> {
    check("tract", Path::new("m.onnx"), model)
}

#[test]
fn initializers_are_checked_for_size_and_data_length() {
    for packed in [false, true] {
        let ok = model_with(&field(
            GRAPH_INITIALIZER,
            &tensor_proto(&[2, 3], packed, Some(24)),
        ));
        checked(&ok).unwrap();
        let short = model_with(&field(
            GRAPH_INITIALIZER,
            &tensor_proto(&[2, 3], packed, Some(20)),
        ));
        let e = checked(&short).unwrap_err();
        assert_eq!(e.kind(), edgerun_core::ErrorKind::InvalidModel);
        assert!(
            e.to_string()
                .contains("initializer \"w\" of shape [2,3] needs 24 bytes of data but holds 20"),
            "{e}"
        );
    }
    let huge = model_with(&field(
        GRAPH_INITIALIZER,
        &tensor_proto(&[100_000_000_000, 16], false, None),
    ));
    let e = checked(&huge).unwrap_err();
    assert!(matches!(e, Error::TooLarge { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(
            "initializer \"w\" of shape [100000000000,16], declared by the model, needs 6.4 TB"
        ),
        "{e}"
    );
    let negative = model_with(&field(
        GRAPH_INITIALIZER,
        &tensor_proto(&[2, -1], false, None),
    ));
    assert!(checked(&negative)
        .unwrap_err()
        .to_string()
        .contains("initializer \"w\" has negative dimension -1"));
    // what does not decode is refused, whatever the runtime's parser would skip
    let e = checked(&[0xff; 32]).unwrap_err();
    assert!(
        e.to_string().contains("a field key that does not decode"),
        "{e}"
    );
    let group = [model_with(&[]), vec![(3 << 3) | 3]].concat();
    let e = checked(&group).unwrap_err();
    assert!(
        e.to_string()
            .contains("wire type 3, which ONNX files do not use"),
        "{e}"
    );
    for cut in 0..short_model().len() {
        assert!(checked(&short_model()[..cut]).is_err() || cut == 0 || cut == 2);
    }
    // a shape with a 0 still has its other dimensions checked
    let zero = model_with(&field(
        GRAPH_INITIALIZER,
        &tensor_proto(&[0, i64::MAX, i64::MAX, 4], false, Some(0)),
    ));
    assert!(matches!(
        checked(&zero).unwrap_err(),
        Error::TooLarge { .. }
    ));
    let empty = model_with(&field(
        GRAPH_INITIALIZER,
        &tensor_proto(&[0, 7], false, Some(0)),
    ));
    checked(&empty).unwrap();
}

fn short_model() -> Vec<u8> {
    model_with(&field(
        GRAPH_INITIALIZER,
        &tensor_proto(&[2, 3], false, Some(20)),
    ))
}

#[test]
fn copies_the_runtime_would_merge_are_refused_and_sparse_and_function_tensors_checked() {
    let ok = field(GRAPH_INITIALIZER, &tensor_proto(&[2], false, Some(8)));
    let two_graphs = [model_with(&ok), field(MODEL_GRAPH, &ok)].concat();
    let e = checked(&two_graphs).unwrap_err();
    assert!(e.to_string().contains("the graph is given 2 times"), "{e}");
    let t = field(ATTRIBUTE_T, &tensor_proto(&[2], false, Some(8)));
    let twice = field(GRAPH_NODE, &field(NODE_ATTRIBUTE, &[t.clone(), t].concat()));
    let e = checked(&model_with(&twice)).unwrap_err();
    assert!(
        e.to_string()
            .contains("an attribute's tensor is given 2 times"),
        "{e}"
    );

    // a sparse initializer whose dense shape is 6.4 TB of floats
    let values = field(SPARSE_VALUES, &tensor_proto(&[1], false, Some(4)));
    let dense: Vec<u8> = [100_000_000_000u64, 16]
        .iter()
        .flat_map(|&d| varint_field(SPARSE_DIMS, d))
        .collect();
    let sp = field(GRAPH_SPARSE_INITIALIZER, &[values, dense].concat());
    let e = checked(&model_with(&sp)).unwrap_err();
    assert!(
        e.to_string().starts_with(
            "sparse initializer (dense) of shape [100000000000,16], declared by the model, needs 6.4 TB"
        ),
        "{e}"
    );

    // a constant inside a function's node
    let constant = field(
        NODE_ATTRIBUTE,
        &field(ATTRIBUTE_T, &tensor_proto(&[3], false, Some(4))),
    );
    let function = field(MODEL_FUNCTIONS, &field(FUNCTION_NODE, &constant));
    let model = [model_with(&[]), function].concat();
    let e = checked(&model).unwrap_err();
    assert!(
        e.to_string()
            .contains("constant \"w\" of shape [3] needs 12 bytes"),
        "{e}"
    );
}

#[test]
fn constants_in_nested_graphs_are_checked_and_nesting_is_bounded() {
    // a node whose attribute is a graph (an If branch) holding a Constant node whose
    // attribute is a tensor with too little data
    let constant = field(
        GRAPH_NODE,
        &field(
            NODE_ATTRIBUTE,
            &field(ATTRIBUTE_T, &tensor_proto(&[4], false, Some(12))),
        ),
    );
    let branch = field(
        GRAPH_NODE,
        &field(NODE_ATTRIBUTE, &field(ATTRIBUTE_G, &constant)),
    );
    let e = checked(&model_with(&branch)).unwrap_err();
    assert!(
        e.to_string()
            .contains("constant \"w\" of shape [4] needs 16 bytes of data but holds 12"),
        "{e}"
    );
    let mut graph = Vec::new();
    for _ in 0..100 {
        graph = field(
            GRAPH_NODE,
            &field(NODE_ATTRIBUTE, &field(ATTRIBUTE_G, &graph)),
        );
    }
    let e = checked(&model_with(&graph)).unwrap_err();
    assert!(
        e.to_string().contains("graphs nest more than 64 deep"),
        "{e}"
    );
}
