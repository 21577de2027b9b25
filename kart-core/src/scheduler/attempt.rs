//! One attempt at a task: take its run lock if it has one, re-check completeness, run, commit.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};

use super::shared::{failed_event, panic_message, Attempt, Claimed, Env, Holdings};
use crate::error::{Error, Result};
use crate::event::{Event, EventKind};
use crate::message::Mailboxes;
use crate::task::{run_lock_builder, AnyTask, OnConflict, RunContext, TaskId, UniquePhase};
use crate::workspace::Workspace;

/// One attempt at a task: take its run lock if it has one, re-check completeness (another
/// worker may have made it meanwhile), run, commit.
pub(super) fn attempt_task(
    worker: &str,
    task: &AnyTask,
    id: &TaskId,
    attempt: u32,
    held: Holdings<'_>,
    env: &Env<'_>,
) -> Attempt {
    let Holdings {
        schedule_guard,
        stop,
        resources,
        claim,
        claimable,
        waited_for,
    } = held;
    let cancelled = stop.cancel.clone();
    let family = task.family();
    let check_done = || -> Result<bool> { Ok(!task.is_wrapper() && task.output_exists(env.ws)?) };
    // Failing before the task runs: the event says why, as after a run.
    let refuse = |error: String| {
        env.events
            .emit(failed_event(task, id, worker, attempt, &error));
        Attempt::Failed(error)
    };

    if task.is_external() {
        return match check_done() {
            Ok(true) => Attempt::FoundComplete,
            Ok(false) => {
                let key = task.output_key().ok().flatten().unwrap_or_default();
                env.events.emit(
                    Event::new(EventKind::MissingData)
                        .task(id, family)
                        .params(task.params_json())
                        .worker(worker)
                        .with("output", key.as_str())
                        .with("attempt", attempt),
                );
                Attempt::Missing(format!("missing external data: {key} does not exist"))
            }
            Err(e) => refuse(e.to_string()),
        };
    }

    // Disabled after repeated failures (here or elsewhere): failed at once, not run.
    if let (Some(locks), true) = (env.locks, env.opts.disable.active()) {
        match super::disable::disabled(locks, id) {
            Ok(Some(why)) => {
                env.events
                    .emit(failed_event(task, id, worker, attempt, &why).with("disabled", true));
                return Attempt::Disabled(why);
            }
            Ok(None) => {}
            Err(e) => return refuse(e.to_string()),
        }
    }

    // One worker across every process sharing the backend runs the task: the one holding
    // its claim, kept (and renewed) until the task is done with. A `#[run_with_lock]` task
    // keeps its lock's own stricter rules (waiting, failing fast, unique-job phases) instead.
    let claims = env
        .claims
        .filter(|_| claimable && !task.is_wrapper() && task.run_lock().is_none());
    if let (Some(claims), None) = (claims, claim.as_ref()) {
        match take_claim(claims, id, family, env.opts.claim_ttl, Some(&cancelled)) {
            Ok(Ok(guard)) => *claim = Some(guard),
            Ok(Err(claimed)) => return Attempt::ClaimedElsewhere(Box::new(claimed)),
            Err(e) => return refuse(e.to_string()),
        }
        // Whoever held it before may have finished it, or given it up as failed. A claim
        // taken for the first time ever (fence 1) had no one before: no need to look.
        let first_ever = claim.as_ref().is_some_and(|c| c.fence() == 1);
        if !first_ever {
            match check_done() {
                Ok(true) => return Attempt::FoundComplete,
                Ok(false) => {}
                Err(e) => return refuse(e.to_string()),
            }
        }
        if let Some(fence) = waited_for {
            match claims.backend().read_note(&crate::keys::failure(id)) {
                Ok(Some(note)) => {
                    if let Some(error) = failure_after(&note, fence) {
                        env.events.emit(
                            failed_event(task, id, worker, attempt, &error).with("elsewhere", true),
                        );
                        return Attempt::FailedElsewhere(error);
                    }
                }
                Ok(None) => {}
                Err(e) => return refuse(e.to_string()),
            }
        }
    }

    // A retry may find the task done by someone else.
    if attempt > 1 {
        match check_done() {
            Ok(true) => return Attempt::FoundComplete,
            Ok(false) => {}
            Err(e) => return refuse(e.to_string()),
        }
    }

    let mut run_guard = None;
    if let Some(lock) = task.run_lock() {
        let take_now = !matches!(
            lock.unique,
            Some((UniquePhase::UntilExecuting | UniquePhase::UntilExecuted, _))
        );
        if take_now {
            let builder = match run_lock_builder(&**task, lock, id, env.locks) {
                Ok(builder) => builder,
                Err(e) => return refuse(e.to_string()),
            };
            let key = builder.key().to_string();
            let locks = env
                .locks
                .expect("a run lock was built, so the run has locks");
            let builder = builder
                .cancel_on_loss(cancelled.clone())
                .until_stopped(&env.opts.shutdown);
            let fail_fast = lock.unique.is_some() || env.opts.fail_on_collision;
            let acquired = if fail_fast {
                builder.try_acquire()
            } else {
                builder.acquire().map(Some)
            };
            match acquired {
                Ok(Some(guard)) => run_guard = Some(guard),
                Ok(None) => {
                    let holder = locks.holder_of(&key);
                    env.events.emit(
                        Event::new(EventKind::LockedElsewhere)
                            .task(id, family)
                            .worker(worker)
                            .with("key", key.as_str())
                            .with("holder", holder.as_str()),
                    );
                    let error = Error::LockedElsewhere(format!("lock `{key}` is held by {holder}"))
                        .to_string();
                    return match lock.unique.map(|(_, c)| c) {
                        Some(OnConflict::Reject) => Attempt::NotRun(format!(
                            "rejected: an identical {family} is running elsewhere ({holder})"
                        )),
                        Some(OnConflict::Raise) => refuse(format!("unique job conflict: {error}")),
                        Some(OnConflict::Reschedule) => Attempt::TryLater {
                            error,
                            counts: false,
                        },
                        None => Attempt::TryLater {
                            error,
                            counts: !env.opts.keep_alive,
                        },
                    };
                }
                // The first SIGINT/SIGTERM ends the wait: the task never starts.
                Err(e) if env.opts.shutdown.is_stopping() => {
                    return Attempt::NotRun(format!("interrupted before it started: {e}"))
                }
                Err(e) => return refuse(e.to_string()),
            }
            match check_done() {
                Ok(true) => return Attempt::FoundComplete,
                Ok(false) => {}
                Err(e) => return refuse(e.to_string()),
            }
        }
    }
    // `until_executing` ends when the run starts; `until_executed` guards every attempt until
    // the task has run.
    let schedule_guard = match task.run_lock().and_then(|l| l.unique) {
        Some((UniquePhase::UntilExecuted, _)) => schedule_guard.as_ref(),
        _ => {
            *schedule_guard = None;
            None
        }
    };
    // The output commit is fenced by the strictest lock held: the run lock, a unique job's
    // scheduling lock, else the claim.
    let guard = run_guard.as_ref().or(schedule_guard).or(claim.as_ref());

    let inbox = if task.accepts_messages() {
        let mailboxes = env
            .opts
            .mailboxes
            .clone()
            .unwrap_or_else(|| Mailboxes::local(&Workspace::state_dir_for(env.ws.root())));
        match mailboxes.open(id, family) {
            Ok(inbox) => {
                tracing::info!("{} accepts messages: `message {id} <text>`", task.display());
                Some(inbox)
            }
            Err(e) => return refuse(format!("cannot open its inbox: {e}")),
        }
    } else {
        None
    };
    crate::failpoint::hit("run-start");
    if env.opts.shutdown.is_stopping() {
        return Attempt::NotRun("interrupted before it started".into());
    }
    env.events.emit(
        Event::new(EventKind::Started)
            .task(id, family)
            .params(task.params_json())
            .worker(worker)
            .with("attempt", attempt),
    );
    let ctx = RunContext {
        workspace: env.ws,
        task_id: id.clone(),
        family,
        attempt,
        worker: worker.to_string(),
        events: env.events,
        cancelled,
        locks: env.locks,
        run_guard: guard,
        resources,
        inbox: inbox.as_ref(),
        already_committed: AtomicBool::new(false),
    };
    let running = crate::task::current::Running::start(id, family, worker, env.events);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| task.execute(&ctx)))
        .unwrap_or_else(|panic| Err(Error::msg(format!("panicked: {}", panic_message(&*panic)))));
    drop(running);
    // Why a cancelled task failed: its timeout or a shutdown, not the error it returned.
    let interrupted = env.opts.shutdown.is_cancelling();
    let corrupt_input = match &result {
        Err(e) => e.corrupt_output_of().map(str::to_string),
        Ok(()) => None,
    };
    let result = result.map_err(|e| {
        if stop.timed_out.load(Ordering::SeqCst) {
            let t = crate::param::Duration(stop.timeout.unwrap_or_default());
            format!("timed out after {t} (the task was cancelled)")
        } else if interrupted {
            format!("interrupted: {e}")
        } else {
            e.to_string()
        }
    });
    let lost_race = ctx.already_committed.load(Ordering::SeqCst);
    let mut event = match &result {
        Ok(()) if lost_race => Event::new(EventKind::AlreadyCommitted).with(
            "output",
            task.output_key().ok().flatten().unwrap_or_default(),
        ),
        Ok(()) => Event::new(EventKind::Succeeded),
        Err(e) => Event::new(EventKind::Failed).with("error", e.as_str()),
    };
    event = event
        .task(id, family)
        .params(task.params_json())
        .worker(worker)
        .with("attempt", attempt);
    if let Some(g) = guard {
        event = event.with("fence", g.fence());
    }
    if let Some(upstream) = corrupt_input {
        event = event.with("corrupt_input", upstream);
    }
    env.events.emit(event);
    match result {
        Ok(()) if lost_race => Attempt::AlreadyCommitted,
        Ok(()) => Attempt::Ran,
        Err(e) if interrupted && !stop.timed_out.load(Ordering::SeqCst) => Attempt::Interrupted(e),
        Err(e) => Attempt::Failed(e),
    }
}

