//! Which options table each builtin operator carries, and the options fields that the engines
//! divide by, index with or size buffers with.
//!
//! TensorFlow Lite's and LiteRT's model parser reads an operator's options only through the
//! union member its operator code expects. Options of another type count as absent, and absent
//! options give the kernel all-zero parameters, not the schema's defaults: a stride of 0 that
//! the schema would never write. Some kernels divide by those fields before checking them
//! (TensorFlow Lite 2.6's depthwise convolution does), so a flipped union type crashes the
//! process. The table follows the schema and the parser, `flatbuffer_conversions.cc`, of
//! LiteRT at f674577 (the union numbering is append-only, so older schemas are a prefix); what
//! the check covers and what it leaves to the engines is in docs/security.md.

use super::*;
use crate::tflite::types::builtin_name;

/// The options an operator code carries: its `BuiltinOptions` member and its
/// `BuiltinOptions2` member (1-based, 0 for none), and the table's name. A table that the parser never reads still
/// counts when the schema names it for the operator (PadOptions for PAD): converters write it.
fn expected(code: i32) -> (u8, u8, &'static str) {
    match code {
        0 => (11, 0, "AddOptions"),                         // ADD
        1 => (5, 0, "Pool2DOptions"),                       // AVERAGE_POOL_2D
        2 => (10, 0, "ConcatenationOptions"),               // CONCATENATION
        3 => (1, 0, "Conv2DOptions"),                       // CONV_2D
        4 => (2, 0, "DepthwiseConv2DOptions"),              // DEPTHWISE_CONV_2D
        5 => (94, 0, "DepthToSpaceOptions"),                // DEPTH_TO_SPACE
        6 => (38, 0, "DequantizeOptions"),                  // DEQUANTIZE
        9 => (8, 0, "FullyConnectedOptions"),               // FULLY_CONNECTED
        11 => (12, 0, "L2NormOptions"),                     // L2_NORMALIZATION
        12 => (5, 0, "Pool2DOptions"),                      // L2_POOL_2D
        13 => (13, 0, "LocalResponseNormalizationOptions"), // LOCAL_RESPONSE_NORMALIZATION
        15 => (4, 0, "LSHProjectionOptions"),               // LSH_PROJECTION
        16 => (14, 0, "LSTMOptions"),                       // LSTM
        17 => (5, 0, "Pool2DOptions"),                      // MAX_POOL_2D
        18 => (21, 0, "MulOptions"),                        // MUL
        22 => (17, 0, "ReshapeOptions"),                    // RESHAPE
        23 => (15, 0, "ResizeBilinearOptions"),             // RESIZE_BILINEAR
        24 => (7, 0, "RNNOptions"),                         // RNN
        25 => (9, 0, "SoftmaxOptions"),                     // SOFTMAX
        26 => (19, 0, "SpaceToDepthOptions"),               // SPACE_TO_DEPTH
        27 => (6, 0, "SVDFOptions"),                        // SVDF
        29 => (3, 0, "ConcatEmbeddingsOptions"),            // CONCAT_EMBEDDINGS
        30 => (18, 0, "SkipGramOptions"),                   // SKIP_GRAM
        31 => (16, 0, "CallOptions"),                       // CALL
        33 => (20, 0, "EmbeddingLookupSparseOptions"),      // EMBEDDING_LOOKUP_SPARSE
        34 => (22, 0, "PadOptions"),                        // PAD
        35 => (31, 0, "SequenceRNNOptions"),                // UNIDIRECTIONAL_SEQUENCE_RNN
        36 => (23, 0, "GatherOptions"),                     // GATHER
        37 => (24, 0, "BatchToSpaceNDOptions"),             // BATCH_TO_SPACE_ND
        38 => (25, 0, "SpaceToBatchNDOptions"),             // SPACE_TO_BATCH_ND
        39 => (26, 0, "TransposeOptions"),                  // TRANSPOSE
        40 => (27, 0, "ReducerOptions"),                    // MEAN
        41 => (28, 0, "SubOptions"),                        // SUB
        42 => (29, 0, "DivOptions"),                        // DIV
        43 => (30, 0, "SqueezeOptions"),                    // SQUEEZE
        44 => (71, 0, "UnidirectionalSequenceLSTMOptions"), // UNIDIRECTIONAL_SEQUENCE_LSTM
        45 => (32, 0, "StridedSliceOptions"),               // STRIDED_SLICE
        46 => (70, 0, "BidirectionalSequenceRNNOptions"),   // BIDIRECTIONAL_SEQUENCE_RNN
        47 => (33, 0, "ExpOptions"),                        // EXP
        48 => (34, 0, "TopKV2Options"),                     // TOPK_V2
        49 => (35, 0, "SplitOptions"),                      // SPLIT
        50 => (36, 0, "LogSoftmaxOptions"),                 // LOG_SOFTMAX
        52 => (69, 0, "BidirectionalSequenceLSTMOptions"),  // BIDIRECTIONAL_SEQUENCE_LSTM
        53 => (37, 0, "CastOptions"),                       // CAST
        55 => (39, 0, "MaximumMinimumOptions"),             // MAXIMUM
        56 => (40, 0, "ArgMaxOptions"),                     // ARG_MAX
        57 => (39, 0, "MaximumMinimumOptions"),             // MINIMUM
        58 => (41, 0, "LessOptions"),                       // LESS
        59 => (42, 0, "NegOptions"),                        // NEG
        60 => (43, 0, "PadV2Options"),                      // PADV2
        61 => (44, 0, "GreaterOptions"),                    // GREATER
        62 => (45, 0, "GreaterEqualOptions"),               // GREATER_EQUAL
        63 => (46, 0, "LessEqualOptions"),                  // LESS_EQUAL
        64 => (47, 0, "SelectOptions"),                     // SELECT
        65 => (48, 0, "SliceOptions"),                      // SLICE
        67 => (49, 0, "TransposeConvOptions"),              // TRANSPOSE_CONV
        68 => (50, 0, "SparseToDenseOptions"),              // SPARSE_TO_DENSE
        69 => (51, 0, "TileOptions"),                       // TILE
        70 => (52, 0, "ExpandDimsOptions"),                 // EXPAND_DIMS
        71 => (53, 0, "EqualOptions"),                      // EQUAL
        72 => (54, 0, "NotEqualOptions"),                   // NOT_EQUAL
        74 => (27, 0, "ReducerOptions"),                    // SUM
        77 => (55, 0, "ShapeOptions"),                      // SHAPE
        78 => (56, 0, "PowOptions"),                        // POW
        79 => (57, 0, "ArgMinOptions"),                     // ARG_MIN
        80 => (58, 0, "FakeQuantOptions"),                  // FAKE_QUANT
        81 => (27, 0, "ReducerOptions"),                    // REDUCE_PROD
        82 => (27, 0, "ReducerOptions"),                    // REDUCE_MAX
        83 => (59, 0, "PackOptions"),                       // PACK
        84 => (60, 0, "LogicalOrOptions"),                  // LOGICAL_OR
        85 => (61, 0, "OneHotOptions"),                     // ONE_HOT
        86 => (62, 0, "LogicalAndOptions"),                 // LOGICAL_AND
        87 => (63, 0, "LogicalNotOptions"),                 // LOGICAL_NOT
        88 => (64, 0, "UnpackOptions"),                     // UNPACK
        89 => (27, 0, "ReducerOptions"),                    // REDUCE_MIN
        90 => (65, 0, "FloorDivOptions"),                   // FLOOR_DIV
        91 => (27, 0, "ReducerOptions"),                    // REDUCE_ANY
        92 => (66, 0, "SquareOptions"),                     // SQUARE
        93 => (67, 0, "ZerosLikeOptions"),                  // ZEROS_LIKE
        94 => (68, 0, "FillOptions"),                       // FILL
        95 => (72, 0, "FloorModOptions"),                   // FLOOR_MOD
        96 => (73, 0, "RangeOptions"),                      // RANGE
        97 => (74, 0, "ResizeNearestNeighborOptions"),      // RESIZE_NEAREST_NEIGHBOR
        98 => (75, 0, "LeakyReluOptions"),                  // LEAKY_RELU
        99 => (76, 0, "SquaredDifferenceOptions"),          // SQUARED_DIFFERENCE
        100 => (77, 0, "MirrorPadOptions"),                 // MIRROR_PAD
        101 => (78, 0, "AbsOptions"),                       // ABS
        102 => (79, 0, "SplitVOptions"),                    // SPLIT_V
        103 => (80, 0, "UniqueOptions"),                    // UNIQUE
        105 => (81, 0, "ReverseV2Options"),                 // REVERSE_V2
        106 => (82, 0, "AddNOptions"),                      // ADD_N
        107 => (83, 0, "GatherNdOptions"),                  // GATHER_ND
        108 => (84, 0, "CosOptions"),                       // COS
        109 => (85, 0, "WhereOptions"),                     // WHERE
        110 => (86, 0, "RankOptions"),                      // RANK
        112 => (87, 0, "ReverseSequenceOptions"),           // REVERSE_SEQUENCE
        113 => (88, 0, "MatrixDiagOptions"),                // MATRIX_DIAG
        114 => (89, 0, "QuantizeOptions"),                  // QUANTIZE
        115 => (90, 0, "MatrixSetDiagOptions"),             // MATRIX_SET_DIAG
        117 => (91, 0, "HardSwishOptions"),                 // HARD_SWISH
        118 => (92, 0, "IfOptions"),                        // IF
        119 => (93, 0, "WhileOptions"),                     // WHILE
        120 => (95, 0, "NonMaxSuppressionV4Options"),       // NON_MAX_SUPPRESSION_V4
        121 => (96, 0, "NonMaxSuppressionV5Options"),       // NON_MAX_SUPPRESSION_V5
        122 => (97, 0, "ScatterNdOptions"),                 // SCATTER_ND
        123 => (98, 0, "SelectV2Options"),                  // SELECT_V2
        124 => (99, 0, "DensifyOptions"),                   // DENSIFY
        125 => (100, 0, "SegmentSumOptions"),               // SEGMENT_SUM
        126 => (101, 0, "BatchMatMulOptions"),              // BATCH_MATMUL
        128 => (102, 0, "CumsumOptions"),                   // CUMSUM
        129 => (103, 0, "CallOnceOptions"),                 // CALL_ONCE
        130 => (104, 0, "BroadcastToOptions"),              // BROADCAST_TO
        131 => (105, 0, "Rfft2dOptions"),                   // RFFT2D
        132 => (106, 0, "Conv3DOptions"),                   // CONV_3D
        136 => (107, 0, "HashtableOptions"),                // HASHTABLE
        137 => (108, 0, "HashtableFindOptions"),            // HASHTABLE_FIND
        138 => (109, 0, "HashtableImportOptions"),          // HASHTABLE_IMPORT
        139 => (110, 0, "HashtableSizeOptions"),            // HASHTABLE_SIZE
        140 => (27, 0, "ReducerOptions"),                   // REDUCE_ALL
        141 => (106, 0, "Conv3DOptions"),                   // CONV_3D_TRANSPOSE
        142 => (111, 0, "VarHandleOptions"),                // VAR_HANDLE
        143 => (112, 0, "ReadVariableOptions"),             // READ_VARIABLE
        144 => (113, 0, "AssignVariableOptions"),           // ASSIGN_VARIABLE
        146 => (114, 0, "RandomOptions"),                   // RANDOM_STANDARD_NORMAL
        147 => (115, 0, "BucketizeOptions"),                // BUCKETIZE
        148 => (114, 0, "RandomOptions"),                   // RANDOM_UNIFORM
        149 => (114, 0, "RandomOptions"),                   // MULTINOMIAL
        150 => (116, 0, "GeluOptions"),                     // GELU
        151 => (117, 0, "DynamicUpdateSliceOptions"),       // DYNAMIC_UPDATE_SLICE
        153 => (118, 0, "UnsortedSegmentProdOptions"),      // UNSORTED_SEGMENT_PROD
        154 => (119, 0, "UnsortedSegmentMaxOptions"),       // UNSORTED_SEGMENT_MAX
        155 => (121, 0, "UnsortedSegmentSumOptions"),       // UNSORTED_SEGMENT_SUM
        156 => (122, 0, "ATan2Options"),                    // ATAN2
        157 => (120, 0, "UnsortedSegmentMinOptions"),       // UNSORTED_SEGMENT_MIN
        158 => (123, 0, "SignOptions"),                     // SIGN
        159 => (124, 0, "BitcastOptions"),                  // BITCAST
        160 => (125, 0, "BitwiseXorOptions"),               // BITWISE_XOR
        161 => (126, 0, "RightShiftOptions"),               // RIGHT_SHIFT
        169 => (0, 1, "StablehloConcatenateOptions"),       // STABLEHLO_CONCATENATE
        170 => (0, 2, "StablehloBroadcastInDimOptions"),    // STABLEHLO_BROADCAST_IN_DIM
        171 => (0, 4, "StablehloConvolutionOptions"),       // STABLEHLO_CONVOLUTION
        172 => (0, 3, "StablehloSliceOptions"),             // STABLEHLO_SLICE
        173 => (0, 5, "StablehloCustomCallOptions"),        // STABLEHLO_CUSTOM_CALL
        174 => (0, 6, "StablehloReduceOptions"),            // STABLEHLO_REDUCE
        190 => (0, 7, "StablehloScatterOptions"),           // STABLEHLO_SCATTER
        191 => (0, 8, "StablehloCompareOptions"),           // STABLEHLO_COMPARE
        193 => (0, 9, "StablehloDynamicSliceOptions"),      // STABLEHLO_DYNAMIC_SLICE
        195 => (0, 10, "StablehloPadOptions"),              // STABLEHLO_PAD
        196 => (0, 11, "StablehloIotaOptions"),             // STABLEHLO_IOTA
        197 => (0, 12, "StablehloDotGeneralOptions"),       // STABLEHLO_DOT_GENERAL
        198 => (0, 13, "StablehloReduceWindowOptions"),     // STABLEHLO_REDUCE_WINDOW
        199 => (0, 14, "StablehloSortOptions"),             // STABLEHLO_SORT
        200 => (0, 15, "StablehloWhileOptions"),            // STABLEHLO_WHILE
        201 => (0, 16, "StablehloGatherOptions"),           // STABLEHLO_GATHER
        202 => (0, 17, "StablehloTransposeOptions"),        // STABLEHLO_TRANSPOSE
        203 => (0, 18, "DilateOptions"),                    // DILATE
        204 => (0, 19, "StablehloRngBitGeneratorOptions"),  // STABLEHLO_RNG_BIT_GENERATOR
        205 => (0, 20, "ReduceWindowOptions"),              // REDUCE_WINDOW
        206 => (0, 21, "StableHLOCompositeOptions"),        // STABLEHLO_COMPOSITE
        207 => (0, 22, "StablehloShiftLeftOptions"),        // STABLEHLO_SHIFT_LEFT
        209 => (0, 23, "StablehloCaseOptions"),             // STABLEHLO_CASE
        _ => (0, 0, "none"),
    }
}

