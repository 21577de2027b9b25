//! Faults a black-box run found: closed pipes, panicking user code, signals at awkward moments,
//! Redis trouble, racing commits. Each test drives the real binary with real signals and real
//! servers, and counts what happened from outputs and events.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use kart_tests::redis_server::RedisServer;
use support::{
    exit_within, of_kind, send_signal, spawn, spawn_with_env, text, wait_until_stopped, Run,
};

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
    assert!(stderr.contains("worker thread"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(run.workspace().join("sleepy"))
            .unwrap()
            .count(),
        3000
    );
}

// Double runs and stale writes.

/// Waits until no key matches `pattern` (a lock whose lease ran out).
fn wait_until_gone(redis: &RedisServer, pattern: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !redis.keys(pattern).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "{pattern} still held after 30 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Holder A freezes at `failpoint` while committing and stays frozen past its lease; B takes
/// the lock (fence 2) and commits; then A resumes. Returns A's output and events, B's pid, and
/// the output's content.
fn frozen_holder_resumes_after_a_rival_committed(
    failpoint: &str,
) -> (std::process::Output, Vec<serde_json::Value>, u64, String) {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let args = ["HoldLock", "--name", "t", "--secs", "0"];
    let a = spawn_with_env(
        &ws,
        "a",
        &args,
        &redis.flags(),
        &[("KART_FAILPOINTS", failpoint)],
    );
    wait_until_stopped(a.child.id());
    wait_until_gone(&redis, "*:lock:run:HoldLock_*");
    let (b, b_events) = spawn(&ws, "b", &args, &redis.flags()).finish();
    assert_eq!(b.status.code(), Some(0), "{}", text(&b).1);
    assert_eq!(of_kind(&b_events, "lock_acquired")[0]["fence"], 2);
    let b_pid = b_events[0]["pid"].as_u64().unwrap();
    send_signal(a.child.id(), "CONT");
    let (a_out, a_events) = a.finish();
    let kept = std::fs::read_to_string(ws.join("held/t.json")).unwrap();
    (a_out, a_events, b_pid, kept)
}

#[test]
fn a_holder_whose_lease_ran_out_during_its_write_never_commits() {
    // Frozen with its output durable but not yet visible, before the lease check.
    let (a_out, a_events, b_pid, kept) =
        frozen_holder_resumes_after_a_rival_committed("publish-durable");
    assert_eq!(a_out.status.code(), Some(1), "{}", text(&a_out).1);
    assert!(of_kind(&a_events, "succeeded").is_empty(), "{a_events:?}");
    let failed = of_kind(&a_events, "failed");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("not written: the lock was lost"),
        "{failed:?}"
    );
    assert!(kept.contains(&format!("held by {b_pid}")), "{kept}");
}

#[test]
fn a_commit_never_replaces_an_output_committed_meanwhile() {
    // Frozen after passing its lease check, just before the rename.
    let (a_out, a_events, b_pid, kept) =
        frozen_holder_resumes_after_a_rival_committed("publish-checked");
    assert!(of_kind(&a_events, "succeeded").is_empty(), "{a_events:?}");
    assert_eq!(
        of_kind(&a_events, "already_committed").len(),
        1,
        "{a_events:?}"
    );
    assert_eq!(a_out.status.code(), Some(0), "{}", text(&a_out).1);
    assert!(kept.contains(&format!("held by {b_pid}")), "{kept}");
}

#[test]
fn eight_processes_running_one_plain_task_commit_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    // Without claims all eight run it: the commit itself must keep the first output.
    let args = ["Sleepy", "--n", "1", "--millis", "1500", "--no-claims"];
    let procs: Vec<_> = (0..8)
        .map(|p| spawn(&ws, &format!("p{p}"), &args, &[]))
        .collect();
    let mut counts = std::collections::BTreeMap::new();
    for p in procs {
        let (out, events) = p.finish();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
        for kind in ["succeeded", "already_committed", "already_complete"] {
            *counts.entry(kind).or_insert(0) += of_kind(&events, kind).len();
        }
    }
    assert_eq!(counts["succeeded"], 1, "{counts:?}");
    assert!(counts["already_committed"] >= 1, "{counts:?}");
    assert_eq!(
        counts["succeeded"] + counts["already_committed"] + counts["already_complete"],
        8,
        "{counts:?}"
    );
    assert_eq!(run_output(&ws, "sleepy/1.json"), 1);
}

