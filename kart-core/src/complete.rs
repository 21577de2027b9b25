//! Deciding whether tasks are complete: one at a time (one existence check per output), or in
//! bulk from directory listings (one listing per directory that can hold outputs, never one
//! check per instance; directory outputs by their markers). A wrapper is complete when
//! everything it requires is.

use rustc_hash::FxHashMap;

use crate::error::{Error, Result};
use crate::parallel::{in_parallel, threads};
use crate::task::{AnyTask, DynTask};
use crate::walk::leaves;
use crate::workspace::Workspace;

/// Completeness of one task: its output exists, or for a wrapper, the outputs of every task
/// below it do (see [`leaves`]); stops at the first missing one.
pub fn is_complete(task: &dyn DynTask, ws: &Workspace) -> Result<bool> {
    let mut complete = true;
    leaves(task, |leaf| {
        complete = leaf.output_exists(ws)?;
        Ok(complete)
    })?;
    Ok(complete)
}

/// The output names wanted in one directory: packed strings (a range can want hundreds of
/// thousands; one allocation each would dominate the decision), one per thread that found
/// them, so merging the threads' findings copies nothing.
#[derive(Default)]
struct DirWants {
    parts: Vec<Packed>,
    /// Whether some names are of directory outputs (`name/`).
    dirs: bool,
}

/// Names packed into one string.
struct Packed {
    names: String,
    /// End of each name in `names`, and the task it completes: `u32`s, as fresh pages cost
    /// a range more than anything it computes (a part holds at most [`LARGEST_PART`] bytes
    /// of names and one more name, and a check at most `u32::MAX` tasks).
    entries: Vec<(u32, u32)>,
}

/// Bytes of names after which a part is followed by another instead of a bigger one.
const LARGEST_PART: usize = 1 << 20;

/// Longest output name matched against a listing: no store holds a longer one (names on
/// Linux are at most 255 bytes, object keys 1 024), so its task is not complete.
const LONGEST_NAME: usize = 64 * 1024;

impl Packed {
    /// Room for `bytes` of names (and entries for names of 8 bytes on average).
    fn with_capacity(bytes: usize) -> Self {
        Packed {
            names: String::with_capacity(bytes),
            entries: Vec::with_capacity(bytes / 8),
        }
    }
}

impl DirWants {
    fn push(&mut self, name: &str, owner: u32) {
        // A full part is followed by a bigger one rather than grown: growing would copy
        // every name packed so far.
        let full = match self.parts.last() {
            Some(part) => {
                part.names.len() + name.len() > part.names.capacity()
                    || part.entries.len() == part.entries.capacity()
            }
            None => true,
        };
        if full {
            let size = self.parts.last().map_or(0, |p| p.names.capacity());
            let size = (2 * size).clamp(1024, LARGEST_PART);
            self.parts.push(Packed::with_capacity(size));
        }
        let part = self.parts.last_mut().expect("one part at least");
        part.names.push_str(name);
        let end = u32::try_from(part.names.len()).expect("parts and names are bounded");
        part.entries.push((end, owner));
        self.dirs |= name.ends_with('/');
    }

    fn append(&mut self, other: DirWants) {
        self.dirs |= other.dirs;
        self.parts.extend(other.parts);
    }

    fn len(&self) -> usize {
        self.parts.iter().map(|p| p.entries.len()).sum()
    }

    fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.parts.iter().flat_map(|part| {
            let mut start = 0;
            part.entries.iter().map(move |&(end, owner)| {
                let name = &part.names[start..end as usize];
                start = end as usize;
                (name, owner)
            })
        })
    }

    /// The owners whose name is not among those `visit` reports.
    fn missing(&self, visit: impl FnOnce(&mut dyn FnMut(&[u8])) -> Result<()>) -> Result<Vec<u32>> {
        // Each distinct name gets one slot, so a name wanted twice is looked up once.
        let mut slots: FxHashMap<&[u8], usize> = FxHashMap::default();
        slots.reserve(self.len());
        let slot_of: Vec<usize> = self
            .iter()
            .map(|(name, _)| {
                let next = slots.len();
                *slots.entry(name.as_bytes()).or_insert(next)
            })
            .collect();
        let mut seen = vec![false; slots.len()];
        visit(&mut |name| {
            if let Some(&slot) = slots.get(name) {
                seen[slot] = true;
            }
        })?;
        Ok(self
            .iter()
            .zip(slot_of)
            .filter(|(_, slot)| !seen[*slot])
            .map(|((_, owner), _)| owner)
            .collect())
    }
}

