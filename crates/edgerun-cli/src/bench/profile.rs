//! Op profiling in benchmark_model's shape: per-operator timings of the regular runs summed up
//! as its `StatsCalculator` does, printed as the `Run Order`, `Top by Computation Time` and
//! `Summary by node type` tables (or their CSV form) with the short summary after them.

use std::collections::BTreeMap;

use edgerun::OpTiming;

use super::stat::{cpp_double, Stat};

const NODE_TYPE_WIDTH: usize = 40;
/// Rows of "Top by Computation Time".
const TIME_LIMIT: usize = 10;

#[derive(Debug, Clone)]
struct Detail {
    name: String,
    op_type: String,
    run_order: usize,
    elapsed: Stat,
    times_called: i64,
}

/// Collects the timings of every profiled run.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    details: BTreeMap<String, Detail>,
    run_total_us: Stat,
}

impl Profile {
    pub fn new() -> Profile {
        Profile::default()
    }

    /// Add one run's timings.
    pub fn add_run(&mut self, timings: &[OpTiming]) {
        let mut total = 0i64;
        for t in timings {
            // the tool's node name: output tensor names in brackets, then the node index
            let name = format!("[{}]:{}", t.name, t.index);
            let micros = i64::try_from(t.micros).unwrap_or(i64::MAX);
            total = total.saturating_add(micros);
            let next_order = self.details.len();
            let d = self.details.entry(name.clone()).or_insert_with(|| Detail {
                name,
                op_type: t.op_type.clone(),
                run_order: next_order,
                elapsed: Stat::new(),
                times_called: 0,
            });
            d.elapsed.update(micros);
            d.times_called += 1;
        }
        self.run_total_us.update(total);
    }

    fn num_runs(&self) -> i64 {
        self.run_total_us.count().max(1) as i64
    }

    /// The text the tool prints after `Operator-wise Profiling Info for Regular Benchmark
    /// Runs:` (tables, then the short summary).
    pub fn report(&self, csv: bool) -> String {
        let mut s = String::new();
        s.push_str(&self.by_metric("Run Order", csv, false));
        s.push_str(&self.by_metric("Top by Computation Time", csv, true));
        s.push_str(&self.by_node_type(csv));
        s.push_str(&format!(
            "Timings (microseconds): {}\nMemory (bytes): count=0\n{} nodes observed\n\n",
            self.run_total_us.line(),
            self.details.len()
        ));
        s
    }

    fn ordered(&self, by_time: bool) -> Vec<&Detail> {
        let mut v: Vec<&Detail> = self.details.values().collect();
        if by_time {
            // descending average, ties by name descending (the tool's priority queue of
            // (formatted value, detail))
            v.sort_by(|a, b| {
                b.elapsed
                    .avg()
                    .total_cmp(&a.elapsed.avg())
                    .then_with(|| b.name.cmp(&a.name))
            });
        } else {
            v.sort_by_key(|d| d.run_order);
        }
        v
    }

    fn header(title: &str, csv: bool) -> String {
        let mut s =
            format!("============================== {title} ==============================\n");
        if csv {
            s.push_str("node type, first, avg_ms, %, cdf%, mem KB, times called, name");
        } else {
            s.push_str(&format!(
                "\t{:>w$}\t{:>9}\t{:>9}\t{:>8}\t{:>8}\t{:>10}\t{:>9}\t[Name]",
                "[node type]",
                "[first]",
                "[avg ms]",
                "[%]",
                "[cdf%]",
                "[mem KB]",
                "[times called]",
                w = NODE_TYPE_WIDTH
            ));
        }
        s
    }

    fn by_metric(&self, title: &str, csv: bool, by_time: bool) -> String {
        let mut s = Self::header(title, csv);
        s.push('\n');
        let total = self.run_total_us.sum().max(1) as f64;
        let mut cumulative = 0.0f64;
        let limit = if by_time { TIME_LIMIT } else { usize::MAX };
        for d in self.ordered(by_time).into_iter().take(limit) {
            cumulative += d.elapsed.sum() as f64;
            let first_ms = d.elapsed.first() as f64 / 1000.0;
            let avg_ms = d.elapsed.avg() / 1000.0;
            let pct = d.elapsed.sum() as f64 * 100.0 / total;
            // the tool computes this one in float: int64 * 100.0f / int64
            let cdf = f64::from(cumulative as f32 * 100.0 / total as f32);
            let times = d.times_called / self.num_runs();
            if csv {
                s.push_str(&format!(
                    "{}, {}, {}, {}%, {}%, 0, {times}, {}\n",
                    d.op_type,
                    cpp_double(first_ms),
                    cpp_double(avg_ms),
                    cpp_double(pct),
                    cpp_double(cdf),
                    d.name.replace(',', "\t")
                ));
            } else {
                s.push_str(&format!(
                    "\t{:>w$}\t{first_ms:>9.3}\t{avg_ms:>9.3}\t{pct:>7.3}%\t{cdf:>7.3}%\t{:>10.3}\t{times:>9}\t{}\n",
                    d.op_type,
                    0.0,
                    d.name,
                    w = NODE_TYPE_WIDTH
                ));
            }
        }
        s.push('\n');
        s
    }

