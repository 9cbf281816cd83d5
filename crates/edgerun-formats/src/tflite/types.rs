//! TensorFlow Lite type codes and builtin op names: the one place they are mapped.

use edgerun_core::DType;

/// Each element type edgerun exchanges: edgerun's type, TFLite's C `TfLiteType` code, and the
/// schema's `TensorType` code (numbered differently).
const TYPES: &[(DType, u32, u8)] = &[
    (DType::F32, 1, 0),
    (DType::I32, 2, 2),
    (DType::U8, 3, 3),
    (DType::I64, 4, 4),
    (DType::Bool, 6, 6),
    (DType::I16, 7, 7),
    (DType::I8, 9, 9),
    (DType::F16, 10, 1),
    (DType::F64, 11, 10),
    (DType::U64, 13, 12),
    (DType::U32, 16, 15),
    (DType::U16, 17, 16),
    (DType::BF16, 19, 18),
];

/// edgerun's type for a C `TfLiteType`.
pub fn from_c(code: u32) -> Option<DType> {
    TYPES.iter().find(|t| t.1 == code).map(|t| t.0)
}

/// edgerun's type for a schema `TensorType`.
pub fn from_schema(code: u8) -> Option<DType> {
    TYPES.iter().find(|t| t.2 == code).map(|t| t.0)
}

/// The schema's `TensorType` names, indexed by their code.
const SCHEMA_TYPE_NAMES: &[&str] = &[
    "FLOAT32",
    "FLOAT16",
    "INT32",
    "UINT8",
    "INT64",
    "STRING",
    "BOOL",
    "INT16",
    "COMPLEX64",
    "INT8",
    "FLOAT64",
    "COMPLEX128",
    "UINT64",
    "RESOURCE",
    "VARIANT",
    "UINT32",
    "UINT16",
    "INT4",
    "BFLOAT16",
    "INT2",
    "UINT4",
    "FLOAT8_E4M3FN",
    "FLOAT8_E5M2",
];

/// The schema's name of a `TensorType` code (`BFLOAT16` for 18), or `type N` past the names
/// edgerun knows.
pub fn schema_type_name(code: u8) -> String {
    SCHEMA_TYPE_NAMES
        .get(usize::from(code))
        .map_or_else(|| format!("type {code}"), |s| (*s).to_string())
}

