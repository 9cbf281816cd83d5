//! Structure-aware mutation of model files: changes that keep a file well-formed enough for
//! the readers to take it, so that it reaches the engines' `Prepare` and kernels, where a
//! flipped bit in a random byte mostly does not (most bytes of a model are weights, and most
//! changes to the rest break the container, which the first check refuses).
//!
//! - TensorFlow Lite: the flatbuffer is walked through the fields of the schema that the
//!   engines index and size with (operator codes, operators' tensor indices and options,
//!   tensors' shapes, types, buffers and quantization, vector lengths), and one of them is set
//!   in place to a value chosen for its kind: an options type of another operator, a tensor
//!   index one past the end, a dimension of 0 or -1, a stride of 0.
//! - ONNX: the protobuf is parsed into fields by the schema's field numbers (model, graph,
//!   node, attribute, tensor, value info, type, shape), one field is changed, removed or
//!   repeated, or a node's input is rewired to another value of the graph, and the message is
//!   written back with its lengths recomputed.
//!
//! Every mutation says what it did, so a crash found is reported with its cause. The same
//! seed gives the same mutant.

/// A deterministic random source (xorshift64), so a mutant is named by its seed.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A source for `seed` (any value; zero is moved off the fixed point).
    pub fn new(seed: u64) -> Rng {
        // splitmix64 once, so that neighbouring seeds start far apart
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)) | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A value in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        from[self.below(from.len())]
    }
}

/// A model format the mutators know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Tflite,
    Onnx,
}

impl Format {
    /// The format of a model file, by its content.
    pub fn of(bytes: &[u8]) -> Option<Format> {
        if bytes.get(4..8) == Some(b"TFL3") {
            Some(Format::Tflite)
        } else if bytes.first() == Some(&0x08) {
            // ModelProto starts with ir_version (field 1, varint)
            Some(Format::Onnx)
        } else {
            None
        }
    }
}

/// Apply `count` structure-aware mutations to `original` (whose format is `format`); returns
/// the mutant and one line per mutation. A file the walker cannot read is returned with
/// byte mutations instead.
pub fn structured(format: Format, original: &[u8], count: usize, rng: &mut Rng) -> Mutant {
    let steps: Vec<u64> = (0..count).map(|_| rng.next_u64()).collect();
    steps_of(format, original, &steps).unwrap_or_else(|| bytes(original, count, rng))
}

/// Apply one structure-aware mutation per step, each drawn from its own seed: a fuzzer that
/// changes one step's seed changes that mutation only. `None` when the walker cannot read
/// `original`.
pub fn steps_of(format: Format, original: &[u8], steps: &[u64]) -> Option<Mutant> {
    match format {
        Format::Tflite => tflite::mutate(original, steps),
        Format::Onnx => onnx::mutate(original, steps),
    }
}

/// Apply `count` byte mutations: a flipped bit, or a byte set to a value parsers often trip
/// on (0, 0xff, 0x7f, 0x80).
pub fn bytes(original: &[u8], count: usize, rng: &mut Rng) -> Mutant {
    let mut out = original.to_vec();
    let mut what = Vec::new();
    if out.is_empty() {
        return Mutant { bytes: out, what };
    }
    for _ in 0..count {
        let at = rng.below(out.len());
        let before = out[at];
        out[at] = match rng.below(6) {
            0 => 0,
            1 => 0xff,
            2 => 0x7f,
            3 => 0x80,
            _ => before ^ (1 << rng.below(8)),
        };
        what.push(format!("byte {at}: {before:#04x} -> {:#04x}", out[at]));
    }
    Mutant { bytes: out, what }
}

/// A mutated file and what was done to it.
#[derive(Clone, Debug)]
pub struct Mutant {
    pub bytes: Vec<u8>,
    pub what: Vec<String>,
}

