//! [`Duration`]: a span of time as a parameter, in the grammar `kart-grammar` defines for the
//! runtime and the macros alike.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::Param;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_and_print() {
        let d: Duration = "1h30m".parse().unwrap();
        assert_eq!(d.0.as_secs(), 5400);
        assert_eq!(Duration::parse_param("90").unwrap().to_string(), "1m30s");
        assert_eq!(Duration::parse_param("500ms").unwrap().to_string(), "500ms");
        assert!(Duration::parse_param("10 parsecs").is_err());
        assert!(Duration::parse_param("").is_err());
    }
}
