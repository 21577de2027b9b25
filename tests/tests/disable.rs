//! Luigi's disabling: a task failing often enough within a window is not tried again until the
//! disabling ends or `enable` lifts it; the history and the state live in the lock backend, so
//! every process sharing it (here: separate processes over one `redis-server`) sees them.

mod support;

use kart_tests::redis_server::RedisServer;
use support::{of_kind, spawn, text};

#[test]
fn a_task_failing_twice_within_the_window_is_disabled_for_every_process_until_enabled() {
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let mut extra: Vec<String> = redis.flags().to_vec();
    extra.extend(["--disable-failures", "2", "--disable-window", "1h"].map(String::from));
    let args = ["Boom", "--n", "7"];
    let run = |name: &str| spawn(&ws, name, &args, &extra).finish();

    // First failure: recorded, not disabled.
    let (out, events) = run("first");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out).1);
    assert_eq!(of_kind(&events, "started").len(), 1);
    assert!(of_kind(&events, "disabled").is_empty());

    // Second failure, in another process: now disabled.
    let (out, events) = run("second");
    assert_eq!(out.status.code(), Some(1));
    let disabled = of_kind(&events, "disabled");
    assert_eq!(disabled.len(), 1, "{events:?}");
    let reason = disabled[0]["reason"].as_str().unwrap();
    assert!(reason.contains("2 failures within 1h"), "{reason}");

    // Disabled: failed at once, not run.
    let (out, events) = run("third");
    assert_eq!(out.status.code(), Some(1));
    assert!(of_kind(&events, "started").is_empty(), "{events:?}");
    let failed = of_kind(&events, "failed");
    assert_eq!(failed[0]["disabled"], true);
    assert!(text(&out).0.contains("disabled until"), "{}", text(&out).0);

    // `enable` lifts it: the next run tries the task again.
    let flags = redis.flags();
    let enable: Vec<&str> = ["enable", "Boom", "--n", "7"]
        .into_iter()
        .chain(flags.iter().map(String::as_str))
        .collect();
    let out = support::fixture_in(&ws, &enable);
    assert!(out.status.success(), "{}", text(&out).1);
    assert!(
        text(&out).0.contains("is enabled again"),
        "{}",
        text(&out).0
    );
    let (_, events) = run("fourth");
    assert_eq!(of_kind(&events, "started").len(), 1);
    assert!(
        of_kind(&events, "disabled").is_empty(),
        "the failures were forgotten"
    );
}
