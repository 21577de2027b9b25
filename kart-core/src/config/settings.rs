//! The settings of a run, each declared once below with its config key, environment
//! variable, command-line flag, default and help. Everything else — the typed lookups, the
//! config file's known keys, the command line's flags and their help — is derived from the
//! declarations. Precedence: command line > environment > config file > default.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Config;
use crate::error::{Error, Result};
use crate::param::{Duration, Param};
use crate::redis::{RedisEndpoint, RedisSettings, Secret};

/// How a setting is given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Not on the command line (config file and environment only).
    None,
    /// `--name VALUE`.
    Value(&'static str),
    /// `--name` alone, which sets the given value (`--no-fsync` sets `fsync` to false).
    Switch(&'static str, &'static str),
}

/// Which commands take a setting's flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every command that opens the workspace or the lock backend (`gc`, `locks`, ...).
    Backend,
    /// Task runs only.
    Run,
}

/// What is declared about one setting, whatever its type.
#[derive(Debug)]
pub struct SettingInfo {
    /// Its section in `kart.toml`: `[core]`, `[scheduler]`, `[worker]`, `[redis]`.
    pub section: &'static str,
    /// Its key in that section.
    pub key: &'static str,
    /// The environment variable that sets it.
    pub env: &'static str,
    /// Its command-line flag.
    pub flag: Flag,
    /// Which commands take the flag.
    pub scope: Scope,
    /// The default, written as a user would write it; `None`: unset unless given.
    pub default: Option<&'static str>,
    /// The value's name in help (`N`, `DURATION`).
    pub value_name: &'static str,
    /// One line of help.
    pub doc: &'static str,
    check_text: fn(&str) -> std::result::Result<(), String>,
    check_json: fn(&Value) -> std::result::Result<(), String>,
}

impl SettingInfo {
    /// Whether `text` is a valid value (for the command line's own check).
    pub fn check(&self, text: &str) -> std::result::Result<(), String> {
        (self.check_text)(text)
    }

    /// The flag's help: its doc, then where else it can be set and its default.
    pub fn help(&self) -> String {
        let mut help = format!(
            "{} [config: {}.{}, env: {}",
            self.doc, self.section, self.key, self.env
        );
        if let (Some(default), Flag::Value(_)) = (self.default, self.flag) {
            help.push_str(&format!(", default: {default}"));
        }
        help.push(']');
        help
    }
}

/// One setting of type `T`.
#[derive(Debug)]
pub struct Setting<T> {
    /// What is declared about it.
    pub info: SettingInfo,
    ty: PhantomData<fn() -> T>,
}

fn check_text<T: Param>(s: &str) -> std::result::Result<(), String> {
    T::parse_param(s).map(drop)
}

fn check_json<T: Param>(v: &Value) -> std::result::Result<(), String> {
    T::from_json(v).map(drop)
}

macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])+
        $name:ident: $ty:ty = [$section:literal] $key:literal, $env:literal, $flag:expr,
            $scope:ident, $default:expr, $value_name:literal;
    )*) => {
        $(
            $(#[doc = $doc])+
            pub const $name: Setting<$ty> = Setting {
                info: SettingInfo {
                    section: $section,
                    key: $key,
                    env: $env,
                    flag: $flag,
                    scope: Scope::$scope,
                    default: $default,
                    value_name: $value_name,
                    doc: concat!($($doc),+).trim_ascii(),
                    check_text: check_text::<$ty>,
                    check_json: check_json::<$ty>,
                },
                ty: PhantomData,
            };
        )*
        /// Every setting, in the order help shows them.
        pub const ALL: &[&SettingInfo] = &[$(&$name.info),*];
    };
}