fn run_output(ws: &std::path::Path, key: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(ws.join(key)).unwrap()).unwrap()
}

#[test]
fn a_committer_killed_mid_write_frees_its_output_within_seconds() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let args = ["HoldLock", "--name", "k", "--secs", "0"];
    let a = spawn_with_env(
        &ws,
        "a",
        &args,
        &redis.flags(),
        &[("KART_FAILPOINTS", "publish-durable")],
    );
    wait_until_stopped(a.child.id());
    // The output's cache lock expires by a short TTL (renewed while a commit runs), not 60 s.
    let cache = redis.keys("*:lock:cache:held/k.json");
    assert_eq!(cache.len(), 1, "{:?}", redis.keys("*"));
    let mut c = redis.connection().unwrap();
    let pttl: i64 = redis::cmd("PTTL").arg(&cache[0]).query(&mut c).unwrap();
    assert!(
        (1..=kart_core::task::CACHE_LOCK_TTL.as_millis() as i64).contains(&pttl),
        "{pttl}"
    );
    send_signal(a.child.id(), "KILL");
    let _ = a.finish();
    let (b, b_events) = spawn(&ws, "b", &args, &redis.flags()).finish();
    assert_eq!(b.status.code(), Some(0), "{}", text(&b).1);
    assert_eq!(of_kind(&b_events, "succeeded").len(), 1);
    assert!(ws.join("held/k.json").exists());
}

#[test]
fn an_until_executed_job_keeps_its_lock_through_its_retries() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let args = [
        "UniqueRetried",
        "--n",
        "1",
        "--retry-count",
        "1",
        "--retry-delay",
        "3s",
    ];
    let first = spawn(&ws, "first", &args, &redis.flags());
    first.wait_for("retried");
    // A duplicate scheduled during the retry delay finds the job still locked.
    let (dup, dup_events) = spawn(&ws, "dup", &args, &redis.flags()).finish();
    assert_eq!(dup.status.code(), Some(1), "{}", text(&dup).1);
    assert!(of_kind(&dup_events, "started").is_empty(), "{dup_events:?}");
    let (out, events) = first.finish();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(of_kind(&events, "succeeded").len(), 1);
    let runs = std::fs::read_to_string(ws.join("runs/unique-retried-1")).unwrap();
    let pid = events[0]["pid"].to_string();
    assert_eq!(
        runs.lines().collect::<Vec<_>>(),
        [pid.as_str(), pid.as_str()]
    );
}

// Signals.

#[test]
fn sigterm_ends_a_wait_for_a_lock_and_the_task_never_starts() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let args = ["HoldLock", "--name", "w", "--secs", "30"];
    let holder = spawn(&ws, "holder", &args, &redis.flags());
    holder.wait_for("started");
    let waiter = spawn(&ws, "waiter", &args, &redis.flags());
    waiter.wait_for("lock_waiting");
    send_signal(waiter.child.id(), "TERM");
    // The holder dies: its lock comes free (by TTL) while the waiter would still be waiting.
    send_signal(holder.child.id(), "KILL");
    let _ = holder.finish();
    let (out, events) = waiter.finish();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out).1);
    assert!(of_kind(&events, "started").is_empty(), "{events:?}");
    let skipped = of_kind(&events, "skipped");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("interrupted before it started"),
        "{skipped:?}"
    );
    assert!(!ws.join("held/w.json").exists());
}

// Smaller.

