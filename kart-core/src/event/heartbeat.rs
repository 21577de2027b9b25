//! A worker's heartbeat: every few seconds while it runs, an event saying which host and
//! process it is and which tasks it runs, so a reader of the shared log knows who is alive.

use std::collections::BTreeMap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::{Event, EventKind, EventSink, Events};
use crate::resource::ResourceLimits;

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

/// Locks a heartbeat names one by one; past them it counts.
const LOCKS_NAMED: usize = 50;

/// What this process holds, as a heartbeat carries it: `locks` (its plain locks, the first
/// [`LOCKS_NAMED`] by key, and `locks_more`), `claims` (how many tasks it has claimed) and
/// `resources` (each resource's units held, with its limit).
fn holdings(event: Event, limits: &ResourceLimits) -> Event {
    let held = crate::lock::held();
    let mut resources: BTreeMap<&str, u32> =
        limits.configured().map(|(name, _)| (name, 0)).collect();
    let mut claims = 0;
    let mut locks = Vec::new();
    for h in &held {
        if let Some(name) = crate::keys::resource_of(&h.key) {
            *resources.entry(name).or_default() += 1;
        } else if crate::keys::is_claim(&h.key) {
            claims += 1;
        } else {
            locks.push(h);
        }
    }
    let more = locks.len().saturating_sub(LOCKS_NAMED);
    let locks: Vec<Value> = locks
        .into_iter()
        .take(LOCKS_NAMED)
        .map(|h| serde_json::json!({ "key": h.key, "fence": h.fence, "task_id": h.task }))
        .collect();
    let resources: Vec<Value> = resources
        .into_iter()
        .map(|(name, n)| serde_json::json!({ "name": name, "held": n, "limit": limits.get(name) }))
        .collect();
    event
        .with("locks", locks)
        .with("locks_more", more)
        .with("claims", claims)
        .with("resources", resources)
}

/// Sends `heartbeat` events until dropped.
pub struct Heartbeat {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// One `heartbeat` now and then every `every` to `to` (carrying `host`, `running`, and
    /// the locks, claims and resources held, against `limits`), watching `events` to see what
    /// starts and ends.
    pub fn start(
        events: &mut Events,
        to: Arc<dyn EventSink>,
        every: Duration,
        limits: ResourceLimits,
    ) -> Self {
        let running = Arc::new(Running::default());
        events.add(running.clone());
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("kart-heartbeat".into())
                .spawn(move || loop {
                    to.handle(&holdings(
                        Event::new(EventKind::Heartbeat)
                            .with("host", crate::host::name())
                            .with("every_ms", every.as_millis() as u64)
                            .with("running", running.snapshot()),
                        &limits,
                    ));
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
