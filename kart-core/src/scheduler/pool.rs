//! The worker pool: threads take ready tasks (or batches) with their resources, run one
//! attempt each, and settle it; a monitor enforces timeouts and cancellation.

use std::cmp::Reverse;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use super::attempt::{attempt_task, take_claim};
use super::batch::{announce_batch, form_batch, settle_batch, Batch};
use super::graph::{skip_dependents, State};
use super::options::RunOptions;
use super::shared::{
    failed_event, panic_message, Attempt, Claimed, Env, Holdings, Resources, Shared, Stop, Watched,
    TICK,
};
use crate::event::{Event, EventKind};
use crate::lock::Locks;
use crate::resource::HeldResources;
use crate::task::{AnyTask, TaskId};
use crate::Error;

/// Wakes the other workers when one ends, even by a panic, so they look again at once.
pub(super) struct WorkerExit<'a>(pub(super) &'a Condvar);

impl Drop for WorkerExit<'_> {
    fn drop(&mut self) {
        self.0.notify_all();
    }
}

/// Cancels running tasks past their timeout, and all of them when the run is cancelled.
pub(super) fn monitor(shared: &Mutex<Shared>, watchers: &Condvar, opts: &RunOptions) {
    loop {
        // On a condvar rather than asleep: the end of the run wakes it at once. A run
        // that ended before the monitor first waited sent its wake-up already: looked at
        // first, so the monitor never waits for a timeout (which a clock set off by hours, as
        // under libfaketime, can stretch to hours).
        let g = shared.lock().unwrap_or_else(|p| p.into_inner());
        if g.done {
            return;
        }
        let (g, _) = watchers
            .wait_timeout(g, TICK)
            .unwrap_or_else(|p| p.into_inner());
        if g.done {
            return;
        }
        let now = Instant::now();
        let cancelling = opts.shutdown.is_cancelling();
        for w in g.watched.values() {
            if w.deadline.is_some_and(|d| now >= d) && !w.timed_out.swap(true, Ordering::SeqCst) {
                w.cancel.store(true, Ordering::SeqCst);
            }
            if cancelling {
                w.cancel.store(true, Ordering::SeqCst);
            }
        }
    }
}

/// Takes the first ready task (or batch) whose resources can be had now, with them; tasks
/// whose resources are busy wait aside (one `resource_wait` event each) until units come back.
/// A batch takes only its running representative's resources.
pub(super) fn take_ready(
    g: &mut Shared,
    worker: &str,
    env: &Env<'_>,
) -> Option<(usize, Resources, Option<Batch>)> {
    while let Some(i) = g.ready.pop_front() {
        let batch = match form_batch(g, i) {
            Ok(batch) => batch,
            Err((members, error)) => {
                for m in members {
                    g.nodes[m].attempts += 1;
                    let node = &g.nodes[m];
                    let (task, id, attempt) = (node.task.clone(), node.id.clone(), node.attempts);
                    env.events
                        .emit(failed_event(&task, &id, worker, attempt, &error));
                    settle(
                        g,
                        m,
                        &task,
                        &id,
                        attempt,
                        Attempt::Failed(error.clone()),
                        worker,
                        env,
                    );
                }
                continue;
            }
        };
        // A batch's members all need the same resources (see `form_batch`): it holds them.
        let needs = g.nodes[i].task.resources();
        if needs.is_empty() {
            return Some((i, Ok(None), batch));
        }
        let node = &g.nodes[i];
        let acquired = match env.locks {
            Some(locks) => HeldResources::try_acquire(
                locks,
                &env.opts.resource_limits,
                &needs,
                (&node.id, node.task.family()),
            ),
            None => Err(Error::Lock {
                backend: "none".into(),
                message: format!(
                    "{} needs resources but the run has no lock backend",
                    node.id
                ),
            }),
        };
        match acquired {
            Ok(Some(held)) => {
                g.announced.remove(&i);
                return Some((i, Ok(Some(held)), batch));
            }
            Ok(None) => {
                // The others may run (or batch) without this one meanwhile.
                for &m in batch.iter().flat_map(|b| b.members[1..].iter()).rev() {
                    g.ready.push_front(m);
                }
                if g.announced.insert(i) {
                    let names: Vec<&str> = needs.iter().map(|(n, _)| n.as_str()).collect();
                    env.events.emit(
                        Event::new(EventKind::ResourceWait)
                            .task(&node.id, node.task.family())
                            .with("resources", names.join(",")),
                    );
                }
                g.resource_waiting.push(i);
            }
            // The backend failed: the attempt fails with it (and is retried as usual).
            Err(e) => return Some((i, Err(e.to_string()), batch)),
        }
    }
    None
}

