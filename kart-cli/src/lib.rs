//! kart's command line. A pipeline's `main` is one line:
//!
//! ```no_run
//! fn main() -> std::process::ExitCode {
//!     kart_cli::main()
//! }
//! ```
//!
//! Then `my-pipeline <Task> --param value [--workers N] [--workspace DIR] ...` runs the task
//! and everything it requires, `my-pipeline list` lists the tasks, and
//! `my-pipeline <Task> --help` documents one.

mod command;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::FromArgMatches;
use kart_core::config::{Config, Settings};
use kart_core::event::JsonLinesSink;
use kart_core::param::{RawValue, ValueSource};
use kart_core::range::RangeMetrics;
use kart_core::registry::{registry, ParamDefaults, Registry};
use kart_core::scheduler::{self, Graph, RunOptions};
use kart_core::{Error, Events, Locks, Workspace};

use command::RunFlags;

/// Exit codes. A crontab can tell them apart.
pub mod exit_code {
    /// Every requested task is complete.
    pub const SUCCESS: u8 = 0;
    /// A task failed, so a requested task is not complete.
    pub const TASK_FAILED: u8 = 1;
    /// Bad input: unknown task or parameter, bad value, bad config, unwritable workspace.
    pub const BAD_INPUT: u8 = 2;
}

/// Runs the command line of this process.
pub fn main() -> ExitCode {
    run(std::env::args_os())
}

/// Runs a command line given as arguments (the first is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.into().to_string_lossy().into_owned())
        .collect();
    let bin = args
        .first()
        .map(|a| {
            std::path::Path::new(a)
                .file_name()
                .map_or(a.clone(), |n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "kart".into());
    match dispatch(&bin, &args) {
        Ok(code) => ExitCode::from(code),
        Err(Failure { message, code }) => {
            eprintln!("error: {message}");
            ExitCode::from(code)
        }
    }
}

/// An error that ends the process: one line, an exit code.
struct Failure {
    message: String,
    code: u8,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure {
            message: e.to_string(),
            code: exit_code::BAD_INPUT,
        }
    }
}

fn dispatch(bin: &str, args: &[String]) -> Result<u8, Failure> {
    let registry = registry()?;
    let first = args.get(1).map(String::as_str);
    match first {
        None | Some("-h" | "--help" | "help") => {
            let mut cmd = command::top_command(bin, registry);
            println!("{}", cmd.render_help());
            Ok(exit_code::SUCCESS)
        }
        Some("-V" | "--version") => {
            println!("{bin} (kart {})", env!("CARGO_PKG_VERSION"));
            Ok(exit_code::SUCCESS)
        }
        Some("list") => {
            list(registry);
            Ok(exit_code::SUCCESS)
        }
        Some("locks") => locks_command(bin, &args[1..]),
        Some(flag) if flag.starts_with('-') => Err(Failure {
            message: format!("expected a task name before `{flag}` (see `{bin} list`)"),
            code: exit_code::BAD_INPUT,
        }),
        Some(name) => {
            let entry = registry.get(name)?;
            run_task(bin, entry, registry, &args[2..])
        }
    }
}

fn list(registry: &Registry) {
    let mut out = std::io::stdout().lock();
    for entry in registry.iter() {
        let kind = if entry.wrapper { " (wrapper)" } else { "" };
        let _ = writeln!(out, "{}{kind}", entry.name);
        if let Some(line) = entry.doc.lines().next().filter(|l| !l.is_empty()) {
            let _ = writeln!(out, "    {line}");
        }
        for p in entry.params {
            let default = p.default.map(|d| format!(" = {}", d())).unwrap_or_default();
            let _ = writeln!(out, "    --{} <{}>{default}", p.flag(), (p.type_name)());
        }
    }
}

/// One line from clap's multi-line error, with its suggestion.
fn clap_failure(bin: &str, task: &str, e: clap::Error) -> Failure {
    let rendered = e.render().to_string();
    let mut message = rendered
        .lines()
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    let suggested = match e.get(ContextKind::SuggestedArg) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => Some(v.join("`, `")),
        _ => None,
    };
    if let Some(s) = suggested {
        message.push_str(&format!(" (did you mean `{s}`?)"));
    }
    message.push_str(&format!("; see `{bin} {task} --help`"));
    Failure {
        message,
        code: exit_code::BAD_INPUT,
    }
}

