//! The dependency graph of one run: built from the requested tasks, checking each task's
//! completeness once; unique jobs locked from scheduling take their locks here.

use std::collections::{BTreeMap, HashMap};

use crate::error::Result;
use crate::event::{Event, EventKind, Events};
use crate::lock::{LockGuard, Locks};
use crate::shutdown::Shutdown;
use crate::task::{AnyTask, GraphContext, OnConflict, TaskId, UniquePhase};
use crate::walk::{settle_wrappers, Step, Visitor, Walk};
use crate::workspace::Workspace;

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
    /// Ready, but claimed by a worker in another process: waiting for it to finish there.
    ClaimedElsewhere,
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
    /// This run's claim on the task, kept across retries until the task is done with.
    pub(super) claim: Option<LockGuard>,
    /// The fence of the claim held elsewhere this run last waited for.
    pub(super) waited_for: Option<u64>,
    /// Who held the task's claim elsewhere, if this run waited for it (`host:pid`).
    pub(super) elsewhere: Option<String>,
    /// Its effective priority: its own, raised to that of every pending task needing it.
    pub(super) priority: i64,
}

/// A run's graph at family level ([`Graph::families`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FamilyGraph {
    /// `(family, instances, found complete)`.
    pub families: Vec<(&'static str, usize, usize)>,
    /// `(family, family it requires, instance edges)`.
    pub edges: Vec<(&'static str, &'static str, usize)>,
}

