//! The JSON-lines file of `--events`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{Event, EventSink};
use crate::error::{Error, Result};

/// Appends events as JSON lines to a file (`--events FILE`). Each line is written with one
/// `write` on an append-mode file, so several processes can share one file.
pub struct JsonLinesSink {
    file: Mutex<File>,
    path: PathBuf,
}

impl JsonLinesSink {
    /// Opens (creating) `path` for appending.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::io("cannot create directory for events file", dir, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| Error::io("cannot open events file", &path, e))?;
        Ok(JsonLinesSink {
            file: Mutex::new(file),
            path,
        })
    }
    /// The file written to.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl EventSink for JsonLinesSink {
    fn handle(&self, event: &Event) {
        let mut line = serde_json::to_vec(event).expect("events always serialize");
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = file.write_all(&line) {
            tracing::warn!("cannot append to events file {}: {e}", self.path.display());
        }
    }
}