/// An options field that must hold a value in `min..=max`: its slot in the table, its name and
/// the schema's default, which a table that omits the field stands for.
struct Bound {
    field: usize,
    name: &'static str,
    default: i32,
    min: i32,
    max: i32,
}

const fn at_least_1(field: usize, name: &'static str, default: i32) -> Bound {
    Bound {
        field,
        name,
        default,
        min: 1,
        max: i32::MAX,
    }
}

/// Strides, dilations, filter and block sizes: at least 1 and within 16 bits. Some kernels
/// keep them in 16 bits, and larger values overflow the output-size arithmetic of others
/// (TensorFlow Lite 2.6 ended the process with SIGFPE on a convolution of stride 2^31 - 1);
/// no model needs more.
const fn in_16_bits(field: usize, name: &'static str, default: i32) -> Bound {
    Bound {
        field,
        name,
        default,
        min: 1,
        max: i16::MAX as i32,
    }
}

const CONV_2D: &[Bound] = &[
    in_16_bits(1, "stride_w", 0),
    in_16_bits(2, "stride_h", 0),
    in_16_bits(4, "dilation_w_factor", 1),
    in_16_bits(5, "dilation_h_factor", 1),
];

/// depth_multiplier sizes the int16 and hybrid kernels' loops
const DEPTHWISE_CONV_2D: &[Bound] = &[
    in_16_bits(1, "stride_w", 0),
    in_16_bits(2, "stride_h", 0),
    Bound {
        field: 3,
        name: "depth_multiplier",
        default: 0,
        min: 0,
        max: i32::MAX,
    },
    in_16_bits(5, "dilation_w_factor", 1),
    in_16_bits(6, "dilation_h_factor", 1),
];

