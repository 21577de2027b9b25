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
mod notify;
mod out;
mod progress;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::FromArgMatches;
use kart_core::config::{Config, Settings};
use kart_core::event::JsonLinesSink;
use kart_core::message::{Mailboxes, Reply};
use kart_core::param::{RawValue, ValueSource};
use kart_core::range::RangeMetrics;
use kart_core::registry::{registry, ParamDefaults, Registry};
use kart_core::scheduler::{self, Graph, RunOptions};
use kart_core::{Error, Events, Locks, Workspace};

use command::RunFlags;
use out::{say, say_raw, tell, tell_raw};

/// Exit codes (defaults; `[retcode]` in `kart.toml` changes those of a run). A crontab can
/// tell them apart.
pub mod exit_code {
    /// Every requested task is complete.
    pub const SUCCESS: u8 = 0;
    /// A task failed, so a requested task is not complete.
    pub const TASK_FAILED: u8 = 1;
    /// Bad input: unknown task or parameter, bad value, bad config, unwritable workspace,
    /// unreachable Redis.
    pub const BAD_INPUT: u8 = 2;
    /// A task never ran because its lock stayed held elsewhere.
    pub const LOCKED_ELSEWHERE: u8 = 3;
    /// External data a requested task needs is missing (and nothing failed).
    pub const MISSING_DATA: u8 = 4;
    /// Stopped by SIGINT or SIGTERM.
    pub const INTERRUPTED: u8 = 130;
}

/// How long cancelled tasks get to return before the process exits anyway (releasing every
/// lock and removing its temporary files first).
const FORCED_EXIT_AFTER: std::time::Duration = std::time::Duration::from_secs(10);

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
            tell!("error: {message}");
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
            say!("{}", cmd.render_help());
            Ok(exit_code::SUCCESS)
        }
        Some("-V" | "--version") => {
            say!("{bin} (kart {})", env!("CARGO_PKG_VERSION"));
            Ok(exit_code::SUCCESS)
        }
        Some("list") => {
            list(registry);
            Ok(exit_code::SUCCESS)
        }
        Some("locks") => locks_command(bin, &args[1..]),
        Some("gc") => gc_command(bin, registry, &args[1..]),
        Some("message") => message_command(bin, &args[1..]),
        Some("deps") => match args.get(2).filter(|a| !a.starts_with('-')) {
            Some(name) => run_task(bin, registry.get(name)?, registry, &args[3..], Mode::Deps),
            None => Err(Failure {
                message: format!(
                    "usage: {bin} deps <TASK> [--PARAM VALUE ...] [--dot] [--svg FILE]"
                ),
                code: exit_code::BAD_INPUT,
            }),
        },
        Some(flag) if flag.starts_with('-') => Err(Failure {
            message: format!("expected a task name before `{flag}` (see `{bin} list`)"),
            code: exit_code::BAD_INPUT,
        }),
        Some(name) => {
            let entry = registry.get(name)?;
            run_task(bin, entry, registry, &args[2..], Mode::Run)
        }
    }
}

