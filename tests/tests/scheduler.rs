//! The local scheduler through the command line: ordering, isolation of failures, retries,
//! atomic outputs, parallel workers, events.

mod support;

use std::collections::HashMap;

use predicates::prelude::*;
use support::{text, Run};

#[test]
fn requirements_run_first_and_feed_their_outputs() {
    let run = Run::new();
    run.fixture(&["Chain", "--n", "5"]).assert().success();
    for n in 0..=5 {
        assert_eq!(
            run.output(&format!("chain/{n}.json")),
            n,
            "Chain({n}) saw Chain({}) loaded",
            n.max(1) - 1
        );
    }
    let started: Vec<String> = run
        .events_of("started")
        .iter()
        .map(|e| e["params"]["n"].to_string())
        .collect();
    assert_eq!(started, ["0", "1", "2", "3", "4", "5"]);
}

#[test]
fn a_failure_stops_its_dependents_but_not_unrelated_branches() {
    let run = Run::new();
    let out = run
        .fixture(&["Mixed", "--n", "3"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        run.output("chain/3.json"),
        3,
        "the healthy branch completed"
    );
    assert!(!run.workspace().join("boom/3.json").exists());
    assert!(stdout.contains("1 failed"), "{stdout}");
    assert!(stdout.contains("Boom(n=3): boom 3"), "{stdout}");
    assert!(
        stdout.contains("* 1 was not run:") && stdout.contains("did not complete"),
        "{stdout}"
    );
    assert!(
        stderr.contains("error: Boom(n=3) failed: boom 3"),
        "{stderr}"
    );
    let skipped = run.events_of("skipped");
    assert_eq!(skipped.len(), 1);
    assert_eq!(skipped[0]["family"], "Mixed");
}

#[test]
fn a_failing_task_leaves_no_output_and_no_temporary_file() {
    let run = Run::new();
    run.fixture(&["Boom", "--n", "1"]).assert().code(1);
    assert_eq!(
        run.files(),
        Vec::<String>::new(),
        "nothing at all in the workspace"
    );
    // A rerun tries again: nothing looked complete.
    run.fixture(&["Boom", "--n", "1"]).assert().code(1);
    assert_eq!(run.events_of("started").len(), 2);
}

#[test]
fn a_panicking_task_is_a_failure_not_a_crash() {
    let run = Run::new();
    run.fixture(&["Panics", "--n", "7"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("panicked: panic in task 7"));
    let failed = run.events_of("failed");
    assert_eq!(failed.len(), 1);
    assert!(failed[0]["error"]
        .as_str()
        .unwrap()
        .contains("panic in task 7"));
}

#[test]
fn retries_are_counted_and_succeed() {
    let run = Run::new();
    run.fixture(&[
        "Flaky",
        "--name",
        "a",
        "--fail-times",
        "2",
        "--retry-count",
        "2",
        "--retry-delay",
        "0s",
    ])
    .assert()
    .success();
    assert_eq!(
        run.output("flaky/a.json"),
        3,
        "succeeded on the third attempt"
    );
    assert_eq!(run.events_of("started").len(), 3);
    assert_eq!(run.events_of("failed").len(), 2);
    let retried = run.events_of("retried");
    assert_eq!(retried.len(), 2);
    assert_eq!(retried[1]["attempt"], 3);
}

#[test]
fn retries_run_out() {
    let run = Run::new();
    let out = run
        .fixture(&[
            "Flaky",
            "--name",
            "b",
            "--fail-times",
            "5",
            "--retry-count",
            "1",
            "--retry-delay",
            "10ms",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let (stdout, _) = text(&out);
    assert!(stdout.contains("after 2 attempts"), "{stdout}");
    assert_eq!(run.events_of("started").len(), 2);
    assert!(!run.workspace().join("flaky/b.json").exists());
}

#[test]
fn retry_settings_come_from_config() {
    let run = Run::new();
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[scheduler]\nretry_count = 3\nretry_delay = \"0s\"\n",
    )
    .unwrap();
    run.fixture(&["Flaky", "--name", "c", "--fail-times", "3"])
        .assert()
        .success();
    assert_eq!(run.events_of("started").len(), 4);
}

#[test]
fn a_shared_requirement_runs_once() {
    let run = Run::new();
    run.fixture(&["Diamond", "--n", "2"]).assert().success();
    let mut starts: HashMap<String, usize> = HashMap::new();
    for e in run.events_of("started") {
        *starts
            .entry(e["task_id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(starts.values().all(|&c| c == 1), "{starts:?}");
    // Chain(0..=3) and Diamond.
    assert_eq!(starts.len(), 5);
    assert_eq!(run.output("diamond/2.json"), 2 + 2 + 3);
}

#[test]
fn outputs_in_messagepack_round_trip() {
    let run = Run::new();
    run.fixture(&["Unpacked", "--n", "4"]).assert().success();
    assert_eq!(run.output("unpacked/4.json"), 16);
    let packed = std::fs::read(run.workspace().join("packed/4.msgpack")).unwrap();
    assert!(
        serde_json::from_slice::<serde_json::Value>(&packed).is_err(),
        "binary, not JSON"
    );
}

#[test]
fn typed_inputs_are_loaded_from_dependencies() {
    let run = Run::new();
    run.fixture(&["StatsReport", "--n", "4"]).assert().success();
    assert_eq!(run.output("stats-report/4.json"), "4 -> 10");
}

#[test]
fn workers_run_tasks_in_parallel() {
    let run = Run::new();
    run.fixture(&[
        "SleepyFanin",
        "--n",
        "8",
        "--millis",
        "200",
        "--workers",
        "4",
    ])
    .assert()
    .success();
    // Replay the event stream: how many tasks were running at once.
    let (mut running, mut peak) = (0i32, 0i32);
    let mut workers = std::collections::HashSet::new();
    for e in run.events() {
        match e["event"].as_str().unwrap() {
            "started" => {
                running += 1;
                peak = peak.max(running);
                workers.insert(e["worker"].as_str().unwrap().to_string());
            }
            "succeeded" | "failed" => running -= 1,
            _ => {}
        }
    }
    assert!(peak > 1 && peak <= 4, "peak concurrency {peak}");
    assert!(workers.len() > 1, "{workers:?}");
}

#[test]
fn events_carry_the_documented_fields() {
    let run = Run::new();
    run.fixture(&["Mixed", "--n", "1"]).assert().code(1);
    let events = run.events();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for kind in ["scheduled", "started", "succeeded", "failed", "skipped"] {
        assert!(kinds.contains(&kind), "{kind} missing from {kinds:?}");
    }
    for e in &events {
        for field in ["ts", "event", "task_id", "family", "pid"] {
            assert!(!e[field].is_null(), "{field} missing in {e}");
        }
    }
    let failed = &run.events_of("failed")[0];
    assert_eq!(failed["error"], "boom 1");
    assert_eq!(failed["params"]["n"], 1);
    assert!(failed["worker"].as_str().unwrap().starts_with("worker-"));
    assert!(failed["task_id"].as_str().unwrap().starts_with("Boom_1_"));
}

#[test]
fn a_complete_requirement_is_reported_and_not_rerun() {
    let run = Run::new();
    run.fixture(&["Chain", "--n", "1"]).assert().success();
    run.fixture(&["Chain", "--n", "3"]).assert().success();
    let complete = run.events_of("already_complete");
    assert_eq!(complete.len(), 1);
    assert_eq!(complete[0]["params"]["n"], 1);
    assert_eq!(
        run.events_of("started").len(),
        4,
        "Chain(0), Chain(1), then Chain(2), Chain(3)"
    );
}

#[test]
fn a_dependency_cycle_is_an_error() {
    let run = Run::new();
    run.fixture(&["Cyclic", "--n", "0"])
        .assert()
        .code(2)
        .stderr(predicate::str::is_match(r"^error: dependency cycle: Cyclic_0_\w+ requires Cyclic_1_\w+ requires Cyclic_0_\w+\n$").unwrap());
}

#[test]
fn priorities_from_the_attribute_order_the_ready_tasks() {
    let run = Run::new();
    run.fixture(&["Urgents", "--count", "6", "--workers", "1"])
        .assert()
        .success();
    let log = std::fs::read_to_string(run.workspace().join("runs.log")).unwrap();
    let order: Vec<&str> = log.lines().map(|l| l.split_once(' ').unwrap().1).collect();
    assert_eq!(
        order,
        ["urgent 0", "urgent 2", "urgent 4", "urgent 5", "urgent 3", "urgent 1"]
    );
}

#[test]
fn a_family_priority_from_the_command_line_replaces_the_attributes() {
    let run = Run::new();
    run.fixture(&[
        "Urgents",
        "--count",
        "4",
        "--workers",
        "1",
        "--Urgent-priority",
        "-3",
    ])
    .assert()
    .success();
    let log = std::fs::read_to_string(run.workspace().join("runs.log")).unwrap();
    let order: Vec<&str> = log.lines().map(|l| l.split_once(' ').unwrap().1).collect();
    assert_eq!(order, ["urgent 0", "urgent 1", "urgent 2", "urgent 3"]);
}

#[test]
fn retry_delays_grow_by_the_backoff_and_take_a_jitter() {
    let run = Run::new();
    run.fixture(&[
        "Flaky",
        "--name",
        "backoff",
        "--fail-times",
        "3",
        "--retry-count",
        "3",
        "--retry-delay",
        "40ms",
        "--retry-backoff",
        "2",
    ])
    .assert()
    .success();
    let delays: Vec<f64> = run
        .events_of("retried")
        .iter()
        .map(|e| e["delay_secs"].as_f64().unwrap())
        .collect();
    assert_eq!(delays, [0.04, 0.08, 0.16]);

    let run = Run::new();
    run.fixture(&[
        "Flaky",
        "--name",
        "jitter",
        "--fail-times",
        "2",
        "--retry-count",
        "2",
        "--retry-delay",
        "10ms",
        "--retry-jitter",
        "50ms",
    ])
    .assert()
    .success();
    for e in run.events_of("retried") {
        let delay = e["delay_secs"].as_f64().unwrap();
        assert!((0.01..=0.06).contains(&delay), "{delay}");
    }
    let bad = run
        .fixture(&["Flaky", "--name", "x", "--retry-backoff", "0.5"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad).1.contains("retry_backoff"), "{}", text(&bad).1);
}
