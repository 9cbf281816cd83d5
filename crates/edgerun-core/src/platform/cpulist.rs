//! CPU lists as Linux writes them (`0-3,6`), both ways.

/// Parse a Linux CPU list (`0-3,6`, `2`, empty) into sorted, distinct CPU numbers.
///
/// # Errors
/// A description of the first malformed entry.
pub fn parse(text: &str) -> Result<Vec<usize>, String> {
    // one flag per CPU Linux can address: memory stays bounded however many ranges repeat
    let mut present = vec![false; MAX_CPUS];
    for part in text.trim().split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let number = |s: &str| {
            let n = s
                .trim()
                .parse::<usize>()
                .map_err(|_| format!("{s:?} in {part:?} is not a CPU number"))?;
            if n >= MAX_CPUS {
                return Err(format!(
                    "CPU {n} is beyond the {MAX_CPUS} CPUs Linux can address"
                ));
            }
            Ok(n)
        };
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (number(lo)?, number(hi)?);
                if lo > hi {
                    return Err(format!("range {part:?} runs backwards"));
                }
                present[lo..=hi].fill(true);
            }
            None => present[number(part)?] = true,
        }
    }
    Ok((0..MAX_CPUS).filter(|&c| present[c]).collect())
}

/// The most CPUs a CPU set can hold (glibc's `CPU_SETSIZE`).
pub const MAX_CPUS: usize = 1024;

/// Write sorted CPU numbers the way Linux does: `0-3,6`; `(none)` for an empty list.
pub fn format(cpus: &[usize]) -> String {
    if cpus.is_empty() {
        return "(none)".into();
    }
    let mut sorted = cpus.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_linux_lists() {
        assert_eq!(parse("0-3,6").unwrap(), vec![0, 1, 2, 3, 6]);
        assert_eq!(parse(" 6, 0-1 ,1\n").unwrap(), vec![0, 1, 6]);
        assert_eq!(parse("").unwrap(), Vec::<usize>::new());
        assert_eq!(format(&[0, 1, 2, 3, 6]), "0-3,6");
        assert_eq!(format(&[4, 5, 7]), "4-5,7");
        assert_eq!(format(&[]), "(none)");
        for bad in ["x", "3-1", "1-", "0-99999", "5000"] {
            assert!(parse(bad).is_err(), "{bad} should be refused");
        }
        // a long list of whole ranges: one entry per CPU, not per mention
        let many = format!("0-{},", MAX_CPUS - 1).repeat(30_000);
        assert_eq!(parse(&many).unwrap().len(), MAX_CPUS);
    }
}
