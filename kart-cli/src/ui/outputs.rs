//! Where a task's output lives, for its page: the ui runs in the pipeline's own binary, so it
//! rebuilds the task from the family and parameters its events name and asks it — events
//! need not carry a path per task.

use std::collections::BTreeMap;

use kart_core::param::{RawValue, ValueSource};
use kart_core::registry::{ParamDefaults, Registry};
use serde_json::Value;

/// Output locations of the tasks this binary defines.
pub(crate) struct Outputs {
    registry: &'static Registry,
    defaults: ParamDefaults,
    /// The workspace, as `--workspace` names it (a path or a URL).
    root: String,
}

impl Outputs {
    pub(crate) fn new(registry: &'static Registry, defaults: ParamDefaults, root: String) -> Self {
        Outputs {
            registry,
            defaults,
            root: root.trim_end_matches('/').to_string(),
        }
    }

    /// Where the task `id` of `family` with `params` writes; `None` for a wrapper, or a task
    /// this binary does not define as the events do (another binary's, or changed since).
    pub(crate) fn of(&self, id: &str, family: &str, params: &Value) -> Option<String> {
        let entry = self.registry.get(family).ok()?;
        let given: BTreeMap<String, RawValue> = params
            .as_object()?
            .iter()
            .map(|(k, v)| (k.clone(), RawValue::Json(v.clone())))
            .collect();
        let source = ValueSource::Caller("the events".into());
        let task = entry.instantiate(&given, source, &self.defaults).ok()?;
        if task.id().as_str() != id {
            return None;
        }
        let key = task.output_key().ok()??;
        Some(format!("{}/{key}", self.root))
    }
}
