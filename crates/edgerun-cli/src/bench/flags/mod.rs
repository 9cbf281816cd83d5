//! benchmark_model's flags: the same names, types and defaults, parsed the way its
//! `tflite/tools/command_line_flags.cc` parses them (`--name=value` only, the first occurrence
//! wins, lenient numbers, `true|false|1|0` for booleans, anything else left "unconsumed").

use std::collections::BTreeMap;

use super::stat::cpp_float;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Int,
    Float,
    Bool,
    Str,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Int => "int32",
            Kind::Float => "float",
            Kind::Bool => "bool",
            Kind::Str => "string",
        }
    }
}

/// Which backends a flag means something for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The benchmark itself, any backend.
    All,
    /// Only the TensorFlow Lite backend (library, XNNPACK, delegates).
    TfLite,
    /// Only the backend of this name (its own settings).
    Backend(&'static str),
    /// Accepted for compatibility; edgerun has no such setting.
    None,
}

#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    pub help: &'static str,
    /// The description benchmark_model's `LogParams` prints (`<description>: [<value>]`);
    /// `None` for flags it does not log.
    pub log: Option<&'static str>,
    pub scope: Scope,
}

const fn f(
    name: &'static str,
    kind: Kind,
    default: &'static str,
    help: &'static str,
    log: Option<&'static str>,
    scope: Scope,
) -> Spec {
    Spec {
        name,
        kind,
        default,
        help,
        log,
        scope,
    }
}

use Kind::{Bool, Float, Int, Str};

