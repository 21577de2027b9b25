//! Parameter values before they are typed, and where they came from.

use std::fmt;

use serde_json::Value;

use super::{ops, Param, ParamOps};

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
