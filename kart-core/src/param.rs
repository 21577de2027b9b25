//! Task parameters: how a value is parsed from the command line or config, how it is written
//! canonically (for the task id) and how it fills an output path template.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use serde_json::Value;

/// What a parameter means to the range tools, which step a date-like parameter along a grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// `NaiveDate`: a day (`RangeDaily`).
    Date,
    /// `NaiveDateTime`: an hour or minute (`RangeHourly`, `RangeByMinutes`).
    DateTime,
    /// [`Month`]: a calendar month (`RangeMonthly`).
    Month,
    /// A flag: `--name` alone means true.
    Bool,
    /// Anything else.
    Other,
}

/// A type that can be a task parameter.
///
/// Implemented for integers, floats, `bool`, `String`, `chrono::NaiveDate`,
/// `chrono::NaiveDateTime`, [`Month`], [`Duration`], JSON maps (`serde_json::Map`, Luigi's
/// DictParameter) and `serde_json::Value`, and for `Vec<T>` and `Option<T>` of those. An enum
/// implementing `FromStr` and `Display` becomes a parameter with [`param_from_str!`](crate::param_from_str).
///
/// The canonical form ([`Param::to_json`]) is what the task id hashes, so it must not change for
/// equal values across runs and platforms.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a task parameter",
    label = "unsupported parameter type",
    note = "parameters can be integers, floats, bool, String, chrono::NaiveDate, chrono::NaiveDateTime, kart_core::Month, kart_core::Duration, serde_json::Map, and Vec<T> or Option<T> of those",
    note = "for an enum implementing FromStr + Display, add `kart_core::param_from_str!({Self});`"
)]
pub trait Param: Sized + Clone + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// Human description of the accepted form, for help and errors (e.g. `date (YYYY-MM-DD)`).
    fn type_name() -> String;

    /// How the range tools and the CLI treat this type.
    fn kind() -> ParamKind {
        ParamKind::Other
    }

    /// Parses the command-line / environment form.
    fn parse_param(s: &str) -> Result<Self, String>;

    /// Reads a config (TOML) or JSON value. Strings go through [`Param::parse_param`].
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::String(s) => Self::parse_param(s),
            other => Self::parse_param(&other.to_string()),
        }
    }

    /// Canonical JSON form, hashed into the task id.
    fn to_json(&self) -> Value;

    /// The command-line form; `parse_param(to_param_string(x)) == x`.
    fn to_param_string(&self) -> String {
        match self.to_json() {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }

    /// Fills `{name}` or `{name:spec}` in an output path template. Only date-like types take a spec.
    fn format_path(&self, spec: Option<&str>) -> Result<String, String> {
        match spec {
            None => Ok(self.to_param_string()),
            Some(spec) => Err(format!(
                "format spec `{spec}` applies only to date parameters"
            )),
        }
    }

    /// Appends [`Param::format_path`]'s text to `out`; types that range tools format by the
    /// hundred thousand override it to skip the intermediate string.
    fn write_path(&self, spec: Option<&str>, out: &mut String) -> Result<(), String> {
        out.push_str(&self.format_path(spec)?);
        Ok(())
    }
}

macro_rules! int_params {
    ($($ty:ty),*) => {$(
        impl Param for $ty {
            fn type_name() -> String {
                stringify!($ty).to_string()
            }
            fn parse_param(s: &str) -> Result<Self, String> {
                s.trim().parse::<$ty>().map_err(|e| e.to_string())
            }
            fn from_json(v: &Value) -> Result<Self, String> {
                match v {
                    Value::Number(n) => n
                        .to_string()
                        .parse::<$ty>()
                        .map_err(|e| e.to_string()),
                    Value::String(s) => Self::parse_param(s),
                    other => Err(format!("expected an integer, found {other}")),
                }
            }
            fn to_json(&self) -> Value {
                Value::from(*self)
            }
        }
    )*};
}
int_params!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! float_params {
    ($($ty:ty),*) => {$(
        impl Param for $ty {
            fn type_name() -> String {
                stringify!($ty).to_string()
            }
            fn parse_param(s: &str) -> Result<Self, String> {
                s.trim().parse::<$ty>().map_err(|e| e.to_string())
            }
            fn from_json(v: &Value) -> Result<Self, String> {
                match v {
                    Value::Number(n) => n.as_f64().map(|f| f as $ty).ok_or_else(|| format!("{n} is not a float")),
                    Value::String(s) => Self::parse_param(s),
                    other => Err(format!("expected a number, found {other}")),
                }
            }
            fn to_json(&self) -> Value {
                // JSON has no NaN or infinity; their text form keeps the id well defined.
                serde_json::Number::from_f64(f64::from(*self))
                    .map(Value::Number)
                    .unwrap_or_else(|| Value::String(self.to_string()))
            }
        }
    )*};
}
float_params!(f32, f64);

