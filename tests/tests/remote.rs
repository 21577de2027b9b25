//! Workspaces on object storage, against real servers on loopback: S3 (moto's server), Google
//! Cloud Storage (fake-gcs-server) and Azure (Azurite). Every case runs on each provider: the
//! example pipeline end to end, two processes racing on one DAG, ranges and the scheduler
//! deciding from listings, the commands, and every error a user can meet.
//!
//! fake-gcs-server refuses uploads through the XML API kart's client speaks to GCS, so on GCS a
//! case seeds what a run would have written (through the emulator's JSON API) and checks the
//! rest; the cases that exist only to write (the racing DAG, the lost race) run on S3 and
//! Azure, and `gcs::a_lost_race_on_one_output_keeps_the_first_write_and_is_not_an_error` pins
//! the emulator's refusal, so it fails the day the emulator takes uploads.

mod support;

use std::process::{Command, Output, Stdio};

use kart_tests::object_server::{ObjectServer, Provider};
use kart_tests::redis_server::{free_port, RedisServer};
use serde_json::Value;
use support::{read_events, text, Run};

/// Each case, once per provider that can serve it.
macro_rules! on {
    ($provider:ident: $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                super::$case(kart_tests::object_server::Provider::$provider)
            }
        )*
    };
}

/// The cases every provider's server can serve.
macro_rules! every_case {
    ($provider:ident) => {
        on!($provider: the_example_pipeline_runs_exactly_as_on_a_directory,
            a_range_decides_what_is_missing_from_one_listing,
            the_scheduler_decides_many_outputs_in_one_directory_from_one_listing,
            a_few_outputs_in_a_directory_are_checked_one_by_one,
            gc_deps_and_locks_work_on_a_remote_workspace,
            bad_workspaces_fail_with_one_line_naming_the_url,
            bad_credentials_fail_with_one_line_naming_the_url,
            a_lost_race_on_one_output_keeps_the_first_write_and_is_not_an_error);
    };
}

mod s3 {
    every_case!(S3);
    on!(S3: two_processes_racing_on_one_dag_write_every_output_once);
}

mod azure {
    every_case!(Azure);
    on!(Azure: two_processes_racing_on_one_dag_write_every_output_once);
}

/// All but the racing DAG, which exists only to write (see the module's header).
mod gcs {
    every_case!(Gcs);
}

/// `bin args... --workspace url` with the server's environment.
fn kart(run: &Run, server: &ObjectServer, bin: &str, url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin(bin));
    cmd.current_dir(run.dir.path())
        .args(args)
        .args(["--workspace", url])
        .env_remove("KART_CONFIG")
        .envs(server.env());
    cmd
}

/// The same, recording the run's events in the test's events file.
fn kart_run(run: &Run, server: &ObjectServer, bin: &str, url: &str, args: &[&str]) -> Command {
    let mut cmd = kart(run, server, bin, url, args);
    cmd.arg("--events").arg(run.events_path());
    cmd
}

fn ok(out: Output) -> (String, String) {
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    (stdout, stderr)
}

/// Runs the fixture on the workspace, recording its events; its standard output.
fn fixture(run: &Run, server: &ObjectServer, url: &str, args: &[&str]) -> String {
    ok(kart_run(run, server, "fixture", url, args)
        .output()
        .unwrap())
    .0
}

/// Runs a fixture command (no events recorded); its standard output.
fn command(run: &Run, server: &ObjectServer, url: &str, args: &[&str]) -> String {
    ok(kart(run, server, "fixture", url, args).output().unwrap()).0
}

/// How many tasks of `family` started, over every run so far.
fn started(run: &Run, family: &str) -> usize {
    run.events_of("started")
        .iter()
        .filter(|e| e["family"] == family)
        .count()
}

fn requests(run: &Run) -> Vec<Value> {
    run.events_of("store_requests")
}

/// Puts every file of a local run under `prefix` in `bucket`, as a run on the server would
/// have written them: how a case gets its outputs where the emulator refuses kart's writes.
fn seed(server: &ObjectServer, bucket: &str, prefix: &str, local: &Run) {
    for key in local.files() {
        let data = std::fs::read(local.workspace().join(&key)).unwrap();
        server.put(bucket, &format!("{prefix}/{key}"), &data);
    }
}

/// A local run of the fixture, to seed from.
fn local_fixture(args: &[&str]) -> Run {
    let local = Run::new();
    local.fixture(args).assert().success();
    local
}

