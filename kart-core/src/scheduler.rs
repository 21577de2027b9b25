//! The local scheduler: builds the dependency graph from the requested tasks (checking each
//! task's completeness once), then runs pending tasks in dependency order on worker threads.
//!
//! Cost per task is a hash-map insert, one completeness check and O(edges) bookkeeping: no
//! process per task, no rescans of the graph. Several processes (on several machines, with
//! Redis) can run the same graph: `#[run_with_lock]` tasks run once, wherever.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::event::{Event, EventKind, Events};
use crate::lock::{LockGuard, Locks};
use crate::message::Mailboxes;
use crate::resource::{HeldResources, ResourceLimits};
use crate::shutdown::Shutdown;
use crate::summary::{RunReport, TaskOutcome, TaskReport};
use crate::task::{AnyTask, GraphContext, OnConflict, RunContext, TaskId, UniquePhase};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads.
    pub workers: usize,
    /// Retries of a failed task.
    pub retry_count: u32,
    /// Delay before each retry.
    pub retry_delay: Duration,
    /// Keep retrying tasks locked elsewhere until they complete, without counting those tries
    /// against `retry_count`.
    pub keep_alive: bool,
    /// A `#[run_with_lock]` task whose lock is held elsewhere fails fast (and is retried)
    /// instead of waiting for it.
    pub fail_on_collision: bool,
    /// Default run timeout of tasks without their own (`[worker] task_timeout`).
    pub task_timeout: Option<Duration>,
    /// Stops the run early (SIGINT/SIGTERM on the command line).
    pub shutdown: Shutdown,
    /// Resource limits (`[resources]`, `--resource NAME=N`); unknown resources have limit 1.
    pub resource_limits: ResourceLimits,
    /// Where messages to running tasks travel; default: the workspace (one machine).
    pub mailboxes: Option<Mailboxes>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            workers: 1,
            retry_count: 0,
            retry_delay: Duration::from_secs(10),
            keep_alive: false,
            fail_on_collision: false,
            task_timeout: None,
            shutdown: Shutdown::default(),
            resource_limits: ResourceLimits::default(),
            mailboxes: None,
        }
    }
}

