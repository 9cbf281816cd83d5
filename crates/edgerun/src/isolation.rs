//! Containment: a model is loaded and run once in a helper process before this process loads
//! it, so that an engine that crashes on it (a signal, an abort) takes down the helper only.
//!
//! Why a helper process, and not the alternatives:
//! - Nothing inside the process can stop a crash in C or C++ code: a SIGSEGV handler cannot
//!   resume an engine whose state is broken, and an abort() ends the process by design.
//! - `fork()` without `exec` in a process that already runs engine threads leaves a child with
//!   one thread and every other thread's locks held forever (allocators, ONNX Runtime's and
//!   XNNPACK's pools); the child may hang or crash for that reason alone.
//! - A helper spawned with `exec` starts clean. The `edgerun` executable is that helper (its
//!   hidden `probe` command): it loads the model with the same backend, library, settings,
//!   threads and input shapes, and runs it once on the seeded inputs the dispatcher measures
//!   with. If the helper is killed by a signal, the candidate is recorded as failed with the
//!   signal, and `auto` goes on with the others.
//!
//! The verdict is cached in the decision cache, keyed as a decision is (the model's bytes, the
//! device, the backend with its library and settings, threads and input shapes), so later
//! loads of the same model pay nothing. What it cannot catch: a crash that depends on the
//! input values rather than on the model (the probe runs seeded inputs, the application its
//! own), and a crash on a later run than the first.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::dispatch::cache;
use crate::{Backend, Error, ModelSource, Options};

/// How long a helper may take to load and run a model once before it is taken for hung and
/// killed (default of [`Isolation::probe`]).
pub const DEFAULT_PROBE_TIMEOUT: Duration = Duration::from_secs(300);

/// Environment variable naming the helper executable (an `edgerun` binary).
pub const PROBE_ENV: &str = "EDGERUN_PROBE";
/// Environment variable with a command the helper is started through, words separated by
/// spaces: an emulator (`qemu-aarch64 -L /usr/aarch64-linux-gnu`) or a sandbox.
pub const LAUNCHER_ENV: &str = "EDGERUN_PROBE_LAUNCHER";

/// The first line of a request and of an answer: a helper of another version is not used.
const GREETING: &str = "edgerun-probe 2";

/// Whether models are first loaded in a helper process.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Isolation {
    /// Models load in this process only (the library's default: no helper is assumed).
    #[default]
    Off,
    /// Each candidate backend loads the model and runs it once in a helper process first; a
    /// crash there fails that candidate with an [`Error::EngineCrashed`].
    Probe {
        /// The helper executable; `None`: `$EDGERUN_PROBE`, else `edgerun` in the directory
        /// of this process's executable (the CLI itself, or a device bundle's `bin/`).
        helper: Option<PathBuf>,
        /// A command the helper is started through (an emulator, a sandbox); `None`:
        /// `$EDGERUN_PROBE_LAUNCHER`, words separated by spaces, if set.
        launcher: Option<Vec<OsString>>,
        /// A helper that takes longer is killed, and the candidate fails as hung.
        timeout: Duration,
    },
}

impl Isolation {
    /// Probing with the helper found as [`Isolation::Probe`] says, and the default timeout.
    pub fn probe() -> Isolation {
        Isolation::Probe {
            helper: None,
            launcher: None,
            timeout: DEFAULT_PROBE_TIMEOUT,
        }
    }
}

/// The helper to start: the program and what it is launched through.
#[derive(Debug, Clone)]
pub(crate) struct Helper {
    launcher: Vec<OsString>,
    program: PathBuf,
}

