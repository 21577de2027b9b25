//! Locks across real processes: against a real `redis-server` (started here on a free
//! loopback port) and with the embedded file-lock backend.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use kart_tests::redis_server::{free_port, RedisServer};
use serde_json::Value;
use support::{of_kind, spawn, Proc};

fn ts(e: &Value) -> chrono::DateTime<chrono::Utc> {
    e["ts"].as_str().unwrap().parse().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Four processes run the same 200-task DAG; every task starts exactly once in total.
fn four_processes_share_one_dag(extra: &[String], shared_work: bool) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let args = [
        "LockedDag",
        "--n",
        "200",
        "--millis",
        "20",
        "--workers",
        "2",
        "--retry-count",
        "10000",
        "--retry-delay",
        "20ms",
    ];
    let procs: Vec<Proc> = (0..4)
        .map(|p| spawn(&ws, &format!("p{p}"), &args, extra))
        .collect();
    let mut per_task: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut per_process = Vec::new();
    for p in procs {
        let (out, events) = p.finish();
        assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
        let started = of_kind(&events, "started");
        per_process.push(started.len());
        for e in started {
            *per_task
                .entry(e["task_id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let leaves = per_task
        .keys()
        .filter(|k| k.starts_with("LockedLeaf_"))
        .count();
    assert_eq!(leaves, 200, "every leaf ran");
    let twice: Vec<_> = per_task
        .iter()
        .filter(|(k, &c)| k.starts_with("LockedLeaf_") && c != 1)
        .collect();
    assert!(twice.is_empty(), "tasks started more than once: {twice:?}");
    assert!(
        !ws.join("overlaps.log").exists(),
        "two holders overlapped: {}",
        std::fs::read_to_string(ws.join("overlaps.log")).unwrap_or_default()
    );
    for i in 0..200 {
        assert!(ws.join(format!("locked/{i}.json")).exists());
    }
    if shared_work {
        // Failing fast on collisions, every process works instead of waiting.
        assert!(
            per_process.iter().all(|&n| n >= 10),
            "started per process: {per_process:?}"
        );
    }
}

#[test]
fn four_processes_share_a_dag_through_redis_and_run_each_task_once() {
    let redis = RedisServer::start();
    let mut extra = redis.flags().to_vec();
    extra.push("--redis-fail-on-collision".into());
    four_processes_share_one_dag(&extra, true);
    assert!(
        redis.keys("kart:*:lock:*").is_empty(),
        "every lock released: {:?}",
        redis.keys("kart:*:lock:*")
    );
}

#[test]
fn four_processes_share_a_dag_through_file_locks_and_run_each_task_once() {
    four_processes_share_one_dag(&["--redis-fail-on-collision".to_string()], true);
}

#[test]
fn waiting_mode_also_runs_each_task_once() {
    let redis = RedisServer::start();
    four_processes_share_one_dag(&redis.flags(), false);
}

/// `kill -9` of a holder: another process gets the lock once the TTL (2 s) runs out.
fn killed_holder_recovers(extra: &[String], within: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let mut a = spawn(
        &ws,
        "a",
        &["HoldLock", "--name", "k", "--secs", "60"],
        extra,
    );
    let a_acquired = a.wait_for("lock_acquired");
    let b = spawn(
        &ws,
        "b",
        &["HoldLock", "--name", "k", "--secs", "0.2"],
        extra,
    );
    b.wait_for("lock_waiting");
    // Read before the kill: once `a` is dead, `b` may start before this thread runs again.
    // Events carry milliseconds, so the instant is cut to them too.
    let killing = chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 3);
    a.child.kill().unwrap();
    let _ = a.child.wait();
    let (out, events) = b.finish();
    assert!(out.status.success(), "{}", stderr(&out));
    let b_acquired = of_kind(&events, "lock_acquired")[0];
    let waited = (ts(b_acquired) - killing).to_std().unwrap_or_default();
    assert!(waited <= within, "acquired {waited:?} after the kill");
    assert!(
        b_acquired["fence"].as_u64().unwrap() > a_acquired["fence"].as_u64().unwrap(),
        "fencing tokens grow"
    );
    assert!(
        ts(of_kind(&events, "started")[0]) >= killing,
        "b ran only once a was killed"
    );
    assert!(!ws.join("overlaps.log").exists());
    assert!(std::fs::read_to_string(ws.join("held/k.json"))
        .unwrap()
        .contains("held by"));
}

#[test]
fn a_killed_redis_holder_is_recovered_within_its_ttl() {
    let redis = RedisServer::start();
    killed_holder_recovers(&redis.flags(), Duration::from_secs(3));
}

#[test]
fn a_killed_file_lock_holder_is_recovered_at_once() {
    killed_holder_recovers(&[], Duration::from_secs(1));
}

#[test]
fn renewal_keeps_a_lock_for_many_ttls() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let a = spawn(
        &ws,
        "a",
        &["HoldLock", "--name", "long", "--secs", "6.5"],
        &redis.flags(),
    );
    a.wait_for("lock_acquired");
    std::thread::sleep(Duration::from_millis(4500));
    // More than two TTLs later the lock is still held: a fail-fast contender is turned away.
    let mut flags = redis.flags().to_vec();
    flags.push("--redis-fail-on-collision".into());
    let (out_b, events_b) = spawn(
        &ws,
        "b",
        &["HoldLock", "--name", "long", "--secs", "0"],
        &flags,
    )
    .finish();
    assert_eq!(
        out_b.status.code(),
        Some(3),
        "locked elsewhere: {}",
        stdout(&out_b)
    );
    assert_eq!(of_kind(&events_b, "locked_elsewhere").len(), 1);
    assert!(
        stderr(&out_b).contains("locked elsewhere"),
        "{}",
        stderr(&out_b)
    );
    let (out_a, events_a) = a.finish();
    assert!(out_a.status.success(), "{}", stderr(&out_a));
    assert!(of_kind(&events_a, "lock_lost").is_empty());
    assert!(ws.join("held/long.json").exists());
}

/// A lock removed from under its holder: the holder notices, stops and writes nothing.
fn lost_lock_fails_the_task(extra: &[String], remove: impl FnOnce(&str)) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let a = spawn(
        &ws,
        "a",
        &["HoldLock", "--name", "lost", "--secs", "20"],
        extra,
    );
    let acquired = a.wait_for("lock_acquired");
    remove(acquired["key"].as_str().unwrap());
    let (out, events) = a.finish();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_eq!(of_kind(&events, "lock_lost").len(), 1);
    let failed = of_kind(&events, "failed");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("not written"),
        "{}",
        failed[0]
    );
    assert!(
        !ws.join("held/lost.json").exists(),
        "no output after losing the lock"
    );
}

