//! The one walk over a dependency graph, shared by the scheduler, `deps` and completeness:
//! every task once (by id), breadth first from the roots; an order with requirements first,
//! cycles reported; and the one rule for wrappers — a wrapper is complete exactly when
//! everything it requires is.

use std::collections::{HashSet, VecDeque};

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::parallel::{in_parallel, threads};
use crate::task::{AnyTask, DynTask, TaskId};

/// The whole graph below `roots`, complete tasks included, each task's requirements as it
/// decides them with the workspace at hand (ranges look at what is complete).
pub(crate) fn expand_all(roots: &[AnyTask], ws: &crate::Workspace) -> Result<Walk> {
    let events = crate::event::Events::new();
    let cx = crate::task::GraphContext {
        workspace: ws,
        events: &events,
    };
    let mut failed = None;
    let walk = Walk::new(roots, |_, task| match task.requires_in(&cx) {
        Ok(requires) => Step::Expand(requires),
        Err(e) => {
            failed = Some(e);
            Step::Stop
        }
    });
    match failed {
        Some(e) => Err(e),
        None => Ok(walk),
    }
}

/// What to do with a task the walk reached.
pub(crate) enum Step {
    /// Follow these requirements.
    Expand(Vec<AnyTask>),
    /// Follow these requirements, some of whose completeness the visitor already learned
    /// (an entry each): a requirement new to the walk gets its entry back with its level.
    ExpandKnowing(Vec<AnyTask>, Vec<Option<bool>>),
    /// Do not expand it.
    Leaf,
    /// Stop the walk here: the graph stays partial.
    Stop,
}

/// The graph below some roots.
pub(crate) struct Walk {
    pub(crate) tasks: Vec<AnyTask>,
    pub(crate) ids: Vec<TaskId>,
    /// Each task's requirements, without repeats.
    pub(crate) deps: Vec<Vec<usize>>,
    /// Each task's dependents.
    pub(crate) dependents: Vec<Vec<usize>>,
    pub(crate) roots: Vec<usize>,
    /// `step` stopped the walk.
    pub(crate) stopped: bool,
}

/// What a walk asks of the code walking: what to follow from each task, and optionally a
/// look at each breadth-first level before its tasks are visited (to decide them together).
pub(crate) trait Visitor {
    /// The tasks of one level, the first being task `first`, with what was learned of their
    /// completeness when they were listed ([`Step::ExpandKnowing`]): each is visited after
    /// this.
    fn level(&mut self, first: usize, tasks: &[AnyTask], known: &[Option<bool>]) {
        let _ = (first, tasks, known);
    }
    /// What to follow from task `i`.
    fn visit(&mut self, i: usize, task: &AnyTask) -> Step;
}

/// A closure is a visitor without the look at levels.
struct Steps<F>(F);

impl<F: FnMut(usize, &AnyTask) -> Step> Visitor for Steps<F> {
    fn visit(&mut self, i: usize, task: &AnyTask) -> Step {
        (self.0)(i, task)
    }
}

impl Walk {
    /// Walks from `roots`, asking `step` once per distinct task (in the order reached) what
    /// to follow.
    pub(crate) fn new(roots: &[AnyTask], step: impl FnMut(usize, &AnyTask) -> Step) -> Self {
        Self::with(roots, Steps(step))
    }

