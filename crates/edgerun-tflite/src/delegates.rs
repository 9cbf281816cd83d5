//! External delegate plugins: their options, where `edgerun info` looks for them, and whether
//! one can be loaded here.

use std::path::{Path, PathBuf};

use edgerun_core::library::check_elf;
use edgerun_core::{DelegateReport, Error, Result};

use crate::{errors::plugin_error, sys};

/// An external delegate plugin and its options, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalDelegate {
    pub path: PathBuf,
    pub options: Vec<(String, String)>,
}

/// Parse delegate options in benchmark_model's syntax: `key1:value1;key2:value2`. Order is
/// kept; an empty string gives no options.
///
/// # Errors
/// [`Error::InvalidOption`] for an entry without `:` or with an empty key.
pub fn parse_delegate_options(text: &str) -> Result<Vec<(String, String)>> {
    text.split(';')
        .filter(|s| !s.trim().is_empty())
        .map(|entry| match entry.split_once(':') {
            Some((k, v)) if !k.trim().is_empty() => {
                Ok((k.trim().to_string(), v.trim().to_string()))
            }
            _ => Err(Error::InvalidOption {
                option: "external delegate options".into(),
                reason: format!(
                    "{entry:?} is not key:value; write them as key1:value1;key2:value2"
                ),
            }),
        })
        .collect()
}

/// Delegate plugins `edgerun info` looks for: the Arm NN delegate, Arm's Ethos-U delegate,
/// NXP's VX delegate (i.MX 8 NPU), Qualcomm's QNN delegate.
pub const KNOWN_DELEGATES: &[&str] = &[
    "libarmnnDelegate.so",
    "libethosu_delegate.so",
    "libvx_delegate.so",
    "libQnnTFLiteDelegate.so",
];

/// Directories searched for [`KNOWN_DELEGATES`], after `LD_LIBRARY_PATH` and the directory of
/// the TFLite library in use.
pub const DELEGATE_DIRS: &[&str] = &[
    "/opt/tflite",
    "/usr/local/lib",
    "/usr/lib",
    "/usr/lib/aarch64-linux-gnu",
    "/usr/lib/arm-linux-gnueabihf",
    "/usr/lib/x86_64-linux-gnu",
];

/// The configured plugin, then known plugins found in the usual directories.
pub(crate) fn find(configured: Option<&Path>, library: Option<PathBuf>) -> Vec<DelegateReport> {
    let mut reports = Vec::new();
    if let Some(path) = configured {
        reports.push(check_plugin(path, true));
    }
    let mut dirs: Vec<PathBuf> = std::env::var("LD_LIBRARY_PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect();
    if let Some(dir) = library.and_then(|p| p.parent().map(Path::to_path_buf)) {
        dirs.push(dir);
    }
    dirs.extend(DELEGATE_DIRS.iter().map(PathBuf::from));
    let mut seen = Vec::new();
    for dir in dirs {
        for name in KNOWN_DELEGATES {
            let path = dir.join(name);
            let Ok(real) = path.canonicalize() else {
                continue;
            };
            if seen.contains(&real) || reports.iter().any(|r: &DelegateReport| r.path == path) {
                continue;
            }
            seen.push(real);
            reports.push(check_plugin(&path, false));
        }
    }
    reports
}

/// Whether a file can be loaded here as a delegate plugin (architecture, then entry points).
fn check_plugin(path: &Path, configured: bool) -> DelegateReport {
    let (usable, status) = if !path.exists() {
        (false, "the file does not exist".to_string())
    } else {
        match check_elf(path)
            .and_then(|_| sys::Plugin::load(path).map_err(|e| plugin_error(path, e)))
        {
            Ok(_) => (
                true,
                "loads, exports tflite_plugin_create_delegate and tflite_plugin_destroy_delegate"
                    .to_string(),
            ),
            Err(Error::LibraryLoad { reason, .. }) => (false, reason),
            Err(Error::Delegate { reason, .. }) => (false, reason),
            Err(e) => (false, e.to_string()),
        }
    };
    DelegateReport {
        path: path.to_path_buf(),
        configured,
        usable,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delegate_options_keep_order() {
        let o = parse_delegate_options(
            "backends:CpuAcc,GpuAcc;number-of-threads:4; logging-severity:info",
        )
        .unwrap();
        assert_eq!(
            o,
            vec![
                ("backends".to_string(), "CpuAcc,GpuAcc".to_string()),
                ("number-of-threads".to_string(), "4".to_string()),
                ("logging-severity".to_string(), "info".to_string()),
            ]
        );
        assert!(parse_delegate_options("").unwrap().is_empty());
        assert!(parse_delegate_options("novalue").is_err());
        assert!(parse_delegate_options(":x").is_err());
    }
}
