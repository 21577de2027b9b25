//! The clap commands: fixed run flags by derive, per-task flags by the builder API from the
//! registry's parameter schema.

use std::path::PathBuf;

use clap::{Arg, ArgAction, ArgMatches, Args, Command};
use kart_core::config::settings::{self, Flag, Scope, SettingInfo};
use kart_core::config::Overrides;
use kart_core::registry::{Registry, TaskEntry};
use kart_core::{Duration, ParamKind};

/// The arg id of a setting's flag.
fn setting_id(s: &SettingInfo) -> String {
    format!("setting:{}.{}", s.section, s.key)
}

/// The flags of the settings in `scope`, as their declarations describe them.
fn setting_args(cmd: Command, scope: Scope) -> Command {
    settings::ALL
        .iter()
        .copied()
        .filter(|s| s.scope == scope)
        .fold(cmd, |cmd, s: &'static SettingInfo| {
            let arg = match s.flag {
                Flag::None => return cmd,
                Flag::Value(long) => Arg::new(setting_id(s))
                    .long(long)
                    .value_name(s.value_name)
                    .action(ArgAction::Set)
                    .value_parser(move |v: &str| s.check(v).map(|()| v.to_string())),
                Flag::Switch(long, _) => Arg::new(setting_id(s))
                    .long(long)
                    .action(ArgAction::SetTrue),
            };
            cmd.arg(
                arg.help(s.help())
                    .help_heading("Run options")
                    .global(scope == Scope::Backend),
            )
        })
}

/// The settings in `scope` that `m` gives.
fn read_settings(m: &ArgMatches, scope: Scope, into: &mut Overrides) {
    for s in settings::ALL.iter().filter(|s| s.scope == scope) {
        let id = setting_id(s);
        match s.flag {
            Flag::None => {}
            Flag::Value(_) => {
                if let Some(v) = m.get_one::<String>(&id) {
                    into.set(s, v.clone());
                }
            }
            Flag::Switch(_, value) => {
                if m.get_flag(&id) {
                    into.set(s, value);
                }
            }
        }
    }
}

/// The flags of the settings in one scope (`RUN`: task runs, else every command), for
/// `#[command(flatten)]`.
#[derive(Debug, Clone, Default)]
pub struct SettingFlags<const RUN: bool> {
    /// The settings given.
    pub overrides: Overrides,
}

impl<const RUN: bool> SettingFlags<RUN> {
    const SCOPE: Scope = if RUN { Scope::Run } else { Scope::Backend };
}

impl<const RUN: bool> clap::FromArgMatches for SettingFlags<RUN> {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = Self::default();
        flags.update_from_arg_matches(m)?;
        Ok(flags)
    }
    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        read_settings(m, Self::SCOPE, &mut self.overrides);
        Ok(())
    }
}

impl<const RUN: bool> Args for SettingFlags<RUN> {
    fn augment_args(cmd: Command) -> Command {
        setting_args(cmd, Self::SCOPE)
    }
    fn augment_args_for_update(cmd: Command) -> Command {
        setting_args(cmd, Self::SCOPE)
    }
}

/// Where the workspace and the lock backend are, and the config file: every command takes
/// these.
#[derive(Debug, Args)]
pub struct BackendFlags {
    /// Config file [env: KART_CONFIG, default: ./kart.toml if present]
    #[arg(long, value_name = "FILE", help_heading = "Run options", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: SettingFlags<false>,
}

// Flags every task command accepts (no doc comment: clap would make it the command's about).
#[derive(Debug, Args)]
pub struct RunFlags {
    #[command(flatten)]
    pub backend: BackendFlags,
    #[command(flatten)]
    pub settings: SettingFlags<true>,
    /// Append every event of the run to FILE as JSON lines
    #[arg(long, value_name = "FILE", help_heading = "Run options")]
    pub events: Option<PathBuf>,
    /// Accepted for Luigi habits; the local scheduler is the default
    #[arg(long, help_heading = "Run options")]
    pub local_scheduler: bool,
    /// Limit of a scheduler resource, e.g. --resource warehouse_db=2 (repeatable; default limit 1) [config: resources]
    #[arg(long = "resource", value_name = "NAME=N", value_parser = parse_resource, help_heading = "Run options")]
    pub resources: Vec<(String, u32)>,
    /// Where a table task's database is, e.g. --database warehouse=postgres://user@host/db (repeatable) [config: databases.NAME.url; env: KART_DATABASE_NAME]
    #[arg(
        long = "database",
        value_name = "NAME=URL",
        help_heading = "Run options"
    )]
    pub databases: Vec<String>,
    /// Print the tasks that would run, in order, and run nothing
    #[arg(long, help_heading = "Run options")]
    pub dry_run: bool,
    /// More log output (-vv for debug)
    #[arg(short, long, action = ArgAction::Count, help_heading = "Run options")]
    pub verbose: u8,
    /// Print nothing on success, only what did not complete otherwise
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
    pub fn overrides(&self) -> Overrides {
        let mut all = self.backend.settings.overrides.clone();
        all.extend(&self.settings.overrides);
        all
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
        .about(first_sentence(entry.doc))
        .long_about((!entry.doc.is_empty()).then_some(entry.doc));
    for other in registry.iter() {
        // Luigi's `--Family-priority`, unless the family has a parameter of that name.
        if other.param("priority").is_none() {
            cmd = cmd.arg(
                Arg::new(priority_id(other.name()))
                    .long(format!("{}-priority", other.name()))
                    .value_parser(clap::value_parser!(i64))
                    .allow_hyphen_values(true)
                    .hide(true)
                    .help(format!("Sets the priority of every {} task", other.name())),
            );
        }
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
            "The dependency tree of {}, each task marked complete, pending, failed, not run or corrupt",
            entry.name()
        ))
        .next_help_heading("Graph options")
        .arg(Arg::new("dot").long("dot").action(ArgAction::SetTrue).help(
            "Print Graphviz DOT instead of the tree (complete green, pending hollow, failed red, not run grey, corrupt orange), with a legend",
        ))
        .arg(
            Arg::new("families")
                .long("families")
                .action(ArgAction::SetTrue)
                .help("One node per family with how many of its tasks are complete, pending, failed, ... (text, --dot or --svg)"),
        )
        .arg(
            Arg::new("svg")
                .long("svg")
                .value_name("FILE")
                .value_parser(clap::value_parser!(PathBuf))
                .help("Render the graph to an SVG file with Graphviz `dot`"),
        )
}

