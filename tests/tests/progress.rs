//! Progress: a live bar under a terminal, clean log lines without one.

mod support;

use support::{text, Run};

#[test]
fn a_terminal_shows_the_live_bar() {
    let run = Run::new();
    let bin = assert_cmd::cargo::cargo_bin("fixture");
    let cmd = format!(
        "{} SleepyFanin --n 12 --millis 100 --workers 3 --workspace {}",
        bin.display(),
        run.workspace().display()
    );
    // `script` runs the command under a pseudo-terminal and records what it drew.
    let log = run.dir.path().join("pty.txt");
    let out = std::process::Command::new("script")
        .arg("-qec")
        .arg(&cmd)
        .arg(&log)
        .output()
        .expect("script (bsdutils)");
    assert!(out.status.success(), "{}", text(&out).1);
    let drawn = std::fs::read_to_string(&log).unwrap();
    assert!(
        drawn.contains("/13 tasks") && drawn.contains("running: Sleepy"),
        "{drawn}"
    );
    assert!(drawn.contains("13/13 tasks done in "), "{drawn}");
}

#[test]
fn without_a_terminal_there_is_no_bar_only_log_lines_on_request() {
    let run = Run::new();
    let out = run
        .fixture(&["SleepyFanin", "--n", "3", "--millis", "10"])
        .assert()
        .success()
        .get_output()
        .clone();
    let (_, stderr) = text(&out);
    assert!(stderr.is_empty(), "nothing drawn into logs: {stderr:?}");
    let out = run
        .fixture(&["Chain", "--n", "1", "-v"])
        .assert()
        .success()
        .get_output()
        .clone();
    let (_, stderr) = text(&out);
    assert!(!stderr.contains('\u{1b}'), "no escape codes: {stderr:?}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.iter().any(|l| l.contains("INFO started Chain_0_")),
        "{stderr}"
    );
    assert!(
        lines.iter().any(|l| l.contains("INFO succeeded Chain_1_")),
        "{stderr}"
    );
}
