//! Choosing a model's backend: by name, in order of preference, or by measuring the
//! candidates against each other (`measured`), with a cache of measured choices.

use std::sync::Arc;
use std::time::Duration;

use crate::platform::PinGuard;
use crate::runtime::Runtime;
use crate::{
    Availability, Backend, Error, ErrorKind, Model, ModelFormat, ModelSource, Options, Placement,
    Prepared, Result,
};

mod agreement;
pub(crate) mod cache;
pub(crate) mod decision;
pub(crate) mod digest;
pub(crate) mod measure;
mod measured;

use decision::{CandidateReport, Decision, Outcome, Source};

/// One candidate of a load: a backend or a variant.
#[derive(Clone, Copy)]
pub(crate) struct Cand<'a> {
    pub label: &'a str,
    pub backend: &'a dyn Backend,
    pub threads: Option<usize>,
    /// A thread-count variant that runs on every CPU this process may use, unpinned, where
    /// the default placement pins to a set (the big cores of a big.LITTLE CPU).
    pub unpinned: bool,
    /// For a thread-count variant, the label of the candidate it runs at another count: such
    /// variants are measured only for the candidate that won among the others.
    pub base: Option<&'a str>,
    /// A reduced-precision twin of a backend ([`Backend::reduced_precision`]): held to the
    /// precision guard against the exact candidates, not to their agreement.
    pub reduced: bool,
}

pub(crate) fn find<'c, 'a>(cands: &'c [Cand<'a>], name: &str) -> Result<&'c Cand<'a>> {
    cands.iter().find(|c| c.label == name).ok_or_else(|| {
        let known: Vec<_> = cands.iter().map(|c| c.label).collect();
        Error::InvalidOption {
            option: format!("backend {name:?}"),
            reason: format!(
                "no such backend or variant; known: auto, first, {}",
                known.join(", ")
            ),
        }
    })
}

/// One load in progress.
pub(crate) struct Load<'r> {
    pub rt: &'r Runtime,
    pub source: &'r ModelSource,
    pub placement: &'r Placement,
    /// A policy rule set the threads: they hold for every candidate, variants too.
    pub rule_threads: bool,
    /// What containment had to say (a helper missing, a candidate not probed), and the
    /// artifact store.
    pub notes: std::cell::RefCell<Vec<String>>,
    /// The model's digest, computed once per load (for the decision's key, containment's
    /// verdicts and every candidate's artifact).
    pub digest: std::cell::OnceCell<String>,
}

/// A prepared winner and how it was chosen.
pub(crate) struct Done {
    prepared: Box<dyn Prepared>,
    threads: usize,
    unpinned: bool,
    pub decision: Decision,
}

impl Done {
    pub(crate) fn into_model(
        self,
        source: ModelSource,
        mut placement: Placement,
        affinity: Option<Arc<[usize]>>,
    ) -> Model {
        let affinity = if self.unpinned {
            // the winner ran on every usable CPU: so does the model
            placement.affinity = None;
            placement.why = format!(
                "{} threads on every CPU this process may use, unpinned, for variant {} (measured \
                 faster than the default: {})",
                self.threads, self.decision.chosen, placement.why
            );
            placement.threads = self.threads;
            None
        } else {
            if self.threads != placement.threads {
                placement.why = format!(
                    "{} thread{} for variant {}; {}",
                    self.threads,
                    if self.threads == 1 { "" } else { "s" },
                    self.decision.chosen,
                    placement.why
                );
                placement.threads = self.threads;
            }
            affinity
        };
        let output_names = self
            .prepared
            .outputs()
            .iter()
            .map(|o| o.name.clone())
            .collect();
        Model {
            prepared: Arc::from(self.prepared),
            output_names,
            source,
            decision: self.decision,
            placement,
            affinity,
        }
    }
}

