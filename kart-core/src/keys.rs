//! Every key kart names shared state by, in one place: the lock keys tasks, outputs and
//! resources are locked under, and how a backend spells them (Redis key names under the
//! prefix, lock file names).
//!
//! ```text
//! run:<task id>                 a task's run lock (#[run_with_lock])
//! unique:<Family_..._hash>      a unique job's lock (its unique arguments hashed)
//! cache:<output key>            the output's cache lock while it is written or collected
//! res:<name>:<slot>             one unit of a scheduler resource
//! claim:<task id>               the worker running the task, in whatever process
//! failed:<task id>              note: the error a claim's holder gave the task up with
//! failures:<task id>            note: when the task failed lately (disabling)
//! disabled:<task id>            note: until when the task is disabled
//!
//! <prefix>:lock:<key>           Redis: the lock's holder and fence
//! <prefix>:fence:<key>          Redis: the fencing counter
//! <prefix>:committed:<output>   Redis: the last fence that committed the output
//! <prefix>:released:<key>       Redis: pub/sub channel waiters wait on
//! <prefix>:note:<key>           Redis: a note (e.g. `failed:<task id>`)
//! <prefix>:msg:open:<task id>   Redis: the task is listening for messages
//! <prefix>:msg:inbox:<task id>  Redis: its messages
//! <prefix>:msg:reply:<msg id>   Redis: the answer to one message
//! <prefix>:events               Redis: the stream of every worker's events
//! ```

use sha2::{Digest, Sha256};

use crate::task_id::TaskId;

/// The lock key of a task's run lock.
pub fn run(task: &TaskId) -> String {
    format!("run:{task}")
}

/// The lock key of a unique job; `unique` identifies it by its unique arguments.
pub fn unique(unique: &TaskId) -> String {
    format!("unique:{unique}")
}

/// The lock key guarding the output at `output_key` while it is written or collected.
pub fn cache(output_key: &str) -> String {
    format!("cache:{output_key}")
}

/// The lock key of the claim on a task: held by the one worker, in any process, that runs it.
pub fn claim(task: &TaskId) -> String {
    format!("claim:{task}")
}

/// Whether `key` is a claim's lock key.
pub fn is_claim(key: &str) -> bool {
    key.starts_with("claim:")
}

/// The note a claim's holder leaves when it gives the task up as failed.
pub fn failure(task: &TaskId) -> String {
    format!("failed:{task}")
}

/// The note of a task's recent failures (Luigi's disabling).
pub fn failures(task: &TaskId) -> String {
    format!("failures:{task}")
}

/// The note saying until when a task is disabled.
pub fn disabled(task: &TaskId) -> String {
    format!("disabled:{task}")
}

/// The lock key of slot `slot` of resource `name`.
pub fn resource_slot(name: &str, slot: u32) -> String {
    format!("res:{name}:{slot}")
}

/// The resource a unit's lock key belongs to, if `key` is one ([`resource_slot`]).
pub fn resource_of(key: &str) -> Option<&str> {
    let (name, slot) = key.strip_prefix("res:")?.rsplit_once(':')?;
    slot.parse::<u32>().is_ok().then_some(name)
}

/// The prefix used when none is configured.
pub const DEFAULT_PREFIX: &str = "kart";

/// Redis key names under one prefix.
#[derive(Debug, Clone)]
pub(crate) struct RedisKeys {
    prefix: String,
}

impl RedisKeys {
    /// Keys under `prefix` (the default when empty).
    pub(crate) fn new(prefix: &str) -> Self {
        let prefix = if prefix.is_empty() {
            DEFAULT_PREFIX
        } else {
            prefix
        };
        RedisKeys {
            prefix: prefix.to_string(),
        }
    }

    fn name(&self, kind: &str, key: &str) -> String {
        format!("{}:{kind}:{key}", self.prefix)
    }

