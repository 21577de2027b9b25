//! `invalidate`: removes outputs in a task's graph so the next run makes them again, or with
//! `--dry-run` lists them.

use kart_core::invalidate::{plan, remove, Selection};
use kart_core::{AnyTask, Locks, Workspace};

use crate::exit::{codes, Failure};
use crate::out::say;

pub(crate) fn invalidate(
    root: &AnyTask,
    ws: &Workspace,
    locks: &Locks,
    m: &clap::ArgMatches,
) -> Result<u8, Failure> {
    let selection = Selection {
        families: m
            .get_many::<String>("family")
            .map(|f| f.cloned().collect())
            .unwrap_or_default(),
        downstream: m.get_flag("downstream"),
    };
    // The run's own `--dry-run`: list, remove nothing.
    let dry_run = m.get_flag("dry_run");
    let doomed = plan(root, ws, &selection)?;
    if !doomed.iter().any(|d| d.remove) {
        say!("nothing to invalidate: no complete output in the selection");
        return Ok(codes::SUCCESS);
    }
    if !dry_run {
        remove(&doomed, ws, locks).map_err(|e| Failure {
            code: match e {
                kart_core::Error::LockedElsewhere(_) => codes::LOCKED_ELSEWHERE,
                _ => codes::TASK_FAILED,
            },
            message: e.to_string(),
        })?;
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for d in doomed.iter().filter(|d| d.remove) {
        let why = if d.downstream { " (downstream)" } else { "" };
        say!("{verb} {}{why}: {}", d.display, d.location);
    }
    Ok(codes::SUCCESS)
}
