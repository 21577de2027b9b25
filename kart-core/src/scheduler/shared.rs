//! What the workers of one run share: the graph's state under one lock, the environment, what
//! an attempt holds, and how an attempt ended.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::graph::Node;
use super::options::RunOptions;
use crate::event::{Event, EventKind, Events};
use crate::lock::{LockGuard, Locks};
use crate::resource::HeldResources;
use crate::task::{AnyTask, TaskId};
use crate::workspace::Workspace;

pub(super) struct Shared {
    pub(super) nodes: Vec<Node>,
    pub(super) ready: VecDeque<usize>,
    pub(super) retries: BinaryHeap<Reverse<(Instant, usize)>>,
    pub(super) running: usize,
    /// Tasks running now, watched for timeouts and cancellation.
    pub(super) watched: HashMap<usize, Watched>,
    /// Every worker has returned: the monitor stops.
    pub(super) done: bool,
    /// Ready tasks whose resources were busy; tried again when some are given back.
    pub(super) resource_waiting: Vec<usize>,
    /// Tasks whose current wait was announced with a `resource_wait` event.
    pub(super) announced: std::collections::HashSet<usize>,
    /// Ready tasks claimed elsewhere, by claim key: ready again once the claim is given up.
    pub(super) parked: HashMap<String, usize>,
    /// Claims parked since the watcher last looked, with when their leases end.
    pub(super) to_watch: Vec<(String, Option<Instant>)>,
    /// A watcher thread makes parked tasks ready; without one, idle workers do.
    pub(super) watcher: bool,
}

impl Shared {
    /// Makes `i` ready: after every ready task of its priority or higher, so the highest run
    /// first and equal ones in the order they became ready.
    pub(super) fn push_ready(&mut self, i: usize) {
        let p = self.nodes[i].priority;
        let at = self.ready.partition_point(|&j| self.nodes[j].priority >= p);
        self.ready.insert(at, i);
    }
}

/// A running task as the monitor sees it.
pub(super) struct Watched {
    pub(super) cancel: Arc<AtomicBool>,
    pub(super) timed_out: Arc<AtomicBool>,
    pub(super) deadline: Option<Instant>,
}

/// How often the monitor looks at running tasks; idle workers look at the shutdown switch at
/// least every four ticks.
pub(super) const TICK: Duration = Duration::from_millis(25);

/// What the environment of a run offers a worker.
pub(super) struct Env<'a> {
    pub(super) ws: &'a Workspace,
    pub(super) events: &'a Events,
    pub(super) locks: Option<&'a Locks>,
    /// Where tasks are claimed, when claims are on (the run's locks, without lock events).
    pub(super) claims: Option<&'a Locks>,
    pub(super) opts: &'a RunOptions,
    /// Wakes the timeout monitor and the claim watcher: a claim to watch, the run's end.
    /// Apart from the workers' condvar, so a task settling does not wake them each time.
    pub(super) watchers: &'a Condvar,
}

/// Resources taken for an attempt: none needed, held, or the backend's error.
pub(super) type Resources = std::result::Result<Option<HeldResources>, String>;

/// What an attempt holds from the worker: a unique job's scheduling lock, its stop switch,
/// its resources.
pub(super) struct Holdings<'a> {
    /// Given back after the attempt: `until_executed` holds it across retries.
    pub(super) schedule_guard: &'a mut Option<LockGuard>,
    pub(super) stop: &'a Stop,
    pub(super) resources: Option<&'a Mutex<HeldResources>>,
    /// The task's claim: taken by the attempt if not held yet (and `claimable`), given back.
    pub(super) claim: &'a mut Option<LockGuard>,
    /// False for a batch's representative: its members hold the claims.
    pub(super) claimable: bool,
    /// The fence of the claim held elsewhere this run waited for, if any.
    pub(super) waited_for: Option<u64>,
}

/// What stops a running task: its cancel flag, set on timeout or shutdown.
pub(super) struct Stop {
    pub(super) cancel: Arc<AtomicBool>,
    pub(super) timed_out: Arc<AtomicBool>,
    pub(super) timeout: Option<Duration>,
}

/// How one attempt ended.
#[derive(Clone)]
pub(super) enum Attempt {
    /// Ran and committed.
    Ran,
    /// Found complete before running (another worker made it).
    FoundComplete,
    /// Ran, but another worker committed the output first; theirs is kept.
    AlreadyCommitted,
    /// Not run: rejected as a duplicate unique job, or the run stopped before it started.
    NotRun(String),
    /// Held elsewhere: try again later; `counts` says whether it uses up a retry.
    TryLater {
        error: String,
        counts: bool,
    },
    Failed(String),
    /// External data not there (yet).
    Missing(String),
    /// Cancelled by a shutdown.
    Interrupted(String),
    /// Claimed by a worker in another process: wait for it.
    ClaimedElsewhere(Box<Claimed>),
    /// The worker in another process whose claim this run waited for gave the task up as
    /// failed, with this error.
    FailedElsewhere(String),
    /// Disabled after repeated failures: not run, not retried.
    Disabled(String),
}

/// A claim held elsewhere, as found.
#[derive(Clone)]
pub(super) struct Claimed {
    pub(super) key: String,
    /// The holder and its lease, if it still held the claim when looked at.
    pub(super) info: Option<crate::lock::LockInfo>,
}

/// The `failed` event of one attempt.
pub(super) fn failed_event(
    task: &AnyTask,
    id: &TaskId,
    worker: &str,
    attempt: u32,
    error: &str,
) -> Event {
    Event::new(EventKind::Failed)
        .task(id, task.family())
        .params(task.params_json())
        .worker(worker)
        .with("error", error)
        .with("attempt", attempt)
}

/// The text of a caught panic.
pub(super) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}