/// Adds the output keys that make `task` complete (a wrapper's are its requirements'),
/// grouped by directory. A leaf whose family decides its completeness itself is asked at
/// once; `missing` gets `owner` when it says no.
fn want_leaves(
    task: &dyn DynTask,
    owner: u32,
    wants: &mut ByDir,
    ws: &Workspace,
    missing: &mut Vec<u32>,
) -> Result<()> {
    leaves(task, |leaf| {
        let complete = match leaf.decides_completeness() {
            true => leaf.output_exists(ws)?,
            false => wants.want(leaf, owner)?,
        };
        if !complete {
            missing.push(owner);
        }
        Ok(complete)
    })
}

/// Output names wanted, by directory.
#[derive(Default)]
struct ByDir {
    dirs: FxHashMap<String, DirWants>,
    /// Each key is written here before it is split, so computing one allocates nothing.
    key: String,
}

impl ByDir {
    /// Adds the output of `task` (none for a wrapper); `false` when no listing can hold it
    /// (a name over [`LONGEST_NAME`]).
    fn want(&mut self, task: &dyn DynTask, owner: u32) -> Result<bool> {
        self.key.clear();
        Ok(!task.push_output_key(&mut self.key)? || want_key(&mut self.dirs, &self.key, owner))
    }
}

/// The same, one entry per directory.
type Groups = Vec<(String, DirWants)>;

/// Adds output `key` to the names wanted in its directory: a directory output `a/b/` is the
/// name `b/` in `a`. `false` for a name over [`LONGEST_NAME`], which is not added.
fn want_key(wants: &mut FxHashMap<String, DirWants>, key: &str, owner: u32) -> bool {
    let body = key.strip_suffix('/').unwrap_or(key);
    // A byte loop: these keys are short, and `memrchr`'s setup costs more than it saves.
    let (dir, name) = match body.bytes().rposition(|b| b == b'/') {
        Some(slash) => (&key[..slash], &key[slash + 1..]),
        None => ("", key),
    };
    if name.len() > LONGEST_NAME {
        return false;
    }
    match wants.get_mut(dir) {
        Some(w) => w.push(name, owner),
        None => wants.entry(dir.to_string()).or_default().push(name, owner),
    }
    true
}

/// Groups `items` by the directories of their outputs, `want` adding each item's (items
/// spread over the cores, each known by its index); also returns the owners `want` decided
/// missing itself.
fn group_by_dir<T: Sync>(
    items: &[T],
    want: impl Fn(&T, u32, &mut ByDir, &mut Vec<u32>) -> Result<()> + Sync,
) -> Result<(Groups, Vec<u32>)> {
    let threads = threads();
    // Small sets stay on this thread: a spawn costs more than a few hundred keys.
    let parts = in_parallel(items, threads, 256, |offset, part| {
        let mut wants = ByDir::default();
        let mut missing = Vec::new();
        for (i, item) in (offset..).zip(part) {
            let owner = u32::try_from(i).map_err(|_| Error::InvalidOption {
                what: "completeness check".into(),
                message: format!("{} tasks at once; at most {}", items.len(), u32::MAX),
            })?;
            want(item, owner, &mut wants, &mut missing)?;
        }
        Ok(vec![(wants, missing)])
    })?;
    let mut by_dir = FxHashMap::<String, DirWants>::default();
    let mut decided_missing = Vec::new();
    for (wants, missing) in parts {
        decided_missing.extend(missing);
        for (dir, w) in wants.dirs {
            match by_dir.get_mut(&dir) {
                Some(all) => all.append(w),
                None => {
                    by_dir.insert(dir, w);
                }
            }
        }
    }
    Ok((by_dir.into_iter().collect(), decided_missing))
}

/// Lists each group's directory once (directories spread over the cores): for each group,
/// the owners whose names it lacks, or the listing's error.
fn list_missing(groups: &[(String, DirWants)], ws: &Workspace) -> Vec<Result<Vec<u32>>> {
    let threads = threads();
    let listed = in_parallel(groups, threads, 1, |_, part| {
        Ok(part
            .iter()
            .map(|(dir, wants)| {
                wants.missing(|each| {
                    ws.store().visit_dir(dir, each)?;
                    match wants.dirs {
                        true => ws
                            .store()
                            .visit_complete_dirs(dir, &mut |name| each(name.as_bytes())),
                        false => Ok(()),
                    }
                })
            })
            .collect())
    });
    listed.expect("listing collects each directory's error")
}

