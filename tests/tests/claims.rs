//! Task claims: several processes running one pipeline over one workspace run each task once
//! and share the work, with no `#[run_with_lock]` on any task. Real processes, a real
//! `redis-server` (started here on a free loopback port) or file locks; runs are counted from
//! the log the tasks write (`runs.log`: `<pid> <what>` per line).

mod support;

use std::collections::HashMap;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use kart_tests::redis_server::RedisServer;
use support::{exit_within, fixture_in, of_kind, send_signal, spawn, wait_until_stopped};

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `(pid, what)` of every line of the run log.
fn run_log(ws: &Path) -> Vec<(u32, String)> {
    std::fs::read_to_string(ws.join("runs.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let (pid, what) = l.split_once(' ').expect("`<pid> <what>`");
            (pid.parse().unwrap(), what.to_string())
        })
        .collect()
}

fn with(flags: &[String], more: &[&str]) -> Vec<String> {
    flags
        .iter()
        .cloned()
        .chain(more.iter().map(|s| s.to_string()))
        .collect()
}

/// Processes of one test sharing a Redis and a workspace.
struct Shared {
    _redis: RedisServer,
    _dir: tempfile::TempDir,
    ws: std::path::PathBuf,
    extra: Vec<String>,
}

impl Shared {
    fn new(more: &[&str]) -> Self {
        let redis = RedisServer::start();
        let dir = tempfile::tempdir().unwrap();
        Shared {
            ws: dir.path().join("ws"),
            extra: with(&redis.flags(), more),
            _redis: redis,
            _dir: dir,
        }
    }

    /// Process `proc` running `family --name name --secs secs`.
    fn spawn(&self, proc: &str, family: &str, name: &str, secs: &str) -> support::Proc {
        let args = [family, "--name", name, "--secs", secs];
        spawn(&self.ws, proc, &args, &self.extra)
    }

    /// The processes that logged `what`, in order.
    fn logged(&self, what: &str) -> Vec<u32> {
        run_log(&self.ws)
            .into_iter()
            .filter(|(_, w)| w == what)
            .map(|(p, _)| p)
            .collect()
    }
}

/// Every one of the 2 000 tasks ran exactly once, and each process ran at least a tenth.
fn once_each_and_shared<K: std::fmt::Debug>(per_task: &HashMap<K, usize>, per_process: &[usize]) {
    assert_eq!(per_task.len(), 2000, "every task ran");
    let twice: Vec<_> = per_task.iter().filter(|(_, &n)| n != 1).collect();
    assert!(twice.is_empty(), "tasks run more than once: {twice:?}");
    assert!(
        per_process.iter().all(|&n| n >= 200),
        "each process runs at least a tenth: {per_process:?}"
    );
}

/// Four processes start the same 2 000-task DAG at once: every task runs exactly once in
/// total, and each process runs at least a tenth of them.
fn four_processes_share_one_dag(extra: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let args = [
        "SharedDag",
        "--width",
        "250",
        "--layers",
        "8",
        "--millis",
        "5",
        "--workers",
        "2",
    ];
    let procs: Vec<_> = (0..4)
        .map(|p| spawn(&ws, &format!("p{p}"), &args, extra))
        .collect();
    let mut waited = 0;
    let mut summarized = 0;
    for p in procs {
        let (out, events) = p.finish();
        assert!(out.status.success(), "{}", text(&out));
        // The summary lists what ran elsewhere.
        if text(&out).contains("were completed by another worker meanwhile") {
            summarized += 1;
        }
        waited += of_kind(&events, "claimed_elsewhere").len();
        for e in of_kind(&events, "claimed_elsewhere") {
            assert!(e["holder"].as_str().unwrap().contains(':'), "{e}");
            assert!(e["pid"].as_u64().is_some(), "{e}");
        }
    }
    let log = run_log(&ws);
    let mut per_task: HashMap<&str, usize> = HashMap::new();
    let mut per_process: HashMap<u32, usize> = HashMap::new();
    for (pid, what) in &log {
        *per_task.entry(what.as_str()).or_default() += 1;
        *per_process.entry(*pid).or_default() += 1;
    }
    assert_eq!(per_process.len(), 4, "every process ran: {per_process:?}");
    once_each_and_shared(&per_task, &per_process.into_values().collect::<Vec<_>>());
    assert!(waited > 0, "the processes met on some tasks");
    assert!(
        summarized > 0,
        "some summary lists tasks completed elsewhere"
    );
    for layer in 0..8 {
        for i in 0..250 {
            assert!(ws.join(format!("shared/{layer}/{i}.json")).exists());
        }
    }
}

#[test]
fn four_processes_sharing_redis_run_every_task_once_and_share_the_work() {
    let redis = RedisServer::start();
    four_processes_share_one_dag(&redis.flags());
}

#[test]
fn four_processes_sharing_file_locks_run_every_task_once_and_share_the_work() {
    four_processes_share_one_dag(&[]);
}

