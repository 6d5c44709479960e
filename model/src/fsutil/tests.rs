//! Unit tests of [`super::OutputSet`] and [`super::atomic_write`].

use super::*;

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn refusal(e: ModelError) -> (String, PathBuf, String) {
    match e {
        ModelError::Output {
            label,
            path,
            reason,
        } => (label, path, reason),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn atomic_write_writes_the_whole_file_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("out.json");
    atomic_write(&p, b"hello").unwrap();
    atomic_write(&p, b"again").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"again");
    assert_eq!(names(dir.path()), ["out.json"]);
}

#[test]
fn a_missing_folder_is_refused_by_flag_and_value_and_nothing_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("missing-dir").join("out.json");
    let mut set = OutputSet::new();
    let (label, path, reason) = refusal(set.primary("--out", &p).unwrap_err());
    assert_eq!((label.as_str(), path.as_path()), ("--out", p.as_path()));
    assert!(reason.contains("does not exist"), "{reason}");
    let text = atomic_write(&p, b"x").unwrap_err().to_string();
    assert!(
        text.contains("missing-dir") && text.contains("does not exist"),
        "{text}"
    );
    assert!(names(dir.path()).is_empty());
}

#[test]
fn a_folder_is_not_a_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let mut set = OutputSet::new();
    let (_, _, reason) = refusal(set.primary("--out", &sub).unwrap_err());
    assert!(reason.contains("is a folder"), "{reason}");
    // a trailing separator names a folder even when none exists yet
    let slash = PathBuf::from(format!("{}/", dir.path().join("new").display()));
    let (_, _, reason) = refusal(set.primary("--out", &slash).unwrap_err());
    assert!(reason.contains("names a folder"), "{reason}");
    // a folder output whose path is a file
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let (_, _, reason) = refusal(set.folder("--out-dir", &file).unwrap_err());
    assert!(reason.contains("not a folder"), "{reason}");
    let (_, _, reason) = refusal(set.folder("--out-dir", &file.join("below")).unwrap_err());
    assert!(reason.contains("not a folder"), "{reason}");
}

#[test]
fn an_input_is_never_an_output_whatever_its_spelling() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("net.json");
    std::fs::write(&input, "input").unwrap();
    let link = dir.path().join("hard.json");
    std::fs::hard_link(&input, &link).unwrap();
    let dotted = dir.path().join(".").join("net.json");
    for out in [&input, &link, &dotted] {
        let mut set = OutputSet::new();
        set.input(&input).unwrap();
        let (_, _, reason) = refusal(set.primary("--out", out).unwrap_err());
        assert!(reason.contains("is the input"), "{reason}");
        // the other order: the output planned first, the input recorded after
        let mut set = OutputSet::new();
        set.file("--out", out).unwrap();
        let (label, _, reason) = refusal(set.input(&input).unwrap_err());
        assert_eq!(label, "--out");
        assert!(reason.contains("would be overwritten"), "{reason}");
    }
    assert_eq!(std::fs::read(&input).unwrap(), b"input");
}

#[test]
fn two_outputs_of_one_set_cannot_be_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut set = OutputSet::new();
    set.primary("--out", &dir.path().join("a.json")).unwrap();
    let again = dir.path().join(".").join("a.json");
    let (label, _, reason) = refusal(set.file("--expect", &again).unwrap_err());
    assert_eq!(label, "--expect");
    assert!(reason.contains("also the output of --out"), "{reason}");
}

#[test]
fn a_255_byte_name_works_and_a_256_byte_name_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("n".repeat(250) + ".json");
    assert_eq!(long.file_name().unwrap().len(), 255);
    atomic_write(&long, b"ok").unwrap();
    assert_eq!(std::fs::read(&long).unwrap(), b"ok");
    let too_long = dir.path().join("n".repeat(251) + ".json");
    let mut set = OutputSet::new();
    let (label, _, reason) = refusal(set.primary("--out", &too_long).unwrap_err());
    assert_eq!(label, "--out");
    assert!(reason.to_lowercase().contains("too long"), "{reason}");
}

#[test]
fn a_set_dropped_before_its_commit_leaves_the_old_set_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let (q, hex) = (dir.path().join("q.json"), dir.path().join("q.weights.hex"));
    std::fs::write(&q, "old q").unwrap();
    std::fs::write(&hex, "old hex").unwrap();
    {
        let mut set = OutputSet::new();
        set.file("--out", &hex).unwrap();
        set.primary("--out", &q).unwrap();
        set.write(&hex, b"new hex").unwrap();
        set.write(&q, b"new q").unwrap();
        // killed by an error or a panic here: dropped uncommitted
    }
    assert_eq!(names(dir.path()), ["q.json", "q.weights.hex"]);
    assert_eq!(std::fs::read(&q).unwrap(), b"old q");
    assert_eq!(std::fs::read(&hex).unwrap(), b"old hex");
}

#[test]
fn a_kill_during_the_commit_leaves_no_complete_primary_file() {
    let dir = tempfile::tempdir().unwrap();
    let q = dir.path().join("q.json");
    let sides = ["q.weights.hex", "q.neurons.hex", "q.memmap.json"].map(|n| dir.path().join(n));
    std::fs::write(&q, "old q").unwrap();
    for s in &sides {
        std::fs::write(s, "old").unwrap();
    }
    for killed_after in 0..=sides.len() {
        let mut set = OutputSet::new();
        for s in &sides {
            set.file("--out", s).unwrap();
        }
        set.primary("--out", &q).unwrap();
        for s in &sides {
            set.write(s, b"new").unwrap();
        }
        set.write(&q, b"new q").unwrap();
        set.kill_after = Some(killed_after);
        set.commit().unwrap_err();
        // the primary file is gone: nothing would take the mixed set for a complete one
        assert!(!q.exists(), "killed after {killed_after} renames");
    }
    // a full commit puts the whole new set in place
    let mut set = OutputSet::new();
    for s in &sides {
        set.file("--out", s).unwrap();
    }
    set.primary("--out", &q).unwrap();
    for s in &sides {
        set.write(s, b"new").unwrap();
    }
    set.write(&q, b"new q").unwrap();
    set.commit().unwrap();
    assert_eq!(std::fs::read(&q).unwrap(), b"new q");
    for s in &sides {
        assert_eq!(std::fs::read(s).unwrap(), b"new");
    }
}

