//! A tensor table: its type, shape, quantization, sparsity and constant data, checked
//! against the file.

use super::*;

/// A sparse tensor's parameters (TACO format): the traversal order is a permutation of the
/// tensor's dimensions and its block dimensions, each block maps to a dimension, and every
/// sparse dimension's segments and indices are in order and in range. Returns how many values
/// the tensor stores.
pub(super) fn check_sparsity(sp: &Table<'_>, shape: &[i32], where_: &dyn Fn() -> String) -> R<i64> {
    let order = sp.i32s(0)?.unwrap_or_default();
    let blocks = sp.i32s(1)?.unwrap_or_default();
    let dims = sp.tables(2)?;
    let rank = shape.len();
    let n = rank + blocks.len();
    let mut seen = vec![false; n];
    let permutation = order.len() == n
        && order.iter().all(|&d| {
            usize::try_from(d)
                .ok()
                .filter(|&d| d < n && !std::mem::replace(&mut seen[d], true))
                .is_some()
        });
    if !permutation || blocks.len() > rank {
        return bad(format!(
            "{}'s sparsity has traversal order {order:?}, not an order of its {rank} dimensions and {} block dimensions",
            where_(),
            blocks.len()
        ));
    }
    if let Some(b) = blocks.iter().find(|&&b| b < 0 || b as usize >= rank) {
        return bad(format!(
            "{}'s sparsity maps a block to dimension {b} of {rank}",
            where_()
        ));
    }
    if dims.len() != n {
        return bad(format!(
            "{}'s sparsity describes {} dimensions, its traversal order {n}",
            where_(),
            dims.len()
        ));
    }
    let bad_dim =
        |i: usize, why: String| bad(format!("{}'s sparse dimension {i}: {why}", where_()));
    // block dimensions are dense, of a positive size that divides the dimension they split
    let mut block_size = vec![1i64; blocks.len()];
    for (i, dm) in dims.iter().enumerate() {
        if let Some(j) = (order[i] as usize).checked_sub(rank) {
            let size = dm.scalar_i32(1, 0)?;
            if dm.scalar_u8(0, 0)? != 0 || size <= 0 {
                return bad_dim(
                    i,
                    format!("a block dimension must be dense, of a positive size, not {size}"),
                );
            }
            block_size[j] = i64::from(size);
        }
    }
    let mut outer: Vec<i64> = shape.iter().map(|&d| i64::from(d)).collect();
    for (j, &b) in blocks.iter().enumerate() {
        let d = b as usize;
        if outer[d] % block_size[j] != 0 {
            return bad(format!(
                "{}'s sparsity splits dimension {d} ({}) into blocks of {}",
                where_(),
                outer[d],
                block_size[j]
            ));
        }
        outer[d] /= block_size[j];
    }
    // elements of the dimensions so far, in traversal order: what a sparse dimension segments
    let mut so_far: i64 = 1;
    for (i, dm) in dims.iter().enumerate() {
        let d = order[i] as usize;
        let extent = if d < rank {
            outer[d]
        } else {
            block_size[d - rank]
        };
        match dm.scalar_u8(0, 0)? {
            0 => {
                let size = dm.scalar_i32(1, 0)?;
                if i64::from(size) != extent {
                    return bad_dim(
                        i,
                        format!("dense size {size}, but the dimension has {extent}"),
                    );
                }
                so_far = so_far.saturating_mul(extent);
            }
            1 => so_far = sparse_dimension(dm, i, extent, so_far, where_)?,
            f => return bad_dim(i, format!("unknown format {f}")),
        }
    }
    Ok(so_far)
}

/// One index vector of a sparse dimension (`Int32Vector`, `Uint16Vector` or `Uint8Vector`, as
/// the union's type field says); `None` when the union is empty.
fn index_vector(dm: &Table<'_>, type_field: usize, field: usize) -> R<Option<Vec<i64>>> {
    let elem = match dm.scalar_u8(type_field, 0)? {
        1 => 4,
        2 => 2,
        3 => 1,
        _ => return Ok(None),
    };
    let Some(t) = dm.table(field)? else {
        return Ok(None);
    };
    let Some((start, len)) = t.vector(0, elem)? else {
        return Ok(Some(vec![]));
    };
    (0..len)
        .map(|k| {
            let at = start + k * elem;
            Ok(match elem {
                4 => i64::from(t.buf.i32(at)?),
                2 => i64::from(t.buf.u16(at)?),
                _ => i64::from(t.buf.u8(at)?),
            })
        })
        .collect::<R<Vec<i64>>>()
        .map(Some)
}

