//! `[notifications]`: a command run once per failed task, and once when the requested task
//! succeeded, each with the details as JSON on stdin. A notifier that fails or hangs is
//! logged, never fatal.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kart_core::config::Notifications;
use kart_core::summary::{RunReport, TaskOutcome, TaskReport};
use serde_json::{json, Value};

/// Longest a notifier may run.
const NOTIFIER_TIMEOUT: Duration = Duration::from_secs(30);

fn payload(task: &TaskReport, outcome: &str, error: Option<&str>, events: Option<&str>) -> Value {
    let holder = kart_core::lock::Holder::this_process(None);
    json!({
        "task_id": task.id.as_str(),
        "family": task.family,
        "params": task.task.params_json(),
        "outcome": outcome,
        "error": error,
        "attempts": task.attempts,
        "host": holder.host,
        "pid": holder.pid,
        "events_file": events,
    })
}

/// Runs the configured notifiers for this report.
pub fn notify(config: &Notifications, report: &RunReport, events: Option<&str>) {
    if let Some(cmd) = &config.on_failure {
        for task in &report.tasks {
            if let TaskOutcome::Failed(e) | TaskOutcome::LockedElsewhere(e) = &task.outcome {
                run(cmd, &payload(task, "failed", Some(e), events));
            }
        }
    }
    if let (Some(cmd), true) = (&config.on_success, report.success() && !report.interrupted) {
        for task in report.roots() {
            run(cmd, &payload(task, "complete", None, events));
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
