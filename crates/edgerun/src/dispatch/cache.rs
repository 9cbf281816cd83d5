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
    /// What the store holds: measured decisions, probe verdicts and artifacts; `None` when
    /// caching is off.
    ///
    /// # Errors
    /// The decision file cannot be read or is not one.
    pub fn contents(&self) -> std::result::Result<Option<(PathBuf, CacheContents)>, String> {
        self.path()
            .map(|p| contents(&p).map(|c| (p, c)))
            .transpose()
    }

    /// Empty the store: the decision file, and the artifacts in the `artifacts` directory
    /// beside it (no other file there is touched); what it held. `None` when caching is off.
    ///
    /// # Errors
    /// A file of the store could not be removed.
    pub fn clear(&self) -> std::io::Result<Option<(PathBuf, CacheContents)>> {
        self.path().map(|p| clear(&p).map(|c| (p, c))).transpose()
    }

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

/// A file a backend derived from a model and keeps beside the decisions (XNNPACK's packed
/// weights), with what it takes to trust it again.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub(crate) struct Artifact {
    /// The model as it was named when the artifact was made (for a reader of the file).
    pub model: String,
    pub backend: String,
    pub bytes: u64,
    /// CRC-32 of the file's bytes: a file that changed since (a torn copy, a disk error, an
    /// edit) is rebuilt, not mapped.
    pub crc32: u32,
    pub made_at: u64,
    /// When a load last used it (to a day): the least recently used go first.
    pub used_at: u64,
}

#[derive(Debug, Serialize, Deserialize, Default)]
struct File {
    edgerun_decisions: u32,
    entries: BTreeMap<String, Entry>,
    /// By file name, in [`artifact_dir`].
    #[serde(default)]
    artifacts: BTreeMap<String, Artifact>,
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
    update(path, |file| {
        store_limited(file, hash, entry, MAX_ENTRIES);
    })
}

/// Read, change and write the file, one writer at a time (threads of this process, and
/// processes); a warning when it could not be read or written.
fn update(path: &Path, change: impl FnOnce(&mut File)) -> Option<String> {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _other_processes = lock_beside(path);
    let mut warning = None;
    let mut file = read(path).unwrap_or_else(|w| {
        warning = Some(format!("cache: {w}"));
        File::default()
    });
    file.edgerun_decisions = LAYOUT;
    change(&mut file);
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

fn store_limited(file: &mut File, hash: &str, entry: Entry, limit: usize) {
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

/// Bytes of artifacts kept at most: `EDGERUN_CACHE_MAX_MB` (mebibytes; 0 keeps none), else
/// 512 MiB. The least recently used go first.
pub(crate) fn artifact_limit() -> u64 {
    std::env::var("EDGERUN_CACHE_MAX_MB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(512 << 20, |mb| mb.saturating_mul(1 << 20))
}

/// Where the artifacts of the decision file at `path` are kept: `artifacts/` beside it.
pub(crate) fn artifact_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("artifacts"), |d| d.join("artifacts"))
}

/// Length and CRC-32 of a file.
fn crc_of(path: &Path) -> std::io::Result<(u64, u32)> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = crc32fast::Hasher::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        h.update(&buf[..n]);
    }
    Ok((bytes, h.finalize()))
}

/// An artifact's file name: the 64 hex digits of its key, then what it is. Clearing and
/// sweeping touch no other file, whatever else the directory holds.
pub(crate) fn artifact_name(key: &str, kind: &str) -> String {
    format!("{}.{kind}", super::digest::sha256_hex(key))
}