/// Values for a signed integer field of a size: the edges kernels divide by, index with or
/// allocate by.
fn int_value(rng: &mut Rng, size: usize, before: i64) -> i64 {
    let common = [
        0,
        1,
        -1,
        2,
        3,
        before.wrapping_add(1),
        before.wrapping_sub(1),
        before.wrapping_neg(),
    ];
    match rng.below(4) {
        0 | 1 => rng.pick(&common),
        2 => match size {
            1 => rng.pick(&[i8::MAX as i64, i8::MIN as i64, 0x40]),
            2 => rng.pick(&[i16::MAX as i64, i16::MIN as i64, 0x4000]),
            4 => rng.pick(&[i32::MAX as i64, i32::MIN as i64, 1 << 16, 1 << 24, 1 << 30]),
            _ => rng.pick(&[i64::MAX, i64::MIN, 1 << 32, 1 << 40, 1 << 62]),
        },
        _ => rng.below(70) as i64 - 5,
    }
}

mod tflite {
    use super::{int_value, Mutant, Rng};

    /// A place in the file and what kind of value lives there.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Kind {
        /// an inline field of an operator's options table, of the given size
        OptionField(usize),
        /// an operator's `builtin_options_type`
        OptionsType,
        /// an operator's `opcode_index`
        OpcodeIndex,
        /// an operator code's `builtin_code` (i32) or `deprecated_builtin_code` (i8)
        BuiltinCode(usize),
        /// an element of a tensor index list (operator or subgraph inputs and outputs)
        TensorIndex,
        /// an element of a tensor's shape or shape signature
        Dim,
        /// a tensor's type
        TensorType,
        /// a tensor's buffer index
        BufferIndex,
        /// a float of quantization parameters (scale, min, max)
        QuantFloat,
        /// an i64 zero point
        ZeroPoint,
        /// an i32 quantized dimension
        QuantDim,
        /// the length word of a vector
        VectorLength,
        /// a byte of constant data
        Data,
    }

    #[derive(Clone, Copy, Debug)]
    struct Spot {
        at: usize,
        kind: Kind,
    }

    struct Walker<'a> {
        b: &'a [u8],
        spots: Vec<Spot>,
        tensors: usize,
        buffers: usize,
        codes: usize,
    }

    impl Walker<'_> {
        fn u32_at(&self, at: usize) -> Option<u32> {
            let s = self.b.get(at..at.checked_add(4)?)?;
            Some(u32::from_le_bytes(s.try_into().ok()?))
        }
        fn u16_at(&self, at: usize) -> Option<u16> {
            let s = self.b.get(at..at.checked_add(2)?)?;
            Some(u16::from_le_bytes(s.try_into().ok()?))
        }
        /// The vtable of the table at `t`: (vtable position, vtable length, table length).
        fn vtable(&self, t: usize) -> Option<(usize, usize, usize)> {
            let soff = self.u32_at(t)? as i32 as i64;
            let vt = usize::try_from(t as i64 - soff).ok()?;
            let vlen = self.u16_at(vt)? as usize;
            let tlen = self.u16_at(vt + 2)? as usize;
            Some((vt, vlen, tlen))
        }
        /// Where field `i` of the table at `t` lies, if present.
        fn field(&self, t: usize, i: usize) -> Option<usize> {
            let (vt, vlen, _) = self.vtable(t)?;
            if 4 + 2 * i + 2 > vlen {
                return None;
            }
            let off = self.u16_at(vt + 4 + 2 * i)? as usize;
            (off != 0).then_some(t + off)
        }
        /// Follow the offset stored at `at`.
        fn deref(&self, at: usize) -> Option<usize> {
            let t = at.checked_add(self.u32_at(at)? as usize)?;
            (t < self.b.len()).then_some(t)
        }
        /// The vector that field `i` of table `t` points at: (first element, length).
        fn vector(&mut self, t: usize, i: usize) -> Option<(usize, usize)> {
            let v = self.deref(self.field(t, i)?)?;
            let len = self.u32_at(v)? as usize;
            self.spots.push(Spot {
                at: v,
                kind: Kind::VectorLength,
            });
            Some((v + 4, len.min(self.b.len())))
        }
        /// The tables of a vector of tables.
        fn tables(&mut self, t: usize, i: usize) -> Vec<usize> {
            let Some((first, len)) = self.vector(t, i) else {
                return Vec::new();
            };
            (0..len).filter_map(|k| self.deref(first + 4 * k)).collect()
        }
        fn scalar(&mut self, t: usize, i: usize, kind: Kind) {
            if let Some(at) = self.field(t, i) {
                self.spots.push(Spot { at, kind });
            }
        }
        fn elements(&mut self, t: usize, i: usize, size: usize, kind: Kind) {
            if let Some((first, len)) = self.vector(t, i) {
                for k in 0..len.min(4096) {
                    self.spots.push(Spot {
                        at: first + size * k,
                        kind,
                    });
                }
            }
        }

        /// Every inline field of an options table, sized by the gap to the next field.
        fn options(&mut self, t: usize) {
            let Some((vt, vlen, tlen)) = self.vtable(t) else {
                return;
            };
            let mut offs: Vec<usize> = (0..(vlen.saturating_sub(4)) / 2)
                .filter_map(|i| self.u16_at(vt + 4 + 2 * i).map(|o| o as usize))
                .filter(|&o| o >= 4)
                .collect();
            offs.sort_unstable();
            offs.dedup();
            for (k, &o) in offs.iter().enumerate() {
                let end = offs.get(k + 1).copied().unwrap_or(tlen).max(o + 1);
                let gap = (end - o).min(8);
                // the largest power of two the gap holds: a field is aligned to its size
                let size = [8, 4, 2, 1].into_iter().find(|s| *s <= gap).unwrap_or(1);
                self.spots.push(Spot {
                    at: t + o,
                    kind: Kind::OptionField(size),
                });
            }
        }

        fn walk(&mut self) -> Option<()> {
            let root = self.u32_at(0)? as usize;
            for code in self.tables(root, 1) {
                self.codes += 1;
                self.scalar(code, 0, Kind::BuiltinCode(1));
                self.scalar(code, 3, Kind::BuiltinCode(4));
            }
            let buffers = self.tables(root, 4);
            self.buffers = buffers.len();
            for buffer in buffers {
                if let Some((first, len)) = self.vector(buffer, 0) {
                    for k in 0..len.min(64) {
                        let at = first + (k * 7919) % len.max(1);
                        self.spots.push(Spot {
                            at,
                            kind: Kind::Data,
                        });
                    }
                }
            }
            for graph in self.tables(root, 2) {
                let tensors = self.tables(graph, 0);
                self.tensors = self.tensors.max(tensors.len());
                for t in tensors {
                    self.elements(t, 0, 4, Kind::Dim);
                    self.scalar(t, 1, Kind::TensorType);
                    self.scalar(t, 2, Kind::BufferIndex);
                    self.elements(t, 7, 4, Kind::Dim);
                    if let Some(q) = self.field(t, 4).and_then(|at| self.deref(at)) {
                        self.elements(q, 0, 4, Kind::QuantFloat);
                        self.elements(q, 1, 4, Kind::QuantFloat);
                        self.elements(q, 2, 4, Kind::QuantFloat);
                        self.elements(q, 3, 8, Kind::ZeroPoint);
                        self.scalar(q, 6, Kind::QuantDim);
                    }
                }
                self.elements(graph, 1, 4, Kind::TensorIndex);
                self.elements(graph, 2, 4, Kind::TensorIndex);
                for op in self.tables(graph, 3) {
                    self.scalar(op, 0, Kind::OpcodeIndex);
                    self.elements(op, 1, 4, Kind::TensorIndex);
                    self.elements(op, 2, 4, Kind::TensorIndex);
                    self.elements(op, 8, 4, Kind::TensorIndex);
                    self.scalar(op, 3, Kind::OptionsType);
                    if let Some(o) = self.field(op, 4).and_then(|at| self.deref(at)) {
                        self.options(o);
                    }
                    self.scalar(op, 11, Kind::OptionsType);
                    if let Some(o) = self.field(op, 12).and_then(|at| self.deref(at)) {
                        self.options(o);
                    }
                }
            }
            Some(())
        }
    }

    fn write(b: &mut [u8], at: usize, size: usize, v: i64) -> Option<i64> {
        let end = at.checked_add(size)?;
        let slot = b.get_mut(at..end)?;
        let mut before = [0u8; 8];
        before[..size].copy_from_slice(slot);
        slot.copy_from_slice(&v.to_le_bytes()[..size]);
        // sign-extend what was there, to report it
        let shift = 64 - 8 * size as u32;
        Some(i64::from_le_bytes(before).wrapping_shl(shift) >> shift)
    }

    pub(super) fn mutate(original: &[u8], steps: &[u64]) -> Option<Mutant> {
        let mut w = Walker {
            b: original,
            spots: Vec::new(),
            tensors: 0,
            buffers: 0,
            codes: 0,
        };
        w.walk()?;
        if w.spots.is_empty() {
            return None;
        }
        // a kind first, then a place of that kind: the few options types would drown among
        // thousands of data bytes otherwise
        let mut kinds: Vec<Kind> = w.spots.iter().map(|s| s.kind).collect();
        kinds.sort_by_key(|k| format!("{k:?}"));
        kinds.dedup();
        let (tensors, buffers, codes) = (w.tensors as i64, w.buffers as i64, w.codes as i64);
        let mut out = original.to_vec();
        let mut what = Vec::new();
        for &step in steps {
            let rng = &mut Rng::new(step);
            let kind = kinds[rng.below(kinds.len())];
            let places: Vec<Spot> = w.spots.iter().filter(|s| s.kind == kind).copied().collect();
            let spot = places[rng.below(places.len())];
            // a value anywhere in a valid range, drawn before the edges are
            let any = |rng: &mut Rng, n: i64| rng.below(n.max(1) as usize) as i64;
            let (r_codes, r_tensors, r_64, r_20, r_buffers) = (
                any(rng, codes),
                any(rng, tensors),
                any(rng, 64),
                any(rng, 20),
                any(rng, buffers),
            );
            let (size, value) = match kind {
                Kind::OptionField(size) => {
                    let size = if rng.below(4) == 0 { 1 } else { size };
                    (size, int_value(rng, size, 0))
                }
                Kind::OptionsType => (1, rng.below(128) as i64),
                Kind::OpcodeIndex => (4, rng.pick(&[codes, codes - 1, -1, r_codes])),
                Kind::BuiltinCode(size) => {
                    (size, rng.below(if size == 1 { 128 } else { 220 }) as i64)
                }
                Kind::TensorIndex => (
                    4,
                    rng.pick(&[-1, tensors, tensors - 1, 0, i32::MAX as i64, r_tensors]),
                ),
                Kind::Dim => (
                    4,
                    rng.pick(&[0, -1, 1, 2, 3, 1 << 16, 1 << 30, i32::MIN as i64, r_64]),
                ),
                Kind::TensorType => (1, rng.pick(&[r_20, -1, 0x7f])),
                Kind::BufferIndex => (4, rng.pick(&[0, buffers, buffers - 1, -1, r_buffers])),
                Kind::QuantFloat => (
                    4,
                    rng.pick(&[0.0f32, -1.0, f32::NAN, f32::INFINITY, 1e-30, 1e30, 1e-45])
                        .to_bits() as i64,
                ),
                Kind::ZeroPoint => (8, int_value(rng, 8, 0)),
                Kind::QuantDim => (4, rng.pick(&[-1, 1, 2, 3, 4, 8, i32::MAX as i64])),
                Kind::VectorLength => {
                    let before = w.u32_at(spot.at).unwrap_or(0) as i64;
                    (
                        4,
                        rng.pick(&[
                            0,
                            before - 1,
                            before + 1,
                            before * 2,
                            1 << 30,
                            u32::MAX as i64,
                        ]),
                    )
                }
                Kind::Data => (1, rng.below(256) as i64),
            };
            if let Some(before) = write(&mut out, spot.at, size, value) {
                what.push(format!(
                    "{kind:?} at byte {}: {before} -> {value} ({size} bytes)",
                    spot.at
                ));
            }
        }
        Some(Mutant { bytes: out, what })
    }
}

