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

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::{Datelike, Duration as Span, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value;

use crate::complete::{bulk_complete, is_complete};
use crate::event::{Event, EventKind};
use crate::param::{Month, Param, ParamKind, RawValue, ValueSource};
use crate::registry::{registry, ParamDefaults, ParamSource, ParamSpec, TaskEntry};
use crate::task::{display_task, AnyTask, DynTask, GraphContext, RunContext, TaskId};
use crate::workspace::Workspace;
use crate::{Error, Result};

/// The grid a range steps along.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Days (midnight).
    Day,
    /// Whole hours.
    Hour,
    /// Every `n` minutes, `n` dividing 60.
    Minutes(u32),
    /// First days of months.
    Month,
}

impl Unit {
    fn step(self, t: NaiveDateTime, n: i64) -> NaiveDateTime {
        match self {
            Unit::Day => t + Span::days(n),
            Unit::Hour => t + Span::hours(n),
            Unit::Minutes(m) => t + Span::minutes(n * i64::from(m)),
            Unit::Month if n >= 0 => t + Months::new(n as u32),
            Unit::Month => t - Months::new(n.unsigned_abs() as u32),
        }
    }

    /// The last grid point at or before `t`.
    fn floor(self, t: NaiveDateTime) -> NaiveDateTime {
        let date = t.date();
        match self {
            Unit::Day => date.and_time(NaiveTime::MIN),
            Unit::Hour => date.and_hms_opt(t.hour(), 0, 0).expect("valid hour"),
            Unit::Minutes(m) => date
                .and_hms_opt(t.hour(), t.minute() / m * m, 0)
                .expect("valid minute"),
            Unit::Month => month_start(t),
        }
    }

    /// The parameter form of a grid point.
    pub fn format(self, t: NaiveDateTime) -> String {
        match self {
            Unit::Day => t.format("%Y-%m-%d").to_string(),
            Unit::Hour => t.format("%Y-%m-%dT%H").to_string(),
            Unit::Minutes(_) => t.format("%Y-%m-%dT%H%M").to_string(),
            Unit::Month => t.format("%Y-%m").to_string(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Hour => "hour",
            Unit::Minutes(_) => "instance",
            Unit::Month => "month",
        }
    }

    fn back_flag(self) -> &'static str {
        match self {
            Unit::Day => "--days-back",
            Unit::Hour => "--hours-back",
            Unit::Minutes(_) => "--minutes-back",
            Unit::Month => "--months-back",
        }
    }
}

fn month_start(t: NaiveDateTime) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1)
        .expect("day 1 exists")
        .and_time(NaiveTime::MIN)
}

/// Luigi's range parameters, in date-times.
#[derive(Debug, Clone)]
pub struct Window {
    /// The grid.
    pub unit: Unit,
    /// First instance wanted (inclusive).
    pub start: Option<NaiveDateTime>,
    /// End of the instances wanted (exclusive).
    pub stop: Option<NaiveDateTime>,
    /// The current time (UTC).
    pub now: NaiveDateTime,
    /// How far back from `now` contiguity is assured, in units (minutes for `Minutes`).
    pub back: i64,
    /// How far forward from `now`, likewise.
    pub forward: i64,
    /// Newest first.
    pub reverse: bool,
    /// At most this many required instances.
    pub task_limit: usize,
}

/// The outcome of evaluating a range against what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The grid points of the finite window that were checked.
    pub checked: Vec<NaiveDateTime>,
    /// The missing ones, sorted.
    pub missing: Vec<NaiveDateTime>,
    /// What the range requires, in the order it wants them run.
    pub required: Vec<NaiveDateTime>,
    /// Instances from the first gap to the end of the window (Luigi's delay metric).
    pub delay: usize,
    /// Complete instances over the window widened to start/stop.
    pub complete_count: usize,
    /// `complete_count` over the widened window's size (1 when empty).
    pub complete_fraction: f64,
    /// Instances between `start` and the back-window that were not checked.
    pub unchecked_before: usize,
}