fn the_example_pipeline_runs_exactly_as_on_a_directory(provider: Provider) {
    let server = ObjectServer::start(provider);
    server.create_bucket("bucket");
    let run = Run::new();
    let args = ["AllReports", "--date", "2015-01-01"];
    let url = server.url("bucket", "kart");
    let local = Run::new();
    local.reports(&args).assert().success();
    let files = local.files();
    assert_eq!(files.len(), 6, "{files:?}");
    if server.takes_writes() {
        let (stdout, _) = ok(kart_run(&run, &server, "reports-example", &url, &args)
            .output()
            .unwrap());
        assert!(stdout.contains("* 7 ran successfully"), "{stdout}");
        // The same files with the same bytes as on a local directory.
        for key in &files {
            let remote = server.get("bucket", &format!("kart/{key}"));
            let here = std::fs::read(local.workspace().join(key)).unwrap();
            assert_eq!(remote.as_deref(), Some(here.as_slice()), "{key}");
        }
        // One PUT per output, nothing listed but the opening check.
        let counts = &requests(&run)[0];
        assert_eq!(counts["put"], 6, "{counts}");
        assert_eq!(counts["list"], 1, "{counts}");
    } else {
        seed(&server, "bucket", "kart", &local);
    }

    // Complete now: a rerun only checks, one HEAD per output (DailySales is not reached),
    // and the complete wrapper is all it reports, as Luigi does.
    let (stdout, _) = ok(kart_run(&run, &server, "reports-example", &url, &args)
        .output()
        .unwrap());
    assert!(
        stdout.contains("* 1 was already complete:\n    - AllReports(date=2015-01-01)"),
        "{stdout}"
    );
    let counts = requests(&run).pop().unwrap();
    assert_eq!(counts["put"], 0, "{counts}");
    assert_eq!(counts["head"], 5, "one HEAD per output: {counts}");

    // deps reads the same state.
    let (tree, _) = ok(kart(
        &run,
        &server,
        "reports-example",
        &url,
        &["deps", "AllReports", "--date", "2015-01-01"],
    )
    .output()
    .unwrap());
    assert!(
        tree.starts_with("[complete] AllReports(date=2015-01-01)"),
        "{tree}"
    );
}

