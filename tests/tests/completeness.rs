//! Completeness a family defines itself (`#[task(complete = f)]`, `#[task(bulk_complete = f)]`):
//! used by the scheduler, `deps` and ranges instead of "the output exists", and Luigi's
//! `bulk_complete` range case.

mod support;

use support::{text, Run};

fn write(run: &Run, file: &str, lines: &[&str]) {
    std::fs::create_dir_all(run.workspace()).unwrap();
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(run.workspace().join(file), text).unwrap();
}

fn lines(run: &Run, file: &str) -> Vec<String> {
    std::fs::read_to_string(run.workspace().join(file))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn started(run: &Run) -> Vec<String> {
    run.events_of("started")
        .iter()
        .map(|e| e["family"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_family_rule_decides_for_the_scheduler_and_deps_and_a_rerun_starts_nothing() {
    let run = Run::new();
    // Day 2 is loaded already, by the family's rule; no output file says so.
    write(&run, "partitions.txt", &["2015-01-02"]);
    run.fixture(&["PartitionReport", "--day", "2015-01-02"])
        .assert()
        .success();
    assert_eq!(started(&run), ["PartitionReport"]);
    assert!(lines(&run, "partition-runs.txt").is_empty());
    let out = run
        .fixture(&["deps", "PartitionReport", "--day", "2015-01-03"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert_eq!(
        text(&out).0,
        "[PENDING] PartitionReport(day=2015-01-03)\n└── [PENDING] Partition(day=2015-01-03)\n"
    );
    run.fixture(&["PartitionReport", "--day", "2015-01-03"])
        .assert()
        .success();
    assert_eq!(lines(&run, "partition-runs.txt"), ["2015-01-03"]);
    let before = started(&run).len();
    run.fixture(&["PartitionReport", "--day", "2015-01-03"])
        .assert()
        .success();
    assert_eq!(started(&run).len(), before, "the rerun starts nothing");
    let out = run
        .fixture(&["deps", "PartitionReport", "--day", "2015-01-03"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        text(&out)
            .0
            .ends_with("└── [complete] Partition(day=2015-01-03)\n"),
        "{}",
        text(&out).0
    );
}

#[test]
fn a_failing_rule_is_one_line_naming_the_task_and_nothing_runs_below_it() {
    let run = Run::new();
    write(&run, "partitions.broken", &[]);
    let out = run
        .fixture(&["PartitionReport", "--day", "2015-01-04"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = text(&out);
    assert!(
        stderr.starts_with("error: Partition(day=2015-01-04) failed: cannot decide whether Partition(day=2015-01-04) is complete: partition catalog unreachable\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(started(&run).is_empty());
    assert!(!run.workspace().join("partition-report").exists());
}

/// Luigi's `range_test.py` case with `bulk_complete` returning all but two days.
#[test]
fn a_range_asks_bulk_complete_once_and_requires_exactly_the_days_it_leaves_out() {
    let run = Run::new();
    write(&run, "not-done.txt", &["2015-01-03", "2015-01-07"]);
    let range = [
        "RangeDaily",
        "--of",
        "BulkDay",
        "--start",
        "2015-01-01",
        "--stop",
        "2015-01-11",
        "--days-back",
        "100000",
        "--now",
        "2020-01-01T00",
    ];
    let mut dry = range.to_vec();
    dry.push("--dry-run");
    let out = run.fixture(&dry).assert().success().get_output().clone();
    assert_eq!(
        text(&out).0,
        "Would run 3 tasks, in this order:\n  BulkDay(day=2015-01-03)\n  BulkDay(day=2015-01-07)\n  RangeDaily(of=BulkDay, of_params={}, start=2015-01-01, stop=2015-01-11, reverse=false, task_limit=50, param_name=day, days_back=100000, days_forward=0, now=2020-01-01T00)\n"
    );
    // One call for the window's ten days; the per-instance rule only for the two required
    // (the scheduler's own look before it runs them), never for the eight complete days.
    assert_eq!(
        lines(&run, "rule-calls.txt"),
        ["bulk 10", "complete 2015-01-03", "complete 2015-01-07"]
    );
    run.fixture(&range).assert().success();
    let ran: Vec<String> = run
        .events_of("succeeded")
        .iter()
        .filter(|e| e["family"] == "BulkDay")
        .map(|e| e["params"]["day"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ran, ["2015-01-03", "2015-01-07"]);
    std::fs::remove_file(run.workspace().join("rule-calls.txt")).unwrap();
    let before = started(&run).len();
    run.fixture(&range).assert().success();
    assert_eq!(started(&run).len(), before, "the rerun starts nothing");
    assert_eq!(lines(&run, "rule-calls.txt"), ["bulk 10"]);
}
