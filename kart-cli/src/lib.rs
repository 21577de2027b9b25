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
mod notify;
mod out;
mod progress;
mod signals;

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
            tell!("error: {message}");
            ExitCode::from(code)
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
            Ok(codes::SUCCESS)
        }
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
        Some("message") => message_command(bin, &args[1..]),
        Some("enable") => match args.get(2).filter(|a| !a.starts_with('-')) {
            Some(name) => run_task(bin, registry.get(name)?, registry, &args[3..], Mode::Enable),
            None => Err(Failure {
                message: format!("usage: {bin} enable <TASK> [--PARAM VALUE ...]"),
                code: codes::BAD_INPUT,
            }),
        },
        Some(command @ ("deps" | "show" | "invalidate")) => {
            let (mode, usage) = match command {
                "deps" => (Mode::Deps, "[--dot] [--svg FILE]"),
                "show" => (Mode::Show, ""),
                _ => (
                    Mode::Invalidate,
                    "[--family FAMILY ...] [--downstream] [--dry-run]",
                ),
            };
            let usage = format!("usage: {bin} {command} <TASK> [--PARAM VALUE ...] {usage}");
            match args.get(2).map(String::as_str) {
                Some(name) if !name.starts_with('-') => {
                    run_task(bin, registry.get(name)?, registry, &args[3..], mode)
                }
                Some("-h" | "--help") => {
                    say!(
                        "{}\n(`{bin} {command} <TASK> --help` lists the task's parameters)",
                        usage.trim_end()
                    );
                    Ok(codes::SUCCESS)
                }
                _ => Err(Failure {
                    message: usage.trim_end().to_string(),
                    code: codes::BAD_INPUT,
                }),
            }
        }
        Some(flag) if flag.starts_with('-') => Err(Failure {
            message: format!("expected a task name before `{flag}` (see `{bin} list`)"),
            code: codes::BAD_INPUT,
        }),
        Some(name) => {
            let entry = registry.get(name)?;
            run_task(bin, entry, registry, &args[2..], Mode::Run)
        }
    }
}
