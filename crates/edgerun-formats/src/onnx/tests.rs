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

/// A NodeProto: op type, name, inputs, and attributes given as encoded AttributeProtos.
fn node_proto(op: &str, name: &str, inputs: &[&str], attributes: &[Vec<u8>]) -> Vec<u8> {
    let mut n = Vec::new();
    for i in inputs {
        n.extend(field(1, i.as_bytes()));
    }
    n.extend(field(2, format!("{name}_out").as_bytes()));
    n.extend(field(NODE_NAME, name.as_bytes()));
    n.extend(field(NODE_OP_TYPE, op.as_bytes()));
    for a in attributes {
        n.extend(field(NODE_ATTRIBUTE, a));
    }
    n
}

fn string_attribute(name: &str, value: &str) -> Vec<u8> {
    [field(1, name.as_bytes()), field(4, value.as_bytes())].concat()
}

fn float_attribute(name: &str, value: f32) -> Vec<u8> {
    [
        field(1, name.as_bytes()),
        vec![(2 << 3) | 5],
        value.to_le_bytes().to_vec(),
    ]
    .concat()
}

/// A graph input declared with an element type.
fn typed_input(name: &str, elem: u64) -> Vec<u8> {
    let tensor_type = varint_field(1, elem);
    let ty = field(1, &tensor_type);
    field(11, &[field(1, name.as_bytes()), field(2, &ty)].concat())
}

/// A FLOAT initializer with these values, raw.
fn float_initializer(name: &str, values: &[f32]) -> Vec<u8> {
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let t = [
        varint_field(TENSOR_DIMS, values.len() as u64),
        varint_field(TENSOR_DATA_TYPE, 1),
        field(TENSOR_NAME, name.as_bytes()),
        field(TENSOR_RAW_DATA, &raw),
    ]
    .concat();
    field(GRAPH_INITIALIZER, &t)
}

fn one_node_model(node: Vec<u8>, rest: &[Vec<u8>], opset: u64) -> Vec<u8> {
    let graph = [vec![field(GRAPH_NODE, &node)], rest.to_vec()]
        .concat()
        .concat();
    let opset = field(8, &[field(1, b""), varint_field(2, opset)].concat());
    [varint_field(1, 8), opset, field(MODEL_GRAPH, &graph)].concat()
}

#[test]
fn nodes_attributes_types_and_constants_are_read() {
    let node = node_proto(
        "Resize",
        "up",
        &["x", "", "scales"],
        &[
            string_attribute("mode", "linear"),
            [field(1, b"axes"), varint_field(8, 2), varint_field(8, 3)].concat(),
            float_attribute("cubic_coeff_a", -0.5),
        ],
    );
    let model = one_node_model(
        node,
        &[
            typed_input("x", 10),
            float_initializer("scales", &[1.0, 1.0, 2.0, 2.0]),
        ],
        19,
    );
    let g = Graph::read(&model);
    assert_eq!(g.opset, 19);
    let n = &g.nodes[0];
    assert!(n.is("Resize"));
    assert_eq!(n.inputs, ["x", "", "scales"]);
    assert!(n.has_input(0) && !n.has_input(1) && n.has_input(2) && !n.has_input(3));
    assert_eq!(n.string("mode"), Some("linear"));
    assert_eq!(n.ints("axes"), Some(&[2, 3][..]));
    assert_eq!(n.attributes, ["mode", "axes", "cubic_coeff_a"]);
    assert_eq!(g.type_of("x"), Some(10));
    assert_eq!(g.values_of("scales"), Some(&[1.0, 1.0, 2.0, 2.0][..]));
    assert_eq!(g.shapes["scales"], [Some(4)]);
    // whatever the bytes, reading ends without a panic
    for cut in 0..model.len() {
        let _ = Graph::read(&model[..cut]);
    }
}

