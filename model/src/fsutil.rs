//! Command outputs that are checked before the work and never left half written.
//!
//! An [`OutputSet`] is the set of files one command writes. It is built from the planned
//! paths before any work starts and refuses each bad one by its flag and value
//! ([`ModelError::Output`]): a missing or non-folder parent, a path that is a folder, a name
//! the file system cannot hold, an output that is one of the command's inputs (compared by
//! device and inode, so links and `./` spellings are caught) or another output of the same
//! set, a folder that cannot be written. The work then stages each file under a short
//! temporary name in its own folder (`.nsm-<pid>-<n>.tmp`, so a 255-byte name still works);
//! [`OutputSet::commit`] takes an exclusive lock on every folder of the set (so two runs
//! cannot interleave their files), removes the old primary file and the set's stale files,
//! renames the others into place and the primary file last. A kill before or during the
//! commit therefore never leaves a complete primary file beside side files of another run;
//! an error or an early return (the value is dropped uncommitted) removes the temporary
//! files and the folders the set created. A failed write is [`ModelError::Write`], which
//! names the file and prints the OS error once.
//!
//! Special files (`/dev/null`, pipes) are written in place: they cannot be renamed over and
//! are never removed.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{ModelError, Result};

/// The largest text file (JSON) the tools read: 1 GiB. A float network of the paper's size
/// is about 40 MB; a larger file, or an endless one such as `/dev/zero`, is refused before it
/// fills the memory.
pub const MAX_TEXT_BYTES: u64 = 1 << 30;

/// Reads at most `limit` bytes of `path`; a longer file is an error of kind `InvalidData`
/// that names the limit (the caller names the file).
pub fn read_bytes(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let file = File::open(path)?;
    if file.metadata()?.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a folder",
        ));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("longer than {limit} bytes, the most this tool reads"),
        ));
    }
    Ok(bytes)
}

/// Reads a UTF-8 text file of at most [`MAX_TEXT_BYTES`].
pub fn read_text(path: &Path) -> std::io::Result<String> {
    String::from_utf8(read_bytes(path, MAX_TEXT_BYTES)?)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
}

/// Writes `bytes` to `path` atomically: the data goes to a temporary file in the same folder,
/// is flushed to disk, and is renamed over `path` only when complete. On any error the
/// temporary file is removed and `path` is untouched.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut set = OutputSet::new();
    set.primary("output", path)?;
    set.write(path, bytes)?;
    set.commit()
}

/// The [`ModelError::Write`] of `path`.
pub fn write_error(path: &Path, cause: std::io::Error) -> ModelError {
    ModelError::Write {
        path: path.to_path_buf(),
        cause,
    }
}

/// A file or folder that [`OutputSet`] must never write over: identified by device and
/// inode where the platform has them, and by its canonical path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileId {
    canonical: PathBuf,
    #[cfg(unix)]
    dev_ino: (u64, u64),
}

impl FileId {
    fn of(path: &Path) -> Option<FileId> {
        let meta = std::fs::metadata(path).ok()?;
        let canonical = std::fs::canonicalize(path).ok()?;
        #[cfg(not(unix))]
        let _ = meta;
        Some(FileId {
            canonical,
            #[cfg(unix)]
            dev_ino: {
                use std::os::unix::fs::MetadataExt;
                (meta.dev(), meta.ino())
            },
        })
    }

    fn same(&self, other: &FileId) -> bool {
        #[cfg(unix)]
        if self.dev_ino == other.dev_ino {
            return true;
        }
        self.canonical == other.canonical
    }
}

/// One planned output file.
#[derive(Debug)]
struct Planned {
    /// The flag (or role) that named it, for refusals.
    label: String,
    /// The path as the caller gave it.
    given: PathBuf,
    /// Where it goes (a symbolic link already resolved to its target).
    path: PathBuf,
    /// Its folder.
    dir: PathBuf,
    /// The file completes the set: written last, removed first.
    primary: bool,
    /// A device, pipe or other non-regular file: written in place.
    special: bool,
    /// The staged file and its open handle, once written.
    staged: Option<(PathBuf, File)>,
}

