//! The clap commands: fixed run flags by derive, per-task flags by the builder API from the
//! registry's parameter schema.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, Command};
use kart_core::config::SettingsOverrides;
use kart_core::registry::{Registry, TaskEntry};
use kart_core::{Duration, ParamKind};

/// Where the workspace and the lock backend are: shared by task runs and `locks`.
#[derive(Debug, Args)]
pub struct BackendFlags {
    /// Directory outputs are written to [config: core.workspace, env: KART_WORKSPACE, default: ./workspace]
    #[arg(long, value_name = "DIR", help_heading = "Run options", global = true)]
    pub workspace: Option<PathBuf>,
    /// Config file [env: KART_CONFIG, default: ./kart.toml if present]
    #[arg(long, value_name = "FILE", help_heading = "Run options", global = true)]
    pub config: Option<PathBuf>,
    /// Redis host for distributed locks [config: redis.host, env: KART_REDIS_HOST or KART_REDIS_URL]
    #[arg(long, value_name = "HOST", help_heading = "Run options", global = true)]
    pub redis_host: Option<String>,
    /// Redis port [config: redis.port, env: KART_REDIS_PORT, default: 6379]
    #[arg(long, value_name = "PORT", help_heading = "Run options", global = true)]
    pub redis_port: Option<u16>,
    /// Prefix of kart's Redis keys [config: redis.prefix, default: kart:<hash of the workspace>, so workspaces sharing a server never contend]
    #[arg(
        long,
        value_name = "PREFIX",
        help_heading = "Run options",
        global = true
    )]
    pub redis_prefix: Option<String>,
}

// Flags every task command accepts (no doc comment: clap would make it the command's about).
#[derive(Debug, Args)]
pub struct RunFlags {
    #[command(flatten)]
    pub backend: BackendFlags,
    /// Worker threads running tasks in parallel [config: core.workers, env: KART_WORKERS, default: 1]
    #[arg(long, value_name = "N", help_heading = "Run options")]
    pub workers: Option<usize>,
    /// Append every event of the run to FILE as JSON lines
    #[arg(long, value_name = "FILE", help_heading = "Run options")]
    pub events: Option<PathBuf>,
    /// Accepted for Luigi habits; the local scheduler is the default
    #[arg(long, help_heading = "Run options")]
    pub local_scheduler: bool,
    /// Retries of a failed task [config: scheduler.retry_count, default: 0]
    #[arg(long, value_name = "N", help_heading = "Run options")]
    pub retry_count: Option<u32>,
    /// Delay before a retry, e.g. 10s [config: scheduler.retry_delay, default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Run options")]
    pub retry_delay: Option<Duration>,
    /// Keep retrying tasks locked elsewhere until they complete [config: worker.keep_alive]
    #[arg(long, help_heading = "Run options")]
    pub keep_alive: bool,
    /// A #[run_with_lock] task held elsewhere fails fast and is retried later, instead of waiting [config: redis.fail_on_collision]
    #[arg(long, help_heading = "Run options")]
    pub redis_fail_on_collision: bool,
    /// Cancel a task running longer than this, e.g. 30m (a task's own `timeout` wins) [config: worker.task_timeout]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Run options")]
    pub task_timeout: Option<Duration>,
    /// After SIGINT/SIGTERM, cancel running tasks once this has passed, e.g. 30s (default: at a second signal) [config: worker.shutdown_grace]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Run options")]
    pub shutdown_grace: Option<Duration>,
    /// How soon a crashed worker's resource units come back, e.g. 30s (renewed while held) [config: worker.resource_lease, default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Run options")]
    pub resource_lease: Option<Duration>,
    /// Limit of a scheduler resource, e.g. --resource warehouse_db=2 (repeatable; default limit 1) [config: resources]
    #[arg(long = "resource", value_name = "NAME=N", value_parser = parse_resource, help_heading = "Run options")]
    pub resources: Vec<(String, u32)>,
    /// Do not fsync outputs before renaming them into place (faster, less durable)
    #[arg(long, help_heading = "Run options")]
    pub no_fsync: bool,
    /// Print the tasks that would run, in order, and run nothing
    #[arg(long, help_heading = "Run options")]
    pub dry_run: bool,
    /// More log output (-vv for debug)
    #[arg(short, long, action = ArgAction::Count, help_heading = "Run options")]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, help_heading = "Run options")]
    pub quiet: bool,
}

