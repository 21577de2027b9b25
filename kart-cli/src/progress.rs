//! Seeing a run while it goes: a live bar on a terminal (settled / total, done, failed, not
//! run, the families running, rate and ETA), each failure once as it happens, and plain
//! `tracing` lines for logs (`-v`). All are sinks of the run's event stream.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use kart_core::event::SCHEDULER;
use kart_core::summary::{RunReport, TaskOutcome};
use kart_core::{Event, EventKind, EventSink};

use crate::out::tell;

/// Where a pending task stands, as its events tell.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Standing {
    Running,
    Done,
    Failed,
    NotRun,
    /// Failed an attempt and waits for the next.
    Retrying,
}

#[derive(Default)]
struct Tally {
    tasks: HashMap<String, Standing>,
    /// How many tasks stand where, kept as they move: the bar is redrawn on every event, and
    /// counting the map each time would make a run of n tasks cost n².
    counts: [usize; 5],
    /// Running tasks' families, by task id.
    running: BTreeMap<String, String>,
}

impl Tally {
    fn count(&self, standing: Standing) -> usize {
        self.counts[standing as usize]
    }

    /// Task `id` now stands at `standing`.
    fn set(&mut self, id: &str, standing: Standing) {
        match self.tasks.get_mut(id) {
            Some(old) => {
                self.counts[*old as usize] -= 1;
                *old = standing;
            }
            None => {
                self.tasks.insert(id.to_string(), standing);
            }
        }
        self.counts[standing as usize] += 1;
    }
}

/// The live bar, on stderr.
pub struct Bar {
    bar: ProgressBar,
    tally: Mutex<Tally>,
}

impl Bar {
    /// A bar for `total` pending tasks.
    pub fn new(total: usize) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} settled  {rate}  {elapsed} (ETA {eta})  {wide_msg}",
            )
            .expect("valid template")
            .with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.1} tasks/s", state.per_sec());
                },
            )
            .progress_chars("█▉▊▋▌▍▎▏ "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar {
            bar,
            tally: Mutex::new(Tally::default()),
        }
    }

    /// Prints a line above the bar.
    pub fn println(&self, line: &str) {
        self.bar.suspend(|| tell!("{line}"));
    }

    fn refresh(&self, tally: &Tally) {
        let (done, failed, not_run) = (
            tally.count(Standing::Done),
            tally.count(Standing::Failed),
            tally.count(Standing::NotRun),
        );
        self.bar.set_position((done + failed + not_run) as u64);
        let mut parts = vec![format!("{done} done")];
        if failed > 0 {
            parts.push(format!("{failed} failed"));
        }
        if not_run > 0 {
            parts.push(format!("{not_run} not run"));
        }
        let mut names: Vec<&str> = tally.running.values().map(String::as_str).collect();
        names.sort_unstable();
        names.dedup();
        if !names.is_empty() {
            let more = match names.len() {
                n if n > 3 => format!(" +{}", n - 3),
                _ => String::new(),
            };
            parts.push(format!(
                "running: {}{more}",
                names[..names.len().min(3)].join(", ")
            ));
        }
        self.bar.set_message(parts.join(", "));
    }

    /// Replaces the bar with one line saying what happened to the tasks that were to run.
    pub fn finish(&self, report: &RunReport) {
        let elapsed = self.bar.elapsed();
        self.bar.finish_and_clear();
        tell!("{}", final_line(report, elapsed));
    }
}

/// `201 tasks to run: 30 done, 171 not run; interrupted after 4.2s (7.1 tasks/s)`.
fn final_line(report: &RunReport, elapsed: Duration) -> String {
    let count = |f: fn(&TaskOutcome) -> bool| report.count(f);
    let done = count(|o| matches!(o, TaskOutcome::Succeeded | TaskOutcome::CompletedElsewhere));
    let failed = count(|o| {
        matches!(
            o,
            TaskOutcome::Failed(_) | TaskOutcome::LockedElsewhere(_) | TaskOutcome::MissingData(_)
        )
    });
    let not_run = count(|o| matches!(o, TaskOutcome::Skipped(_)));
    let total = done + failed + not_run;
    let mut parts = vec![format!("{done} done")];
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if not_run > 0 {
        parts.push(format!("{not_run} not run"));
    }
    let how = if report.interrupted {
        "; interrupted after"
    } else {
        " in"
    };
    let secs = elapsed.as_secs_f64();
    format!(
        "{total} task{} to run: {}{how} {} ({:.1} tasks/s)",
        if total == 1 { "" } else { "s" },
        parts.join(", "),
        kart_core::Duration::from_millis(elapsed.as_millis() as u64),
        if secs > 0.0 { done as f64 / secs } else { 0.0 },
    )
}

