//! The local scheduler: builds the dependency graph from the requested tasks (checking each
//! task's completeness once), then runs pending tasks in dependency order on worker threads.
//!
//! Cost per task is a hash-map insert, one completeness check and O(edges) bookkeeping: no
//! process per task, no rescans of the graph.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::config::Settings;
use crate::event::{Event, EventKind, Events};
use crate::summary::{RunReport, TaskOutcome, TaskReport};
use crate::target::Workspace;
use crate::task::{AnyTask, GraphContext, RunContext, TaskId};
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
    /// Keep waiting for tasks that may become runnable later.
    pub keep_alive: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            workers: 1,
            retry_count: 0,
            retry_delay: Duration::from_secs(10),
            keep_alive: false,
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
    Failed(String),
    /// Not run because a requirement failed.
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
}

/// The dependency graph of one run.
pub struct Graph {
    nodes: Vec<Node>,
    roots: Vec<usize>,
    /// Pending nodes in an order where every requirement comes first.
    order: Vec<usize>,
}

impl Graph {
    /// Builds the graph of `roots`, checking each task's completeness once. Complete tasks are
    /// not expanded (their requirements are not needed); a wrapper is complete when all its
    /// requirements are.
    pub fn build(roots: &[AnyTask], ws: &Workspace, events: &Events) -> Result<Self> {
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
                    });
                    queue.push_back(nodes.len() - 1);
                    nodes.len() - 1
                })
            };
        let root_ids: Vec<usize> = roots
            .iter()
            .map(|t| add(t, &mut nodes, &mut queue))
            .collect();

        while let Some(i) = queue.pop_front() {
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
        // Tasks whose completeness check failed take their dependents down with them.
        let failed: Vec<usize> = (0..graph.nodes.len())
            .filter(|&i| matches!(graph.nodes[i].state, State::Failed(_)))
            .collect();
        for i in failed {
            skip_dependents(&mut graph.nodes, i, events);
        }
        Ok(graph)
    }

    /// Pending tasks in the order they would run (requirements first): `Family(params)`.
    pub fn plan(&self) -> Vec<String> {
        self.order
            .iter()
            .filter(|&&i| self.nodes[i].state == State::Pending)
            .map(|&i| self.nodes[i].task.display())
            .collect()
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
                let reason = format!("requirement {} failed", nodes[failed].id);
                events.emit(
                    Event::new(EventKind::Skipped)
                        .task(&nodes[d].id, nodes[d].task.family())
                        .params(nodes[d].task.params_json())
                        .with("reason", reason.as_str()),
                );
                nodes[d].state = State::Skipped(reason);
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
}

/// Runs the graph to the end and reports what happened.
pub fn run(graph: Graph, ws: &Workspace, events: &Events, opts: &RunOptions) -> RunReport {
    let Graph {
        nodes,
        roots,
        order,
    } = graph;
    let ready: VecDeque<usize> = order
        .iter()
        .copied()
        .filter(|&i| nodes[i].remaining == 0)
        .collect();
    let shared = Mutex::new(Shared {
        nodes,
        ready,
        retries: BinaryHeap::new(),
        running: 0,
    });
    let wake = Condvar::new();
    std::thread::scope(|scope| {
        for w in 0..opts.workers.max(1) {
            let (shared, wake) = (&shared, &wake);
            scope.spawn(move || {
                worker_loop(&format!("worker-{}", w + 1), shared, wake, ws, events, opts)
            });
        }
    });
    let shared = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    report(shared.nodes, &roots)
}

fn worker_loop(
    name: &str,
    shared: &Mutex<Shared>,
    wake: &Condvar,
    ws: &Workspace,
    events: &Events,
    opts: &RunOptions,
) {
    loop {
        let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
        let i = loop {
            if let Some(i) = g.ready.pop_front() {
                break i;
            }
            let now = Instant::now();
            if let Some(&Reverse((due, i))) = g.retries.peek() {
                if due <= now {
                    g.retries.pop();
                    break i;
                }
            }
            if g.running == 0 && g.retries.is_empty() {
                // Nothing runs and nothing is queued: no task can become ready any more.
                wake.notify_all();
                return;
            }
            g = match g.retries.peek() {
                Some(&Reverse((due, _))) => {
                    wake.wait_timeout(g, due - now)
                        .unwrap_or_else(|p| p.into_inner())
                        .0
                }
                None => wake.wait(g).unwrap_or_else(|p| p.into_inner()),
            };
        };
        g.running += 1;
        let node = &mut g.nodes[i];
        node.state = State::Running;
        node.attempts += 1;
        let (task, id, attempt) = (node.task.clone(), node.id.clone(), node.attempts);
        drop(g);

        events.emit(
            Event::new(EventKind::Started)
                .task(&id, task.family())
                .params(task.params_json())
                .worker(name)
                .with("attempt", attempt),
        );
        let ctx = RunContext {
            workspace: ws,
            task_id: id.clone(),
            family: task.family(),
            attempt,
            worker: name.to_string(),
            events,
            cancelled: Arc::new(AtomicBool::new(false)),
        };
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| task.execute(&ctx)))
            .unwrap_or_else(|panic| {
                let msg = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                Err(Error::Task(format!("panicked: {msg}")))
            });

        let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
        g.running -= 1;
        match result {
            Ok(()) => {
                events.emit(
                    Event::new(EventKind::Succeeded)
                        .task(&id, task.family())
                        .params(task.params_json())
                        .worker(name)
                        .with("attempt", attempt),
                );
                g.nodes[i].state = State::Done;
                for k in 0..g.nodes[i].dependents.len() {
                    let d = g.nodes[i].dependents[k];
                    g.nodes[d].remaining -= 1;
                    if g.nodes[d].remaining == 0 && g.nodes[d].state == State::Pending {
                        g.ready.push_back(d);
                    }
                }
            }
            Err(e) => {
                let error = e.to_string();
                events.emit(
                    Event::new(EventKind::Failed)
                        .task(&id, task.family())
                        .params(task.params_json())
                        .worker(name)
                        .with("attempt", attempt)
                        .with("error", error.as_str()),
                );
                if attempt <= opts.retry_count {
                    events.emit(
                        Event::new(EventKind::Retried)
                            .task(&id, task.family())
                            .worker(name)
                            .with("attempt", attempt + 1)
                            .with("delay_secs", opts.retry_delay.as_secs_f64()),
                    );
                    g.nodes[i].state = State::RetryWaiting;
                    g.retries
                        .push(Reverse((Instant::now() + opts.retry_delay, i)));
                } else {
                    g.nodes[i].state = State::Failed(error);
                    skip_dependents(&mut g.nodes, i, events);
                }
            }
        }
        drop(g);
        wake.notify_all();
    }
}

fn report(nodes: Vec<Node>, roots: &[usize]) -> RunReport {
    let tasks = nodes
        .iter()
        .map(|n| TaskReport {
            id: n.id.clone(),
            family: n.task.family(),
            display: n.task.display(),
            attempts: n.attempts,
            outcome: match &n.state {
                State::AlreadyComplete => TaskOutcome::AlreadyComplete,
                State::Done => TaskOutcome::Succeeded,
                State::Failed(e) => TaskOutcome::Failed(e.clone()),
                State::Skipped(r) => TaskOutcome::Skipped(r.clone()),
                State::Pending | State::Running | State::RetryWaiting => {
                    TaskOutcome::Skipped("never became runnable".into())
                }
            },
        })
        .collect();
    RunReport::new(tasks, roots.to_vec())
}
