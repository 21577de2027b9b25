//! What `<bin> show` prints of one task's output: a value as JSON, a file's or directory's
//! place and size, or that it is not complete.

use serde_json::Value;

use super::OutputKind;
use crate::error::{Error, Result};
use crate::task::DynTask;
use crate::workspace::Workspace;

/// One task's output, as `show` describes it.
#[derive(Debug)]
pub enum Shown {
    /// A wrapper has no output; it is complete when all it requires is.
    Wrapper,
    /// The family decides its completeness itself (`complete`, `bulk_complete`, a table's
    /// marker): what its rule says.
    ByRule {
        /// Whether it is complete.
        complete: bool,
        /// Its output kind (`Table` for a table task).
        kind: OutputKind,
    },
    /// The output is not there.
    Incomplete { location: String },
    /// A value output as JSON.
    Json(Value),
    /// A value output whose format cannot show itself as JSON, a file, or a directory.
    Stored {
        kind: OutputKind,
        location: String,
        /// Bytes (a directory's: all its files').
        size: u64,
        /// A directory's files (its marker included).
        files: Option<usize>,
    },
}

/// Describes `task`'s output in `ws`.
pub fn show(task: &dyn DynTask, ws: &Workspace) -> Result<Shown> {
    let Some(key) = task.output_key()? else {
        return Ok(Shown::Wrapper);
    };
    if task.decides_completeness() {
        return Ok(Shown::ByRule {
            complete: task.output_exists(ws)?,
            kind: task.output_kind(),
        });
    }
    let store = ws.store();
    let location = store.location(&key);
    if !ws.exists(&key)? {
        return Ok(Shown::Incomplete { location });
    }
    let kind = task.output_kind();
    match kind {
        OutputKind::Value => {
            let bytes = store.read(&key)?;
            let size = bytes.len() as u64;
            match task.output_json(bytes) {
                Some(Ok(value)) => Ok(Shown::Json(value)),
                Some(Err(e)) => Err(Error::CorruptOutput {
                    path: location.into(),
                    task_id: task.id().to_string(),
                    message: e.to_string(),
                }),
                None => Ok(Shown::Stored {
                    kind,
                    location,
                    size,
                    files: None,
                }),
            }
        }
        OutputKind::File => Ok(Shown::Stored {
            kind,
            location,
            size: store.head_size(&key)?,
            files: None,
        }),
        // Tables decide by their marker, above.
        OutputKind::Dir | OutputKind::Table => {
            let files = store.list_under(&key)?;
            Ok(Shown::Stored {
                kind,
                location,
                size: files.iter().map(|f| f.size).sum(),
                files: Some(files.len()),
            })
        }
    }
}