/// Where the helper is, or why none can be used.
pub(crate) fn find_helper(
    explicit: Option<&Path>,
    launcher: Option<&[OsString]>,
) -> std::result::Result<Helper, String> {
    let launcher = match launcher {
        Some(l) => l.to_vec(),
        None => std::env::var_os(LAUNCHER_ENV)
            .map(|l| {
                l.to_string_lossy()
                    .split_whitespace()
                    .map(OsString::from)
                    .collect()
            })
            .unwrap_or_default(),
    };
    let program = if let Some(p) = explicit {
        p.to_path_buf()
    } else if let Some(p) = std::env::var_os(PROBE_ENV).filter(|p| !p.is_empty()) {
        PathBuf::from(p)
    } else {
        let exe = std::env::current_exe()
            .map_err(|e| format!("the path of this executable is unknown ({e}); set {PROBE_ENV} to the edgerun executable"))?;
        let beside = exe.with_file_name("edgerun");
        if !beside.is_file() {
            return Err(format!(
                "no edgerun executable beside {} and {PROBE_ENV} is not set; install edgerun there or set {PROBE_ENV} to it",
                exe.display()
            ));
        }
        beside
    };
    if !program.is_file() {
        return Err(format!(
            "the helper {} is not a file; set {PROBE_ENV} to the edgerun executable",
            program.display()
        ));
    }
    Ok(Helper { launcher, program })
}

/// What a probe asks the helper to do: the model, the backend and everything that decides how
/// it loads.
pub(crate) struct Request<'a> {
    pub source: &'a ModelSource,
    pub backend: &'a dyn Backend,
    pub options: &'a Options,
    /// Read the model's declarations only (`inspect`), instead of loading and running it.
    pub inspect_only: bool,
}

impl Request<'_> {
    fn text(&self, model: &Path) -> String {
        let mut t = format!(
            "{GREETING}\nmodel\t{}\nbackend\t{}\n",
            model.display(),
            self.backend.name()
        );
        if let Some(n) = self.options.threads {
            t.push_str(&format!("threads\t{n}\n"));
        }
        // this process's tensor size limit: a model declaring tensors past it is refused in
        // the helper as it would be here, not allocated there
        t.push_str(&format!(
            "limit\t{}\n",
            edgerun_core::limits::max_tensor_bytes()
        ));
        for (name, dims) in &self.options.input_shapes {
            let dims: Vec<String> = dims.iter().map(ToString::to_string).collect();
            t.push_str(&format!("shape\t{name}\t{}\n", dims.join(",")));
        }
        let d = self.backend.descriptor();
        // the library this process found, so that the helper loads the same one
        if let (Some(key), Some(found)) = (d.library_setting, self.backend.found_library()) {
            t.push_str(&format!("set\t{key}\t{}\n", found.path.display()));
        }
        for s in d.settings {
            if Some(s.key) == d.library_setting {
                continue;
            }
            if let Some(v) = self.backend.get(s.key) {
                t.push_str(&format!("set\t{}\t{v}\n", s.key));
            }
        }
        if self.inspect_only {
            t.push_str("inspect\n");
        }
        t.push_str("end\n");
        t
    }
}

/// How a probe ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// The model loaded and ran once (or its declarations were read) without a crash.
    Survived,
    /// The engine refused the model or failed cleanly: no crash; this process will get the
    /// same error when it loads the model itself.
    Refused(String),
    /// The helper died (a signal, an exit without an answer) or hung, while `stage`.
    Crashed { how: String, stage: String },
    /// No probe was made, and why: the helper could not be started or is of another version.
    NotProbed(String),
}