/// benchmark_model's flags, in its order (its own flags, the TFLite model's, then the delegate
/// providers'), followed by the bench's own additions. The backends' settings follow them in
/// [`specs`], taken from the backends' descriptors.
const TOOL_SPECS: &[Spec] = &[
    f("num_runs", Int, "50", "expected number of runs, see also min_secs, max_secs", Some("Min num runs"), Scope::All),
    f("min_secs", Float, "1", "minimum number of seconds to rerun for, potentially making the actual number of runs to be greater than num_runs", Some("Min runs duration (seconds)"), Scope::All),
    f("max_secs", Float, "150", "maximum number of seconds to rerun for, potentially making the actual number of runs to be less than num_runs; a run in progress is finished", Some("Max runs duration (seconds)"), Scope::All),
    f("run_delay", Float, "-1", "delay between runs in seconds", Some("Inter-run delay (seconds)"), Scope::All),
    f("run_frequency", Float, "-1", "runs per second at a fixed rate instead of a fixed delay; overrides run_delay", Some("Number of prorated runs per second"), Scope::All),
    f("num_threads", Int, "-1", "number of threads; -1: edgerun's default for this device (see `edgerun info`)", Some("Num threads"), Scope::All),
    f("use_caching", Bool, "false", "(TensorFlow Lite's Ruy weight caching; no effect in edgerun)", Some("Use caching"), Scope::None),
    f("benchmark_name", Str, "", "benchmark name (recorded in the --format results)", Some("Benchmark name"), Scope::All),
    f("output_prefix", Str, "", "benchmark output prefix (recorded in the --format results)", Some("Output prefix"), Scope::All),
    f("warmup_runs", Int, "1", "minimum number of warm-up runs, see also warmup_min_secs", Some("Min warmup runs"), Scope::All),
    f("warmup_min_secs", Float, "0.5", "minimum number of seconds of warm-up runs", Some("Min warmup runs duration (seconds)"), Scope::All),
    f("verbose", Bool, "false", "log every parameter, not only those given on the command line", None, Scope::All),
    f("dry_run", Bool, "false", "load the model and prepare inputs, but run nothing", Some("Run w/o invoking kernels"), Scope::All),
    f("report_peak_memory_footprint", Bool, "false", "sample the memory footprint on a separate thread and report its peak", Some("Report the peak memory footprint"), Scope::All),
    f("memory_footprint_check_interval_ms", Int, "50", "milliseconds between two memory footprint samples", Some("Memory footprint check interval (ms)"), Scope::All),
    f("gpu_invoke_loop_times", Int, "1", "(GPU delegate invoke loop; no effect in edgerun)", None, Scope::None),
    f("graph", Str, "", "model file: .tflite, .onnx, or an NNEF directory or archive", Some("Graph"), Scope::All),
    f("signature_to_run_for", Str, "", "(TensorFlow Lite signature; edgerun runs the model's main graph)", Some("Signature to run"), Scope::None),
    f("list_signatures", Bool, "false", "(TensorFlow Lite signatures; edgerun runs the model's main graph)", Some("List signatures from the provided model"), Scope::None),
    f("input_layer", Str, "", "input names the shapes of --input_layer_shape belong to, comma-separated", Some("Input layers"), Scope::All),
    f("input_layer_shape", Str, "", "input shapes, dims separated by ',' and inputs by ':', e.g. 1,224,224,3:1,20", Some("Input shapes"), Scope::All),
    f("input_layer_value_range", Str, "", "value ranges (inclusive) of random inputs: name,low,high:name2,low,high", Some("Input value ranges"), Scope::All),
    f("input_layer_value_files", Str, "", "input values from files: name:path,name2:path2 (raw little-endian bytes of the whole tensor, or .npy; '::' for a ':' in a name or path)", Some("Input value files"), Scope::All),
    f("allow_fp16", Bool, "false", "(TensorFlow Lite fp16 precision; no effect in edgerun)", Some("Allow fp16"), Scope::None),
    f("require_full_delegation", Bool, "false", "(TensorFlow Lite delegation check; no effect in edgerun)", Some("Require full delegation"), Scope::None),
    f("enable_op_profiling", Bool, "false", "time every operator and print benchmark_model's profiling tables", Some("Enable op profiling"), Scope::All),
    f("op_profiling_output_mode", Str, "stdout", "profiling output: stdout or csv", Some("Op profiling output mode."), Scope::All),
    f("op_profiling_output_file", Str, "", "write the profiling output to this file instead of stdout", Some("Op profiling output file."), Scope::All),
    f("max_profiling_buffer_entries", Int, "1024", "(TensorFlow Lite profiler buffer; no effect in edgerun)", Some("Max initial profiling buffer entries"), Scope::None),
    f("allow_dynamic_profiling_buffer_increase", Bool, "false", "(TensorFlow Lite profiler buffer; no effect in edgerun)", Some("Allow dynamic increase on profiling buffer entries"), Scope::None),
    f("profiling_output_csv_file", Str, "", "[deprecated: use op_profiling_output_file and op_profiling_output_mode] CSV profiling output file", Some("CSV File to export profiling data to"), Scope::All),
    f("print_preinvoke_state", Bool, "false", "describe the model's tensors before the runs", Some("Print pre-invoke interpreter state"), Scope::All),
    f("print_postinvoke_state", Bool, "false", "describe the model's tensors and the last run's outputs after the runs", Some("Print post-invoke interpreter state"), Scope::All),
    f("release_dynamic_tensors", Bool, "false", "(TensorFlow Lite memory option; no effect in edgerun)", Some("Release dynamic tensor memory"), Scope::None),
    f("optimize_memory_for_large_tensors", Int, "0", "(TensorFlow Lite memory option; no effect in edgerun)", Some("Optimize memory usage for large tensors"), Scope::None),
    f("disable_delegate_clustering", Bool, "false", "(TensorFlow Lite delegate option; no effect in edgerun)", Some("Disable delegate clustering"), Scope::None),
    f("enable_builtin_cast_constant_cache", Bool, "false", "(TensorFlow Lite kernel option; no effect in edgerun)", Some("Constant CAST output cache"), Scope::None),
    f("export_model_runtime_info", Bool, "false", "(TensorFlow Lite runtime info export; no effect in edgerun)", Some("Enable Model Runtime Info Export"), Scope::None),
    f("model_runtime_info_output_file", Str, "", "(TensorFlow Lite runtime info export; no effect in edgerun)", Some("Proto File to export model runtime info to"), Scope::None),
    f("output_filepath", Str, "", "write the last run's output tensors to this file, raw bytes one after another", Some("File path to export outputs layer to"), Scope::All),
    f("output_proto_filepath", Str, "", "(outputs as a TensorFlow example proto; not written by edgerun: use output_filepath)", Some("File path to export outputs layer as tf example to"), Scope::None),
    f("result_file_path", Str, "", "(results as a binary proto; edgerun writes --format=json|csv to --result_file instead)", Some("File path to save the benchmark result in binary proto format"), Scope::None),
    f("tensor_name_display_length", Int, "25", "(TensorFlow Lite interpreter dump; no effect in edgerun)", Some("Tensor name display length"), Scope::None),
    f("tensor_type_display_length", Int, "15", "(TensorFlow Lite interpreter dump; no effect in edgerun)", Some("Tensor type display length"), Scope::None),
    f("alloc_type_display_length", Int, "18", "(TensorFlow Lite interpreter dump; no effect in edgerun)", Some("Tensor allocation type display length"), Scope::None),
    f("help", Bool, "false", "print the supported flags", Some("print out all supported flags"), Scope::All),
    f("max_delegated_partitions", Int, "0", "(TensorFlow Lite delegate partitions; no effect in edgerun)", Some("Max number of delegated partitions"), Scope::None),
    f("min_nodes_per_partition", Int, "0", "(TensorFlow Lite delegate partitions; no effect in edgerun)", Some("Min nodes per partition"), Scope::None),
    f("delegate_serialize_dir", Str, "", "(delegate serialization; no effect in edgerun)", Some("Directory for delegate serialization"), Scope::None),
    f("delegate_serialize_token", Str, "", "(delegate serialization; no effect in edgerun)", Some("Model-specific token/key for delegate serialization."), Scope::None),
    f("use_xnnpack", Bool, "false", "apply the XNNPACK delegate (edgerun's TensorFlow Lite backend applies it unless this is false)", Some("Use xnnpack"), Scope::TfLite),
    f("xnnpack_force_fp16", Bool, "false", "(XNNPACK fp16 inference; no effect in edgerun)", Some("xnnpack_force_fp16"), Scope::None),
    f("xnnpack_weight_cache_file_path", Str, "", "(XNNPACK weight cache; no effect in edgerun)", Some("xnnpack_weight_cache_file_path"), Scope::None),
    f("xnnpack_runtime_flags", Int, "0", "(XNNPACK runtime flags; no effect in edgerun)", Some("Extra flags for XNNPACK runtime"), Scope::None),
    f("external_delegate_path", Str, "", "external delegate plugin (.so exporting tflite_plugin_create_delegate)", Some("External delegate path"), Scope::TfLite),
    f("external_delegate_options", Str, "", "options of the external delegate, key:value;key:value, passed in this order", Some("External delegate options"), Scope::TfLite),
    f("use_gpu", Bool, "false", "(TensorFlow Lite GPU delegate; no effect in edgerun)", Some("Use gpu"), Scope::None),
    f("use_nnapi", Bool, "false", "(Android NNAPI delegate; no effect in edgerun)", Some("Use NNAPI"), Scope::None),
    f("use_ynnpack", Bool, "false", "(YNNPACK delegate; no effect in edgerun)", Some("Use ynnpack"), Scope::None),
    f("stable_delegate_settings_file", Str, "", "(stable delegate settings; no effect in edgerun)", Some("Delegate settings file path"), Scope::None),
    f("backend", Str, "auto", "edgerun: the backend or variant to run on; auto: measure the candidates and take the fastest that agrees; first: the first in order (see `edgerun info`)", Some("edgerun backend"), Scope::All),
    f("explain", Bool, "false", "edgerun: list every candidate backend with its skip reason or measured median, and the winner", Some("edgerun explain"), Scope::All),
    f("policy", Str, "", "edgerun: a policy file (TOML) pinning backends per model", Some("edgerun policy"), Scope::All),
    f("decision_cache", Str, "", "edgerun: file of measured backend choices, or off (default: $EDGERUN_CACHE, else $XDG_CACHE_HOME/edgerun/decisions.json)", Some("edgerun decision cache"), Scope::All),
    f("isolation", Str, "probe", "edgerun: probe: each backend first loads the model and runs it once in a helper process, so that an engine crash on the model is an error; off: load in this process only", Some("edgerun isolation"), Scope::All),
    f("measure_ms", Int, "-1", "edgerun: milliseconds auto may spend timing candidates at load; 0 takes the first in order; -1: 500", Some("edgerun measure budget"), Scope::All),
    f("warm_init", Bool, "false", "edgerun: after the first load, load the model once more in this process and report that warm initialisation too (libraries loaded, auto's choice in the decision cache)", Some("edgerun warm init"), Scope::All),
    f("precision", Str, "exact", "edgerun: the arithmetic auto may choose: exact, or fp16 (each backend's fp16 twin also measured, on CPUs with fp16 arithmetic, kept within the fp16 guard)", Some("edgerun precision"), Scope::All),
    f("measure_threads", Bool, "true", "edgerun: with auto and no --num_threads, also measure the winning backend at 1 thread, at half the default and (big.LITTLE) on every core unpinned, and keep the fastest count that agrees", Some("edgerun measure threads"), Scope::All),
    f("max_tensor_mb", Int, "0", "edgerun: the largest tensor, in MB (10^6 bytes), edgerun makes or lets a backend prepare; 0: half of the memory this process may use", Some("edgerun max tensor MB"), Scope::All),
    f("cpu_affinity", Str, "default", "edgerun: CPUs for inference threads: big, little, all, default, or a list such as 0-3,6", Some("edgerun CPU affinity"), Scope::All),
    f("format", Str, "", "edgerun: also write the results as json or csv (to --result_file, else stdout)", Some("edgerun result format"), Scope::All),
    f("result_file", Str, "", "edgerun: file for the --format results", Some("edgerun result file"), Scope::All),
    f("strict", Bool, "false", "edgerun: fail on arguments that are not flags of edgerun bench (benchmark_model only warns)", Some("edgerun strict flags"), Scope::All),
];

