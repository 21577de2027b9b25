//! What a task's output is, and how it is made, committed and loaded: a value stored in a
//! [`Format`](crate::format::Format) ([`Value`]), a file the task writes ([`File`]), or a
//! directory it fills ([`Dir`]). `#[task]` picks the kind from the function: an argument of
//! type `&mut OutputFile` or `&mut OutputDir` (or an output template ending in `/`) makes a
//! file or directory task; anything else returns a value.

mod dir;
mod file;
mod show;
mod value;

pub use dir::{Dir, OutputDir};
pub use file::{File, OutputFile};
pub use show::{show, Shown};
pub use value::Value;

pub use crate::task::kind::{stage, Failed, Kind, Made, OutputKind, Staged};

use std::path::PathBuf;

use crate::error::Result;
use crate::task::RunContext;

/// Where a staged temporary goes: beside the final path in a local workspace (so the rename
/// is atomic), else under this machine's state directory for the workspace.
fn staging_place(ctx: &RunContext, key: &str) -> Result<PathBuf> {
    let ws = ctx.workspace();
    let place = match ws.store().local_path(key) {
        Some(path) => path,
        None => crate::Workspace::state_dir_for(ws.root())
            .join("staging")
            .join(key.trim_end_matches('/')),
    };
    if let Some(dir) = place.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| crate::Error::io("cannot create directory", dir, e))?;
    }
    Ok(place)
}
