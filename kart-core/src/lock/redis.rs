//! Locks on one Redis server: the lock is a key set only when absent, with a random owner
//! token and a TTL; owner-only extend and release by Lua compare-and-act; fencing tokens from
//! `INCR`.
//!
//! Waiters line up (Redisson's fair lock is the model): a waiter that finds the lock held puts
//! its token at the end of `<p>:queue:<key>` and its presence, good for [`PRESENCE`], in
//! `<p>:waiters:<key>`. A release hands the lock straight to the first waiter still present —
//! sets it to that waiter's token and publishes the fence on the waiter's own channel — so
//! exactly one waiter wakes, already holding the lock, instead of every waiter racing for it.
//! A waiter refreshes its presence each time it looks again (at least every second); one that
//! died is skipped once its presence lapses, and one handed the lock just before dying holds
//! it like a crashed holder, until its TTL. A holder that crashed never releases: waiters look
//! again when its TTL ends, and the lock goes to the first in line then too.
//!
//! Key names are in [`crate::keys`]; `<p>:lock:<key>` holds
//! `<token>|<fence>|<since ms>|<pid>|<host>|<task id>` (the token first, so owner checks compare
//! a prefix and one key is enough).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use redis::Script;

use super::{now_ms, CommitCheck, Holder, Lease, LockBackend, LockInfo, ReleaseWatch};
use crate::error::Result;
use crate::keys::RedisKeys;
use crate::redis::pool::RedisPool;
use crate::redis::RedisEndpoint;

/// Longest single wait for a release message before looking at the lock again.
const MAX_WAIT_SLICE: Duration = Duration::from_secs(1);

/// How long a waiter stays in line without looking again.
const PRESENCE: Duration = Duration::from_secs(3);

// Shared by the scripts that can free a lock. KEYS: lock, fence, queue, waiters; ARGV[1] the
// caller's token, ARGV[2] the hand-off channel prefix. Redis's clock stamps `since`, so a
// lock handed over carries the time it was taken.
const LINE: &str = r"
if redis.replicate_commands then redis.replicate_commands() end
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function fence_of(v)
  return tonumber(string.match(v, '^[^|]*|(%d+)|'))
end
local function take(token, ttl, info, now)
  local fence = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], token .. '|' .. fence .. '|' .. now .. '|' .. info, 'PX', ttl)
  return fence
end
-- The free lock goes to the first waiter still present, told on its own channel (unless it is
-- the caller). Returns that waiter's token and fence, or false when nobody waits.
local function hand_off(now)
  while true do
    local token = redis.call('LPOP', KEYS[3])
    if not token then return false end
    local w = redis.call('HGET', KEYS[4], token)
    redis.call('HDEL', KEYS[4], token)
    if w then
      local until_ms, ttl, info = string.match(w, '^(%d+)|(%d+)|(.*)$')
      if tonumber(until_ms) >= now then
        local fence = take(token, ttl, info, now)
        if token ~= ARGV[1] then
          redis.call('PUBLISH', ARGV[2] .. token, fence)
        end
        return {token, fence}
      end
    end
  end
end
";

// ARGV[3] ttl ms, ARGV[4] `pid|host|task`, ARGV[5] '1' to line up when held, ARGV[6] presence
// ms. Returns {fence, 0} when the caller has the lock, or {0, remaining ms} when it is held
// (-1: no expiry). A retry with the same token (its reply was lost to a timeout) finds its
// own lock and gets the same fence back; so does a waiter the lock was handed to.
const ACQUIRE: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 32) == ARGV[1] then
  return {fence_of(v), 0}
end
local now = now_ms()
if not v then
  local first = hand_off(now)
  if not first then
    return {take(ARGV[1], ARGV[3], ARGV[4], now), 0}
  end
  if first[1] == ARGV[1] then
    return {first[2], 0}
  end
end
if ARGV[5] == '1' then
  if redis.call('HEXISTS', KEYS[4], ARGV[1]) == 0 then
    redis.call('RPUSH', KEYS[3], ARGV[1])
  end
  redis.call('HSET', KEYS[4], ARGV[1], (now + ARGV[6]) .. '|' .. ARGV[3] .. '|' .. ARGV[4])
  redis.call('PEXPIRE', KEYS[3], ARGV[6] * 4)
  redis.call('PEXPIRE', KEYS[4], ARGV[6] * 4)
end
return {0, redis.call('PTTL', KEYS[1])}
";

// A waiter gives up: leaves the line. Returns the fence when the lock was handed to it
// meanwhile (it holds it), else 0.
const LEAVE: &str = r"
redis.call('LREM', KEYS[3], 0, ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 32) == ARGV[1] then
  return fence_of(v)
end
return 0
";

const EXTEND: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 32) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

// ARGV[3] the release channel: announced when nobody was in line to take the lock.
const RELEASE: &str = r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 32) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if not hand_off(now_ms()) then
    redis.call('PUBLISH', ARGV[3], '1')
  end
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
if not hand_off(now_ms()) then
  redis.call('PUBLISH', ARGV[3], '1')