/// Every flag: [`TOOL_SPECS`], then each backend's settings that benchmark_model does not
/// already have (its `use_xnnpack` and external delegate flags keep the tool's defaults and go
/// to the TensorFlow Lite backend).
pub fn specs() -> &'static [Spec] {
    static ALL: std::sync::OnceLock<Vec<Spec>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut all = TOOL_SPECS.to_vec();
        for (backend, setting) in edgerun::Runtime::new().settings() {
            if all.iter().any(|s| s.name == setting.key) {
                continue;
            }
            let kind = match setting.kind {
                edgerun::Kind::Bool => Bool,
                edgerun::Kind::Count { .. } => Int,
                _ => Str,
            };
            // made once per process, for the life of the process
            let text = |t: String| -> &'static str { Box::leak(t.into_boxed_str()) };
            all.push(f(
                setting.key,
                kind,
                setting.default.unwrap_or(""),
                text(format!("edgerun, {backend} backend: {}", setting.help)),
                Some(text(format!("edgerun {}", setting.key))),
                Scope::Backend(backend),
            ));
        }
        all
    })
}

pub fn spec(name: &str) -> Option<&'static Spec> {
    specs().iter().find(|s| s.name == name)
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i32),
    Float(f32),
    Bool(bool),
    Str(String),
}