mod onnx {
    use super::{int_value, Mutant, Rng};

    /// The messages of the schema that the mutator looks into.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Msg {
        Model,
        Graph,
        Node,
        Attribute,
        Tensor,
        ValueInfo,
        Type,
        TypeWrap,
        TensorType,
        Shape,
        Dim,
        OpSet,
    }

    /// The message a length-delimited field holds, by the schema (onnx.proto field numbers).
    fn child(m: Msg, field: u64) -> Option<Msg> {
        use Msg::*;
        Some(match (m, field) {
            (Model, 7) => Graph,
            (Model, 8) => OpSet,
            (Graph, 1) => Node,
            (Graph, 5) => Tensor,
            (Graph, 11..=13) => ValueInfo,
            (Node, 5) => Attribute,
            (Attribute, 5 | 10) => Tensor,
            (Attribute, 6 | 11) => Graph,
            (ValueInfo, 2) => Type,
            (Type, 1) => TensorType,
            (Type, 4 | 9) => TypeWrap,
            (TypeWrap, 1) => Type,
            (TensorType, 2) => Shape,
            (Shape, 1) => Dim,
            _ => return None,
        })
    }

    /// Repeated integer fields that writers may pack.
    fn packed_ints(m: Msg, field: u64) -> bool {
        matches!(
            (m, field),
            (Msg::Attribute, 8) | (Msg::Tensor, 1 | 5 | 7 | 11)
        )
    }

    #[derive(Clone, Debug)]
    enum Value {
        Varint(u64),
        Fixed64([u8; 8]),
        Fixed32([u8; 4]),
        Bytes(Vec<u8>),
        Packed(Vec<u64>),
        Message(Msg, Vec<Field>),
    }

    #[derive(Clone, Debug)]
    struct Field {
        num: u64,
        value: Value,
    }

    fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = *b.get(*at)?;
            *at += 1;
            v |= ((byte & 0x7f) as u64).checked_shl(shift).unwrap_or(0);
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn parse(m: Msg, b: &[u8]) -> Option<Vec<Field>> {
        let mut at = 0;
        let mut fields = Vec::new();
        while at < b.len() {
            let tag = varint(b, &mut at)?;
            let num = tag >> 3;
            let value = match tag & 7 {
                0 => Value::Varint(varint(b, &mut at)?),
                1 => {
                    let s = b.get(at..at + 8)?;
                    at += 8;
                    Value::Fixed64(s.try_into().ok()?)
                }
                5 => {
                    let s = b.get(at..at + 4)?;
                    at += 4;
                    Value::Fixed32(s.try_into().ok()?)
                }
                2 => {
                    let len = usize::try_from(varint(b, &mut at)?).ok()?;
                    let s = b.get(at..at.checked_add(len)?)?;
                    at += len;
                    if let Some(c) = child(m, num) {
                        Value::Message(c, parse(c, s)?)
                    } else if packed_ints(m, num) {
                        let mut k = 0;
                        let mut vs = Vec::new();
                        while k < s.len() {
                            vs.push(varint(s, &mut k)?);
                        }
                        Value::Packed(vs)
                    } else {
                        Value::Bytes(s.to_vec())
                    }
                }
                _ => return None,
            };
            fields.push(Field { num, value });
        }
        Some(fields)
    }

    fn put_varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    fn write(fields: &[Field], out: &mut Vec<u8>) {
        for f in fields {
            let wire = match f.value {
                Value::Varint(_) => 0,
                Value::Fixed64(_) => 1,
                Value::Fixed32(_) => 5,
                _ => 2,
            };
            put_varint(out, f.num << 3 | wire);
            match &f.value {
                Value::Varint(v) => put_varint(out, *v),
                Value::Fixed64(b) => out.extend_from_slice(b),
                Value::Fixed32(b) => out.extend_from_slice(b),
                Value::Bytes(b) => {
                    put_varint(out, b.len() as u64);
                    out.extend_from_slice(b);
                }
                Value::Packed(vs) => {
                    let mut body = Vec::new();
                    for v in vs {
                        put_varint(&mut body, *v);
                    }
                    put_varint(out, body.len() as u64);
                    out.extend_from_slice(&body);
                }
                Value::Message(_, inner) => {
                    let mut body = Vec::new();
                    write(inner, &mut body);
                    put_varint(out, body.len() as u64);
                    out.extend_from_slice(&body);
                }
            }
        }
    }

    /// A path to a field: indices into nested field lists.
    type Path = Vec<usize>;

    /// Every field's path, with the message it is in; and the names of the graph's values.
    fn index(
        fields: &[Field],
        m: Msg,
        prefix: &mut Path,
        out: &mut Vec<(Path, Msg)>,
        names: &mut Vec<Vec<u8>>,
    ) {
        for (k, f) in fields.iter().enumerate() {
            prefix.push(k);
            out.push((prefix.clone(), m));
            match &f.value {
                Value::Message(c, inner) => index(inner, *c, prefix, out, names),
                Value::Bytes(b) if m == Msg::Node && (f.num == 1 || f.num == 2) => {
                    names.push(b.clone())
                }
                _ => {}
            }
            prefix.pop();
        }
    }

    fn get_mut<'a>(
        fields: &'a mut Vec<Field>,
        path: &[usize],
    ) -> Option<(&'a mut Vec<Field>, usize)> {
        let (&last, parents) = path.split_last()?;
        let mut list = fields;
        for &k in parents {
            match &mut list.get_mut(k)?.value {
                Value::Message(_, inner) => list = inner,
                _ => return None,
            }
        }
        (last < list.len()).then_some((list, last))
    }

    /// Operators a rewritten `op_type` is drawn from besides those of the model: ones with
    /// shape logic, axes, indices or divisions.
    const OPS: &[&str] = &[
        "Conv",
        "ConvTranspose",
        "MaxPool",
        "AveragePool",
        "GlobalAveragePool",
        "Gemm",
        "MatMul",
        "Reshape",
        "Transpose",
        "Concat",
        "Split",
        "Slice",
        "Gather",
        "GatherElements",
        "GatherND",
        "ScatterND",
        "Squeeze",
        "Unsqueeze",
        "Flatten",
        "Expand",
        "Tile",
        "Pad",
        "Resize",
        "Softmax",
        "LogSoftmax",
        "ReduceMean",
        "ReduceSum",
        "ArgMax",
        "TopK",
        "Div",
        "Mod",
        "Pow",
        "Add",
        "Mul",
        "Relu",
        "Clip",
        "BatchNormalization",
        "InstanceNormalization",
        "LayerNormalization",
        "Cast",
        "Shape",
        "Size",
        "ConstantOfShape",
        "Range",
        "OneHot",
        "DepthToSpace",
        "SpaceToDepth",
        "LSTM",
        "GRU",
        "Einsum",
        "CumSum",
        "NonZero",
        "Where",
        "QuantizeLinear",
        "DequantizeLinear",
        "QLinearConv",
        "ConvInteger",
        "MatMulInteger",
    ];

    pub(super) fn mutate(original: &[u8], steps: &[u64]) -> Option<Mutant> {
        let mut model = parse(Msg::Model, original)?;
        let mut what = Vec::new();
        for &step in steps {
            let rng = &mut Rng::new(step);
            let mut paths = Vec::new();
            let mut names = Vec::new();
            index(&model, Msg::Model, &mut Vec::new(), &mut paths, &mut names);
            if paths.is_empty() {
                break;
            }
            // weigh the kinds of change: fields of nodes and attributes, where kernels look,
            // above the rest
            let pick = if rng.below(3) > 0 {
                let near: Vec<&(Path, Msg)> = paths
                    .iter()
                    .filter(|(_, m)| {
                        matches!(m, Msg::Node | Msg::Attribute | Msg::Dim | Msg::Tensor)
                    })
                    .collect();
                if near.is_empty() {
                    paths[rng.below(paths.len())].clone()
                } else {
                    near[rng.below(near.len())].clone()
                }
            } else {
                paths[rng.below(paths.len())].clone()
            };
            let (path, msg) = pick;
            let Some((list, k)) = get_mut(&mut model, &path) else {
                continue;
            };
            let num = list[k].num;
            let place = format!("{msg:?} field {num} at {path:?}");
            match rng.below(10) {
                // remove a field (a node, an input, an attribute, a dimension)
                0 => {
                    list.remove(k);
                    what.push(format!("{place}: removed"));
                    continue;
                }
                // repeat it
                1 => {
                    let f = list[k].clone();
                    list.insert(k, f);
                    what.push(format!("{place}: repeated"));
                    continue;
                }
                _ => {}
            }
            let change = match &mut list[k].value {
                Value::Varint(v) => {
                    let before = *v as i64;
                    let after = int_value(rng, 8, before);
                    *v = after as u64;
                    format!("{before} -> {after}")
                }
                Value::Packed(vs) if !vs.is_empty() => {
                    let i = rng.below(vs.len());
                    let before = vs[i] as i64;
                    let after = int_value(rng, 8, before);
                    vs[i] = after as u64;
                    format!("element {i}: {before} -> {after}")
                }
                Value::Fixed32(b) => {
                    let after = rng.pick(&[
                        0.0f32,
                        -1.0,
                        f32::NAN,
                        f32::INFINITY,
                        f32::NEG_INFINITY,
                        1e30,
                        1e-45,
                    ]);
                    *b = after.to_le_bytes();
                    format!("-> {after}")
                }
                Value::Fixed64(b) => {
                    let after = int_value(rng, 8, i64::from_le_bytes(*b));
                    *b = after.to_le_bytes();
                    format!("-> {after}")
                }
                Value::Bytes(b) => {
                    let text = std::str::from_utf8(b).is_ok() && b.len() < 128;
                    if msg == Msg::Node && (num == 1 || num == 2) && !names.is_empty() {
                        // rewire: another value of the graph, or none
                        let to = if rng.below(5) == 0 {
                            Vec::new()
                        } else {
                            names[rng.below(names.len())].clone()
                        };
                        let c = format!(
                            "{:?} -> {:?}",
                            String::from_utf8_lossy(b),
                            String::from_utf8_lossy(&to)
                        );
                        *b = to;
                        c
                    } else if msg == Msg::Node && num == 4 {
                        let to = rng.pick(OPS);
                        let c = format!("op {:?} -> {to:?}", String::from_utf8_lossy(b));
                        *b = to.as_bytes().to_vec();
                        c
                    } else if text {
                        let c = format!("{:?} -> \"\"", String::from_utf8_lossy(b));
                        b.clear();
                        c
                    } else {
                        // raw data: cut short, grown, or a byte changed
                        let len = b.len();
                        match rng.below(3) {
                            0 => {
                                b.truncate(len / 2);
                                format!("{len} bytes cut to {}", len / 2)
                            }
                            1 => {
                                b.extend_from_slice(&[0x7f; 4]);
                                format!("{len} bytes grown by 4")
                            }
                            _ if len > 0 => {
                                let i = rng.below(len);
                                b[i] = rng.below(256) as u8;
                                format!("byte {i} of {len} -> {}", b[i])
                            }
                            _ => "empty, unchanged".into(),
                        }
                    }
                }
                Value::Message(..) | Value::Packed(_) => {
                    let f = list.remove(k);
                    list.push(f);
                    "moved to the end".into()
                }
            };
            what.push(format!("{place}: {change}"));
        }
        let mut out = Vec::new();
        write(&model, &mut out);
        Some(Mutant { bytes: out, what })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_parsed_model_writes_back_byte_for_byte() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/dynamic_mlp.onnx");
            let original = std::fs::read(path).unwrap();
            let fields = parse(Msg::Model, &original).unwrap();
            let mut out = Vec::new();
            write(&fields, &mut out);
            assert_eq!(out, original);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../../models/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn structured_mutants_change_the_file_and_say_how() {
        for name in ["mobilenetv2_mini_int8.tflite", "dynamic_mlp.onnx"] {
            let original = model(name);
            let format = Format::of(&original).unwrap();
            let mut changed = 0;
            for seed in 0..60 {
                let m = structured(format, &original, 2, &mut Rng::new(seed));
                assert!(!m.what.is_empty(), "{name}: seed {seed} said nothing");
                changed += usize::from(m.bytes != original);
            }
            // a change may write the value that was there; most do not
            assert!(changed > 45, "{name}: only {changed} of 60 mutants differ");
        }
    }

    #[test]
    fn tflite_mutants_reach_options_types_and_tensor_indices() {
        let original = model("mobilenetv2_mini_int8.tflite");
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let m = structured(Format::Tflite, &original, 1, &mut Rng::new(seed));
            seen.insert(m.what[0].split(' ').next().unwrap().to_string());
        }
        for kind in [
            "OptionsType",
            "TensorIndex",
            "Dim",
            "TensorType",
            "VectorLength",
        ] {
            assert!(seen.contains(kind), "no {kind} mutation among {seen:?}");
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_mutant() {
        let original = model("dynamic_mlp.onnx");
        let a = structured(Format::Onnx, &original, 3, &mut Rng::new(7));
        let b = structured(Format::Onnx, &original, 3, &mut Rng::new(7));
        assert_eq!(a.bytes, b.bytes);
        assert_eq!(a.what, b.what);
    }
}
