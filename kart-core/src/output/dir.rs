//! Directory outputs: the task fills a temporary directory (a model, a partitioned data set)
//! and kart moves it into place whole, never over another; dependents receive its path.

use std::path::{Path, PathBuf};

use super::{staging_place, Kind, OutputKind, Staged};
use crate::error::{Error, Result};
use crate::store::local::InFlight;
use crate::task::{DynTask, RunContext};

/// A directory output: the task takes `out: &mut OutputDir` and fills `out.path()`.
pub struct Dir;

/// The temporary directory a task fills. It is empty when the task starts; when the task
/// succeeds, kart fsyncs every file and moves the directory into place without replacing
/// one already there (`renameat2(RENAME_NOREPLACE)`; on object storage, uploads the files
/// and then writes the `_SUCCESS` marker, only if absent). If another writer got there
/// first, its directory is kept and this one removed. On an error, a panic, a cancel or a
/// timeout the temporary is removed.
pub struct OutputDir {
    temp: Option<tempfile::TempDir>,
    path: PathBuf,
    location: String,
    // Held while the task writes: another process's stale-temp sweep skips a locked one.
    _lock: std::fs::File,
    _in_flight: InFlight,
}

impl OutputDir {
    /// The directory to fill: a temporary one, not the final one.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// `path()` joined with `relative`.
    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.path.join(relative)
    }
    /// Where the output will be once committed (a path or URL), for messages.
    pub fn final_location(&self) -> &str {
        &self.location
    }
}

impl std::fmt::Debug for OutputDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "OutputDir({} for {})",
            self.path.display(),
            self.location
        )
    }
}

impl Staged<PathBuf> for Dir {
    fn stage(ctx: &RunContext, key: &str) -> Result<OutputDir> {
        let place = staging_place(ctx, key)?;
        let temp = crate::atomic_file::temp_dir_beside(&place)
            .map_err(|e| Error::io("cannot create temporary directory for", &place, e))?;
        let lock = std::fs::File::open(temp.path())
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|e| Error::io("cannot lock temporary directory for", &place, e))?;
        Ok(OutputDir {
            path: temp.path().to_path_buf(),
            _in_flight: InFlight::register(temp.path()),
            temp: Some(temp),
            location: ctx.workspace().store().location(key),
            _lock: lock,
        })
    }
}

impl Kind<PathBuf> for Dir {
    type Made = OutputDir;
    const OUTPUT: OutputKind = OutputKind::Dir;
    const SUFFIX: &'static str = "/";

    fn commit(mut dir: OutputDir, ctx: &RunContext, key: &str) -> Result<()> {
        let result = ctx.commit_with(key, &mut |store, before| {
            store.publish_dir(key, &dir.path, before)
        });
        // The store moved or removed the directory; whatever is at this path is not ours.
        if result.is_ok() {
            if let Some(temp) = dir.temp.take() {
                let _ = temp.keep();
            }
        }
        result
    }

    fn load(ctx: &RunContext, task: &dyn DynTask, key: &str) -> Result<PathBuf> {
        ctx.input_path(task, key)
    }
}