/// Builtin operator names of the TFLite schema, indexed by their code.
const BUILTIN_NAMES: &[&str] = &[
    "ADD",
    "AVERAGE_POOL_2D",
    "CONCATENATION",
    "CONV_2D",
    "DEPTHWISE_CONV_2D",
    "DEPTH_TO_SPACE",
    "DEQUANTIZE",
    "EMBEDDING_LOOKUP",
    "FLOOR",
    "FULLY_CONNECTED",
    "HASHTABLE_LOOKUP",
    "L2_NORMALIZATION",
    "L2_POOL_2D",
    "LOCAL_RESPONSE_NORMALIZATION",
    "LOGISTIC",
    "LSH_PROJECTION",
    "LSTM",
    "MAX_POOL_2D",
    "MUL",
    "RELU",
    "RELU_N1_TO_1",
    "RELU6",
    "RESHAPE",
    "RESIZE_BILINEAR",
    "RNN",
    "SOFTMAX",
    "SPACE_TO_DEPTH",
    "SVDF",
    "TANH",
    "CONCAT_EMBEDDINGS",
    "SKIP_GRAM",
    "CALL",
    "CUSTOM",
    "EMBEDDING_LOOKUP_SPARSE",
    "PAD",
    "UNIDIRECTIONAL_SEQUENCE_RNN",
    "GATHER",
    "BATCH_TO_SPACE_ND",
    "SPACE_TO_BATCH_ND",
    "TRANSPOSE",
    "MEAN",
    "SUB",
    "DIV",
    "SQUEEZE",
    "UNIDIRECTIONAL_SEQUENCE_LSTM",
    "STRIDED_SLICE",
    "BIDIRECTIONAL_SEQUENCE_RNN",
    "EXP",
    "TOPK_V2",
    "SPLIT",
    "LOG_SOFTMAX",
    "DELEGATE",
    "BIDIRECTIONAL_SEQUENCE_LSTM",
    "CAST",
    "PRELU",
    "MAXIMUM",
    "ARG_MAX",
    "MINIMUM",
    "LESS",
    "NEG",
    "PADV2",
    "GREATER",
    "GREATER_EQUAL",
    "LESS_EQUAL",
    "SELECT",
    "SLICE",
    "SIN",
    "TRANSPOSE_CONV",
    "SPARSE_TO_DENSE",
    "TILE",
    "EXPAND_DIMS",
    "EQUAL",
    "NOT_EQUAL",
    "LOG",
    "SUM",
    "SQRT",
    "RSQRT",
    "SHAPE",
    "POW",
    "ARG_MIN",
    "FAKE_QUANT",
    "REDUCE_PROD",
    "REDUCE_MAX",
    "PACK",
    "LOGICAL_OR",
    "ONE_HOT",
    "LOGICAL_AND",
    "LOGICAL_NOT",
    "UNPACK",
    "REDUCE_MIN",
    "FLOOR_DIV",
    "REDUCE_ANY",
    "SQUARE",
    "ZEROS_LIKE",
    "FILL",
    "FLOOR_MOD",
    "RANGE",
    "RESIZE_NEAREST_NEIGHBOR",
    "LEAKY_RELU",
    "SQUARED_DIFFERENCE",
    "MIRROR_PAD",
    "ABS",
    "SPLIT_V",
    "UNIQUE",
    "CEIL",
    "REVERSE_V2",
    "ADD_N",
    "GATHER_ND",
    "COS",
    "WHERE",
    "RANK",
    "ELU",
    "REVERSE_SEQUENCE",
    "MATRIX_DIAG",
    "QUANTIZE",
    "MATRIX_SET_DIAG",
    "ROUND",
    "HARD_SWISH",
    "IF",
    "WHILE",
    "NON_MAX_SUPPRESSION_V4",
    "NON_MAX_SUPPRESSION_V5",
    "SCATTER_ND",
    "SELECT_V2",
    "DENSIFY",
    "SEGMENT_SUM",
    "BATCH_MATMUL",
    "PLACEHOLDER_FOR_GREATER_OP_CODES",
    "CUMSUM",
    "CALL_ONCE",
    "BROADCAST_TO",
    "RFFT2D",
    "CONV_3D",
    "IMAG",
    "REAL",
    "COMPLEX_ABS",
    "HASHTABLE",
    "HASHTABLE_FIND",
    "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE",
    "REDUCE_ALL",
    "CONV_3D_TRANSPOSE",
    "VAR_HANDLE",
    "READ_VARIABLE",
    "ASSIGN_VARIABLE",
    "BROADCAST_ARGS",
    "RANDOM_STANDARD_NORMAL",
    "BUCKETIZE",
    "RANDOM_UNIFORM",
    "MULTINOMIAL",
    "GELU",
    "DYNAMIC_UPDATE_SLICE",
    "RELU_0_TO_1",
    "UNSORTED_SEGMENT_PROD",
    "UNSORTED_SEGMENT_MAX",
    "UNSORTED_SEGMENT_SUM",
    "ATAN2",
    "UNSORTED_SEGMENT_MIN",
    "SIGN",
    "BITCAST",
    "BITWISE_XOR",
    "RIGHT_SHIFT",
    "STABLEHLO_LOGISTIC",
    "STABLEHLO_ADD",
    "STABLEHLO_DIVIDE",
    "STABLEHLO_MULTIPLY",
    "STABLEHLO_MAXIMUM",
    "STABLEHLO_RESHAPE",
    "STABLEHLO_CLAMP",
    "STABLEHLO_CONCATENATE",
    "STABLEHLO_BROADCAST_IN_DIM",
    "STABLEHLO_CONVOLUTION",
    "STABLEHLO_SLICE",
    "STABLEHLO_CUSTOM_CALL",
    "STABLEHLO_REDUCE",
    "STABLEHLO_ABS",
    "STABLEHLO_AND",
    "STABLEHLO_COSINE",
    "STABLEHLO_EXPONENTIAL",
    "STABLEHLO_FLOOR",
    "STABLEHLO_LOG",
    "STABLEHLO_MINIMUM",
    "STABLEHLO_NEGATE",
    "STABLEHLO_OR",
    "STABLEHLO_POWER",
    "STABLEHLO_REMAINDER",
    "STABLEHLO_RSQRT",
    "STABLEHLO_SELECT",
    "STABLEHLO_SUBTRACT",
    "STABLEHLO_TANH",
    "STABLEHLO_SCATTER",
    "STABLEHLO_COMPARE",
    "STABLEHLO_CONVERT",
    "STABLEHLO_DYNAMIC_SLICE",
    "STABLEHLO_DYNAMIC_UPDATE_SLICE",
    "STABLEHLO_PAD",
    "STABLEHLO_IOTA",
    "STABLEHLO_DOT_GENERAL",
    "STABLEHLO_REDUCE_WINDOW",
    "STABLEHLO_SORT",
    "STABLEHLO_WHILE",
    "STABLEHLO_GATHER",
    "STABLEHLO_TRANSPOSE",
    "DILATE",
    "STABLEHLO_RNG_BIT_GENERATOR",
    "REDUCE_WINDOW",
    "STABLEHLO_COMPOSITE",
    "STABLEHLO_SHIFT_LEFT",
    "STABLEHLO_CBRT",
    "STABLEHLO_CASE",
];

