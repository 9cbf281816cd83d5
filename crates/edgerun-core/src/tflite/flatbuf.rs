//! A bounds-checked reader for the parts of a `.tflite` flatbuffer edgerun needs, and the
//! checks that keep a corrupt file away from the C library.
//!
//! TensorFlow Lite trusts its model: an index out of range or a constant buffer shorter than
//! its tensor can crash the process. Every offset here is checked against the file before it is
//! read, and [`parse`] rejects a model whose tables point outside their arrays, so a mutated
//! file gives an error instead of reaching C.

use std::fmt;

/// Why a model was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

type R<T> = Result<T, Invalid>;

fn bad<T>(what: impl Into<String>) -> R<T> {
    Err(Invalid(what.into()))
}

/// The flatbuffer bytes with checked little-endian reads.
#[derive(Clone, Copy)]
struct Buf<'a>(&'a [u8]);

impl<'a> Buf<'a> {
    fn bytes(&self, at: usize, n: usize) -> R<&'a [u8]> {
        at.checked_add(n)
            .and_then(|end| self.0.get(at..end))
            .ok_or_else(|| {
                Invalid(format!(
                    "offset {at} (+{n} bytes) lies outside the {}-byte file",
                    self.0.len()
                ))
            })
    }
    fn u8(&self, at: usize) -> R<u8> {
        Ok(self.bytes(at, 1)?[0])
    }
    fn u16(&self, at: usize) -> R<u16> {
        Ok(u16::from_le_bytes(
            self.bytes(at, 2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&self, at: usize) -> R<u32> {
        Ok(u32::from_le_bytes(
            self.bytes(at, 4)?.try_into().expect("4 bytes"),
        ))
    }
    fn i32(&self, at: usize) -> R<i32> {
        Ok(self.u32(at)? as i32)
    }
    fn u64(&self, at: usize) -> R<u64> {
        Ok(u64::from_le_bytes(
            self.bytes(at, 8)?.try_into().expect("8 bytes"),
        ))
    }
    /// Follow a `uoffset` stored at `at`.
    fn follow(&self, at: usize) -> R<usize> {
        at.checked_add(self.u32(at)? as usize)
            .ok_or_else(|| Invalid("offset overflows".into()))
    }
}

/// A table: its position and its vtable's.
#[derive(Clone, Copy)]
struct Table<'a> {
    buf: Buf<'a>,
    pos: usize,
    vtable: usize,
    vtable_len: usize,
}

impl<'a> Table<'a> {
    fn at(buf: Buf<'a>, pos: usize) -> R<Table<'a>> {
        let soffset = buf.i32(pos)? as i64;
        let vtable = pos as i64 - soffset;
        if vtable < 0 {
            return bad(format!(
                "table at {pos} has its vtable before the file start"
            ));
        }
        let vtable = vtable as usize;
        let vtable_len = buf.u16(vtable)? as usize;
        if vtable_len < 4 || !vtable_len.is_multiple_of(2) {
            return bad(format!("vtable at {vtable} has a bad size {vtable_len}"));
        }
        buf.bytes(vtable, vtable_len)?;
        let table_len = buf.u16(vtable + 2)? as usize;
        buf.bytes(pos, table_len.max(4))?;
        // every field lies inside the table (after its vtable offset), as a flatbuffer writer
        // puts it: a reader may then take any scalar of a field without reading past the
        // table. Readers know at most 24 fields of any table of the schema: slots past those
        // are never read (and a huge vtable shared by many tables costs nothing)
        for slot in (4..vtable_len.min(4 + 2 * 24)).step_by(2) {
            let off = buf.u16(vtable + slot)? as usize;
            if off != 0 && (off < 4 || off >= table_len) {
                return bad(format!(
                    "table at {pos} puts field {} at offset {off}, outside its {table_len} bytes",
                    (slot - 4) / 2
                ));
            }
        }
        Ok(Table {
            buf,
            pos,
            vtable,
            vtable_len,
        })
    }

    /// Position of field `i`, if present.
    fn field(&self, i: usize) -> R<Option<usize>> {
        let slot = 4 + 2 * i;
        if slot + 2 > self.vtable_len {
            return Ok(None);
        }
        match self.buf.u16(self.vtable + slot)? as usize {
            0 => Ok(None),
            off => Ok(Some(self.pos + off)),
        }
    }

    fn table(&self, i: usize) -> R<Option<Table<'a>>> {
        match self.field(i)? {
            None => Ok(None),
            Some(at) => Table::at(self.buf, self.buf.follow(at)?).map(Some),
        }
    }

    /// A vector field: (position of the first element, length).
    fn vector(&self, i: usize, elem: usize) -> R<Option<(usize, usize)>> {
        let Some(at) = self.field(i)? else {
            return Ok(None);
        };
        let v = self.buf.follow(at)?;
        let len = self.buf.u32(v)? as usize;
        let size = len
            .checked_mul(elem)
            .ok_or_else(|| Invalid("vector size overflows".into()))?;
        self.buf.bytes(v + 4, size)?;
        Ok(Some((v + 4, len)))
    }

    fn tables(&self, i: usize) -> R<Vec<Table<'a>>> {
        let Some((start, len)) = self.vector(i, 4)? else {
            return Ok(vec![]);
        };
        (0..len)
            .map(|k| Table::at(self.buf, self.buf.follow(start + 4 * k)?))
            .collect()
    }

    fn i32s(&self, i: usize) -> R<Option<Vec<i32>>> {
        let Some((start, len)) = self.vector(i, 4)? else {
            return Ok(None);
        };
        (0..len)
            .map(|k| self.buf.i32(start + 4 * k))
            .collect::<R<_>>()
            .map(Some)
    }

    fn f32s(&self, i: usize) -> R<Option<Vec<f32>>> {
        let Some((start, len)) = self.vector(i, 4)? else {
            return Ok(None);
        };
        (0..len)
            .map(|k| self.buf.u32(start + 4 * k).map(f32::from_bits))
            .collect::<R<_>>()
            .map(Some)
    }

    fn i64s(&self, i: usize) -> R<Option<Vec<i64>>> {
        let Some((start, len)) = self.vector(i, 8)? else {
            return Ok(None);
        };
        (0..len)
            .map(|k| self.buf.u64(start + 8 * k).map(|v| v as i64))
            .collect::<R<_>>()
            .map(Some)
    }

    fn string(&self, i: usize) -> R<Option<String>> {
        let Some((start, len)) = self.vector(i, 1)? else {
            return Ok(None);
        };
        Ok(Some(
            String::from_utf8_lossy(self.buf.bytes(start, len)?).into_owned(),
        ))
    }

    fn scalar_u8(&self, i: usize, default: u8) -> R<u8> {
        self.field(i)?.map_or(Ok(default), |at| self.buf.u8(at))
    }

    fn scalar_i32(&self, i: usize, default: i32) -> R<i32> {
        self.field(i)?.map_or(Ok(default), |at| self.buf.i32(at))
    }

    fn scalar_u64(&self, i: usize, default: u64) -> R<u64> {
        self.field(i)?.map_or(Ok(default), |at| self.buf.u64(at))
    }

    fn scalar_u32(&self, i: usize, default: u32) -> R<u32> {
        self.field(i)?.map_or(Ok(default), |at| self.buf.u32(at))
    }
}

