//! Luigi's disabling: a task that keeps failing stops being tried. A task failing
//! `failures` times within `window` — counted across runs and across every process sharing
//! the lock backend — or still failing `hard_timeout` after its first failure in the window,
//! is disabled for `persist`: runs fail it at once, without running it, until then or until
//! `<bin> enable <Task> ...` lifts it.

use std::time::Duration;

use crate::error::Result;
use crate::lock::{now_ms, Locks};
use crate::task::TaskId;

/// When a failing task is disabled (off unless `failures` or `hard_timeout` is set).
#[derive(Debug, Clone, PartialEq)]
pub struct DisablePolicy {
    /// Failures within `window` that disable a task; 0: never by count.
    pub failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// How long a disabled task stays disabled.
    pub persist: Duration,
    /// A task still failing this long after its first failure in the window is disabled.
    pub hard_timeout: Option<Duration>,
}

impl Default for DisablePolicy {
    fn default() -> Self {
        DisablePolicy {
            failures: 0,
            window: Duration::from_secs(3600),
            persist: Duration::from_secs(24 * 3600),
            hard_timeout: None,
        }
    }
}

impl DisablePolicy {
    /// Whether any failure can disable a task.
    pub fn active(&self) -> bool {
        self.failures > 0 || self.hard_timeout.is_some()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The time a disabled task is disabled until, as `2015-01-01T12:00:00Z`.
fn until_text(until_ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(i64::try_from(until_ms).unwrap_or(i64::MAX))
        .map_or_else(
            || until_ms.to_string(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        )
}

/// Why `id` may not run now, if it is disabled.
pub(super) fn disabled(locks: &Locks, id: &TaskId) -> Result<Option<String>> {
    let note = locks.backend().read_note(&crate::keys::disabled(id))?;
    let Some(until) = note.and_then(|n| n.trim().parse::<u64>().ok()) else {
        return Ok(None);
    };
    Ok((until > now_ms()).then(|| {
        format!(
            "disabled until {} after repeated failures; `enable` with its parameters lifts it",
            until_text(until)
        )
    }))
}

/// Records one failure of `id`; if that disables it, says why.
pub(super) fn record_failure(
    locks: &Locks,
    id: &TaskId,
    policy: &DisablePolicy,
) -> Result<Option<String>> {
    let now = now_ms();
    let window = ms(policy.window);
    let key = crate::keys::failures(id);
    let backend = locks.backend();
    let mut times: Vec<u64> = backend
        .read_note(&key)?
        .unwrap_or_default()
        .split(',')
        .filter_map(|t| t.trim().parse().ok())
        .filter(|&t: &u64| now.saturating_sub(t) <= window)
        .collect();
    times.push(now);
    let keep = policy.window.max(policy.hard_timeout.unwrap_or_default());
    let text: Vec<String> = times.iter().map(u64::to_string).collect();
    backend.note(&key, &text.join(","), keep)?;
    let by_count = policy.failures > 0 && times.len() >= policy.failures as usize;
    let first = times[0];
    let by_time = policy
        .hard_timeout
        .is_some_and(|h| now.saturating_sub(first) >= ms(h));
    if !by_count && !by_time {
        return Ok(None);
    }
    let until = now.saturating_add(ms(policy.persist));
    backend.note(
        &crate::keys::disabled(id),
        &until.to_string(),
        policy.persist,
    )?;
    let why = if by_count {
        format!(
            "{} failures within {}",
            times.len(),
            crate::Duration(policy.window)
        )
    } else {
        format!(
            "still failing {} after its first failure",
            crate::Duration(policy.hard_timeout.unwrap_or_default())
        )
    };
    Ok(Some(format!(
        "disabled until {} after {why}",
        until_text(until)
    )))
}

/// Lifts a disabled task and forgets its failures; `true` if it was disabled.
pub fn enable(locks: &Locks, id: &TaskId) -> Result<bool> {
    let was = disabled(locks, id)?.is_some();
    let backend = locks.backend();
    backend.note(&crate::keys::disabled(id), "", Duration::from_millis(1))?;
    backend.note(&crate::keys::failures(id), "", Duration::from_millis(1))?;
    Ok(was)
}
