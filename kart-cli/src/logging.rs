//! A run's logging: `tracing` lines to stderr, filtered by `-q`/`-v` or `RUST_LOG`; and what a
//! running task logs at `INFO` or above, whatever that filter, to the run's events as `log`
//! events of that task (so the shared log and the ui's task page have them).

use std::fmt::Write as _;
use std::io::IsTerminal;

use tracing::field::{Field, Visit};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

pub(crate) fn init(quiet: bool, verbose: u8) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        // Its own report of a failed write is an `eprintln!`, which panics on a closed stderr.
        .log_internal_errors(false)
        .with_filter(filter);
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(TaskLogs.with_filter(LevelFilter::INFO))
        .try_init();
}

/// Reports each line logged on a thread running a task as that task's `log` event.
struct TaskLogs;

impl<S: tracing::Subscriber> Layer<S> for TaskLogs {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut line = Line(String::new());
        event.record(&mut line);
        kart_core::task::current::log(event.metadata().level().as_str(), &line.0);
    }
}

/// The message, then the other fields as `name=value`.
struct Line(String);

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.0.insert_str(0, value),
            name => {
                let _ = write!(self.0, " {name}={value}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => self.0.insert_str(0, &format!("{value:?}")),
            name => {
                let _ = write!(self.0, " {name}={value:?}");
            }
        }
    }
}