/// `show <TASK>`: the task's parameters and backend flags.
pub fn show_command(bin: &str, entry: &'static TaskEntry, registry: &Registry) -> Command {
    task_command(bin, entry, registry)
        .bin_name(format!("{bin} show {}", entry.name()))
        .about(format!(
            "Print the output of {}: a value as JSON, a file's or directory's place and size, or \"not complete\"",
            entry.name()
        ))
}

/// `invalidate <TASK>`: which outputs in its graph to remove.
pub fn invalidate_command(bin: &str, entry: &'static TaskEntry, registry: &Registry) -> Command {
    task_command(bin, entry, registry)
        .bin_name(format!("{bin} invalidate {}", entry.name()))
        .about(format!(
            "Remove outputs in the graph of {} so the next run makes them again",
            entry.name()
        ))
        .next_help_heading("Invalidation options")
        .arg(
            Arg::new("family")
                .long("family")
                .value_name("FAMILY")
                .action(ArgAction::Append)
                .help("Remove the outputs of this family's tasks in the graph instead of the task's own (repeatable)"),
        )
        .arg(Arg::new("downstream").long("downstream").action(ArgAction::SetTrue).help(
            "Also remove every complete task in the graph that depends on them (gokart's rerun); with --dry-run, only list them",
        ))
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

fn priority_id(family: &str) -> String {
    format!("priority:{family}")
}

/// Priorities given to whole families: `--Family-priority N`.
pub fn family_priorities(
    registry: &Registry,
    m: &ArgMatches,
) -> std::collections::BTreeMap<String, i64> {
    registry
        .iter()
        .filter_map(|e| {
            m.try_get_one::<i64>(&priority_id(e.name()))
                .ok()
                .flatten()
                .map(|&p| (e.name().to_string(), p))
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
            "{bin} <TASK> [--PARAM VALUE ...] [RUN OPTIONS]\n       {bin} <TASK> --help\n       {bin} list\n       {bin} deps <TASK> [--PARAM VALUE ...] [--families] [--dot | --svg FILE]\n       {bin} show <TASK> [--PARAM VALUE ...]\n       {bin} invalidate <TASK> [--PARAM VALUE ...] [--family FAMILY] [--downstream] [--dry-run]\n       {bin} locks list|clear\n       {bin} gc [--older-than 30d] [--dry-run]\n       {bin} events [--follow] [--run RUN] [--event KIND]\n       {bin} ui [--bind 127.0.0.1:8082]\n       {bin} message <TASK_ID> <TEXT> | --list\n       {bin} enable <TASK> [--PARAM VALUE ...]\n       {bin} completions bash|zsh|fish"
        ))
        .subcommand_help_heading("Tasks and commands")
        .subcommand(Command::new("list").about("List the registered tasks with their parameters"))
        .subcommand(Command::new("deps").about("Show a task's dependency tree, per task or per family (`deps <TASK> --help`)"))
        .subcommand(Command::new("show").about("Print a task's output (`show <TASK> --PARAM VALUE ...`)"))
        .subcommand(
            Command::new("invalidate")
                .about("Remove outputs so they are made again (`invalidate <TASK> --help`)"),
        )
        .subcommand(Command::new("locks").about("List held locks, or clear stale ones (`locks --help`)"))
        .subcommand(Command::new("gc").about("Remove old intermediate outputs (`gc --help`)"))
        .subcommand(Command::new("events").about("Print the events every worker shared, or follow them live (`events --help`)"))
        .subcommand(Command::new("ui").about("Serve a live view of every worker's runs, families and tasks (`ui --help`)"))
        .subcommand(
            Command::new("enable")
                .about("Lift the disabling of a task that failed too often (`enable <TASK> --PARAM VALUE ...`)"),
        )
        .subcommand(
            Command::new("message")
                .about("Send a message to a running task, print its response (`message --help`)"),
        )
        .subcommand(
            Command::new("completions")
                .about("Print a completion script for bash, zsh or fish (`completions --help`)"),
        );
    for entry in registry.iter() {
        cmd = cmd.subcommand(Command::new(entry.name()).about(first_sentence(entry.doc)));
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

/// `events`: the events every worker shared.
#[derive(Debug, clap::Parser)]
#[command(
    about = "Print the events every worker shared (the Redis stream, or the workspace's event log), as JSON lines",
    after_help = "Each line is one event with its `run` (when and where the process started). Examples:\n  BIN events --follow                    every event as it comes, from every worker\n  BIN events --event failed --event run_finished\n  BIN events --run 20261130T053205.856Z-host-2914"
)]
pub struct EventsCommand {
    /// Keep printing events as they come, until interrupted
    #[arg(long, short)]
    pub follow: bool,
    /// Only events of this run (repeatable)
    #[arg(long, value_name = "RUN")]
    pub run: Vec<String>,
    /// Only events of this kind, e.g. failed (repeatable)
    #[arg(long, value_name = "KIND")]
    pub event: Vec<String>,
    #[command(flatten)]
    pub backend: BackendFlags,
}

/// `ui`: a live view of every worker's shared events.
#[derive(Debug, clap::Parser)]
#[command(
    about = "Serve a live, read-only view of every worker's runs, families, tasks and heartbeats (from the shared events)"
)]
pub struct UiCommand {
    /// Address to listen on (loopback unless told otherwise)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8082")]
    pub bind: std::net::SocketAddr,
    #[command(flatten)]
    pub backend: BackendFlags,
}

