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
        op_on(b, opcode, &[0], &[1], more)
    }

    /// An operator with op code `opcode` reading and writing the tensors given.
    fn op_on(
        b: &mut FlatBufferBuilder<'_>,
        opcode: u32,
        inputs: &[i32],
        outputs: &[i32],
        more: &[F],
    ) -> U {
        let (i, o) = (ints(b, inputs), ints(b, outputs));
        let mut fields = vec![F::U32(0, opcode), F::Off(1, i), F::Off(2, o)];
        fields.extend(more.iter().copied());
        table(b, &fields)
    }

    /// A model of one subgraph whose operator `opcode` reads tensor 0 and a constant tensor 2
    /// of shape [1,1,1,4] (buffer 1), and writes tensor 1: for operators of two inputs.
    fn with_weights(opcode: u32, more: &[F]) -> Vec<u8> {
        let mut b = FlatBufferBuilder::new();
        let w = tensor(&mut b, &[1, 1, 1, 4], 1, &[]);
        let o = op_on(&mut b, opcode, &[0, 2], &[1], more);
        let sg = subgraph(&mut b, &[o], &[w]);
        model(b, &[sg], &[&[0u8; 16]], &[])
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

    /// The model: op codes WHILE (0), CALL_ONCE (1), RELU (2), STABLEHLO_COMPOSITE (3),
    /// RESHAPE (4), DEPTHWISE_CONV_2D (5), STABLEHLO_GATHER (6), DEQUANTIZE (7);
    /// buffer 0 empty, then one per `data`; more model fields.
    fn model(mut b: FlatBufferBuilder<'_>, subgraphs: &[U], data: &[&[u8]], more: &[F]) -> Vec<u8> {
        let codes: Vec<U> = [119, 129, 19, 206, 22, 4, 201, 6]
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
        // CALL_ONCE takes no inputs and gives no outputs; subgraph 1 gives back its input
        let call = op_on(&mut b, 1, &[], &[], &[F::U8(3, 103), F::Off(4, init)]);
        let sg1 = {
            let ts = {
                let t = tensor(&mut b, &[1, 4], 0, &[]);
                tables(&mut b, &[t])
            };
            let (i, o, ops) = (
                ints(&mut b, &[0]),
                ints(&mut b, &[0]),
                tables(&mut b, &[call]),
            );
            table(
                &mut b,
                &[F::Off(0, ts), F::Off(1, i), F::Off(2, o), F::Off(3, ops)],
            )
        };
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
        let reshape = op(&mut b, 4, &[F::U8(3, 17), F::Off(4, opts)]);
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
    fn operators_carry_their_own_options_with_values_the_kernels_accept() {
        // DEPTHWISE_CONV_2D (op code 5) with options of union member `union`
        let depthwise = |union: u8, fields: &[F]| {
            let mut b = FlatBufferBuilder::new();
            let w = tensor(&mut b, &[1, 1, 1, 4], 1, &[]);
            let opts = table(&mut b, fields);
            let o = op_on(
                &mut b,
                5,
                &[0, 2],
                &[1],
                &[F::U8(3, union), F::Off(4, opts)],
            );
            let sg = subgraph(&mut b, &[o], &[w]);
            model(b, &[sg], &[&[0u8; 16]], &[])
        };
        // strides 2, depth multiplier 1; the dilations are omitted, so the schema's 1
        let strides = [F::I32(1, 2), F::I32(2, 2), F::I32(3, 1)];
        assert!(parse(&depthwise(2, &strides)).is_ok());
        refused(
            &depthwise(18, &strides),
            "subgraph 0 operator 0 (DEPTHWISE_CONV_2D) carries BuiltinOptions member 18, but \
             that operator's is member 2 (DepthwiseConv2DOptions)",
        );
        refused(
            &depthwise(2, &[F::I32(1, 2), F::I32(2, 0)]),
            "(DEPTHWISE_CONV_2D): its options give stride_h = 0, which must be 1 to 32767",
        );
        // a stride of 2^31 - 1 (TensorFlow Lite 2.6's CONV_2D: SIGFPE); every convolution and
        // pool shares the bound
        refused(
            &depthwise(2, &[F::I32(1, i32::MAX), F::I32(2, 1)]),
            "stride_w = 2147483647, which must be 1 to 32767",
        );
        refused(
            &depthwise(2, &[F::I32(1, 1), F::I32(2, 1), F::I32(6, 40_000)]),
            "dilation_h_factor = 40000, which must be 1 to 32767",
        );
        refused(
            &depthwise(2, &[F::I32(1, 1), F::I32(2, 1), F::I32(3, -1)]),
            "depth_multiplier = -1, which must be at least 0",
        );
        // padding is SAME (0) or VALID (1), the activation 0 to 5
        assert!(parse(&depthwise(
            2,
            &[F::U8(0, 1), F::I32(1, 1), F::I32(2, 1), F::U8(4, 5)]
        ))
        .is_ok());
        refused(
            &depthwise(2, &[F::U8(0, 50), F::I32(1, 1), F::I32(2, 1)]),
            "(DEPTHWISE_CONV_2D): its options give padding = 50, which the schema does not define (0 to 1)",
        );
        refused(
            &depthwise(2, &[F::I32(1, 1), F::I32(2, 1), F::U8(4, 0xff)]),
            "fused_activation_function = 255, which the schema does not define (0 to 5)",
        );
        // no options: the engines run it with zeros
        refused(
            &with_weights(5, &[]),
            "it carries no options, so the engines read stride_w = 0, which must be 1 to 32767",
        );
        // RELU (op code 2) needs no options, and has no BuiltinOptions2 member
        let mut b = FlatBufferBuilder::new();
        let o = op(&mut b, 2, &[]);
        let sg = subgraph(&mut b, &[o], &[]);
        assert!(parse(&model(b, &[sg], &[], &[])).is_ok());
        let mut b = FlatBufferBuilder::new();
        let opts = table(&mut b, &[]);
        let o = op(&mut b, 2, &[F::U8(11, 5), F::Off(12, opts)]);
        let sg = subgraph(&mut b, &[o], &[]);
        refused(
            &model(b, &[sg], &[], &[]),
            "(RELU) carries BuiltinOptions2 member 5, but that operator's is none",
        );
        // STABLEHLO_GATHER (op code 6): LiteRT copies its dimension lists into 8 slots
        let gather = |dims: usize| {
            let mut b = FlatBufferBuilder::new();
            let list = b.create_vector(&vec![0i64; dims]).as_union_value();
            let opts = table(&mut b, &[F::Off(0, list)]);
            let w = tensor(&mut b, &[1, 1, 1, 4], 1, &[]);
            let o = op_on(&mut b, 6, &[0, 2], &[1], &[F::U8(11, 16), F::Off(12, opts)]);
            let sg = subgraph(&mut b, &[o], &[w]);
            model(b, &[sg], &[&[0u8; 16]], &[])
        };
        assert!(parse(&gather(8)).is_ok());
        refused(
            &gather(9),
            "(STABLEHLO_GATHER): its options list 9 offset_dims, more than the 8 dimensions",
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
        // an operator reading its own output (TensorFlow Lite 2.6 ended with SIGSEGV)
        let mut b = FlatBufferBuilder::new();
        let (i, o) = (ints(&mut b, &[1]), ints(&mut b, &[1]));
        let reads_own = table(&mut b, &[F::U32(0, 2), F::Off(1, i), F::Off(2, o)]);
        let sg = subgraph(&mut b, &[reads_own], &[]);
        refused(
            &model(b, &[sg], &[], &[]),
            "subgraph 0 operator 0 reads tensor 1 (\"t\"), which no operator before it writes",
        );
        // an operator omitting an input it needs (LiteRT 2.3.0 ended with SIGSEGV on an ADD)
        let mut b = FlatBufferBuilder::new();
        let omits = op_on(&mut b, 2, &[-1], &[1], &[]);
        let sg = subgraph(&mut b, &[omits], &[]);
        refused(
            &model(b, &[sg], &[], &[]),
            "subgraph 0 operator 0 (RELU) omits its input 0 (tensor -1), which the operator needs",
        );
        // an operator with more inputs than its kernel takes (a CUSTOM made SPLIT: LiteRT
        // 2.3.0 ended with SIGSEGV)
        let mut b = FlatBufferBuilder::new();
        let two = op_on(&mut b, 2, &[0, 0], &[1], &[]);
        let sg = subgraph(&mut b, &[two], &[]);
        refused(
            &model(b, &[sg], &[], &[]),
            "subgraph 0 operator 0 (RELU) has 2 inputs, but the operator takes 1",
        );
        // a RELU whose output goes nowhere (TensorFlow Lite 2.6's XNNPACK: SIGSEGV): the
        // subgraph's output is its input, or there is none
        for (outputs, what) in [
            (&[0][..], "subgraph 0 operator 0's outputs ([1]) are read by no operator and are no output of the subgraph"),
            (&[][..], "subgraph 0 has no outputs: the model gives nothing back"),
        ] {
            let mut b = FlatBufferBuilder::new();
            let ts = {
                let (t0, t1) = (tensor(&mut b, &[1, 4], 0, &[]), tensor(&mut b, &[1, 4], 0, &[]));
                tables(&mut b, &[t0, t1])
            };
            let relu = op(&mut b, 2, &[]);
            let (i, o, ops) = (ints(&mut b, &[0]), ints(&mut b, outputs), tables(&mut b, &[relu]));
            let sg = table(&mut b, &[F::Off(0, ts), F::Off(1, i), F::Off(2, o), F::Off(3, ops)]);
            refused(&model(b, &[sg], &[], &[]), what);
        }
        // an input of no elements (TensorFlow Lite 2.6's LOG_SOFTMAX: SIGSEGV)
        let mut b = FlatBufferBuilder::new();
        let ts = {
            let (t0, t1) = (
                tensor(&mut b, &[1, 0], 0, &[]),
                tensor(&mut b, &[1, 4], 0, &[]),
            );
            tables(&mut b, &[t0, t1])
        };
        let relu = op(&mut b, 2, &[]);
        let (i, o, ops) = (
            ints(&mut b, &[0]),
            ints(&mut b, &[1]),
            tables(&mut b, &[relu]),
        );
        let sg = table(
            &mut b,
            &[F::Off(0, ts), F::Off(1, i), F::Off(2, o), F::Off(3, ops)],
        );
        refused(
            &model(b, &[sg], &[], &[]),
            "subgraph 0's input tensor 0 (\"t\") has shape [1, 0], which holds no elements",
        );
        // a DEQUANTIZE of a constant [1,1,1,4] declaring its output [1,4] (LiteRT's XNNPACK
        // reads the constant by the output's shape: SIGSEGV when it is larger)
        let mut b = FlatBufferBuilder::new();
        let w = tensor(&mut b, &[1, 1, 1, 4], 1, &[]);
        let deq = op_on(&mut b, 7, &[2], &[1], &[]);
        let sg = subgraph(&mut b, &[deq], &[w]);
        refused(
            &model(b, &[sg], &[&[0u8; 16]], &[]),
            "subgraph 0 operator 0 (DEQUANTIZE) declares its output 1 (\"t\") with shape [1, 4], but the constant it reads, tensor 2, has shape [1, 1, 1, 4]",
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
