//! Building a range tool from its parameters, with Luigi's checks and wording.

use std::sync::Mutex;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::Value;

use super::task::{RangeKind, RangeTask};
use super::window::{Unit, Window};
use crate::error::{Error, Result};
use crate::param::{Month, ParamKind};
use crate::registry::{registry, ParamSource};
use crate::task::AnyTask;

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

pub(super) fn construct(src: &ParamSource<'_>, kind: RangeKind) -> Result<AnyTask> {
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
        Unit::Day => (
            src.value::<NaiveDate>("start")?.map(to_dt),
            src.value::<NaiveDate>("stop")?.map(to_dt),
        ),
        Unit::Hour | Unit::Minutes(_) => (
            src.value::<NaiveDateTime>("start")?,
            src.value::<NaiveDateTime>("stop")?,
        ),
        Unit::Month => (
            src.value::<Month>("start")?.map(|m| to_dt(m.first_day())),
            src.value::<Month>("stop")?.map(|m| to_dt(m.first_day())),
        ),
    };
    let now_given: Option<String> = src.value("now")?;
    let now = match &now_given {
        Some(s) => parse_now(s).map_err(|e| bad(&kind, format!("--now {s:?}: {e}")))?,
        None => chrono::Utc::now().naive_utc(),
    };
    let back: i64 = src
        .value(kind.unit.back_param())?
        .unwrap_or(kind.unit.default_back());
    let forward: i64 = src.value(kind.unit.forward_param())?.unwrap_or(0);
    let reverse: bool = src.value("reverse")?.unwrap_or(false);
    let task_limit: usize = src.value("task_limit")?.unwrap_or(50);
    let unit = match kind.unit {
        Unit::Minutes(_) => Unit::Minutes(src.value("minutes_interval")?.unwrap_or(1)),
        unit => unit,
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
        (unit.back_param(), Value::from(back)),
        (unit.forward_param(), Value::from(forward)),
    ];
    if let Unit::Minutes(interval) = unit {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_accepts_epoch_seconds_and_iso() {
        let new_year = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap();
        assert_eq!(
            parse_now("1420070400").unwrap(),
            new_year.and_time(NaiveTime::MIN)
        );
        assert_eq!(
            parse_now("2015-01-01T12:30:00Z").unwrap(),
            new_year.and_hms_opt(12, 30, 0).unwrap()
        );
        assert!(parse_now("yesterday").is_err());
    }
}
