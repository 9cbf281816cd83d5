//! edgerun runs neural-network models on the CPU and accelerators of Arm Cortex-A Linux boards.
//!
//! Hand it a model file; it recognises the format from the file's bytes, picks a backend that
//! can run it on this device, prepares the model once and gives sessions that turn input
//! [`Tensor`]s into output tensors.
//!
//! ```
//! # fn main() -> Result<(), edgerun::Error> {
//! # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/mobilenetv2_mini.onnx");
//! use edgerun::{Runtime, Tensor};
//!
//! let model = Runtime::new().with_threads(2).load(path)?;
//! println!("{} runs on {}", model.path().display(), model.backend());
//!
//! let input = Tensor::from_vec(vec![1, 3, 224, 224], vec![0.5f32; 3 * 224 * 224])?;
//! let mut session = model.session()?;
//! let outputs = session.run_named(&[("input", &input)])?;
//! let logits = outputs.get("logits").expect("the model has a logits output");
//! assert_eq!(logits.shape(), &[1, 100]);
//! # Ok(())
//! # }
//! ```
//!
//! Backends are cargo features: `tract` (on by default) is pure-Rust CPU inference for ONNX,
//! NNEF and part of TensorFlow Lite. A backend compiled out still appears in
//! [`Runtime::backends`], reporting itself unavailable and why.

#![forbid(unsafe_code)]

/// The README's examples, compiled and run as doctests (from this crate's directory, where
/// `models` links to the workspace's models).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use edgerun_core::platform::{cpulist, PinGuard};

pub use edgerun_core::f16;

/// The tract backend, to configure and [`Runtime::register`].
#[cfg(feature = "tract")]
pub use edgerun_tract as tract;

pub use edgerun_core::{
    backend, check_inputs, dtype, error, format, library, npy, onnx, order_inputs, platform,
    tensor, AsTensorView, Availability, Backend, BackendReport, CpuAffinity, DType, Data, DataRef,
    DelegateReport, Descriptor, Dim, Element, Error, ErrorKind, ModelFormat, ModelInfo,
    ModelSource, OpTiming, Options, Placement, Platform, Prepared, Quant, Result, Session, Setting,
    Tensor, TensorInfo, TensorView, Tolerance,
};

mod cache;
mod decision;
pub mod fill;
pub use edgerun_core::limits;
mod measure;
mod policy;
/// Image inputs: decoding, resizing, fitting and normalizing into a model's input tensor.
#[cfg(feature = "image")]
pub mod preprocess;
mod report;
pub use cache::CacheSetting;
pub use decision::{CandidateReport, Decision, Outcome, Source};
/// The LiteRT backend, to configure (library path) and [`Runtime::register`].
#[cfg(feature = "litert")]
pub use edgerun_litert as litert;
#[cfg(feature = "ort")]
pub use edgerun_ort as ort;
/// The TensorFlow Lite backend, to configure (library path, XNNPACK, external delegates) and
/// [`Runtime::register`].
#[cfg(feature = "tflite")]
pub use edgerun_tflite as tflite;
pub use policy::{Policy, Rule};
pub use report::{BuildReport, DeviceReport, PlacementReport, Report, REPORT_SCHEMA};

/// Every backend edgerun knows, in order of preference: name, cargo feature, constructor.
/// This list is the one place a backend is named; its formats come from the backend itself.
/// A backend whose cargo feature is off is listed as a stand-in that reports itself
/// unavailable and says which feature to enable.
macro_rules! backends {
    ($( $name:literal, $feature:literal, $ctor:expr; )*) => {
        /// `(name, cargo feature)` of every backend, in order of preference.
        pub const BACKENDS: &[(&str, &str)] = &[$(($name, $feature)),*];

        /// Names of the backends compiled into this build.
        fn compiled_in() -> Vec<&'static str> {
            let mut v = Vec::new();
            $(
                if cfg!(feature = $feature) {
                    v.push($name);
                }
            )*
            v
        }

        /// A new instance of the backend of that name, with default settings.
        fn fresh_backend(name: &str) -> Option<Box<dyn Backend>> {
            compiled_backends().into_iter().find(|b| b.name() == name)
        }

        fn compiled_backends() -> Vec<Box<dyn Backend>> {
            vec![$(
                {
                    #[cfg(feature = $feature)]
                    let b: Box<dyn Backend> = Box::new($ctor);
                    #[cfg(not(feature = $feature))]
                    let b: Box<dyn Backend> = {
                        static DESCRIPTOR: Descriptor = Descriptor { name: $name, formats: &[] };
                        Box::new(Disabled { descriptor: &DESCRIPTOR, feature: $feature })
                    };
                    b
                },
            )*]
        }
    };
}

backends! {
    "litert", "litert", edgerun_litert::LiteRtBackend::new();
    "ort", "ort", edgerun_ort::OrtBackend::new();
    "tflite", "tflite", edgerun_tflite::TfLiteBackend::new();
    "tract", "tract", edgerun_tract::TractBackend::new();
}

/// The reference backends of each format, most trusted first: when two candidates' outputs
/// disagree, the one ranked here first is kept. ONNX Runtime is ONNX's reference
/// implementation; LiteRT and TensorFlow Lite are the TensorFlow Lite format's own runtimes.
const REFERENCE: &[(ModelFormat, &[&str])] = &[
    (ModelFormat::Onnx, &["ort", "tract"]),
    (ModelFormat::TfLite, &["litert", "tflite", "tract"]),
    (ModelFormat::Nnef, &["tract"]),
];

fn reference_rank(format: ModelFormat, backend: &str) -> usize {
    REFERENCE
        .iter()
        .find(|(f, _)| *f == format)
        .and_then(|(_, names)| names.iter().position(|n| *n == backend))
        .unwrap_or(usize::MAX)
}

/// How candidates' outputs agree: see [`agreement`].
struct Agreement {
    /// The candidate the others are judged by.
    anchor: usize,
    /// How many others agree with the anchor.
    agreeing: usize,
    /// For each candidate, how its outputs differ from the anchor's (`None`: they agree).
    rejected: Vec<Option<String>>,
}

