//! Parameters: parsing every supported type, stable ids, precedence of the sources, and the
//! one-line errors for bad input.

mod support;

use predicates::prelude::*;
use support::{text, Run};

fn one_line_error(out: &std::process::Output) -> String {
    let (_, stderr) = text(out);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one line on stderr, got:\n{stderr}"
    );
    assert!(lines[0].starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    lines[0].to_string()
}

/// The default output path of a task without a template: `<Family>/<Family>_<hash>.json`.
fn typed_output(run: &Run) -> serde_json::Value {
    let files = run.files();
    let json: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with("Typed/Typed_") && f.ends_with(".json"))
        .collect();
    assert_eq!(json.len(), 1, "{files:?}");
    run.output(json[0])
}

#[test]
fn every_parameter_type_parses_from_the_command_line() {
    let run = Run::new();
    run.fixture(&[
        "Typed",
        "--count",
        "-3",
        "--ratio",
        "2.5",
        "--flag",
        "--label",
        "hi there",
        "--day",
        "2016-02-29",
        "--at",
        "2016-02-29T13",
        "--wait",
        "1h30m",
        "--region",
        "us",
        "--ids",
        "1,2,3",
        "--note",
        "n",
        "--extra",
        r#"{"b": 1, "a": [true]}"#,
        "--verbosity",
        "3",
    ])
    .assert()
    .success();
    let out = typed_output(&run);
    assert_eq!(out["count"], -3);
    assert_eq!(out["ratio"], 2.5);
    assert_eq!(out["flag"], true);
    assert_eq!(out["label"], "hi there");
    assert_eq!(out["day"], "2016-02-29");
    assert_eq!(out["at"], "2016-02-29 13:00:00");
    assert_eq!(out["wait_secs"], 5400);
    assert_eq!(out["region"], "us");
    assert_eq!(out["ids"], serde_json::json!([1, 2, 3]));
    assert_eq!(out["note"], "n");
    assert_eq!(out["extra"], serde_json::json!({"a": [true], "b": 1}));
    assert_eq!(out["verbosity"], 3);
}

#[test]
fn defaults_apply_when_a_parameter_is_not_given() {
    let run = Run::new();
    run.fixture(&["Typed", "--count", "1"]).assert().success();
    let out = typed_output(&run);
    assert_eq!(out["ratio"], 0.5);
    assert_eq!(out["flag"], false);
    assert_eq!(out["label"], "hello");
    assert_eq!(out["region"], "eu");
    assert_eq!(out["ids"], serde_json::json!([]));
    assert!(out["note"].is_null());
}

#[test]
fn the_id_ignores_argument_order_and_insignificant_parameters() {
    let run = Run::new();
    run.fixture(&[
        "Typed",
        "--count",
        "1",
        "--label",
        "x",
        "--extra",
        r#"{"a":1,"b":2}"#,
    ])
    .assert()
    .success();
    // Same values, other order, other JSON key order, other insignificant value: already complete.
    run.fixture(&[
        "Typed",
        "--extra",
        r#"{"b":2,"a":1}"#,
        "--verbosity",
        "9",
        "--label",
        "x",
        "--count",
        "1",
    ])
    .assert()
    .success();
    assert_eq!(run.events_of("started").len(), 1);
    assert_eq!(run.events_of("already_complete").len(), 1);
    assert_eq!(
        run.events_of("started")[0]["task_id"],
        run.events_of("already_complete")[0]["task_id"]
    );
}