const POOL_2D: &[Bound] = &[
    in_16_bits(1, "stride_w", 0),
    in_16_bits(2, "stride_h", 0),
    in_16_bits(3, "filter_width", 0),
    in_16_bits(4, "filter_height", 0),
];

/// the filters are grouped by rank
const SVDF: &[Bound] = &[at_least_1(0, "rank", 0)];

/// the window reaches radius channels each side
const LOCAL_RESPONSE_NORMALIZATION: &[Bound] = &[Bound {
    field: 0,
    name: "radius",
    default: 0,
    min: 0,
    max: i32::MAX,
}];

const BLOCK: &[Bound] = &[in_16_bits(0, "block_size", 0)];

const TRANSPOSE_CONV: &[Bound] = &[in_16_bits(1, "stride_w", 0), in_16_bits(2, "stride_h", 0)];

/// the kernel shifts by num_bits; TensorFlow's op takes 2 to 16
const FAKE_QUANT: &[Bound] = &[Bound {
    field: 2,
    name: "num_bits",
    default: 0,
    min: 2,
    max: 16,
}];

const CONV_3D: &[Bound] = &[
    in_16_bits(1, "stride_d", 0),
    in_16_bits(2, "stride_w", 0),
    in_16_bits(3, "stride_h", 0),
    in_16_bits(5, "dilation_d_factor", 1),
    in_16_bits(6, "dilation_w_factor", 1),
    in_16_bits(7, "dilation_h_factor", 1),
];