impl From<&Settings> for RunOptions {
    fn from(s: &Settings) -> Self {
        RunOptions {
            workers: s.workers,
            retry_count: s.retry_count,
            retry_delay: s.retry_delay.as_std(),
            keep_alive: s.keep_alive,
            fail_on_collision: s.redis_fail_on_collision,
            task_timeout: s.task_timeout.map(|d| d.as_std()),
            shutdown: Shutdown::default(),
            resource_limits: {
                let mut limits = ResourceLimits::default();
                limits.set_lease(s.resource_lease.as_std());
                limits
            },
            mailboxes: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    /// Found complete when the graph was built.
    AlreadyComplete,
    /// Waiting for requirements or a worker.
    Pending,
    Running,
    /// Failed; a retry is scheduled.
    RetryWaiting,
    Done,
    /// Found complete when about to run: another worker made it.
    CompletedElsewhere,
    Failed(String),
    /// Never ran: its run lock stayed held elsewhere through every retry.
    LockedOut(String),
    /// External data that was still missing at its last check.
    Missing(String),
    /// Not run because a requirement failed, or rejected as a duplicate.
    Skipped(String),
}

struct Node {
    task: AnyTask,
    id: TaskId,
    deps: Vec<usize>,
    dependents: Vec<usize>,
    /// Requirements not yet done.
    remaining: usize,
    attempts: u32,
    state: State,
    /// A unique-job lock taken when the task was scheduled (`until_executing`/`until_executed`).
    schedule_guard: Option<LockGuard>,
    /// The batched run this task was part of, if any.
    batched_into: Option<TaskId>,
}

/// The dependency graph of one run.
pub struct Graph {
    nodes: Vec<Node>,
    roots: Vec<usize>,
    /// Pending nodes in an order where every requirement comes first.
    order: Vec<usize>,
    /// The run was stopped while the graph was built: it is partial, and nothing may run.
    interrupted: bool,
}

impl Graph {
    /// Builds the graph of `roots`, checking each task's completeness once. Complete tasks are
    /// not expanded (their requirements are not needed); a wrapper is complete when all its
    /// requirements are. Unique jobs locked from scheduling take their locks here.
    pub fn build(
        roots: &[AnyTask],
        ws: &Workspace,
        events: &Events,
        locks: Option<&Locks>,
    ) -> Result<Self> {
        Self::build_until(roots, ws, events, locks, &Shutdown::default())
    }

    /// [`build`](Self::build), stopping early when `shutdown` is stopping: the graph is then
    /// partial and [`interrupted`](Self::interrupted), and a run of it starts nothing.
    pub fn build_until(
        roots: &[AnyTask],
        ws: &Workspace,
        events: &Events,
        locks: Option<&Locks>,
        shutdown: &Shutdown,
    ) -> Result<Self> {
        let mut nodes: Vec<Node> = Vec::new();
        let mut index: HashMap<TaskId, usize> = HashMap::new();
        let mut queue = VecDeque::new();
        let mut add =
            |task: &AnyTask, nodes: &mut Vec<Node>, queue: &mut VecDeque<usize>| -> usize {
                let id = task.id();
                *index.entry(id.clone()).or_insert_with(|| {
                    nodes.push(Node {
                        task: task.clone(),
                        id,
                        deps: Vec::new(),
                        dependents: Vec::new(),
                        remaining: 0,
                        attempts: 0,
                        state: State::Pending,
                        schedule_guard: None,
                        batched_into: None,
                    });
                    queue.push_back(nodes.len() - 1);
                    nodes.len() - 1
                })
            };
        let root_ids: Vec<usize> = roots
            .iter()
            .map(|t| add(t, &mut nodes, &mut queue))
            .collect();

        let mut interrupted = false;
        while let Some(i) = queue.pop_front() {
            crate::failpoint::hit("graph-build");
            if shutdown.is_stopping() {
                interrupted = true;
                break;
            }
            let task = nodes[i].task.clone();
            if !task.is_wrapper() {
                match task.output_exists(ws) {
                    Ok(true) => {
                        nodes[i].state = State::AlreadyComplete;
                        continue;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        nodes[i].state = State::Failed(e.to_string());
                        continue;
                    }
                }
            }
            let requires = match task.requires_in(&GraphContext {
                workspace: ws,
                events,
            }) {
                Ok(r) => r,
                Err(e) => {
                    nodes[i].state = State::Failed(e.to_string());
                    continue;
                }
            };
            for req in requires {
                let j = add(&req, &mut nodes, &mut queue);
                if !nodes[i].deps.contains(&j) {
                    nodes[i].deps.push(j);
                    nodes[j].dependents.push(i);
                }
            }
        }

        if interrupted {
            // Partial: requirements are missing, so no completeness is decided from them.
            return Ok(Graph {
                nodes,
                roots: root_ids,
                order: Vec::new(),
                interrupted,
            });
        }
        let order = topological_order(&nodes)?;
        // Wrappers whose requirements are all complete are complete; `order` visits
        // requirements first, so nested wrappers resolve in one pass.
        for &i in &order {
            let node = &nodes[i];
            if node.task.is_wrapper()
                && node.state == State::Pending
                && node
                    .deps
                    .iter()
                    .all(|&d| nodes[d].state == State::AlreadyComplete)
            {
                nodes[i].state = State::AlreadyComplete;
            }
        }
        let mut graph = Graph {
            order: order
                .into_iter()
                .filter(|&i| nodes[i].state == State::Pending)
                .collect(),
            nodes,
            roots: root_ids,
            interrupted,
        };
        for i in 0..graph.nodes.len() {
            let node = &graph.nodes[i];
            let event = match &node.state {
                State::AlreadyComplete => Event::new(EventKind::AlreadyComplete),
                State::Pending => Event::new(EventKind::Scheduled),
                State::Failed(error) => Event::new(EventKind::Failed)
                    .with("error", error.as_str())
                    .with("attempt", 0),
                _ => continue,
            };
            events.emit(
                event
                    .task(&node.id, node.task.family())
                    .params(node.task.params_json()),
            );
            let remaining = node
                .deps
                .iter()
                .filter(|&&d| graph.nodes[d].state != State::AlreadyComplete)
                .count();
            graph.nodes[i].remaining = remaining;
        }
        graph.take_schedule_locks(locks, events)?;
        // Tasks whose completeness check failed take their dependents down with them.
        let ended: Vec<usize> = (0..graph.nodes.len())
            .filter(|&i| matches!(graph.nodes[i].state, State::Failed(_) | State::Skipped(_)))
            .collect();
        for i in ended {
            skip_dependents(&mut graph.nodes, i, events);
        }
        Ok(graph)
    }

    /// Unique jobs locked `until_executing` or `until_executed` take their lock when scheduled;
    /// a conflict rejects (skips) or raises (fails) them.
    fn take_schedule_locks(&mut self, locks: Option<&Locks>, events: &Events) -> Result<()> {
        for &i in &self.order {
            let node = &mut self.nodes[i];
            let Some(lock) = node.task.run_lock() else {
                continue;
            };
            let Some((phase, on_conflict)) = lock.unique else {
                continue;
            };
            if phase == UniquePhase::WhileExecuting || node.state != State::Pending {
                continue;
            }
            let locks = locks.ok_or_else(|| no_lock_backend(&node.id))?;
            let key = node.task.run_lock_key().expect("run_lock is set");
            match locks
                .lock(key.as_str())
                .ttl(lock.ttl())
                .for_task(&node.id, node.task.family())
                .try_acquire()?
            {
                Some(guard) => node.schedule_guard = Some(guard),
                None => {
                    let holder = locks.holder_of(&key);
                    let why = format!(
                        "unique job: an identical {} holds lock `{key}` ({holder})",
                        node.task.family()
                    );
                    let family = node.task.family();
                    events.emit(
                        Event::new(EventKind::LockedElsewhere)
                            .task(&node.id, family)
                            .with("key", key.as_str())
                            .with("holder", holder.as_str()),
                    );
                    let (state, event) = match on_conflict {
                        OnConflict::Raise => (
                            State::Failed(why.clone()),
                            Event::new(EventKind::Failed).with("error", why.as_str()),
                        ),
                        _ => {
                            let reason = format!("rejected: {why}");
                            (
                                State::Skipped(reason.clone()),
                                Event::new(EventKind::Skipped).with("reason", reason),
                            )
                        }
                    };
                    events.emit(event.task(&node.id, family).params(node.task.params_json()));
                    node.state = state;
                }
            }
        }
        Ok(())
    }

    /// Pending tasks in the order they would run (requirements first): `Family(params)`.
    pub fn plan(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|&&i| self.nodes[i].state == State::Pending)
            .map(|&i| self.nodes[i].task.display())
            .collect()
    }

    /// Whether building was stopped early (SIGINT/SIGTERM): the graph is partial.
    pub fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// Number of tasks in the graph.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the graph is empty.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

fn no_lock_backend(id: &TaskId) -> Error {
    Error::Lock {
        backend: "none".into(),
        message: format!("{id} uses #[run_with_lock] but the run has no lock backend"),
    }
}

/// Kahn's algorithm over the whole graph; a leftover node means a cycle, which is reported.
fn topological_order(nodes: &[Node]) -> Result<Vec<usize>> {
    let mut indegree: Vec<usize> = nodes.iter().map(|n| n.deps.len()).collect();
    let mut queue: VecDeque<usize> = (0..nodes.len()).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &d in &nodes[i].dependents {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                queue.push_back(d);
            }
        }
    }
    if order.len() < nodes.len() {
        // Walk requirements from a node left over until one repeats: that is a cycle.
        let start = (0..nodes.len())
            .find(|&i| indegree[i] > 0)
            .expect("a node is left");
        let mut path = vec![start];
        let mut cur = start;
        loop {
            cur = *nodes[cur]
                .deps
                .iter()
                .find(|&&d| indegree[d] > 0)
                .expect("cycle continues");
            if let Some(pos) = path.iter().position(|&p| p == cur) {
                let names: Vec<String> = path[pos..]
                    .iter()
                    .chain([&cur])
                    .map(|&i| nodes[i].id.to_string())
                    .collect();
                return Err(Error::Cycle(names.join(" requires ")));
            }
            path.push(cur);
        }
    }
    Ok(order)
}

