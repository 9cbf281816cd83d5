//! Timing candidates against each other and comparing their outputs.
//!
//! Every candidate gets the same seeded inputs of the model's prepared shapes. Each runs once
//! to warm up (the run whose outputs are compared), then the candidates take turns, one run
//! each per round, in an order that rotates every round, so a slow phase of a shared machine
//! hits all of them alike. Rounds stop at [`MAX_RUNS`] timed runs each, at the budget (a run
//! is started only if the candidate's last run still fits), or once [`CLEAR_AFTER`] rounds
//! show one contender's slowest run below every other contender's fastest. The contenders are
//! the candidates whose warm-up outputs leave them in the running (the caller decides, as it
//! decides the winner): a fast candidate with wrong outputs is still timed, for the decision to
//! show, but does not end the measuring of those that may win.

use std::time::Duration;

use crate::clock::Clock;
use crate::{fill, Prepared, Result, Session, Tensor, TensorView};

/// Timed runs per candidate at most.
pub(crate) const MAX_RUNS: usize = 15;
/// Rounds after which a clear winner ends the measuring.
pub(crate) const CLEAR_AFTER: usize = 3;

/// The seeded inputs a candidate is measured on: the prepared shape of each input (1 for a
/// dimension nothing fixes), values from [`fill::measuring`] (integer inputs zero, so that
/// indices are in range).
pub(crate) fn inputs(prepared: &dyn Prepared) -> Result<Vec<Tensor>> {
    prepared
        .inputs()
        .iter()
        .enumerate()
        .map(|(i, info)| {
            let shape = prepared
                .prepared_shape(i)
                .unwrap_or_else(|| info.shape.iter().map(|d| d.fixed().unwrap_or(1)).collect());
            fill::measuring(info, &shape, 0x5eed + i as u64)
        })
        .collect()
}

/// One candidate's timings and the outputs of its warm-up run.
pub(crate) struct Timing {
    pub warmup: Duration,
    pub times: Vec<Duration>,
    pub outputs: Vec<Tensor>,
}

impl Timing {
    /// The fastest timed run (the warm-up when none was timed).
    pub fn fastest(&self) -> Duration {
        self.times.iter().copied().min().unwrap_or(self.warmup)
    }

    pub fn median(&self) -> Duration {
        if self.times.is_empty() {
            return self.warmup;
        }
        let mut t = self.times.clone();
        t.sort_unstable();
        let n = t.len();
        if n % 2 == 1 {
            t[n / 2]
        } else {
            (t[n / 2 - 1] + t[n / 2]) / 2
        }
    }
}

fn run_once(
    session: &mut dyn Session,
    views: &[TensorView<'_>],
    out: &mut Vec<Tensor>,
    clock: &dyn Clock,
) -> std::result::Result<Duration, String> {
    let start = clock.now();
    session
        .run(views, out, None)
        .map_err(|e| format!("running it on the measuring inputs: {e}"))?;
    Ok(clock.now().saturating_sub(start))
}

/// Given the warm-up outputs of the sessions that ran (their slot, their outputs), which of
/// them may still win.
pub(crate) type Contenders<'a> = &'a dyn Fn(&[(usize, &[Tensor])]) -> Vec<bool>;

/// Warm up and time every session on its inputs within `budget` of `clock`'s time. A session that fails to run
/// gets its reason instead of a timing. `contenders` picks, from the warm-up outputs, the
/// sessions whose timings can end the measuring early.
pub(crate) fn measure(
    sessions: &mut [(Box<dyn Session>, Vec<Tensor>)],
    budget: Duration,
    clock: &dyn Clock,
    contenders: Contenders<'_>,
) -> Vec<std::result::Result<Timing, String>> {
    let start = clock.now();
    let deadline = start + budget;
    let mut results: Vec<std::result::Result<Timing, String>> = sessions
        .iter_mut()
        .map(|(s, inputs)| {
            let views: Vec<TensorView<'_>> = inputs.iter().map(Tensor::view).collect();
            let mut outputs = Vec::new();
            let warmup = run_once(s.as_mut(), &views, &mut outputs, clock)?;
            Ok(Timing {
                warmup,
                times: Vec::new(),
                outputs,
            })
        })
        .collect();
    let n = sessions.len();
    let warmed: Vec<(usize, &[Tensor])> = results
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().ok().map(|t| (i, t.outputs.as_slice())))
        .collect();
    let mut contending = vec![false; n];
    for (&(i, _), c) in warmed.iter().zip(contenders(&warmed)) {
        contending[i] = c;
    }
    let mut scratch = Vec::new();
    for round in 0..MAX_RUNS {
        let mut ran = false;
        for k in 0..n {
            let i = (k + round) % n;
            let Ok(t) = &mut results[i] else { continue };
            let last = t.times.last().copied().unwrap_or(t.warmup);
            if clock.now() + last > deadline {
                continue;
            }
            let (s, inputs) = &mut sessions[i];
            let views: Vec<TensorView<'_>> = inputs.iter().map(Tensor::view).collect();
            match run_once(s.as_mut(), &views, &mut scratch, clock) {
                Ok(d) => t.times.push(d),
                Err(e) => results[i] = Err(e),
            }
            ran = true;
        }
        if !ran || (round + 1 >= CLEAR_AFTER && clear_winner(&results, &contending)) {
            break;
        }
    }
    results
}