#[test]
fn every_task_that_does_not_succeed_ends_with_an_event_naming_the_holder() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let first = spawn(
        &ws,
        "first",
        &["UniqueRaise", "--n", "1", "--secs", "30"],
        &redis.flags(),
    );
    first.wait_for("started");
    let first_pid = first.child.id();
    let host = gethostname();
    // A unique job that raises on conflict.
    let (out, events) = spawn(&ws, "raise", &["UniqueRaise", "--n", "1"], &redis.flags()).finish();
    assert_eq!(out.status.code(), Some(1));
    let last = events.last().unwrap();
    assert_eq!(last["event"], "failed", "{events:?}");
    let error = last["error"].as_str().unwrap();
    assert!(error.contains("unique job conflict"), "{error}");
    assert!(error.contains(&format!("{host}:{first_pid}")), "{error}");
    assert!(error.contains("(task UniqueRaise_1_"), "{error}");
    // A lock held through every retry.
    let mut flags = redis.flags().to_vec();
    flags.push("--redis-fail-on-collision".into());
    let holder = spawn(
        &ws,
        "holder",
        &["HoldLock", "--name", "y", "--secs", "30"],
        &redis.flags(),
    );
    holder.wait_for("started");
    let (out, events) = spawn(&ws, "locked", &["HoldLock", "--name", "y"], &flags).finish();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out).1);
    let elsewhere = of_kind(&events, "locked_elsewhere");
    let named = format!("{host}:{}", holder.child.id());
    assert!(
        elsewhere[0]["holder"].as_str().unwrap().starts_with(&named),
        "{elsewhere:?}"
    );
    let last = events.last().unwrap();
    assert_eq!(last["event"], "failed", "{events:?}");
    assert_eq!(last["locked_elsewhere"], true);
    assert!(text(&out).1.contains(&named), "{}", text(&out).1);
    for p in [first, holder] {
        send_signal(p.child.id(), "KILL");
        let _ = p.finish();
    }
}

fn gethostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn sigterm_while_the_graph_is_built_is_a_stop_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    // A long window: building its graph takes a while after the stop arrives.
    let args = [
        "RangeDailyBase",
        "--of",
        "Daily",
        "--start",
        "1800-01-01",
        "--days-back",
        "100000",
    ];
    let p = spawn_with_env(&ws, "p", &args, &[], &[("KART_FAILPOINTS", "graph-build")]);
    wait_until_stopped(p.child.id());
    send_signal(p.child.id(), "TERM");
    send_signal(p.child.id(), "CONT");
    let (out, events) = p.finish();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(
        stderr.contains("SIGTERM: starting no new tasks"),
        "{stderr}"
    );
    assert!(
        stdout.contains("because the run was interrupted"),
        "{stdout}"
    );
    assert!(stdout.contains("interrupted before it started"), "{stdout}");
    assert!(of_kind(&events, "started").is_empty());
    assert!(
        of_kind(&events, "scheduled").is_empty(),
        "the graph was never finished"
    );
    assert!(!ws.join("daily").exists());
}

// Redis trouble.

#[test]
fn one_task_in_two_workspaces_sharing_redis_never_contends() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let mut flags = redis.flags().to_vec();
    flags.push("--redis-fail-on-collision".into());
    let args = ["HoldLock", "--name", "s", "--secs", "30"];
    let first = spawn(&dir.path().join("one/ws"), "one", &args, &flags);
    first.wait_for("started");
    let second = spawn(&dir.path().join("two/ws"), "two", &args, &flags);
    second.wait_for("started");
    // Two locks under two workspace prefixes.
    let held = redis.keys("kart:*:lock:run:HoldLock_*");
    assert_eq!(held.len(), 2, "{held:?}");
    for p in [first, second] {
        assert!(of_kind(&p.events(), "locked_elsewhere").is_empty());
        send_signal(p.child.id(), "KILL");
        let _ = p.finish();
    }
}