#[test]
fn task_ids_are_stable_across_runs_and_platforms() {
    // SHA-256 of the canonical JSON `{"date":"2015-01-01"}`, first 12 hex digits.
    let run = Run::new();
    run.reports(&["SomeReport", "--date", "2015-01-01"])
        .assert()
        .success();
    let ids: Vec<String> = run
        .events_of("started")
        .iter()
        .map(|e| e["task_id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains(&"SomeReport_2015_01_01_2b5cbddb2015".to_string()),
        "{ids:?}"
    );
    let id = kart_core::TaskId::new("Boom", &[("n", serde_json::json!(3))]);
    assert_eq!(id.as_str(), "Boom_3_215ddd5567ca");
}

#[test]
fn precedence_is_cli_then_env_then_config_then_default() {
    let config = "[Greeting]\nsalutation = \"config\"\n";
    let env = ("KART_GREETING__SALUTATION", "env");
    let cases: [(&str, bool, bool, &[&str]); 5] = [
        ("declared", false, false, &[]),
        ("config", true, false, &[]),
        ("env", true, true, &[]),
        ("cli", true, true, &["--salutation", "cli"]),
        ("class", true, true, &["--Greeting-salutation", "class"]),
    ];
    for (expected, with_config, with_env, extra) in cases {
        let run = Run::new();
        if with_config {
            std::fs::write(run.dir.path().join("kart.toml"), config).unwrap();
        }
        let mut args = vec!["Greeting", "--name", "ada"];
        args.extend_from_slice(extra);
        let mut cmd = run.fixture(&args);
        if with_env {
            cmd.env(env.0, env.1);
        } else {
            cmd.env_remove(env.0);
        }
        cmd.assert().success();
        assert_eq!(
            run.output("greeting/ada.json"),
            format!("{expected}, ada"),
            "case {expected}"
        );
    }
}

#[test]
fn settings_come_from_cli_env_and_config_in_that_order() {
    let run = Run::new();
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[core]\nworkspace = \"from-config\"\n",
    )
    .unwrap();
    let fixture = || {
        let mut cmd = assert_cmd::Command::cargo_bin("fixture").unwrap();
        cmd.current_dir(run.dir.path())
            .env_remove("KART_WORKSPACE")
            .env_remove("KART_CONFIG");
        cmd
    };
    fixture().args(["Chain", "--n", "0"]).assert().success();
    assert!(run.dir.path().join("from-config/chain/0.json").exists());
    fixture()
        .args(["Chain", "--n", "0"])
        .env("KART_WORKSPACE", "from-env")
        .assert()
        .success();
    assert!(run.dir.path().join("from-env/chain/0.json").exists());
    fixture()
        .args(["Chain", "--n", "0", "--workspace", "from-cli"])
        .env("KART_WORKSPACE", "from-env")
        .assert()
        .success();
    assert!(run.dir.path().join("from-cli/chain/0.json").exists());
    // KART_CONFIG names another file.
    std::fs::write(
        run.dir.path().join("other.toml"),
        "[core]\nworkspace = \"from-other\"\n",
    )
    .unwrap();
    fixture()
        .args(["Chain", "--n", "0"])
        .env("KART_CONFIG", "other.toml")
        .assert()
        .success();
    assert!(run.dir.path().join("from-other/chain/0.json").exists());
}

