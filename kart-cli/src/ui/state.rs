//! What the shared events say, folded: the runs (one per process), the tasks and their
//! states, the families' counts, and the workers alive from their heartbeats.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use serde_json::Value;

/// Events kept per task for its page (a hundred thousand tasks keep a few each).
const TASK_EVENTS: usize = 20;
/// Lines a task logged, kept for its page.
const TASK_LOG: usize = 200;

/// Where a task stands, from the last event about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TaskState {
    Pending,
    Running,
    Complete,
    Failed,
    NotRun,
}

impl TaskState {
    pub(crate) const ALL: [TaskState; 5] = [
        TaskState::Complete,
        TaskState::Running,
        TaskState::Pending,
        TaskState::Failed,
        TaskState::NotRun,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Complete => "complete",
            TaskState::Failed => "failed",
            TaskState::NotRun => "not run",
        }
    }

    /// Its CSS class.
    pub(crate) fn class(self) -> &'static str {
        match self {
            TaskState::NotRun => "notrun",
            other => other.name(),
        }
    }

    /// The state an event leaves its task in, if it changes it.
    fn after(event: &str) -> Option<Self> {
        Some(match event {
            "scheduled" => TaskState::Pending,
            "started" | "batch_running" => TaskState::Running,
            "already_complete" | "succeeded" | "already_committed" => TaskState::Complete,
            "failed" | "missing_data" => TaskState::Failed,
            "skipped" => TaskState::NotRun,
            _ => return None,
        })
    }
}

/// Counts of tasks per state.
#[derive(Debug, Clone, Default)]
pub(crate) struct Counts(BTreeMap<TaskState, usize>);

impl Counts {
    pub(crate) fn get(&self, state: TaskState) -> usize {
        self.0.get(&state).copied().unwrap_or(0)
    }
    fn add(&mut self, state: TaskState) {
        *self.0.entry(state).or_default() += 1;
    }
    pub(crate) fn total(&self) -> usize {
        self.0.values().sum()
    }
}

/// One process's run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Run {
    pub(crate) id: String,
    pub(crate) root: String,
    pub(crate) host: String,
    pub(crate) pid: u64,
    pub(crate) workers: u64,
    pub(crate) started: String,
    /// `(when, success, seconds)` once it ended.
    pub(crate) finished: Option<(String, bool, f64)>,
    /// The time of its last event.
    pub(crate) last_seen: String,
    /// What its last heartbeat said it runs.
    pub(crate) running: Vec<Value>,
    /// What its last heartbeat said it holds (nothing once it ended).
    pub(crate) holds: Holdings,
    /// How often it said it sends a heartbeat, in milliseconds.
    pub(crate) heartbeat_ms: u64,
    /// Its graph at family level, once built.
    pub(crate) graph: Option<FamilyGraph>,
    /// Its number in [`State::run_numbers`], which tasks name it by.
    pub(crate) number: u32,
    /// Tasks that started, succeeded and failed in it.
    pub(crate) started_tasks: usize,
    pub(crate) succeeded: usize,
    pub(crate) failed: usize,
}

/// What a process holds, from its heartbeat.
#[derive(Debug, Clone, Default)]
pub(crate) struct Holdings {
    /// Plain locks, `(key, task)`, and how many more it did not name.
    pub(crate) locks: Vec<(String, String)>,
    pub(crate) locks_more: u64,
    /// How many tasks it has claimed.
    pub(crate) claims: u64,
    /// Per resource, `(name, units held, limit)`.
    pub(crate) resources: Vec<(String, u64, u64)>,
}

impl Holdings {
    fn from_heartbeat(e: &Value) -> Self {
        Holdings {
            locks: list(e, "locks")
                .iter()
                .map(|l| (text(&l["key"]), text(&l["task_id"])))
                .collect(),
            locks_more: e["locks_more"].as_u64().unwrap_or(0),
            claims: e["claims"].as_u64().unwrap_or(0),
            resources: list(e, "resources")
                .iter()
                .map(|r| {
                    let n = |k: &str| r[k].as_u64().unwrap_or(0);
                    (text(&r["name"]), n("held"), n("limit"))
                })
                .collect(),
        }
    }
}

/// A run's graph at family level, from its `run_graph` event.
#[derive(Debug, Clone, Default)]
pub(crate) struct FamilyGraph {
    /// `(family, instances)`, by name.
    pub(crate) families: Vec<(String, u64)>,
    /// `(family, family it requires)`.
    pub(crate) edges: Vec<(String, String)>,
}

impl FamilyGraph {
    fn from_event(e: &Value) -> Self {
        FamilyGraph {
            families: list(e, "families")
                .iter()
                .map(|f| (text(&f["family"]), f["instances"].as_u64().unwrap_or(0)))
                .collect(),
            edges: list(e, "edges")
                .iter()
                .map(|f| (text(&f["family"]), text(&f["requires"])))
                .collect(),
        }
    }
}