impl Window {
    /// Luigi's checks, with Luigi's wording.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.start.is_none() && self.stop.is_none() {
            return Err("At least one of start and stop needs to be specified".into());
        }
        if self.start.is_none() && !self.reverse {
            return Err("Either start needs to be specified or reverse needs to be True".into());
        }
        if let (Some(a), Some(b)) = (self.start, self.stop) {
            if a > b {
                return Err("Can't have start > stop".into());
            }
        }
        if let Unit::Minutes(m) = self.unit {
            if !(0 < m && m < 60) {
                return Err("minutes-interval must be within 0..60".into());
            }
            if 60 % m != 0 {
                return Err("minutes-interval does not evenly divide 60".into());
            }
        }
        Ok(())
    }

    fn moving_start(&self) -> NaiveDateTime {
        match self.unit {
            Unit::Day => self.now - Span::days(self.back),
            Unit::Hour => self.now - Span::hours(self.back),
            Unit::Minutes(_) => self.now - Span::minutes(self.back),
            Unit::Month => Unit::Month.step(month_start(self.now), -self.back),
        }
    }

    fn moving_stop(&self) -> NaiveDateTime {
        match self.unit {
            Unit::Day => self.now + Span::days(self.forward),
            Unit::Hour => self.now + Span::hours(self.forward),
            Unit::Minutes(_) => self.now + Span::minutes(self.forward),
            Unit::Month => Unit::Month.step(month_start(self.now), self.forward),
        }
    }

    /// The smallest `back` whose window reaches back to `t`.
    pub fn back_to_reach(&self, t: NaiveDateTime) -> i64 {
        let ceil_div = |a: i64, b: i64| (a + b - 1).div_euclid(b);
        let secs = (self.now - t).num_seconds().max(0);
        match self.unit {
            Unit::Day => ceil_div(secs, 86_400),
            Unit::Hour => ceil_div(secs, 3600),
            Unit::Minutes(_) => ceil_div(secs, 60),
            Unit::Month => {
                let (a, b) = (month_start(t), month_start(self.now));
                i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month())
            }
        }
    }

    /// `[max(start, now - back), min(stop, now + forward))`.
    pub fn finite_bounds(&self) -> (NaiveDateTime, NaiveDateTime) {
        let (ms, me) = (self.moving_start(), self.moving_stop());
        (
            self.start.map_or(ms, |s| s.max(ms)),
            self.stop.map_or(me, |s| s.min(me)),
        )
    }

    /// Grid points in `[from, to)`.
    pub fn grid(&self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        let end = if self.unit == Unit::Month {
            month_start(to)
        } else {
            to
        };
        let mut t = self.unit.floor(from);
        while t < end {
            if t >= from {
                out.push(t);
            }
            t = self.unit.step(t, 1);
        }
        out
    }

    /// Evaluates the range: `missing` gets the checked grid points and returns those whose
    /// instance is not complete.
    pub fn evaluate(
        &self,
        missing: impl FnOnce(&[NaiveDateTime]) -> Result<Vec<NaiveDateTime>>,
    ) -> Result<Evaluation> {
        let (finite_start, finite_stop) = self.finite_bounds();
        let checked = if finite_start <= finite_stop {
            self.grid(finite_start, finite_stop)
        } else {
            Vec::new()
        };
        let mut missing = if checked.is_empty() {
            Vec::new()
        } else {
            missing(&checked)?
        };
        missing.sort();

        // Metrics over the finite window widened to start/stop, as Luigi defines them.
        let widened = self.grid(
            self.start.map_or(finite_start, |s| s.min(finite_start)),
            self.stop.map_or(finite_stop, |s| s.max(finite_stop)),
        );
        let delay = match missing.first() {
            Some(first) if !widened.is_empty() => {
                widened.len() - widened.binary_search(first).unwrap_or_else(|i| i)
            }
            _ => 0,
        };
        let complete_count = widened.len().saturating_sub(missing.len());
        let complete_fraction = if widened.is_empty() {
            1.0
        } else {
            complete_count as f64 / widened.len() as f64
        };

        let mut required = if self.reverse {
            missing[missing.len().saturating_sub(self.task_limit)..].to_vec()
        } else {
            missing[..missing.len().min(self.task_limit)].to_vec()
        };
        if self.reverse {
            required.reverse();
        }
        // Grid points from `start` up to the checked window (or to `stop`, if that comes first).
        let unchecked_before = match self.start {
            Some(start) if start < finite_start => self
                .grid(
                    start,
                    self.stop.map_or(finite_start, |s| s.min(finite_start)),
                )
                .len(),
            _ => 0,
        };
        Ok(Evaluation {
            checked,
            missing,
            required,
            delay,
            complete_count,
            complete_fraction,
            unchecked_before,
        })
    }
}

