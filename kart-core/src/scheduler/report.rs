//! What a finished run reports, task by task.

use super::graph::{Node, State};
use crate::summary::{RunReport, TaskOutcome, TaskReport};

pub(super) fn report(nodes: Vec<Node>, roots: &[usize], interrupted: bool) -> RunReport {
    let tasks = nodes
        .iter()
        .map(|n| TaskReport {
            id: n.id.clone(),
            family: n.task.family(),
            display: n.task.display(),
            params: n.task.params_json(),
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
    RunReport::new(tasks, roots.to_vec())
}
