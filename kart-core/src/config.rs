//! `kart.toml` and the settings of a run. Precedence everywhere: command line > environment >
//! config file > declared default.
//!
//! ```toml
//! [core]
//! workspace = "workspace"   # KART_WORKSPACE
//! workers = 4               # KART_WORKERS
//! fsync = true              # KART_FSYNC
//!
//! [scheduler]
//! retry_count = 3           # KART_RETRY_COUNT
//! retry_delay = "10s"       # KART_RETRY_DELAY (a number is seconds)
//!
//! [worker]
//! keep_alive = false        # KART_KEEP_ALIVE
//!
//! [redis]
//! host = "localhost"        # KART_REDIS_HOST
//! port = 6379               # KART_REDIS_PORT
//!
//! [resources]
//! warehouse_db = 2
//!
//! [SomeReport]              # parameter defaults for one task family
//! date = "2015-01-01"       # KART_SOME_REPORT__DATE
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::param::{Duration, Param};
use crate::redis::{RedisEndpoint, RedisSettings, Secret};
use crate::{Error, Result};

/// File name looked up in the working directory.
pub const DEFAULT_CONFIG_FILE: &str = "kart.toml";
/// Environment variable naming the config file.
pub const CONFIG_ENV: &str = "KART_CONFIG";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CoreSection {
    workspace: Option<PathBuf>,
    workers: Option<usize>,
    fsync: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SchedulerSection {
    retry_count: Option<u32>,
    retry_delay: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkerSection {
    keep_alive: Option<bool>,
    task_timeout: Option<Duration>,
    shutdown_grace: Option<Duration>,
    resource_lease: Option<Duration>,
}

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

impl Default for Retcodes {
    fn default() -> Self {
        Retcodes {
            task_failed: 1,
            scheduling_error: 2,
            locked_elsewhere: 3,
            missing_data: 4,
            interrupted: 130,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedisSection {
    url: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    db: Option<i64>,
    username: Option<String>,
    password: Option<String>,
    password_file: Option<PathBuf>,
    tls: Option<bool>,
    ca_file: Option<PathBuf>,
    prefix: Option<String>,
    fail_on_collision: Option<bool>,
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

/// The sections kart itself reads; other top-level tables are task families.
#[derive(Debug, Default, Deserialize)]
struct KnownSections {
    #[serde(default)]
    core: CoreSection,
    #[serde(default)]
    scheduler: SchedulerSection,
    #[serde(default)]
    worker: WorkerSection,
    #[serde(default)]
    redis: RedisSection,
    #[serde(default)]
    resources: BTreeMap<String, u64>,
    #[serde(default)]
    retcode: Retcodes,
    #[serde(default)]
    notifications: Notifications,
}

const KNOWN: &[&str] = &[
    "core",
    "scheduler",
    "worker",
    "redis",
    "resources",
    "retcode",
    "notifications",
];

/// A parsed `kart.toml` (or an empty one when there is none).
#[derive(Debug, Default)]
pub struct Config {
    path: Option<PathBuf>,
    text: String,
    known: KnownSections,
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
        for (name, value) in table {
            if KNOWN.contains(&name.as_str()) {
                continue;
            }
            match value {
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
        Ok(Config {
            path: Some(path.to_path_buf()),
            text: text.to_string(),
            known,
            families,
        })
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

/// Settings given on the command line (or by a program); `None` means "not given".
#[derive(Debug, Clone, Default)]
pub struct SettingsOverrides {
    pub workspace: Option<PathBuf>,
    pub workers: Option<usize>,
    pub retry_count: Option<u32>,
    pub retry_delay: Option<Duration>,
    pub keep_alive: Option<bool>,
    pub fsync: Option<bool>,
    pub redis_host: Option<String>,
    pub redis_port: Option<u16>,
    pub redis_prefix: Option<String>,
    pub redis_fail_on_collision: Option<bool>,
    pub task_timeout: Option<Duration>,
    pub shutdown_grace: Option<Duration>,
    pub resource_lease: Option<Duration>,
}

/// The resolved settings of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where outputs go (default `./workspace`).
    pub workspace: PathBuf,
    /// Worker threads (default 1).
    pub workers: usize,
    /// Retries of a failed task (default 0).
    pub retry_count: u32,
    /// Delay before a retry (default 10s).
    pub retry_delay: Duration,
    /// Keep waiting for tasks that may become runnable (default false).
    pub keep_alive: bool,
    /// fsync every output before renaming it into place (default true).
    pub fsync: bool,
    /// The shared Redis, when locks and messages go through one (a host is configured).
    pub redis: Option<RedisEndpoint>,
    /// Prefix of every Redis key: as configured, else `kart:<workspace identity>` (see
    /// [`Workspace::identity`](crate::Workspace::identity)), so two workspaces sharing one
    /// Redis never share a lock.
    pub redis_prefix: String,
    /// A locked task fails fast and is retried instead of waiting.
    pub redis_fail_on_collision: bool,
    /// Default run timeout of a task (none by default).
    pub task_timeout: Option<Duration>,
    /// After SIGINT/SIGTERM, how long running tasks may finish before they are cancelled
    /// (default: until a second signal).
    pub shutdown_grace: Option<Duration>,
    /// TTL of a held resource unit, renewed while its task runs: how soon a crashed holder's
    /// units come back (default 60s).
    pub resource_lease: Duration,
}

impl Settings {
    /// The workspace as given: a directory, or a URL (`s3://bucket/prefix`, ...).
    pub fn workspace_location(&self) -> String {
        self.workspace.to_string_lossy().into_owned()
    }

    /// Where this machine keeps the workspace's local state (file locks, messages).
    pub fn state_dir(&self) -> PathBuf {
        crate::workspace::Workspace::state_dir_for(&self.workspace_location())
    }
}

/// A password read from a file (trailing newline dropped), so it stays out of config files,
/// process lists and shell history.
fn read_password_file(path: &Path) -> Result<Secret> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io("cannot read the Redis password file", path, e))?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

/// The Redis settings: config file (its `url`, then its fields), then the environment
/// (`KART_REDIS_URL`, then `KART_REDIS_*`), then the command line. Redis is used when a host
/// results.
fn resolve_redis(cli: &SettingsOverrides, k: &RedisSection) -> Result<Option<RedisEndpoint>> {
    let config = RedisSettings::from_url(k.url.as_deref().unwrap_or(""), "[redis] url")?.over(
        RedisSettings {
            host: k.host.clone(),
            port: k.port,
            db: k.db,
            username: k.username.clone(),
            password: match (&k.password, &k.password_file) {
                (_, Some(file)) => Some(read_password_file(file)?),
                (Some(p), None) => Some(Secret::new(p.clone())),
                (None, None) => None,
            },
            tls: k.tls,
            ca_file: k.ca_file.clone(),
        },
    );
    let env_url = std::env::var("KART_REDIS_URL").unwrap_or_default();
    let env = RedisSettings::from_url(&env_url, "KART_REDIS_URL")?.over(RedisSettings {
        host: env_value("KART_REDIS_HOST")?,
        port: env_value("KART_REDIS_PORT")?,
        db: env_value("KART_REDIS_DB")?,
        username: env_value("KART_REDIS_USERNAME")?,
        password: match env_value::<String>("KART_REDIS_PASSWORD_FILE")? {
            Some(file) => Some(read_password_file(Path::new(&file))?),
            None => std::env::var("KART_REDIS_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty())
                .map(Secret::new),
        },
        tls: env_value("KART_REDIS_TLS")?,
        ca_file: env_value::<String>("KART_REDIS_CA_FILE")?.map(PathBuf::from),
    });
    Ok(config
        .over(env)
        .over(RedisSettings {
            host: cli.redis_host.clone(),
            port: cli.redis_port,
            ..RedisSettings::default()
        })
        .endpoint())
}

fn env_value<T: Param>(name: &str) -> Result<Option<T>> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => {
            T::parse_param(&v)
                .map(Some)
                .map_err(|message| Error::InvalidOption {
                    what: format!("environment variable {name}={v:?}"),
                    message,
                })
        }
        _ => Ok(None),
    }
}

impl Settings {
    /// Resolves each setting: `cli`, then environment (`KART_*`), then `config`, then default.
    pub fn resolve(cli: &SettingsOverrides, config: &Config) -> Result<Self> {
        let k = &config.known;
        let workers = cli
            .workers
            .or(env_value::<usize>("KART_WORKERS")?)
            .or(k.core.workers)
            .unwrap_or(1);
        if workers == 0 {
            return Err(Error::InvalidOption {
                what: "workers".into(),
                message: "must be at least 1".into(),
            });
        }
        let workspace = cli
            .workspace
            .clone()
            .or(env_value::<String>("KART_WORKSPACE")?.map(PathBuf::from))
            .or(k.core.workspace.clone())
            .unwrap_or_else(|| PathBuf::from("workspace"));
        let redis_prefix = cli
            .redis_prefix
            .clone()
            .or(env_value("KART_REDIS_PREFIX")?)
            .or(k.redis.prefix.clone())
            .unwrap_or_else(|| {
                let location = workspace.to_string_lossy();
                format!("kart:{}", crate::Workspace::identity(&location))
            });
        Ok(Settings {
            workspace,
            workers,
            retry_count: cli
                .retry_count
                .or(env_value("KART_RETRY_COUNT")?)
                .or(k.scheduler.retry_count)
                .unwrap_or(0),
            retry_delay: cli
                .retry_delay
                .or(env_value("KART_RETRY_DELAY")?)
                .or(k.scheduler.retry_delay)
                .unwrap_or(Duration::from_secs(10)),
            keep_alive: cli
                .keep_alive
                .or(env_value("KART_KEEP_ALIVE")?)
                .or(k.worker.keep_alive)
                .unwrap_or(false),
            fsync: cli
                .fsync
                .or(env_value("KART_FSYNC")?)
                .or(k.core.fsync)
                .unwrap_or(true),
            redis: resolve_redis(cli, &k.redis)?,
            redis_prefix,
            redis_fail_on_collision: cli
                .redis_fail_on_collision
                .or(env_value("KART_REDIS_FAIL_ON_COLLISION")?)
                .or(k.redis.fail_on_collision)
                .unwrap_or(false),
            task_timeout: cli
                .task_timeout
                .or(env_value("KART_TASK_TIMEOUT")?)
                .or(k.worker.task_timeout),
            shutdown_grace: cli
                .shutdown_grace
                .or(env_value("KART_SHUTDOWN_GRACE")?)
                .or(k.worker.shutdown_grace),
            resource_lease: cli
                .resource_lease
                .or(env_value("KART_RESOURCE_LEASE")?)
                .or(k.worker.resource_lease)
                .unwrap_or(Duration::from_secs(60)),
        })
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
        out.push(c.to_ascii_uppercase());
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
    fn env_var_names() {
        assert_eq!(param_env_var("TPSReport", "date"), "KART_TPS_REPORT__DATE");
        assert_eq!(
            param_env_var("AllReports", "date"),
            "KART_ALL_REPORTS__DATE"
        );
    }
}
