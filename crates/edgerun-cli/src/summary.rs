//! One-paragraph summaries of output tensors.

use edgerun::Tensor;

const FIRST: usize = 8;

/// `NAME dtype [shape]: first values, min/max/mean`, plus the top 5 for a vector of scores.
pub fn describe(name: &str, t: &Tensor) -> String {
    let values = t.to_f32_vec();
    let shape = t
        .shape()
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut out = format!("output {name:?} {} [{shape}]", t.dtype());
    if let Some(q) = t.quant() {
        out.push_str(&format!(" ({q})"));
    }
    if values.is_empty() {
        out.push_str(": empty");
        return out;
    }
    let first: Vec<String> = values
        .iter()
        .take(FIRST)
        .map(|v| format!("{v:.6}"))
        .collect();
    let more = if values.len() > FIRST { ", ..." } else { "" };
    let (min, max) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
    out.push_str(&format!(
        ": [{}{more}] min {min:.6} max {max:.6} mean {mean:.6}",
        first.join(", ")
    ));
    if is_score_vector(t) {
        out.push_str(&format!("\n  top-5: {}", top_k(&values, 5)));
    }
    out
}

/// A vector of scores: one dimension of 2 or more, every other dimension 1.
fn is_score_vector(t: &Tensor) -> bool {
    let big: Vec<_> = t.shape().iter().filter(|&&d| d != 1).collect();
    big.len() == 1 && *big[0] >= 2
}

fn top_k(values: &[f32], k: usize) -> String {
    let mut ix: Vec<usize> = (0..values.len()).collect();
    ix.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    ix.iter()
        .take(k)
        .map(|&i| format!("{i} ({:.6})", values[i]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A file name for an output: characters other than letters, digits, `-`, `_` and `.` become `_`.
pub fn file_stem(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("output{s}")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top5_of_a_score_vector() {
        let t = Tensor::from_vec(vec![1, 6], vec![0.1f32, 0.9, 0.3, 0.9, -1.0, 0.5]).unwrap();
        let s = describe("prob", &t);
        assert!(
            s.contains(
                "top-5: 1 (0.900000), 3 (0.900000), 5 (0.500000), 2 (0.300000), 0 (0.100000)"
            ),
            "{s}"
        );
        let map = Tensor::from_vec(vec![2, 3], vec![0.0f32; 6]).unwrap();
        assert!(!describe("map", &map).contains("top-5"));
    }

    #[test]
    fn file_stems_are_safe() {
        assert_eq!(
            file_stem("save_infer_model/scale_0.tmp_1"),
            "save_infer_model_scale_0.tmp_1"
        );
        assert_eq!(file_stem("../x"), "output.._x");
        assert_eq!(file_stem(""), "output");
    }
}
