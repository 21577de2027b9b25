//! Scheduler resources: limits under many workers, parameter-derived names, giving units
//! back at run time, impossible requests, and limits across processes through Redis.

mod support;

use std::collections::HashMap;
use std::process::{Command, Stdio};

use kart_tests::redis_server::RedisServer;
use serde_json::Value;
use support::{read_events, text, Run};

/// Highest number of tasks of `family` (grouped by `key`) running at once, from events of one
/// or more processes.
fn peak(events: &[Value], family: &str, key: impl Fn(&Value) -> String) -> HashMap<String, i32> {
    let mut marks: Vec<(String, u8, String)> = events
        .iter()
        .filter(|e| e["family"] == family)
        .filter_map(|e| match e["event"].as_str() {
            // Ends sort before starts at the same millisecond: units are released after the end.
            Some("succeeded") | Some("failed") => Some((e["ts"].as_str()?.to_string(), 0, key(e))),
            Some("started") => Some((e["ts"].as_str()?.to_string(), 1, key(e))),
            _ => None,
        })
        .collect();
    marks.sort();
    let (mut now, mut top): (HashMap<String, i32>, HashMap<String, i32>) =
        (HashMap::new(), HashMap::new());
    for (_, kind, k) in marks {
        let n = now.entry(k.clone()).or_default();
        *n += if kind == 1 { 1 } else { -1 };
        let t = top.entry(k).or_default();
        *t = (*t).max(*n);
    }
    top
}

#[test]
fn a_limit_holds_under_eight_workers() {
    let run = Run::new();
    run.fixture(&[
        "WarehouseLoad",
        "--n",
        "12",
        "--millis",
        "100",
        "--workers",
        "8",
        "--resource",
        "warehouse_db=2",
    ])
    .assert()
    .success();
    let top = peak(&run.events(), "Warehouse", |_| "all".into());
    assert_eq!(top["all"], 2, "the limit is used and never exceeded");
    assert!(!run.events_of("resource_wait").is_empty());
}

#[test]
fn the_limit_comes_from_config_and_defaults_to_one() {
    let run = Run::new();
    run.fixture(&[
        "WarehouseLoad",
        "--n",
        "6",
        "--millis",
        "60",
        "--workers",
        "4",
    ])
    .assert()
    .success();
    assert_eq!(
        peak(&run.events(), "Warehouse", |_| "all".into())["all"],
        1,
        "unconfigured: limit 1"
    );
    let run = Run::new();
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[resources]\nwarehouse_db = 3\n",
    )
    .unwrap();
    run.fixture(&[
        "WarehouseLoad",
        "--n",
        "9",
        "--millis",
        "150",
        "--workers",
        "6",
    ])
    .assert()
    .success();
    assert_eq!(peak(&run.events(), "Warehouse", |_| "all".into())["all"], 3);
}

#[test]
fn resource_names_from_parameters_keep_writers_of_one_file_apart() {
    let run = Run::new();
    run.fixture(&["WriteFiles", "--workers", "4"])
        .assert()
        .success();
    let events = run.events();
    let per_file = peak(&events, "WriteFile", |e| {
        e["params"]["file"].as_str().unwrap().to_string()
    });
    assert_eq!(per_file["a"], 1);
    assert_eq!(per_file["b"], 1);
    assert_eq!(
        peak(&events, "WriteFile", |_| "all".into())["all"],
        2,
        "different files overlap"
    );
}