settings! {
    /// Directory (or s3://, gs://, az:// URL) outputs are written to
    WORKSPACE: String = ["core"] "workspace", "KART_WORKSPACE", Flag::Value("workspace"), Backend, Some("workspace"), "DIR";
    /// Worker threads running tasks in parallel
    WORKERS: usize = ["core"] "workers", "KART_WORKERS", Flag::Value("workers"), Run, Some("1"), "N";
    /// Do not fsync outputs before renaming them into place (faster, less durable)
    FSYNC: bool = ["core"] "fsync", "KART_FSYNC", Flag::Switch("no-fsync", "false"), Run, Some("true"), "BOOL";
    /// Bytes per part when a file output goes to object storage in a multipart upload (at least 5 MiB)
    PART_SIZE: usize = ["core"] "part_size", "KART_PART_SIZE", Flag::Value("part-size"), Backend, Some("8388608"), "BYTES";
    /// Retries of a failed task
    RETRY_COUNT: u32 = ["scheduler"] "retry_count", "KART_RETRY_COUNT", Flag::Value("retry-count"), Run, Some("0"), "N";
    /// Delay before a retry, e.g. 10s (a number is seconds)
    RETRY_DELAY: Duration = ["scheduler"] "retry_delay", "KART_RETRY_DELAY", Flag::Value("retry-delay"), Run, Some("10s"), "DURATION";
    /// Multiply the retry delay by this after each failed attempt, e.g. 2 (exponential backoff; 1 keeps it fixed)
    RETRY_BACKOFF: f64 = ["scheduler"] "retry_backoff", "KART_RETRY_BACKOFF", Flag::Value("retry-backoff"), Run, Some("1"), "FACTOR";
    /// Add a random wait of up to this to every retry, e.g. 5s, so workers retrying together spread out
    RETRY_JITTER: Duration = ["scheduler"] "retry_jitter", "KART_RETRY_JITTER", Flag::Value("retry-jitter"), Run, Some("0s"), "DURATION";
    /// Disable a task after this many failed attempts within disable_window, across runs and processes (0: never)
    DISABLE_FAILURES: u32 = ["scheduler"] "disable_failures", "KART_DISABLE_FAILURES", Flag::Value("disable-failures"), Run, Some("0"), "N";
    /// The window failures are counted in, e.g. 1h
    DISABLE_WINDOW: Duration = ["scheduler"] "disable_window", "KART_DISABLE_WINDOW", Flag::Value("disable-window"), Run, Some("1h"), "DURATION";
    /// How long a disabled task stays disabled, e.g. 1d
    DISABLE_PERSIST: Duration = ["scheduler"] "disable_persist", "KART_DISABLE_PERSIST", Flag::Value("disable-persist"), Run, Some("1d"), "DURATION";
    /// Disable a task still failing this long after its first failure in the window, e.g. 6h
    DISABLE_HARD_TIMEOUT: Duration = ["scheduler"] "disable_hard_timeout", "KART_DISABLE_HARD_TIMEOUT", Flag::Value("disable-hard-timeout"), Run, None, "DURATION";
    /// Keep retrying tasks locked elsewhere until they complete
    KEEP_ALIVE: bool = ["worker"] "keep_alive", "KART_KEEP_ALIVE", Flag::Switch("keep-alive", "true"), Run, Some("false"), "BOOL";
    /// Cancel a task running longer than this, e.g. 30m (a task's own `timeout` wins)
    TASK_TIMEOUT: Duration = ["worker"] "task_timeout", "KART_TASK_TIMEOUT", Flag::Value("task-timeout"), Run, None, "DURATION";
    /// After SIGINT/SIGTERM, cancel running tasks once this has passed, e.g. 30s (default: at a second signal)
    SHUTDOWN_GRACE: Duration = ["worker"] "shutdown_grace", "KART_SHUTDOWN_GRACE", Flag::Value("shutdown-grace"), Run, None, "DURATION";
    /// Do not claim tasks: other processes running the same tasks may run them too
    CLAIMS: bool = ["worker"] "claims", "KART_CLAIMS", Flag::Switch("no-claims", "false"), Run, Some("true"), "BOOL";
    /// How soon a crashed worker's claimed tasks are taken over by others, e.g. 30s (renewed while it runs)
    CLAIM_TTL: Duration = ["worker"] "claim_ttl", "KART_CLAIM_TTL", Flag::Value("claim-ttl"), Run, Some("30s"), "DURATION";
    /// How soon a crashed worker's resource units come back, e.g. 30s (renewed while held)
    RESOURCE_LEASE: Duration = ["worker"] "resource_lease", "KART_RESOURCE_LEASE", Flag::Value("resource-lease"), Run, Some("60s"), "DURATION";
    /// Redis for distributed locks and messages, as a URL: redis://[user:password@]host[:port][/db], rediss:// for TLS
    REDIS_URL: String = ["redis"] "url", "KART_REDIS_URL", Flag::None, Backend, None, "URL";
    /// Redis host for distributed locks and messages
    REDIS_HOST: String = ["redis"] "host", "KART_REDIS_HOST", Flag::Value("redis-host"), Backend, None, "HOST";
    /// Redis port
    REDIS_PORT: u16 = ["redis"] "port", "KART_REDIS_PORT", Flag::Value("redis-port"), Backend, Some("6379"), "PORT";
    /// Redis database number
    REDIS_DB: i64 = ["redis"] "db", "KART_REDIS_DB", Flag::None, Backend, Some("0"), "N";
    /// Redis ACL user (default: `default`)
    REDIS_USERNAME: String = ["redis"] "username", "KART_REDIS_USERNAME", Flag::None, Backend, None, "USER";
    /// Redis password (prefer password_file)
    REDIS_PASSWORD: String = ["redis"] "password", "KART_REDIS_PASSWORD", Flag::None, Backend, None, "PASSWORD";
    /// File holding the Redis password (trailing newline dropped)
    REDIS_PASSWORD_FILE: String = ["redis"] "password_file", "KART_REDIS_PASSWORD_FILE", Flag::None, Backend, None, "FILE";
    /// Talk TLS to Redis when host/port are given instead of a rediss:// URL
    REDIS_TLS: bool = ["redis"] "tls", "KART_REDIS_TLS", Flag::None, Backend, Some("false"), "BOOL";
    /// A private CA to trust for Redis TLS, besides the system's
    REDIS_CA_FILE: String = ["redis"] "ca_file", "KART_REDIS_CA_FILE", Flag::None, Backend, None, "FILE";
    /// Prefix of kart's Redis keys (default: kart:<hash of the workspace>, so workspaces sharing a server never contend)
    REDIS_PREFIX: String = ["redis"] "prefix", "KART_REDIS_PREFIX", Flag::Value("redis-prefix"), Backend, None, "PREFIX";
    /// Do not share this run's events with other workers (the Redis stream, or the workspace's event log)
    SHARE_EVENTS: bool = ["events"] "share", "KART_SHARE_EVENTS", Flag::Switch("no-shared-events", "false"), Run, Some("true"), "BOOL";
    /// About how many events the Redis stream keeps (older ones are trimmed)
    EVENTS_STREAM_MAX_LEN: usize = ["events"] "stream_max_len", "KART_EVENTS_STREAM_MAX_LEN", Flag::None, Backend, Some("1000000"), "N";
    /// How many events may wait to be shared; while the log keeps up a run waits for room, once it stalls what does not fit is dropped and counted
    EVENTS_QUEUE: usize = ["events"] "queue", "KART_EVENTS_QUEUE", Flag::None, Run, Some("65536"), "N";
    /// How often a running process says it is alive, and what it runs, in the shared events, e.g. 5s
    HEARTBEAT: Duration = ["events"] "heartbeat", "KART_HEARTBEAT", Flag::Value("heartbeat"), Run, Some("5s"), "DURATION";
    /// A #[run_with_lock] task held elsewhere fails fast and is retried later, instead of waiting
    REDIS_FAIL_ON_COLLISION: bool = ["redis"] "fail_on_collision", "KART_REDIS_FAIL_ON_COLLISION", Flag::Switch("redis-fail-on-collision", "true"), Run, Some("false"), "BOOL";
}