pub(super) fn worker_loop(name: &str, shared: &Mutex<Shared>, wake: &Condvar, env: &Env<'_>) {
    loop {
        let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
        let i = loop {
            if env.opts.shutdown.is_stopping() {
                // Start nothing new; running tasks finish on their workers.
                return;
            }
            if let Some(taken) = take_ready(&mut g, name, env) {
                break taken;
            }
            let now = Instant::now();
            if let Some(&Reverse((due, i))) = g.retries.peek() {
                if due <= now {
                    g.retries.pop();
                    g.push_ready(i);
                    continue;
                }
            }
            if g.running == 0
                && g.retries.is_empty()
                && g.resource_waiting.is_empty()
                && g.parked.is_empty()
            {
                // Nothing runs and nothing is queued: no task can become ready any more.
                wake.notify_all();
                return;
            }
            // Timed waits, so a shutdown is noticed without anyone notifying.
            let wait = g
                .retries
                .peek()
                .map_or(TICK * 4, |&Reverse((due, _))| (due - now).min(TICK * 4));
            g = wake
                .wait_timeout(g, wait)
                .unwrap_or_else(|p| p.into_inner())
                .0;
            // Units may have been given back by another process: look again.
            let waiting = std::mem::take(&mut g.resource_waiting);
            for w in waiting {
                g.push_ready(w);
            }
            if !g.watcher && !g.parked.is_empty() {
                let parked: Vec<usize> = g.parked.drain().map(|(_, i)| i).collect();
                for i in parked {
                    g.nodes[i].state = State::Pending;
                    g.push_ready(i);
                }
                g.to_watch.clear();
            }
        };
        let (i, held, batch) = i;
        if let Some(b) = &batch {
            if !claim_members(&mut g, b, name, env) {
                // Some member runs elsewhere: the others go back, claims kept, to batch anew.
                drop(held);
                for &m in b.members.iter().rev() {
                    if g.nodes[m].state == State::Pending {
                        g.ready.push_front(m);
                    }
                }
                continue;
            }
        }
        g.running += 1;
        let members = batch
            .as_ref()
            .map_or_else(|| vec![i], |b| b.members.clone());
        for &m in &members {
            g.nodes[m].state = State::Running;
            g.nodes[m].attempts += 1;
        }
        let node = &mut g.nodes[i];
        let (task, id, attempt) = match &batch {
            Some(b) => (b.task.clone(), b.task.id(), node.attempts),
            None => (node.task.clone(), node.id.clone(), node.attempts),
        };
        let mut schedule_guard = node.schedule_guard.take();
        let mut claim = node.claim.take();
        let waited_for = node.waited_for;
        if batch.is_some() {
            announce_batch(&g.nodes, &members, &task, &id, name, env.events);
        }
        let timeout = task.timeout().or(env.opts.task_timeout);
        let watched = Watched {
            cancel: Arc::new(AtomicBool::new(false)),
            timed_out: Arc::new(AtomicBool::new(false)),
            deadline: timeout.map(|t| Instant::now() + t),
        };
        let (cancel, timed_out) = (watched.cancel.clone(), watched.timed_out.clone());
        g.watched.insert(i, watched);
        drop(g);

        let stop = Stop {
            cancel,
            timed_out,
            timeout,
        };
        // Whatever panics out here (the task's own panics are caught closer) fails this
        // attempt: the worker must come back to settle it, or the others would wait forever.
        let outcomes = std::panic::catch_unwind(AssertUnwindSafe(|| {
            let outcome = match held {
                Ok(held) => {
                    let held = held.map(Mutex::new);
                    attempt_task(
                        name,
                        &task,
                        &id,
                        attempt,
                        Holdings {
                            schedule_guard: &mut schedule_guard,
                            stop: &stop,
                            resources: held.as_ref(),
                            claim: &mut claim,
                            claimable: batch.is_none(),
                            waited_for,
                        },
                        env,
                    )
                }
                Err(error) => {
                    let error = format!("cannot take resources: {error}");
                    env.events
                        .emit(failed_event(&task, &id, name, attempt, &error));
                    Attempt::Failed(error)
                }
            };
            // A batch's outputs: each member gets the representative's output.
            match &batch {
                Some(b) => settle_batch(b, outcome, name, attempt, env),
                None => vec![(i, outcome)],
            }
        }))
        .unwrap_or_else(|panic| {
            let error = format!("kart panicked running it: {}", panic_message(&*panic));
            env.events
                .emit(failed_event(&task, &id, name, attempt, &error));
            members
                .iter()
                .map(|&m| (m, Attempt::Failed(error.clone())))
                .collect()
        });
        let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
        g.running -= 1;
        // Units came back: tasks waiting for them may start.
        let waiting = std::mem::take(&mut g.resource_waiting);
        for w in waiting {
            g.push_ready(w);
        }
        g.watched.remove(&i);
        // Kept for a retry; `settle` lets it go once the task is done with.
        g.nodes[i].schedule_guard = schedule_guard;
        if claim.is_some() {
            g.nodes[i].claim = claim;
        }
        for (m, outcome) in outcomes {
            let node = &mut g.nodes[m];
            let (task, member_id, attempt) = (node.task.clone(), node.id.clone(), node.attempts);
            node.batched_into = batch.is_some().then(|| id.clone());
            settle(&mut g, m, &task, &member_id, attempt, outcome, name, env);
        }
        drop(g);
        wake.notify_all();
    }
}

