//! `auto` among two or more candidates: the cached choice, else every candidate prepared,
//! timed on the same inputs and judged by its outputs, and the choice cached.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::agreement::agreement;
use super::decision::{CandidateReport, Decision, Outcome, Source};
use super::digest::sha256_hex;
use super::measure::{self, Timing};
use super::{cache, Cand, Done, Load};
use crate::backends::rank as reference_rank;
use crate::platform::{cpulist, PinGuard};
use crate::{Error, OpTiming, Prepared, Result, Session, Tensor, TensorView};

/// How much faster than the first round's winner another thread count must be to replace it.
pub(crate) const THREADS_MARGIN: f64 = 0.05;

impl Load<'_> {
    /// What the cache key is made of: the model's bytes, the device, the placement and input
    /// shapes, and every eligible candidate with its engine, library and settings.
    fn cache_key(&self, cands: &[Cand<'_>], eligible: &[usize]) -> Result<String> {
        let digest = self.digest()?;
        let mut key = format!(
            "model sha256 {digest}\nformat {}\ndevice {}\nthreads {}; affinity {}; input shapes {:?}\n",
            self.format(),
            self.rt.platform().signature(),
            self.placement.threads,
            self.placement
                .affinity
                .as_deref()
                .map_or_else(|| "-".into(), cpulist::format),
            self.rt.options.input_shapes,
        );
        for &i in eligible {
            let c = &cands[i];
            key.push_str(&format!(
                "candidate {} = {} with {} threads{}: {}\n",
                c.label,
                c.backend.name(),
                self.threads(c),
                if c.unpinned { " unpinned" } else { "" },
                c.backend.fingerprint()
            ));
        }
        Ok(key)
    }

    /// Where this load's choice is cached and under which key; `None` when caching is off or
    /// the model cannot be read (a note says so).
    fn cache_slot(
        &self,
        cands: &[Cand<'_>],
        eligible: &[usize],
        notes: &mut Vec<String>,
    ) -> Option<CacheSlot> {
        let path = self.rt.cache.path()?;
        match self.cache_key(cands, eligible) {
            Ok(key) => Some(CacheSlot {
                path,
                hash: sha256_hex(&key),
                key,
            }),
            Err(e) => {
                notes.push(format!(
                    "cache: not used, the model could not be read ({e})"
                ));
                None
            }
        }
    }

    pub(super) fn measured(
        &self,
        cands: &[Cand<'_>],
        eligible: &[usize],
        mut reports: Vec<CandidateReport>,
    ) -> Result<Done> {
        let mut notes = Vec::new();
        let slot = self.cache_slot(cands, eligible, &mut notes);
        if let Some(slot) = &slot {
            if let Some((w, prepared)) =
                self.cached(slot, cands, eligible, &mut reports, &mut notes)?
            {
                let decision = Decision {
                    chosen: cands[w].label.to_string(),
                    source: Source::Cache,
                    candidates: reports,
                    measuring: Duration::ZERO,
                    notes,
                };
                return Ok(self.done(&cands[w], prepared, decision));
            }
        }

        let started = self.rt.clock.now();
        let mut errors = Vec::new();
        // thread-count variants wait until the others have a winner: only its counts are
        // measured, which bounds the extra candidates to a few, whatever the backends
        let (others, counts): (Vec<usize>, Vec<usize>) =
            eligible.iter().partition(|&&i| cands[i].base.is_none());
        let round = self.round(
            cands,
            &others,
            &mut reports,
            &mut errors,
            &mut notes,
            self.rt.budget,
        )?;
        let (w, prepared, source) =
            self.thread_round(cands, &counts, round, &mut reports, &mut notes, started);
        let measuring = self.rt.clock.now().saturating_sub(started);
        // only a measured choice is cached: a lone survivor may owe its place to a passing
        // failure of the others
        if let Some(slot) = slot.filter(|_| source == Source::Measured) {
            notes.extend(self.store(slot, cands, eligible, &reports, cands[w].label));
        }
        let decision = Decision {
            chosen: cands[w].label.to_string(),
            source,
            candidates: reports,
            measuring,
            notes,
        };
        Ok(self.done(&cands[w], prepared, decision))
    }

    /// One round: `eligible` prepared, timed against each other within `budget`, and judged.
    /// Returns the winner (its index in `cands`), prepared, and how it won.
    fn round(
        &self,
        cands: &[Cand<'_>],
        eligible: &[usize],
        reports: &mut [CandidateReport],
        errors: &mut Vec<Error>,
        notes: &mut Vec<String>,
        budget: Duration,
    ) -> Result<(usize, Box<dyn Prepared>, Source)> {
        let prepared = self.prepare_each(cands, eligible, reports, errors)?;
        let (mut timed, results) = self.time(cands, prepared, reports, errors, budget);
        let (winner, ran) = self.judge(cands, &timed, results, reports, errors, notes);
        let (slot_of_winner, source) = match winner {
            Some(s) if ran >= 2 => (s, Source::Measured),
            // the one candidate that ran: nothing to compare it with
            Some(s) => (s, Source::Only),
            // the one candidate that prepared and made a session: nothing to compare
            None if timed.len() == 1 => (0, Source::Only),
            // every candidate failed on the seeded inputs: that is no verdict on the model (a
            // divisor input of zeros, a shape input), and the application's inputs may run
            None if !timed.is_empty() => {
                notes.push(format!(
                    "every candidate failed on the measuring inputs (seeded values, integer \
                     inputs zero), which need not be the application's: {} taken as the first \
                     in order of preference, not measured",
                    cands[timed[0].0].label
                ));
                (0, Source::Order)
            }
            // none left, or none ran on the measuring inputs: each with its reason
            None => return Err(self.none_left(reports, std::mem::take(errors))),
        };
        let (w, prepared) = timed.swap_remove(slot_of_winner);
        if source != Source::Measured {
            reports[w].outcome = Outcome::Prepared;
        }
        Ok((w, prepared, source))
    }

    /// The second round: the first round's winner against itself at the other thread counts
    /// (`counts` holds every backend's; the losers' are skipped), on what is left of the
    /// budget but at least a quarter of it. The winner's own report keeps its first-round
    /// figure, which the other backends were compared with; its second-round median is in a
    /// note. A count that fails or disagrees with it is reported and the winner stands.
    fn thread_round(
        &self,
        cands: &[Cand<'_>],
        counts: &[usize],
        (w, prepared, source): (usize, Box<dyn Prepared>, Source),
        reports: &mut [CandidateReport],
        notes: &mut Vec<String>,
        started: Duration,
    ) -> (usize, Box<dyn Prepared>, Source) {
        let winner = cands[w].label;
        let (own, others): (Vec<usize>, Vec<usize>) =
            counts.iter().partition(|&&i| cands[i].base == Some(winner));
        for &i in &others {
            reports[i].outcome = Outcome::Skipped(format!(
                "thread counts are measured for the fastest of the others only: {winner}"
            ));
        }
        if own.is_empty() || source == Source::Order {
            for &i in &own {
                reports[i].outcome =
                    Outcome::Skipped(format!("{winner} was not measured: nothing to compare"));
            }
            return (w, prepared, source);
        }
        let mut group = vec![(w, prepared)];
        for &i in &own {
            match self.prepare(&cands[i]) {
                Ok(p) => group.push((i, p)),
                Err(e) => reports[i].outcome = Outcome::Failed(e.to_string()),
            }
        }
        let spent = self.rt.clock.now().saturating_sub(started);
        let budget = self.rt.budget.saturating_sub(spent).max(self.rt.budget / 4);
        let first_round = reports[w].outcome.clone();
        let mut errors = Vec::new();
        let (mut timed, results) = self.time(cands, group, reports, &mut errors, budget);
        let figures: Vec<Option<(Duration, Duration)>> = results
            .iter()
            .map(|r| r.as_ref().ok().map(|t| (t.median(), t.fastest())))
            .collect();
        let (best, ran) = self.judge(cands, &timed, results, reports, &mut errors, notes);
        if let Outcome::Measured { median, .. } = &reports[w].outcome {
            notes.push(format!(
                "threads: {winner}'s other counts measured against it in a second round, where \
                 it took {}",
                super::decision::ms(*median)
            ));
        }
        reports[w].outcome = first_round;
        let Some(own) = timed.iter().position(|(i, _)| *i == w) else {
            // its session failed now: the first round's verdict on it stands unmeasured
            return (w, timed.swap_remove(0).1, Source::Order);
        };
        // the winner itself, or a count that agrees with it and is clearly faster: its median
        // at least THREADS_MARGIN below the winner's and its fastest run faster too. The choice
        // is cached, and a moment's load on another core slows the runs on more threads
        // only, so a narrow or passing lead keeps the device's default.
        let slot = match best {
            Some(s) if ran >= 2 && s != own => match (figures[s], figures[own]) {
                (Some((median, fastest)), Some((own_median, own_fastest)))
                    if median <= own_median.mul_f64(1.0 - THREADS_MARGIN)
                        && fastest < own_fastest =>
                {
                    s
                }
                _ => {
                    notes.push(format!(
                        "threads: {} was not clearly faster than {winner} (a count must win by \
                         {:.0} % of the median, and in its fastest run): {winner} kept",
                        cands[timed[s].0].label,
                        THREADS_MARGIN * 100.0
                    ));
                    own
                }
            },
            _ => own,
        };
        let (i, prepared) = timed.swap_remove(slot);
        let source = if ran >= 2 { Source::Measured } else { source };
        (i, prepared, source)
    }

    /// The cached winner, prepared, with every candidate's cached outcome; `None` when there
    /// is no entry, its winner is no longer a candidate, or it fails to prepare now (a note
    /// says so: the candidates are measured again).
    fn cached(
        &self,
        slot: &CacheSlot,
        cands: &[Cand<'_>],
        eligible: &[usize],
        reports: &mut [CandidateReport],
        notes: &mut Vec<String>,
    ) -> Result<Option<(usize, Box<dyn Prepared>)>> {
        let (hit, warning) = cache::lookup(&slot.path, &slot.hash);
        notes.extend(warning);
        let Some(entry) = hit else { return Ok(None) };
        let Some(&w) = eligible.iter().find(|&&i| cands[i].label == entry.winner) else {
            return Ok(None);
        };
        match self.prepare(&cands[w]) {
            Ok(prepared) => {
                for &i in eligible {
                    let label = cands[i].label;
                    reports[i].outcome = match entry.rejected.get(label) {
                        Some(why) => Outcome::Failed(format!("{why} (cached)")),
                        None => Outcome::Cached {
                            median: entry
                                .medians_us
                                .get(label)
                                .and_then(|us| Duration::try_from_secs_f64(us / 1e6).ok()),
                        },
                    };
                }
                Ok(Some((w, prepared)))
            }
            Err(e) if e.stops_dispatch() => Err(e),
            Err(e) => {
                notes.push(format!(
                    "cache: the cached choice {} failed to prepare now ({e}); measured again",
                    entry.winner
                ));
                Ok(None)
            }
        }
    }

    /// Every eligible candidate prepared; those that fail are recorded. An error that stops
    /// dispatch (a mistake in what was asked) ends the load, as does none preparing.
    fn prepare_each(
        &self,
        cands: &[Cand<'_>],
        eligible: &[usize],
        reports: &mut [CandidateReport],
        errors: &mut Vec<Error>,
    ) -> Result<Vec<(usize, Box<dyn Prepared>)>> {
        let mut prepared = Vec::new();
        for &i in eligible {
            match self.prepare(&cands[i]) {
                Ok(p) => prepared.push((i, p)),
                Err(e) if e.stops_dispatch() => return Err(e),
                Err(e) => {
                    reports[i].outcome = Outcome::Failed(e.to_string());
                    errors.push(e);
                }
            }
        }
        if prepared.is_empty() {
            return Err(self.none_left(reports, std::mem::take(errors)));
        }
        Ok(prepared)
    }

    /// A session for each prepared candidate, then all of them timed against each other
    /// (when two or more have one): the candidates that got a session (their index and
    /// prepared model), and a timing or a failure for each, in the same order.
    #[allow(clippy::type_complexity)]
    fn time(
        &self,
        cands: &[Cand<'_>],
        prepared: Vec<(usize, Box<dyn Prepared>)>,
        reports: &mut [CandidateReport],
        errors: &mut Vec<Error>,
        budget: Duration,
    ) -> (
        Vec<(usize, Box<dyn Prepared>)>,
        Vec<std::result::Result<Timing, String>>,
    ) {
        let mut sessions = Vec::new();
        let mut timed = Vec::new();
        for (i, p) in prepared {
            match self
                .session(&cands[i], p.as_ref())
                .and_then(|s| Ok((s, measure::inputs(p.as_ref())?)))
            {
                Ok(s) => {
                    sessions.push(s);
                    timed.push((i, p));
                }
                Err(e) => {
                    reports[i].outcome = Outcome::Failed(e.to_string());
                    errors.push(e);
                }
            }
        }
        if timed.len() < 2 {
            return (timed, Vec::new());
        }
        let format = self.format();
        let rank = |slot: usize| reference_rank(format, cands[timed[slot].0].backend.name());
        let contenders = |warm: &[(usize, &[Tensor])]| {
            let outputs: Vec<&[Tensor]> = warm.iter().map(|(_, o)| *o).collect();
            let reduced: Vec<bool> = warm
                .iter()
                .map(|(s, _)| cands[timed[*s].0].reduced)
                .collect();
            agreement(&outputs, &reduced, |k| rank(warm[k].0))
                .rejected
                .iter()
                .map(Option::is_none)
                .collect()
        };
        let results = measure::measure(&mut sessions, budget, self.rt.clock.as_ref(), &contenders);
        (timed, results)
    }

    /// A session to time `c` with: made, and run, on the candidate's own CPUs when it has
    /// them.
    fn session(&self, c: &Cand<'_>, p: &dyn Prepared) -> Result<Box<dyn Session>> {
        let Some(cpus) = self.own_cpus(c) else {
            return p.session();
        };
        let _pin = PinGuard::new(Some(cpus))?;
        Ok(Box::new(Pinned {
            session: p.session()?,
            cpus: cpus.to_vec(),
        }))
    }

    /// Each timed candidate's outcome: its median, or why its outputs were rejected (the
    /// largest group of candidates that agree with one anchor stays; the rest are rejected,
    /// however fast). Returns the slot of the fastest that agrees, and how many ran.
    fn judge(
        &self,
        cands: &[Cand<'_>],
        timed: &[(usize, Box<dyn Prepared>)],
        results: Vec<std::result::Result<Timing, String>>,
        reports: &mut [CandidateReport],
        errors: &mut Vec<Error>,
        notes: &mut Vec<String>,
    ) -> (Option<usize>, usize) {
        let format = self.format();
        let rank = |slot: usize| reference_rank(format, cands[timed[slot].0].backend.name());
        let mut ok: Vec<(usize, usize, Timing)> = Vec::new(); // (slot, candidate, timing)
        for (slot, r) in results.into_iter().enumerate() {
            let i = timed[slot].0;
            match r {
                Ok(t) => ok.push((slot, i, t)),
                Err(why) => {
                    errors.push(Error::Backend {
                        backend: cands[i].backend.name().into(),
                        message: why.clone(),
                    });
                    reports[i].outcome = Outcome::Failed(why);
                }
            }
        }
        let mut rejected: Vec<Option<String>> = vec![None; ok.len()];
        if ok.len() >= 2 {
            let outputs: Vec<&[Tensor]> = ok.iter().map(|(_, _, t)| t.outputs.as_slice()).collect();
            let reduced: Vec<bool> = ok.iter().map(|(_, i, _)| cands[*i].reduced).collect();
            let a = agreement(&outputs, &reduced, |k| rank(ok[k].0));
            let anchor = &cands[ok[a.anchor].1];
            for (r, d) in rejected.iter_mut().zip(a.rejected) {
                *r = d.map(|d| format!("with {}: {d}", anchor.label));
            }
            // what a reduced-precision twin gave up, kept or not
            for (k, (_, i, _)) in ok.iter().enumerate() {
                if let Some(f) = &a.figures[k] {
                    notes.push(format!(
                        "{}: within the fp16 guard of {}: {f}",
                        cands[*i].label, anchor.label
                    ));
                }
            }
            // (the exact ones: a reduced-precision twin is not counted among those agreeing)
            if a.agreeing == 0 && reduced.iter().filter(|r| !**r).count() >= 2 {
                let why = if rank(ok[a.anchor].0) == usize::MAX {
                    "the first in order of preference".to_string()
                } else {
                    format!("the reference backend for {format} models")
                };
                notes.push(format!(
                    "the candidates' outputs all disagree; kept {}, {why}",
                    anchor.label
                ));
            }
        }
        for ((_, i, t), rejected) in ok.iter().zip(&rejected) {
            reports[*i].outcome = match rejected {
                None => Outcome::Measured {
                    median: t.median(),
                    runs: t.times.len(),
                },
                Some(detail) => Outcome::Disagreed {
                    median: t.median(),
                    runs: t.times.len(),
                    detail: detail.clone(),
                },
            };
        }
        let winner = ok
            .iter()
            .zip(&rejected)
            .filter(|(_, r)| r.is_none())
            .min_by_key(|((_, i, t), _)| (t.median(), *i))
            .map(|((slot, _, _), _)| *slot);
        (winner, ok.len())
    }

    /// Record a measured choice: the winner, every median and every rejection.
    fn store(
        &self,
        slot: CacheSlot,
        cands: &[Cand<'_>],
        eligible: &[usize],
        reports: &[CandidateReport],
        winner: &str,
    ) -> Option<String> {
        let mut medians_us = BTreeMap::new();
        let mut rejected = BTreeMap::new();
        for &i in eligible {
            let label = cands[i].label.to_string();
            match &reports[i].outcome {
                Outcome::Measured { median, .. } => {
                    medians_us.insert(label, median.as_secs_f64() * 1e6);
                }
                Outcome::Disagreed { median, detail, .. } => {
                    medians_us.insert(label.clone(), median.as_secs_f64() * 1e6);
                    rejected.insert(label, format!("outputs disagreed ({detail})"));
                }
                Outcome::Failed(why) => {
                    rejected.insert(label, why.clone());
                }
                _ => {}
            }
        }
        let entry = cache::Entry {
            model: self.source.path().display().to_string(),
            winner: winner.to_string(),
            medians_us,
            rejected,
            measured_at: cache::now(),
            key: slot.key,
        };
        cache::store(&slot.path, &slot.hash, entry)
    }
}

/// A session whose runs pin the calling thread to `cpus` (as a model's session does, for the
/// candidates timed on CPUs other than the load's).
struct Pinned {
    session: Box<dyn Session>,
    cpus: Vec<usize>,
}

impl Session for Pinned {
    fn run(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &mut Vec<Tensor>,
        timings: Option<&mut Vec<OpTiming>>,
    ) -> Result<()> {
        let _pin = PinGuard::new(Some(&self.cpus))?;
        self.session.run(inputs, outputs, timings)
    }
}

/// Where a choice is cached, and its key in full and hashed.
struct CacheSlot {
    path: PathBuf,
    hash: String,
    key: String,
}
