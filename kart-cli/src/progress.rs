//! Seeing a run while it goes: a live bar on a terminal (done / total, running tasks, failures,
//! elapsed, ETA), plain `tracing` lines otherwise (`-v` shows them; nothing is drawn into
//! logs or CI output). Both are sinks of the run's event stream.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use kart_core::{Event, EventKind, EventSink};

/// The live bar, on stderr.
pub struct Bar {
    bar: ProgressBar,
    running: Mutex<BTreeMap<String, &'static str>>,
    failures: AtomicUsize,
}

fn family(event: &Event) -> String {
    event.family.clone().unwrap_or_default()
}

impl Bar {
    /// A bar for `total` pending tasks.
    pub fn new(total: usize) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30.cyan/blue} {pos}/{len} tasks  {elapsed} (ETA {eta})  {msg}",
            )
            .expect("valid template")
            .progress_chars("█▉▊▋▌▍▎▏ "),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar {
            bar,
            running: Mutex::new(BTreeMap::new()),
            failures: AtomicUsize::new(0),
        }
    }

    fn refresh(&self) {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let mut names: Vec<&str> = running.values().copied().collect();
        names.dedup();
        let failures = self.failures.load(Ordering::Relaxed);
        let failed = if failures == 0 {
            String::new()
        } else {
            format!("{failures} failed  ")
        };
        let shown: Vec<&str> = names.iter().take(3).copied().collect();
        let more = if names.len() > 3 {
            format!(" +{}", names.len() - 3)
        } else {
            String::new()
        };
        let running = if shown.is_empty() {
            String::new()
        } else {
            format!("running: {}{more}", shown.join(", "))
        };
        self.bar.set_message(format!("{failed}{running}"));
    }

    /// Replaces the bar with one final line.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
        let failures = self.failures.load(Ordering::Relaxed);
        crate::out::tell!(
            "{}/{} tasks done in {}{}",
            self.bar.position(),
            self.bar.length().unwrap_or(0),
            kart_core::Duration::from_millis(self.bar.elapsed().as_millis() as u64),
            if failures == 0 {
                String::new()
            } else {
                format!(", {failures} failed attempt(s)")
            }
        );
    }
}

impl EventSink for Bar {
    fn handle(&self, event: &Event) {
        let id = event.task_id.clone().unwrap_or_default();
        match event.event {
            EventKind::Started => {
                let name: &'static str = Box::leak(family(event).into_boxed_str());
                self.running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, name);
            }
            EventKind::Succeeded | EventKind::AlreadyCommitted => {
                self.running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                self.bar.inc(1);
            }
            EventKind::Failed => {
                self.running
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                self.failures.fetch_add(1, Ordering::Relaxed);
            }
            // Settled without running here.
            EventKind::AlreadyComplete if event.worker.is_some() => self.bar.inc(1),
            EventKind::Skipped => self.bar.inc(1),
            _ => return,
        }
        self.refresh();
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
            EventKind::Failed => tracing::warn!(
                "failed {task}: {}",
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
