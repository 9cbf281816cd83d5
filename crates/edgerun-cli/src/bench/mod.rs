//! `edgerun bench`, also run as `benchmark_model`: TensorFlow Lite's benchmark tool mirrored for
//! every edgerun backend — its flags, its run loops, its log lines — plus edgerun's choice of
//! backend, CPU placement and JSON/CSV results with the device record.

pub mod flags;
pub mod memory;
pub mod options;
pub mod profile;
pub mod result;
pub mod runloop;
mod setup;
pub mod stat;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use edgerun::{Model, OpTiming, Runtime, Tensor};

use flags::Params;
use memory::{MemoryUsage, PeakMonitor};
use options::{given, Flags};
use runloop::{Clock, LoopParams, SystemClock};
use setup::{describe_choice, model_size, prepare_inputs, runtime, validate};
use stat::{cpp_double, Stat};

/// benchmark_model's logger: `INFO: `/`WARN: ` lines on stdout, `ERROR: ` lines on stderr.
pub struct Log<'a> {
    out: &'a mut dyn Write,
    err: &'a mut dyn Write,
}

impl<'a> Log<'a> {
    pub fn new(out: &'a mut dyn Write, err: &'a mut dyn Write) -> Log<'a> {
        Log { out, err }
    }

    fn line(w: &mut dyn Write, prefix: &str, msg: &str) {
        // a closed pipe (`| head`) ends the output, not the benchmark
        let _ = writeln!(w, "{prefix}{msg}");
        let _ = w.flush();
    }

    pub fn info(&mut self, msg: impl AsRef<str>) {
        Self::line(self.out, "INFO: ", msg.as_ref());
    }

    pub fn warn(&mut self, msg: impl AsRef<str>) {
        Self::line(self.out, "WARN: ", msg.as_ref());
    }

    pub fn error(&mut self, msg: impl AsRef<str>) {
        Self::line(self.err, "ERROR: ", msg.as_ref());
    }
}

/// Run the benchmark with the process's stdout and stderr; `program` is the name it was called
/// by (for the usage text).
pub fn main(program: &str, args: &[String]) -> ExitCode {
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    let mut log = Log::new(&mut out, &mut err);
    log.info("STARTING!");
    match run(program, args, &mut log, &SystemClock::new()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            for cause in crate::error_text(&e).lines() {
                log.error(cause);
            }
            log.error("Benchmarking failed.");
            ExitCode::FAILURE
        }
    }
}

/// An error whose text is already on the log (usage, flag errors).
#[derive(Debug)]
struct Logged;

impl std::fmt::Display for Logged {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Ok(())
    }
}

impl std::error::Error for Logged {}

/// What the runs measured, for the closing lines and the JSON/CSV results.
pub struct Measured {
    pub model_size_mb: Option<f64>,
    pub init_us: i64,
    /// A second load's, with `--warm_init`.
    pub init_warm_us: Option<i64>,
    pub warmup: Stat,
    pub inference: Stat,
    pub init_mem_kb: Option<i64>,
    pub overall_mem_kb: Option<i64>,
    pub peak_mem_mb: Option<f64>,
}

