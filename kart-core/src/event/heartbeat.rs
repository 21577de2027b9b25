//! A worker's heartbeat: every few seconds while it runs, an event saying which host and
//! process it is and which tasks it runs, so a reader of the shared log knows who is alive.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::{Event, EventKind, EventSink, Events};

/// The tasks this process runs now, from its own events.
#[derive(Default)]
pub struct Running {
    tasks: Mutex<BTreeMap<String, (String, String)>>,
}

impl Running {
    /// Task ids with their family and worker, by id.
    fn snapshot(&self) -> Vec<Value> {
        let tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        tasks
            .iter()
            .map(|(id, (family, worker))| {
                serde_json::json!({ "task_id": id, "family": family, "worker": worker })
            })
            .collect()
    }
}

impl EventSink for Running {
    /// Locks only for the events that change what runs: every event passes here.
    fn handle(&self, event: &Event) {
        let Some(id) = &event.task_id else { return };
        let tasks = || self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        match event.event {
            EventKind::Started => {
                tasks().insert(
                    id.clone(),
                    (
                        event.family.clone().unwrap_or_default(),
                        event.worker.clone().unwrap_or_default(),
                    ),
                );
            }
            EventKind::Succeeded | EventKind::Failed | EventKind::AlreadyCommitted => {
                tasks().remove(id);
            }
            _ => {}
        }
    }
}

/// Sends `heartbeat` events until dropped.
pub struct Heartbeat {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// One `heartbeat` now and then every `every` to `to` (carrying `host` and `running`),
    /// watching `events` to see what starts and ends.
    pub fn start(events: &mut Events, to: Arc<dyn EventSink>, every: Duration) -> Self {
        let running = Arc::new(Running::default());
        events.add(running.clone());
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("kart-heartbeat".into())
                .spawn(move || loop {
                    to.handle(
                        &Event::new(EventKind::Heartbeat)
                            .with("host", crate::host::name())
                            .with("every_ms", every.as_millis() as u64)
                            .with("running", running.snapshot()),
                    );
                    let (lock, wake) = &*stop;
                    let stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                    let (stopped, _) = wake
                        .wait_timeout_while(stopped, every, |s| !*s)
                        .unwrap_or_else(|p| p.into_inner());
                    if *stopped {
                        return;
                    }
                })
                .expect("the heartbeat thread starts")
        };
        Heartbeat {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