/// Run one probe: start the helper, hand it the request, wait at most `timeout`.
pub(crate) fn probe(helper: &Helper, request: &Request<'_>, timeout: Duration) -> Verdict {
    // a model held in memory goes to the helper through a private temporary file
    let temp;
    let model = match request.source.memory() {
        Some(bytes) => match TempModel::write(bytes) {
            Ok(t) => {
                temp = t;
                temp.0.clone()
            }
            Err(e) => {
                return Verdict::NotProbed(format!("cannot write the model for the helper: {e}"))
            }
        },
        None => request.source.path().to_path_buf(),
    };
    let (program, args) = match helper.launcher.split_first() {
        Some((first, rest)) => {
            let mut args: Vec<OsString> = rest.to_vec();
            args.push(helper.program.clone().into_os_string());
            (PathBuf::from(first), args)
        }
        None => (helper.program.clone(), Vec::new()),
    };
    let mut child = match Command::new(&program)
        .args(args)
        .arg("probe")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Verdict::NotProbed(format!(
                "cannot start the helper {}: {e}",
                helper.program.display()
            ))
        }
    };
    let text = request.text(&model);
    if let Some(mut stdin) = child.stdin.take() {
        // a helper that exits early closes its end; its answer (or none) tells what happened
        let _ = stdin.write_all(text.as_bytes());
    }
    // both pipes drained on their own threads, so a chatty engine never blocks on a full pipe
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Verdict::NotProbed(format!("cannot wait for the helper: {e}")),
        }
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    judge(status, &out, &err, timeout)
}

/// The verdict from how the helper ended (`None`: killed after `timeout`) and what it wrote.
fn judge(status: Option<ExitStatus>, out: &str, err: &str, timeout: Duration) -> Verdict {
    let mut lines = out.lines();
    if lines.next() != Some(GREETING) {
        // it never reached the model: a program that is no helper, or one of another version
        return Verdict::NotProbed(format!(
            "the helper is not an edgerun probe of this version (it said {:?})",
            first_words(if out.is_empty() { err } else { out })
        ));
    }
    let mut stage = "starting".to_string();
    let mut answer = None;
    for line in lines {
        if let Some(s) = line.strip_prefix("stage\t") {
            stage = s.to_string();
        } else if line == "survived" {
            answer = Some(Verdict::Survived);
        } else if let Some(why) = line.strip_prefix("refused\t") {
            answer = Some(Verdict::Refused(why.to_string()));
        }
    }
    // the engine's last message before it died; its chatter about setting up is no clue
    let last_words = err
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("INFO:") && !l.starts_with("WARNING:"))
        .map(|l| format!(" (its last words: {:?})", first_words(l)))
        .unwrap_or_default();
    match (status, answer) {
        (Some(s), Some(a)) if s.success() => a,
        (None, _) => Verdict::Crashed {
            how: format!(
                "did not finish within {} s and was killed",
                timeout.as_secs()
            ),
            stage,
        },
        (Some(s), _) => Verdict::Crashed {
            how: match signal_of(s) {
                Some(sig) => format!("was killed by {}{last_words}", signal_name(sig)),
                None => format!(
                    "ended with exit status {} without an answer{last_words}",
                    s.code().unwrap_or(-1)
                ),
            },
            stage,
        },
    }
}

fn first_words(s: &str) -> String {
    let s = s.trim();
    match s.char_indices().nth(160) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(unix)]
fn signal_of(s: ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    s.signal()
}

#[cfg(not(unix))]
fn signal_of(_: ExitStatus) -> Option<i32> {
    None
}

/// A signal's name and what it means, for the signals an engine dies of (numbers as on Linux
/// for x86_64, aarch64 and armv7, which agree on these).
fn signal_name(sig: i32) -> String {
    let name = match sig {
        4 => "SIGILL (illegal instruction)",
        5 => "SIGTRAP (trap)",
        6 => "SIGABRT (the engine aborted)",
        7 => "SIGBUS (bus error)",
        8 => "SIGFPE (arithmetic exception, such as a division by zero)",
        9 => "SIGKILL (killed, perhaps for memory)",
        11 => "SIGSEGV (invalid memory access)",
        31 => "SIGSYS (bad system call)",
        _ => return format!("signal {sig}"),
    };
    name.to_string()
}

/// A model written for the helper, removed when dropped.
struct TempModel(PathBuf);

impl TempModel {
    fn write(bytes: &[u8]) -> std::io::Result<TempModel> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "edgerun-probe-{}-{}.model",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        ));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&path)?;
        let t = TempModel(path);
        f.write_all(bytes)?;
        Ok(t)
    }
}

