//! The dependency graph of one run: built from the requested tasks, checking each task's
//! completeness once; unique jobs locked from scheduling take their locks here.

use std::collections::{HashMap, VecDeque};

use crate::event::{Event, EventKind, Events};
use crate::lock::{LockGuard, Locks};
use crate::shutdown::Shutdown;
use crate::task::{AnyTask, GraphContext, OnConflict, TaskId, UniquePhase};
use crate::workspace::Workspace;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum State {
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

pub(super) struct Node {
    pub(super) task: AnyTask,
    pub(super) id: TaskId,
    pub(super) deps: Vec<usize>,
    pub(super) dependents: Vec<usize>,
    /// Requirements not yet done.
    pub(super) remaining: usize,
    pub(super) attempts: u32,
    pub(super) state: State,
    /// A unique-job lock taken when the task was scheduled (`until_executing`/`until_executed`).
    pub(super) schedule_guard: Option<LockGuard>,
    /// The batched run this task was part of, if any.
    pub(super) batched_into: Option<TaskId>,
}

/// The dependency graph of one run.
pub struct Graph {
    pub(super) nodes: Vec<Node>,
    pub(super) roots: Vec<usize>,
    /// Pending nodes in an order where every requirement comes first.
    pub(super) order: Vec<usize>,
    /// The run was stopped while the graph was built: it is partial, and nothing may run.
    pub(super) interrupted: bool,
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
            let locks = locks.ok_or_else(|| crate::task::no_lock_backend(&node.id))?;
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

/// Kahn's algorithm over the whole graph; a leftover node means a cycle, which is reported.
pub(super) fn topological_order(nodes: &[Node]) -> Result<Vec<usize>> {
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

pub(super) fn skip_dependents(nodes: &mut [Node], failed: usize, events: &Events) {
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
