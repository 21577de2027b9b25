//! The one event stream of a run. The scheduler, range tools and locks all report here; sinks
//! (the JSON-lines file of `--events`, the log shared with every worker, the execution
//! summary, progress) consume it.

mod file;
mod heartbeat;
pub mod shared;

pub use file::JsonLinesSink;
pub use heartbeat::Heartbeat;

use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::task_id::TaskId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventKind {
    /// A task was found pending and added to the run.
    Scheduled,
    /// A task was found complete and will not run.
    AlreadyComplete,
    /// A task started running.
    Started,
    /// A task finished and its output is committed.
    Succeeded,
    /// A task ran, but another worker committed its output first; that output is kept and
    /// the task counts as complete (carries `output`).
    AlreadyCommitted,
    /// A complete output vanished while the run still needed it (`gc`), and its task ran again
    /// for the one reading it (carries `for` and `reason`).
    Recomputed,
    /// A task failed (carries `error` and `attempt`).
    Failed,
    /// A failed task will be retried (carries `attempt` and `delay_secs`).
    Retried,
    /// A task will not run because a requirement failed (carries `reason`).
    Skipped,
    /// A task failed often enough to be disabled (carries `reason`); runs fail it at once
    /// until the time it names, or until `enable` lifts it.
    Disabled,
    /// A range's delay: instances from the first gap to the window's end.
    RangeDelay,
    /// How many instances of a range's window are complete.
    RangeCompleteCount,
    /// Which fraction of a range's window is complete.
    RangeCompleteFraction,
    /// What a range checked and decided, before anything runs (carries `of`, `checked`,
    /// `missing`, `required`, `assumed_complete`, `task_limit`, and `message`: the plain
    /// explanation, a `warning` when nothing lay inside the checked window; for a calendar,
    /// `param`, `unit` (`day`, `hour`, `month`, or `instance` for minutes), `checked_from`,
    /// `checked_to` and `missing_at`).
    RangeChecked,
    /// A lock was acquired.
    LockAcquired,
    /// A lock is held elsewhere and this process waits.
    LockWaiting,
    /// A lock is held elsewhere and the task fails fast.
    LockedElsewhere,
    /// A ready task is claimed by a worker in another process, which runs it; this run waits
    /// for it (carries `key`, `holder`, `host`, `pid`).
    ClaimedElsewhere,
    /// A held lock was lost (expired or deleted).
    LockLost,
    /// A lock was released.
    LockReleased,
    /// A ready task waits for resources (carries `resources`).
    ResourceWait,
    /// External data a task requires is missing (carries `output`).
    MissingData,
    /// A running task took a message from its inbox (carries `content`).
    MessageReceived,
    /// A ready task runs as part of a batch (carries `into`: the id of the task that runs).
    BatchedInto,
    /// A batch's representative runs for several tasks (carries `members`).
    BatchRunning,
    /// Requests a run sent to an object-storage workspace (`head`, `get`, `put`, `list`,
    /// `delete`).
    StoreRequests,
    /// A task defined its own event.
    Custom,
    /// A process started a run (carries `root`, the task it was asked for, `host`, `workers`).
    /// In the shared log only, as are the two below.
    RunStarted,
    /// A process's run built its graph: at family level, each family's `instances` and how
    /// many were `complete`, and `edges` (`family` requires `requires`, over `edges` instance
    /// edges).
    RunGraph,
    /// A process's run ended (carries `success` and `seconds`).
    RunFinished,
    /// A line a running task logged through `tracing`, or a line a program it ran through
    /// `RunContext::command` wrote (carries `level`: `INFO`, `WARN`, ..., or `STDOUT` /
    /// `STDERR`, and `message`).
    Log,
    /// A running process is alive, every `[events] heartbeat`. It carries `host`, `every_ms`,
    /// `running` (its tasks with their family and worker), `locks` (its plain locks with key,
    /// fence and task; `locks_more` past the first 50), `claims` (how many tasks it claimed)
    /// and `resources` (per resource, the units it holds and the limit).
    Heartbeat,
}

/// The `worker` of what is decided while the graph is built, before any worker runs
/// (`scheduled`, `already_complete`, the range events).
pub const SCHEDULER: &str = "scheduler";

/// One event, as written to the JSON-lines file.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// RFC 3339 UTC time with milliseconds.
    pub ts: String,
    /// What happened.
    pub event: EventKind,
    /// The task concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    /// Its family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Its parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
    /// The worker (thread) concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// This process.
    pub pid: u32,
    /// Event-specific fields (`error`, `attempt`, `key`, `value`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// This process's id, asked of the kernel once.
fn process_id() -> u32 {
    static PID: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *PID.get_or_init(std::process::id)
}

impl Event {
    /// A new event of this kind, stamped now.
    pub fn new(event: EventKind) -> Self {
        Event {
            // RFC 3339 in UTC with milliseconds, written without parsing a strftime pattern:
            // a run stamps several events per task.
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            event,
            task_id: None,
            family: None,
            params: None,
            worker: None,
            pid: process_id(),
            extra: Map::new(),
        }
    }
    /// Sets the task and family.
    pub fn task(mut self, id: &TaskId, family: &str) -> Self {
        self.task_id = Some(id.to_string());
        self.family = Some(family.to_string());
        self
    }
    /// Sets the parameters.
    pub fn params(mut self, params: Value) -> Self {
        self.params = Some(params);
        self
    }
    /// Sets the worker.
    pub fn worker(mut self, worker: &str) -> Self {
        self.worker = Some(worker.to_string());
        self
    }
    /// Adds a field.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }
    /// The task as `Family(params)`, as the summary names it.
    pub fn display(&self) -> Option<String> {
        let family = self.family.as_deref()?;
        let params = self.params.as_ref().and_then(Value::as_object);
        Some(crate::task_id::display_task(
            family,
            params.into_iter().flatten().map(|(k, v)| (k.as_str(), v)),
        ))
    }
    /// A field added with [`Event::with`].
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.extra.get(key)
    }
}

/// Something that consumes events.
pub trait EventSink: Send + Sync {
    /// Called for every event, in order, from any thread.
    fn handle(&self, event: &Event);
}

/// The run's event stream: every event goes to every sink.
#[derive(Clone, Default)]
pub struct Events {
    sinks: Vec<Arc<dyn EventSink>>,
}

impl Events {
    /// A stream with no sinks.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a sink.
    pub fn add(&mut self, sink: Arc<dyn EventSink>) {
        self.sinks.push(sink);
    }
    /// Whether any sink listens (callers can skip building events otherwise).
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    /// Sends an event to every sink.
    pub fn emit(&self, event: Event) {
        tracing::debug!(event = ?event.event, task = event.task_id.as_deref().unwrap_or(""), "event");
        for sink in &self.sinks {
            sink.handle(&event);
        }
    }
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Events({} sinks)", self.sinks.len())
    }
}