fn list(registry: &Registry) {
    let mut out = std::io::stdout().lock();
    for entry in registry.iter() {
        let kind = match (entry.spec.wrapper, entry.spec.external) {
            (true, _) => " (wrapper)",
            (_, true) => " (external)",
            _ => "",
        };
        let _ = writeln!(out, "{}{kind}", entry.name());
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
        // Its own report of a failed write is an `eprintln!`, which panics on a closed stderr.
        .log_internal_errors(false)
        .try_init();
}

fn run_task(
    bin: &str,
    entry: &'static kart_core::TaskEntry,
    registry: &Registry,
    rest: &[String],
    mode: Mode,
) -> Result<u8, Failure> {
    let cmd = match mode {
        Mode::Run => command::task_command(bin, entry, registry),
        Mode::Deps => command::deps_command(bin, entry, registry),
    };
    let argv = std::iter::once(entry.name().to_string()).chain(rest.iter().cloned());
    let matches = match cmd.try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Ok(exit_code::SUCCESS);
        }
        Err(e) => return Err(clap_failure(bin, entry.name(), e)),
    };
    let flags =
        RunFlags::from_arg_matches(&matches).map_err(|e| clap_failure(bin, entry.name(), e))?;
    init_logging(&flags);

    let config = Arc::new(Config::discover(flags.backend.config.as_deref())?);
    let codes = config.retcodes();
    // Past this point the config is read, so bad input exits with its `[retcode]`.
    let run = || -> Result<u8, Failure> {
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

        let workspace = Workspace::open(&settings.workspace_location(), settings.fsync)?;
        if mode == Mode::Deps {
            return show_deps(&root, &workspace, &matches, flags.events.as_deref());
        }
        // What a process killed mid-write left behind: removed in the background. (Object
        // storage has no temporary files: each output is one PUT.)
        let ws_root = settings.workspace.clone();
        let local = workspace.is_local();
        let cleanup = std::thread::spawn(move || {
            if !local {
                return;
            }
            let removed = kart_core::store::local::clean_stale_temp_files_now_and_then(
                &ws_root,
                std::time::Duration::from_secs(3600),
            );
            if !removed.is_empty() {
                tracing::info!(
                    "removed {} stale temporary file(s) under {}",
                    removed.len(),
                    ws_root.display()
                );
            }
        });
        let mut events = Events::new();
        if let Some(path) = &flags.events {
            events.add(Arc::new(JsonLinesSink::open(path)?));
        }
        let range_metrics = Arc::new(RangeMetrics::default());
        events.add(range_metrics.clone());
        let locks = open_locks(&settings)?.with_events(events.clone());
        kart_core::lock::install(locks.clone());
        let mut options = RunOptions::from(&settings);
        // Signals are watched from here on: a stop while the graph is built is a stop too.
        let signals = watch_signals(
            options.shutdown.clone(),
            settings.shutdown_grace,
            codes.interrupted,
        )?;
        let graph = Graph::build_until(
            std::slice::from_ref(&root),
            &workspace,
            &events,
            Some(&locks),
            &options.shutdown,
        )?;

        if flags.dry_run && !graph.interrupted() {
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

        // A live bar on a terminal; plain log lines otherwise.
        let bar = (std::io::stderr().is_terminal() && !flags.quiet)
            .then(|| Arc::new(progress::Bar::new(graph.plan().len())));
        let mut events = events;
        match &bar {
            Some(bar) => events.add(bar.clone()),
            None => events.add(Arc::new(progress::LogLines)),
        }
        options.mailboxes = Some(open_mailboxes(&settings)?);
        for (name, limit) in config.resources() {
            let limit = u32::try_from(*limit).map_err(|_| {
                config.error("resources", name, format!("limit {limit} is too large"))
            })?;
            options.resource_limits.set(name, limit);
        }
        for (name, limit) in &flags.resources {
            options.resource_limits.set(name, *limit);
        }
        let mut report = scheduler::run(graph, &workspace, &events, Some(&locks), &options);
        if let Some(counts) = workspace.store().remote_requests() {
            let mut event = kart_core::Event::new(kart_core::EventKind::StoreRequests)
                .with("workspace", workspace.root());
            let mut text = Vec::new();
            for (kind, n) in counts.snapshot() {
                event = event.with(kind, n);
                text.push(format!("{n} {}", kind.to_uppercase()));
            }
            events.emit(event);
            tracing::info!("requests to {}: {}", workspace.root(), text.join(", "));
        }
        signals.close();
        if let Some(bar) = &bar {
            bar.finish();
        }
        let _ = cleanup.join();
        report.notes.extend(range_metrics.summary_lines());
        notify::notify(
            config.notifications(),
            &report,
            flags.events.as_deref().and_then(|p| p.to_str()),
        );
        say_raw!("{}", report.summary());
        for task in &report.tasks {
            match &task.outcome {
                kart_core::summary::TaskOutcome::Failed(e) => {
                    tell!(
                        "error: {} failed: {}",
                        task.display,
                        e.lines().next().unwrap_or("")
                    );
                }
                kart_core::summary::TaskOutcome::LockedElsewhere(e) => {
                    tell!(
                        "error: {} never ran: {}",
                        task.display,
                        e.lines().next().unwrap_or("")
                    );
                }
                kart_core::summary::TaskOutcome::MissingData(e) => {
                    tell!("error: {}: {e}", task.display);
                }
                _ => {}
            }
        }
        if let (Some(path), false) = (&flags.events, report.success()) {
            tell!("events of this run: {}", path.display());
        }
        let locked_out = report.tasks.iter().any(|t| {
            matches!(
                t.outcome,
                kart_core::summary::TaskOutcome::LockedElsewhere(_)
            )
        });
        let failed = report
            .tasks
            .iter()
            .any(|t| matches!(t.outcome, kart_core::summary::TaskOutcome::Failed(_)));
        let missing = report
            .tasks
            .iter()
            .any(|t| matches!(t.outcome, kart_core::summary::TaskOutcome::MissingData(_)));
        // The most alarming cause wins: a failure, then a lock held elsewhere, then data that
        // has not landed yet.
        Ok(if report.interrupted {
            codes.interrupted
        } else if report.success() {
            exit_code::SUCCESS
        } else if failed {
            codes.task_failed
        } else if locked_out {
            codes.locked_elsewhere
        } else if missing {
            codes.missing_data
        } else {
            codes.task_failed
        })
    };
    run().map_err(|mut f| {
        if f.code == exit_code::BAD_INPUT {
            f.code = codes.scheduling_error;
        }
        f
    })
}

