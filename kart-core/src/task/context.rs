//! What a task sees: [`GraphContext`] while the graph is built, [`RunContext`] while it runs
//! (its workspace and id, loads of its inputs, the commit of its output, locks, resources,
//! messages, cancellation).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde_json::Value;

use super::kind::Kind;
use super::{DynTask, TaskDef, TaskId};
use crate::error::{Error, Result};
use crate::event::{Event, EventKind, Events};
use crate::lock::{LockBuilder, LockGuard, Locks};
use crate::store::{LastCheck, Published, Store};
use crate::workspace::Workspace;

/// What a task sees while the dependency graph is built.
pub struct GraphContext<'a> {
    /// Where outputs live.
    pub workspace: &'a Workspace,
    /// The run's event stream.
    pub events: &'a Events,
}

/// TTL of the cache lock around a load or a commit: renewed while held, so it only bounds
/// how long a committer killed mid-write blocks that output for everyone else.
pub const CACHE_LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// What a running task sees: its workspace, its id, cancellation.
pub struct RunContext<'a> {
    pub(crate) workspace: &'a Workspace,
    pub(crate) task_id: TaskId,
    pub(crate) family: &'static str,
    pub(crate) attempt: u32,
    pub(crate) worker: String,
    pub(crate) events: &'a Events,
    pub(crate) cancelled: Arc<AtomicBool>,
    pub(crate) locks: Option<&'a Locks>,
    pub(crate) run_guard: Option<&'a LockGuard>,
    pub(crate) resources: Option<&'a std::sync::Mutex<crate::resource::HeldResources>>,
    pub(crate) inbox: Option<&'a crate::message::Inbox>,
    /// Set when the commit found the output already there: another worker committed first.
    pub(crate) already_committed: AtomicBool,
}