fn parse_resource(s: &str) -> Result<(String, u32), String> {
    let (name, n) = s.split_once('=').ok_or("expected NAME=N")?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("limit {n:?} is not a whole number"))?;
    Ok((name.trim().to_string(), n))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    s.parse()
}

impl RunFlags {
    /// The settings these flags override.
    pub fn overrides(&self) -> SettingsOverrides {
        SettingsOverrides {
            workers: self.workers,
            retry_count: self.retry_count,
            retry_delay: self.retry_delay,
            keep_alive: self.keep_alive.then_some(true),
            fsync: self.no_fsync.then_some(false),
            redis_fail_on_collision: self.redis_fail_on_collision.then_some(true),
            task_timeout: self.task_timeout,
            shutdown_grace: self.shutdown_grace,
            resource_lease: self.resource_lease,
            ..self.backend.overrides()
        }
    }
}

impl BackendFlags {
    /// The settings these flags override.
    pub fn overrides(&self) -> SettingsOverrides {
        SettingsOverrides {
            workspace: self.workspace.clone(),
            redis_host: self.redis_host.clone(),
            redis_port: self.redis_port,
            redis_prefix: self.redis_prefix.clone(),
            ..SettingsOverrides::default()
        }
    }
}

/// Arg id of a task parameter (`date`) and of a class-level flag (`SomeReport-date`).
pub fn param_id(name: &str) -> String {
    format!("param:{name}")
}

fn class_level_id(family: &str, name: &str) -> String {
    format!("class:{family}:{name}")
}

fn param_help(entry: &TaskEntry, p: &kart_core::registry::ParamSpec) -> String {
    let _ = entry;
    let mut help = p.doc.lines().next().unwrap_or("").to_string();
    if !help.is_empty() {
        help.push(' ');
    }
    help.push_str(&format!("[{}]", (p.type_name)()));
    match p.default {
        Some(default) => help.push_str(&format!(" [default: {}]", default())),
        None => help.push_str(" [required]"),
    }
    if !p.significant {
        help.push_str(" [not part of the task id]");
    }
    help
}

fn value_arg(id: String, long: String, kind: ParamKind) -> Arg {
    let arg = Arg::new(id).long(long).action(ArgAction::Set);
    if kind == ParamKind::Bool {
        // Luigi's BoolParameter: `--flag` alone means true.
        arg.num_args(0..=1).default_missing_value("true")
    } else {
        // Values may start with `-` (negative numbers).
        arg.allow_hyphen_values(true)
    }
}

/// The command for one task: its parameters, the run flags, and Luigi's class-level
/// `--Family-param` flags for every registered family (hidden from help).
pub fn task_command(bin: &str, entry: &'static TaskEntry, registry: &Registry) -> Command {
    let mut cmd = Command::new(entry.name())
        .bin_name(format!("{bin} {}", entry.name()))
        .disable_version_flag(true)
        .next_help_heading("Parameters");
    for p in entry.params {
        cmd = cmd.arg(
            value_arg(param_id(p.name), p.flag(), (p.kind)())
                .value_name(p.name.to_uppercase())
                .help(param_help(entry, p)),
        );
    }
    cmd = RunFlags::augment_args(cmd)
        .about(entry.doc.lines().next().unwrap_or("").to_string())
        .long_about((!entry.doc.is_empty()).then_some(entry.doc));
    for other in registry.iter() {
        for p in other.params {
            cmd = cmd.arg(
                value_arg(
                    class_level_id(other.name(), p.name),
                    format!("{}-{}", other.name(), p.flag()),
                    (p.kind)(),
                )
                .hide(true)
                .help(format!("Sets `{}` of every {} task", p.name, other.name())),
            );
        }
    }
    cmd.after_help(format!(
        "Any task's parameter can be set for every instance of its family with --Family-param VALUE (e.g. --{}-{} ...).",
        entry.name(),
        entry.params.first().map_or("param".to_string(), |p| p.flag())
    ))
}

