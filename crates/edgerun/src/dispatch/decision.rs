//! What the dispatcher did for one model: every candidate, what became of it, the winner and
//! where the choice came from.

use std::fmt;
use std::time::Duration;

/// Where the choice of backend came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Chosen by name in the API or on the command line.
    Explicit,
    /// Pinned by a rule of the policy file (its pattern).
    Policy(String),
    /// A decision measured earlier for the same model, device and candidates.
    Cache,
    /// Measured now: the fastest candidate whose outputs agree.
    Measured,
    /// The only candidate left, nothing to compare.
    Only,
    /// The first candidate in order of preference that prepared the model (selection `first`,
    /// or a measuring budget of zero).
    Order,
}

/// What became of one candidate.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Not a candidate: does not read the format, unavailable here, or not chosen
    /// automatically for this format.
    Skipped(String),
    /// Tried and failed: to prepare the model, or to run it on the measuring inputs.
    Failed(String),
    /// Timed: median and number of timed runs (the warm-up run is not counted).
    Measured { median: Duration, runs: usize },
    /// Timed, but its outputs disagreed with the others' beyond tolerance: never chosen.
    Disagreed {
        median: Duration,
        runs: usize,
        detail: String,
    },
    /// Median measured earlier, read from the decision cache.
    Cached { median: Option<Duration> },
    /// Prepared the model (and was chosen without measuring).
    Prepared,
    /// Not tried: another candidate was taken first.
    NotTried,
}

/// One candidate backend (or variant) for a model.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateReport {
    /// The backend's name, or the variant's label.
    pub label: String,
    /// The backend behind it.
    pub backend: &'static str,
    /// Threads it was prepared with.
    pub threads: usize,
    /// It ran on every CPU this process may use, unpinned, rather than on the default
    /// placement's set (a thread count measured as "all usable cores" on big.LITTLE).
    pub unpinned: bool,
    pub outcome: Outcome,
    /// The backend's run-time-loaded library and where it was found, when it has one.
    pub library: Option<String>,
}

/// How the backend running a model was chosen: [`crate::Model::decision`].
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    /// Label of the chosen candidate (a backend's name, or a variant's label).
    pub chosen: String,
    pub source: Source,
    /// Every candidate, in order of preference.
    pub candidates: Vec<CandidateReport>,
    /// Time spent preparing the losing candidates and measuring (zero without measuring).
    pub measuring: Duration,
    /// Remarks: why the reference backend was kept, cache trouble, a policy fallback.
    pub notes: Vec<String>,
}

impl Decision {
    /// The report of the candidate labelled `label`.
    pub fn candidate(&self, label: &str) -> Option<&CandidateReport> {
        self.candidates.iter().find(|c| c.label == label)
    }

    /// Warnings worth showing even when the decision is not explained (the cache could not
    /// be read or written).
    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.notes
            .iter()
            .filter(|n| n.starts_with("cache:"))
            .map(String::as_str)
    }
}

pub(crate) fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 1.0 {
        format!("{ms:.2} ms")
    } else {
        format!("{:.1} µs", ms * 1e3)
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Explicit => write!(f, "chosen by name"),
            Source::Policy(p) => write!(f, "pinned by the policy rule for {p:?}"),
            Source::Cache => write!(
                f,
                "from the decision cache (measured earlier on this device)"
            ),
            Source::Measured => write!(
                f,
                "measured now: fastest median among the candidates whose outputs agree"
            ),
            Source::Only => write!(f, "the only candidate that can run it here"),
            Source::Order => write!(
                f,
                "first candidate in order of preference that prepared it (not measured)"
            ),
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let runs = |n: usize| {
            if n == 0 {
                "warm-up run only".to_string()
            } else {
                format!("{n} timed run{}", if n == 1 { "" } else { "s" })
            }
        };
        match self {
            Outcome::Skipped(why) => write!(f, "skipped: {why}"),
            Outcome::Failed(why) => write!(f, "failed: {why}"),
            Outcome::Measured { median, runs: n } => {
                write!(f, "median {} ({}), outputs agree", ms(*median), runs(*n))
            }
            Outcome::Disagreed {
                median,
                runs: n,
                detail,
            } => write!(
                f,
                "rejected: outputs disagree ({detail}); median {} ({})",
                ms(*median),
                runs(*n)
            ),
            Outcome::Cached { median: Some(m) } => write!(f, "median {} (cached)", ms(*m)),
            Outcome::Cached { median: None } => write!(f, "not measured (cached)"),
            Outcome::Prepared => write!(f, "prepared"),
            Outcome::NotTried => write!(f, "not tried"),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "backend {}: {}", self.chosen, self.source)?;
        if !self.measuring.is_zero() {
            write!(f, "; measuring took {}", ms(self.measuring))?;
        }
        for c in &self.candidates {
            let mark = if c.label == self.chosen {
                "  <- chosen"
            } else {
                ""
            };
            let backend = if c.label == c.backend {
                String::new()
            } else {
                format!(" ({})", c.backend)
            };
            write!(
                f,
                "\n  {}{backend}, {} thread{}{}: {}{mark}",
                c.label,
                c.threads,
                if c.threads == 1 { "" } else { "s" },
                if c.unpinned {
                    " on every usable CPU, unpinned"
                } else {
                    ""
                },
                c.outcome
            )?;
            if let Some(lib) = &c.library {
                write!(f, "\n    library {lib}")?;
            }
        }
        for n in &self.notes {
            write!(f, "\n  note: {n}")?;
        }
        Ok(())
    }
}
