//! The keywords `#[task]` reads: its options, the attributes it consumes and their options.

/// Option keywords of `#[task(...)]`.
pub const NAME: &str = "name";
pub const OUTPUT: &str = "output";
pub const WRAPPER: &str = "wrapper";
pub const FORMAT: &str = "format";
pub const TIMEOUT_OPT: &str = "timeout";
pub const INTERMEDIATE: &str = "intermediate";
pub const EXTERNAL: &str = "external";
pub const ACCEPTS_MESSAGES: &str = "accepts_messages";
pub const MAX_BATCH_SIZE: &str = "max_batch_size";
pub const PRIORITY: &str = "priority";
pub const BATCHABLE: &str = "batchable";
pub const NAMESPACE: &str = "namespace";
pub const COMPLETE: &str = "complete";
pub const BULK_COMPLETE: &str = "bulk_complete";
pub const TABLE: &str = "table";
pub const DB: &str = "db";
pub const ON_INVALIDATE: &str = "on_invalidate";
pub const TASK_OPTIONS: &[&str] = &[
    NAME,
    OUTPUT,
    WRAPPER,
    FORMAT,
    TIMEOUT_OPT,
    INTERMEDIATE,
    EXTERNAL,
    ACCEPTS_MESSAGES,
    MAX_BATCH_SIZE,
    PRIORITY,
    BATCHABLE,
    NAMESPACE,
    COMPLETE,
    BULK_COMPLETE,
    TABLE,
    DB,
    ON_INVALIDATE,
];

/// Option keywords of `#[param(...)]` on an argument.
pub const DEFAULT: &str = "default";
pub const SIGNIFICANT: &str = "significant";
pub const BATCH: &str = "batch";
pub const PARAM_OPTIONS: &[&str] = &[DEFAULT, SIGNIFICANT, BATCH];

/// Option keywords of `#[run_with_lock(...)]`.
pub const KEY: &str = "key";
pub const TTL: &str = "ttl";
pub const TIMEOUT: &str = "timeout";
pub const LOCK: &str = "lock";
pub const ON_CONFLICT: &str = "on_conflict";
pub const UNIQUE_ARGS: &str = "unique_args";
pub const LOCK_OPTIONS: &[&str] = &[KEY, TTL, TIMEOUT, LOCK, ON_CONFLICT, UNIQUE_ARGS];

/// Function attributes `#[task]` consumes.
pub const RUN_WITH_LOCK_ATTR: &str = "run_with_lock";
pub const RESOURCES_ATTR: &str = "resources";

/// Argument attributes `#[task]` consumes.
pub const PARAM_ATTR: &str = "param";
pub const REQUIRES_ATTR: &str = "requires";
