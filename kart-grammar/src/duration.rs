//! Durations: `500ms`, `30s`, `10m`, `1h30m`, `2d`, `1.5h`, `90min`; a bare number is seconds.

use std::time::Duration;

/// Parses a duration; the error names the text and the expected forms.
///
/// ```
/// use std::time::Duration;
/// use kart_grammar::duration::parse;
/// assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse("90min"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
/// assert_eq!(parse("2.5"), Ok(Duration::from_millis(2500)));
/// assert!(parse("ten minutes").is_err());
/// ```
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let bad = || format!("invalid duration {s:?}: expected e.g. 500ms, 30s, 10m, 1h30m, 2d");
    if s.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = s.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite())
            .then(|| Duration::from_secs_f64(secs))
            .ok_or_else(bad);
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?;
        let (num, tail) = rest.split_at(digits);
        let value: f64 = num.parse().map_err(|_| bad())?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let scale = match unit {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3600.0,
            "d" | "day" | "days" => 86400.0,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(value * scale);
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_its_aliases() {
        for (text, secs) in [
            ("30s", 30.0),
            ("2secs", 2.0),
            ("10m", 600.0),
            ("90min", 5400.0),
            ("2hrs", 7200.0),
            ("1d", 86400.0),
            ("3days", 259200.0),
            ("1h30m", 5400.0),
            ("0.5s", 0.5),
            ("0s", 0.0),
            ("45", 45.0),
        ] {
            assert_eq!(parse(text), Ok(Duration::from_secs_f64(secs)), "{text}");
        }
        for bad in ["", "m", "10x", "-5", "1h-", "ten"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
