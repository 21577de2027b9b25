//! The command line as a person first meets it: every command discoverable with `--help` and
//! `help <name>`, typos answered with suggestions, options accepted where people put them, and
//! mistakes named plainly.

mod support;

use support::{text, Run};

fn reports(run: &Run, args: &[&str]) -> std::process::Output {
    bare(run, "reports-example", args)
}

/// A binary with just these arguments (no `--workspace`, no `--events`).
fn bare(run: &Run, bin: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(assert_cmd::cargo::cargo_bin(bin))
        .current_dir(run.dir.path())
        .args(args)
        .env_remove("KART_CONFIG")
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn no_arguments_show_the_help_and_exit_2_and_it_lists_every_command() {
    let run = Run::new();
    let out = reports(&run, &[]);
    assert_eq!(out.status.code(), Some(2));
    let (stdout, _) = text(&out);
    for command in [
        "list",
        "deps",
        "show",
        "invalidate",
        "locks",
        "gc",
        "enable",
        "message",
    ] {
        assert!(
            stdout.contains(&format!("\n  {command} ")),
            "{command}: {stdout}"
        );
    }
    let out = reports(&run, &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out).0, stdout);
}

#[test]
fn every_command_and_task_has_help_and_help_name() {
    let run = Run::new();
    for (args, expect) in [
        (
            &["deps", "--help"][..],
            "Usage: reports-example deps <TASK>",
        ),
        (&["help", "deps"], "Usage: reports-example deps <TASK>"),
        (&["help", "show"], "Usage: reports-example show <TASK>"),
        (
            &["help", "invalidate"],
            "[--family FAMILY ...] [--downstream] [--dry-run]",
        ),
        (&["help", "enable"], "Usage: reports-example enable <TASK>"),
        (&["help", "gc"], "Usage: reports-example gc"),
        (&["gc", "--help"], "Usage: reports-example gc"),
        (&["help", "locks"], "Usage: reports-example locks"),
        (&["help", "AllReports"], "--date <DATE>"),
        (&["help", "deps", "AllReports"], "--dot"),
        (&["help"], "Tasks and commands"),
    ] {
        let out = reports(&run, args);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stdout.contains(expect), "{args:?}: {stdout}");
    }
}

#[test]
fn a_misspelt_command_gets_a_suggestion() {
    let run = Run::new();
    let out = reports(&run, &["lis"]);
    assert_eq!(out.status.code(), Some(2));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("unknown command or task `lis` (did you mean `list`?)"),
        "{stderr}"
    );
}

#[test]
fn run_options_may_come_before_the_task_name() {
    let run = Run::new();
    let out = reports(
        &run,
        &[
            "--workers",
            "2",
            "--workspace=ws",
            "-q",
            "AllReports",
            "--date",
            "2015-01-01",
        ],
    );
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(run
        .dir
        .path()
        .join("ws/reports/TPSReport/2015-01-01.json")
        .exists());
    let out = reports(
        &run,
        &[
            "--workspace",
            "ws",
            "deps",
            "AllReports",
            "--date",
            "2015-01-01",
        ],
    );
    assert!(
        text(&out).0.starts_with("[complete] AllReports"),
        "{}",
        text(&out).0
    );
}

#[test]
fn a_parameter_without_its_value_is_named() {
    let run = Run::new();
    let out = reports(&run, &["SomeReport", "--date", "--workspace", "ws"]);
    assert_eq!(out.status.code(), Some(2));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("missing value for `--date` (found the option `--workspace` after it)"),
        "{stderr}"
    );
}

#[test]
fn a_boolean_flag_alone_is_not_a_missing_value() {
    let run = Run::new();
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .current_dir(run.dir.path())
        .args([
            "RangeDaily",
            "--of",
            "Daily",
            "--start",
            "2015-01-01",
            "--stop",
            "2015-01-03",
        ])
        .args([
            "--reverse",
            "--now",
            "2020-01-01T00",
            "--dry-run",
            "--workspace",
            "ws",
        ])
        .env_remove("KART_CONFIG")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
}

