//! `kart.toml`: the run settings' sections `[core]`, `[scheduler]`, `[worker]` and `[redis]`
//! (every key declared once in [`settings`], with its flag and environment variable), and
//! kart's other sections. Precedence everywhere: command line > environment > config file >
//! declared default.
//!
//! ```toml
//! [core]
//! workers = 4               # see `settings` for every key
//!
//! [resources]
//! warehouse_db = 2
//!
//! [retcode]
//! task_failed = 1
//!
//! [notifications]
//! on_failure = "mail -s 'kart failed' ops@example.com"
//!
//! [SomeReport]              # parameter defaults for one task family
//! date = "2015-01-01"       # KART_SOME_REPORT__DATE
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

pub mod settings;

pub use settings::{Overrides, Settings};

/// File name looked up in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "kart.toml";
/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "KART_CONFIG";

/// Exit codes (`[retcode]`), so a crontab can tell outcomes apart. Luigi's idea, with
/// distinct defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retcodes {
    /// A task failed, so a requested task is not complete (default 1).
    pub task_failed: u8,
    /// Bad input: unknown task or parameter, bad value or config, unreachable Redis (default 2).
    pub scheduling_error: u8,
    /// A task never ran because its lock stayed held elsewhere (default 3).
    pub locked_elsewhere: u8,
    /// External data a requested task needs is missing; nothing failed (default 4).
    pub missing_data: u8,
    /// The run was stopped by SIGINT/SIGTERM (default 130).
    pub interrupted: u8,
}

impl Retcodes {
    /// The defaults, the one table of kart's exit codes.
    pub const DEFAULT: Retcodes = Retcodes {
        task_failed: 1,
        scheduling_error: 2,
        locked_elsewhere: 3,
        missing_data: 4,
        interrupted: 130,
    };
}

impl Default for Retcodes {
    fn default() -> Self {
        Retcodes::DEFAULT
    }
}

/// Commands run when tasks fail or the requested task succeeds (`[notifications]`).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Run once per failed task, the failure as JSON on stdin.
    pub on_failure: Option<String>,
    /// Run once when every requested task is complete, the outcome as JSON on stdin.
    pub on_success: Option<String>,
}

/// The sections kart reads besides the settings' (see [`settings`]); other top-level tables
/// are task families.
#[derive(Debug, Default, Deserialize)]
struct KnownSections {
    #[serde(default)]
    resources: BTreeMap<String, u64>,
    #[serde(default)]
    retcode: Retcodes,
    #[serde(default)]
    notifications: Notifications,
    #[serde(default)]
    databases: BTreeMap<String, DatabaseSection>,
}

/// `[databases.NAME]`: where a table task's database is.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseSection {
    /// `postgres://user:password@host:5432/db` or `sqlite://file.db`.
    url: String,
}

/// The sections of [`KnownSections`].
pub(crate) const KNOWN: &[&str] = &["resources", "retcode", "notifications", "databases"];