/// Which range tool.
#[derive(Debug, Clone, Copy)]
struct RangeKind {
    family: &'static str,
    unit: UnitKind,
    bulk: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum UnitKind {
    Day,
    Hour,
    Minutes,
    Month,
}

impl UnitKind {
    fn param_kind(self) -> ParamKind {
        match self {
            UnitKind::Day => ParamKind::Date,
            UnitKind::Hour | UnitKind::Minutes => ParamKind::DateTime,
            UnitKind::Month => ParamKind::Month,
        }
    }
    fn prefix(self) -> &'static str {
        match self {
            UnitKind::Day => "days",
            UnitKind::Hour => "hours",
            UnitKind::Minutes => "minutes",
            UnitKind::Month => "months",
        }
    }
}

/// A range tool instance; a wrapper whose requirements are the missing instances.
struct RangeTask {
    kind: RangeKind,
    of: &'static TaskEntry,
    of_params: serde_json::Map<String, Value>,
    param: &'static ParamSpec,
    window: Window,
    /// Parameters as given (for the id: `now` only when given).
    params: Vec<(&'static str, Value)>,
    defaults: ParamDefaults,
    evaluation: Mutex<Option<Evaluation>>,
}

impl std::fmt::Debug for RangeTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl RangeTask {
    fn instance(&self, t: NaiveDateTime) -> Result<AnyTask> {
        let mut given: BTreeMap<String, RawValue> = self
            .of_params
            .iter()
            .map(|(k, v)| (k.clone(), RawValue::Json(v.clone())))
            .collect();
        given.insert(
            self.param.name.to_string(),
            RawValue::Text(self.window.unit.format(t)),
        );
        self.of.instantiate(
            &given,
            ValueSource::Caller(format!("{} --of-params", self.kind.family)),
            &self.defaults,
        )
    }

