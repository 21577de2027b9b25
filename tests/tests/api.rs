//! The public API without the command line: building runs, ids, serialization, bulk checks.

use chrono::{NaiveDate, NaiveDateTime};
use kart_core::complete::bulk_complete;
use kart_core::{DynTask, TaskDef, Workspace};
use kart_tests::{Chain, CommonWrapperTask, Daily, Typed};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2015, 1, d).unwrap()
}

#[test]
fn build_runs_a_graph_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::local(dir.path()).unwrap();
    let report = kart_core::build(vec![Chain { n: 3 }.into()], &ws, &Default::default()).unwrap();
    assert!(report.success());
    assert_eq!(report.tasks.len(), 4);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("chain/3.json"))
            .unwrap()
            .trim(),
        "3"
    );
}

#[test]
fn parameter_structs_serialize_with_canonical_values() {
    let t = Daily {
        day: day(2),
        region: "us".into(),
    };
    let json = serde_json::to_value(&t).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"day": "2015-01-02", "region": "us"})
    );
    let back: Daily = serde_json::from_value(json).unwrap();
    assert_eq!(back, t);
    // Missing fields with declared defaults are filled in.
    let typed: Typed = serde_json::from_value(serde_json::json!({"count": 5})).unwrap();
    assert_eq!(typed.label, "hello");
    assert!(serde_json::from_value::<Daily>(serde_json::json!({"region": "us"})).is_err());
}

#[test]
fn ids_depend_on_significant_parameters_only() {
    let a = Typed {
        verbosity: 1,
        ..serde_json::from_value(serde_json::json!({"count": 5})).unwrap()
    };
    let b = Typed {
        verbosity: 9,
        ..a.clone()
    };
    assert_eq!(DynTask::id(&a), DynTask::id(&b));
    let c = Typed {
        count: 6,
        ..a.clone()
    };
    assert_ne!(DynTask::id(&a), DynTask::id(&c));
    assert_eq!(<Typed as TaskDef>::SPEC.family, "Typed");
}

#[test]
fn bulk_completeness_lists_each_directory_once_and_matches_exact_names() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::local(dir.path()).unwrap();
    let hours: Vec<NaiveDateTime> = (0..48)
        .map(|h| day(1).and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(h))
        .collect();
    for (i, dh) in hours.iter().enumerate() {
        // TaskA complete for even hours, with a decoy beside each odd one; TaskB complete for all.
        let a = dir.path().join(format!(
            "TaskA/{}/{}",
            dh.format("%Y-%m-%d"),
            dh.format("%H")
        ));
        std::fs::create_dir_all(a.parent().unwrap()).unwrap();
        let a = if i % 2 == 0 {
            a
        } else {
            a.with_extension("tmp")
        };
        std::fs::write(a, "1").unwrap();
        let b = dir.path().join(format!(
            "TaskB/no/worries{}/{}",
            dh.format("%Y-%m-%d"),
            dh.format("%H")
        ));
        std::fs::create_dir_all(b.parent().unwrap()).unwrap();
        std::fs::write(b, "1").unwrap();
    }
    let tasks: Vec<CommonWrapperTask> = hours.iter().map(|&dh| CommonWrapperTask { dh }).collect();
    let refs: Vec<&dyn DynTask> = tasks.iter().map(|t| t as &dyn DynTask).collect();
    let (complete, listings) = bulk_complete(&refs, &ws).unwrap();
    assert_eq!(
        listings, 4,
        "two days, two families: four directories, each listed once"
    );
    assert_eq!(complete, (0..48).map(|i| i % 2 == 0).collect::<Vec<_>>());
}

#[test]
fn bulk_completeness_answers_every_task_that_wants_the_same_output() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::local(dir.path()).unwrap();
    let at = |h: i64| day(1).and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::hours(h);
    for family in ["TaskA/2015-01-01/00", "TaskB/no/worries2015-01-01/00"] {
        let path = dir.path().join(family);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "1").unwrap();
    }
    // Hour 0 complete, hour 1 not; each asked for 300 times, interleaved (enough tasks to be
    // split over threads).
    let tasks: Vec<CommonWrapperTask> = (0..600)
        .map(|i| CommonWrapperTask { dh: at(i % 2) })
        .collect();
    let refs: Vec<&dyn DynTask> = tasks.iter().map(|t| t as &dyn DynTask).collect();
    let (complete, listings) = bulk_complete(&refs, &ws).unwrap();
    assert_eq!(listings, 2);
    assert_eq!(complete, (0..600).map(|i| i % 2 == 0).collect::<Vec<_>>());
}