fn init_logging(flags: &RunFlags) {
    let default = match (flags.quiet, flags.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

fn run_task(
    bin: &str,
    entry: &'static kart_core::TaskEntry,
    registry: &Registry,
    rest: &[String],
) -> Result<u8, Failure> {
    let cmd = command::task_command(bin, entry, registry);
    let argv = std::iter::once(entry.name.to_string()).chain(rest.iter().cloned());
    let matches = match cmd.try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Ok(exit_code::SUCCESS);
        }
        Err(e) => return Err(clap_failure(bin, entry.name, e)),
    };
    let flags =
        RunFlags::from_arg_matches(&matches).map_err(|e| clap_failure(bin, entry.name, e))?;
    init_logging(&flags);

    let config = Arc::new(Config::discover(flags.backend.config.as_deref())?);
    let settings = Settings::resolve(&flags.overrides(), &config)?;
    let mut defaults = ParamDefaults::new(config.clone());
    for (family, param, value) in command::class_level_params(registry, &matches) {
        defaults.set_class_level(&family, &param, value);
    }
    defaults.validate(registry)?;
    let given: BTreeMap<String, RawValue> = command::given_params(entry, &matches)
        .into_iter()
        .map(|(k, v)| (k, RawValue::Text(v)))
        .collect();
    let root = entry.instantiate(&given, ValueSource::CommandLine, &defaults)?;

    let workspace = Workspace::local_with(&settings.workspace, settings.fsync)?;
    let mut events = Events::new();
    if let Some(path) = &flags.events {
        events.add(Arc::new(JsonLinesSink::open(path)?));
    }
    let range_metrics = Arc::new(RangeMetrics::default());
    events.add(range_metrics.clone());
    let locks = open_locks(&settings)?.with_events(events.clone());
    kart_core::lock::install(locks.clone());
    let graph = Graph::build(
        std::slice::from_ref(&root),
        &workspace,
        &events,
        Some(&locks),
    )?;

    if flags.dry_run {
        let plan = graph.plan();
        let mut out = std::io::stdout().lock();
        if plan.is_empty() {
            let _ = writeln!(out, "Nothing to run: {} is complete.", root.display());
        } else {
            let _ = writeln!(
                out,
                "Would run {} task{}, in this order:",
                plan.len(),
                if plan.len() == 1 { "" } else { "s" }
            );
            for line in plan {
                let _ = writeln!(out, "  {line}");
            }
        }
        return Ok(exit_code::SUCCESS);
    }

    let mut report = scheduler::run(
        graph,
        &workspace,
        &events,
        Some(&locks),
        &RunOptions::from(&settings),
    );
    report.notes.extend(range_metrics.summary_lines());
    print!("{}", report.summary());
    for task in &report.tasks {
        if let kart_core::summary::TaskOutcome::Failed(e) = &task.outcome {
            eprintln!(
                "error: {} failed: {}",
                task.display,
                e.lines().next().unwrap_or("")
            );
        }
    }
    if let (Some(path), false) = (&flags.events, report.success()) {
        eprintln!("events of this run: {}", path.display());
    }
    Ok(if report.success() {
        exit_code::SUCCESS
    } else {
        exit_code::TASK_FAILED
    })
}

/// Redis when configured, else file locks in the workspace.
fn open_locks(settings: &Settings) -> Result<Locks, Failure> {
    Ok(match settings.redis_addr() {
        Some((host, port)) => Locks::redis(&host, port, &settings.redis_prefix)?,
        None => Locks::local(&settings.workspace)?,
    })
}

fn human(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    kart_core::Duration::from_secs(secs.max(if d.is_zero() { 0 } else { 1 })).to_string()
}

fn locks_command(bin: &str, args: &[String]) -> Result<u8, Failure> {
    use clap::Parser;
    let cmd = match command::LocksCommand::try_parse_from(args) {
        Ok(c) => c,
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            let _ = e.print();
            return Ok(exit_code::SUCCESS);
        }
        Err(e) => return Err(clap_failure(bin, "locks", e)),
    };
    let config = Config::discover(cmd.backend.config.as_deref())?;
    let settings = Settings::resolve(&cmd.backend.overrides(), &config)?;
    let locks = open_locks(&settings)?;
    let backend = locks.backend();
    let held = backend.list()?;
    match cmd.action {
        command::LocksAction::List => {
            let mut out = std::io::stdout().lock();
            if held.is_empty() {
                let _ = writeln!(out, "No locks held ({}).", backend.describe());
                return Ok(exit_code::SUCCESS);
            }
            let _ = writeln!(
                out,
                "{:<48} {:<40} {:>8} {:>8} {:>6}",
                "KEY", "HOLDER (host:pid task)", "AGE", "TTL", "FENCE"
            );
            for l in &held {
                let holder = l.holder.as_ref().map_or("?".to_string(), |h| {
                    format!(
                        "{}:{} {}",
                        h.host,
                        h.pid,
                        h.task_id.as_deref().unwrap_or("-")
                    )
                });
                let _ = writeln!(
                    out,
                    "{:<48} {:<40} {:>8} {:>8} {:>6}",
                    l.key,
                    holder,
                    l.age.map_or("?".into(), human),
                    l.ttl.map_or("process".into(), human),
                    l.fence.map_or("?".into(), |f| f.to_string()),
                );
            }
            Ok(exit_code::SUCCESS)
        }
        command::LocksAction::Clear { key, all, yes } => {
            let targets: Vec<String> = if all {
                held.iter().map(|l| l.key.clone()).collect()
            } else {
                let key = key.expect("clap requires a key without --all");
                if !held.iter().any(|l| l.key == key) {
                    return Err(Failure {
                        message: format!(
                            "no held lock `{key}` ({}); see `{bin} locks list`",
                            backend.describe()
                        ),
                        code: exit_code::BAD_INPUT,
                    });
                }
                vec![key]
            };
            if targets.is_empty() {
                println!("No locks held ({}).", backend.describe());
                return Ok(exit_code::SUCCESS);
            }
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(Failure {
                        message: "refusing to clear locks without confirmation: make sure their holders have crashed or finished, then pass --yes".into(),
                        code: exit_code::BAD_INPUT,
                    });
                }
                eprint!(
                    "Clear {} lock(s) ({})? Only do this when their holders have crashed or finished. [y/N] ",
                    targets.len(),
                    targets.join(", ")
                );
                let mut answer = String::new();
                let _ = std::io::stdin().read_line(&mut answer);
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    println!("Nothing cleared.");
                    return Ok(exit_code::SUCCESS);
                }
            }
            for key in &targets {
                if backend.clear(key)? {
                    println!("cleared {key}");
                }
            }
            Ok(exit_code::SUCCESS)
        }
    }
}
