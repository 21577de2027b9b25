//! Workspaces on object storage, against a real S3-protocol server (moto) on loopback: the
//! example pipeline end to end, two processes racing on one DAG, ranges from listings, the
//! commands, and every error a user can meet.

mod support;

use std::process::{Command, Output, Stdio};

use kart_tests::redis_server::RedisServer;
use kart_tests::s3_server::S3Server;
use serde_json::Value;
use support::{read_events, text, Run};

/// `bin args... --workspace url` with the server's credentials.
fn kart(run: &Run, s3: &S3Server, bin: &str, url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin(bin));
    cmd.current_dir(run.dir.path())
        .args(args)
        .args(["--workspace", url])
        .env_remove("KART_CONFIG")
        .envs(s3.env());
    cmd
}

/// The same, recording the run's events in the test's events file.
fn kart_run(run: &Run, s3: &S3Server, bin: &str, url: &str, args: &[&str]) -> Command {
    let mut cmd = kart(run, s3, bin, url, args);
    cmd.arg("--events").arg(run.events_path());
    cmd
}

fn ok(out: Output) -> (String, String) {
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

fn requests(run: &Run) -> Vec<Value> {
    run.events_of("store_requests")
}

#[test]
fn the_example_pipeline_runs_on_s3_exactly_as_on_a_directory() {
    let s3 = S3Server::start();
    s3.create_bucket("bucket");
    let run = Run::new();
    let args = ["AllReports", "--date", "2015-01-01"];
    let url = "s3://bucket/kart";
    let (stdout, _) = ok(kart_run(&run, &s3, "reports-example", url, &args)
        .output()
        .unwrap());
    assert!(stdout.contains("* 7 ran successfully"), "{stdout}");

    // The same run on a local directory writes the same files with the same bytes.
    let local = Run::new();
    local.reports(&args).assert().success();
    let files = local.files();
    assert_eq!(files.len(), 6, "{files:?}");
    for key in &files {
        let remote = s3.get("bucket", &format!("kart/{key}"));
        let here = std::fs::read(local.workspace().join(key)).unwrap();
        assert_eq!(remote.as_deref(), Some(here.as_slice()), "{key}");
    }
    // One PUT per output, nothing listed but the opening check.
    let counts = &requests(&run)[0];
    assert_eq!(counts["put"], 6);
    assert_eq!(counts["list"], 1);

    // Complete now: a rerun only checks, one HEAD per output (DailySales is not reached).
    let (stdout, _) = ok(kart_run(&run, &s3, "reports-example", url, &args)
        .output()
        .unwrap());
    assert!(stdout.contains("* 6 were already complete"), "{stdout}");
    let counts = &requests(&run)[1];
    assert_eq!(counts["put"], 0);
    assert_eq!(counts["head"], 5, "one HEAD per output: {counts}");

    // deps reads the same state.
    let (tree, _) = ok(kart(
        &run,
        &s3,
        "reports-example",
        url,
        &["deps", "AllReports", "--date", "2015-01-01"],
    )
    .output()
    .unwrap());
    assert!(
        tree.starts_with("[complete] AllReports(date=2015-01-01)"),
        "{tree}"
    );
}

#[test]
fn two_processes_racing_on_one_dag_write_every_output_once() {
    let s3 = S3Server::start();
    s3.create_bucket("race");
    let redis = RedisServer::start();
    let run = Run::new();
    let url = "s3://race/dag";
    let procs: Vec<_> = (0..2)
        .map(|p| {
            kart(
                &run,
                &s3,
                "fixture",
                url,
                &["LockedDag", "--n", "40", "--workers", "2"],
            )
            .args(redis.flags())
            .arg("--events")
            .arg(run.dir.path().join(format!("events-{p}.jsonl")))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    let mut started = Vec::new();
    for (p, child) in procs.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", text(&out).1);
        started.extend(
            read_events(&run.dir.path().join(format!("events-{p}.jsonl")))
                .into_iter()
                .filter(|e| e["event"] == "started" && e["family"] == "LockedLeaf")
                .map(|e| e["task_id"].as_str().unwrap().to_string()),
        );
    }
    started.sort();
    let runs = started.len();
    started.dedup();
    assert_eq!(
        (runs, started.len()),
        (40, 40),
        "each leaf ran exactly once"
    );
    for i in 0..40 {
        let body = s3.get("race", &format!("dag/locked/{i}.json"));
        let value: Option<u32> = body.and_then(|b| serde_json::from_slice(&b).ok());
        assert!(value.is_some(), "locked/{i}.json");
    }
}

#[test]
fn a_range_decides_what_is_missing_from_one_listing() {
    let s3 = S3Server::start();
    s3.create_bucket("days");
    let run = Run::new();
    // 20 of 31 days already there.
    for day in 1..=20 {
        s3.put(
            "days",
            &format!("ws/daily/eu/2020-01-{day:02}.json"),
            b"\"x\"",
        );
    }
    let url = "s3://days/ws";
    let out = kart_run(
        &run,
        &s3,
        "fixture",
        url,
        &[
            "RangeDaily",
            "--of",
            "Daily",
            "--start",
            "2020-01-01",
            "--stop",
            "2020-02-01",
            "--now",
            "2020-02-01T00:00:00",
            "--days-back",
            "100",
        ],
    )
    .output()
    .unwrap();
    let (stdout, _) = ok(out);
    let ran = run
        .events_of("started")
        .iter()
        .filter(|e| e["family"] == "Daily")
        .count();
    assert_eq!(ran, 11, "{stdout}");
    let counts = &requests(&run)[0];
    // The opening check and one listing of daily/eu/ — not 31 HEADs.
    assert_eq!(counts["list"], 2, "{counts}");
    assert_eq!(counts["put"], 11, "{counts}");
    // At most one look per task that runs, and one more after taking its claim when the
    // claim was taken before (an earlier run on this machine): never one per day.
    assert!(counts["head"].as_u64().unwrap() <= 22, "{counts}");
    assert!(s3.get("days", "ws/daily/eu/2020-01-31.json").is_some());
}

#[test]
fn the_scheduler_decides_many_outputs_in_one_directory_from_one_listing() {
    let s3 = S3Server::start();
    s3.create_bucket("fan");
    let run = Run::new();
    // 70 of 100 outputs already there.
    for n in 0..70 {
        s3.put("fan", &format!("ws/sleepy/{n}.json"), b"1");
    }
    let url = "s3://fan/ws";
    let args = ["SleepyFanin", "--n", "100", "--millis", "0"];
    let (stdout, _) = ok(kart_run(&run, &s3, "fixture", url, &args).output().unwrap());
    let ran = run
        .events_of("started")
        .iter()
        .filter(|e| e["family"] == "Sleepy")
        .count();
    assert_eq!(ran, 30, "{stdout}");
    let counts = &requests(&run)[0];
    // The opening check and one listing of sleepy/ decide all 100; the 30 that run look
    // again before running, the 70 complete ones are never looked at one by one.
    assert_eq!(counts["list"], 2, "{counts}");
    assert!(counts["head"].as_u64().unwrap() <= 60, "{counts}");
    // The rerun: one listing, no HEAD at all.
    let (stdout, _) = ok(kart_run(&run, &s3, "fixture", url, &args).output().unwrap());
    assert!(stdout.contains("* 101 were already complete"), "{stdout}");
    let counts = &requests(&run)[1];
    assert_eq!(counts["list"], 2, "{counts}");
    assert_eq!(counts["head"], 0, "{counts}");
}

#[test]
fn a_few_outputs_in_a_directory_are_checked_one_by_one() {
    let s3 = S3Server::start();
    s3.create_bucket("few");
    let run = Run::new();
    let url = "s3://few/ws";
    let args = ["SleepyFanin", "--n", "10", "--millis", "0"];
    ok(kart_run(&run, &s3, "fixture", url, &args).output().unwrap());
    ok(kart_run(&run, &s3, "fixture", url, &args).output().unwrap());
    // Below the listing threshold a listing would read more than it decides: one HEAD each.
    let counts = &requests(&run)[1];
    assert_eq!(counts["list"], 1, "{counts}");
    assert_eq!(counts["head"], 10, "{counts}");
}

#[test]
fn gc_and_locks_work_on_a_remote_workspace() {
    let s3 = S3Server::start();
    s3.create_bucket("gcbucket");
    let run = Run::new();
    let url = "s3://gcbucket/ws";
    ok(
        kart(&run, &s3, "fixture", url, &["FinalResult", "--n", "2"])
            .output()
            .unwrap(),
    );
    assert!(s3.get("gcbucket", "ws/tmp/2.json").is_some());
    let (listed, _) = ok(kart(
        &run,
        &s3,
        "fixture",
        url,
        &["gc", "--older-than", "0s", "--dry-run"],
    )
    .output()
    .unwrap());
    assert!(listed.contains("tmp/2.json"), "{listed}");
    assert!(
        s3.get("gcbucket", "ws/tmp/2.json").is_some(),
        "a dry run removes nothing"
    );
    let (freed, _) = ok(
        kart(&run, &s3, "fixture", url, &["gc", "--older-than", "0s"])
            .output()
            .unwrap(),
    );
    assert!(freed.contains("Freed 1 intermediate output(s)"), "{freed}");
    assert!(s3.get("gcbucket", "ws/tmp/2.json").is_none());
    assert!(
        s3.get("gcbucket", "ws/final/2.json").is_some(),
        "never a non-intermediate output"
    );
    let (locks, _) = ok(kart(&run, &s3, "fixture", url, &["locks", "list"])
        .output()
        .unwrap());
    assert!(locks.contains("No locks held"), "{locks}");
}

/// One line naming the URL, exit 2, nothing written.
fn fails_cleanly(out: Output, url: &str, what: &str) {
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("error: {url}")), "{stderr}");
    assert!(stderr.contains(what), "{stderr}");
}