#[test]
fn known_faults_name_the_node_and_spare_what_the_engine_gets_right() {
    let fault = |engine, node: Vec<u8>, rest: &[Vec<u8>]| {
        known_fault(engine, &one_node_model(node, rest, 22)).map(|f| f.op)
    };
    let lstm = |dir: &str| {
        node_proto(
            "LSTM",
            "l",
            &["x", "w", "r"],
            &[string_attribute("direction", dir)],
        )
    };
    assert_eq!(
        fault(Engine::Tract, lstm("reverse"), &[]).as_deref(),
        Some("LSTM")
    );
    assert_eq!(fault(Engine::Tract, lstm("forward"), &[]), None);
    assert_eq!(fault(Engine::OnnxRuntime, lstm("reverse"), &[]), None);
    let s2d = |mode: &str| {
        node_proto(
            "SpaceToDepth",
            "s",
            &["x"],
            &[string_attribute("mode", mode)],
        )
    };
    assert!(fault(Engine::Tract, s2d("CRD"), &[]).is_some());
    assert!(fault(Engine::Tract, s2d("DCR"), &[]).is_none());
    // BitShift: signed inputs only
    let shift = || {
        node_proto(
            "BitShift",
            "b",
            &["x", "y"],
            &[string_attribute("direction", "RIGHT")],
        )
    };
    assert!(fault(Engine::Tract, shift(), &[typed_input("x", 3)]).is_some());
    assert!(fault(Engine::Tract, shift(), &[typed_input("x", 2)]).is_none());
    // Celu on float16 only
    let celu = || node_proto("Celu", "c", &["x"], &[]);
    assert!(fault(Engine::Tract, celu(), &[typed_input("x", 10)]).is_some());
    assert!(fault(Engine::Tract, celu(), &[typed_input("x", 1)]).is_none());
    // Swish with an alpha
    let swish = node_proto("Swish", "w", &["x"], &[float_attribute("alpha", 0.5)]);
    assert!(fault(Engine::Tract, swish, &[]).is_some());
    assert!(fault(Engine::Tract, node_proto("Swish", "w", &["x"], &[]), &[]).is_none());
    // a ReduceMax compared with an infinity (through a Cast): the finite stand-in changes it
    let max = node_proto("ReduceMax", "m", &["x"], &[]);
    let cast = node_proto("Cast", "c", &["inf"], &[]);
    let equal = node_proto("Equal", "e", &["m_out", "c_out"], &[]);
    let masked = |inf: f32| {
        let graph = [
            field(GRAPH_NODE, &max),
            field(GRAPH_NODE, &cast),
            field(GRAPH_NODE, &equal),
            float_initializer("inf", &[inf]),
        ]
        .concat();
        known_fault(Engine::Tract, &model_with(&graph)).map(|f| f.node)
    };
    assert_eq!(masked(f32::NEG_INFINITY).as_deref(), Some("m"));
    assert_eq!(masked(-1e9), None);
    // a ReduceMax alone, with an infinity elsewhere, is not the fault
    let alone = [
        field(GRAPH_NODE, &max),
        float_initializer("inf", &[f32::NEG_INFINITY]),
    ]
    .concat();
    assert_eq!(known_fault(Engine::Tract, &model_with(&alone)), None);
    // ONNX Runtime: MaxUnpool with an output shape
    let unpool = |inputs: &[&str]| node_proto("MaxUnpool", "u", inputs, &[]);
    assert!(fault(Engine::OnnxRuntime, unpool(&["x", "i", "shape"]), &[]).is_some());
    assert!(fault(Engine::OnnxRuntime, unpool(&["x", "i"]), &[]).is_none());
    assert!(fault(Engine::Tract, unpool(&["x", "i", "shape"]), &[]).is_none());
    // Resize with align_corners: refused unless constant scales show it upsamples
    let resize = |mode: &str| {
        node_proto(
            "Resize",
            "r",
            &["x", "", "scales"],
            &[
                string_attribute("coordinate_transformation_mode", "align_corners"),
                string_attribute("mode", mode),
            ],
        )
    };
    let up = float_initializer("scales", &[1.0, 1.0, 2.0, 2.0]);
    let down = float_initializer("scales", &[1.0, 1.0, 0.5, 0.5]);
    assert!(fault(
        Engine::OnnxRuntime,
        resize("linear"),
        std::slice::from_ref(&up)
    )
    .is_none());
    assert!(fault(
        Engine::OnnxRuntime,
        resize("linear"),
        std::slice::from_ref(&down)
    )
    .is_some());
    assert!(
        fault(Engine::OnnxRuntime, resize("cubic"), &[]).is_some(),
        "scales unknown"
    );
    assert!(fault(Engine::OnnxRuntime, resize("nearest"), &[down]).is_none());
    // the refusal is an unsupported op naming the node and the setting
    let e = refuse_known_fault(
        "ort",
        Engine::OnnxRuntime,
        "ort_known_faults",
        &one_node_model(unpool(&["x", "i", "shape"]), &[], 22),
    )
    .unwrap_err();
    assert_eq!(e.kind(), edgerun_core::ErrorKind::Unsupported);
    let text = e.to_string();
    assert!(
        text.contains("op MaxUnpool (node \"u\")") && text.contains("ort_known_faults=allow"),
        "{text}"
    );
}

