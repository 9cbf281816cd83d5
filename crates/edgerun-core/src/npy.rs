//! Reading and writing NumPy `.npy` files (little-endian, C order), the exchange format of
//! `edgerun run --input` and `--output_dir`.

use std::path::Path;

use crate::dtype::DType;
use crate::error::{Error, Result};
use crate::tensor::{element_count, Data, Tensor};

const MAGIC: &[u8] = b"\x93NUMPY";

fn descr(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "<f4",
        DType::F16 => "<f2",
        // numpy has no bfloat16: ml_dtypes saves its bfloat16 arrays as 2-byte void, and so
        // does edgerun (`np.load(path).view(ml_dtypes.bfloat16)` reads them back)
        DType::BF16 => "<V2",
        DType::F64 => "<f8",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::Bool => "|b1",
    }
}

fn parse_descr(d: &str) -> std::result::Result<DType, String> {
    if d.starts_with('>') && !d.ends_with('1') {
        return Err(format!("dtype {d:?} is big-endian; save it little-endian (arr.astype(arr.dtype.newbyteorder('<')))"));
    }
    let core = d.trim_start_matches(['<', '|', '=']);
    DType::ALL
        .into_iter()
        .find(|t| descr(*t)[1..] == *core)
        .ok_or_else(|| {
            format!("dtype {d:?} is not supported (f16, f32, f64, i8, u8, i16, u16, i32, u32, i64, u64, bool, and bf16 as ml_dtypes saves it, <V2, are)")
        })
}

/// The value after `'key':` in the header dict, up to the next top-level comma or brace.
fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    if rest.starts_with('(') {
        return Some(&rest[..=rest.find(')')?]);
    }
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// Parse `.npy` bytes held in memory into a tensor.
///
/// # Errors
/// [`Error::Npy`] saying what is wrong with the bytes (its path reads `(in memory)`).
pub fn from_bytes(bytes: &[u8]) -> Result<Tensor> {
    parse(bytes).map_err(|reason| Error::Npy {
        path: "(in memory)".into(),
        reason,
    })
}

/// What is wrong with the bytes, as the reason of an [`Error::Npy`].
fn parse(bytes: &[u8]) -> std::result::Result<Tensor, String> {
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        return Err(
            "it does not start with the .npy magic \\x93NUMPY; save it with numpy.save".into(),
        );
    }
    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize,
            12,
        ),
        v => return Err(format!("format version {v} is not supported")),
    };
    let data_start = header_start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or("the header runs past the end of the file")?;
    let header = std::str::from_utf8(&bytes[header_start..data_start])
        .map_err(|_| "the header is not text")?;
    let d = header_value(header, "descr").ok_or("the header has no 'descr'")?;
    let dtype = parse_descr(d.trim_matches(['\'', '"']))?;
    if header_value(header, "fortran_order") != Some("False") {
        return Err("only C-order arrays are supported; save np.ascontiguousarray(arr)".into());
    }
    let shape_text = header_value(header, "shape").ok_or("the header has no 'shape'")?;
    let shape: Vec<usize> = shape_text
        .trim_matches(['(', ')'])
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad dimension {s:?} in shape"))
        })
        .collect::<std::result::Result<_, _>>()?;
    let count = element_count(&shape).ok_or("the shape's element count overflows")?;
    let payload = &bytes[data_start..];
    let needed = count
        .checked_mul(dtype.size_of())
        .ok_or("the shape's byte size overflows")?;
    if payload.len() != needed {
        return Err(format!(
            "shape ({shape_text}) of {dtype} needs {needed} bytes of data but the file has {}; the file is truncated or corrupt",
            payload.len()
        ));
    }
    let data = Data::from_le_bytes(dtype, payload).map_err(|e| e.to_string())?;
    Tensor::from_data(shape, data).map_err(|e| e.to_string())
}

/// Serialise a tensor as `.npy` (version 1.0). Quantization parameters are not stored.
pub fn to_bytes(t: &Tensor) -> Vec<u8> {
    let shape = match t.shape() {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {shape}, }}",
        descr(t.dtype())
    );
    // magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64
    let total = 10 + header.len() + 1;
    header.extend(std::iter::repeat_n(' ', total.next_multiple_of(64) - total));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + t.len() * t.dtype().size_of());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&t.data().to_le_bytes());
    out
}