impl Value {
    /// As benchmark_model's `LogParams` streams it: bools as 0/1, floats as `%g`.
    pub fn logged(&self) -> String {
        match self {
            Value::Int(v) => v.to_string(),
            Value::Float(v) => cpp_float(*v),
            Value::Bool(v) => u8::from(*v).to_string(),
            Value::Str(v) => v.clone(),
        }
    }
}

/// The flags of one command line.
#[derive(Debug, Clone)]
pub struct Params {
    values: BTreeMap<&'static str, Value>,
    /// Flags given on the command line, with their position in it.
    set: BTreeMap<&'static str, usize>,
    /// Arguments no flag took.
    pub unconsumed: Vec<String>,
}

/// Why a command line was refused: benchmark_model's messages, one per bad flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub Vec<String>);

fn parse_value(kind: Kind, text: &str) -> Option<Value> {
    match kind {
        Kind::Str => Some(Value::Str(text.to_string())),
        Kind::Bool => match text {
            "true" | "1" => Some(Value::Bool(true)),
            "false" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        // an out-of-range number read to the end of the text is clamped, as a stream does
        Kind::Int => lenient_number(text, false)
            .map(|x| Value::Int(x.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32)),
        Kind::Float => lenient_number(text, true)
            .map(|x| Value::Float(x.clamp(f64::from(f32::MIN), f64::from(f32::MAX)) as f32)),
    }
}

/// `std::istringstream >> value` as the tool's flag parser accepts it: leading blanks skipped,
/// the longest number prefix read and trailing text ignored; an empty text, or a number cut
/// short at the end of the text (`1e`), reads as 0; no number at all is an error.
pub(crate) fn lenient_number(text: &str, float: bool) -> Option<f64> {
    let t = text.trim_start();
    if t.is_empty() {
        return Some(0.0);
    }
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut mantissa_digits = i - digits_start;
    if float {
        if i < b.len() && b[i] == b'.' {
            i += 1;
            let frac = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            mantissa_digits += i - frac;
        }
        if mantissa_digits > 0 && i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            let exp = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j == exp {
                // an exponent without digits: the stream fails; at the end of the text the
                // tool's check lets the failure through with the value 0
                return (j == b.len()).then_some(0.0);
            }
            i = j;
        }
    }
    if mantissa_digits == 0 {
        return None;
    }
    t[..i].parse::<f64>().ok()
}

