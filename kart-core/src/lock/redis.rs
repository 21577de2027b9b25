//! Locks on one Redis server: `SET key value NX PX ttl` with a random owner token, owner-only
//! extend and release by Lua compare-and-act, fencing tokens from `INCR`, and waiters woken by
//! a pub/sub message on release (bounded by the holder's remaining TTL, which covers holders
//! that crashed).
//!
//! Key names are in [`crate::keys`]; `<p>:lock:<key>` holds
//! `<token>|<fence>|<since ms>|<pid>|<host>|<task id>` (the token first, so owner checks compare
//! a prefix and one key is enough).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::{Connection, Script};

use super::{now_ms, CommitCheck, Holder, Lease, LockBackend, LockInfo, ReleaseWatch};
use crate::error::Result;
use crate::keys::RedisKeys;
use crate::redis::pool::{describe, transient, RedisPool};
use crate::redis::RedisEndpoint;

/// Longest single wait for a release message before looking at the lock again.
const MAX_WAIT_SLICE: Duration = Duration::from_secs(1);

// Returns {fence, 0} when taken, or {0, remaining ms} when held (-1: no expiry). Scripts run
// atomically, so checking first and then setting is safe. A retry with the same token (its
// reply was lost to a timeout) finds its own lock and gets the same fence back.
const ACQUIRE: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 32) == ARGV[1] then
  return {tonumber(string.match(v, '^[^|]*|(%d+)|')), 0}
end
local pttl = redis.call('PTTL', KEYS[1])
if pttl ~= -2 then
  return {0, pttl}
end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence .. '|' .. ARGV[3], 'PX', ARGV[2])
return {fence, 0}
";

const EXTEND: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 32) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

const RELEASE: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 32) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], '1')
  return 1
end
return 0
";

const COMMIT: &str = r"
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 32) ~= ARGV[1] then
  return 0
end
local last = tonumber(redis.call('GET', KEYS[2]))
if last and last > tonumber(ARGV[2]) then
  return -1
end
redis.call('SET', KEYS[2], ARGV[2])
return 1
";

const CLEAR: &str = r"
local n = redis.call('DEL', KEYS[1])
redis.call('PUBLISH', KEYS[2], '1')
return n
";

/// Locks on a Redis server.
pub struct RedisBackend {
    redis: RedisPool,
    keys: RedisKeys,
    /// Connections used for waiting (SUBSCRIBE); kept apart from the command pool.
    waiters: Mutex<Vec<Connection>>,
    acquire: Script,
    extend: Script,
    release: Script,
    commit: Script,
    clear: Script,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisBackend({})", self.redis.addr())
    }
}

impl RedisBackend {
    /// Connects (and pings) `endpoint`; an unreachable server or a refused login is an error
    /// naming its address.
    pub fn connect(endpoint: &RedisEndpoint, prefix: &str) -> Result<Self> {
        let backend = RedisBackend {
            redis: RedisPool::new(endpoint)?,
            keys: RedisKeys::new(prefix),
            waiters: Mutex::new(Vec::new()),
            acquire: Script::new(ACQUIRE),
            extend: Script::new(EXTEND),
            release: Script::new(RELEASE),
            commit: Script::new(COMMIT),
            clear: Script::new(CLEAR),
        };
        // At start an unreachable server is bad input: said at once, not retried.
        backend
            .redis
            .retrying(Duration::ZERO, |c| redis::cmd("PING").query::<String>(c))?;
        Ok(backend)
    }

    /// Waits on `sub` for the lock. The inner error is the subscription's own (its connection
    /// is then not reused); the outer one is an attempt that failed past the stall budget.
    fn wait_on(
        &self,
        sub: &mut Connection,
        key: &str,
        ttl: Duration,
        holder: &Holder,
        deadline: Instant,
    ) -> Result<redis::RedisResult<Option<Lease>>> {
        // Subscribe before trying, so a release between the try and the wait is not missed.
        let mut pubsub = sub.as_pubsub();
        if let Err(e) = pubsub.subscribe(self.keys.released(key)) {
            return Ok(Err(e));
        }
        loop {
            let expires = match self.attempt(key, ttl, holder)? {
                Ok(lease) => return Ok(Ok(Some(lease))),
                Err(left) => left,
            };
            let now = Instant::now();
            if now >= deadline {
                return Ok(Ok(None));
            }
            // A crashed holder never publishes: wake by its TTL at the latest.
            let slice = (deadline - now)
                .min(expires + Duration::from_millis(1))
                .min(MAX_WAIT_SLICE);
            if let Err(e) = pubsub.set_read_timeout(Some(slice)) {
                return Ok(Err(e));
            }
            match pubsub.get_message() {
                Ok(_) => {}
                Err(e) if e.is_timeout() => {}
                Err(e) => return Ok(Err(e)),
            }
        }
    }

