//! Range tools for recurring tasks (Luigi's `luigi.tools.range`): `RangeDaily`,
//! `RangeHourly`, `RangeByMinutes`, `RangeMonthly`, and the `*Base` variants that check
//! instances one by one.
//!
//! A range requires the missing instances of a date-parameterized task inside a finite window,
//! `[max(start, now - back), min(stop, now + forward))` on the unit's grid: oldest first (newest
//! first with `reverse`), at most `task_limit`. It is complete when none is missing. The
//! non-Base tools decide what is missing from one listing per output directory.
//!
//! ```text
//! <bin> RangeDaily --of AllReports --start 2015-01-01                   # crontab: no gaps
//! <bin> RangeDaily --of AllReportsV2 --start 2014-10-31 --stop 2014-12-25  # backfill
//! ```

mod construct;
mod entries;
mod explain;
mod metrics;
mod task;
mod window;

pub use metrics::RangeMetrics;
pub use window::{Evaluation, Unit, Window};
