//! How many inputs and outputs each builtin kernel takes, as its `Prepare` requires.
//!
//! The kernels refuse other counts in `Prepare`, but code that runs before it does not all check:
//! LiteRT 2.3.0 ended the process with SIGSEGV while compiling a model whose custom operator's code
//! was changed to SPLIT (one input where SPLIT reads two). Refusing the counts the kernels refuse
//! costs no valid model.

/// (min inputs, max inputs, min outputs, max outputs) a builtin kernel takes; None: unbounded.
///
/// Derived from the kernels' Prepare functions in LiteRT
/// (google-ai-edge/LiteRT @ f67457790c9c2ab67347d6fe53270e8d3df20868,
/// tflite/kernels/*.cc, registered in tflite/core/kernels/register.cc).
/// Counts are lengths of node->inputs / node->outputs, including -1
/// (optional/omitted) entries.
///
/// Enum values with no kernel in BuiltinOpResolver (fall through to None):
/// CONCAT_EMBEDDINGS, CALL, CUSTOM, DELEGATE, PLACEHOLDER_FOR_GREATER_OP_CODES,
/// STABLEHLO_LOGISTIC, STABLEHLO_DIVIDE, STABLEHLO_RESHAPE, STABLEHLO_CLAMP,
/// STABLEHLO_CONCATENATE, STABLEHLO_BROADCAST_IN_DIM, STABLEHLO_CONVOLUTION,
/// STABLEHLO_SLICE, STABLEHLO_CUSTOM_CALL, STABLEHLO_REDUCE, STABLEHLO_ABS,
/// STABLEHLO_COSINE, STABLEHLO_EXPONENTIAL, STABLEHLO_FLOOR, STABLEHLO_LOG,
/// STABLEHLO_NEGATE, STABLEHLO_OR, STABLEHLO_POWER, STABLEHLO_REMAINDER,
/// STABLEHLO_RSQRT, STABLEHLO_SELECT, STABLEHLO_SUBTRACT, STABLEHLO_TANH,
/// STABLEHLO_COMPARE, STABLEHLO_CONVERT, STABLEHLO_DYNAMIC_SLICE,
/// STABLEHLO_DYNAMIC_UPDATE_SLICE, STABLEHLO_IOTA, STABLEHLO_DOT_GENERAL,
/// STABLEHLO_SORT, STABLEHLO_WHILE, STABLEHLO_TRANSPOSE, STABLEHLO_CBRT.
pub(super) fn arity(name: &str) -> Option<(usize, Option<usize>, usize, Option<usize>)> {
    Some(match name {
        "ADD" => (2, Some(2), 1, Some(1)), // add.cc: Prepare ENSURE_EQ NumInputs 2, NumOutputs 1
        "AVERAGE_POOL_2D" => (1, Some(1), 1, Some(1)), // pooling.cc: GenericPrepare<kAverage> NumInputs 1, NumOutputs 1
        "CONCATENATION" => (1, None, 1, None), // concatenation.cc: no count check; Prepare reads input 0 and loops over all inputs, reads output 0 (extra outputs unchecked)
        "CONV_2D" => (2, Some(3), 1, Some(1)), // conv.cc: Prepare has_bias = inputs->size == 3 || inputs->size == 2; outputs->size == 1
        "DEPTHWISE_CONV_2D" => (2, Some(3), 1, Some(1)), // depthwise_conv.cc: Prepare NumInputs == 3 || == 2; NumOutputs 1
        "DEPTH_TO_SPACE" => (1, Some(1), 1, Some(1)), // depth_to_space.cc: Prepare NumInputs 1, NumOutputs 1
        "DEQUANTIZE" => (1, Some(1), 1, Some(1)), // dequantize.cc: Prepare NumInputs 1, NumOutputs 1
        "EMBEDDING_LOOKUP" => (2, Some(2), 1, Some(1)), // embedding_lookup.cc: Prepare NumInputs 2, NumOutputs 1
        "FLOOR" => (1, Some(1), 1, Some(1)), // floor.cc: Prepare NumInputs 1, NumOutputs 1
        "FULLY_CONNECTED" => (2, Some(3), 1, Some(2)), // fully_connected.cc: PrepareImpl inputs->size == 2 || 3; outputs->size == 1 (default weights) or 2 (shuffled4x16int8 weights)
        "HASHTABLE_LOOKUP" => (3, Some(3), 2, Some(2)), // hashtable_lookup.cc: Prepare NumInputs 3, NumOutputs 2
        "L2_NORMALIZATION" => (1, Some(1), 1, Some(1)), // l2norm.cc: Prepare NumInputs 1, NumOutputs 1
        "L2_POOL_2D" => (1, Some(1), 1, Some(1)), // pooling.cc: GenericPrepare<kL2> NumInputs 1, NumOutputs 1
        "LOCAL_RESPONSE_NORMALIZATION" => (1, Some(1), 1, Some(1)), // local_response_norm.cc: Prepare NumInputs 1, NumOutputs 1
        "LOGISTIC" => (1, Some(1), 1, Some(1)), // activations.cc: SigmoidPrepare NumInputs 1, NumOutputs 1
        "LSH_PROJECTION" => (2, Some(3), 1, Some(1)), // lsh_projection.cc: Resize (prepare) NumInputs == 2 || == 3; NumOutputs 1
        "LSTM" => (5, Some(24), 1, Some(4)), // lstm.cc: full kernel: inputs->size 20 or 24, outputs->size 1; basic kernel (kernel_type BASIC): inputs == 5, outputs == 4. Range covers both; 6..19, 21..23 inputs and 2..3 outputs are rejected
        "MAX_POOL_2D" => (1, Some(1), 1, Some(1)), // pooling.cc: GenericPrepare<kMax> NumInputs 1, NumOutputs 1
        "MUL" => (2, Some(2), 1, Some(1)),         // mul.cc: Prepare NumInputs 2, NumOutputs 1
        "RELU" => (1, Some(1), 1, Some(1)), // activations.cc: ReluPrepare NumInputs 1, NumOutputs 1
        "RELU_N1_TO_1" => (1, Some(1), 1, Some(1)), // activations.cc: ReluPrepare NumInputs 1, NumOutputs 1
        "RELU6" => (1, Some(1), 1, Some(1)), // activations.cc: ReluPrepare NumInputs 1, NumOutputs 1
        "RESHAPE" => (1, Some(2), 1, Some(1)), // reshape.cc: Prepare NumInputs == 1 || == 2; NumOutputs 1
        "RESIZE_BILINEAR" => (2, Some(2), 1, Some(1)), // resize_bilinear.cc: Prepare NumInputs 2, NumOutputs 1
        "RNN" => (5, Some(5), 1, Some(1)), // basic_rnn.cc: Prepare inputs->size 5, outputs->size 1
        "SOFTMAX" => (1, Some(1), 1, Some(1)), // activations.cc: SoftmaxPrepare NumInputs 1, NumOutputs 1
        "SPACE_TO_DEPTH" => (1, Some(1), 1, Some(1)), // space_to_depth.cc: Prepare NumInputs 1, NumOutputs 1
        "SVDF" => (5, Some(5), 1, Some(1)), // svdf.cc: Prepare inputs->size 5 (bias may be -1), outputs->size 1
        "TANH" => (1, Some(1), 1, Some(1)), // activations.cc: TanhPrepare NumInputs 1, NumOutputs 1
        "SKIP_GRAM" => (1, Some(1), 1, Some(1)), // skip_gram.cc: Prepare NumInputs 1, NumOutputs 1
        "EMBEDDING_LOOKUP_SPARSE" => (5, Some(5), 1, Some(1)), // embedding_lookup_sparse.cc: Prepare NumInputs 5, NumOutputs 1
        "PAD" => (2, Some(3), 1, Some(1)), // pad.cc: ValidateNodeArity (via PadContext::Create) num_inputs == 2 || 3; NumOutputs 1
        "UNIDIRECTIONAL_SEQUENCE_RNN" => (5, Some(5), 1, Some(1)), // unidirectional_sequence_rnn.cc: Prepare inputs->size 5, outputs->size 1
        "GATHER" => (2, Some(2), 1, Some(1)), // gather.cc: Prepare NumInputs 2, NumOutputs 1
        "BATCH_TO_SPACE_ND" => (3, Some(3), 1, Some(1)), // batch_to_space_nd.cc: Prepare NumInputs 3, NumOutputs 1
        "SPACE_TO_BATCH_ND" => (3, Some(3), 1, Some(1)), // space_to_batch_nd.cc: Prepare NumInputs 3, NumOutputs 1
        "TRANSPOSE" => (2, Some(2), 1, Some(1)), // transpose.cc: Prepare NumInputs 2, NumOutputs 1
        "MEAN" => (2, Some(2), 1, Some(1)), // reduce.cc: ValidateNode (via PrepareMeanOrSum -> CreateOpContext) NumInputs 2, NumOutputs 1
        "SUB" => (2, Some(2), 1, Some(1)),  // sub.cc: Prepare NumInputs 2, NumOutputs 1
        "DIV" => (2, Some(2), 1, Some(1)),  // div.cc: Prepare NumInputs 2, NumOutputs 1
        "SQUEEZE" => (1, Some(1), 1, Some(1)), // squeeze.cc: Prepare NumInputs 1, NumOutputs 1
        "UNIDIRECTIONAL_SEQUENCE_LSTM" => (20, Some(24), 1, Some(1)), // unidirectional_sequence_lstm.cc: Prepare inputs->size == 24 or == 20 (21..23 rejected); outputs->size 1
        "STRIDED_SLICE" => (4, Some(4), 1, Some(1)), // strided_slice.cc: Prepare NumInputs 4, NumOutputs 1
        "BIDIRECTIONAL_SEQUENCE_RNN" => (12, Some(12), 1, Some(2)), // bidirectional_sequence_rnn.cc: Prepare inputs->size 12; outputs->size merge_outputs ? 1 : 2
        "EXP" => (1, Some(1), 1, Some(1)), // exp.cc: Prepare NumInputs 1, NumOutputs 1
        "TOPK_V2" => (2, Some(2), 2, Some(2)), // topk_v2.cc: Prepare NumInputs 2, NumOutputs 2
        "SPLIT" => (2, Some(2), 1, None), // split.cc: Prepare NumInputs 2; NumOutputs == params->num_splits, and ResizeOutputTensors ENSUREs num_splits != 0
        "LOG_SOFTMAX" => (1, Some(1), 1, Some(1)), // activations.cc: LogSoftmaxPrepare NumInputs 1, NumOutputs 1
        "BIDIRECTIONAL_SEQUENCE_LSTM" => (48, Some(48), 1, Some(2)), // bidirectional_sequence_lstm.cc: Prepare inputs->size 48; outputs->size merge_outputs ? 1 : 2
        "CAST" => (1, Some(1), 1, Some(1)), // cast.cc: Prepare NumInputs 1, NumOutputs 1
        "PRELU" => (2, Some(2), 1, Some(1)), // activations.cc: PreluPrepare NumInputs 2, NumOutputs 1
        "MAXIMUM" => (2, Some(2), 1, Some(1)), // maximum_minimum.cc: Prepare NumInputs 2, NumOutputs 1
        "ARG_MAX" => (2, Some(2), 1, Some(1)), // arg_min_max.cc: Prepare NumInputs 2, NumOutputs 1
        "MINIMUM" => (2, Some(2), 1, Some(1)), // maximum_minimum.cc: Prepare NumInputs 2, NumOutputs 1
        "LESS" => (2, Some(2), 1, Some(1)), // comparisons.cc: ComparisonPrepareCommon NumInputs 2, NumOutputs 1
        "NEG" => (1, Some(1), 1, Some(1)),  // neg.cc: Prepare NumInputs 1, NumOutputs 1
        "PADV2" => (2, Some(3), 1, Some(1)), // pad.cc: same pad::Prepare as PAD, num_inputs == 2 || 3; NumOutputs 1
        "GREATER" => (2, Some(2), 1, Some(1)), // comparisons.cc: ComparisonPrepareCommon NumInputs 2, NumOutputs 1
        "GREATER_EQUAL" => (2, Some(2), 1, Some(1)), // comparisons.cc: ComparisonPrepareCommon NumInputs 2, NumOutputs 1
        "LESS_EQUAL" => (2, Some(2), 1, Some(1)), // comparisons.cc: ComparisonPrepareCommon NumInputs 2, NumOutputs 1
        "SELECT" => (3, Some(3), 1, Some(1)), // select.cc: SelectPrepare<kVersionOne> NumInputs 3, NumOutputs 1
        "SLICE" => (3, Some(3), 1, Some(1)),  // slice.cc: Prepare NumInputs 3, NumOutputs 1
        "SIN" => (1, Some(1), 1, Some(1)), // elementwise.cc: GenericPrepare (PrepareSin) NumInputs 1, NumOutputs 1
        "TRANSPOSE_CONV" => (3, Some(4), 1, Some(1)), // transpose_conv.cc: Prepare has_bias = NumInputs == 4 || NumInputs == 3; NumOutputs 1
        "SPARSE_TO_DENSE" => (4, Some(4), 1, Some(1)), // sparse_to_dense.cc: Prepare NumInputs 4, NumOutputs 1
        "TILE" => (2, Some(2), 1, Some(1)),            // tile.cc: Prepare NumInputs 2, NumOutputs 1
        "EXPAND_DIMS" => (2, Some(2), 1, Some(1)), // expand_dims.cc: Prepare NumInputs 2, NumOutputs 1
        "EQUAL" => (2, Some(2), 1, Some(1)), // comparisons.cc: ComparisonPrepareCommon NumInputs 2, NumOutputs 1
        "NOT_EQUAL" => (2, Some(2), 1, Some(1)), // comparisons.cc: ComparisonPrepareCommon NumInputs 2, NumOutputs 1
        "LOG" => (1, Some(1), 1, Some(1)), // elementwise.cc: GenericPrepare (PrepareLog) NumInputs 1, NumOutputs 1
        "SUM" => (2, Some(2), 1, Some(1)), // reduce.cc: ValidateNode (via PrepareMeanOrSum) NumInputs 2, NumOutputs 1
        "SQRT" => (1, Some(1), 1, Some(1)), // elementwise.cc: GenericPrepare (PrepareSqrt) NumInputs 1, NumOutputs 1
        "RSQRT" => (1, Some(1), 1, Some(1)), // elementwise.cc: GenericPrepare (PrepareRsqrt) NumInputs 1, NumOutputs 1
        "SHAPE" => (1, Some(1), 1, Some(1)), // shape.cc: Prepare NumInputs 1, NumOutputs 1
        "POW" => (2, Some(2), 1, Some(1)),   // pow.cc: Prepare NumInputs 2, NumOutputs 1
        "ARG_MIN" => (2, Some(2), 1, Some(1)), // arg_min_max.cc: Prepare NumInputs 2, NumOutputs 1
        "FAKE_QUANT" => (1, Some(1), 1, Some(1)), // fake_quant.cc: Prepare NumInputs 1, NumOutputs 1
        "REDUCE_PROD" => (2, Some(2), 1, Some(1)), // reduce.cc: ValidateNode (via PrepareProd -> PrepareSimple) NumInputs 2, NumOutputs 1
        "REDUCE_MAX" => (2, Some(2), 1, Some(1)), // reduce.cc: ValidateNode (via PrepareSimple) NumInputs 2, NumOutputs 1
        "PACK" => (1, None, 1, Some(1)), // pack.cc: Prepare NumInputs == params->values_count (reads input 0), NumOutputs 1
        "LOGICAL_OR" => (2, Some(2), 1, Some(1)), // logical.cc: Prepare NumInputs 2, NumOutputs 1
        "ONE_HOT" => (4, Some(4), 1, Some(1)), // one_hot.cc: Prepare NumInputs 4, NumOutputs 1
        "LOGICAL_AND" => (2, Some(2), 1, Some(1)), // logical.cc: Prepare NumInputs 2, NumOutputs 1
        "LOGICAL_NOT" => (1, Some(1), 1, Some(1)), // elementwise.cc: GenericPrepare (PrepareNot) NumInputs 1, NumOutputs 1
        "UNPACK" => (1, Some(1), 1, None), // unpack.cc: Prepare NumInputs 1; NumOutputs == params->num == input dim[axis], with NumElements(input) > 0
        "REDUCE_MIN" => (2, Some(2), 1, Some(1)), // reduce.cc: ValidateNode (via PrepareSimple) NumInputs 2, NumOutputs 1
        "FLOOR_DIV" => (2, Some(2), 1, Some(1)),  // floor_div.cc: Prepare NumInputs 2, NumOutputs 1
        "REDUCE_ANY" => (2, Some(2), 1, Some(1)), // reduce.cc: PrepareAllOrAny -> ValidateNode NumInputs 2, NumOutputs 1
        "SQUARE" => (1, Some(1), 1, Some(1)), // elementwise.cc: GenericPrepare (PrepareSquare) NumInputs 1, NumOutputs 1
        "ZEROS_LIKE" => (1, Some(1), 1, Some(1)), // zeros_like.cc: Prepare NumInputs 1, NumOutputs 1
        "FILL" => (2, Some(2), 1, Some(1)),       // fill.cc: Prepare NumInputs 2, NumOutputs 1
        "FLOOR_MOD" => (2, Some(2), 1, Some(1)),  // floor_mod.cc: Prepare NumInputs 2, NumOutputs 1
        "RANGE" => (3, Some(3), 1, Some(1)),      // range.cc: Prepare NumInputs 3, NumOutputs 1
        "RESIZE_NEAREST_NEIGHBOR" => (2, Some(2), 1, Some(1)), // resize_nearest_neighbor.cc: Prepare NumInputs 2, NumOutputs 1
        "LEAKY_RELU" => (1, Some(1), 1, Some(1)), // activations.cc: LeakyReluPrepare NumInputs 1, NumOutputs 1
        "SQUARED_DIFFERENCE" => (2, Some(2), 1, Some(1)), // squared_difference.cc: Prepare NumInputs 2, NumOutputs 1
        "MIRROR_PAD" => (2, None, 1, None), // mirror_pad.cc: no count check; Prepare reads inputs 0,1 and output 0
        "ABS" => (1, Some(1), 1, Some(1)), // elementwise.cc: GenericPrepare (PrepareAbs) NumInputs 1, NumOutputs 1
        "SPLIT_V" => (3, Some(3), 0, None), // split_v.cc: Prepare NumInputs 3; NumOutputs == num_splits == NumElements(size_splits) (no lower bound)
        "UNIQUE" => (1, Some(1), 2, Some(2)), // unique.cc: Prepare NumInputs 1, NumOutputs 2
        "CEIL" => (1, Some(1), 1, Some(1)), // ceil.cc: Prepare NumInputs 1, NumOutputs 1
        "REVERSE_V2" => (2, Some(2), 1, Some(1)), // reverse.cc: Prepare NumInputs 2, NumOutputs 1
        "ADD_N" => (2, None, 1, Some(1)),   // add_n.cc: Prepare num_inputs >= 2, NumOutputs 1
        "GATHER_ND" => (2, Some(2), 1, Some(1)), // gather_nd.cc: Prepare NumInputs 2, NumOutputs 1
        "COS" => (1, Some(1), 1, Some(1)), // elementwise.cc: GenericPrepare (PrepareCos) NumInputs 1, NumOutputs 1
        "WHERE" => (1, Some(1), 1, Some(1)), // where.cc: Prepare NumInputs 1, NumOutputs 1
        "RANK" => (1, Some(1), 1, Some(1)), // rank.cc: Prepare NumInputs 1, NumOutputs 1
        "ELU" => (1, Some(1), 1, Some(1)), // activations.cc: EluPrepare -> GenericPrepare NumInputs 1, NumOutputs 1
        "REVERSE_SEQUENCE" => (2, Some(2), 1, Some(1)), // reverse_sequence.cc: Prepare NumInputs 2, NumOutputs 1
        "MATRIX_DIAG" => (1, Some(1), 1, Some(1)), // matrix_diag.cc: Prepare NumInputs 1, NumOutputs 1
        "QUANTIZE" => (1, Some(1), 1, Some(1)),    // quantize.cc: Prepare NumInputs 1, NumOutputs 1
        "MATRIX_SET_DIAG" => (2, Some(2), 1, Some(1)), // matrix_set_diag.cc: Prepare NumInputs 2, NumOutputs 1
        "ROUND" => (1, Some(1), 1, Some(1)), // round.cc: Prepare NumInputs 1, NumOutputs 1
        "HARD_SWISH" => (1, Some(1), 1, Some(1)), // activations.cc: HardSwishPrepare -> GenericPrepare NumInputs 1, NumOutputs 1
        "IF" => (1, None, 0, None), // if.cc: Prepare inputs->size > 0 (input 0 = cond); rest must match branch subgraphs
        "WHILE" => (0, None, 0, None), // while.cc: Prepare_impl outputs->size == inputs->size (any count; must match cond/body subgraphs)
        "NON_MAX_SUPPRESSION_V4" => (5, Some(6), 2, Some(3)), // non_max_suppression.cc: Prepare shared with V5: 5 inputs -> NumOutputs 2, 6 inputs (soft NMS) -> NumOutputs 3
        "NON_MAX_SUPPRESSION_V5" => (5, Some(6), 2, Some(3)), // non_max_suppression.cc: same Prepare as V4: (5 in, 2 out) or (6 in, 3 out)
        "SCATTER_ND" => (3, Some(3), 1, Some(1)), // scatter_nd.cc: Prepare NumInputs 3, NumOutputs 1
        "SELECT_V2" => (3, Some(3), 1, Some(1)), // select.cc: SelectPrepare<kVersionTwo> NumInputs 3, NumOutputs 1
        "DENSIFY" => (1, Some(1), 1, Some(1)),   // densify.cc: Prepare NumInputs 1, NumOutputs 1
        "SEGMENT_SUM" => (2, Some(2), 1, Some(1)), // segment_sum.cc: Prepare NumInputs 2, NumOutputs 1
        "BATCH_MATMUL" => (2, Some(2), 1, Some(1)), // batch_matmul.cc: Prepare NumInputs 2, NumOutputs 1
        "CUMSUM" => (2, Some(2), 1, Some(1)),       // cumsum.cc: Prepare NumInputs 2, NumOutputs 1
        "CALL_ONCE" => (0, Some(0), 0, Some(0)), // call_once.cc: Prepare inputs->size 0, outputs->size 0
        "BROADCAST_TO" => (2, Some(2), 1, Some(1)), // broadcast_to.cc: Prepare NumInputs == 2, NumOutputs 1
        "RFFT2D" => (2, Some(2), 1, Some(1)),       // rfft2d.cc: Prepare NumInputs 2, NumOutputs 1
        "CONV_3D" => (2, Some(3), 1, Some(1)), // conv3d.cc: Prepare inputs->size == 2 || 3; outputs->size 1
        "IMAG" => (1, Some(1), 1, Some(1)), // complex_support.cc: Prepare NumInputs 1, NumOutputs 1
        "REAL" => (1, Some(1), 1, Some(1)), // complex_support.cc: Prepare NumInputs 1, NumOutputs 1
        "COMPLEX_ABS" => (1, Some(1), 1, Some(1)), // complex_support.cc: Prepare NumInputs 1, NumOutputs 1
        "HASHTABLE" => (0, Some(0), 1, Some(1)), // hashtable.cc: PrepareHashtable NumInputs 0, NumOutputs 1
        "HASHTABLE_FIND" => (3, Some(3), 1, Some(1)), // hashtable_find.cc: PrepareHashtableFind NumInputs 3, NumOutputs 1
        "HASHTABLE_IMPORT" => (3, Some(3), 0, Some(0)), // hashtable_import.cc: PrepareHashtableImport NumInputs 3, NumOutputs 0
        "HASHTABLE_SIZE" => (1, Some(1), 1, Some(1)), // hashtable_size.cc: PrepareHashtableSize NumInputs 1, NumOutputs 1
        "REDUCE_ALL" => (2, Some(2), 1, Some(1)), // reduce.cc: PrepareAllOrAny -> ValidateNode NumInputs 2, NumOutputs 1
        "CONV_3D_TRANSPOSE" => (3, Some(4), 1, Some(1)), // conv3d_transpose.cc: Prepare inputs->size == 3 || 4; outputs->size 1
        "VAR_HANDLE" => (0, None, 1, None), // var_handle.cc: no count check; Prepare reads only output 0
        "READ_VARIABLE" => (1, Some(1), 1, Some(1)), // read_variable.cc: Prepare inputs->size 1, outputs->size 1
        "ASSIGN_VARIABLE" => (2, Some(2), 0, Some(0)), // assign_variable.cc: Prepare NumInputs 2, NumOutputs 0
        "BROADCAST_ARGS" => (2, Some(2), 1, Some(1)), // broadcast_args.cc: Prepare NumInputs == 2, NumOutputs 1
        "RANDOM_STANDARD_NORMAL" => (1, Some(1), 1, Some(1)), // random_ops.cc: Prepare NumInputs 1, NumOutputs 1
        "BUCKETIZE" => (1, Some(1), 1, Some(1)), // bucketize.cc: Prepare NumInputs 1, NumOutputs 1
        "RANDOM_UNIFORM" => (1, Some(1), 1, Some(1)), // random_ops.cc: Prepare NumInputs 1, NumOutputs 1
        "MULTINOMIAL" => (2, Some(2), 1, Some(1)), // random_ops.cc: PrepareMultinomial NumInputs 2, NumOutputs 1
        "GELU" => (1, Some(1), 1, Some(1)), // activations.cc: GeluPrepare -> GenericPrepare NumInputs 1, NumOutputs 1
        "DYNAMIC_UPDATE_SLICE" => (3, Some(3), 1, Some(1)), // dynamic_update_slice.cc: Prepare NumInputs 3, NumOutputs 1
        "RELU_0_TO_1" => (1, Some(1), 1, Some(1)), // activations.cc: ReluPrepare NumInputs 1, NumOutputs 1
        "UNSORTED_SEGMENT_PROD" => (3, Some(3), 1, Some(1)), // unsorted_segment.cc: Prepare NumInputs 3, NumOutputs 1
        "UNSORTED_SEGMENT_MAX" => (3, Some(3), 1, Some(1)), // unsorted_segment.cc: Prepare NumInputs 3, NumOutputs 1
        "UNSORTED_SEGMENT_SUM" => (3, Some(3), 1, Some(1)), // unsorted_segment.cc: Prepare NumInputs 3, NumOutputs 1
        "ATAN2" => (2, Some(2), 1, Some(1)), // atan2.cc: Atan2Prepare NumInputs 2, NumOutputs 1
        "UNSORTED_SEGMENT_MIN" => (3, Some(3), 1, Some(1)), // unsorted_segment.cc: Prepare NumInputs 3, NumOutputs 1
        "SIGN" => (1, Some(1), 1, None), // sign.cc: PointwiseUnaryOpPrepare NumInputs 1; no NumOutputs check, reads output 0
        "BITCAST" => (1, Some(1), 1, Some(1)), // bitcast.cc: Prepare NumInputs 1, NumOutputs 1
        "BITWISE_XOR" => (2, Some(2), 1, Some(1)), // bitwise_xor.cc: Prepare NumInputs 2, NumOutputs 1
        "RIGHT_SHIFT" => (2, Some(2), 1, Some(1)), // right_shift.cc: Prepare NumInputs 2, NumOutputs 1
        "STABLEHLO_ADD" => (2, Some(2), 1, Some(1)), // stablehlo_add.cc -> stablehlo_elementwise.cc: ElementwisePrepare NumInputs 2, NumOutputs 1
        "STABLEHLO_MULTIPLY" => (2, Some(2), 1, Some(1)), // stablehlo_multiply.cc -> stablehlo_elementwise.cc: ElementwisePrepare NumInputs 2, NumOutputs 1
        "STABLEHLO_MAXIMUM" => (2, Some(2), 1, Some(1)), // stablehlo_min_max.cc -> stablehlo_elementwise.cc: ElementwisePrepare NumInputs 2, NumOutputs 1
        "STABLEHLO_AND" => (2, Some(2), 1, Some(1)), // stablehlo_and.cc -> stablehlo_elementwise.cc: ElementwisePrepare NumInputs 2, NumOutputs 1
        "STABLEHLO_MINIMUM" => (2, Some(2), 1, Some(1)), // stablehlo_min_max.cc -> stablehlo_elementwise.cc: ElementwisePrepare NumInputs 2, NumOutputs 1
        "STABLEHLO_SCATTER" => (3, Some(3), 1, Some(1)), // stablehlo_scatter.cc: Prepare NumInputs 3, NumOutputs 1
        "STABLEHLO_PAD" => (2, None, 1, None), // stablehlo_pad.cc: no count check; Prepare reads inputs 0 (operand), 1 (padding value) and output 0
        "STABLEHLO_REDUCE_WINDOW" => (2, Some(2), 1, Some(1)), // stablehlo_reduce_window.cc: StablehloData::Check NumInputs 2, NumOutputs 1
        "STABLEHLO_GATHER" => (2, Some(2), 1, Some(1)), // stablehlo_gather.cc: Prepare NumInputs 2, NumOutputs 1
        "DILATE" => (3, Some(3), 1, Some(1)), // dilate.cc: Prepare NumInputs kNumInputTensors (3), NumOutputs 1
        "STABLEHLO_RNG_BIT_GENERATOR" => (1, Some(1), 2, Some(2)), // rng_bit_generator.cc: Prepare NumInputs 1, NumOutputs 2
        "REDUCE_WINDOW" => (5, Some(5), 1, Some(1)), // stablehlo_reduce_window.cc: TFLiteData::Check NumInputs 5 (input, init, shape, strides, dilations), NumOutputs 1
        "STABLEHLO_COMPOSITE" => (1, None, 0, None), // stablehlo_composite.cc: Prepare inputs->size > 0; counts must match decomposition subgraph
        "STABLEHLO_SHIFT_LEFT" => (2, Some(2), 1, Some(1)), // stablehlo_shift_left.cc: Prepare NumInputs 2, NumOutputs 1
        "STABLEHLO_CASE" => (1, None, 0, None), // stablehlo_case.cc: Prepare reads input 0 (index); rest must match branch subgraphs
        _ => return None,
    })
}
