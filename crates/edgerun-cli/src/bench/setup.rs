//! Before the runs: the flags checked, the runtime they describe, the backend's choice
//! explained, and the inputs made.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use edgerun::{npy, CpuAffinity, DType, Data, Model, Options, Runtime, Tensor};

use super::flags::{self, Params, Scope, Value};
use super::options::{given, Flags};
use super::Log;

/// benchmark_model's `ValidateParams`, and the checks of edgerun's own flags. What it
/// corrects goes into the parameters too: the tool logs them corrected.
pub(super) fn validate(p: &mut Flags, params: &mut Params, log: &mut Log<'_>) -> Result<()> {
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
pub(super) fn runtime(p: &Flags, params: &Params, graph: &Path) -> Result<Runtime> {
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
    rt = rt.with_thread_search(p.measure_threads);
    rt = rt.with_precision(
        edgerun::Precision::parse(&p.precision)
            .ok_or_else(|| anyhow!("--precision={}: give exact or fp16", p.precision))?,
    );
    rt = match p.isolation.as_str() {
        "probe" => rt.with_isolation(edgerun::Isolation::probe()),
        "off" => rt.with_isolation(edgerun::Isolation::Off),
        other => bail!("--isolation={other}: give probe or off"),
    };
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
    // LiteRT times operators only in a model compiled for it
    let mut options = Options::new().with_profiling(p.enable_op_profiling);
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
pub(super) fn model_size(path: &Path) -> Option<u64> {
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
pub(super) fn describe_choice(
    p: &Flags,
    params: &Params,
    rt: &Runtime,
    model: &Model,
    log: &mut Log<'_>,
) {
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
pub(super) fn prepare_inputs(p: &Flags, model: &Model, log: &mut Log<'_>) -> Result<Vec<Tensor>> {
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
pub(super) fn default_range(dtype: DType) -> (f64, f64) {
    match dtype {
        DType::F32 | DType::F64 | DType::F16 | DType::BF16 => (-0.5, 0.5),
        DType::I32 | DType::I64 => (0.0, 99.0),
        DType::U8 => (0.0, 254.0),
        DType::I8 => (-127.0, 127.0),
        DType::Bool => (0.0, 1.0),
        DType::I16 => (0.0, 0.0),
        // not in benchmark_model's table: its integer range
        DType::U16 | DType::U32 | DType::U64 => (0.0, 99.0),
    }
}

/// A value file: `.npy` (dtype and shape checked), else the tensor's raw little-endian bytes,
/// exactly as many as the tensor holds.
pub(super) fn read_value_file(
    path: &str,
    info: &edgerun::TensorInfo,
    shape: &[usize],
) -> Result<Tensor> {
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