/// The largest group of candidates whose outputs agree with one anchor: the candidate that
/// agrees with the most others, ties to the better `rank` (the format's reference backend
/// first), then to order. Fewer than two candidates all agree.
fn agreement(outputs: &[&[Tensor]], rank: impl Fn(usize) -> usize) -> Agreement {
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

/// The default measuring budget of `auto`: half a second of timed runs, paid at the first
/// load of a model on a device (later loads hit the decision cache). It bounds the timed runs
/// only; preparing each candidate comes on top. Most models are decided well before it runs
/// out (a clear winner ends measuring after three rounds).
pub const DEFAULT_MEASURE_BUDGET: Duration = Duration::from_millis(500);

/// How a runtime chooses a model's backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Measure the candidates that can run the model and take the fastest whose outputs agree
    /// (the default).
    Auto,
    /// The first candidate in order of preference that prepares the model; no measuring.
    First,
    /// This backend or variant only; an error if it cannot run the model.
    Named(String),
}

impl Selection {
    /// `auto`, `first`, or a backend or variant name.
    pub fn parse(text: &str) -> Selection {
        match text {
            "auto" => Selection::Auto,
            "first" => Selection::First,
            name => Selection::Named(name.to_string()),
        }
    }
}

/// A second configuration of a backend, competing with the others under its own label:
/// TensorFlow Lite without XNNPACK, with an external delegate and its options, a backend with
/// another thread count.
pub struct Variant {
    pub label: String,
    pub backend: Box<dyn Backend>,
    /// Threads for this variant (default: the runtime's).
    pub threads: Option<usize>,
}

impl Variant {
    pub fn new(label: impl Into<String>, backend: Box<dyn Backend>) -> Variant {
        Variant {
            label: label.into(),
            backend,
            threads: None,
        }
    }

    pub fn with_threads(mut self, threads: usize) -> Variant {
        self.threads = Some(threads.max(1));
        self
    }
}

/// One candidate of a load: a backend or a variant.
#[derive(Clone, Copy)]
struct Cand<'a> {
    label: &'a str,
    backend: &'a dyn Backend,
    threads: Option<usize>,
}

/// Stand-in for a backend that was compiled out.
#[allow(dead_code)]
struct Disabled {
    descriptor: &'static Descriptor,
    feature: &'static str,
}

impl Backend for Disabled {
    fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }

    fn availability(&self) -> Availability {
        Availability::Unavailable {
            reason: format!(
                "edgerun was built without the `{}` cargo feature; enable it to use this backend",
                self.feature
            ),
        }
    }

    fn prepare(&self, _: &ModelSource, _: &Options) -> Result<Box<dyn Prepared>> {
        match self.availability() {
            Availability::Unavailable { reason } => Err(Error::BackendUnavailable {
                backend: self.name().into(),
                reason,
            }),
            Availability::Available { .. } => unreachable!("a disabled backend is never available"),
        }
    }
}

/// The backends and the options models are loaded with.
///
/// Threads and CPUs follow the device unless set: one thread per big core this process may
/// use, pinned to the big cores on a big.LITTLE CPU ([`Platform::default_placement`]).
pub struct Runtime {
    backends: Vec<Box<dyn Backend>>,
    variants: Vec<Variant>,
    options: Options,
    selection: Selection,
    affinity: CpuAffinity,
    platform: OnceLock<Platform>,
    budget: Duration,
    cache: CacheSetting,
    policy: Option<Arc<Policy>>,
}

impl Default for Runtime {
    fn default() -> Runtime {
        Runtime::new()
    }
}

impl Runtime {
    /// Every backend compiled in, default options.
    pub fn new() -> Runtime {
        Runtime::with_backends(compiled_backends())
    }

    /// A runtime over the given backends, in this order of preference.
    pub fn with_backends(backends: Vec<Box<dyn Backend>>) -> Runtime {
        Runtime {
            backends,
            variants: Vec::new(),
            options: Options::default(),
            selection: Selection::Auto,
            affinity: CpuAffinity::Default,
            platform: OnceLock::new(),
            budget: DEFAULT_MEASURE_BUDGET,
            cache: CacheSetting::Default,
            policy: None,
        }
    }

    /// Put a configured backend in place of the built-in one of the same name (keeping its
    /// rank), or add it last.
    pub fn register(mut self, backend: Box<dyn Backend>) -> Runtime {
        match self
            .backends
            .iter()
            .position(|b| b.name() == backend.name())
        {
            Some(i) => self.backends[i] = backend,
            None => self.backends.push(backend),
        }
        self
    }

    /// Every backend's own settings, with the backend's name.
    pub fn settings(&self) -> Vec<(&'static str, &'static Setting)> {
        self.backends
            .iter()
            .flat_map(|b| b.settings().iter().map(move |s| (b.name(), s)))
            .collect()
    }

    /// Set a backend's setting by its key (see [`Runtime::settings`]), e.g.
    /// `("tflite_lib", "/opt/lib/libtensorflowlite_c.so")`.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when no backend has the setting or the value does not parse.
    pub fn configure(mut self, key: &str, value: &str) -> Result<Runtime> {
        match self
            .backends
            .iter_mut()
            .find(|b| b.settings().iter().any(|s| s.key == key))
        {
            Some(b) => {
                b.set(key, value)?;
                Ok(self)
            }
            None => Err(Error::InvalidOption {
                option: key.into(),
                reason: "no backend of this build has such a setting".into(),
            }),
        }
    }

    /// Threads for one inference (default: [`Platform::default_placement`]).
    pub fn with_threads(mut self, threads: usize) -> Runtime {
        self.options = self.options.with_threads(threads);
        self
    }

    /// Where inference threads run: `big`, `little`, `all`, CPUs, or the device's default.
    /// The backend's worker threads, and the calling thread while it prepares a model, creates
    /// a session or runs one, are pinned there; the calling thread gets its former CPUs back.
    pub fn with_affinity(mut self, affinity: CpuAffinity) -> Runtime {
        self.affinity = affinity;
        self
    }

    /// Describe the device from this platform instead of detecting it (a captured tree, see
    /// [`Platform::from_root`]).
    pub fn with_platform(self, platform: Platform) -> Runtime {
        let cell = OnceLock::new();
        let _ = cell.set(platform);
        Runtime {
            platform: cell,
            ..self
        }
    }

    /// The device, detected once.
    pub fn platform(&self) -> &Platform {
        self.platform.get_or_init(Platform::detect)
    }