#[test]
fn a_worker_with_a_clock_hours_ahead_never_sweeps_a_file_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    // The writer freezes with its temporary file written, not yet renamed.
    let writer = spawn_with_env(
        &ws,
        "writer",
        &["Chain", "--n", "0"],
        &[],
        &[("KART_FAILPOINTS", "publish-durable")],
    );
    wait_until_stopped(writer.child.id());
    let temp = support::temp_files(&ws);
    assert_eq!(temp.len(), 1, "{temp:?}");
    // Another worker whose clock is two hours ahead sweeps stale temporary files at start.
    let out = Command::new("faketime")
        .args(["-f", "+2h"])
        .arg(assert_cmd::cargo::cargo_bin("fixture"))
        .args(["Sleepy", "--n", "1", "--millis", "0", "--workspace"])
        .arg(&ws)
        .env_remove("KART_CONFIG")
        .output()
        .expect("faketime runs (apt-get install -y faketime)");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(
        support::temp_files(&ws),
        temp,
        "the in-flight file was kept"
    );
    send_signal(writer.child.id(), "CONT");
    let (out, events) = writer.finish();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(of_kind(&events, "succeeded").len(), 1);
}

#[test]
fn a_redis_stall_longer_than_a_command_timeout_during_a_commit_loses_nothing() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let writer = spawn_with_env(
        &ws,
        "writer",
        &["LockedLeaf", "--i", "1"],
        &redis.flags(),
        &[("KART_FAILPOINTS", "publish-durable")],
    );
    wait_until_stopped(writer.child.id());
    // Every command stalls for 8 s, past kart's 5 s command timeout, while the lease (the
    // default TTL of 10 minutes) stays valid.
    let mut c = redis.connection().unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(8000)
        .arg("ALL")
        .query(&mut c)
        .unwrap();
    send_signal(writer.child.id(), "CONT");
    let (out, events) = writer.finish();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(of_kind(&events, "succeeded").len(), 1, "{events:?}");
    // The run lock held through the stall (the short cache lock may lapse: no-clobber covers it).
    assert!(of_kind(&events, "lock_lost")
        .iter()
        .all(|e| e["key"].as_str().unwrap().starts_with("cache:")));
    assert!(ws.join("locked/1.json").exists());
}

#[test]
fn a_worker_waiting_for_a_lock_survives_a_redis_restart() {
    let mut redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let args = ["HoldLock", "--name", "r", "--secs", "3"];
    let holder = spawn(&ws, "holder", &args, &redis.flags());
    holder.wait_for("started");
    let waiter = spawn(&ws, "waiter", &args, &redis.flags());
    waiter.wait_for("lock_waiting");
    // The restart loses every key (persistence is off): the holder's lock with them.
    redis.restart();
    let (out, events) = waiter.finish();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert!(!of_kind(&events, "lock_acquired").is_empty());
    let done = of_kind(&events, "succeeded").len() + of_kind(&events, "already_complete").len();
    assert!(done >= 1, "{events:?}");
    let _ = holder.finish();
    assert!(ws.join("held/r.json").exists());
}

/// Runs the fixture with `env` and `args` against `ws`; returns the output and everything it
/// wrote (stdout, stderr, events) as one text, to look for leaked secrets.
fn run_fixture(
    ws: &std::path::Path,
    name: &str,
    args: &[&str],
    env: &[(&str, &str)],
) -> (std::process::Output, String) {
    let (out, events) = spawn_with_env(ws, name, args, &[], env).finish();
    let (stdout, stderr) = text(&out);
    let all = format!("{stdout}{stderr}{}", serde_json::Value::from(events));
    (out, all)
}

