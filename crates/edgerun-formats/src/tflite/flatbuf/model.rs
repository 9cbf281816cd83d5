//! The model table and its subgraphs: every operator's codes, tensors, options and the
//! subgraphs it runs checked against the file, one subgraph at a time.

use std::collections::HashSet;

use super::*;

/// The largest tensor seen so far: where it is, its shape, its size (`None` past 2^128).
type Largest = Option<(String, Vec<i32>, Option<u128>)>;

/// Does a tensor of `size` bytes take the place of `largest`? `None` (past 2^128) is the
/// largest of all; of two the same size, the first stays.
fn larger(largest: &Largest, size: Option<u128>) -> bool {
    largest
        .as_ref()
        .is_none_or(|l| l.2.is_some() && size.is_none_or(|s| Some(s) > l.2))
}

/// What every subgraph's checks read from the model.
struct Context<'a> {
    buf: Buf<'a>,
    file_len: usize,
    /// Each operator code's builtin code and custom name.
    codes: Vec<i32>,
    customs: Vec<Option<String>>,
    buffers: Vec<Table<'a>>,
    subgraphs: usize,
    /// Apply the rules that only keep engines from crashing ([`Depth::Full`]).
    guards: bool,
}

/// One subgraph, checked.
struct Subgraph {
    tensors: Vec<TensorDecl>,
    inputs: Vec<i32>,
    outputs: Vec<i32>,
    /// The subgraphs its operators run.
    calls: Vec<usize>,
    operators: Vec<OpDecl>,
    per_channel_fully_connected: Vec<String>,
    largest: Largest,
    uncommon: Option<String>,
    /// Each operator's output list, in order.
    op_outputs: Vec<Vec<i32>>,
}

/// A subgraph's tensors, as its operators see them.
struct Tensors<'t> {
    decls: &'t [TensorDecl],
    constants: &'t [bool],
    inputs: &'t HashSet<i32>,
    /// Which tensors hold a value no operator writes (see `subgraph`).
    standing: &'t [bool],
    /// Which tensors an operator writes, so far.
    written: Vec<bool>,
    /// Which tensors an operator reads.
    read: Vec<bool>,
}

/// How much of the check a parse applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Depth {
    /// Everything: what edgerun needs to read the file, and the rules that keep the engines
    /// from crashing on it.
    #[default]
    Full,
    /// What edgerun needs to read the file without reading outside it, only. The rules that
    /// exist only because an engine crashes otherwise are skipped: each operator's options
    /// (their union member and values), a subgraph output that no operator writes, and a
    /// signature tensor that is not its subgraph's input or output. For files from a trusted
    /// source, and for finding what the engines do with such files (under containment).
    Reader,
}

impl Depth {
    /// The words a backend setting takes for each depth, in order.
    pub const WORDS: &'static [&'static str] = &["full", "reader"];

    pub fn word(self) -> &'static str {
        match self {
            Depth::Full => "full",
            Depth::Reader => "reader",
        }
    }

    pub fn from_word(word: &str) -> Option<Depth> {
        match word {
            "full" => Some(Depth::Full),
            "reader" => Some(Depth::Reader),
            _ => None,
        }
    }
}

/// What the `*_model_check` settings of the TensorFlow Lite backends say.
pub const DEPTH_HELP: &str = "how much of edgerun's TensorFlow Lite check runs before the library reads a file: full (default), or reader: only what edgerun needs to read the file, skipping the rules that keep the engine from crashing on a damaged one (for trusted files, or under --isolation probe)";

/// Read and check a model ([`Depth::Full`]). Every table, vector and index is checked;
/// constant buffers must be as large as their tensors.
///
/// # Errors
/// [`Invalid`] with what is wrong and where.
pub fn parse(bytes: &[u8]) -> R<ModelDecl> {
    parse_to(bytes, Depth::Full)
}

