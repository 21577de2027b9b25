//! The task a worker thread runs now, so what the task logs (through `tracing`) reaches the
//! run's events as `log` events of that task: the shared log, and the ui's task page.

use std::cell::RefCell;

use crate::event::{Event, EventKind, Events};
use crate::task_id::TaskId;

struct Current {
    task_id: TaskId,
    family: &'static str,
    worker: String,
    events: Events,
    /// Set while a line is being reported: what reporting it logs is not reported again.
    reporting: bool,
}

thread_local! {
    static CURRENT: RefCell<Option<Current>> = const { RefCell::new(None) };
}

/// Marks this thread as running a task until dropped.
pub(crate) struct Running(());

impl Running {
    pub(crate) fn start(
        task_id: &TaskId,
        family: &'static str,
        worker: &str,
        events: &Events,
    ) -> Self {
        CURRENT.with(|c| {
            *c.borrow_mut() = Some(Current {
                task_id: task_id.clone(),
                family,
                worker: worker.to_string(),
                events: events.clone(),
                reporting: false,
            });
        });
        Running(())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        CURRENT.with(|c| c.borrow_mut().take());
    }
}

/// Reports a line the running task logged (`level`: `ERROR`, `WARN`, `INFO`, ...) as a `log`
/// event of that task. Nothing on a thread that runs no task (or is being torn down); returns
/// whether it reported.
pub fn log(level: &str, message: &str) -> bool {
    let taken = CURRENT.try_with(|c| {
        let mut c = c.borrow_mut();
        let current = c.as_mut().filter(|cur| !cur.reporting)?;
        current.reporting = true;
        Some((
            current.events.clone(),
            log_event(
                &current.task_id,
                current.family,
                &current.worker,
                level,
                message,
            ),
        ))
    });
    let Ok(Some((events, event))) = taken else {
        return false;
    };
    events.emit(event);
    let _ = CURRENT.try_with(|c| {
        if let Some(cur) = c.borrow_mut().as_mut() {
            cur.reporting = false;
        }
    });
    true
}

/// The `log` event of a line a task logged or its program wrote.
pub(crate) fn log_event(
    task_id: &TaskId,
    family: &'static str,
    worker: &str,
    level: &str,
    message: &str,
) -> Event {
    Event::new(EventKind::Log)
        .task(task_id, family)
        .worker(worker)
        .with("level", level)
        .with("message", message)
}