end
return n
";

/// Locks on a Redis server.
pub struct RedisBackend {
    redis: RedisPool,
    keys: RedisKeys,
    /// Hand-off notices for this process's waiters.
    handoffs: Arc<Handoffs>,
    acquire: Script,
    leave: Script,
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
            handoffs: Arc::default(),
            acquire: Script::new(&format!("{LINE}{ACQUIRE}")),
            leave: Script::new(&format!("{LINE}{LEAVE}")),
            extend: Script::new(EXTEND),
            release: Script::new(&format!("{LINE}{RELEASE}")),
            commit: Script::new(COMMIT),
            clear: Script::new(&format!("{LINE}{CLEAR}")),
        };
        // At start an unreachable server is bad input: said at once, not retried.
        backend
            .redis
            .retrying(Duration::ZERO, |c| redis::cmd("PING").query::<String>(c))?;
        Ok(backend)
    }

    /// Waits in line as `place` (put there by [`LockBackend::try_in_line`]) for the lock,
    /// until `deadline`.
    fn wait_in_line(
        &self,
        key: &str,
        ttl: Duration,
        holder: &Holder,
        place: &str,
        deadline: Instant,
    ) -> Result<Option<Lease>> {
        loop {
            let slice = deadline
                .saturating_duration_since(Instant::now())
                .min(MAX_WAIT_SLICE);
            if let Some(fence) = self.handoffs.wait(place, slice) {
                // The lock was handed over: it is already this waiter's.
                self.handoffs.forget(place);
                let token = place.to_string();
                return Ok(Some(Lease { token, fence }));
            }
            // Look again: a hand-off missed, a holder that crashed (its TTL ended), and this
            // waiter's presence in the line renewed.
            if let Ok(lease) = self.attempt(key, ttl, holder, place, true)? {
                self.handoffs.forget(place);
                return Ok(Some(lease));
            }
            if Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// `script` on `key`'s lock, fence, line and waiters, for the caller `token`.
    fn in_line<'a>(
        &self,
        script: &'a Script,
        key: &str,
        token: &str,
    ) -> redis::ScriptInvocation<'a> {
        let mut call = script.prepare_invoke();
        call.key(self.keys.lock(key))
            .key(self.keys.fence(key))
            .key(self.keys.queue(key))
            .key(self.keys.waiters(key))
            .arg(token)
            .arg(self.keys.handoff(""));
        call
    }

    /// One acquisition attempt as `token`, lining up when `queue`: the lease, or how long the
    /// current holder's lock has left.
    fn attempt(
        &self,
        key: &str,
        ttl: Duration,
        holder: &Holder,
        token: &str,
        queue: bool,
    ) -> Result<std::result::Result<Lease, Duration>> {
        let info = format!(
            "{}|{}|{}",
            holder.pid,
            holder.host.replace('|', "_"),
            holder.task_id.as_deref().unwrap_or("")
        );
        let (fence, pttl): (u64, i64) = self.redis.with(|c| {
            self.in_line(&self.acquire, key, token)
                .arg(ttl.as_millis() as u64)
                .arg(&info)
                .arg(if queue { "1" } else { "0" })
                .arg(PRESENCE.as_millis() as u64)
                .invoke(c)
        })?;
        Ok(if fence > 0 {
            Ok(Lease {
                token: token.to_string(),
                fence,
            })
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
        let token = super::new_token();
        Ok(self.attempt(key, ttl, holder, &token, false)?.ok())
    }

    fn try_in_line(
        &self,
        key: &str,
        ttl: Duration,
        holder: &Holder,
        place: &str,
    ) -> Result<Option<Lease>> {
        // Expected before lining up, so a hand-off right after is heard.
        self.handoffs.expect(self, place);
        let taken = self.attempt(key, ttl, holder, place, true);
        if !matches!(taken, Ok(Err(_))) {
            self.handoffs.forget(place);
        }
        Ok(taken?.ok())
    }

    fn acquire_until(
        &self,
        key: &str,
        ttl: Duration,
        holder: &Holder,
        place: &str,
        deadline: Instant,
    ) -> Result<Option<Lease>> {
        self.wait_in_line(key, ttl, holder, place, deadline)
    }

    fn leave(&self, key: &str, place: &str) -> Result<Option<Lease>> {
        self.handoffs.forget(place);
        let fence: u64 = self
            .redis
            .with(|c| self.in_line(&self.leave, key, place).invoke(c))?;
        Ok((fence > 0).then(|| Lease {
            token: place.to_string(),
            fence,
        }))
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
            self.in_line(&self.release, key, &lease.token)
                .arg(self.keys.released(key))
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
            self.in_line(&self.clear, key, "")
                .arg(self.keys.released(key))
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

/// Hand-off notices: one connection per backend subscribed to the hand-off channel of every
/// waiter of this process (their tokens share [`super::process_tag`]), passing each fence to
/// the waiter it names. A waiter is expected from before it lines up until it stops waiting,
/// so no notice falls between its slices of waiting. A notice lost (the connection dropped)
/// costs only latency: a waiter looks again at least every second and finds the lock already
/// its own.
#[derive(Default)]
struct Handoffs {
    waiting: Mutex<HashMap<String, Arc<Slot>>>,
    /// Whether the listener thread was started.
    started: Mutex<bool>,
    stop: AtomicBool,
}

/// Where a waiter is told the fence of the lock handed to it.
#[derive(Default)]
struct Slot {
    fence: Mutex<Option<u64>>,
    handed: Condvar,
}

impl Handoffs {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Slot>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Expects hand-offs to `place`, starting the listener on first use (and waiting briefly
    /// for its subscription, so the first hand-off is heard).
    fn expect(self: &Arc<Self>, backend: &RedisBackend, place: &str) {
        self.waiting().insert(place.to_string(), Arc::default());
        let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
        if !*started {
            *started = true;
            let (ready_tx, ready_rx) = channel();
            let client = backend.redis.client().clone();
            let prefix = backend.keys.handoff("");
            let handoffs = self.clone();
            let spawned = std::thread::Builder::new()
                .name("kart-lock-handoffs".into())
                .spawn(move || handoffs.run(client, prefix, ready_tx));
            match spawned {
                Ok(_) => {
                    let _ = ready_rx.recv_timeout(Duration::from_secs(2));
                }
                Err(e) => tracing::warn!("cannot listen for lock hand-offs ({e}); polling"),
            }
        }
    }

    /// The fence handed to `place` within `timeout`, if any.
    fn wait(&self, place: &str, timeout: Duration) -> Option<u64> {
        let slot = self.waiting().get(place)?.clone();
        let fence = slot.fence.lock().unwrap_or_else(|p| p.into_inner());
        let (mut fence, _) = slot
            .handed
            .wait_timeout_while(fence, timeout, |f| f.is_none())
            .unwrap_or_else(|p| p.into_inner());
        fence.take()
    }

    /// `place` waits no more.
    fn forget(&self, place: &str) {
        self.waiting().remove(place);
    }

    /// The listener: subscribes to this process's hand-off channels and passes each fence on,
    /// until the backend is dropped.
    fn run(&self, client: redis::Client, prefix: String, ready: Sender<()>) {
        let pattern = format!("{prefix}{}*", super::process_tag());
        let subscribed = || {
            let _ = ready.send(());
            true
        };
        listen(&client, &pattern, &self.stop, subscribed, |msg| {
            let place = msg.get_channel_name().strip_prefix(prefix.as_str());
            if let (Some(place), Ok(fence)) = (place, msg.get_payload::<u64>()) {
                if let Some(slot) = self.waiting().get(place) {
                    *slot.fence.lock().unwrap_or_else(|p| p.into_inner()) = Some(fence);
                    slot.handed.notify_one();
                }
            }
            true
        });
    }
}

/// Listens on the channels matching `pattern` until `stop`, reopening a lost connection with
/// backoff: `subscribed` after each subscription takes (messages sent before it are lost),
/// `message` with each message; either answering `false` ends the listening.
fn listen(
    client: &redis::Client,
    pattern: &str,
    stop: &AtomicBool,
    mut subscribed: impl FnMut() -> bool,
    mut message: impl FnMut(&redis::Msg) -> bool,
) {
    let mut backoff = Duration::from_millis(50);
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut conn) = client.get_connection_with_timeout(Duration::from_secs(2)) else {
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(Duration::from_secs(1));
            continue;
        };
        let mut pubsub = conn.as_pubsub();
        if pubsub.psubscribe(pattern).is_err()
            || pubsub
                .set_read_timeout(Some(Duration::from_millis(250)))
                .is_err()
        {
            continue;
        }
        backoff = Duration::from_millis(50);
        if !subscribed() {
            return;
        }
        while !stop.load(Ordering::SeqCst) {
            match pubsub.get_message() {
                Ok(msg) if !message(&msg) => return,
                Ok(_) => {}
                Err(e) if e.is_timeout() => {}
                Err(_) => break,
            }
        }
    }
}

impl Drop for RedisBackend {
    fn drop(&mut self) {
        self.handoffs.stop.store(true, Ordering::SeqCst);
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
/// resubscribing after a lost connection (then sending `None`: anything released before the
/// subscription took is found by looking again), until `stop`.
fn subscriber(
    client: redis::Client,
    pattern: String,
    channel_prefix: String,
    tx: Sender<Option<String>>,
    stop: Arc<AtomicBool>,
) {
    listen(
        &client,
        &pattern,
        &stop,
        || tx.send(None).is_ok(),
        |msg| match msg.get_channel_name().strip_prefix(&channel_prefix) {
            Some(key) => tx.send(Some(key.to_string())).is_ok(),
            None => true,
        },
    );
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
