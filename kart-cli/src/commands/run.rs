//! Running a task (and, with `Mode::Deps`, showing its graph): flags, settings, backends,
//! the graph, the run, the summary and the exit code.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use clap::error::ErrorKind;
use clap::FromArgMatches;
use kart_core::config::Config;
use kart_core::config::Settings;
use kart_core::deps::SeenInRun;
use kart_core::event::shared::{new_run_id, SharedSink};
use kart_core::event::{Heartbeat, JsonLinesSink};
use kart_core::param::{RawValue, ValueSource};
use kart_core::range::RangeMetrics;
use kart_core::registry::{ParamDefaults, Registry};
use kart_core::scheduler::{self, Graph, RunOptions};
use kart_core::{EventSink, Events};

use super::{open_locks, open_mailboxes};
use crate::command::RunFlags;
use crate::exit::{clap_failure, codes, Failure};
use crate::out::{say, say_raw, tell, tell_raw};
use crate::signals::watch_signals;
use crate::{notify, progress};

pub(crate) fn run_task(
    bin: &str,
    entry: &'static kart_core::TaskEntry,
    registry: &Registry,
    rest: &[String],
    mode: Mode,
) -> Result<u8, Failure> {
    let cmd = match mode {
        Mode::Run | Mode::Enable => crate::command::task_command(bin, entry, registry),
        Mode::Deps => crate::command::deps_command(bin, entry, registry),
        Mode::Show => crate::command::show_command(bin, entry, registry),
        Mode::Invalidate => crate::command::invalidate_command(bin, entry, registry),
    };
    if let Some(message) = crate::command::missing_value(&cmd, rest) {
        return Err(Failure {
            message: format!("{message}; see `{bin} {} --help`", entry.name()),
            code: codes::BAD_INPUT,
        });
    }
    let argv = std::iter::once(entry.name().to_string()).chain(rest.iter().cloned());
    let matches = match cmd.try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
            let _ = e.print();
            return Ok(codes::SUCCESS);
        }
        Err(e) => return Err(clap_failure(bin, entry.name(), e)),
    };
    let flags =
        RunFlags::from_arg_matches(&matches).map_err(|e| clap_failure(bin, entry.name(), e))?;
    crate::logging::init(flags.quiet, flags.verbose);

    let config = Arc::new(Config::discover(flags.backend.config.as_deref())?);
    let codes = config.retcodes();
    // Past this point the config is read, so bad input exits with its `[retcode]`.
    let run = || -> Result<u8, Failure> {
        let settings = Settings::resolve(&flags.overrides(), &config)?;
        let mut defaults = ParamDefaults::new(config.clone());
        for (family, param, value) in crate::command::class_level_params(registry, &matches) {
            defaults.set_class_level(&family, &param, value);
        }
        defaults.validate(registry)?;
        let given: BTreeMap<String, RawValue> = crate::command::given_params(entry, &matches)
            .into_iter()
            .map(|(k, v)| (k, RawValue::Text(v)))
            .collect();
        let root = entry.instantiate(&given, ValueSource::CommandLine, &defaults)?;
        kart_core::db::install(kart_core::db::resolve(
            &config.databases(),
            std::env::vars(),
            &database_flags(&flags.databases)?,
        ));

        if mode == Mode::Enable {
            let locks = open_locks(&settings)?;
            let id = root.id();
            let was = kart_core::scheduler::disable::enable(&locks, &id)?;
            say!(
                "{id} {}",
                if was {
                    "is enabled again; its failures are forgotten"
                } else {
                    "was not disabled; its failures are forgotten"
                }
            );
            return Ok(codes::SUCCESS);
        }
        let workspace = settings.open_workspace()?;
        match mode {
            Mode::Deps => {
                // What the last runs said: an events file when named, else what every worker
                // shared.
                let seen = match (&flags.events, settings.share_events) {
                    (Some(path), _) => SeenInRun::read(path)?,
                    (None, true) => SeenInRun::read_shared(&settings.shared_events()?)?,
                    (None, false) => SeenInRun::default(),
                };
                return super::deps::show_deps(&root, &workspace, &matches, &seen);
            }
            Mode::Show => return super::show::show(&root, &workspace),
            Mode::Invalidate => {
                let locks = open_locks(&settings)?;
                return super::invalidate::invalidate(&root, &workspace, &locks, &matches);
            }
            Mode::Run | Mode::Enable => {}
        }
        // What a process killed mid-write left behind: removed in the background (for object
        // storage, the files and directories staged on this machine).
        let ws_root = match workspace.is_local() {
            true => settings.workspace.clone(),
            false => settings.state_dir().join("staging"),
        };
        let cleanup = std::thread::spawn(move || {
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
        // Each failure once as it happens (`-q` keeps them for the end), and what ranges
        // decided.
        let failure_lines = (!flags.quiet).then(|| {
            events.add(Arc::new(progress::RangeLines));
            let lines = Arc::new(progress::FailureLines::new(settings.retry_count));
            events.add(lines.clone());
            lines
        });
        // What failed tasks logged last, for their notifier.
        let log_tails = config.notifications().on_failure.is_some().then(|| {
            let tails = Arc::new(notify::LogTails::default());
            events.add(tails.clone());
            tails
        });
        let range_metrics = Arc::new(RangeMetrics::default());
        events.add(range_metrics.clone());
        let mut options = RunOptions::from(&settings);
        options.family_priorities = crate::command::family_priorities(registry, &matches);
        for (name, limit) in config.resources() {
            let limit = u32::try_from(*limit).map_err(|_| {
                config.error("resources", name, format!("limit {limit} is too large"))
            })?;
            options.resource_limits.set(name, limit);
        }
        for (name, limit) in &flags.resources {
            options.resource_limits.set(name, *limit);
        }
        // The lock backend first: an unreachable Redis is one error line, before anything
        // is shared with it.
        let locks = open_locks(&settings)?;
        // Every worker's events in one log others can read (`events`, `ui`), with a heartbeat.
        let started = std::time::Instant::now();
        let run_id = new_run_id();
        let shared = (settings.share_events && !flags.dry_run)
            .then(|| settings.shared_events())
            .transpose()?
            .map(|log| SharedSink::start(log, &run_id, settings.events_queue));
        // What only the shared log carries: the run's start and end, and its heartbeat.
        let heartbeat = shared.as_ref().map(|sink| {
            events.add(sink.clone());
            sink.handle(
                &kart_core::Event::new(kart_core::EventKind::RunStarted)
                    .with("root", root.display())
                    .with("host", kart_core::host::name())
                    .with("workers", settings.workers),
            );
            Heartbeat::start(
                &mut events,
                sink.clone(),
                settings.heartbeat.as_std(),
                options.resource_limits.clone(),
            )
        });
        let locks = locks.with_events(events.clone());
        kart_core::lock::install(locks.clone());
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

        tracing::debug!(
            "graph of {} tasks built in {:.3} s",
            graph.len(),
            started.elapsed().as_secs_f64()
        );
        if let (Some(sink), false) = (&shared, graph.interrupted()) {
            sink.handle(&graph.families().event());
        }

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
            return Ok(codes::SUCCESS);
        }

        // A live bar on a terminal; plain log lines otherwise.
        let bar = (std::io::stderr().is_terminal() && !flags.quiet)
            .then(|| Arc::new(progress::Bar::new(graph.plan().len())));
        let mut events = events;
        match &bar {
            Some(bar) => events.add(bar.clone()),
            None => events.add(Arc::new(progress::LogLines)),
        }
        if let (Some(lines), Some(bar)) = (&failure_lines, &bar) {
            lines.above(bar.clone());
        }
        options.mailboxes = Some(open_mailboxes(&settings)?);
        let mut report = scheduler::run(graph, &workspace, &events, Some(&locks), &options);
        tracing::debug!("run ended at {:.3} s", started.elapsed().as_secs_f64());
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
        if let Some(sink) = &shared {
            drop(heartbeat);
            sink.handle(
                &kart_core::Event::new(kart_core::EventKind::RunFinished)
                    .with("success", report.success())
                    .with("seconds", started.elapsed().as_secs_f64()),
            );
            let dropped = sink.close();
            tracing::debug!("events shared at {:.3} s", started.elapsed().as_secs_f64());
            if dropped > 0 {
                report.notes.push(format!(
                    "{dropped} event(s) could not be shared in {}",
                    sink.log().describe()
                ));
            }
        }
        signals.close();
        report.notes.extend(range_metrics.summary_lines());
        if let Some(bar) = &bar {
            bar.finish(&report);
        }
        let _ = cleanup.join();
        notify::notify(
            config.notifications(),
            &report,
            &notify::Sources {
                events_file: flags.events.as_deref().and_then(|p| p.to_str()),
                run: shared.is_some().then_some(run_id.as_str()),
                logs: log_tails.as_deref(),
            },
        );
        // Each failure was told as it happened; the summary groups them. `-q` says nothing on
        // success and only what did not complete otherwise.
        if !flags.quiet {
            say_raw!("{}", report.summary());
        } else if !report.success() {
            tell_raw!("{}", report.failures());
        }
        if let (Some(path), false) = (&flags.events, report.success()) {
            tell!("events of this run: {}", path.display());
        }
        Ok(crate::exit::for_report(&report, &codes))
    };
    run().map_err(|mut f| {
        if f.code == codes::BAD_INPUT {
            f.code = codes.scheduling_error;
        }
        f
    })
}

/// `--database NAME=URL` pairs. A malformed one is named by its position, never echoed: it may
/// hold a password.
fn database_flags(values: &[String]) -> Result<Vec<(String, String)>, Failure> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| match v.split_once('=') {
            Some((name, url)) if !name.trim().is_empty() && url.contains("://") => {
                Ok((name.trim().to_string(), url.to_string()))
            }
            _ => Err(Failure {
                message: format!(
                    "--database #{} is not NAME=URL (e.g. --database warehouse=postgres://user@host/db)",
                    i + 1
                ),
                code: codes::BAD_INPUT,
            }),
        })
        .collect()
}

/// What a task command does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Run the task and what it requires.
    Run,
    /// Show its dependency graph.
    Deps,
    /// Lift its disabling (Luigi's re-enable).
    Enable,
    /// Print its output.
    Show,
    /// Remove outputs in its graph so they are made again.
    Invalidate,
}
