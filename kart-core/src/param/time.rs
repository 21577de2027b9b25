//! Dates, date-times and [`Month`]s as parameters: one parser for the forms users write and
//! one formatter for every date and date-time text kart writes (ids, paths, range instances).

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value;

use super::{Param, ParamKind};

fn format_checked<D: fmt::Display>(
    value: impl Fn(&str) -> D,
    spec: &str,
) -> Result<String, String> {
    // chrono panics when an invalid spec is displayed; reject it first.
    if chrono::format::StrftimeItems::new(spec)
        .any(|item| matches!(item, chrono::format::Item::Error))
    {
        return Err(format!("invalid date format spec `{spec}`"));
    }
    Ok(value(spec).to_string())
}

/// `00` to `99`, two digits each.
const PAIRS: &str = {
    const DIGITS: [u8; 200] = {
        let mut digits = [0; 200];
        let mut i = 0;
        while i < 100 {
            digits[2 * i] = b'0' + (i / 10) as u8;
            digits[2 * i + 1] = b'0' + (i % 10) as u8;
            i += 1;
        }
        digits
    };
    match std::str::from_utf8(&DIGITS) {
        Ok(pairs) => pairs,
        Err(_) => panic!("digits are ASCII"),
    }
};

/// The two digits of `n` (below 100).
fn pair(n: u32) -> &'static str {
    let i = 2 * n as usize;
    &PAIRS[i..i + 2]
}

/// Appends ISO `YYYY-MM-DD` from a table of digit pairs: range tools format hundreds of
/// thousands of dates, and `Display` goes through the formatting machinery for each.
fn push_iso_date(d: &NaiveDate, out: &mut String) {
    let year = d.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&d.to_string());
        return;
    }
    let year = year as u32;
    out.reserve(10);
    out.push_str(pair(year / 100));
    out.push_str(pair(year % 100));
    out.push('-');
    out.push_str(pair(d.month()));
    out.push('-');
    out.push_str(pair(d.day()));
}

/// A `YYYY-MM-DD` date: the one reading of a date, for dates and the date part of
/// date-times. The canonical form is read digit by digit (a range reads back every date it
/// instantiates, and chrono's general parser costs a microsecond each); anything else, and a
/// day that does not exist, is left to chrono, which names the problem.
fn parse_date(s: &str) -> Result<NaiveDate, String> {
    match parse_iso_date(s) {
        Some(date) => Ok(date),
        None => NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|e| e.to_string()),
    }
}

/// `YYYY-MM-DD` exactly, read digit by digit.
fn parse_iso_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(&b[..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&b[5..7])?, number(&b[8..])?)
}

impl Param for NaiveDate {
    fn type_name() -> String {
        "date (YYYY-MM-DD)".into()
    }
    fn kind() -> ParamKind {
        ParamKind::Date
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        parse_date(s.trim())
    }
    fn to_json(&self) -> Value {
        Value::String(self.to_param_string())
    }
    fn to_param_string(&self) -> String {
        let mut out = String::with_capacity(10);
        push_iso_date(self, &mut out);
        out
    }
    fn format_path(&self, spec: Option<&str>) -> Result<String, String> {
        match spec {
            None => Ok(self.to_param_string()),
            Some(spec) => format_checked(|s| self.format(s).to_string(), spec),
        }
    }
    fn write_path(&self, spec: Option<&str>, out: &mut String) -> Result<(), String> {
        match spec {
            None => push_iso_date(self, out),
            Some(_) => out.push_str(&self.format_path(spec)?),
        }
        Ok(())
    }
}

/// How much of a date-time is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Precision {
    /// `2015-01`
    Month,
    /// `2015-01-01`
    Day,
    /// `2015-01-01T05` (Luigi's DateHour)
    Hour,
    /// `2015-01-01T0530` (Luigi's DateMinute)
    Minute,
    /// `2015-01-01T053012` (Luigi's DateSecond)
    Second,
    /// `2015-01-01T053012.250`
    Fraction,
}

impl Precision {
    /// The shortest precision that loses nothing of `t`.
    fn of(t: &NaiveDateTime) -> Precision {
        if t.nanosecond() != 0 {
            Precision::Fraction
        } else if t.second() != 0 {
            Precision::Second
        } else if t.minute() != 0 {
            Precision::Minute
        } else {
            Precision::Hour
        }
    }
}

