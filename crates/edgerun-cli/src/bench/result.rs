//! `--format=json|csv`: the benchmark's results with what they were measured on — backend and
//! library versions, threads and CPUs, and the `edgerun info` device record. The JSON schema is
//! documented in crates/edgerun-cli/BENCH.md.

use std::collections::BTreeMap;

use edgerun::{Model, Report, Runtime};
use serde::Serialize;

use super::options::Flags;
use super::stat::Stat;
use super::Measured;

/// Names and versions the JSON form.
pub const SCHEMA: &str = "edgerun-bench/1";

/// Latency statistics in microseconds.
#[derive(Debug, Serialize)]
pub struct Latency {
    pub count: usize,
    pub avg_us: f64,
    pub min_us: Option<i64>,
    pub max_us: Option<i64>,
    pub std_us: i64,
    pub median_us: Option<f64>,
    pub p5_us: Option<f64>,
    pub p95_us: Option<f64>,
    /// Every run, in order.
    pub samples_us: Vec<i64>,
}

impl Latency {
    fn of(s: &Stat) -> Latency {
        let some = s.count() > 0;
        Latency {
            count: s.count(),
            avg_us: s.avg(),
            min_us: some.then(|| s.min()),
            max_us: some.then(|| s.max()),
            std_us: s.std_deviation(),
            median_us: s.quantile(0.5),
            p5_us: s.quantile(0.05),
            p95_us: s.quantile(0.95),
            samples_us: s.samples().to_vec(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Memory {
    /// Growth of the peak resident set during init, MiB.
    pub init_mb: Option<f64>,
    /// Growth of the peak resident set from the start to the end of the runs, MiB.
    pub overall_mb: Option<f64>,
    /// Peak footprint sampled by --report_peak_memory_footprint, MiB.
    pub peak_mb: Option<f64>,
}

/// The dispatcher's choice, in short (`--explain` prints it whole).
#[derive(Debug, Serialize)]
pub struct Choice {
    /// The backend's name, or the variant's label.
    pub chosen: String,
    /// `explicit`, `policy`, `cache`, `measured`, `only` or `order`.
    pub source: &'static str,
    /// Time spent preparing the candidates and measuring them at load, µs (0 without).
    pub measuring_us: i64,
}

/// One benchmark's results.
#[derive(Debug, Serialize)]
pub struct Record {
    pub schema: &'static str,
    pub benchmark_name: String,
    pub output_prefix: String,
    pub graph: String,
    pub model_format: String,
    pub model_size_mb: Option<f64>,
    pub backend: &'static str,
    pub backend_version: Option<String>,
    pub backend_library: Option<String>,
    pub threads: usize,
    /// CPUs inference threads were pinned to, as a Linux CPU list; `null` when not pinned.
    pub affinity: Option<String>,
    pub placement: String,
    pub notes: Vec<String>,
    /// How the backend was chosen.
    pub choice: Choice,
    pub init_us: i64,
    /// A second load in the same process (`--warm_init`); `null` without it.
    pub init_warm_us: Option<i64>,
    pub first_inference_us: i64,
    pub warmup: Latency,
    pub inference: Latency,
    pub memory: Memory,
    /// Flags given on the command line, as benchmark_model logs them.
    pub flags: BTreeMap<String, String>,
    /// The `edgerun info --json` record of this device and build.
    pub device: Report,
}

impl Record {
    pub fn new(
        p: &Flags,
        flags: BTreeMap<String, String>,
        rt: &Runtime,
        model: &Model,
        m: &Measured,
    ) -> Record {
        let backend = rt.backends().iter().find(|b| b.name() == model.backend());
        let placement = model.placement();
        Record {
            schema: SCHEMA,
            benchmark_name: p.benchmark_name.clone(),
            output_prefix: p.output_prefix.clone(),
            graph: p.graph.clone(),
            model_format: model.format().to_string(),
            model_size_mb: m.model_size_mb,
            backend: model.backend(),
            backend_version: backend.and_then(|b| b.version()),
            backend_library: backend
                .and_then(|b| b.found_library())
                .map(|l| l.path.display().to_string()),
            threads: placement.threads,
            affinity: placement
                .affinity
                .as_deref()
                .map(edgerun::platform::cpulist::format),
            placement: placement.why.clone(),
            notes: model.notes(),
            choice: {
                let d = model.decision();
                Choice {
                    chosen: d.chosen.clone(),
                    source: match d.source {
                        edgerun::Source::Explicit => "explicit",
                        edgerun::Source::Policy(_) => "policy",
                        edgerun::Source::Cache => "cache",
                        edgerun::Source::Measured => "measured",
                        edgerun::Source::Only => "only",
                        edgerun::Source::Order => "order",
                    },
                    measuring_us: i64::try_from(d.measuring.as_micros()).unwrap_or(i64::MAX),
                }
            },
            init_us: m.init_us,
            init_warm_us: m.init_warm_us,
            first_inference_us: m.warmup.first(),
            warmup: Latency::of(&m.warmup),
            inference: Latency::of(&m.inference),
            memory: Memory {
                init_mb: m.init_mem_kb.map(|kb| kb as f64 / 1024.0),
                overall_mb: m.overall_mem_kb.map(|kb| kb as f64 / 1024.0),
                peak_mb: m.peak_mem_mb,
            },
            flags,
            device: rt.report(),
        }
    }

    /// The JSON object, pretty-printed, with a final newline.
    ///
    /// # Errors
    /// Never in practice (serialising plain data).
    pub fn json(&self) -> serde_json::Result<String> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }

    /// A header line and one row (the columns of [`CSV_COLUMNS`]).
    pub fn csv(&self) -> String {
        let num = |x: f64| {
            let s = format!("{x:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        };
        let opt = |v: Option<f64>| v.map(num).unwrap_or_default();
        let row = [
            self.benchmark_name.clone(),
            self.graph.clone(),
            self.backend.to_string(),
            self.backend_version.clone().unwrap_or_default(),
            self.threads.to_string(),
            self.affinity.clone().unwrap_or_default(),
            self.inference.count.to_string(),
            num(self.inference.avg_us),
            self.inference
                .min_us
                .map(|v| v.to_string())
                .unwrap_or_default(),
            self.inference
                .max_us
                .map(|v| v.to_string())
                .unwrap_or_default(),
            self.inference.std_us.to_string(),
            opt(self.inference.median_us),
            opt(self.inference.p5_us),
            opt(self.inference.p95_us),
            self.init_us.to_string(),
            self.first_inference_us.to_string(),
            num(self.warmup.avg_us),
            opt(self.memory.init_mb),
            opt(self.memory.overall_mb),
            opt(self.memory.peak_mb),
            self.device.edgerun.version.to_string(),
            self.device.device.signature.clone(),
            self.device.device.signature_hash.clone(),
        ];
        let quoted: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        format!("{}\n{}\n", CSV_COLUMNS.join(","), quoted.join(","))
    }
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "benchmark_name",
    "graph",
    "backend",
    "backend_version",
    "threads",
    "affinity",
    "count",
    "avg_us",
    "min_us",
    "max_us",
    "std_us",
    "median_us",
    "p5_us",
    "p95_us",
    "init_us",
    "first_inference_us",
    "warmup_avg_us",
    "memory_init_mb",
    "memory_overall_mb",
    "memory_peak_mb",
    "edgerun_version",
    "device_signature",
    "device_signature_hash",
];

/// RFC 4180 quoting when a field needs it.
fn csv_field(f: &str) -> String {
    if f.contains([',', '"', '\n']) {
        format!("\"{}\"", f.replace('"', "\"\""))
    } else {
        f.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("0-3,6"), "\"0-3,6\"");
        assert_eq!(csv_field("a\"b"), "\"a\"\"b\"");
        assert_eq!(csv_field("plain"), "plain");
    }
}