/// The files of one command's output, validated before the work and moved into place
/// together (see the module documentation).
#[derive(Debug, Default)]
pub struct OutputSet {
    inputs: Vec<(PathBuf, FileId)>,
    planned: Vec<Planned>,
    /// Files of the set this run does not write: removed at the commit.
    stale: Vec<PathBuf>,
    /// Folders the set created, outermost first; removed (when empty) if never committed.
    created: Vec<PathBuf>,
    committed: bool,
    /// Tests: stop the commit after this many renames, as a kill would.
    #[cfg(test)]
    kill_after: Option<usize>,
    #[cfg(test)]
    renamed: usize,
}

/// Temporary names are unique within a process through this counter, and across processes
/// through the process id.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a new temporary file in `dir` with a short name.
fn create_temp(dir: &Path) -> std::io::Result<(PathBuf, File)> {
    loop {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!(".nsm-{}-{n}.tmp", std::process::id()));
        match File::options().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

/// The folder of `path` (`.` for a bare name).
fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Whether a metadata error means that the path does not exist (or runs through a file).
fn absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
    )
}

/// Why the folder `dir` is not there: a file on its way, or it does not exist.
fn why_missing(dir: &Path) -> String {
    for a in dir.ancestors().skip(1) {
        if a.as_os_str().is_empty() {
            break;
        }
        if let Ok(m) = std::fs::metadata(a) {
            if !m.is_dir() {
                return format!("{} is not a folder", a.display());
            }
            break;
        }
    }
    format!("the folder {} does not exist", dir.display())
}

/// Whether `path` is written with a trailing separator (`out/`), which names a folder.
fn ends_with_separator(path: &Path) -> bool {
    let s = path.as_os_str().as_encoded_bytes();
    s.last()
        .is_some_and(|&b| b == b'/' || std::path::is_separator(b as char))
}

impl OutputSet {
    pub fn new() -> Self {
        Self::default()
    }