    /// [`Walk::new`] with a visitor that also sees each level before its tasks.
    pub(crate) fn with(roots: &[AnyTask], mut visitor: impl Visitor) -> Self {
        let mut walk = Walk {
            tasks: Vec::new(),
            ids: Vec::new(),
            deps: Vec::new(),
            dependents: Vec::new(),
            roots: Vec::new(),
            stopped: false,
        };
        // Ids are already hashes: the fast hasher is enough, and SipHash was a tenth of a
        // rerun of a million tasks.
        let mut index: FxHashMap<TaskId, usize> = FxHashMap::default();
        // The task that last listed each task as a requirement: repeats are found in O(1),
        // not by searching a list that a wide fan-in makes long.
        let mut listed_by: Vec<usize> = Vec::new();
        let add = |walk: &mut Walk, index: &mut FxHashMap<TaskId, usize>, task: &AnyTask, id| {
            *index.entry(id).or_insert_with_key(|id| {
                walk.tasks.push(task.clone());
                walk.ids.push(id.clone());
                walk.deps.push(Vec::new());
                walk.dependents.push(Vec::new());
                walk.tasks.len() - 1
            })
        };
        for root in roots {
            let i = add(&mut walk, &mut index, root, root.id());
            walk.roots.push(i);
        }
        // Tasks are numbered in the order reached, so the queue of tasks to visit is every
        // number from `next` on, and a level ends where the tasks known at its start end.
        let mut next = 0;
        let mut level_end = 0;
        // What a visitor learned of each task's completeness when it was first listed.
        let mut known: Vec<Option<bool>> = Vec::new();
        while next < walk.tasks.len() {
            if next == level_end {
                level_end = walk.tasks.len();
                known.resize(level_end, None);
                visitor.level(next, &walk.tasks[next..level_end], &known[next..level_end]);
            }
            let i = next;
            next += 1;
            let task = walk.tasks[i].clone();
            let (requires, learned) = match visitor.visit(i, &task) {
                Step::Leaf => continue,
                Step::Stop => {
                    walk.stopped = true;
                    break;
                }
                Step::Expand(requires) => (requires, None),
                Step::ExpandKnowing(requires, learned) => (requires, Some(learned)),
            };
            walk.deps[i].reserve_exact(requires.len());
            index.reserve(requires.len());
            for (k, (req, id)) in requires.iter().zip(ids_of(&requires)).enumerate() {
                let before = walk.tasks.len();
                let j = add(&mut walk, &mut index, req, id);
                if let (true, Some(learned)) = (j >= before, &learned) {
                    known.resize(j + 1, None);
                    known[j] = learned.get(k).copied().flatten();
                }
                listed_by.resize(walk.tasks.len(), usize::MAX);
                if listed_by[j] != i {
                    listed_by[j] = i;
                    walk.deps[i].push(j);
                    walk.dependents[j].push(i);
                }
            }
        }
        walk
    }

    /// Every task, requirements first (Kahn's algorithm); a cycle is an error naming it.
    pub(crate) fn order(&self) -> Result<Vec<usize>> {
        order(&self.deps, &self.dependents, &self.ids)
    }
}

/// The ids of `tasks`. Hashing parameters is most of what a wide fan-in costs the walk, so a
/// long list is hashed on every core.
fn ids_of(tasks: &[AnyTask]) -> Vec<TaskId> {
    const PER_THREAD: usize = 4096;
    if tasks.len() < 2 * PER_THREAD {
        return tasks.iter().map(|t| t.id()).collect();
    }
    let ids = in_parallel(tasks, threads(), PER_THREAD, |_, part| {
        Ok(part.iter().map(|t| t.id()).collect())
    });
    ids.expect("computing ids does not fail")
}