fn skip_dependents(nodes: &mut [Node], failed: usize, events: &Events) {
    let mut stack = vec![failed];
    while let Some(i) = stack.pop() {
        for k in 0..nodes[i].dependents.len() {
            let d = nodes[i].dependents[k];
            if nodes[d].state == State::Pending {
                let reason = match nodes[failed].state {
                    State::Missing(_) => format!("external data {} is missing", nodes[failed].id),
                    _ => format!("requirement {} did not complete", nodes[failed].id),
                };
                events.emit(
                    Event::new(EventKind::Skipped)
                        .task(&nodes[d].id, nodes[d].task.family())
                        .params(nodes[d].task.params_json())
                        .with("reason", reason.as_str()),
                );
                nodes[d].state = State::Skipped(reason);
                nodes[d].schedule_guard = None;
                stack.push(d);
            }
        }
    }
}

struct Shared {
    nodes: Vec<Node>,
    ready: VecDeque<usize>,
    retries: BinaryHeap<Reverse<(Instant, usize)>>,
    running: usize,
    /// Tasks running now, watched for timeouts and cancellation.
    watched: HashMap<usize, Watched>,
    /// Every worker has returned: the monitor stops.
    done: bool,
    /// Ready tasks whose resources were busy; tried again when some are given back.
    resource_waiting: Vec<usize>,
    /// Tasks whose current wait was announced with a `resource_wait` event.
    announced: std::collections::HashSet<usize>,
}

/// A running task as the monitor sees it.
struct Watched {
    cancel: Arc<AtomicBool>,
    timed_out: Arc<AtomicBool>,
    deadline: Option<Instant>,
}

/// How often the monitor looks at running tasks; idle workers look at the shutdown switch at
/// least every four ticks.
const TICK: Duration = Duration::from_millis(25);

/// What the environment of a run offers a worker.
struct Env<'a> {
    ws: &'a Workspace,
    events: &'a Events,
    locks: Option<&'a Locks>,
    opts: &'a RunOptions,
}

/// Builds and runs `tasks` with no event sinks: the programmatic entry point.
pub fn build(tasks: Vec<AnyTask>, ws: &Workspace, opts: &RunOptions) -> Result<RunReport> {
    let events = Events::new();
    let graph = Graph::build(&tasks, ws, &events, None)?;
    Ok(run(graph, ws, &events, None, opts))
}

/// Runs the graph to the end and reports what happened.
pub fn run(
    graph: Graph,
    ws: &Workspace,
    events: &Events,
    locks: Option<&Locks>,
    opts: &RunOptions,
) -> RunReport {
    let Graph {
        nodes,
        roots,
        order,
        interrupted,
    } = graph;
    if interrupted {
        // A partial graph: requirements may be missing from it, so nothing runs.
        let mut report = report(nodes, &roots, true);
        report.interrupted = true;
        return report;
    }
    let mut nodes = nodes;
    // A task needing more of a resource than its limit would wait forever: it fails now.
    for &i in &order {
        if nodes[i].state != State::Pending {
            continue;
        }
        if let Some(why) = opts.resource_limits.impossible(&nodes[i].task.resources()) {
            events.emit(
                Event::new(EventKind::Failed)
                    .task(&nodes[i].id, nodes[i].task.family())
                    .params(nodes[i].task.params_json())
                    .with("error", why.as_str())
                    .with("attempt", 0),
            );
            nodes[i].state = State::Failed(why);
            skip_dependents(&mut nodes, i, events);
        }
    }
    let ready: VecDeque<usize> = order
        .iter()
        .copied()
        .filter(|&i| nodes[i].remaining == 0 && nodes[i].state == State::Pending)
        .collect();
    // More workers than pending tasks would only idle.
    let workers = opts.workers.clamp(1, order.len().max(1));
    let shared = Mutex::new(Shared {
        nodes,
        ready,
        retries: BinaryHeap::new(),
        running: 0,
        watched: HashMap::new(),
        done: false,
        resource_waiting: Vec::new(),
        announced: std::collections::HashSet::new(),
    });
    let wake = Condvar::new();
    let env = Env {
        ws,
        events,
        locks,
        opts,
    };
    std::thread::scope(|scope| {
        let monitor = std::thread::Builder::new()
            .name("kart-monitor".into())
            .spawn_scoped(scope, || monitor(&shared, opts));
        if let Err(e) = monitor {
            tracing::warn!(
                "cannot start the timeout monitor ({e}): task timeouts are not enforced"
            );
        }
        let mut handles = Vec::with_capacity(workers);
        for w in 0..workers {
            let (shared, wake, env) = (&shared, &wake, &env);
            let name = format!("worker-{}", w + 1);
            let spawned = std::thread::Builder::new()
                .name(format!("kart-{name}"))
                .spawn_scoped(scope, move || {
                    let _exit = WorkerExit(wake);
                    worker_loop(&name, shared, wake, env);
                });
            match spawned {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // The machine cannot give more threads: run with those it gave.
                    tracing::warn!(
                        "could start only {} of {workers} worker threads ({e}); running with those",
                        handles.len()
                    );
                    break;
                }
            }
        }
        for handle in handles {
            // A thread can die before it works (std panics when it cannot map the new
            // thread's signal stack); the others, or this thread below, do its share.
            if let Err(panic) = handle.join() {
                tracing::warn!("a worker thread died: {}", panic_message(&*panic));
            }
        }
        // Whatever no worker could take (none started, or all died), this thread finishes.
        worker_loop("worker-0", &shared, &wake, &env);
        shared.lock().unwrap_or_else(|p| p.into_inner()).done = true;
    });
    let shared = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    let interrupted = opts.shutdown.is_stopping();
    let mut report = report(shared.nodes, &roots, interrupted);
    report.interrupted = interrupted;
    report
}