    fn emit_metrics(&self, cx: &GraphContext<'_>, e: &Evaluation) {
        let id = self.id();
        for (kind, value) in [
            (EventKind::RangeDelay, Value::from(e.delay)),
            (EventKind::RangeCompleteCount, Value::from(e.complete_count)),
            (
                EventKind::RangeCompleteFraction,
                Value::from(e.complete_fraction),
            ),
        ] {
            cx.events.emit(
                Event::new(kind)
                    .task(&id, self.kind.family)
                    .with("of", self.of.name())
                    .with("value", value),
            );
        }
    }
}

impl DynTask for RangeTask {
    fn family(&self) -> &'static str {
        self.kind.family
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn id(&self) -> TaskId {
        TaskId::new(self.kind.family, &self.params)
    }
    fn params_json(&self) -> Value {
        Value::Object(
            self.params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }
    fn display(&self) -> String {
        display_task(self.kind.family, &self.params)
    }
    fn is_wrapper(&self) -> bool {
        true
    }
    fn output_key(&self) -> Result<Option<String>> {
        Ok(None)
    }
    /// The missing instances, from the last evaluation (none before the graph is built).
    fn requires(&self) -> Vec<AnyTask> {
        let guard = self.evaluation.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .map(|e| {
                e.required
                    .iter()
                    .filter_map(|t| self.instance(*t).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn requires_in(&self, cx: &GraphContext<'_>) -> Result<Vec<AnyTask>> {
        let mut instances: BTreeMap<NaiveDateTime, AnyTask> = BTreeMap::new();
        let started = std::time::Instant::now();
        let mut listings = 0;
        let evaluation = self.window.evaluate(|checked| {
            let tasks: Vec<AnyTask> = checked
                .iter()
                .map(|&t| self.instance(t))
                .collect::<Result<_>>()?;
            let complete: Vec<bool> = if self.kind.bulk {
                let refs: Vec<&dyn DynTask> = tasks.iter().map(|t| &**t).collect();
                let (complete, listed) = bulk_complete(&refs, cx.workspace)?;
                listings = listed;
                complete
            } else {
                tasks
                    .iter()
                    .map(|t| is_complete(&**t, cx.workspace))
                    .collect::<Result<_>>()?
            };
            let mut missing = Vec::new();
            for ((&t, task), done) in checked.iter().zip(tasks).zip(complete) {
                if !done {
                    missing.push(t);
                    instances.insert(t, task);
                }
            }
            Ok(missing)
        })?;
        tracing::info!(
            "{} of {}: {} of {} instances missing, decided in {:.1} ms{}",
            self.kind.family,
            self.of.name(),
            evaluation.missing.len(),
            evaluation.checked.len(),
            started.elapsed().as_secs_f64() * 1000.0,
            if self.kind.bulk {
                format!(" from {listings} directory listings")
            } else {
                String::new()
            },
        );
        self.emit_metrics(cx, &evaluation);
        if evaluation.unchecked_before > 0 {
            let unit = self.window.unit;
            // Never `eprintln!`: it panics when stderr is a closed pipe.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr().lock(),
                "note: {} {}{} of {} between --start {} and the {}-{} window were not checked; widen it with {} {}",
                evaluation.unchecked_before,
                unit.name(),
                if evaluation.unchecked_before == 1 { "" } else { "s" },
                self.of.name(),
                unit.format(self.window.start.expect("unchecked implies a start")),
                self.window.back,
                unit.name(),
                unit.back_flag(),
                self.window.back_to_reach(self.window.start.expect("unchecked implies a start")),
            );
        }
        let required = evaluation
            .required
            .iter()
            .map(|t| instances[t].clone())
            .collect();
        *self.evaluation.lock().unwrap_or_else(|p| p.into_inner()) = Some(evaluation);
        Ok(required)
    }
    fn execute(&self, _ctx: &RunContext) -> Result<()> {
        Ok(())
    }
    fn output_exists(&self, _ws: &Workspace) -> Result<bool> {
        Ok(false)
    }
}

fn bad(kind: &RangeKind, message: impl Into<String>) -> Error {
    Error::InvalidOption {
        what: format!("{} parameters", kind.family),
        message: message.into(),
    }
}

/// `--now`: epoch seconds or an ISO date-time, UTC.
fn parse_now(s: &str) -> std::result::Result<NaiveDateTime, String> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        return chrono::DateTime::from_timestamp_millis((secs * 1000.0).round() as i64)
            .map(|t| t.naive_utc())
            .ok_or_else(|| format!("epoch seconds {s} out of range"));
    }
    crate::param::parse_datetime(s.trim_end_matches('Z'))
}

fn construct(src: &ParamSource<'_>, kind: RangeKind) -> Result<AnyTask> {
    let of_name: String = src
        .value("of")?
        .ok_or_else(|| src.missing("of", crate::param::ops::<String>()))?;
    let of = registry()?.get(&of_name)?;
    let of_params: serde_json::Map<String, Value> = src.value("of_params")?.unwrap_or_default();
    let param_name: Option<String> = src.value("param_name")?;
    let wanted = kind.unit.param_kind();
    let param = match &param_name {
        Some(name) => of
            .param(name)
            .ok_or_else(|| bad(&kind, format!("{} has no parameter `{name}`", of.name())))?,
        None => {
            let mut candidates = of.params.iter().filter(|p| (p.kind)() == wanted);
            match (candidates.next(), candidates.next()) {
                (Some(p), None) => p,
                (None, _) => {
                    return Err(bad(
                        &kind,
                        format!(
                            "{} has no {} parameter for {} to step along",
                            of.name(),
                            (ParamSpecKind(wanted)),
                            kind.family
                        ),
                    ))
                }
                (Some(a), Some(b)) => {
                    return Err(bad(
                        &kind,
                        format!(
                        "{} has several {} parameters (`{}`, `{}`): choose one with --param-name",
                        of.name(),
                        ParamSpecKind(wanted),
                        a.name,
                        b.name
                    ),
                    ))
                }
            }
        }
    };
    if (param.kind)() != wanted {
        return Err(bad(
            &kind,
            format!(
                "parameter `{}` of {} is not a {} parameter",
                param.name,
                of.name(),
                ParamSpecKind(wanted)
            ),
        ));
    }
    if of_params.contains_key(param.name) {
        return Err(bad(
            &kind,
            format!(
                "--of-params must not set `{}`: the range sets it",
                param.name
            ),
        ));
    }

    let to_dt = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    let (start, stop) = match kind.unit {
        UnitKind::Day => (
            src.value::<NaiveDate>("start")?.map(to_dt),
            src.value::<NaiveDate>("stop")?.map(to_dt),
        ),
        UnitKind::Hour | UnitKind::Minutes => (
            src.value::<NaiveDateTime>("start")?,
            src.value::<NaiveDateTime>("stop")?,
        ),
        UnitKind::Month => (
            src.value::<Month>("start")?.map(|m| to_dt(m.first_day())),
            src.value::<Month>("stop")?.map(|m| to_dt(m.first_day())),
        ),
    };
    let now_given: Option<String> = src.value("now")?;
    let now = match &now_given {
        Some(s) => parse_now(s).map_err(|e| bad(&kind, format!("--now {s:?}: {e}")))?,
        None => chrono::Utc::now().naive_utc(),
    };
    let prefix = kind.unit.prefix();
    let default_back = match kind.unit {
        UnitKind::Day => 100,
        UnitKind::Hour => 100 * 24,
        UnitKind::Minutes => 60 * 24,
        UnitKind::Month => 13,
    };
    let back: i64 = src.value(back_name(prefix))?.unwrap_or(default_back);
    let forward: i64 = src.value(forward_name(prefix))?.unwrap_or(0);
    let interval: u32 = if kind.unit == UnitKind::Minutes {
        src.value("minutes_interval")?.unwrap_or(1)
    } else {
        1
    };
    let reverse: bool = src.value("reverse")?.unwrap_or(false);
    let task_limit: usize = src.value("task_limit")?.unwrap_or(50);
    let unit = match kind.unit {
        UnitKind::Day => Unit::Day,
        UnitKind::Hour => Unit::Hour,
        UnitKind::Minutes => Unit::Minutes(interval),
        UnitKind::Month => Unit::Month,
    };
    let window = Window {
        unit,
        start,
        stop,
        now,
        back,
        forward,
        reverse,
        task_limit,
    };
    window.validate().map_err(|m| bad(&kind, m))?;

    let fmt = |t: Option<NaiveDateTime>| t.map_or(Value::Null, |t| Value::String(unit.format(t)));
    let mut params: Vec<(&'static str, Value)> = vec![
        ("of", Value::String(of.name().to_string())),
        ("of_params", Value::Object(of_params.clone())),
        ("start", fmt(start)),
        ("stop", fmt(stop)),
        ("reverse", Value::Bool(reverse)),
        ("task_limit", Value::from(task_limit)),
        ("param_name", Value::String(param.name.to_string())),
        (back_name(prefix), Value::from(back)),
        (forward_name(prefix), Value::from(forward)),
    ];
    if kind.unit == UnitKind::Minutes {
        params.push(("minutes_interval", Value::from(interval)));
    }
    if let Some(now) = now_given {
        params.push(("now", Value::String(now)));
    }
    let range = RangeTask {
        kind,
        of,
        of_params,
        param,
        window,
        params,
        defaults: src.defaults().clone(),
        evaluation: Mutex::new(None),
    };
    // Build one instance now, so a bad --of-params or class-level value is bad input
    // reported before anything runs, not a failure of the range.
    let probe = range
        .window
        .start
        .or(range.window.stop)
        .unwrap_or(range.window.now);
    range.instance(range.window.unit.floor(probe))?;
    Ok(AnyTask::new(range))
}

/// Collects the range metrics of a run for its summary line.
#[derive(Default)]
pub struct RangeMetrics {
    /// By range task id: its name and `[delay, complete_count, complete_fraction]`.
    lines: Mutex<BTreeMap<String, (String, MetricValues)>>,
}

type MetricValues = [Option<f64>; 3];

impl crate::event::EventSink for RangeMetrics {
    fn handle(&self, event: &Event) {
        let slot = match event.event {
            EventKind::RangeDelay => 0,
            EventKind::RangeCompleteCount => 1,
            EventKind::RangeCompleteFraction => 2,
            _ => return,
        };
        let (Some(id), Some(family)) = (&event.task_id, &event.family) else {
            return;
        };
        let of = event.get("of").and_then(Value::as_str).unwrap_or("?");
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let entry = lines
            .entry(id.clone())
            .or_insert_with(|| (format!("{family} of {of}"), [None; 3]));
        entry.1[slot] = event.get("value").and_then(Value::as_f64);
    }
}

impl RangeMetrics {
    /// One line per range evaluated: `RangeDaily of AllReports: 5 complete (71.4%), delay 2`.
    pub fn summary_lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines
            .values()
            .map(|(name, [delay, count, fraction])| {
                format!(
                    "Range metrics before this run: {name}: {} complete ({:.1}%), delay {} (range_complete_count, range_complete_fraction, range_delay)",
                    count.unwrap_or(0.0),
                    fraction.unwrap_or(1.0) * 100.0,
                    delay.unwrap_or(0.0),
                )
            })
            .collect()
    }
}

struct ParamSpecKind(ParamKind);

impl std::fmt::Display for ParamSpecKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            ParamKind::Date => "NaiveDate",
            ParamKind::DateTime => "NaiveDateTime",
            ParamKind::Month => "Month",
            _ => "date",
        })
    }
}

