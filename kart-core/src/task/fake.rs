//! Hand-written tasks for the runtime's own unit tests: a plan names each task's
//! requirements, which are wrappers, which fail, and records what ran.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::{AnyTask, DynTask, RunContext, TaskId};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

/// The graph the fakes form and what happened to them.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    requires: HashMap<&'static str, Vec<&'static str>>,
    wrappers: HashSet<&'static str>,
    failing: HashSet<&'static str>,
    priorities: HashMap<&'static str, i64>,
    done: Mutex<HashSet<&'static str>>,
    ran: Mutex<Vec<&'static str>>,
    checked: Mutex<Vec<&'static str>>,
}

impl Plan {
    /// `edges`: each task and what it requires.
    pub(crate) fn new(edges: &[(&'static str, &[&'static str])]) -> Self {
        Plan {
            requires: edges.iter().map(|(t, r)| (*t, r.to_vec())).collect(),
            ..Plan::default()
        }
    }
    pub(crate) fn wrappers(mut self, names: &[&'static str]) -> Self {
        self.wrappers.extend(names);
        self
    }
    pub(crate) fn failing(mut self, names: &[&'static str]) -> Self {
        self.failing.extend(names);
        self
    }
    pub(crate) fn priorities(mut self, of: &[(&'static str, i64)]) -> Self {
        self.priorities.extend(of.iter().copied());
        self
    }
    pub(crate) fn done(self, names: &[&'static str]) -> Self {
        self.done.lock().unwrap().extend(names);
        self
    }
    pub(crate) fn build(self) -> Arc<Plan> {
        Arc::new(self)
    }
    /// What ran, in order.
    pub(crate) fn ran(&self) -> Vec<&'static str> {
        self.ran.lock().unwrap().clone()
    }
    /// Whose output was checked, in order.
    pub(crate) fn checked(&self) -> Vec<&'static str> {
        self.checked.lock().unwrap().clone()
    }
}

/// One task of a [`Plan`].
#[derive(Debug, Clone)]
pub(crate) struct Fake {
    pub(crate) name: &'static str,
    pub(crate) plan: Arc<Plan>,
}

/// The task `name` of `plan`.
pub(crate) fn fake(plan: &Arc<Plan>, name: &'static str) -> AnyTask {
    AnyTask::new(Fake {
        name,
        plan: plan.clone(),
    })
}

impl DynTask for Fake {
    fn family(&self) -> &'static str {
        "Fake"
    }
    fn id(&self) -> TaskId {
        TaskId::new("Fake", &[("name", Value::from(self.name))])
    }
    fn params_json(&self) -> Value {
        serde_json::json!({ "name": self.name })
    }
    fn display(&self) -> String {
        format!("Fake(name={})", self.name)
    }
    fn is_wrapper(&self) -> bool {
        self.plan.wrappers.contains(self.name)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn output_key(&self) -> Result<Option<String>> {
        Ok((!self.is_wrapper()).then(|| format!("fake/{}", self.name)))
    }
    fn requires(&self) -> Vec<AnyTask> {
        let names = self
            .plan
            .requires
            .get(self.name)
            .cloned()
            .unwrap_or_default();
        names.into_iter().map(|n| fake(&self.plan, n)).collect()
    }
    fn execute(&self, _ctx: &RunContext) -> Result<()> {
        self.plan.ran.lock().unwrap().push(self.name);
        if self.plan.failing.contains(self.name) {
            return Err(Error::msg(format!("{} failed", self.name)));
        }
        self.plan.done.lock().unwrap().insert(self.name);
        Ok(())
    }
    fn priority(&self) -> i64 {
        self.plan.priorities.get(self.name).copied().unwrap_or(0)
    }
    fn output_exists(&self, _ws: &Workspace) -> Result<bool> {
        self.plan.checked.lock().unwrap().push(self.name);
        Ok(!self.is_wrapper() && self.plan.done.lock().unwrap().contains(self.name))
    }
}