/// Read and check a model to the given depth.
///
/// # Errors
/// [`Invalid`] with what is wrong and where.
pub fn parse_to(bytes: &[u8], depth: Depth) -> R<ModelDecl> {
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
        // as the engines read it (`GetBuiltinCode`): the larger of the two fields, so that a
        // file written before `builtin_code` existed (0, ADD) reads as its deprecated code
        let deprecated = oc.scalar_u8(0, 0)? as i8 as i32;
        let code = deprecated.max(oc.scalar_i32(3, 0)?);
        codes.push(code);
        customs.push(oc.string(1)?);
    }
    let subgraphs = model.tables(2)?;
    if subgraphs.is_empty() {
        return bad("the model has no subgraph");
    }
    let ctx = Context {
        buf,
        file_len: bytes.len(),
        codes,
        customs,
        buffers: model.tables(4)?,
        subgraphs: subgraphs.len(),
        guards: depth == Depth::Full,
    };
    let mut decl = ModelDecl {
        inputs: Vec::new(),
        outputs: Vec::new(),
        per_channel_fully_connected: Vec::new(),
        operator_count: 0,
        operators: Vec::new(),
        largest: None,
        uncommon: None,
        types: Default::default(),
    };
    let mut calls = Vec::with_capacity(subgraphs.len());
    let mut tensor_counts = Vec::with_capacity(subgraphs.len());
    let mut io = Vec::with_capacity(subgraphs.len());
    for (g, sg) in subgraphs.iter().enumerate() {
        let s = subgraph(&ctx, g, sg)?;
        calls.push(s.calls);
        tensor_counts.push(s.tensors.len());
        io.push((s.inputs.clone(), s.outputs.clone()));
        if let Some(l) = s.largest.filter(|l| larger(&decl.largest, l.2)) {
            decl.largest = Some(l);
        }
        decl.uncommon = decl.uncommon.or(s.uncommon);
        for (t, d) in s.tensors.iter().enumerate() {
            decl.types
                .entry(d.tensor_type)
                .or_insert_with(|| format!("subgraph {g} tensor {t} ({:?})", d.name));
        }
        decl.operator_count += s.operators.len();
        decl.operators.extend(s.operators);
        decl.per_channel_fully_connected
            .extend(s.per_channel_fully_connected);
        if g == 0 {
            let pick = |ix: &[i32]| ix.iter().map(|&i| s.tensors[i as usize].clone()).collect();
            decl.inputs = pick(&s.inputs);
            decl.outputs = pick(&s.outputs);
        }
    }
    if let Some(cycle) = call_cycle(&calls) {
        let path: Vec<String> = cycle.iter().map(usize::to_string).collect();
        return bad(format!(
            "subgraphs run each other in a cycle ({}), which would never end",
            path.join(" -> ")
        ));
    }
    check_model_tables(&model, &tensor_counts, &io, ctx.buffers.len(), ctx.guards)?;
    Ok(decl)
}

