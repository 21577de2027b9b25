//! Locks shared by every worker process: Redis when configured (many machines), file locks in
//! the workspace otherwise (processes on one machine).
//!
//! A lock is held through a [`LockGuard`]: acquired with an owner token and a TTL, renewed
//! from a background thread about every TTL/3 while the guard lives (so the TTL only bounds
//! recovery after a crash), released when the guard drops. Each acquisition gets a fencing
//! token that only grows; an output committed under a lock records it, and a holder that lost
//! its lock cannot commit.
//!
//! ```
//! # let dir = tempfile::tempdir().unwrap();
//! let locks = kart_core::lock::Locks::local(dir.path()).unwrap();
//! let guard = locks.lock("nightly-transfer").ttl(std::time::Duration::from_secs(30)).acquire().unwrap();
//! assert!(locks.lock("nightly-transfer").try_acquire().unwrap().is_none());
//! drop(guard);
//! assert!(locks.lock("nightly-transfer").try_acquire().unwrap().is_some());
//! ```

mod file;
mod held;
mod redis;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::event::{Event, EventKind, Events};
use crate::shutdown::Shutdown;
use crate::task_id::TaskId;

pub use self::file::FileBackend;
pub use self::held::{held, Held};
pub use self::redis::RedisBackend;

/// Default lock TTL: with renewal it only bounds how long a crashed holder blocks others.
pub const DEFAULT_TTL: Duration = Duration::from_secs(600);
/// Default bound on waiting for a lock.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The task it runs, if any.
    pub task_id: Option<String>,
}

impl Holder {
    /// This process, optionally on behalf of a task.
    pub fn this_process(task_id: Option<&TaskId>) -> Self {
        Holder {
            host: crate::host::name().to_string(),
            pid: std::process::id(),
            task_id: task_id.map(ToString::to_string),
        }
    }
}

/// A successful acquisition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Random owner token: only its owner can extend or release the lock.
    pub token: String,
    /// Fencing token: grows with every acquisition of the key.
    pub fence: u64,
}

/// A held lock, as `locks list` shows it.
#[derive(Debug, Clone)]
pub struct LockInfo {
    /// The lock's key (without the backend's prefix).
    pub key: String,
    /// Who holds it, if recorded.
    pub holder: Option<Holder>,
    /// How long it has been held.
    pub age: Option<Duration>,
    /// Time left before it expires unless renewed (`None`: until the holder exits).
    pub ttl: Option<Duration>,
    /// Its fencing token.
    pub fence: Option<u64>,
}

/// A place locks live. Both backends keep the same guarantees: one holder at a time, owner-only
/// extend and release, monotonically growing fencing tokens, and recovery after a crash.
pub trait LockBackend: Send + Sync + std::fmt::Debug {
    /// For messages: `redis 127.0.0.1:6379` or `file locks in <dir>`.
    fn describe(&self) -> String;
    /// Whether this backend coordinates several machines.
    fn distributed(&self) -> bool;
    /// Takes the lock if it is free.
    fn try_acquire(&self, key: &str, ttl: Duration, holder: &Holder) -> Result<Option<Lease>>;
    /// Waits until the lock is free and takes it, or returns `None` at the deadline. Waiters
    /// wake when the holder releases, not on a polling interval (Redis). `place` names this
    /// waiter across calls: a backend that lines waiters up keeps its place in line by it, and
    /// the lease it hands over carries it as token.
    fn acquire_until(
        &self,
        key: &str,
        ttl: Duration,
        holder: &Holder,
        place: &str,
        deadline: Instant,
    ) -> Result<Option<Lease>>;
    /// [`try_acquire`](Self::try_acquire) as the waiter `place`, which a backend that lines
    /// waiters up puts in line when the lock is held: its wait then starts from there.
    fn try_in_line(
        &self,
        key: &str,
        ttl: Duration,
        holder: &Holder,
        place: &str,
    ) -> Result<Option<Lease>> {
        let _ = place;
        self.try_acquire(key, ttl, holder)
    }
    /// The waiter `place` stops waiting and leaves the line; `Some` when the lock was handed
    /// to it meanwhile (it holds it then).
    fn leave(&self, key: &str, place: &str) -> Result<Option<Lease>> {
        let _ = (key, place);
        Ok(None)
    }
    /// Extends the lock if `lease` still holds it; `false` means it was lost.
    fn extend(&self, key: &str, lease: &Lease, ttl: Duration) -> Result<bool>;
    /// Releases the lock if `lease` holds it; `false` means it was not held any more.
    fn release(&self, key: &str, lease: &Lease) -> Result<bool>;
    /// Records that an output was committed under `lease`: succeeds only while the lease holds
    /// the lock and no newer fencing token committed `target` before.
    fn commit(&self, key: &str, lease: &Lease, target: &str) -> Result<CommitCheck>;
    /// Every held lock.
    fn list(&self) -> Result<Vec<LockInfo>>;
    /// The lock `key` if it is held: who holds it, since when.
    fn info(&self, key: &str) -> Result<Option<LockInfo>>;
    /// Removes a lock whatever its holder (for stale locks); `false` if it was not held.
    fn clear(&self, key: &str) -> Result<bool>;
    /// Leaves a note under `key` for other processes (replacing any), kept at least `ttl`.
    fn note(&self, key: &str, text: &str, ttl: Duration) -> Result<()>;
    /// The note under `key`, if any.
    fn read_note(&self, key: &str) -> Result<Option<String>>;
    /// Something that notices when locks held elsewhere are given up.
    fn watch(&self) -> Result<Box<dyn ReleaseWatch + '_>> {
        Ok(Box::new(PollingWatch {
            backend: self,
            keys: Vec::new(),
        }))
    }
}