#[test]
fn a_redis_lock_deleted_from_under_its_holder_is_noticed() {
    let redis = RedisServer::start();
    lost_lock_fails_the_task(&redis.flags(), |key| {
        let held = redis.keys(&format!("kart:*:lock:{key}"));
        assert_eq!(held.len(), 1, "{held:?}");
        assert!(redis.del(&held[0]))
    });
}

#[test]
fn a_file_lock_cleared_from_under_its_holder_is_noticed() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let a = spawn(
        &ws,
        "a",
        &["HoldLock", "--name", "lost", "--secs", "20"],
        &[],
    );
    let acquired = a.wait_for("lock_acquired");
    let key = acquired["key"].as_str().unwrap();
    // `locks list` shows the holder; `locks clear` refuses without confirmation, then clears.
    let list = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .args(["locks", "list", "--workspace"])
        .arg(&ws)
        .output()
        .unwrap();
    let listing = stdout(&list);
    assert!(
        listing.contains(key) && listing.contains("HoldLock_lost_"),
        "{listing}"
    );
    let refused = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .args(["locks", "clear", key, "--workspace"])
        .arg(&ws)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("pass --yes"),
        "{}",
        stderr(&refused)
    );
    let cleared = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .args(["locks", "clear", key, "--yes", "--workspace"])
        .arg(&ws)
        .output()
        .unwrap();
    assert!(
        stdout(&cleared).contains(&format!("cleared {key}")),
        "{}",
        stderr(&cleared)
    );
    let (out, events) = a.finish();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(of_kind(&events, "lock_lost").len(), 1);
    assert!(!ws.join("held/lost.json").exists());
    // The cleared lock's tokens go on: the next holder's is newer than the lost one's, and
    // its commit stands.
    let (out, events) = spawn(
        &ws,
        "b",
        &["HoldLock", "--name", "lost", "--secs", "0"],
        &[],
    )
    .finish();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        of_kind(&events, "lock_acquired")[0]["fence"],
        acquired["fence"].as_u64().unwrap() + 1
    );
    assert!(ws.join("held/lost.json").exists());
}