/// [`Walk::order`] over graphs kept in other shapes.
pub(crate) fn order(
    deps: &[impl AsRef<[usize]>],
    dependents: &[impl AsRef<[usize]>],
    ids: &[TaskId],
) -> Result<Vec<usize>> {
    let n = deps.len();
    let mut indegree: Vec<usize> = deps.iter().map(|d| d.as_ref().len()).collect();
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| indegree[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = queue.pop_front() {
        order.push(i);
        for &d in dependents[i].as_ref() {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                queue.push_back(d);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk requirements from a task left over until one repeats: that is a cycle.
    let start = (0..n).find(|&i| indegree[i] > 0).expect("a task is left");
    let mut path = vec![start];
    let mut cur = start;
    loop {
        cur = *deps[cur]
            .as_ref()
            .iter()
            .find(|&&d| indegree[d] > 0)
            .expect("cycle continues");
        if let Some(pos) = path.iter().position(|&p| p == cur) {
            let names: Vec<String> = path[pos..]
                .iter()
                .chain([&cur])
                .map(|&i| ids[i].to_string())
                .collect();
            return Err(Error::Cycle(names.join(" requires ")));
        }
        path.push(cur);
    }
}

/// The wrapper rule: visiting `order` (requirements first), marks complete each task
/// `is_wrapper` names whose requirements are all complete. Other tasks keep the completeness
/// their own check gave them.
pub(crate) fn settle_wrappers(
    order: &[usize],
    deps: &[impl AsRef<[usize]>],
    is_wrapper: impl Fn(usize) -> bool,
    complete: &mut [bool],
) {
    for &i in order {
        if is_wrapper(i) {
            complete[i] = deps[i].as_ref().iter().all(|&d| complete[d]);
        }
    }
}

/// The tasks whose outputs decide whether `task` is complete: itself, or for a wrapper the
/// non-wrappers below it. Each wrapper below is expanded once (nested wrappers can share
/// one); a task with an output required twice is visited twice — cheaper than computing the
/// id of every task to find repeats, which a range over 100 families × 10 years would pay
/// 364 900 times. `visit` returning `false` stops the visit.
pub(crate) fn leaves(
    task: &dyn DynTask,
    mut visit: impl FnMut(&dyn DynTask) -> Result<bool>,
) -> Result<()> {
    if !task.is_wrapper() {
        visit(task)?;
        return Ok(());
    }
    let mut expanded: HashSet<TaskId> = HashSet::new();
    let mut stack = task.requires();
    stack.reverse();
    while let Some(t) = stack.pop() {
        if t.is_wrapper() {
            if expanded.insert(t.id()) {
                stack.extend(t.requires().into_iter().rev());
            }
        } else if !visit(&*t)? {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::fake::{fake, Plan};

    fn expand_all(_: usize, t: &AnyTask) -> Step {
        Step::Expand(t.requires())
    }

    fn names(walk: &Walk, of: &[usize]) -> Vec<String> {
        of.iter().map(|&i| walk.tasks[i].display()).collect()
    }

    #[test]
    fn a_diamond_is_walked_once_per_task_and_ordered_requirements_first() {
        let plan = Plan::new(&[
            ("top", &["l", "r", "l"]),
            ("l", &["base"]),
            ("r", &["base"]),
        ])
        .build();
        let walk = Walk::new(&[fake(&plan, "top"), fake(&plan, "top")], expand_all);
        assert_eq!(walk.tasks.len(), 4);
        assert_eq!(walk.roots, vec![0, 0]);
        assert_eq!(
            walk.deps[0].len(),
            2,
            "a requirement listed twice is one edge"
        );
        let order = names(&walk, &walk.order().unwrap());
        assert_eq!(order.first().map(String::as_str), Some("Fake(name=base)"));
        assert_eq!(order.last().map(String::as_str), Some("Fake(name=top)"));
    }

    #[test]
    fn a_cycle_is_an_error_naming_it() {
        let plan = Plan::new(&[("a", &["b"]), ("b", &["c"]), ("c", &["b"])]).build();
        let walk = Walk::new(&[fake(&plan, "a")], expand_all);
        let error = walk.order().unwrap_err().to_string();
        assert!(
            error.contains("Fake_b") && error.contains("Fake_c"),
            "{error}"
        );
        assert!(!error.contains("Fake_a"), "{error}");
    }

    #[test]
    fn a_stopped_walk_is_partial_and_says_so() {
        let plan = Plan::new(&[("a", &["b"]), ("b", &["c"])]).build();
        let walk = Walk::new(&[fake(&plan, "a")], |i, t| match i {
            0 => Step::Expand(t.requires()),
            _ => Step::Stop,
        });
        assert!(walk.stopped);
        assert_eq!(walk.tasks.len(), 2);
    }

    #[test]
    fn wrappers_are_complete_exactly_when_all_they_require_is() {
        // all -> (w1 -> (x, y), w2 -> (z), empty -> ())
        let plan = Plan::new(&[
            ("all", &["w1", "w2", "empty"]),
            ("w1", &["x", "y"]),
            ("w2", &["z"]),
        ])
        .wrappers(&["all", "w1", "w2", "empty"])
        .build();
        let walk = Walk::new(&[fake(&plan, "all")], expand_all);
        let order = walk.order().unwrap();
        let find = |n: &str| {
            (0..walk.tasks.len())
                .find(|&i| walk.tasks[i].display() == format!("Fake(name={n})"))
                .unwrap()
        };
        let mut complete = vec![false; walk.tasks.len()];
        complete[find("x")] = true;
        complete[find("y")] = true;
        let is_wrapper = |i: usize| walk.tasks[i].is_wrapper();
        settle_wrappers(&order, &walk.deps, is_wrapper, &mut complete);
        assert!(complete[find("w1")] && complete[find("empty")]);
        assert!(!complete[find("w2")] && !complete[find("all")]);
        complete[find("z")] = true;
        settle_wrappers(&order, &walk.deps, is_wrapper, &mut complete);
        assert!(complete[find("all")]);
    }

    #[test]
    fn a_wrappers_leaves_are_the_tasks_below_it() {
        let plan = Plan::new(&[("w", &["v", "x"]), ("v", &["x", "y"])])
            .wrappers(&["w", "v"])
            .build();
        let mut seen = Vec::new();
        leaves(&*fake(&plan, "w"), |t| {
            seen.push(t.display());
            Ok(true)
        })
        .unwrap();
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["Fake(name=x)", "Fake(name=y)"]);
        let mut first = Vec::new();
        leaves(&*fake(&plan, "w"), |t| {
            first.push(t.display());
            Ok(false)
        })
        .unwrap();
        assert_eq!(first.len(), 1, "the visit stops when told");
    }
}
