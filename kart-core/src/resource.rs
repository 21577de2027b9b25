//! Scheduler resources (Luigi's `resources`): a task declares what one run consumes
//! (`#[resources(warehouse_db = 1)]`); limits come from `[resources]` or `--resource NAME=N`,
//! and a resource without a configured limit has limit 1, as in Luigi.
//!
//! A resource `R` with limit `N` is `N` lock slots `res:R:0` .. `res:R:N-1` on the run's lock
//! backend, and using `k` units means holding `k` slots. So limits hold across every worker
//! process — on every machine with Redis, on one machine with file locks — and a crashed
//! holder's units come back when its locks expire. Every process must use the same limits.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::lock::{LockGuard, Locks};
use crate::task_id::TaskId;

/// Default TTL of a held unit (renewed while held).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// Configured limits; unknown resources have limit 1. Also the lease of a held unit: how
/// soon a crashed holder's units come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLimits {
    limits: BTreeMap<String, u32>,
    lease: Duration,
}

impl Default for ResourceLimits {
    fn default() -> Self {
        ResourceLimits {
            limits: BTreeMap::new(),
            lease: DEFAULT_LEASE,
        }
    }
}

impl ResourceLimits {
    /// Limits from `(name, limit)` pairs.
    pub fn new(limits: impl IntoIterator<Item = (String, u32)>) -> Self {
        ResourceLimits {
            limits: limits.into_iter().collect(),
            lease: DEFAULT_LEASE,
        }
    }
    /// The limit of `name` (1 when not configured).
    pub fn get(&self, name: &str) -> u32 {
        self.limits.get(name).copied().unwrap_or(1)
    }
    /// The configured limits, by name.
    pub fn configured(&self) -> impl Iterator<Item = (&str, u32)> {
        self.limits
            .iter()
            .map(|(name, limit)| (name.as_str(), *limit))
    }
    /// Sets a limit.
    pub fn set(&mut self, name: &str, limit: u32) {
        self.limits.insert(name.to_string(), limit);
    }
    /// Sets the lease of held units (their lock TTL, renewed while held).
    pub fn set_lease(&mut self, lease: Duration) {
        self.lease = lease;
    }

    /// The first need no limit can ever satisfy, as an error message.
    pub fn impossible(&self, needs: &[(String, u32)]) -> Option<String> {
        needs.iter().find(|(name, amount)| *amount > self.get(name)).map(|(name, amount)| {
            format!(
                "needs {amount} of resource `{name}` but its limit is {} (set [resources] {name} = N or --resource {name}=N)",
                self.get(name)
            )
        })
    }
}

/// Units a running task holds; dropping it gives them back.
#[derive(Debug, Default)]
pub struct HeldResources {
    units: Vec<(String, LockGuard)>,
}

impl HeldResources {
    /// Takes every unit of `needs` or none: `None` when some resource lacks free units now.
    pub fn try_acquire(
        locks: &Locks,
        limits: &ResourceLimits,
        needs: &[(String, u32)],
        task: (&TaskId, &'static str),
    ) -> Result<Option<Self>> {
        let mut held = HeldResources::default();
        for (name, amount) in needs {
            let limit = limits.get(name);
            let mut got = 0;
            for slot in 0..limit {
                if got == *amount {
                    break;
                }
                if let Some(guard) = locks
                    .lock(crate::keys::resource_slot(name, slot))
                    .ttl(limits.lease)
                    .for_task(task.0, task.1)
                    .try_acquire()?
                {
                    held.units.push((name.clone(), guard));
                    got += 1;
                }
            }
            if got < *amount {
                return Ok(None); // `held` drops: what was taken goes back
            }
        }
        Ok(Some(held))
    }

    /// Gives back `amount` units of `name` while the task goes on (Luigi's
    /// `decrease_running_resources`); waiting tasks can use them at once.
    pub fn decrease(&mut self, name: &str, amount: u32) -> Result<()> {
        let held = self.units.iter().filter(|(n, _)| n == name).count() as u32;
        if amount > held {
            return Err(Error::msg(format!(
                "cannot give back {amount} of resource `{name}`: the task holds {held}"
            )));
        }
        for _ in 0..amount {
            let i = self
                .units
                .iter()
                .rposition(|(n, _)| n == name)
                .expect("counted above");
            self.units.swap_remove(i);
        }
        Ok(())
    }

    /// Units held, by resource.
    pub fn held(&self) -> BTreeMap<&str, u32> {
        let mut out = BTreeMap::new();
        for (name, _) in &self.units {
            *out.entry(name.as_str()).or_insert(0) += 1;
        }
        out
    }
}