    /// A waiter's connection failed transiently (Redis restarting): pause briefly, then the
    /// caller looks again on a fresh connection.
    fn pause_waiting(&self, e: &redis::RedisError, deadline: Instant) -> Result<Option<Lease>> {
        tracing::warn!(
            "Redis at {}: {}; still waiting",
            self.redis.addr(),
            describe(e)
        );
        let left = deadline.saturating_duration_since(Instant::now());
        std::thread::sleep(left.min(Duration::from_millis(250)));
        Ok(None)
    }

    /// One acquisition attempt: the lease, or how long the current holder's lock has left.
    fn attempt(
        &self,
        key: &str,
        ttl: Duration,
        holder: &Holder,
    ) -> Result<std::result::Result<Lease, Duration>> {
        let token = super::new_token();
        let info = format!(
            "{}|{}|{}|{}",
            now_ms(),
            holder.pid,
            holder.host.replace('|', "_"),
            holder.task_id.as_deref().unwrap_or("")
        );
        let (fence, pttl): (u64, i64) = self.redis.with(|c| {
            self.acquire
                .key(self.keys.lock(key))
                .key(self.keys.fence(key))
                .arg(&token)
                .arg(ttl.as_millis() as u64)
                .arg(&info)
                .invoke(c)
        })?;
        Ok(if fence > 0 {
            Ok(Lease { token, fence })
        } else {
            // No expiry (-1) cannot happen for kart's keys; treat it as "look again soon".
            Err(Duration::from_millis(pttl.max(1) as u64))
        })
    }
}

impl LockBackend for RedisBackend {
    fn describe(&self) -> String {
        format!("redis {}", self.redis.addr())
    }

    fn distributed(&self) -> bool {
        true
    }

    fn try_acquire(&self, key: &str, ttl: Duration, holder: &Holder) -> Result<Option<Lease>> {
        Ok(self.attempt(key, ttl, holder)?.ok())
    }

    fn acquire_until(
        &self,
        key: &str,
        ttl: Duration,
        holder: &Holder,
        deadline: Instant,
    ) -> Result<Option<Lease>> {
        let pooled = self.waiters.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let mut sub = match pooled {
            Some(c) => c,
            None => match self.redis.connect() {
                Ok(c) => c,
                Err(e) if transient(&e) => return self.pause_waiting(&e, deadline),
                Err(e) => return Err(self.redis.error(e)),
            },
        };
        match self.wait_on(&mut sub, key, ttl, holder, deadline)? {
            Ok(lease) => {
                // Leaving the pub/sub scope unsubscribed the connection; reuse it next time.
                self.waiters
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(sub);
                Ok(lease)
            }
            Err(e) if transient(&e) => self.pause_waiting(&e, deadline),
            Err(e) => Err(self.redis.error(e)),
        }
    }

    fn extend(&self, key: &str, lease: &Lease, ttl: Duration) -> Result<bool> {
        let ok: i64 = self.redis.with(|c| {
            self.extend
                .key(self.keys.lock(key))
                .arg(&lease.token)
                .arg(ttl.as_millis() as u64)
                .invoke(c)
        })?;
        Ok(ok == 1)
    }

    fn release(&self, key: &str, lease: &Lease) -> Result<bool> {
        let ok: i64 = self.redis.with(|c| {
            self.release
                .key(self.keys.lock(key))
                .key(self.keys.released(key))
                .arg(&lease.token)
                .invoke(c)
        })?;
        Ok(ok == 1)
    }

