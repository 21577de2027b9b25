//! `[notifications]`: a command run once per failed task, and once when the requested task
//! succeeded, each with the details as JSON on stdin. A notifier that fails or hangs is
//! logged, never fatal.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kart_core::config::Notifications;
use kart_core::summary::{RunReport, TaskOutcome, TaskReport};
use kart_core::{Event, EventKind, EventSink};
use serde_json::{json, Value};

/// Longest a notifier may run.
const NOTIFIER_TIMEOUT: Duration = Duration::from_secs(30);

/// Lines of a failed task's log a notifier gets.
const LOG_LINES: usize = 20;

/// The last lines each task logged (its `log` events), kept while it runs and after it
/// fails, for the failure's notifier.
#[derive(Default)]
pub struct LogTails {
    tails: Mutex<HashMap<String, VecDeque<Value>>>,
}

impl EventSink for LogTails {
    fn handle(&self, event: &Event) {
        let Some(id) = &event.task_id else { return };
        let tails = || self.tails.lock().unwrap_or_else(|p| p.into_inner());
        match event.event {
            EventKind::Log => {
                let mut tails = tails();
                let tail = tails.entry(id.clone()).or_default();
                if tail.len() == LOG_LINES {
                    tail.pop_front();
                }
                tail.push_back(json!({
                    "ts": event.ts,
                    "level": event.get("level"),
                    "message": event.get("message"),
                }));
            }
            // A new attempt logs afresh; a task that made it needs no lines.
            EventKind::Started | EventKind::Succeeded | EventKind::AlreadyCommitted => {
                tails().remove(id);
            }
            _ => {}
        }
    }
}

impl LogTails {
    fn of(&self, id: &str) -> Vec<Value> {
        let tails = self.tails.lock().unwrap_or_else(|p| p.into_inner());
        tails
            .get(id)
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }
}

/// Where the run's events are, for a notifier to read more of them.
pub struct Sources<'a> {
    /// The `--events` file, if any.
    pub events_file: Option<&'a str>,
    /// The run's id in the shared events, if it shared them (`events --run RUN`).
    pub run: Option<&'a str>,
    /// What failed tasks logged last.
    pub logs: Option<&'a LogTails>,
}

fn payload(task: &TaskReport, outcome: &str, error: Option<&str>, from: &Sources) -> Value {
    let holder = kart_core::lock::Holder::this_process(None);
    let log = match (error, from.logs) {
        (Some(_), Some(logs)) => logs.of(task.id.as_str()),
        _ => Vec::new(),
    };
    json!({
        "task_id": task.id.as_str(),
        "family": task.family,
        "params": task.task.params_json(),
        "outcome": outcome,
        "error": error,
        "attempts": task.attempts,
        "host": holder.host,
        "pid": holder.pid,
        "events_file": from.events_file,
        "run": from.run,
        "log": log,
    })
}

/// Runs the configured notifiers for this report.
pub fn notify(config: &Notifications, report: &RunReport, from: &Sources) {
    if let Some(cmd) = &config.on_failure {
        for task in &report.tasks {
            if let TaskOutcome::Failed(e) | TaskOutcome::LockedElsewhere(e) = &task.outcome {
                run(cmd, &payload(task, "failed", Some(e), from));
            }
        }
    }
    if let (Some(cmd), true) = (&config.on_success, report.success() && !report.interrupted) {
        for task in report.roots() {
            run(cmd, &payload(task, "complete", None, from));
        }
    }
}

fn run(cmd: &str, payload: &Value) {
    let child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => return tracing::warn!("notifier `{cmd}` could not start: {e}"),
    };
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(payload.to_string().as_bytes());
    }
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return,
            Ok(Some(status)) => return tracing::warn!("notifier `{cmd}` failed ({status})"),
            Ok(None) if started.elapsed() > NOTIFIER_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return tracing::warn!(
                    "notifier `{cmd}` took longer than {}; killed",
                    kart_core::Duration(NOTIFIER_TIMEOUT)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return tracing::warn!("notifier `{cmd}`: {e}"),
        }
    }
}
