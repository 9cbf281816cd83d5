//! The runtime: its backends and variants, the options models are loaded with, and loading.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::backends::{compiled_backends, fresh_backend};
use crate::clock::{Clock, SystemClock};
use crate::dispatch::decision::Source;
use crate::dispatch::{find, Cand, Load};
use crate::isolation::{self, Isolation, Verdict};
use crate::platform::{cpulist, PinGuard};
use crate::report::{self, Report};
use crate::settings;
use crate::{
    Backend, CacheSetting, CpuAffinity, Error, Model, ModelInfo, ModelSource, Options, Placement,
    Platform, Policy, Result, Rule, Setting,
};

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

/// The backends and the options models are loaded with.
///
/// Threads and CPUs follow the device unless set: one thread per big core this process may
/// use, pinned to the big cores on a big.LITTLE CPU ([`Platform::default_placement`]).
pub struct Runtime {
    pub(crate) backends: Vec<Box<dyn Backend>>,
    pub(crate) variants: Vec<Variant>,
    pub(crate) options: Options,
    selection: Selection,
    affinity: CpuAffinity,
    platform: OnceLock<Platform>,
    pub(crate) budget: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) cache: CacheSetting,
    policy: Option<Arc<Policy>>,
    isolation: Isolation,
    thread_search: bool,
    precision: Precision,
}

/// The arithmetic the application allows its models ([`Runtime::with_precision`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    /// Each engine's own float arithmetic (float32 for float32 models): the default.
    #[default]
    Exact,
    /// Also fp16 where an engine offers it and the CPU computes it: such candidates are
    /// measured too, and kept only within the fp16 accuracy guard.
    Fp16,
}