#[test]
fn a_killed_claimers_task_is_taken_over_when_its_claim_runs_out_and_runs_once() {
    let shared = Shared::new(&["--claim-ttl", "3s"]);
    let a = shared.spawn("a", "LongClaim", "x", "60");
    a.wait_for("started");
    let a_pid = a.child.id();
    send_signal(a_pid, "KILL");
    let _ = a.finish();
    let b = shared.spawn("b", "LongClaim", "x", "0.2");
    let b_pid = b.child.id();
    let (out, events) = b.finish();
    assert!(out.status.success(), "{}", text(&out));
    let waited = of_kind(&events, "claimed_elsewhere");
    assert_eq!(waited.len(), 1, "b waited for a's claim");
    assert_eq!(waited[0]["pid"].as_u64(), Some(u64::from(a_pid)));
    assert_eq!(of_kind(&events, "succeeded").len(), 1);
    assert_eq!(shared.logged("start x"), [a_pid, b_pid]);
    assert_eq!(
        shared.logged("end x"),
        [b_pid],
        "the task ran to its end once"
    );
    let written = std::fs::read_to_string(shared.ws.join("long/x.json")).unwrap();
    assert_eq!(written.trim(), b_pid.to_string());
}

#[test]
fn a_claimer_stopped_past_its_claim_never_commits_over_the_one_that_took_over() {
    let shared = Shared::new(&["--claim-ttl", "1s"]);
    let a = shared.spawn("a", "LongClaim", "y", "1.5");
    a.wait_for("started");
    let a_pid = a.child.id();
    send_signal(a_pid, "STOP");
    wait_until_stopped(a_pid);
    let b = shared.spawn("b", "LongClaim", "y", "0.1");
    let b_pid = b.child.id();
    let (out, _) = b.finish();
    assert!(out.status.success(), "{}", text(&out));
    send_signal(a_pid, "CONT");
    let status = exit_within(a.child, Duration::from_secs(60), "the stopped claimer");
    assert!(
        !status.success(),
        "a's claim was taken over: its run must fail"
    );
    let a_events = support::read_events(&a.events);
    assert!(of_kind(&a_events, "succeeded").is_empty(), "{a_events:?}");
    let written = std::fs::read_to_string(shared.ws.join("long/y.json")).unwrap();
    assert_eq!(written.trim(), b_pid.to_string(), "b's output stands");
}

#[test]
fn a_task_that_fails_in_the_process_holding_its_claim_fails_in_the_one_waiting_for_it() {
    let shared = Shared::new(&[]);
    let a = shared.spawn("a", "Doomed", "d", "1.5");
    a.wait_for("started");
    let b = shared.spawn("b", "Doomed", "d", "0");
    let (a_out, _) = a.finish();
    assert_eq!(a_out.status.code(), Some(1), "{}", text(&a_out));
    let (b_out, b_events) = b.finish();
    assert_eq!(b_out.status.code(), Some(1), "{}", text(&b_out));
    let failed = of_kind(&b_events, "failed");
    assert_eq!(failed.len(), 1, "{b_events:?}");
    let error = failed[0]["error"].as_str().unwrap();
    assert!(
        error.starts_with("failed in another process (") && error.ends_with("d is doomed"),
        "{error}"
    );
    assert_eq!(
        shared.logged("start d").len(),
        1,
        "the failed task did not run again"
    );
    assert!(text(&b_out).contains("failed in another process"));
}

#[test]
fn claims_are_listed_with_their_holder_and_can_be_turned_off() {
    let shared = Shared::new(&[]);
    let a = shared.spawn("a", "LongClaim", "z", "3");
    a.wait_for("started");
    let args: Vec<&str> = ["locks", "list"]
        .into_iter()
        .chain(shared.extra.iter().map(String::as_str))
        .collect();
    let listed = fixture_in(&shared.ws, &args);
    let listing = text(&listed);
    assert!(listed.status.success(), "{listing}");
    assert!(
        listing.contains("claim:LongClaim_z_") && listing.contains(&a.child.id().to_string()),
        "{listing}"
    );
    // Without claims a second process runs the same task again.
    let args = ["LongClaim", "--name", "z", "--secs", "0.1", "--no-claims"];
    let b = spawn(&shared.ws, "b", &args, &shared.extra);
    let (b_out, b_events) = b.finish();
    assert!(b_out.status.success(), "{}", text(&b_out));
    assert!(of_kind(&b_events, "claimed_elsewhere").is_empty());
    let (a_out, _) = a.finish();
    assert!(a_out.status.success(), "{}", text(&a_out));
    assert_eq!(shared.logged("start z").len(), 2);
}

#[test]
fn four_processes_on_an_s3_workspace_with_redis_run_every_task_once_and_share_the_work() {
    use kart_tests::object_server::{ObjectServer, Provider};
    let s3 = ObjectServer::start(Provider::S3);
    s3.create_bucket("claims");
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let url = "s3://claims/dag";
    let procs: Vec<_> = (0..4)
        .map(|p| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("fixture"))
                .args([
                    "SharedDag",
                    "--width",
                    "250",
                    "--layers",
                    "8",
                    "--millis",
                    "5",
                ])
                .args(["--workers", "2", "--workspace", url])
                .args(redis.flags())
                .arg("--events")
                .arg(dir.path().join(format!("events-{p}.jsonl")))
                .env_remove("KART_CONFIG")
                .envs(s3.env())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut per_task: HashMap<String, usize> = HashMap::new();
    let mut per_process = Vec::new();
    for (p, child) in procs.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        let events = support::read_events(&dir.path().join(format!("events-{p}.jsonl")));
        let started: Vec<_> = of_kind(&events, "started")
            .into_iter()
            .filter(|e| e["family"] == "SharedNode")
            .collect();
        per_process.push(started.len());
        for e in started {
            *per_task
                .entry(e["task_id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    once_each_and_shared(&per_task, &per_process);
    for i in 0..250 {
        assert!(s3
            .get("claims", &format!("dag/shared/7/{i}.json"))
            .is_some());
    }
}
