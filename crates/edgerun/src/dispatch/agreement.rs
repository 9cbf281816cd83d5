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
    /// For each reduced-precision candidate kept, how close it came ([`within_precision`]).
    pub figures: Vec<Option<String>>,
}

/// The largest group of candidates whose outputs agree with one anchor: the candidate that
/// agrees with the most others, ties to the better `rank` (the format's reference backend
/// first), then to order. Fewer than two candidates all agree. Reduced-precision candidates
/// (`reduced`) take no part in that: each is held to [`within_precision`] of the anchor,
/// which is an exact candidate whenever one ran.
pub(super) fn agreement(
    outputs: &[&[Tensor]],
    reduced: &[bool],
    rank: impl Fn(usize) -> usize,
) -> Agreement {
    let n = outputs.len();
    // the exact candidates judge each other; only when none ran do the others
    let judges: Vec<usize> = match (0..n).filter(|&i| !reduced[i]).collect::<Vec<_>>() {
        exact if exact.is_empty() => (0..n).collect(),
        exact => exact,
    };
    let mut differs: Vec<Vec<Option<String>>> = vec![vec![None; n]; n];
    for (k, &a) in judges.iter().enumerate() {
        for &b in &judges[k + 1..] {
            let d = measure::disagreement(outputs[a], outputs[b]);
            differs[a][b] = d.clone();
            differs[b][a] = d;
        }
    }
    let agreeing = |a: usize| {
        judges
            .iter()
            .filter(|&&b| b != a && differs[a][b].is_none())
            .count()
    };
    let anchor = judges
        .iter()
        .copied()
        .min_by_key(|&a| (std::cmp::Reverse(agreeing(a)), rank(a), a))
        .unwrap_or(0);
    let mut figures = vec![None; n];
    let rejected = (0..n)
        .map(|b| {
            if b == anchor || n == 0 {
                None
            } else if judges.contains(&b) {
                differs[anchor][b].clone()
            } else {
                match within_precision(outputs[anchor], outputs[b]) {
                    Ok(f) => {
                        figures[b] = Some(f);
                        None
                    }
                    Err(why) => Some(why),
                }
            }
        })
        .collect();
    Agreement {
        anchor,
        agreeing: if n == 0 { 0 } else { agreeing(anchor) },
        rejected,
        figures,
    }
}

/// The bound a reduced-precision candidate is held to, relative to the largest exact value:
/// fp16 keeps 11 significant bits, and a network's layers each round to them.
pub(super) const REDUCED_BOUND: f32 = 1e-2;

/// Whether `reduced` outputs stay within the fp16 guard of the `exact` ones: every element of
/// a float output within [`REDUCED_BOUND`] × max(1, largest |exact|), other outputs within the
/// exact candidates' own agreement, and the same arg-max for outputs of two or more elements
/// (a classifier's answer, a detector's best box). `Ok` with the figures, else why not.
pub(super) fn within_precision(
    exact: &[Tensor],
    reduced: &[Tensor],
) -> std::result::Result<String, String> {
    if exact.len() != reduced.len() {
        return Err(format!("{} outputs against {}", reduced.len(), exact.len()));
    }
    let mut worst: Option<(f32, f32)> = None; // (difference, bound) of the closest call
    for (i, (e, r)) in exact.iter().zip(reduced).enumerate() {
        if !e.dtype().is_float() || e.shape() != r.shape() {
            if let Some(d) = measure::disagreement(std::slice::from_ref(e), std::slice::from_ref(r))
            {
                return Err(format!("output {i} ({d})"));
            }
            continue;
        }
        let (ev, rv) = (e.to_f32_vec(), r.to_f32_vec());
        let largest = ev
            .iter()
            .filter(|v| v.is_finite())
            .fold(1f32, |m, v| m.max(v.abs()));
        let bound = REDUCED_BOUND * largest;
        for (j, (&x, &y)) in ev.iter().zip(&rv).enumerate() {
            if x == y || (x.is_nan() && y.is_nan()) {
                continue;
            }
            let d = (x - y).abs();
            // a NaN against a number is never within the bound
            if d.is_nan() || d > bound {
                return Err(format!(
                    "output {i}, element {j}: {y} against {x} (difference {d:.2e}, fp16 bound {bound:.2e})"
                ));
            }
            if worst.is_none_or(|(wd, wb)| d / bound > wd / wb) {
                worst = Some((d, bound));
            }
        }
        let top = |v: &[f32]| {
            v.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(k, _)| k)
        };
        if ev.len() >= 2 && top(&ev) != top(&rv) {
            return Err(format!(
                "output {i}: largest element at {} against {}",
                top(&rv).unwrap_or(0),
                top(&ev).unwrap_or(0)
            ));
        }
    }
    Ok(match worst {
        Some((d, b)) => format!("largest difference {d:.2e} (fp16 bound {b:.2e}), same arg-max"),
        None => "identical outputs".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32]) -> Tensor {
        Tensor::from_vec(vec![v.len()], v.to_vec()).unwrap()
    }

    #[test]
    fn the_fp16_guard_bounds_each_element_and_keeps_the_arg_max() {
        let exact = [t(&[0.5, 8.0, -3.0])];
        // within 1e-2 x 8 = 0.08 everywhere, same arg-max
        let ok = within_precision(&exact, &[t(&[0.52, 7.95, -3.01])]).unwrap();
        assert_eq!(
            ok,
            "largest difference 5.00e-2 (fp16 bound 8.00e-2), same arg-max"
        );
        assert_eq!(
            within_precision(&exact, &exact).unwrap(),
            "identical outputs"
        );
        let far = within_precision(&exact, &[t(&[0.5, 7.9, -3.0])]).unwrap_err();
        assert!(far.contains("element 1: 7.9 against 8"), "{far}");
        // a close call that changes the answer
        let close = [t(&[1.0, 1.005])];
        let swapped = within_precision(&close, &[t(&[1.006, 1.0])]).unwrap_err();
        assert!(
            swapped.contains("largest element at 0 against 1"),
            "{swapped}"
        );
        let nan = within_precision(&exact, &[t(&[0.5, f32::NAN, -3.0])]).unwrap_err();
        assert!(nan.contains("NaN against 8"), "{nan}");
        assert!(within_precision(&exact, &[t(&[0.5, 8.0])]).is_err());
        assert!(within_precision(&exact, &[]).is_err());
    }

    #[test]
    fn a_reduced_candidate_is_held_to_the_guard_not_to_agreement() {
        let exact = [t(&[4.0, 0.1])];
        let also_exact = [t(&[4.0, 0.1])];
        // 0.03 off a small element: beyond the exact candidates' agreement (1e-3 x 4 +
        // 1e-2 x 0.13), within fp16's guard (1e-2 x 4)
        let fp16 = [t(&[4.0, 0.13])];
        let outputs: Vec<&[Tensor]> = vec![&exact, &also_exact, &fp16];
        let a = agreement(&outputs, &[false, false, true], |_| 0);
        assert_eq!(a.anchor, 0);
        assert_eq!(a.agreeing, 1);
        assert_eq!(a.rejected, [None, None, None]);
        assert!(a.figures[2].is_some() && a.figures[1].is_none());
        // the same outputs, all exact: the third disagrees
        let a = agreement(&outputs, &[false, false, false], |_| 0);
        assert!(a.rejected[2].is_some());
    }
}