#[test]
fn bad_workspaces_fail_with_one_line_naming_the_url() {
    let s3 = S3Server::start();
    s3.create_bucket("bucket");
    let run = Run::new();
    let args = ["AllReports", "--date", "2015-01-01"];
    // No such bucket.
    let out = kart(&run, &s3, "reports-example", "s3://nope/kart", &args)
        .output()
        .unwrap();
    fails_cleanly(out, "s3://nope/kart", "the bucket does not exist");
    // Nothing listening at the endpoint.
    let out = kart(&run, &s3, "reports-example", "s3://bucket/kart", &args)
        .env(
            "AWS_ENDPOINT_URL",
            format!("http://127.0.0.1:{}", kart_tests::redis_server::free_port()),
        )
        .output()
        .unwrap();
    fails_cleanly(out, "s3://bucket/kart", "cannot reach the endpoint");
    // A scheme kart does not know.
    let out = kart(&run, &s3, "reports-example", "ftp://bucket/kart", &args)
        .output()
        .unwrap();
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ftp://bucket/kart"), "{stderr}");
    assert!(s3
        .get("bucket", "kart/sales/2015/2015-01-01.json")
        .is_none());

    // A corrupt object fails its dependents, naming its URL.
    s3.put("bucket", "kart/sales/2015/2015-01-01.json", b"{not json");
    let out = kart(&run, &s3, "reports-example", "s3://bucket/kart", &args)
        .output()
        .unwrap();
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("corrupt cached output s3://bucket/kart/sales/2015/2015-01-01.json"),
        "{stderr}"
    );
}

