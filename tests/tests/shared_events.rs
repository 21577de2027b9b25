//! The events every worker shares: in the workspace's event log on one machine, in a Redis
//! stream when Redis coordinates. Real processes, counted from their own events files: the
//! shared log holds every event each of them had, tagged with its run; a worker killed with
//! `kill -9` leaves its start and its last heartbeat, and no end.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kart_tests::redis_server::RedisServer;
use serde_json::Value;
use support::{read_events, spawn, text};

/// `fixture events --workspace ws extra...`: the shared events, parsed.
fn shared(ws: &Path, extra: &[String]) -> Vec<Value> {
    let out = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .arg("events")
        .arg("--workspace")
        .arg(ws)
        .args(extra)
        .env_remove("KART_CONFIG")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

/// Two processes on one workspace share 20 tasks; every event each wrote to its own events
/// file is in the shared log under its run, and each task started once.
fn two_workers_share_every_event(extra: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let mut args: Vec<String> = ["--workers", "2", "--heartbeat", "100ms"]
        .map(String::from)
        .to_vec();
    args.extend(extra.iter().cloned());
    let task = ["SleepyFanin", "--n", "20", "--millis", "50"];
    let a = spawn(&ws, "a", &task, &args);
    let b = spawn(&ws, "b", &task, &args);
    let mut own: BTreeMap<u64, Vec<Value>> = BTreeMap::new();
    for proc in [a, b] {
        let (out, events) = proc.finish();
        assert!(out.status.success(), "{}", text(&out).1);
        own.insert(events[0]["pid"].as_u64().unwrap(), events);
    }
    let all = shared(&ws, extra);
    let runs: BTreeSet<&str> = all.iter().map(|e| e["run"].as_str().unwrap()).collect();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for (pid, events) in &own {
        // A process's run is named by its start (other events may carry another pid: the
        // holder of a claim).
        let start = all
            .iter()
            .find(|e| e["event"] == "run_started" && e["pid"] == *pid)
            .unwrap_or_else(|| panic!("no run_started of {pid}"));
        let run = start["run"].as_str().unwrap();
        assert!(run.ends_with(&format!("-{pid}")), "{run}");
        let theirs: Vec<&Value> = all.iter().filter(|e| e["run"] == run).collect();
        // The same events (workers emit side by side, so each sink may see them in its
        // own order), and the shared log's own: the run's start, graph, end and heartbeats.
        let own_kinds = ["run_started", "run_graph", "run_finished", "heartbeat"];
        let kinds = |es: &mut dyn Iterator<Item = &Value>| -> Vec<String> {
            let mut kinds: Vec<String> = es
                .map(|e| format!("{} {} {}", e["event"], e["task_id"], e["ts"]))
                .collect();
            kinds.sort();
            kinds
        };
        assert_eq!(
            kinds(
                &mut theirs
                    .iter()
                    .copied()
                    .filter(|e| !own_kinds.iter().any(|k| e["event"] == *k))
            ),
            kinds(&mut events.iter()),
            "process {pid}"
        );
        assert!(events
            .iter()
            .all(|e| !own_kinds.iter().any(|k| e["event"] == *k)));
        let theirs: Vec<Value> = theirs.into_iter().cloned().collect();
        assert_eq!(of_kind(&theirs, "run_started").len(), 1);
        assert_eq!(of_kind(&theirs, "run_graph").len(), 1);
        let finished = of_kind(&theirs, "run_finished");
        assert_eq!(finished.len(), 1);
        assert_eq!(finished[0]["success"], true);
    }
    let mut started: Vec<&str> = of_kind(&all, "started")
        .iter()
        .filter(|e| e["family"] == "Sleepy")
        .map(|e| e["task_id"].as_str().unwrap())
        .collect();
    started.sort();
    let before = started.len();
    started.dedup();
    assert_eq!((before, started.len()), (20, 20), "each task started once");
    assert!(
        of_kind(&all, "heartbeat")
            .iter()
            .any(|h| h["running"].as_array().is_some_and(|r| !r.is_empty())),
        "a heartbeat names what runs"
    );
    // Filters: one run's end.
    let mut filter = vec!["--run".to_string(), runs.first().unwrap().to_string()];
    filter.extend(["--event".into(), "run_finished".into()]);
    filter.extend(extra.iter().cloned());
    let ends = shared(&ws, &filter);
    assert_eq!(ends.len(), 1, "{ends:?}");
}

#[test]
fn two_workers_on_one_machine_share_their_events_in_the_workspace_log() {
    two_workers_share_every_event(&[]);
}

#[test]
fn workers_sharing_redis_share_their_events_in_one_stream() {
    let redis = RedisServer::start();
    let flags = [
        redis.flags().to_vec(),
        vec!["--redis-prefix".into(), "shared".into()],
    ]
    .concat();
    two_workers_share_every_event(&flags);
    // The stream is where they went: nothing in the workspace.
    let mut c = redis.connection().unwrap();
    let len: usize = redis::cmd("XLEN")
        .arg("shared:events")
        .query(&mut c)
        .unwrap();
    assert!(len > 100, "{len}");
}

/// Polls the shared log until `check` holds.
fn wait_for_shared(ws: &Path, what: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let all = shared(ws, &[]);
        if check(&all) {
            return all;
        }
        assert!(Instant::now() < deadline, "{what} within 20 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_worker_leaves_its_start_and_last_heartbeat_and_no_end() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let mut worker = spawn(
        &ws,
        "a",
        &["SleepyFanin", "--n", "1", "--millis", "60000"],
        &["--heartbeat".into(), "100ms".into()],
    );
    let running = |all: &[Value]| {
        of_kind(all, "heartbeat").iter().any(|h| {
            h["running"]
                .as_array()
                .is_some_and(|r| r.iter().any(|t| t["family"] == "Sleepy"))
        })
    };
    wait_for_shared(&ws, "a heartbeat naming the running task", running);
    worker.child.kill().unwrap();
    worker.child.wait().unwrap();
    let all = shared(&ws, &[]);
    assert_eq!(of_kind(&all, "run_started").len(), 1);
    assert!(of_kind(&all, "run_finished").is_empty(), "{all:?}");
    let last = of_kind(&all, "heartbeat").pop().unwrap().clone();
    assert_eq!(last["running"][0]["family"], "Sleepy", "{last}");
    assert!(
        read_events(&worker.events)
            .iter()
            .all(|e| e["event"] != "run_finished"),
        "its own file agrees"
    );
}

#[test]
fn a_run_without_shared_events_shares_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let (out, events) = spawn(
        &ws,
        "a",
        &["SleepyFanin", "--n", "3", "--millis", "0"],
        &["--no-shared-events".into()],
    )
    .finish();
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(!events.is_empty());
    assert!(shared(&ws, &[]).is_empty());
    assert!(!ws.join(".kart/events").exists());
}