impl Param for bool {
    fn type_name() -> String {
        "bool".into()
    }
    fn kind() -> ParamKind {
        ParamKind::Bool
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".into()),
        }
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Bool(b) => Ok(*b),
            Value::String(s) => Self::parse_param(s),
            other => Err(format!("expected true or false, found {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl Param for String {
    fn type_name() -> String {
        "string".into()
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        Ok(s.to_string())
    }
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

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

/// Appends ISO `YYYY-MM-DD`, digit by digit: range tools format hundreds of thousands of
/// dates, and `Display` goes through the formatting machinery for each.
fn push_iso_date(d: &NaiveDate, out: &mut String) {
    let year = d.year();
    if !(0..=9999).contains(&year) {
        out.push_str(&d.to_string());
        return;
    }
    let (year, month, day) = (year as u32, d.month(), d.day());
    let digit = |n: u32| b'0' + (n % 10) as u8;
    let text = [
        digit(year / 1000),
        digit(year / 100),
        digit(year / 10),
        digit(year),
        b'-',
        digit(month / 10),
        digit(month),
        b'-',
        digit(day / 10),
        digit(day),
    ];
    out.push_str(std::str::from_utf8(&text).expect("ASCII digits"));
}

impl Param for NaiveDate {
    fn type_name() -> String {
        "date (YYYY-MM-DD)".into()
    }
    fn kind() -> ParamKind {
        ParamKind::Date
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|e| e.to_string())
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

/// Formats a date-time the way Luigi's DateHour/DateMinute/DateSecond parameters do, with the
/// shortest form that loses nothing: `2015-01-01T05`, `2015-01-01T0530`, `2015-01-01T053012`.
fn datetime_string(t: &NaiveDateTime) -> String {
    if t.nanosecond() != 0 {
        t.format("%Y-%m-%dT%H%M%S%.f").to_string()
    } else if t.second() != 0 {
        t.format("%Y-%m-%dT%H%M%S").to_string()
    } else if t.minute() != 0 {
        t.format("%Y-%m-%dT%H%M").to_string()
    } else {
        t.format("%Y-%m-%dT%H").to_string()
    }
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
        let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|e| e.to_string())?;
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
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
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
        Value::String(datetime_string(self))
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
        write!(f, "{}", self.first_day.format("%Y-%m"))
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

/// A span of time written as `500ms`, `30s`, `10m`, `1h30m` or `2d` (a bare number is seconds).
///
/// ```
/// use kart_core::Duration;
/// let d: Duration = "1h30m".parse().unwrap();
/// assert_eq!(d.as_std().as_secs(), 5400);
/// assert_eq!(d.to_string(), "1h30m");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// The standard-library duration.
    pub fn as_std(self) -> std::time::Duration {
        self.0
    }
    /// A duration of `secs` seconds.
    pub const fn from_secs(secs: u64) -> Self {
        Duration(std::time::Duration::from_secs(secs))
    }
    /// A duration of `ms` milliseconds.
    pub const fn from_millis(ms: u64) -> Self {
        Duration(std::time::Duration::from_millis(ms))
    }
}

impl From<std::time::Duration> for Duration {
    fn from(d: std::time::Duration) -> Self {
        Duration(d)
    }
}

impl FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        kart_grammar::duration::parse(s).map(Duration)
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = self.0.as_millis();
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1000),
            ("ms", 1),
        ] {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl serde::Serialize for Duration {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Duration::from_json(&v).map_err(serde::de::Error::custom)
    }
}

impl Param for Duration {
    fn type_name() -> String {
        "duration (e.g. 30s, 10m, 1h)".into()
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        s.parse()
            .map_err(|_| "not a number followed by ms, s, m, h or d".to_string())
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Number(n) => n
                .as_f64()
                .filter(|f| *f >= 0.0)
                .map(|f| Duration(std::time::Duration::from_secs_f64(f)))
                .ok_or_else(|| format!("invalid duration {n}")),
            Value::String(s) => s.parse(),
            other => Err(format!("expected a duration, found {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::String(self.to_string())
    }
}

impl Param for serde_json::Map<String, Value> {
    fn type_name() -> String {
        "JSON object".into()
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| format!("expected a JSON object: {e}"))
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Object(m) => Ok(m.clone()),
            Value::String(s) => Self::parse_param(s),
            other => Err(format!("expected a JSON object, found {other}")),
        }
    }
    fn to_json(&self) -> Value {
        // serde_json's Map keeps keys sorted, so equal maps hash equally.
        Value::Object(self.clone())
    }
}

impl Param for Value {
    fn type_name() -> String {
        "JSON value".into()
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).or_else(|_| Ok(Value::String(s.to_string())))
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        Ok(v.clone())
    }
    fn to_json(&self) -> Value {
        self.clone()
    }
}

