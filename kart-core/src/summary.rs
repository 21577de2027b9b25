//! What a run did: per-task outcomes and the execution summary printed at the end, in the
//! spirit of Luigi's ("Scheduled 12 tasks of which: ...").

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::task::AnyTask;
use crate::task_id::TaskId;

/// How one task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskOutcome {
    /// Complete before the run; not run.
    AlreadyComplete,
    /// Ran and committed its output.
    Succeeded,
    /// Found complete when about to run: another worker made it meanwhile.
    CompletedElsewhere,
    /// Never ran: its run lock stayed held elsewhere through every retry.
    LockedElsewhere(String),
    /// Failed (after any retries), with the last error.
    Failed(String),
    /// External data (`#[task(external)]`) that was missing, with the path looked at.
    MissingData(String),
    /// Not run, with the reason.
    Skipped(String),
}

/// One task's line in the report.
#[derive(Debug, Clone)]
pub struct TaskReport {
    /// Its id.
    pub id: TaskId,
    /// Its family.
    pub family: &'static str,
    /// The task itself: its display and parameters are derived when asked for, since a run
    /// of a million tasks prints a handful of them.
    pub task: AnyTask,
    /// How many times it ran.
    pub attempts: u32,
    /// How it ended.
    pub outcome: TaskOutcome,
    /// The batched run it was part of (Luigi's `batch_method`), if any.
    pub batched_into: Option<TaskId>,
    /// The worker (`host:pid`) in another process whose claim on it this run waited for.
    pub elsewhere: Option<String>,
}

/// The result of a run.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// Every task of the graph.
    pub tasks: Vec<TaskReport>,
    roots: Vec<usize>,
    /// Extra lines for the summary (e.g. range metrics).
    pub notes: Vec<String>,
    /// The run was stopped early (SIGINT/SIGTERM).
    pub interrupted: bool,
}

const LISTED_PER_GROUP: usize = 5;

/// The groups from here on did not complete: failed, missing external data, not run.
const FIRST_UNFINISHED_GROUP: usize = 3;

/// Distinct causes listed per group; the rest are counted.
const LISTED_CAUSES: usize = 10;

impl RunReport {
    pub(crate) fn new(tasks: Vec<TaskReport>, roots: Vec<usize>) -> Self {
        RunReport {
            tasks,
            roots,
            notes: Vec::new(),
            interrupted: false,
        }
    }

    /// True when every requested task is complete.
    pub fn success(&self) -> bool {
        self.roots.iter().all(|&i| {
            matches!(
                self.tasks[i].outcome,
                TaskOutcome::AlreadyComplete
                    | TaskOutcome::Succeeded
                    | TaskOutcome::CompletedElsewhere
            )
        })
    }

    /// Number of tasks that ended with this kind of outcome.
    pub fn count(&self, pred: impl Fn(&TaskOutcome) -> bool) -> usize {
        self.tasks.iter().filter(|t| pred(&t.outcome)).count()
    }

    /// The requested tasks.
    pub fn roots(&self) -> impl Iterator<Item = &TaskReport> {
        self.roots.iter().map(|&i| &self.tasks[i])
    }

    /// The human summary: counts; what completed grouped by family, what did not by cause
    /// (one line per distinct error or reason, with a count and a few of its tasks).
    pub fn summary(&self) -> String {
        let (out, _) = self.summary_and_failures();
        out
    }

    /// Only what did not complete, grouped by cause as in the summary (`-q` prints this on
    /// failure); empty when nothing failed, was missing or was not run.
    pub fn failures(&self) -> String {
        let (_, failures) = self.summary_and_failures();
        failures
    }

    fn summary_and_failures(&self) -> (String, String) {
        // (one, several): "1 was already complete", "2 were already complete".
        let mut groups: [((&str, &str), Vec<&TaskReport>); 6] = [
            (
                ("was already complete", "were already complete"),
                Vec::new(),
            ),
            (("ran successfully", "ran successfully"), Vec::new()),
            (
                (
                    "was completed by another worker meanwhile",
                    "were completed by another worker meanwhile",
                ),
                Vec::new(),
            ),
            (("failed", "failed"), Vec::new()),
            (
                ("was missing external data", "were missing external data"),
                Vec::new(),
            ),
            (("was not run", "were not run"), Vec::new()),
        ];
        for t in &self.tasks {
            let g = match t.outcome {
                TaskOutcome::AlreadyComplete => 0,
                TaskOutcome::Succeeded => 1,
                TaskOutcome::CompletedElsewhere => 2,
                TaskOutcome::Failed(_) | TaskOutcome::LockedElsewhere(_) => 3,
                TaskOutcome::MissingData(_) => 4,
                TaskOutcome::Skipped(_) => 5,
            };
            groups[g].1.push(t);
        }
        let mut out = String::from("===== kart execution summary =====\n");
        let mut failures = String::new();
        let n = self.tasks.len();
        let _ = writeln!(
            out,
            "Scheduled {n} task{} of which:",
            if n == 1 { "" } else { "s" }
        );
        for (g, ((one, several), tasks)) in groups.iter().enumerate() {
            if tasks.is_empty() {
                continue;
            }
            let label = if tasks.len() == 1 { one } else { several };
            let mut section = format!("* {} {label}:\n", tasks.len());
            if g >= FIRST_UNFINISHED_GROUP {
                by_cause(tasks, &mut section);
                failures.push_str(&section);
            } else {
                by_family(tasks, &mut section);
            }
            out.push_str(&section);
        }
        let batched: Vec<&TaskId> = self
            .tasks
            .iter()
            .filter_map(|t| t.batched_into.as_ref())
            .collect();
        if !batched.is_empty() {
            let runs: std::collections::BTreeSet<&TaskId> = batched.iter().copied().collect();
            let _ = writeln!(
                out,
                "* {} of them ran batched, in {} run{}",
                batched.len(),
                runs.len(),
                if runs.len() == 1 { "" } else { "s" }
            );
        }
        for note in &self.notes {
            let _ = writeln!(out, "{note}");
        }
        let verdict = if self.interrupted {
            "This progress looks :( because the run was interrupted"
        } else if !self.success() && groups[3].1.is_empty() && !groups[4].1.is_empty() {
            "This progress looks :| because there were missing external dependencies"
        } else if !self.success() {
            "This progress looks :( because not every requested task is complete"
        } else if groups[3].1.is_empty() {
            "This progress looks :) because there were no failed tasks"
        } else {
            "This progress looks :| because the requested tasks are complete but some tasks failed"
        };
        let _ = writeln!(out, "\n{verdict}");
        out.push_str("===== kart execution summary =====\n");
        (out, failures)
    }
}

