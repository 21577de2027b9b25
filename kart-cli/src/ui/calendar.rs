//! A range's calendar: every grid point of the last range over a family, complete (found
//! complete by the range, or run since), missing, or in the state of the task that ran it.
//! Days are drawn a month per row, hours a day per row, months a year per row.

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate, NaiveDateTime, Timelike};
use maud::{html, Markup};

use super::state::{State, TaskState};

/// How a range's unit is drawn.
#[derive(Clone, Copy)]
enum Grid {
    /// Rows of months, a cell per day.
    Day,
    /// Rows of days, a cell per hour.
    Hour,
    /// Rows of years, a cell per month.
    Month,
}

impl Grid {
    fn of(unit: &str) -> Option<Self> {
        match unit {
            "day" => Some(Grid::Day),
            "hour" => Some(Grid::Hour),
            "month" => Some(Grid::Month),
            _ => None,
        }
    }
    /// A grid point as the range and the task's parameter write it.
    fn key(self, t: NaiveDateTime) -> String {
        match self {
            Grid::Day => t.format("%Y-%m-%d"),
            Grid::Hour => t.format("%Y-%m-%dT%H"),
            Grid::Month => t.format("%Y-%m"),
        }
        .to_string()
    }
    fn parse(self, s: &str) -> Option<NaiveDateTime> {
        let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0);
        match self {
            Grid::Day => midnight(NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?),
            Grid::Hour => NaiveDateTime::parse_from_str(&format!("{s}:00"), "%Y-%m-%dT%H:%M").ok(),
            Grid::Month => {
                midnight(NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d").ok()?)
            }
        }
    }
    fn next(self, t: NaiveDateTime) -> Option<NaiveDateTime> {
        match self {
            Grid::Day => t.checked_add_signed(chrono::Duration::days(1)),
            Grid::Hour => t.checked_add_signed(chrono::Duration::hours(1)),
            Grid::Month => t.checked_add_months(Months::new(1)),
        }
    }
    /// The row a point is drawn in, and its column.
    fn place(self, t: NaiveDateTime) -> (String, u32) {
        match self {
            Grid::Day => (t.format("%Y-%m").to_string(), t.day()),
            Grid::Hour => (t.format("%Y-%m-%d").to_string(), t.hour()),
            Grid::Month => (t.format("%Y").to_string(), t.month()),
        }
    }
    /// The columns of a row.
    fn columns(self) -> std::ops::RangeInclusive<u32> {
        match self {
            Grid::Day => 1..=31,
            Grid::Hour => 0..=23,
            Grid::Month => 1..=12,
        }
    }
    fn plural(self) -> &'static str {
        match self {
            Grid::Day => "days",
            Grid::Hour => "hours",
            Grid::Month => "months",
        }
    }
}

/// A drawn grid point: its key and how it looks (a state's class, or `missing`).
type Cell = (String, &'static str);

/// Points a calendar draws at most (a century of days).
const MAX_POINTS: usize = 40_000;

/// `/calendar/FAMILY`; `None` when no range looked at the family.
pub(crate) fn page(state: &State, family: &str) -> Option<Markup> {
    let range = state.ranges.get(family)?;
    let title = html! { h2 { "Calendar of " code { (family) } } };
    let Some(grid) = Grid::of(&range.unit) else {
        return Some(html! {
            (title)
            p { "The calendar draws ranges by day, hour or month; this one steps by " (range.unit) "." }
        });
    };
    let (Some(from), Some(to)) = (grid.parse(&range.from), grid.parse(&range.to)) else {
        return Some(html! {
            (title)
            p { "The range's grid cannot be drawn: " (range.from) " to " (range.to) "." }
        });
    };
    // The state of each instance that appeared in the events, by its grid point.
    let ran: HashMap<&str, TaskState> = state
        .tasks_of(family)
        .filter_map(|t| Some((t.params[range.param.as_str()].as_str()?, t.state)))
        .collect();
    let mut rows: Vec<(String, Vec<Option<Cell>>)> = Vec::new();
    let (mut points, mut complete) = (0, 0);
    let mut t = Some(from);
    while let Some(at) = t.filter(|t| *t <= to && points < MAX_POINTS) {
        let key = grid.key(at);
        let look = match ran.get(key.as_str()) {
            Some(s) => s.class(),
            None if range.missing.contains(&key) => "missing",
            None => "complete",
        };
        complete += usize::from(look == "complete");
        points += 1;
        let (row, column) = grid.place(at);
        if rows.last().is_none_or(|(r, _)| *r != row) {
            rows.push((row, vec![None; grid.columns().count()]));
        }
        let first = *grid.columns().start();
        rows.last_mut().expect("pushed").1[(column - first) as usize] = Some((key, look));
        t = grid.next(at);
    }
    Some(html! {
        (title)
        p {
            (complete) " of " (points) " " (grid.plural()) " complete, " (range.from) " to " (range.to) " (the last range's check)."
            @if points == MAX_POINTS { " The first " (MAX_POINTS) " are drawn." }
        }
        p class="legend" {
            @for look in ["complete", "missing", "running", "failed", "pending", "notrun"] {
                span class={"day " (look)} {} (if look == "notrun" { "not run" } else { look })
            }
        }
        table class="cal" id="calendar" {
            tr { th {} @for c in grid.columns() { th class="n" { (c) } } }
            @for (row, cells) in &rows {
                tr {
                    th { (row) }
                    @for cell in cells {
                        @match cell {
                            Some((key, look)) => td class={"day " (look)} title=(key) {},
                            None => td {},
                        }
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_grid_reads_and_writes_its_points_as_the_range_does() {
        for (grid, point, next, row, column) in [
            (Grid::Day, "2020-02-29", "2020-03-01", "2020-02", 29),
            (
                Grid::Hour,
                "2020-01-01T23",
                "2020-01-02T00",
                "2020-01-01",
                23,
            ),
            (Grid::Month, "2020-12", "2021-01", "2020", 12),
        ] {
            let t = grid.parse(point).unwrap();
            assert_eq!(grid.key(t), point);
            assert_eq!(grid.key(grid.next(t).unwrap()), next);
            assert_eq!(grid.place(t), (row.to_string(), column));
        }
        assert!(Grid::Hour.parse("2020-01-01").is_none());
        assert!(Grid::of("instance").is_none());
    }
}
