//! What a run's events (`--events FILE`) say of each task, for the views: each task's last
//! word, and the outputs a dependent found corrupt since they were last made.

use std::collections::HashMap;
use std::path::Path;

use super::Mark;
use crate::error::{Error, Result};

/// Each task's standing from an events file; empty without one.
#[derive(Debug, Default)]
pub struct SeenInRun {
    last: HashMap<String, Mark>,
}

impl SeenInRun {
    /// Reads an events file (JSON lines; lines that are not events are passed over, as a file
    /// several processes append to may end in a partial line). A file not there yet tells of
    /// no run: the same `--events` flag serves a run and the views of it.
    pub fn read(path: &Path) -> Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Self::from_lines(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::io("cannot read events file", path, e)),
        }
    }

    /// The same, from the file's text.
    pub fn from_lines(text: &str) -> Self {
        let mut seen = SeenInRun::default();
        for line in text.lines() {
            if let Ok(e) = serde_json::from_str::<serde_json::Value>(line) {
                seen.take(&e);
            }
        }
        seen
    }

    /// Everything every worker shared ([`crate::event::shared::SharedLog`]), oldest first.
    pub fn read_shared(log: &crate::event::shared::SharedLog) -> Result<Self> {
        let mut seen = SeenInRun::default();
        // Nothing breaks off: the whole log is read.
        let _ = log.read_to_end(&mut Default::default(), |page| {
            page.iter().for_each(|e| seen.take(e));
            std::ops::ControlFlow::Continue(())
        })?;
        Ok(seen)
    }

    /// Takes in one event: what it says of its task replaces what earlier ones said.
    fn take(&mut self, e: &serde_json::Value) {
        let (Some(id), Some(kind)) = (e["task_id"].as_str(), e["event"].as_str()) else {
            return;
        };
        if let Some(upstream) = e["corrupt_input"].as_str() {
            self.last.insert(upstream.to_string(), Mark::Corrupt);
        }
        match kind {
            "failed" => self.last.insert(id.to_string(), Mark::Failed),
            "skipped" => self.last.insert(id.to_string(), Mark::NotRun),
            // Started again, made, found made: what an earlier event said no longer holds.
            "started" | "succeeded" | "already_committed" | "already_complete" | "recomputed" => {
                self.last.remove(id)
            }
            _ => None,
        };
    }

    /// The mark of a task: a corrupt output stays marked though it exists; an output that
    /// exists now outranks a failure the events tell of.
    pub(super) fn mark(&self, id: &crate::task::TaskId, complete: bool, external: bool) -> Mark {
        match (self.last.get(id.as_str()), complete) {
            (Some(Mark::Corrupt), true) => Mark::Corrupt,
            (_, true) => Mark::Complete,
            (Some(&m), false) if m != Mark::Corrupt => m,
            _ if external => Mark::MissingExternal,
            _ => Mark::Pending,
        }
    }
}
