//! Outputs real pipelines write, end to end from the command line: values in CSV, Parquet and
//! a format of the pipeline's own; a file made by an external program; a directory of several
//! files — each committed whole, never half-written, never a mix of two writers; failures of
//! any error type with their causes; `show` and `invalidate`.

mod support;

use std::process::Command;

use support::{of_kind, send_signal, spawn_with_env, temp_files, text, wait_until_stopped, Run};

fn ok(out: std::process::Output) -> String {
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    stdout
}

#[test]
fn csv_parquet_and_a_custom_format_round_trip_through_their_dependents() {
    let run = Run::new();
    for args in [
        ["SalesTotal", "--n", "3"],
        ["TableSummary", "--n", "4"],
        ["CountLines", "--n", "5"],
    ] {
        run.fixture(&args).assert().success();
    }
    let csv = std::fs::read_to_string(run.workspace().join("csv/3.csv")).unwrap();
    assert_eq!(
        csv,
        "region,total,note\n\"region 0, inner\",0,note 0\n\"region 1, inner\",10,\n\"region 2, inner\",20,note 2\n"
    );
    // The dependent compared the rows it loaded with those written.
    assert_eq!(run.output("csv-total/3.json"), 30);

    let summary = run.output("parquet-summary/4.json");
    assert_eq!(summary["rows"], 8);
    assert_eq!(
        summary["schema"],
        serde_json::json!(["id:Int64:false", "name:Utf8:true", "score:Float64:false"])
    );
    assert_eq!(summary["same_values"], true);
    let parquet = std::fs::read(run.workspace().join("parquet/4.parquet")).unwrap();
    assert_eq!(&parquet[..4], b"PAR1");

    assert_eq!(run.output("lines-count/5.json"), 5);
    let lines = run
        .files()
        .into_iter()
        .find(|f| f.starts_with("NumberedLines/") && f.ends_with(".lines"))
        .expect("the custom format's extension names the default path");
    let text = std::fs::read_to_string(run.workspace().join(lines)).unwrap();
    assert!(text.starts_with("# kart lines\nline 1\n"), "{text}");

    // `show` prints value outputs as JSON, whatever their format.
    let shown = ok(run
        .fixture(&["show", "SalesRows", "--n", "3"])
        .output()
        .unwrap());
    let rows: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(rows[1]["region"], "region 1, inner");
    let shown = ok(run
        .fixture(&["show", "Table", "--n", "4"])
        .output()
        .unwrap());
    let rows: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 8);
    assert_eq!(
        rows[1],
        serde_json::json!({"id": 1, "name": "name 1", "score": 0.25})
    );
    // A format that cannot show itself: its path and size.
    let shown = ok(run
        .fixture(&["show", "NumberedLines", "--n", "5"])
        .output()
        .unwrap());
    assert!(shown.contains(".lines\t48 bytes"), "{shown}");
}

#[test]
fn a_file_made_by_an_external_program_reaches_its_dependent_as_a_path() {
    let run = Run::new();
    run.fixture(&["SeqSum", "--n", "10"]).assert().success();
    assert_eq!(run.output("seq-sum/10.json"), 55);
    let seq = std::fs::read_to_string(run.workspace().join("seq/10.txt")).unwrap();
    assert_eq!(seq.lines().count(), 10);
    assert!(temp_files(&run.workspace()).is_empty());
    let shown = ok(run
        .fixture(&["show", "SeqFile", "--n", "10"])
        .output()
        .unwrap());
    assert!(
        shown.trim_end().ends_with("seq/10.txt\t21 bytes"),
        "{shown}"
    );
}

/// What `PartsList --n 3` finds in `Parts(n=3)`'s directory.
fn parts_of_3() -> serde_json::Value {
    serde_json::json!([
        ["_SUCCESS", ""],
        ["meta/info.txt", " meta\n"],
        ["part-0.txt", " 0\n"],
        ["part-1.txt", " 1\n"],
        ["part-2.txt", " 2\n"]
    ])
}