fn ints_attribute(name: &str, values: &[i64]) -> Vec<u8> {
    let mut a = field(1, name.as_bytes());
    for &v in values {
        a.extend(varint_field(8, v as u64));
    }
    a
}

fn int_attribute(name: &str, value: i64) -> Vec<u8> {
    [field(1, name.as_bytes()), varint_field(3, value as u64)].concat()
}

/// A graph input declared with an element type and a shape.
fn shaped_input(name: &str, elem: u64, dims: &[u64]) -> Vec<u8> {
    let shape: Vec<u8> = dims
        .iter()
        .flat_map(|&d| field(1, &varint_field(1, d)))
        .collect();
    let tensor_type = [varint_field(1, elem), field(2, &shape)].concat();
    let ty = field(1, &tensor_type);
    field(11, &[field(1, name.as_bytes()), field(2, &ty)].concat())
}

/// An INT64 initializer, raw.
fn int_initializer(name: &str, values: &[i64]) -> Vec<u8> {
    let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let t = [
        varint_field(TENSOR_DIMS, values.len() as u64),
        varint_field(TENSOR_DATA_TYPE, 7),
        field(TENSOR_NAME, name.as_bytes()),
        field(TENSOR_RAW_DATA, &raw),
    ]
    .concat();
    field(GRAPH_INITIALIZER, &t)
}

