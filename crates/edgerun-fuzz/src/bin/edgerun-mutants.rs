//! Mutants at scale: thousands of mutants of real models, each loaded and run once on one of
//! the backends that read its format, with containment on or off, and a tally of what
//! happened per backend: ran, refused (by kind of error), crash contained, process crash, hang.
//!
//! A process crash must not end the count, so the mutants run in a worker process (this
//! program again, with `--worker`) that says which mutant it starts and how it ended; when the
//! worker dies, the mutant it was on is the one that crashed it, is saved with what was done
//! to it, and a new worker goes on from the next one. A worker silent for longer than the
//! timeout is killed and its mutant counted as a hang.
//!
//! `edgerun-mutants --program FILE --keep DIR` instead writes the model that an input of the
//! `load_run_structured` fuzz target stands for (with the models of `$EDGERUN_FUZZ_MODELS`) to
//! DIR and prints its mutations: how a crash the fuzzer found becomes a regression input.
//!
//! ```text
//! edgerun-mutants [--count N] [--seed S] [--isolation probe|off] [--backends a,b]
//!                 [--timeout SECS] [--keep DIR] MODEL...
//! ```
//!
//! Mutant k is made from model k mod (number of models), with 1 to 3 structure-aware
//! mutations (three in four) or byte mutations (`edgerun_fuzz::mutate`), seeded by (seed, k),
//! and goes to the backends reading its format in turn. `--isolation probe` needs the
//! `edgerun` executable beside this one or named by `EDGERUN_PROBE`. Libraries come from
//! `EDGERUN_TFLITE_LIB`, `EDGERUN_LITERT_LIB` and `EDGERUN_ORT_LIB`. Exit status 1 when a
//! mutant crashed or hung the process with containment on.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use edgerun_fuzz::mutate::{self, Format, Rng};

struct Args {
    count: usize,
    seed: u64,
    probe: bool,
    backends: Vec<String>,
    timeout: u64,
    keep: Option<PathBuf>,
    models: Vec<PathBuf>,
    worker: Option<usize>,
    program: Option<PathBuf>,
}

const USAGE: &str = "usage: edgerun-mutants [--count N] [--seed S] [--isolation probe|off] [--backends a,b] [--timeout SECS] [--keep DIR] MODEL...";

fn args() -> Result<Args, String> {
    let mut a = Args {
        count: 1000,
        seed: 1,
        probe: false,
        backends: vec![
            "tract".into(),
            "ort".into(),
            "litert".into(),
            "tflite".into(),
        ],
        timeout: 120,
        keep: None,
        models: Vec::new(),
        worker: None,
        program: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--count" => {
                a.count = value("--count")?
                    .parse()
                    .map_err(|e| format!("--count: {e}"))?
            }
            "--seed" => {
                a.seed = value("--seed")?
                    .parse()
                    .map_err(|e| format!("--seed: {e}"))?
            }
            "--isolation" => {
                a.probe = match value("--isolation")?.as_str() {
                    "probe" => true,
                    "off" => false,
                    other => return Err(format!("--isolation {other}: give probe or off")),
                }
            }
            "--backends" => {
                a.backends = value("--backends")?.split(',').map(String::from).collect()
            }
            "--timeout" => {
                a.timeout = value("--timeout")?
                    .parse()
                    .map_err(|e| format!("--timeout: {e}"))?
            }
            "--keep" => a.keep = Some(value("--keep")?.into()),
            "--worker" => {
                a.worker = Some(
                    value("--worker")?
                        .parse()
                        .map_err(|e| format!("--worker: {e}"))?,
                )
            }
            "--program" => a.program = Some(value("--program")?.into()),
            "-h" | "--help" => return Err(USAGE.into()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            path => a.models.push(path.into()),
        }
    }
    if a.models.is_empty() && a.program.is_none() {
        return Err(format!("no model given\n{USAGE}"));
    }
    Ok(a)
}

struct Model {
    name: String,
    bytes: Vec<u8>,
    format: Format,
    backends: Vec<String>,
}

fn models(a: &Args) -> Result<Vec<Model>, String> {
    a.models
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let format =
                Format::of(&bytes).ok_or(format!("{}: neither TFLite nor ONNX", p.display()))?;
            let reads: &[&str] = match format {
                Format::Tflite => &["litert", "tflite", "tract"],
                Format::Onnx => &["ort", "tract"],
            };
            let backends: Vec<String> = reads
                .iter()
                .filter(|b| a.backends.iter().any(|x| x == *b))
                .map(|b| b.to_string())
                .collect();
            if backends.is_empty() {
                return Err(format!(
                    "{}: none of {:?} reads it",
                    p.display(),
                    a.backends
                ));
            }
            let name = p
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            Ok(Model {
                name,
                bytes,
                format,
                backends,
            })
        })
        .collect()
}