#[test]
fn redis_not_running_is_a_clear_error_and_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let port = free_port();
    let out = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .args([
            "LockedDag",
            "--n",
            "3",
            "--redis-host",
            "127.0.0.1",
            "--redis-port",
            &port.to_string(),
            "--workspace",
        ])
        .arg(&ws)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        format!("error: cannot use Redis at 127.0.0.1:{port}: connection refused (is redis-server running there?)\n")
    );
    assert!(!ws.join("locked").exists());
}

#[test]
fn a_redis_restart_mid_run_leaves_no_torn_output_and_a_rerun_finishes() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let args = ["LockedDag", "--n", "60", "--millis", "60", "--workers", "2"];
    let p = spawn(&ws, "first", &args, &redis.flags());
    p.wait_for("succeeded");
    redis.restart();
    let (_out, _) = p.finish();
    for entry in std::fs::read_dir(ws.join("locked")).unwrap().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap();
        assert!(
            serde_json::from_str::<Value>(&text).is_ok(),
            "torn output {}",
            entry.path().display()
        );
    }
    let (out, _) = spawn(&ws, "rerun", &args, &redis.flags()).finish();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(std::fs::read_dir(ws.join("locked")).unwrap().count(), 60);
}

/// What a finished process left: its output and its events.
type Finished = (Output, Vec<Value>);

/// Two copies of a unique job, the second started while the first runs.
fn two_copies(
    task: &str,
    extra_second: &[&str],
) -> (Finished, Finished, PathBuf, tempfile::TempDir) {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let first = spawn(
        &ws,
        "first",
        &[task, "--n", "1", "--secs", "1.5"],
        &redis.flags(),
    );
    first.wait_for("started");
    let mut flags = redis.flags().to_vec();
    flags.extend(extra_second.iter().map(|s| s.to_string()));
    let second = spawn(&ws, "second", &[task, "--n", "1", "--secs", "1.5"], &flags).finish();
    (first.finish(), second, ws, dir)
}

#[test]
fn unique_while_executing_rejects_the_duplicate() {
    let ((first, _), (second, events), ws, _dir) = two_copies("UniqueReject", &[]);
    assert!(first.status.success());
    assert_eq!(
        second.status.code(),
        Some(1),
        "the requested task was not run"
    );
    assert!(of_kind(&events, "started").is_empty());
    let skipped = of_kind(&events, "skipped");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("rejected"),
        "{}",
        skipped[0]
    );
    assert!(
        of_kind(&events, "failed").is_empty(),
        "a rejection is not a failure"
    );
    assert!(ws.join("unique/reject/1.json").exists());
}

#[test]
fn unique_while_executing_raises_on_conflict() {
    let ((first, _), (second, events), _ws, _dir) = two_copies("UniqueRaise", &[]);
    assert!(first.status.success());
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("unique job conflict"),
        "{}",
        stderr(&second)
    );
    assert_eq!(of_kind(&events, "locked_elsewhere").len(), 1);
}

#[test]
fn unique_while_executing_reschedules_until_the_first_is_done() {
    let ((first, _), (second, events), _ws, _dir) =
        two_copies("UniqueReschedule", &["--retry-delay", "200ms"]);
    assert!(first.status.success());
    assert!(second.status.success(), "{}", stdout(&second));
    assert!(
        of_kind(&events, "retried").len() >= 2,
        "rescheduled while the first ran"
    );
    assert!(of_kind(&events, "started").is_empty(), "then found it done");
    assert!(
        stdout(&second).contains("completed by another worker"),
        "{}",
        stdout(&second)
    );
}

#[test]
fn unique_args_lock_from_scheduling_until_executing() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let first = spawn(
        &ws,
        "eu1",
        &["RegionExport", "--day", "2015-01-01", "--region", "eu"],
        &redis.flags(),
    );
    first.wait_for("lock_acquired");
    // Same region, another day: a duplicate by unique_args, rejected when scheduled.
    let (dup, dup_events) = spawn(
        &ws,
        "eu2",
        &["RegionExport", "--day", "2015-01-02", "--region", "eu"],
        &redis.flags(),
    )
    .finish();
    assert_eq!(dup.status.code(), Some(1));
    let skipped = of_kind(&dup_events, "skipped");
    assert!(
        skipped.iter().any(|e| e["family"] == "RegionExport"),
        "{dup_events:?}"
    );
    // Another region is another job.
    let (other, _) = spawn(
        &ws,
        "us",
        &["RegionExport", "--day", "2015-01-02", "--region", "us"],
        &redis.flags(),
    )
    .finish();
    assert!(other.status.success(), "{}", stderr(&other));
    let (first, _) = first.finish();
    assert!(first.status.success());
    assert!(
        redis.keys("kart:*:lock:*").is_empty(),
        "released when the run started: {:?}",
        redis.keys("kart:*:lock:*")
    );
}