#[test]
fn events_follow_prints_other_workers_events_as_they_come() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let mut follower = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .args(["events", "--follow", "--workspace"])
        .arg(&ws)
        .env_remove("KART_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (out, _) = spawn(&ws, "a", &["SleepyFanin", "--n", "3", "--millis", "0"], &[]).finish();
    assert!(out.status.success(), "{}", text(&out).1);
    // The follower prints the run's events through to its end, then keeps waiting.
    let mut lines = BufReader::new(follower.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        let end = event["event"] == "run_finished";
        seen.push(event);
        if end {
            break;
        }
    }
    assert_eq!(seen[0]["event"], "run_started");
    assert_eq!(
        of_kind(&seen, "succeeded").len(),
        4,
        "3 leaves and the fan-in"
    );
    assert!(
        follower.try_wait().unwrap().is_none(),
        "--follow keeps going"
    );
    follower.kill().unwrap();
    follower.wait().unwrap();
}

#[test]
fn what_a_task_logs_reaches_the_shared_log_as_its_log_events_whatever_the_stderr_filter() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    // `-q` keeps stderr to errors; the task's lines are shared all the same.
    let (out, events) = spawn(
        &ws,
        "a",
        &["Chatty", "--name", "hi", "--lines", "4"],
        &["-q".into()],
    )
    .finish();
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("hi says"), "{stderr}");
    let logs = shared(&ws, &["--event".into(), "log".into()]);
    let lines: Vec<(&str, &str)> = logs
        .iter()
        .map(|e| (e["level"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        lines,
        [
            ("INFO", "hi says 1 line=1"),
            ("INFO", "hi says 2 line=2"),
            ("INFO", "hi says 3 line=3"),
            ("WARN", "hi is done talking"),
        ]
    );
    let task = of_kind(&events, "started")[0]["task_id"].clone();
    assert!(logs
        .iter()
        .all(|e| e["task_id"] == task && e["family"] == "Chatty"));
}

#[test]
fn what_a_program_run_by_a_task_writes_reaches_the_shared_log_line_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let script = "echo one; echo two >&2; printf 'three\\r\\nfour'";
    let (out, events) = spawn(
        &ws,
        "a",
        &["Shell", "--name", "ok", "--script", script],
        &["-q".into()],
    )
    .finish();
    let (_, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("two"), "{stderr}");
    let logs = shared(&ws, &["--event".into(), "log".into()]);
    let mut lines: Vec<(&str, &str)> = logs
        .iter()
        .map(|e| (e["level"].as_str().unwrap(), e["message"].as_str().unwrap()))
        .collect();
    // Each stream in its order; the two streams are read side by side.
    lines.sort_by_key(|(level, _)| *level);
    assert_eq!(
        lines,
        [
            ("STDERR", "two"),
            ("STDOUT", "one"),
            ("STDOUT", "three"),
            ("STDOUT", "four"),
        ]
    );
    let task = of_kind(&events, "started")[0]["task_id"].clone();
    assert!(logs.iter().all(|e| e["task_id"] == task));
    // The same lines in the run's own events file, and what it printed is the output.
    assert_eq!(of_kind(&events, "log").len(), 4);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(ws.join("shell/ok.json")).unwrap()).unwrap();
    assert_eq!(written, "one\nthree\r\nfour");
}

