//! Helpers shared by the integration tests: run the binaries, read outputs and events.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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

pub fn read_events(path: &Path) -> Vec<Value> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .map(|l| serde_json::from_str(l).expect("event is JSON"))
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