/// The bounded fields of a `BuiltinOptions` member.
fn bounds(options: u8) -> &'static [Bound] {
    match options {
        1 => CONV_2D,
        2 => DEPTHWISE_CONV_2D,
        5 => POOL_2D, // average, max and L2 pooling
        6 => SVDF,
        13 => LOCAL_RESPONSE_NORMALIZATION,
        19 | 94 => BLOCK, // SpaceToDepthOptions, DepthToSpaceOptions
        49 => TRANSPOSE_CONV,
        58 => FAKE_QUANT,
        106 => CONV_3D, // CONV_3D and CONV_3D_TRANSPOSE
        _ => &[],
    }
}

/// The enumerations among a `BuiltinOptions` member's fields: (field, name, largest value the
/// schema defines). Padding is SAME or VALID (TensorFlow Lite 2.6 ended the process with
/// SIGFPE or SIGSEGV on a convolution or pool whose padding byte held another value: its
/// output size came from an unknown padding), an activation one of the six functions, and
/// the modes and kinds each one of theirs.
fn enums(options: u8) -> &'static [(usize, &'static str, u8)] {
    const PADDING: u8 = 1;
    const ACTIVATION: u8 = 5;
    match options {
        1 => &[
            (0, "padding", PADDING),
            (3, "fused_activation_function", ACTIVATION),
        ],
        2 => &[
            (0, "padding", PADDING),
            (4, "fused_activation_function", ACTIVATION),
        ],
        5 => &[
            (0, "padding", PADDING),
            (5, "fused_activation_function", ACTIVATION),
        ],
        49 => &[
            (0, "padding", PADDING),
            (3, "fused_activation_function", ACTIVATION),
        ],
        106 => &[
            (0, "padding", PADDING),
            (4, "fused_activation_function", ACTIVATION),
        ],
        8 => &[
            (0, "fused_activation_function", ACTIVATION),
            (1, "weights_format", 1),
        ],
        // Add, Mul, Sub, Div, L2Norm, RNN, LSTM (and its kernel type), the sequence LSTMs
        11 | 21 | 28 | 29 | 12 | 7 | 71 | 69 => &[(0, "fused_activation_function", ACTIVATION)],
        14 => &[
            (0, "fused_activation_function", ACTIVATION),
            (3, "kernel_type", 1),
        ],
        10 | 31 | 70 | 6 => &[(1, "fused_activation_function", ACTIVATION)],
        77 => &[(0, "mode", 1)],     // MirrorPadOptions: REFLECT, SYMMETRIC
        4 => &[(0, "type", 2)],      // LSHProjectionOptions: UNKNOWN, SPARSE, DENSE
        20 => &[(0, "combiner", 2)], // EmbeddingLookupSparseOptions: SUM, MEAN, SQRTN
        _ => &[],
    }
}