impl Drop for TempModel {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A verdict as the decision cache keeps it: `Survived` and `Crashed` only (a refusal is
/// cheap to meet again, and a missing helper may be installed later).
pub(crate) fn to_entry(model: &str, label: &str, key: String, v: &Verdict) -> Option<cache::Entry> {
    let mut rejected = BTreeMap::new();
    let winner = match v {
        Verdict::Survived => label.to_string(),
        Verdict::Crashed { how, stage } => {
            rejected.insert(label.to_string(), format!("{stage}\t{how}"));
            String::new()
        }
        _ => return None,
    };
    Some(cache::Entry {
        model: model.to_string(),
        winner,
        medians_us: BTreeMap::new(),
        rejected,
        measured_at: cache::now(),
        key,
    })
}

pub(crate) fn from_entry(label: &str, e: &cache::Entry) -> Option<Verdict> {
    if e.winner == label {
        return Some(Verdict::Survived);
    }
    let (stage, how) = e.rejected.get(label)?.split_once('\t')?;
    Some(Verdict::Crashed {
        how: how.to_string(),
        stage: stage.to_string(),
    })
}

/// The helper's side: read a request, load the model with the backend it names (as built in,
/// with the settings given), run it once on the dispatcher's seeded inputs, and say how far it
/// got. Each stage is written and flushed before it starts, so that a crash leaves the stage it
/// happened in. Returns the process's exit code: 0 when an answer was written (the model may
/// still have been refused), 2 for a request it cannot read.
pub fn serve_probe(input: impl Read, mut output: impl Write) -> i32 {
    let mut say = |line: &str| {
        let _ = writeln!(output, "{line}");
        let _ = output.flush();
    };
    say(GREETING);
    let request = match read_request(input) {
        Ok(r) => r,
        Err(e) => {
            say(&format!("bad request\t{e}"));
            return 2;
        }
    };
    if let Some(bytes) = request.limit {
        edgerun_core::limits::set_max_tensor_bytes(bytes);
    }
    let refused = |say: &mut dyn FnMut(&str), e: &Error| {
        let text = e.to_string().replace(['\n', '\t'], " ");
        say(&format!("refused\t{text}"));
        0
    };
    say("stage\treading the model");
    let source = match ModelSource::open(&request.model) {
        Ok(s) => s,
        Err(e) => return refused(&mut say, &e),
    };
    let Some(mut backend) = crate::backends::fresh_backend(&request.backend) else {
        say(&format!(
            "refused\tthe helper has no backend {:?}",
            request.backend
        ));
        return 0;
    };
    for (k, v) in &request.settings {
        if let Err(e) = crate::settings::configure(backend.as_mut(), k, v) {
            return refused(&mut say, &e);
        }
    }
    if request.inspect_only {
        say("stage\treading the model's declarations");
        return match backend.inspect(&source) {
            Ok(_) => {
                say("survived");
                0
            }
            Err(e) => refused(&mut say, &e),
        };
    }
    let options = Options {
        threads: request.threads,
        input_shapes: request.shapes,
        ..Options::default()
    };
    say("stage\tloading the model");
    let prepared = match backend.prepare(&source, &options) {
        Ok(p) => p,
        Err(e) => return refused(&mut say, &e),
    };
    say("stage\tcreating a session");
    let mut session = match prepared.session() {
        Ok(s) => s,
        Err(e) => return refused(&mut say, &e),
    };
    let inputs = match crate::dispatch::measure::inputs(prepared.as_ref()) {
        Ok(i) => i,
        Err(e) => return refused(&mut say, &e),
    };
    say("stage\trunning the model for the first time");
    let views: Vec<_> = inputs.iter().map(crate::Tensor::view).collect();
    let mut outputs = Vec::new();
    match session.run(&views, &mut outputs, None) {
        Ok(()) => {
            say("survived");
            0
        }
        Err(e) => refused(&mut say, &e),
    }
}

struct ProbeRequest {
    model: PathBuf,
    backend: String,
    threads: Option<usize>,
    shapes: Vec<(String, Vec<usize>)>,
    settings: Vec<(String, String)>,
    inspect_only: bool,
    /// The requesting process's tensor size limit, in bytes.
    limit: Option<u64>,
}

fn read_request(input: impl Read) -> std::result::Result<ProbeRequest, String> {
    let mut lines = std::io::BufReader::new(input.take(1 << 20)).lines();
    let mut next = || -> std::result::Result<String, String> {
        match lines.next() {
            Some(Ok(l)) => Ok(l),
            Some(Err(e)) => Err(format!("cannot read the request: {e}")),
            None => Err("the request ends before `end`".into()),
        }
    };
    let greeting = next()?;
    if greeting != GREETING {
        return Err(format!("expected {GREETING:?}, got {greeting:?}"));
    }
    let mut r = ProbeRequest {
        model: PathBuf::new(),
        backend: String::new(),
        threads: None,
        shapes: Vec::new(),
        settings: Vec::new(),
        inspect_only: false,
        limit: None,
    };
    loop {
        let line = next()?;
        let f: Vec<&str> = line.split('\t').collect();
        match f.as_slice() {
            ["end"] => break,
            ["model", p] => r.model = PathBuf::from(p),
            ["backend", b] => r.backend = (*b).to_string(),
            ["threads", n] => {
                r.threads = Some(n.parse().map_err(|_| format!("threads {n:?}"))?);
            }
            ["shape", name, dims] => {
                let dims = dims
                    .split(',')
                    .filter(|d| !d.is_empty())
                    .map(|d| d.parse().map_err(|_| format!("shape of {name}: {dims:?}")))
                    .collect::<std::result::Result<Vec<usize>, String>>()?;
                r.shapes.push(((*name).to_string(), dims));
            }
            ["set", k, v] => r.settings.push(((*k).to_string(), (*v).to_string())),
            ["inspect"] => r.inspect_only = true,
            ["limit", n] => r.limit = Some(n.parse().map_err(|_| format!("limit {n:?}"))?),
            _ => return Err(format!("unknown request line {line:?}")),
        }
    }
    if r.model.as_os_str().is_empty() || r.backend.is_empty() {
        return Err("the request names no model or no backend".into());
    }
    Ok(r)
}

/// The error for a candidate whose probe crashed.
pub(crate) fn crashed(backend: &str, source: &ModelSource, how: &str, stage: &str) -> Error {
    Error::EngineCrashed {
        backend: backend.into(),
        path: source.path().into(),
        what: format!("{how} while {stage}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn status(raw: i32) -> ExitStatus {
        use std::os::unix::process::ExitStatusExt;
        ExitStatus::from_raw(raw)
    }

    #[cfg(unix)]
    #[test]
    fn the_verdict_follows_the_exit_and_the_last_stage() {
        let t = Duration::from_secs(7);
        let out = format!(
            "{GREETING}\nstage\tloading the model\nstage\trunning the model for the first time\n"
        );
        // killed by SIGFPE (raw wait status: the signal number) in the first run
        match judge(Some(status(8)), &out, "boom\nINFO: set up\n\n", t) {
            Verdict::Crashed { how, stage } => {
                assert_eq!(stage, "running the model for the first time");
                assert!(how.starts_with("was killed by SIGFPE"), "{how}");
                assert!(how.contains("\"boom\""), "{how}");
            }
            v => panic!("{v:?}"),
        }
        // an exit without an answer is a crash too; a timeout is a hang
        let v = judge(Some(status(3 << 8)), &out, "", t);
        assert!(
            matches!(&v, Verdict::Crashed { how, .. } if how.contains("exit status 3")),
            "{v:?}"
        );
        let v = judge(None, &out, "", t);
        assert!(
            matches!(&v, Verdict::Crashed { how, .. } if how.contains("within 7 s")),
            "{v:?}"
        );
        // answers
        let ok = format!("{out}survived\n");
        assert_eq!(judge(Some(status(0)), &ok, "", t), Verdict::Survived);
        let no = format!("{out}refused\tno such op\n");
        assert_eq!(
            judge(Some(status(0)), &no, "", t),
            Verdict::Refused("no such op".into())
        );
        // another program, or another version of the helper
        let v = judge(Some(status(0)), "usage: edgerun ...\n", "", t);
        assert!(matches!(v, Verdict::NotProbed(_)), "{v:?}");
        let v = judge(
            Some(status(2 << 8)),
            "",
            "error: unrecognized subcommand 'probe'",
            t,
        );
        assert!(
            matches!(&v, Verdict::NotProbed(w) if w.contains("unrecognized")),
            "{v:?}"
        );
    }

    #[test]
    fn a_request_reads_back_as_written_and_bad_ones_are_named() {
        let text = format!(
            "{GREETING}\nmodel\t/m/a b.onnx\nbackend\ttflite\nthreads\t3\nlimit\t65536\nshape\tx\t1,3,0\nset\tuse_xnnpack\tfalse\ninspect\nend\n"
        );
        let r = read_request(text.as_bytes()).unwrap();
        assert_eq!(r.model, PathBuf::from("/m/a b.onnx"));
        assert_eq!(r.backend, "tflite");
        assert_eq!(r.threads, Some(3));
        assert_eq!(r.shapes, vec![("x".to_string(), vec![1, 3, 0])]);
        assert_eq!(r.settings, vec![("use_xnnpack".into(), "false".into())]);
        assert!(r.inspect_only);
        assert_eq!(r.limit, Some(65536));
        for bad in [
            "edgerun-probe 0\nend\n".to_string(),
            format!("{GREETING}\nmodel\tm\n"),
            format!("{GREETING}\nbackend\tx\nend\n"),
            format!("{GREETING}\nmodel\tm\nbackend\tx\nthreads\tmany\nend\n"),
            format!("{GREETING}\nmodel\tm\nbackend\tx\nlimit\t-1\nend\n"),
            format!("{GREETING}\nmodel\tm\nbackend\tx\nwhat\nend\n"),
        ] {
            assert!(read_request(bad.as_bytes()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_helper_answers_for_a_model_it_runs_and_one_it_refuses() {
        let model = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/mobilenetv2_mini.onnx"
        );
        let mut out = Vec::new();
        let req = format!("{GREETING}\nmodel\t{model}\nbackend\ttract\nthreads\t1\nend\n");
        assert_eq!(serve_probe(req.as_bytes(), &mut out), 0);
        let out = String::from_utf8(out).unwrap();
        if cfg!(feature = "tract") {
            assert!(
                out.ends_with("stage\trunning the model for the first time\nsurvived\n"),
                "{out}"
            );
        }
        let mut out = Vec::new();
        let req = format!("{GREETING}\nmodel\t{model}.missing\nbackend\ttract\nend\n");
        assert_eq!(serve_probe(req.as_bytes(), &mut out), 0);
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("refused\tmodel file"), "{out}");
        let mut out = Vec::new();
        assert_eq!(serve_probe("nonsense\n".as_bytes(), &mut out), 2);
    }

    #[test]
    fn verdicts_round_trip_through_the_cache() {
        for v in [
            Verdict::Survived,
            Verdict::Crashed {
                how: "was killed by SIGSEGV".into(),
                stage: "loading the model".into(),
            },
        ] {
            let e = to_entry("m", "tflite", "k".into(), &v).unwrap();
            assert_eq!(from_entry("tflite", &e), Some(v));
            assert_eq!(from_entry("litert", &e), None);
        }
        assert!(to_entry("m", "x", "k".into(), &Verdict::Refused("r".into())).is_none());
    }
}
