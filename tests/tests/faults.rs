//! Faults a black-box run found: closed pipes, panicking user code, signals at awkward moments,
//! Redis trouble, racing commits. Each test drives the real binary with real signals and real
//! servers, and counts what happened from outputs and events.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use support::{exit_within, of_kind, text, Run};

/// Long enough that only a hang reaches it.
const HANG: Duration = Duration::from_secs(60);

fn bin(name: &str) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin(name));
    cmd.env_remove("KART_CONFIG").env_remove("RUST_LOG");
    cmd
}

/// `<bin> … 2>&1 | head -1`: stderr closes after one line while the run goes on logging.
fn run_with_stderr_closed_after_one_line(run: &Run, rust_log: Option<&str>, args: &[&str]) {
    let mut cmd = bin("reports-example");
    cmd.args(args)
        .arg("--workspace")
        .arg(run.workspace())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(level) = rust_log {
        cmd.env("RUST_LOG", level);
    }
    let mut child = cmd.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader is gone: every later write to stderr fails with EPIPE.
    let status = exit_within(child, HANG, "run with a closed stderr");
    assert_eq!(status.code(), Some(0), "first line was: {first}");
    assert!(run.workspace().join("reports").exists());
}

#[test]
fn a_closed_stderr_never_hangs_a_run() {
    let run = Run::new();
    run_with_stderr_closed_after_one_line(
        &run,
        None,
        &["AllReports", "--date", "2015-01-03", "-v"],
    );
    let run = Run::new();
    run_with_stderr_closed_after_one_line(
        &run,
        Some("debug"),
        &["AllReports", "--date", "2015-01-03"],
    );
}

/// `<bin> ARGS | true`: stdout is closed before anything is written.
fn with_stdout_closed(args: &[&str]) -> (Option<i32>, String) {
    let mut child = bin("reports-example")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let stderr = child.stderr.take().unwrap();
    let status = exit_within(child, HANG, "run with a closed stdout");
    let mut text = String::new();
    let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut text);
    (status.code(), text)
}

#[test]
fn a_closed_stdout_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let ws = ws.to_str().unwrap();
    for args in [
        vec!["--help"],
        vec!["list"],
        vec![
            "deps",
            "MonthlyRevenue",
            "--month",
            "2015-01",
            "--workspace",
            ws,
        ],
        vec!["AllReports", "--date", "2015-01-03", "--workspace", ws],
    ] {
        let (code, stderr) = with_stdout_closed(&args);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
    }
}

#[test]
fn a_panicking_batch_function_fails_its_members_and_the_run_goes_on() {
    let run = Run::new();
    let child = run.spawn(&["PanickyAndHealthy"], &[]);
    let out = {
        let status = exit_within(child, HANG, "run with a panicking batch function");
        status.code()
    };
    assert_eq!(out, Some(1));
    let events = run.events();
    let failed = of_kind(&events, "failed");
    let members: Vec<&str> = failed
        .iter()
        .filter_map(|e| e["task_id"].as_str())
        .collect();
    assert_eq!(members.len(), 3, "{failed:?}");
    assert!(members.iter().all(|id| id.starts_with("PanickyBatch_")));
    for e in &failed {
        let error = e["error"].as_str().unwrap();
        assert!(
            error.contains("batch function panicked: cannot combine 3 weights"),
            "{error}"
        );
    }
    assert!(of_kind(&events, "started")
        .iter()
        .all(|e| e["family"] == "Chain"));
    assert_eq!(run.output("chain/2.json"), 2);
}

#[test]
fn more_workers_than_the_machine_can_start_is_not_a_crash() {
    let run = Run::new();
    // Address space for a few hundred thread stacks, not for thousands.
    let fixture = assert_cmd::cargo::cargo_bin("fixture");
    let script = format!(
        "ulimit -v 3000000; exec '{}' SleepyFanin --n 3000 --millis 0 --workers 100000 --workspace '{}'",
        fixture.display(),
        run.workspace().display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .env_remove("KART_CONFIG")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("worker threads"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(run.workspace().join("sleepy"))
            .unwrap()
            .count(),
        3000
    );
}
