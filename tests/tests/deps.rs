//! `deps`: the dependency tree, DOT, SVG.

mod support;

use predicates::prelude::*;
use support::{text, Run};

#[test]
fn the_tree_marks_complete_and_pending_tasks() {
    let run = Run::new();
    run.reports(&["SomeReport", "--date", "2015-01-01"])
        .assert()
        .success();
    let out = run
        .reports(&["deps", "AllReports", "--date", "2015-01-01"])
        .assert()
        .success()
        .get_output()
        .clone();
    let tree = text(&out).0;
    assert!(
        tree.starts_with("[PENDING] AllReports(date=2015-01-01)\n"),
        "{tree}"
    );
    assert!(tree.contains("├── [complete] SomeReport(date=2015-01-01)\n│   └── [complete] DailySales(date=2015-01-01)\n"), "{tree}");
    assert!(
        tree.contains("└── [PENDING] FooBarBazReport(date=2015-01-01)\n"),
        "{tree}"
    );
    assert_eq!(run.events_of("started").len(), 2, "deps runs nothing");
}

#[test]
fn shared_sub_trees_are_shown_once() {
    let run = Run::new();
    let out = run
        .fixture(&["deps", "Diamond", "--n", "2"])
        .assert()
        .success()
        .get_output()
        .clone();
    let tree = text(&out).0;
    assert_eq!(tree.matches("Chain(n=1)").count(), 1, "{tree}");
    assert!(
        tree.contains("[PENDING] Chain(n=2) (requirements shown above)"),
        "{tree}"
    );
}

#[test]
fn dot_fills_complete_nodes_and_colours_failed_ones_from_the_events_file() {
    let run = Run::new();
    run.fixture(&["Mixed", "--n", "1"]).assert().code(1);
    let out = run
        .fixture(&["deps", "Mixed", "--n", "1", "--dot"])
        .assert()
        .success()
        .get_output()
        .clone();
    let dot = text(&out).0;
    assert!(dot.starts_with("digraph kart {"));
    let line = |label: &str| {
        dot.lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("{label} in {dot}"))
            .to_string()
    };
    assert!(
        line("label=\"Chain(n=1)\"").contains("fillcolor=\"#b7e1b5\""),
        "complete: filled"
    );
    assert!(
        line("label=\"Boom(n=1)\"").contains("#b00020"),
        "failed: red"
    );
    assert!(
        line("label=\"Mixed(n=1)\"").contains("#e6e6e6")
            && !line("label=\"Mixed(n=1)\"").contains("#b00020"),
        "a wrapper not run because of it: grey, not red"
    );
    assert_eq!(
        dot.matches(" -> n").count(),
        3,
        "edges between tasks: {dot}"
    );
    // The legend names the marks that appear.
    for word in ["complete", "failed", "not run"] {
        assert!(
            dot.contains(&format!("[label=\"{word}\"")),
            "{word} in the legend: {dot}"
        );
    }
}

#[test]
fn the_text_tree_marks_what_the_events_say_as_the_dot_does() {
    let run = Run::new();
    run.fixture(&["Mixed", "--n", "1"]).assert().code(1);
    let out = run
        .fixture(&["deps", "Mixed", "--n", "1"])
        .assert()
        .success()
        .get_output()
        .clone();
    let tree = text(&out).0;
    assert!(tree.starts_with("[NOT RUN] Mixed(n=1)\n"), "{tree}");
    assert!(tree.contains("├── [FAILED] Boom(n=1)\n"), "{tree}");
    assert!(tree.contains("└── [complete] Chain(n=1)"), "{tree}");
}

#[test]
fn a_corrupt_upstream_output_is_marked_corrupt_not_complete() {
    let run = Run::new();
    std::fs::create_dir_all(run.workspace().join("stats")).unwrap();
    std::fs::write(run.workspace().join("stats/3.json"), "{ not json").unwrap();
    run.fixture(&["StatsReport", "--n", "3"]).assert().code(1);
    let failed = run.events_of("failed");
    assert!(
        failed[0]["corrupt_input"]
            .as_str()
            .unwrap()
            .starts_with("Stats_3_"),
        "{failed:?}"
    );
    let deps = |extra: &[&str]| {
        let mut args = vec!["deps", "StatsReport", "--n", "3"];
        args.extend_from_slice(extra);
        let out = run.fixture(&args).assert().success().get_output().clone();
        text(&out).0
    };
    let tree = deps(&[]);
    assert!(
        tree.starts_with("[FAILED] StatsReport(n=3)\n└── [CORRUPT] Stats(n=3)\n"),
        "{tree}"
    );
    let dot = deps(&["--dot"]);
    let stats = dot
        .lines()
        .find(|l| l.contains("label=\"Stats(n=3)\""))
        .unwrap();
    assert!(
        stats.contains("#ffd591") && !stats.contains("#b7e1b5"),
        "corrupt: orange, not green: {stats}"
    );
    // Made again, it is complete again.
    std::fs::remove_file(run.workspace().join("stats/3.json")).unwrap();
    run.fixture(&["StatsReport", "--n", "3"]).assert().success();
    assert!(
        deps(&[]).starts_with("[complete] StatsReport(n=3)\n└── [complete] Stats(n=3)\n"),
        "{}",
        deps(&[])
    );
}