    /// Threads and CPUs models will be loaded with, and why.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when the affinity names no usable CPU (the error lists the
    /// CPUs that exist).
    pub fn placement(&self) -> Result<Placement> {
        self.placement_with(self.options.threads, &self.affinity)
    }

    fn placement_with(
        &self,
        threads: Option<usize>,
        affinity_asked: &CpuAffinity,
    ) -> Result<Placement> {
        let platform = self.platform();
        let default = platform.default_placement();
        let affinity = affinity_asked.resolve(platform)?;
        let (count, mut why) = match threads {
            Some(t) => (
                t,
                format!("{t} thread{} as asked", if t == 1 { "" } else { "s" }),
            ),
            None if *affinity_asked == CpuAffinity::Default => (default.threads, default.why),
            None => {
                // one thread per CPU of the chosen set, within the cgroup's quota
                let n = affinity.as_ref().map_or(default.threads, Vec::len);
                let n = match platform.cpu_quota {
                    Some(q) => n.min((q.ceil() as usize).max(1)),
                    None => n,
                };
                (n, format!("one thread per CPU of the {affinity_asked} set"))
            }
        };
        if *affinity_asked != CpuAffinity::Default || threads.is_some() {
            match &affinity {
                Some(cpus) => why.push_str(&format!(
                    "; pinned to CPUs {} ({})",
                    cpulist::format(cpus),
                    affinity_asked
                )),
                None => why.push_str("; not pinned"),
            }
        }
        Ok(Placement {
            threads: count,
            affinity,
            why,
        })
    }

    /// Everything `edgerun info` prints: build, device, default placement, backends.
    pub fn report(&self) -> Report {
        report::build(self)
    }

    /// The shape an input with dynamic dimensions is prepared for: its plan is made at load.
    /// Runs may still give other shapes that fit the model (on backends that re-plan).
    pub fn with_input_shape(
        mut self,
        input: impl Into<String>,
        shape: impl Into<Vec<usize>>,
    ) -> Runtime {
        self.options = self.options.with_input_shape(input, shape);
        self
    }

    /// Replace all options at once.
    pub fn with_options(mut self, options: Options) -> Runtime {
        self.options = options;
        self
    }

    /// How to choose a model's backend: `auto` (the default: measure), `first` (first in order
    /// of preference, no measuring), or a backend or variant name (that one only: an error
    /// saying why when it cannot run the model, never another backend in its place).
    pub fn with_backend(mut self, name: impl Into<String>) -> Runtime {
        self.selection = Selection::parse(&name.into());
        self
    }

    /// As [`Runtime::with_backend`].
    pub fn with_selection(mut self, selection: Selection) -> Runtime {
        self.selection = selection;
        self
    }

    /// How long `auto` may spend on timed runs per load (default
    /// [`DEFAULT_MEASURE_BUDGET`]); zero takes the first candidate in order without measuring.
    pub fn with_measure_budget(mut self, budget: Duration) -> Runtime {
        self.budget = budget;
        self
    }

    /// Where measured choices are cached (default [`CacheSetting::Default`]).
    pub fn with_cache(mut self, cache: CacheSetting) -> Runtime {
        self.cache = cache;
        self
    }