/// A sparse (CSR) dimension `i` of `extent` positions under `so_far` elements: one segment per
/// element so far, running in order over its indices, each index in range. Returns how many
/// elements the dimensions come to with it.
fn sparse_dimension(
    dm: &Table<'_>,
    i: usize,
    extent: i64,
    so_far: i64,
    where_: &dyn Fn() -> String,
) -> R<i64> {
    let bad_dim = |why: String| bad(format!("{}'s sparse dimension {i}: {why}", where_()));
    let (Some(segments), Some(indices)) = (index_vector(dm, 2, 3)?, index_vector(dm, 4, 5)?) else {
        return bad_dim("a sparse dimension without segments and indices".into());
    };
    let ordered = segments.len() as i64 == so_far.saturating_add(1)
        && segments.first() == Some(&0)
        && segments.windows(2).all(|w| w[0] <= w[1])
        && segments.last() == Some(&(indices.len() as i64));
    if !ordered {
        return bad_dim(format!(
            "segments {} are not {} offsets running in order from 0 to its {} indices",
            short_list(&segments),
            so_far.saturating_add(1),
            indices.len()
        ));
    }
    if let Some(x) = indices.iter().find(|&&x| x < 0 || x >= extent) {
        return bad_dim(format!("index {x} outside its {extent} positions"));
    }
    Ok(indices.len() as i64)
}

/// The first values of a list, for messages.
pub(super) fn short_list(v: &[i64]) -> String {
    if v.len() <= 8 {
        format!("{v:?}")
    } else {
        format!("{:?}... ({} values)", &v[..8], v.len())
    }
}

/// The bytes a declared tensor takes (types of unknown size count one byte per element).
pub(super) fn declared_bytes(t: &TensorDecl) -> Option<u128> {
    if t.shape.contains(&0) {
        return Some(0);
    }
    let elem = tensor_type_size(t.tensor_type).unwrap_or(1) as u128;
    t.shape
        .iter()
        .try_fold(elem, |acc, &d| acc.checked_mul(d as u128))
}

pub(super) fn tensor(
    tt: &Table<'_>,
    t: usize,
    g: usize,
    buffers: &[Table<'_>],
    file_len: usize,
) -> R<(TensorDecl, bool, Option<String>)> {
    let name = tt.string(3)?.unwrap_or_default();
    let shape = tt.i32s(0)?.unwrap_or_default();
    let tensor_type = tt.scalar_u8(1, 0)?;
    let where_ = || format!("subgraph {g} tensor {t} ({name:?})");
    if let Some(d) = shape.iter().find(|&&d| d < 0) {
        return bad(format!("{} has negative dimension {d}", where_()));
    }
    let b = tt.field(2)?.map_or(Ok(0), |at| tt.buf.u32(at))? as usize;
    let Some(buffer) = buffers.get(b) else {
        return bad(format!(
            "{} uses buffer {b}, but there are {}",
            where_(),
            buffers.len()
        ));
    };
    let (data_len, mut uncommon) = constant_data(buffer, b, tensor_type, file_len, &where_)?;
    sized(tt, tensor_type, &shape, data_len, &where_)?;
    let (scales, zero_points) = quantization(tt, tensor_type, &shape, &mut uncommon, &where_)?;
    for variant in tt.tables(9)? {
        variant.vector(0, 4)?;
    }
    // as TFLite's reader: scales without as many zero points are an error
    if !scales.is_empty() && zero_points.len() != scales.len() {
        return bad(format!(
            "{} has {} scales but {} zero points",
            where_(),
            scales.len(),
            zero_points.len()
        ));
    }
    let signature = tt.i32s(7)?;
    if let Some(sig) = &signature {
        if sig.len() != shape.len() {
            return bad(format!(
                "{} has a shape signature of rank {} for a shape of rank {}",
                where_(),
                sig.len(),
                shape.len()
            ));
        }
    }
    let decl = TensorDecl {
        name,
        tensor_type,
        shape,
        signature,
        scales,
        zero_points,
    };
    Ok((decl, data_len > 0, uncommon))
}

/// How many bytes of constant data a tensor's buffer holds: inline, or after the flatbuffer
/// (large models), which must lie inside the file. Constant data of a type whose values are
/// not plain numbers is noted as uncommon.
fn constant_data(
    buffer: &Table<'_>,
    b: usize,
    tensor_type: u8,
    file_len: usize,
    where_: &dyn Fn() -> String,
) -> R<(u64, Option<String>)> {
    let data_vector = buffer.vector(0, 1)?;
    // constant data of a type whose values are not plain numbers (STRING, COMPLEX64, RESOURCE,
    // VARIANT): valid for the C library, which reads it by its own rules; tract's reader cannot
    let non_numeric = match tensor_type {
        5 => Some("STRING"),
        8 => Some("COMPLEX64"),
        13 => Some("RESOURCE"),
        14 => Some("VARIANT"),
        _ => None,
    };
    let uncommon = non_numeric
        .filter(|_| b != 0 && data_vector.is_some())
        .map(|ty| format!("{} holds constant data of type {ty}", where_()));
    let data_len = match data_vector {
        Some((_, len)) => len as u64,
        None => {
            // large models keep constants after the flatbuffer: offset and size into the file
            let (offset, size) = (buffer.scalar_u64(1, 0)?, buffer.scalar_u64(2, 0)?);
            if offset > 1
                && offset
                    .checked_add(size)
                    .is_none_or(|end| end > file_len as u64)
            {
                return bad(format!(
                    "{}'s data at offset {offset} (+{size}) lies outside the file",
                    where_()
                ));
            }
            if offset > 1 {
                size
            } else {
                0
            }
        }
    };
    Ok((data_len, uncommon))
}

/// Constant data is as large as the tensor: a sparse constant holds the values its dimensions
/// locate, a dense one every element.
fn sized(
    tt: &Table<'_>,
    tensor_type: u8,
    shape: &[i32],
    data_len: u64,
    where_: &dyn Fn() -> String,
) -> R<()> {
    let sparse = match tt.table(6)? {
        Some(sp) => {
            let stored = check_sparsity(&sp, shape, where_)?;
            // a sparse constant holds the values its dimensions locate, no more, no fewer
            let needed = tensor_type_size(tensor_type)
                .and_then(|size| u64::try_from(stored).ok()?.checked_mul(size as u64));
            if let Some(needed) = needed.filter(|_| data_len > 0) {
                if needed != data_len {
                    return bad(format!(
                        "{} stores {stored} sparse values ({needed} bytes) but its buffer holds {data_len}",
                        where_()
                    ));
                }
            }
            true
        }
        None => false,
    };
    if data_len > 0 && !sparse {
        if let Some(size) = tensor_type_size(tensor_type) {
            let count = shape
                .iter()
                .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64));
            let needed = count.and_then(|c| c.checked_mul(size as u64));
            if needed != Some(data_len) {
                return bad(format!(
                    "{} of shape {shape:?} needs {} bytes of constant data but its buffer holds {data_len}",
                    where_(),
                    needed.map_or("more than 2^64".to_string(), |n| n.to_string())
                ));
            }
        }
    }
    Ok(())
}

