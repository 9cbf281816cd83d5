//! Seeded input values: what `edgerun run` and `edgerun bench` feed a model when no file is
//! given, and what the dispatcher measures candidates on.

use crate::{DType, Data, Result, Tensor, TensorInfo};

/// SplitMix64: small, fast, and the same sequence on every platform.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

/// A tensor of `dtype` and `shape` with seeded values uniform in `[lo, hi]`: real numbers for
/// float types, integers (both bounds included) for the others, `lo`/`hi` clamped to the type.
/// benchmark_model's random inputs, with its ranges given by the caller.
///
/// # Errors
/// [`crate::Error::TooLarge`] when the tensor would be over the size limit
/// ([`crate::limits`]).
pub fn uniform(dtype: DType, shape: &[usize], lo: f64, hi: f64, seed: u64) -> Result<Tensor> {
    let n = edgerun_core::limits::check_tensor("an input", dtype, shape)?;
    let mut rng = SplitMix(seed);
    let mut real = || lo + (rng.unit() + 1.0) / 2.0 * (hi - lo);
    let data = match dtype {
        DType::F32 => Data::F32((0..n).map(|_| real() as f32).collect()),
        DType::F64 => Data::F64((0..n).map(|_| real()).collect()),
        DType::F16 => Data::F16((0..n).map(|_| crate::f16::from_f64(real())).collect()),
        DType::BF16 => Data::BF16((0..n).map(|_| crate::bf16::from_f64(real())).collect()),
        _ => {
            let (lo, hi) = (lo.ceil() as i64, hi.floor() as i64);
            let span = u64::try_from(hi.saturating_sub(lo))
                .unwrap_or(0)
                .saturating_add(1);
            let mut rng = SplitMix(seed);
            let mut draw = || lo.saturating_add((rng.next() % span) as i64);
            // each type straight from the draws (no wider copy first)
            let clamp = |v: i64, a: i64, b: i64| v.clamp(a, b);
            match dtype {
                DType::I8 => Data::I8((0..n).map(|_| clamp(draw(), -128, 127) as i8).collect()),
                DType::U8 => Data::U8((0..n).map(|_| clamp(draw(), 0, 255) as u8).collect()),
                DType::I16 => Data::I16(
                    (0..n)
                        .map(|_| clamp(draw(), i16::MIN.into(), i16::MAX.into()) as i16)
                        .collect(),
                ),
                DType::I32 => Data::I32(
                    (0..n)
                        .map(|_| clamp(draw(), i32::MIN.into(), i32::MAX.into()) as i32)
                        .collect(),
                ),
                DType::I64 => Data::I64((0..n).map(|_| draw()).collect()),
                DType::U16 => Data::U16(
                    (0..n)
                        .map(|_| clamp(draw(), 0, u16::MAX.into()) as u16)
                        .collect(),
                ),
                DType::U32 => Data::U32(
                    (0..n)
                        .map(|_| clamp(draw(), 0, u32::MAX.into()) as u32)
                        .collect(),
                ),
                DType::U64 => Data::U64((0..n).map(|_| draw().max(0) as u64).collect()),
                DType::Bool => Data::Bool((0..n).map(|_| draw() != 0).collect()),
                DType::F32 | DType::F64 | DType::F16 | DType::BF16 => {
                    unreachable!("floats handled above")
                }
            }
        }
    };
    Tensor::from_data(shape.to_vec(), data)
}

/// A tensor of `info`'s type and the given shape filled with seeded values: floats uniform in
/// [-1, 1), quantized integers the quantization of such floats, other integers uniform over
/// 0..=255 (clamped to the type), bools at random.
///
/// # Errors
/// [`crate::Error::TooLarge`] when the tensor would be over the size limit
/// ([`crate::limits`]).
pub fn random(info: &TensorInfo, shape: &[usize], seed: u64) -> Result<Tensor> {
    let what = format!("input {:?}", info.name);
    let n = edgerun_core::limits::check_tensor(&what, info.dtype, shape)?;
    let mut rng = SplitMix(seed);
    if let (Some(q), false) = (info.quant, info.dtype.is_float()) {
        // drawn as reals first, then quantized: that wider copy is reserved fallibly
        let mut reals: Vec<f32> = Vec::new();
        reals
            .try_reserve_exact(n)
            .map_err(|_| crate::Error::OutOfMemory {
                what: format!("{what}'s values before quantization"),
                size: edgerun_core::limits::human_bytes(n as u128 * 4),
            })?;
        reals.extend((0..n).map(|_| rng.unit() as f32));
        return Tensor::from_vec(shape.to_vec(), reals)?.quantize(info.dtype, q);
    }
    let mut int = |max: i64| -> i64 { (rng.next() % (max as u64 + 1)) as i64 };
    let data = match info.dtype {
        DType::F32 => Data::F32((0..n).map(|_| rng.unit() as f32).collect()),
        DType::F64 => Data::F64((0..n).map(|_| rng.unit()).collect()),
        DType::F16 => Data::F16(
            (0..n)
                .map(|_| crate::f16::from_f32(rng.unit() as f32))
                .collect(),
        ),
        DType::BF16 => Data::BF16(
            (0..n)
                .map(|_| crate::bf16::from_f32(rng.unit() as f32))
                .collect(),
        ),
        DType::I8 => Data::I8((0..n).map(|_| (int(255) - 128) as i8).collect()),
        DType::U8 => Data::U8((0..n).map(|_| int(255) as u8).collect()),
        DType::I16 => Data::I16((0..n).map(|_| int(255) as i16).collect()),
        DType::I32 => Data::I32((0..n).map(|_| int(255) as i32).collect()),
        DType::I64 => Data::I64((0..n).map(|_| int(255)).collect()),
        DType::U16 => Data::U16((0..n).map(|_| int(255) as u16).collect()),
        DType::U32 => Data::U32((0..n).map(|_| int(255) as u32).collect()),
        DType::U64 => Data::U64((0..n).map(|_| int(255) as u64).collect()),
        DType::Bool => Data::Bool((0..n).map(|_| int(1) == 1).collect()),
    };
    Tensor::from_data(shape.to_vec(), data)
}