/// One subgraph: its tensors, its input and output lists, and each operator; an output that
/// nothing writes would be memory no one allocated.
fn subgraph(ctx: &Context<'_>, g: usize, sg: &Table<'_>) -> R<Subgraph> {
    let tensor_tables = sg.tables(0)?;
    let mut tensors = Vec::with_capacity(tensor_tables.len());
    let mut constants = Vec::with_capacity(tensor_tables.len());
    let mut standing = Vec::with_capacity(tensor_tables.len());
    let mut largest: Largest = None;
    let mut uncommon = None;
    for (t, tt) in tensor_tables.iter().enumerate() {
        let (decl, constant, odd) = tensor(tt, t, g, &ctx.buffers, ctx.file_len)?;
        uncommon = uncommon.or(odd);
        constants.push(constant);
        // a value without a writer: a constant, an empty tensor, data in an external buffer
        // (field 10), a variable (field 5)
        standing.push(
            constant
                || decl.shape.contains(&0)
                || tt.field(10)?.is_some()
                || tt.scalar_u8(5, 0)? != 0,
        );
        let size = declared_bytes(&decl);
        if larger(&largest, size) {
            largest = Some((
                format!("subgraph {g} tensor {t} ({:?})", decl.name),
                decl.shape.clone(),
                size,
            ));
        }
        tensors.push(decl);
    }
    let inputs = sg.i32s(1)?.unwrap_or_default();
    let outputs = sg.i32s(2)?.unwrap_or_default();
    refers(g, tensors.len(), "the input list", &inputs, false)?;
    refers(g, tensors.len(), "the output list", &outputs, false)?;
    // an input of no elements: TensorFlow Lite 2.6's LOG_SOFTMAX ended the process with
    // SIGSEGV on one, and converters give a dynamic dimension as 1 (and -1 in the signature)
    if let Some(&i) = inputs
        .iter()
        .filter(|_| ctx.guards && g == 0)
        .find(|&&i| tensors[i as usize].shape.contains(&0))
    {
        let t = &tensors[i as usize];
        return bad(format!(
            "subgraph 0's input tensor {i} ({:?}) has shape {:?}, which holds no elements",
            t.name, t.shape
        ));
    }
    let is_input: HashSet<i32> = inputs.iter().copied().collect();
    let mut seen = Tensors {
        decls: &tensors,
        constants: &constants,
        inputs: &is_input,
        standing: &standing,
        written: vec![false; tensors.len()],
        read: vec![false; tensors.len()],
    };
    let mut s = Subgraph {
        tensors: Vec::new(),
        inputs: Vec::new(),
        outputs: Vec::new(),
        calls: Vec::new(),
        operators: Vec::new(),
        per_channel_fully_connected: Vec::new(),
        largest,
        uncommon,
        op_outputs: Vec::new(),
    };
    for (k, op) in sg.tables(3)?.iter().enumerate() {
        operator(ctx, g, k, op, &mut seen, &mut s)?;
    }
    if let Some(&o) = outputs
        .iter()
        .filter(|_| ctx.guards)
        .find(|&&o| !(seen.written[o as usize] || is_input.contains(&o) || standing[o as usize]))
    {
        return bad(format!(
            "subgraph {g}'s output tensor {o} ({:?}) is written by no operator",
            tensors[o as usize].name
        ));
    }
    if ctx.guards {
        gives_back(g, &outputs, &seen, &s.op_outputs)?;
    }
    Ok(Subgraph {
        tensors,
        inputs,
        outputs,
        ..s
    })
}

/// Every index of a tensor list names a tensor of the subgraph (`-1`, where `optional`, names
/// none).
fn refers(g: usize, n: usize, what: &str, ix: &[i32], optional: bool) -> R<()> {
    let n = n as i32;
    match ix
        .iter()
        .find(|&&i| i >= n || i < if optional { -1 } else { 0 })
    {
        Some(i) => bad(format!(
            "subgraph {g}: {what} refers to tensor {i}, but there are {n}"
        )),
        None => Ok(()),
    }
}