fn is_ours(name: &str) -> bool {
    name.len() > 65
        && name.as_bytes()[64] == b'.'
        && name[..64]
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What a load may do with the artifact `name`.
#[derive(Debug, PartialEq)]
pub(crate) enum Trust {
    /// Recorded, and the file is what was recorded: use it.
    Kept,
    /// Not there: the backend builds it.
    Missing,
    /// There, but not as recorded (or not recorded at all): it was removed, and the backend
    /// builds it again. The reason, for the model's notes.
    Removed(String),
}

/// Check the artifact `name` against its record before a backend is given it. A file that is
/// not recorded, or whose length or CRC-32 differ from the record, is removed: processes that
/// mapped it keep their mapping, and the next load builds a fresh one.
pub(crate) fn check_artifact(path: &Path, name: &str) -> Trust {
    let file = artifact_dir(path).join(name);
    if !file.is_file() {
        return Trust::Missing;
    }
    let record = read(path).ok().and_then(|mut f| f.artifacts.remove(name));
    let why = match (record, crc_of(&file)) {
        (Some(r), Ok((bytes, crc))) if r.bytes == bytes && r.crc32 == crc => {
            if now().saturating_sub(r.used_at) > 86_400 {
                update(path, |f| {
                    if let Some(a) = f.artifacts.get_mut(name) {
                        a.used_at = now();
                    }
                });
            }
            return Trust::Kept;
        }
        (Some(r), Ok((bytes, crc))) => format!(
            "it is {bytes} bytes with CRC-32 {crc:08x} where {} bytes with {:08x} were recorded",
            r.bytes, r.crc32
        ),
        (None, Ok(_)) => "it has no record in the decision file".into(),
        (_, Err(e)) => format!("it cannot be read ({e})"),
    };
    let _ = std::fs::remove_file(&file);
    Trust::Removed(format!("cache: {} was rebuilt: {why}", file.display()))
}

/// Record the artifact `name` a backend just built, then keep the artifacts within
/// [`artifact_limit`]; a warning when that failed. Build files left by processes that died
/// while building (`*.part`, over an hour old) go too.
pub(crate) fn record_artifact(
    path: &Path,
    name: &str,
    model: &str,
    backend: &str,
) -> Option<String> {
    record_limited(path, name, (model, backend), now(), artifact_limit())
}

fn record_limited(
    path: &Path,
    name: &str,
    (model, backend): (&str, &str),
    at: u64,
    limit: u64,
) -> Option<String> {
    let dir = artifact_dir(path);
    let (bytes, crc32) = match crc_of(&dir.join(name)) {
        Ok(v) => v,
        Err(e) => {
            return Some(format!(
                "cache: {} was not kept ({e})",
                dir.join(name).display()
            ))
        }
    };
    let mut gone = Vec::new();
    let warning = update(path, |f| {
        f.artifacts.insert(
            name.to_string(),
            Artifact {
                model: model.to_string(),
                backend: backend.to_string(),
                bytes,
                crc32,
                made_at: at,
                used_at: at,
            },
        );
        while f.artifacts.values().map(|a| a.bytes).sum::<u64>() > limit {
            let oldest = f
                .artifacts
                .iter()
                .min_by_key(|(_, a)| a.used_at)
                .map(|(k, _)| k.clone())
                .expect("artifacts over the limit");
            f.artifacts.remove(&oldest);
            gone.push(oldest);
        }
    });
    for g in gone {
        let _ = std::fs::remove_file(dir.join(g));
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|m| m.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600);
            let name = e.file_name().to_string_lossy().into_owned();
            if old && is_ours(&name) && name.ends_with(".part") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    warning
}

/// What the store at `path` holds.
#[derive(Debug, Default, PartialEq)]
pub struct CacheContents {
    /// Measured decisions and probe verdicts.
    pub decisions: usize,
    /// Artifacts by file name, with their records.
    pub artifacts: Vec<(String, u64, String)>,
    /// Bytes of the artifacts' files.
    pub artifact_bytes: u64,
}

/// List the store at `path`.
///
/// # Errors
/// The file cannot be read or is not a decision file.
fn contents(path: &Path) -> std::result::Result<CacheContents, String> {
    let f = read(path)?;
    let artifacts: Vec<_> = f
        .artifacts
        .iter()
        .map(|(n, a)| (n.clone(), a.bytes, format!("{} for {}", a.backend, a.model)))
        .collect();
    Ok(CacheContents {
        decisions: f.entries.len(),
        artifact_bytes: artifacts.iter().map(|a| a.1).sum(),
        artifacts,
    })
}

/// Empty the store at `path`: the decision file and the artifacts in its artifact directory
/// (files named as [`artifact_name`] names them; nothing else there is touched). Processes that mapped an artifact keep their mapping. What was removed.
///
/// # Errors
/// A file that exists could not be removed.
fn clear(path: &Path) -> std::io::Result<CacheContents> {
    let before = contents(path).unwrap_or_default();
    let remove = |p: &Path| match std::fs::remove_file(p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    };
    remove(path)?;
    let dir = artifact_dir(path);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            if is_ours(&e.file_name().to_string_lossy()) {
                remove(&e.path())?;
            }
        }
        // only when nothing else is in it
        let _ = std::fs::remove_dir(&dir);
    }
    Ok(before)
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

    /// A decision file whose directory does not exist yet, inside a scratch directory that is
    /// removed with the returned guard.
    fn temp(name: &str) -> (edgerun_testkit::Scratch, PathBuf) {
        let d = edgerun_testkit::scratch(&format!("cache-{name}"));
        let path = d.join("sub/decisions.json");
        (d, path)
    }

    #[test]
    fn stores_and_finds_by_hash_and_creates_the_directory() {
        let (_store, p) = temp("roundtrip");
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
        let (_store, p) = temp("locked");
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
        let (_store, p) = temp("corrupt");
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
        let (_store, p) = temp("unwritable");
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
        let (_store, p) = temp("limit");
        for i in 0..13u64 {
            update(&p, |f| {
                store_limited(f, &format!("k{i}"), entry("ort", 100 + i), 10)
            });
        }
        assert_eq!(lookup(&p, "k0").0, None);
        assert_eq!(lookup(&p, "k2").0, None);
        assert!(lookup(&p, "k3").0.is_some());
        assert!(lookup(&p, "k12").0.is_some());
    }

    /// An artifact file of `bytes` bytes named for `key`, in the store at `p`.
    fn artifact(p: &Path, key: &str, bytes: usize) -> (String, PathBuf) {
        let name = artifact_name(key, "litert");
        let file = artifact_dir(p).join(&name);
        std::fs::create_dir_all(artifact_dir(p)).unwrap();
        std::fs::write(&file, vec![7u8; bytes]).unwrap();
        (name, file)
    }

    #[test]
    fn an_artifact_is_used_only_as_recorded() {
        let (_store, p) = temp("artifact-trust");
        let (name, file) = artifact(&p, "a", 100);
        assert_eq!(check_artifact(&p, "nothing.litert"), Trust::Missing);
        // a file no load recorded (a crash before the record, a copy from elsewhere)
        match check_artifact(&p, &name) {
            Trust::Removed(why) => assert!(why.contains("no record"), "{why}"),
            t => panic!("{t:?}"),
        }
        assert!(!file.exists(), "an unrecorded file is removed");
        let (_, file) = artifact(&p, "a", 100);
        assert_eq!(record_artifact(&p, &name, "m.tflite", "litert"), None);
        assert_eq!(check_artifact(&p, &name), Trust::Kept);
        // same length, one byte changed
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[50] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        match check_artifact(&p, &name) {
            Trust::Removed(why) => assert!(why.contains("CRC-32"), "{why}"),
            t => panic!("{t:?}"),
        }
        assert!(!file.exists());
        // truncated
        artifact(&p, "a", 100);
        record_artifact(&p, &name, "m.tflite", "litert");
        std::fs::write(&file, [7u8; 60]).unwrap();
        match check_artifact(&p, &name) {
            Trust::Removed(why) => assert!(why.contains("60 bytes"), "{why}"),
            t => panic!("{t:?}"),
        }
    }

    #[test]
    fn artifacts_beyond_the_limit_go_least_recently_used_first() {
        let (_store, p) = temp("artifact-limit");
        let names: Vec<_> = ["a", "b", "c"]
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let (name, _) = artifact(&p, k, 100);
                let w = record_limited(&p, &name, ("m", "litert"), 100 * (i as u64 + 1), 250);
                assert_eq!(w, None);
                name
            })
            .collect();
        let dir = artifact_dir(&p);
        assert!(!dir.join(&names[0]).exists(), "the oldest went");
        assert!(dir.join(&names[1]).exists() && dir.join(&names[2]).exists());
        let c = contents(&p).unwrap();
        assert_eq!(c.artifacts.len(), 2);
        assert_eq!(c.artifact_bytes, 200);
        // a build file of a process that died an hour ago goes; a fresh one stays
        let dead = dir.join(format!("{}.1.0.part", names[1]));
        let live = dir.join(format!("{}.2.0.part", names[2]));
        for f in [&dead, &live] {
            std::fs::write(f, b"half").unwrap();
        }
        let hour_ago = SystemTime::now() - std::time::Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(&dead)
            .unwrap()
            .set_modified(hour_ago)
            .unwrap();
        let (name, _) = artifact(&p, "d", 10);
        record_limited(&p, &name, ("m", "litert"), 400, 250);
        assert!(!dead.exists() && live.exists());
    }

    #[test]
    fn clearing_removes_the_decisions_and_the_artifacts_and_nothing_else() {
        let (_store, p) = temp("clear");
        assert_eq!(store(&p, "a", entry("ort", 1)), None);
        let (name, file) = artifact(&p, "a", 100);
        record_artifact(&p, &name, "m.tflite", "litert");
        let other = artifact_dir(&p).join("notes.txt");
        std::fs::write(&other, b"mine").unwrap();
        let held = clear(&p).unwrap();
        assert_eq!(held.decisions, 1);
        assert_eq!(held.artifacts.len(), 1);
        assert_eq!(held.artifact_bytes, 100);
        assert!(!p.exists() && !file.exists());
        assert!(other.exists(), "a file edgerun did not name stays");
        assert_eq!(contents(&p).unwrap(), CacheContents::default());
        // clearing an empty store is no error
        assert_eq!(clear(&p).unwrap(), CacheContents::default());
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
