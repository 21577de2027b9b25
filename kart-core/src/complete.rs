//! Deciding whether tasks are complete: one at a time (one existence check per output), or in
//! bulk from directory listings (one listing per directory that can hold outputs, never one
//! check per instance). A wrapper is complete when everything it requires is.

use rustc_hash::{FxHashMap, FxHashSet};

use crate::target::Workspace;
use crate::task::DynTask;
use crate::Result;

/// Completeness of one task, checking each output that exists.
pub fn is_complete(task: &dyn DynTask, ws: &Workspace) -> Result<bool> {
    if task.is_wrapper() {
        for req in task.requires() {
            if !is_complete(&*req, ws)? {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    task.output_exists(ws)
}

/// Appends the output keys that make `task` complete (a wrapper's are its requirements').
fn leaf_keys(task: &dyn DynTask, owner: usize, out: &mut Vec<(String, usize)>) -> Result<()> {
    if task.is_wrapper() {
        for req in task.requires() {
            leaf_keys(&*req, owner, out)?;
        }
    } else if let Some(key) = task.output_key()? {
        out.push((key, owner));
    }
    Ok(())
}

/// Bulk completeness: which of `tasks` are complete, deciding from directory listings.
///
/// All output keys are computed first and grouped by directory; then each directory is listed
/// once and its names checked together (directories are spread over the available cores).
/// Only exact names count: `00.json.tmp` or `00.attempt.1` do not complete `00.json`.
/// Returns the completeness of each task and the number of directories listed.
pub fn bulk_complete(tasks: &[&dyn DynTask], ws: &Workspace) -> Result<(Vec<bool>, usize)> {
    let mut keys = Vec::with_capacity(tasks.len());
    for (i, task) in tasks.iter().enumerate() {
        leaf_keys(*task, i, &mut keys)?;
    }
    let mut by_dir: FxHashMap<&str, Vec<(&str, usize)>> = FxHashMap::default();
    for (key, owner) in &keys {
        let (dir, name) = key.rsplit_once('/').unwrap_or(("", key));
        by_dir.entry(dir).or_default().push((name, *owner));
    }
    let groups: Vec<(&str, Vec<(&str, usize)>)> = by_dir.into_iter().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(groups.len())
        .max(1);
    let chunk = groups.len().div_ceil(threads).max(1);
    let missing: Vec<Result<Vec<usize>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> Result<Vec<usize>> {
                    let mut missing = Vec::new();
                    for (dir, entries) in part {
                        let names: FxHashSet<String> =
                            ws.store().list_dir(dir)?.into_iter().collect();
                        missing.extend(
                            entries
                                .iter()
                                .filter(|(name, _)| !names.contains(*name))
                                .map(|(_, owner)| *owner),
                        );
                    }
                    Ok(missing)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("listing thread panicked"))
            .collect()
    });
    let mut complete = vec![true; tasks.len()];
    for part in missing {
        for owner in part? {
            complete[owner] = false;
        }
    }
    Ok((complete, groups.len()))
}
