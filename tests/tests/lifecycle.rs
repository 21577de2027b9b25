//! Worker lifecycle: signals sent to the real binary mid-run, task timeouts, exit codes,
//! temporary-file hygiene, and `gc` of intermediate outputs.

mod support;

use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant, SystemTime};

use kart_tests::redis_server::RedisServer;
use serde_json::Value;
use support::{read_events, temp_files, text, Run};

fn spawn(run: &Run, args: &[&str], extra: &[String]) -> Child {
    run.spawn(args, extra)
}

fn wait_for(run: &Run, kind: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while run.events_of(kind).len() < count {
        assert!(
            Instant::now() < deadline,
            "fewer than {count} `{kind}` events within 20 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn signal(child: &Child, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{name}");
}

fn finish(child: Child) -> Output {
    child.wait_with_output().unwrap()
}

#[test]
fn sigint_lets_running_tasks_finish_starts_nothing_new_and_releases_every_lock() {
    let redis = RedisServer::start();
    let run = Run::new();
    let child = spawn(
        &run,
        &[
            "LockedDag",
            "--n",
            "40",
            "--millis",
            "300",
            "--workers",
            "2",
        ],
        &redis.flags(),
    );
    wait_for(&run, "started", 2);
    signal(&child, "INT");
    let out = finish(child);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("SIGINT: starting no new tasks"), "{stderr}");
    assert!(
        stdout.contains("because the run was interrupted")
            && stdout.contains("interrupted before it started"),
        "{stdout}"
    );
    let started = run.events_of("started").len();
    assert!(started < 41, "stopped early: {started} started");
    // Every task that started, finished: nothing was cut off.
    assert_eq!(run.events_of("succeeded").len(), started);
    assert!(
        redis.keys("kart:*:lock:*").is_empty(),
        "locks left: {:?}",
        redis.keys("kart:*:lock:*")
    );
    assert!(temp_files(&run.workspace()).is_empty());
    for e in run.events_of("succeeded") {
        let i = &e["params"]["i"];
        if !i.is_null() {
            let text =
                std::fs::read_to_string(run.workspace().join(format!("locked/{i}.json"))).unwrap();
            assert!(serde_json::from_str::<Value>(&text).is_ok());
        }
    }
}

#[test]
fn sigterm_also_finishes_the_running_task() {
    let run = Run::new();
    let child = spawn(&run, &["HoldLock", "--name", "t", "--secs", "1"], &[]);
    wait_for(&run, "started", 1);
    signal(&child, "TERM");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130));
    assert!(
        run.workspace().join("held/t.json").exists(),
        "the running task completed"
    );
}

#[test]
fn a_second_sigint_cancels_running_tasks_and_still_releases_everything() {
    let redis = RedisServer::start();
    let run = Run::new();
    let child = spawn(
        &run,
        &["HoldLock", "--name", "x", "--secs", "30"],
        &redis.flags(),
    );
    wait_for(&run, "lock_acquired", 1);
    signal(&child, "INT");
    std::thread::sleep(Duration::from_millis(200));
    signal(&child, "INT");
    let started = Instant::now();
    let out = finish(child);
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "cancelled, not run to the end"
    );
    assert_eq!(out.status.code(), Some(130), "{}", text(&out).1);
    let failed = run.events_of("failed");
    assert!(
        failed[0]["error"].as_str().unwrap().contains("interrupted"),
        "{}",
        failed[0]
    );
    assert!(
        !run.workspace().join("held/x.json").exists(),
        "nothing half-done committed"
    );
    assert!(redis.keys("kart:*:lock:*").is_empty());
    assert_eq!(
        run.events_of("lock_released").len(),
        run.events_of("lock_acquired").len()
    );
}