/// A tensor's quantization: scales and zero points, checked as TensorFlow Lite's reader
/// checks them; parameters present on a type that is not quantized, or not one per channel,
/// are noted as uncommon.
fn quantization(
    tt: &Table<'_>,
    tensor_type: u8,
    shape: &[i32],
    uncommon: &mut Option<String>,
    where_: &dyn Fn() -> String,
) -> R<(Vec<f32>, Vec<i64>)> {
    Ok(match tt.table(4)? {
        Some(q) => {
            let (scales, zero_points) = (q.f32s(2)?, q.i64s(3)?);
            // both vectors present, yet not one integer scale and zero point per channel:
            // the C library ignores them or the checks below refuse them; tract reads them
            if let (Some(s), Some(z)) = (&scales, &zero_points) {
                if s.is_empty() || z.is_empty() {
                    *uncommon = uncommon.take().or(Some(format!(
                        "{} has quantization parameters with {} scales and {} zero points",
                        where_(),
                        s.len(),
                        z.len()
                    )));
                } else if !matches!(tensor_type, 2 | 3 | 9) {
                    *uncommon = uncommon.take().or(Some(format!(
                        "{} of type {} has quantization parameters",
                        where_(),
                        crate::tflite::types::from_schema(tensor_type)
                            .map_or(format!("code {tensor_type}"), |d| format!("{d:?}"))
                    )));
                }
            }
            let scales = scales.unwrap_or_default();
            q.vector(0, 4)?;
            q.vector(1, 4)?;
            // details: only CustomQuantization (union type 1) holds an offset at field 0
            if q.scalar_u8(4, 0)? == 1 {
                if let Some(custom) = q.table(5)? {
                    custom.vector(0, 1)?;
                }
            }
            // per-channel: the channels are along a dimension of the tensor, one scale each
            if scales.len() > 1 && !shape.is_empty() {
                let dim = q.scalar_i32(6, 0)?;
                let along = usize::try_from(dim).ok().and_then(|d| shape.get(d));
                if along.is_none_or(|&n| n as usize != scales.len()) {
                    return bad(format!(
                        "{} has {} scales along dimension {dim} of shape {shape:?}",
                        where_(),
                        scales.len()
                    ));
                }
            }
            (scales, zero_points.unwrap_or_default())
        }
        None => (vec![], vec![]),
    })
}
