//! A file a backend derives from a model for this device and keeps for later loads
//! ([`crate::Options::artifact`]): read when it is there, else built under a name of this
//! process's own and moved into place whole.
//!
//! Engines write such files in place (XNNPACK truncates and fills the file it is given), so a
//! build straight into the final name would let another process read a half-written file. A
//! rename within one directory replaces the name at once; a process that opened the old file
//! keeps reading it.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What a backend's artifact depends on, and when keeping it pays ([`crate::Backend::artifact_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactKey {
    /// What the artifact depends on besides the model and the CPU: the library (path, size,
    /// modification time) and the options that change it.
    pub key: String,
    /// Keep it only when the load computes the model's digest anyway (for the decision
    /// store's key or a containment verdict). The digest ties a kept file to the model's
    /// bytes; computed for the artifact alone it can cost more than the artifact saves.
    pub only_if_hashed: bool,
}

/// One load's use of an artifact file.
#[derive(Debug)]
pub struct ArtifactFile {
    target: PathBuf,
    /// The file being built, when the target was missing.
    building: Option<PathBuf>,
}

impl ArtifactFile {
    /// Read `target` if it exists, else build it aside ([`ArtifactFile::path`] says which file
    /// the engine gets).
    pub fn begin(target: &Path) -> ArtifactFile {
        if target.is_file() {
            return ArtifactFile {
                target: target.to_path_buf(),
                building: None,
            };
        }
        static SERIAL: AtomicU64 = AtomicU64::new(0);
        let serial = SERIAL.fetch_add(1, Ordering::Relaxed);
        let mut name = target.as_os_str().to_owned();
        name.push(format!(".{}.{serial}.part", std::process::id()));
        ArtifactFile {
            target: target.to_path_buf(),
            building: Some(PathBuf::from(name)),
        }
    }

    /// The file to read, or to have the engine write.
    pub fn path(&self) -> &Path {
        self.building.as_deref().unwrap_or(&self.target)
    }

    /// The engine succeeded: a built file is flushed to disk and moved into place. What
    /// happened, for the model's notes; `what` names the file's contents.
    pub fn finish(mut self, what: &str) -> String {
        let Some(building) = self.building.take() else {
            return format!("{what} read from {}", self.target.display());
        };
        let moved = std::fs::File::open(&building)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&building, &self.target));
        match moved {
            Ok(()) => format!("{what} kept in {}", self.target.display()),
            Err(e) => {
                let _ = std::fs::remove_file(&building);
                format!(
                    "{what} not kept: {} could not be written ({e})",
                    building.display()
                )
            }
        }
    }
}

impl Drop for ArtifactFile {
    /// Not finished: the engine failed, and what it wrote is no artifact.
    fn drop(&mut self) {
        if let Some(b) = &self.building {
            let _ = std::fs::remove_file(b);
        }
    }
}

/// What identifies a library file for an artifact's key: its path, size and modification
/// time (a library replaced in place, an upgrade, changes them). `None` when it cannot be
/// read.
pub fn library_identity(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(format!(
        "library {} of {} bytes modified {}.{:09}",
        path.display(),
        meta.len(),
        modified.as_secs(),
        modified.subsec_nanos()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("edgerun-artifact-{name}-"))
            .tempdir()
            .unwrap()
    }

    #[test]
    fn a_missing_file_is_built_aside_and_moved_into_place() {
        let tmp = dir("build");
        let d = tmp.path();
        let target = d.join("a.bin");
        let a = ArtifactFile::begin(&target);
        assert_ne!(a.path(), target);
        assert!(a.path().to_string_lossy().ends_with(".part"));
        std::fs::write(a.path(), b"packed").unwrap();
        assert!(!target.exists(), "nothing at the final name while building");
        let note = a.finish("weights");
        assert!(note.starts_with("weights kept in "), "{note}");
        assert_eq!(std::fs::read(&target).unwrap(), b"packed");
        assert_eq!(
            std::fs::read_dir(d).unwrap().count(),
            1,
            "no part file left"
        );
        let again = ArtifactFile::begin(&target);
        assert_eq!(again.path(), target, "an existing file is read in place");
        assert!(again.finish("weights").starts_with("weights read from"));
    }

    #[test]
    fn an_unfinished_build_leaves_nothing() {
        let tmp = dir("fail");
        let d = tmp.path();
        let a = ArtifactFile::begin(&d.join("a.bin"));
        std::fs::write(a.path(), b"half").unwrap();
        drop(a);
        assert_eq!(std::fs::read_dir(d).unwrap().count(), 0);
        // the engine wrote nothing: no file to move, the note says so
        let note = ArtifactFile::begin(&d.join("b.bin")).finish("weights");
        assert!(note.contains("not kept"), "{note}");
        assert!(!d.join("b.bin").exists());
    }

    #[test]
    fn a_library_changed_in_place_has_another_identity() {
        let tmp = dir("library");
        let d = tmp.path();
        let lib = d.join("libx.so");
        std::fs::write(&lib, b"one").unwrap();
        let first = library_identity(&lib).unwrap();
        std::fs::write(&lib, b"three").unwrap();
        assert_ne!(library_identity(&lib).unwrap(), first);
        assert_eq!(library_identity(&d.join("missing.so")), None);
    }
}
