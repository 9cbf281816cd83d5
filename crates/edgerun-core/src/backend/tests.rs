use super::*;

fn info(name: &str, shape: Vec<Dim>) -> TensorInfo {
    TensorInfo {
        name: name.into(),
        dtype: DType::F32,
        shape,
        quant: None,
    }
}

#[test]
fn checks_count_dtype_shape() {
    let infos = vec![info(
        "x",
        vec![Dim::Dynamic(Some("N".into())), Dim::Fixed(3)],
    )];
    let ok = Tensor::zeros(DType::F32, vec![5, 3]).unwrap();
    assert!(check_inputs(&infos, &[ok.view()]).is_ok());
    assert!(matches!(
        check_inputs(&infos, &[]),
        Err(Error::InputCount {
            expected: 1,
            found: 0,
            ..
        })
    ));
    let i8t = Tensor::zeros(DType::I8, vec![5, 3]).unwrap();
    assert!(matches!(
        check_inputs(&infos, &[i8t.view()]),
        Err(Error::InputDType { .. })
    ));
    let bad = Tensor::zeros(DType::F32, vec![5, 4]).unwrap();
    let err = check_inputs(&infos, &[bad.view()]).unwrap_err();
    assert!(
        err.to_string().contains("[N,3]") && err.to_string().contains("[5,4]"),
        "{err}"
    );
}

#[test]
fn orders_named_inputs() {
    let infos = vec![
        info("a", vec![Dim::Fixed(1)]),
        info("b", vec![Dim::Fixed(1)]),
    ];
    let a = Tensor::from_vec(vec![1], vec![1.0f32]).unwrap();
    let b = Tensor::from_vec(vec![1], vec![2.0f32]).unwrap();
    let named = [("b", &b), ("a", &a)];
    let mut ordered = Vec::new();
    order_inputs(&infos, &named, &mut ordered).unwrap();
    assert_eq!(ordered, vec![a.view(), b.view()]);
    let err = order_inputs(&infos, &[("c", &a)], &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("\"a\", \"b\""), "{err}");
    let err = order_inputs(&infos, &[("a", &a)], &mut Vec::new()).unwrap_err();
    assert!(err.to_string().contains("missing \"b\""), "{err}");
    assert!(matches!(
        order_inputs(&infos, &[("a", &a), ("a", &a)], &mut Vec::new()),
        Err(Error::DuplicateInput { .. })
    ));
}

#[test]
fn a_shared_symbol_takes_one_size() {
    let n = || Dim::Dynamic(Some("N".into()));
    let infos = vec![info("a", vec![n(), Dim::Fixed(2)]), info("b", vec![n()])];
    let a = Tensor::zeros(DType::F32, vec![3, 2]).unwrap();
    let b3 = Tensor::zeros(DType::F32, vec![3]).unwrap();
    let b4 = Tensor::zeros(DType::F32, vec![4]).unwrap();
    assert!(check_inputs(&infos, &[a.view(), b3.view()]).is_ok());
    let e = check_inputs(&infos, &[a.view(), b4.view()]).unwrap_err();
    assert!(
        matches!(
            &e,
            Error::SymbolClash {
                first_size: 3,
                second_size: 4,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("\"a\" and \"b\""), "{e}");
}

#[test]
fn resolve_shape_prefers_the_option_and_names_a_missing_dim() {
    let i = info("x", vec![Dim::Fixed(1), Dim::Dynamic(Some("T".into()))]);
    let e = Options::new().resolve_shape("tract", &i).unwrap_err();
    assert!(
        matches!(&e, Error::MissingInputShape { dim: 1, symbol, .. } if symbol == "symbol T"),
        "{e:?}"
    );
    assert_eq!(
        Options::new()
            .with_input_shape("x", vec![1, 7])
            .resolve_shape("tract", &i)
            .unwrap(),
        vec![1, 7]
    );
    let fixed = info("y", vec![Dim::Fixed(2), Dim::Fixed(3)]);
    assert_eq!(
        Options::new().resolve_shape("tract", &fixed).unwrap(),
        vec![2, 3]
    );
}

#[test]
fn shape_options_are_checked() {
    let infos = vec![info("x", vec![Dim::Dynamic(None), Dim::Fixed(3)])];
    assert!(Options::new()
        .with_input_shape("x", vec![2, 3])
        .check_input_shapes(&infos)
        .is_ok());
    let e = Options::new()
        .with_input_shape("y", vec![2, 3])
        .check_input_shapes(&infos)
        .unwrap_err();
    assert!(matches!(e, Error::UnknownShapeOption { .. }));
    let e = Options::new()
        .with_input_shape("x", vec![2, 4])
        .check_input_shapes(&infos)
        .unwrap_err();
    assert!(matches!(e, Error::InputShapeOption { .. }));
    let e = Options::new()
        .with_input_shape("x", vec![2])
        .check_input_shapes(&infos)
        .unwrap_err();
    assert!(e.to_string().contains("rank 1"), "{e}");
    let o = Options::new()
        .with_input_shape("x", vec![1, 3])
        .with_input_shape("x", vec![4, 3]);
    assert_eq!(o.input_shape("x"), Some(&[4usize, 3][..]));
}