impl FamilyGraph {
    /// As the `run_graph` event carries it.
    pub fn event(&self) -> Event {
        let families: Vec<serde_json::Value> = self
            .families
            .iter()
            .map(|(family, instances, complete)| {
                serde_json::json!({ "family": family, "instances": instances, "complete": complete })
            })
            .collect();
        let edges: Vec<serde_json::Value> = self
            .edges
            .iter()
            .map(|(family, requires, n)| {
                serde_json::json!({ "family": family, "requires": requires, "edges": n })
            })
            .collect();
        Event::new(EventKind::RunGraph)
            .with("families", families)
            .with("edges", edges)
    }
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
        let mut building = Building {
            ws,
            cx: GraphContext {
                workspace: ws,
                events,
            },
            shutdown,
            failed: HashMap::new(),
            found_complete: Vec::new(),
            listed: Vec::new(),
            wrappers: HashMap::new(),
        };
        let walk = Walk::with(roots, &mut building);
        let Building {
            mut failed,
            found_complete,
            ..
        } = building;
        let interrupted = walk.stopped;
        let order = if interrupted {
            Vec::new()
        } else {
            walk.order()?
        };
        let mut complete = vec![false; walk.tasks.len()];
        for i in found_complete {
            complete[i] = true;
        }
        if !interrupted {
            // A partial graph lacks requirements, so no wrapper is settled from it.
            settle_wrappers(
                &order,
                &walk.deps,
                |i| walk.tasks[i].is_wrapper() && (failed.is_empty() || !failed.contains_key(&i)),
                &mut complete,
            );
        }
        let Walk {
            tasks,
            ids,
            deps,
            dependents,
            roots: root_ids,
            ..
        } = walk;
        let nodes: Vec<Node> = tasks
            .into_iter()
            .zip(ids)
            .zip(deps.into_iter().zip(dependents))
            .enumerate()
            .map(|(i, ((task, id), (deps, dependents)))| Node {
                task,
                id,
                deps,
                dependents,
                remaining: 0,
                attempts: 0,
                // Most graphs have no failed checks: skip the hashing then.
                state: match (!failed.is_empty()).then(|| failed.remove(&i)).flatten() {
                    Some(error) => State::Failed(error),
                    None if complete[i] => State::AlreadyComplete,
                    None => State::Pending,
                },
                schedule_guard: None,
                batched_into: None,
                claim: None,
                waited_for: None,
                elsewhere: None,
                priority: 0,
            })
            .collect();
        if interrupted {
            return Ok(Graph {
                nodes,
                roots: root_ids,
                order: Vec::new(),
                interrupted,
            });
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
                    .params(node.task.params_json())
                    .worker(crate::event::SCHEDULER),
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
            skip_dependents(&mut graph.nodes, i, crate::event::SCHEDULER, events);
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
                    events.emit(
                        event
                            .task(&node.id, family)
                            .params(node.task.params_json())
                            .worker(crate::event::SCHEDULER),
                    );
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

    /// The graph at family level: each family's instances and how many were found complete,
    /// and which families require which (with how many instance edges), each sorted by name.
    pub fn families(&self) -> FamilyGraph {
        let mut families: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
        let mut edges: BTreeMap<(&'static str, &'static str), usize> = BTreeMap::new();
        for node in &self.nodes {
            let family = node.task.family();
            let counts = families.entry(family).or_default();
            counts.0 += 1;
            counts.1 += usize::from(node.state == State::AlreadyComplete);
            for &d in &node.deps {
                *edges
                    .entry((family, self.nodes[d].task.family()))
                    .or_default() += 1;
            }
        }
        FamilyGraph {
            families: families
                .into_iter()
                .map(|(name, (instances, complete))| (name, instances, complete))
                .collect(),
            edges: edges
                .into_iter()
                .map(|((from, to), n)| (from, to, n))
                .collect(),
        }
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

/// The walk that builds a graph: each task's completeness is decided once — from one listing
/// of its directory when its level wants many outputs there ([`crate::complete::by_listing`]),
/// else by its own check — and only incomplete tasks are expanded. A wrapper whose
/// requirements all have outputs is decided with its level, from theirs: when it is complete
/// they never join the graph (Luigi's rule for a complete wrapper), and when it is not, what
/// was learned of them goes with them.
struct Building<'a> {
    ws: &'a Workspace,
    cx: GraphContext<'a>,
    shutdown: &'a Shutdown,
    /// Checks found failing, by task; the task is then not expanded.
    failed: HashMap<usize, String>,
    found_complete: Vec<usize>,
    /// What listings (or the check of a wrapper listing it) said, by task.
    listed: Vec<Option<bool>>,
    /// The wrappers of the level being visited, decided at its start, by task.
    wrappers: HashMap<usize, Wrapper>,
}

/// A wrapper as its level decided it.
enum Wrapper {
    Complete,
    /// Its requirements, with what is known of each one's completeness.
    Expand(Vec<AnyTask>, Vec<Option<bool>>),
    /// Asking for its requirements failed.
    Failed(String),
}

impl Building<'_> {
    /// Decides the wrappers among `tasks` (the level starting at task `first`) not decided
    /// yet: their requirements are asked for now, and those of the wrappers whose
    /// requirements all have outputs are checked together (one listing per directory where
    /// many are wanted, else one check each, stopping at a wrapper's first missing one).
    fn decide_wrappers(&mut self, first: usize, tasks: &[AnyTask]) {
        let mut asked = Vec::new();
        for (i, task) in (first..).zip(tasks) {
            if !task.is_wrapper() {
                continue;
            }
            if self.shutdown.is_stopping() {
                return;
            }
            match task.requires_in(&self.cx) {
                Ok(requires) => {
                    let decidable = requires.iter().all(|t| !t.is_wrapper());
                    asked.push((i, requires, decidable));
                }
                Err(e) => {
                    self.wrappers.insert(i, Wrapper::Failed(e.to_string()));
                }
            }
        }
        let pooled: Vec<AnyTask> = asked
            .iter()
            .filter(|(_, _, decidable)| *decidable)
            .flat_map(|(_, requires, _)| requires.iter().cloned())
            .collect();
        let mut listed = crate::complete::by_listing(&pooled, self.ws).into_iter();
        for (i, requires, decidable) in asked {
            if !decidable {
                // Its wrappers are decided with the next level.
                let unknown = vec![None; requires.len()];
                self.wrappers.insert(i, Wrapper::Expand(requires, unknown));
                continue;
            }
            let mut known: Vec<Option<bool>> = listed.by_ref().take(requires.len()).collect();
            let mut complete = !known.contains(&Some(false));
            for (task, known) in requires.iter().zip(&mut known) {
                if !complete || self.shutdown.is_stopping() {
                    complete = false;
                    break;
                }
                if known.is_none() {
                    // A failing check is left to the task's own visit, which reports it.
                    *known = task.output_exists(self.ws).ok();
                    complete = *known == Some(true);
                }
            }
            let decided = match complete {
                true => Wrapper::Complete,
                false => Wrapper::Expand(requires, known),
            };
            self.wrappers.insert(i, decided);
        }
    }
}

impl Visitor for &mut Building<'_> {
    fn level(&mut self, first: usize, tasks: &[AnyTask], known: &[Option<bool>]) {
        // Before a level's work: its wrappers' requirements (a range's decision) come next.
        crate::failpoint::hit("graph-build");
        if self.shutdown.is_stopping() {
            return;
        }
        self.listed.resize(first, None);
        // Listings only for what the tasks listing these did not learn.
        let unknown: Vec<AnyTask> = tasks
            .iter()
            .zip(known)
            .filter(|(_, known)| known.is_none())
            .map(|(task, _)| task.clone())
            .collect();
        let mut listed = crate::complete::by_listing(&unknown, self.ws).into_iter();
        self.listed.extend(
            known
                .iter()
                .map(|known| known.or_else(|| listed.next().flatten())),
        );
        self.decide_wrappers(first, tasks);
    }

