//! `completions <shell>`: a completion script for bash, zsh, fish, elvish or PowerShell that
//! knows the commands, the tasks of this binary and each task's parameters and options.

use clap::{Command, CommandFactory};
use kart_core::registry::Registry;
use kart_core::TaskEntry;

use crate::command::{
    self, CompletionsCommand, EventsCommand, GcCommand, LocksCommand, MessageCommand, UiCommand,
};
use crate::exit::{codes, Failure};
use crate::out::say_raw;

/// The whole command line as one clap tree, for the generators.
fn complete_tree(bin: &str, registry: &Registry) -> Command {
    let per_task = |name: &'static str,
                    about: &'static str,
                    make: fn(&str, &'static TaskEntry, &Registry) -> Command| {
        let mut cmd = Command::new(name).about(about);
        for entry in registry.iter() {
            cmd = cmd.subcommand(shown_only(make(bin, entry, registry)));
        }
        cmd
    };
    let mut top = Command::new(bin.to_string())
        .subcommand(Command::new("list").about("List the registered tasks"))
        .subcommand(per_task(
            "deps",
            "A task's dependency tree",
            command::deps_command,
        ))
        .subcommand(per_task(
            "show",
            "Print a task's output",
            command::show_command,
        ))
        .subcommand(per_task(
            "invalidate",
            "Remove outputs so they are made again",
            command::invalidate_command,
        ))
        .subcommand(per_task(
            "enable",
            "Lift a task's disabling",
            command::task_command,
        ))
        .subcommand(LocksCommand::command().name("locks"))
        .subcommand(GcCommand::command().name("gc"))
        .subcommand(EventsCommand::command().name("events"))
        .subcommand(UiCommand::command().name("ui"))
        .subcommand(MessageCommand::command().name("message"))
        .subcommand(CompletionsCommand::command().name("completions"));
    for entry in registry.iter() {
        top = top.subcommand(shown_only(command::task_command(bin, entry, registry)));
    }
    top
}

/// The command without its hidden options (`--Family-param`, `--Family-priority`: one per
/// family and parameter, for every task, would make the script grow with the square of the
/// pipeline).
fn shown_only(cmd: Command) -> Command {
    let shown: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .cloned()
        .collect();
    let lean = Command::new(cmd.get_name().to_string()).args(shown);
    match cmd.get_about() {
        Some(about) => lean.about(about.clone()),
        None => lean,
    }
}

/// `completions <shell>`.
pub(crate) fn completions(bin: &str, registry: &Registry, args: &[String]) -> Result<u8, Failure> {
    let Some(parsed) = super::parse::<CompletionsCommand>(bin, "completions", args)? else {
        return Ok(codes::SUCCESS);
    };
    // Generated into memory: the generators panic on a closed pipe.
    let mut script = Vec::new();
    clap_complete::generate(
        parsed.shell,
        &mut complete_tree(bin, registry),
        bin,
        &mut script,
    );
    say_raw!("{}", String::from_utf8_lossy(&script));
    Ok(codes::SUCCESS)
}
