//! The window arithmetic of a range: the unit's grid, Luigi's start/stop/back/forward
//! parameters, and which instances are checked, missing and required.

use chrono::{Datelike, Duration as Span, Months, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::error::Result;
use crate::param::{format_datetime, ParamKind, Precision};

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
    pub(super) fn step(self, t: NaiveDateTime, n: i64) -> NaiveDateTime {
        match self {
            Unit::Day => t + Span::days(n),
            Unit::Hour => t + Span::hours(n),
            Unit::Minutes(m) => t + Span::minutes(n * i64::from(m)),
            Unit::Month if n >= 0 => t + Months::new(n as u32),
            Unit::Month => t - Months::new(n.unsigned_abs() as u32),
        }
    }

    /// Grid steps from `a` to `b`, both on the grid (`a <= b`).
    fn steps_between(self, a: NaiveDateTime, b: NaiveDateTime) -> i64 {
        match self {
            Unit::Day => (b - a).num_days(),
            Unit::Hour => (b - a).num_hours(),
            Unit::Minutes(m) => (b - a).num_minutes() / i64::from(m),
            Unit::Month => {
                i64::from(b.year() - a.year()) * 12 + i64::from(b.month()) - i64::from(a.month())
            }
        }
    }

    /// The last grid point at or before `t`.
    pub(super) fn floor(self, t: NaiveDateTime) -> NaiveDateTime {
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
            Unit::Day => format_datetime(&t, Precision::Day),
            Unit::Hour => format_datetime(&t, Precision::Hour),
            Unit::Minutes(_) => format_datetime(&t, Precision::Minute),
            Unit::Month => format_datetime(&t, Precision::Month),
        }
    }

    /// The kind of parameter an instance of a task on this grid steps along.
    pub(super) fn param_kind(self) -> ParamKind {
        match self {
            Unit::Day => ParamKind::Date,
            Unit::Hour | Unit::Minutes(_) => ParamKind::DateTime,
            Unit::Month => ParamKind::Month,
        }
    }

    /// The `*_back` parameter's name.
    pub(super) fn back_param(self) -> &'static str {
        match self {
            Unit::Day => "days_back",
            Unit::Hour => "hours_back",
            Unit::Minutes(_) => "minutes_back",
            Unit::Month => "months_back",
        }
    }

    /// The `*_forward` parameter's name.
    pub(super) fn forward_param(self) -> &'static str {
        match self {
            Unit::Day => "days_forward",
            Unit::Hour => "hours_forward",
            Unit::Minutes(_) => "minutes_forward",
            Unit::Month => "months_forward",
        }
    }

    /// The `*_back` default, in units: Luigi's.
    pub(super) fn default_back(self) -> i64 {
        match self {
            Unit::Day => 100,
            Unit::Hour => 100 * 24,
            Unit::Minutes(_) => 60 * 24,
            Unit::Month => 13,
        }
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Unit::Day => "day",
            Unit::Hour => "hour",
            Unit::Minutes(_) => "instance",
            Unit::Month => "month",
        }
    }

    /// `--days-back`, ...
    pub(super) fn back_flag(self) -> String {
        format!("--{}", self.back_param().replace('_', "-"))
    }

    /// `--days-forward`, ...
    pub(super) fn forward_flag(self) -> String {
        format!("--{}", self.forward_param().replace('_', "-"))
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

/// The first and last grid points of a window, and how many it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GridSpan {
    /// The first grid point.
    pub first: NaiveDateTime,
    /// The last grid point.
    pub last: NaiveDateTime,
    /// Grid points from the first to the last, both included.
    pub count: usize,
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

    pub(super) fn moving_start(&self) -> NaiveDateTime {
        match self.unit {
            Unit::Day => self.now - Span::days(self.back),
            Unit::Hour => self.now - Span::hours(self.back),
            Unit::Minutes(_) => self.now - Span::minutes(self.back),
            Unit::Month => Unit::Month.step(month_start(self.now), -self.back),
        }
    }

    pub(super) fn moving_stop(&self) -> NaiveDateTime {
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

    /// The end of the grid points in `[from, to)`: a month counts only once it is over.
    fn grid_end(&self, to: NaiveDateTime) -> NaiveDateTime {
        match self.unit {
            Unit::Month => month_start(to),
            _ => to,
        }
    }

    /// The first and last grid points in `[from, to)` and how many there are, without
    /// listing them: a window of `--days-back 100000` is counted, not walked.
    pub(super) fn span(&self, from: NaiveDateTime, to: NaiveDateTime) -> Option<GridSpan> {
        let end = self.grid_end(to);
        let mut first = self.unit.floor(from);
        if first < from {
            first = self.unit.step(first, 1);
        }
        if first >= end {
            return None;
        }
        let mut last = self.unit.floor(end);
        if last >= end {
            last = self.unit.step(last, -1);
        }
        let count = usize::try_from(self.unit.steps_between(first, last)).unwrap_or(0) + 1;
        Some(GridSpan { first, last, count })
    }

    /// Grid points in `[from, to)`.
    pub fn grid(&self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<NaiveDateTime> {
        let mut out = Vec::new();
        let end = self.grid_end(to);
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
        let widened_stop = self.stop.map_or(finite_stop, |s| s.max(finite_stop));
        let widened = self
            .span(
                self.start.map_or(finite_start, |s| s.min(finite_start)),
                widened_stop,
            )
            .map_or(0, |s| s.count);
        // From the first gap to the end of the widened window.
        let delay = match missing.first() {
            Some(&first) if widened > 0 => self.span(first, widened_stop).map_or(0, |s| s.count),
            _ => 0,
        };
        let complete_count = widened.saturating_sub(missing.len());
        let complete_fraction = if widened == 0 {
            1.0
        } else {
            complete_count as f64 / widened as f64
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
                .span(
                    start,
                    self.stop.map_or(finite_start, |s| s.min(finite_start)),
                )
                .map_or(0, |s| s.count),
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
    fn a_span_is_what_listing_the_grid_finds() {
        let now = dt(2015, 6, 15, 12, 34, 0);
        let units = [
            Unit::Day,
            Unit::Hour,
            Unit::Minutes(15),
            Unit::Minutes(1),
            Unit::Month,
        ];
        // Bounds on and off each grid, around month and year ends, empty and inverted.
        let points: Vec<NaiveDateTime> = [
            dt(2014, 12, 31, 23, 45, 0),
            dt(2015, 1, 1, 0, 0, 0),
            dt(2015, 1, 1, 0, 0, 1),
            dt(2015, 1, 31, 23, 59, 59),
            dt(2015, 2, 1, 0, 0, 0),
            dt(2015, 2, 1, 0, 15, 0),
            dt(2015, 2, 2, 7, 30, 0),
            dt(2015, 3, 1, 0, 0, 0),
            dt(2016, 2, 29, 13, 0, 0),
        ]
        .to_vec();
        for unit in units {
            let w = window(unit, now);
            for &from in &points {
                for &to in &points {
                    let grid = w.grid(from, to);
                    let span = w.span(from, to);
                    match (grid.first(), grid.last()) {
                        (Some(&first), Some(&last)) => assert_eq!(
                            span,
                            Some(GridSpan {
                                first,
                                last,
                                count: grid.len()
                            }),
                            "{unit:?} {from} {to}"
                        ),
                        _ => assert_eq!(span, None, "{unit:?} {from} {to}"),
                    }
                }
            }
        }
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
}