#[test]
fn denied_credentials_fail_with_one_line_naming_the_url() {
    let s3 = S3Server::start_with_auth();
    let run = Run::new();
    let out = kart(
        &run,
        &s3,
        "reports-example",
        "s3://bucket/kart",
        &["AllReports", "--date", "2015-01-01"],
    )
    .env("AWS_ACCESS_KEY_ID", "AKIANOTAREALKEY00000")
    .output()
    .unwrap();
    fails_cleanly(out, "s3://bucket/kart", "access denied");
}

#[test]
fn a_lost_race_on_one_output_keeps_the_first_write_and_is_not_an_error() {
    let s3 = S3Server::start();
    s3.create_bucket("racekey");
    // In-process, the store reads the environment; other tests pass their own to the
    // processes they start, so this does not leak into them.
    for (k, v) in s3.env() {
        std::env::set_var(k, v);
    }
    let ws = kart_core::Workspace::open("s3://racekey/ws", true).unwrap();
    let target = ws.target("out/1.json");
    use kart_core::store::Published;
    assert_eq!(target.publish(b"first").unwrap(), Published::Written);
    assert_eq!(target.publish(b"second").unwrap(), Published::AlreadyThere);
    assert_eq!(target.read().unwrap(), b"first");
    let counts = ws.store().remote_requests().unwrap().snapshot();
    assert!(counts.contains(&("put", 2)), "{counts:?}");
}
