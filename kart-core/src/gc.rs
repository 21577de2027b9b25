//! Garbage collection of intermediate outputs (Luigi's patterns, "Code Reuse"): files and
//! directories written by `#[task(intermediate)]` families and last modified before a bound
//! are removed — never one a non-intermediate family could have written, never one whose
//! cache lock is held. A directory output goes whole, by its newest file's time.

use std::time::{Duration, SystemTime};

use kart_grammar::template::Segment;

use crate::error::Result;
use crate::lock::Locks;
use crate::registry::{Registry, TaskEntry};
use crate::workspace::Workspace;

/// One piece of an output template.
#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Literal(String),
    /// A parameter whose value spans `slashes + 1` path segments.
    Value {
        slashes: usize,
    },
}

/// Which paths a family can write.
#[derive(Debug, Clone)]
struct PathPattern {
    pieces: Vec<Piece>,
}

impl PathPattern {
    fn for_entry(entry: &TaskEntry) -> Option<Self> {
        if entry.spec.wrapper {
            return None;
        }
        let template = match entry.spec.output {
            Some(t) => t.to_string(),
            // The default path, with `{hash}` standing for the id's hash.
            None => crate::task::default_output_template(entry.spec),
        };
        // The grammar `#[task(output)]` was checked against at compile time.
        let pieces = kart_grammar::template::parse(&template)
            .ok()?
            .into_iter()
            .map(|segment| match segment {
                Segment::Literal(text) => Piece::Literal(text),
                Segment::Param { spec, .. } => Piece::Value {
                    slashes: spec.as_deref().unwrap_or("").matches('/').count(),
                },
            })
            .collect();
        Some(PathPattern { pieces })
    }

    /// Whether `path` (relative, `/`-separated) fits the template.
    fn matches(&self, path: &str) -> bool {
        fn go(pieces: &[Piece], path: &str) -> bool {
            match pieces.split_first() {
                None => path.is_empty(),
                Some((Piece::Literal(l), rest)) => {
                    path.strip_prefix(l.as_str()).is_some_and(|p| go(rest, p))
                }
                Some((Piece::Value { slashes }, rest)) => {
                    // Try every non-empty prefix with exactly `slashes` slashes.
                    let mut seen = 0;
                    for (i, c) in path.char_indices() {
                        if c == '/' {
                            seen += 1;
                            if seen > *slashes {
                                break;
                            }
                            continue;
                        }
                        if seen == *slashes && go(rest, &path[i + c.len_utf8()..]) {
                            return true;
                        }
                    }
                    false
                }
            }
        }
        go(&self.pieces, path)
    }
}

/// The stored objects as outputs, sorted by key: the files of a directory output (a key of
/// a directory template, ending in `/`) gathered into one, with their total size and the
/// newest time.
fn gather_dirs(
    files: Vec<crate::store::ObjectInfo>,
    intermediate: &[PathPattern],
    others: &[PathPattern],
) -> Vec<crate::store::ObjectInfo> {
    let dir_of = |key: &str| {
        key.match_indices('/')
            .map(|(i, _)| &key[..=i])
            .find(|dir| intermediate.iter().chain(others).any(|p| p.matches(dir)))
            .map(str::to_string)
    };
    let mut outputs: std::collections::BTreeMap<String, crate::store::ObjectInfo> =
        Default::default();
    for file in files {
        let key = dir_of(&file.key).unwrap_or_else(|| file.key.clone());
        let output = outputs
            .entry(key.clone())
            .or_insert_with(|| crate::store::ObjectInfo {
                key,
                size: 0,
                modified: std::time::UNIX_EPOCH,
            });
        output.size += file.size;
        output.modified = output.modified.max(file.modified);
    }
    outputs.into_values().collect()
}

/// What `gc` found: each intermediate output older than the bound and what became of it.
#[derive(Debug, Default)]
pub struct GcReport {
    /// Removed (or, in a dry run, to be removed): key and size in bytes.
    pub removed: Vec<(String, u64)>,
    /// Old enough, but skipped because its lock is held.
    pub in_use: Vec<String>,
}

impl GcReport {
    /// Bytes freed (or to be freed).
    pub fn bytes(&self) -> u64 {
        self.removed.iter().map(|(_, n)| n).sum()
    }
}

/// Removes intermediate outputs of the workspace last written more than `older_than` ago;
/// with `dry_run`, only lists them.
pub fn collect(
    ws: &Workspace,
    registry: &Registry,
    locks: &Locks,
    older_than: Duration,
    dry_run: bool,
) -> Result<GcReport> {
    let intermediate: Vec<PathPattern> = registry
        .iter()
        .filter(|e| e.spec.intermediate)
        .filter_map(PathPattern::for_entry)
        .collect();
    let others: Vec<PathPattern> = registry
        .iter()
        .filter(|e| !e.spec.intermediate)
        .filter_map(PathPattern::for_entry)
        .collect();
    let mut report = GcReport::default();
    if intermediate.is_empty() {
        return Ok(report);
    }
    let now = SystemTime::now();
    let outputs = gather_dirs(ws.store().list_all()?, &intermediate, &others);
    for file in outputs {
        let key = file.key;
        if !intermediate.iter().any(|p| p.matches(&key)) || others.iter().any(|p| p.matches(&key)) {
            continue;
        }
        let age = now.duration_since(file.modified).unwrap_or_default();
        if age < older_than {
            continue;
        }
        // Never remove an output someone is reading or writing right now.
        let Some(_guard) = locks
            .lock(crate::keys::cache(&key))
            .ttl(Duration::from_secs(30))
            .try_acquire()?
        else {
            report.in_use.push(key);
            continue;
        };
        if !dry_run {
            ws.target(&key).remove()?;
        }
        report.removed.push((key, file.size));
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(t: &str) -> PathPattern {
        let spec = Box::leak(Box::new(crate::task::TaskSpec {
            family: "Fam",
            wrapper: false,
            output: Some(Box::leak(t.to_string().into_boxed_str())),
            output_kind: crate::output::OutputKind::Value,
            suffix: "json",
            run_lock: None,
            timeout_ms: None,
            intermediate: true,
            external: false,
            accepts_messages: false,
            max_batch_size: None,
            own_completeness: false,
        }));
        PathPattern::for_entry(&TaskEntry {
            spec,
            doc: "",
            params: &[],
            location: "",
            construct: |_| unreachable!(),
        })
        .unwrap()
    }

    #[test]
    fn templates_match_the_paths_they_produce() {
        let p = pattern("tmp/{date}.json");
        assert!(p.matches("tmp/2015-01-01.json"));
        assert!(!p.matches("tmp/a/b.json"));
        assert!(!p.matches("other/2015-01-01.json"));
        assert!(!p.matches("tmp/.json"));
        let p = pattern("sales/{date:%Y/%m}/{date}.json");
        assert!(p.matches("sales/2015/01/2015-01-01.json"));
        assert!(!p.matches("sales/2015/2015-01-01.json"));
        let p = pattern("h/{hour:%Y-%m-%d}/{hour:%H}");
        assert!(p.matches("h/2015-01-01/05"));
    }
}