#[test]
fn a_directory_of_several_files_is_moved_into_place_whole() {
    let run = Run::new();
    run.fixture(&["PartsList", "--n", "3"]).assert().success();
    let files = run.output("parts-list/3.json");
    assert_eq!(files, parts_of_3());
    assert!(temp_files(&run.workspace()).is_empty());
    let shown = ok(run
        .fixture(&["show", "Parts", "--n", "3"])
        .output()
        .unwrap());
    assert!(shown.contains("parts/3/\t5 files, 15 bytes"), "{shown}");
    // Complete now: a second run writes nothing.
    run.fixture(&["Parts", "--n", "3", "--tag", "again"])
        .assert()
        .success();
    let info = std::fs::read_to_string(run.workspace().join("parts/3/meta/info.txt")).unwrap();
    assert_eq!(info, " meta\n");
}

#[test]
fn a_panicking_task_leaves_no_temporary_and_no_output() {
    let run = Run::new();
    let out = run.fixture(&["PanickyFile", "--n", "1"]).output().unwrap();
    assert!(!out.status.success());
    let failed = run.events_of("failed");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("gave up halfway"),
        "{failed:?}"
    );
    assert!(temp_files(&run.workspace()).is_empty(), "{:?}", run.files());
    assert!(!run.workspace().join("panicky/1.bin").exists());
}

/// Freezes a writer with its output staged and durable, kills it, and checks a later run
/// (its clock two hours on, so the temporary counts as stale) sweeps it and completes.
fn killed_mid_write_then_swept(task: &[&str], output: &str) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let writer = spawn_with_env(
        &ws,
        "writer",
        task,
        &[],
        &[("KART_FAILPOINTS", "publish-durable")],
    );
    wait_until_stopped(writer.child.id());
    let temps = temp_files(&ws);
    assert_eq!(temps.len(), 1, "{temps:?}");
    send_signal(writer.child.id(), "KILL");
    let _ = writer.finish();
    assert!(!ws.join(output).exists(), "no final output after kill -9");
    assert_eq!(
        temp_files(&ws),
        temps,
        "the killed writer's temporary is left behind"
    );

    let out = Command::new("faketime")
        .args(["-f", "+2h"])
        .arg(assert_cmd::cargo::cargo_bin("fixture"))
        .args(task)
        .arg("--workspace")
        .arg(&ws)
        .env_remove("KART_CONFIG")
        .output()
        .expect("faketime runs (apt-get install -y faketime)");
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(ws.join(output).exists());
    assert!(temp_files(&ws).is_empty(), "swept: {:?}", temp_files(&ws));
}

#[test]
fn kill_9_during_a_file_write_leaves_no_output_and_the_next_run_sweeps_and_completes() {
    killed_mid_write_then_swept(&["SeqFile", "--n", "5"], "seq/5.txt");
}

#[test]
fn kill_9_during_a_directory_write_leaves_no_output_and_the_next_run_sweeps_and_completes() {
    killed_mid_write_then_swept(&["Parts", "--n", "4"], "parts/4");
}