/// Wakes the other workers when one ends, even by a panic, so they look again at once.
struct WorkerExit<'a>(&'a Condvar);

impl Drop for WorkerExit<'_> {
    fn drop(&mut self) {
        self.0.notify_all();
    }
}

/// Cancels running tasks past their timeout, and all of them when the run is cancelled.
fn monitor(shared: &Mutex<Shared>, opts: &RunOptions) {
    loop {
        std::thread::sleep(TICK);
        let g = shared.lock().unwrap_or_else(|p| p.into_inner());
        if g.done {
            return;
        }
        let now = Instant::now();
        let cancelling = opts.shutdown.is_cancelling();
        for w in g.watched.values() {
            if w.deadline.is_some_and(|d| now >= d) && !w.timed_out.swap(true, Ordering::SeqCst) {
                w.cancel.store(true, Ordering::SeqCst);
            }
            if cancelling {
                w.cancel.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// Several ready tasks of one family that run as one (Luigi's `batch_method`).
struct Batch {
    /// The graph nodes it stands for; the first is the one the worker took.
    members: Vec<usize>,
    /// Their tasks, in the same order.
    tasks: Vec<AnyTask>,
    /// The task that runs: batch parameters combined.
    task: AnyTask,
}

/// Gathers the ready tasks that can run in one batch with `i` (same family, equal non-batch
/// parameters, at most `max_batch_size`), taking them off the ready queue.
/// A batch function that panics fails every member with the panic message: `Err(members,
/// message)`.
fn form_batch(
    g: &mut Shared,
    i: usize,
) -> std::result::Result<Option<Batch>, (Vec<usize>, String)> {
    let Some(key) = g.nodes[i].task.batch_key() else {
        return Ok(None);
    };
    let family = g.nodes[i].task.family();
    let max = g.nodes[i].task.max_batch_size().unwrap_or(usize::MAX);
    let mut members = vec![i];
    let mut k = 0;
    while k < g.ready.len() && members.len() < max {
        let task = &g.nodes[g.ready[k]].task;
        if task.family() == family && task.batch_key().as_deref() == Some(key.as_str()) {
            members.extend(g.ready.remove(k));
        } else {
            k += 1;
        }
    }
    if members.len() == 1 {
        return Ok(None);
    }
    let tasks: Vec<AnyTask> = members.iter().map(|&m| g.nodes[m].task.clone()).collect();
    // The batch function is the user's code.
    let combined = std::panic::catch_unwind(AssertUnwindSafe(|| g.nodes[i].task.combine(&tasks)));
    match combined {
        Ok(Some(task)) => Ok(Some(Batch {
            members,
            tasks,
            task,
        })),
        Ok(None) => {
            // Not combinable after all: everyone runs alone.
            for &m in members[1..].iter().rev() {
                g.ready.push_front(m);
            }
            Ok(None)
        }
        Err(panic) => Err((
            members,
            format!("its batch function panicked: {}", panic_message(&*panic)),
        )),
    }
}

/// The `failed` event of one attempt.
fn failed_event(task: &AnyTask, id: &TaskId, worker: &str, attempt: u32, error: &str) -> Event {
    Event::new(EventKind::Failed)
        .task(id, task.family())
        .params(task.params_json())
        .worker(worker)
        .with("error", error)
        .with("attempt", attempt)
}

/// The text of a caught panic.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Takes the first ready task (or batch) whose resources can be had now, with them; tasks
/// whose resources are busy wait aside (one `resource_wait` event each) until units come back.
/// A batch takes only its running representative's resources.
fn take_ready(
    g: &mut Shared,
    worker: &str,
    env: &Env<'_>,
) -> Option<(usize, Resources, Option<Batch>)> {
    while let Some(i) = g.ready.pop_front() {
        let batch = match form_batch(g, i) {
            Ok(batch) => batch,
            Err((members, error)) => {
                for m in members {
                    g.nodes[m].attempts += 1;
                    let node = &g.nodes[m];
                    let (task, id, attempt) = (node.task.clone(), node.id.clone(), node.attempts);
                    env.events
                        .emit(failed_event(&task, &id, worker, attempt, &error));
                    settle(
                        g,
                        m,
                        &task,
                        &id,
                        attempt,
                        Attempt::Failed(error.clone()),
                        worker,
                        env,
                    );
                }
                continue;
            }
        };
        let needs = match &batch {
            Some(b) => b.task.resources(),
            None => g.nodes[i].task.resources(),
        };
        if needs.is_empty() {
            return Some((i, Ok(None), batch));
        }
        let node = &g.nodes[i];
        let acquired = match env.locks {
            Some(locks) => HeldResources::try_acquire(
                locks,
                &env.opts.resource_limits,
                &needs,
                (&node.id, node.task.family()),
            ),
            None => Err(Error::Lock {
                backend: "none".into(),
                message: format!(
                    "{} needs resources but the run has no lock backend",
                    node.id
                ),
            }),
        };
        match acquired {
            Ok(Some(held)) => {
                g.announced.remove(&i);
                return Some((i, Ok(Some(held)), batch));
            }
            Ok(None) => {
                // The others may run (or batch) without this one meanwhile.
                for &m in batch.iter().flat_map(|b| b.members[1..].iter()).rev() {
                    g.ready.push_front(m);
                }
                if g.announced.insert(i) {
                    let names: Vec<&str> = needs.iter().map(|(n, _)| n.as_str()).collect();
                    env.events.emit(
                        Event::new(EventKind::ResourceWait)
                            .task(&node.id, node.task.family())
                            .with("resources", names.join(",")),
                    );
                }
                g.resource_waiting.push(i);
            }
            // The backend failed: the attempt fails with it (and is retried as usual).
            Err(e) => return Some((i, Err(e.to_string()), batch)),
        }
    }
    None
}

/// Resources taken for an attempt: none needed, held, or the backend's error.
type Resources = std::result::Result<Option<HeldResources>, String>;

/// What an attempt holds from the worker: a unique job's scheduling lock, its stop switch,
/// its resources.
struct Holdings<'a> {
    /// Given back after the attempt: `until_executed` holds it across retries.
    schedule_guard: &'a mut Option<LockGuard>,
    stop: &'a Stop,
    resources: Option<&'a Mutex<HeldResources>>,
}

/// What stops a running task: its cancel flag, set on timeout or shutdown.
struct Stop {
    cancel: Arc<AtomicBool>,
    timed_out: Arc<AtomicBool>,
    timeout: Option<Duration>,
}

/// How one attempt ended.
#[derive(Clone)]
enum Attempt {
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
}

fn worker_loop(name: &str, shared: &Mutex<Shared>, wake: &Condvar, env: &Env<'_>) {
    loop {
        let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
        let i = loop {
            if env.opts.shutdown.is_stopping() {
                // Start nothing new; running tasks finish on their workers.
                return;
            }
            if let Some(taken) = take_ready(&mut g, name, env) {
                break taken;
            }
            let now = Instant::now();
            if let Some(&Reverse((due, i))) = g.retries.peek() {
                if due <= now {
                    g.retries.pop();
                    g.ready.push_front(i);
                    continue;
                }
            }
            if g.running == 0 && g.retries.is_empty() && g.resource_waiting.is_empty() {
                // Nothing runs and nothing is queued: no task can become ready any more.
                wake.notify_all();
                return;
            }
            // Timed waits, so a shutdown is noticed without anyone notifying.
            let wait = g
                .retries
                .peek()
                .map_or(TICK * 4, |&Reverse((due, _))| (due - now).min(TICK * 4));
            g = wake
                .wait_timeout(g, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            // Units may have been given back by another process: look again.
            let waiting = std::mem::take(&mut g.resource_waiting);
            g.ready.extend(waiting);
        };
        let (i, held, batch) = i;
        g.running += 1;
        let members = batch
            .as_ref()
            .map_or_else(|| vec![i], |b| b.members.clone());
        for &m in &members {
            g.nodes[m].state = State::Running;
            g.nodes[m].attempts += 1;
        }
        let node = &mut g.nodes[i];
        let (task, id, attempt) = match &batch {
            Some(b) => (b.task.clone(), b.task.id(), node.attempts),
            None => (node.task.clone(), node.id.clone(), node.attempts),
        };
        let mut schedule_guard = node.schedule_guard.take();
        if batch.is_some() {
            announce_batch(&g.nodes, &members, &task, &id, name, env.events);
        }
        let timeout = task.timeout().or(env.opts.task_timeout);
        let watched = Watched {
            cancel: Arc::new(AtomicBool::new(false)),
            timed_out: Arc::new(AtomicBool::new(false)),
            deadline: timeout.map(|t| Instant::now() + t),
        };
        let (cancel, timed_out) = (watched.cancel.clone(), watched.timed_out.clone());
        g.watched.insert(i, watched);
        drop(g);

        let stop = Stop {
            cancel,
            timed_out,
            timeout,
        };
        // Whatever panics out here (the task's own panics are caught closer) fails this
        // attempt: the worker must come back to settle it, or the others would wait forever.
        let outcomes = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let outcome = match held {
                Ok(held) => {
                    let held = held.map(Mutex::new);
                    attempt_task(
                        name,
                        &task,
                        &id,
                        attempt,
                        Holdings {
                            schedule_guard: &mut schedule_guard,
                            stop: &stop,
                            resources: held.as_ref(),
                        },
                        env,
                    )
                }
                Err(error) => {
                    let error = format!("cannot take resources: {error}");
                    env.events
                        .emit(failed_event(&task, &id, name, attempt, &error));
                    Attempt::Failed(error)
                }
            };
            // A batch's outputs: each member gets the representative's output.
            match &batch {
                Some(b) => settle_batch(b, outcome, name, attempt, env),
                None => vec![(i, outcome)],
            }
        }))
        .unwrap_or_else(|panic| {
            let error = format!("kart panicked running it: {}", panic_message(&*panic));
            env.events
                .emit(failed_event(&task, &id, name, attempt, &error));
            members
                .iter()
                .map(|&m| (m, Attempt::Failed(error.clone())))
                .collect()
        });
        let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
        g.running -= 1;
        // Units came back: tasks waiting for them may start.
        let waiting = std::mem::take(&mut g.resource_waiting);
        for w in waiting.into_iter().rev() {
            g.ready.push_front(w);
        }
        g.watched.remove(&i);
        // Kept for a retry; `settle` lets it go once the task is done with.
        g.nodes[i].schedule_guard = schedule_guard;
        for (m, outcome) in outcomes {
            let node = &mut g.nodes[m];
            let (task, member_id, attempt) = (node.task.clone(), node.id.clone(), node.attempts);
            node.batched_into = batch.is_some().then(|| id.clone());
            settle(&mut g, m, &task, &member_id, attempt, outcome, name, env);
        }
        drop(g);
        wake.notify_all();
    }
}

/// Tells the event stream which tasks run as one: `batched_into` for each member, then one
/// `batch_running` for the task that runs.
fn announce_batch(
    nodes: &[Node],
    members: &[usize],
    task: &AnyTask,
    id: &TaskId,
    worker: &str,
    events: &Events,
) {
    if events.is_empty() {
        return;
    }
    for &m in members {
        events.emit(
            Event::new(EventKind::BatchedInto)
                .task(&nodes[m].id, nodes[m].task.family())
                .params(nodes[m].task.params_json())
                .worker(worker)
                .with("into", id.as_str()),
        );
    }
    let ids: Vec<serde_json::Value> = members
        .iter()
        .map(|&m| nodes[m].id.as_str().into())
        .collect();
    events.emit(
        Event::new(EventKind::BatchRunning)
            .task(id, task.family())
            .params(task.params_json())
            .worker(worker)
            .with("members", ids),
    );
}

/// Each member's outcome from the batch's: when it ran, every member gets the
/// representative's output (written atomically under its own path) and a `succeeded` event;
/// when it failed, each member fails with it.
fn settle_batch(
    batch: &Batch,
    outcome: Attempt,
    worker: &str,
    attempt: u32,
    env: &Env<'_>,
) -> Vec<(usize, Attempt)> {
    let rep = batch.task.id();
    batch
        .members
        .iter()
        .zip(&batch.tasks)
        .map(|(&m, task)| {
            let id = task.id();
            let event = |kind: EventKind| {
                Event::new(kind)
                    .task(&id, task.family())
                    .params(task.params_json())
                    .worker(worker)
                    .with("attempt", attempt)
                    .with("batched_into", rep.as_str())
            };
            let member_outcome = match &outcome {
                Attempt::Ran | Attempt::FoundComplete | Attempt::AlreadyCommitted => {
                    match copy_output(env.ws, &batch.task, task) {
                        Ok(()) => {
                            if id != rep {
                                env.events.emit(event(EventKind::Succeeded));
                            }
                            Attempt::Ran
                        }
                        Err(e) => {
                            let error =
                                format!("batch {rep} ran, but its output could not be copied: {e}");
                            env.events
                                .emit(event(EventKind::Failed).with("error", error.as_str()));
                            Attempt::Failed(error)
                        }
                    }
                }
                Attempt::Failed(e) => {
                    let error = format!("batch {rep} failed: {e}");
                    if id != rep {
                        env.events
                            .emit(event(EventKind::Failed).with("error", error.as_str()));
                    }
                    Attempt::Failed(error)
                }
                other => other.clone(),
            };
            (m, member_outcome)
        })
        .collect()
}

/// Writes `from`'s output under `to`'s path too (nothing when they share it).
fn copy_output(ws: &Workspace, from: &AnyTask, to: &AnyTask) -> Result<()> {
    let (Some(src), Some(dst)) = (from.output_key()?, to.output_key()?) else {
        return Ok(());
    };
    if src == dst {
        return Ok(());
    }
    let bytes = ws.target(&src).read()?;
    // A member another worker committed meanwhile keeps its output.
    ws.target(&dst).publish(&bytes).map(drop)
}

/// Records how an attempt at node `i` ended: done (its dependents may become ready), retried,
/// or failed/missing/locked out (its dependents skipped).
#[allow(clippy::too_many_arguments)]
fn settle(
    g: &mut Shared,
    i: usize,
    task: &AnyTask,
    id: &TaskId,
    attempt: u32,
    outcome: Attempt,
    name: &str,
    env: &Env<'_>,
) {
    let events = env.events;
    let succeeded = match outcome {
        Attempt::Ran => {
            g.nodes[i].state = State::Done;
            true
        }
        Attempt::FoundComplete => {
            events.emit(
                Event::new(EventKind::AlreadyComplete)
                    .task(id, task.family())
                    .params(task.params_json())
                    .worker(name)
                    .with("reason", "completed by another worker"),
            );
            g.nodes[i].state = State::CompletedElsewhere;
            true
        }
        Attempt::AlreadyCommitted => {
            g.nodes[i].state = State::CompletedElsewhere;
            true
        }
        Attempt::NotRun(reason) => {
            events.emit(
                Event::new(EventKind::Skipped)
                    .task(id, task.family())
                    .worker(name)
                    .with("reason", reason.as_str()),
            );
            g.nodes[i].state = State::Skipped(reason);
            skip_dependents(&mut g.nodes, i, events);
            false
        }
        Attempt::TryLater { error, counts } if !counts || attempt <= env.opts.retry_count => {
            if !counts {
                g.nodes[i].attempts -= 1;
            }
            schedule_retry(g, i, id, task.family(), name, attempt, &error, env);
            false
        }
        // Missing external data may land before the next look.
        Attempt::TryLater { error, .. } | Attempt::Failed(error) | Attempt::Missing(error)
            if attempt <= env.opts.retry_count && !env.opts.shutdown.is_stopping() =>
        {
            schedule_retry(g, i, id, task.family(), name, attempt, &error, env);
            false
        }
        Attempt::Missing(reason) => {
            g.nodes[i].state = State::Missing(reason);
            skip_dependents(&mut g.nodes, i, events);
            false
        }
        Attempt::Interrupted(error) => {
            g.nodes[i].state = State::Failed(error);
            skip_dependents(&mut g.nodes, i, events);
            false
        }
        Attempt::TryLater { error, .. } => {
            events.emit(
                failed_event(task, id, name, attempt, &format!("never ran: {error}"))
                    .with("locked_elsewhere", true),
            );
            g.nodes[i].state = State::LockedOut(error);
            skip_dependents(&mut g.nodes, i, events);
            false
        }
        Attempt::Failed(error) => {
            g.nodes[i].state = State::Failed(error);
            skip_dependents(&mut g.nodes, i, events);
            false
        }
    };
    if g.nodes[i].state != State::RetryWaiting {
        // A unique job's lock lives until the task is done with (succeeded or given up).
        g.nodes[i].schedule_guard = None;
    }
    if succeeded {
        for k in 0..g.nodes[i].dependents.len() {
            let d = g.nodes[i].dependents[k];
            g.nodes[d].remaining -= 1;
            if g.nodes[d].remaining == 0 && g.nodes[d].state == State::Pending {
                g.ready.push_back(d);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn schedule_retry(
    g: &mut Shared,
    i: usize,
    id: &TaskId,
    family: &str,
    worker: &str,
    attempt: u32,
    error: &str,
    env: &Env<'_>,
) {
    env.events.emit(
        Event::new(EventKind::Retried)
            .task(id, family)
            .worker(worker)
            .with("attempt", attempt + 1)
            .with("delay_secs", env.opts.retry_delay.as_secs_f64())
            .with("error", error),
    );
    g.nodes[i].state = State::RetryWaiting;
    g.retries
        .push(Reverse((Instant::now() + env.opts.retry_delay, i)));
}

/// One attempt at a task: take its run lock if it has one, re-check completeness (another
/// worker may have made it meanwhile), run, commit.
fn attempt_task(
    worker: &str,
    task: &AnyTask,
    id: &TaskId,
    attempt: u32,
    held: Holdings<'_>,
    env: &Env<'_>,
) -> Attempt {
    let Holdings {
        schedule_guard,
        stop,
        resources,
    } = held;
    let cancelled = stop.cancel.clone();
    let family = task.family();
    let check_done = || -> Result<bool> { Ok(!task.is_wrapper() && task.output_exists(env.ws)?) };
    // Failing before the task runs: the event says why, as after a run.
    let refuse = |error: String| {
        env.events
            .emit(failed_event(task, id, worker, attempt, &error));
        Attempt::Failed(error)
    };

    if task.is_external() {
        return match check_done() {
            Ok(true) => Attempt::FoundComplete,
            Ok(false) => {
                let key = task.output_key().ok().flatten().unwrap_or_default();
                env.events.emit(
                    Event::new(EventKind::MissingData)
                        .task(id, family)
                        .params(task.params_json())
                        .worker(worker)
                        .with("output", key.as_str())
                        .with("attempt", attempt),
                );
                Attempt::Missing(format!("missing external data: {key} does not exist"))
            }
            Err(e) => refuse(e.to_string()),
        };
    }

    // A retry may find the task done by someone else.
    if attempt > 1 {
        match check_done() {
            Ok(true) => return Attempt::FoundComplete,
            Ok(false) => {}
            Err(e) => return refuse(e.to_string()),
        }
    }

    let mut run_guard = None;
    if let Some(lock) = task.run_lock() {
        let take_now = !matches!(
            lock.unique,
            Some((UniquePhase::UntilExecuting | UniquePhase::UntilExecuted, _))
        );
        if take_now {
            let Some(locks) = env.locks else {
                return refuse(no_lock_backend(id).to_string());
            };
            let key = task.run_lock_key().expect("run_lock is set");
            let builder = locks
                .lock(key.as_str())
                .ttl(lock.ttl())
                .timeout(lock.timeout())
                .for_task(id, family)
                .cancel_on_loss(cancelled.clone())
                .until_stopped(&env.opts.shutdown);
            let fail_fast = lock.unique.is_some() || env.opts.fail_on_collision;
            let acquired = if fail_fast {
                builder.try_acquire()
            } else {
                builder.acquire().map(Some)
            };
            match acquired {
                Ok(Some(guard)) => run_guard = Some(guard),
                Ok(None) => {
                    let holder = locks.holder_of(&key);
                    env.events.emit(
                        Event::new(EventKind::LockedElsewhere)
                            .task(id, family)
                            .worker(worker)
                            .with("key", key.as_str())
                            .with("holder", holder.as_str()),
                    );
                    let error = Error::LockedElsewhere(format!("lock `{key}` is held by {holder}"))
                        .to_string();
                    return match lock.unique.map(|(_, c)| c) {
                        Some(OnConflict::Reject) => Attempt::NotRun(format!(
                            "rejected: an identical {family} is running elsewhere ({holder})"
                        )),
                        Some(OnConflict::Raise) => refuse(format!("unique job conflict: {error}")),
                        Some(OnConflict::Reschedule) => Attempt::TryLater {
                            error,
                            counts: false,
                        },
                        None => Attempt::TryLater {
                            error,
                            counts: !env.opts.keep_alive,
                        },
                    };
                }
                // The first SIGINT/SIGTERM ends the wait: the task never starts.
                Err(e) if env.opts.shutdown.is_stopping() => {
                    return Attempt::NotRun(format!("interrupted before it started: {e}"))
                }
                Err(e) => return refuse(e.to_string()),
            }
            match check_done() {
                Ok(true) => return Attempt::FoundComplete,
                Ok(false) => {}
                Err(e) => return refuse(e.to_string()),
            }
        }
    }
    // `until_executing` ends when the run starts; `until_executed` guards every attempt until
    // the task has run.
    let schedule_guard = match task.run_lock().and_then(|l| l.unique) {
        Some((UniquePhase::UntilExecuted, _)) => schedule_guard.as_ref(),
        _ => {
            *schedule_guard = None;
            None
        }
    };
    let guard = run_guard.as_ref().or(schedule_guard);

    let inbox = if task.accepts_messages() {
        let mailboxes = env
            .opts
            .mailboxes
            .clone()
            .unwrap_or_else(|| Mailboxes::local(&Workspace::state_dir_for(env.ws.root())));
        match mailboxes.open(id, family) {
            Ok(inbox) => {
                tracing::info!("{} accepts messages: `message {id} <text>`", task.display());
                Some(inbox)
            }
            Err(e) => return refuse(format!("cannot open its inbox: {e}")),
        }
    } else {
        None
    };
    crate::failpoint::hit("run-start");
    if env.opts.shutdown.is_stopping() {
        return Attempt::NotRun("interrupted before it started".into());
    }
    env.events.emit(
        Event::new(EventKind::Started)
            .task(id, family)
            .params(task.params_json())
            .worker(worker)
            .with("attempt", attempt),
    );
    let ctx = RunContext {
        workspace: env.ws,
        task_id: id.clone(),
        family,
        attempt,
        worker: worker.to_string(),
        events: env.events,
        cancelled,
        locks: env.locks,
        run_guard: guard,
        resources,
        inbox: inbox.as_ref(),
        already_committed: AtomicBool::new(false),
    };
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| task.execute(&ctx)))
        .unwrap_or_else(|panic| Err(Error::Task(format!("panicked: {}", panic_message(&*panic)))));
    // Why a cancelled task failed: its timeout or a shutdown, not the error it returned.
    let interrupted = env.opts.shutdown.is_cancelling();
    let result = result.map_err(|e| {
        if stop.timed_out.load(Ordering::SeqCst) {
            let t = crate::param::Duration(stop.timeout.unwrap_or_default());
            format!("timed out after {t} (the task was cancelled)")
        } else if interrupted {
            format!("interrupted: {e}")
        } else {
            e.to_string()
        }
    });
    let lost_race = ctx.already_committed.load(Ordering::SeqCst);
    let mut event = match &result {
        Ok(()) if lost_race => Event::new(EventKind::AlreadyCommitted).with(
            "output",
            task.output_key().ok().flatten().unwrap_or_default(),
        ),
        Ok(()) => Event::new(EventKind::Succeeded),
        Err(e) => Event::new(EventKind::Failed).with("error", e.as_str()),
    };
    event = event
        .task(id, family)
        .params(task.params_json())
        .worker(worker)
        .with("attempt", attempt);
    if let Some(g) = guard {
        event = event.with("fence", g.fence());
    }
    env.events.emit(event);
    match result {
        Ok(()) if lost_race => Attempt::AlreadyCommitted,
        Ok(()) => Attempt::Ran,
        Err(e) if interrupted && !stop.timed_out.load(Ordering::SeqCst) => Attempt::Interrupted(e),
        Err(e) => Attempt::Failed(e),
    }
}

fn report(nodes: Vec<Node>, roots: &[usize], interrupted: bool) -> RunReport {
    let tasks = nodes
        .iter()
        .map(|n| TaskReport {
            id: n.id.clone(),
            family: n.task.family(),
            display: n.task.display(),
            params: n.task.params_json(),
            attempts: n.attempts,
            batched_into: n.batched_into.clone(),
            outcome: match &n.state {
                State::AlreadyComplete => TaskOutcome::AlreadyComplete,
                State::CompletedElsewhere => TaskOutcome::CompletedElsewhere,
                State::Done => TaskOutcome::Succeeded,
                State::Failed(e) => TaskOutcome::Failed(e.clone()),
                State::Skipped(r) => TaskOutcome::Skipped(r.clone()),
                State::LockedOut(e) => TaskOutcome::LockedElsewhere(e.clone()),
                State::Missing(e) => TaskOutcome::MissingData(e.clone()),
                State::Pending | State::Running | State::RetryWaiting if interrupted => {
                    TaskOutcome::Skipped("interrupted before it started".into())
                }
                State::Pending | State::Running | State::RetryWaiting => {
                    TaskOutcome::Skipped("never became runnable".into())
                }
            },
        })
        .collect();
    RunReport::new(tasks, roots.to_vec())
}
