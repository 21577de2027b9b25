//! The subcommands, one file each, and what they share: parsing with clap (help and version
//! are not errors) and opening the run's lock and message backends.

pub(crate) mod completions;
pub(crate) mod deps;
pub(crate) mod events;
pub(crate) mod gc;
pub(crate) mod invalidate;
pub(crate) mod list;
pub(crate) mod locks;
pub(crate) mod message;
pub(crate) mod run;
pub(crate) mod show;

use clap::error::ErrorKind;
use kart_core::config::{Config, Settings};
use kart_core::message::Mailboxes;
use kart_core::Locks;

use crate::exit::{clap_failure, Failure};

/// Parses a subcommand's arguments; `Ok(None)` when clap printed help or a version instead.
pub(crate) fn parse<P: clap::Parser>(
    bin: &str,
    name: &str,
    args: &[String],
) -> Result<Option<P>, Failure> {
    // Usage lines say `<bin> gc`, not `gc`.
    let cmd = P::command().bin_name(format!("{bin} {name}"));
    match cmd
        .try_get_matches_from(args)
        .and_then(|m| P::from_arg_matches(&m))
    {
        Ok(parsed) => Ok(Some(parsed)),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            let _ = e.print();
            Ok(None)
        }
        Err(e) => Err(clap_failure(bin, name, e)),
    }
}

/// The settings of a maintenance command (`gc`, `locks`, `message`): its flags over the
/// environment over the config file.
pub(crate) fn settings(backend: &crate::command::BackendFlags) -> Result<Settings, Failure> {
    let config = Config::discover(backend.config.as_deref())?;
    Ok(Settings::resolve(&backend.settings.overrides, &config)?)
}

/// Messages through Redis when configured, else through the workspace.
pub(crate) fn open_mailboxes(settings: &Settings) -> Result<Mailboxes, Failure> {
    Ok(match &settings.redis {
        Some(endpoint) => Mailboxes::redis(endpoint, &settings.redis_prefix)?,
        None => Mailboxes::local(&settings.state_dir()),
    })
}

/// Redis when configured, else file locks in the workspace.
pub(crate) fn open_locks(settings: &Settings) -> Result<Locks, Failure> {
    Ok(match &settings.redis {
        Some(endpoint) => Locks::redis(endpoint, &settings.redis_prefix)?,
        None => Locks::local(&settings.state_dir())?,
    })
}