/// Is one contender's slowest run faster than every other contender's fastest?
fn clear_winner(results: &[std::result::Result<Timing, String>], contending: &[bool]) -> bool {
    let timed: Vec<&Timing> = results
        .iter()
        .zip(contending)
        .filter(|(_, &c)| c)
        .filter_map(|(r, _)| r.as_ref().ok())
        .collect();
    if timed.len() < 2 {
        return true;
    }
    timed.iter().enumerate().any(|(i, t)| {
        let Some(slowest) = t.times.iter().max() else {
            return false;
        };
        timed
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .all(|(_, o)| o.times.iter().min().is_some_and(|f| slowest < f))
    })
}

/// Why two candidates' outputs differ beyond tolerance, or `None` when they agree. Symmetric:
/// `disagreement(a, b)` and `disagreement(b, a)` agree.
///
/// Tolerance per element: absolute `1e-3 × max(1, largest finite |value| of either)` plus, for
/// quantized outputs, three quantization steps; relative `1e-2 × the larger |value|`. Equal
/// values (infinities included) and two NaNs agree. Backends differ in summation order, fused
/// kernels and requantization rounding, all far below that; a wrong kernel or a wrong layout is
/// far above it.
pub(crate) fn disagreement(a: &[Tensor], b: &[Tensor]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} outputs against {}", a.len(), b.len()));
    }
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        if x.shape() != y.shape() {
            return Some(format!(
                "output {i}: shape [{}] against [{}]",
                crate::error::shape_string(x.shape()),
                crate::error::shape_string(y.shape())
            ));
        }
        let (xs, ys) = (x.to_f32_vec(), y.to_f32_vec());
        let largest = xs
            .iter()
            .chain(&ys)
            .filter(|v| v.is_finite())
            .fold(1f32, |m, v| m.max(v.abs()));
        let steps = [x.quant(), y.quant()]
            .iter()
            .flatten()
            .map(|q| 3.0 * q.scale)
            .fold(0f32, f32::max);
        let abs = 1e-3 * largest + steps;
        for (j, (&u, &v)) in xs.iter().zip(&ys).enumerate() {
            if u == v || (u.is_nan() && v.is_nan()) {
                continue;
            }
            let diff = (u - v).abs();
            let allowed = abs + 1e-2 * u.abs().max(v.abs());
            // a NaN against a number, or infinities of opposite signs, never agree
            if diff.is_nan() || diff > allowed {
                return Some(format!(
                    "output {i}, element {j}: {u} against {v} (difference {diff}, allowed {allowed})"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(ms: &[u64]) -> std::result::Result<Timing, String> {
        Ok(Timing {
            warmup: Duration::from_millis(ms[0]),
            times: ms.iter().map(|&m| Duration::from_millis(m)).collect(),
            outputs: Vec::new(),
        })
    }

    #[test]
    fn only_contenders_make_a_clear_winner() {
        // a fast outlier, and two close candidates whose order three runs do not settle
        let results = [
            timing(&[1, 1, 1]),
            timing(&[5, 9, 6]),
            timing(&[7, 8, 6]),
            Err("failed".into()),
        ];
        assert!(clear_winner(&results, &[true, true, true, false]));
        // the outlier out of the running (its outputs disagree): keep measuring the others
        assert!(!clear_winner(&results, &[false, true, true, false]));
        // once the others separate, one of them is clear
        let separated = [timing(&[1, 1, 1]), timing(&[5, 5, 6]), timing(&[7, 8, 9])];
        assert!(clear_winner(&separated, &[false, true, true]));
        // a lone contender needs nothing more
        assert!(clear_winner(&results, &[false, true, false, false]));
    }
}