impl<T: Param> Param for Vec<T> {
    fn type_name() -> String {
        format!("list of {} (JSON array or comma-separated)", T::type_name())
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with('[') {
            let v: Value =
                serde_json::from_str(s).map_err(|e| format!("expected a JSON array: {e}"))?;
            return Self::from_json(&v);
        }
        if s.is_empty() {
            return Ok(Vec::new());
        }
        s.split(',')
            .map(|item| T::parse_param(item.trim()))
            .collect()
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Array(items) => items.iter().map(T::from_json).collect(),
            Value::String(s) => Self::parse_param(s),
            other => Err(format!("expected a list, found {other}")),
        }
    }
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(T::to_json).collect())
    }
    fn to_param_string(&self) -> String {
        self.to_json().to_string()
    }
}

impl<T: Param> Param for Option<T> {
    fn type_name() -> String {
        format!("optional {}", T::type_name())
    }
    fn kind() -> ParamKind {
        T::kind()
    }
    fn parse_param(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            Ok(None)
        } else {
            T::parse_param(s).map(Some)
        }
    }
    fn from_json(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            other => T::from_json(other).map(Some),
        }
    }
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_json)
    }
    fn to_param_string(&self) -> String {
        self.as_ref().map_or_else(String::new, T::to_param_string)
    }
    fn format_path(&self, spec: Option<&str>) -> Result<String, String> {
        match self {
            Some(v) => v.format_path(spec),
            None => Ok("none".into()),
        }
    }
}

/// Makes a type implementing `FromStr` and `Display` (typically a fieldless enum) usable as a
/// task parameter. Its canonical form is its `Display` text.
///
/// ```
/// #[derive(Clone, Debug, PartialEq)]
/// enum Region { Eu, Us }
/// impl std::str::FromStr for Region {
///     type Err = String;
///     fn from_str(s: &str) -> Result<Self, String> {
///         match s { "eu" => Ok(Region::Eu), "us" => Ok(Region::Us), _ => Err(format!("unknown region {s}")) }
///     }
/// }
/// impl std::fmt::Display for Region {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
///         f.write_str(match self { Region::Eu => "eu", Region::Us => "us" })
///     }
/// }
/// kart_core::param_from_str!(Region);
///
/// use kart_core::Param;
/// assert_eq!(Region::parse_param("us").unwrap(), Region::Us);
/// ```
#[macro_export]
macro_rules! param_from_str {
    ($ty:ty) => {
        impl $crate::Param for $ty {
            fn type_name() -> ::std::string::String {
                ::std::string::String::from(::core::stringify!($ty))
            }
            fn parse_param(s: &str) -> ::core::result::Result<Self, ::std::string::String> {
                <$ty as ::core::str::FromStr>::from_str(s)
                    .map_err(|e| ::std::string::ToString::to_string(&e))
            }
            fn to_json(&self) -> $crate::__private::serde_json::Value {
                $crate::__private::serde_json::Value::String(::std::string::ToString::to_string(
                    self,
                ))
            }
        }
    };
}

/// A parameter type's operations as plain function pointers. Generated code reaches every
/// parameter operation through [`ops`], so a type that is not a [`Param`] gives one error at
/// the argument's type instead of one per use.
#[doc(hidden)]
pub struct ParamOps<T> {
    pub clone: fn(&T) -> T,
    pub eq: fn(&T, &T) -> bool,
    pub debug: fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result,
    pub to_json: fn(&T) -> Value,
    pub from_json: fn(&Value) -> Result<T, String>,
    pub parse: fn(&str) -> Result<T, String>,
    pub to_param_string: fn(&T) -> String,
    pub write_path: fn(&T, Option<&str>, &mut String) -> Result<(), String>,
    pub type_name: fn() -> String,
    pub kind: fn() -> ParamKind,
}

