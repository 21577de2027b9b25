//! Progress: a live bar under a terminal, clean log lines without one.

mod support;

use support::{in_terminal, send_signal, text, Run};

#[test]
fn a_terminal_shows_the_live_bar_and_an_honest_last_line() {
    let run = Run::new();
    let bin = assert_cmd::cargo::cargo_bin("fixture");
    let cmd = format!(
        "{} SleepyFanin --n 12 --millis 100 --workers 3 --workspace {}",
        bin.display(),
        run.workspace().display()
    );
    let (ok, drawn) = in_terminal(run.dir.path(), &cmd, &[]);
    assert!(ok, "{drawn}");
    assert!(
        drawn.contains("/13 settled") && drawn.contains("running: Sleepy"),
        "{drawn}"
    );
    assert!(drawn.contains(" tasks/s"), "a rate: {drawn}");
    assert!(drawn.contains("13 tasks to run: 13 done in "), "{drawn}");
}

#[test]
fn an_interrupted_run_says_how_many_were_done_and_how_many_never_ran() {
    let run = Run::new();
    let bin = assert_cmd::cargo::cargo_bin("fixture");
    let cmd = format!(
        "{} SleepyFanin --n 40 --millis 200 --workers 2 --workspace {} --events {}",
        bin.display(),
        run.workspace().display(),
        run.events_path().display()
    );
    let dir = run.dir.path().to_path_buf();
    let terminal = std::thread::spawn(move || in_terminal(&dir, &cmd, &[]));
    // Ctrl-C once a few tasks are done.
    let pid = loop {
        let done = run.events_of("succeeded");
        if done.len() >= 3 {
            break done[0]["pid"].as_u64().unwrap() as u32;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    send_signal(pid, "INT");
    let (ok, drawn) = terminal.join().unwrap();
    assert!(!ok, "interrupted: {drawn}");
    let done = run.events_of("succeeded").len();
    let not_run = run.events_of("skipped").len();
    assert!(not_run > 0, "{drawn}");
    let failed = 41 - done - not_run;
    let mut expected = format!("41 tasks to run: {done} done, ");
    if failed > 0 {
        expected.push_str(&format!("{failed} failed, "));
    }
    expected.push_str(&format!("{not_run} not run; interrupted after "));
    assert!(drawn.contains(&expected), "{expected:?} in {drawn}");
    assert!(!drawn.contains("41/41"), "{drawn}");
}

#[test]
fn error_is_red_on_a_terminal_and_plain_with_no_color_or_without_one() {
    let run = Run::new();
    let bin = assert_cmd::cargo::cargo_bin("fixture");
    let cmd = format!(
        "{} Boom --n 1 --workspace {}",
        bin.display(),
        run.workspace().display()
    );
    let (ok, drawn) = in_terminal(run.dir.path(), &cmd, &[]);
    assert!(!ok);
    assert!(
        drawn.contains("\u{1b}[1;31merror:\u{1b}[0m Boom(n=1) failed: boom 1"),
        "{drawn:?}"
    );
    let (_, drawn) = in_terminal(run.dir.path(), &cmd, &[("NO_COLOR", "1")]);
    assert!(
        drawn.contains("error: Boom(n=1) failed: boom 1"),
        "{drawn:?}"
    );
    assert!(!drawn.contains("\u{1b}[1;31m"), "{drawn:?}");
    let out = run.fixture(&["Boom", "--n", "1"]).output().unwrap();
    let (_, stderr) = text(&out);
    assert!(
        stderr.starts_with("error: Boom(n=1) failed: boom 1\n"),
        "{stderr:?}"
    );
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

#[test]
fn each_failure_is_told_once_and_the_summary_groups_them_by_cause() {
    let run = Run::new();
    std::fs::create_dir_all(run.workspace().join("stats")).unwrap();
    std::fs::write(run.workspace().join("stats/3.json"), "{ not json").unwrap();
    let out = run
        .fixture(&[
            "StatsReaders",
            "--n",
            "3",
            "--count",
            "28",
            "--retry-count",
            "2",
            "--retry-delay",
            "0",
            "--workers",
            "4",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = text(&out);
    // Three attempts each, one line each.
    assert_eq!(run.events_of("failed").len(), 28 * 3);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 28, "{stderr}");
    assert!(
        errors
            .iter()
            .all(|l| l.starts_with("error: StatsReader(") && l.contains("corrupt cached output")),
        "{stderr}"
    );
    assert!(!stderr.contains("WARN"), "{stderr}");
    // One line for the one cause, with examples.
    assert!(
        stdout.contains("* 28 failed:\n    - 28 tasks: corrupt cached output "),
        "{stdout}"
    );
    assert!(stdout.contains("        e.g. StatsReader("), "{stdout}");
    assert!(stdout.contains(" and 23 more\n"), "{stdout}");
    assert!(
        stdout.contains(
            "* 1 was not run:\n    - StatsReaders(n=3, count=28): requirement StatsReader_"
        ),
        "{stdout}"
    );
}

#[test]
fn quiet_prints_nothing_on_success_and_only_the_failures_on_failure() {
    let run = Run::new();
    let out = run.fixture(&["Chain", "--n", "2", "-q"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out), (String::new(), String::new()));
    let out = run.fixture(&["Mixed", "--n", "1", "-q"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (stdout, stderr) = text(&out);
    assert_eq!(stdout, "", "no summary on stdout");
    assert!(
        stderr.starts_with("* 1 failed:\n    - Boom(n=1): boom 1\n* 1 was not run:\n    - Mixed(n=1): requirement Boom_1_"),
        "{stderr}"
    );
    assert!(!stderr.contains("ran successfully"), "{stderr}");
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