/// Room for a `.npy` header beyond the tensor's own bytes when a file is checked for size.
const MAX_HEADER: u64 = 1 << 20;

/// Read a `.npy` file.
///
/// # Errors
/// [`Error::FileNotFound`], [`Error::NotAFile`] or [`Error::Io`] when the file cannot be
/// read, [`Error::TooLarge`] when it is larger than a tensor may be
/// ([`crate::limits::max_tensor_bytes`], plus room for the header), [`Error::Npy`] when it is
/// not a valid `.npy`.
pub fn read(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let max = crate::limits::max_tensor_bytes().saturating_add(MAX_HEADER);
    let bytes = crate::limits::read_file("input file", path, max)?;
    parse(&bytes).map_err(|reason| Error::Npy {
        path: path.into(),
        reason,
    })
}

/// Write a `.npy` file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written.
pub fn write(path: impl AsRef<Path>, t: &Tensor) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, to_bytes(t)).map_err(|source| Error::Io {
        path: path.into(),
        source: source.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_dtype_and_rank() {
        for dtype in DType::ALL {
            for shape in [vec![], vec![3], vec![2, 3, 1]] {
                let t = Tensor::zeros(dtype, shape.clone()).unwrap();
                let bytes = to_bytes(&t);
                assert_eq!((bytes.len() - t.len() * dtype.size_of()) % 64, 0);
                assert_eq!(from_bytes(&bytes).unwrap(), t, "{dtype} {shape:?}");
            }
        }
        let t = Tensor::from_vec(vec![2, 2], vec![1.5f32, -2.0, 3.25, 4.0]).unwrap();
        assert_eq!(from_bytes(&to_bytes(&t)).unwrap(), t);
    }

    /// A version 1.0 file as numpy 2 writes it: the header dict padded with spaces so that the
    /// data starts at a multiple of 64.
    fn numpy_file(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[1, 0]);
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(data);
        b
    }

    #[test]
    fn reads_numpy_written_header() {
        // np.arange(3, dtype=np.int64)
        let data: Vec<u8> = (0i64..3).flat_map(i64::to_le_bytes).collect();
        let t = from_bytes(&numpy_file("<i8", "(3,)", &data)).unwrap();
        assert_eq!(t.as_slice::<i64>().unwrap(), &[0, 1, 2]);
    }

    #[test]
    fn reads_bfloat16_as_ml_dtypes_saves_it() {
        // ml_dtypes' bfloat16 has no numpy type code: np.save writes it as 2-byte void; 1.5 and
        // -2.0 in bfloat16 are f32's upper 16 bits
        let b = numpy_file("<V2", "(2,)", &[0xc0, 0x3f, 0x00, 0xc0]);
        let t = from_bytes(&b).unwrap();
        let want = [half::bf16::from_f32(1.5), half::bf16::from_f32(-2.0)];
        assert_eq!(t.as_slice::<half::bf16>().unwrap(), &want);
        assert_eq!(to_bytes(&t), b);
    }

    #[test]
    fn rejects_bad_files() {
        assert!(from_bytes(b"not numpy")
            .unwrap_err()
            .to_string()
            .contains("magic"));
        let t = Tensor::zeros(DType::F32, vec![4]).unwrap();
        let b = to_bytes(&t);
        assert!(from_bytes(&b[..b.len() - 1])
            .unwrap_err()
            .to_string()
            .contains("truncated"));
        let replace = |from: &str, to: &str| {
            let at = b
                .windows(from.len())
                .position(|w| w == from.as_bytes())
                .unwrap();
            let mut c = b.clone();
            c[at..at + to.len()].copy_from_slice(to.as_bytes());
            c
        };
        assert!(from_bytes(&replace("False", "True "))
            .unwrap_err()
            .to_string()
            .contains("C-order"));
        assert!(from_bytes(&replace("<f4", ">f4"))
            .unwrap_err()
            .to_string()
            .contains("big-endian"));
        let cplx = replace("<f4", "<c8");
        assert!(from_bytes(&cplx)
            .unwrap_err()
            .to_string()
            .contains("not supported"));
    }
}
