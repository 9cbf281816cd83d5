//! Backends, models and sessions that do what their script says: each run takes a set time
//! on the scripted clock, gives set outputs, or fails where told.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edgerun::{
    Availability, Backend, Descriptor, Dim, Error, ModelFormat, ModelSource, OpTiming, Options,
    Prepared, Result, Session, Tensor, TensorInfo, TensorView,
};

/// What a scripted backend does.
#[derive(Clone)]
pub struct Script {
    pub name: &'static str,
    pub formats: &'static [ModelFormat],
    pub available: bool,
    pub version: String,
    /// Prepare fails with this unsupported op.
    pub unsupported: Option<&'static str>,
    /// Each run takes this long.
    pub run_time: Duration,
    /// At these thread counts, runs take this long instead (and give this value, when set).
    pub at_threads: Vec<(usize, Duration, Option<f32>)>,
    /// Every output element.
    pub value: f32,
    /// Its reduced-precision twin, when it has one: each run's time, and its output element.
    pub fp16: Option<(Duration, f32)>,
    /// Runs fail.
    pub fail_run: bool,
    /// Sessions cannot be made.
    pub fail_session: bool,
    pub prepares: Arc<AtomicUsize>,
    pub runs: Arc<AtomicUsize>,
    pub threads_seen: Arc<AtomicUsize>,
    /// The threads a prepared model was prepared with.
    pub prepared_threads: usize,
    /// Where each prepare and run happened: ("prepare" or "run", threads, the calling
    /// thread's CPU list as the kernel shows it).
    pub placements: Arc<Mutex<BTreeSet<Placed>>>,
}

/// ("prepare" or "run", threads, the calling thread's CPU list).
pub type Placed = (&'static str, usize, String);

/// The calling thread's CPUs, as `/proc/thread-self/status` lists them ("0-1").
pub fn thread_cpus() -> String {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string()
}

pub fn script(name: &'static str, run_ms: f64, value: f32) -> Script {
    Script {
        name,
        formats: &[ModelFormat::Onnx, ModelFormat::TfLite],
        available: true,
        version: "1.0".into(),
        unsupported: None,
        run_time: Duration::from_secs_f64(run_ms / 1e3),
        at_threads: Vec::new(),
        value,
        fp16: None,
        fail_run: false,
        fail_session: false,
        prepares: Arc::default(),
        runs: Arc::default(),
        threads_seen: Arc::default(),
        prepared_threads: 0,
        placements: Arc::default(),
    }
}

pub struct ScriptedBackend {
    s: Script,
    descriptor: &'static Descriptor,
}

impl Script {
    pub fn backend(&self) -> Box<dyn Backend> {
        let descriptor = Box::leak(Box::new(Descriptor {
            name: self.name,
            formats: self.formats,
            settings: &[],
            library_setting: None,
            not_automatic: &[],
        }));
        Box::new(ScriptedBackend {
            s: self.clone(),
            descriptor,
        })
    }
}

pub fn infos(name: &str, len: usize) -> Vec<TensorInfo> {
    vec![TensorInfo {
        name: name.into(),
        dtype: edgerun::DType::F32,
        shape: vec![Dim::Fixed(1), Dim::Fixed(len)],
        quant: None,
    }]
}

impl Backend for ScriptedBackend {
    fn descriptor(&self) -> &'static Descriptor {
        self.descriptor
    }

    fn availability(&self) -> Availability {
        if self.s.available {
            Availability::Available {
                detail: "scripted".into(),
            }
        } else {
            Availability::Unavailable {
                reason: format!("{} library not found", self.s.name),
            }
        }
    }

    fn version(&self) -> Option<String> {
        Some(self.s.version.clone())
    }

    fn reduced_precision(&self) -> Option<Box<dyn Backend>> {
        let (run_time, value) = self.s.fp16?;
        Some(Box::new(ScriptedBackend {
            s: Script {
                run_time,
                value,
                fp16: None,
                ..self.s.clone()
            },
            descriptor: self.descriptor,
        }))
    }

    fn prepare(&self, _: &ModelSource, options: &Options) -> Result<Box<dyn Prepared>> {
        self.s.prepares.fetch_add(1, Ordering::SeqCst);
        let threads = options.threads.unwrap_or(0);
        self.s.threads_seen.store(threads, Ordering::SeqCst);
        self.s
            .placements
            .lock()
            .unwrap()
            .insert(("prepare", threads, thread_cpus()));
        if !self.s.available {
            return Err(Error::BackendUnavailable {
                backend: self.s.name.into(),
                reason: "library not found".into(),
            });
        }
        if let Some(op) = self.s.unsupported {
            return Err(Error::UnsupportedOp {
                source: None,
                backend: self.s.name.into(),
                op: op.into(),
                node: "n1".into(),
                detail: String::new(),
            });
        }
        // the thread count the model is prepared for sets its speed (and output, if scripted)
        let mut s = self.s.clone();
        s.prepared_threads = threads;
        if let Some((_, time, value)) = s
            .at_threads
            .iter()
            .find(|(t, _, _)| Some(*t) == options.threads)
            .cloned()
        {
            s.run_time = time;
            s.value = value.unwrap_or(s.value);
        }
        Ok(Box::new(ScriptedModel {
            s,
            inputs: infos("x", 4),
            outputs: infos("y", 3),
        }))
    }
}

pub struct ScriptedModel {
    s: Script,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
}

impl Prepared for ScriptedModel {
    fn backend(&self) -> &'static str {
        self.s.name
    }
    fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }
    fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }
    fn session(&self) -> Result<Box<dyn Session>> {
        if self.s.fail_session {
            return Err(Error::OutOfMemory {
                what: "a scripted session".into(),
                size: "1 TB".into(),
            });
        }
        Ok(Box::new(ScriptedSession(self.s.clone())))
    }
}

pub struct ScriptedSession(Script);

impl Session for ScriptedSession {
    fn run(
        &mut self,
        inputs: &[TensorView<'_>],
        outputs: &mut Vec<Tensor>,
        _: Option<&mut Vec<OpTiming>>,
    ) -> Result<()> {
        assert_eq!(inputs[0].shape(), &[1, 4], "measured on the model's shapes");
        self.0.runs.fetch_add(1, Ordering::SeqCst);
        self.0
            .placements
            .lock()
            .unwrap()
            .insert(("run", self.0.prepared_threads, thread_cpus()));
        if self.0.fail_run {
            return Err(Error::Backend {
                backend: self.0.name.into(),
                message: "scripted run failure".into(),
            });
        }
        NOW.with(|now| now.set(now.get() + self.0.run_time));
        outputs.clear();
        outputs.push(Tensor::from_vec(vec![1, 3], vec![self.0.value; 3])?);
        Ok(())
    }
}

thread_local! {
    /// The scripted time of the test running on this thread: the dispatcher measures on the
    /// thread that loads, so each test has a clock of its own.
    pub static NOW: Cell<Duration> = const { Cell::new(Duration::ZERO) };
}

/// The runtime's clock: this thread's scripted time.
pub struct Scripted;

impl edgerun::Clock for Scripted {
    fn now(&self) -> Duration {
        NOW.with(Cell::get)
    }
}