impl<T> Clone for ParamOps<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ParamOps<T> {}

#[doc(hidden)]
pub const fn ops<T: Param>() -> ParamOps<T> {
    ParamOps {
        clone: <T as Clone>::clone,
        eq: <T as PartialEq>::eq,
        debug: <T as fmt::Debug>::fmt,
        to_json: T::to_json,
        from_json: T::from_json,
        parse: T::parse_param,
        to_param_string: T::to_param_string,
        write_path: T::write_path,
        type_name: T::type_name,
        kind: T::kind,
    }
}

/// Formats a value with a given `Debug` function.
#[doc(hidden)]
pub struct DebugWith<'a, T>(
    pub &'a T,
    pub fn(&T, &mut fmt::Formatter<'_>) -> fmt::Result,
);

impl<T> fmt::Debug for DebugWith<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        (self.1)(self.0, f)
    }
}

/// Where a raw parameter value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// A flag on the command line.
    CommandLine,
    /// An environment variable.
    Env(String),
    /// A config file section.
    Config(String),
    /// A value passed by another tool (e.g. a range tool's `--of-params`).
    Caller(String),
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueSource::CommandLine => f.write_str("command line"),
            ValueSource::Env(v) => write!(f, "environment variable {v}"),
            ValueSource::Config(s) => write!(f, "config {s}"),
            ValueSource::Caller(s) => f.write_str(s),
        }
    }
}

/// A parameter value before it is typed: text (CLI, environment) or a structured value (config, JSON).
#[derive(Debug, Clone, PartialEq)]
pub enum RawValue {
    /// Text to parse with [`Param::parse_param`].
    Text(String),
    /// A structured value read with [`Param::from_json`].
    Json(Value),
}

impl RawValue {
    /// Types this value as `T`.
    pub fn parse<T: Param>(&self) -> Result<T, String> {
        self.parse_with(ops::<T>())
    }

    pub(crate) fn parse_with<T>(&self, ops: ParamOps<T>) -> Result<T, String> {
        match self {
            RawValue::Text(s) => (ops.parse)(s),
            RawValue::Json(v) => (ops.from_json)(v),
        }
    }
    /// The value as given, for error messages.
    pub fn display(&self) -> String {
        match self {
            RawValue::Text(s) => s.clone(),
            RawValue::Json(Value::String(s)) => s.clone(),
            RawValue::Json(v) => v.to_string(),
        }
    }
}

/// Canonical significant parameters of a task, in declaration order.
pub type ParamList = Vec<(&'static str, Value)>;

/// Serializes parameters canonically: a JSON object with keys sorted, no whitespace.
pub fn canonical_json(params: &[(&'static str, Value)]) -> String {
    let sorted: BTreeMap<&str, &Value> = params.iter().map(|(k, v)| (*k, v)).collect();
    serde_json::to_string(&sorted).expect("JSON values always serialize")
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
    fn durations_parse_and_print() {
        let d: Duration = "1h30m".parse().unwrap();
        assert_eq!(d.0.as_secs(), 5400);
        assert_eq!(Duration::parse_param("90").unwrap().to_string(), "1m30s");
        assert_eq!(Duration::parse_param("500ms").unwrap().to_string(), "500ms");
        assert!(Duration::parse_param("10 parsecs").is_err());
        assert!(Duration::parse_param("").is_err());
    }

    #[test]
    fn lists_accept_json_and_commas() {
        assert_eq!(Vec::<i32>::parse_param("[1, 2]").unwrap(), vec![1, 2]);
        assert_eq!(Vec::<i32>::parse_param("1,2").unwrap(), vec![1, 2]);
        assert!(Vec::<i32>::parse_param("1,x").is_err());
    }

    #[test]
    fn bad_date_spec_is_an_error_not_a_panic() {
        let d = NaiveDate::from_ymd_opt(2015, 1, 2).unwrap();
        assert_eq!(d.format_path(Some("%Y/%m")).unwrap(), "2015/01");
        assert!(d.format_path(Some("%Q")).is_err());
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let params = vec![("b", Value::from(1)), ("a", Value::from("x"))];
        assert_eq!(canonical_json(&params), r#"{"a":"x","b":1}"#);
    }
}
