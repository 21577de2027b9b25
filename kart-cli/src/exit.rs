//! How the process ends: the exit-code table, the one-line failure, and the code a run's
//! report maps to.

use clap::error::{ContextKind, ContextValue};
use kart_core::config::Retcodes;
use kart_core::summary::{RunReport, TaskOutcome};
use kart_core::Error;

/// Exit codes (defaults; `[retcode]` in `kart.toml` changes those of a run). A crontab can
/// tell them apart.
pub mod codes {
    use kart_core::config::Retcodes;

    /// Every requested task is complete.
    pub const SUCCESS: u8 = 0;
    /// A task failed, so a requested task is not complete.
    pub const TASK_FAILED: u8 = Retcodes::DEFAULT.task_failed;
    /// Bad input: unknown task or parameter, bad value, bad config, unwritable workspace,
    /// unreachable Redis.
    pub const BAD_INPUT: u8 = Retcodes::DEFAULT.scheduling_error;
    /// A task never ran because its lock stayed held elsewhere.
    pub const LOCKED_ELSEWHERE: u8 = Retcodes::DEFAULT.locked_elsewhere;
    /// External data a requested task needs is missing (and nothing failed).
    pub const MISSING_DATA: u8 = Retcodes::DEFAULT.missing_data;
    /// Stopped by SIGINT or SIGTERM.
    pub const INTERRUPTED: u8 = Retcodes::DEFAULT.interrupted;
}

/// An error that ends the process: one line, an exit code.
pub(crate) struct Failure {
    pub(crate) message: String,
    pub(crate) code: u8,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            message: e.to_string(),
            code: codes::BAD_INPUT,
        }
    }
}

/// One line from clap's multi-line error, with its suggestion.
pub(crate) fn clap_failure(bin: &str, task: &str, e: clap::Error) -> Failure {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().filter(|l| !l.trim().is_empty());
    let mut message = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" names them on the next line.
    if message.ends_with(':') {
        if let Some(next) = lines.next() {
            message.push(' ');
            message.push_str(next.trim());
        }
    }
    let suggested = match e.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => Some(v.join("`, `")),
        _ => None,
    };
    if let Some(s) = suggested {
        message.push_str(&format!(" (did you mean `{s}`?)"));
    }
    message.push_str(&format!("; see `{bin} {task} --help`"));
    Failure {
        message,
        code: codes::BAD_INPUT,
    }
}

/// The exit code of a finished run. The most alarming cause wins: an interruption, a failure,
/// then a lock held elsewhere, then data that has not landed yet.
pub(crate) fn for_report(report: &RunReport, retcodes: &Retcodes) -> u8 {
    let any = |pred: fn(&TaskOutcome) -> bool| report.tasks.iter().any(|t| pred(&t.outcome));
    if report.interrupted {
        retcodes.interrupted
    } else if report.success() {
        codes::SUCCESS
    } else if any(|o| matches!(o, TaskOutcome::Failed(_))) {
        retcodes.task_failed
    } else if any(|o| matches!(o, TaskOutcome::LockedElsewhere(_))) {
        retcodes.locked_elsewhere
    } else if any(|o| matches!(o, TaskOutcome::MissingData(_))) {
        retcodes.missing_data
    } else {
        retcodes.task_failed
    }
}