fn two_processes_racing_on_one_dag_write_every_output_once(provider: Provider) {
    let server = ObjectServer::start(provider);
    server.create_bucket("race");
    let redis = RedisServer::start();
    let run = Run::new();
    let url = server.url("race", "dag");
    let procs: Vec<_> = (0..2)
        .map(|p| {
            kart(
                &run,
                &server,
                "fixture",
                &url,
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
        let body = server.get("race", &format!("dag/locked/{i}.json"));
        let value: Option<u32> = body.and_then(|b| serde_json::from_slice(&b).ok());
        assert!(value.is_some(), "locked/{i}.json");
    }
}

fn a_range_decides_what_is_missing_from_one_listing(provider: Provider) {
    let server = ObjectServer::start(provider);
    server.create_bucket("days");
    let run = Run::new();
    // 20 of 31 days already there.
    for day in 1..=20 {
        server.put(
            "days",
            &format!("ws/daily/eu/2020-01-{day:02}.json"),
            b"\"x\"",
        );
    }
    let url = server.url("days", "ws");
    let range = support::JANUARY_2020;
    // Deciding alone (a task limit of 0 runs nothing): the opening check and one listing of
    // daily/eu/ find the 11 missing days; not 31 HEADs.
    fixture(&run, &server, &url, &support::decide_only(&range));
    let checked = &run.events_of("range_checked")[0];
    assert_eq!(checked["missing"], 11, "{checked}");
    let counts = &requests(&run)[0];
    assert_eq!(counts["list"], 2, "{counts}");
    assert_eq!(counts["head"], 0, "{counts}");
    assert_eq!(counts["put"], 0, "{counts}");
    if !server.takes_writes() {
        return;
    }

    let stdout = fixture(&run, &server, &url, &range);
    assert_eq!(started(&run, "Daily"), 11, "{stdout}");
    let counts = &requests(&run)[1];
    assert_eq!(counts["list"], 2, "{counts}");
    assert_eq!(counts["put"], 11, "{counts}");
    // At most one look per task that runs, and one more after taking its claim when the
    // claim was taken before (an earlier run on this machine): never one per day.
    assert!(counts["head"].as_u64().unwrap() <= 22, "{counts}");
    assert!(server.get("days", "ws/daily/eu/2020-01-31.json").is_some());
}

fn the_scheduler_decides_many_outputs_in_one_directory_from_one_listing(provider: Provider) {
    let server = ObjectServer::start(provider);
    server.create_bucket("fan");
    let run = Run::new();
    let url = server.url("fan", "ws");
    let args = ["SleepyFanin", "--n", "100", "--millis", "0"];
    if server.takes_writes() {
        // 70 of 100 outputs already there.
        for n in 0..70 {
            server.put("fan", &format!("ws/sleepy/{n}.json"), b"1");
        }
        let stdout = fixture(&run, &server, &url, &args);
        assert_eq!(started(&run, "Sleepy"), 30, "{stdout}");
        let counts = &requests(&run)[0];
        // The opening check and one listing of sleepy/ decide all 100; the 30 that run look
        // again before running, the 70 complete ones are never looked at one by one.
        assert_eq!(counts["list"], 2, "{counts}");
        assert!(counts["head"].as_u64().unwrap() <= 60, "{counts}");
    } else {
        seed(&server, "fan", "ws", &local_fixture(&args));
    }
    // Complete: one listing, no HEAD at all; the wrapper, decided from it, is all there is.
    let stdout = fixture(&run, &server, &url, &args);
    assert!(stdout.contains("* 1 was already complete"), "{stdout}");
    let counts = requests(&run).pop().unwrap();
    assert_eq!(counts["list"], 2, "{counts}");
    assert_eq!(counts["head"], 0, "{counts}");
}

fn a_few_outputs_in_a_directory_are_checked_one_by_one(provider: Provider) {
    let server = ObjectServer::start(provider);
    server.create_bucket("few");
    let run = Run::new();
    let url = server.url("few", "ws");
    let args = ["SleepyFanin", "--n", "10", "--millis", "0"];
    if server.takes_writes() {
        fixture(&run, &server, &url, &args);
    } else {
        seed(&server, "few", "ws", &local_fixture(&args));
    }
    let stdout = fixture(&run, &server, &url, &args);
    assert!(stdout.contains("* 1 was already complete"), "{stdout}");
    // Below the listing threshold a listing would read more than it decides: one HEAD each.
    let counts = requests(&run).pop().unwrap();
    assert_eq!(counts["list"], 1, "{counts}");
    assert_eq!(counts["head"], 10, "{counts}");
}

fn gc_deps_and_locks_work_on_a_remote_workspace(provider: Provider) {
    let server = ObjectServer::start(provider);
    server.create_bucket("gcbucket");
    let run = Run::new();
    let url = server.url("gcbucket", "ws");
    let args = ["FinalResult", "--n", "2"];
    if server.takes_writes() {
        command(&run, &server, &url, &args);
    } else {
        seed(&server, "gcbucket", "ws", &local_fixture(&args));
    }
    assert!(server.get("gcbucket", "ws/tmp/2.json").is_some());
    let tree = command(&run, &server, &url, &["deps", "FinalResult", "--n", "2"]);
    assert!(tree.starts_with("[complete] FinalResult(n=2)"), "{tree}");
    let listed = command(
        &run,
        &server,
        &url,
        &["gc", "--older-than", "0s", "--dry-run"],
    );
    assert!(listed.contains("tmp/2.json"), "{listed}");
    assert!(
        server.get("gcbucket", "ws/tmp/2.json").is_some(),
        "a dry run removes nothing"
    );
    let freed = command(&run, &server, &url, &["gc", "--older-than", "0s"]);
    assert!(freed.contains("Freed 1 intermediate output(s)"), "{freed}");
    assert!(server.get("gcbucket", "ws/tmp/2.json").is_none());
    assert!(
        server.get("gcbucket", "ws/final/2.json").is_some(),
        "never a non-intermediate output"
    );
    let locks = command(&run, &server, &url, &["locks", "list"]);
    assert!(locks.contains("No locks held"), "{locks}");
}

/// One line naming the URL, exit 2, nothing written.
fn fails_cleanly(out: Output, url: &str, what: &str) -> String {
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with(&format!("error: {url}")), "{stderr}");
    assert!(stderr.contains(what), "{stderr}");
    stderr
}

fn bad_workspaces_fail_with_one_line_naming_the_url(provider: Provider) {
    let server = ObjectServer::start(provider);
    server.create_bucket("bucket");
    let run = Run::new();
    let args = ["AllReports", "--date", "2015-01-01"];
    let url = server.url("bucket", "kart");
    // No such bucket.
    let nope = server.url("nope", "kart");
    let out = kart(&run, &server, "reports-example", &nope, &args)
        .output()
        .unwrap();
    fails_cleanly(out, &nope, provider.missing_bucket());
    // Nothing listening at the endpoint: the message names it.
    let port = free_port();
    let out = kart(&run, &server, "reports-example", &url, &args)
        .envs(provider.env(port))
        .output()
        .unwrap();
    fails_cleanly(
        out,
        &url,
        &format!("cannot reach the endpoint http://127.0.0.1:{port}"),
    );
    // A scheme kart does not know.
    let out = kart(&run, &server, "reports-example", "ftp://bucket/kart", &args)
        .output()
        .unwrap();
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("ftp://bucket/kart"), "{stderr}");
    assert!(server
        .get("bucket", "kart/sales/2015/2015-01-01.json")
        .is_none());

    // A corrupt object fails its dependents, naming its URL.
    server.put("bucket", "kart/sales/2015/2015-01-01.json", b"{not json");
    let out = kart(&run, &server, "reports-example", &url, &args)
        .output()
        .unwrap();
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "corrupt cached output {url}/sales/2015/2015-01-01.json"
        )),
        "{stderr}"
    );
}