    fn refuse(label: &str, path: &Path, reason: impl Into<String>) -> ModelError {
        ModelError::Output {
            label: label.to_string(),
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    /// Records an input of the command: no output of the set may be it. A path that does
    /// not exist is skipped (reading it fails on its own).
    pub fn input(&mut self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let Some(id) = FileId::of(path) else {
            return Ok(());
        };
        for p in &self.planned {
            if FileId::of(&p.path).is_some_and(|o| o.same(&id)) {
                return Err(Self::refuse(
                    &p.label,
                    &p.path,
                    format!("is the input {}; it would be overwritten", path.display()),
                ));
            }
        }
        self.inputs.push((path.to_path_buf(), id));
        Ok(())
    }

    /// Records every path of `inputs` as an input ([`OutputSet::input`]).
    pub fn inputs<P: AsRef<Path>>(&mut self, inputs: impl IntoIterator<Item = P>) -> Result<()> {
        inputs.into_iter().try_for_each(|p| self.input(p))
    }

    /// Plans a side file of the set, named by the flag `label`, after checking it.
    pub fn file(&mut self, label: &str, path: &Path) -> Result<()> {
        self.plan(label, path, false)
    }

    /// Plans the primary file of the set: the one whose presence says the set is complete.
    /// It is written last and, when the set has other files, its old version is removed
    /// before any of them is moved into place.
    pub fn primary(&mut self, label: &str, path: &Path) -> Result<()> {
        if self.planned.iter().any(|p| p.primary) {
            return Err(Self::refuse(label, path, "a set has one primary file"));
        }
        self.plan(label, path, true)
    }

    /// Plans the folder `dir` (named by the flag `label`) to hold outputs: it must be a
    /// folder or not exist yet, and is created now if missing (and removed again, when
    /// still empty, if the set is never committed).
    pub fn folder(&mut self, label: &str, dir: &Path) -> Result<()> {
        let mut missing = Vec::new();
        let mut d = dir.to_path_buf();
        loop {
            match std::fs::metadata(&d) {
                Ok(m) if m.is_dir() => break,
                Ok(_) if d == dir => {
                    return Err(Self::refuse(label, dir, "exists and is not a folder"))
                }
                Ok(_) => {
                    return Err(Self::refuse(
                        label,
                        dir,
                        format!("{} is not a folder", d.display()),
                    ))
                }
                Err(e) if !absent(&e) => return Err(Self::refuse(label, dir, e.to_string())),
                Err(_) => missing.push(d.clone()),
            }
            match d.parent() {
                Some(p) if !p.as_os_str().is_empty() => d = p.to_path_buf(),
                _ => break,
            }
        }
        for m in missing.into_iter().rev() {
            std::fs::create_dir(&m).map_err(|e| {
                Self::refuse(label, dir, format!("cannot create {}: {e}", m.display()))
            })?;
            self.created.push(m);
        }
        self.check_writable(label, dir)
    }

    /// Refuses `dir` unless a file can be created in it.
    fn check_writable(&self, label: &str, dir: &Path) -> Result<()> {
        match create_temp(dir) {
            Ok((probe, _)) => {
                let _ = std::fs::remove_file(probe);
                Ok(())
            }
            Err(e) => Err(Self::refuse(
                label,
                dir,
                format!("no file can be created in {}: {e}", dir.display()),
            )),
        }
    }

    fn plan(&mut self, label: &str, path: &Path, primary: bool) -> Result<()> {
        if path.as_os_str().is_empty() {
            return Err(Self::refuse(label, path, "an empty path names no file"));
        }
        if ends_with_separator(path) || path.file_name().is_none() {
            return Err(Self::refuse(label, path, "names a folder, not a file"));
        }
        let dir = parent_of(path);
        match std::fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Self::refuse(
                    label,
                    path,
                    format!("{} is not a folder", dir.display()),
                ))
            }
            Err(e) if absent(&e) => return Err(Self::refuse(label, path, why_missing(&dir))),
            Err(e) => return Err(Self::refuse(label, path, format!("{}: {e}", dir.display()))),
        }
        // a symbolic link is written through, at its target
        let mut target = path.to_path_buf();
        let mut special = false;
        match std::fs::symlink_metadata(path) {
            Ok(m) => {
                if m.file_type().is_symlink() {
                    if let Ok(t) = std::fs::canonicalize(path) {
                        target = t;
                    }
                }
                match std::fs::metadata(&target) {
                    Ok(m) if m.is_dir() => {
                        return Err(Self::refuse(label, path, "is a folder; give a file name"))
                    }
                    Ok(m) => special = !m.is_file(),
                    Err(_) => {}
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Self::refuse(label, path, e.to_string())),
        }
        let dir = parent_of(&target);
        if let Some(id) = FileId::of(&target) {
            if let Some((input, _)) = self.inputs.iter().find(|(_, i)| i.same(&id)) {
                return Err(Self::refuse(
                    label,
                    path,
                    format!("is the input {}; it would be overwritten", input.display()),
                ));
            }
        }
        let canonical_dir = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        let key = canonical_dir.join(target.file_name().expect("checked above"));
        for p in &self.planned {
            let other = std::fs::canonicalize(&p.dir).unwrap_or_else(|_| p.dir.clone());
            if other.join(p.path.file_name().expect("planned")) == key {
                return Err(Self::refuse(
                    label,
                    path,
                    format!("is also the output of {} {}", p.label, p.path.display()),
                ));
            }
        }
        if !special {
            self.check_writable(label, &dir)?;
        }
        self.stale.retain(|s| s != &target);
        self.planned.push(Planned {
            label: label.to_string(),
            given: path.to_path_buf(),
            path: target,
            dir,
            primary,
            special,
            staged: None,
        });
        Ok(())
    }

    /// Marks `path` as a file of this set that this run does not produce (an image of an
    /// earlier run's network, a model the new Verilog no longer needs): removed at the
    /// commit, when it is a regular file.
    pub fn stale(&mut self, path: &Path) {
        if !self.planned.iter().any(|p| p.path == path) && !self.stale.iter().any(|s| s == path) {
            self.stale.push(path.to_path_buf());
        }
    }

    fn index(&self, path: &Path) -> Result<usize> {
        self.planned
            .iter()
            .position(|p| p.given == path || p.path == path)
            .ok_or_else(|| {
                write_error(
                    path,
                    std::io::Error::other("not a planned output of this command"),
                )
            })
    }

    /// Opens the staged file of the planned output `path` for the caller to fill (a stream
    /// too large to hold in memory); its writes' errors are the caller's to report, with
    /// [`OutputSet::write_error`]. A second call starts the file again.
    pub fn create(&mut self, path: &Path) -> Result<File> {
        let i = self.index(path)?;
        let p = &mut self.planned[i];
        if let Some((tmp, _)) = p.staged.take() {
            if !p.special {
                let _ = std::fs::remove_file(tmp);
            }
        }
        let final_path = p.path.clone();
        let (tmp, f) = if p.special {
            let f = File::options()
                .write(true)
                .open(&p.path)
                .map_err(|e| write_error(&final_path, e))?;
            (p.path.clone(), f)
        } else {
            create_temp(&p.dir).map_err(|e| write_error(&final_path, e))?
        };
        let handle = f.try_clone().map_err(|e| write_error(&final_path, e))?;
        p.staged = Some((tmp, f));
        Ok(handle)
    }