/// Mutant `k`: its model, backend and bytes.
fn mutant(models: &[Model], seed: u64, k: usize) -> (&Model, &str, mutate::Mutant) {
    let m = &models[k % models.len()];
    let backend = &m.backends[(k / models.len()) % m.backends.len()];
    let mut rng = Rng::new(seed.wrapping_mul(0x1000_0000_01b3) ^ k as u64);
    let changes = 1 + rng.below(3);
    let mutant = if rng.below(4) == 0 {
        mutate::bytes(&m.bytes, changes, &mut rng)
    } else {
        mutate::structured(m.format, &m.bytes, changes, &mut rng)
    };
    (m, backend, mutant)
}

fn worker(a: &Args, from: usize) -> ExitCode {
    let models = match models(a) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("edgerun-mutants: {e}");
            return ExitCode::from(2);
        }
    };
    let isolation = if a.probe {
        edgerun::Isolation::Probe {
            helper: None,
            launcher: None,
            timeout: Duration::from_secs(a.timeout / 2),
        }
    } else {
        edgerun::Isolation::Off
    };
    // as the fuzz targets: a mutant declaring a tensor of gigabytes is refused, not allocated
    // until the machine runs out of memory
    edgerun_core::limits::set_max_tensor_bytes(edgerun_fuzz::TENSOR_LIMIT);
    let out = std::io::stdout();
    for k in from..a.count {
        let (model, backend, m) = mutant(&models, a.seed, k);
        let _ = writeln!(out.lock(), "begin {k}");
        let rt = edgerun::Runtime::new()
            .with_backend(backend)
            .with_threads(1)
            .with_cache(edgerun::CacheSetting::Off)
            .with_isolation(isolation.clone());
        let outcome =
            edgerun_fuzz::load_and_run(&rt, &format!("{} mutant {k}", model.name), m.bytes);
        let line = match outcome {
            Ok(_) => format!("end {k} ran"),
            Err(e @ edgerun::Error::EngineCrashed { .. }) => {
                format!("end {k} contained {}", e.to_string().replace('\n', " "))
            }
            Err(e) => format!("end {k} refused {:?}", e.kind()),
        };
        let _ = writeln!(out.lock(), "{line}");
    }
    let _ = writeln!(out.lock(), "finished");
    ExitCode::SUCCESS
}

#[derive(Default)]
struct Tally {
    mutants: usize,
    ran: usize,
    refused: BTreeMap<String, usize>,
    contained: usize,
    crashed: usize,
    hung: usize,
}

