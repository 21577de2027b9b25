//! Range tools end to end: Luigi's decoy-file cases with real files, the crontab and backfill
//! commands, metrics events, and errors. `--now` is fixed in every test.

mod support;

use predicates::prelude::*;
use support::{text, Run};

fn touch(run: &Run, paths: &[&str]) {
    for p in paths {
        let path = run.workspace().join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "\"x\"").unwrap();
    }
}

/// `Family(param=value)` of the tasks a dry run would run, the range itself excluded.
fn plan(run: &Run, args: &[&str]) -> Vec<String> {
    let mut args = args.to_vec();
    args.push("--dry-run");
    let out = run.fixture(&args).assert().success().get_output().clone();
    text(&out)
        .0
        .lines()
        .skip(1)
        .map(|l| l.trim().to_string())
        .filter(|l| !l.starts_with("Range"))
        .collect()
}

const TASK_A_PATHS: &[&str] = &[
    "TaskA/2014-03-20/18",
    "TaskA/2014-03-20/21",
    "TaskA/2014-03-20/23",
    "TaskA/2014-03-21/00",
    "TaskA/2014-03-21/00.attempt.1",
    "TaskA/2014-03-21/00.attempt.2",
    "TaskA/2014-03-21/01",
    "TaskA/2014-03-21/02",
    "TaskA/2014-03-21/03.attempt-temp-2014-03-21T13-22-58.165969",
    "TaskA/2014-03-21/03.attempt.1",
    "TaskA/2014-03-21/03.attempt.2",
    "TaskA/2014-03-21/03.attempt.3",
    "TaskA/2014-03-21/03.attempt.latest",
    "TaskA/2014-03-21/04.attempt-temp-2014-03-21T13-23-09.078249",
    "TaskA/2014-03-21/12",
    "TaskA/2014-03-23/12",
];

const TASK_B_PATHS: &[&str] = &[
    "TaskB/no/worries2014-03-20/23",
    "TaskB/no/worries2014-03-21/01",
    "TaskB/no/worries2014-03-21/03",
    "TaskB/no/worries2014-03-21/04.attempt-yadayada",
    "TaskB/no/worries2014-03-21/05",
];

#[test]
fn missing_tasks_are_required_despite_decoy_files() {
    let run = Run::new();
    touch(&run, TASK_A_PATHS);
    let args = [
        "RangeHourly",
        "--of",
        "TaskA",
        "--start",
        "2014-03-20T17",
        "--task-limit",
        "3",
        "--hours-back",
        "26280",
        "--now",
        "2016-04-01T00",
    ];
    assert_eq!(
        plan(&run, &args),
        [
            "TaskA(dh=2014-03-20T17)",
            "TaskA(dh=2014-03-20T19)",
            "TaskA(dh=2014-03-20T20)"
        ]
    );
    // The one-by-one checker agrees.
    let mut base = args;
    base[0] = "RangeHourlyBase";
    assert_eq!(
        plan(&run, &base),
        [
            "TaskA(dh=2014-03-20T17)",
            "TaskA(dh=2014-03-20T19)",
            "TaskA(dh=2014-03-20T20)"
        ]
    );
}

#[test]
fn a_wrapper_instance_is_complete_only_when_every_wrapped_output_exists() {
    let run = Run::new();
    touch(&run, TASK_A_PATHS);
    touch(&run, TASK_B_PATHS);
    for family in ["RangeHourly", "RangeHourlyBase"] {
        run.fixture(&[
            family,
            "--of",
            "CommonWrapperTask",
            "--start",
            "2014-03-20T23",
            "--stop",
            "2014-03-21T06",
            "--hours-back",
            "262800",
            "--now",
            "2040-04-01T00",
            "--dry-run",
        ])
        .assert()
        .success();
    }
    let wanted: Vec<String> = run
        .events_of("scheduled")
        .iter()
        .filter(|e| e["family"] == "CommonWrapperTask")
        .map(|e| e["params"]["dh"].as_str().unwrap().to_string())
        .collect();
    let expected = [
        "2014-03-21T00",
        "2014-03-21T02",
        "2014-03-21T03",
        "2014-03-21T04",
        "2014-03-21T05",
    ];
    assert_eq!(
        wanted,
        [expected, expected].concat(),
        "bulk and one-by-one agree"
    );
}

