//! Invalidation (`<bin> invalidate`): removing complete outputs so the next run makes them
//! again — a task's own, those of chosen families in its graph, and with `downstream` every
//! complete task in the graph that depends on them (gokart's `rerun`). Nothing is removed
//! while any of those tasks is claimed or locked by a worker: the removal takes each one's
//! claim, run lock and output's cache lock first, and refuses if one is held.

use std::collections::HashSet;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::lock::{LockGuard, Locks};
use crate::task::AnyTask;
use crate::walk::expand_all;
use crate::workspace::Workspace;

/// What to invalidate in the graph of one task.
#[derive(Debug, Default, Clone)]
pub struct Selection {
    /// Families whose tasks in the graph are invalidated; empty: the root itself.
    pub families: Vec<String>,
    /// Also every complete task in the graph that depends on a selected one.
    pub downstream: bool,
}

/// One output to remove.
#[derive(Debug, Clone)]
pub struct Doomed {
    /// `Family(params)`.
    pub display: String,
    /// The task's id.
    pub id: crate::TaskId,
    /// Where the output is (path or URL).
    pub location: String,
    /// Its key in the workspace.
    pub key: String,
    /// Chosen because it depends on a selected task.
    pub downstream: bool,
    /// Its output goes. When false, the task is incomplete and only guarded: it must not be
    /// running while its input is removed.
    pub remove: bool,
    /// Its run lock's key (`#[run_with_lock]`), if it has one.
    run_lock: Option<String>,
    /// A table task: its marker row goes, not a file.
    table: Option<AnyTask>,
}

/// The complete outputs `selection` names in the graph of `root`, requirements before the
/// tasks that need them, and the incomplete tasks that need them (guarded: none may be
/// running). External data is never chosen: kart did not make it.
pub fn plan(root: &AnyTask, ws: &Workspace, selection: &Selection) -> Result<Vec<Doomed>> {
    let walk = expand_all(std::slice::from_ref(root), ws)?;
    let unknown = selection
        .families
        .iter()
        .find(|f| !walk.tasks.iter().any(|t| t.family() == f.as_str()));
    if let Some(family) = unknown {
        return Err(Error::InvalidOption {
            what: "family".into(),
            message: format!("no {family} task in the graph of {}", root.display()),
        });
    }
    let mut chosen: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = if selection.families.is_empty() {
        walk.roots.clone()
    } else {
        (0..walk.tasks.len())
            .filter(|&i| {
                selection
                    .families
                    .iter()
                    .any(|f| f == walk.tasks[i].family())
            })
            .collect()
    };
    // A wrapper stands for what it wraps.
    while let Some(i) = stack.pop() {
        if walk.tasks[i].is_wrapper() {
            stack.extend(&walk.deps[i]);
        } else {
            chosen.insert(i);
        }
    }
    // Everything that needs a chosen task: removed with `downstream`; either way, one of
    // them running right now would commit a result made from an input about to go.
    let mut dependents: HashSet<usize> = HashSet::new();
    let mut stack: Vec<usize> = chosen.iter().copied().collect();
    while let Some(i) = stack.pop() {
        for &d in &walk.dependents[i] {
            if !chosen.contains(&d) && dependents.insert(d) {
                stack.push(d);
            }
        }
    }
    let mut doomed = Vec::new();
    for i in walk.order()? {
        let task = &walk.tasks[i];
        let below = dependents.contains(&i);
        // A family with its own completeness rule is not made incomplete by removing a file:
        // what its rule looks at is the user's to undo.
        let is_table = task.output_kind() == crate::output::OutputKind::Table;
        if !(chosen.contains(&i) || below)
            || task.is_wrapper()
            || task.is_external()
            || (task.decides_completeness() && !is_table)
        {
            continue;
        }
        let Some(key) = task.output_key()? else {
            continue;
        };
        let complete = match is_table {
            true => task.output_exists(ws)?,
            false => ws.exists(&key)?,
        };
        let remove = complete && (chosen.contains(&i) || selection.downstream);
        if complete && !remove {
            continue;
        }
        doomed.push(Doomed {
            display: task.display(),
            id: walk.ids[i].clone(),
            location: match is_table {
                true => format!("its marker row in {}", crate::db::MARKER_TABLE),
                false => ws.store().location(&key),
            },
            table: is_table.then(|| task.clone()),
            key,
            downstream: below,
            remove,
            run_lock: task.run_lock_key(),
        });
    }
    Ok(doomed)
}

/// Removes the planned outputs, requirements first (so an invalidation cut short is
/// finished by running it again). First it takes, for every planned task (guarded ones too),
/// its claim, its run lock and its output's cache lock; if any is held elsewhere, nothing is
/// removed.
pub fn remove(doomed: &[Doomed], ws: &Workspace, locks: &Locks) -> Result<()> {
    let mut held: Vec<LockGuard> = Vec::new();
    for d in doomed {
        let keys = [crate::keys::claim(&d.id), crate::keys::cache(&d.key)];
        for key in keys.into_iter().chain(d.run_lock.clone()) {
            match locks
                .lock(key.clone())
                .ttl(Duration::from_secs(60))
                .try_acquire()?
            {
                Some(guard) => held.push(guard),
                None => {
                    return Err(Error::LockedElsewhere(format!(
                        "{} is in use ({}): nothing was invalidated; try again when it is free",
                        d.display,
                        locks.holder_of(&key)
                    )))
                }
            }
        }
    }
    for d in doomed.iter().filter(|d| d.remove) {
        match d.table.as_ref().and_then(|t| t.forget()) {
            Some(forgotten) => forgotten?,
            None => ws.store().remove(&d.key)?,
        }
    }
    drop(held);
    Ok(())
}
