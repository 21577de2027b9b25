//! What a finished run reports, task by task.

use super::graph::{Node, State};
use crate::event::{Event, EventKind, Events};
use crate::summary::{RunReport, TaskOutcome, TaskReport};

/// The report of a run's nodes. A task the run ended without settling (stopped before it
/// started, never runnable, left claimed elsewhere) gets its `skipped` event here, so every
/// task that did not succeed ends with an event saying why.
pub(super) fn report(
    nodes: Vec<Node>,
    roots: &[usize],
    interrupted: bool,
    events: &Events,
) -> RunReport {
    let tasks: Vec<TaskReport> = nodes
        .iter()
        .map(|n| TaskReport {
            id: n.id.clone(),
            family: n.task.family(),
            task: n.task.clone(),
            attempts: n.attempts,
            batched_into: n.batched_into.clone(),
            elsewhere: n.elsewhere.clone(),
            outcome: match &n.state {
                State::AlreadyComplete => TaskOutcome::AlreadyComplete,
                State::CompletedElsewhere => TaskOutcome::CompletedElsewhere,
                State::Done => TaskOutcome::Succeeded,
                State::Failed(e) => TaskOutcome::Failed(e.clone()),
                State::Skipped(r) => TaskOutcome::Skipped(r.clone()),
                State::LockedOut(e) => TaskOutcome::LockedElsewhere(e.clone()),
                State::Missing(e) => TaskOutcome::MissingData(e.clone()),
                State::ClaimedElsewhere => TaskOutcome::Skipped(format!(
                    "claimed by {}, which had not finished it when this run ended",
                    n.elsewhere.as_deref().unwrap_or("another worker")
                )),
                State::Pending | State::Running | State::RetryWaiting if interrupted => {
                    TaskOutcome::Skipped("interrupted before it started".into())
                }
                State::Pending | State::Running | State::RetryWaiting => {
                    TaskOutcome::Skipped("never became runnable".into())
                }
            },
        })
        .collect();
    for (n, t) in nodes.iter().zip(&tasks) {
        let unsettled = matches!(
            n.state,
            State::Pending | State::Running | State::RetryWaiting | State::ClaimedElsewhere
        );
        if let (true, TaskOutcome::Skipped(reason)) = (unsettled, &t.outcome) {
            events.emit(
                Event::new(EventKind::Skipped)
                    .task(&n.id, n.task.family())
                    .params(n.task.params_json())
                    .worker(crate::event::SCHEDULER)
                    .with("reason", reason.as_str()),
            );
        }
    }
    RunReport::new(tasks, roots.to_vec())
}