#[test]
fn a_missing_directory_means_every_instance_is_missing() {
    let run = Run::new();
    let args = [
        "RangeHourly",
        "--of",
        "TaskA",
        "--start",
        "2014-03-20T23",
        "--stop",
        "2014-03-21T01",
        "--now",
        "2014-04-01T00",
    ];
    assert_eq!(
        plan(&run, &args),
        ["TaskA(dh=2014-03-20T23)", "TaskA(dh=2014-03-21T00)"]
    );
}

#[test]
fn crontab_catch_up_creates_the_missing_days_and_a_rerun_starts_nothing() {
    let run = Run::new();
    run.reports(&["AllReports", "--date", "2015-01-03"])
        .assert()
        .success();
    let before = run.events_of("started").len();
    let cmd = [
        "RangeDaily",
        "--of",
        "AllReports",
        "--start",
        "2015-01-01",
        "--stop",
        "2015-01-08",
        "--days-back",
        "100000",
    ];
    run.reports(&cmd).assert().success();
    let ran: Vec<String> = run.events_of("started")[before..]
        .iter()
        .filter(|e| e["family"] == "AllReports")
        .map(|e| e["params"]["date"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        ran,
        [
            "2015-01-01",
            "2015-01-02",
            "2015-01-04",
            "2015-01-05",
            "2015-01-06",
            "2015-01-07"
        ]
    );
    for day in 1..=7 {
        for family in [
            "SomeReport",
            "SomeOtherReport",
            "CropReport",
            "TPSReport",
            "FooBarBazReport",
        ] {
            assert!(run
                .workspace()
                .join(format!("reports/{family}/2015-01-0{day}.json"))
                .exists());
        }
    }
    assert!(
        !run.workspace()
            .join("reports/SomeReport/2015-01-08.json")
            .exists(),
        "stop is exclusive"
    );
    let total = run.events_of("started").len();
    run.reports(&cmd).assert().success();
    assert_eq!(
        run.events_of("started").len(),
        total,
        "the rerun started nothing"
    );
}

#[test]
fn without_stop_the_window_ends_now_and_includes_today_after_midnight() {
    let run = Run::new();
    run.fixture(&[
        "RangeDaily",
        "--of",
        "Daily",
        "--start",
        "2015-01-01",
        "--now",
        "2015-01-03T00:00:01",
    ])
    .assert()
    .success();
    assert!(run.workspace().join("daily/eu/2015-01-03.json").exists());
    let run = Run::new();
    run.fixture(&[
        "RangeDaily",
        "--of",
        "Daily",
        "--start",
        "2015-01-01",
        "--now",
        "2015-01-03T00:00:00",
    ])
    .assert()
    .success();
    assert!(run.workspace().join("daily/eu/2015-01-02.json").exists());
    assert!(
        !run.workspace().join("daily/eu/2015-01-03.json").exists(),
        "at midnight today is not due yet"
    );
}

#[test]
fn backfill_newest_first_with_a_task_limit() {
    let run = Run::new();
    let args = [
        "RangeDaily",
        "--of",
        "Daily",
        "--start",
        "2015-01-01",
        "--stop",
        "2015-01-11",
        "--days-back",
        "100000",
        "--task-limit",
        "3",
        "--reverse",
        "--now",
        "2020-01-01T00",
    ];
    assert_eq!(
        plan(&run, &args),
        [
            "Daily(day=2015-01-10, region=eu)",
            "Daily(day=2015-01-09, region=eu)",
            "Daily(day=2015-01-08, region=eu)"
        ]
    );
}

#[test]
fn of_params_and_class_level_parameters_reach_every_instance() {
    let run = Run::new();
    let base = [
        "RangeDaily",
        "--of",
        "Daily",
        "--start",
        "2015-01-01",
        "--stop",
        "2015-01-03",
        "--days-back",
        "100000",
    ];
    let mut with_of_params = base.to_vec();
    with_of_params.extend(["--of-params", r#"{"region": "us"}"#]);
    run.fixture(&with_of_params).assert().success();
    assert!(run.workspace().join("daily/us/2015-01-02.json").exists());
    let mut class_level = base.to_vec();
    class_level.extend(["--Daily-region", "jp"]);
    run.fixture(&class_level).assert().success();
    assert_eq!(run.output("daily/jp/2015-01-01.json"), "jp 2015-01-01");
    // of-params are part of the range's id; class-level values are not.
    let ids: Vec<String> = run
        .events_of("range_delay")
        .iter()
        .map(|e| e["task_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn metrics_are_emitted_and_summarized() {
    let run = Run::new();
    touch(
        &run,
        &[
            "daily/eu/2015-01-01.json",
            "daily/eu/2015-01-02.json",
            "daily/eu/2015-01-04.json",
        ],
    );
    let out = run
        .fixture(&[
            "RangeDaily",
            "--of",
            "Daily",
            "--start",
            "2015-01-01",
            "--stop",
            "2015-01-06",
            "--days-back",
            "100000",
            "--now",
            "2020-01-01T00",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let value = |kind: &str| {
        let e = &run.events_of(kind)[0];
        assert_eq!(e["of"], "Daily");
        assert_eq!(e["family"], "RangeDaily");
        e["value"].as_f64().unwrap()
    };
    assert_eq!(
        value("range_delay"),
        3.0,
        "from 2015-01-03 to the end of the window"
    );
    assert_eq!(value("range_complete_count"), 3.0);
    assert_eq!(value("range_complete_fraction"), 0.6);
    assert!(
        text(&out)
            .0
            .contains("RangeDaily of Daily: 3 complete (60.0%), delay 3"),
        "{}",
        text(&out).0
    );
}

#[test]
fn a_range_says_up_front_what_it_checked_and_what_it_assumed_complete() {
    let run = Run::new();
    run.fixture(&["RangeDaily", "--of", "Daily", "--start", "2015-01-01", "--days-back", "3", "--now", "2015-01-10T12", "--dry-run"])
        .assert()
        .success()
        .stderr(predicate::eq(
            "RangeDaily of Daily: checked 3 days, 2015-01-08 to 2015-01-10 (--days-back 3, --days-forward 0): 3 missing\n  7 days from --start 2015-01-01 to 2015-01-07 were assumed complete and not checked; check them too with --days-back 10\n",
        ));
    let checked = &run.events_of("range_checked")[0];
    assert_eq!(
        (
            &checked["checked"],
            &checked["missing"],
            &checked["assumed_complete"]
        ),
        (&3.into(), &3.into(), &7.into())
    );
}

#[test]
fn a_task_limit_that_caps_the_run_is_said_with_its_flag() {
    let run = Run::new();
    let out = run
        .fixture(&[
            "RangeDaily",
            "--of",
            "Daily",
            "--start",
            "2015-01-01",
            "--stop",
            "2015-01-11",
            "--days-back",
            "100000",
            "--task-limit",
            "4",
            "--reverse",
            "--now",
            "2020-01-01T00",
            "--dry-run",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        stderr,
        "RangeDaily of Daily: checked 10 days, 2015-01-01 to 2015-01-10 (--days-back 100000, --days-forward 0): 10 missing\n  running the 4 newest of them: --task-limit 4 caps a run; raise it to run more\n"
    );
    assert!(stdout.starts_with("Would run 5 tasks"), "{stdout}");
}

#[test]
fn nothing_inside_the_window_is_a_warning_that_says_how_to_widen_it() {
    let run = Run::new();
    touch(&run, &["daily/eu/2015-01-01.json"]);
    let out = run
        .fixture(&[
            "RangeDaily",
            "--of",
            "Daily",
            "--start",
            "2015-01-01",
            "--stop",
            "2015-01-10",
            "--now",
            "2020-01-01T00",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let (stdout, stderr) = text(&out);
    assert_eq!(
        stderr,
        "warning: RangeDaily of Daily: nothing to check: --start 2015-01-01 --stop 2015-01-10 lies outside the window 2019-09-23 to 2019-12-31 (--days-back 100, --days-forward 0); its 9 days were assumed complete and not checked; widen the window with --days-back 1826\n"
    );
    assert!(stdout.contains("* 1 was already complete"), "{stdout}");
    let after = run
        .fixture(&[
            "RangeDaily",
            "--of",
            "Daily",
            "--start",
            "2020-02-01",
            "--now",
            "2020-01-01T00",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(
        text(&after).1.contains("lies outside the window 2019-09-23 to 2019-12-31 (--days-back 100, --days-forward 0); widen the window with --days-forward 32"),
        "{}",
        text(&after).1
    );
    // Every range event names the range's parameters and who decided.
    for e in run
        .events()
        .iter()
        .filter(|e| e["event"].as_str().is_some_and(|k| k.starts_with("range_")))
    {
        assert!(e["params"]["start"].is_string(), "{e}");
        assert_eq!(e["worker"], "scheduler", "{e}");
    }
    // -q keeps it to itself.
    let out = run
        .fixture(&[
            "RangeDaily",
            "--of",
            "Daily",
            "--start",
            "2015-01-01",
            "--stop",
            "2015-01-10",
            "--now",
            "2020-01-01T00",
            "-q",
        ])
        .output()
        .unwrap();
    assert_eq!(text(&out), (String::new(), String::new()));
}

#[test]
fn monthly_excludes_the_current_month() {
    let run = Run::new();
    run.fixture(&[
        "RangeMonthly",
        "--of",
        "Monthly",
        "--start",
        "2015-01",
        "--now",
        "2015-04-20T10",
    ])
    .assert()
    .success();
    assert_eq!(
        run.files(),
        [
            "monthly/2015-01.json",
            "monthly/2015-02.json",
            "monthly/2015-03.json"
        ]
    );
}

#[test]
fn minutes_step_by_the_interval() {
    let run = Run::new();
    run.fixture(&[
        "RangeByMinutes",
        "--of",
        "Minutely",
        "--start",
        "2015-01-01T1000",
        "--stop",
        "2015-01-01T1100",
        "--minutes-interval",
        "15",
        "--minutes-back",
        "10000000",
        "--now",
        "2016-01-01T00",
    ])
    .assert()
    .success();
    assert_eq!(
        run.files(),
        [
            "minutely/2015-01-01/1000.json",
            "minutely/2015-01-01/1015.json",
            "minutely/2015-01-01/1030.json",
            "minutely/2015-01-01/1045.json"
        ]
    );
}

#[test]
fn validation_errors_are_bad_input() {
    let run = Run::new();
    for (args, message) in [
        (
            vec!["--start", "2015-02-01", "--stop", "2015-01-01"],
            "Can't have start > stop",
        ),
        (
            vec![],
            "At least one of start and stop needs to be specified",
        ),
        (
            vec!["--stop", "2015-01-01"],
            "Either start needs to be specified or reverse needs to be True",
        ),
    ] {
        let mut full = vec!["RangeDaily", "--of", "Daily"];
        full.extend(args);
        run.fixture(&full)
            .assert()
            .code(2)
            .stderr(predicate::eq(format!(
                "error: invalid RangeDaily parameters: {message}\n"
            )));
    }
    run.fixture(&["RangeDaily", "--of", "Chain", "--start", "2015-01-01"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("Chain has no NaiveDate parameter"));
    run.fixture(&[
        "RangeDaily",
        "--of",
        "Daily",
        "--start",
        "2015-01-01",
        "--of-params",
        r#"{"regoin": "us"}"#,
    ])
    .assert()
    .code(2)
    .stderr(predicate::str::contains(
        "unknown parameter `regoin` for task Daily (did you mean `region`?)",
    ));
    run.fixture(&["RangeDaily", "--of", "Dayly", "--start", "2015-01-01"])
        .assert()
        .code(2)
        .stderr(predicate::eq(
            "error: unknown task `Dayly` (did you mean `Daily`?)\n",
        ));
    assert!(run.files().is_empty());
}