#[test]
fn a_program_that_fails_fails_its_task_with_its_status_and_last_error_line() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let script = "echo working; echo 'no rows for 2020-01-01' >&2; exit 3";
    let (out, events) = spawn(
        &ws,
        "a",
        &["Shell", "--name", "bad", "--script", script],
        &[],
    )
    .finish();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    let failed = of_kind(&events, "failed");
    assert_eq!(
        failed[0]["error"],
        "`sh` exited with exit status: 3: no rows for 2020-01-01"
    );
    assert!(!ws.join("shell/bad.json").exists());
}

#[test]
fn a_cancelled_task_kills_the_program_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let pid_file = dir.path().join("program.pid");
    // The program, and a process it started, outlive the task's timeout by far unless they
    // are killed.
    let script = format!(
        "sleep 600 > /dev/null 2>&1 & echo $! > {}; wait",
        pid_file.display()
    );
    let (out, events) = spawn(
        &ws,
        "a",
        &["Shell", "--name", "slow", "--script", &script],
        &["--task-timeout".into(), "1s".into()],
    )
    .finish();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    assert_eq!(of_kind(&events, "failed").len(), 1, "{events:?}");
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc = Path::new("/proc").join(pid.trim());
    // Its whole process group is killed (the task reaps the program itself).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while proc.exists()
        && std::fs::read_to_string(proc.join("stat")).is_ok_and(|s| !s.contains(") Z "))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the program's child {} still runs",
            pid.trim()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// `Shell` printing `lines` lines once the file `go` exists (having made `ready`), on Redis,
/// with room for only 8 events waiting to be shared.
fn burst(redis: &RedisServer, dir: &Path, lines: u32) -> support::Proc {
    let script = format!(
        "touch {ready}; while [ ! -f {go} ]; do sleep 0.05; done; seq {lines}",
        ready = dir.join("ready").display(),
        go = dir.join("go").display(),
    );
    support::spawn_with_env(
        &dir.join("ws"),
        "burst",
        &["Shell", "--name", "burst", "--script", &script],
        &redis.flags(),
        &[("KART_EVENTS_QUEUE", "8")],
    )
}

/// The `log` events shared on `redis` for the workspace `ws`.
fn shared_logs(redis: &RedisServer, ws: &Path) -> Vec<Value> {
    let mut flags = redis.flags().to_vec();
    flags.extend(["--event".into(), "log".into()]);
    shared(ws, &flags)
}

fn wait_for_file(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} within 30 s", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_burst_bigger_than_the_queue_is_shared_whole_while_the_log_keeps_up() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = burst(&redis, dir.path(), 3000);
    wait_for_file(&dir.path().join("ready"));
    std::fs::write(dir.path().join("go"), "").unwrap();
    let (out, _) = run.finish();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains("could not be shared"), "{stdout}");
    let logs = shared_logs(&redis, &dir.path().join("ws"));
    assert_eq!(logs.len(), 3000);
    assert_eq!(logs[2999]["message"], "3000");
}

#[test]
fn a_stalled_log_drops_and_counts_what_does_not_fit_instead_of_stalling_the_task() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let run = burst(&redis, dir.path(), 3000);
    wait_for_file(&dir.path().join("ready"));
    // Redis takes no writes for 4 s: the writer's first batch waits; the program's lines
    // wait for room at most a second, then are dropped.
    let mut c = redis.connection().unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(4000)
        .arg("WRITE")
        .query(&mut c)
        .unwrap();
    std::fs::write(dir.path().join("go"), "").unwrap();
    let (out, events) = run.finish();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let dropped: u64 = stdout
        .lines()
        .find_map(|l| l.split_once(" event(s) could not be shared"))
        .and_then(|(n, _)| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count of events not shared:\n{stdout}"));
    assert!(dropped > 0 && dropped <= 3000, "{stdout}");
    // The run's own events file has every line.
    assert_eq!(of_kind(&events, "log").len(), 3000);
    let logs = shared_logs(&redis, &dir.path().join("ws"));
    // What was shared and what was dropped make up every line (and perhaps other events).
    assert!(logs.len() < 3000, "{}", logs.len());
    assert!(
        logs.len() as u64 + dropped >= 3000,
        "{} + {dropped}",
        logs.len()
    );
}

#[test]
fn a_cancelled_task_kills_what_its_program_left_writing_to_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let survived = dir.path().join("survived");
    // The shell ends at once; what it started keeps its stdout open, and would mark that it
    // lived to its end.
    let script = format!("(sleep 30; touch {}) & echo started", survived.display());
    let (out, events) = spawn(
        &ws,
        "a",
        &["Shell", "--name", "orphan", "--script", &script],
        &["--task-timeout".into(), "1s".into()],
    )
    .finish();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    let failed = of_kind(&events, "failed");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("timed out"),
        "{failed:?}"
    );
    assert_eq!(of_kind(&events, "log")[0]["message"], "started");
    assert!(!survived.exists(), "what the program started lived on");
}
