//! Every task family linked into the binary, found by name. `#[task]` submits one
//! [`TaskEntry`] per family through `inventory`; the range tools submit theirs by hand.
//!
//! A crate nothing references is not linked, and its tasks are then missing from the registry:
//! a binary whose tasks live in another crate names it (`use my_tasks as _;`).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::config::{param_env_var, Config};
use crate::error::InvalidParam;
use crate::error::{Error, Result};
use crate::param::{Param, ParamKind, ParamOps, RawValue, ValueSource};
use crate::task::AnyTask;

/// One parameter of a task family, as the CLI and range tools see it.
#[derive(Debug)]
pub struct ParamSpec {
    /// Argument name (`date`); on the command line `--date` (underscores become dashes).
    pub name: &'static str,
    /// Doc comment of the argument.
    pub doc: &'static str,
    /// Accepted form, for help.
    pub type_name: fn() -> String,
    /// How the CLI and range tools treat it.
    pub kind: fn() -> ParamKind,
    /// The declared default, rendered; `None` when the parameter is required.
    pub default: Option<fn() -> String>,
    /// Whether it is part of the id (and may appear in the output path).
    pub significant: bool,
}

impl ParamSpec {
    /// `--name` form.
    pub fn flag(&self) -> String {
        self.name.replace('_', "-")
    }
}

/// A registered task family.
#[derive(Debug)]
pub struct TaskEntry {
    /// The family's static facts (name, wrapper, output template and format, intermediate,
    /// external, ...): the same `TaskSpec` its tasks carry, not a copy.
    pub spec: &'static crate::task::TaskSpec,
    /// Doc comment of the task function.
    pub doc: &'static str,
    /// Parameters, in declaration order.
    pub params: &'static [ParamSpec],
    /// Where it was declared (`file:line`), for duplicate-name errors.
    pub location: &'static str,
    /// Builds an instance from parameter values.
    pub construct: fn(&ParamSource<'_>) -> Result<AnyTask>,
}

inventory::collect!(TaskEntry);

impl TaskEntry {
    /// Family name.
    pub fn name(&self) -> &'static str {
        self.spec.family
    }

    /// The parameter called `name` (dashes accepted for underscores).
    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        let name = name.replace('-', "_");
        self.params.iter().find(|p| p.name == name)
    }

    /// Builds an instance: `given` values first, then class-level flags, environment, config,
    /// and the declared defaults. Unknown names are errors.
    pub fn instantiate(
        &self,
        given: &BTreeMap<String, RawValue>,
        source: ValueSource,
        defaults: &ParamDefaults,
    ) -> Result<AnyTask> {
        for name in given.keys() {
            if self.param(name).is_none() {
                return Err(self.unknown_param(name));
            }
        }
        (self.construct)(&ParamSource {
            entry: self,
            given,
            given_source: source,
            defaults,
        })
    }

    fn unknown_param(&self, name: &str) -> Error {
        Error::UnknownParam {
            family: self.name().to_string(),
            param: name.to_string(),
            suggestion: crate::error::nearest(name, self.params.iter().map(|p| p.name)),
        }
    }
}

/// Parameter values that apply to every instance of a family: Luigi's class-level
/// `--Family-param value` flags, environment variables and `[Family]` config sections.
#[derive(Debug, Clone, Default)]
pub struct ParamDefaults {
    class_level: BTreeMap<(String, String), String>,
    config: Arc<Config>,
}

impl ParamDefaults {
    /// Defaults from `config`, with no class-level flags.
    pub fn new(config: Arc<Config>) -> Self {
        ParamDefaults {
            class_level: BTreeMap::new(),
            config,
        }
    }

    /// Sets `family.param` as a class-level flag would.
    pub fn set_class_level(&mut self, family: &str, param: &str, value: String) {
        self.class_level
            .insert((family.to_string(), param.replace('-', "_")), value);
    }

