//! Static facts about a task family, emitted by `#[task]` and `#[run_with_lock]`.

use super::kind::OutputKind;

/// Static facts about a task family, emitted by `#[task]`.
#[derive(Debug)]
pub struct TaskSpec {
    /// Family name (`SomeReport`).
    pub family: &'static str,
    /// A wrapper has no output; it is complete when all its requirements are.
    pub wrapper: bool,
    /// Output path template relative to the workspace, if one was given.
    pub output: Option<&'static str>,
    /// What the output is: a value, a file or a directory.
    pub output_kind: OutputKind,
    /// How the default output path ends (`.json`; `/` for a directory).
    pub suffix: &'static str,
    /// `#[run_with_lock]`: how runs of this family are locked.
    pub run_lock: Option<RunLock>,
    /// `timeout = "30m"`: a run past it is cancelled and fails.
    pub timeout_ms: Option<u64>,
    /// `intermediate`: outputs `gc` may remove once they are old.
    pub intermediate: bool,
    /// `external`: data kart never produces; complete when its output exists, never run.
    pub external: bool,
    /// `accepts_messages`: runs get an inbox (`RunContext::next_message`).
    pub accepts_messages: bool,
    /// `max_batch_size`: most tasks one batched run stands for (default: no limit).
    pub max_batch_size: Option<u32>,
    /// `complete = f` or `bulk_complete = f`: the family decides its completeness itself.
    pub own_completeness: bool,
}

/// When a unique-job lock is held (Cloudtasker's lock phases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UniquePhase {
    /// From scheduling until the task starts running.
    UntilExecuting,
    /// While the task runs.
    WhileExecuting,
    /// From scheduling until the task has run.
    UntilExecuted,
}

/// What a unique job does when an identical one holds the lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnConflict {
    /// Discard this one: it is not run and not a failure.
    Reject,
    /// Fail with a lock error.
    Raise,
    /// Try again after `retry_delay` (only `while_executing`).
    Reschedule,
}

/// The `#[run_with_lock(...)]` options of a family.
#[derive(Debug, Clone, Copy)]
pub struct RunLock {
    /// A named lock shared by every task using the same name; default: one lock per task id.
    pub key: Option<&'static str>,
    /// TTL in milliseconds (default 10 minutes; renewed while held).
    pub ttl_ms: Option<u64>,
    /// Longest wait in milliseconds (default 1 hour).
    pub timeout_ms: Option<u64>,
    /// Unique-job phase and conflict strategy, when `lock = ...` was given.
    pub unique: Option<(UniquePhase, OnConflict)>,
    /// Parameters that define uniqueness (default: all significant ones).
    pub unique_args: Option<&'static [&'static str]>,
}

impl RunLock {
    /// The lock's TTL.
    pub fn ttl(&self) -> std::time::Duration {
        self.ttl_ms
            .map_or(crate::lock::DEFAULT_TTL, std::time::Duration::from_millis)
    }
    /// The bound on waiting.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout_ms.map_or(
            crate::lock::DEFAULT_TIMEOUT,
            std::time::Duration::from_millis,
        )
    }
}
