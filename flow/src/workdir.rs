//! The one work-folder scheme of the flows and the `nsm` commands.
//!
//! A command that runs tools takes `--work-dir DIR`: when given, the tools run there and the
//! folder stays for inspection and replay; when not, they run in a fresh temporary folder
//! (`tempfile`, under the system's temporary directory, named `nsm-<purpose>-...`) that is
//! removed when the [`WorkDir`] is dropped, unless the caller keeps it ([`WorkDir::keep`],
//! which the simulation commands do on a failure, whose message names the folder's replay
//! script).

use std::path::{Path, PathBuf};

use crate::FlowError;

/// A folder tools run in: the caller's (kept) or a temporary one (removed on drop).
#[derive(Debug)]
pub enum WorkDir {
    /// The folder the user named; created by the flow that uses it, never removed.
    Kept(PathBuf),
    /// A fresh temporary folder, removed when this value is dropped.
    Temp(tempfile::TempDir),
}

impl WorkDir {
    /// `dir` when given, else a new temporary folder whose name starts with
    /// `nsm-<purpose>-`.
    pub fn new(dir: Option<&Path>, purpose: &str) -> Result<Self, FlowError> {
        match dir {
            // checked now, before any work: the flows create it when they first write
            Some(d) if d.exists() && !d.is_dir() => Err(FlowError::NotAFolder(d.to_path_buf())),
            Some(d) => Ok(WorkDir::Kept(d.to_path_buf())),
            None => tempfile::Builder::new()
                .prefix(&format!("nsm-{purpose}-"))
                .tempdir()
                .map(WorkDir::Temp)
                .map_err(|cause| FlowError::Write {
                    path: std::env::temp_dir(),
                    cause,
                }),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            WorkDir::Kept(p) => p,
            WorkDir::Temp(t) => t.path(),
        }
    }

    /// Keeps the folder past this value (a failed run's, so that the replay script its error
    /// names is still there) and returns its path.
    pub fn keep(self) -> PathBuf {
        match self {
            WorkDir::Kept(p) => p,
            WorkDir::Temp(t) => t.keep(),
        }
    }

    /// Whether the folder outlives this value.
    pub fn is_kept(&self) -> bool {
        matches!(self, WorkDir::Kept(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_named_folder_is_kept_and_a_temporary_one_removed() {
        let outer = tempfile::tempdir().unwrap();
        let named = outer.path().join("work");
        let w = WorkDir::new(Some(&named), "test").unwrap();
        assert!(w.is_kept() && w.path() == named);
        std::fs::create_dir_all(w.path()).unwrap();
        drop(w);
        assert!(named.is_dir());
        let t = WorkDir::new(None, "test").unwrap();
        let p = t.path().to_path_buf();
        assert!(p.is_dir() && !t.is_kept());
        assert!(p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("nsm-test-"));
        drop(t);
        assert!(!p.exists());
        let t = WorkDir::new(None, "test").unwrap();
        let p = t.keep();
        assert!(p.is_dir());
        std::fs::remove_dir_all(p).unwrap();
    }
}