/// Writes `t` at `precision`, truncating what is finer: the one formatter of every date and
/// date-time text kart writes.
pub(crate) fn format_datetime(t: &NaiveDateTime, precision: Precision) -> String {
    let mut out = String::with_capacity(24);
    if precision == Precision::Month {
        if (0..=9999).contains(&t.year()) {
            push_iso_date(&t.date(), &mut out);
            out.truncate(7);
        } else {
            let _ = write!(out, "{}", t.format("%Y-%m"));
        }
        return out;
    }
    push_iso_date(&t.date(), &mut out);
    let (h, m, sec) = (t.hour(), t.minute(), t.second());
    // Writing to a String cannot fail.
    let _ = match precision {
        Precision::Month | Precision::Day => Ok(()),
        Precision::Hour => write!(out, "T{h:02}"),
        Precision::Minute => write!(out, "T{h:02}{m:02}"),
        Precision::Second => write!(out, "T{h:02}{m:02}{sec:02}"),
        Precision::Fraction => write!(out, "T{}", t.format("%H%M%S%.f")),
    };
    out
}

/// Parses the date-time forms users write: Luigi's `YYYY-MM-DDTHH`, `YYYY-MM-DDTHHMM`,
/// `YYYY-MM-DDTHHMMSS`, ISO `YYYY-MM-DDTHH:MM[:SS]` (or with a space), and a bare date (midnight).
pub(crate) fn parse_datetime(s: &str) -> Result<NaiveDateTime, String> {
    let s = s.trim();
    const FORMATS: &[&str] = &[
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H%M%S%.f",
    ];
    for f in FORMATS {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Ok(t);
        }
    }
    // chrono needs minutes in a format; the short Luigi forms are parsed by hand.
    if let Some((date, time)) = s.split_once(['T', ' ']) {
        let date = parse_date(date)?;
        let digits = time.chars().all(|c| c.is_ascii_digit());
        let num = |r: std::ops::Range<usize>| time[r].parse::<u32>().ok();
        let hms = match (digits, time.len()) {
            (true, 2) => num(0..2).map(|h| (h, 0)),
            (true, 4) => num(0..2).zip(num(2..4)),
            _ => None,
        };
        if let Some((h, m)) = hms {
            if let Some(t) = NaiveTime::from_hms_opt(h, m, 0) {
                return Ok(date.and_time(t));
            }
        }
        return Err("expected YYYY-MM-DDTHH, YYYY-MM-DDTHHMM or YYYY-MM-DDTHH:MM:SS".into());
    }
    parse_date(s)
        .map(|d| d.and_time(NaiveTime::MIN))
        .map_err(|_| "expected YYYY-MM-DDTHH, YYYY-MM-DDTHHMM or YYYY-MM-DDTHH:MM:SS".into())
}

impl Param for NaiveDateTime {
    fn type_name() -> String {
        "date-time (YYYY-MM-DDTHH, YYYY-MM-DDTHHMM or YYYY-MM-DDTHH:MM:SS)".into()
    }
    fn kind() -> ParamKind {
        ParamKind::DateTime
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        parse_datetime(s)
    }
    fn to_json(&self) -> Value {
        Value::String(format_datetime(self, Precision::of(self)))
    }
    fn format_path(&self, spec: Option<&str>) -> Result<String, String> {
        match spec {
            None => Ok(self.to_param_string()),
            Some(spec) => format_checked(|s| self.format(s).to_string(), spec),
        }
    }
}

/// A calendar month, written `YYYY-MM` (Luigi's MonthParameter).
///
/// ```
/// use kart_core::{Month, Param};
/// let m = Month::parse_param("2015-02").unwrap();
/// assert_eq!(m.to_string(), "2015-02");
/// assert_eq!(m.succ().to_string(), "2015-03");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first_day: NaiveDate,
}