/// Check that an operator's options are of the type its code expects (or none), and that the
/// fields the kernels divide by or size with hold values they accept, as the engines will read
/// them: from the table, or zeros where it is absent.
pub(super) fn check_builtin_options(
    op: &Table<'_>,
    code: i32,
    where_op: &dyn Fn() -> String,
) -> R<()> {
    let (want, want_2, table_name) = expected(code);
    for (got, want, union) in [
        (op.scalar_u8(3, 0)?, want, "BuiltinOptions"),
        (op.scalar_u8(11, 0)?, want_2, "BuiltinOptions2"),
    ] {
        if got != 0 && got != want {
            let expected = if want == 0 {
                "none".to_string()
            } else {
                format!("member {want} ({table_name})")
            };
            return bad(format!(
                "{} ({}) carries {union} member {got}, but that operator's is {expected}: the \
                 engines would take its options as absent and run it with zeroed parameters",
                where_op(),
                builtin_name(code),
            ));
        }
    }
    if op.scalar_u8(11, 0)? == want_2 {
        if let Some(opts) = op.table(12)? {
            dimension_lists(&opts, want_2, code, where_op)?;
        }
    }
    let rules = bounds(want);
    // the engines' parameters: the table's fields (its defaults where a field is omitted),
    // or zeros when the operator carries no table of its type
    let table = if op.scalar_u8(3, 0)? == want {
        op.table(4)?
    } else {
        None
    };
    if let Some(t) = &table {
        for &(field, name, max) in enums(want) {
            let value = t.scalar_u8(field, 0)?;
            if value > max {
                return bad(format!(
                    "{} ({}): its options give {name} = {value}, which the schema does not define (0 to {max})",
                    where_op(),
                    builtin_name(code),
                ));
            }
        }
    }
    for b in rules {
        let value = match &table {
            Some(t) => t.scalar_i32(b.field, b.default)?,
            None => 0,
        };
        if value < b.min || value > b.max {
            let range = if b.max == i32::MAX {
                format!("at least {}", b.min)
            } else {
                format!("{} to {}", b.min, b.max)
            };
            let source = if table.is_some() {
                "its options give"
            } else {
                "it carries no options, so the engines read"
            };
            return bad(format!(
                "{} ({}): {source} {} = {value}, which must be {range}",
                where_op(),
                builtin_name(code),
                b.name,
            ));
        }
    }
    Ok(())
}

