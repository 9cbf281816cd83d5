//! `edgerun bench`, also run as `benchmark_model`: TensorFlow Lite's benchmark tool mirrored for
//! every edgerun backend — its flags, its run loops, its log lines — plus edgerun's choice of
//! backend, CPU placement and JSON/CSV results with the device record.

pub mod flags;
pub mod memory;
pub mod options;
pub mod profile;
pub mod result;
pub mod runloop;
pub mod stat;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail, Context, Result};
use edgerun::{npy, CpuAffinity, DType, Data, Model, OpTiming, Options, Runtime, Tensor};

use flags::{Params, Scope, Value};
use memory::{MemoryUsage, PeakMonitor};
use options::{given, Flags};
use runloop::{Clock, LoopParams, SystemClock};
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

    let graph = PathBuf::from(&p.graph);
    let rt = runtime(&p, &params, &graph)?;
    let monitor = p
        .report_peak_memory_footprint
        .then(|| PeakMonitor::start(p.memory_footprint_check_interval_ms.max(1) as u64));
    let model_size_mb = model_size(&graph).map(|b| b as f64 / 1e6);
    let start_mem = MemoryUsage::now();
    let init_start = clock.now_us();
    // Init: load the model on the chosen backend, and a session with its scratch memory
    let model = rt.load(&graph)?;
    let mut session = model.session()?;
    let init_end_mem = MemoryUsage::now();
    let init_us = clock.now_us() - init_start;
    log.info(format!("Loaded model {}", graph.display()));
    describe_choice(&p, &params, &rt, &model, log);

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
    let regular = loop_params(p.num_runs, p.min_secs);
    log.info(regular.announce());
    let (inference, status) = runloop::run(
        clock,
        &regular,
        |_| {
            if profile_runs {
                let mut t = timings.borrow_mut();
                t.clear();
                session.run_profiled(&inputs, &mut t)
            } else {
                session.run(&inputs)
            }
        },
        // outside the timed region, as the tool's profiling listener
        |o| {
            if profile_runs {
                profile.add_run(&timings.borrow());
            }
            last_outputs = Some(o);
        },
    );
    log.info(format!("{}\n", inference.line_with_percentiles()));
    let overall_mem = MemoryUsage::now();
    let peak_mem_mb = monitor.and_then(PeakMonitor::stop);

    let measured = Measured {
        model_size_mb,
        init_us,
        warmup,
        inference,
        init_mem_kb: init_end_mem.footprint_delta_kb(&start_mem),
        overall_mem_kb: overall_mem.footprint_delta_kb(&start_mem),
        peak_mem_mb,
    };
    log_results(log, &measured);
    if profile_runs {
        write_profile(&p, &profile, log);
    }
    if p.print_postinvoke_state {
        print_state(log, "post-invoke", &model, &inputs, last_outputs.as_ref());
    }
    if let (Some(path), Some(outputs)) = (given(&p.output_filepath), &last_outputs) {
        let mut bytes = Vec::new();
        for (_, t) in outputs.iter() {
            bytes.extend_from_slice(&t.data().to_le_bytes());
        }
        std::fs::write(path, bytes)
            .with_context(|| format!("--output_filepath: cannot write {path}"))?;
    }
    if let Some(format) = given(&p.format) {
        let record = result::Record::new(&p, params.given(), &rt, &model, &measured);
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
    }
    status.context("a run failed")?;
    Ok(())
}

/// benchmark_model's `ValidateParams`, and the checks of edgerun's own flags. What it
/// corrects goes into the parameters too: the tool logs them corrected.
fn validate(p: &mut Flags, params: &mut Params, log: &mut Log<'_>) -> Result<()> {
    if p.report_peak_memory_footprint {
        let interval = p.memory_footprint_check_interval_ms;
        if interval <= 0 {
            log.warn(format!("--memory_footprint_check_interval_ms is set to {interval} (ms), This value is invalid, and it will be set to the default value 50 (ms)."));
            p.memory_footprint_check_interval_ms = 50;
            params.set_value("memory_footprint_check_interval_ms", Value::Int(50));
        }
    }
    if p.graph.is_empty() {
        bail!("Please specify the name of your TF Lite input file with --graph");
    }
    if p.enable_op_profiling {
        match p.op_profiling_output_mode.as_str() {
            "stdout" | "csv" => {}
            "proto" => bail!("--op_profiling_output_mode=proto: edgerun writes profiles as stdout tables or csv; choose one of those"),
            other => bail!("Output mode{other} is not supported. Supported values are: 'stdout', 'csv' and 'proto'."),
        }
        if !p.profiling_output_csv_file.is_empty() {
            p.op_profiling_output_mode = "csv".into();
            p.op_profiling_output_file = p.profiling_output_csv_file.clone();
            params.set_value("op_profiling_output_mode", Value::Str("csv".into()));
            params.set_value(
                "op_profiling_output_file",
                Value::Str(p.profiling_output_csv_file.clone()),
            );
        }
    }
    if let Some(f) = given(&p.format) {
        if f != "json" && f != "csv" {
            bail!("--format={f}: write --format=json or --format=csv");
        }
    }
    if p.num_threads < -1 || p.num_threads == 0 {
        bail!(
            "--num_threads={}: give a number of threads of at least 1, or -1 for edgerun's default for this device",
            p.num_threads
        );
    }
    flags::shapes(&p.input_layer_shape).map_err(|e| anyhow!(e))?;
    flags::value_ranges(&p.input_layer_value_range).map_err(|e| anyhow!(e))?;
    flags::value_files(&p.input_layer_value_files).map_err(|e| anyhow!(e))?;
    Ok(())
}