/// The config sections settings live in.
pub(crate) const SECTIONS: &[&str] = &["core", "scheduler", "worker", "redis", "events"];

/// Settings given on the command line (or by a program), as text.
#[derive(Debug, Clone, Default)]
pub struct Overrides(BTreeMap<(&'static str, &'static str), String>);

impl Overrides {
    /// Sets `setting` to `value` (checked when the settings are resolved).
    pub fn set(&mut self, setting: &SettingInfo, value: impl Into<String>) {
        self.0.insert((setting.section, setting.key), value.into());
    }

    /// Adds what `other` sets (its values win).
    pub fn extend(&mut self, other: &Overrides) {
        self.0.extend(other.0.iter().map(|(k, v)| (*k, v.clone())));
    }

    fn get(&self, setting: &SettingInfo) -> Option<&str> {
        self.0
            .get(&(setting.section, setting.key))
            .map(String::as_str)
    }
}

/// Checks the keys of one settings section of a config file: each must be a setting, with a
/// value of its type. The error names the key's line.
pub(super) fn check_section(config: &Config, section: &str, table: &toml::Table) -> Result<()> {
    for (key, value) in table {
        let Some(setting) = ALL.iter().find(|s| s.section == section && s.key == key) else {
            let known: Vec<&str> = ALL
                .iter()
                .filter(|s| s.section == section)
                .map(|s| s.key)
                .collect();
            return Err(config.error(
                section,
                key,
                format!(
                    "unknown key `{key}` in [{section}], expected one of {}",
                    known.join(", ")
                ),
            ));
        };
        let json = serde_json::to_value(value).unwrap_or(Value::Null);
        (setting.check_json)(&json)
            .map_err(|e| config.error(section, key, format!("`{key}`: {e}")))?;
    }
    Ok(())
}

