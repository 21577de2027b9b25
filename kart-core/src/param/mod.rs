//! Task parameters: how a value is parsed from the command line or config, how it is written
//! canonically (for the task id) and how it fills an output path template.
//!
//! The [`Param`] trait lives here; its implementations by kind of type in the submodules.

mod duration;
mod impls;
mod ops;
mod raw;
mod time;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

pub use duration::Duration;
pub use ops::{ops, DebugWith, ParamOps};
pub use raw::{RawValue, ValueSource};
pub use time::Month;
pub(crate) use time::{format_datetime, parse_datetime, Precision};

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
    fn canonical_json_sorts_keys() {
        let params = vec![("b", Value::from(1)), ("a", Value::from("x"))];
        assert_eq!(canonical_json(&params), r#"{"a":"x","b":1}"#);
    }
}