#[test]
fn stale_files_of_the_set_and_unwritten_ones_are_removed_at_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for n in [
        "manifest.json",
        "nsm_engine.v",
        "weights.hex",
        "CCU2C.v",
        "mine.txt",
    ] {
        std::fs::write(d.join(n), "old").unwrap();
    }
    let mut set = OutputSet::new();
    set.folder("--out-dir", d).unwrap();
    set.file("--out-dir", &d.join("nsm_engine.v")).unwrap();
    set.file("--out-dir", &d.join("report.log")).unwrap();
    set.primary("--out-dir", &d.join("manifest.json")).unwrap();
    set.stale(&d.join("weights.hex"));
    set.stale(&d.join("CCU2C.v"));
    set.write(&d.join("nsm_engine.v"), b"new").unwrap();
    set.write(&d.join("manifest.json"), b"new").unwrap();
    set.commit().unwrap();
    // the user's own file stays; the set's stale ones are gone
    assert_eq!(names(d), ["manifest.json", "mine.txt", "nsm_engine.v"]);
}

#[test]
fn a_created_folder_is_removed_again_when_the_set_is_not_committed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a").join("b");
    {
        let mut set = OutputSet::new();
        set.folder("--out-dir", &out).unwrap();
        set.primary("--out-dir", &out.join("manifest.json"))
            .unwrap();
        set.write(&out.join("manifest.json"), b"{}").unwrap();
    }
    assert!(names(dir.path()).is_empty());
    let mut set = OutputSet::new();
    set.folder("--out-dir", &out).unwrap();
    set.primary("--out-dir", &out.join("manifest.json"))
        .unwrap();
    set.write(&out.join("manifest.json"), b"{}").unwrap();
    set.commit().unwrap();
    assert_eq!(names(&out), ["manifest.json"]);
}

#[test]
fn a_failed_write_names_the_file_and_the_os_error_once() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        return;
    }
    let err = atomic_write(full, b"data").unwrap_err();
    assert!(matches!(err, ModelError::Write { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with("/dev/full could not be written: "),
        "{text}"
    );
    assert_eq!(text.matches("/dev/full").count(), 1, "{text}");
    // the OS error is in the text, not a source an error chain would print again
    assert!(std::error::Error::source(&err).is_none());
    assert!(!text.contains("cannot read"), "{text}");
}

#[test]
fn a_symbolic_link_is_written_through_to_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    atomic_write(&link, b"new").unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
}

#[test]
fn concurrent_commits_of_one_set_never_interleave() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = ["a.hex", "b.hex", "c.hex", "q.json"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    let run = |tag: &'static str| {
        let files = files.clone();
        std::thread::spawn(move || {
            for _ in 0..100 {
                let mut set = OutputSet::new();
                let (primary, sides) = files.split_last().unwrap();
                for s in sides {
                    set.file("--out", s).unwrap();
                }
                set.primary("--out", primary).unwrap();
                for f in &files {
                    set.write(f, tag.as_bytes()).unwrap();
                }
                set.commit().unwrap();
                // under the lock a complete set is one run's: check while the other commits
                let mut seen: Vec<Vec<u8>> = Vec::new();
                let locked = File::open(primary.parent().unwrap()).unwrap();
                locked.lock().unwrap();
                for f in &files {
                    if let Ok(b) = std::fs::read(f) {
                        seen.push(b);
                    }
                }
                drop(locked);
                if seen.len() == files.len() {
                    assert!(seen.windows(2).all(|w| w[0] == w[1]), "mixed set {seen:?}");
                }
            }
        })
    };
    let (a, b) = (run("A"), run("B"));
    a.join().unwrap();
    b.join().unwrap();
    let first = std::fs::read(&files[0]).unwrap();
    for f in &files {
        assert_eq!(std::fs::read(f).unwrap(), first);
    }
    assert_eq!(names(dir.path()).len(), files.len(), "no temporary left");
}

#[test]
fn an_unwritable_folder_is_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // root writes anyway: then there is nothing to refuse
    if File::create(ro.join("probe")).is_ok() {
        return;
    }
    let mut set = OutputSet::new();
    let (_, _, reason) = refusal(set.primary("--out", &ro.join("x.json")).unwrap_err());
    assert!(reason.contains("no file can be created"), "{reason}");
}

#[test]
fn reads_are_bounded_so_an_endless_file_is_refused() {
    let e = read_bytes(Path::new("/dev/zero"), 1000).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    assert!(e.to_string().contains("longer than 1000 bytes"), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.json");
    std::fs::write(&p, b"12345").unwrap();
    assert_eq!(read_bytes(&p, 5).unwrap(), b"12345");
    assert!(read_bytes(&p, 4).is_err());
    std::fs::write(&p, [0xff, 0xfe]).unwrap();
    assert!(read_text(&p).unwrap_err().to_string().contains("not UTF-8"));
    assert!(read_bytes(dir.path(), 5).is_err());
}
