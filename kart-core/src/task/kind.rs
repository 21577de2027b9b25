//! The contract between a task and its output: which kind it is, what its run makes, and how
//! that is committed and loaded. The kinds themselves (a value, a file, a directory) are in
//! [`crate::output`], a table in [`crate::db`].

use super::{DynTask, RunContext, TaskDef};
use crate::error::{BoxError, Result};

/// The kinds of output, as a family's static facts name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// A value in a format; dependents receive the value.
    Value,
    /// A file; dependents receive its path.
    File,
    /// A directory; dependents receive its path.
    Dir,
    /// Rows in a database table, with a marker row (`#[task(table = ...)]`).
    Table,
}

impl OutputKind {
    /// Its name, for messages and listings.
    pub fn name(self) -> &'static str {
        match self {
            OutputKind::Value => "value",
            OutputKind::File => "file",
            OutputKind::Dir => "directory",
            OutputKind::Table => "table",
        }
    }
}

/// How an output of type `T` (what dependents receive) is committed and loaded.
pub trait Kind<T>: 'static {
    /// What a run hands over to be committed: the value, or the staged file or directory.
    type Made: Send;
    /// Which kind this is.
    const OUTPUT: OutputKind;
    /// How a default output path ends: the format's extension (after a `.`), nothing for
    /// a file, `/` for a directory.
    const SUFFIX: &'static str;
    /// Publishes what the run made at `key`, atomically, through `ctx`'s commit.
    fn commit(made: Self::Made, ctx: &RunContext, key: &str) -> Result<()>;
    /// What a dependent receives from the committed output of `task` at `key`.
    fn load(ctx: &RunContext, task: &dyn DynTask, key: &str) -> Result<T>;
    /// A value output's bytes as JSON, for `<bin> show`; `None` for other kinds.
    fn to_json(bytes: Vec<u8>) -> Option<std::result::Result<serde_json::Value, BoxError>> {
        let _ = bytes;
        None
    }
}

/// The kind `#[task]` gives a task it could not compile: never committed or loaded, it keeps
/// the errors to those the user made.
#[doc(hidden)]
pub struct Failed;

impl<T: Send + 'static> Kind<T> for Failed {
    type Made = T;
    const OUTPUT: OutputKind = OutputKind::Value;
    const SUFFIX: &'static str = "";
    fn commit(_: T, _: &RunContext, _: &str) -> Result<()> {
        unreachable!("a task that did not compile is never run")
    }
    fn load(_: &RunContext, _: &dyn DynTask, _: &str) -> Result<T> {
        unreachable!("a task that did not compile is never run")
    }
}

/// What the run of task type `T` makes.
pub type Made<T> = <<T as TaskDef>::Kind as Kind<<T as TaskDef>::Output>>::Made;

/// Kinds the task writes in place: kart prepares the place before the task runs.
pub trait Staged<T>: Kind<T> {
    /// A fresh temporary place for the output at `key`.
    fn stage(ctx: &RunContext, key: &str) -> Result<Self::Made>;
}

/// The staged place of `task`'s output (for generated code).
pub fn stage<T: TaskDef>(task: &T, ctx: &RunContext) -> Result<Made<T>>
where
    T::Kind: Staged<T::Output>,
{
    let key = DynTask::output_key(task)?.expect("file and directory tasks have an output");
    <T::Kind as Staged<T::Output>>::stage(ctx, &key)
}