/// Records how an attempt at node `i` ended: done (its dependents may become ready), retried,
/// or failed/missing/locked out (its dependents skipped).
#[allow(clippy::too_many_arguments)]
pub(super) fn settle(
    g: &mut Shared,
    i: usize,
    task: &AnyTask,
    id: &TaskId,
    attempt: u32,
    outcome: Attempt,
    name: &str,
    env: &Env<'_>,
) {
    let events = env.events;
    let outcome = match outcome {
        Attempt::Failed(error) => disable_if_due(task, id, error, name, env),
        other => other,
    };
    let succeeded = match outcome {
        Attempt::Disabled(error) => {
            g.nodes[i].state = State::Failed(error);
            skip_dependents(&mut g.nodes, i, name, events);
            false
        }
        Attempt::ClaimedElsewhere(claimed) => {
            park(g, i, task, id, *claimed, name, env);
            g.nodes[i].attempts -= 1;
            return;
        }
        Attempt::FailedElsewhere(error) => {
            g.nodes[i].state = State::Failed(error);
            skip_dependents(&mut g.nodes, i, name, events);
            false
        }
        Attempt::Ran => {
            g.nodes[i].state = State::Done;
            true
        }
        Attempt::FoundComplete => {
            events.emit(
                Event::new(EventKind::AlreadyComplete)
                    .task(id, task.family())
                    .params(task.params_json())
                    .worker(name)
                    .with("reason", "completed by another worker"),
            );
            g.nodes[i].state = State::CompletedElsewhere;
            true
        }
        Attempt::AlreadyCommitted => {
            g.nodes[i].state = State::CompletedElsewhere;
            true
        }
        Attempt::NotRun(reason) => {
            events.emit(
                Event::new(EventKind::Skipped)
                    .task(id, task.family())
                    .params(task.params_json())
                    .worker(name)
                    .with("reason", reason.as_str()),
            );
            g.nodes[i].state = State::Skipped(reason);
            skip_dependents(&mut g.nodes, i, name, events);
            false
        }
        Attempt::TryLater { error, counts } if !counts || attempt <= env.opts.retry_count => {
            if !counts {
                g.nodes[i].attempts -= 1;
            }
            schedule_retry(g, i, id, task.family(), name, attempt, &error, env);
            false
        }
        // Missing external data may land before the next look.
        Attempt::TryLater { error, .. } | Attempt::Failed(error) | Attempt::Missing(error)
            if attempt <= env.opts.retry_count && !env.opts.shutdown.is_stopping() =>
        {
            schedule_retry(g, i, id, task.family(), name, attempt, &error, env);
            false
        }
        Attempt::Missing(reason) => {
            g.nodes[i].state = State::Missing(reason);
            skip_dependents(&mut g.nodes, i, name, events);
            false
        }
        Attempt::Interrupted(error) => {
            g.nodes[i].state = State::Failed(error);
            skip_dependents(&mut g.nodes, i, name, events);
            false
        }
        Attempt::TryLater { error, .. } => {
            events.emit(
                failed_event(task, id, name, attempt, &format!("never ran: {error}"))
                    .with("locked_elsewhere", true),
            );
            g.nodes[i].state = State::LockedOut(error);
            skip_dependents(&mut g.nodes, i, name, events);
            false
        }
        Attempt::Failed(error) => {
            g.nodes[i].state = State::Failed(error);
            skip_dependents(&mut g.nodes, i, name, events);
            false
        }
    };
    if g.nodes[i].state != State::RetryWaiting {
        // A unique job's lock lives until the task is done with (succeeded or given up).
        g.nodes[i].schedule_guard = None;
        give_up_claim(g, i, env);
    }
    if succeeded {
        for k in 0..g.nodes[i].dependents.len() {
            let d = g.nodes[i].dependents[k];
            g.nodes[d].remaining -= 1;
            if g.nodes[d].remaining == 0 && g.nodes[d].state == State::Pending {
                g.push_ready(d);
            }
        }
    }
}