/// Credentials the server refuses (S3, Azure), or a GCS key that cannot be used (the emulator
/// checks no credentials): one line naming the URL, and never the secret.
fn bad_credentials_fail_with_one_line_naming_the_url(provider: Provider) {
    let run = Run::new();
    let args = ["AllReports", "--date", "2015-01-01"];
    let (server, secret, env) = match provider {
        Provider::S3 => (
            ObjectServer::start_checking_credentials(provider),
            "NotTheSecretKey0000000000000000000000000",
            vec![
                ("AWS_ACCESS_KEY_ID", "AKIANOTAREALKEY00000".to_string()),
                (
                    "AWS_SECRET_ACCESS_KEY",
                    "NotTheSecretKey0000000000000000000000000".to_string(),
                ),
            ],
        ),
        Provider::Azure => {
            let key = "Tm90VGhlS2V5Tm90VGhlS2V5Tm90VGhlS2V5Tm90VGhlS2V5Tm90VGhlS2V5Tm90VGhlS2V5";
            (
                ObjectServer::start_checking_credentials(provider),
                key,
                vec![("AZURE_STORAGE_ACCOUNT_KEY", key.to_string())],
            )
        }
        Provider::Gcs => {
            let server = ObjectServer::start(provider);
            server.create_bucket("bucket");
            let secret = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDnotakey";
            let key = serde_json::json!({
                "gcs_base_url": format!("http://127.0.0.1:{}", server.port),
                "client_email": "kart@example.iam.gserviceaccount.com",
                "private_key_id": "0",
                "private_key": format!("-----BEGIN PRIVATE KEY-----\n{secret}\n-----END PRIVATE KEY-----\n"),
            });
            (
                server,
                secret,
                vec![("GOOGLE_SERVICE_ACCOUNT_KEY", key.to_string())],
            )
        }
    };
    let url = server.url("bucket", "kart");
    let out = kart(&run, &server, "reports-example", &url, &args)
        .envs(env)
        .output()
        .unwrap();
    let what = match provider {
        Provider::Gcs => "bad credentials",
        _ => "access denied (check the credentials)",
    };
    let stderr = fails_cleanly(out, &url, what);
    assert!(!stderr.contains(secret), "{stderr}");
}

fn a_lost_race_on_one_output_keeps_the_first_write_and_is_not_an_error(provider: Provider) {
    let server = ObjectServer::start(provider);
    server.create_bucket("racekey");
    // In-process, the store reads the environment; other tests pass their own to the
    // processes they start, and each provider reads its own variables, so this does not
    // leak into them.
    for (k, v) in server.env() {
        std::env::set_var(k, v);
    }
    let url = server.url("racekey", "ws");
    let ws = kart_core::Workspace::open(&url, true).unwrap();
    let target = ws.target("out/1.json");
    use kart_core::store::Published;
    if !server.takes_writes() {
        // fake-gcs-server takes no upload through GCS's XML API: the write fails, naming the
        // output's URL. When this stops holding, the emulator can test kart's writes.
        let err = target.publish(b"first").unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{url}/out/1.json: cannot write")),
            "{err}"
        );
        assert!(err.contains("invalid uploadType"), "{err}");
        assert!(server.get("racekey", "ws/out/1.json").is_none());
        return;
    }
    assert_eq!(target.publish(b"first").unwrap(), Published::Written);
    assert_eq!(target.publish(b"second").unwrap(), Published::AlreadyThere);
    assert_eq!(target.read().unwrap(), b"first");
    assert_eq!(
        server.get("racekey", "ws/out/1.json").as_deref(),
        Some(&b"first"[..])
    );
    let counts = ws.store().remote_requests().unwrap().snapshot();
    assert!(counts.contains(&("put", 2)), "{counts:?}");
}