#[test]
fn the_shutdown_grace_bounds_how_long_running_tasks_may_take() {
    let run = Run::new();
    let child = spawn(
        &run,
        &[
            "Busy",
            "--n",
            "1",
            "--secs",
            "30",
            "--shutdown-grace",
            "300ms",
        ],
        &[],
    );
    wait_for(&run, "started", 1);
    signal(&child, "TERM");
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130));
    assert!(
        text(&out).1.contains("shutdown grace of 300ms over"),
        "{}",
        text(&out).1
    );
    assert!(!run.workspace().join("busy/1.json").exists());
}

#[test]
fn a_task_past_its_timeout_is_cancelled_and_retried() {
    let run = Run::new();
    let out = run
        .fixture(&[
            "SlowPoll",
            "--n",
            "1",
            "--retry-count",
            "1",
            "--retry-delay",
            "0s",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(run.events_of("started").len(), 2, "retried once");
    let failed = run.events_of("failed");
    assert!(
        failed.iter().all(|e| e["error"]
            .as_str()
            .unwrap()
            .starts_with("timed out after 1s")),
        "{failed:?}"
    );
    assert!(text(&out).1.contains("timed out after 1s"));
    assert!(!run.workspace().join("slow/1.json").exists());
}

#[test]
fn the_default_task_timeout_comes_from_flags_or_config() {
    let run = Run::new();
    run.fixture(&["Busy", "--n", "2", "--secs", "5", "--task-timeout", "300ms"])
        .assert()
        .code(1);
    assert!(run.events_of("failed")[0]["error"]
        .as_str()
        .unwrap()
        .starts_with("timed out after 300ms"));
    let run = Run::new();
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[worker]\ntask_timeout = \"200ms\"\n",
    )
    .unwrap();
    run.fixture(&["Busy", "--n", "3", "--secs", "5"])
        .assert()
        .code(1);
    assert!(run.events_of("failed")[0]["error"]
        .as_str()
        .unwrap()
        .starts_with("timed out after 200ms"));
}

#[test]
fn exit_codes_tell_outcomes_apart_and_are_configurable() {
    let redis = RedisServer::start();
    let run = Run::new();
    run.fixture(&["Chain", "--n", "1"]).assert().code(0);
    run.fixture(&["Boom", "--n", "1"]).assert().code(1);
    run.fixture(&["Nope"]).assert().code(2);
    // Locked elsewhere through every retry: 3.
    let holder = spawn(
        &run,
        &["HoldLock", "--name", "busy", "--secs", "5"],
        &redis.flags(),
    );
    wait_for(&run, "lock_acquired", 1);
    let mut flags = redis.flags().to_vec();
    flags.push("--redis-fail-on-collision".into());
    let other = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .args(["HoldLock", "--name", "busy", "--secs", "0", "--workspace"])
        .arg(run.workspace())
        .args(&flags)
        .output()
        .unwrap();
    assert_eq!(other.status.code(), Some(3), "{}", text(&other).0);
    finish(holder);
    // [retcode] changes them.
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[retcode]\ntask_failed = 9\nscheduling_error = 8\n",
    )
    .unwrap();
    run.fixture(&["Boom", "--n", "2"]).assert().code(9);
    run.fixture(&["Boom", "--n", "x"]).assert().code(8);
}

#[test]
fn stale_temporary_files_are_removed_at_start_and_fresh_ones_kept() {
    let run = Run::new();
    let dir = run.workspace().join("chain");
    std::fs::create_dir_all(&dir).unwrap();
    let stale = dir.join(".0.json.aB3dE9.tmp");
    let fresh = dir.join(".1.json.Zz9Yy8.tmp");
    let mine = dir.join("notes.tmp");
    for p in [&stale, &fresh, &mine] {
        std::fs::write(p, "partial").unwrap();
    }
    let old = SystemTime::now() - Duration::from_secs(2 * 3600);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    run.fixture(&["Chain", "--n", "0"]).assert().success();
    assert!(!stale.exists(), "left by a killed process two hours ago");
    assert!(fresh.exists(), "may belong to a running process");
    assert!(mine.exists(), "not kart's");
}