#[test]
fn unique_until_executed_raises_while_the_first_runs() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let first = spawn(
        &ws,
        "a",
        &[
            "RegionImport",
            "--day",
            "2015-01-01",
            "--region",
            "eu",
            "--secs",
            "1.5",
        ],
        &redis.flags(),
    );
    first.wait_for("started");
    let (dup, _) = spawn(
        &ws,
        "b",
        &["RegionImport", "--day", "2015-01-03", "--region", "eu"],
        &redis.flags(),
    )
    .finish();
    assert_eq!(dup.status.code(), Some(1));
    assert!(stderr(&dup).contains("unique job"), "{}", stderr(&dup));
    assert!(first.finish().0.status.success());
    // Once the first has run, the lock is gone.
    let (again, _) = spawn(
        &ws,
        "c",
        &[
            "RegionImport",
            "--day",
            "2015-01-03",
            "--region",
            "eu",
            "--secs",
            "0",
        ],
        &redis.flags(),
    )
    .finish();
    assert!(again.status.success(), "{}", stderr(&again));
}

#[test]
fn a_named_lock_serializes_every_task_using_it() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let (out, events) = spawn(
        &ws,
        "t",
        &["AllTransfers", "--n", "4", "--workers", "4"],
        &[],
    )
    .finish();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!ws.join("overlaps.log").exists());
    let keys: Vec<&str> = of_kind(&events, "lock_acquired")
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["nightly-transfer"; 4]);
    let fences: Vec<u64> = of_kind(&events, "lock_acquired")
        .iter()
        .map(|e| e["fence"].as_u64().unwrap())
        .collect();
    assert_eq!(fences, [1, 2, 3, 4]);
}

#[test]
fn keys_are_namespaced_by_the_prefix() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let mut flags = redis.flags().to_vec();
    flags.extend(["--redis-prefix".to_string(), "pipeline2".to_string()]);
    let (out, _) = spawn(
        &ws,
        "p",
        &["LockedDag", "--n", "3", "--millis", "1"],
        &flags,
    )
    .finish();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(redis.keys("kart:*").is_empty());
    assert_eq!(
        redis.keys("pipeline2:fence:run:*").len(),
        3,
        "{:?}",
        redis.keys("pipeline2:*")
    );
    assert!(redis.keys("pipeline2:lock:*").is_empty());
}