/// Takes the claim on task `id`, or finds who holds it. A claim given up between the try and
/// the look is tried again: at once, then (when several workers pass it around quickly, each
/// finding the task just done) after a millisecond, so the holder can still be named.
pub(super) fn take_claim(
    claims: &crate::lock::Locks,
    id: &TaskId,
    family: &'static str,
    ttl: std::time::Duration,
    cancel_on_loss: Option<&std::sync::Arc<AtomicBool>>,
) -> Result<std::result::Result<crate::lock::LockGuard, Claimed>> {
    let key = crate::keys::claim(id);
    let mut tries = 0;
    loop {
        tries += 1;
        let mut builder = claims.lock(key.clone()).ttl(ttl).for_task(id, family);
        if let Some(flag) = cancel_on_loss {
            builder = builder.cancel_on_loss(flag.clone());
        }
        if let Some(guard) = builder.try_acquire()? {
            return Ok(Ok(guard));
        }
        let info = holder_of_claim(claims, &key);
        if info.is_some() || tries == 50 {
            return Ok(Err(Claimed { key, info }));
        }
        if tries >= 3 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }
}

/// Who holds the claim `key`, if anyone: a holder caught between taking a file lock and
/// writing its record is read again a few times, so the events can name it.
fn holder_of_claim(claims: &crate::lock::Locks, key: &str) -> Option<crate::lock::LockInfo> {
    let mut info = None;
    for _ in 0..50 {
        info = claims.backend().info(key).ok().flatten();
        match &info {
            Some(i) if i.holder.is_none() => {
                std::thread::sleep(std::time::Duration::from_millis(2))
            }
            _ => break,
        }
    }
    info
}

/// The note a worker leaves when it gives a claimed task up as failed: `<fence>|<holder>|<error>`.
pub(super) fn failure_note(fence: u64, error: &str) -> String {
    let me = crate::lock::Holder::this_process(None);
    format!("{fence}|{}:{}|{error}", me.host, me.pid)
}

/// The error of a failure note left by the claim with fence `fence`, if it is that one's:
/// an older note is from an earlier run and says nothing about this one.
fn failure_after(note: &str, fence: u64) -> Option<String> {
    let mut parts = note.splitn(3, '|');
    let noted: u64 = parts.next()?.parse().ok()?;
    let holder = parts.next()?;
    let error = parts.next()?;
    (noted == fence).then(|| format!("failed in another process ({holder}): {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_awaited_claims_failure_note_counts() {
        let note = failure_note(7, "disk full | really");
        let error = failure_after(&note, 7).unwrap();
        assert!(error.starts_with("failed in another process ("), "{error}");
        assert!(error.ends_with("): disk full | really"), "{error}");
        assert_eq!(failure_after(&note, 8), None);
        assert_eq!(failure_after("garbage", 7), None);
    }
}