/// The values the dispatcher measures candidates on: [`random`]'s, except that integer inputs
/// that are not quantized are zeros. Such inputs are mostly indices, token and position ids,
/// class labels and lengths: a random value is out of range for most of them (a Gather over
/// 10 rows refuses index 200), and every candidate would fail on inputs the application never
/// gives. Zero is in range for any non-empty dimension. Quantized integers and floats are data,
/// and stay random so that a wrong kernel shows in the comparison of outputs.
///
/// # Errors
/// [`crate::Error::TooLarge`] when the tensor would be over the size limit
/// ([`crate::limits`]).
pub fn measuring(info: &TensorInfo, shape: &[usize], seed: u64) -> Result<Tensor> {
    if info.quant.is_none() && !info.dtype.is_float() && info.dtype != DType::Bool {
        edgerun_core::limits::check_tensor(&format!("input {:?}", info.name), info.dtype, shape)?;
        return Tensor::zeros(info.dtype, shape.to_vec());
    }
    random(info, shape, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dim, Quant};

    fn info(dtype: DType, quant: Option<Quant>) -> TensorInfo {
        TensorInfo {
            name: "x".into(),
            dtype,
            shape: vec![Dim::Fixed(1000)],
            quant,
        }
    }

    #[test]
    fn same_seed_same_values_and_in_range() {
        let a = random(&info(DType::F32, None), &[1000], 3).unwrap();
        let b = random(&info(DType::F32, None), &[1000], 3).unwrap();
        let c = random(&info(DType::F32, None), &[1000], 4).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        let v = a.as_slice::<f32>().unwrap();
        assert!(v.iter().all(|x| (-1.0..1.0).contains(x)));
        assert!(v.iter().any(|&x| x < -0.5) && v.iter().any(|&x| x > 0.5));
    }

    #[test]
    fn uniform_values_cover_the_inclusive_range() {
        let t = uniform(DType::I32, &[2000], 3.0, 5.0, 9).unwrap();
        let v = t.as_slice::<i32>().unwrap();
        assert!(v.iter().all(|x| (3..=5).contains(x)));
        for want in 3..=5 {
            assert!(v.contains(&want), "{want} never drawn");
        }
        let t = uniform(DType::F32, &[2000], -0.5, 0.5, 9).unwrap();
        let v = t.as_slice::<f32>().unwrap();
        assert!(v.iter().all(|x| (-0.5..=0.5).contains(x)));
        assert!(v.iter().any(|&x| x < -0.4) && v.iter().any(|&x| x > 0.4));
        let t = uniform(DType::U8, &[100], 0.0, 1000.0, 1).unwrap();
        assert!(t.as_slice::<u8>().unwrap().iter().any(|&x| x > 200));
    }

    #[test]
    fn measuring_inputs_keep_indices_in_range_and_data_random() {
        // an int64 index input: every value must index a dimension of any size
        let t = measuring(&info(DType::I64, None), &[1000], 5).unwrap();
        assert!(t.as_slice::<i64>().unwrap().iter().all(|&v| v == 0));
        assert_eq!(t.dtype(), DType::I64);
        // float and quantized inputs are the same as random's
        for i in [
            info(DType::F32, None),
            info(DType::I8, Some(Quant::new(0.5, 3))),
            info(DType::Bool, None),
        ] {
            assert_eq!(
                measuring(&i, &[1000], 5).unwrap(),
                random(&i, &[1000], 5).unwrap()
            );
        }
    }

    #[test]
    fn quantized_inputs_are_quantized_reals() {
        let q = Quant::new(1.0 / 128.0, 0);
        let t = random(&info(DType::I8, Some(q)), &[1000], 1).unwrap();
        assert_eq!(t.quant(), Some(q));
        assert!(t.to_f32_vec().iter().all(|x| (-1.0..=1.0).contains(x)));
        for dtype in DType::ALL {
            assert_eq!(
                random(&info(dtype, None), &[1000], 1).unwrap().dtype(),
                dtype
            );
        }
    }
}