    /// The stream every worker appends its events to.
    pub(crate) fn events(&self) -> String {
        format!("{}:events", self.prefix)
    }
    /// The lock's value: holder and fence.
    pub(crate) fn lock(&self, key: &str) -> String {
        self.name("lock", key)
    }
    /// The lock key a full `lock` key name stands for.
    pub(crate) fn lock_key_of<'a>(&self, full: &'a str) -> &'a str {
        full.strip_prefix(&self.lock("")).unwrap_or(full)
    }
    /// The lock's fencing counter.
    pub(crate) fn fence(&self, key: &str) -> String {
        self.name("fence", key)
    }
    /// The last fence that committed the output at `target`.
    pub(crate) fn committed(&self, target: &str) -> String {
        self.name("committed", target)
    }
    /// The channel a release of `key` is announced on.
    pub(crate) fn released(&self, key: &str) -> String {
        self.name("released", key)
    }
    /// The line of waiters for a lock: their tokens, first come first.
    pub(crate) fn queue(&self, key: &str) -> String {
        self.name("queue", key)
    }
    /// The waiters in a lock's line, by token: until when each is present, and what it asks.
    pub(crate) fn waiters(&self, key: &str) -> String {
        self.name("waiters", key)
    }
    /// The channel on which the waiter `token` is told it was handed a lock.
    pub(crate) fn handoff(&self, token: &str) -> String {
        self.name("handoff", token)
    }
    /// A note.
    pub(crate) fn note(&self, key: &str) -> String {
        self.name("note", key)
    }
    /// The pattern of every release channel of locks whose keys start with `key_prefix`.
    pub(crate) fn released_pattern(&self, key_prefix: &str) -> String {
        format!("{}*", self.released(key_prefix))
    }
    /// A listening task's presence.
    pub(crate) fn msg_open(&self, task: &str) -> String {
        self.name("msg:open", task)
    }
    /// The task a full `msg_open` key name stands for.
    pub(crate) fn msg_task_of<'a>(&self, full: &'a str) -> &'a str {
        full.strip_prefix(&self.msg_open("")).unwrap_or(full)
    }
    /// A task's inbox.
    pub(crate) fn msg_inbox(&self, task: &str) -> String {
        self.name("msg:inbox", task)
    }
    /// The reply to message `id`.
    pub(crate) fn msg_reply(&self, id: &str) -> String {
        self.name("msg:reply", id)
    }
}

/// The file name (without extension) a file lock on `key` uses: the key made safe for a file
/// system, cut short, and a hash of the whole key so distinct keys never share a file.
pub(crate) fn lock_file_name(key: &str) -> String {
    let safe: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    let hash = hex::encode(&Sha256::digest(key.as_bytes())[..6]);
    format!("{safe}-{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_resource_units_key_names_its_resource_and_nothing_else_does() {
        assert_eq!(resource_of(&resource_slot("db:eu", 3)), Some("db:eu"));
        assert_eq!(resource_of("res:db"), None);
        assert_eq!(resource_of("res:db:x"), None);
        assert_eq!(resource_of("run:res:db:1"), None);
    }

    #[test]
    fn redis_names_round_trip_to_their_keys() {
        let keys = RedisKeys::new("");
        assert_eq!(keys.lock("run:A_1"), "kart:lock:run:A_1");
        assert_eq!(keys.lock_key_of(&keys.lock("run:A_1")), "run:A_1");
        assert_eq!(keys.msg_task_of(&keys.msg_open("B_2")), "B_2");
        assert_eq!(RedisKeys::new("p").fence("k"), "p:fence:k");
    }

    #[test]
    fn lock_file_names_are_safe_and_distinct() {
        let a = lock_file_name("cache:a/b.json");
        let b = lock_file_name("cache:a_b.json");
        assert!(a.starts_with("cache_a_b.json-") && b.starts_with("cache_a_b.json-"));
        assert_ne!(a, b);
        assert!(lock_file_name(&"x".repeat(500)).len() < 100);
    }
}
