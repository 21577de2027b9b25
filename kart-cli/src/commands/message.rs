//! `message`: send a message to a running task, or list those listening.

use std::io::Write;

use kart_core::message::Reply;

use super::open_mailboxes;
use crate::exit::{codes, Failure};

pub(crate) fn message_command(bin: &str, args: &[String]) -> Result<u8, Failure> {
    let Some(cmd) = super::parse::<crate::command::MessageCommand>(bin, "message", args)? else {
        return Ok(codes::SUCCESS);
    };
    let settings = super::settings(&cmd.backend)?;
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
        return Ok(codes::SUCCESS);
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
    Ok(codes::SUCCESS)
}