/// Notices when locks held elsewhere are given up (released, expired, or their holder gone),
/// for a scheduler waiting on tasks other processes run.
pub trait ReleaseWatch: Send {
    /// Watches `key` from now on; `expires` is when its holder's lease ends unless renewed
    /// (`None`: it ends with the holder).
    fn add(&mut self, key: &str, expires: Option<Instant>);
    /// Waits until `deadline` at most for watched keys that may be free now, and stops
    /// watching those. A key may be named though someone took it again: the caller tries.
    fn wait(&mut self, deadline: Instant) -> Result<Vec<String>>;
}

/// How often a backend without release notices (file locks) looks at watched keys.
const WATCH_POLL: Duration = Duration::from_millis(100);

/// A watch that looks at each key every [`WATCH_POLL`]: for backends that cannot notify.
struct PollingWatch<'a, B: LockBackend + ?Sized> {
    backend: &'a B,
    keys: Vec<String>,
}

impl<B: LockBackend + ?Sized> ReleaseWatch for PollingWatch<'_, B> {
    fn add(&mut self, key: &str, _expires: Option<Instant>) {
        self.keys.push(key.to_string());
    }

    fn wait(&mut self, deadline: Instant) -> Result<Vec<String>> {
        loop {
            let mut free = Vec::new();
            let mut still = Vec::with_capacity(self.keys.len());
            for key in std::mem::take(&mut self.keys) {
                if self.backend.info(&key)?.is_none() {
                    free.push(key);
                } else {
                    still.push(key);
                }
            }
            self.keys = still;
            let now = Instant::now();
            if !free.is_empty() || now >= deadline {
                return Ok(free);
            }
            std::thread::sleep(WATCH_POLL.min(deadline - now));
        }
    }
}

/// Outcome of [`LockBackend::commit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitCheck {
    /// The lease holds the lock; the commit is recorded.
    Ok,
    /// The lock was lost: do not commit.
    Lost,
    /// A newer holder already committed this target: do not replace it.
    Stale,
}

impl LockInfo {
    /// `host:pid (task T) for 12s`, for messages about a lock held elsewhere.
    pub fn describe_holder(&self) -> String {
        let mut text = match &self.holder {
            Some(h) => format!("{}:{}", h.host, h.pid),
            None => "an unknown holder".into(),
        };
        if let Some(task) = self.holder.as_ref().and_then(|h| h.task_id.as_deref()) {
            text.push_str(&format!(" (task {task})"));
        }
        if let Some(age) = self.age {
            text.push_str(&format!(
                " for {}",
                crate::Duration::from_secs(age.as_secs())
            ));
        }
        text
    }
}

/// The locks of a run: a backend plus the event stream they report to.
#[derive(Clone, Debug)]
pub struct Locks {
    backend: Arc<dyn LockBackend>,
    events: Events,
}