fn back_name(prefix: &str) -> &'static str {
    match prefix {
        "days" => "days_back",
        "hours" => "hours_back",
        "minutes" => "minutes_back",
        _ => "months_back",
    }
}

fn forward_name(prefix: &str) -> &'static str {
    match prefix {
        "days" => "days_forward",
        "hours" => "hours_forward",
        "minutes" => "minutes_forward",
        _ => "months_forward",
    }
}

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
                    format: crate::format::Format::Json,
                    run_lock: None,
                    timeout_ms: None,
                    intermediate: false,
                    external: false,
                    accepts_messages: false,
                    max_batch_size: None,
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
    UnitKind::Day,
    true,
    DAILY_PARAMS,
    "Completes a daily task over a range of days, deciding what is missing from one listing per output directory.\n\nIn a crontab, `RangeDaily --of AllReports --start 2015-01-01` keeps gaps from occurring; with --stop it backfills."
);
range_entry!(
    "RangeDailyBase",
    UnitKind::Day,
    false,
    DAILY_PARAMS,
    "Completes a daily task over a range of days, checking each instance one by one."
);
range_entry!(
    "RangeHourly",
    UnitKind::Hour,
    true,
    HOURLY_PARAMS,
    "Completes an hourly task over a range of hours, deciding what is missing from one listing per output directory."
);
range_entry!(
    "RangeHourlyBase",
    UnitKind::Hour,
    false,
    HOURLY_PARAMS,
    "Completes an hourly task over a range of hours, checking each instance one by one."
);
range_entry!(
    "RangeByMinutes",
    UnitKind::Minutes,
    true,
    MINUTE_PARAMS,
    "Completes a task recurring every few minutes, deciding what is missing from one listing per output directory."
);
range_entry!(
    "RangeByMinutesBase",
    UnitKind::Minutes,
    false,
    MINUTE_PARAMS,
    "Completes a task recurring every few minutes, checking each instance one by one."
);
range_entry!(
    "RangeMonthly",
    UnitKind::Month,
    true,
    MONTHLY_PARAMS,
    "Completes a monthly task over a range of months (the current month is excluded until it is over)."
);