/// `deps <Task>`: the same command with the graph options.
pub fn deps_command(bin: &str, entry: &'static TaskEntry, registry: &Registry) -> Command {
    task_command(bin, entry, registry)
        .bin_name(format!("{bin} deps {}", entry.name()))
        .about(format!(
            "The dependency tree of {}, each task marked complete or pending",
            entry.name()
        ))
        .next_help_heading("Graph options")
        .arg(Arg::new("dot").long("dot").action(ArgAction::SetTrue).help(
            "Print Graphviz DOT instead of the tree (complete filled, pending hollow, failed red)",
        ))
        .arg(
            Arg::new("svg")
                .long("svg")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Render the graph to an SVG file with Graphviz `dot`"),
        )
}

/// Values of the task's own parameters, in the order given.
pub fn given_params(entry: &TaskEntry, m: &ArgMatches) -> Vec<(String, String)> {
    entry
        .params
        .iter()
        .filter_map(|p| {
            m.get_one::<String>(&param_id(p.name))
                .map(|v| (p.name.to_string(), v.clone()))
        })
        .collect()
}

/// Class-level values: `(family, param, value)`.
pub fn class_level_params(registry: &Registry, m: &ArgMatches) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for entry in registry.iter() {
        for p in entry.params {
            if let Some(v) = m.get_one::<String>(&class_level_id(entry.name(), p.name)) {
                out.push((entry.name().to_string(), p.name.to_string(), v.clone()));
            }
        }
    }
    out
}

/// The top-level command, for help: every task as a subcommand, plus the built-in commands.
pub fn top_command(bin: &str, registry: &Registry) -> Command {
    let mut cmd = Command::new(bin.to_string())
        .about("Runs a task of this pipeline and everything it requires")
        .override_usage(format!(
            "{bin} <TASK> [--PARAM VALUE ...] [RUN OPTIONS]\n       {bin} <TASK> --help\n       {bin} list\n       {bin} locks list|clear\n       {bin} gc [--older-than 30d] [--dry-run]\n       {bin} message <TASK_ID> <TEXT> | --list"
        ))
        .subcommand_help_heading("Tasks and commands")
        .subcommand(Command::new("list").about("List the registered tasks with their parameters"))
        .subcommand(Command::new("locks").about("List held locks, or clear stale ones (`locks --help`)"))
        .subcommand(Command::new("gc").about("Remove old intermediate outputs (`gc --help`)"))
        .subcommand(
            Command::new("message")
                .about("Send a message to a running task, print its response (`message --help`)"),
        );
    for entry in registry.iter() {
        cmd = cmd.subcommand(
            Command::new(entry.name()).about(entry.doc.lines().next().unwrap_or("").to_string()),
        );
    }
    cmd
}

/// `locks`: operations on held locks.
#[derive(Debug, clap::Parser)]
#[command(about = "List held locks, or clear stale ones")]
pub struct LocksCommand {
    #[command(subcommand)]
    pub action: LocksAction,
    #[command(flatten)]
    pub backend: BackendFlags,
}

#[derive(Debug, clap::Subcommand)]
pub enum LocksAction {
    /// Held locks with holder (host, pid, task), age and TTL
    List,
    /// Remove a stale lock (its holder crashed) or all of them, after confirming
    Clear {
        /// The lock's key, as `locks list` shows it
        #[arg(required_unless_present = "all")]
        key: Option<String>,
        /// Every held lock
        #[arg(long, conflicts_with = "key")]
        all: bool,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
    },
}

/// `gc`: removes old outputs of `#[task(intermediate)]` families.
#[derive(Debug, clap::Parser)]
#[command(
    about = "Remove intermediate outputs last written before a bound (never other outputs, never one in use)"
)]
pub struct GcCommand {
    /// Only outputs last written longer ago than this, e.g. 30d, 12h
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30d")]
    pub older_than: Duration,
    /// List what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub backend: BackendFlags,
}

/// `message`: talks to a running `#[task(accepts_messages)]` task.
#[derive(Debug, clap::Parser)]
#[command(
    about = "Send a message to a running task and print its response (Luigi's scheduler messages)"
)]
pub struct MessageCommand {
    /// The running task's id (`message --list` shows them)
    #[arg(required_unless_present = "list")]
    pub task_id: Option<String>,
    /// The message
    #[arg(required_unless_present = "list")]
    pub text: Option<String>,
    /// How long to wait for the response
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "10s")]
    pub wait: Duration,
    /// List the running tasks that accept messages
    #[arg(long, conflicts_with_all = ["task_id", "text"])]
    pub list: bool,
    #[command(flatten)]
    pub backend: BackendFlags,
}
