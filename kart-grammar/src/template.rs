//! Output path templates: `reports/{date}.json`, `{hour:%Y-%m-%d}/{hour:%H}.json`. `{{` and
//! `}}` are literal braces; `{name:spec}` formats a date parameter with a strftime `spec`.

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Text as written.
    Literal(String),
    /// `{name}` or `{name:spec}`.
    Param {
        /// The parameter.
        name: String,
        /// Its format, after `:`.
        spec: Option<String>,
    },
}

/// Splits a template; `{{` and `}}` are literal braces.
pub fn parse(template: &str) -> Result<Vec<Segment>, String> {
    let mut segments = Vec::new();
    let mut literal = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                literal.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                literal.push('}');
            }
            '{' => {
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        Some('}') => break,
                        Some('{') | None => {
                            return Err(format!("unclosed `{{` in output template {template:?}"))
                        }
                        Some(c) => inner.push(c),
                    }
                }
                let (name, spec) = match inner.split_once(':') {
                    Some((n, s)) => (n.trim().to_string(), Some(s.to_string())),
                    None => (inner.trim().to_string(), None),
                };
                if name.is_empty() {
                    return Err(format!("empty `{{}}` in output template {template:?}: name a parameter, like {{date}}"));
                }
                if !literal.is_empty() {
                    segments.push(Segment::Literal(std::mem::take(&mut literal)));
                }
                segments.push(Segment::Param { name, spec });
            }
            '}' => {
                return Err(format!(
                "unmatched `}}` in output template {template:?} (write `}}}}` for a literal brace)"
            ))
            }
            c => literal.push(c),
        }
    }
    if !literal.is_empty() {
        segments.push(Segment::Literal(literal));
    }
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_split_into_literals_and_parameters() {
        assert_eq!(
            parse("a/{date:%Y/%m}/{{x}}{n}.json").unwrap(),
            [
                Segment::Literal("a/".into()),
                Segment::Param {
                    name: "date".into(),
                    spec: Some("%Y/%m".into())
                },
                Segment::Literal("/{x}".into()),
                Segment::Param {
                    name: "n".into(),
                    spec: None
                },
                Segment::Literal(".json".into()),
            ]
        );
        assert!(parse("a/{date").is_err());
        assert!(parse("a/{}").is_err());
        assert!(parse("a}").is_err());
    }
}