fn main() -> ExitCode {
    let a = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("edgerun-mutants: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(from) = a.worker {
        return worker(&a, from);
    }
    if let Some(p) = &a.program {
        return program(p, a.keep.as_deref());
    }
    let models = match models(&a) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("edgerun-mutants: {e}");
            return ExitCode::from(2);
        }
    };
    let exe = std::env::current_exe().expect("the path of this program");
    if a.probe
        && std::env::var_os(edgerun::isolation::PROBE_ENV).is_none()
        && !exe.with_file_name("edgerun").is_file()
    {
        eprintln!("edgerun-mutants: --isolation probe needs the edgerun executable beside this one or in $EDGERUN_PROBE (cargo build --release -p edgerun-cli)");
        return ExitCode::from(2);
    }
    if let Some(dir) = &a.keep {
        let _ = std::fs::create_dir_all(dir);
    }
    let started = Instant::now();
    let mut tally: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut findings: Vec<String> = Vec::new();
    let mut next = 0;
    while next < a.count {
        let mut child = match Command::new(&exe)
            .args(std::env::args_os().skip(1))
            .arg("--worker")
            .arg(next.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                eprintln!("edgerun-mutants: cannot start a worker: {e}");
                return ExitCode::from(2);
            }
        };
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        let lines = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(Some(line)).is_err() {
                    break;
                }
            }
            let _ = lines.send(None);
        });
        // the worker's last words (an engine's message before an abort)
        let stderr = child.stderr.take().expect("piped");
        let tail = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let keep_tail = tail.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut t = keep_tail.lock().unwrap();
                t.push(line);
                if t.len() > 4 {
                    t.remove(0);
                }
            }
        });
        let mut current: Option<usize> = None;
        let mut finished = false;
        let mut hung = false;
        loop {
            match rx.recv_timeout(Duration::from_secs(a.timeout)) {
                Ok(Some(line)) => {
                    let mut words = line.splitn(4, ' ');
                    match (
                        words.next(),
                        words.next().and_then(|k| k.parse::<usize>().ok()),
                    ) {
                        (Some("begin"), Some(k)) => {
                            current = Some(k);
                            tail.lock().unwrap().clear();
                        }
                        (Some("end"), Some(k)) => {
                            let (model, backend, _) = mutant(&models, a.seed, k);
                            let t = tally
                                .entry((format!("{:?}", model.format), backend.to_string()))
                                .or_default();
                            t.mutants += 1;
                            match words.next() {
                                Some("ran") => t.ran += 1,
                                Some("contained") => {
                                    t.contained += 1;
                                    findings.push(format!(
                                        "contained: mutant {k} of {} on {backend}: {}",
                                        model.name,
                                        words.next().unwrap_or("")
                                    ));
                                }
                                _ => {
                                    *t.refused
                                        .entry(words.next().unwrap_or("?").to_string())
                                        .or_default() += 1
                                }
                            }
                            current = None;
                        }
                        (Some("finished"), _) => finished = true,
                        _ => {}
                    }
                }
                Ok(None) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    hung = true;
                    let _ = child.kill();
                    break;
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        let status = child.wait();
        if finished {
            break;
        }
        let Some(k) = current else {
            eprintln!(
                "edgerun-mutants: the worker ended before its first mutant ({status:?}): {:?}",
                tail.lock().unwrap()
            );
            return ExitCode::from(2);
        };
        let (model, backend, m) = mutant(&models, a.seed, k);
        let t = tally
            .entry((format!("{:?}", model.format), backend.to_string()))
            .or_default();
        t.mutants += 1;
        let how = if hung {
            t.hung += 1;
            format!("hung (silent for {} s)", a.timeout)
        } else {
            t.crashed += 1;
            match status {
                Ok(s) => {
                    use std::os::unix::process::ExitStatusExt;
                    match s.signal() {
                        Some(sig) => format!("killed by signal {sig}"),
                        None => format!("exited with {:?}", s.code()),
                    }
                }
                Err(e) => format!("ended ({e})"),
            }
        };
        // give the stderr reader a moment to take the last lines
        std::thread::sleep(Duration::from_millis(50));
        let last = tail.lock().unwrap().join(" | ");
        let finding = format!(
            "{how}: mutant {k} of {} on {backend}: {}{}",
            model.name,
            m.what.join("; "),
            if last.is_empty() {
                String::new()
            } else {
                format!(" [stderr: {last}]")
            }
        );
        eprintln!("edgerun-mutants: {finding}");
        findings.push(finding);
        if let Some(dir) = &a.keep {
            let ext = match model.format {
                Format::Tflite => "tflite",
                Format::Onnx => "onnx",
            };
            let _ = std::fs::write(
                dir.join(format!(
                    "{backend}-{}-{k}.{ext}",
                    model.name.split('.').next().unwrap_or("m")
                )),
                &m.bytes,
            );
        }
        next = k + 1;
    }
    println!(
        "mutants: {} from {} model(s), seed {}, containment {}, {:.0} s",
        a.count,
        models.len(),
        a.seed,
        if a.probe { "on" } else { "off" },
        started.elapsed().as_secs_f64()
    );
    println!(
        "| format | backend | mutants | ran | refused | crash contained | process crashed | hung |"
    );
    println!("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: |");
    let mut lost = 0;
    for ((format, backend), t) in &tally {
        let refused: usize = t.refused.values().sum();
        let kinds: Vec<String> = t.refused.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!(
            "| {format} | {backend} | {} | {} | {refused} ({}) | {} | {} | {} |",
            t.mutants,
            t.ran,
            kinds.join(", "),
            t.contained,
            t.crashed,
            t.hung
        );
        lost += t.crashed + t.hung;
    }
    for f in &findings {
        println!("- {f}");
    }
    if a.probe && lost > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Write the model an input of `load_run_structured` stands for.
fn program(path: &std::path::Path, keep: Option<&std::path::Path>) -> ExitCode {
    let Ok(data) = std::fs::read(path) else {
        eprintln!("edgerun-mutants: cannot read {}", path.display());
        return ExitCode::from(2);
    };
    let models = edgerun_fuzz::seed_models();
    let Some((&pick, rest)) = data.split_first().filter(|_| !models.is_empty()) else {
        eprintln!("edgerun-mutants: an empty input, or no models (set EDGERUN_FUZZ_MODELS)");
        return ExitCode::from(2);
    };
    let (name, original, format) = &models[pick as usize % models.len()];
    let steps = edgerun_fuzz::program_steps(rest);
    let Some(m) = mutate::steps_of(*format, original, &steps) else {
        eprintln!("edgerun-mutants: {name} cannot be walked");
        return ExitCode::from(2);
    };
    println!("{name}: {}", m.what.join("; "));
    if let Some(dir) = keep {
        let file = dir.join(format!(
            "{}-{}",
            path.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .replace([':', ','], "-"),
            name
        ));
        if let Err(e) = std::fs::create_dir_all(dir).and_then(|_| std::fs::write(&file, &m.bytes)) {
            eprintln!("edgerun-mutants: {}: {e}", file.display());
            return ExitCode::from(2);
        }
        println!("{}", file.display());
    }
    ExitCode::SUCCESS
}