impl Load<'_> {
    fn format(&self) -> ModelFormat {
        self.source.format()
    }

    /// A variant's own threads, unless a policy rule set the model's.
    fn threads(&self, c: &Cand<'_>) -> usize {
        match c.threads {
            Some(t) if !self.rule_threads => t,
            _ => self.placement.threads,
        }
    }

    /// The CPUs the calling thread is pinned to while `c` is prepared and timed, when they
    /// are not the load's: every usable CPU for an unpinned variant (the load pins the thread
    /// to the default's set, and threads a backend starts inherit the mask).
    pub(crate) fn own_cpus(&self, c: &Cand<'_>) -> Option<&[usize]> {
        c.unpinned.then_some(self.rt.platform().usable.as_slice())
    }

    /// A candidate that ran or prepared: what it leaves in [`Done`].
    fn done(&self, c: &Cand<'_>, prepared: Box<dyn Prepared>, decision: Decision) -> Done {
        Done {
            prepared,
            threads: self.threads(c),
            unpinned: c.unpinned,
            decision,
        }
    }

    fn prepare(&self, c: &Cand<'_>) -> Result<Box<dyn Prepared>> {
        let mut options = Options {
            threads: Some(self.threads(c)),
            affinity: if c.unpinned {
                None
            } else {
                self.placement.affinity.clone()
            },
            ..self.rt.options.clone()
        };
        let mut notes = self.notes.borrow_mut();
        self.rt.contain(
            self.source,
            &self.digest,
            (c.label, c.backend),
            &options,
            false,
            &mut notes,
        )?;
        let artifact = self.artifact(c);
        let mut kept = false;
        if let Some((store, name)) = &artifact {
            match cache::check_artifact(store, name) {
                cache::Trust::Kept => kept = true,
                cache::Trust::Missing => {}
                cache::Trust::Removed(why) => notes.push(why),
            }
            let dir = cache::artifact_dir(store);
            if std::fs::create_dir_all(&dir).is_ok() {
                options.artifact = Some(dir.join(name));
            }
        }
        drop(notes);
        let prepared = {
            let _pin = PinGuard::new(self.own_cpus(c))?;
            c.backend.prepare(self.source, &options)?
        };
        match (&artifact, &options.artifact) {
            (Some((store, name)), Some(file)) if !kept && file.is_file() => {
                let model = self.source.path().display().to_string();
                let warning = cache::record_artifact(store, name, &model, c.backend.name());
                self.notes.borrow_mut().extend(warning);
            }
            _ => {}
        }
        Ok(prepared)
    }

    /// The model's SHA-256, computed at its first use in this load.
    pub(crate) fn digest(&self) -> Result<String> {
        digest::once(&self.digest, self.source)
    }

    /// The decision file and the name of the artifact `c` keeps for this model on this
    /// device, when the store is on and the backend keeps one.
    fn artifact(&self, c: &Cand<'_>) -> Option<(std::path::PathBuf, String)> {
        let store = self.rt.cache.path()?;
        if cache::artifact_limit() == 0 {
            return None;
        }
        let key = c.backend.artifact_key()?;
        // kept by default only where the digest is already paid for (see ArtifactKey)
        if key.only_if_hashed && self.digest.get().is_none() {
            return None;
        }
        let key = key.key;
        let digest = self.digest().ok()?;
        let name = cache::artifact_name(
            &format!(
                "model sha256 {digest}\ndevice {}\n{}: {key}\n",
                self.rt.platform().signature(),
                c.backend.name()
            ),
            c.backend.name(),
        );
        Some((store, name))
    }

    fn report(&self, c: &Cand<'_>, outcome: Outcome) -> CandidateReport {
        CandidateReport {
            label: c.label.to_string(),
            backend: c.backend.name(),
            threads: self.threads(c),
            unpinned: c.unpinned,
            outcome,
            // the library of a backend that could run the model
            library: c
                .backend
                .formats()
                .contains(&self.source.format())
                .then(|| c.backend.found_library())
                .flatten()
                .map(|l| l.to_string()),
        }
    }

    /// The error when no candidate is left: the candidate's own error when only one tried
    /// and either no other backend reads the format or the model itself is at fault (corrupt,
    /// truncated: no backend would do better); else every candidate with its reason, so that
    /// an unsupported op says which backends are missing here.
    fn none_left(&self, reports: &[CandidateReport], mut errors: Vec<Error>) -> Error {
        let readers = self
            .rt
            .cands(None)
            .iter()
            .filter(|c| c.backend.formats().contains(&self.format()))
            .count();
        if errors.len() == 1 && readers <= 1 {
            return errors.remove(0);
        }
        // a corrupt file is corrupt for every backend: the first one's account of it
        if !errors.is_empty() && errors.iter().all(|e| e.kind() == ErrorKind::InvalidModel) {
            return errors.remove(0);
        }
        // every candidate refused the same request (a tensor over the size limit): that error
        let first = errors.first().map(ToString::to_string);
        if !errors.is_empty()
            && errors[0].kind() == ErrorKind::InvalidRequest
            && errors.iter().all(|e| Some(e.to_string()) == first)
        {
            return errors.remove(0);
        }
        let reasons = reports
            .iter()
            .map(|r| format!("{}: {}", r.label, r.outcome))
            .collect::<Vec<_>>()
            .join("; ");
        Error::NoBackend {
            path: self.source.path().into(),
            reasons,
        }
    }

    pub(crate) fn named(&self, cands: &[Cand<'_>], name: &str, how: Source) -> Result<Done> {
        let c = find(cands, name)?;
        let b = c.backend;
        let readable = b.formats().contains(&self.format()) || b.formats().is_empty();
        if let Some(why) = skip_reason(b, self.format()) {
            if !readable {
                return Err(Error::NoBackend {
                    path: self.source.path().into(),
                    reasons: format!("{}: {why}", c.label),
                });
            }
            // its own error says best why it cannot run here
            return Err(self
                .prepare(c)
                .err()
                .unwrap_or_else(|| Error::BackendUnavailable {
                    backend: b.name().into(),
                    reason: why,
                }));
        }
        let prepared = self.prepare(c)?;
        let candidates = cands
            .iter()
            .map(|o| {
                let outcome = if o.label == c.label {
                    Outcome::Prepared
                } else {
                    Outcome::Skipped(format!("{} was chosen by name", c.label))
                };
                self.report(o, outcome)
            })
            .collect();
        Ok(self.done(
            c,
            prepared,
            Decision {
                chosen: c.label.to_string(),
                source: how,
                candidates,
                measuring: Duration::ZERO,
                notes: Vec::new(),
            },
        ))
    }

    pub(crate) fn choose(&self, cands: &[Cand<'_>], first: bool) -> Result<Done> {
        let format = self.format();
        let mut reports: Vec<CandidateReport> = Vec::new();
        let mut eligible: Vec<usize> = Vec::new();
        let fp16 = self.rt.platform().has_feature("fp16");
        for (i, c) in cands.iter().enumerate() {
            let outcome = match skip_reason(c.backend, format) {
                Some(why) => Outcome::Skipped(why),
                // fp16 arithmetic in the CPU (ARMv8.2's FP16) or none: XNNPACK would emulate it
                None if c.reduced && !fp16 => Outcome::Skipped(
                    "this CPU has no fp16 arithmetic (ARMv8.2 FP16, `asimdhp`): XNNPACK would emulate it, slower than float32".into(),
                ),
                // the backend's descriptor says it is not chosen automatically, and why
                None => match c.backend.descriptor().not_automatic_for(format) {
                    Some(why) => Outcome::Skipped(why.into()),
                    None => {
                        eligible.push(i);
                        Outcome::NotTried
                    }
                },
            };
            reports.push(self.report(c, outcome));
        }
        if eligible.is_empty() {
            return Err(self.none_left(&reports, Vec::new()));
        }
        // in order of preference for this format; the rest (variants) as listed
        eligible.sort_by_key(|&i| (crate::backends::rank(format, cands[i].label), i));
        if first || eligible.len() == 1 || self.rt.budget.is_zero() {
            let how = if eligible.len() == 1 {
                Source::Only
            } else {
                Source::Order
            };
            return self.in_order(cands, &eligible, reports, how);
        }
        self.measured(cands, &eligible, reports)
    }

    /// The first eligible candidate that prepares the model.
    fn in_order(
        &self,
        cands: &[Cand<'_>],
        eligible: &[usize],
        mut reports: Vec<CandidateReport>,
        how: Source,
    ) -> Result<Done> {
        let mut errors = Vec::new();
        for &i in eligible {
            let c = &cands[i];
            match self.prepare(c) {
                Ok(prepared) => {
                    reports[i].outcome = Outcome::Prepared;
                    let format = self.format();
                    let notes = match crate::backends::preference(format) {
                        Some(p) if eligible.len() > 1 && p.order.first() == Some(&c.label) => {
                            vec![format!(
                                "{}: preferred for {format} models: {}",
                                c.label, p.why
                            )]
                        }
                        _ => Vec::new(),
                    };
                    return Ok(self.done(
                        c,
                        prepared,
                        Decision {
                            chosen: c.label.to_string(),
                            source: how,
                            candidates: reports,
                            measuring: Duration::ZERO,
                            notes,
                        },
                    ));
                }
                // a mistake in what the user asked for (a delegate that fails, a shape that
                // does not fit) is reported, not papered over by another backend
                Err(e) if e.stops_dispatch() => return Err(e),
                Err(e) => {
                    reports[i].outcome = Outcome::Failed(e.to_string());
                    errors.push(e);
                }
            }
        }
        Err(self.none_left(&reports, errors))
    }
}

fn skip_reason(b: &dyn Backend, format: ModelFormat) -> Option<String> {
    // a compiled-out backend cannot say what it reads, only why it is missing
    if !b.formats().contains(&format) && !b.formats().is_empty() {
        return Some(format!("does not read {format} models"));
    }
    match b.availability() {
        Availability::Available { .. } => None,
        Availability::Unavailable { reason } => Some(format!("unavailable: {reason}")),
    }
}
