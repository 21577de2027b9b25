//! The range tool as a task: a wrapper whose requirements are the missing instances.

use std::collections::BTreeMap;
use std::sync::Mutex;

use chrono::NaiveDateTime;
use serde_json::Value;

use super::window::{Evaluation, Unit, Window};
use crate::complete::{bulk_complete, is_complete};
use crate::error::Result;
use crate::event::{Event, EventKind};
use crate::param::{RawValue, ValueSource};
use crate::registry::{ParamDefaults, ParamSpec, TaskEntry};
use crate::task::{display_task, AnyTask, DynTask, GraphContext, RunContext, TaskId};
use crate::workspace::Workspace;

/// Which range tool.
#[derive(Debug, Clone, Copy)]
pub(super) struct RangeKind {
    pub(super) family: &'static str,
    /// The tool's grid; for `Minutes`, the interval comes from `--minutes-interval`.
    pub(super) unit: Unit,
    /// Decide completeness from listings rather than instance by instance.
    pub(super) bulk: bool,
}

/// A range tool instance; a wrapper whose requirements are the missing instances.
pub(super) struct RangeTask {
    pub(super) kind: RangeKind,
    pub(super) of: &'static TaskEntry,
    pub(super) of_params: serde_json::Map<String, Value>,
    pub(super) param: &'static ParamSpec,
    pub(super) window: Window,
    /// Parameters as given (for the id: `now` only when given).
    pub(super) params: Vec<(&'static str, Value)>,
    pub(super) defaults: ParamDefaults,
    pub(super) evaluation: Mutex<Option<Evaluation>>,
}

impl std::fmt::Debug for RangeTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl RangeTask {
    pub(super) fn instance(&self, t: NaiveDateTime) -> Result<AnyTask> {
        let mut given: BTreeMap<String, RawValue> = self
            .of_params
            .iter()
            .map(|(k, v)| (k.clone(), RawValue::Json(v.clone())))
            .collect();
        given.insert(
            self.param.name.to_string(),
            RawValue::Text(self.window.unit.format(t)),
        );
        self.of.instantiate(
            &given,
            ValueSource::Caller(format!("{} --of-params", self.kind.family)),
            &self.defaults,
        )
    }

    fn emit_metrics(&self, cx: &GraphContext<'_>, e: &Evaluation) {
        let id = self.id();
        for (kind, value) in [
            (EventKind::RangeDelay, Value::from(e.delay)),
            (EventKind::RangeCompleteCount, Value::from(e.complete_count)),
            (
                EventKind::RangeCompleteFraction,
                Value::from(e.complete_fraction),
            ),
        ] {
            cx.events.emit(
                Event::new(kind)
                    .task(&id, self.kind.family)
                    .params(self.params_json())
                    .worker(crate::event::SCHEDULER)
                    .with("of", self.of.name())
                    .with("value", value),
            );
        }
    }
}

impl DynTask for RangeTask {
    fn family(&self) -> &'static str {
        self.kind.family
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn id(&self) -> TaskId {
        TaskId::new(self.kind.family, &self.params)
    }
    fn params_json(&self) -> Value {
        Value::Object(
            self.params
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect(),
        )
    }
    fn display(&self) -> String {
        display_task(self.kind.family, self.params.iter().map(|(k, v)| (*k, v)))
    }
    fn is_wrapper(&self) -> bool {
        true
    }
    fn output_key(&self) -> Result<Option<String>> {
        Ok(None)
    }
    /// The missing instances, from the last evaluation (none before the graph is built).
    fn requires(&self) -> Vec<AnyTask> {
        let guard = self.evaluation.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .as_ref()
            .map(|e| {
                e.required
                    .iter()
                    .filter_map(|t| self.instance(*t).ok())
                    .collect()
            })
            .unwrap_or_default()
    }
    fn requires_in(&self, cx: &GraphContext<'_>) -> Result<Vec<AnyTask>> {
        let mut instances: BTreeMap<NaiveDateTime, AnyTask> = BTreeMap::new();
        let started = std::time::Instant::now();
        let mut listings = 0;
        let evaluation = self.window.evaluate(|checked| {
            let tasks: Vec<AnyTask> = checked
                .iter()
                .map(|&t| self.instance(t))
                .collect::<Result<_>>()?;
            let complete: Vec<bool> = if self.kind.bulk {
                let refs: Vec<&dyn DynTask> = tasks.iter().map(|t| &**t).collect();
                let (complete, listed) = bulk_complete(&refs, cx.workspace)?;
                listings = listed;
                complete
            } else {
                tasks
                    .iter()
                    .map(|t| is_complete(&**t, cx.workspace))
                    .collect::<Result<_>>()?
            };
            let mut missing = Vec::new();
            for ((&t, task), done) in checked.iter().zip(tasks).zip(complete) {
                if !done {
                    missing.push(t);
                    instances.insert(t, task);
                }
            }
            Ok(missing)
        })?;
        tracing::info!(
            "{} of {}: {} of {} instances missing, decided in {:.1} ms{}",
            self.kind.family,
            self.of.name(),
            evaluation.missing.len(),
            evaluation.checked.len(),
            started.elapsed().as_secs_f64() * 1000.0,
            if self.kind.bulk {
                format!(" from {listings} directory listings")
            } else {
                String::new()
            },
        );
        self.emit_metrics(cx, &evaluation);
        let explanation = super::explain::explain(
            &format!("{} of {}", self.kind.family, self.of.name()),
            &self.window,
            &evaluation,
        );
        cx.events.emit(
            Event::new(EventKind::RangeChecked)
                .task(&self.id(), self.kind.family)
                .params(self.params_json())
                .worker(crate::event::SCHEDULER)
                .with("of", self.of.name())
                .with("checked", evaluation.checked.len())
                .with("missing", evaluation.missing.len())
                .with("required", evaluation.required.len())
                .with("assumed_complete", evaluation.unchecked_before)
                .with("task_limit", self.window.task_limit)
                // What a calendar of the range needs: the grid, the checked span and the gaps.
                .with("param", self.param.name)
                .with("unit", self.window.unit.name())
                .with(
                    "checked_from",
                    evaluation
                        .checked
                        .first()
                        .map(|t| self.window.unit.format(*t)),
                )
                .with(
                    "checked_to",
                    evaluation
                        .checked
                        .last()
                        .map(|t| self.window.unit.format(*t)),
                )
                .with(
                    "missing_at",
                    evaluation
                        .missing
                        .iter()
                        .map(|t| self.window.unit.format(*t))
                        .collect::<Vec<_>>(),
                )
                .with("warning", explanation.warning)
                .with("message", explanation.lines.join("\n")),
        );
        let required = evaluation
            .required
            .iter()
            .map(|t| instances[t].clone())
            .collect();
        *self.evaluation.lock().unwrap_or_else(|p| p.into_inner()) = Some(evaluation);
        Ok(required)
    }
    fn execute(&self, _ctx: &RunContext) -> Result<()> {
        Ok(())
    }
    fn output_exists(&self, _ws: &Workspace) -> Result<bool> {
        Ok(false)
    }
}
