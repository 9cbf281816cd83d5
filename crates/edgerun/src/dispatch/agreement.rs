//! Judging candidates by their outputs: which agree, and which to keep when they do not.

use super::measure;
use crate::Tensor;

/// How candidates' outputs agree: see [`agreement`].
pub(super) struct Agreement {
    /// The candidate the others are judged by.
    pub anchor: usize,
    /// How many others agree with the anchor.
    pub agreeing: usize,
    /// For each candidate, how its outputs differ from the anchor's (`None`: they agree).
    pub rejected: Vec<Option<String>>,
}

/// The largest group of candidates whose outputs agree with one anchor: the candidate that
/// agrees with the most others, ties to the better `rank` (the format's reference backend
/// first), then to order. Fewer than two candidates all agree.
pub(super) fn agreement(outputs: &[&[Tensor]], rank: impl Fn(usize) -> usize) -> Agreement {
    let n = outputs.len();
    let mut differs: Vec<Vec<Option<String>>> = vec![vec![None; n]; n];
    for a in 0..n {
        for b in a + 1..n {
            let d = measure::disagreement(outputs[a], outputs[b]);
            differs[a][b] = d.clone();
            differs[b][a] = d;
        }
    }
    let agreeing = |a: usize| {
        (0..n)
            .filter(|&b| b != a && differs[a][b].is_none())
            .count()
    };
    let anchor = (0..n)
        .min_by_key(|&a| (std::cmp::Reverse(agreeing(a)), rank(a), a))
        .unwrap_or(0);
    Agreement {
        anchor,
        agreeing: if n == 0 { 0 } else { agreeing(anchor) },
        rejected: (0..n)
            .map(|b| {
                if b == anchor {
                    None
                } else {
                    differs[anchor][b].clone()
                }
            })
            .collect(),
    }
}
