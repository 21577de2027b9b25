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
mod commands;
mod exit;
mod logging;
mod notify;
mod out;
mod progress;
mod signals;
mod ui;

use std::ffi::OsString;
use std::process::ExitCode;

use kart_core::registry::registry;

use commands::run::{run_task, Mode};
use commands::{gc::gc_command, list::list, locks::locks_command, message::message_command};
pub use exit::codes as exit_code;
use exit::{codes, Failure};
use out::{say, tell};

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
            tell!("{} {message}", out::error_label());
            ExitCode::from(code)
        }
    }
}

/// The built-in commands; any other first word names a task.
const COMMANDS: &[&str] = &[
    "list",
    "deps",
    "show",
    "invalidate",
    "enable",
    "locks",
    "gc",
    "events",
    "ui",
    "message",
    "completions",
    "help",
];

fn dispatch(bin: &str, args: &[String]) -> Result<u8, Failure> {
    let registry = registry()?;
    let args = command::options_after_task(args);
    let first = args.get(1).map(String::as_str);
    match first {
        // No command at all is a mistake (as with cargo): the help says what to type.
        None | Some("-h" | "--help") => {
            let mut cmd = command::top_command(bin, registry);
            say!("{}", cmd.render_help());
            Ok(if first.is_none() {
                codes::BAD_INPUT
            } else {
                codes::SUCCESS
            })
        }
        // `help <command or task>` is `<command or task> --help`.
        Some("help") => match args.get(2) {
            None => dispatch(bin, &[args[0].clone(), "--help".into()]),
            Some(name) => {
                let mut again = vec![args[0].clone(), name.clone()];
                again.extend(args[3..].iter().cloned());
                again.push("--help".into());
                dispatch(bin, &again)
            }
        },
        Some("-V" | "--version") => {
            say!("{bin} (kart {})", env!("CARGO_PKG_VERSION"));
            Ok(codes::SUCCESS)
        }
        Some("list") => {
            list(registry);
            Ok(codes::SUCCESS)
        }
        Some("locks") => locks_command(bin, &args[1..]),
        Some("gc") => gc_command(bin, registry, &args[1..]),
        Some("events") => commands::events::events_command(bin, &args[1..]),
        Some("ui") => ui::ui_command(bin, registry, &args[1..]),
        Some("message") => message_command(bin, &args[1..]),
        Some("completions") => commands::completions::completions(bin, registry, &args[1..]),
        Some(command @ ("deps" | "show" | "invalidate" | "enable")) => {
            let (mode, usage, about) = match command {
                "deps" => (
                    Mode::Deps,
                    "[--families] [--dot] [--svg FILE] [--events FILE]",
                    "The dependency tree of a task, each task marked complete, pending, failed, not run or corrupt",
                ),
                "show" => (
                    Mode::Show,
                    "",
                    "Print a task's output: a value as JSON, a file's or directory's place and size, or \"not complete\"",
                ),
                "enable" => (
                    Mode::Enable,
                    "",
                    "Lift the disabling of a task that failed too often; its failures are forgotten",
                ),
                _ => (
                    Mode::Invalidate,
                    "[--family FAMILY ...] [--downstream] [--dry-run]",
                    "Remove outputs in a task's graph so the next run makes them again",
                ),
            };
            let usage = format!("{bin} {command} <TASK> [--PARAM VALUE ...] {usage}");
            match args.get(2).map(String::as_str) {
                Some(name) if !name.starts_with('-') => {
                    run_task(bin, registry.get(name)?, registry, &args[3..], mode)
                }
                Some("-h" | "--help") => {
                    say!(
                        "{about}\n\nUsage: {}\n\n`{bin} {command} <TASK> --help` lists the task's parameters; `{bin} list` lists the tasks.",
                        usage.trim_end()
                    );
                    Ok(codes::SUCCESS)
                }
                _ => Err(Failure {
                    message: format!("usage: {}", usage.trim_end()),
                    code: codes::BAD_INPUT,
                }),
            }
        }
        Some(flag) if flag.starts_with('-') => Err(Failure {
            message: format!(
                "expected a command or a task name before `{flag}` (see `{bin} --help`)"
            ),
            code: codes::BAD_INPUT,
        }),
        Some(name) => match registry.get(name) {
            Ok(entry) => run_task(bin, entry, registry, &args[2..], Mode::Run),
            // A misspelt command is suggested as a misspelt task is.
            Err(kart_core::Error::UnknownTask { suggestion, .. }) => {
                let suggestion = suggestion
                    .or_else(|| kart_core::registry::nearest_name(name, COMMANDS.iter().copied()));
                let hint = suggestion.map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                Err(Failure {
                    message: format!(
                        "unknown command or task `{name}`{hint}; see `{bin} --help` or `{bin} list`"
                    ),
                    code: codes::BAD_INPUT,
                })
            }
            Err(e) => Err(e.into()),
        },
    }
}
