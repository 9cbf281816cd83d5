//! The bench's own flags, typed: read from the parsed command line once, here, and used as
//! fields everywhere else. A flag's name is written only in its spec and in [`Flags::read`],
//! whose test reads every one.

use super::flags::Params;

/// Every flag `edgerun bench` acts on (backend settings go to the backends as they are).
#[derive(Debug, Clone, PartialEq)]
pub struct Flags {
    pub graph: String,
    pub num_runs: i32,
    pub min_secs: f32,
    pub max_secs: f32,
    pub run_delay: f32,
    pub run_frequency: f32,
    pub num_threads: i32,
    pub benchmark_name: String,
    pub output_prefix: String,
    pub warmup_runs: i32,
    pub warmup_min_secs: f32,
    pub dry_run: bool,
    pub report_peak_memory_footprint: bool,
    pub memory_footprint_check_interval_ms: i32,
    pub input_layer: String,
    pub input_layer_shape: String,
    pub input_layer_value_range: String,
    pub input_layer_value_files: String,
    pub enable_op_profiling: bool,
    pub op_profiling_output_mode: String,
    pub op_profiling_output_file: String,
    pub profiling_output_csv_file: String,
    pub print_preinvoke_state: bool,
    pub print_postinvoke_state: bool,
    pub output_filepath: String,
    pub help: bool,
    pub backend: String,
    pub explain: bool,
    pub policy: String,
    pub decision_cache: String,
    pub isolation: String,
    pub measure_ms: i32,
    pub measure_threads: bool,
    pub precision: String,
    pub warm_init: bool,
    pub max_tensor_mb: i32,
    pub cpu_affinity: String,
    pub format: String,
    pub result_file: String,
    pub strict: bool,
}

impl Flags {
    pub fn read(p: &Params) -> Flags {
        let s = |name: &str| p.str(name).to_string();
        Flags {
            graph: s("graph"),
            num_runs: p.int("num_runs"),
            min_secs: p.float("min_secs"),
            max_secs: p.float("max_secs"),
            run_delay: p.float("run_delay"),
            run_frequency: p.float("run_frequency"),
            num_threads: p.int("num_threads"),
            benchmark_name: s("benchmark_name"),
            output_prefix: s("output_prefix"),
            warmup_runs: p.int("warmup_runs"),
            warmup_min_secs: p.float("warmup_min_secs"),
            dry_run: p.bool("dry_run"),
            report_peak_memory_footprint: p.bool("report_peak_memory_footprint"),
            memory_footprint_check_interval_ms: p.int("memory_footprint_check_interval_ms"),
            input_layer: s("input_layer"),
            input_layer_shape: s("input_layer_shape"),
            input_layer_value_range: s("input_layer_value_range"),
            input_layer_value_files: s("input_layer_value_files"),
            enable_op_profiling: p.bool("enable_op_profiling"),
            op_profiling_output_mode: s("op_profiling_output_mode"),
            op_profiling_output_file: s("op_profiling_output_file"),
            profiling_output_csv_file: s("profiling_output_csv_file"),
            print_preinvoke_state: p.bool("print_preinvoke_state"),
            print_postinvoke_state: p.bool("print_postinvoke_state"),
            output_filepath: s("output_filepath"),
            help: p.bool("help"),
            backend: s("backend"),
            explain: p.bool("explain"),
            policy: s("policy"),
            decision_cache: s("decision_cache"),
            isolation: s("isolation"),
            measure_ms: p.int("measure_ms"),
            measure_threads: p.bool("measure_threads"),
            precision: s("precision"),
            warm_init: p.bool("warm_init"),
            max_tensor_mb: p.int("max_tensor_mb"),
            cpu_affinity: s("cpu_affinity"),
            format: s("format"),
            result_file: s("result_file"),
            strict: p.bool("strict"),
        }
    }
}

/// A string flag, or `None` when empty (the tool's "not given").
pub fn given(text: &str) -> Option<&str> {
    Some(text).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_flag_reads_with_its_type_and_value() {
        let f = Flags::read(&Params::defaults());
        assert_eq!((f.num_runs, f.min_secs, f.num_threads), (50, 1.0, -1));
        assert_eq!(f.backend, "auto");
        let p = Params::parse(&args(&[
            "--num_runs=7",
            "--min_secs=0.25",
            "--explain=true",
            "--graph=m.onnx",
            "--measure_ms=0",
        ]))
        .unwrap();
        let f = Flags::read(&p);
        assert_eq!((f.num_runs, f.min_secs, f.explain), (7, 0.25, true));
        assert_eq!((f.graph.as_str(), f.measure_ms), ("m.onnx", 0));
        assert_eq!(given(&f.format), None);
        assert_eq!(given(&f.graph), Some("m.onnx"));
    }
}