impl Params {
    /// The defaults.
    pub fn defaults() -> Params {
        let values = specs()
            .iter()
            .map(|s| {
                (
                    s.name,
                    parse_value(s.kind, s.default).expect("defaults parse"),
                )
            })
            .collect();
        Params {
            values,
            set: BTreeMap::new(),
            unconsumed: Vec::new(),
        }
    }

    /// Parse a command line (without the program name).
    ///
    /// # Errors
    /// One `Failed to parse flag '<name>' against argv '<arg>'` per value that does not parse.
    pub fn parse(args: &[String]) -> Result<Params, ParseError> {
        let mut p = Params::defaults();
        let mut errors = Vec::new();
        for (pos, arg) in args.iter().enumerate() {
            let taken = arg
                .strip_prefix("--")
                .and_then(|rest| rest.split_once('='))
                .and_then(|(name, value)| spec(name).map(|s| (s, value)))
                // the first occurrence wins; a repeat stays unconsumed, as in the tool
                .filter(|(s, _)| !p.set.contains_key(s.name));
            match taken {
                Some((s, text)) => match parse_value(s.kind, text) {
                    Some(v) => {
                        p.values.insert(s.name, v);
                        p.set.insert(s.name, pos);
                    }
                    None => errors.push((
                        s.name,
                        format!("Failed to parse flag '{}' against argv '{arg}'", s.name),
                    )),
                },
                None => p.unconsumed.push(arg.clone()),
            }
        }
        if errors.is_empty() {
            Ok(p)
        } else {
            // the tool reports them flag by flag, in its list's order
            errors.sort_by_key(|(name, _)| specs().iter().position(|s| s.name == *name));
            Err(ParseError(errors.into_iter().map(|(_, m)| m).collect()))
        }
    }

    pub fn int(&self, name: &str) -> i32 {
        match self.values.get(name) {
            Some(Value::Int(v)) => *v,
            other => panic!("flag {name} is not an int32: {other:?}"),
        }
    }

    pub fn float(&self, name: &str) -> f32 {
        match self.values.get(name) {
            Some(Value::Float(v)) => *v,
            other => panic!("flag {name} is not a float: {other:?}"),
        }
    }

    pub fn bool(&self, name: &str) -> bool {
        match self.values.get(name) {
            Some(Value::Bool(v)) => *v,
            other => panic!("flag {name} is not a bool: {other:?}"),
        }
    }

    pub fn str(&self, name: &str) -> &str {
        match self.values.get(name) {
            Some(Value::Str(v)) => v,
            other => panic!("flag {name} is not a string: {other:?}"),
        }
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.set.contains_key(name)
    }

    /// Set a value as the tool's `params_.Set` does (e.g. for --dry_run).
    pub fn set_value(&mut self, name: &'static str, v: Value) {
        self.values.insert(name, v);
    }

    /// Flags given on the command line, in name order, with their values as logged.
    pub fn given(&self) -> BTreeMap<String, String> {
        self.set
            .keys()
            .map(|n| (n.to_string(), self.values[n].logged()))
            .collect()
    }