impl EventSink for Bar {
    fn handle(&self, event: &Event) {
        // What the graph decided before the run is not part of the bar's total.
        if event.worker.as_deref() == Some(SCHEDULER) {
            return;
        }
        let Some(id) = &event.task_id else { return };
        let standing = match event.event {
            EventKind::Started => Standing::Running,
            EventKind::Succeeded | EventKind::AlreadyCommitted | EventKind::AlreadyComplete => {
                Standing::Done
            }
            EventKind::Failed | EventKind::MissingData => Standing::Failed,
            EventKind::Retried => Standing::Retrying,
            EventKind::Skipped => Standing::NotRun,
            _ => return,
        };
        let mut tally = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        if standing == Standing::Running {
            tally
                .running
                .insert(id.clone(), event.family.clone().unwrap_or_default());
        } else {
            tally.running.remove(id);
        }
        tally.set(id, standing);
        self.refresh(&tally);
    }
}

/// Each task's failure, once, as it happens (`error: Family(params) failed: ...`): a failed
/// attempt that will be retried is not a failure yet.
pub struct FailureLines {
    retry_count: u32,
    /// Set once the run starts (failures found while the graph is built come before it).
    bar: std::sync::OnceLock<std::sync::Arc<Bar>>,
    told: Mutex<HashSet<String>>,
}

impl FailureLines {
    /// Failures of a run retrying each task `retry_count` times.
    pub fn new(retry_count: u32) -> Self {
        FailureLines {
            retry_count,
            bar: std::sync::OnceLock::new(),
            told: Mutex::new(HashSet::new()),
        }
    }

    /// From now on, lines go above `bar`.
    pub fn above(&self, bar: std::sync::Arc<Bar>) {
        let _ = self.bar.set(bar);
    }
}

impl EventSink for FailureLines {
    fn handle(&self, e: &Event) {
        let flag = |k: &str| e.get(k).and_then(|v| v.as_bool()) == Some(true);
        // An attempt the scheduler will retry is not a failure yet.
        let attempt = e.get("attempt").and_then(|v| v.as_u64()).unwrap_or(0);
        let last = attempt > u64::from(self.retry_count)
            || attempt == 0
            || ["disabled", "elsewhere", "locked_elsewhere"]
                .into_iter()
                .any(flag);
        let line = match e.event {
            EventKind::Failed | EventKind::MissingData if !last => return,
            EventKind::MissingData => format!(
                ": missing external data: {} does not exist",
                e.get("output").and_then(|v| v.as_str()).unwrap_or("")
            ),
            EventKind::Failed => {
                let error = e.get("error").and_then(|v| v.as_str()).unwrap_or("");
                let verb = if flag("locked_elsewhere") {
                    "never ran"
                } else {
                    "failed"
                };
                format!(" {verb}: {}", error.lines().next().unwrap_or(""))
            }
            EventKind::Disabled => format!(
                " is disabled: {}",
                e.get("reason").and_then(|v| v.as_str()).unwrap_or("")
            ),
            _ => return,
        };
        let Some(id) = &e.task_id else { return };
        if !self
            .told
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone())
        {
            return;
        }
        let line = format!(
            "{} {}{line}",
            crate::out::error_label(),
            e.display().unwrap_or_else(|| id.clone())
        );
        match self.bar.get() {
            Some(bar) => bar.println(&line),
            None => tell!("{line}"),
        }
    }
}

/// Plain lines through `tracing`, for logs.
pub struct LogLines;

impl EventSink for LogLines {
    fn handle(&self, e: &Event) {
        let task = e.task_id.as_deref().unwrap_or("");
        match e.event {
            EventKind::Started => tracing::info!("started {task}"),
            EventKind::Succeeded => tracing::info!("succeeded {task}"),
            EventKind::AlreadyCommitted => {
                tracing::info!("ran {task}, but another worker committed it first; kept theirs")
            }
            EventKind::Failed => tracing::info!(
                "attempt {} of {task} failed: {}",
                e.get("attempt").and_then(|v| v.as_u64()).unwrap_or(0),
                e.get("error").and_then(|v| v.as_str()).unwrap_or("")
            ),
            EventKind::Retried => tracing::info!("will retry {task}"),
            EventKind::Skipped => tracing::info!(
                "skipped {task}: {}",
                e.get("reason").and_then(|v| v.as_str()).unwrap_or("")
            ),
            EventKind::LockLost => tracing::warn!(
                "lost lock {}",
                e.get("key").and_then(|v| v.as_str()).unwrap_or("")
            ),
            _ => {}
        }
    }
}

/// What each range checked and decided, on stderr before anything runs; nothing inside its
/// window is a warning.
pub struct RangeLines;

impl EventSink for RangeLines {
    fn handle(&self, e: &Event) {
        if e.event != EventKind::RangeChecked {
            return;
        }
        let Some(message) = e.get("message").and_then(|v| v.as_str()) else {
            return;
        };
        if e.get("warning").and_then(|v| v.as_bool()) == Some(true) {
            tell!("{} {message}", crate::out::warning_label());
        } else {
            tell!("{message}");
        }
    }
}