/// The whole benchmark, logging to `log` and timing with `clock`.
///
/// # Errors
/// Bad flags, a model or backend that cannot be loaded, inputs that do not fit, a failed run.
pub fn run(program: &str, args: &[String], log: &mut Log<'_>, clock: &dyn Clock) -> Result<()> {
    let (mut p, params) = read_flags(program, args, log)?;
    let graph = PathBuf::from(&p.graph);
    let rt = runtime(&p, &params, &graph)?;
    let monitor = p
        .report_peak_memory_footprint
        .then(|| PeakMonitor::start(p.memory_footprint_check_interval_ms.max(1) as u64));
    let start_mem = MemoryUsage::now();
    let init = load(&rt, &graph, clock, log)?;
    let (model, mut session) = (init.model, init.session);
    describe_choice(&p, &params, &rt, &model, log);
    log_init(log, init.model_size_mb, init.us);
    // warm: the engines' libraries are loaded and auto's choice is cached (when the cache is
    // on); what an application pays on its later starts, less the library loading
    let init_warm_us = if p.warm_init {
        let start = clock.now_us();
        drop(rt.load(&graph)?.session()?);
        let us = clock.now_us() - start;
        log.info(format!(
            "edgerun: initialization cold {} ms (the first load in this process), warm {} ms (a second load)",
            cpp_double(init.us as f64 / 1e3),
            cpp_double(us as f64 / 1e3)
        ));
        Some(us)
    } else {
        None
    };

    let inputs = prepare_inputs(&p, &model, log)?;
    if p.print_preinvoke_state {
        print_state(log, "pre-invoke", &model, &inputs, None);
    }
    if p.dry_run {
        (p.warmup_runs, p.warmup_min_secs, p.num_runs, p.min_secs) = (0, -1.0, 0, -1.0);
    }
    let loop_params = |min_runs: i32, min_secs: f32| LoopParams {
        min_runs,
        min_secs,
        max_secs: p.max_secs,
        run_delay: p.run_delay,
        run_frequency: p.run_frequency,
    };

    let mut last_outputs: Option<edgerun::Outputs> = None;
    let warm = loop_params(p.warmup_runs, p.warmup_min_secs);
    log.info(warm.announce());
    let (warmup, status) = runloop::run(
        clock,
        &warm,
        |_| session.run(&inputs),
        |o| last_outputs = Some(o),
    );
    log.info(format!("{}\n", warmup.line_with_percentiles()));
    status?;

    let regular = loop_params(p.num_runs, p.min_secs);
    let (inference, status, profile) = regular_runs(
        &p,
        &regular,
        clock,
        &mut session,
        &inputs,
        &mut last_outputs,
        log,
    );
    log.info(format!("{}\n", inference.line_with_percentiles()));
    let overall_mem = MemoryUsage::now();
    let peak_mem_mb = monitor.and_then(PeakMonitor::stop);

    let measured = Measured {
        model_size_mb: init.model_size_mb,
        init_us: init.us,
        init_warm_us,
        warmup,
        inference,
        init_mem_kb: init.end_mem.footprint_delta_kb(&start_mem),
        overall_mem_kb: overall_mem.footprint_delta_kb(&start_mem),
        peak_mem_mb,
    };
    log_results(log, &measured);
    if let Some(profile) = &profile {
        write_profile(&p, profile, log);
    }
    if p.print_postinvoke_state {
        print_state(log, "post-invoke", &model, &inputs, last_outputs.as_ref());
    }
    write_outputs(&p, last_outputs.as_ref())?;
    if let Some(format) = given(&p.format) {
        let record = result::Record::new(&p, params.given(), &rt, &model, &measured);
        write_record(&p, format, &record, log)?;
    }
    status.context("a run failed")?;
    Ok(())
}

/// The timed runs, each profiled when asked and the backend can time operators: their
/// statistics, the first failure, and the operators' profile.
#[allow(clippy::too_many_arguments)]
fn regular_runs(
    p: &Flags,
    regular: &LoopParams,
    clock: &dyn Clock,
    session: &mut edgerun::ModelSession,
    inputs: &[Tensor],
    last_outputs: &mut Option<edgerun::Outputs>,
    log: &mut Log<'_>,
) -> (
    Stat,
    std::result::Result<(), edgerun::Error>,
    Option<profile::Profile>,
) {
    let profiling = p.enable_op_profiling;
    let mut profile = profile::Profile::new();
    if profiling {
        if let Err(edgerun::Error::ProfilingUnavailable { backend, reason }) = session.profiling() {
            log.warn(format!(
                "Op profiling is not available with backend {backend}: {reason}"
            ));
        }
    }
    let profile_runs = profiling && session.profiling().is_ok();
    // filled by each profiled run, read after it, outside the timed region
    let timings: std::cell::RefCell<Vec<OpTiming>> = std::cell::RefCell::default();
    log.info(regular.announce());
    let (inference, status) = runloop::run(
        clock,
        regular,
        |_| {
            if profile_runs {
                let mut t = timings.borrow_mut();
                t.clear();
                session.run_profiled(inputs, &mut t)
            } else {
                session.run(inputs)
            }
        },
        // outside the timed region, as the tool's profiling listener
        |o| {
            if profile_runs {
                profile.add_run(&timings.borrow());
            }
            *last_outputs = Some(o);
        },
    );
    (inference, status, profile_runs.then_some(profile))
}

