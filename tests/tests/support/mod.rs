//! Helpers shared by the integration tests: run the binaries, read outputs and events.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// A fresh workspace and events file for one test.
pub struct Run {
    pub dir: tempfile::TempDir,
}

impl Run {
    pub fn new() -> Self {
        Run {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn workspace(&self) -> PathBuf {
        self.dir.path().join("ws")
    }

    pub fn events_path(&self) -> PathBuf {
        self.dir.path().join("events.jsonl")
    }

    /// The fixture binary with `--workspace` and `--events` set, run in the temp dir.
    pub fn fixture(&self, args: &[&str]) -> Command {
        self.bin("fixture", args)
    }

    /// The reports example with `--workspace` and `--events` set.
    pub fn reports(&self, args: &[&str]) -> Command {
        self.bin("reports-example", args)
    }

    fn bin(&self, name: &str, args: &[&str]) -> Command {
        let mut cmd = Command::cargo_bin(name).expect("binary built by cargo");
        cmd.current_dir(self.dir.path())
            .args(args)
            .arg("--workspace")
            .arg(self.workspace())
            .arg("--events")
            .arg(self.events_path())
            .env_remove("KART_CONFIG")
            .env_remove("KART_WORKSPACE")
            .env_remove("RUST_LOG");
        cmd
    }

    /// The fixture binary started in the background (stdout and stderr piped), with
    /// `--workspace` and `--events` set, for tests that act on it while it runs.
    pub fn spawn(&self, args: &[&str], extra: &[String]) -> std::process::Child {
        std::process::Command::new(assert_cmd::cargo::cargo_bin("fixture"))
            .args(args)
            .args(extra)
            .arg("--workspace")
            .arg(self.workspace())
            .arg("--events")
            .arg(self.events_path())
            .env_remove("KART_CONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn fixture")
    }

    /// Every event written so far.
    pub fn events(&self) -> Vec<Value> {
        read_events(&self.events_path())
    }

    /// Events of one kind.
    pub fn events_of(&self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == kind)
            .collect()
    }

    /// Parsed JSON output at `key` in the workspace.
    pub fn output(&self, key: &str) -> Value {
        let path = self.workspace().join(key);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
    }

    /// Files under the workspace, relative, sorted (temp files included; kart's own state
    /// under `.kart/` — lock files, the temp-sweep marker — left out).
    pub fn files(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.workspace(), &self.workspace(), &mut out);
        out.retain(|f| !f.starts_with(".kart/"));
        out.sort();
        out
    }
}

/// `RangeDaily` of `Daily` over January 2020 (31 days), all inside its window.
pub const JANUARY_2020: [&str; 11] = [
    "RangeDaily",
    "--of",
    "Daily",
    "--start",
    "2020-01-01",
    "--stop",
    "2020-02-01",
    "--now",
    "2020-02-01T00:00:00",
    "--days-back",
    "100",
];

/// A range's arguments with a task limit of 0: it decides what is missing and runs nothing.
pub fn decide_only<'a>(range: &[&'a str]) -> Vec<&'a str> {
    range.iter().copied().chain(["--task-limit", "0"]).collect()
}

/// The complete events in `path`: a line still being written by a running process (no
/// newline yet) is left for the next read.
pub fn read_events(path: &Path) -> Vec<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| serde_json::from_str(l.trim_end()).expect("event is JSON"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, out);
        } else {
            out.push(
                path.strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

/// stdout and stderr of a finished command, as text.
pub fn text(output: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// One fixture process with its own events file, sharing `ws`.
pub struct Proc {
    pub child: Child,
    pub events: PathBuf,
}

pub fn spawn(ws: &Path, name: &str, args: &[&str], extra: &[String]) -> Proc {
    spawn_with_env(ws, name, args, extra, &[])
}

/// [`spawn`] with environment variables set (`KART_FAILPOINTS`, ...).
pub fn spawn_with_env(
    ws: &Path,
    name: &str,
    args: &[&str],
    extra: &[String],
    env: &[(&str, &str)],
) -> Proc {
    let events = ws.parent().unwrap().join(format!("events-{name}.jsonl"));
    let child = StdCommand::new(assert_cmd::cargo::cargo_bin("fixture"))
        .envs(env.iter().copied())
        .args(args)
        .args(extra)
        .arg("--workspace")
        .arg(ws)
        .arg("--events")
        .arg(&events)
        .env_remove("KART_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fixture");
    Proc { child, events }
}

impl Proc {
    pub fn finish(self) -> (Output, Vec<Value>) {
        let out = self.child.wait_with_output().expect("wait for fixture");
        let events = read_events(&self.events);
        (out, events)
    }
    pub fn events(&self) -> Vec<Value> {
        read_events(&self.events)
    }
    /// Waits until an event of `kind` appears.
    pub fn wait_for(&self, kind: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(e) = self.events().into_iter().find(|e| e["event"] == kind) {
                return e;
            }
            assert!(Instant::now() < deadline, "no `{kind}` event within 20 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

pub fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// Waits for `child` to exit; a process still running after `limit` is a hang: it is killed
/// and the test fails saying what it was doing. (A bound on a hang, not a timing assertion.)
pub fn exit_within(mut child: Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            return status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?}; killed it");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until `pid` is stopped (SIGSTOP, or a failpoint that stopped itself).
pub fn wait_until_stopped(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // `pid (comm) STATE ...`: the state follows the last `)`.
        let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
        if state.is_some_and(|s| s.starts_with('T')) {
            return;
        }
        assert!(
            !state.is_some_and(|s| s.starts_with('Z')),
            "process {pid} exited before it stopped"
        );
        assert!(
            Instant::now() < deadline,
            "process {pid} did not stop within 30 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `kill -NAME` to `pid`.
pub fn send_signal(pid: u32, name: &str) {
    let ok = StdCommand::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name} {pid}");
}

/// kart's temporary files and directories under `root`.
pub fn temp_files(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if kart_core::store::local::is_temp_file_name(&e.file_name().to_string_lossy()) {
                out.push(e.path().display().to_string());
            } else if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// `fixture ARGS --workspace WS` run to the end (a command such as `gc` or `locks`).
pub fn fixture_in(ws: &Path, args: &[&str]) -> Output {
    StdCommand::new(assert_cmd::cargo::cargo_bin("fixture"))
        .args(args)
        .arg("--workspace")
        .arg(ws)
        .env_remove("KART_CONFIG")
        .output()
        .expect("run fixture")
}

/// `command` (one shell line) run under a pseudo-terminal by `script` (util-linux), with
/// extra environment; returns its exit status and everything it drew.
pub fn in_terminal(dir: &Path, command: &str, env: &[(&str, &str)]) -> (bool, String) {
    let log = dir.join(format!(
        "pty-{}.txt",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    let mut script = StdCommand::new("script");
    // A terminal of a known size: the bar fits its line.
    script
        .arg("-qec")
        .arg(format!("stty cols 160 rows 40; {command}"))
        .arg(&log)
        .env_remove("NO_COLOR")
        .env_remove("KART_CONFIG")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    for (k, v) in env {
        script.env(k, v);
    }
    let out = script
        .output()
        .expect("script (util-linux's bsdutils) runs a command under a pseudo-terminal");
    let drawn = std::fs::read_to_string(&log).unwrap_or_default();
    (out.status.success(), drawn)
}