    /// Add a variant of a backend that competes under its own label.
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when the label is taken (a backend, another variant, `auto`,
    /// `first`) or empty.
    pub fn with_variant(mut self, variant: Variant) -> Result<Runtime> {
        let taken = variant.label.is_empty()
            || ["auto", "first"].contains(&variant.label.as_str())
            || self.cands(None).iter().any(|c| c.label == variant.label);
        if taken {
            return Err(Error::InvalidOption {
                option: format!("variant {:?}", variant.label),
                reason: "the label is empty or already names a backend, a variant, auto or first; give the variant its own label".into(),
            });
        }
        self.variants.push(variant);
        Ok(self)
    }

    /// Per-model choices of an integrator (see [`Policy`]).
    ///
    /// # Errors
    /// [`Error::InvalidOption`] when a rule names a backend or a setting this runtime lacks.
    pub fn with_policy(mut self, policy: Policy) -> Result<Runtime> {
        let labels: Vec<&str> = self.cands(None).iter().map(|c| c.label).collect();
        for r in &policy.rules {
            if let Some(Selection::Named(b)) = r.backend.as_deref().map(Selection::parse) {
                if !labels.contains(&b.as_str()) {
                    return Err(Error::InvalidOption {
                        option: format!(
                            "backend of the rule for {:?} in {}",
                            r.model, policy.origin
                        ),
                        reason: format!(
                            "no backend or variant {b:?}; known: auto, first, {}",
                            labels.join(", ")
                        ),
                    });
                }
            }
            // a rule's settings go to one backend of this build: the one it names, or the
            // one that owns them
            let settings = r.all_settings();
            let bad = |key: &str, reason: String| Error::InvalidOption {
                option: format!(
                    "setting {key:?} of the rule for {:?} in {}",
                    r.model, policy.origin
                ),
                reason,
            };
            let mut owner: Option<&'static str> = None;
            if let Some(Selection::Named(b)) = r.backend.as_deref().map(Selection::parse) {
                if !settings.is_empty() && self.variants.iter().any(|v| v.label == b) {
                    return Err(bad(
                        &settings[0].0,
                        format!("{b} is a variant: settings apply to backends; configure the variant's backend when adding it"),
                    ));
                }
                owner = self
                    .backends
                    .iter()
                    .find(|x| x.name() == b)
                    .map(|x| x.name());
            }
            for (key, _) in &settings {
                let Some((by, _)) = self.settings().into_iter().find(|(_, s)| s.key == key) else {
                    return Err(bad(
                        key,
                        "no backend of this build has such a setting (see `edgerun info`)".into(),
                    ));
                };
                match owner {
                    Some(o) if o != by => {
                        return Err(bad(key, format!("it is a setting of {by}, not of {o}")))
                    }
                    _ => owner = Some(by),
                }
            }
            if let Some(o) = owner.filter(|_| !settings.is_empty()) {
                if fresh_backend(o).is_none() {
                    return Err(bad(
                        &settings[0].0,
                        format!("{o} is not a backend of this build that a rule can configure"),
                    ));
                }
            }
        }
        self.policy = Some(Arc::new(policy));
        Ok(self)
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Every known backend, available or not.
    pub fn backends(&self) -> &[Box<dyn Backend>] {
        &self.backends
    }

    /// The variants added with [`Runtime::with_variant`].
    pub fn variants(&self) -> &[Variant] {
        &self.variants
    }

    /// Open a model file (or NNEF directory) and prepare it on the backend chosen for it (see
    /// [`Runtime::load_source`]).
    ///
    /// # Errors
    /// The file is missing, empty, corrupt or of no known format; the model needs an input
    /// shape that was not given; no backend can run it (each backend's reason is given).
    pub fn load(&self, path: impl AsRef<Path>) -> Result<Model> {
        self.load_source(ModelSource::open(path)?)
    }

    /// Prepare a model held in memory; `label` names it in messages.
    ///
    /// # Errors
    /// As [`Runtime::load`].
    pub fn load_bytes(&self, label: &str, bytes: impl Into<Arc<[u8]>>) -> Result<Model> {
        self.load_source(ModelSource::from_bytes(label, bytes)?)
    }

    /// What a model declares (format, inputs and outputs with dynamic dimensions), read by the
    /// first backend that reads its format; no input shapes needed.
    ///
    /// # Errors
    /// As [`Runtime::load`].
    pub fn inspect(
        &self,
        path: impl AsRef<Path>,
    ) -> Result<(ModelSource, &'static str, ModelInfo)> {
        let source = ModelSource::open(path)?;
        let mut reasons = Vec::new();
        let mut first_error = None;
        let cands = self.cands(None);
        let cands = match &self.selection {
            Selection::Named(name) => vec![*find(&cands, name)?],
            _ => cands,
        };
        // reading a model's declarations may not need a backend's native library: try every
        // backend that reads the format, available or not
        for c in cands {
            let b = c.backend;
            if !b.formats().contains(&source.format()) {
                continue;
            }
            match b.inspect(&source) {
                Ok(info) => return Ok((source, b.name(), info)),
                Err(e) => {
                    reasons.push(format!("{}: {e}", b.name()));
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) if reasons.len() == 1 => Err(e),
            _ => Err(Error::NoBackend {
                path: source.path().into(),
                reasons: reasons.join("; "),
            }),
        }
    }

    /// Backends then variants, in order of preference; `replacement` takes the place of the
    /// backend of its name.
    fn cands<'a>(&'a self, replacement: Option<&'a dyn Backend>) -> Vec<Cand<'a>> {
        let backends = self.backends.iter().map(|b| match replacement {
            Some(r) if r.name() == b.name() => r,
            _ => b.as_ref(),
        });
        backends
            .map(|b| Cand {
                label: b.name(),
                backend: b,
                threads: None,
            })
            .chain(self.variants.iter().map(|v| Cand {
                label: &v.label,
                backend: v.backend.as_ref(),
                threads: v.threads,
            }))
            .collect()
    }

    /// Prepare a model on the backend chosen for it:
    ///
    /// 1. a policy rule that matches the model's path may set the selection, threads,
    ///    affinity and backend settings;
    /// 2. a backend or variant chosen by name runs the model or the load fails with its reason
    ///    (a policy rule with `fallback = true` then chooses automatically);
    /// 3. otherwise the candidates are the backends and variants that read the format, are
    ///    available here and may be chosen automatically; the rest are recorded as skipped;
    /// 4. with one candidate, or selection `first`, or no measuring budget, the first that
    ///    prepares the model wins;
    /// 5. with `auto` and two or more, a choice cached for this model, device and candidates
    ///    is used; else every candidate is prepared and measured on the same seeded inputs
    ///    (see [`DEFAULT_MEASURE_BUDGET`]), a candidate whose outputs disagree with the others
    ///    is rejected (of two that disagree, the format's reference backend is kept), the
    ///    fastest median wins, and the choice is cached.
    ///
    /// [`Model::decision`] tells what happened.
    ///
    /// # Errors
    /// As [`Runtime::load`]; when no candidate is left, the error lists each with its reason.
    pub fn load_source(&self, source: ModelSource) -> Result<Model> {
        let rule = self
            .policy
            .as_deref()
            .and_then(|p| p.rule_for(source.path()));
        let threads = rule.and_then(|r| r.threads).or(self.options.threads);
        let affinity_asked = match rule.map(Rule::cpu_affinity).transpose()?.flatten() {
            Some(a) => a,
            None => self.affinity.clone(),
        };
        let placement = self.placement_with(threads, &affinity_asked)?;
        let mut selection = match rule.and_then(|r| r.backend.as_deref()) {
            Some(b) => Selection::parse(b),
            None => self.selection.clone(),
        };
        // a rule's settings apply to a fresh instance of their backend
        let fresh = match rule {
            Some(r) if !r.all_settings().is_empty() => Some(self.fresh_for(r)?),
            _ => None,
        };
        let cands = self.cands(fresh.as_deref());
        let affinity: Option<Arc<[usize]>> = placement.affinity.as_deref().map(Arc::from);
        // threads a backend starts while preparing inherit the caller's CPUs
        let _pin = PinGuard::new(affinity.as_deref())?;
        let load = Load {
            rt: self,
            source: &source,
            placement: &placement,
            rule_threads: rule.is_some_and(|r| r.threads.is_some()),
        };
        let mut notes = Vec::new();
        if let Selection::Named(name) = &selection {
            let how = match rule {
                Some(r) if r.backend.is_some() => Source::Policy(r.model.clone()),
                _ => Source::Explicit,
            };
            match load.named(&cands, name, how) {
                Ok(done) => return Ok(done.into_model(source, placement, affinity)),
                Err(e) if rule.is_some_and(|r| r.fallback && r.backend.is_some()) => {
                    notes.push(format!(
                        "policy: {name} cannot run it ({e}); chosen automatically as the rule for {:?} allows",
                        rule.map(|r| r.model.as_str()).unwrap_or_default()
                    ));
                    selection = Selection::Auto;
                }
                Err(e) => return Err(e),
            }
        }
        let mut done = load.choose(&cands, selection == Selection::First)?;
        notes.append(&mut done.decision.notes);
        done.decision.notes = notes;
        Ok(done.into_model(source, placement, affinity))
    }

    fn fresh_for(&self, rule: &Rule) -> Result<Box<dyn Backend>> {
        let settings = rule.all_settings();
        let owner = |key: &str| {
            self.settings()
                .into_iter()
                .find(|(_, s)| s.key == key)
                .map(|(b, _)| b)
        };
        let name = match rule.backend.as_deref().map(Selection::parse) {
            Some(Selection::Named(n)) => self
                .cands(None)
                .iter()
                .find(|c| c.label == n)
                .map(|c| c.backend.name()),
            _ => owner(&settings[0].0),
        };
        let mut b = name
            .and_then(fresh_backend)
            .ok_or_else(|| Error::InvalidOption {
                option: format!("settings of the policy rule for {:?}", rule.model),
                reason: "no backend of this build has them".into(),
            })?;
        for (k, v) in &settings {
            b.set(k, v)?;
        }
        Ok(b)
    }
}

fn find<'c, 'a>(cands: &'c [Cand<'a>], name: &str) -> Result<&'c Cand<'a>> {
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
struct Load<'r> {
    rt: &'r Runtime,
    source: &'r ModelSource,
    placement: &'r Placement,
    /// A policy rule set the threads: they hold for every candidate, variants too.
    rule_threads: bool,
}

/// A prepared winner and how it was chosen.
struct Done {
    prepared: Box<dyn Prepared>,
    threads: usize,
    decision: Decision,
}

impl Done {
    fn into_model(
        self,
        source: ModelSource,
        mut placement: Placement,
        affinity: Option<Arc<[usize]>>,
    ) -> Model {
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

    fn prepare(&self, c: &Cand<'_>) -> Result<Box<dyn Prepared>> {
        let options = Options {
            threads: Some(self.threads(c)),
            affinity: self.placement.affinity.clone(),
            ..self.rt.options.clone()
        };
        c.backend.prepare(self.source, &options)
    }

    fn report(&self, c: &Cand<'_>, outcome: Outcome) -> CandidateReport {
        CandidateReport {
            label: c.label.to_string(),
            backend: c.backend.name(),
            threads: self.threads(c),
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

    fn named(&self, cands: &[Cand<'_>], name: &str, how: Source) -> Result<Done> {
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
        Ok(Done {
            prepared,
            threads: self.threads(c),
            decision: Decision {
                chosen: c.label.to_string(),
                source: how,
                candidates,
                measuring: Duration::ZERO,
                notes: Vec::new(),
            },
        })
    }

    fn choose(&self, cands: &[Cand<'_>], first: bool) -> Result<Done> {
        let format = self.format();
        let mut reports: Vec<CandidateReport> = Vec::new();
        let mut eligible: Vec<usize> = Vec::new();
        for (i, c) in cands.iter().enumerate() {
            let outcome = match skip_reason(c.backend, format) {
                Some(why) => Outcome::Skipped(why),
                None => match c.backend.auto_choice(format) {
                    // the backend's reason says it is not chosen automatically, and why
                    Err(why) => Outcome::Skipped(why),
                    Ok(()) => {
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
                    let notes = match c.backend.preference(self.format()) {
                        Some(p) if eligible.len() > 1 => vec![format!("{}: {p}", c.label)],
                        _ => Vec::new(),
                    };
                    return Ok(Done {
                        prepared,
                        threads: self.threads(c),
                        decision: Decision {
                            chosen: c.label.to_string(),
                            source: how,
                            candidates: reports,
                            measuring: Duration::ZERO,
                            notes,
                        },
                    });
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

    /// What the cache key is made of: the model's bytes, the device, the placement and input
    /// shapes, and every eligible candidate with its engine, library and settings.
    fn cache_key(&self, cands: &[Cand<'_>], eligible: &[usize]) -> Result<String> {
        let digest = model_digest(self.source)?;
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
                "candidate {} = {} with {} threads: {}\n",
                c.label,
                c.backend.name(),
                self.threads(c),
                c.backend.fingerprint()
            ));
        }
        Ok(key)
    }

    fn measured(
        &self,
        cands: &[Cand<'_>],
        eligible: &[usize],
        mut reports: Vec<CandidateReport>,
    ) -> Result<Done> {
        let mut notes = Vec::new();
        let cache_at = self.rt.cache.path();
        let key = match &cache_at {
            None => None,
            Some(_) => match self.cache_key(cands, eligible) {
                Ok(k) => Some(k),
                Err(e) => {
                    notes.push(format!(
                        "cache: not used, the model could not be read ({e})"
                    ));
                    None
                }
            },
        };
        let hash = key.as_deref().map(sha256_hex);
        if let (Some(path), Some(hash)) = (&cache_at, &hash) {
            let (hit, warning) = cache::lookup(path, hash);
            notes.extend(warning);
            if let Some(entry) = hit {
                if let Some(&w) = eligible.iter().find(|&&i| cands[i].label == entry.winner) {
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
                            return Ok(Done {
                                prepared,
                                threads: self.threads(&cands[w]),
                                decision: Decision {
                                    chosen: entry.winner,
                                    source: Source::Cache,
                                    candidates: reports,
                                    measuring: Duration::ZERO,
                                    notes,
                                },
                            });
                        }
                        Err(e) if e.stops_dispatch() => return Err(e),
                        Err(e) => notes.push(format!(
                            "cache: the cached choice {} failed to prepare now ({e}); measured again",
                            entry.winner
                        )),
                    }
                }
            }
        }

        let started = Instant::now();
        let mut errors = Vec::new();
        let mut prepared: Vec<(usize, Box<dyn Prepared>)> = Vec::new();
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
            return Err(self.none_left(&reports, errors));
        }
        let mut sessions = Vec::new();
        let mut timed: Vec<(usize, Box<dyn Prepared>)> = Vec::new();
        for (i, p) in prepared {
            match p
                .session()
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
        let format = self.format();
        let rank = |slot: usize| reference_rank(format, cands[timed[slot].0].backend.name());
        let contenders = |warm: &[(usize, &[Tensor])]| {
            let outputs: Vec<&[Tensor]> = warm.iter().map(|(_, o)| *o).collect();
            agreement(&outputs, |k| rank(warm[k].0))
                .rejected
                .iter()
                .map(Option::is_none)
                .collect()
        };
        let results = if timed.len() >= 2 {
            measure::measure(&mut sessions, self.rt.budget, &contenders)
        } else {
            Vec::new()
        };
        drop(sessions);
        let mut ok: Vec<(usize, usize, measure::Timing)> = Vec::new(); // (slot, cand, timing)
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
        // outputs that disagree: the largest group of candidates that agree with one anchor
        // wins; the rest are rejected, however fast
        let mut rejected: Vec<Option<String>> = vec![None; ok.len()];
        if ok.len() >= 2 {
            let outputs: Vec<&[Tensor]> = ok.iter().map(|(_, _, t)| t.outputs.as_slice()).collect();
            let a = agreement(&outputs, |k| rank(ok[k].0));
            let anchor = &cands[ok[a.anchor].1];
            for (r, d) in rejected.iter_mut().zip(a.rejected) {
                *r = d.map(|d| format!("with {}: {d}", anchor.label));
            }
            if a.agreeing == 0 {
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
        for (a, (_, i, t)) in ok.iter().enumerate() {
            reports[*i].outcome = match &rejected[a] {
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
        let winner_slot = ok
            .iter()
            .enumerate()
            .filter(|(a, _)| rejected[*a].is_none())
            .min_by_key(|(_, (_, i, t))| (t.median(), *i))
            .map(|(_, (slot, _, _))| *slot);
        let (slot, source) = match winner_slot {
            Some(s) if ok.len() >= 2 => (s, Source::Measured),
            // the one candidate that ran: nothing to compare it with
            Some(s) => (s, Source::Only),
            // the one candidate that prepared and made a session: nothing to compare
            None if timed.len() == 1 => (0, Source::Only),
            // none left, or none ran on the measuring inputs: each with its reason
            None => return Err(self.none_left(&reports, errors)),
        };
        let (w, prepared) = timed.swap_remove(slot);
        drop(timed);
        if source != Source::Measured {
            reports[w].outcome = Outcome::Prepared;
        }
        let measuring = started.elapsed();
        // only a measured choice is cached: a lone survivor may owe its place to a passing
        // failure of the others
        let key = key.filter(|_| source == Source::Measured);
        if let (Some(path), Some(hash), Some(key)) = (&cache_at, &hash, key) {
            let mut medians_us = std::collections::BTreeMap::new();
            let mut rejected_map = std::collections::BTreeMap::new();
            for &i in eligible {
                match &reports[i].outcome {
                    Outcome::Measured { median, .. } => {
                        medians_us.insert(cands[i].label.to_string(), median.as_secs_f64() * 1e6);
                    }
                    Outcome::Disagreed { median, detail, .. } => {
                        medians_us.insert(cands[i].label.to_string(), median.as_secs_f64() * 1e6);
                        rejected_map.insert(
                            cands[i].label.to_string(),
                            format!("outputs disagreed ({detail})"),
                        );
                    }
                    Outcome::Failed(why) => {
                        rejected_map.insert(cands[i].label.to_string(), why.clone());
                    }
                    _ => {}
                }
            }
            let entry = cache::Entry {
                model: self.source.path().display().to_string(),
                winner: cands[w].label.to_string(),
                medians_us,
                rejected: rejected_map,
                measured_at: cache::now(),
                key,
            };
            notes.extend(cache::store(path, hash, entry));
        }
        Ok(Done {
            prepared,
            threads: self.threads(&cands[w]),
            decision: Decision {
                chosen: cands[w].label.to_string(),
                source,
                candidates: reports,
                measuring,
                notes,
            },
        })
    }
}

/// SHA-256 of a model: its bytes, or for an NNEF directory every file's relative path and
/// bytes in path order.
fn model_digest(source: &ModelSource) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let root = source.path();
    if source.memory().is_none() && root.is_dir() {
        let mut files = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(d) = dirs.pop() {
            let entries = std::fs::read_dir(&d).map_err(|e| Error::Io {
                path: d.clone(),
                source: e,
            })?;
            for e in entries {
                let e = e.map_err(|source| Error::Io {
                    path: d.clone(),
                    source,
                })?;
                let p = e.path();
                let kind = e.file_type().map_err(|source| Error::Io {
                    path: p.clone(),
                    source,
                })?;
                // a link to a directory is not followed (a loop would never end)
                if kind.is_dir() {
                    dirs.push(p);
                } else {
                    files.push(p);
                }
            }
        }
        files.sort();
        for f in files {
            h.update(
                f.strip_prefix(root)
                    .unwrap_or(&f)
                    .to_string_lossy()
                    .as_bytes(),
            );
            h.update([0]);
            h.update(std::fs::read(&f).map_err(|e| Error::Io {
                path: f.clone(),
                source: e,
            })?);
        }
    } else {
        h.update(&source.read_bytes()?[..]);
    }
    Ok(hex(&h.finalize()))
}

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

/// Open and prepare a model with default options on the backend chosen for it (see
/// [`Runtime::load_source`]).
///
/// # Errors
/// See [`Runtime::load`].
pub fn load(path: impl AsRef<Path>) -> Result<Model> {
    Runtime::new().load(path)
}

/// A prepared model. Cheap to clone; share it between threads and give each its own session.
#[derive(Clone)]
pub struct Model {
    prepared: Arc<dyn Prepared>,
    output_names: Arc<[String]>,
    source: ModelSource,
    decision: Decision,
    placement: Placement,
    affinity: Option<Arc<[usize]>>,
}

impl fmt::Debug for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Model")
            .field("path", &self.source.path())
            .field("format", &self.source.format())
            .field("backend", &self.backend())
            .finish()
    }
}

impl Model {
    pub fn inputs(&self) -> &[TensorInfo] {
        self.prepared.inputs()
    }

    pub fn outputs(&self) -> &[TensorInfo] {
        self.prepared.outputs()
    }

    /// The concrete shape input `index` is prepared for: its fixed shape, the shape given at
    /// load, or the model's own default (a TensorFlow Lite model's); `None` when a dimension
    /// is open and nothing fixes it (any shape that fits may then be given at run time).
    pub fn prepared_shape(&self, index: usize) -> Option<Vec<usize>> {
        self.prepared.prepared_shape(index)
    }

    /// Input `index` made of an image: resized, fitted, normalized and laid out for that
    /// input's prepared shape, type and quantization (see [`preprocess`]), with where the
    /// image lies in it.
    ///
    /// # Errors
    /// [`Error::Image`] when the input is not an image input or its height or width is left
    /// open (give its shape at load); [`Error::InvalidOption`] for an index past the inputs.
    #[cfg(feature = "image")]
    pub fn image_input(
        &self,
        index: usize,
        image: &preprocess::Image,
        how: &preprocess::Preprocess,
    ) -> Result<(Tensor, preprocess::Geometry)> {
        let info = self
            .inputs()
            .get(index)
            .ok_or_else(|| Error::InvalidOption {
                option: format!("input index {index}"),
                reason: format!("the model has {} input(s)", self.inputs().len()),
            })?;
        let shape = self.prepared_shape(index).ok_or_else(|| Error::Image {
            what: format!("for input {:?} [{}]", info.name, info.shape_string()),
            reason: format!(
                "its size is left open; give it at load (Runtime::with_input_shape, --input_layer_shape), e.g. 1,3,{h},{w} or 1,{h},{w},3",
                h = image.height(),
                w = image.width()
            ),
        })?;
        how.tensor(image, info, &shape)
    }

    /// Name of the backend running this model.
    pub fn backend(&self) -> &'static str {
        self.prepared.backend()
    }

    pub fn format(&self) -> ModelFormat {
        self.source.format()
    }

    pub fn path(&self) -> &Path {
        self.source.path()
    }

    /// How the backend will run it (delegates in use, fallbacks taken).
    pub fn notes(&self) -> Vec<String> {
        self.prepared.notes()
    }

    /// How this backend was chosen: every candidate, skip reasons, measured medians,
    /// agreement, the winner and whether it came from cache, policy or measurement.
    pub fn decision(&self) -> &Decision {
        &self.decision
    }

    /// Threads and CPUs the model runs with, and why.
    pub fn placement(&self) -> &Placement {
        &self.placement
    }

    /// How many sessions [`Model::run_batch`] runs at once: the CPUs the model may use (its
    /// pinned set, else those this process may use) divided by the threads of one inference,
    /// at least 1. Workers × threads never exceed the CPUs unless one inference alone has more
    /// threads than there are CPUs: a model loaded with one thread per core runs a batch one
    /// input at a time, each input on every core; a model loaded with one thread runs one
    /// input per core.
    pub fn batch_workers(&self) -> usize {
        let cpus = match &self.placement.affinity {
            Some(set) => set.len(),
            None => std::thread::available_parallelism().map_or(1, usize::from),
        };
        (cpus / self.placement.threads.max(1)).max(1)
    }

    /// Run many inputs, each a list in the order of [`Model::inputs`], across
    /// [`Model::batch_workers`] sessions (one per worker thread of a rayon pool; a session is
    /// never shared). Results come back in the order of `inputs`; an input that fails gets its
    /// error and the others still run.
    ///
    /// # Errors
    /// Per input, as [`ModelSession::run`]; when the sessions or the worker threads cannot be
    /// made, every input gets an [`Error::Backend`] with that error's message.
    pub fn run_batch<T: AsTensorView + Sync>(&self, inputs: &[Vec<T>]) -> Vec<Result<Outputs>> {
        // one failure that befalls every input: each gets its message
        let every = |e: &Error| -> Vec<Result<Outputs>> {
            inputs
                .iter()
                .map(|_| {
                    Err(Error::Backend {
                        backend: self.backend().into(),
                        message: e.to_string(),
                    })
                })
                .collect()
        };
        let workers = self.batch_workers().min(inputs.len());
        if workers <= 1 {
            return match self.session() {
                Ok(mut s) => inputs.iter().map(|i| s.run(i)).collect(),
                Err(e) => every(&e),
            };
        }
        let pool = match rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .thread_name(|i| format!("edgerun-batch-{i}"))
            .build()
        {
            Ok(p) => p,
            Err(e) => {
                return every(&Error::Backend {
                    backend: self.backend().into(),
                    message: format!("cannot start {workers} batch worker threads: {e}"),
                })
            }
        };
        let next = std::sync::atomic::AtomicUsize::new(0);
        let done: std::sync::Mutex<Vec<(usize, Result<Outputs>)>> =
            std::sync::Mutex::new(Vec::with_capacity(inputs.len()));
        pool.scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|_| {
                    let mut mine = Vec::new();
                    let mut session = self.session();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(input) = inputs.get(i) else { break };
                        let r = match &mut session {
                            Ok(s) => s.run(input),
                            Err(e) => Err(Error::Backend {
                                backend: self.backend().into(),
                                message: format!("no session for this worker: {e}"),
                            }),
                        };
                        mine.push((i, r));
                    }
                    done.lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(mine);
                });
            }
        });
        let mut done = done
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        done.sort_unstable_by_key(|(i, _)| *i);
        done.into_iter().map(|(_, r)| r).collect()
    }

    /// A session to run the model.
    ///
    /// # Errors
    /// When the backend cannot allocate one, or the CPUs to pin to went away.
    pub fn session(&self) -> Result<ModelSession> {
        let _pin = PinGuard::new(self.affinity.as_deref())?;
        Ok(ModelSession {
            session: self.prepared.session()?,
            prepared: self.prepared.clone(),
            output_names: self.output_names.clone(),
            affinity: self.affinity.clone(),
            views: Vec::new(),
        })
    }
}

/// Runs a [`Model`]. A session may move to another thread (`Send`) but is not shared between
/// threads (not `Sync`): a TensorFlow Lite interpreter is not thread-safe. Give each thread its
/// own session.
///
/// ```
/// fn is_send<T: Send>() {}
/// is_send::<edgerun::ModelSession>();
/// ```
///
/// ```compile_fail
/// fn is_sync<T: Sync>() {}
/// is_sync::<edgerun::ModelSession>();
/// ```
pub struct ModelSession {
    session: Box<dyn Session>,
    prepared: Arc<dyn Prepared>,
    output_names: Arc<[String]>,
    affinity: Option<Arc<[usize]>>,
    /// Room for the input views of a run, kept between runs (empty between them).
    views: Vec<TensorView<'static>>,
}

/// An empty vector of views of any lifetime that keeps the buffer of `v` (no allocation).
fn recycle<'a, 'b>(mut v: Vec<TensorView<'a>>) -> Vec<TensorView<'b>> {
    v.clear();
    // collecting an emptied vector into one of a same-sized type reuses its buffer
    v.into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

impl ModelSession {
    /// Run with inputs in the order of [`Model::inputs`]: [`Tensor`]s, [`TensorView`]s or
    /// references to them. Input shapes may change from run to run where the model's
    /// dimensions are dynamic.
    ///
    /// # Errors
    /// Wrong number of inputs, wrong dtype or shape (named in the error), or a backend failure.
    pub fn run<T: AsTensorView>(&mut self, inputs: &[T]) -> Result<Outputs> {
        let mut outputs = self.outputs();
        self.run_into(inputs, &mut outputs)?;
        Ok(outputs)
    }

    /// Run with inputs given by name, in any order.
    ///
    /// # Errors
    /// Unknown, missing or repeated input names, wrong dtype or shape, or a backend failure.
    pub fn run_named<T: AsTensorView>(&mut self, inputs: &[(&str, T)]) -> Result<Outputs> {
        let mut outputs = self.outputs();
        let mut views = recycle(std::mem::take(&mut self.views));
        let r = order_inputs(self.prepared.inputs(), inputs, &mut views)
            .and_then(|()| self.run_views(&views, &mut outputs, None));
        self.views = recycle(views);
        r.map(|()| outputs)
    }

    /// An empty [`Outputs`] for [`ModelSession::run_into`].
    pub fn outputs(&self) -> Outputs {
        Outputs {
            names: self.output_names.clone(),
            tensors: Vec::new(),
        }
    }

    /// Run and write the results into `outputs`, reusing its tensors' buffers: a loop that
    /// passes the same [`Outputs`] every time allocates nothing for its results after the
    /// first run (as long as the shapes do not grow).
    ///
    /// # Errors
    /// As [`ModelSession::run`].
    pub fn run_into<T: AsTensorView>(&mut self, inputs: &[T], outputs: &mut Outputs) -> Result<()> {
        let mut views = recycle(std::mem::take(&mut self.views));
        views.extend(inputs.iter().map(|t| t.as_view()));
        let r = self.run_views(&views, outputs, None);
        self.views = recycle(views);
        r
    }

    /// Whether [`ModelSession::run_profiled`] can time operators with this backend; the reason
    /// when it cannot.
    ///
    /// # Errors
    /// The backend's reason, as a sentence.
    pub fn profiling(&self) -> std::result::Result<(), String> {
        self.session.profiling()
    }

    /// Run like [`ModelSession::run`] and append the time each operator took to `timings`.
    ///
    /// # Errors
    /// [`Error::ProfilingUnavailable`] when the backend cannot time operators, else as
    /// [`ModelSession::run`].
    pub fn run_profiled<T: AsTensorView>(
        &mut self,
        inputs: &[T],
        timings: &mut Vec<OpTiming>,
    ) -> Result<Outputs> {
        let mut outputs = self.outputs();
        let views: Vec<TensorView<'_>> = inputs.iter().map(|t| t.as_view()).collect();
        self.run_views(&views, &mut outputs, Some(timings))?;
        Ok(outputs)
    }

    fn run_views(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &mut Outputs,
        timings: Option<&mut Vec<OpTiming>>,
    ) -> Result<()> {
        check_inputs(self.prepared.inputs(), inputs)?;
        // the calling thread computes too (TFLite, single-threaded tract): pin it for the run
        let _pin = PinGuard::new(self.affinity.as_deref())?;
        if !Arc::ptr_eq(&outputs.names, &self.output_names) {
            outputs.names = self.output_names.clone();
        }
        self.session
            .run(inputs, &mut outputs.tensors, timings)
            .map_err(|e| match e {
                Error::ProfilingUnavailable { reason, .. } => Error::ProfilingUnavailable {
                    backend: self.prepared.backend().into(),
                    reason,
                },
                e => e,
            })
    }
}

/// The outputs of one run, in the model's order, with their names (shared with the model,
/// not copied per run).
#[derive(Debug, Clone)]
pub struct Outputs {
    names: Arc<[String]>,
    tensors: Vec<Tensor>,
}

impl Outputs {
    /// The output of that name.
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.tensors.get(i))
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// `(name, tensor)` pairs in the model's order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Tensor)> {
        self.names.iter().map(String::as_str).zip(&self.tensors)
    }

    /// The tensors, in the model's order.
    pub fn tensors(&self) -> &[Tensor] {
        &self.tensors
    }

    pub fn into_vec(self) -> Vec<Tensor> {
        self.tensors
    }
}

impl std::ops::Index<usize> for Outputs {
    type Output = Tensor;
    fn index(&self, i: usize) -> &Tensor {
        &self.tensors[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_and_the_backends_agree() {
        let built = compiled_backends();
        assert_eq!(built.len(), BACKENDS.len());
        for (b, (name, feature)) in built.iter().zip(BACKENDS) {
            assert_eq!(b.name(), *name, "the backend's own descriptor names it");
            // only a compiled-out stand-in reads no format; it names the feature to enable
            if b.formats().is_empty() {
                assert!(
                    matches!(b.availability(), Availability::Unavailable { reason } if reason.contains(feature)),
                    "a compiled-out {name} names its feature"
                );
            }
        }
        let names: Vec<_> = BACKENDS.iter().map(|b| b.0).collect();
        let mut unique = names.clone();
        unique.dedup();
        assert_eq!(names, unique, "each backend once");
    }

    #[test]
    fn settings_reach_their_backend() {
        #[cfg(feature = "tract")]
        {
            assert!(Runtime::new().configure("tract_plan_cache", "2").is_ok());
            let e = Runtime::new()
                .configure("tract_plan_cache", "0")
                .err()
                .unwrap();
            assert!(e.to_string().contains("tract_plan_cache"), "{e}");
        }
        let e = Runtime::new()
            .configure("no_such_setting", "1")
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::InvalidRequest);
        let keys: Vec<_> = Runtime::new().settings().iter().map(|s| s.1.key).collect();
        let mut unique = keys.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(
            keys.len(),
            unique.len(),
            "setting keys are unique: {keys:?}"
        );
    }
}