#[cfg(test)]
mod tests {
    //! Luigi's `test/range_test.py` cases, on the window arithmetic. As there, `missing`
    //! reports the first seven (or five) checked instances as missing.
    use super::*;

    fn dt(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, s)
            .unwrap()
    }

    fn window(unit: Unit, now: NaiveDateTime) -> Window {
        Window {
            unit,
            start: None,
            stop: None,
            now,
            back: 100,
            forward: 0,
            reverse: false,
            task_limit: 50,
        }
    }

    fn first(n: usize) -> impl FnOnce(&[NaiveDateTime]) -> Result<Vec<NaiveDateTime>> {
        move |c| Ok(c[..n.min(c.len())].to_vec())
    }

    #[test]
    fn daily_stop_before_days_back_is_empty_and_complete() {
        let w = Window {
            stop: Some(dt(2014, 3, 20, 0, 0, 0)),
            back: 4,
            forward: 20,
            reverse: true,
            ..window(Unit::Day, dt(2015, 1, 1, 4, 0, 0))
        };
        let mut called = false;
        let e = w
            .evaluate(|c| {
                called = true;
                first(5)(c)
            })
            .unwrap();
        assert!(!called && e.required.is_empty());
        assert_eq!(
            (e.delay, e.complete_count, e.complete_fraction),
            (0, 0, 1.0)
        );
    }

    #[test]
    fn daily_start_long_before_long_days_back_with_long_days_forward() {
        let w = Window {
            start: Some(dt(2011, 3, 20, 0, 0, 0)),
            stop: Some(dt(2025, 1, 29, 0, 0, 0)),
            task_limit: 4,
            back: 3 * 365,
            forward: 3 * 365,
            ..window(Unit::Day, dt(2017, 10, 22, 12, 4, 29))
        };
        let e = w.evaluate(first(7)).unwrap();
        assert_eq!(
            (e.checked[0], *e.checked.last().unwrap()),
            (dt(2014, 10, 24, 0, 0, 0), dt(2020, 10, 21, 0, 0, 0))
        );
        assert_eq!(
            e.required,
            (24..=27)
                .map(|d| dt(2014, 10, d, 0, 0, 0))
                .collect::<Vec<_>>()
        );
        assert_eq!((e.delay, e.complete_count), (3750, 5057));
        assert_eq!(e.complete_fraction, 5057.0 / (5057.0 + 7.0));
        // Better than Luigi: the days before the back-window are counted.
        assert_eq!(e.unchecked_before, 1314, "2011-03-20 ..= 2014-10-23");
    }

    #[test]
    fn hourly_start_after_hours_forward_is_empty() {
        let w = Window {
            start: Some(dt(2014, 3, 20, 17, 0, 0)),
            back: 4,
            forward: 20,
            ..window(Unit::Hour, dt(2000, 1, 1, 4, 0, 0))
        };
        let e = w.evaluate(first(5)).unwrap();
        assert!(e.required.is_empty() && e.checked.is_empty());
        assert_eq!(
            (e.delay, e.complete_count, e.complete_fraction),
            (0, 0, 1.0)
        );
    }

    #[test]
    fn hourly_start_long_before_hours_back() {
        let w = Window {
            start: Some(dt(1960, 3, 2, 1, 0, 0)),
            back: 5,
            forward: 20,
            ..window(Unit::Hour, dt(2000, 1, 1, 4, 0, 0))
        };
        let e = w.evaluate(first(7)).unwrap();
        assert_eq!(
            (e.checked[0], *e.checked.last().unwrap()),
            (dt(1999, 12, 31, 23, 0, 0), dt(2000, 1, 1, 23, 0, 0))
        );
        assert_eq!(e.required.len(), 7);
        assert_eq!(e.required[0], dt(1999, 12, 31, 23, 0, 0));
        assert_eq!((e.delay, e.complete_count), (25, 349192));
        assert_eq!(e.complete_fraction, 349192.0 / (349192.0 + 7.0));
    }

    #[test]
    fn hourly_start_after_long_hours_back() {
        let w = Window {
            start: Some(dt(2014, 3, 20, 17, 0, 0)),
            task_limit: 4,
            back: 365 * 24,
            ..window(Unit::Hour, dt(2014, 10, 22, 12, 4, 29))
        };
        let e = w.evaluate(first(7)).unwrap();
        assert_eq!(
            (e.checked[0], *e.checked.last().unwrap()),
            (dt(2014, 3, 20, 17, 0, 0), dt(2014, 10, 22, 12, 0, 0))
        );
        assert_eq!(
            e.required,
            (17..=20)
                .map(|h| dt(2014, 3, 20, h, 0, 0))
                .collect::<Vec<_>>()
        );
        assert_eq!((e.delay, e.complete_count), (5180, 5173));
        assert_eq!(e.unchecked_before, 0);
    }

    #[test]
    fn hourly_start_long_before_long_hours_back_with_long_hours_forward() {
        let w = Window {
            start: Some(dt(2011, 3, 20, 17, 0, 0)),
            task_limit: 4,
            back: 3 * 365 * 24,
            forward: 3 * 365 * 24,
            ..window(Unit::Hour, dt(2017, 10, 22, 12, 4, 29))
        };
        let e = w.evaluate(first(7)).unwrap();
        assert_eq!(
            (e.checked[0], *e.checked.last().unwrap()),
            (dt(2014, 10, 23, 13, 0, 0), dt(2020, 10, 21, 12, 0, 0))
        );
        assert_eq!(
            e.required,
            (13..=16)
                .map(|h| dt(2014, 10, 23, h, 0, 0))
                .collect::<Vec<_>>()
        );
        assert_eq!((e.delay, e.complete_count), (52560, 84061));
    }

    #[test]
    fn stop_is_exclusive_and_reverse_takes_the_newest() {
        let w = Window {
            start: Some(dt(2015, 1, 1, 0, 0, 0)),
            stop: Some(dt(2015, 1, 8, 0, 0, 0)),
            back: 100_000,
            task_limit: 3,
            reverse: true,
            ..window(Unit::Day, dt(2020, 1, 1, 0, 0, 0))
        };
        let all = |c: &[NaiveDateTime]| Ok(c.to_vec());
        let e = w.evaluate(all).unwrap();
        assert_eq!(e.checked.len(), 7, "2015-01-08 is excluded");
        assert_eq!(
            e.required,
            vec![
                dt(2015, 1, 7, 0, 0, 0),
                dt(2015, 1, 6, 0, 0, 0),
                dt(2015, 1, 5, 0, 0, 0)
            ]
        );
        let forward = Window {
            reverse: false,
            ..w
        };
        assert_eq!(
            forward.evaluate(all).unwrap().required[0],
            dt(2015, 1, 1, 0, 0, 0)
        );
    }

    #[test]
    fn today_is_included_after_midnight_and_excluded_at_midnight() {
        let base = Window {
            start: Some(dt(2015, 1, 1, 0, 0, 0)),
            ..window(Unit::Day, dt(2015, 1, 3, 0, 0, 0))
        };
        let at_midnight = base.evaluate(|c| Ok(c.to_vec())).unwrap();
        assert_eq!(at_midnight.checked.last(), Some(&dt(2015, 1, 2, 0, 0, 0)));
        let after = Window {
            now: dt(2015, 1, 3, 0, 0, 1),
            ..base
        };
        assert_eq!(
            after.evaluate(|c| Ok(c.to_vec())).unwrap().checked.last(),
            Some(&dt(2015, 1, 3, 0, 0, 0))
        );
    }

    #[test]
    fn monthly_excludes_the_current_month() {
        let w = Window {
            start: Some(dt(2015, 1, 1, 0, 0, 0)),
            back: 13,
            ..window(Unit::Month, dt(2015, 4, 20, 10, 0, 0))
        };
        let e = w.evaluate(|c| Ok(c.to_vec())).unwrap();
        assert_eq!(
            e.checked,
            vec![
                dt(2015, 1, 1, 0, 0, 0),
                dt(2015, 2, 1, 0, 0, 0),
                dt(2015, 3, 1, 0, 0, 0)
            ]
        );
        let forward = Window { forward: 1, ..w };
        assert_eq!(
            forward.evaluate(|c| Ok(c.to_vec())).unwrap().checked.last(),
            Some(&dt(2015, 4, 1, 0, 0, 0))
        );
    }

    #[test]
    fn minute_intervals_align_to_the_hour() {
        let w = Window {
            start: Some(dt(2015, 1, 1, 10, 13, 0)),
            stop: Some(dt(2015, 1, 1, 10, 45, 0)),
            back: 1_000_000,
            ..window(Unit::Minutes(15), dt(2016, 1, 1, 0, 0, 0))
        };
        let e = w.evaluate(|c| Ok(c.to_vec())).unwrap();
        assert_eq!(
            e.checked,
            vec![dt(2015, 1, 1, 10, 15, 0), dt(2015, 1, 1, 10, 30, 0)]
        );
        assert_eq!(Unit::Minutes(15).format(e.checked[0]), "2015-01-01T1015");
        for (m, msg) in [
            (7, "minutes-interval does not evenly divide 60"),
            (60, "minutes-interval must be within 0..60"),
            (0, "minutes-interval must be within 0..60"),
        ] {
            let bad = Window {
                unit: Unit::Minutes(m),
                ..w.clone()
            };
            assert_eq!(bad.validate().unwrap_err(), msg);
        }
    }

    #[test]
    fn validation_errors_are_worded_as_luigi_words_them() {
        let w = window(Unit::Day, dt(2015, 1, 1, 0, 0, 0));
        assert_eq!(
            w.validate().unwrap_err(),
            "At least one of start and stop needs to be specified"
        );
        let no_start = Window {
            stop: Some(dt(2015, 1, 1, 0, 0, 0)),
            ..w.clone()
        };
        assert_eq!(
            no_start.validate().unwrap_err(),
            "Either start needs to be specified or reverse needs to be True"
        );
        assert!(Window {
            reverse: true,
            ..no_start
        }
        .validate()
        .is_ok());
        let inverted = Window {
            start: Some(dt(2015, 2, 1, 0, 0, 0)),
            stop: Some(dt(2015, 1, 1, 0, 0, 0)),
            ..w
        };
        assert_eq!(inverted.validate().unwrap_err(), "Can't have start > stop");
    }

    #[test]
    fn now_accepts_epoch_seconds_and_iso() {
        assert_eq!(parse_now("1420070400").unwrap(), dt(2015, 1, 1, 0, 0, 0));
        assert_eq!(
            parse_now("2015-01-01T12:30:00Z").unwrap(),
            dt(2015, 1, 1, 12, 30, 0)
        );
        assert!(parse_now("yesterday").is_err());
    }
}
