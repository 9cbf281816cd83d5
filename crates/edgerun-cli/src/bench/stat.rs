//! benchmark_model's running statistic (`Stat<int64_t>`) and C++ stream number formatting, so
//! timing lines come out character for character as the real tool prints them.

/// Format a floating-point value as a default-configured C++ `std::ostream` does: `%g` with six
/// significant digits (`2.123`, `18213.6`, `1.23457e+06`, `0.0001`, `1e-05`, `inf`, `nan`).
pub fn cpp_double(x: f64) -> String {
    if x.is_nan() {
        return if x.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if x.is_infinite() {
        return if x < 0.0 { "-inf" } else { "inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    const P: i32 = 6;
    // the exponent after rounding to P significant digits decides between the two styles
    let sci = format!("{:.*e}", (P - 1) as usize, x);
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    if (-4..P).contains(&exp) {
        let decimals = usize::try_from(P - 1 - exp).unwrap_or(0);
        trim_zeros(format!("{x:.decimals$}"))
    } else {
        let mantissa = trim_zeros(mantissa.to_string());
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

fn trim_zeros(s: String) -> String {
    if !s.contains('.') {
        return s;
    }
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// A C++ `float` printed by a stream: rounded to single precision first, as the tool's float
/// parameters (`min_secs`, `max_secs`) are.
pub fn cpp_float(x: f32) -> String {
    cpp_double(f64::from(x))
}

/// benchmark_model's `Stat<int64_t>`: count, first, newest, min, max, mean and the standard
/// deviation truncated to an integer. All samples are kept too, for the median and percentiles
/// of edgerun's JSON/CSV results.
#[derive(Debug, Clone, Default)]
pub struct Stat {
    samples: Vec<i64>,
    sum: i64,
    squared_sum: f64,
    min: i64,
    max: i64,
}

impl Stat {
    pub fn new() -> Stat {
        Stat::default()
    }

    pub fn update(&mut self, v: i64) {
        if self.samples.is_empty() {
            self.min = v;
            self.max = v;
        }
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        self.sum += v;
        self.squared_sum += (v as f64) * (v as f64);
        self.samples.push(v);
    }

    pub fn count(&self) -> usize {
        self.samples.len()
    }

    pub fn samples(&self) -> &[i64] {
        &self.samples
    }

    pub fn first(&self) -> i64 {
        self.samples.first().copied().unwrap_or(0)
    }

    pub fn newest(&self) -> i64 {
        self.samples.last().copied().unwrap_or(0)
    }

    pub fn min(&self) -> i64 {
        self.min
    }

    pub fn max(&self) -> i64 {
        self.max
    }

    pub fn sum(&self) -> i64 {
        self.sum
    }

    /// The mean; 0 without samples (the tool's `quiet_NaN()` of an integer type is 0).
    pub fn avg(&self) -> f64 {
        if self.samples.is_empty() {
            0.0
        } else {
            self.sum as f64 / self.samples.len() as f64
        }
    }

    pub fn all_same(&self) -> bool {
        self.samples.is_empty() || self.min == self.max
    }

    /// Population standard deviation as the tool computes it: the variance truncated to an
    /// integer, then its square root truncated again.
    pub fn std_deviation(&self) -> i64 {
        if self.all_same() {
            return 0;
        }
        let n = self.samples.len() as f64;
        let avg = self.avg();
        let variance = (self.squared_sum / n - avg * avg) as i64;
        (variance.max(0) as f64).sqrt() as i64
    }

    /// `StatWithPercentiles::percentile`: the sample of rank `floor(n * p / 100)` in sorted
    /// order (the upper median for an even count); 0 without samples.
    pub fn percentile(&self, p: u32) -> i64 {
        if self.samples.is_empty() || p > 100 {
            return 0;
        }
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let n = sorted.len();
        if p == 100 {
            return sorted[n - 1];
        }
        sorted[n * p as usize / 100]
    }

    /// The `q`-quantile (0..=1) by linear interpolation between the sorted samples, for the
    /// JSON/CSV results.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.samples.is_empty() {
            return None;
        }
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        let frac = pos - lo as f64;
        Some(sorted[lo] as f64 + (sorted[hi] - sorted[lo]) as f64 * frac)
    }

    /// The line `Stat::OutputToStream` writes (the profiler's summary lines).
    pub fn line(&self) -> String {
        let n = self.samples.len();
        if n == 0 {
            "count=0".into()
        } else if self.all_same() {
            let same = if n > 1 { "(all same)" } else { "" };
            format!("count={n} curr={}{same}", self.newest())
        } else {
            format!(
                "count={n} first={} curr={} min={} max={} avg={} std={}",
                self.first(),
                self.newest(),
                self.min,
                self.max,
                cpp_double(self.avg()),
                self.std_deviation()
            )
        }
    }

    /// The line `StatWithPercentiles::OutputToStream` writes (the run loops' lines).
    pub fn line_with_percentiles(&self) -> String {
        format!(
            "{} p5={} median={} p95={}",
            self.line(),
            self.percentile(5),
            self.percentile(50),
            self.percentile(95)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_a_cpp_stream_prints_them() {
        let cases = [
            (2.123, "2.123"),
            (18213.6, "18213.6"),
            (18213.64, "18213.6"),
            (13.9, "13.9"),
            (1.0, "1"),
            (150.0, "150"),
            (0.5, "0.5"),
            (100000.0, "100000"),
            (1234567.0, "1.23457e+06"),
            (999999.5, "1e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.000123456789, "0.000123457"),
            (-3.25, "-3.25"),
            (0.0, "0"),
            (1e300, "1e+300"),
        ];
        for (x, want) in cases {
            assert_eq!(cpp_double(x), want, "{x}");
        }
        assert_eq!(cpp_float(0.1), "0.1");
        assert_eq!(cpp_float(-1.0), "-1");
    }

    #[test]
    fn stat_lines_match_the_tool() {
        let mut s = Stat::new();
        assert_eq!(s.line(), "count=0");
        assert_eq!(s.line_with_percentiles(), "count=0 p5=0 median=0 p95=0");
        s.update(1690);
        assert_eq!(
            s.line_with_percentiles(),
            "count=1 curr=1690 p5=1690 median=1690 p95=1690"
        );
        let mut s = Stat::new();
        s.update(77);
        s.update(77);
        assert_eq!(
            s.line_with_percentiles(),
            "count=2 curr=77(all same) p5=77 median=77 p95=77"
        );
        // variance 999220157600 (truncated), its root 999610.0 truncated
        let mut s = Stat::new();
        for v in [1000, 1100, 900, 2_500_000, 900] {
            s.update(v);
        }
        assert_eq!(
            s.line_with_percentiles(),
            "count=5 first=1000 curr=900 min=900 max=2500000 avg=500780 std=999610 p5=900 median=1000 p95=2500000"
        );
        assert_eq!(s.quantile(0.5), Some(1000.0));
        assert_eq!(s.quantile(0.0), Some(900.0));
        assert_eq!(s.quantile(1.0), Some(2_500_000.0));
        // even count: the upper median
        let mut s = Stat::new();
        for v in [4, 1, 3, 2] {
            s.update(v);
        }
        assert_eq!(s.percentile(50), 3);
        assert_eq!(s.quantile(0.5), Some(2.5));
    }
}
