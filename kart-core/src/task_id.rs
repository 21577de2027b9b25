//! A task's stable identity.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::param::canonical_json;

/// Hex digits of the parameter hash in a task id.
pub const TASK_ID_HASH_LEN: usize = 12;
const SUMMARY_PARAMS: usize = 3;
const SUMMARY_VALUE_LEN: usize = 16;

/// A task's stable identity: `Family_<summary>_<hash>`, like Luigi's task ids.
///
/// The hash is the first [`TASK_ID_HASH_LEN`] hex digits of SHA-256 over the canonical JSON of
/// the significant parameters (keys sorted, no whitespace, each value in its [`Param::to_json`]
/// form), so it is the same across runs, platforms and argument order. The summary is the first
/// three parameter values (in declaration order), each cut to 16 characters, with anything but
/// ASCII letters and digits replaced by `_`.
///
/// ```
/// use kart_core::TaskId;
/// let id = TaskId::new("SomeReport", &[("date", serde_json::json!("2015-01-01"))]);
/// assert!(id.as_str().starts_with("SomeReport_2015_01_01_"));
/// assert_eq!(id.hash().len(), 12);
/// ```
///
/// [`Param::to_json`]: crate::Param::to_json
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TaskId(Arc<str>);

impl TaskId {
    /// The id of `family` with these significant parameters.
    pub fn new(family: &str, significant: &[(&'static str, Value)]) -> Self {
        // Only the digits the id keeps are written out.
        let digest = Sha256::digest(canonical_json(significant).as_bytes());
        let hash = hex::encode(&digest[..TASK_ID_HASH_LEN / 2]);
        let mut id = String::with_capacity(family.len() + 40);
        id.push_str(family);
        id.push('_');
        for (_, value) in significant.iter().take(SUMMARY_PARAMS) {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            id.extend(text.chars().take(SUMMARY_VALUE_LEN).map(|c| {
                if c.is_ascii_alphanumeric() {
                    c
                } else {
                    '_'
                }
            }));
            id.push('_');
        }
        id.push_str(&hash);
        TaskId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash part.
    pub fn hash(&self) -> &str {
        &self.0[self.0.len() - TASK_ID_HASH_LEN..]
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

/// How a task is shown to people: `Family(a=1, b=x)` (beside its id, which names it for
/// machines).
pub(crate) fn display_task<'a>(
    family: &str,
    params: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> String {
    let inner: Vec<String> = params
        .into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    format!("{family}({})", inner.join(", "))
}
