//! The output guarantees (README, "Outputs"), one test per class: every output path checked
//! by its flag before the work, inputs never overwritten, long names, tools found before any
//! work, failed writes named once, no panic on a full disk.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{config_path, data_dir, fails, nsm, quantize, stderr};

/// Runs `nsm args` with the environment `env` set.
fn nsm_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_nsm"))
        .args(args)
        .envs(env.iter().copied())
        .env_remove("NSM_MNIST_DIR")
        .output()
        .expect("the nsm binary runs")
}

/// `nsm args` must fail with exit code 1 (a refusal, not a usage error or a panic); stderr.
fn refused(args: &[&str]) -> String {
    let o = nsm(args);
    assert_eq!(o.status.code(), Some(1), "nsm {args:?}: {}", stderr(&o));
    stderr(&o)
}

/// Names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A network of 8 hidden neurons trained for one short epoch, into `dir/net.json`.
fn small_net(dir: &Path) -> PathBuf {
    small_net_at(&dir.join("net.json"))
}

fn small_net_at(out: &Path) -> PathBuf {
    let o = nsm(&[
        "train",
        "--hidden",
        "8",
        "--epochs",
        "1",
        "--limit",
        "100",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "train failed: {}", stderr(&o));
    out.to_path_buf()
}

/// A quantized network for the default engine, into `dir/q.json`.
fn small_qnet(dir: &Path) -> PathBuf {
    let net = small_net(dir);
    quantize(dir, &net, &config_path())
}

#[test]
fn a_bad_output_path_is_refused_by_flag_and_value_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let folder = d.join("runs");
    std::fs::create_dir(&folder).unwrap();
    let slash = format!("{}/", folder.display());
    let missing = d.join("missing").join("net.json");
    let (folder_s, missing_s) = (folder.to_str().unwrap(), missing.to_str().unwrap());
    // not --quiet: the first thing training prints would show that the work had started
    let train = |out: &str| {
        let e = refused(&[
            "train", "--hidden", "4", "--epochs", "1", "--limit", "20", "--out", out,
        ]);
        assert!(!e.contains("training"), "refused only after starting: {e}");
        e
    };
    let e = train(folder_s);
    assert!(e.contains(&format!("--out {folder_s}: is a folder")), "{e}");
    let e = train(&slash);
    assert!(e.contains(&format!("--out {slash}: names a folder")), "{e}");
    let e = train(missing_s);
    assert!(
        e.contains(&format!("--out {missing_s}")) && e.contains("does not exist"),
        "{e}"
    );
    let beside_file = d.join("file.txt");
    std::fs::write(&beside_file, "x").unwrap();
    let under_file = beside_file.join("net.json");
    let e = train(under_file.to_str().unwrap());
    assert!(e.contains("file.txt is not a folder"), "{e}");
    assert!(names(&folder).is_empty(), "{:?}", names(&folder));

    // the other commands: each flag of each output, before the work
    let q = small_qnet(d);
    let (q_s, c_s) = (q.to_str().unwrap(), config_path());
    let c_s = c_s.to_str().unwrap();
    let before = names(d);
    for (args, flag) in [
        (
            vec![
                "sim", "--qnet", q_s, "--config", c_s, "--images", "1", "--vcd", folder_s,
            ],
            "--vcd",
        ),
        (
            vec![
                "quantize", "--net", q_s, "--config", c_s, "--out", missing_s,
            ],
            "--out",
        ),
        (
            vec![
                "plot-firing",
                "--qnet",
                q_s,
                "--config",
                c_s,
                "--out",
                missing_s,
            ],
            "--out",
        ),
        (
            vec![
                "train-onchip",
                "--qnet",
                q_s,
                "--config",
                c_s,
                "--steps",
                "5",
                "--plot",
                missing_s,
            ],
            "--plot",
        ),
        (
            vec![
                "train-onchip",
                "--qnet",
                q_s,
                "--config",
                c_s,
                "--steps",
                "5",
                "--out",
                folder_s,
            ],
            "--out",
        ),
        (
            vec![
                "train-onchip",
                "--qnet",
                q_s,
                "--config",
                c_s,
                "--steps",
                "5",
                "--curves",
                &slash,
            ],
            "--curves",
        ),
        (
            vec![
                "board-stream",
                "--board",
                "icebreaker",
                "--qnet",
                q_s,
                "--config",
                c_s,
                "--out",
                missing_s,
            ],
            "--out",
        ),
        (
            vec![
                "synth-report",
                "--target",
                "generic",
                "--sizes",
                "1",
                "--out-dir",
                beside_file.to_str().unwrap(),
            ],
            "--out-dir",
        ),
        (
            vec![
                "bitstream",
                "--board",
                "icebreaker",
                "--out-dir",
                beside_file.to_str().unwrap(),
            ],
            "--out-dir",
        ),
        (
            vec![
                "synth",
                "--target",
                "generic",
                "--work-dir",
                beside_file.to_str().unwrap(),
            ],
            "--work-dir",
        ),
    ] {
        let e = refused(&args);
        assert!(e.contains(flag), "{args:?}: {e}");
        assert!(
            !e.contains("step ") && !e.contains("synthesizing"),
            "{args:?}: {e}"
        );
    }
    assert_eq!(names(d), before, "a refused run writes nothing");
}

