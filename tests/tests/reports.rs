//! The example pipeline, end to end through its command line.

mod support;

use predicates::prelude::*;
use support::{text, Run};

const REPORTS: [&str; 5] = [
    "SomeReport",
    "SomeOtherReport",
    "CropReport",
    "TPSReport",
    "FooBarBazReport",
];

#[test]
fn all_reports_writes_the_five_reports_and_a_rerun_starts_nothing() {
    let run = Run::new();
    run.reports(&["AllReports", "--date", "2015-01-01"])
        .assert()
        .success();
    for family in REPORTS {
        let report = run.output(&format!("reports/{family}/2015-01-01.json"));
        assert_eq!(report["date"], "2015-01-01", "{family}");
    }
    // No temporary files left beside the outputs.
    assert!(
        run.files().iter().all(|f| !f.contains(".tmp")),
        "{:?}",
        run.files()
    );
    let started_first = run.events_of("started").len();
    assert_eq!(
        started_first, 7,
        "five reports, their shared input and the wrapper"
    );

    let out = run
        .reports(&["AllReports", "--date", "2015-01-01"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        run.events_of("started").len(),
        started_first,
        "the rerun started nothing"
    );
    let (stdout, _) = text(&out);
    // The complete wrapper is decided from its five reports, and all the rerun reports.
    assert!(
        stdout.contains("* 1 was already complete:\n    - AllReports(date=2015-01-01)"),
        "{stdout}"
    );
}

#[test]
fn the_registry_holds_the_example_tasks() {
    let run = Run::new();
    let out = assert_cmd::Command::cargo_bin("reports-example")
        .unwrap()
        .arg("list")
        .assert()
        .success()
        .get_output()
        .clone();
    let (stdout, _) = text(&out);
    for family in REPORTS
        .iter()
        .chain(&["AllReports (wrapper)", "DailySales"])
    {
        assert!(
            stdout.lines().any(|l| l == *family),
            "{family} missing from:\n{stdout}"
        );
    }
    drop(run);
}

#[test]
fn all_reports_defaults_to_today() {
    let run = Run::new();
    let today = chrono::Local::now().date_naive().to_string();
    run.reports(&["AllReports", "--dry-run"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "SomeReport(date={today})"
        )));
    assert!(
        run.files().is_empty(),
        "a dry run writes nothing: {:?}",
        run.files()
    );
}

#[test]
fn dry_run_lists_pending_tasks_requirements_first() {
    let run = Run::new();
    let plan = |run: &Run| -> Vec<String> {
        let out = run
            .reports(&["AllReports", "--date", "2015-01-01", "--dry-run"])
            .assert()
            .success()
            .get_output()
            .clone();
        text(&out)
            .0
            .lines()
            .skip(1)
            .map(|l| l.trim().to_string())
            .collect()
    };
    let lines = plan(&run);
    let pos = |lines: &[String], name: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("{name} not in {lines:?}"))
    };
    assert_eq!(lines.len(), 7, "{lines:?}");
    assert!(pos(&lines, "DailySales") < pos(&lines, "TPSReport"));
    assert_eq!(
        lines.last().map(String::as_str),
        Some("AllReports(date=2015-01-01)")
    );
    assert!(
        run.files().is_empty(),
        "a dry run writes nothing: {:?}",
        run.files()
    );

    run.reports(&["SomeReport", "--date", "2015-01-01"])
        .assert()
        .success();
    let lines = plan(&run);
    assert_eq!(lines.len(), 5, "complete tasks are not listed: {lines:?}");
    assert!(!lines
        .iter()
        .any(|l| l.starts_with("SomeReport(") || l.starts_with("DailySales(")));
    assert_eq!(
        run.events_of("started").len(),
        2,
        "only the real run started tasks"
    );
}

#[test]
fn task_help_shows_docs_types_and_defaults() {
    let out = assert_cmd::Command::cargo_bin("reports-example")
        .unwrap()
        .args(["AllReports", "--help"])
        .assert()
        .success()
        .get_output()
        .clone();
    let (stdout, _) = text(&out);
    assert!(stdout.contains("Every report of one day"), "{stdout}");
    assert!(stdout.contains("The day to report on"), "{stdout}");
    assert!(stdout.contains("date (YYYY-MM-DD)"), "{stdout}");
    assert!(stdout.contains("[default: "), "{stdout}");
}