/// One task, from every run that saw it.
#[derive(Debug, Clone)]
pub(crate) struct Task {
    pub(crate) id: String,
    pub(crate) family: String,
    pub(crate) params: Value,
    pub(crate) state: TaskState,
    pub(crate) attempts: u64,
    pub(crate) error: Option<String>,
    /// The run and worker that last ran it.
    pub(crate) worker: Option<(String, String)>,
    pub(crate) events: VecDeque<Value>,
    /// What it logged: `(time, level, message)`, the last [`TASK_LOG`] lines.
    pub(crate) log: VecDeque<(String, String, String)>,
    /// The runs whose events named it, by [`Run::number`]: the runs whose graphs hold it.
    pub(crate) runs: Vec<u32>,
}

/// What the last range over a family decided: its grid, the span it checked, the gaps.
#[derive(Debug, Clone, Default)]
pub(crate) struct RangeView {
    /// The family's parameter the range steps.
    pub(crate) param: String,
    /// `day`, `hour`, `month` or `instance`.
    pub(crate) unit: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) missing: BTreeSet<String>,
}

/// Everything read so far.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) runs: BTreeMap<String, Run>,
    pub(crate) tasks: HashMap<String, Task>,
    /// The last range decision over each family, by the family's name.
    pub(crate) ranges: BTreeMap<String, RangeView>,
    pub(crate) events: usize,
    /// Each run's number, by id, in the order they were first heard of.
    run_numbers: HashMap<String, u32>,
}

/// The array at `key` of an event, empty when it has none.
fn list<'a>(e: &'a Value, key: &str) -> &'a [Value] {
    e[key].as_array().map_or(&[], Vec::as_slice)
}

fn text(v: &Value) -> String {
    v.as_str().map(str::to_string).unwrap_or_default()
}

impl State {
    /// Takes in one shared event.
    pub(crate) fn apply(&mut self, e: &Value) {
        self.events += 1;
        let kind = e["event"].as_str().unwrap_or("");
        let ts = text(&e["ts"]);
        let mut run_number = None;
        if let Some(run_id) = e["run"].as_str() {
            let next = self.run_numbers.len() as u32;
            let number = *self.run_numbers.entry(run_id.to_string()).or_insert(next);
            run_number = Some(number);
            let run = self.runs.entry(run_id.to_string()).or_insert_with(|| Run {
                id: run_id.to_string(),
                started: ts.clone(),
                number,
                ..Run::default()
            });
            run.last_seen = ts.clone();
            match kind {
                "run_started" => {
                    run.root = text(&e["root"]);
                    run.host = text(&e["host"]);
                    run.pid = e["pid"].as_u64().unwrap_or(0);
                    run.workers = e["workers"].as_u64().unwrap_or(0);
                    run.started = ts.clone();
                }
                "run_finished" => {
                    run.finished = Some((
                        ts.clone(),
                        e["success"].as_bool().unwrap_or(false),
                        e["seconds"].as_f64().unwrap_or(0.0),
                    ));
                    run.running.clear();
                    run.holds = Holdings::default();
                }
                "heartbeat" => {
                    run.host = text(&e["host"]);
                    run.running = e["running"].as_array().cloned().unwrap_or_default();
                    run.heartbeat_ms = e["every_ms"].as_u64().unwrap_or(0);
                    run.holds = Holdings::from_heartbeat(e);
                }
                "run_graph" => run.graph = Some(FamilyGraph::from_event(e)),
                "started" => run.started_tasks += 1,
                "succeeded" => run.succeeded += 1,
                "failed" => run.failed += 1,
                _ => {}
            }
        }
        if kind == "range_checked" {
            if let (Some(of), Some(from), Some(to)) = (
                e["of"].as_str(),
                e["checked_from"].as_str(),
                e["checked_to"].as_str(),
            ) {
                let missing = e["missing_at"].as_array().into_iter().flatten();
                self.ranges.insert(
                    of.to_string(),
                    RangeView {
                        param: text(&e["param"]),
                        unit: text(&e["unit"]),
                        from: from.to_string(),
                        to: to.to_string(),
                        missing: missing.map(text).collect(),
                    },
                );
            }
        }
        let Some(id) = e["task_id"].as_str() else {
            return;
        };
        let task = self.tasks.entry(id.to_string()).or_insert_with(|| Task {
            id: id.to_string(),
            family: text(&e["family"]),
            params: e["params"].clone(),
            state: TaskState::Pending,
            attempts: 0,
            error: None,
            worker: None,
            events: VecDeque::new(),
            log: VecDeque::new(),
            runs: Vec::new(),
        });
        if let Some(n) = run_number.filter(|n| !task.runs.contains(n)) {
            task.runs.push(n);
        }
        if kind == "log" {
            if task.log.len() == TASK_LOG {
                task.log.pop_front();
            }
            task.log
                .push_back((ts, text(&e["level"]), text(&e["message"])));
            return;
        }
        if let Some(next) = TaskState::after(kind) {
            // What another run already found complete stays complete: a later run only
            // schedules it again if its output went away, which `scheduled` then says.
            if !(task.state == TaskState::Complete && next == TaskState::NotRun) {
                task.state = next;
            }
        }
        match kind {
            "started" => {
                task.attempts += 1;
                task.worker = Some((text(&e["run"]), text(&e["worker"])));
            }
            "failed" => task.error = e["error"].as_str().map(str::to_string),
            "succeeded" | "already_complete" | "already_committed" => task.error = None,
            _ => {}
        }
        if task.events.len() == TASK_EVENTS {
            task.events.pop_front();
        }
        task.events.push_back(e.clone());
    }