#[test]
fn units_given_back_at_run_time_let_waiting_tasks_start() {
    let run = Run::new();
    run.fixture(&[
        "HeavyAndLight",
        "--workers",
        "2",
        "--resource",
        "some_resource=2",
    ])
    .assert()
    .success();
    let at = |family: &str, kind: &str| {
        run.events_of(kind)
            .iter()
            .find(|e| e["family"] == family)
            .unwrap()["ts"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert!(
        at("Light", "started") < at("Heavy", "succeeded"),
        "Light ran while Heavy still held one unit"
    );
    assert!(at("Light", "started") > at("Heavy", "started"));
}

#[test]
fn a_request_beyond_the_limit_fails_at_once() {
    let run = Run::new();
    let out = run
        .fixture(&["Huge", "--n", "1"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert!(
        text(&out)
            .1
            .contains("needs 3 of resource `gpu` but its limit is 1"),
        "{}",
        text(&out).1
    );
    assert!(
        run.events_of("started").is_empty(),
        "nothing waited forever or ran"
    );
    run.fixture(&["Huge", "--n", "1", "--resource", "gpu=4"])
        .assert()
        .success();
}

#[test]
fn with_redis_a_limit_holds_across_processes() {
    let redis = RedisServer::start();
    let run = Run::new();
    let procs: Vec<_> = (0..3)
        .map(|p| {
            let offset = (p * 10).to_string();
            Command::new(assert_cmd::cargo::cargo_bin("fixture"))
                .args([
                    "WarehouseLoad",
                    "--n",
                    "10",
                    "--offset",
                    &offset,
                    "--millis",
                    "120",
                    "--workers",
                    "2",
                    "--resource",
                    "warehouse_db=2",
                ])
                .args(redis.flags())
                .arg("--workspace")
                .arg(run.workspace())
                .arg("--events")
                .arg(run.dir.path().join(format!("events-{p}.jsonl")))
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut events = Vec::new();
    for (p, mut child) in procs.into_iter().enumerate() {
        assert!(child.wait().unwrap().success());
        events.extend(read_events(
            &run.dir.path().join(format!("events-{p}.jsonl")),
        ));
    }
    assert_eq!(
        events
            .iter()
            .filter(|e| e["event"] == "started" && e["family"] == "Warehouse")
            .count(),
        30
    );
    assert_eq!(
        peak(&events, "Warehouse", |_| "all".into())["all"],
        2,
        "two units across all processes"
    );
    assert!(
        redis.keys("kart:*:lock:res:*").is_empty(),
        "every unit returned"
    );
}

#[test]
fn with_redis_a_killed_holders_units_come_back_when_its_lease_expires() {
    let redis = RedisServer::start();
    let run = Run::new();
    let start = |n: &str, millis: &str, events: &str| {
        Command::new(assert_cmd::cargo::cargo_bin("fixture"))
            .args(["Warehouse", "--n", n, "--millis", millis])
            .args(["--resource-lease", "2s"])
            .args(redis.flags())
            .arg("--workspace")
            .arg(run.workspace())
            .arg("--events")
            .arg(run.dir.path().join(events))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut holder = start("0", "60000", "holder.jsonl");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !read_events(&run.dir.path().join("holder.jsonl"))
        .iter()
        .any(|e| e["event"] == "started")
    {
        assert!(std::time::Instant::now() < deadline, "holder did not start");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(redis.keys("kart:*:lock:res:warehouse_db:*").len(), 1);
    holder.kill().unwrap(); // SIGKILL: nothing is released
    holder.wait().unwrap();
    assert_eq!(
        redis.keys("kart:*:lock:res:warehouse_db:*").len(),
        1,
        "the dead holder's unit is still leased"
    );

    let waiter = start("1", "0", "waiter.jsonl").wait_with_output().unwrap();
    assert!(waiter.status.success(), "{}", text(&waiter).1);
    let events = read_events(&run.dir.path().join("waiter.jsonl"));
    let kinds: Vec<&str> = events
        .iter()
        .filter(|e| e["family"] == "Warehouse")
        .filter_map(|e| e["event"].as_str())
        .collect();
    // It waited for the unit, then ran once the lease ran out.
    let wait = kinds.iter().position(|k| *k == "resource_wait");
    let ran = kinds.iter().position(|k| *k == "succeeded");
    assert!(wait.is_some() && wait < ran, "{kinds:?}");
    assert!(redis.keys("kart:*:lock:res:*").is_empty());
}