/// The schema's name of a builtin op code (`CONV_2D`), or `builtin #N` for one newer than
/// this table.
pub fn builtin_name(code: i32) -> String {
    usize::try_from(code)
        .ok()
        .and_then(|c| BUILTIN_NAMES.get(c))
        .map_or_else(|| format!("builtin #{code}"), |n| n.to_string())
}

/// Whether the schema this table follows has a builtin op with this code.
pub fn known_builtin(code: i32) -> bool {
    usize::try_from(code).is_ok_and(|c| c < BUILTIN_NAMES.len())
}

/// The code of a builtin op name.
pub fn builtin_code(name: &str) -> Option<i32> {
    BUILTIN_NAMES
        .iter()
        .position(|n| *n == name)
        .and_then(|c| i32::try_from(c).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_maps_both_ways_once() {
        for &(d, c, s) in TYPES {
            assert_eq!(from_c(c), Some(d));
            assert_eq!(from_schema(s), Some(d));
        }
        let mut dtypes: Vec<DType> = TYPES.iter().map(|t| t.0).collect();
        dtypes.dedup();
        assert_eq!(dtypes.len(), DType::ALL.len());
        // string and complex tensors are not exchanged
        assert_eq!(from_c(5), None);
        assert_eq!(from_schema(5), None);
    }

    #[test]
    fn schema_type_names_follow_the_schema_numbering() {
        for &(d, _, s) in TYPES {
            // FLOAT32 is f32, UINT16 u16, BFLOAT16 bf16...
            let name = schema_type_name(s).to_ascii_lowercase();
            let short = name
                .replace("float", "f")
                .replace("uint", "u")
                .replace("int", "i");
            assert_eq!(
                DType::parse(&name).or(DType::parse(&short)),
                Some(d),
                "{name}"
            );
        }
        assert_eq!(schema_type_name(17), "INT4");
        assert_eq!(schema_type_name(99), "type 99");
    }

    #[test]
    fn op_names_follow_the_schema_numbering() {
        // codes as the TFLite schema numbers them
        assert_eq!(builtin_name(3), "CONV_2D");
        assert_eq!(builtin_name(9), "FULLY_CONNECTED");
        assert_eq!(builtin_name(150), "GELU");
        assert_eq!(builtin_code("DEPTHWISE_CONV_2D"), Some(4));
        assert_eq!(builtin_name(161), "RIGHT_SHIFT");
        assert_eq!(builtin_name(205), "REDUCE_WINDOW");
        assert_eq!(builtin_name(209), "STABLEHLO_CASE");
        assert_eq!(builtin_name(9999), "builtin #9999");
    }
}