/// What a task command does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Run the task and what it requires.
    Run,
    /// Show its dependency graph.
    Deps,
}

/// `deps`: the tree, DOT, or an SVG rendered by Graphviz. Failed tasks come from the events
/// file given with `--events` (the last event of each task).
fn show_deps(
    root: &kart_core::AnyTask,
    ws: &Workspace,
    m: &clap::ArgMatches,
    events: Option<&std::path::Path>,
) -> Result<u8, Failure> {
    let tree = kart_core::deps::DepTree::build(root, ws)?;
    let mut failed = std::collections::HashSet::new();
    if let Some(path) = events.filter(|p| p.exists()) {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read events file", path, e))?;
        let mut last = std::collections::HashMap::new();
        for line in text.lines() {
            let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let (Some(id), Some(kind)) = (e["task_id"].as_str(), e["event"].as_str()) {
                last.insert(id.to_string(), kind.to_string());
            }
        }
        failed.extend(
            last.into_iter()
                .filter(|(_, k)| k == "failed" || k == "skipped")
                .map(|(id, _)| id),
        );
    }
    if let Some(svg) = m.get_one::<std::path::PathBuf>("svg") {
        let dot = tree.render_dot(&failed);
        let child = std::process::Command::new("dot")
            .args(["-Tsvg", "-o"])
            .arg(svg)
            .stdin(std::process::Stdio::piped())
            .spawn();
        let mut child = child.map_err(|_| Failure {
            message: "Graphviz `dot` not found: install it (apt-get install graphviz, brew install graphviz) or print DOT with --dot".into(),
            code: exit_code::BAD_INPUT,
        })?;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(dot.as_bytes())
            .map_err(|e| Error::io("cannot feed dot", svg, e))?;
        let status = child
            .wait()
            .map_err(|e| Error::io("cannot run dot for", svg, e))?;
        if !status.success() {
            return Err(Failure {
                message: format!("dot failed rendering {}", svg.display()),
                code: exit_code::TASK_FAILED,
            });
        }
        say!("wrote {}", svg.display());
    } else if m.get_flag("dot") {
        say_raw!("{}", tree.render_dot(&failed));
    } else {
        say_raw!("{}", tree.render_text());
    }
    Ok(exit_code::SUCCESS)
}

/// SIGINT/SIGTERM: the first stops starting tasks (running ones finish); the second, or the
/// shutdown grace running out, cancels running tasks; a third exits at once. Whatever happens,
/// locks are released and temporary files removed before the process ends.
fn watch_signals(
    shutdown: kart_core::Shutdown,
    grace: Option<kart_core::Duration>,
    interrupted: u8,
) -> Result<signal_hook::iterator::Handle, Failure> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).map_err(|e| Failure {
            message: format!("cannot install signal handlers: {e}"),
            code: exit_code::BAD_INPUT,
        })?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        let mut count = 0;
        for signal in signals.forever() {
            count += 1;
            let name = if signal == SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            };
            match count {
                1 => {
                    let bound = grace.map_or_else(
                        || "send it again to cancel them".to_string(),
                        |g| format!("cancelling them in {g}"),
                    );
                    tell!("{name}: starting no new tasks; letting running ones finish ({bound})");
                    shutdown.stop();
                    if let Some(grace) = grace {
                        let shutdown = shutdown.clone();
                        std::thread::spawn(move || {
                            std::thread::sleep(grace.as_std());
                            if !shutdown.is_cancelling() {
                                tell!("shutdown grace of {grace} over: cancelling running tasks");
                                cancel_then_force_exit(&shutdown, interrupted);
                            }
                        });
                    }
                }
                2 => {
                    tell!("{name} again: cancelling running tasks");
                    cancel_then_force_exit(&shutdown, interrupted);
                }
                _ => force_exit(interrupted),
            }
        }
    });
    Ok(handle)
}

fn cancel_then_force_exit(shutdown: &kart_core::Shutdown, code: u8) {
    shutdown.cancel();
    std::thread::spawn(move || {
        std::thread::sleep(FORCED_EXIT_AFTER);
        tell!(
            "running tasks did not stop within {}: exiting",
            kart_core::Duration(FORCED_EXIT_AFTER)
        );
        force_exit(code);
    });
}

/// Leaves now, but not without releasing locks and removing half-written temporary files.
fn force_exit(code: u8) -> ! {
    let locks = kart_core::lock::release_all();
    let temps = kart_core::store::local::remove_in_flight_temp_files();
    tell!("released {locks} lock(s), removed {temps} temporary file(s); exiting");
    std::process::exit(i32::from(code))
}