/// The model loaded and its first session made: benchmark_model's Init.
struct Init {
    model: Model,
    session: edgerun::ModelSession,
    model_size_mb: Option<f64>,
    /// How long loading and the session took.
    us: i64,
    /// The memory in use once they were made.
    end_mem: MemoryUsage,
}

/// Load the model on the chosen backend, and a session with its scratch memory, timed.
fn load(rt: &Runtime, graph: &Path, clock: &dyn Clock, log: &mut Log<'_>) -> Result<Init> {
    let model_size_mb = model_size(graph).map(|b| b as f64 / 1e6);
    let start = clock.now_us();
    let model = rt.load(graph)?;
    let session = model.session()?;
    let end_mem = MemoryUsage::now();
    let us = clock.now_us() - start;
    log.info(format!("Loaded model {}", graph.display()));
    Ok(Init {
        model,
        session,
        model_size_mb,
        us,
        end_mem,
    })
}

/// The tool's lines after Init: the model's size and how long Init took.
fn log_init(log: &mut Log<'_>, model_size_mb: Option<f64>, init_us: i64) {
    match model_size_mb {
        Some(mb) if mb > 0.0 => log.info(format!(
            "The input model file size (MB): {}",
            cpp_double(mb)
        )),
        _ => log.warn("Failed to get the input model file size."),
    }
    log.info(format!(
        "Initialized session in {}ms.",
        cpp_double(init_us as f64 / 1e3)
    ));
}

/// The command line parsed, checked and logged as the tool does: usage on a bad flag or
/// `--help`, a warning (an error with `--strict`) for arguments no flag took.
fn read_flags(program: &str, args: &[String], log: &mut Log<'_>) -> Result<(Flags, Params)> {
    let mut params = match Params::parse(args) {
        Ok(p) => p,
        Err(e) => {
            for m in &e.0 {
                log.error(m);
            }
            log.error(flags::usage(program));
            return Err(Logged.into());
        }
    };
    let mut p = Flags::read(&params);
    // as in the tool, a bare --help counts when it is the first argument no flag took
    if p.help || params.unconsumed.first().is_some_and(|a| a == "--help") {
        log.error(flags::usage(program));
        return Err(Logged.into());
    }
    if !params.unconsumed.is_empty() {
        log.warn(format!(
            "Unconsumed cmdline flags: {}",
            params.unconsumed.join(" ")
        ));
        if p.strict {
            bail!(
                "--strict: {} not a flag of edgerun bench (see --help)",
                params.unconsumed.join(" ")
            );
        }
    }
    validate(&mut p, &mut params, log)?;
    for line in params.log_lines() {
        log.info(line);
    }
    Ok((p, params))
}

/// The last run's outputs, raw, to `--output_filepath`.
fn write_outputs(p: &Flags, last: Option<&edgerun::Outputs>) -> Result<()> {
    if let (Some(path), Some(outputs)) = (given(&p.output_filepath), last) {
        let mut bytes = Vec::new();
        for (_, t) in outputs.iter() {
            bytes.extend_from_slice(&t.data().to_le_bytes());
        }
        std::fs::write(path, bytes)
            .with_context(|| format!("--output_filepath: cannot write {path}"))?;
    }
    Ok(())
}

/// The `--format` record, to `--result_file` or stdout.
fn write_record(p: &Flags, format: &str, record: &result::Record, log: &mut Log<'_>) -> Result<()> {
    let text = match format {
        "json" => record.json()?,
        "csv" => record.csv(),
        _ => unreachable!("checked by validate"),
    };
    match given(&p.result_file) {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("--result_file: cannot write {path}"))?,
        None => {
            let _ = log.out.write_all(text.as_bytes());
        }
    }
    Ok(())
}

