//! The local scheduler: builds the dependency graph from the requested tasks (checking each
//! task's completeness once), then runs pending tasks in dependency order on worker threads.
//!
//! Cost per task is a hash-map insert, one completeness check and O(edges) bookkeeping: no
//! process per task, no rescans of the graph. Several processes (on several machines, with
//! Redis) can run the same graph: `#[run_with_lock]` tasks run once, wherever.

mod attempt;
mod batch;
pub mod disable;
mod graph;
mod options;
mod pool;
mod report;
mod shared;

pub use graph::{FamilyGraph, Graph};
pub use options::RunOptions;

use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Condvar, Mutex};

use crate::error::Result;
use crate::event::{Event, EventKind, Events};
use crate::lock::Locks;
use crate::summary::RunReport;
use crate::task::AnyTask;
use crate::workspace::Workspace;
use graph::{skip_dependents, State};
use pool::{monitor, watch_claims, worker_loop, WorkerExit};
use shared::{panic_message, Env, Shared};

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
        let mut report = report::report(nodes, &roots, true, events);
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
                    .worker(crate::event::SCHEDULER)
                    .with("error", why.as_str())
                    .with("attempt", 0),
            );
            nodes[i].state = State::Failed(why);
            skip_dependents(&mut nodes, i, crate::event::SCHEDULER, events);
        }
    }
    // Luigi's priorities: a task is as urgent as the most urgent task needing it. `order`
    // puts requirements first, so dependents are settled before what they need.
    for &i in order.iter().rev() {
        let task = &nodes[i].task;
        let own = match opts.family_priorities.get(task.family()) {
            Some(&p) => p,
            None => task.priority(),
        };
        let inherited = nodes[i]
            .dependents
            .iter()
            .filter(|&&d| nodes[d].state == State::Pending)
            .map(|&d| nodes[d].priority)
            .max();
        nodes[i].priority = inherited.map_or(own, |p| p.max(own));
    }
    let mut ready: Vec<usize> = order
        .iter()
        .copied()
        .filter(|&i| nodes[i].remaining == 0 && nodes[i].state == State::Pending)
        .collect();
    // Stable: equal priorities keep the graph's order.
    ready.sort_by_key(|&i| std::cmp::Reverse(nodes[i].priority));
    let ready: VecDeque<usize> = ready.into();
    // More workers than pending tasks would only idle; more than the address space holds
    // would abort the process.
    let mut workers = opts.workers.clamp(1, order.len().max(1));
    if let Some(room) = thread_room().filter(|&room| room < workers) {
        tracing::warn!(
            "running with {} of {workers} worker threads: the address-space limit (ulimit -v) leaves room for no more",
            room.max(1)
        );
        workers = room.max(1);
    }
    let shared = Mutex::new(Shared {
        nodes,
        ready,
        retries: BinaryHeap::new(),
        running: 0,
        watched: HashMap::new(),
        done: false,
        resource_waiting: Vec::new(),
        announced: std::collections::HashSet::new(),
        parked: HashMap::new(),
        to_watch: Vec::new(),
        watcher: false,
    });
    // Claims are locks like any other, but one per task: no lock events for them.
    let claims = locks
        .filter(|_| opts.claims)
        .map(|l| l.clone().with_events(Events::new()));
    let wake = Condvar::new();
    let watchers = Condvar::new();
    let env = Env {
        ws,
        events,
        locks,
        claims: claims.as_ref(),
        opts,
        watchers: &watchers,
    };
    std::thread::scope(|scope| {
        let monitor = std::thread::Builder::new()
            .name("kart-monitor".into())
            .spawn_scoped(scope, || monitor(&shared, &watchers, opts));
        if let Err(e) = monitor {
            tracing::warn!(
                "cannot start the timeout monitor ({e}): task timeouts are not enforced"
            );
        }
        if let Some(claims) = &claims {
            let watcher = std::thread::Builder::new()
                .name("kart-claims".into())
                .spawn_scoped(scope, || watch_claims(&shared, &wake, &watchers, claims));
            match watcher {
                Ok(_) => shared.lock().unwrap_or_else(|p| p.into_inner()).watcher = true,
                Err(e) => tracing::warn!(
                    "cannot start the claim watcher ({e}): tasks claimed elsewhere are looked at on every idle wake"
                ),
            }
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
        // The monitor and the claim watcher wait on theirs: they end now, not at their next
        // tick.
        watchers.notify_all();
    });
    let shared = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    let interrupted = opts.shutdown.is_stopping();
    let mut report = report::report(shared.nodes, &roots, interrupted, events);
    report.interrupted = interrupted;
    report
}

/// How many more threads this process can start with room to spare, under an address-space
/// limit (`ulimit -v`); `None` without one. A thread that starts but cannot map its signal
/// stack aborts the whole process, so the pool stays at half of what would fit.
#[cfg(target_os = "linux")]
fn thread_room() -> Option<usize> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut limit) } != 0
        || limit.rlim_cur == libc::RLIM_INFINITY
    {
        return None;
    }
    let used_kib: u64 = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmSize:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    // A thread reserves its stack (2 MiB by default), a guard page and a signal stack.
    const PER_THREAD: u64 = (2 << 20) + (256 << 10);
    let left = limit.rlim_cur.saturating_sub(used_kib * 1024);
    usize::try_from(left / PER_THREAD / 2).ok()
}

#[cfg(not(target_os = "linux"))]
fn thread_room() -> Option<usize> {
    None
}