#[test]
fn two_processes_racing_on_one_directory_leave_exactly_one_writers_files() {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    // No claims: both run the task, both reach the last step before the rename.
    let writers: Vec<_> = ["a", "b"]
        .iter()
        .map(|tag| {
            spawn_with_env(
                &ws,
                tag,
                &["Parts", "--n", "5", "--tag", tag, "--no-claims"],
                &[],
                &[("KART_FAILPOINTS", "publish-checked")],
            )
        })
        .collect();
    for w in &writers {
        wait_until_stopped(w.child.id());
    }
    assert_eq!(temp_files(&ws).len(), 2);
    for w in &writers {
        send_signal(w.child.id(), "CONT");
    }
    let mut committed = 0;
    let mut lost = 0;
    for w in writers {
        let (out, events) = w.finish();
        assert!(out.status.success(), "{}", text(&out).1);
        committed += of_kind(&events, "succeeded").len();
        lost += of_kind(&events, "already_committed").len();
    }
    assert_eq!(
        (committed, lost),
        (1, 1),
        "one wrote, the other found it there"
    );
    let mut tags = std::collections::BTreeSet::new();
    for entry in walkdir(&ws.join("parts/5")) {
        if entry.ends_with("_SUCCESS") {
            continue;
        }
        let text = std::fs::read_to_string(&entry).unwrap();
        tags.insert(text.split(' ').next().unwrap().to_string());
    }
    assert_eq!(tags.len(), 1, "one writer's files only: {tags:?}");
    assert!(
        temp_files(&ws).is_empty(),
        "the loser's directory is removed"
    );
}