    fn by_node_type(&self, csv: bool) -> String {
        let runs = self.num_runs();
        let mut time: BTreeMap<&str, i64> = BTreeMap::new();
        let mut count: BTreeMap<&str, i64> = BTreeMap::new();
        let mut called: BTreeMap<&str, i64> = BTreeMap::new();
        let mut accumulated = 0i64;
        for d in self.details.values() {
            let t = d.elapsed.sum() / runs;
            accumulated += t;
            *time.entry(&d.op_type).or_default() += t;
            *count.entry(&d.op_type).or_default() += 1;
            *called.entry(&d.op_type).or_default() += d.times_called / runs;
        }
        let mut s = format!(
            "Number of nodes executed: {}\n============================== Summary by node type ==============================\n",
            self.details.len()
        );
        if csv {
            s.push_str("node type, count, avg_ms, avg %, cdf %, mem KB, times called\n");
        } else {
            s.push_str(&format!(
                "\t{:>w$}\t{:>9}\t{:>10}\t{:>11}\t{:>11}\t{:>10}\t{:>10}\n",
                "[Node type]",
                "[count]",
                "[avg ms]",
                "[avg %]",
                "[cdf %]",
                "[mem KB]",
                "[times called]",
                w = NODE_TYPE_WIDTH
            ));
        }
        let mut rows: Vec<(&str, i64)> = time.iter().map(|(k, v)| (*k, *v)).collect();
        // descending time, ties by type name descending
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.cmp(a.0)));
        let mut cdf = 0.0f32;
        for (op_type, total_us) in rows {
            let ms = total_us as f32 / 1000.0;
            let pct = total_us as f32 / accumulated.max(1) as f32 * 100.0;
            cdf += pct;
            if csv {
                s.push_str(&format!(
                    "{op_type}, {}, {}, {}%, {}%, 0, {}\n",
                    count[op_type],
                    cpp_double(f64::from(ms)),
                    cpp_double(f64::from(pct)),
                    cpp_double(f64::from(cdf)),
                    called[op_type]
                ));
            } else {
                s.push_str(&format!(
                    "\t{op_type:>w$}\t{:>9}\t{ms:>10.3}\t{pct:>10.3}%\t{cdf:>10.3}%\t{:>10.3}\t{:>9}\n",
                    count[op_type],
                    0.0,
                    called[op_type],
                    w = NODE_TYPE_WIDTH
                ));
            }
        }
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(index: usize, name: &str, op_type: &str, micros: u64) -> OpTiming {
        OpTiming {
            index,
            name: name.into(),
            op_type: op_type.into(),
            micros,
        }
    }

    fn three_runs() -> Profile {
        let mut p = Profile::new();
        for (a, b, c) in [(1500, 300, 20), (1450, 310, 19), (1400, 320, 18)] {
            p.add_run(&[
                t(0, "conv1", "CONV_2D", a),
                t(1, "dw, x", "DEPTHWISE_CONV_2D", b),
                t(2, "Identity", "SOFTMAX", c),
            ]);
        }
        p
    }

    #[test]
    fn tables_have_the_tools_columns_and_numbers() {
        let r = three_runs().report(false);
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(
            lines[0],
            "============================== Run Order =============================="
        );
        assert_eq!(
            lines[1],
            "\t                             [node type]\t  [first]\t [avg ms]\t     [%]\t  [cdf%]\t  [mem KB]\t[times called]\t[Name]"
        );
        // 4350 of 5337 us in the convolution: 81.506%
        assert_eq!(
            lines[2],
            "\t                                 CONV_2D\t    1.500\t    1.450\t 81.506%\t 81.506%\t     0.000\t        1\t[conv1]:0"
        );
        assert_eq!(
            lines[4],
            "\t                                 SOFTMAX\t    0.020\t    0.019\t  1.068%\t100.000%\t     0.000\t        1\t[Identity]:2"
        );
        assert_eq!(lines[5], "");
        assert_eq!(
            lines[6],
            "============================== Top by Computation Time =============================="
        );
        assert!(lines[8].contains("CONV_2D") && lines[10].contains("SOFTMAX"));
        assert_eq!(lines[12], "Number of nodes executed: 3");
        assert_eq!(
            lines[13],
            "============================== Summary by node type =============================="
        );
        assert_eq!(
            lines[14],
            "\t                             [Node type]\t  [count]\t  [avg ms]\t    [avg %]\t    [cdf %]\t  [mem KB]\t[times called]"
        );
        assert_eq!(
            lines[15],
            "\t                                 CONV_2D\t        1\t     1.450\t    81.506%\t    81.506%\t     0.000\t        1"
        );
        assert!(r.contains(
            "\nTimings (microseconds): count=3 first=1820 curr=1738 min=1738 max=1820 avg=1779 std=33\nMemory (bytes): count=0\n3 nodes observed\n"
        ), "{r}");
    }

    #[test]
    fn csv_mode_uses_commas_and_default_number_format() {
        let r = three_runs().report(true);
        assert!(r.contains("node type, first, avg_ms, %, cdf%, mem KB, times called, name\nCONV_2D, 1.5, 1.45, 81.5065%, 81.5065%, 0, 1, [conv1]:0\n"), "{r}");
        assert!(
            r.contains("DEPTHWISE_CONV_2D, 0.3, 0.31, 17.4255%, 98.932%, 0, 1, [dw\t x]:1"),
            "{r}"
        );
        assert!(
            r.contains(
                "node type, count, avg_ms, avg %, cdf %, mem KB, times called\nCONV_2D, 1, 1.45, "
            ),
            "{r}"
        );
    }

    #[test]
    fn top_by_time_keeps_ten_rows() {
        let mut p = Profile::new();
        let run: Vec<OpTiming> = (0..15)
            .map(|i| t(i, &format!("n{i}"), "ADD", i as u64 + 1))
            .collect();
        p.add_run(&run);
        let r = p.report(false);
        let top = r.split("Top by Computation Time").nth(1).unwrap();
        let rows = top
            .split("\n\n")
            .next()
            .unwrap()
            .lines()
            .filter(|l| l.contains("ADD"))
            .count();
        assert_eq!(rows, 10);
        // slowest first
        assert!(top.lines().nth(2).unwrap().ends_with("[n14]:14"));
    }
}
