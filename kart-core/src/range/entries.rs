//! The range tools' registry entries: one per tool, with their parameter tables.

use chrono::NaiveDate;
use serde_json::Value;

use super::construct::construct;
use super::task::RangeKind;
use super::window::Unit;
use crate::param::{Month, Param, ParamKind};
use crate::registry::{ParamSpec, TaskEntry};

// ---- registry entries ----

fn text() -> String {
    String::type_name()
}
fn json_object() -> String {
    <serde_json::Map<String, Value>>::type_name()
}
fn boolean() -> String {
    bool::type_name()
}
fn integer() -> String {
    "integer".into()
}
fn date() -> String {
    NaiveDate::type_name()
}
fn hour() -> String {
    "date-hour (YYYY-MM-DDTHH)".into()
}
fn minute() -> String {
    "date-minute (YYYY-MM-DDTHHMM)".into()
}
fn month() -> String {
    Month::type_name()
}
fn other() -> ParamKind {
    ParamKind::Other
}
fn flag() -> ParamKind {
    ParamKind::Bool
}

macro_rules! spec {
    ($name:expr, $doc:expr, $ty:expr, $kind:expr, $default:expr) => {
        ParamSpec {
            name: $name,
            doc: $doc,
            type_name: $ty,
            kind: $kind,
            default: $default,
            significant: true,
        }
    };
}

macro_rules! range_params {
    ($point:expr, $unit:literal, $back:literal, $back_default:literal, $forward:literal $(, $extra:expr)*) => {
        &[
            spec!("of", "The task family to complete (any registered task with one date-like parameter)", text, other, None),
            spec!("of_params", "Extra parameters for every instance, as a JSON object (part of this range's id)", json_object, other, Some(|| "{}".into())),
            spec!("start", concat!("First ", $unit, " wanted, inclusive"), $point, other, Some(|| "none".into())),
            spec!("stop", concat!("End of the ", $unit, "s wanted, exclusive"), $point, other, Some(|| "none".into())),
            spec!("reverse", "Catch up newest first instead of oldest first", boolean, flag, Some(|| "false".into())),
            spec!("task_limit", "Require at most this many instances in one run", integer, other, Some(|| "50".into())),
            spec!("now", "The current time: epoch seconds or ISO date-time, UTC (default: the wall clock)", text, other, Some(|| "none".into())),
            spec!("param_name", "Which parameter of --of to step along (default: its only date-like one)", text, other, Some(|| "none".into())),
            spec!($back, concat!("How far back from now contiguity is assured, in ", $unit, "s"), integer, other, Some(|| $back_default.into())),
            spec!($forward, concat!("How far forward from now contiguity is assured, in ", $unit, "s"), integer, other, Some(|| "0".into())),
            $($extra,)*
        ]
    };
}

const DAILY_PARAMS: &[ParamSpec] = range_params!(date, "day", "days_back", "100", "days_forward");
const HOURLY_PARAMS: &[ParamSpec] =
    range_params!(hour, "hour", "hours_back", "2400", "hours_forward");
const MINUTE_PARAMS: &[ParamSpec] = range_params!(
    minute,
    "minute",
    "minutes_back",
    "1440",
    "minutes_forward",
    spec!(
        "minutes_interval",
        "Minutes between instances; must divide 60",
        integer,
        other,
        Some(|| "1".into())
    )
);
const MONTHLY_PARAMS: &[ParamSpec] =
    range_params!(month, "month", "months_back", "13", "months_forward");

macro_rules! range_entry {
    ($name:literal, $unit:expr, $bulk:expr, $params:expr, $doc:literal) => {
        inventory::submit! {
            TaskEntry {
                spec: &crate::task::TaskSpec {
                    family: $name,
                    wrapper: true,
                    output: None,
                    output_kind: crate::output::OutputKind::Value,
                    suffix: "json",
                    run_lock: None,
                    timeout_ms: None,
                    intermediate: false,
                    external: false,
                    accepts_messages: false,
                    max_batch_size: None,
                    own_completeness: false,
                },
                doc: $doc,
                params: $params,
                location: concat!(file!(), ":", line!()),
                construct: |src| construct(src, RangeKind { family: $name, unit: $unit, bulk: $bulk }),
            }
        }
    };
}

range_entry!(
    "RangeDaily",
    Unit::Day,
    true,
    DAILY_PARAMS,
    "Completes a daily task over a range of days, deciding what is missing from one listing per output directory.\n\nIn a crontab, `RangeDaily --of AllReports --start 2015-01-01` keeps gaps from occurring; with --stop it backfills."
);
range_entry!(
    "RangeDailyBase",
    Unit::Day,
    false,
    DAILY_PARAMS,
    "Completes a daily task over a range of days, checking each instance one by one."
);
range_entry!(
    "RangeHourly",
    Unit::Hour,
    true,
    HOURLY_PARAMS,
    "Completes an hourly task over a range of hours, deciding what is missing from one listing per output directory."
);
range_entry!(
    "RangeHourlyBase",
    Unit::Hour,
    false,
    HOURLY_PARAMS,
    "Completes an hourly task over a range of hours, checking each instance one by one."
);
range_entry!(
    "RangeByMinutes",
    Unit::Minutes(1),
    true,
    MINUTE_PARAMS,
    "Completes a task recurring every few minutes, deciding what is missing from one listing per output directory."
);
range_entry!(
    "RangeByMinutesBase",
    Unit::Minutes(1),
    false,
    MINUTE_PARAMS,
    "Completes a task recurring every few minutes, checking each instance one by one."
);
range_entry!(
    "RangeMonthly",
    Unit::Month,
    true,
    MONTHLY_PARAMS,
    "Completes a monthly task over a range of months (the current month is excluded until it is over)."
);