fn age(path: &Path, days: u64) {
    let t = SystemTime::now() - Duration::from_secs(days * 86_400);
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn gc_removes_exactly_the_old_intermediate_outputs_it_lists() {
    let run = Run::new();
    for n in ["1", "2", "3"] {
        run.fixture(&["FinalResult", "--n", n]).assert().success();
    }
    let ws = run.workspace();
    for p in ["tmp/1.json", "tmp/2.json", "final/1.json"] {
        age(&ws.join(p), 40);
    }
    let gc = |args: &[&str]| {
        let out = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
            .arg("gc")
            .args(args)
            .arg("--workspace")
            .arg(&ws)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out).1);
        text(&out).0
    };
    let listed = gc(&["--older-than", "30d", "--dry-run"]);
    assert_eq!(
        listed,
        "would remove tmp/1.json (3 bytes)\nwould remove tmp/2.json (3 bytes)\nWould free 2 intermediate output(s) older than 30d, 6 bytes\n"
    );
    assert!(ws.join("tmp/1.json").exists(), "a dry run deletes nothing");

    // An output in use (its cache lock held) is kept.
    let holder = spawn(
        &run,
        &[
            "HoldNamedLock",
            "--name",
            "h",
            "--key",
            "cache:tmp/2.json",
            "--secs",
            "5",
        ],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !read_events(&run.events_path())
        .iter()
        .any(|e| e["event"] == "lock_acquired" && e["key"] == "cache:tmp/2.json")
    {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let removed = gc(&["--older-than", "30d"]);
    assert!(
        removed.starts_with("removed tmp/1.json (3 bytes)\nkept tmp/2.json: in use"),
        "{removed}"
    );
    assert!(!ws.join("tmp/1.json").exists());
    assert!(ws.join("tmp/2.json").exists());
    assert!(ws.join("final/1.json").exists(), "old but not intermediate");
    assert!(ws.join("tmp/3.json").exists(), "intermediate but recent");
    finish(holder);
}

#[test]
fn notifiers_get_each_failure_and_the_success_as_json() {
    let run = Run::new();
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[notifications]\non_failure = \"cat >> failures.jsonl; echo >> failures.jsonl\"\non_success = \"cat > success.json\"\n",
    )
    .unwrap();
    run.fixture(&["Mixed", "--n", "4"]).assert().code(1);
    let failures = std::fs::read_to_string(run.dir.path().join("failures.jsonl")).unwrap();
    let lines: Vec<Value> = failures
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{failures}");
    assert_eq!(lines[0]["family"], "Boom");
    assert_eq!(lines[0]["error"], "boom 4");
    assert_eq!(lines[0]["params"]["n"], 4);
    assert!(lines[0]["pid"].as_u64().is_some() && lines[0]["host"].is_string());
    // The run the failure is in, as `events --run` and the ui name it.
    let run_id = lines[0]["run"].as_str().unwrap();
    let shared = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .args([
            "events",
            "--run",
            run_id,
            "--event",
            "failed",
            "--workspace",
        ])
        .arg(run.workspace())
        .env_remove("KART_CONFIG")
        .output()
        .unwrap();
    assert!(
        text(&shared).0.contains("\"error\":\"boom 4\""),
        "{shared:?}"
    );
    assert!(
        !run.dir.path().join("success.json").exists(),
        "no success to report"
    );

    // What a failing task logged last comes with its failure.
    run.fixture(&[
        "Chatty", "--name", "grumpy", "--lines", "3", "--fail", "true",
    ])
    .assert()
    .code(1);
    let failures = std::fs::read_to_string(run.dir.path().join("failures.jsonl")).unwrap();
    let last: Value = serde_json::from_str(failures.lines().last().unwrap()).unwrap();
    assert_eq!(last["error"], "grumpy talked itself out");
    let log: Vec<(&str, &str)> = last["log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["level"].as_str().unwrap(), l["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        log,
        [
            ("INFO", "grumpy says 1 line=1"),
            ("INFO", "grumpy says 2 line=2"),
            ("WARN", "grumpy is done talking")
        ],
        "{last}"
    );
    assert_ne!(last["run"], run_id, "each run is its own");

    run.fixture(&["Chain", "--n", "1"]).assert().success();
    let success: Value = serde_json::from_str(
        &std::fs::read_to_string(run.dir.path().join("success.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(success["family"], "Chain");
    assert_eq!(success["outcome"], "complete");
    assert_eq!(success["log"], serde_json::json!([]));
}

#[test]
fn a_failing_notifier_is_logged_not_fatal() {
    let run = Run::new();
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[notifications]\non_success = \"exit 3\"\n",
    )
    .unwrap();
    let out = run
        .fixture(&["Chain", "--n", "0"])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        text(&out).1.contains("notifier `exit 3` failed"),
        "{}",
        text(&out).1
    );
}

#[test]
fn missing_external_data_has_its_own_exit_code_and_nothing_downstream_runs() {
    let run = Run::new();
    let out = run
        .fixture(&["DailyTotal", "--date", "2020-01-01"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(4), "{stdout}{stderr}");
    assert!(
        stderr.contains(
            "RawCounts(date=2020-01-01): missing external data: raw/2020-01-01.json does not exist"
        ),
        "{stderr}"
    );
    assert!(
        stdout.contains("* 1 was missing external data:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("external data RawCounts_2020_01_01_"),
        "{stdout}"
    );
    assert!(
        stdout.contains("there were missing external dependencies"),
        "{stdout}"
    );
    assert!(run.files().is_empty(), "{:?}", run.files());
    let missing = run.events_of("missing_data");
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0]["output"], "raw/2020-01-01.json");
    // An external task is never started, only looked at.
    assert!(run.events_of("started").is_empty());

    // [retcode] names it `missing_data`.
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[retcode]\nmissing_data = 7\n",
    )
    .unwrap();
    run.fixture(&["DailyTotal", "--date", "2020-01-01"])
        .assert()
        .code(7);

    // Once the data lands, the pipeline runs.
    std::fs::create_dir_all(run.workspace().join("raw")).unwrap();
    std::fs::write(run.workspace().join("raw/2020-01-01.json"), "[1, 2, 39]").unwrap();
    run.fixture(&["DailyTotal", "--date", "2020-01-01"])
        .assert()
        .code(0);
    assert_eq!(run.output("totals/2020-01-01.json"), 42);
    run.fixture(&["RawCounts", "--date", "2020-01-01"])
        .assert()
        .code(0);
}