/// Where a value came from.
#[derive(Clone, Copy)]
enum Source {
    CommandLine,
    Env,
    Config,
}

/// The command line, the environment and the config file, looked up setting by setting.
struct Sources<'a> {
    cli: &'a Overrides,
    config: &'a Config,
}

impl Sources<'_> {
    /// The value `source` gives `setting`, if any.
    fn from<T: Param>(&self, setting: &Setting<T>, source: Source) -> Result<Option<T>> {
        let s = &setting.info;
        match source {
            Source::CommandLine => match self.cli.get(s) {
                Some(text) => {
                    T::parse_param(text)
                        .map(Some)
                        .map_err(|message| Error::InvalidOption {
                            what: match s.flag {
                                Flag::Value(long) | Flag::Switch(long, _) => format!("--{long}"),
                                Flag::None => format!("{}.{}", s.section, s.key),
                            },
                            message,
                        })
                }
                None => Ok(None),
            },
            Source::Env => match std::env::var(s.env) {
                Ok(v) if !v.is_empty() => {
                    T::parse_param(&v)
                        .map(Some)
                        .map_err(|message| Error::InvalidOption {
                            what: format!("environment variable {}={v:?}", s.env),
                            message,
                        })
                }
                _ => Ok(None),
            },
            Source::Config => match self.config.setting(s.section, s.key) {
                Some(value) => {
                    let json = serde_json::to_value(value).unwrap_or(Value::Null);
                    T::from_json(&json).map(Some).map_err(|e| {
                        self.config
                            .error(s.section, s.key, format!("`{}`: {e}", s.key))
                    })
                }
                None => Ok(None),
            },
        }
    }

    /// The value given with the highest precedence, if any.
    fn given<T: Param>(&self, setting: &Setting<T>) -> Result<Option<T>> {
        for source in [Source::CommandLine, Source::Env, Source::Config] {
            if let Some(v) = self.from(setting, source)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    }

    /// The value given, else the default.
    fn get<T: Param>(&self, setting: &Setting<T>) -> Result<T> {
        if let Some(v) = self.given(setting)? {
            return Ok(v);
        }
        let default = setting
            .info
            .default
            .expect("a setting read with get has a default");
        Ok(T::parse_param(default).expect("declared defaults parse"))
    }

    /// The Redis settings one source gives: its URL, then its fields.
    fn redis_layer(&self, source: Source) -> Result<RedisSettings> {
        let url = self.from(&REDIS_URL, source)?.unwrap_or_default();
        let what = match source {
            Source::CommandLine => "--redis-url",
            Source::Env => REDIS_URL.info.env,
            Source::Config => "[redis] url",
        };
        let password = match self.from(&REDIS_PASSWORD_FILE, source)? {
            Some(file) => Some(read_password_file(Path::new(&file))?),
            None => self.from(&REDIS_PASSWORD, source)?.map(Secret::new),
        };
        Ok(RedisSettings::from_url(&url, what)?.over(RedisSettings {
            host: self.from(&REDIS_HOST, source)?,
            port: self.from(&REDIS_PORT, source)?,
            db: self.from(&REDIS_DB, source)?,
            username: self.from(&REDIS_USERNAME, source)?,
            password,
            tls: self.from(&REDIS_TLS, source)?,
            ca_file: self.from(&REDIS_CA_FILE, source)?.map(PathBuf::from),
        }))
    }
}

/// A password read from a file (trailing newline dropped), so it stays out of config files,
/// process lists and shell history.
fn read_password_file(path: &Path) -> Result<Secret> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io("cannot read the Redis password file", path, e))?;
    Ok(Secret::new(text.trim_end_matches(['\n', '\r'])))
}