impl<'a> RunContext<'a> {
    /// The workspace outputs are written to.
    pub fn workspace(&self) -> &'a Workspace {
        self.workspace
    }
    /// The running task's id.
    pub fn task_id(&self) -> &TaskId {
        &self.task_id
    }
    /// Which attempt this is, from 1.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }
    /// True once the task should stop (lock lost, timeout, shutdown). Long tasks poll it.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed)
    }
    /// The loaded output of a required task: its value, or for a file or directory output
    /// its path (see [`crate::output`]).
    pub fn load<T: TaskDef>(&self, task: &T) -> Result<T::Output> {
        let key = DynTask::output_key(task)?.ok_or_else(|| {
            Error::msg(format!(
                "{} is a wrapper and has no output to load",
                task.display()
            ))
        })?;
        <T::Kind as Kind<T::Output>>::load(self, task, &key)
    }

    /// The bytes of `task`'s value output at `key`, read under the cache lock (gokart's cache
    /// collision lock: never read an output another machine is writing). An output that
    /// was complete when the graph was built and is gone now (`gc` meanwhile) is made again.
    pub(crate) fn read_input(&self, task: &dyn DynTask, key: &str) -> Result<Vec<u8>> {
        let target = self.workspace.target(key);
        let cache = self.cache_lock(key)?;
        match target.read() {
            Ok(bytes) => Ok(bytes),
            // Complete by its own rule, with nothing written where it would be read.
            Err(_) if task.decides_completeness() && !target.exists()? => Err(Error::msg(format!(
                "{} is complete by its own rule, but there is no output at {} to read: return `()` from it, or write its output",
                task.display(),
                target.path_for_display().display()
            ))),
            Err(e) if !target.exists()? => {
                drop(cache);
                self.recompute(task, &e)?;
                let _cache = self.cache_lock(key)?;
                target.read()
            }
            Err(e) => Err(e),
        }
    }

    /// A local path to `task`'s file or directory output at `key`: the output itself in a
    /// local workspace, else a fresh copy under this machine's state directory
    /// (`<state>/inputs/<key>`), downloaded under the cache lock.
    pub(crate) fn input_path(&self, task: &dyn DynTask, key: &str) -> Result<std::path::PathBuf> {
        let store = self.workspace.store();
        if !self.workspace.exists(key)? {
            let missing = Error::msg(format!("{} is gone", store.location(key)));
            self.recompute(task, &missing)?;
        }
        if let Some(path) = store.local_path(key) {
            return Ok(path);
        }
        let _cache = self.cache_lock(key)?;
        let copy = crate::Workspace::state_dir_for(self.workspace.root())
            .join("inputs")
            .join(key.trim_end_matches('/'));
        if !crate::store::is_dir_key(key) {
            store.download(key, &copy)?;
            return Ok(copy);
        }
        // A whole directory: filled beside its place, then swapped in.
        let parent = copy.parent().expect("an input copy has a parent");
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io("cannot create directory", parent, e))?;
        let fresh = crate::atomic_file::temp_dir_beside(&copy)
            .map_err(|e| Error::io("cannot create temporary directory for", &copy, e))?;
        for object in store.list_under(key)? {
            store.download(
                &format!("{key}{}", object.key),
                &fresh.path().join(&object.key),
            )?;
        }
        let old = crate::atomic_file::temp_dir_beside(&copy)
            .map_err(|e| Error::io("cannot create temporary directory for", &copy, e))?;
        match std::fs::rename(&copy, old.path()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("cannot replace", &copy, e)),
        }
        std::fs::rename(fresh.keep(), &copy)
            .map_err(|e| Error::io("cannot rename into place", &copy, e))?;
        Ok(copy)
    }

    /// Runs `task` again, here, because its output vanished after the graph was built: under
    /// its run lock if it has one, unless another worker made it again meanwhile.
    fn recompute(&self, task: &dyn DynTask, vanished: &Error) -> Result<()> {
        let id = task.id();
        let family = task.family();
        if task.is_external() {
            return Err(Error::msg(format!(
                "external data {id} vanished while this run needed it: {vanished}"
            )));
        }
        self.events.emit(
            Event::new(EventKind::Recomputed)
                .task(&id, family)
                .params(task.params_json())
                .worker(&self.worker)
                .with("for", self.task_id.as_str())
                .with("reason", vanished.to_string()),
        );
        let guard = match task.run_lock() {
            None => None,
            Some(lock) => Some(
                super::run_lock_builder(task, lock, &id, self.locks)?
                    .cancel_on_loss(self.cancelled.clone())
                    .acquire()?,
            ),
        };
        if task.output_exists(self.workspace)? {
            return Ok(());
        }
        let ctx = RunContext {
            workspace: self.workspace,
            task_id: id,
            family,
            attempt: 1,
            worker: self.worker.clone(),
            events: self.events,
            cancelled: self.cancelled.clone(),
            locks: self.locks,
            run_guard: guard.as_ref(),
            resources: None,
            inbox: None,
            already_committed: AtomicBool::new(false),
        };
        task.execute(&ctx)
    }

    /// A named lock on the run's backend (Redis when configured, else file locks), held by
    /// this task: `let _guard = ctx.lock("nightly-transfer")?.acquire()?;`.
    pub fn lock(&self, key: impl Into<String>) -> Result<LockBuilder<'a>> {
        let locks = self.locks.ok_or_else(|| Error::Lock {
            backend: "none".into(),
            message: "this run has no lock backend".into(),
        })?;
        Ok(locks
            .lock(key)
            .for_task(&self.task_id, self.family)
            .cancel_on_loss(self.cancelled.clone()))
    }

    /// The cache lock of the output at `key`, when the run needs one: with a distributed lock
    /// backend; and for a directory in object storage, which two unlocked writers could mix.
    fn cache_lock(&self, key: &str) -> Result<Option<LockGuard>> {
        let needed = |locks: &Locks| {
            locks.backend().distributed()
                || (crate::store::is_dir_key(key) && !self.workspace.is_local())
        };
        match self.locks {
            Some(locks) if needed(locks) => locks
                .lock(crate::keys::cache(key))
                .ttl(CACHE_LOCK_TTL)
                .for_task(&self.task_id, self.family)
                .acquire()
                .map(Some),
            _ => Ok(None),
        }
    }

    /// Publishes the task's output at `key` through `publish` (one of the store's publish
    /// methods, given the check to run before the output becomes visible): under the cache
    /// lock, never over an output that appeared meanwhile (the first commit wins), and only
    /// while the run lock (if any) is still ours — checked with the data durable, immediately
    /// before it becomes visible, recording the run lock's fencing token with the commit.
    pub(crate) fn commit_with(
        &self,
        key: &str,
        publish: &mut dyn FnMut(&dyn Store, LastCheck<'_>) -> Result<Published>,
    ) -> Result<()> {
        // A claimed task's output has one writer anywhere, and publishing is atomic and fenced
        // by the claim: the cache lock would add two round trips and protect nothing.
        let claimed = self
            .run_guard
            .is_some_and(|g| crate::keys::is_claim(g.key()));
        let _cache = match claimed {
            true => None,
            false => self.cache_lock(key)?,
        };
        let published = publish(&**self.workspace.store(), &mut || {
            if let Some(guard) = self.run_guard {
                guard.commit(key)?;
            }
            if self.is_cancelled() {
                return Err(Error::Cancelled(format!(
                    "output {key} not written: {} was cancelled",
                    self.task_id
                )));
            }
            Ok(())
        })?;
        if published == Published::AlreadyThere {
            self.already_committed.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    /// Another worker committed this task's output first (a table task's marker was there).
    pub(crate) fn mark_already_committed(&self) {
        self.already_committed.store(true, Ordering::SeqCst);
    }

    /// Gives back part of the task's resources while it goes on (Luigi's
    /// `decrease_running_resources`), so waiting tasks can start:
    /// `ctx.decrease_resources(&[("some_resource", 1)])?`.
    pub fn decrease_resources(&self, amounts: &[(&str, u32)]) -> Result<()> {
        let Some(held) = self.resources else {
            return Err(Error::msg("this task holds no resources"));
        };
        let mut held = held.lock().unwrap_or_else(|p| p.into_inner());
        for (name, amount) in amounts {
            held.decrease(name, *amount)?;
        }
        Ok(())
    }

    /// The next message sent to this task (`<bin> message <task id> <text>`), if one is
    /// waiting. Only `#[task(accepts_messages)]` tasks receive messages; for others this is
    /// always `None`.
    pub fn next_message(&self) -> Option<crate::message::Message> {
        let message = self.inbox?.try_next()?;
        self.received(&message);
        Some(message)
    }

    /// Waits up to `timeout` for the next message; returns early with `None` when the task is
    /// cancelled.
    pub fn wait_message(&self, timeout: std::time::Duration) -> Option<crate::message::Message> {
        let inbox = self.inbox?;
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let now = std::time::Instant::now();
            if now >= deadline || self.is_cancelled() {
                return None;
            }
            let slice = (deadline - now).min(std::time::Duration::from_millis(50));
            if let Some(message) = inbox.next_timeout(slice) {
                self.received(&message);
                return Some(message);
            }
        }
    }

    fn received(&self, message: &crate::message::Message) {
        self.events.emit(
            Event::new(EventKind::MessageReceived)
                .task(&self.task_id, self.family)
                .worker(&self.worker)
                .with("content", message.content()),
        );
    }

    /// Sends a custom event to the run's event stream.
    pub fn emit(&self, kind: EventKind, extra: serde_json::Map<String, Value>) {
        let mut event = Event::new(kind)
            .task(&self.task_id, self.family)
            .worker(&self.worker);
        event.extra = extra;
        self.events.emit(event);
    }
}
