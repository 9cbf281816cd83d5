//! The decision cache: one JSON file of measured choices, keyed by a SHA-256 of everything
//! that could change the outcome (see `Runtime::load`).
//!
//! The file is replaced whole and atomically: written to a temporary file in the same
//! directory, flushed to disk, then renamed over the old one, so a reader never sees a partial
//! file. Writers take turns: a store holds an exclusive advisory lock on `.<name>.lock` beside
//! the file from its read to its rename, so processes storing at once keep each other's
//! entries. Where the lock cannot be taken (a file system without locks, a read-only
//! directory) the store goes on unlocked, and then the later rename wins and the other
//! process's new entry is measured again next time. A missing file is an empty cache; an
//! unreadable, corrupt or unwritable one is a warning and the load goes on measuring.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Entries kept at most; the oldest go first.
const MAX_ENTRIES: usize = 500;
/// Marks the file's layout.
const LAYOUT: u32 = 1;

/// Where measured decisions are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheSetting {
    /// `EDGERUN_CACHE` (a file path, or `off`), else `$XDG_CACHE_HOME/edgerun/decisions.json`,
    /// else `~/.cache/edgerun/decisions.json`.
    Default,
    /// Measure on every load.
    Off,
    /// This file.
    File(PathBuf),
}

impl CacheSetting {
    /// The file this setting names, or `None` when caching is off.
    pub fn path(&self) -> Option<PathBuf> {
        match self {
            CacheSetting::Off => None,
            CacheSetting::File(p) => Some(p.clone()),
            CacheSetting::Default => match std::env::var_os("EDGERUN_CACHE") {
                Some(v) if v == "off" => None,
                Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
                _ => {
                    let base = std::env::var_os("XDG_CACHE_HOME")
                        .map(PathBuf::from)
                        .filter(|p| p.is_absolute())
                        .or_else(|| {
                            std::env::var_os("HOME")
                                .map(PathBuf::from)
                                .filter(|p| p.is_absolute())
                                .map(|h| h.join(".cache"))
                        })?;
                    Some(base.join("edgerun/decisions.json"))
                }
            },
        }
    }
}

/// One measured decision.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Entry {
    /// The model as it was named when measured (for a reader of the file).
    pub model: String,
    pub winner: String,
    /// Median of each measured candidate, in microseconds.
    pub medians_us: BTreeMap<String, f64>,
    /// Candidates rejected for disagreeing outputs or failing, with the reason.
    pub rejected: BTreeMap<String, String>,
    /// Seconds since 1970 when measured.
    pub measured_at: u64,
    /// What the key was computed from.
    pub key: String,
}

#[derive(Debug, Serialize, Deserialize, Default)]
struct File {
    edgerun_decisions: u32,
    entries: BTreeMap<String, Entry>,
}

fn read(path: &Path) -> Result<File, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(File::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let file: File = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a decision cache ({e}); it will be replaced",
            path.display()
        )
    })?;
    if file.edgerun_decisions != LAYOUT {
        return Err(format!(
            "{} has layout {} where {LAYOUT} is expected; it will be replaced",
            path.display(),
            file.edgerun_decisions
        ));
    }
    Ok(file)
}