#[test]
fn redis_with_a_password_from_a_url_or_a_file_and_the_password_never_shows() {
    let password = "s3cr3t-Pw";
    let redis = RedisServer::start_with_password(password);
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let leaf = ["LockedLeaf", "--i", "1", "-v"];
    // In KART_REDIS_URL.
    let url = format!("redis://:{password}@127.0.0.1:{}", redis.port);
    let (out, all) = run_fixture(&ws, "url", &leaf, &[("KART_REDIS_URL", &url)]);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(!all.contains(password), "{all}");
    assert_eq!(redis.keys("kart:*:fence:run:LockedLeaf_1_*").len(), 1);
    // In a password file named by kart.toml, with the ACL user.
    std::fs::write(dir.path().join("redis-password"), format!("{password}\n")).unwrap();
    let config = dir.path().join("kart.toml");
    std::fs::write(
        &config,
        format!(
            "[redis]\nhost = \"127.0.0.1\"\nport = {}\nusername = \"default\"\npassword_file = \"{}\"\n",
            redis.port,
            dir.path().join("redis-password").display()
        ),
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let two = ["LockedLeaf", "--i", "2", "--config", config];
    let (out, all) = run_fixture(&ws, "file", &two, &[]);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert_eq!(redis.keys("kart:*:fence:run:LockedLeaf_2_*").len(), 1);
    // `locks list` logs in the same way.
    let out = support::fixture_in(&ws, &["locks", "list", "--config", config]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    // A wrong password and no password: one clear line each, the password nowhere.
    let wrong = format!("redis://:{password}x@127.0.0.1:{}", redis.port);
    let (out, all) = run_fixture(
        &ws,
        "wrong",
        &["LockedLeaf", "--i", "3"],
        &[("KART_REDIS_URL", &wrong)],
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
    let stderr = text(&out).1;
    assert!(
        stderr.contains(&format!("cannot use Redis at 127.0.0.1:{}", redis.port)),
        "{stderr}"
    );
    assert!(stderr.contains("authentication failed"), "{stderr}");
    assert!(!all.contains(password), "{all}");
    let (out, _) = run_fixture(
        &ws,
        "none",
        &["LockedLeaf", "--i", "3"],
        &[(
            "KART_REDIS_URL",
            &format!("redis://127.0.0.1:{}", redis.port),
        )],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("NOAUTH"), "{}", text(&out).1);
    // A malformed URL is reported without its password.
    let (out, all) = run_fixture(
        &ws,
        "bad",
        &["LockedLeaf", "--i", "3"],
        &[(
            "KART_REDIS_URL",
            &format!("redis://:{password}@127.0.0.1:notaport"),
        )],
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(!all.contains(password), "{all}");
    assert!(!ws.join("locked/3.json").exists());
}

#[test]
fn redis_over_tls_with_a_private_certificate_authority() {
    let dir = tempfile::tempdir().unwrap();
    let certs = kart_tests::redis_server::TestCerts::make(dir.path());
    let redis = RedisServer::start_tls(&certs);
    let ws = dir.path().join("ws");
    let url = format!("rediss://localhost:{}", redis.port);
    let ca = certs.ca.display().to_string();
    let (out, all) = run_fixture(
        &ws,
        "tls",
        &["LockedLeaf", "--i", "1"],
        &[("KART_REDIS_URL", &url), ("KART_REDIS_CA_FILE", &ca)],
    );
    assert_eq!(out.status.code(), Some(0), "{all}");
    let events = support::read_events(&dir.path().join("events-tls.jsonl"));
    assert_eq!(
        of_kind(&events, "lock_acquired").len(),
        2,
        "run and cache locks: {events:?}"
    );
    // Without the CA the server's certificate is not trusted.
    let (out, all) = run_fixture(
        &ws,
        "untrusted",
        &["LockedLeaf", "--i", "2"],
        &[("KART_REDIS_URL", &url)],
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        text(&out)
            .1
            .contains(&format!("cannot use Redis at localhost:{}", redis.port)),
        "{all}"
    );
    // Plain TCP to a TLS port fails too, not hangs.
    let plain = format!("redis://localhost:{}", redis.port);
    let (out, all) = run_fixture(
        &ws,
        "plain",
        &["LockedLeaf", "--i", "2"],
        &[("KART_REDIS_URL", &plain)],
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
}

#[test]
fn gc_during_a_run_never_fails_a_dependent_that_was_about_to_read() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let (out, _) = spawn(&ws, "first", &["Scratch", "--n", "1"], &[]).finish();
    assert_eq!(out.status.code(), Some(0));
    // The graph finds `Scratch(1)` complete; its dependent freezes just before it runs.
    let run = spawn_with_env(
        &ws,
        "run",
        &["FinalResult", "--n", "1"],
        &[],
        &[("KART_FAILPOINTS", "run-start")],
    );
    wait_until_stopped(run.child.id());
    let gc = support::fixture_in(&ws, &["gc", "--older-than", "0s"]);
    assert!(
        text(&gc).0.contains("removed tmp/1.json"),
        "{}",
        text(&gc).0
    );
    send_signal(run.child.id(), "CONT");
    let (out, events) = run.finish();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    let recomputed = of_kind(&events, "recomputed");
    assert_eq!(recomputed.len(), 1, "{events:?}");
    assert_eq!(recomputed[0]["family"], "Scratch");
    assert_eq!(run_output(&ws, "tmp/1.json"), 10, "made again");
    assert_eq!(run_output(&ws, "final/1.json"), 11);
}

#[test]
fn signals_still_stop_a_run_whose_stderr_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = bin("fixture")
        .args([
            "HoldLock",
            "--name",
            "c",
            "--secs",
            "60",
            "-v",
            "--workspace",
        ])
        .arg(dir.path().join("ws"))
        .arg("--events")
        .arg(dir.path().join("events.jsonl"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let events = dir.path().join("events.jsonl");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !support::read_events(&events)
        .iter()
        .any(|e| e["event"] == "started")
    {
        assert!(std::time::Instant::now() < deadline, "never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Every signal's notice goes to the closed stderr. Signals sent at once may merge into
    // one, so keep sending until the second one has been seen.
    let mut sent = 0;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(sent < 50, "still running after {sent} SIGTERMs");
        send_signal(child.id(), "TERM");
        sent += 1;
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(130));
}

#[test]
fn a_kill_while_a_file_lock_counts_its_fence_never_resets_the_fencing_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let args = ["HoldLock", "--name", "f", "--secs", "0"];
    // Two commits of one output (fences 1 and 2); the output removed after each.
    for (n, name) in ["one", "two"].into_iter().enumerate() {
        let (out, events) = spawn(&ws, name, &args, &[]).finish();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
        assert_eq!(of_kind(&events, "lock_acquired")[0]["fence"], n + 1);
        std::fs::remove_file(ws.join("held/f.json")).unwrap();
    }
    // The third is killed in the middle of writing its record (and fence 3) over the last
    // one, before the file is cut to its length: what a longer record before it leaves
    // behind follows it.
    let third = spawn_with_env(
        &ws,
        "three",
        &args,
        &[],
        &[("KART_FAILPOINTS", "fence-written")],
    );
    wait_until_stopped(third.child.id());
    send_signal(third.child.id(), "KILL");
    let _ = third.finish();
    let lock_file = std::fs::read_dir(ws.join(".kart/locks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".lock") && p.to_string_lossy().contains("run"))
        .expect("the run lock's file");
    let mut bytes = std::fs::read(&lock_file).unwrap();
    bytes.extend_from_slice(br#"ld":"tail of a longer record","fence":1}"#);
    std::fs::write(&lock_file, bytes).unwrap();
    // The tokens go on from the killed holder's: the next holder gets 4, and its commit is
    // not refused as stale.
    let (out, events) = spawn(&ws, "four", &args, &[]).finish();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(of_kind(&events, "lock_acquired")[0]["fence"], 4);
    assert_eq!(of_kind(&events, "succeeded").len(), 1);
    // No counter file: the lock's token is in its record, and a commit keeps none.
    let names: Vec<String> = std::fs::read_dir(ws.join(".kart/locks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".fence")), "{names:?}");
}