#[test]
fn attribute_values_that_end_an_engine_are_refused_and_valid_ones_pass() {
    let refused = |node: Vec<u8>, rest: &[Vec<u8>]| {
        let model = one_node_model(node, rest, 17);
        let fault = attribute_fault(&model);
        // the same through the whole check, as the backends call it
        assert_eq!(fault.is_some(), checked(&model).is_err(), "{fault:?}");
        fault
    };
    let conv = |attrs: &[Vec<u8>]| node_proto("ConvTranspose", "c", &["x", "w"], attrs);
    let why = refused(conv(&[int_attribute("group", 0)]), &[]).unwrap();
    assert!(
        why.starts_with("node \"c\" (ConvTranspose): group 0"),
        "{why}"
    );
    assert!(refused(
        conv(&[
            int_attribute("group", 2),
            ints_attribute("pads", &[1, 1, 1, 1])
        ]),
        &[]
    )
    .is_none());
    assert!(refused(conv(&[ints_attribute("pads", &[10_000, 0, 0, 0])]), &[]).is_some());
    assert!(refused(conv(&[ints_attribute("strides", &[0, 1])]), &[]).is_some());
    // pools need a kernel size per spatial dimension
    assert!(refused(node_proto("MaxPool", "p", &["x"], &[]), &[]).is_some());
    assert!(refused(
        node_proto(
            "MaxPool",
            "p",
            &["x"],
            &[ints_attribute("kernel_shape", &[])]
        ),
        &[]
    )
    .is_some());
    assert!(refused(
        node_proto(
            "MaxPool",
            "p",
            &["x"],
            &[ints_attribute("kernel_shape", &[2, 2])]
        ),
        &[]
    )
    .is_none());
    // block sizes, batch dims, permutations
    let d2s = |b: i64| {
        node_proto(
            "DepthToSpace",
            "d",
            &["x"],
            &[int_attribute("blocksize", b)],
        )
    };
    assert!(refused(d2s(1 << 32), &[]).is_some());
    assert!(refused(d2s(0), &[]).is_some());
    assert!(refused(d2s(4), &[]).is_none());
    assert!(refused(
        node_proto(
            "GatherND",
            "g",
            &["x", "i"],
            &[int_attribute("batch_dims", -2)]
        ),
        &[]
    )
    .is_some());
    let transpose =
        |perm: &[i64]| node_proto("Transpose", "t", &["x"], &[ints_attribute("perm", perm)]);
    assert!(refused(transpose(&[0, 0, 1]), &[]).is_some());
    assert!(refused(transpose(&[2, 0, 1]), &[]).is_none());
    assert!(
        refused(transpose(&[1, 0]), &[shaped_input("x", 1, &[2, 3, 4])]).is_some(),
        "rank 3"
    );
    // axes within the declared rank; far beyond any rank when none is declared
    let norm = |a: i64| {
        node_proto(
            "LayerNormalization",
            "n",
            &["x"],
            &[int_attribute("axis", a)],
        )
    };
    assert!(refused(norm(-4), &[shaped_input("x", 1, &[2, 3, 4])]).is_some());
    assert!(refused(norm(-3), &[shaped_input("x", 1, &[2, 3, 4])]).is_none());
    assert!(refused(norm(-4), &[]).is_none());
    assert!(refused(norm(-1000), &[]).is_some());
    let onehot = node_proto("OneHot", "o", &["i", "d", "v"], &[int_attribute("axis", 1)]);
    assert!(
        refused(onehot, &[shaped_input("i", 7, &[5])]).is_none(),
        "OneHot adds a dimension"
    );
    // declared shapes: rank and empty dimensions
    let bn = node_proto("BatchNormalization", "b", &["x", "s", "b", "m", "v"], &[]);
    assert!(refused(bn, &[shaped_input("x", 1, &[4])]).is_some());
    let lstm = node_proto("LSTM", "l", &["x", "w", "r"], &[]);
    assert!(refused(lstm.clone(), &[shaped_input("x", 1, &[3, 0, 4])]).is_some());
    assert!(refused(lstm, &[shaped_input("x", 1, &[3, 1, 4])]).is_none());
    // constants: scales, pads, splits, integer division
    let resize = node_proto("Resize", "r", &["x", "", "scales"], &[]);
    assert!(refused(
        resize.clone(),
        &[float_initializer("scales", &[1.0, 1.0, 1e9, 1e9])]
    )
    .is_some());
    assert!(refused(
        resize,
        &[float_initializer("scales", &[1.0, 1.0, 2.0, 2.0])]
    )
    .is_none());
    let pad = node_proto("Pad", "p", &["x", "pads"], &[]);
    assert!(refused(pad.clone(), &[int_initializer("pads", &[0, 1 << 40])]).is_some());
    assert!(refused(pad, &[int_initializer("pads", &[0, 0, -1, 2])]).is_none());
    let div = node_proto("Div", "v", &["a", "b"], &[]);
    assert!(refused(
        div.clone(),
        &[
            int_initializer("a", &[i64::MIN]),
            int_initializer("b", &[-1])
        ]
    )
    .is_some());
    assert!(refused(div.clone(), &[int_initializer("b", &[0, 2])]).is_some());
    assert!(refused(
        div,
        &[
            int_initializer("a", &[i64::MIN]),
            int_initializer("b", &[2])
        ]
    )
    .is_none());
}