/// Completed tasks: one line per family, with a few of its tasks.
fn by_family(tasks: &[&TaskReport], out: &mut String) {
    let mut by_family: BTreeMap<&str, Vec<&TaskReport>> = BTreeMap::new();
    for t in tasks {
        by_family.entry(t.family).or_default().push(t);
    }
    for (family, ts) in by_family {
        if let [t] = ts.as_slice() {
            let _ = writeln!(out, "    - {}{}", t.task.display(), detail(t));
            continue;
        }
        let _ = writeln!(out, "    - {} {family}", ts.len());
        for t in ts.iter().take(LISTED_PER_GROUP) {
            let _ = writeln!(out, "        {}{}", t.task.display(), detail(t));
        }
        if ts.len() > LISTED_PER_GROUP {
            let _ = writeln!(out, "        ... and {} more", ts.len() - LISTED_PER_GROUP);
        }
    }
}

/// Tasks that did not complete: one line per distinct cause, most common first, with a count
/// and a few of its tasks; a cause of one task names it on the same line.
fn by_cause(tasks: &[&TaskReport], out: &mut String) {
    let mut causes: Vec<(String, Vec<&TaskReport>)> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for t in tasks {
        let cause = cause(t);
        match index.get(&cause) {
            Some(&k) => causes[k].1.push(t),
            None => {
                index.insert(cause.clone(), causes.len());
                causes.push((cause, vec![t]));
            }
        }
    }
    causes.sort_by_key(|(_, ts)| std::cmp::Reverse(ts.len()));
    if causes.len() > LISTED_CAUSES {
        let rest = &causes[LISTED_CAUSES..];
        let tasks: usize = rest.iter().map(|(_, ts)| ts.len()).sum();
        let line = format!(
            "    ... and {} more cause{} ({tasks} task{})\n",
            rest.len(),
            if rest.len() == 1 { "" } else { "s" },
            if tasks == 1 { "" } else { "s" }
        );
        causes.truncate(LISTED_CAUSES);
        list_causes(causes, out);
        out.push_str(&line);
    } else {
        list_causes(causes, out);
    }
}

fn list_causes(causes: Vec<(String, Vec<&TaskReport>)>, out: &mut String) {
    for (cause, ts) in causes {
        if let [t] = ts.as_slice() {
            let _ = writeln!(out, "    - {}{}", t.task.display(), detail(t));
            continue;
        }
        let _ = writeln!(out, "    - {} tasks: {cause}", ts.len());
        let shown: Vec<String> = ts
            .iter()
            .take(LISTED_PER_GROUP)
            .map(|t| t.task.display())
            .collect();
        let more = match ts.len().saturating_sub(LISTED_PER_GROUP) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        let _ = writeln!(out, "        e.g. {}{more}", shown.join(", "));
    }
}

/// The first line of why a task did not complete.
fn cause(t: &TaskReport) -> String {
    match &t.outcome {
        TaskOutcome::Failed(e) | TaskOutcome::LockedElsewhere(e) | TaskOutcome::MissingData(e) => {
            e.lines().next().unwrap_or("").to_string()
        }
        TaskOutcome::Skipped(reason) => reason.clone(),
        _ => String::new(),
    }
}

fn detail(t: &TaskReport) -> String {
    match &t.outcome {
        TaskOutcome::Skipped(reason)
        | TaskOutcome::LockedElsewhere(reason)
        | TaskOutcome::MissingData(reason) => {
            format!(": {reason}")
        }
        TaskOutcome::Failed(e) => {
            let first = e.lines().next().unwrap_or("");
            let tries = if t.attempts > 1 {
                format!(" after {} attempts", t.attempts)
            } else {
                String::new()
            };
            format!(": {first}{tries}")
        }
        TaskOutcome::CompletedElsewhere => match &t.elsewhere {
            Some(holder) => format!(": by {holder}"),
            None => String::new(),
        },
        _ => String::new(),
    }
}
