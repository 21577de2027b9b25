//! Messages to running tasks, sent from another process: through the workspace on one machine
//! and through a real redis-server.

mod support;

use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use kart_tests::redis_server::RedisServer;
use support::{text, Run};

fn spawn(run: &Run, args: &[&str], extra: &[String]) -> Child {
    run.spawn(args, extra)
}

/// The id of the first task of `family` that started.
fn started_id(run: &Run, family: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(e) = run
            .events_of("started")
            .into_iter()
            .find(|e| e["family"] == family)
        {
            return e["task_id"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "{family} did not start in 20 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `fixture message ...` from a separate process.
fn message(run: &Run, args: &[&str], extra: &[String]) -> Output {
    Command::new(assert_cmd::cargo::cargo_bin("fixture"))
        .arg("message")
        .args(args)
        .args(extra)
        .arg("--workspace")
        .arg(run.workspace())
        .env_remove("KART_CONFIG")
        .output()
        .unwrap()
}

fn say(run: &Run, id: &str, what: &str, extra: &[String]) -> String {
    let out = message(run, &[id, what], extra);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "message {what}: {stderr}");
    stdout.trim_end().to_string()
}

fn round_trip(backend: &[String]) {
    let run = Run::new();
    let child = spawn(&run, &["Listener", "--n", "7"], backend);
    let id = started_id(&run, "Listener");
    let listed = text(&message(&run, &["--list"], backend)).0;
    assert!(listed.contains(&id), "{listed}");
    assert!(listed.contains("Listener"), "{listed}");

    assert_eq!(say(&run, &id, "hello", backend), "unknown message");
    assert!(say(&run, &id, "status", backend).starts_with("round "));
    let bye = say(&run, &id, "terminate", backend);
    assert!(bye.starts_with("terminating 7 after "), "{bye}");

    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out).1);
    assert_eq!(run.output("listener/7.json"), serde_json::json!(["hello"]));
    let received: Vec<_> = run
        .events_of("message_received")
        .iter()
        .map(|e| e["content"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(received, ["hello", "status", "terminate"]);

    // Gone once it finished.
    let out = message(&run, &[&id, "hello"], backend);
    let stderr = text(&out).1;
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "task `{id}` is not running or does not accept messages"
        )),
        "{stderr}"
    );
    let listed = text(&message(&run, &["--list"], backend)).0;
    assert!(
        listed.contains("No running task accepts messages"),
        "{listed}"
    );
}

#[test]
fn a_message_round_trips_to_a_task_running_in_another_process_through_the_workspace() {
    round_trip(&[]);
}

#[test]
fn a_message_round_trips_to_a_task_running_in_another_process_through_redis() {
    let redis = RedisServer::start();
    round_trip(&redis.flags());
    // Nothing left behind in Redis.
    let mut c = redis.connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("kart:*:msg:*")
        .query(&mut c)
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
}

#[test]
fn a_task_that_does_not_read_gives_no_response_after_the_bound() {
    let run = Run::new();
    let child = spawn(&run, &["Deaf", "--millis", "3000"], &[]);
    let id = started_id(&run, "Deaf");
    let started = Instant::now();
    let out = message(&run, &[&id, "anyone?", "--wait", "300ms"], &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stdout.trim_end(), "no response within 300ms");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    // The task never read it.
    assert!(run.events_of("message_received").is_empty());
}

#[test]
fn a_task_without_accepts_messages_cannot_be_messaged() {
    let run = Run::new();
    let child = spawn(&run, &["Sleepy", "--n", "0", "--millis", "1500"], &[]);
    let id = started_id(&run, "Sleepy");
    let out = message(&run, &[&id, "hello"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("does not accept messages"));
    assert!(child.wait_with_output().unwrap().status.success());
}