/// The closing lines of benchmark_model's `BenchmarkLoggingListener::OnBenchmarkEnd`.
fn log_results(log: &mut Log<'_>, m: &Measured) {
    log.info(format!(
        "Inference timings in us: Init: {}, First inference: {}, Warmup (avg): {}, Inference (avg): {}",
        m.init_us,
        m.warmup.first(),
        cpp_double(m.warmup.avg()),
        cpp_double(m.inference.avg())
    ));
    let (Some(init), Some(overall)) = (m.init_mem_kb, m.overall_mem_kb) else {
        return;
    };
    log.info("Note: as the benchmark tool itself affects memory footprint, the following is only APPROXIMATE to the actual memory footprint of the model at runtime. Take the information at your discretion.");
    log.info(format!(
        "Memory footprint delta from the start of the tool (MB): init={} overall={}",
        cpp_double(init as f64 / 1024.0),
        cpp_double(overall as f64 / 1024.0)
    ));
    if let Some(peak) = m.peak_mem_mb.filter(|&p| p > 0.0) {
        // the tool's value is a float
        log.info(format!(
            "Overall peak memory footprint (MB) via periodic monitoring: {}",
            stat::cpp_float(peak as f32)
        ));
        if let Some((rss, shared)) = statm_mb() {
            log.info("Memory status at the end of exeution:");
            log.info(format!("- VmRSS              : {rss} MB"));
            log.info(format!(
                "+ RssAnnon           : {} MB",
                rss.saturating_sub(shared)
            ));
            log.info(format!("+ RssFile + RssShmem : {shared} MB"));
        }
    }
}

/// Resident and shared memory in whole MiB from /proc/self/statm, as the tool's `GetRssStats`.
fn statm_mb() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/self/statm").ok()?;
    let mut f = text.split_whitespace().skip(1).map(|v| v.parse::<u64>());
    let (rss, shared) = (f.next()?.ok()?, f.next()?.ok()?);
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|p| u64::try_from(p).ok())
        .unwrap_or(4096);
    Some(((rss * page) >> 20, (shared * page) >> 20))
}

fn write_profile(p: &Flags, profile: &profile::Profile, log: &mut Log<'_>) {
    let csv = p.op_profiling_output_mode == "csv";
    let body = profile.report(csv);
    let header = "Operator-wise Profiling Info for Regular Benchmark Runs:";
    // as in the tool, a file that cannot be written leaves the profile on stdout
    let written = given(&p.op_profiling_output_file)
        .is_some_and(|path| std::fs::write(path, format!("{header}\n{body}\n")).is_ok());
    if !written {
        log.info(format!("{header}\n{body}\n"));
    }
}

/// edgerun's counterpart of the interpreter state dump: every input and output with its type,
/// shape and size, and for the post-invoke state the last outputs' value range.
fn print_state(
    log: &mut Log<'_>,
    when: &str,
    model: &Model,
    inputs: &[Tensor],
    outputs: Option<&edgerun::Outputs>,
) {
    let mut text = format!(
        "\n===={} edgerun {} state begins (backend {})====\n",
        "Printing out",
        when,
        model.backend()
    );
    for (info, t) in model.inputs().iter().zip(inputs) {
        text.push_str(&format!(
            "Input  {:<30} {:<5} [{}] {} bytes\n",
            info.name,
            info.dtype.name(),
            edgerun::error::shape_string(t.shape()),
            t.len() * t.dtype().size_of()
        ));
    }
    match outputs {
        Some(outputs) => {
            for (name, t) in outputs.iter() {
                text.push_str(&format!(
                    "Output {name:<30} {:<5} [{}] {} bytes; {}\n",
                    t.dtype().name(),
                    edgerun::error::shape_string(t.shape()),
                    t.len() * t.dtype().size_of(),
                    crate::summary::describe(name, t)
                ));
            }
        }
        None => {
            for o in model.outputs() {
                text.push_str(&format!(
                    "Output {:<30} {:<5} [{}]\n",
                    o.name,
                    o.dtype.name(),
                    o.shape_string()
                ));
            }
        }
    }
    log.info(text);
    log.info(format!("====Printing out edgerun {when} state ends====\n"));
}