    /// The config in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Checks class-level flags and config sections against the registry: an unknown family
    /// or parameter is an error naming it.
    pub fn validate(&self, registry: &Registry) -> Result<()> {
        for (family, param) in self.class_level.keys() {
            let entry = registry.get(family)?;
            if entry.param(param).is_none() {
                return Err(entry.unknown_param(param));
            }
        }
        for (family, table) in self.config.families() {
            // Sections for families not linked into this binary are left alone: one config
            // file may serve several pipelines.
            let Ok(entry) = registry.get(family) else {
                // ... but a near miss of a section or a task is most likely a typo.
                let known = crate::config::settings::SECTIONS
                    .iter()
                    .chain(crate::config::KNOWN)
                    .copied()
                    .chain(registry.iter().map(|e| e.name()));
                if let Some(near) = crate::error::nearest(family, known) {
                    tracing::warn!(
                        "config {}: section [{family}] is neither a kart section nor a task of this pipeline, and is ignored (did you mean [{near}]?)",
                        self.config.path().map_or("".into(), |p| p.display().to_string())
                    );
                }
                continue;
            };
            for key in table.keys() {
                if entry.param(key).is_none() {
                    let suggestion =
                        crate::error::nearest(key, entry.params.iter().map(|p| p.name))
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default();
                    return Err(self.config.error(
                        family,
                        key,
                        format!("unknown parameter `{key}` for task {family}{suggestion}"),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// The values visible to one instance's constructor; generated code calls [`ParamSource::value`].
pub struct ParamSource<'a> {
    entry: &'a TaskEntry,
    given: &'a BTreeMap<String, RawValue>,
    given_source: ValueSource,
    defaults: &'a ParamDefaults,
}

fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => serde_json::Value::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f)
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        toml::Value::Boolean(b) => serde_json::Value::Bool(*b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => serde_json::Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => serde_json::Value::Object(
            t.iter()
                .map(|(k, v)| (k.clone(), toml_to_json(v)))
                .collect(),
        ),
    }
}

impl ParamSource<'_> {
    /// The value of parameter `name`, if set anywhere above its declared default.
    pub fn value<T: Param>(&self, name: &'static str) -> Result<Option<T>> {
        self.value_with(name, crate::param::ops::<T>())
    }

    #[doc(hidden)]
    pub fn value_with<T>(&self, name: &'static str, ops: ParamOps<T>) -> Result<Option<T>> {
        let family = self.entry.name();
        let (raw, source) = if let Some(raw) = self.given.get(name) {
            (raw.clone(), self.given_source.clone())
        } else if let Some(text) = self
            .defaults
            .class_level
            .get(&(family.to_string(), name.to_string()))
        {
            (RawValue::Text(text.clone()), ValueSource::CommandLine)
        } else if let Some(text) = std::env::var(param_env_var(family, name))
            .ok()
            .filter(|v| !v.is_empty())
        {
            (
                RawValue::Text(text),
                ValueSource::Env(param_env_var(family, name)),
            )
        } else if let Some(v) = self
            .defaults
            .config
            .family(family)
            .and_then(|t| t.get(name))
        {
            (
                RawValue::Json(toml_to_json(v)),
                ValueSource::Config(format!(
                    "{} [{family}]",
                    self.defaults.config.locate(family, name)
                )),
            )
        } else {
            return Ok(None);
        };
        raw.parse_with(ops).map(Some).map_err(|reason| {
            Error::InvalidParam(Box::new(InvalidParam {
                family: family.to_string(),
                param: name.to_string(),
                given: raw.display(),
                expected: (ops.type_name)(),
                reason,
                source_name: source.to_string(),
            }))
        })
    }

    /// Class-level flags, environment and config in force.
    pub fn defaults(&self) -> &ParamDefaults {
        self.defaults
    }

    /// The error for a required parameter that was not given.
    pub fn missing<T>(&self, name: &'static str, ops: ParamOps<T>) -> Error {
        Error::MissingParam {
            family: self.entry.name().to_string(),
            param: name.to_string(),
            expected: (ops.type_name)(),
        }
    }
}

/// All registered families, by name.
#[derive(Debug)]
pub struct Registry {
    by_name: BTreeMap<&'static str, &'static TaskEntry>,
}

impl Registry {
    fn collect() -> Result<Self> {
        let mut by_name = BTreeMap::new();
        for entry in inventory::iter::<TaskEntry> {
            if let Some(first) = by_name.insert(entry.name(), entry) {
                return Err(Error::DuplicateTask {
                    name: entry.name().to_string(),
                    first: first.location.to_string(),
                    second: entry.location.to_string(),
                });
            }
        }
        Ok(Registry { by_name })
    }

    /// The family called `name`; unknown names get the nearest registered one suggested.
    pub fn get(&self, name: &str) -> Result<&'static TaskEntry> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| Error::UnknownTask {
                name: name.to_string(),
                suggestion: crate::error::nearest(name, self.by_name.keys().copied()),
            })
    }

    /// Every family, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &'static TaskEntry> + '_ {
        self.by_name.values().copied()
    }
}

/// The candidate nearest to `name`, if one is close enough to be a typo of it.
pub fn nearest_name<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    crate::error::nearest(name, candidates)
}

/// The registry of this binary, collected once.
pub fn registry() -> Result<&'static Registry> {
    static REGISTRY: OnceLock<std::result::Result<Registry, String>> = OnceLock::new();
    match REGISTRY.get_or_init(|| Registry::collect().map_err(|e| e.to_string())) {
        Ok(r) => Ok(r),
        Err(message) => Err(Error::msg(message)),
    }
}