impl Locks {
    /// File locks under `<workspace>/.kart/locks`, for processes on one machine.
    pub fn local(workspace: &std::path::Path) -> Result<Self> {
        Ok(Self::new(
            Arc::new(FileBackend::new(workspace.join(".kart").join("locks"))?),
            Events::new(),
        ))
    }

    /// Redis at `endpoint`, keys under `prefix:` (default `kart`). Fails at once, naming the
    /// address, when the server cannot be reached or refuses the login.
    pub fn redis(endpoint: &crate::redis::RedisEndpoint, prefix: &str) -> Result<Self> {
        Ok(Self::new(
            Arc::new(RedisBackend::connect(endpoint, prefix)?),
            Events::new(),
        ))
    }

    /// Locks over any backend, reporting to `events`.
    pub fn new(backend: Arc<dyn LockBackend>, events: Events) -> Self {
        Locks { backend, events }
    }

    /// The same locks, reporting to `events`.
    pub fn with_events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn LockBackend> {
        &self.backend
    }

    /// Who holds `key`, for messages: `host:pid (task T) for 12s`, or "another worker" when
    /// that cannot be told (released meanwhile, or the backend failed).
    pub fn holder_of(&self, key: &str) -> String {
        match self.backend.info(key) {
            Ok(Some(info)) => info.describe_holder(),
            _ => "another worker".into(),
        }
    }

    /// A lock called `key`, to configure and acquire.
    pub fn lock(&self, key: impl Into<String>) -> LockBuilder<'_> {
        LockBuilder {
            locks: self,
            key: key.into(),
            ttl: DEFAULT_TTL,
            timeout: DEFAULT_TIMEOUT,
            task: None,
            cancel: None,
            shutdown: None,
        }
    }

    fn emit(
        &self,
        kind: EventKind,
        key: &str,
        task: Option<&(TaskId, &'static str)>,
        fence: Option<u64>,
    ) {
        if self.events.is_empty() {
            return;
        }
        let mut e = Event::new(kind).with("key", key);
        if let Some((id, family)) = task {
            e = e.task(id, family);
        }
        if let Some(fence) = fence {
            e = e.with("fence", fence);
        }
        self.events.emit(e);
    }
}

static INSTALLED: OnceLock<Locks> = OnceLock::new();

/// Makes `locks` the process-wide backend behind [`lock`](crate::lock()). The command line
/// installs the run's locks; a program using kart as a library may install its own once.
pub fn install(locks: Locks) {
    let _ = INSTALLED.set(locks);
}

/// The installed locks, if any.
pub fn installed() -> Option<&'static Locks> {
    INSTALLED.get()
}

/// A custom named lock (JWQL's `only_one`), on the run's backend:
///
/// ```ignore
/// let _guard = kart_core::lock("nightly-transfer").ttl(Duration::from_secs(60)).acquire()?;
/// ```
pub fn lock(key: impl Into<String>) -> Result<LockBuilder<'static>> {
    installed().map(|l| l.lock(key)).ok_or_else(|| Error::Lock {
        backend: "none".into(),
        message:
            "no lock backend installed: call kart_core::lock::install or run inside a kart run"
                .into(),
    })
}

/// Configures one acquisition.
pub struct LockBuilder<'a> {
    locks: &'a Locks,
    key: String,
    ttl: Duration,
    timeout: Duration,
    task: Option<(TaskId, &'static str)>,
    cancel: Option<Arc<AtomicBool>>,
    shutdown: Option<Shutdown>,
}

