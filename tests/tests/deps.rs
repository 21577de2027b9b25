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
        line("label=\"Mixed(n=1)\"").contains("#b00020"),
        "not run because of it: red"
    );
    assert_eq!(dot.matches(" -> ").count(), 3);
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