    /// benchmark_model's `LogParams`: `<description>: [<value>]` for each flag given (every
    /// flag with --verbose), `Graph` and `Signature to run` always.
    pub fn log_lines(&self) -> Vec<String> {
        let verbose = self.bool("verbose");
        let mut lines = vec![format!(
            "Log parameter values verbosely: [{}]",
            u8::from(verbose)
        )];
        for s in specs() {
            let Some(desc) = s.log else { continue };
            let always = matches!(s.name, "graph" | "signature_to_run_for");
            // `list_signatures` is logged only when given, even with --verbose
            let shown = if s.name == "list_signatures" {
                self.is_set(s.name)
            } else {
                always || verbose || self.is_set(s.name)
            };
            if shown {
                lines.push(format!("{desc}: [{}]", self.values[s.name].logged()));
            }
            // the default delegate provider logs the thread count a second time after `help`
            if s.name == "help" && (verbose || self.is_set("num_threads")) {
                lines.push(format!(
                    "#threads used for CPU inference: [{}]",
                    self.values["num_threads"].logged()
                ));
            }
        }
        lines
    }
}

/// benchmark_model's usage text (`Flags::Usage`).
pub fn usage(program: &str) -> String {
    let shown: Vec<(String, &Spec)> = specs()
        .iter()
        .map(|s| (format!("--{}={}", s.name, s.default), s))
        .collect();
    let width = shown.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let mut text = format!("usage: {program} <flags>\nFlags:\n");
    for (name, s) in shown {
        text.push_str(&format!(
            "\t{name:<width$}\t{}\toptional\t{}\n",
            s.kind.name(),
            s.help
        ));
    }
    text
}

/// `--input_layer_value_range`: `name,low,high:name2,low,high` (inclusive integer bounds).
///
/// # Errors
/// benchmark_model's messages for an item that is not three fields or whose bounds are not
/// integers with low <= high.
pub fn value_ranges(text: &str) -> Result<Vec<(String, i64, i64)>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(':')
        .map(|item| {
            let parts: Vec<&str> = item.split(',').collect();
            if parts.len() != 3 {
                return Err(format!("Wrong input value range item specified: {item}"));
            }
            match (
                parts[1].trim().parse::<i32>(),
                parts[2].trim().parse::<i32>(),
            ) {
                (Ok(lo), Ok(hi)) if lo <= hi => {
                    Ok((parts[0].to_string(), i64::from(lo), i64::from(hi)))
                }
                _ => Err(format!(
                    "Wrong low and high value of the input value range specified: {item}"
                )),
            }
        })
        .collect()
}

/// `--input_layer_value_files`: `name:path,name2:path2`, `::` standing for a `:` in a name or
/// a path.
///
/// # Errors
/// benchmark_model's messages for an item without, or with more than one, delimiter, followed
/// by its `Wrong input value file item specified: <item>`.
pub fn value_files(text: &str) -> Result<Vec<(String, String)>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(',')
        .map(|item| {
            let b = item.as_bytes();
            let mut delim = None;
            let mut i = 0;
            // as in the tool, the last character is never taken for a delimiter
            while i + 1 < b.len() {
                if b[i] == b':' {
                    if b[i + 1] == b':' {
                        i += 1;
                    } else if delim.is_none() {
                        delim = Some(i);
                    } else {
                        return Err(format!("{item} contains more than one delimiter.\nWrong input value file item specified: {item}"));
                    }
                }
                i += 1;
            }
            let Some(d) = delim else {
                return Err(format!("{item} doesn't contain any delimiter.\nWrong input value file item specified: {item}"));
            };
            Ok((
                item[..d].replace("::", ":"),
                item[d + 1..].replace("::", ":"),
            ))
        })
        .collect()
}

/// `--input_layer_shape`: `1,224,224,3:1,20`, read as the tool's `SplitAndParse` reads it
/// (lenient numbers, a trailing `,` ignored, an empty shape for a scalar).
///
/// # Errors
/// A dimension that is no number, or negative (the tool asks for -1's to be replaced).
pub fn shapes(text: &str) -> Result<Vec<Vec<usize>>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text.split(':')
        .map(|shape| {
            let mut dims: Vec<&str> = shape.split(',').collect();
            if dims.last() == Some(&"") {
                dims.pop();
            }
            dims.into_iter()
                .map(|d| match lenient_number(d, false).filter(|_| !d.trim().is_empty()) {
                    Some(-1.0) => Err("Any unknown sizes in the shapes (-1's) must be replaced with the size you want to benchmark with.".to_string()),
                    Some(n) if n >= 0.0 => Ok(n as usize),
                    _ => Err(format!("Incorrect size string specified: {shape}")),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests;