/// The resolved settings of a run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where outputs go ([`WORKSPACE`]).
    pub workspace: PathBuf,
    /// Worker threads ([`WORKERS`]).
    pub workers: usize,
    /// Retries of a failed task ([`RETRY_COUNT`]).
    pub retry_count: u32,
    /// Delay before a retry ([`RETRY_DELAY`]).
    pub retry_delay: Duration,
    /// Factor the delay grows by after each failed attempt ([`RETRY_BACKOFF`]).
    pub retry_backoff: f64,
    /// Most random wait added to a retry ([`RETRY_JITTER`]).
    pub retry_jitter: Duration,
    /// Failures within `disable_window` that disable a task; 0: never ([`DISABLE_FAILURES`]).
    pub disable_failures: u32,
    /// The window failures are counted in ([`DISABLE_WINDOW`]).
    pub disable_window: Duration,
    /// How long a disabled task stays disabled ([`DISABLE_PERSIST`]).
    pub disable_persist: Duration,
    /// A task still failing this long after its first failure is disabled
    /// ([`DISABLE_HARD_TIMEOUT`]).
    pub disable_hard_timeout: Option<Duration>,
    /// Keep waiting for tasks that may become runnable ([`KEEP_ALIVE`]).
    pub keep_alive: bool,
    /// fsync every output before renaming it into place ([`FSYNC`]).
    pub fsync: bool,
    /// Bytes per part of a multipart upload to object storage ([`PART_SIZE`]).
    pub part_size: usize,
    /// The shared Redis, when locks and messages go through one (a host results from the
    /// `REDIS_*` settings: each source's URL, then its fields, over the one below it).
    pub redis: Option<RedisEndpoint>,
    /// Prefix of every Redis key ([`REDIS_PREFIX`]): as given, else `kart:<workspace
    /// identity>` (see [`Workspace::identity`](crate::Workspace::identity)), so two
    /// workspaces sharing one Redis never share a lock.
    pub redis_prefix: String,
    /// A locked task fails fast and is retried instead of waiting ([`REDIS_FAIL_ON_COLLISION`]).
    pub redis_fail_on_collision: bool,
    /// Default run timeout of a task ([`TASK_TIMEOUT`]).
    pub task_timeout: Option<Duration>,
    /// After SIGINT/SIGTERM, how long running tasks may finish before they are cancelled
    /// ([`SHUTDOWN_GRACE`]; default: until a second signal).
    pub shutdown_grace: Option<Duration>,
    /// TTL of a held resource unit, renewed while its task runs ([`RESOURCE_LEASE`]).
    pub resource_lease: Duration,
    /// Claim each task before running it, so processes sharing the backend run it once
    /// ([`CLAIMS`]).
    pub claims: bool,
    /// TTL of a claim, renewed while its task runs ([`CLAIM_TTL`]).
    pub claim_ttl: Duration,
    /// Share the run's events with other workers ([`SHARE_EVENTS`]).
    pub share_events: bool,
    /// About how many entries the Redis event stream keeps ([`EVENTS_STREAM_MAX_LEN`]).
    pub events_stream_max_len: usize,
    /// How many events may wait to be shared ([`EVENTS_QUEUE`]).
    pub events_queue: usize,
    /// How often a running process sends a heartbeat ([`HEARTBEAT`]).
    pub heartbeat: Duration,
}

/// The smallest part of a multipart upload S3 accepts (every part but the last).
const MIN_PART_SIZE: usize = 5 << 20;