/// `completions`: a shell completion script.
#[derive(Debug, clap::Parser)]
#[command(
    about = "Print a shell completion script that knows the commands, the tasks and their parameters",
    after_help = "Install it where your shell looks, e.g. (with your binary's name for BIN):\n  bash: BIN completions bash > ~/.local/share/bash-completion/completions/BIN\n  zsh:  BIN completions zsh > ~/.zfunc/_BIN   (with fpath+=~/.zfunc before compinit)\n  fish: BIN completions fish > ~/.config/fish/completions/BIN.fish"
)]
pub struct CompletionsCommand {
    /// The shell
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
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

/// Run options given before the command or task (`<bin> --workers 2 AllReports`) moved after
/// it, where clap reads them, as Luigi and cargo users expect to write them anywhere.
pub fn options_after_task(args: &[String]) -> Vec<String> {
    let flags = RunFlags::augment_args(Command::new("flags"));
    let mut i = 1;
    while let Some(arg) = args.get(i) {
        let Some(long) = arg.strip_prefix("--") else {
            // `-v`, `-q`, `-vv`: switches; `-h`/`-V` and anything else end the scan.
            if matches!(arg.as_str(), "-v" | "-vv" | "-vvv" | "-q") {
                i += 1;
                continue;
            }
            break;
        };
        if matches!(long, "help" | "version") || long.is_empty() {
            break;
        }
        let needs_value = !long.contains('=') && option_needs_value(&flags, long) == Some(true);
        i += if needs_value { 2 } else { 1 };
    }
    if i == 1 || i >= args.len() {
        return args.to_vec();
    }
    let mut out = vec![args[0].clone()];
    out.extend(args[i..].iter().cloned());
    out.extend(args[1..i].iter().cloned());
    out
}

/// Whether `cmd` has the option `--long` and, if so, whether it must be given a value
/// (`--flag` alone is a valid boolean).
fn option_needs_value(cmd: &Command, long: &str) -> Option<bool> {
    cmd.get_arguments()
        .find(|a| a.get_long() == Some(long))
        .map(|a| {
            a.get_action().takes_values() && a.get_num_args().is_none_or(|n| n.min_values() > 0)
        })
}

/// A parameter flag followed by another option instead of its value (`--date --workspace
/// ws`): said plainly, rather than as clap's "unexpected argument 'ws'".
pub fn missing_value(cmd: &Command, args: &[String]) -> Option<String> {
    args.windows(2).find_map(|pair| {
        let flag = pair[0].strip_prefix("--")?;
        let next = pair[1].strip_prefix("--")?;
        let next = next.split_once('=').map_or(next, |(n, _)| n);
        (!flag.contains('=')
            && option_needs_value(cmd, flag) == Some(true)
            && option_needs_value(cmd, next).is_some())
        .then(|| format!("missing value for `--{flag}` (found the option `--{next}` after it)"))
    })
}

/// A doc comment's first sentence, whole: its first paragraph up to the first `. `.
pub fn first_sentence(doc: &str) -> String {
    let paragraph = doc
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    match paragraph.find(". ") {
        Some(end) => paragraph[..=end].to_string(),
        None => paragraph,
    }
}