#[test]
fn an_input_is_never_overwritten_by_an_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let net = small_net(d);
    let bytes = std::fs::read(&net).unwrap();
    let (net_s, cfg) = (net.to_str().unwrap(), config_path());
    let cfg_s = cfg.to_str().unwrap();
    // the same file, spelt the same, through ./ and through a hard link
    let link = d.join("link.json");
    std::fs::hard_link(&net, &link).unwrap();
    let dotted = format!("{}/./net.json", d.display());
    for out in [net_s, dotted.as_str(), link.to_str().unwrap()] {
        let e = refused(&["quantize", "--net", net_s, "--config", cfg_s, "--out", out]);
        assert!(e.contains(&format!("--out {out}")), "{e}");
        assert!(
            e.contains("is the input") && e.contains("would be overwritten"),
            "{e}"
        );
    }
    assert_eq!(
        std::fs::read(&net).unwrap(),
        bytes,
        "the input is untouched"
    );
    assert_eq!(names(d), ["link.json", "net.json"]);
    // the training data, and a board session's network
    let images = data_dir().join("train-images-idx3-ubyte.gz");
    let before = std::fs::read(&images).unwrap();
    let e = refused(&[
        "train",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--limit",
        "20",
        "--quiet",
        "--out",
        images.to_str().unwrap(),
    ]);
    assert!(e.contains("is the input"), "{e}");
    assert_eq!(std::fs::read(&images).unwrap(), before);
    let q = quantize(d, &net, &cfg);
    let q_bytes = std::fs::read(&q).unwrap();
    let q_s = q.to_str().unwrap();
    let e = refused(&[
        "board-stream",
        "--board",
        "icebreaker",
        "--qnet",
        q_s,
        "--config",
        cfg_s,
        "--out",
        q_s,
    ]);
    assert!(e.contains("is the input"), "{e}");
    assert_eq!(std::fs::read(&q).unwrap(), q_bytes);
    // two outputs of one command cannot be one file either
    let svg = d.join("firing.json");
    let e = refused(&[
        "plot-firing",
        "--qnet",
        q_s,
        "--config",
        cfg_s,
        "--limit",
        "2",
        "--out",
        svg.to_str().unwrap(),
    ]);
    assert!(e.contains("is also the output of --out"), "{e}");
    let stream = d.join("s.bin");
    let e = refused(&[
        "board-stream",
        "--board",
        "icebreaker",
        "--qnet",
        q_s,
        "--config",
        cfg_s,
        "--out",
        stream.to_str().unwrap(),
        "--expect",
        stream.to_str().unwrap(),
    ]);
    assert!(e.contains("--out") && e.contains("--expect"), "{e}");
    assert!(!stream.exists() && !svg.exists());
}