/// The runtime the flags describe: backends and their options, threads, CPUs, input shapes.
fn runtime(p: &Flags, params: &Params, graph: &Path) -> Result<Runtime> {
    // the backends' own settings, given as flags, go to their backends
    let mut rt = Runtime::new();
    let set = params.given();
    for (_, s) in rt.settings() {
        if let Some(value) = set.get(s.key) {
            rt = rt
                .configure(s.key, value)
                .with_context(|| format!("--{}={value}", s.key))?;
        }
    }
    match p.backend.as_str() {
        "" => {}
        b => rt = rt.with_backend(b),
    }
    match p.max_tensor_mb {
        0 => {}
        n => edgerun::limits::set_max_tensor_bytes(
            u64::try_from(n)
                .context("--max_tensor_mb: give a number of MB, or 0")?
                .saturating_mul(1_000_000),
        ),
    }
    let measure_ms = match p.measure_ms {
        -1 => None,
        n => Some(u64::try_from(n).context("--measure_ms: give 0 or more milliseconds, or -1")?),
    };
    rt = crate::dispatch_args(
        rt,
        given(&p.policy).map(Path::new),
        given(&p.decision_cache),
        measure_ms,
    )?;
    let names: Vec<String> = match given(&p.input_layer) {
        Some(s) => s.split(',').map(str::to_string).collect(),
        None => Vec::new(),
    };
    let shapes = flags::shapes(&p.input_layer_shape).map_err(|e| anyhow!(e))?;
    // names without shapes are fine in edgerun (values are matched by name); shapes for named
    // inputs must pair up with them, as in the tool
    if !names.is_empty() && !shapes.is_empty() && names.len() != shapes.len() {
        bail!(
            "The number of items in --input_layer_shape ({}, with {} items) must match the number of items in --input_layer ({}, with {} items). For example --input_layer=input1,input2 --input_layer_shape=1,224,224,4:1,20",
            p.input_layer_shape,
            shapes.len(),
            p.input_layer,
            names.len()
        );
    }
    let mut options = Options::new();
    for (name, shape) in crate::shape_options(&rt, graph, &names, shapes)? {
        options = options.with_input_shape(name, shape);
    }
    rt = rt.with_options(options);
    match p.num_threads {
        -1 => {}
        n => rt = rt.with_threads(usize::try_from(n)?),
    }
    Ok(rt.with_affinity(p.cpu_affinity.parse::<CpuAffinity>()?))
}

/// Size of the model file in bytes; an NNEF directory counts its files.
fn model_size(path: &Path) -> Option<u64> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_file() {
        return Some(meta.len());
    }
    let entries = std::fs::read_dir(path).ok()?;
    Some(
        entries
            .filter_map(|e| e.ok()?.metadata().ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .sum(),
    )
}

/// edgerun's lines: the backend, why it was chosen, threads and CPUs, and the flags that mean
/// nothing for it.
fn describe_choice(p: &Flags, params: &Params, rt: &Runtime, model: &Model, log: &mut Log<'_>) {
    let backend = model.backend();
    let version = rt
        .backends()
        .iter()
        .find(|b| b.name() == backend)
        .and_then(|b| b.version())
        .map(|v| format!(" {v}"))
        .unwrap_or_default();
    log.info(format!("edgerun: backend {backend}{version}"));
    let decision = model.decision();
    if p.explain {
        for line in decision.to_string().lines() {
            log.info(format!("edgerun: {line}"));
        }
    } else {
        log.info(format!(
            "edgerun: {}: {} (--explain lists every candidate)",
            decision.chosen, decision.source
        ));
        for w in decision.warnings() {
            log.info(format!("edgerun: warning: {w}"));
        }
    }
    for note in model.notes() {
        log.info(format!("edgerun:   {note}"));
    }
    log.info(format!(
        "edgerun: {}",
        crate::placement_line(model.placement())
    ));
    for s in flags::specs() {
        if !params.is_set(s.name) {
            continue;
        }
        let ignored = match s.scope {
            Scope::All => false,
            Scope::TfLite => backend != "tflite",
            Scope::Backend(b) => backend != b,
            Scope::None => true,
        };
        if ignored {
            log.warn(format!(
                "--{} has no effect with backend {backend}; ignored",
                s.name
            ));
        }
    }
}