/// What an options table holds beyond scalars: (field, element size) of its vectors (strings
/// are byte vectors), and the fields that name subgraphs (`i32`, or `u32` for CallOptions).
struct OptionsLayout {
    vectors: &'static [(usize, usize)],
    subgraphs: &'static [usize],
    /// A vector of subgraph indices (StablehloCustomCallOptions.called_computations).
    subgraph_list: Option<usize>,
}

const NO_FIELDS: OptionsLayout = OptionsLayout {
    vectors: &[],
    subgraphs: &[],
    subgraph_list: None,
};

/// The layout of a `BuiltinOptions` union member (schema order, 1-based), for those with more
/// than scalars; the others hold scalars only.
fn builtin_options(kind: u8) -> OptionsLayout {
    let (vectors, subgraphs): (&'static [(usize, usize)], &'static [usize]) = match kind {
        3 => (&[(1, 4), (2, 4)], &[]),   // ConcatEmbeddingsOptions
        16 => (&[], &[0]),               // CallOptions.subgraph
        17 | 30 => (&[(0, 4)], &[]),     // ReshapeOptions.new_shape, SqueezeOptions.squeeze_dims
        92 | 93 => (&[], &[0, 1]),       // IfOptions then/else, WhileOptions cond/body
        103 => (&[], &[0]),              // CallOnceOptions.init_subgraph_index
        111 => (&[(0, 1), (1, 1)], &[]), // VarHandleOptions container, shared_name
        115 => (&[(0, 4)], &[]),         // BucketizeOptions.boundaries
        _ => return NO_FIELDS,
    };
    OptionsLayout {
        vectors,
        subgraphs,
        subgraph_list: None,
    }
}

/// The layout of a `BuiltinOptions2` union member (the StableHLO ops' options).
fn builtin_options_2(kind: u8) -> OptionsLayout {
    let (vectors, subgraphs, subgraph_list): (&'static [(usize, usize)], &'static [usize], _) =
        match kind {
            2 | 9 | 17 => (&[(0, 8)], &[], None), // BroadcastInDim, DynamicSlice, Transpose
            3 | 10 => (&[(0, 8), (1, 8), (2, 8)], &[], None), // Slice, Pad
            4 => (
                // Convolution
                &[
                    (0, 8),
                    (1, 8),
                    (2, 8),
                    (3, 8),
                    (4, 1),
                    (7, 8),
                    (10, 8),
                    (13, 8),
                    (16, 4),
                ],
                &[],
                None,
            ),
            5 => (&[(0, 1), (2, 1), (5, 1)], &[], Some(4)), // CustomCall
            23 => (&[], &[], Some(0)),                      // Case branches
            6 => (&[(0, 8)], &[1], None),                   // Reduce
            7 => (&[(1, 8), (2, 8), (3, 8)], &[6], None),   // Scatter
            12 => (&[(0, 8), (1, 8), (2, 8), (3, 8), (4, 4)], &[], None), // DotGeneral
            13 => (&[(0, 8), (1, 8), (2, 8), (3, 8), (4, 8)], &[5], None), // ReduceWindow
            14 => (&[], &[2], None),                        // Sort
            15 => (&[], &[0, 1], None),                     // While
            16 => (&[(0, 8), (1, 8), (2, 8), (4, 8)], &[], None), // Gather
            21 => (&[(0, 1), (2, 1)], &[1], None),          // Composite
            _ => return NO_FIELDS,
        };
    OptionsLayout {
        vectors,
        subgraphs,
        subgraph_list,
    }
}

/// Check an operator's options table as its union type says, and collect the subgraphs it
/// names into `calls`.
fn check_options(
    opts: &Table<'_>,
    layout: &OptionsLayout,
    calls: &mut Vec<i64>,
    where_: &dyn Fn() -> String,
) -> R<()> {
    for &(field, elem) in layout.vectors {
        opts.vector(field, elem)
            .map_err(|e| Invalid(format!("{}'s options: {e}", where_())))?;
    }
    for &field in layout.subgraphs {
        if let Some(at) = opts.field(field)? {
            calls.push(i64::from(opts.buf.i32(at)?));
        }
    }
    if let Some(field) = layout.subgraph_list {
        calls.extend(
            opts.i32s(field)?
                .unwrap_or_default()
                .into_iter()
                .map(i64::from),
        );
    }
    Ok(())
}

/// A call cycle among subgraphs (a WHILE body that runs itself, two IFs naming each other):
/// the path of it, if there is one.
fn call_cycle(calls: &[Vec<usize>]) -> Option<Vec<usize>> {
    // 0: not seen, 1: on the current path, 2: done; the path is an explicit stack (a file
    // may chain many subgraphs: no recursion)
    let mut state = vec![0u8; calls.len()];
    for start in 0..calls.len() {
        if state[start] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        state[start] = 1;
        while let Some(&mut (g, ref mut next)) = stack.last_mut() {
            match calls[g].get(*next) {
                Some(&h) => {
                    *next += 1;
                    match state[h] {
                        0 => {
                            state[h] = 1;
                            stack.push((h, 0));
                        }
                        1 => {
                            let mut path: Vec<usize> = stack.iter().map(|&(g, _)| g).collect();
                            path.push(h);
                            return Some(path);
                        }
                        _ => {}
                    }
                }
                None => {
                    state[g] = 2;
                    stack.pop();
                }
            }
        }
    }
    None
}

/// Element size of the TFLite `TensorType` values edgerun exchanges.
pub fn tensor_type_size(t: u8) -> Option<usize> {
    super::types::from_schema(t).map(|d| d.size_of())
}

/// An operator as the model file declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct OpDecl {
    pub subgraph: usize,
    /// Position in its subgraph's operator list.
    pub index: usize,
    /// Builtin op code (`BuiltinOperator`); 32 is CUSTOM.
    pub code: i32,
    /// The custom op's name, for custom ops.
    pub custom: Option<String>,
    /// Name of the first tensor it writes.
    pub output: Option<String>,
}