/// The most dimensions a StableHLO gather or scatter names: LiteRT's parser copies these lists
/// into 8-slot arrays without bounding them.
const MAX_DIMENSIONS: usize = 8;

/// The dimension lists of StablehloGatherOptions (`BuiltinOptions2` member 16: offset_dims,
/// collapsed_slice_dims, start_index_map, slice_sizes) and StablehloScatterOptions (member 7:
/// update_window_dims, inserted_window_dims, scatter_dims_to_operand_dims) hold at most
/// [`MAX_DIMENSIONS`] entries.
fn dimension_lists(
    opts: &Table<'_>,
    member: u8,
    code: i32,
    where_op: &dyn Fn() -> String,
) -> R<()> {
    let fields: &[(usize, &str)] = match member {
        16 => &[
            (0, "offset_dims"),
            (1, "collapsed_slice_dims"),
            (2, "start_index_map"),
            (4, "slice_sizes"),
        ],
        7 => &[
            (1, "update_window_dims"),
            (2, "inserted_window_dims"),
            (3, "scatter_dims_to_operand_dims"),
        ],
        _ => return Ok(()),
    };
    for &(field, name) in fields {
        if let Some((_, len)) = opts.vector(field, 8)? {
            if len > MAX_DIMENSIONS {
                return bad(format!(
                    "{} ({}): its options list {len} {name}, more than the {MAX_DIMENSIONS} \
                     dimensions a tensor may have",
                    where_op(),
                    builtin_name(code),
                ));
            }
        }
    }
    Ok(())
}