/// A failed attempt counts towards disabling the task; the attempt that disables it says so
/// (a `disabled` event) and ends the task's retries.
fn disable_if_due(
    task: &AnyTask,
    id: &TaskId,
    error: String,
    worker: &str,
    env: &Env<'_>,
) -> Attempt {
    let (Some(locks), true) = (env.locks, env.opts.disable.active()) else {
        return Attempt::Failed(error);
    };
    match super::disable::record_failure(locks, id, &env.opts.disable) {
        Ok(Some(why)) => {
            env.events.emit(
                Event::new(EventKind::Disabled)
                    .task(id, task.family())
                    .params(task.params_json())
                    .worker(worker)
                    .with("reason", why.as_str()),
            );
            Attempt::Disabled(format!("{error} ({why})"))
        }
        Ok(None) => Attempt::Failed(error),
        Err(e) => {
            tracing::warn!("cannot record the failure of {id}: {e}");
            Attempt::Failed(error)
        }
    }
}

/// Sets a task claimed elsewhere aside until the claim is given up (the watcher then makes
/// it ready again); the first time, says so with a `claimed_elsewhere` event.
fn park(
    g: &mut Shared,
    i: usize,
    task: &AnyTask,
    id: &TaskId,
    claimed: Claimed,
    worker: &str,
    env: &Env<'_>,
) {
    let Claimed { key, info } = claimed;
    let holder = info.as_ref().and_then(|i| i.holder.as_ref());
    let who = holder.map_or_else(
        || "another worker".to_string(),
        |h| format!("{}:{}", h.host, h.pid),
    );
    if g.nodes[i].elsewhere.as_deref() != Some(who.as_str()) {
        let mut event = Event::new(EventKind::ClaimedElsewhere)
            .task(id, task.family())
            .params(task.params_json())
            .worker(worker)
            .with("key", key.as_str())
            .with("holder", who.as_str());
        if let Some(h) = holder {
            event = event.with("host", h.host.as_str()).with("pid", h.pid);
        }
        env.events.emit(event);
    }
    g.nodes[i].elsewhere = Some(who);
    g.nodes[i].waited_for = info.as_ref().and_then(|i| i.fence);
    g.nodes[i].state = State::ClaimedElsewhere;
    // A crashed holder never says it let go: look again when its lease would have ended.
    let expires = info.and_then(|i| i.ttl).map(|t| Instant::now() + t);
    g.to_watch.push((key.clone(), expires));
    g.parked.insert(key, i);
    env.watchers.notify_all();
}

/// Lets a task's claim go once the task is done with; a failure is noted first, so a process
/// waiting on the claim fails the task with this error instead of running it again.
fn give_up_claim(g: &mut Shared, i: usize, env: &Env<'_>) {
    let Some(claim) = g.nodes[i].claim.take() else {
        return;
    };
    let error = match &g.nodes[i].state {
        State::Failed(e) | State::LockedOut(e) => e.clone(),
        _ => return,
    };
    if let Some(claims) = env.claims {
        let note = super::attempt::failure_note(claim.fence(), &error);
        let key = crate::keys::failure(&g.nodes[i].id);
        // Kept well past any run that could be waiting on the claim.
        if let Err(e) = claims.backend().note(&key, &note, NOTE_TTL) {
            tracing::warn!("cannot note the failure of {}: {e}", g.nodes[i].id);
        }
    }
    drop(claim);
}