impl OpDecl {
    /// Where the op is, for messages: `operator #3 of subgraph 1, writing tensor "y"`.
    pub fn place(&self) -> String {
        let mut s = format!("operator #{}", self.index);
        if self.subgraph > 0 {
            s.push_str(&format!(" of subgraph {}", self.subgraph));
        }
        if let Some(out) = &self.output {
            s.push_str(&format!(", writing tensor {out:?}"));
        }
        s
    }

    /// The op's name: the schema's for builtins (`CONV_2D`), `custom NAME` for custom ops.
    pub fn name(&self) -> String {
        match (&self.custom, self.code) {
            (Some(c), CUSTOM) => format!("custom {c}"),
            _ => super::types::builtin_name(self.code),
        }
    }
}

/// Builtin op code of CUSTOM in the TFLite schema.
pub const CUSTOM: i32 = 32;

/// Builtin op code of FULLY_CONNECTED in the TFLite schema.
pub const FULLY_CONNECTED: i32 = 9;

/// A tensor as the model file declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorDecl {
    pub name: String,
    /// Raw TFLite `TensorType`.
    pub tensor_type: u8,
    pub shape: Vec<i32>,
    /// `shape_signature`: like `shape`, with -1 where a dimension is dynamic.
    pub signature: Option<Vec<i32>>,
    pub scales: Vec<f32>,
    pub zero_points: Vec<i64>,
}

