//! The builtin options tables of operators: their layouts, their checks, and the subgraphs
//! they run.

use super::*;

/// What an options table holds beyond scalars: (field, element size) of its vectors (strings
/// are byte vectors), and the fields that name subgraphs (`i32`, or `u32` for CallOptions).
pub(super) struct OptionsLayout {
    vectors: &'static [(usize, usize)],
    subgraphs: &'static [usize],
    /// A vector of subgraph indices (StablehloCustomCallOptions.called_computations).
    subgraph_list: Option<usize>,
}

pub(super) const NO_FIELDS: OptionsLayout = OptionsLayout {
    vectors: &[],
    subgraphs: &[],
    subgraph_list: None,
};

/// The layout of a `BuiltinOptions` union member (schema order, 1-based), for those with more
/// than scalars; the others hold scalars only.
pub(super) fn builtin_options(kind: u8) -> OptionsLayout {
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
pub(super) fn builtin_options_2(kind: u8) -> OptionsLayout {
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
pub(super) fn check_options(
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
pub(super) fn call_cycle(calls: &[Vec<usize>]) -> Option<Vec<usize>> {
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