#[test]
fn unknown_task_suggests_the_nearest_name() {
    let run = Run::new();
    let out = run
        .reports(&["AllReport"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(
        one_line_error(&out),
        "error: unknown command or task `AllReport` (did you mean `AllReports`?); see `reports-example --help` or `reports-example list`"
    );
}

#[test]
fn unknown_parameter_suggests_the_nearest_flag() {
    let run = Run::new();
    let out = run
        .reports(&["AllReports", "--dat", "2015-01-01"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let line = one_line_error(&out);
    assert!(
        line.contains("'--dat'") && line.contains("did you mean `--date`?"),
        "{line}"
    );
}

#[test]
fn missing_parameter_names_it_and_its_type() {
    let run = Run::new();
    let out = run
        .reports(&["SomeReport"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(
        one_line_error(&out),
        "error: missing parameter `--date` for task SomeReport (expected date (YYYY-MM-DD))"
    );
}

#[test]
fn unparsable_values_say_what_was_given_and_expected() {
    let run = Run::new();
    let out = run
        .reports(&["AllReports", "--date", "2015-02-30"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let line = one_line_error(&out);
    assert!(line.starts_with("error: invalid value \"2015-02-30\" for parameter `date` of AllReports (from command line): expected date (YYYY-MM-DD)"), "{line}");
    let out = run
        .fixture(&["Typed", "--count", "1", "--region", "mars"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let line = one_line_error(&out);
    assert!(
        line.contains("`region`") && line.contains("unknown region `mars`"),
        "{line}"
    );
    let out = run
        .fixture(&["Typed", "--count", "1", "--wait", "soon"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let line = one_line_error(&out);
    assert!(
        line.contains("\"soon\"") && line.contains("expected duration"),
        "{line}"
    );
    assert!(run.files().is_empty(), "nothing written: {:?}", run.files());
}

#[test]
fn bad_config_names_file_and_line() {
    let run = Run::new();
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[core]\nworkers = 2\n[scheduler\nretry_count = 1\n",
    )
    .unwrap();
    let out = run
        .reports(&["AllReports", "--date", "2015-01-01"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(one_line_error(&out).starts_with("error: bad config kart.toml:3:"));
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[core]\nworkers = \"many\"\n",
    )
    .unwrap();
    let out = run
        .reports(&["AllReports", "--date", "2015-01-01"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(one_line_error(&out).starts_with("error: bad config kart.toml:2:"));
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[SomeReport]\n\ndat = \"2015-01-01\"\n",
    )
    .unwrap();
    let out = run
        .reports(&["AllReports", "--date", "2015-01-01"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert_eq!(
        one_line_error(&out),
        "error: bad config kart.toml:3: unknown parameter `dat` for task SomeReport (did you mean `date`?)"
    );
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[SomeReport]\ndate = 20150101\n",
    )
    .unwrap();
    let out = run
        .reports(&["SomeReport"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let line = one_line_error(&out);
    assert!(
        line.contains("from config kart.toml:2 [SomeReport]"),
        "{line}"
    );
    assert!(run.files().is_empty());
}

#[test]
fn missing_config_file_is_an_error() {
    let run = Run::new();
    let out = run
        .reports(&["AllReports", "--config", "nope.toml"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    assert!(one_line_error(&out).starts_with("error: cannot read config file nope.toml:"));
}

#[test]
fn unwritable_workspace_is_an_error() {
    let run = Run::new();
    let file = run.dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let out = assert_cmd::Command::cargo_bin("reports-example")
        .unwrap()
        .args(["AllReports", "--date", "2015-01-01", "--workspace"])
        .arg(file.join("ws"))
        .assert()
        .code(2)
        .get_output()
        .clone();
    let line = one_line_error(&out);
    assert!(
        line.starts_with("error: workspace ") && line.contains("is not writable"),
        "{line}"
    );
}

#[test]
fn a_parameter_that_would_lead_the_output_out_of_the_workspace_fails_its_task_and_writes_nothing() {
    let run = Run::new();
    let out = run
        .fixture(&["Chatty", "--name", "../../escaped", "--lines", "1"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let (_, stderr) = text(&out);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("error: Chatty(") && errors[0].contains(
            r#"invalid output path "chatty/../../escaped-1-false.json": must not contain empty, `.` or `..` components"#
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // Nothing inside the workspace, nor where the path pointed.
    assert!(run.files().is_empty(), "{:?}", run.files());
    assert!(!run.dir.path().join("escaped-1-false.json").exists());
    assert!(!run
        .dir
        .path()
        .parent()
        .unwrap()
        .join("escaped-1-false.json")
        .exists());
}

#[test]
fn corrupt_cached_input_names_the_file() {
    let run = Run::new();
    std::fs::create_dir_all(run.workspace().join("stats")).unwrap();
    std::fs::write(run.workspace().join("stats/3.json"), "{ not json").unwrap();
    let out = run
        .fixture(&["StatsReport", "--n", "3"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let (_, stderr) = text(&out);
    let path = run.workspace().join("stats/3.json");
    assert!(
        stderr.contains(&format!(
            "corrupt cached output {} of task Stats_3_",
            path.display()
        )),
        "{stderr}"
    );
    assert!(!run.workspace().join("stats-report/3.json").exists());
}

#[test]
fn list_shows_every_task_with_its_parameters() {
    assert_cmd::Command::cargo_bin("fixture")
        .unwrap()
        .arg("list")
        .assert()
        .success()
        .stdout(
            predicate::str::contains("Typed\n")
                .and(predicate::str::contains("--fail-times <usize>")),
        );
}

#[test]
fn a_namespaced_family_is_named_with_its_namespace_everywhere() {
    let run = Run::new();
    run.fixture(&["wohoo.SpacedDaily", "--day", "2015-01-03"])
        .assert()
        .success();
    let started = run.events_of("started");
    assert_eq!(started[0]["family"], "wohoo.SpacedDaily");
    assert!(started[0]["task_id"]
        .as_str()
        .unwrap()
        .starts_with("wohoo.SpacedDaily_2015_01_03_"));
    assert_eq!(run.output("spaced/2015-01-03.json"), 3);
    // The listing, a config section (TOML nests dotted names) and the environment.
    let listed = run.fixture(&["list"]).output().unwrap();
    assert!(
        text(&listed).0.contains("wohoo.SpacedDaily"),
        "{}",
        text(&listed).0
    );
    std::fs::write(
        run.dir.path().join("kart.toml"),
        "[wohoo.SpacedDaily]\nn = 10\n",
    )
    .unwrap();
    run.fixture(&["wohoo.SpacedDaily", "--day", "2015-01-04"])
        .assert()
        .success();
    assert_eq!(run.output("spaced/2015-01-04.json"), 40);
    run.fixture(&["wohoo.SpacedDaily", "--day", "2015-01-05"])
        .env("KART_WOHOO_SPACED_DAILY__N", "100")
        .assert()
        .success();
    assert_eq!(run.output("spaced/2015-01-05.json"), 500);
    // A range over it.
    run.fixture(&[
        "RangeDaily",
        "--of",
        "wohoo.SpacedDaily",
        "--start",
        "2015-01-01",
        "--stop",
        "2015-01-08",
        "--now",
        "2015-02-01",
    ])
    .assert()
    .success();
    for day in 1..=7 {
        assert!(run
            .workspace()
            .join(format!("spaced/2015-01-0{day}.json"))
            .exists());
    }
}