impl TensorDecl {
    /// Dimensions that are dynamic (-1 in the signature).
    pub fn dynamic_dims(&self) -> Vec<usize> {
        self.signature
            .as_ref()
            .map(|s| {
                s.iter()
                    .enumerate()
                    .filter(|(_, &d)| d < 0)
                    .map(|(i, _)| i)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// What edgerun reads from a model file before handing it to the C library.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDecl {
    pub inputs: Vec<TensorDecl>,
    pub outputs: Vec<TensorDecl>,
    /// Names of FULLY_CONNECTED weight tensors quantized per channel.
    pub per_channel_fully_connected: Vec<String>,
    pub operator_count: usize,
    /// Every operator of every subgraph, in order.
    pub operators: Vec<OpDecl>,
    /// The largest tensor the model declares (any subgraph): where it is, its shape, and its
    /// size in bytes (`None` past 2^128).
    pub largest: Option<(String, Vec<i32>, Option<u128>)>,
    /// The first tensor declared in a way that is valid for the C library but uncommon,
    /// described: quantization parameters present but not the usual kind (non-empty scales
    /// and zero points on an INT8, UINT8 or INT32 tensor), or constant data of a type whose
    /// values are not plain numbers (STRING, COMPLEX64, RESOURCE, VARIANT). tract's reader
    /// cannot read such a file.
    pub uncommon: Option<String>,
}

impl ModelDecl {
    /// Check the largest declared tensor against the tensor size limit
    /// ([`crate::limits::max_tensor_bytes`]) before a runtime allocates it.
    ///
    /// # Errors
    /// [`crate::Error::TooLarge`] naming the tensor, its shape and size, and the limit.
    pub fn check_sizes(&self) -> crate::Result<()> {
        let limit = crate::limits::max_tensor_bytes();
        match &self.largest {
            Some((what, shape, bytes)) if bytes.is_none_or(|b| b > u128::from(limit)) => {
                Err(crate::Error::TooLarge {
                    what: format!(
                        "{what}, declared by the model with shape [{}],",
                        crate::error::shape_string(shape)
                    ),
                    size: bytes.map_or_else(
                        || "more than 2^128 bytes".into(),
                        crate::limits::human_bytes,
                    ),
                    limit: crate::limits::human_bytes(limit.into()),
                })
            }
            _ => Ok(()),
        }
    }
}

/// Read and check a model. Every table, vector and index is checked; constant buffers must be
/// as large as their tensors.
///
/// # Errors
/// [`Invalid`] with what is wrong and where.
pub fn parse(bytes: &[u8]) -> R<ModelDecl> {
    if bytes.len() < 8 || &bytes[4..8] != b"TFL3" {
        return bad("the file lacks the TFL3 identifier");
    }
    let buf = Buf(bytes);
    let model = Table::at(buf, buf.follow(0)?)?;
    let version = model.scalar_i32(0, 0)?;
    if version != 3 {
        return bad(format!("schema version {version}, expected 3"));
    }
    let opcodes = model.tables(1)?;
    let mut codes = Vec::with_capacity(opcodes.len());
    let mut customs = Vec::with_capacity(opcodes.len());
    for oc in &opcodes {
        let deprecated = oc.scalar_u8(0, 0)? as i8 as i32;
        let code = if deprecated < 127 {
            deprecated
        } else {
            oc.scalar_i32(3, 0)?
        };
        codes.push(code);
        customs.push(oc.string(1)?);
    }
    let buffers = model.tables(4)?;
    let subgraphs = model.tables(2)?;
    if subgraphs.is_empty() {
        return bad("the model has no subgraph");
    }
    let mut per_channel_fully_connected = Vec::new();
    let mut operator_count = 0;
    let mut operators = Vec::new();
    let mut main: Option<(Vec<TensorDecl>, Vec<i32>, Vec<i32>)> = None;
    // per subgraph: the subgraphs its operators run, and its tensor count
    let mut calls: Vec<Vec<usize>> = vec![Vec::new(); subgraphs.len()];
    let mut tensor_counts = Vec::with_capacity(subgraphs.len());
    let mut io: Vec<(Vec<i32>, Vec<i32>)> = Vec::with_capacity(subgraphs.len());
    let mut largest: Option<(String, Vec<i32>, Option<u128>)> = None;
    let mut uncommon = None;
    for (g, sg) in subgraphs.iter().enumerate() {
        let tensor_tables = sg.tables(0)?;
        let mut tensors = Vec::with_capacity(tensor_tables.len());
        let mut constants = Vec::with_capacity(tensor_tables.len());
        let mut standing = Vec::with_capacity(tensor_tables.len());
        for (t, tt) in tensor_tables.iter().enumerate() {
            let (decl, constant, odd) = tensor(tt, t, g, &buffers, bytes.len())?;
            uncommon = uncommon.or(odd);
            constants.push(constant);
            // a value without a writer: a constant, an empty tensor, data in an external
            // buffer (field 10), a variable (field 5)
            standing.push(
                constant
                    || decl.shape.contains(&0)
                    || tt.field(10)?.is_some()
                    || tt.scalar_u8(5, 0)? != 0,
            );
            let size = declared_bytes(&decl);
            // None (past 2^128) is the largest of all
            if largest
                .as_ref()
                .is_none_or(|l| l.2.is_some() && size.is_none_or(|s| Some(s) > l.2))
            {
                largest = Some((
                    format!("subgraph {g} tensor {t} ({:?})", decl.name),
                    decl.shape.clone(),
                    size,
                ));
            }
            tensors.push(decl);
        }
        let n = tensors.len() as i32;
        tensor_counts.push(tensors.len());
        let check = |what: &str, ix: &[i32], optional: bool| -> R<()> {
            match ix
                .iter()
                .find(|&&i| i >= n || i < if optional { -1 } else { 0 })
            {
                Some(i) => bad(format!(
                    "subgraph {g}: {what} refers to tensor {i}, but there are {n}"
                )),
                None => Ok(()),
            }
        };
        let inputs = sg.i32s(1)?.unwrap_or_default();
        let outputs = sg.i32s(2)?.unwrap_or_default();
        check("the input list", &inputs, false)?;
        check("the output list", &outputs, false)?;
        io.push((inputs.clone(), outputs.clone()));
        let mut written = vec![false; tensors.len()];
        let is_input: std::collections::HashSet<i32> = inputs.iter().copied().collect();
        for (k, op) in sg.tables(3)?.iter().enumerate() {
            let ix = op.field(0)?.map_or(Ok(0), |at| buf.u32(at))? as usize;
            let where_op = || format!("subgraph {g} operator {k}");
            // options, as the union's type says; the subgraphs they name
            let mut named = Vec::new();
            if let Some(opts) = op.table(4)? {
                let layout = builtin_options(op.scalar_u8(3, 0)?);
                check_options(&opts, &layout, &mut named, &where_op)?;
            }
            if let Some(opts) = op.table(12)? {
                let layout = builtin_options_2(op.scalar_u8(11, 0)?);
                check_options(&opts, &layout, &mut named, &where_op)?;
            }
            for target in named {
                match usize::try_from(target) {
                    Ok(t) if t < subgraphs.len() => calls[g].push(t),
                    _ => {
                        return bad(format!(
                            "{} runs subgraph {target}, but there are {}",
                            where_op(),
                            subgraphs.len()
                        ))
                    }
                }
            }
            // custom options: inline, or after the flatbuffer in models over 2 GB
            op.vector(5, 1)?;
            let (offset, size) = (op.scalar_u64(9, 0)?, op.scalar_u64(10, 0)?);
            if offset > 1
                && offset
                    .checked_add(size)
                    .is_none_or(|end| end > bytes.len() as u64)
            {
                return bad(format!(
                    "{}'s custom options at offset {offset} (+{size}) lie outside the file",
                    where_op()
                ));
            }
            let Some(&code) = codes.get(ix) else {
                return bad(format!(
                    "subgraph {g} operator {k} uses op code {ix}, but there are {}",
                    codes.len()
                ));
            };
            let op_inputs = op.i32s(1)?.unwrap_or_default();
            check(&format!("operator {k}'s input list"), &op_inputs, true)?;
            let op_outputs = op.i32s(2)?.unwrap_or_default();
            check(&format!("operator {k}'s output list"), &op_outputs, true)?;
            let intermediates = op.i32s(8)?.unwrap_or_default();
            check(
                &format!("operator {k}'s intermediate list"),
                &intermediates,
                false,
            )?;
            if let Some((_, mutated)) = op.vector(7, 1)? {
                if mutated != 0 && mutated != op_inputs.len() {
                    return bad(format!(
                        "{} marks {mutated} inputs as mutated, but has {}",
                        where_op(),
                        op_inputs.len()
                    ));
                }
            }
            operators.push(OpDecl {
                subgraph: g,
                index: k,
                code,
                custom: customs[ix].clone(),
                output: op_outputs
                    .iter()
                    .find(|&&o| o >= 0)
                    .map(|&o| tensors[o as usize].name.clone()),
            });
            if code == FULLY_CONNECTED {
                if let Some(w) = op_inputs
                    .get(1)
                    .filter(|&&w| w >= 0)
                    .map(|&w| &tensors[w as usize])
                {
                    if w.scales.len() > 1 {
                        per_channel_fully_connected.push(w.name.clone());
                    }
                }
            }
            // each tensor has one writer, and it is no input of the subgraph and no constant
            for &o in op_outputs.iter().filter(|&&o| o >= 0) {
                let why = if is_input.contains(&o) {
                    "an input of the subgraph"
                } else if constants[o as usize] {
                    "a constant"
                } else if std::mem::replace(&mut written[o as usize], true) {
                    "which another operator writes too"
                } else {
                    continue;
                };
                return bad(format!("{} writes tensor {o}, {why}", where_op()));
            }
            operator_count += 1;
        }
        // an output nothing produces would be memory no one allocated
        if let Some(&o) = outputs
            .iter()
            .find(|&&o| !(written[o as usize] || is_input.contains(&o) || standing[o as usize]))
        {
            return bad(format!(
                "subgraph {g}'s output tensor {o} ({:?}) is written by no operator",
                tensors[o as usize].name
            ));
        }
        if g == 0 {
            main = Some((tensors, inputs, outputs));
        }
    }
    if let Some(cycle) = call_cycle(&calls) {
        let path: Vec<String> = cycle.iter().map(usize::to_string).collect();
        return bad(format!(
            "subgraphs run each other in a cycle ({}), which would never end",
            path.join(" -> ")
        ));
    }
    check_model_tables(&model, &tensor_counts, &io, buffers.len())?;
    let (tensors, inputs, outputs) = main.expect("subgraph 0 exists");
    let pick = |ix: &[i32]| ix.iter().map(|&i| tensors[i as usize].clone()).collect();
    Ok(ModelDecl {
        inputs: pick(&inputs),
        outputs: pick(&outputs),
        per_channel_fully_connected,
        operator_count,
        operators,
        largest,
        uncommon,
    })
}

/// A sparse tensor's parameters (TACO format): the traversal order is a permutation of the
/// tensor's dimensions and its block dimensions, each block maps to a dimension, and every
/// sparse dimension's segments and indices are in order and in range. Returns how many values
/// the tensor stores.
fn check_sparsity(sp: &Table<'_>, shape: &[i32], where_: &dyn Fn() -> String) -> R<i64> {
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
            1 => {
                let vector = |type_field: usize, field: usize| -> R<Option<Vec<i64>>> {
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
                };
                let (Some(segments), Some(indices)) = (vector(2, 3)?, vector(4, 5)?) else {
                    return bad_dim(i, "a sparse dimension without segments and indices".into());
                };
                let ordered = segments.len() as i64 == so_far.saturating_add(1)
                    && segments.first() == Some(&0)
                    && segments.windows(2).all(|w| w[0] <= w[1])
                    && segments.last() == Some(&(indices.len() as i64));
                if !ordered {
                    return bad_dim(
                        i,
                        format!(
                            "segments {} are not {} offsets running in order from 0 to its {} indices",
                            short_list(&segments),
                            so_far.saturating_add(1),
                            indices.len()
                        ),
                    );
                }
                if let Some(x) = indices.iter().find(|&&x| x < 0 || x >= extent) {
                    return bad_dim(i, format!("index {x} outside its {extent} positions"));
                }
                so_far = indices.len() as i64;
            }
            f => return bad_dim(i, format!("unknown format {f}")),
        }
    }
    Ok(so_far)
}

/// The first values of a list, for messages.
fn short_list(v: &[i64]) -> String {
    if v.len() <= 8 {
        format!("{v:?}")
    } else {
        format!("{:?}... ({} values)", &v[..8], v.len())
    }
}

/// The model's signatures and metadata: a signature's inputs are inputs of its subgraph and
/// its outputs outputs of it (LiteRT 2.3.0 aborts the process on a signature output that is
/// not: its C API lets a C++ exception escape); metadata names buffers that exist.
fn check_model_tables(
    model: &Table<'_>,
    tensor_counts: &[usize],
    io: &[(Vec<i32>, Vec<i32>)],
    buffers: usize,
) -> R<()> {
    let sets: Vec<[std::collections::HashSet<i32>; 2]> = io
        .iter()
        .map(|(i, o)| [i.iter().copied().collect(), o.iter().copied().collect()])
        .collect();
    for (k, sig) in model.tables(7)?.iter().enumerate() {
        let g = sig.scalar_u32(4, 0)? as usize;
        let Some(&count) = tensor_counts.get(g) else {
            return bad(format!(
                "signature {k} is of subgraph {g}, but there are {}",
                tensor_counts.len()
            ));
        };
        sig.string(2)?;
        for (field, role, list) in [(0, "input", &sets[g][0]), (1, "output", &sets[g][1])] {
            for map in sig.tables(field)? {
                map.string(0)?;
                let t = map.scalar_u32(1, 0)? as usize;
                if t >= count {
                    return bad(format!(
                        "signature {k} names tensor {t} of subgraph {g}, which has {count}"
                    ));
                }
                if !list.contains(&(t as i32)) {
                    return bad(format!(
                        "signature {k} gives tensor {t} as an {role}, but it is not an {role} of subgraph {g}"
                    ));
                }
            }
        }
    }
    for (k, m) in model.tables(6)?.iter().enumerate() {
        m.string(0)?;
        let b = m.scalar_u32(1, 0)? as usize;
        if b >= buffers {
            return bad(format!(
                "metadata {k} is in buffer {b}, but there are {buffers}"
            ));
        }
    }
    if let Some(b) = model
        .i32s(5)?
        .unwrap_or_default()
        .into_iter()
        .find(|&b| b < 0 || b as usize >= buffers)
    {
        return bad(format!(
            "the metadata buffer list names buffer {b}, but there are {buffers}"
        ));
    }
    Ok(())
}

/// The bytes a declared tensor takes (types of unknown size count one byte per element).
fn declared_bytes(t: &TensorDecl) -> Option<u128> {
    if t.shape.contains(&0) {
        return Some(0);
    }
    let elem = tensor_type_size(t.tensor_type).unwrap_or(1) as u128;
    t.shape
        .iter()
        .try_fold(elem, |acc, &d| acc.checked_mul(d as u128))
}

fn tensor(
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
    let mut uncommon = non_numeric
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
    let sparse = match tt.table(6)? {
        Some(sp) => {
            let stored = check_sparsity(&sp, &shape, &where_)?;
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
    let (scales, zero_points) = match tt.table(4)? {
        Some(q) => {
            let (scales, zero_points) = (q.f32s(2)?, q.i64s(3)?);
            // both vectors present, yet not one integer scale and zero point per channel:
            // the C library ignores them or the checks below refuse them; tract reads them
            if let (Some(s), Some(z)) = (&scales, &zero_points) {
                if s.is_empty() || z.is_empty() {
                    uncommon = uncommon.or(Some(format!(
                        "{} has quantization parameters with {} scales and {} zero points",
                        where_(),
                        s.len(),
                        z.len()
                    )));
                } else if !matches!(tensor_type, 2 | 3 | 9) {
                    uncommon = uncommon.or(Some(format!(
                        "{} of type {} has quantization parameters",
                        where_(),
                        super::types::from_schema(tensor_type)
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
    };
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_files_without_identifier_or_too_short() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\x10\0\0\0TFL3").unwrap_err().0.contains("outside"));
        assert!(parse(b"\x10\0\0\0ONNX\0\0\0\0")
            .unwrap_err()
            .0
            .contains("TFL3"));
    }

    #[test]
    fn reads_offsets_only_inside_the_file() {
        let b = Buf(&[1, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f]);
        assert!(b.u32(0).is_ok());
        assert!(b.u32(5).is_err());
        assert!(b.bytes(usize::MAX, 2).is_err());
        // an offset pointing far past the end
        assert!(b.follow(4).is_ok() && b.u32(b.follow(4).unwrap()).is_err());
    }

    /// Crafted files, written field by field in TensorFlow Lite's schema order.
    mod crafted {
        use super::super::parse;
        use flatbuffers::{FlatBufferBuilder, UnionWIPOffset, WIPOffset};

        type U = WIPOffset<UnionWIPOffset>;

        /// A field of a table: its slot (schema order) and value.
        #[derive(Clone, Copy)]
        enum F {
            Off(u16, U),
            U8(u16, u8),
            I32(u16, i32),
            U32(u16, u32),
            U64(u16, u64),
        }

        fn table(b: &mut FlatBufferBuilder<'_>, fields: &[F]) -> U {
            let start = b.start_table();
            for f in fields {
                match *f {
                    F::Off(s, o) => b.push_slot_always(4 + 2 * s, o),
                    F::U8(s, v) => b.push_slot_always(4 + 2 * s, v),
                    F::I32(s, v) => b.push_slot_always(4 + 2 * s, v),
                    F::U32(s, v) => b.push_slot_always(4 + 2 * s, v),
                    F::U64(s, v) => b.push_slot_always(4 + 2 * s, v),
                }
            }
            b.end_table(start).as_union_value()
        }

        fn ints(b: &mut FlatBufferBuilder<'_>, v: &[i32]) -> U {
            b.create_vector(v).as_union_value()
        }

        fn tables(b: &mut FlatBufferBuilder<'_>, v: &[U]) -> U {
            b.create_vector(v).as_union_value()
        }

        /// A float tensor of `shape` in `buffer`, named `t<shape>`, with more fields.
        fn tensor(b: &mut FlatBufferBuilder<'_>, shape: &[i32], buffer: u32, more: &[F]) -> U {
            let shape = ints(b, shape);
            let name = b.create_string("t").as_union_value();
            let mut fields = vec![
                F::Off(0, shape),
                F::U8(1, 0),
                F::U32(2, buffer),
                F::Off(3, name),
            ];
            fields.extend(more.iter().copied());
            table(b, &fields)
        }

        /// An operator with op code `opcode` reading tensor 0 and writing tensor 1.
        fn op(b: &mut FlatBufferBuilder<'_>, opcode: u32, more: &[F]) -> U {
            let (i, o) = (ints(b, &[0]), ints(b, &[1]));
            let mut fields = vec![F::U32(0, opcode), F::Off(1, i), F::Off(2, o)];
            fields.extend(more.iter().copied());
            table(b, &fields)
        }

        /// A subgraph of two [1,4] tensors (0 in, 1 out; 0 out too without operators), the
        /// operators given, and more tensors.
        fn subgraph(b: &mut FlatBufferBuilder<'_>, ops: &[U], extra: &[U]) -> U {
            let mut ts = vec![tensor(b, &[1, 4], 0, &[]), tensor(b, &[1, 4], 0, &[])];
            ts.extend_from_slice(extra);
            let ts = tables(b, &ts);
            // without operators, the input is the output
            let out = if ops.is_empty() { 0 } else { 1 };
            let (i, o) = (ints(b, &[0]), ints(b, &[out]));
            let ops = tables(b, ops);
            table(
                b,
                &[F::Off(0, ts), F::Off(1, i), F::Off(2, o), F::Off(3, ops)],
            )
        }

        /// The model: op codes WHILE (0), CALL_ONCE (1), ADD (2), STABLEHLO_COMPOSITE (3);
        /// buffer 0 empty, then one per `data`; more model fields.
        fn model(
            mut b: FlatBufferBuilder<'_>,
            subgraphs: &[U],
            data: &[&[u8]],
            more: &[F],
        ) -> Vec<u8> {
            let codes: Vec<U> = [119, 129, 0, 206]
                .iter()
                .map(|&c: &i32| {
                    table(
                        &mut b,
                        &[F::U8(0, c.min(127) as u8), F::I32(2, 1), F::I32(3, c)],
                    )
                })
                .collect();
            let mut buffers = vec![table(&mut b, &[])];
            for d in data {
                let v = b.create_vector(d).as_union_value();
                buffers.push(table(&mut b, &[F::Off(0, v)]));
            }
            let codes = tables(&mut b, &codes);
            let sgs = tables(&mut b, subgraphs);
            let bufs = tables(&mut b, &buffers);
            let mut fields = vec![
                F::U32(0, 3),
                F::Off(1, codes),
                F::Off(2, sgs),
                F::Off(4, bufs),
            ];
            fields.extend(more.iter().copied());
            let root = table(&mut b, &fields);
            b.finish(root, Some("TFL3"));
            b.finished_data().to_vec()
        }

        fn refused(bytes: &[u8], what: &str) {
            let e = parse(bytes).expect_err(what).0;
            assert!(e.contains(what), "{e}\nexpected: {what}");
        }

        /// WHILE (op code 0) with WhileOptions (union 93) naming cond and body.
        fn while_op(b: &mut FlatBufferBuilder<'_>, cond: i32, body: i32) -> U {
            let opts = table(b, &[F::I32(0, cond), F::I32(1, body)]);
            op(b, 0, &[F::U8(3, 93), F::Off(4, opts)])
        }

        #[test]
        fn control_flow_names_existing_subgraphs_without_cycles() {
            let mut b = FlatBufferBuilder::new();
            let w = while_op(&mut b, 1, 2);
            let sg0 = subgraph(&mut b, &[w], &[]);
            let (sg1, sg2) = (subgraph(&mut b, &[], &[]), subgraph(&mut b, &[], &[]));
            let ok = model(b, &[sg0, sg1, sg2], &[], &[]);
            assert!(parse(&ok).is_ok(), "{:?}", parse(&ok).err());

            let mut b = FlatBufferBuilder::new();
            let w = while_op(&mut b, 1, 7);
            let sg0 = subgraph(&mut b, &[w], &[]);
            let sg1 = subgraph(&mut b, &[], &[]);
            refused(
                &model(b, &[sg0, sg1], &[], &[]),
                "subgraph 0 operator 0 runs subgraph 7, but there are 2",
            );

            // 0 runs 1 (WHILE), 1 runs 0 (CALL_ONCE, options union 103)
            let mut b = FlatBufferBuilder::new();
            let w = while_op(&mut b, 1, 1);
            let sg0 = subgraph(&mut b, &[w], &[]);
            let init = table(&mut b, &[F::I32(0, 0)]);
            let call = op(&mut b, 1, &[F::U8(3, 103), F::Off(4, init)]);
            let sg1 = subgraph(&mut b, &[call], &[]);
            refused(
                &model(b, &[sg0, sg1], &[], &[]),
                "subgraphs run each other in a cycle (0 -> 1 -> 0)",
            );

            // a StableHLO composite (BuiltinOptions2 union 21) names its decomposition
            let mut b = FlatBufferBuilder::new();
            let opts = table(&mut b, &[F::I32(1, 5)]);
            let composite = op(&mut b, 3, &[F::U8(11, 21), F::Off(12, opts)]);
            let sg0 = subgraph(&mut b, &[composite], &[]);
            refused(
                &model(b, &[sg0], &[], &[]),
                "operator 0 runs subgraph 5, but there are 1",
            );
        }

        #[test]
        fn a_long_chain_of_subgraphs_is_checked_without_recursion() {
            let mut b = FlatBufferBuilder::new();
            let n = 20_000;
            let mut sgs = Vec::new();
            for g in 0..n {
                let ops = if g + 1 < n {
                    vec![while_op(&mut b, g + 1, g + 1)]
                } else {
                    vec![]
                };
                sgs.push(subgraph(&mut b, &ops, &[]));
            }
            assert!(parse(&model(b, &sgs, &[], &[])).is_ok());
        }

        #[test]
        fn option_vectors_and_custom_options_stay_inside_the_file() {
            // ReshapeOptions (union 17) with new_shape, whose length is then made huge
            let mut b = FlatBufferBuilder::new();
            let marker = 0x5a5a_5a5a;
            let shape = ints(&mut b, &[marker, marker]);
            let opts = table(&mut b, &[F::Off(0, shape)]);
            let reshape = op(&mut b, 2, &[F::U8(3, 17), F::Off(4, opts)]);
            let sg = subgraph(&mut b, &[reshape], &[]);
            let mut bytes = model(b, &[sg], &[], &[]);
            assert!(parse(&bytes).is_ok());
            let pattern: Vec<u8> = [2, marker, marker]
                .iter()
                .flat_map(|v: &i32| v.to_le_bytes())
                .collect();
            let at = bytes.windows(12).position(|w| w == pattern).unwrap();
            bytes[at..at + 4].copy_from_slice(&0x4000_0000u32.to_le_bytes());
            // "offset ... outside" on 64-bit targets, "vector size overflows" on 32-bit
            refused(&bytes, "subgraph 0 operator 0's options: ");

            // custom options of a large model, past the end of this one
            let mut b = FlatBufferBuilder::new();
            let custom = op(&mut b, 2, &[F::U64(9, 1000), F::U64(10, 10)]);
            let sg = subgraph(&mut b, &[custom], &[]);
            refused(
                &model(b, &[sg], &[], &[]),
                "custom options at offset 1000 (+10) lie outside the file",
            );
        }

        #[test]
        fn operator_tensor_lists_are_checked() {
            let mut b = FlatBufferBuilder::new();
            let inter = ints(&mut b, &[9]);
            let o = op(&mut b, 2, &[F::Off(8, inter)]);
            let sg = subgraph(&mut b, &[o], &[]);
            refused(
                &model(b, &[sg], &[], &[]),
                "operator 0's intermediate list refers to tensor 9, but there are 2",
            );

            let mut b = FlatBufferBuilder::new();
            let mutated = b.create_vector(&[true, false, true]).as_union_value();
            let o = op(&mut b, 2, &[F::Off(7, mutated)]);
            let sg = subgraph(&mut b, &[o], &[]);
            refused(
                &model(b, &[sg], &[], &[]),
                "marks 3 inputs as mutated, but has 1",
            );
        }

        #[test]
        fn every_tensor_has_one_writer_and_outputs_have_one() {
            // an operator that writes the subgraph's input (and leaves its output unwritten)
            let mut b = FlatBufferBuilder::new();
            let (i, o) = (ints(&mut b, &[0]), ints(&mut b, &[0]));
            let in_place = table(&mut b, &[F::U32(0, 2), F::Off(1, i), F::Off(2, o)]);
            let sg = subgraph(&mut b, &[in_place], &[]);
            refused(
                &model(b, &[sg], &[], &[]),
                "subgraph 0 operator 0 writes tensor 0, an input of the subgraph",
            );
            // two writers of one tensor
            let mut b = FlatBufferBuilder::new();
            let (first, second) = (op(&mut b, 2, &[]), op(&mut b, 2, &[]));
            let sg = subgraph(&mut b, &[first, second], &[]);
            refused(
                &model(b, &[sg], &[], &[]),
                "subgraph 0 operator 1 writes tensor 1, which another operator writes too",
            );
            // an output no operator writes: tensor 2 declared as the output
            let mut b = FlatBufferBuilder::new();
            let extra = tensor(&mut b, &[1, 4], 0, &[]);
            let ts = {
                let (t0, t1) = (
                    tensor(&mut b, &[1, 4], 0, &[]),
                    tensor(&mut b, &[1, 4], 0, &[]),
                );
                tables(&mut b, &[t0, t1, extra])
            };
            let relu = op(&mut b, 2, &[]);
            let (i, o, ops) = (
                ints(&mut b, &[0]),
                ints(&mut b, &[2]),
                tables(&mut b, &[relu]),
            );
            let sg = table(
                &mut b,
                &[F::Off(0, ts), F::Off(1, i), F::Off(2, o), F::Off(3, ops)],
            );
            refused(
                &model(b, &[sg], &[], &[]),
                "subgraph 0's output tensor 2 (\"t\") is written by no operator",
            );
        }

        #[test]
        fn per_channel_scales_lie_along_a_dimension_of_their_size() {
            let build = |scales: usize, dim: i32| {
                let mut b = FlatBufferBuilder::new();
                let s = b.create_vector(&vec![0.5f32; scales]).as_union_value();
                let z = b.create_vector(&vec![0i64; scales]).as_union_value();
                let q = table(&mut b, &[F::Off(2, s), F::Off(3, z), F::I32(6, dim)]);
                let t = tensor(&mut b, &[2, 4], 0, &[F::Off(4, q)]);
                let sg = subgraph(&mut b, &[], &[t]);
                model(b, &[sg], &[], &[])
            };
            assert!(parse(&build(4, 1)).is_ok());
            refused(
                &build(3, 1),
                "has 3 scales along dimension 1 of shape [2, 4]",
            );
            refused(
                &build(2, 5),
                "has 2 scales along dimension 5 of shape [2, 4]",
            );
        }

        #[test]
        fn quantization_needs_a_zero_point_per_scale_and_unusual_kinds_are_named() {
            // a [4, 1] tensor of `ty` with `scales` and `zps` (None: the vector is absent)
            let build = |ty: u8, scales: Option<usize>, zps: Option<usize>| {
                let mut b = FlatBufferBuilder::new();
                let mut q = vec![];
                if let Some(n) = scales {
                    q.push(F::Off(
                        2,
                        b.create_vector(&vec![0.5f32; n]).as_union_value(),
                    ));
                }
                if let Some(n) = zps {
                    q.push(F::Off(3, b.create_vector(&vec![0i64; n]).as_union_value()));
                }
                let q = table(&mut b, &q);
                let shape = ints(&mut b, &[4, 1]);
                let t = table(&mut b, &[F::Off(0, shape), F::U8(1, ty), F::Off(4, q)]);
                let sg = subgraph(&mut b, &[], &[t]);
                model(b, &[sg], &[], &[])
            };
            let odd = |bytes: &[u8]| parse(bytes).unwrap().uncommon;
            // INT8, UINT8, INT32 with one scale and zero point: the usual kind
            for ty in [9, 3, 2] {
                assert_eq!(odd(&build(ty, Some(1), Some(1))), None);
            }
            assert_eq!(odd(&build(0, None, None)), None);
            assert_eq!(odd(&build(0, Some(0), None)), None);
            // read by the C library, which ignores them; named for tract
            assert_eq!(
                odd(&build(10, Some(1), Some(1))).as_deref(),
                Some("subgraph 0 tensor 2 (\"\") of type F64 has quantization parameters")
            );
            assert!(odd(&build(7, Some(1), Some(1)))
                .unwrap()
                .contains("of type I16"));
            assert_eq!(
                odd(&build(9, Some(0), Some(1))).as_deref(),
                Some(
                    "subgraph 0 tensor 2 (\"\") has quantization parameters with 0 scales \
                     and 1 zero points"
                )
            );
            // scales without as many zero points: refused, as TensorFlow Lite does
            refused(&build(9, Some(1), None), "has 1 scales but 0 zero points");
            refused(
                &build(9, Some(1), Some(0)),
                "has 1 scales but 0 zero points",
            );
            refused(
                &build(9, Some(4), Some(3)),
                "has 4 scales but 3 zero points",
            );
        }

        #[test]
        fn constants_of_non_numeric_types_are_named() {
            // a [2] tensor of `ty` holding 8 bytes of constant data in buffer 1
            let build = |ty: u8| {
                let mut b = FlatBufferBuilder::new();
                let shape = ints(&mut b, &[2]);
                let t = table(&mut b, &[F::Off(0, shape), F::U8(1, ty), F::U32(2, 1)]);
                let sg = subgraph(&mut b, &[], &[t]);
                model(b, &[sg], &[&[0; 8]], &[])
            };
            let uncommon = |ty| parse(&build(ty)).unwrap().uncommon;
            // FLOAT32, INT32
            assert_eq!(uncommon(0), None);
            assert_eq!(uncommon(2), None);
            // STRING, COMPLEX64, RESOURCE, VARIANT
            for (ty, name) in [
                (5, "STRING"),
                (8, "COMPLEX64"),
                (13, "RESOURCE"),
                (14, "VARIANT"),
            ] {
                assert_eq!(
                    uncommon(ty),
                    Some(format!(
                        "subgraph 0 tensor 2 (\"\") holds constant data of type {name}"
                    ))
                );
            }
        }

        #[test]
        fn signatures_and_metadata_name_what_exists() {
            let build = |subgraph_index: u32, tensor_index: u32, metadata_buffer: u32| {
                let mut b = FlatBufferBuilder::new();
                let sg = subgraph(&mut b, &[], &[]);
                let name = b.create_string("x").as_union_value();
                let map = table(&mut b, &[F::Off(0, name), F::U32(1, tensor_index)]);
                let maps = tables(&mut b, &[map]);
                let key = b.create_string("serving_default").as_union_value();
                let sig = table(
                    &mut b,
                    &[F::Off(0, maps), F::Off(2, key), F::U32(4, subgraph_index)],
                );
                let sigs = tables(&mut b, &[sig]);
                let mname = b.create_string("min_runtime_version").as_union_value();
                let meta = table(&mut b, &[F::Off(0, mname), F::U32(1, metadata_buffer)]);
                let metas = tables(&mut b, &[meta]);
                model(b, &[sg], &[b"2.6.0"], &[F::Off(6, metas), F::Off(7, sigs)])
            };
            assert!(parse(&build(0, 0, 1)).is_ok());
            refused(
                &build(3, 0, 1),
                "signature 0 is of subgraph 3, but there are 1",
            );
            refused(
                &build(0, 9, 1),
                "signature 0 names tensor 9 of subgraph 0, which has 2",
            );
            // the subgraph's output given as a signature input
            refused(
                &build(0, 1, 1),
                "signature 0 gives tensor 1 as an input, but it is not an input of subgraph 0",
            );
            refused(
                &build(0, 0, 5),
                "metadata 0 is in buffer 5, but there are 2",
            );
        }

        #[test]
        fn fields_lie_inside_their_table() {
            // vtable at 0 (6 bytes: its size, the table's size 8, field 0 at `offset`), the
            // table at 8 pointing back to it
            let table_with_field_at = |offset: u16| {
                let mut bytes = Vec::new();
                for v in [6u16, 8, offset, 0] {
                    bytes.extend_from_slice(&v.to_le_bytes());
                }
                bytes.extend_from_slice(&8i32.to_le_bytes());
                bytes.extend_from_slice(&[0u8; 12]);
                bytes
            };
            let ok = table_with_field_at(4);
            assert!(super::super::Table::at(super::super::Buf(&ok), 8).is_ok());
            let outside = table_with_field_at(12);
            let e = super::super::Table::at(super::super::Buf(&outside), 8)
                .err()
                .unwrap();
            assert!(
                e.0.contains("puts field 0 at offset 12, outside its 8 bytes"),
                "{e}"
            );
        }

        /// A [2,3] float constant stored sparse (CSR: rows dense, columns sparse) with its
        /// traversal order, segments, indices and values.
        fn sparse(order: &[i32], segments: &[i32], indices: &[i32], values: usize) -> Vec<u8> {
            let mut b = FlatBufferBuilder::new();
            let order = ints(&mut b, order);
            let dense = table(&mut b, &[F::U8(0, 0), F::I32(1, 2)]);
            let seg_values = ints(&mut b, segments);
            let seg = table(&mut b, &[F::Off(0, seg_values)]);
            let idx_values = ints(&mut b, indices);
            let idx = table(&mut b, &[F::Off(0, idx_values)]);
            // format SPARSE_CSR, segments and indices as Int32Vector (union 1)
            let csr = table(
                &mut b,
                &[
                    F::U8(0, 1),
                    F::U8(2, 1),
                    F::Off(3, seg),
                    F::U8(4, 1),
                    F::Off(5, idx),
                ],
            );
            let dims = tables(&mut b, &[dense, csr]);
            let sp = table(&mut b, &[F::Off(0, order), F::Off(2, dims)]);
            let t = tensor(&mut b, &[2, 3], 1, &[F::Off(6, sp)]);
            let sg = subgraph(&mut b, &[], &[t]);
            let data = vec![0u8; values * 4];
            model(b, &[sg], &[&data], &[])
        }

        #[test]
        fn sparse_constants_are_checked_as_stored() {
            // rows 0: column 2; row 1: columns 0 and 1 (three values, not the dense six)
            assert!(parse(&sparse(&[0, 1], &[0, 1, 3], &[2, 0, 1], 3)).is_ok());
            refused(
                &sparse(&[0, 1], &[0, 1, 3], &[2, 0, 3], 3),
                "sparse dimension 1: index 3 outside its 3 positions",
            );
            refused(
                &sparse(&[0, 1], &[0, 3], &[2, 0, 1], 3),
                "segments [0, 3] are not 3 offsets running in order from 0 to its 3 indices",
            );
            refused(
                &sparse(&[0, 1], &[0, 2, 1], &[2, 0, 1], 3),
                "segments [0, 2, 1] are not 3 offsets",
            );
            refused(
                &sparse(&[0, 0], &[0, 1, 3], &[2, 0, 1], 3),
                "has traversal order [0, 0], not an order of its 2 dimensions",
            );
            refused(
                &sparse(&[0, 1], &[0, 1, 3], &[2, 0, 1], 2),
                "stores 3 sparse values (12 bytes) but its buffer holds 8",
            );
        }
    }
}