impl Settings {
    /// Resolves each setting: `cli`, then environment (`KART_*`), then `config`, then default.
    pub fn resolve(cli: &Overrides, config: &Config) -> Result<Self> {
        let src = Sources { cli, config };
        let workers = src.get(&WORKERS)?;
        if workers == 0 {
            return Err(Error::InvalidOption {
                what: "workers".into(),
                message: "must be at least 1".into(),
            });
        }
        let retry_backoff = src.get(&RETRY_BACKOFF)?;
        if !(1.0..=1000.0).contains(&retry_backoff) {
            return Err(Error::InvalidOption {
                what: "retry_backoff".into(),
                message: format!("{retry_backoff} is not a factor between 1 and 1000"),
            });
        }
        let part_size = src.get(&PART_SIZE)?;
        if part_size < MIN_PART_SIZE {
            return Err(Error::InvalidOption {
                what: "part_size".into(),
                message: format!(
                    "{part_size} bytes is below {MIN_PART_SIZE} (5 MiB), the smallest part S3 accepts"
                ),
            });
        }
        let workspace = PathBuf::from(src.get(&WORKSPACE)?);
        let redis_prefix = match src.given(&REDIS_PREFIX)? {
            Some(prefix) => prefix,
            None => format!(
                "kart:{}",
                crate::Workspace::identity(&workspace.to_string_lossy())
            ),
        };
        let redis = src
            .redis_layer(Source::Config)?
            .over(src.redis_layer(Source::Env)?)
            .over(src.redis_layer(Source::CommandLine)?)
            .endpoint();
        Ok(Settings {
            workspace,
            workers,
            retry_count: src.get(&RETRY_COUNT)?,
            retry_delay: src.get(&RETRY_DELAY)?,
            retry_backoff,
            retry_jitter: src.get(&RETRY_JITTER)?,
            disable_failures: src.get(&DISABLE_FAILURES)?,
            disable_window: src.get(&DISABLE_WINDOW)?,
            disable_persist: src.get(&DISABLE_PERSIST)?,
            disable_hard_timeout: src.given(&DISABLE_HARD_TIMEOUT)?,
            keep_alive: src.get(&KEEP_ALIVE)?,
            fsync: src.get(&FSYNC)?,
            part_size,
            redis,
            redis_prefix,
            redis_fail_on_collision: src.get(&REDIS_FAIL_ON_COLLISION)?,
            task_timeout: src.given(&TASK_TIMEOUT)?,
            shutdown_grace: src.given(&SHUTDOWN_GRACE)?,
            resource_lease: src.get(&RESOURCE_LEASE)?,
            claims: src.get(&CLAIMS)?,
            claim_ttl: src.get(&CLAIM_TTL)?,
            share_events: src.get(&SHARE_EVENTS)?,
            events_stream_max_len: src.get(&EVENTS_STREAM_MAX_LEN)?,
            events_queue: src.get(&EVENTS_QUEUE)?,
            heartbeat: src.get(&HEARTBEAT)?,
        })
    }

    /// The workspace as given: a directory, or a URL (`s3://bucket/prefix`, ...).
    pub fn workspace_location(&self) -> String {
        self.workspace.to_string_lossy().into_owned()
    }

    /// Where this machine keeps the workspace's local state (file locks, messages).
    pub fn state_dir(&self) -> PathBuf {
        crate::workspace::Workspace::state_dir_for(&self.workspace_location())
    }

    /// The log this run's events are shared in: the Redis stream when Redis coordinates,
    /// else the workspace's event log on this machine.
    pub fn shared_events(&self) -> Result<crate::event::shared::SharedLog> {
        use crate::event::shared::SharedLog;
        match &self.redis {
            Some(endpoint) => {
                SharedLog::redis(endpoint, &self.redis_prefix, self.events_stream_max_len)
            }
            None => Ok(SharedLog::dir(&self.state_dir())),
        }
    }

    /// Opens the workspace these settings name.
    pub fn open_workspace(&self) -> Result<crate::Workspace> {
        crate::Workspace::open_with(&self.workspace_location(), self.fsync, self.part_size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_is_declared_once_and_its_default_parses() {
        let mut seen = std::collections::HashSet::new();
        for s in ALL {
            assert!(
                seen.insert((s.section, s.key)),
                "{}.{} twice",
                s.section,
                s.key
            );
            assert!(seen.insert((s.env, "")), "{} twice", s.env);
            if let Some(default) = s.default {
                s.check(default).unwrap();
            }
            assert!(SECTIONS.contains(&s.section));
        }
    }

    #[test]
    fn the_command_line_beats_the_environment_beats_the_config_beats_the_default() {
        let config = Config::parse(
            "[scheduler]\nretry_count = 3\nretry_delay = 5\n",
            Path::new("k.toml"),
        )
        .unwrap();
        let mut cli = Overrides::default();
        let s = Settings::resolve(&cli, &config).unwrap();
        assert_eq!((s.retry_count, s.retry_delay.to_string()), (3, "5s".into()));
        assert_eq!(s.workers, 1);
        cli.set(&RETRY_COUNT.info, "7");
        let s = Settings::resolve(&cli, &config).unwrap();
        assert_eq!(s.retry_count, 7);
        cli.set(&WORKERS.info, "many");
        let e = Settings::resolve(&cli, &config).unwrap_err().to_string();
        assert!(e.contains("--workers"), "{e}");
    }

    #[test]
    fn the_readme_lists_every_setting_as_declared() {
        let readme = include_str!("../../../README.md");
        for s in ALL {
            let flag = match s.flag {
                Flag::None => "—".to_string(),
                Flag::Value(long) => format!("`--{long} {}`", s.value_name),
                Flag::Switch(long, _) => format!("`--{long}`"),
            };
            let row = format!("| `[{}] {}` | `{}` | {flag} |", s.section, s.key, s.env);
            assert!(readme.contains(&row), "README lacks the row {row}");
        }
    }
}