impl LockBuilder<'_> {
    /// The lock's key.
    pub fn key(&self) -> &str {
        &self.key
    }
    /// Lock TTL (default 10 minutes); renewed every TTL/3 while held.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl.max(Duration::from_millis(30));
        self
    }
    /// Longest wait in [`acquire`](Self::acquire) (default 1 hour).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// Records the task holding the lock (shown by `locks list`, in events).
    pub fn for_task(mut self, id: &TaskId, family: &'static str) -> Self {
        self.task = Some((id.clone(), family));
        self
    }
    /// A flag set when the lock is lost, so the holder's work can stop.
    pub fn cancel_on_loss(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Stop waiting as soon as the run stops (the first SIGINT/SIGTERM): a task that has
    /// not started yet must not start after it.
    pub fn until_stopped(mut self, shutdown: &Shutdown) -> Self {
        self.shutdown = Some(shutdown.clone());
        self
    }

    fn holder(&self) -> Holder {
        Holder::this_process(self.task.as_ref().map(|(id, _)| id))
    }

    /// Takes the lock if free; `None` when it is held elsewhere.
    pub fn try_acquire(self) -> Result<Option<LockGuard>> {
        match self
            .locks
            .backend
            .try_acquire(&self.key, self.ttl, &self.holder())?
        {
            Some(lease) => Ok(Some(self.guard(lease))),
            None => Ok(None),
        }
    }

    /// Waits for the lock (woken when it is released), up to the timeout.
    pub fn acquire(self) -> Result<LockGuard> {
        let holder = self.holder();
        // One place in line for the whole wait, taken with the first try.
        let place = new_place();
        if let Some(lease) = self
            .locks
            .backend
            .try_in_line(&self.key, self.ttl, &holder, &place)?
        {
            return Ok(self.guard(lease));
        }
        self.locks
            .emit(EventKind::LockWaiting, &self.key, self.task.as_ref(), None);
        // Wait in slices, so a cancelled waiter (shutdown, timeout) stops waiting promptly.
        let deadline = Instant::now() + self.timeout;
        let backend = &self.locks.backend;
        let lease = loop {
            let slice = deadline.min(Instant::now() + Duration::from_millis(250));
            match backend.acquire_until(&self.key, self.ttl, &holder, &place, slice) {
                Ok(Some(lease)) => break Some(lease),
                Ok(None) => {}
                Err(e) => {
                    // Out of line (passing on a lock handed over meanwhile), best effort:
                    // the failure is what to report.
                    if let Ok(Some(lease)) = backend.leave(&self.key, &place) {
                        let _ = backend.release(&self.key, &lease);
                    }
                    return Err(e);
                }
            }
            let cancelled = self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::SeqCst));
            if cancelled || self.shutdown.as_ref().is_some_and(Shutdown::is_stopping) {
                // Handed the lock while giving up: pass it on.
                if let Some(lease) = backend.leave(&self.key, &place)? {
                    backend.release(&self.key, &lease)?;
                }
                return Err(Error::Cancelled(format!(
                    "stopped waiting for lock `{}`",
                    self.key
                )));
            }
            if Instant::now() >= deadline {
                break backend.leave(&self.key, &place)?;
            }
        };
        match lease {
            Some(lease) => Ok(self.guard(lease)),
            None => Err(Error::Lock {
                backend: self.locks.backend.describe(),
                message: format!(
                    "timed out after {} waiting for lock `{}`",
                    crate::Duration(self.timeout),
                    self.key
                ),
            }),
        }
    }

    fn guard(self, lease: Lease) -> LockGuard {
        self.locks.emit(
            EventKind::LockAcquired,
            &self.key,
            self.task.as_ref(),
            Some(lease.fence),
        );
        let inner = Arc::new(GuardInner {
            locks: self.locks.clone(),
            key: self.key,
            lease,
            ttl: self.ttl,
            lost: AtomicBool::new(false),
            renewal: Mutex::new(RenewalState {
                released: false,
                last_ok: Instant::now(),
            }),
            cancel: self.cancel,
            task: self.task,
        });
        held::taken(&inner);
        renewer().schedule(&inner);
        LockGuard { inner }
    }
}

struct RenewalState {
    /// Set (under this mutex) before the release, so no renewal runs after it.
    released: bool,
    last_ok: Instant,
}

struct GuardInner {
    locks: Locks,
    key: String,
    lease: Lease,
    ttl: Duration,
    lost: AtomicBool,
    renewal: Mutex<RenewalState>,
    cancel: Option<Arc<AtomicBool>>,
    task: Option<(TaskId, &'static str)>,
}

impl GuardInner {
    /// Extends the lock once; `false` when it needs no more renewals (released or lost).
    fn renew(&self) -> bool {
        let mut state = self.renewal.lock().unwrap_or_else(|p| p.into_inner());
        if state.released {
            return false;
        }
        match self.locks.backend.extend(&self.key, &self.lease, self.ttl) {
            Ok(true) => {
                state.last_ok = Instant::now();
                true
            }
            Ok(false) => {
                self.mark_lost("the lock expired or was cleared");
                false
            }
            // A passing network error is retried; past the TTL the lock may be someone else's.
            Err(e) if state.last_ok.elapsed() >= self.ttl => {
                self.mark_lost(&format!("could not renew it for a whole TTL: {e}"));
                false
            }
            Err(e) => {
                tracing::warn!("renewing lock `{}`: {e}", self.key);
                true
            }
        }
    }