    fn commit(&self, key: &str, lease: &Lease, target: &str) -> Result<CommitCheck> {
        let r: i64 = self.redis.with(|c| {
            self.commit
                .key(self.keys.lock(key))
                .key(self.keys.committed(target))
                .arg(&lease.token)
                .arg(lease.fence)
                .invoke(c)
        })?;
        Ok(match r {
            1 => CommitCheck::Ok,
            -1 => CommitCheck::Stale,
            _ => CommitCheck::Lost,
        })
    }

    fn list(&self) -> Result<Vec<LockInfo>> {
        let pattern = self.keys.lock("*");
        let keys: Vec<String> = self.redis.with(|c| {
            let mut keys = Vec::new();
            let mut cursor: u64 = 0;
            loop {
                let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(500)
                    .query(c)?;
                keys.extend(batch);
                if next == 0 {
                    return Ok(keys);
                }
                cursor = next;
            }
        })?;
        let mut out = Vec::new();
        for full in keys {
            let key = self.keys.lock_key_of(&full);
            // Released meanwhile: gone.
            out.extend(self.info(key)?);
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn info(&self, key: &str) -> Result<Option<LockInfo>> {
        let full = self.keys.lock(key);
        let (value, pttl): (Option<String>, i64) = self.redis.with(|c| {
            redis::pipe()
                .cmd("GET")
                .arg(&full)
                .cmd("PTTL")
                .arg(&full)
                .query(c)
        })?;
        let Some(value) = value else {
            return Ok(None);
        };
        // token|fence|since|pid|host|task
        let fields: Vec<&str> = value.splitn(6, '|').collect();
        let field = |i: usize| fields.get(i).copied().unwrap_or("");
        Ok(Some(LockInfo {
            key: key.to_string(),
            holder: Some(Holder {
                host: field(4).to_string(),
                pid: field(3).parse().unwrap_or(0),
                task_id: Some(field(5)).filter(|t| !t.is_empty()).map(str::to_string),
            }),
            age: field(2)
                .parse::<u64>()
                .ok()
                .map(|since| Duration::from_millis(now_ms().saturating_sub(since))),
            ttl: (pttl >= 0).then(|| Duration::from_millis(pttl as u64)),
            fence: field(1).parse().ok(),
        }))
    }

    fn clear(&self, key: &str) -> Result<bool> {
        let n: i64 = self.redis.with(|c| {
            self.clear
                .key(self.keys.lock(key))
                .key(self.keys.released(key))
                .invoke(c)
        })?;
        Ok(n > 0)
    }

    fn note(&self, key: &str, text: &str, ttl: Duration) -> Result<()> {
        let full = self.keys.note(key);
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.redis.with(|c| {
            redis::cmd("SET")
                .arg(&full)
                .arg(text)
                .arg("PX")
                .arg(ms)
                .query(c)
        })
    }

    fn read_note(&self, key: &str) -> Result<Option<String>> {
        let full = self.keys.note(key);
        self.redis.with(|c| redis::cmd("GET").arg(&full).query(c))
    }

    fn watch(&self) -> Result<Box<dyn ReleaseWatch + '_>> {
        let (tx, rx) = channel();
        let stop = Arc::new(AtomicBool::new(false));
        let client = self.redis.client().clone();
        let pattern = self.keys.released_pattern(CLAIM_PREFIX);
        let channel_prefix = self.keys.released("");
        let thread_stop = stop.clone();
        let spawned = std::thread::Builder::new()
            .name("kart-claim-releases".into())
            .spawn(move || subscriber(client, pattern, channel_prefix, tx, thread_stop));
        if let Err(e) = &spawned {
            tracing::warn!("cannot listen for released claims ({e}); looking when leases end");
        }
        Ok(Box::new(RedisWatch {
            backend: self,
            released: spawned.ok().map(|_| rx),
            stop,
            fresh: Vec::new(),
            watched: HashMap::new(),
        }))
    }
}

/// The keys claims are taken under start with this.
const CLAIM_PREFIX: &str = "claim:";

/// Release notices of claims: a subscriber thread listens on every claim's release channel
/// for as long as the watch lives and passes the keys on. A watched key is reported when its
/// holder releases it (a message), when its lease ends (a crashed holder sends none), or at
/// once if it was already free when added.
struct RedisWatch<'a> {
    backend: &'a RedisBackend,
    /// Released keys from the subscriber; `None` asks to look at every watched key again (the
    /// subscription was lost, and messages with it).
    released: Option<Receiver<Option<String>>>,
    stop: Arc<AtomicBool>,
    /// Added since the last wait: looked at once, since a release may precede the add.
    fresh: Vec<String>,
    watched: HashMap<String, Option<Instant>>,
}