impl Month {
    /// The month containing `date`.
    pub fn of(date: NaiveDate) -> Self {
        Month {
            first_day: date.with_day(1).expect("day 1 exists in every month"),
        }
    }
    /// The month `year-month`, if valid.
    pub fn new(year: i32, month: u32) -> Option<Self> {
        NaiveDate::from_ymd_opt(year, month, 1).map(|first_day| Month { first_day })
    }
    /// Its first day.
    pub fn first_day(self) -> NaiveDate {
        self.first_day
    }
    /// The next month.
    pub fn succ(self) -> Self {
        Month {
            first_day: self.first_day + chrono::Months::new(1),
        }
    }
    /// The previous month.
    pub fn pred(self) -> Self {
        Month {
            first_day: self.first_day - chrono::Months::new(1),
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_datetime(
            &self.first_day.and_time(NaiveTime::MIN),
            Precision::Month,
        ))
    }
}

impl FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d")
            .map(Month::of)
            .map_err(|_| format!("expected YYYY-MM, got {s:?}"))
    }
}

impl Param for Month {
    fn type_name() -> String {
        "month (YYYY-MM)".into()
    }
    fn kind() -> ParamKind {
        ParamKind::Month
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        s.parse()
    }
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
    fn format_path(&self, spec: Option<&str>) -> Result<String, String> {
        match spec {
            None => Ok(self.to_string()),
            Some(spec) => format_checked(|s| self.first_day.format(s).to_string(), spec),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_iso_whatever_the_year() {
        for (y, m, d) in [
            (2015, 1, 1),
            (1, 12, 31),
            (999, 2, 9),
            (9999, 12, 31),
            (10000, 1, 1),
            (-3, 5, 6),
        ] {
            let date = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(date.to_param_string(), date.to_string());
            let mut path = String::from("daily/");
            date.write_path(None, &mut path).unwrap();
            assert_eq!(path, format!("daily/{date}"));
        }
        let mut day = NaiveDate::from_ymd_opt(1999, 1, 1).unwrap();
        while day.year() < 2001 {
            assert_eq!(day.to_param_string(), day.to_string());
            assert_eq!(NaiveDate::parse_param(&day.to_string()), Ok(day));
            day = day.succ_opt().unwrap();
        }
    }

    #[test]
    fn dates_parse_as_chrono_parses_them() {
        for text in [
            "2015-01-01",
            " 2015-01-01 ",
            "0001-12-31",
            "9999-12-31",
            "2016-02-29",
            "2015-02-29",
            "2015-13-01",
            "2015-00-10",
            "2015-1-01",
            "2015-01-1",
            "20150101",
            "2015/01/01",
            "+2015-01-01",
            "2015-0a-01",
            "abcd-ef-gh",
            "",
            "2015-01-01T00",
        ] {
            let chrono =
                NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|e| e.to_string());
            assert_eq!(NaiveDate::parse_param(text), chrono, "{text:?}");
        }
    }

    #[test]
    fn datetime_forms_round_trip() {
        for s in ["2015-01-01T05", "2015-01-01T0530", "2015-01-01T053012"] {
            let t = NaiveDateTime::parse_param(s).unwrap();
            assert_eq!(t.to_param_string(), s);
        }
        let t = NaiveDateTime::parse_param("2015-01-01T05:30").unwrap();
        assert_eq!(t.to_param_string(), "2015-01-01T0530");
        assert!(NaiveDateTime::parse_param("2015-01-01T5").is_err());
    }

    #[test]
    fn bad_date_spec_is_an_error_not_a_panic() {
        let d = NaiveDate::from_ymd_opt(2015, 1, 2).unwrap();
        assert_eq!(d.format_path(Some("%Y/%m")).unwrap(), "2015/01");
        assert!(d.format_path(Some("%Q")).is_err());
    }

    #[test]
    fn one_formatter_writes_every_precision() {
        let t = NaiveDate::from_ymd_opt(2015, 1, 2)
            .unwrap()
            .and_hms_milli_opt(5, 30, 12, 250)
            .unwrap();
        let at = |p| format_datetime(&t, p);
        assert_eq!(at(Precision::Month), "2015-01");
        assert_eq!(at(Precision::Day), "2015-01-02");
        assert_eq!(at(Precision::Hour), "2015-01-02T05");
        assert_eq!(at(Precision::Minute), "2015-01-02T0530");
        assert_eq!(at(Precision::Second), "2015-01-02T053012");
        assert_eq!(at(Precision::Fraction), "2015-01-02T053012.250");
        let far = NaiveDate::from_ymd_opt(10000, 3, 1).unwrap();
        assert_eq!(Month::of(far).to_string(), far.format("%Y-%m").to_string());
    }
}