/// One operator: its code, its options and the subgraphs they run, its custom options, its
/// tensor lists; each tensor it writes has no other writer and is no input or constant.
fn operator(
    ctx: &Context<'_>,
    g: usize,
    k: usize,
    op: &Table<'_>,
    tensors: &mut Tensors<'_>,
    s: &mut Subgraph,
) -> R<()> {
    let ix = op.field(0)?.map_or(Ok(0), |at| ctx.buf.u32(at))? as usize;
    let where_op = || format!("subgraph {g} operator {k}");
    options(ctx, op, &where_op, s)?;
    let Some(&code) = ctx.codes.get(ix) else {
        return bad(format!(
            "subgraph {g} operator {k} uses op code {ix}, but there are {}",
            ctx.codes.len()
        ));
    };
    if ctx.guards {
        check_builtin_options(op, code, &where_op)?;
    }
    let n = tensors.decls.len();
    let op_inputs = op.i32s(1)?.unwrap_or_default();
    refers(
        g,
        n,
        &format!("operator {k}'s input list"),
        &op_inputs,
        true,
    )?;
    let op_outputs = op.i32s(2)?.unwrap_or_default();
    refers(
        g,
        n,
        &format!("operator {k}'s output list"),
        &op_outputs,
        true,
    )?;
    let intermediates = op.i32s(8)?.unwrap_or_default();
    refers(
        g,
        n,
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
    s.operators.push(OpDecl {
        subgraph: g,
        index: k,
        code,
        custom: ctx.customs[ix].clone(),
        output: op_outputs
            .iter()
            .find(|&&o| o >= 0)
            .map(|&o| tensors.decls[o as usize].name.clone()),
    });
    if code == FULLY_CONNECTED {
        if let Some(w) = op_inputs
            .get(1)
            .filter(|&&w| w >= 0)
            .map(|&w| &tensors.decls[w as usize])
        {
            if w.scales.len() > 1 {
                s.per_channel_fully_connected.push(w.name.clone());
            }
        }
    }
    if ctx.guards {
        let name = crate::tflite::types::builtin_name(code);
        if let Some((in_min, in_max, out_min, out_max)) = super::arity::arity(&name) {
            for (what, n, min, max) in [
                ("inputs", op_inputs.len(), in_min, in_max),
                ("outputs", op_outputs.len(), out_min, out_max),
            ] {
                if n < min || max.is_some_and(|m| n > m) {
                    let takes = match max {
                        Some(m) if m == min => format!("{min}"),
                        Some(m) => format!("{min} to {m}"),
                        None => format!("at least {min}"),
                    };
                    return bad(format!(
                        "{} ({name}) has {n} {what}, but the operator takes {takes}",
                        where_op()
                    ));
                }
            }
        }
        if let Some(pos) = op_inputs
            .iter()
            .enumerate()
            .position(|(p, &i)| i < 0 && !omits_input(code, p))
        {
            return bad(format!(
                "{} ({}) omits its input {pos} (tensor -1), which the operator needs",
                where_op(),
                crate::tflite::types::builtin_name(code)
            ));
        }
        reads(tensors, &op_inputs, &where_op)?;
        dequantized_as_declared(tensors, &name, &op_inputs, &op_outputs, &where_op)?;
    }
    writes(tensors, &op_outputs, &where_op)?;
    s.op_outputs.push(op_outputs);
    Ok(())
}

/// A subgraph gives something back, and every operator's work reaches it: each operator with
/// outputs has one that a later operator reads or that is an output of the subgraph.
/// Converters remove operators whose results go nowhere; TensorFlow Lite 2.6's XNNPACK
/// delegate ended the process with SIGSEGV on such a RELU, and on a model without outputs.
fn gives_back(g: usize, outputs: &[i32], tensors: &Tensors<'_>, op_outputs: &[Vec<i32>]) -> R<()> {
    if g == 0 && outputs.is_empty() {
        return bad("subgraph 0 has no outputs: the model gives nothing back");
    }
    for (k, outs) in op_outputs.iter().enumerate() {
        let used = |&&o: &&i32| o < 0 || tensors.read[o as usize] || outputs.contains(&o);
        if !outs.is_empty() && !outs.iter().any(|o| o >= &0 && used(&o)) {
            return bad(format!(
                "subgraph {g} operator {k}'s outputs ({outs:?}) are read by no operator and are no output of the subgraph: its work goes nowhere"
            ));
        }
    }
    Ok(())
}

/// Whether operator `code` may omit input `pos` (give tensor -1): the bias of convolutions
/// and fully connected layers, PAD's padding value, the optional weights and states of the
/// recurrent layers, what control flow and custom operators pass on. Elsewhere the kernels
/// and the XNNPACK delegate take the index as it is: LiteRT 2.3.0 ended the process with
/// SIGSEGV on an ADD whose second input was -1.
fn omits_input(code: i32, pos: usize) -> bool {
    match crate::tflite::types::builtin_name(code).as_str() {
        "CONV_2D" | "DEPTHWISE_CONV_2D" | "FULLY_CONNECTED" | "CONV_3D" => pos == 2,
        "TRANSPOSE_CONV" | "CONV_3D_TRANSPOSE" | "SVDF" => pos == 3,
        "PAD" | "PADV2" => pos == 2,
        "LSTM"
        | "UNIDIRECTIONAL_SEQUENCE_LSTM"
        | "BIDIRECTIONAL_SEQUENCE_LSTM"
        | "BIDIRECTIONAL_SEQUENCE_RNN"
        | "UNIDIRECTIONAL_SEQUENCE_RNN"
        | "RNN" => pos >= 1,
        "WHILE"
        | "IF"
        | "CALL_ONCE"
        | "STABLEHLO_WHILE"
        | "STABLEHLO_CASE"
        | "STABLEHLO_COMPOSITE" => true,
        _ => code == CUSTOM,
    }
}

/// A DEQUANTIZE of a constant declares its output with the constant's shape. The XNNPACK
/// delegate folds such a DEQUANTIZE into the operator that reads its output (float16 weights of
/// a convolution) and reads the constant by the output's declared shape: LiteRT 2.3.0 ended
/// the process with SIGSEGV on a filter declared 65,536 times larger than its data.
fn dequantized_as_declared(
    tensors: &Tensors<'_>,
    name: &str,
    inputs: &[i32],
    outputs: &[i32],
    where_op: &dyn Fn() -> String,
) -> R<()> {
    if name != "DEQUANTIZE" {
        return Ok(());
    }
    let (Some(&i), Some(&o)) = (inputs.first(), outputs.first()) else {
        return Ok(());
    };
    if i < 0 || o < 0 || !tensors.constants[i as usize] {
        return Ok(());
    }
    let (input, output) = (&tensors.decls[i as usize], &tensors.decls[o as usize]);
    if input.shape != output.shape {
        return bad(format!(
            "{} (DEQUANTIZE) declares its output {o} ({:?}) with shape {:?}, but the constant it reads, tensor {i}, has shape {:?}",
            where_op(),
            output.name,
            output.shape,
            input.shape
        ));
    }
    Ok(())
}

/// Each tensor an operator reads has a value when it runs: an input of the subgraph, a value
/// standing in the file (see `subgraph`), or the output of an operator before it (the engines
/// run operators in the file's order). TensorFlow Lite 2.6 ended the process with SIGSEGV on a
/// RELU reading its own output.
fn reads(tensors: &mut Tensors<'_>, inputs: &[i32], where_op: &dyn Fn() -> String) -> R<()> {
    for &i in inputs.iter().filter(|&&i| i >= 0) {
        tensors.read[i as usize] = true;
    }
    match inputs.iter().filter(|&&i| i >= 0).find(|&&i| {
        let i = i as usize;
        !(tensors.written[i] || tensors.standing[i] || tensors.inputs.contains(&(i as i32)))
    }) {
        Some(&i) => bad(format!(
            "{} reads tensor {i} ({:?}), which no operator before it writes and which is neither an input of the subgraph nor a constant",
            where_op(),
            tensors.decls[i as usize].name
        )),
        None => Ok(()),
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
    guards: bool,
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
                if guards && !list.contains(&(t as i32)) {
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

/// An operator's options, as the union's type says, and the subgraphs they run (which must
/// exist); its custom options, inline or after the flatbuffer in models over 2 GB, inside the
/// file.
fn options(
    ctx: &Context<'_>,
    op: &Table<'_>,
    where_op: &dyn Fn() -> String,
    s: &mut Subgraph,
) -> R<()> {
    // options, as the union's type says; the subgraphs they name
    let mut named = Vec::new();
    if let Some(opts) = op.table(4)? {
        let layout = builtin_options(op.scalar_u8(3, 0)?);
        check_options(&opts, &layout, &mut named, where_op)?;
    }
    if let Some(opts) = op.table(12)? {
        let layout = builtin_options_2(op.scalar_u8(11, 0)?);
        check_options(&opts, &layout, &mut named, where_op)?;
    }
    for target in named {
        match usize::try_from(target) {
            Ok(t) if t < ctx.subgraphs => s.calls.push(t),
            _ => {
                return bad(format!(
                    "{} runs subgraph {target}, but there are {}",
                    where_op(),
                    ctx.subgraphs
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
            .is_none_or(|end| end > ctx.file_len as u64)
    {
        return bad(format!(
            "{}'s custom options at offset {offset} (+{size}) lie outside the file",
            where_op()
        ));
    }
    Ok(())
}

/// Each tensor an operator writes has no other writer and is no input of the subgraph and no
/// constant.
fn writes(tensors: &mut Tensors<'_>, outputs: &[i32], where_op: &dyn Fn() -> String) -> R<()> {
    for &o in outputs.iter().filter(|&&o| o >= 0) {
        let why = if tensors.inputs.contains(&o) {
            "an input of the subgraph"
        } else if tensors.constants[o as usize] {
            "a constant"
        } else if std::mem::replace(&mut tensors.written[o as usize], true) {
            "which another operator writes too"
        } else {
            continue;
        };
        return bad(format!("{} writes tensor {o}, {why}", where_op()));
    }
    Ok(())
}
