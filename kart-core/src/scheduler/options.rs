//! How a run behaves: [`RunOptions`], built from the resolved settings.

use std::time::Duration;

use crate::config::Settings;
use crate::message::Mailboxes;
use crate::resource::ResourceLimits;
use crate::shutdown::Shutdown;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads.
    pub workers: usize,
    /// Retries of a failed task.
    pub retry_count: u32,
    /// Delay before the first retry.
    pub retry_delay: Duration,
    /// Each later retry waits this many times longer than the one before (1: a fixed delay).
    pub retry_backoff: f64,
    /// A random wait of up to this is added to every retry.
    pub retry_jitter: Duration,
    /// When a failing task is disabled (Luigi's disabling; off by default).
    pub disable: super::disable::DisablePolicy,
    /// Keep retrying tasks locked elsewhere until they complete, without counting those tries
    /// against `retry_count`.
    pub keep_alive: bool,
    /// A `#[run_with_lock]` task whose lock is held elsewhere fails fast (and is retried)
    /// instead of waiting for it.
    pub fail_on_collision: bool,
    /// Default run timeout of tasks without their own (`[worker] task_timeout`).
    pub task_timeout: Option<Duration>,
    /// Stops the run early (SIGINT/SIGTERM on the command line).
    pub shutdown: Shutdown,
    /// Resource limits (`[resources]`, `--resource NAME=N`); unknown resources have limit 1.
    pub resource_limits: ResourceLimits,
    /// Where messages to running tasks travel; default: the workspace (one machine).
    pub mailboxes: Option<Mailboxes>,
    /// Claim each task in the lock backend before running it, so several processes sharing
    /// the backend run it once (`[worker] claims`); needs the run to have locks.
    pub claims: bool,
    /// How long a claim outlives its holder unless renewed (`[worker] claim_ttl`).
    pub claim_ttl: Duration,
    /// Priorities given to whole families (`--Family-priority N`), over their own.
    pub family_priorities: std::collections::BTreeMap<String, i64>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            workers: 1,
            retry_count: 0,
            retry_delay: Duration::from_secs(10),
            retry_backoff: 1.0,
            retry_jitter: Duration::ZERO,
            disable: Default::default(),
            keep_alive: false,
            fail_on_collision: false,
            task_timeout: None,
            shutdown: Shutdown::default(),
            resource_limits: ResourceLimits::default(),
            mailboxes: None,
            claims: true,
            claim_ttl: Duration::from_secs(30),
            family_priorities: Default::default(),
        }
    }
}

impl From<&Settings> for RunOptions {
    fn from(s: &Settings) -> Self {
        RunOptions {
            workers: s.workers,
            retry_count: s.retry_count,
            retry_delay: s.retry_delay.as_std(),
            retry_backoff: s.retry_backoff,
            retry_jitter: s.retry_jitter.as_std(),
            disable: super::disable::DisablePolicy {
                failures: s.disable_failures,
                window: s.disable_window.as_std(),
                persist: s.disable_persist.as_std(),
                hard_timeout: s.disable_hard_timeout.map(|d| d.as_std()),
            },
            keep_alive: s.keep_alive,
            fail_on_collision: s.redis_fail_on_collision,
            task_timeout: s.task_timeout.map(|d| d.as_std()),
            shutdown: Shutdown::default(),
            resource_limits: {
                let mut limits = ResourceLimits::default();
                limits.set_lease(s.resource_lease.as_std());
                limits
            },
            mailboxes: None,
            claims: s.claims,
            claim_ttl: s.claim_ttl.as_std(),
            family_priorities: Default::default(),
        }
    }
}