/// A parsed `kart.toml` (or an empty one when there is none).
#[derive(Debug, Default)]
pub struct Config {
    path: Option<PathBuf>,
    text: String,
    known: KnownSections,
    /// The settings' sections, checked against their declarations.
    settings: BTreeMap<String, toml::Table>,
    families: BTreeMap<String, toml::Table>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Config {
    /// Loads the config: `explicit` (from `--config`), else `$KART_CONFIG`, else `./kart.toml`
    /// if it exists, else an empty config. A named file that is missing is an error.
    pub fn discover(explicit: Option<&Path>) -> Result<Self> {
        let named = explicit.map(Path::to_path_buf).or_else(|| {
            std::env::var_os(CONFIG_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        match named {
            Some(path) => Self::load(&path),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                Self::load(Path::new(DEFAULT_CONFIG_FILE))
            }
            None => Ok(Config::default()),
        }
    }

    /// Loads and validates one file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read config file", path, e))?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` is used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let err = |e: toml::de::Error| Error::Config {
            path: path.to_path_buf(),
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            message: e.message().trim().replace('\n', " "),
        };
        let table: toml::Table = toml::from_str(text).map_err(err)?;
        let known: KnownSections = toml::from_str(text).map_err(err)?;
        let mut families = BTreeMap::new();
        let mut sections = BTreeMap::new();
        for (name, value) in table {
            if KNOWN.contains(&name.as_str()) {
                continue;
            }
            match value {
                toml::Value::Table(t) if settings::SECTIONS.contains(&name.as_str()) => {
                    sections.insert(name, t);
                }
                toml::Value::Table(t) => {
                    families.insert(name, t);
                }
                _ => {
                    return Err(Error::Config {
                        path: path.to_path_buf(),
                        line: Self::find_line(text, None, &name).unwrap_or(0),
                        message: format!("top-level key `{name}` must be a section like [{name}]"),
                    })
                }
            }
        }
        // `[wohoo.MyTask]` is TOML for a table `MyTask` inside `wohoo`: a namespaced family's
        // section is found under its dotted name too.
        let mut nested = Vec::new();
        for (name, table) in &families {
            collect_nested(name, table, &mut nested, 4);
        }
        for (name, table) in nested {
            families.entry(name).or_insert(table);
        }
        let config = Config {
            path: Some(path.to_path_buf()),
            text: text.to_string(),
            known,
            settings: sections,
            families,
        };
        for (name, table) in &config.settings {
            settings::check_section(&config, name, table)?;
        }
        Ok(config)
    }

    /// The value of setting `key` in `[section]`, if the file sets it.
    fn setting(&self, section: &str, key: &str) -> Option<&toml::Value> {
        self.settings.get(section)?.get(key)
    }

    /// The file this came from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Parameter defaults set for a family (`[Family]` section).
    pub fn family(&self, family: &str) -> Option<&toml::Table> {
        self.families.get(family)
    }

    /// Every family section, for validation against the registry.
    pub fn families(&self) -> impl Iterator<Item = (&str, &toml::Table)> {
        self.families.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Notification commands from `[notifications]`.
    pub fn notifications(&self) -> &Notifications {
        &self.known.notifications
    }

    /// Exit codes from `[retcode]`.
    pub fn retcodes(&self) -> Retcodes {
        self.known.retcode
    }

    /// Database URLs from `[databases.NAME] url`, by name.
    pub fn databases(&self) -> BTreeMap<String, String> {
        self.known
            .databases
            .iter()
            .map(|(name, d)| (name.clone(), d.url.clone()))
            .collect()
    }

    /// Resource limits from `[resources]`.
    pub fn resources(&self) -> &BTreeMap<String, u64> {
        &self.known.resources
    }

    /// `path:line` of `key` in `[section]`, for messages.
    pub fn locate(&self, section: &str, key: &str) -> String {
        let path = self
            .path
            .as_deref()
            .map_or_else(|| DEFAULT_CONFIG_FILE.into(), |p| p.display().to_string());
        match Self::find_line(&self.text, Some(section), key) {
            Some(line) => format!("{path}:{line}"),
            None => path,
        }
    }

    /// An error about `key` in `[section]`.
    pub fn error(&self, section: &str, key: &str, message: String) -> Error {
        Error::Config {
            path: self
                .path
                .clone()
                .unwrap_or_else(|| DEFAULT_CONFIG_FILE.into()),
            line: Self::find_line(&self.text, Some(section), key).unwrap_or(0),
            message,
        }
    }

    fn find_line(text: &str, section: Option<&str>, key: &str) -> Option<usize> {
        let mut in_section = section.is_none();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.starts_with('[') {
                let name = t
                    .trim_start_matches('[')
                    .split(']')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_matches('"');
                if section.is_none() && name == key {
                    return Some(i + 1);
                }
                in_section = section == Some(name);
                continue;
            }
            if in_section {
                if let Some((k, _)) = t.split_once('=') {
                    if k.trim().trim_matches('"') == key {
                        return Some(i + 1);
                    }
                }
            }
        }
        None
    }
}

/// The tables inside `table`, by dotted name under `name`, `depth` levels down at most.
fn collect_nested(
    name: &str,
    table: &toml::Table,
    out: &mut Vec<(String, toml::Table)>,
    depth: usize,
) {
    if depth == 0 {
        return;
    }
    for (key, value) in table {
        if let toml::Value::Table(inner) = value {
            let dotted = format!("{name}.{key}");
            collect_nested(&dotted, inner, out, depth - 1);
            out.push((dotted, inner.clone()));
        }
    }
}

/// The environment variable that sets parameter `param` of `family`:
/// `KART_<FAMILY>__<PARAM>` in upper snake case, e.g. `KART_SOME_REPORT__DATE`.
///
/// ```
/// assert_eq!(kart_core::config::param_env_var("SomeReport", "date"), "KART_SOME_REPORT__DATE");
/// ```
pub fn param_env_var(family: &str, param: &str) -> String {
    format!(
        "KART_{}__{}",
        upper_snake(family),
        param.to_ascii_uppercase()
    )
}

fn upper_snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push('_');
            }
        }
        // A namespace's dots (`wohoo.MyTask`) cannot be in a variable name.
        out.push(if c == '.' {
            '_'
        } else {
            c.to_ascii_uppercase()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_errors_name_the_line() {
        let err =
            Config::parse("[core]\nworkers = 2\n[scheduler\n", Path::new("k.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("bad config k.toml:3:"), "{msg}");
    }

    #[test]
    fn type_errors_name_the_line() {
        let err = Config::parse("[core]\n\nworkers = \"many\"\n", Path::new("k.toml")).unwrap_err();
        assert!(err.to_string().starts_with("bad config k.toml:3:"), "{err}");
        let err = Config::parse("[core]\nwrokers = 2\n", Path::new("k.toml")).unwrap_err();
        assert!(err.to_string().contains("wrokers"), "{err}");
    }

    #[test]
    fn family_sections_are_kept() {
        let c =
            Config::parse("[SomeReport]\ndate = \"2015-01-01\"\n", Path::new("k.toml")).unwrap();
        assert_eq!(
            c.family("SomeReport").unwrap()["date"].as_str(),
            Some("2015-01-01")
        );
        assert_eq!(c.locate("SomeReport", "date"), "k.toml:2");
    }

    #[test]
    fn a_namespaced_familys_section_is_found_by_its_dotted_name() {
        let c = Config::parse("[wohoo.MyTask]\nn = 4\n", Path::new("k.toml")).unwrap();
        assert_eq!(c.family("wohoo.MyTask").unwrap()["n"].as_integer(), Some(4));
        assert_eq!(c.locate("wohoo.MyTask", "n"), "k.toml:2");
        assert_eq!(param_env_var("wohoo.MyTask", "n"), "KART_WOHOO_MY_TASK__N");
    }

    #[test]
    fn env_var_names() {
        assert_eq!(param_env_var("TPSReport", "date"), "KART_TPS_REPORT__DATE");
        assert_eq!(
            param_env_var("AllReports", "date"),
            "KART_ALL_REPORTS__DATE"
        );
    }
}