/// How long a failure note outlives the claim it was left under.
const NOTE_TTL: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Claims every member of a batch not claimed yet; a member claimed elsewhere is parked, and
/// one found complete settles. `false` when some member cannot run in this batch.
fn claim_members(g: &mut Shared, batch: &Batch, worker: &str, env: &Env<'_>) -> bool {
    let Some(claims) = env.claims else {
        return true;
    };
    let mut all = true;
    for (&m, task) in batch.members.iter().zip(&batch.tasks) {
        if g.nodes[m].claim.is_some() || task.run_lock().is_some() {
            continue;
        }
        let id = g.nodes[m].id.clone();
        let taken = take_claim(claims, &id, task.family(), env.opts.claim_ttl, None);
        let attempt = g.nodes[m].attempts;
        match taken {
            Ok(Ok(guard)) => {
                g.nodes[m].claim = Some(guard);
                if task.output_exists(env.ws).unwrap_or(false) {
                    settle(
                        g,
                        m,
                        task,
                        &id,
                        attempt,
                        Attempt::FoundComplete,
                        worker,
                        env,
                    );
                    all = false;
                }
            }
            Ok(Err(claimed)) => {
                park(g, m, task, &id, claimed, worker, env);
                all = false;
            }
            Err(e) => {
                g.nodes[m].attempts += 1;
                let error = e.to_string();
                env.events
                    .emit(failed_event(task, &id, worker, attempt + 1, &error));
                settle(
                    g,
                    m,
                    task,
                    &id,
                    attempt + 1,
                    Attempt::Failed(error),
                    worker,
                    env,
                );
                all = false;
            }
        }
    }
    all
}

/// Makes parked tasks ready again as their claims are given up elsewhere (waking the
/// workers), until the run ends; `watchers` tells it of new claims to watch.
pub(super) fn watch_claims(
    shared: &Mutex<Shared>,
    wake: &Condvar,
    watchers: &Condvar,
    claims: &Locks,
) {
    let mut watch = match claims.backend().watch() {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!(
                "cannot watch claims held elsewhere ({e}); waiting on them by their leases"
            );
            return;
        }
    };
    let mut watching = 0;
    loop {
        let added = {
            let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
            // Nothing to watch: wait to be told of a claim (or of the run's end) instead of
            // polling.
            while watching == 0 && g.to_watch.is_empty() && !g.done {
                g = watchers
                    .wait_timeout(g, TICK * 10)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            if g.done {
                return;
            }
            std::mem::take(&mut g.to_watch)
        };
        watching += added.len();
        for (key, expires) in added {
            watch.add(&key, expires);
        }
        let free = match watch.wait(Instant::now() + TICK * 10) {
            Ok(free) => free,
            Err(e) => {
                tracing::warn!("watching claims: {e}; looking at every claim again");
                let g = shared.lock().unwrap_or_else(|p| p.into_inner());
                g.parked.keys().cloned().collect()
            }
        };
        if free.is_empty() {
            continue;
        }
        watching = watching.saturating_sub(free.len());
        let mut g = shared.lock().unwrap_or_else(|p| p.into_inner());
        for key in free {
            if let Some(i) = g.parked.remove(&key) {
                g.nodes[i].state = State::Pending;
                g.push_ready(i);
            }
        }
        drop(g);
        wake.notify_all();
    }
}

/// The wait before the retry after failed attempt `attempt` (1 for the first): the delay grown
/// by the backoff factor once per earlier failure, capped at a day, plus up to the jitter.
fn retry_delay(opts: &RunOptions, attempt: u32) -> std::time::Duration {
    const CAP: std::time::Duration = std::time::Duration::from_secs(24 * 3600);
    let growth = opts
        .retry_backoff
        .powi(i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX));
    let base = CAP.min(opts.retry_delay.mul_f64(growth.min(CAP.as_secs_f64())));
    base + opts.retry_jitter.mul_f64(rand::random::<f64>())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn schedule_retry(
    g: &mut Shared,
    i: usize,
    id: &TaskId,
    family: &str,
    worker: &str,
    attempt: u32,
    error: &str,
    env: &Env<'_>,
) {
    let delay = retry_delay(env.opts, attempt);
    env.events.emit(
        Event::new(EventKind::Retried)
            .task(id, family)
            .worker(worker)
            .with("attempt", attempt + 1)
            .with("delay_secs", delay.as_secs_f64())
            .with("error", error),
    );
    g.nodes[i].state = State::RetryWaiting;
    g.retries.push(Reverse((Instant::now() + delay, i)));
}