impl Precision {
    /// `exact` or `fp16`.
    pub fn parse(s: &str) -> Option<Precision> {
        match s {
            "exact" => Some(Precision::Exact),
            "fp16" => Some(Precision::Fp16),
            _ => None,
        }
    }
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
            clock: Arc::new(SystemClock::new()),
            cache: CacheSetting::Default,
            policy: None,
            isolation: Isolation::Off,
            thread_search: true,
            precision: Precision::Exact,
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
            .flat_map(|b| b.descriptor().settings.iter().map(move |s| (b.name(), s)))
            .collect()
    }

    /// Set a backend's setting by its key (see [`Runtime::settings`]), e.g.
    /// `("tflite_lib", "/opt/lib/libtensorflowlite_c.so")`.
    ///
    /// # Errors
    /// [`Error::UnknownSetting`] when no backend has the setting (naming those that exist),
    /// [`Error::InvalidSetting`] when the value does not parse (naming what it accepts).
    pub fn configure(mut self, key: &str, value: &str) -> Result<Runtime> {
        match self
            .backends
            .iter_mut()
            .find(|b| b.descriptor().settings.iter().any(|s| s.key == key))
        {
            Some(b) => {
                settings::configure(b.as_mut(), key, value)?;
                Ok(self)
            }
            None => Err(Error::UnknownSetting {
                key: key.into(),
                known: self
                    .settings()
                    .iter()
                    .map(|(_, s)| s.key)
                    .collect::<Vec<_>>()
                    .join(", "),
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
                (
                    within_quota(platform, n),
                    format!("one thread per CPU of the {affinity_asked} set"),
                )
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

    /// Load models so that their sessions can time operators
    /// ([`crate::ModelSession::run_profiled`]) on every backend that can. tract and ONNX Runtime
    /// time operators whenever asked; LiteRT only in a model compiled for it, which then runs
    /// a little slower, profiled or not. Off by default.
    pub fn with_profiling(mut self, profiling: bool) -> Runtime {
        self.options = self.options.with_profiling(profiling);
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

    /// Whether `auto` also measures the thread count (on by default). With `auto`, a
    /// measuring budget, and no thread count from the application or a policy rule, the
    /// backend that wins among the others at the device's default placement is measured
    /// again, against itself, at one thread and at half the default on the same CPUs, and,
    /// where the default pins to the big cores of a big.LITTLE CPU, at one thread per usable
    /// core, unpinned. Small models often run faster on fewer threads, whose start and sync
    /// then cost more than they save; on some boards all cores beat the big ones. These
    /// candidates are named `BACKEND@COUNT`; their outputs must agree with the winner's, and
    /// a count that wins is recorded in the decision, the model's placement and the cache.
    /// Only the winner's counts are measured, so the search adds a few candidates, not a
    /// few per backend, and their timed runs share the measuring budget (with at least a
    /// quarter of it).
    pub fn with_thread_search(mut self, on: bool) -> Runtime {
        self.thread_search = on;
        self
    }

    /// The arithmetic models may use. With [`Precision::Fp16`] and `auto`, each backend's fp16
    /// twin (LiteRT with XNNPACK's `FORCE_FP16`) is a candidate named `BACKEND-fp16`, on CPUs
    /// with fp16 arithmetic (ARMv8.2 FP16: Cortex-A55, A76, A78; elsewhere XNNPACK would
    /// emulate it and it is skipped). It is kept only if its outputs stay within the fp16
    /// guard of the exact candidate's on the measuring inputs: every float element within
    /// 1e-2 × max(1, largest |exact|), and the same arg-max for outputs of two or more
    /// elements. The decision notes each twin's figures. Default: [`Precision::Exact`].
    pub fn with_precision(mut self, precision: Precision) -> Runtime {
        self.precision = precision;
        self
    }

    pub fn with_measure_budget(mut self, budget: Duration) -> Runtime {
        self.budget = budget;
        self
    }

    /// The clock `auto` measures with (default [`SystemClock`]): a scripted clock makes
    /// measuring reproducible.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Runtime {
        self.clock = clock;
        self
    }

    /// Where measured choices are cached (default [`CacheSetting::Default`]).
    pub fn with_cache(mut self, cache: CacheSetting) -> Runtime {
        self.cache = cache;
        self
    }

    /// Whether each candidate first loads the model, and runs it once, in a helper process
    /// (default [`Isolation::Off`]). With [`Isolation::probe`], an engine that crashes on a
    /// model fails that candidate with [`Error::EngineCrashed`] instead of ending this process;
    /// the verdict is cached with the decisions (see [`crate::isolation`]).
    pub fn with_isolation(mut self, isolation: Isolation) -> Runtime {
        self.isolation = isolation;
        self
    }

    pub fn isolation(&self) -> &Isolation {
        &self.isolation
    }

    /// Containment of one candidate before it loads the model here: nothing when isolation is
    /// off; else the cached verdict, or a probe in the helper. A crash there is this
    /// candidate's error; a helper that cannot be used is a note, and the load goes on.
    pub(crate) fn contain(
        &self,
        source: &ModelSource,
        digest: &std::cell::OnceCell<String>,
        (label, backend): (&str, &dyn Backend),
        options: &Options,
        inspect_only: bool,
        notes: &mut Vec<String>,
    ) -> Result<()> {
        let Isolation::Probe {
            helper,
            launcher,
            timeout,
        } = &self.isolation
        else {
            return Ok(());
        };
        let mut note = |n: String| {
            if !notes.contains(&n) {
                notes.push(n);
            }
        };
        // keyed as a decision is, for this one candidate and what the probe does
        let slot = self.cache.path().and_then(|path| {
            let digest = crate::dispatch::digest::once(digest, source).ok()?;
            let key = format!(
                "probe {}\nmodel sha256 {digest}\nformat {}\ndevice {}\nthreads {:?}; input shapes {:?}\ncandidate {label} = {}: {}\n",
                if inspect_only { "inspect" } else { "load and first run" },
                source.format(),
                self.platform().signature(),
                options.threads,
                options.input_shapes,
                backend.name(),
                backend.fingerprint()
            );
            Some((path, crate::dispatch::digest::sha256_hex(&key), key))
        });
        let cached = slot.as_ref().and_then(|(path, hash, _)| {
            let (hit, _) = crate::dispatch::cache::lookup(path, hash);
            hit.and_then(|e| isolation::from_entry(label, &e))
        });
        let verdict = match cached {
            Some(v) => v,
            None => {
                let helper = match isolation::find_helper(helper.as_deref(), launcher.as_deref()) {
                    Ok(h) => h,
                    Err(why) => {
                        note(format!(
                            "isolation: unavailable, models load in this process only: {why}"
                        ));
                        return Ok(());
                    }
                };
                let request = isolation::Request {
                    source,
                    backend,
                    options,
                    inspect_only,
                };
                let v = isolation::probe(&helper, &request, *timeout);
                if let Some((path, hash, key)) = slot {
                    let model = source.path().display().to_string();
                    if let Some(entry) = isolation::to_entry(&model, label, key, &v) {
                        if let Some(w) = crate::dispatch::cache::store(&path, &hash, entry) {
                            note(w);
                        }
                    }
                }
                v
            }
        };
        match verdict {
            Verdict::Survived | Verdict::Refused(_) => Ok(()),
            Verdict::NotProbed(why) => {
                note(format!(
                    "isolation: {label} loads in this process unprobed: {why}"
                ));
                Ok(())
            }
            Verdict::Crashed { how, stage } => {
                Err(isolation::crashed(backend.name(), source, &how, &stage))
            }
        }
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
        policy.check(&self)?;
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
        let digest = std::cell::OnceCell::new();
        for c in cands {
            let b = c.backend;
            if !b.formats().contains(&source.format()) {
                continue;
            }
            let inspected = self
                .contain(
                    &source,
                    &digest,
                    (c.label, b),
                    &Options::default(),
                    true,
                    &mut Vec::new(),
                )
                .and_then(|()| b.inspect(&source));
            match inspected {
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
    pub(crate) fn cands<'a>(&'a self, replacement: Option<&'a dyn Backend>) -> Vec<Cand<'a>> {
        let backends = self.backends.iter().map(|b| match replacement {
            Some(r) if r.name() == b.name() => r,
            _ => b.as_ref(),
        });
        backends
            .map(|b| Cand {
                label: b.name(),
                backend: b,
                threads: None,
                unpinned: false,
                base: None,
                reduced: false,
            })
            .chain(self.variants.iter().map(|v| Cand {
                label: &v.label,
                backend: v.backend.as_ref(),
                threads: v.threads,
                unpinned: false,
                base: None,
                reduced: false,
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
        // thread counts measured as candidates of their own: each backend again at each count
        // (measured for the winner among the backends only)
        let counts = match (self.thread_search, threads, &selection) {
            (true, None, Selection::Auto) if !self.budget.is_zero() => {
                // all usable cores, unpinned, where the default pins to a set of its own choosing
                let all = (affinity_asked == CpuAffinity::Default)
                    .then_some(placement.affinity.as_ref())
                    .flatten()
                    .map(|_| self.unpinned_threads());
                thread_choices(placement.threads, all)
            }
            _ => Vec::new(),
        };
        let labels: Vec<(String, &str, usize, bool)> = self
            .backends
            .iter()
            // only the backends that read the model: the others would be listed as skipped
            .filter(|b| b.formats().contains(&source.format()))
            .flat_map(|b| {
                counts
                    .iter()
                    .map(move |&(t, all)| (format!("{}@{t}", b.name()), b.name(), t, all))
            })
            .collect();
        // with reduced precision allowed, each backend's fp16 twin competes as NAME-fp16
        let precision = rule
            .and_then(|r| r.precision.as_deref())
            .and_then(Precision::parse)
            .unwrap_or(self.precision);
        let reduced: Vec<(String, Box<dyn Backend>)> = match (precision, &selection) {
            (Precision::Fp16, Selection::Auto) if !self.budget.is_zero() => self
                .backends
                .iter()
                .filter(|b| b.formats().contains(&source.format()))
                .filter_map(|b| Some((format!("{}-fp16", b.name()), b.reduced_precision()?)))
                .collect(),
            _ => Vec::new(),
        };
        let mut cands = self.cands(fresh.as_deref());
        for (label, name, t, all) in &labels {
            if let Some(base) = cands.iter().find(|c| c.label == *name).copied() {
                cands.push(Cand {
                    label,
                    backend: base.backend,
                    threads: Some(*t),
                    unpinned: *all,
                    base: Some(base.label),
                    reduced: false,
                });
            }
        }
        for (label, backend) in &reduced {
            cands.push(Cand {
                label,
                backend: backend.as_ref(),
                threads: None,
                unpinned: false,
                base: None,
                reduced: true,
            });
        }
        let affinity: Option<Arc<[usize]>> = placement.affinity.as_deref().map(Arc::from);
        // threads a backend starts while preparing inherit the caller's CPUs
        let _pin = PinGuard::new(affinity.as_deref())?;
        let load = Load {
            rt: self,
            source: &source,
            placement: &placement,
            rule_threads: rule.is_some_and(|r| r.threads.is_some()),
            notes: Default::default(),
            digest: Default::default(),
        };
        let mut notes = Vec::new();
        if let Selection::Named(name) = &selection {
            let how = match rule {
                Some(r) if r.backend.is_some() => Source::Policy(r.model.clone()),
                _ => Source::Explicit,
            };
            match load.named(&cands, name, how) {
                Ok(mut done) => {
                    done.decision.notes.append(&mut load.notes.take());
                    return Ok(done.into_model(source, placement, affinity));
                }
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
        notes.append(&mut load.notes.take());
        notes.append(&mut done.decision.notes);
        done.decision.notes = notes;
        Ok(done.into_model(source, placement, affinity))
    }

    /// One thread per CPU this process may use, within the cgroup's quota.
    fn unpinned_threads(&self) -> usize {
        let platform = self.platform();
        within_quota(platform, platform.usable.len().max(1))
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
            settings::configure(b.as_mut(), k, v)?;
        }
        Ok(b)
    }
}

/// `n` threads, or fewer when the cgroup's CPU quota allows fewer CPUs' worth of time.
fn within_quota(platform: &Platform, n: usize) -> usize {
    match platform.cpu_quota {
        Some(q) => n.min((q.ceil() as usize).max(1)),
        None => n,
    }
}

/// The thread counts measured besides the `default` one ([`Runtime::with_thread_search`]),
/// each with whether it runs unpinned: one thread and half the default on the default's
/// CPUs, and, when the default pins to a set (the big cores), `all` threads on every usable
/// CPU, unpinned.
pub(crate) fn thread_choices(default: usize, all: Option<usize>) -> Vec<(usize, bool)> {
    let mut counts = vec![1, default / 2];
    counts.retain(|&t| t >= 1 && t < default);
    counts.dedup();
    let mut choices: Vec<(usize, bool)> = counts.into_iter().map(|t| (t, false)).collect();
    if let Some(all) = all.filter(|&a| a > default) {
        choices.push((all, true));
    }
    choices
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn thread_choices_halve_down_to_one_and_add_every_core_unpinned() {
        assert_eq!(thread_choices(1, None), []);
        assert_eq!(thread_choices(2, None), [(1, false)]);
        assert_eq!(thread_choices(3, None), [(1, false)]);
        assert_eq!(thread_choices(4, None), [(1, false), (2, false)]);
        assert_eq!(thread_choices(8, None), [(1, false), (4, false)]);
        // RK3588: four big cores by default, all eight unpinned as well
        assert_eq!(
            thread_choices(4, Some(8)),
            [(1, false), (2, false), (8, true)]
        );
        // a quota that leaves no more threads than the default adds nothing
        assert_eq!(thread_choices(4, Some(4)), [(1, false), (2, false)]);
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