    /// Counts per family, by family name (with the families ranges checked).
    pub(crate) fn families(&self) -> BTreeMap<&str, Counts> {
        let mut out: BTreeMap<&str, Counts> = BTreeMap::new();
        for task in self.tasks.values() {
            out.entry(task.family.as_str()).or_default().add(task.state);
        }
        // A family a range looked at, though none of its tasks ran yet.
        for family in self.ranges.keys() {
            out.entry(family.as_str()).or_default();
        }
        out
    }

    /// Counts per family of the tasks in `run`'s graph, by family name.
    pub(crate) fn run_families(&self, run: &Run) -> HashMap<&str, Counts> {
        let mut out: HashMap<&str, Counts> = HashMap::new();
        for task in self.tasks.values().filter(|t| t.runs.contains(&run.number)) {
            out.entry(task.family.as_str()).or_default().add(task.state);
        }
        out
    }

    /// The tasks of `family`: failed first, then running, pending, not run and complete,
    /// each by id.
    pub(crate) fn family(&self, family: &str) -> Vec<&Task> {
        by_attention(self.tasks_of(family).collect())
    }

    /// The tasks of `family`, in no order.
    pub(crate) fn tasks_of<'a, 'f>(
        &'a self,
        family: &'f str,
    ) -> impl Iterator<Item = &'a Task> + use<'a, 'f> {
        self.tasks.values().filter(move |t| t.family == family)
    }

    /// The tasks `run` ran, in the same order.
    pub(crate) fn ran_in(&self, run: &str) -> Vec<&Task> {
        by_attention(
            self.tasks
                .values()
                .filter(|t| t.worker.as_ref().is_some_and(|(r, _)| r == run))
                .collect(),
        )
    }

    /// Whether `run` still goes: not finished, and heard from within `silence` of `now`, or
    /// four of its heartbeats if they are further apart.
    pub(crate) fn alive(
        run: &Run,
        now: chrono::DateTime<chrono::Utc>,
        silence: chrono::Duration,
    ) -> bool {
        let beats = i64::try_from(run.heartbeat_ms.saturating_mul(4)).unwrap_or(i64::MAX);
        let silence = silence.max(chrono::Duration::milliseconds(beats));
        run.finished.is_none()
            && chrono::DateTime::parse_from_rfc3339(&run.last_seen)
                .is_ok_and(|seen| now.signed_duration_since(seen) <= silence)
    }
}

/// Failed first, then running, pending, not run and complete, each by id.
fn by_attention(mut tasks: Vec<&Task>) -> Vec<&Task> {
    let rank = |s: TaskState| match s {
        TaskState::Failed => 0,
        TaskState::Running => 1,
        TaskState::Pending => 2,
        TaskState::NotRun => 3,
        TaskState::Complete => 4,
    };
    tasks.sort_by(|a, b| (rank(a.state), &a.id).cmp(&(rank(b.state), &b.id)));
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_task_goes_from_scheduled_to_running_to_complete_and_its_family_counts_it() {
        let mut s = State::default();
        for (event, extra) in [
            ("scheduled", json!({})),
            ("started", json!({"worker": "worker-1"})),
            ("failed", json!({"error": "boom"})),
            ("started", json!({"worker": "worker-2"})),
            ("succeeded", json!({})),
        ] {
            let mut e = json!({"ts": "2026-11-30T00:00:00.000Z", "event": event, "run": "r1",
                "task_id": "A_1", "family": "A", "params": {"n": 1}});
            e.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            s.apply(&e);
        }
        let task = &s.tasks["A_1"];
        assert_eq!(task.state, TaskState::Complete);
        assert_eq!(task.attempts, 2);
        assert_eq!(task.error, None);
        assert_eq!(task.worker, Some(("r1".into(), "worker-2".into())));
        assert_eq!(s.families()["A"].get(TaskState::Complete), 1);
        assert_eq!(s.runs["r1"].failed, 1);
    }
}