    /// Stages `bytes` as the planned output `path`.
    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        let final_path = self.planned[self.index(path)?].path.clone();
        let mut f = self.create(path)?;
        f.write_all(bytes)
            .and_then(|()| f.flush())
            .map_err(|e| write_error(&final_path, e))
    }

    /// The [`ModelError::Write`] of the planned output `path` (its final name, not the
    /// temporary one).
    pub fn write_error(&self, path: &Path, cause: std::io::Error) -> ModelError {
        let p = self.index(path).map(|i| self.planned[i].path.clone());
        write_error(&p.unwrap_or_else(|_| path.to_path_buf()), cause)
    }

    /// The planned outputs, in the order they were planned.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.planned.iter().map(|p| p.path.as_path())
    }

    /// Moves the staged files into place (see the module documentation). A planned file that
    /// was never written is treated as stale: its old version is removed.
    pub fn commit(mut self) -> Result<()> {
        // flush every staged file to disk before anything is renamed
        for p in &self.planned {
            if let Some((_, f)) = &p.staged {
                if !p.special {
                    f.sync_all().map_err(|e| write_error(&p.path, e))?;
                }
            }
        }
        let mut dirs: Vec<PathBuf> = self
            .planned
            .iter()
            .map(|p| std::fs::canonicalize(&p.dir).unwrap_or_else(|_| p.dir.clone()))
            .chain(self.stale.iter().map(|s| {
                let d = parent_of(s);
                std::fs::canonicalize(&d).unwrap_or(d)
            }))
            .collect();
        dirs.sort();
        dirs.dedup();
        // exclusive locks in a fixed order, held until the set is in place
        let mut locks = Vec::new();
        // (best effort: a file system without locks still gets the ordered renames)
        for d in &dirs {
            if let Ok(f) = File::open(d) {
                if f.lock().is_ok() {
                    locks.push(f);
                }
            }
        }
        let remove = |path: &Path| -> Result<()> {
            match std::fs::symlink_metadata(path) {
                Ok(m) if m.is_file() => {
                    std::fs::remove_file(path).map_err(|e| write_error(path, e))
                }
                _ => Ok(()),
            }
        };
        let several = self.planned.len() > 1 || !self.stale.is_empty();
        for p in self.planned.iter().filter(|p| p.primary && !p.special) {
            if several || p.staged.is_none() {
                remove(&p.path)?;
            }
        }
        for s in &self.stale {
            remove(s)?;
        }
        for p in self.planned.iter().filter(|p| !p.primary && !p.special) {
            if p.staged.is_none() {
                remove(&p.path)?;
            }
        }
        let order: Vec<usize> = (0..self.planned.len())
            .filter(|&i| !self.planned[i].primary)
            .chain((0..self.planned.len()).filter(|&i| self.planned[i].primary))
            .collect();
        for i in order {
            #[cfg(test)]
            if self.kill_after == Some(self.renamed) {
                // a kill leaves everything as it is: no clean-up
                self.committed = true;
                return Err(write_error(
                    &self.planned[i].path,
                    std::io::Error::other("killed"),
                ));
            }
            let p = &mut self.planned[i];
            if p.special {
                continue;
            }
            if let Some((tmp, f)) = p.staged.take() {
                drop(f);
                if let Err(e) = std::fs::rename(&tmp, &p.path) {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(write_error(&p.path, e));
                }
                #[cfg(test)]
                {
                    self.renamed += 1;
                }
            }
        }
        for d in &dirs {
            if let Ok(f) = File::open(d) {
                let _ = f.sync_all();
            }
        }
        self.committed = true;
        drop(locks);
        Ok(())
    }
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        for p in &mut self.planned {
            if let Some((tmp, f)) = p.staged.take() {
                drop(f);
                if !p.special {
                    let _ = std::fs::remove_file(tmp);
                }
            }
        }
        for d in self.created.iter().rev() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

#[cfg(test)]
mod tests;