/// The entry stored under `hash`, and a warning when the file could not be read.
pub(crate) fn lookup(path: &Path, hash: &str) -> (Option<Entry>, Option<String>) {
    match read(path) {
        Ok(mut f) => (f.entries.remove(hash), None),
        Err(w) => (None, Some(format!("cache: {w}"))),
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Store `entry` under `hash`; a warning when that failed. Threads of one process, and
/// processes, store one at a time (their read-modify-write would otherwise drop each other's
/// entries).
pub(crate) fn store(path: &Path, hash: &str, entry: Entry) -> Option<String> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _other_processes = lock_beside(path);
    store_limited(path, hash, entry, MAX_ENTRIES)
}

/// The lock file beside `path`, locked exclusively (waiting for other writers), or `None`
/// where it cannot be created or locked. The lock goes with the returned file.
fn lock_beside(path: &Path) -> Option<std::fs::File> {
    let lock_path = beside(path, ".lock").ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
        .ok()?;
    file.lock().ok()?;
    Some(file)
}

fn store_limited(path: &Path, hash: &str, entry: Entry, limit: usize) -> Option<String> {
    let mut warning = None;
    let mut file = read(path).unwrap_or_else(|w| {
        warning = Some(format!("cache: {w}"));
        File::default()
    });
    file.edgerun_decisions = LAYOUT;
    file.entries.insert(hash.to_string(), entry);
    while file.entries.len() > limit {
        let oldest = file
            .entries
            .iter()
            .min_by_key(|(_, e)| e.measured_at)
            .map(|(k, _)| k.clone())
            .expect("more entries than the limit");
        file.entries.remove(&oldest);
    }
    let text = serde_json::to_string_pretty(&file).expect("the cache serializes");
    if let Err(e) = write_atomically(path, text.as_bytes()) {
        let w = format!(
            "cache: cannot write {} ({e}); the choice will be measured again next time (set EDGERUN_CACHE to a writable file, or to off)",
            path.display()
        );
        return Some(match warning {
            Some(r) => format!("{r}; {w}"),
            None => w,
        });
    }
    warning
}

/// `.NAME` + `suffix` in `path`'s directory, which is created if missing.
fn beside(path: &Path, suffix: &str) -> std::io::Result<PathBuf> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(d) = dir {
        std::fs::create_dir_all(d)?;
    }
    let name = path
        .file_name()
        .map_or_else(|| "decisions.json".into(), |n| n.to_string_lossy());
    let file = format!(".{name}{suffix}");
    Ok(dir.map_or_else(|| PathBuf::from(&file), |d| d.join(&file)))
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    // a name no other writer uses: this process, a counter, and the time
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let tmp = beside(
        path,
        &format!(".{}.{serial}.{nanos}.tmp", std::process::id()),
    )?;
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(winner: &str, at: u64) -> Entry {
        Entry {
            model: "m.onnx".into(),
            winner: winner.into(),
            medians_us: BTreeMap::from([(winner.to_string(), 12.5)]),
            rejected: BTreeMap::new(),
            measured_at: at,
            key: "k".into(),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("edgerun-cache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d.join("sub/decisions.json")
    }

    #[test]
    fn stores_and_finds_by_hash_and_creates_the_directory() {
        let p = temp("roundtrip");
        assert_eq!(
            lookup(&p, "a"),
            (None, None),
            "a missing file is an empty cache"
        );
        assert_eq!(store(&p, "a", entry("ort", 1)), None);
        assert_eq!(store(&p, "b", entry("tract", 2)), None);
        assert_eq!(lookup(&p, "a").0, Some(entry("ort", 1)));
        assert_eq!(lookup(&p, "b").0.unwrap().winner, "tract");
        assert_eq!(lookup(&p, "c"), (None, None));
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_store_waits_for_the_writer_holding_the_lock() {
        let p = temp("locked");
        assert_eq!(store(&p, "a", entry("ort", 1)), None);
        // another process's store, as far as the lock file can tell
        let held = lock_beside(&p).expect("the lock is taken");
        let writer = {
            let p = p.clone();
            std::thread::spawn(move || store(&p, "b", entry("tract", 2)))
        };
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert_eq!(lookup(&p, "b").0, None, "stored while the lock was held");
        drop(held);
        assert_eq!(writer.join().unwrap(), None);
        assert_eq!(lookup(&p, "a").0, Some(entry("ort", 1)));
        assert_eq!(lookup(&p, "b").0, Some(entry("tract", 2)));
    }

    #[test]
    fn a_corrupt_file_is_a_warning_and_is_replaced() {
        let p = temp("corrupt");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, b"{\"edgerun_decisions\": 1, \"entr").unwrap();
        let (hit, warning) = lookup(&p, "a");
        assert_eq!(hit, None);
        assert!(warning.unwrap().contains("not a decision cache"));
        let w = store(&p, "a", entry("ort", 1)).unwrap();
        assert!(w.contains("replaced"), "{w}");
        assert_eq!(lookup(&p, "a"), (Some(entry("ort", 1)), None));
    }

    #[test]
    fn an_unwritable_place_is_a_warning() {
        let p = temp("unwritable");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // a directory where the file should be cannot be replaced by a file
        std::fs::create_dir_all(&p).unwrap();
        let w = store(&p, "a", entry("ort", 1)).unwrap();
        assert!(
            w.contains("cannot write") && w.contains("EDGERUN_CACHE"),
            "{w}"
        );
        assert!(lookup(&p, "a").1.unwrap().contains("cannot read"));
    }

    #[test]
    fn the_oldest_entries_go_beyond_the_limit() {
        let p = temp("limit");
        for i in 0..13u64 {
            store_limited(&p, &format!("k{i}"), entry("ort", 100 + i), 10);
        }
        assert_eq!(lookup(&p, "k0").0, None);
        assert_eq!(lookup(&p, "k2").0, None);
        assert!(lookup(&p, "k3").0.is_some());
        assert!(lookup(&p, "k12").0.is_some());
    }

    #[test]
    fn off_and_explicit_settings() {
        assert_eq!(CacheSetting::Off.path(), None);
        assert_eq!(
            CacheSetting::File("/x/d.json".into()).path(),
            Some(PathBuf::from("/x/d.json"))
        );
    }
}