/// Bulk completeness: which of `tasks` are complete, deciding from directory listings.
///
/// Output keys are computed first (tasks spread over the available cores) and grouped by
/// directory; then each directory is listed once and its names checked against the keys
/// wanted there (directories spread over the cores). Only exact names count: `00.json.tmp`
/// or `00.attempt.1` do not complete `00.json`.
/// Returns the completeness of each task and the number of directories listed.
///
/// A family with its own `bulk_complete` decides all its candidates in one call instead (no
/// listing); leaves whose family has its own `complete` are asked one by one.
pub fn bulk_complete(tasks: &[&dyn DynTask], ws: &Workspace) -> Result<(Vec<bool>, usize)> {
    if let Some(first) = tasks.first() {
        if tasks.iter().all(|t| t.family() == first.family()) {
            if let Some(complete) = first.bulk_complete_family(tasks, ws) {
                return Ok((complete?, 0));
            }
        }
    }
    let started = std::time::Instant::now();
    let (groups, decided_missing) = group_by_dir(tasks, |task, owner, wants, missing| {
        want_leaves(*task, owner, wants, ws, missing)
    })?;
    let keyed = started.elapsed();
    let mut missing = Vec::new();
    for listed in list_missing(&groups, ws) {
        missing.extend(listed?);
    }
    tracing::debug!(
        "bulk completeness: {} output keys in {:.1} ms, {} directories listed in {:.1} ms",
        groups.iter().map(|(_, w)| w.len()).sum::<usize>(),
        keyed.as_secs_f64() * 1000.0,
        groups.len(),
        (started.elapsed() - keyed).as_secs_f64() * 1000.0
    );
    let mut complete = vec![true; tasks.len()];
    for owner in missing.into_iter().chain(decided_missing) {
        complete[owner as usize] = false;
    }
    Ok((complete, groups.len()))
}

/// Fewest outputs wanted in one directory for the graph to list it rather than check each:
/// a listing reads the whole directory, so it pays when many of its names are wanted.
pub(crate) const LIST_FROM: usize = 64;

/// What the graph learns from listings about `tasks` (its tasks met together): for each,
/// `Some(complete)` when at least [`LIST_FROM`] of the outputs wanted are in its directory,
/// and at least a tenth of the directory as far as the store can tell, and it was listed;
/// else `None` (the task is checked on its own). Wrappers, tasks whose family
/// decides its completeness itself, and any task whose key or listing fails are left to
/// their own check, which names the error.
pub(crate) fn by_listing(tasks: &[AnyTask], ws: &Workspace) -> Vec<Option<bool>> {
    let mut known = vec![None; tasks.len()];
    if tasks.len() < LIST_FROM {
        return known;
    }
    let grouped = group_by_dir(tasks, |task, owner, wants, _| {
        if !task.is_wrapper() && !task.decides_completeness() {
            // A task whose key fails is left to its own check, which names the error.
            let _ = wants.want(&**task, owner);
        }
        Ok(())
    });
    let Ok((mut groups, _)) = grouped else {
        return known;
    };
    // A listing reads every entry; a check, one. Past a tenth of a directory wanted, the
    // listing is cheaper.
    groups.retain(|(dir, wants)| {
        let wanted = wants.len();
        wanted >= LIST_FROM
            && ws
                .store()
                .entries_hint(dir)
                .is_none_or(|entries| wanted as u64 * 10 >= entries)
    });
    for ((_, wants), listed) in groups.iter().zip(list_missing(&groups, ws)) {
        let Ok(missing) = listed else { continue };
        for (_, owner) in wants.iter() {
            known[owner as usize] = Some(true);
        }
        for owner in missing {
            known[owner as usize] = Some(false);
        }
    }
    known
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_packed_over_many_parts_come_back_in_order_with_their_owners() {
        let mut wants = FxHashMap::default();
        let names: Vec<String> = (0..200_000).map(|i| format!("{i:07}.json")).collect();
        for (owner, name) in (0..).zip(&names) {
            assert!(want_key(&mut wants, &format!("daily/D07/{name}"), owner));
        }
        let dir = &wants["daily/D07"];
        assert!(dir.parts.len() > 5, "{} parts", dir.parts.len());
        assert!(dir.parts.iter().all(|p| p.names.capacity() <= LARGEST_PART));
        let back: Vec<(&str, u32)> = dir.iter().collect();
        let expected: Vec<(&str, u32)> = (0..).zip(&names).map(|(o, n)| (n.as_str(), o)).collect();
        assert_eq!(back, expected);
    }

    #[test]
    fn a_name_no_store_can_hold_is_not_wanted_and_its_task_not_complete() {
        let mut wants = FxHashMap::default();
        let long = "x".repeat(LONGEST_NAME + 1);
        assert!(!want_key(&mut wants, &format!("daily/{long}"), 0));
        assert!(wants.is_empty());
        assert!(want_key(
            &mut wants,
            &format!("daily/{}", "x".repeat(255)),
            1
        ));
        assert_eq!(wants["daily"].len(), 1);
    }
}