#[cfg(test)]
mod tests {
    use crate::scheduler::{build, RunOptions};
    use crate::summary::TaskOutcome;
    use crate::task::fake::{fake, Plan};
    use crate::workspace::Workspace;

    fn run(plan: &std::sync::Arc<Plan>, root: &'static str, workers: usize) -> crate::RunReport {
        let dir = tempfile::tempdir().unwrap();
        let ws = Workspace::local(dir.path()).unwrap();
        let opts = RunOptions {
            workers,
            ..RunOptions::default()
        };
        build(vec![fake(plan, root)], &ws, &opts).unwrap()
    }

    fn position(ran: &[&str], name: &str) -> usize {
        ran.iter().position(|r| *r == name).unwrap()
    }

    #[test]
    fn every_task_runs_once_after_its_requirements_whatever_the_workers() {
        for workers in [1, 2, 4, 8] {
            let plan = Plan::new(&[
                ("top", &["l", "r"]),
                ("l", &["base", "x"]),
                ("r", &["base", "y"]),
            ])
            .build();
            let report = run(&plan, "top", workers);
            assert!(report.success());
            let ran = plan.ran();
            let mut sorted = ran.clone();
            sorted.sort();
            assert_eq!(
                sorted,
                ["base", "l", "r", "top", "x", "y"],
                "{workers} workers"
            );
            assert!(position(&ran, "base") < position(&ran, "l"));
            assert!(position(&ran, "y") < position(&ran, "r"));
            assert_eq!(position(&ran, "top"), 5);
        }
    }

    #[test]
    fn a_failure_skips_its_dependents_and_the_rest_still_runs() {
        let plan = Plan::new(&[("top", &["bad", "good"]), ("bad", &["base"])])
            .failing(&["bad"])
            .build();
        let report = run(&plan, "top", 2);
        assert!(!report.success());
        let mut ran = plan.ran();
        ran.sort();
        assert_eq!(ran, ["bad", "base", "good"]);
        let skipped = report.count(|o| matches!(o, TaskOutcome::Skipped(_)));
        let failed = report.count(|o| matches!(o, TaskOutcome::Failed(_)));
        assert_eq!((failed, skipped), (1, 1));
    }

    #[test]
    fn tasks_found_complete_do_not_run() {
        let plan = Plan::new(&[("top", &["a", "b"])]).done(&["a"]).build();
        let report = run(&plan, "top", 2);
        assert!(report.success());
        let mut ran = plan.ran();
        ran.sort();
        assert_eq!(ran, ["b", "top"]);
    }

    #[test]
    fn ready_tasks_run_highest_priority_first() {
        // Luigi's scheduler_test: C=15, A=10, E=1, B=0, D=-20 → C A E B D with one worker.
        let plan = Plan::new(&[("all", &["a", "b", "c", "d", "e"])])
            .wrappers(&["all"])
            .priorities(&[("a", 10), ("b", 0), ("c", 15), ("d", -20), ("e", 1)])
            .build();
        assert!(run(&plan, "all", 1).success());
        assert_eq!(plan.ran(), ["c", "a", "e", "b", "d", "all"]);
    }

    #[test]
    fn a_task_is_as_urgent_as_the_most_urgent_task_needing_it() {
        // C(10) needs B(5) needs A(1), and D(6): A inherits 10 from C through B → A B C D.
        let plan = Plan::new(&[("all", &["c", "d"]), ("c", &["b"]), ("b", &["a"])])
            .wrappers(&["all"])
            .priorities(&[("a", 1), ("b", 5), ("c", 10), ("d", 6)])
            .build();
        assert!(run(&plan, "all", 1).success());
        assert_eq!(plan.ran(), ["a", "b", "c", "d", "all"]);
    }
}