    /// Releases the lock once (a guard's drop and `release_all` may both try); `true` when
    /// this call released it. No renewal runs after the `released` mark.
    fn release(&self) -> bool {
        if std::mem::replace(
            &mut self
                .renewal
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .released,
            true,
        ) {
            return false;
        }
        held::given_back(self);
        match self.locks.backend.release(&self.key, &self.lease) {
            Ok(true) => {
                self.locks.emit(
                    EventKind::LockReleased,
                    &self.key,
                    self.task.as_ref(),
                    Some(self.lease.fence),
                );
                true
            }
            Ok(false) => false,
            Err(e) => {
                tracing::warn!("releasing lock `{}`: {e} (it expires by its TTL)", self.key);
                false
            }
        }
    }

    fn mark_lost(&self, why: &str) {
        self.lost.store(true, Ordering::SeqCst);
        if let Some(flag) = &self.cancel {
            flag.store(true, Ordering::SeqCst);
        }
        tracing::warn!("lock `{}` lost: {why}", self.key);
        let mut e = Event::new(EventKind::LockLost)
            .with("key", self.key.as_str())
            .with("fence", self.lease.fence)
            .with("reason", why);
        if let Some((id, family)) = &self.task {
            e = e.task(id, family);
        }
        self.locks.events.emit(e);
    }
}

/// One thread per process renews every held lock about every TTL/3, so holding a lock costs
/// no thread of its own.
struct Renewer {
    queue: Mutex<Queue>,
    wake: Condvar,
}

/// Renewals by when they fall due.
struct Queue {
    heap: BinaryHeap<Reverse<Scheduled>>,
    /// The length at which released guards' entries are swept out: a claim per task, each
    /// released long before its renewal is due, would otherwise keep every finished claim's
    /// entry (and its guard's memory) for a third of the TTL.
    sweep_at: usize,
}

impl Queue {
    const FIRST_SWEEP: usize = 1024;

    fn push(&mut self, item: Scheduled) {
        if self.heap.len() >= self.sweep_at {
            self.heap.retain(|Reverse(s)| s.guard.strong_count() > 0);
            // Twice what is left: sweeping stays O(1) per push, amortized.
            self.sweep_at = (self.heap.len() * 2).max(Self::FIRST_SWEEP);
        }
        self.heap.push(Reverse(item));
    }
}

struct Scheduled {
    due: Instant,
    guard: Weak<GuardInner>,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        self.due == other.due
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.due.cmp(&other.due)
    }
}

static RENEWER: OnceLock<&'static Renewer> = OnceLock::new();

fn renewer() -> &'static Renewer {
    RENEWER.get_or_init(|| {
        let r: &'static Renewer = Box::leak(Box::new(Renewer {
            queue: Mutex::new(Queue {
                heap: BinaryHeap::new(),
                sweep_at: Queue::FIRST_SWEEP,
            }),
            wake: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("kart-lock-renewal".into())
            .spawn(move || r.run())
            .expect("spawn the lock renewal thread");
        r
    })
}

impl Renewer {
    fn schedule(&self, guard: &Arc<GuardInner>) {
        let due = Instant::now() + guard.ttl / 3;
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        // Wake the thread only when this renewal comes before everything it waits for.
        let earliest = queue.heap.peek().is_none_or(|Reverse(next)| due < next.due);
        queue.push(Scheduled {
            due,
            guard: Arc::downgrade(guard),
        });
        drop(queue);
        if earliest {
            self.wake.notify_one();
        }
    }

