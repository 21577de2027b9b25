//! File outputs: the task writes a temporary file (with any library, or an external program)
//! and kart publishes it whole; dependents receive its path.

use std::path::{Path, PathBuf};

use super::{staging_place, Kind, OutputKind, Staged};
use crate::error::{Error, Result};
use crate::store::local::InFlight;
use crate::task::{DynTask, RunContext};

/// A file output: the task takes `out: &mut OutputFile` and writes `out.path()`.
pub struct File;

/// The temporary file a task writes its output to. It exists (empty) when the task starts,
/// beside the final path in a local workspace; the task may overwrite or replace it. When
/// the task succeeds, kart fsyncs it and renames it into place (on object storage, uploads
/// it); on an error, a panic, a cancel or a timeout it is removed.
pub struct OutputFile {
    temp: Option<tempfile::TempPath>,
    path: PathBuf,
    location: String,
    // Held while the task writes: another process's stale-temp sweep skips a locked file.
    _lock: std::fs::File,
    _in_flight: InFlight,
}

impl OutputFile {
    /// Where to write: a temporary path, not the final one.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Opens the temporary file for writing, from its start.
    pub fn create(&self) -> std::io::Result<std::fs::File> {
        std::fs::File::create(&self.path)
    }
    /// Where the output will be once committed (a path or URL), for messages.
    pub fn final_location(&self) -> &str {
        &self.location
    }
}

impl std::fmt::Debug for OutputFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OutputFile({} for {})",
            self.path.display(),
            self.location
        )
    }
}

impl Staged<PathBuf> for File {
    fn stage(ctx: &RunContext, key: &str) -> Result<OutputFile> {
        let place = staging_place(ctx, key)?;
        let temp = crate::atomic_file::temp_beside(&place)
            .map_err(|e| Error::io("cannot create temporary file for", &place, e))?;
        let (lock, temp) = temp.into_parts();
        lock.lock()
            .map_err(|e| Error::io("cannot lock temporary file for", &place, e))?;
        Ok(OutputFile {
            path: temp.to_path_buf(),
            _in_flight: InFlight::register(&temp),
            temp: Some(temp),
            location: ctx.workspace().store().location(key),
            _lock: lock,
        })
    }
}

impl Kind<PathBuf> for File {
    type Made = OutputFile;
    const OUTPUT: OutputKind = OutputKind::File;
    const SUFFIX: &'static str = "";

    fn commit(mut file: OutputFile, ctx: &RunContext, key: &str) -> Result<()> {
        let result = ctx.commit_with(key, &mut |store, before| {
            store.publish_file(key, &file.path, before)
        });
        // The store moved or removed the file; the one at this path, if any, is not ours.
        if result.is_ok() {
            if let Some(temp) = file.temp.take() {
                let _ = temp.keep();
            }
        }
        result
    }

    fn load(ctx: &RunContext, task: &dyn DynTask, key: &str) -> Result<PathBuf> {
        ctx.input_path(task, key)
    }
}