#[test]
fn task_summaries_are_whole_first_sentences() {
    let run = Run::new();
    let (stdout, _) = text(&reports(&run, &["list"]));
    assert!(
        stdout.contains("AllReports (wrapper)\n    Every report of one day.\n"),
        "{stdout}"
    );
    let (stdout, _) = text(&reports(&run, &["--help"]));
    assert!(stdout.contains("Every report of one day.\n"), "{stdout}");
}

#[test]
fn the_summary_says_was_for_one_and_were_for_several() {
    let run = Run::new();
    let args = ["SomeReport", "--date", "2015-01-01", "--workspace", "ws"];
    reports(&run, &args);
    let (stdout, _) = text(&reports(&run, &args));
    assert!(stdout.contains("* 1 was already complete:"), "{stdout}");
    assert!(stdout.contains("Scheduled 1 task of which:"), "{stdout}");
}

#[test]
fn a_misspelt_config_section_is_warned_about() {
    let run = Run::new();
    std::fs::write(run.dir.path().join("kart.toml"), "[cor]\nworkers = 2\n").unwrap();
    let out = reports(
        &run,
        &["SomeReport", "--date", "2015-01-01", "--workspace", "ws"],
    );
    assert!(out.status.success());
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("section [cor] is neither a kart section nor a task of this pipeline, and is ignored (did you mean [core]?)"),
        "{stderr}"
    );
}

#[test]
fn a_workspace_that_is_a_file_is_named_as_such() {
    let run = Run::new();
    let out = reports(
        &run,
        &[
            "SomeReport",
            "--date",
            "2015-01-01",
            "--workspace",
            "/dev/null",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("invalid workspace: /dev/null is not a directory"),
        "{stderr}"
    );
}

#[test]
fn bash_completion_knows_commands_tasks_and_their_parameters() {
    let run = Run::new();
    let out = bare(&run, "fixture", &["completions", "bash"]);
    assert!(out.status.success());
    let script = run.dir.path().join("fixture.bash");
    std::fs::write(&script, &out.stdout).unwrap();
    // What bash offers after `fixture <words>` and a tab.
    let complete = |words: &[&str]| -> Vec<String> {
        let words: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let line = format!(
            "source '{}'; COMP_WORDS=(fixture {}); COMP_CWORD={}; _fixture fixture \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            script.display(),
            words.join(" "),
            words.len()
        );
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(line)
            .output()
            .expect("bash");
        assert!(out.status.success(), "{}", text(&out).1);
        text(&out).0.lines().map(str::to_string).collect()
    };
    let tasks = complete(&["Sleepy"]);
    assert!(
        tasks.contains(&"SleepyFanin".to_string()) && tasks.contains(&"Sleepy".to_string()),
        "{tasks:?}"
    );
    assert!(complete(&["comp"]).contains(&"completions".to_string()));
    let params = complete(&["SleepyFanin", "--mi"]);
    assert_eq!(params, ["--millis"], "a task's parameter");
    let nested = complete(&["deps", "SleepyFanin", "--fam"]);
    assert_eq!(nested, ["--families"], "deps options after a task");
    assert_eq!(complete(&["completions", "f"]), ["fish"]);
}

#[test]
fn zsh_and_fish_completions_are_generated_and_a_missing_shell_is_one_line() {
    let run = Run::new();
    for (shell, first) in [("zsh", "#compdef fixture"), ("fish", "")] {
        let out = bare(&run, "fixture", &["completions", shell]);
        assert!(out.status.success());
        let script = text(&out).0;
        assert!(script.starts_with(first), "{shell}");
        assert!(
            script.contains("SleepyFanin") && script.contains("millis"),
            "{shell}"
        );
    }
    let out = bare(&run, "fixture", &["completions"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out).1,
        "error: the following required arguments were not provided: <SHELL>; see `fixture completions --help`\n"
    );
    let out = bare(&run, "fixture", &["help", "completions"]);
    assert!(text(&out).0.contains("Usage: fixture completions <SHELL>"));
}