    fn run(&self) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let now = Instant::now();
            match queue.heap.peek() {
                None => queue = self.wake.wait(queue).unwrap_or_else(|p| p.into_inner()),
                Some(Reverse(next)) if next.due > now => {
                    let wait = next.due - now;
                    queue = self
                        .wake
                        .wait_timeout(queue, wait)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                Some(_) => {
                    let Reverse(item) = queue.heap.pop().expect("peeked");
                    // Dropped guards are simply forgotten.
                    let Some(guard) = item.guard.upgrade() else {
                        continue;
                    };
                    drop(queue);
                    let again = guard.renew();
                    queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
                    if again {
                        queue.push(Scheduled {
                            due: Instant::now() + guard.ttl / 3,
                            guard: Arc::downgrade(&guard),
                        });
                    }
                }
            }
        }
    }
}

/// A held lock; released when dropped (renewal stops with it).
pub struct LockGuard {
    inner: Arc<GuardInner>,
}

impl std::fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LockGuard")
            .field("key", &self.inner.key)
            .field("fence", &self.inner.lease.fence)
            .finish()
    }
}

impl LockGuard {
    /// The lock's key.
    pub fn key(&self) -> &str {
        &self.inner.key
    }
    /// This acquisition's fencing token.
    pub fn fence(&self) -> u64 {
        self.inner.lease.fence
    }
    /// Whether renewal found the lock lost.
    pub fn is_lost(&self) -> bool {
        self.inner.lost.load(Ordering::SeqCst)
    }
    /// Records the commit of `target` under this lock; an error when the lock was lost or a
    /// newer holder committed `target` already.
    pub fn commit(&self, target: &str) -> Result<()> {
        let backend = &self.inner.locks.backend;
        let refuse = |why: &str| {
            Err(Error::Cancelled(format!(
                "output {target} not written: {why} (lock `{}`, fencing token {})",
                self.inner.key, self.inner.lease.fence
            )))
        };
        if self.is_lost() {
            return refuse("the lock was lost");
        }
        // The backend retries a stall for a while; past that, keep trying for as long as the
        // lease may still be valid, and fail only when it can no longer be confirmed.
        let checked = loop {
            match backend.commit(&self.inner.key, &self.inner.lease, target) {
                Ok(check) => break check,
                Err(e) => {
                    let last_ok = self
                        .inner
                        .renewal
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .last_ok;
                    if last_ok.elapsed() >= self.inner.ttl {
                        self.inner
                            .mark_lost(&format!("could not be confirmed: {e}"));
                        return refuse("its lease could not be confirmed");
                    }
                    tracing::warn!("committing {target}: {e}; the lease still holds, retrying");
                    std::thread::sleep(Duration::from_secs(1));
                }
            }
        };
        match checked {
            CommitCheck::Ok => Ok(()),
            CommitCheck::Lost => {
                self.inner.mark_lost("found lost at commit");
                refuse("the lock was lost")
            }
            CommitCheck::Stale => refuse("a newer holder already committed it"),
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.inner.release();
    }
}

/// Releases every lock this process holds, now (for a forced exit, where guards would not be
/// dropped). Returns how many were released.
pub fn release_all() -> usize {
    held::guards().iter().filter(|g| g.release()).count()
}

/// A random owner token (32 hex digits).
pub(crate) fn new_token() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// A waiter's token: this process's tag (see [`process_tag`]), then random digits — 32 hex
/// digits in all, like any owner token.
pub(crate) fn new_place() -> String {
    use rand::Rng;
    let bytes: [u8; 10] = rand::rng().random();
    format!("{}{}", process_tag(), hex::encode(bytes))
}

/// 12 random hex digits fixed for this process: the start of every token it waits with, so
/// one subscription can hear every hand-off meant for it.
pub(crate) fn process_tag() -> &'static str {
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        use rand::Rng;
        let bytes: [u8; 6] = rand::rng().random();
        hex::encode(bytes)
    })
}

/// Milliseconds since the epoch.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_guards_leave_the_renewal_queue_long_before_their_renewal_falls_due() {
        let dir = tempfile::tempdir().unwrap();
        let locks = Locks::local(dir.path()).unwrap();
        let n = 5 * Queue::FIRST_SWEEP;
        for i in 0..n {
            let guard = locks
                .lock(format!("k{i}"))
                .ttl(Duration::from_secs(3600))
                .try_acquire()
                .unwrap()
                .expect("free");
            drop(guard);
        }
        // Each was queued for renewal in 20 minutes; kept, they would all be there still.
        let queued = renewer()
            .queue
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .heap
            .len();
        assert!(
            queued < n / 2,
            "{queued} queued after {n} guards were released"
        );
    }
}