#[test]
fn retries_wait_for_external_data_to_land() {
    let run = Run::new();
    let child = spawn(
        &run,
        &[
            "DailyTotal",
            "--date",
            "2020-01-02",
            "--retry-count",
            "20",
            "--retry-delay",
            "200ms",
        ],
        &[],
    );
    wait_for(&run, "missing_data", 2);
    std::fs::create_dir_all(run.workspace().join("raw")).unwrap();
    std::fs::write(run.workspace().join("raw/2020-01-02.json"), "[5, 5]").unwrap();
    let out = finish(child);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);
    assert_eq!(run.output("totals/2020-01-02.json"), 10);
}

#[test]
fn gc_collects_intermediate_outputs_at_their_default_path_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let (out, _) = support::spawn(&ws, "p", &["PackedScratch", "--n", "4"], &[]).finish();
    assert_eq!(out.status.code(), Some(0));
    let written: Vec<String> = std::fs::read_dir(ws.join("PackedScratch"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(written[0].ends_with(".msgpack"), "{written:?}");
    let gc = support::fixture_in(&ws, &["gc", "--older-than", "0s"]);
    let stdout = text(&gc).0;
    assert!(
        stdout.contains(&format!("removed PackedScratch/{}", written[0])),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_dir(ws.join("PackedScratch")).unwrap().count(),
        0
    );
}