/// Inputs as benchmark_model makes them: from `--input_layer_value_files`, else random in the
/// `--input_layer_value_range` of the input or the default range of its type.
fn prepare_inputs(p: &Flags, model: &Model, log: &mut Log<'_>) -> Result<Vec<Tensor>> {
    let ranges = flags::value_ranges(&p.input_layer_value_range).map_err(|e| anyhow!(e))?;
    let files = flags::value_files(&p.input_layer_value_files).map_err(|e| anyhow!(e))?;
    let known = || edgerun::backend::names(model.inputs());
    for name in ranges
        .iter()
        .map(|r| &r.0)
        .chain(files.iter().map(|f| &f.0))
    {
        if !model.inputs().iter().any(|i| &i.name == name) {
            return Err(edgerun::Error::UnknownInput {
                name: name.clone(),
                known: known(),
            }
            .into());
        }
    }
    let mut inputs = Vec::new();
    for (ix, info) in model.inputs().iter().enumerate() {
        let shape = model.prepared_shape(ix).ok_or_else(|| {
            anyhow!(
                "input {:?} [{}] has dimensions the model leaves open; give its shape with --input_layer={} --input_layer_shape=...",
                info.name,
                info.shape_string(),
                info.name
            )
        })?;
        let range = ranges.iter().find(|r| r.0 == info.name);
        if let Some((_, path)) = files.iter().find(|f| f.0 == info.name) {
            if range.is_some() {
                log.warn(format!("The input_name:{} appears both in input_layer_value_files and input_layer_value_range. The input_layer_value_range of the input_name will be ignored.", info.name));
            }
            inputs.push(read_value_file(path, info, &shape)?);
            continue;
        }
        let (lo, hi) = match range {
            Some((_, lo, hi)) => (*lo as f64, *hi as f64),
            None => default_range(info.dtype),
        };
        let t = edgerun::fill::uniform(info.dtype, &shape, lo, hi, ix as u64)?;
        inputs.push(t.with_quant(info.quant));
    }
    Ok(inputs)
}

/// benchmark_model's default value ranges (`GetDataRangesForType`).
fn default_range(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F32 | DType::F64 | DType::F16 => (-0.5, 0.5),
        DType::I32 | DType::I64 => (0.0, 99.0),
        DType::U8 => (0.0, 254.0),
        DType::I8 => (-127.0, 127.0),
        DType::Bool => (0.0, 1.0),
        DType::I16 => (0.0, 0.0),
    }
}

/// A value file: `.npy` (dtype and shape checked), else the tensor's raw little-endian bytes,
/// exactly as many as the tensor holds.
fn read_value_file(path: &str, info: &edgerun::TensorInfo, shape: &[usize]) -> Result<Tensor> {
    if path.ends_with(".npy") {
        let t = npy::read(path)?;
        if t.dtype() != info.dtype || t.shape() != shape {
            bail!(
                "--input_layer_value_files: {path} holds {} [{}], input {:?} takes {} [{}]",
                t.dtype(),
                edgerun::error::shape_string(t.shape()),
                info.name,
                info.dtype,
                edgerun::error::shape_string(shape)
            );
        }
        return Ok(t.with_quant(info.quant));
    }
    // the size is checked before anything is read: a file may be a device or a FIFO
    let want = edgerun::limits::check_tensor(&format!("input {:?}", info.name), info.dtype, shape)?
        * info.dtype.size_of();
    let len = edgerun::limits::regular_file("input file", std::path::Path::new(path))?;
    if len != want as u64 {
        bail!("The size of {path} is {len} bytes. It should be {want} bytes.");
    }
    let bytes = edgerun::limits::read_file("input file", std::path::Path::new(path), len)
        .with_context(|| format!("Failed to read the input_layer_value_file:{path}"))?;
    if bytes.len() != want {
        bail!(
            "The size of {path} is {} bytes. It should be {want} bytes.",
            bytes.len()
        );
    }
    let data = Data::from_le_bytes(info.dtype, &bytes).map_err(|e| anyhow!("{path}: {e}"))?;
    Ok(Tensor::from_data(shape.to_vec(), data)?.with_quant(info.quant))
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