#[test]
fn a_255_byte_file_name_works_and_a_longer_one_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("n".repeat(250) + ".json");
    small_net_at(&long);
    let o = nsm(&[
        "eval",
        "--net",
        long.to_str().unwrap(),
        "--mc",
        "2",
        "--limit",
        "10",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let too_long = dir.path().join("n".repeat(251) + ".json");
    let e = refused(&[
        "train",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--limit",
        "20",
        "--out",
        too_long.to_str().unwrap(),
    ]);
    assert!(e.contains("--out") && e.contains("too long"), "{e}");
    assert!(!e.contains("training"), "{e}");
    // quantize's memory images take longer names than its --out: refused by their names,
    // nothing written
    let e = refused(&[
        "quantize",
        "--net",
        long.to_str().unwrap(),
        "--config",
        config_path().to_str().unwrap(),
        "--out",
        dir.path().join("q".repeat(250) + ".json").to_str().unwrap(),
    ]);
    assert!(e.contains("weights.hex") && e.contains("too long"), "{e}");
    assert_eq!(names(dir.path()).len(), 1);
}

#[test]
fn every_tool_and_override_is_found_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (out, work) = (d.join("out"), d.join("work"));
    let (out_s, work_s) = (out.to_str().unwrap(), work.to_str().unwrap());
    let bogus = d.join("no-such-yosys");
    let bogus_s = bogus.to_str().unwrap();
    // bitstream: Yosys's override names nothing; neither folder is created
    let o = nsm_env(
        &[
            "bitstream",
            "--board",
            "icebreaker",
            "--out-dir",
            out_s,
            "--work-dir",
            work_s,
        ],
        &[("NSM_YOSYS", bogus_s)],
    );
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("NSM_YOSYS={bogus_s}: no such file")),
        "{e}"
    );
    // nextpnr, which runs after Yosys, is found before it too
    for args in [
        vec!["synth", "--target", "up5k", "--work-dir", work_s],
        vec![
            "synth-report",
            "--target",
            "up5k",
            "--sizes",
            "1,2",
            "--out-dir",
            out_s,
            "--work-dir",
            work_s,
        ],
        vec![
            "bitstream",
            "--board",
            "icebreaker",
            "--out-dir",
            out_s,
            "--work-dir",
            work_s,
        ],
    ] {
        let o = nsm_env(&args, &[("NSM_NEXTPNR_ICE40", bogus_s)]);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        let e = stderr(&o);
        assert!(
            e.contains("NSM_NEXTPNR_ICE40") && e.contains(bogus_s),
            "{args:?}: {e}"
        );
        assert!(!e.contains("synthesizing"), "{e}");
    }
    // synth-report checks every size before the first synthesis
    let e = refused(&[
        "synth-report",
        "--target",
        "generic",
        "--sizes",
        "1,40",
        "--out-dir",
        out_s,
        "--work-dir",
        work_s,
    ]);
    assert!(e.contains("40x40") && !e.contains("synthesizing"), "{e}");
    assert!(!out.exists() && !work.exists(), "{:?}", names(d));
}

#[test]
fn a_failed_write_names_the_file_and_the_os_error_once_and_never_panics() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let check = |e: &str| {
        assert!(e.contains("/dev/full could not be written: "), "{e}");
        assert_eq!(e.matches("/dev/full").count(), 1, "{e}");
        assert_eq!(e.matches("No space left on device").count(), 1, "{e}");
        assert!(!e.contains("cannot read") && !e.contains("panicked"), "{e}");
    };
    check(&refused(&[
        "train",
        "--hidden",
        "4",
        "--epochs",
        "1",
        "--limit",
        "20",
        "--quiet",
        "--out",
        "/dev/full",
    ]));
    // rust-hdl's VCD writer unwraps its writes: a full disk used to panic (exit 101)
    let q = small_qnet(dir.path());
    check(&refused(&[
        "sim",
        "--qnet",
        q.to_str().unwrap(),
        "--config",
        config_path().to_str().unwrap(),
        "--images",
        "1",
        "--vcd",
        "/dev/full",
    ]));
}

#[test]
fn a_refused_run_leaves_the_earlier_complete_set_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let net = small_net(d);
    let q = quantize(d, &net, &config_path());
    let set: Vec<(String, Vec<u8>)> = names(d)
        .into_iter()
        .map(|n| (n.clone(), std::fs::read(d.join(&n)).unwrap()))
        .collect();
    // a configuration the network does not fit: refused after the outputs were planned
    let narrow = d.join("narrow.json");
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(config_path()).unwrap()).unwrap();
    cfg["max_fan_in"] = 16.into();
    std::fs::write(&narrow, cfg.to_string()).unwrap();
    let e = fails(&[
        "quantize",
        "--net",
        net.to_str().unwrap(),
        "--config",
        narrow.to_str().unwrap(),
        "--out",
        q.to_str().unwrap(),
    ]);
    assert!(!e.is_empty());
    std::fs::remove_file(&narrow).unwrap();
    for (n, bytes) in &set {
        assert_eq!(&std::fs::read(d.join(n)).unwrap(), bytes, "{n} changed");
    }
    assert_eq!(
        names(d).len(),
        set.len(),
        "no temporary left: {:?}",
        names(d)
    );
}
