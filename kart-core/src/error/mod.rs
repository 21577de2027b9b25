//! The one error type of the runtime ([`Error`]): every variant carries what a user needs to
//! act on it — the file, the task, the parameter, the address. A task's own code fails with a
//! [`TaskError`] (`task`), which becomes [`Error::Task`].

mod task;

use std::path::PathBuf;

pub use task::{BoxError, IntoTaskError, TaskError, TaskResult};

/// Result alias used throughout kart and by task functions.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in kart, each rendered as one line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No registered task has this name.
    #[error("unknown task `{name}`{}", did_you_mean(.suggestion))]
    UnknownTask {
        name: String,
        suggestion: Option<String>,
    },

    /// A parameter given on the command line, in the environment or in config is not declared.
    #[error("unknown parameter `{param}` for task {family}{}", did_you_mean(.suggestion))]
    UnknownParam {
        family: String,
        param: String,
        suggestion: Option<String>,
    },

    /// A parameter without default was not given.
    #[error("missing parameter `--{}` for task {family} (expected {expected})", .param.replace('_', "-"))]
    MissingParam {
        family: String,
        param: String,
        expected: String,
    },

    /// A parameter value could not be parsed.
    #[error("{0}")]
    InvalidParam(Box<InvalidParam>),

    /// The configuration file is malformed.
    #[error("bad config {}:{line}: {message}", .path.display())]
    Config {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// An option outside any file (flag, environment variable) is malformed.
    #[error("invalid {what}: {message}")]
    InvalidOption { what: String, message: String },

    /// The workspace cannot be created or written.
    #[error("workspace {} is not writable: {source}", .path.display())]
    Workspace {
        path: PathBuf,
        source: std::io::Error,
    },

    /// Reading or writing one output failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// A cached output exists but cannot be decoded: it is corrupt or from another version.
    #[error("corrupt cached output {} of task {task_id}: {message} (delete the file to recompute it)", .path.display())]
    CorruptOutput {
        path: PathBuf,
        task_id: String,
        message: String,
    },

    /// A task's output template produced a path that is not allowed.
    #[error("task {task_id}: invalid output path {path:?}: {message}")]
    OutputPath {
        task_id: String,
        path: String,
        message: String,
    },

    /// Two registered tasks share one family name.
    #[error("task name `{name}` is registered twice: {first} and {second}")]
    DuplicateTask {
        name: String,
        first: String,
        second: String,
    },

    /// The dependency graph has a cycle.
    #[error("dependency cycle: {0}")]
    Cycle(String),

    /// An object-storage workspace failed (unreachable, missing bucket, denied, ...).
    #[error("{url}: {message}")]
    RemoteWorkspace { url: String, message: String },

    /// A lock backend failed or a lock could not be had in time.
    #[error("{backend}: {message}")]
    Lock { backend: String, message: String },

    /// The task's run lock is held by another worker (with fail-on-collision).
    #[error("locked elsewhere: {0}")]
    LockedElsewhere(String),

    /// A task's own code reported failure (with its whole cause chain).
    #[error("{0}")]
    Task(TaskError),

    /// A task was cancelled (lost lock, timeout, shutdown).
    #[error("cancelled: {0}")]
    Cancelled(String),
}

/// Details of [`Error::InvalidParam`].
#[derive(Debug, thiserror::Error)]
#[error("invalid value {given:?} for parameter `{param}` of {family} (from {source_name}): expected {expected}: {reason}")]
pub struct InvalidParam {
    pub family: String,
    pub param: String,
    pub given: String,
    pub expected: String,
    pub reason: String,
    pub source_name: String,
}

fn did_you_mean(s: &Option<String>) -> String {
    match s {
        Some(s) => format!(" (did you mean `{s}`?)"),
        None => String::new(),
    }
}

impl Error {
    /// A task failure with just a message (task code usually returns
    /// [`TaskError::msg`] or uses `?`).
    ///
    /// ```
    /// let err = kart_core::Error::msg("upstream API returned 503");
    /// assert_eq!(err.to_string(), "upstream API returned 503");
    /// ```
    pub fn msg(message: impl std::fmt::Display) -> Self {
        Error::Task(TaskError::msg(message))
    }

    /// The id of the task whose corrupt output caused this error, also when a task body
    /// passed it on through `?`: views mark that output rather than call it complete.
    pub fn corrupt_output_of(&self) -> Option<&str> {
        match self {
            Error::CorruptOutput { task_id, .. } => Some(task_id),
            Error::Task(e) => e
                .chain()
                .find_map(|cause| match cause.downcast_ref::<Error>() {
                    Some(Error::CorruptOutput { task_id, .. }) => Some(task_id.as_str()),
                    _ => None,
                }),
            _ => None,
        }
    }

    /// An I/O error on `path`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

/// A task body's error becomes a task failure; a runtime error it passed on with `?` (a lost
/// lock, a cancellation) stays what it was.
impl From<TaskError> for Error {
    fn from(error: TaskError) -> Self {
        match error.into_inner().downcast::<Error>() {
            Ok(runtime) => *runtime,
            Err(other) => Error::Task(TaskError::from(other)),
        }
    }
}

/// Suggests the registered name nearest to `name`, if any is close enough to be a typo.
pub(crate) fn nearest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_lowercase()), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

/// Turns a task function's error into kart's (for generated code).
pub fn into_error<E: IntoTaskError>(e: E) -> Error {
    Error::from(e.into_task_error())
}
