//! Deciding whether tasks are complete: one at a time (one existence check per output), or in
//! bulk from directory listings (one listing per directory that can hold outputs, never one
//! check per instance). A wrapper is complete when everything it requires is.

use std::collections::{HashMap, HashSet};

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

/// Answers completeness from directory listings, each directory listed at most once.
/// Only exact names count: `00.json.tmp` or `00.attempt.1` do not complete `00.json`.
pub struct BulkListing<'a> {
    ws: &'a Workspace,
    dirs: HashMap<String, HashSet<String>>,
    listings: usize,
}

impl<'a> BulkListing<'a> {
    /// An empty cache over `ws`.
    pub fn new(ws: &'a Workspace) -> Self {
        BulkListing {
            ws,
            dirs: HashMap::new(),
            listings: 0,
        }
    }

    /// How many directories were listed.
    pub fn listings(&self) -> usize {
        self.listings
    }

    /// Whether `key` exists, from the listing of its directory.
    pub fn exists(&mut self, key: &str) -> Result<bool> {
        let (dir, name) = key.rsplit_once('/').unwrap_or(("", key));
        if let Some(names) = self.dirs.get(dir) {
            return Ok(names.contains(name));
        }
        let names = self.ws.store().list_dir(dir)?;
        self.listings += 1;
        let found = names.contains(name);
        self.dirs.insert(dir.to_string(), names);
        Ok(found)
    }

    /// Completeness of `task` (wrappers compose over their requirements).
    pub fn is_complete(&mut self, task: &dyn DynTask) -> Result<bool> {
        if task.is_wrapper() {
            for req in task.requires() {
                if !self.is_complete(&*req)? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        match task.output_key()? {
            Some(key) => self.exists(&key),
            None => Ok(false),
        }
    }
}
