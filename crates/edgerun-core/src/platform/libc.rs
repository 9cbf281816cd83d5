//! Which C library this process, or a captured device's, runs on.

use std::path::{Path, PathBuf};

/// The C library named in a process's memory map (`/proc/self/maps`), and its file.
pub(super) fn libc_from_maps(maps: &str) -> (Option<String>, Option<PathBuf>) {
    for line in maps.lines() {
        let Some(path) = line.split_whitespace().nth(5) else {
            continue;
        };
        let file = Path::new(path)
            .file_name()
            .and_then(|f| f.to_str())
            .unwrap_or("");
        if file.starts_with("ld-musl") || file.starts_with("libc.musl") {
            return (Some("musl".into()), Some(path.into()));
        }
        if let Some(v) = file
            .strip_prefix("libc-")
            .and_then(|v| v.strip_suffix(".so"))
        {
            return (Some(format!("glibc {v}")), Some(path.into()));
        }
        if file == "libc.so.6" {
            return (Some("glibc".into()), Some(path.into()));
        }
    }
    (None, None)
}

/// glibc's version from its own banner (`... release version 2.36.`) inside the library.
fn glibc_version_in(bytes: &[u8]) -> Option<String> {
    let needle = b"release version ";
    let at = bytes.windows(needle.len()).position(|w| w == needle)? + needle.len();
    let v: String = bytes[at..]
        .iter()
        .take(16)
        .map(|&b| b as char)
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    let v = v.trim_end_matches('.').to_string();
    (!v.is_empty()).then_some(v)
}

pub(super) fn live_libc() -> Option<String> {
    if cfg!(target_env = "musl") {
        return Some("musl (statically linked)".into());
    }
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let (name, path) = libc_from_maps(&maps);
    match (name.as_deref(), path) {
        (Some("glibc"), Some(path)) => {
            let bytes = std::fs::read(&path).ok().filter(|b| b.len() < 64 << 20);
            Some(match bytes.as_deref().and_then(glibc_version_in) {
                Some(v) => format!("glibc {v}"),
                None => "glibc".into(),
            })
        }
        (Some(n), _) => Some(n.to_string()),
        (None, _) if cfg!(target_env = "gnu") => Some("glibc".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libc_from_maps() {
        let maps = "7f0 r-xp 00000000 08:01 123 /usr/lib/aarch64-linux-gnu/libc-2.31.so\n";
        assert_eq!(libc_from_maps(maps).0.as_deref(), Some("glibc 2.31"));
        let maps = "7f0 r-xp 00000000 08:01 123 /lib/ld-musl-aarch64.so.1\n";
        assert_eq!(libc_from_maps(maps).0.as_deref(), Some("musl"));
        assert_eq!(
            glibc_version_in(
                b"xx GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36.\n"
            ),
            Some("2.36".into())
        );
    }
}
