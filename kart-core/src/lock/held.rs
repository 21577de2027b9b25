//! What this process holds now: every lock, claim and resource unit, from its acquisition to
//! its release. The heartbeat reports it, and a forced exit releases it all.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use super::GuardInner;

/// One lock this process holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Its key (see [`crate::keys`]).
    pub key: String,
    /// This acquisition's fencing token.
    pub fence: u64,
    /// The task it is held for, if any.
    pub task: Option<String>,
}

/// Guards by their address, while held.
fn registry() -> &'static Mutex<HashMap<usize, Weak<GuardInner>>> {
    static HELD: OnceLock<Mutex<HashMap<usize, Weak<GuardInner>>>> = OnceLock::new();
    HELD.get_or_init(Mutex::default)
}

fn address(guard: &Arc<GuardInner>) -> usize {
    Arc::as_ptr(guard) as usize
}

/// A guard was acquired.
pub(super) fn taken(guard: &Arc<GuardInner>) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(address(guard), Arc::downgrade(guard));
}

/// A guard is released (or about to be).
pub(super) fn given_back(guard: &GuardInner) {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&(guard as *const GuardInner as usize));
}

/// Every guard held now.
pub(super) fn guards() -> Vec<Arc<GuardInner>> {
    registry()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .filter_map(Weak::upgrade)
        .collect()
}

/// What this process holds now and has not found lost, by key.
pub fn held() -> Vec<Held> {
    let mut held: Vec<Held> = guards()
        .iter()
        .filter(|g| !g.lost.load(Ordering::SeqCst))
        .map(|g| Held {
            key: g.key.clone(),
            fence: g.lease.fence,
            task: g.task.as_ref().map(|(id, _)| id.to_string()),
        })
        .collect();
    held.sort_by(|a, b| a.key.cmp(&b.key));
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_listed_while_held_and_not_once_released() {
        let dir = tempfile::tempdir().unwrap();
        let locks = crate::lock::Locks::local(dir.path()).unwrap();
        let key = format!("held-test-{}", crate::lock::new_token());
        let listed = || held().into_iter().filter(|h| h.key == key).count();
        let guard = locks.lock(key.as_str()).try_acquire().unwrap().unwrap();
        assert_eq!(listed(), 1);
        assert_eq!(
            held().into_iter().find(|h| h.key == key).unwrap().fence,
            guard.fence()
        );
        drop(guard);
        assert_eq!(listed(), 0);
    }
}