impl Drop for RedisWatch<'_> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The subscriber: `PSUBSCRIBE`s to every claim's release channel and sends each released key,
/// resubscribing after a lost connection (then sending `None`), until `stop`.
fn subscriber(
    client: redis::Client,
    pattern: String,
    channel_prefix: String,
    tx: Sender<Option<String>>,
    stop: Arc<AtomicBool>,
) {
    let mut backoff = Duration::from_millis(50);
    while !stop.load(Ordering::SeqCst) {
        let mut conn = match client.get_connection_with_timeout(Duration::from_secs(2)) {
            Ok(c) => c,
            Err(_) => {
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let mut pubsub = conn.as_pubsub();
        if pubsub.psubscribe(&pattern).is_err()
            || pubsub
                .set_read_timeout(Some(Duration::from_millis(250)))
                .is_err()
        {
            continue;
        }
        backoff = Duration::from_millis(50);
        // Anything released before the subscription took is found by looking again.
        if tx.send(None).is_err() {
            return;
        }
        while !stop.load(Ordering::SeqCst) {
            match pubsub.get_message() {
                Ok(msg) => {
                    let key = msg.get_channel_name().strip_prefix(&channel_prefix);
                    if let Some(key) = key {
                        if tx.send(Some(key.to_string())).is_err() {
                            return;
                        }
                    }
                }
                Err(e) if e.is_timeout() => {}
                Err(_) => break,
            }
        }
    }
}

impl ReleaseWatch for RedisWatch<'_> {
    fn add(&mut self, key: &str, expires: Option<Instant>) {
        self.fresh.push(key.to_string());
        self.watched.insert(key.to_string(), expires);
    }

    fn wait(&mut self, deadline: Instant) -> Result<Vec<String>> {
        let mut free = Vec::new();
        let mut look = std::mem::take(&mut self.fresh);
        // What the subscriber says: released keys, or that everything needs a look.
        let take = |msg: Option<String>,
                    watched: &HashMap<String, Option<Instant>>,
                    look: &mut Vec<String>,
                    free: &mut Vec<String>| match msg {
            Some(key) => free.push(key),
            None => look.extend(watched.keys().cloned()),
        };
        if let Some(rx) = &self.released {
            while let Ok(msg) = rx.try_recv() {
                take(msg, &self.watched, &mut look, &mut free);
            }
        }
        if !look.is_empty() {
            let exists: Vec<bool> = self.backend.redis.with(|c| {
                let mut pipe = redis::pipe();
                for key in &look {
                    pipe.cmd("EXISTS").arg(self.backend.keys.lock(key));
                }
                pipe.query(c)
            })?;
            free.extend(
                look.into_iter()
                    .zip(exists)
                    .filter(|(_, e)| !e)
                    .map(|(k, _)| k),
            );
        }
        let now = Instant::now();
        free.extend(
            self.watched
                .iter()
                .filter(|(_, expires)| expires.is_some_and(|t| t <= now))
                .map(|(k, _)| k.clone()),
        );
        free.retain(|k| self.watched.contains_key(k));
        if free.is_empty() {
            // Wake by the earliest lease end at the latest.
            let until = self
                .watched
                .values()
                .flatten()
                .copied()
                .fold(deadline, Instant::min);
            if let Some(rx) = &self.released {
                let left = until.saturating_duration_since(Instant::now());
                if let Ok(msg) = rx.recv_timeout(left) {
                    let mut look = Vec::new();
                    take(msg, &self.watched, &mut look, &mut free);
                    while let Ok(msg) = rx.try_recv() {
                        take(msg, &self.watched, &mut look, &mut free);
                    }
                    // Looked at on the next wait.
                    self.fresh.extend(look);
                }
            } else {
                std::thread::sleep(until.saturating_duration_since(Instant::now()));
            }
            free.retain(|k| self.watched.contains_key(k));
        }
        free.sort();
        free.dedup();
        for key in &free {
            self.watched.remove(key);
        }
        Ok(free)
    }
}
