//! kart's runtime: parameters, targets, the registry, the scheduler and its event stream.
//!
//! Tasks are ordinary functions marked with [`task`]:
//!
//! ```
//! use kart_core::chrono::NaiveDate;
//!
//! /// Sales of one day.
//! #[kart_core::task(output = "sales/{date}.json")]
//! fn daily_sales(date: NaiveDate) -> kart_core::Result<u64> {
//!     Ok(42)
//! }
//!
//! /// The week's sales, from seven daily ones.
//! #[kart_core::task]
//! fn weekly_sales(
//!     end: NaiveDate,
//!     #[requires((0..7).map(|i| DailySales { date: end - chrono::Days::new(i) }).collect::<Vec<_>>())]
//!     days: Vec<u64>,
//! ) -> kart_core::Result<u64> {
//!     Ok(days.iter().sum())
//! }
//!
//! let dir = tempfile::tempdir().unwrap();
//! let ws = kart_core::Workspace::local(dir.path()).unwrap();
//! let end = NaiveDate::from_ymd_opt(2015, 1, 7).unwrap();
//! let report = kart_core::build(vec![WeeklySales { end }.into()], &ws, &Default::default()).unwrap();
//! assert!(report.success());
//! assert_eq!(report.tasks.len(), 8);
//! ```

mod atomic_file;
pub mod complete;
pub mod config;
pub mod db;
pub mod deps;
mod error;
pub mod event;
mod failpoint;
pub mod format;
pub mod gc;
pub mod host;
pub mod invalidate;
pub mod keys;
pub mod lock;
pub mod message;
pub mod output;
mod parallel;
pub mod param;
pub mod range;
pub mod redis;
pub mod registry;
pub mod resource;
pub mod scheduler;
mod shutdown;
pub mod store;
pub mod summary;
pub mod task;
pub mod task_id;
mod walk;
pub mod workspace;

#[cfg(feature = "parquet")]
pub use arrow_array;
#[cfg(feature = "parquet")]
pub use arrow_schema;
pub use chrono;
pub use error::{BoxError, Error, InvalidParam, TaskError, TaskResult as Result};
pub use event::{Event, EventKind, EventSink, Events};
pub use format::Format;
pub use kart_macros::{resources, run_with_lock, task};
pub use lock::{lock, LockGuard, Locks};
pub use output::{OutputDir, OutputFile};
pub use param::{Duration, Month, Param, ParamKind};
pub use registry::{registry, TaskEntry};
pub use scheduler::{build, RunOptions};
pub use shutdown::Shutdown;
pub use summary::RunReport;
pub use task::{AnyTask, DynTask, Requirement, RunContext, TaskDef, TaskId};
pub use workspace::{Target, Workspace};

/// Support for generated code; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::error::{Error, Result};
    pub use crate::output::{OutputDir, OutputFile};
    pub use crate::param::{canonical_json, Param, ParamKind, ParamList};
    pub use crate::registry::{ParamSource, ParamSpec, TaskEntry};
    pub use crate::task::{
        AnyTask, OnConflict, Requirement, RunContext, RunLock, TaskDef, TaskSpec, UniquePhase,
    };
    pub use inventory;
    pub use serde;
    pub use serde_json;

    pub use crate::error::into_error;
    pub use crate::error::TaskResult;
    pub use crate::param::{ops, DebugWith, ParamOps};
    pub use crate::workspace::Workspace;
    pub use crate::{db, format, output};
}