fn walkdir(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.path().is_dir() {
            out.extend(walkdir(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[test]
fn errors_of_any_type_reach_the_summary_and_the_failed_event_with_their_causes() {
    let run = Run::new();
    let out = run.fixture(&["CustomError", "--n", "7"]).output().unwrap();
    assert!(!out.status.success());
    let (stdout, _) = text(&out);
    let chain = "upstream answered 503: connection 7 reset by peer";
    assert!(stdout.contains(chain), "{stdout}");
    assert_eq!(run.events_of("failed")[0]["error"], chain);

    let run = Run::new();
    let out = run.fixture(&["AnyhowError", "--n", "7"]).output().unwrap();
    let (stdout, _) = text(&out);
    let chain = "cannot read the day's file: No such file or directory (os error 2)";
    assert!(stdout.contains(chain), "{stdout}");
    assert_eq!(run.events_of("failed")[0]["error"], chain);
}

#[test]
fn show_and_invalidate_downstream_on_the_example_pipeline() {
    let run = Run::new();
    run.reports(&["AllReports", "--date", "2015-01-01"])
        .assert()
        .success();
    let shown = ok(run
        .reports(&["show", "SomeReport", "--date", "2015-01-01"])
        .output()
        .unwrap());
    let report: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(report["title"], "Total sales");
    let out = run
        .reports(&["show", "SomeReport", "--date", "2015-01-02"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4), "missing data");
    assert!(text(&out).0.contains("is not complete"));

    let before = run.files();
    let args = [
        "invalidate",
        "AllReports",
        "--date",
        "2015-01-01",
        "--family",
        "DailySales",
        "--downstream",
        "--dry-run",
    ];
    let listed = ok(run.reports(&args).output().unwrap());
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 4, "{listed}");
    assert!(lines[0].starts_with("would remove DailySales(date=2015-01-01): "));
    for family in ["SomeReport", "SomeOtherReport", "TPSReport"] {
        assert!(
            lines[1..].iter().any(|l| l.starts_with(&format!(
                "would remove {family}(date=2015-01-01) (downstream)"
            ))),
            "{listed}"
        );
    }
    assert_eq!(run.files(), before, "a dry run removes nothing");

    ok(run.reports(&args[..args.len() - 1]).output().unwrap());
    let after = run.files();
    assert_eq!(before.len() - after.len(), 4, "{after:?}");
    assert!(
        after.iter().any(|f| f.contains("CropReport")),
        "not downstream: kept"
    );
    // The next run makes exactly those four again.
    run.reports(&["AllReports", "--date", "2015-01-01"])
        .assert()
        .success();
    assert_eq!(run.files(), before);
    // Those four, and the wrapper over them.
    assert_eq!(run.events_of("succeeded").len(), 7 + 4 + 1);

    let out = run
        .reports(&[
            "invalidate",
            "AllReports",
            "--date",
            "2015-01-01",
            "--family",
            "Nope",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out)
        .1
        .contains("no Nope task in the graph of AllReports(date=2015-01-01)"));
}

#[test]
fn invalidate_refuses_while_a_task_that_needs_the_output_is_running() {
    let run = Run::new();
    run.fixture(&["Sleepy", "--n", "1", "--millis", "0"])
        .assert()
        .success();
    let mut running = run.spawn(&["SlowReport", "--n", "1", "--secs", "60"], &[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !run
        .events_of("started")
        .iter()
        .any(|e| e["family"] == "SlowReport")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "SlowReport did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = run
        .fixture(&["invalidate", "SlowReport", "--n", "1", "--family", "Sleepy"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "locked elsewhere: {:?}",
        text(&out)
    );
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("SlowReport(n=1, ") && stderr.contains(") is in use ("),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was invalidated"), "{stderr}");
    assert!(run.workspace().join("sleepy/1.json").exists());
    running.kill().unwrap();
    running.wait().unwrap();
}

#[test]
fn every_kind_of_output_works_on_s3() {
    every_kind_of_output_works_on_object_storage(kart_tests::object_server::Provider::S3);
}

#[test]
fn every_kind_of_output_works_on_azure() {
    every_kind_of_output_works_on_object_storage(kart_tests::object_server::Provider::Azure);
}

/// Values, files (one part, and several: a multipart upload or Azure's blocks), directories,
/// their dependents and `show`/`invalidate`. Not on GCS: its emulator takes no upload.
fn every_kind_of_output_works_on_object_storage(provider: kart_tests::object_server::Provider) {
    use kart_tests::object_server::ObjectServer;
    let s3 = ObjectServer::start(provider);
    s3.create_bucket("bucket");
    let run = Run::new();
    let url = &s3.url("bucket", "kart");
    let kart = |args: &[&str]| {
        let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("fixture"));
        cmd.current_dir(run.dir.path())
            .args(args)
            .args(["--workspace", url, "--part-size", "5242880"])
            .env_remove("KART_CONFIG")
            .envs(s3.env());
        cmd.output().unwrap()
    };
    for args in [
        &["SalesTotal", "--n", "3"][..],
        &["TableSummary", "--n", "4"],
        &["CountLines", "--n", "5"],
        &["SeqSum", "--n", "10"],
        &["PartsList", "--n", "3"],
        // Larger than one part: a multipart upload.
        &["BigFile", "--mib", "12"],
    ] {
        ok(kart(args));
    }
    let json = |key: &str| -> serde_json::Value {
        serde_json::from_slice(&s3.get("bucket", &format!("kart/{key}")).expect(key)).unwrap()
    };
    assert_eq!(json("csv-total/3.json"), 30);
    assert_eq!(json("parquet-summary/4.json")["same_values"], true);
    assert_eq!(json("lines-count/5.json"), 5);
    // Dependents read a local copy of the file and of the directory.
    assert_eq!(json("seq-sum/10.json"), 55);
    assert_eq!(json("parts-list/3.json"), parts_of_3());
    let big = s3.get("bucket", "kart/big/12.bin").unwrap();
    assert_eq!(big.len(), 12 << 20);
    assert!(big
        .chunks(256)
        .all(|c| c.iter().enumerate().all(|(i, b)| *b == i as u8)));
    let keys = s3.keys("bucket", "kart/");
    assert!(
        keys.contains(&"kart/parts/3/_SUCCESS".to_string()),
        "{keys:?}"
    );
    assert!(
        !keys.iter().any(|k| k.contains(".tmp")),
        "no temporary upload is left: {keys:?}"
    );

    // Complete now, by marker and by object.
    let out = ok(kart(&["show", "Parts", "--n", "3"]));
    assert!(
        out.contains(&format!("{url}/parts/3/\t5 files, 15 bytes")),
        "{out}"
    );
    let out = ok(kart(&["show", "BigFile", "--mib", "12"]));
    assert!(
        out.contains(&format!("{url}/big/12.bin\t12582912 bytes")),
        "{out}"
    );
    let out = ok(kart(&["PartsList", "--n", "3"]));
    assert!(out.contains("already complete"), "{out}");

    // A directory without its marker is not complete; invalidating removes the marker first.
    ok(kart(&["invalidate", "Parts", "--n", "3"]));
    assert!(!s3
        .keys("bucket", "kart/parts/3/")
        .iter()
        .any(|k| k.ends_with("_SUCCESS")));
    assert!(
        s3.keys("bucket", "kart/parts/3/").is_empty(),
        "the files went too"
    );
    let out = kart(&["show", "Parts", "--n", "3"]);
    assert_eq!(out.status.code(), Some(4));
}

/// The days of `DailyDir` started since event `from`.
fn days_started(events: &[serde_json::Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["event"] == "started" && e["family"] == "DailyDir")
        .map(|e| e["params"]["day"].as_str().unwrap().to_string())
        .collect()
}

const RANGE: [&str; 9] = [
    "RangeDaily",
    "--of",
    "DailyDir",
    "--start",
    "2015-01-01",
    "--stop",
    "2015-01-05",
    "--days-back",
    "100000",
];

#[test]
fn a_range_over_directory_outputs_decides_from_one_listing() {
    let run = Run::new();
    run.fixture(&["DailyDir", "--day", "2015-01-02"])
        .assert()
        .success();
    run.fixture(&RANGE).assert().success();
    assert_eq!(
        days_started(&run.events()),
        ["2015-01-02", "2015-01-01", "2015-01-03", "2015-01-04"]
    );
    let before = run.events().len();
    run.fixture(&RANGE).assert().success();
    assert!(
        days_started(&run.events()[before..]).is_empty(),
        "all complete"
    );
}

#[test]
fn a_range_over_directory_outputs_on_object_storage_goes_by_their_markers() {
    use kart_tests::object_server::{ObjectServer, Provider};
    let s3 = ObjectServer::start(Provider::S3);
    s3.create_bucket("bucket");
    let run = Run::new();
    let kart = |args: &[&str]| {
        let out = Command::new(assert_cmd::cargo::cargo_bin("fixture"))
            .current_dir(run.dir.path())
            .args(args)
            .args(["--workspace", "s3://bucket/kart", "--events"])
            .arg(run.events_path())
            .env_remove("KART_CONFIG")
            .envs(s3.env())
            .output()
            .unwrap();
        ok(out)
    };
    kart(&RANGE);
    assert_eq!(days_started(&run.events()).len(), 4);
    // A directory whose marker is gone is not complete, though its files are all there.
    s3.delete("bucket", "kart/daily-dirs/2015-01-03/_SUCCESS");
    assert!(s3
        .get("bucket", "kart/daily-dirs/2015-01-03/day.txt")
        .is_some());
    let before = run.events().len();
    kart(&RANGE);
    let events = &run.events()[before..];
    assert_eq!(days_started(events), ["2015-01-03"]);
    let requests = events
        .iter()
        .find(|e| e["event"] == "store_requests")
        .unwrap();
    // Decided from listings: the only HEADs are the rebuilt day's own (its check before the
    // run, the claim's re-check, the publish's), never one per day of the range.
    assert_eq!(requests["head"], 3, "{requests}");
    assert!(s3
        .get("bucket", "kart/daily-dirs/2015-01-03/_SUCCESS")
        .is_some());
}

#[test]
fn gc_removes_an_intermediate_directory_whole() {
    let run = Run::new();
    run.fixture(&["ScratchDir", "--n", "1"]).assert().success();
    assert!(run.workspace().join("scratch-dirs/1/sub/b.txt").exists());
    let out = support::fixture_in(&run.workspace(), &["gc", "--older-than", "0s"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("scratch-dirs/1/"), "{stdout}");
    assert!(!run.workspace().join("scratch-dirs/1").exists());
    assert!(temp_files(&run.workspace()).is_empty());
}
