//! Batching (Luigi's `batch_method`): ready tasks of one family that run as one, and how each
//! member settles from the batch's outcome.

use std::panic::AssertUnwindSafe;

use super::graph::Node;
use super::shared::{panic_message, Attempt, Env, Shared};
use crate::error::Result;
use crate::event::{Event, EventKind, Events};
use crate::task::{AnyTask, TaskId};
use crate::workspace::Workspace;

/// Several ready tasks of one family that run as one (Luigi's `batch_method`).
pub(super) struct Batch {
    /// The graph nodes it stands for; the first is the one the worker took.
    pub(super) members: Vec<usize>,
    /// Their tasks, in the same order.
    pub(super) tasks: Vec<AnyTask>,
    /// The task that runs: batch parameters combined.
    pub(super) task: AnyTask,
}

/// Gathers the ready tasks that can run in one batch with `i` (same family, equal non-batch
/// parameters, at most `max_batch_size`), taking them off the ready queue.
/// A batch function that panics fails every member with the panic message: `Err(members,
/// message)`.
pub(super) fn form_batch(
    g: &mut Shared,
    i: usize,
) -> std::result::Result<Option<Batch>, (Vec<usize>, String)> {
    let Some(key) = g.nodes[i].task.batch_key() else {
        return Ok(None);
    };
    let family = g.nodes[i].task.family();
    let max = g.nodes[i].task.max_batch_size().unwrap_or(usize::MAX);
    // One run holds one set of resources: members must need the same.
    let resources = g.nodes[i].task.resources();
    let mut members = vec![i];
    let mut k = 0;
    while k < g.ready.len() && members.len() < max {
        let task = &g.nodes[g.ready[k]].task;
        if task.family() == family
            && task.batch_key().as_deref() == Some(key.as_str())
            && task.resources() == resources
        {
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

/// Tells the event stream which tasks run as one: `batched_into` for each member, then one
/// `batch_running` for the task that runs.
pub(super) fn announce_batch(
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
pub(super) fn settle_batch(
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
pub(super) fn copy_output(ws: &Workspace, from: &AnyTask, to: &AnyTask) -> Result<()> {
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