fn gc_command(bin: &str, registry: &Registry, args: &[String]) -> Result<u8, Failure> {
    use clap::Parser;
    let cmd = match command::GcCommand::try_parse_from(args) {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Ok(exit_code::SUCCESS);
        }
        Err(e) => return Err(clap_failure(bin, "gc", e)),
    };
    let config = Config::discover(cmd.backend.config.as_deref())?;
    let settings = Settings::resolve(&cmd.backend.overrides(), &config)?;
    let locks = open_locks(&settings)?;
    let workspace = Workspace::open(&settings.workspace_location(), true)?;
    let report = kart_core::gc::collect(
        &workspace,
        registry,
        &locks,
        cmd.older_than.as_std(),
        cmd.dry_run,
    )?;
    let verb = if cmd.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let mut out = std::io::stdout().lock();
    for (key, size) in &report.removed {
        let _ = writeln!(out, "{verb} {key} ({size} bytes)");
    }
    for key in &report.in_use {
        let _ = writeln!(out, "kept {key}: in use (its lock is held)");
    }
    let kept = if report.in_use.is_empty() {
        String::new()
    } else {
        format!("; {} in use kept", report.in_use.len())
    };
    let _ = writeln!(
        out,
        "{} {} intermediate output(s) older than {}, {} bytes{kept}",
        if cmd.dry_run { "Would free" } else { "Freed" },
        report.removed.len(),
        cmd.older_than,
        report.bytes(),
    );
    Ok(exit_code::SUCCESS)
}

/// Messages through Redis when configured, else through the workspace.
fn open_mailboxes(settings: &Settings) -> Result<Mailboxes, Failure> {
    Ok(match &settings.redis {
        Some(endpoint) => Mailboxes::redis(endpoint, &settings.redis_prefix)?,
        None => Mailboxes::local(&settings.state_dir()),
    })
}

fn message_command(bin: &str, args: &[String]) -> Result<u8, Failure> {
    use clap::Parser;
    let cmd = match command::MessageCommand::try_parse_from(args) {
        Ok(c) => c,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Ok(exit_code::SUCCESS);
        }
        Err(e) => return Err(clap_failure(bin, "message", e)),
    };
    let config = Config::discover(cmd.backend.config.as_deref())?;
    let settings = Settings::resolve(&cmd.backend.overrides(), &config)?;
    let mailboxes = open_mailboxes(&settings)?;
    let mut out = std::io::stdout().lock();
    if cmd.list {
        let listening = mailboxes.backend().list()?;
        if listening.is_empty() {
            let _ = writeln!(
                out,
                "No running task accepts messages ({}).",
                mailboxes.backend().describe()
            );
        }
        for l in listening {
            let _ = writeln!(out, "{:<56} {}", l.task_id, l.holder);
        }
        return Ok(exit_code::SUCCESS);
    }
    let (task_id, text) = (
        cmd.task_id.expect("clap requires it without --list"),
        cmd.text.expect("clap requires it without --list"),
    );
    let reply = mailboxes.send(&task_id, &text, cmd.wait.as_std())?;
    let _ = match reply {
        Reply::Response(r) => writeln!(out, "{r}"),
        Reply::Received => writeln!(out, "received (the task did not respond)"),
        Reply::NoResponse => writeln!(out, "no response within {}", cmd.wait),
    };
    Ok(exit_code::SUCCESS)
}

/// Redis when configured, else file locks in the workspace.
fn open_locks(settings: &Settings) -> Result<Locks, Failure> {
    Ok(match &settings.redis {
        Some(endpoint) => Locks::redis(endpoint, &settings.redis_prefix)?,
        None => Locks::local(&settings.state_dir())?,
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
                say!("No locks held ({}).", backend.describe());
                return Ok(exit_code::SUCCESS);
            }
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(Failure {
                        message: "refusing to clear locks without confirmation: make sure their holders have crashed or finished, then pass --yes".into(),
                        code: exit_code::BAD_INPUT,
                    });
                }
                tell_raw!(
                    "Clear {} lock(s) ({})? Only do this when their holders have crashed or finished. [y/N] ",
                    targets.len(),
                    targets.join(", ")
                );
                let mut answer = String::new();
                let _ = std::io::stdin().read_line(&mut answer);
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    say!("Nothing cleared.");
                    return Ok(exit_code::SUCCESS);
                }
            }
            for key in &targets {
                if backend.clear(key)? {
                    say!("cleared {key}");
                }
            }
            Ok(exit_code::SUCCESS)
        }
    }
}
