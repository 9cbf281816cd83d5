//! The CPU features that decide which kernels a backend can use, under stable names.
//!
//! On aarch64 they come from the kernel's hardware capabilities (`AT_HWCAP`, `AT_HWCAP2` of the
//! auxiliary vector, read from `/proc/self/auxv`) and from the `Features` line of
//! `/proc/cpuinfo`; on x86_64 from its `flags` line.

/// `AT_HWCAP` and `AT_HWCAP2` of the auxiliary vector.
const AT_HWCAP: u64 = 16;
const AT_HWCAP2: u64 = 26;

/// aarch64 features edgerun reports: (its name, the cpuinfo name, HWCAP word 1 or 2, bit).
const AARCH64: &[(&str, &str, u8, u32)] = &[
    ("neon", "asimd", 1, 1),
    ("fp16", "asimdhp", 1, 10),
    ("dotprod", "asimddp", 1, 20),
    ("fhm", "asimdfhm", 1, 23),
    ("sve", "sve", 1, 22),
    ("sve2", "sve2", 2, 1),
    ("i8mm", "i8mm", 2, 13),
    ("bf16", "bf16", 2, 14),
    ("sme", "sme", 2, 23),
];

/// 32-bit Arm: (edgerun's name, the cpuinfo name).
const ARM32: &[(&str, &str)] = &[
    ("neon", "neon"),
    ("vfpv4", "vfpv4"),
    ("fp16", "asimdhp"),
    ("dotprod", "asimddp"),
];

/// x86_64 features that matter to kernels: (edgerun's name, the cpuinfo name).
const X86_64: &[(&str, &str)] = &[
    ("sse4.1", "sse4_1"),
    ("avx", "avx"),
    ("avx2", "avx2"),
    ("fma", "fma"),
    ("f16c", "f16c"),
    ("avx512f", "avx512f"),
    ("avx512vnni", "avx512_vnni"),
    ("avx512bf16", "avx512_bf16"),
    ("avxvnni", "avx_vnni"),
    ("amx", "amx_tile"),
];

/// `AT_HWCAP` and `AT_HWCAP2` from the bytes of `/proc/self/auxv` (pairs of native words).
pub fn hwcaps_from_auxv(bytes: &[u8], word: usize) -> Option<(u64, u64)> {
    if word != 4 && word != 8 {
        return None;
    }
    let read = |chunk: &[u8]| -> u64 {
        let mut b = [0u8; 8];
        b[..word].copy_from_slice(chunk);
        u64::from_le_bytes(b)
    };
    let (mut hwcap, mut hwcap2) = (None, None);
    for pair in bytes.chunks_exact(2 * word) {
        let (key, value) = (read(&pair[..word]), read(&pair[word..]));
        match key {
            0 => break,
            AT_HWCAP => hwcap = Some(value),
            AT_HWCAP2 => hwcap2 = Some(value),
            _ => {}
        }
    }
    hwcap.map(|h| (h, hwcap2.unwrap_or(0)))
}

/// aarch64 features set in `AT_HWCAP`/`AT_HWCAP2`.
pub fn aarch64_from_hwcaps(hwcap: u64, hwcap2: u64) -> Vec<&'static str> {
    AARCH64
        .iter()
        .filter(|(_, _, word, bit)| {
            let w = if *word == 1 { hwcap } else { hwcap2 };
            w & (1u64 << bit) != 0
        })
        .map(|(name, ..)| *name)
        .collect()
}

/// Features named in a cpuinfo `Features`/`flags` line, for the given architecture.
pub fn from_cpuinfo_flags(arch: &str, flags: &[String]) -> Vec<&'static str> {
    let has = |f: &str| flags.iter().any(|x| x == f);
    match arch {
        "aarch64" => AARCH64
            .iter()
            .filter(|(_, cpuinfo, ..)| has(cpuinfo))
            .map(|(n, ..)| *n)
            .collect(),
        "arm" => ARM32
            .iter()
            .filter(|(_, c)| has(c))
            .map(|(n, _)| *n)
            .collect(),
        "x86_64" | "x86" => X86_64
            .iter()
            .filter(|(_, c)| has(c))
            .map(|(n, _)| *n)
            .collect(),
        _ => Vec::new(),
    }
}

/// Every name edgerun may report for an architecture, in a fixed order (for sorting).
pub fn known(arch: &str) -> Vec<&'static str> {
    match arch {
        "aarch64" => AARCH64.iter().map(|(n, ..)| *n).collect(),
        "arm" => ARM32.iter().map(|(n, _)| *n).collect(),
        _ => X86_64.iter().map(|(n, _)| *n).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auxv(pairs: &[(u64, u64)]) -> Vec<u8> {
        pairs
            .iter()
            .flat_map(|(k, v)| k.to_le_bytes().into_iter().chain(v.to_le_bytes()))
            .collect()
    }

    #[test]
    fn decodes_hwcaps_from_the_auxiliary_vector() {
        // HWCAP: fp asimd ... asimdhp (10), asimddp (20); HWCAP2: i8mm (13), bf16 (14)
        let bytes = auxv(&[
            (6, 4096),
            (AT_HWCAP, 0b11 | 1 << 10 | 1 << 20),
            (AT_HWCAP2, 1 << 13 | 1 << 14),
            (0, 0),
            (AT_HWCAP, 0),
        ]);
        let (h1, h2) = hwcaps_from_auxv(&bytes, 8).unwrap();
        assert_eq!(
            aarch64_from_hwcaps(h1, h2),
            vec!["neon", "fp16", "dotprod", "i8mm", "bf16"]
        );
        assert_eq!(hwcaps_from_auxv(&auxv(&[(6, 4096), (0, 0)]), 8), None);
        assert_eq!(hwcaps_from_auxv(&[1, 2, 3], 8), None);
    }

    #[test]
    fn maps_cpuinfo_flags() {
        let flags: Vec<String> = "fp asimd evtstrm aes asimdhp asimddp"
            .split(' ')
            .map(String::from)
            .collect();
        assert_eq!(
            from_cpuinfo_flags("aarch64", &flags),
            vec!["neon", "fp16", "dotprod"]
        );
        let x86: Vec<String> = "sse4_1 avx avx2 fma avx512_vnni"
            .split(' ')
            .map(String::from)
            .collect();
        assert_eq!(
            from_cpuinfo_flags("x86_64", &x86),
            vec!["sse4.1", "avx", "avx2", "fma", "avx512vnni"]
        );
    }
}