    fn visit(&mut self, i: usize, task: &AnyTask) -> Step {
        if self.shutdown.is_stopping() {
            return Step::Stop;
        }
        if task.is_wrapper() {
            match self.wrappers.remove(&i) {
                Some(Wrapper::Complete) => {
                    self.found_complete.push(i);
                    return Step::Leaf;
                }
                Some(Wrapper::Expand(requires, known)) => {
                    return Step::ExpandKnowing(requires, known)
                }
                Some(Wrapper::Failed(error)) => {
                    self.failed.insert(i, error);
                    return Step::Leaf;
                }
                // Not decided with its level (stopped meanwhile): asked below.
                None => {}
            }
        } else {
            let exists = match self.listed.get(i).copied().flatten() {
                Some(complete) => Ok(complete),
                None => task.output_exists(self.ws),
            };
            match exists {
                Ok(true) => {
                    self.found_complete.push(i);
                    return Step::Leaf;
                }
                Ok(false) => {}
                Err(e) => {
                    self.failed.insert(i, e.to_string());
                    return Step::Leaf;
                }
            }
        }
        match task.requires_in(&self.cx) {
            Ok(requires) => Step::Expand(requires),
            Err(e) => {
                self.failed.insert(i, e.to_string());
                Step::Leaf
            }
        }
    }
}

pub(super) fn skip_dependents(nodes: &mut [Node], failed: usize, worker: &str, events: &Events) {
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
                        .worker(worker)
                        .with("reason", reason.as_str()),
                );
                nodes[d].state = State::Skipped(reason);
                nodes[d].schedule_guard = None;
                stack.push(d);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::fake::{fake, Plan};

    fn graph_of(plan: &std::sync::Arc<Plan>, root: &'static str) -> Graph {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::local(dir.path()).unwrap();
        Graph::build(&[fake(plan, root)], &ws, &Events::new(), None).unwrap()
    }

    fn state_of<'g>(graph: &'g Graph, name: &str) -> Option<&'g State> {
        let display = format!("Fake(name={name})");
        graph
            .nodes
            .iter()
            .find(|n| n.task.display() == display)
            .map(|n| &n.state)
    }

    #[test]
    fn complete_tasks_are_not_expanded() {
        let plan = Plan::new(&[("top", &["mid"]), ("mid", &["low"])])
            .done(&["mid"])
            .build();
        let graph = graph_of(&plan, "top");
        assert_eq!(state_of(&graph, "mid"), Some(&State::AlreadyComplete));
        assert_eq!(state_of(&graph, "low"), None, "below a complete task");
        assert_eq!(graph.order.len(), 1);
        assert_eq!(graph.nodes[graph.order[0]].task.display(), "Fake(name=top)");
    }

    #[test]
    fn wrappers_over_complete_tasks_are_complete_and_others_pending() {
        let plan = Plan::new(&[("all", &["done", "w"]), ("w", &["todo"])])
            .wrappers(&["all", "w"])
            .done(&["done"])
            .build();
        let graph = graph_of(&plan, "all");
        assert_eq!(state_of(&graph, "w"), Some(&State::Pending));
        assert_eq!(state_of(&graph, "all"), Some(&State::Pending));
        let plan = Plan::new(&[("all", &["done", "w"]), ("w", &["also"])])
            .wrappers(&["all", "w"])
            .done(&["done", "also"])
            .build();
        let graph = graph_of(&plan, "all");
        assert_eq!(state_of(&graph, "all"), Some(&State::AlreadyComplete));
        assert!(graph.order.is_empty());
    }

    #[test]
    fn a_wrapper_over_outputs_is_decided_before_they_join_the_graph_and_each_is_checked_once() {
        let plan = Plan::new(&[("all", &["a", "b"])])
            .wrappers(&["all"])
            .done(&["a", "b"])
            .build();
        let graph = graph_of(&plan, "all");
        assert_eq!(
            graph.nodes.len(),
            1,
            "a complete wrapper is all the graph holds"
        );
        assert_eq!(state_of(&graph, "all"), Some(&State::AlreadyComplete));
        let plan = Plan::new(&[("all", &["a", "b", "c"])])
            .wrappers(&["all"])
            .done(&["a", "c"])
            .build();
        let graph = graph_of(&plan, "all");
        assert_eq!(graph.nodes.len(), 4);
        assert_eq!(state_of(&graph, "a"), Some(&State::AlreadyComplete));
        assert_eq!(state_of(&graph, "b"), Some(&State::Pending));
        assert_eq!(state_of(&graph, "c"), Some(&State::AlreadyComplete));
        let mut checked = plan.checked();
        checked.sort();
        assert_eq!(checked, ["a", "b", "c"]);
    }

    #[test]
    fn pending_tasks_count_their_unfinished_requirements() {
        let plan = Plan::new(&[("top", &["a", "b", "c"])]).done(&["b"]).build();
        let graph = graph_of(&plan, "top");
        let top = graph.roots[0];
        assert_eq!(graph.nodes[top].remaining, 2);
        assert_eq!(graph.nodes[top].deps.len(), 3);
    }
}