#[test]
fn families_fold_a_range_into_one_node_each_with_counts_and_a_legend() {
    let run = Run::new();
    for day in ["2015-01-01", "2015-01-02", "2015-01-03"] {
        run.reports(&["SomeReport", "--date", day])
            .assert()
            .success();
    }
    let range = [
        "RangeDaily",
        "--of",
        "AllReports",
        "--start",
        "2015-01-01",
        "--stop",
        "2015-01-11",
        "--days-back",
        "100000",
    ];
    let deps = |extra: &[&str]| {
        let mut args = vec!["deps"];
        args.extend_from_slice(&range);
        args.extend_from_slice(extra);
        let out = run.reports(&args).assert().success().get_output().clone();
        text(&out).0
    };
    let tree = deps(&["--families"]);
    assert!(
        tree.starts_with("RangeDaily: 1 pending\n└── AllReports: 10 pending\n"),
        "{tree}"
    );
    assert!(
        tree.contains("    ├── SomeReport: 3 complete, 7 pending\n    │   └── DailySales: 3 complete, 7 pending\n"),
        "{tree}"
    );
    assert!(
        tree.contains("Legend: complete = its output exists; pending = would run"),
        "{tree}"
    );
    assert!(!tree.contains("(date="), "no instances: {tree}");
    let dot = deps(&["--families", "--dot"]);
    assert_eq!(
        dot.matches("label=\"AllReports\\n10 pending\"").count(),
        1,
        "{dot}"
    );
    assert!(
        dot.contains("label=\"DailySales\\n3 complete, 7 pending\""),
        "{dot}"
    );
    assert!(dot.contains("subgraph cluster_legend"), "{dot}");
}

#[test]
fn svg_is_rendered_by_graphviz() {
    let run = Run::new();
    let svg = run.dir.path().join("graph.svg");
    run.reports(&[
        "deps",
        "AllReports",
        "--date",
        "2015-01-01",
        "--svg",
        svg.to_str().unwrap(),
    ])
    .assert()
    .success()
    .stdout(predicate::str::contains("wrote"));
    let content =
        std::fs::read_to_string(&svg).expect("install graphviz (apt-get install -y graphviz)");
    assert!(
        content.contains("<svg") && content.contains("AllReports(date=2015&#45;01&#45;01)"),
        "{content}"
    );
}

#[test]
fn without_graphviz_the_error_says_how_to_install_it() {
    let run = Run::new();
    let empty = tempfile::tempdir().unwrap();
    run.reports(&[
        "deps",
        "AllReports",
        "--date",
        "2015-01-01",
        "--svg",
        "g.svg",
    ])
    .env("PATH", empty.path())
    .assert()
    .code(2)
    .stderr(predicate::str::contains(
        "Graphviz `dot` not found: install it",
    ));
}

#[test]
fn external_data_is_marked_missing_in_the_tree_and_listed_as_external() {
    let run = Run::new();
    let out = run
        .fixture(&["deps", "DailyTotal", "--date", "2020-01-01"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("└── [MISSING external] RawCounts(date=2020-01-01)"),
        "{stdout}"
    );
    let listed = run.fixture(&["list"]).output().unwrap();
    assert!(text(&listed).0.contains("RawCounts (external)"));
}

/// The fixture on `ws` with `extra` flags and no events file.
fn fixture_on(ws: &std::path::Path, args: &[&str], extra: &[String]) -> std::process::Output {
    assert_cmd::Command::cargo_bin("fixture")
        .unwrap()
        .args(args)
        .args(extra)
        .arg("--workspace")
        .arg(ws)
        .env_remove("KART_CONFIG")
        .output()
        .unwrap()
}

/// Two processes fail `Boom` between them; a third, which wrote no events file, sees it in
/// the tree from what every worker shared.
fn the_tree_marks_what_other_workers_shared(extra: &[String]) {
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let out = fixture_on(&ws, &["Mixed", "--n", "1"], extra);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    let out = fixture_on(&ws, &["Chain", "--n", "3"], extra);
    assert!(out.status.success(), "{}", text(&out).1);

    let out = fixture_on(&ws, &["deps", "Mixed", "--n", "1"], extra);
    assert!(out.status.success(), "{}", text(&out).1);
    let tree = text(&out).0;
    assert!(tree.starts_with("[NOT RUN] Mixed(n=1)\n"), "{tree}");
    assert!(tree.contains("├── [FAILED] Boom(n=1)\n"), "{tree}");
    assert!(tree.contains("└── [complete] Chain(n=1)"), "{tree}");

    // Without the shared events, only what the workspace holds.
    let mut without = extra.to_vec();
    without.push("--no-shared-events".into());
    let tree = text(&fixture_on(&ws, &["deps", "Mixed", "--n", "1"], &without)).0;
    assert!(tree.starts_with("[PENDING] Mixed(n=1)\n"), "{tree}");
    assert!(tree.contains("├── [PENDING] Boom(n=1)\n"), "{tree}");
}

#[test]
fn without_an_events_file_the_tree_marks_what_every_worker_shared_in_the_workspace_log() {
    the_tree_marks_what_other_workers_shared(&[]);
}

#[test]
fn without_an_events_file_the_tree_marks_what_every_worker_shared_on_redis() {
    let redis = kart_tests::redis_server::RedisServer::start();
    the_tree_marks_what_other_workers_shared(&redis.flags());
}
