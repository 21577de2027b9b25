//! Batching (Luigi's `batch_method`): ready tasks of one family that differ only in batch
//! parameters run as one representative; the others follow its fate.

mod support;

use serde_json::{json, Value};
use support::{text, Run};

/// Parameters of the `family` tasks that started (wrappers start too).
fn started(run: &Run, family: &str) -> Vec<Value> {
    run.events_of("started")
        .into_iter()
        .filter(|e| e["family"] == family)
        .map(|e| e["params"].clone())
        .collect()
}

#[test]
fn the_seeds_example_gives_two_batches_split_by_the_parameter_without_a_method() {
    let run = Run::new();
    let out = run.fixture(&["SeedBatches"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let mut ran = started(&run, "SeedA");
    ran.sort_by_key(|p| p["p1"].as_u64());
    assert_eq!(
        ran,
        [
            json!({"p1": 2, "p2": 3, "p3": 0}),
            json!({"p1": 3, "p2": 4, "p3": 1})
        ]
    );
    // A(1, 2, 0) ran batched into A(2, 3, 0) and has its output.
    let into = run.events_of("batched_into");
    assert_eq!(into.len(), 2);
    let rep = into[0]["into"].as_str().unwrap();
    assert!(rep.starts_with("SeedA_2_3_0_"), "{rep}");
    assert!(into.iter().all(|e| e["into"] == rep));
    let running = run.events_of("batch_running");
    assert_eq!(running.len(), 1);
    assert_eq!(running[0]["task_id"], rep);
    assert_eq!(running[0]["members"].as_array().unwrap().len(), 2);
    assert_eq!(run.output("a/1-2-0.json"), json!([2, 3, 0]));
    assert_eq!(run.output("a/2-3-0.json"), json!([2, 3, 0]));
    assert_eq!(run.output("a/3-4-1.json"), json!([3, 4, 1]));
    assert!(
        stdout.contains("* 2 of them ran batched, in 1 run"),
        "{stdout}"
    );
    // Done is done: nothing runs again.
    run.fixture(&["SeedBatches"]).assert().success();
    assert_eq!(started(&run, "SeedA").len(), 2);
}

#[test]
fn overwriting_one_data_source_runs_once_for_the_latest_day_holding_the_unique_resource() {
    let run = Run::new();
    let out = run
        .fixture(&[
            "LoadDays",
            "--start",
            "2016-06-01",
            "--days",
            "3",
            "--workers",
            "4",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(started(&run, "LoadUntil"), [json!({"date": "2016-06-03"})]);
    for day in ["2016-06-01", "2016-06-02", "2016-06-03"] {
        assert_eq!(
            run.output(&format!("warehouse/{day}.json")),
            json!("loaded up to 2016-06-03")
        );
    }
    // Three members report success; only the representative took the resource.
    assert_eq!(
        run.events_of("succeeded")
            .iter()
            .filter(|e| e["family"] == "LoadUntil")
            .count(),
        3
    );
    assert!(run.events_of("resource_wait").is_empty());
}

#[test]
fn min_batches_run_the_earliest_value() {
    let run = Run::new();
    run.fixture(&["SinceAll", "--froms", "5,3,9"])
        .assert()
        .success();
    assert_eq!(started(&run, "Since"), [json!({"from": 3})]);
    assert_eq!(run.output("since/9.json"), json!(3));
}

#[test]
fn max_batch_size_splits_list_and_custom_methods_combine() {
    let run = Run::new();
    run.fixture(&[
        "ExportAll",
        "--kind",
        "daily",
        "--regions",
        "eu,us,asia,af,sa",
    ])
    .assert()
    .success();
    let mut ran: Vec<(String, u64)> = started(&run, "ExportRegions")
        .iter()
        .map(|p| {
            assert_eq!(p["kind"], "daily");
            (
                p["regions"].as_str().unwrap().to_string(),
                p["weight"].as_u64().unwrap(),
            )
        })
        .collect();
    ran.sort();
    assert_eq!(
        ran,
        [
            ("asia,af".to_string(), 2),
            ("eu,us".to_string(), 2),
            ("sa".to_string(), 1)
        ]
    );
    assert_eq!(run.output("export/daily/us-1.json"), json!("daily:eu,us:2"));
    assert_eq!(run.events_of("batch_running").len(), 2);
}

#[test]
fn a_failing_representative_fails_its_whole_batch() {
    let run = Run::new();
    let out = run.fixture(&["AfterBroken"]).output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(started(&run, "BrokenBatch"), [json!({"n": 2})]);
    let failed = run.events_of("failed");
    assert_eq!(failed.len(), 3, "{failed:?}");
    for n in 0..2 {
        assert!(
            stderr.contains(&format!(
                "error: BrokenBatch(n={n}) failed: batch BrokenBatch_2_"
            )),
            "{stderr}"
        );
    }
    assert!(stderr.contains("cannot load up to 2"), "{stderr}");
    assert!(stdout.contains("* 3 failed:"), "{stdout}");
    assert!(stdout.contains("AfterBroken()"), "{stdout}");
    assert!(run.files().is_empty(), "{:?}", run.files());
}

#[test]
fn an_instance_that_is_not_batchable_runs_alone() {
    let run = Run::new();
    let out = run
        .fixture(&["Pickies", "--workers", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    let mut days: Vec<u64> = started(&run, "Picky")
        .iter()
        .map(|p| p["day"].as_u64().unwrap())
        .collect();
    days.sort();
    // 1, 2 and 4 ran as one batch (represented by 4); 3 ran alone.
    assert_eq!(days, [3, 4]);
    let into = run.events_of("batched_into");
    assert_eq!(into.len(), 3, "{into:?}");
    assert!(into
        .iter()
        .all(|e| !e["task_id"].as_str().unwrap().starts_with("Picky_3_")));
    for day in 1..=4 {
        assert!(run.workspace().join(format!("picky/{day}.json")).exists());
    }
}

#[test]
fn tasks_needing_different_resources_are_not_batched_together() {
    let run = Run::new();
    let out = run
        .fixture(&["SlottedDays", "--workers", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    let mut days: Vec<u64> = started(&run, "Slotted")
        .iter()
        .map(|p| p["day"].as_u64().unwrap())
        .collect();
    days.sort();
    assert_eq!(days, [1, 2, 3], "each ran alone");
    assert!(run.events_of("batched_into").is_empty());
}

#[test]
fn batches_run_in_the_priority_order_of_their_members() {
    let run = Run::new();
    let out = run
        .fixture(&["PrioBatches", "--workers", "1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    let log = std::fs::read_to_string(run.workspace().join("runs.log")).unwrap();
    let order: Vec<&str> = log.lines().map(|l| l.split_once(' ').unwrap().1).collect();
    // Each group runs as one batch (its latest day); the urgent group first.
    assert_eq!(order, ["batch hi 3", "batch lo 3"]);
}
