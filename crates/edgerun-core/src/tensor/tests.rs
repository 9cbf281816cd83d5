use super::*;
use ndarray::{arr2, Array};

#[test]
fn shape_must_match_elements() {
    let err = Tensor::from_vec(vec![2, 3], vec![1.0f32; 5]).unwrap_err();
    assert!(err.to_string().contains("6"), "{err}");
    assert!(Tensor::from_vec(vec![2, 3], vec![1.0f32; 6]).is_ok());
}

#[test]
fn typed_access_checks_dtype() {
    let t = Tensor::from_vec(vec![2], vec![1i8, -2]).unwrap();
    assert_eq!(t.as_slice::<i8>().unwrap(), &[1, -2]);
    let err = t.as_slice::<f32>().unwrap_err();
    assert!(matches!(
        err,
        Error::TensorDType {
            expected: DType::F32,
            found: DType::I8
        }
    ));
}

#[test]
fn ndarray_round_trip_including_non_standard_layout() {
    let a = arr2(&[[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]).into_dyn();
    let t = Tensor::from(a.clone());
    assert_eq!(t.shape(), &[2, 3]);
    assert_eq!(t.to_array::<f32>().unwrap(), a);
    // a transposed view is not in standard layout: elements must come out in logical order
    let tr = a.t().to_owned();
    let t2 = Tensor::from(a.t().as_standard_layout().into_owned());
    assert_eq!(t2.to_array::<f32>().unwrap(), tr);
    let rev = Array::from_shape_vec(IxDyn(&[3, 2]), vec![1.0f32, 4.0, 2.0, 5.0, 3.0, 6.0])
        .unwrap()
        .reversed_axes();
    let t3 = Tensor::from(rev.clone());
    assert_eq!(
        t3.as_slice::<f32>().unwrap(),
        rev.iter().copied().collect::<Vec<_>>()
    );
}

#[test]
fn quantize_dequantize() {
    let t = Tensor::from_vec(vec![4], vec![-1.0f32, 0.0, 0.5, 100.0]).unwrap();
    let q = t.quantize(DType::I8, Quant::new(0.5, -3)).unwrap();
    assert_eq!(q.as_slice::<i8>().unwrap(), &[-5, -3, -2, 127]);
    assert_eq!(q.to_f32_vec(), vec![-1.0, 0.0, 0.5, 65.0]);
    let u = t.quantize(DType::U8, Quant::new(1.0, 128)).unwrap();
    assert_eq!(u.as_slice::<u8>().unwrap(), &[127, 128, 129, 228]);
    assert!(t.quantize(DType::F32, Quant::new(1.0, 0)).is_err());
    assert!(q.quantize(DType::I8, Quant::new(1.0, 0)).is_err());
}

#[test]
fn tolerance_check() {
    let e = Tensor::from_vec(vec![3], vec![1.0f32, 100.0, -2.0]).unwrap();
    let a = Tensor::from_vec(vec![3], vec![1.001f32, 100.05, -2.0]).unwrap();
    let diff = Tolerance::new(0.002, 0.001).check(&a, &e).unwrap();
    assert!((diff - 0.05).abs() < 1e-4, "{diff}");
    let err = Tolerance::new(0.002, 0.0).check(&a, &e).unwrap_err();
    match err {
        Mismatch::Element {
            index,
            actual,
            expected,
            largest,
            ..
        } => {
            assert_eq!((index, actual, expected), (1, 100.05, 100.0));
            assert!((largest - 0.05).abs() < 1e-4, "{largest}");
        }
        e => panic!("{e:?}"),
    }
    let other = Tensor::from_vec(vec![1, 3], vec![1.0f32, 100.0, -2.0]).unwrap();
    assert_eq!(
        Tolerance::new(1.0, 1.0).check(&other, &e).unwrap_err(),
        Mismatch::Shape {
            actual: vec![1, 3],
            expected: vec![3]
        }
    );
    let nan = Tensor::from_vec(vec![3], vec![f32::NAN, 100.0, -2.0]).unwrap();
    assert!(matches!(
        Tolerance::new(1.0, 1.0).check(&nan, &e),
        Err(Mismatch::Element { index: 0, .. })
    ));
}

#[test]
fn views_borrow_without_copying() {
    let t = Tensor::from_vec(vec![2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap();
    let v = t.view();
    assert_eq!(
        v.as_slice::<f32>().unwrap().as_ptr(),
        t.as_slice::<f32>().unwrap().as_ptr()
    );
    assert_eq!(v.to_tensor(), t);
    let a = ndarray::Array::from_shape_vec(IxDyn(&[2, 3]), vec![1i8, 2, 3, 4, 5, 6]).unwrap();
    let view = TensorView::try_from(a.view()).unwrap();
    assert_eq!(view.shape(), &[2, 3]);
    assert_eq!(view.as_slice::<i8>().unwrap().as_ptr(), a.as_ptr());
    // a transposed array is not contiguous in row-major order: refused, not copied
    assert!(TensorView::try_from(a.t()).is_err());
    assert!(TensorView::from_slice(vec![3], &[1u8, 2][..]).is_err());
}

#[test]
fn reuse_keeps_the_buffer() {
    let mut t = Tensor::zeros(DType::F32, vec![4, 4]).unwrap();
    let before = t.as_slice::<f32>().unwrap().as_ptr();
    t.reuse_as(DType::F32, &[2, 8]).unwrap();
    assert_eq!(t.shape(), &[2, 8]);
    assert_eq!(t.as_slice::<f32>().unwrap().as_ptr(), before);
    t.reuse_as(DType::I8, &[3]).unwrap();
    assert_eq!((t.dtype(), t.len()), (DType::I8, 3));
}

#[test]
fn bytes_round_trip_all_types() {
    for dtype in DType::ALL {
        let t = Tensor::zeros(dtype, vec![3]).unwrap();
        let bytes = t.data().to_le_bytes();
        assert_eq!(bytes.len(), 3 * dtype.size_of());
        assert_eq!(Data::from_le_bytes(dtype, &bytes).unwrap(), *t.data());
    }
    assert!(Data::from_le_bytes(DType::F32, &[0, 0, 0]).is_err());
    assert!(Data::from_le_bytes(DType::Bool, &[0, 2]).is_err());
}