#[test]
fn with_redis_every_load_and_commit_takes_the_cache_lock() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    // Without claims (with them, a commit is fenced by the task's claim instead: below).
    let mut flags = redis.flags().to_vec();
    flags.push("--no-claims".into());
    let (out, events) = spawn(&ws, "c", &["StatsReport", "--n", "3"], &flags).finish();
    assert!(out.status.success(), "{}", stderr(&out));
    let cache: Vec<(String, String)> = of_kind(&events, "lock_acquired")
        .iter()
        .map(|e| {
            (
                e["family"].as_str().unwrap().to_string(),
                e["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        cache,
        [
            ("Stats".to_string(), "cache:stats/3.json".to_string()),
            ("StatsReport".to_string(), "cache:stats/3.json".to_string()),
            (
                "StatsReport".to_string(),
                "cache:stats-report/3.json".to_string()
            ),
        ],
        "Stats commits, StatsReport loads it, then commits its own"
    );
    assert!(redis.keys("kart:*:lock:*").is_empty());

    // With claims a load still takes the cache lock; a commit is fenced by the claim.
    let ws = dir.path().join("ws2");
    let (out, events) = spawn(&ws, "d", &["StatsReport", "--n", "4"], &redis.flags()).finish();
    assert!(out.status.success(), "{}", stderr(&out));
    let keys: Vec<&str> = of_kind(&events, "lock_acquired")
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["cache:stats/4.json"], "only StatsReport's load");
    assert!(redis.keys("kart:*:lock:*").is_empty());
}

/// The prefix the line tests' processes and in-process holder share.
const LINE: &str = "line";

/// Holds lock `key` in this process, under [`LINE`], until dropped.
fn hold(redis: &RedisServer, key: &str) -> kart_core::lock::LockGuard {
    let endpoint = kart_core::redis::RedisEndpoint::new("127.0.0.1", redis.port);
    let locks = kart_core::lock::Locks::redis(&endpoint, LINE).unwrap();
    locks
        .lock(key)
        .ttl(Duration::from_secs(60))
        .acquire()
        .unwrap()
}

/// Waits until `n` waiters stand in the line of lock `key`.
fn wait_for_line(redis: &RedisServer, key: &str, n: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let len: usize = redis::cmd("LLEN")
            .arg(format!("{LINE}:queue:{key}"))
            .query(&mut redis.connection().unwrap())
            .unwrap();
        if len == n {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{len} in line, not {n}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A `NightlyTransfer` (named lock `nightly-transfer`) holding its lock for `millis`.
fn transfer(redis: &RedisServer, ws: &std::path::Path, n: u32, millis: u64) -> Proc {
    let n = n.to_string();
    let millis = millis.to_string();
    let mut flags = redis.flags().to_vec();
    flags.extend(["--redis-prefix".to_string(), LINE.to_string()]);
    spawn(
        ws,
        &format!("w{n}"),
        &["NightlyTransfer", "--n", &n, "--millis", &millis],
        &flags,
    )
}

#[test]
fn redis_waiters_get_the_lock_in_the_order_they_lined_up() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let held = hold(&redis, "nightly-transfer");
    let waiters: Vec<Proc> = (1..=4)
        .map(|n| {
            let w = transfer(&redis, &ws, n, 0);
            wait_for_line(&redis, "nightly-transfer", n as usize);
            w
        })
        .collect();
    // The release hands the lock to the first in line, whose release hands it on.
    drop(held);
    let mut fences = Vec::new();
    for w in waiters {
        let (out, events) = w.finish();
        assert!(out.status.success(), "{}", stderr(&out));
        fences.push(
            of_kind(&events, "lock_acquired")
                .iter()
                .find(|e| e["key"] == "nightly-transfer")
                .unwrap()["fence"]
                .as_u64()
                .unwrap(),
        );
    }
    assert!(
        fences.windows(2).all(|f| f[0] < f[1]),
        "first come, first served: fences {fences:?}"
    );
    assert!(!ws.join("overlaps.log").exists());
}

#[test]
fn a_killed_redis_waiter_is_passed_over() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let held = hold(&redis, "nightly-transfer");
    let mut dead = transfer(&redis, &ws, 1, 0);
    wait_for_line(&redis, "nightly-transfer", 1);
    let next = transfer(&redis, &ws, 2, 5_000);
    wait_for_line(&redis, "nightly-transfer", 2);
    dead.child.kill().unwrap();
    let _ = dead.child.wait();
    // Longer than a waiter's presence in line (3 s) lasts without being renewed.
    std::thread::sleep(Duration::from_millis(3_500));
    drop(held);
    // The release handed the lock over: to the live waiter, not the killed one.
    let value: String = redis::cmd("GET")
        .arg(format!("{LINE}:lock:nightly-transfer"))
        .query(&mut redis.connection().unwrap())
        .unwrap();
    let pid = value.split('|').nth(3).unwrap();
    assert_eq!(pid, next.child.id().to_string(), "{value}");
    let (out, _) = next.finish();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_redis_waiter_that_gives_up_leaves_the_line() {
    let redis = RedisServer::start();
    let endpoint = kart_core::redis::RedisEndpoint::new("127.0.0.1", redis.port);
    let locks = kart_core::lock::Locks::redis(&endpoint, LINE).unwrap();
    let held = locks.lock("k").acquire().unwrap();
    let waited = locks
        .lock("k")
        .timeout(Duration::from_millis(300))
        .acquire();
    assert!(waited.is_err(), "the lock is held");
    wait_for_line(&redis, "k", 0);
    drop(held);
    // Nobody was handed the lock: it is free.
    assert!(redis.keys(&format!("{LINE}:lock:k")).is_empty());
    assert!(locks.lock("k").try_acquire().unwrap().is_some());
}
