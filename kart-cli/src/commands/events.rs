//! `events`: what every worker shared, as JSON lines, optionally followed live.

use std::io::Write;
use std::ops::ControlFlow;
use std::time::Duration;

use kart_core::event::shared::Cursor;

use crate::exit::{codes, Failure};

/// How often `--follow` looks for new events.
const POLL: Duration = Duration::from_millis(200);

pub(crate) fn events_command(bin: &str, args: &[String]) -> Result<u8, Failure> {
    let Some(cmd) = super::parse::<crate::command::EventsCommand>(bin, "events", args)? else {
        return Ok(codes::SUCCESS);
    };
    let settings = super::settings(&cmd.backend)?;
    let log = settings.shared_events()?;
    let wanted = |event: &serde_json::Value| {
        (cmd.run.is_empty() || cmd.run.iter().any(|r| event["run"] == r.as_str()))
            && (cmd.event.is_empty() || cmd.event.iter().any(|k| event["event"] == k.as_str()))
    };
    let mut cursor = Cursor::default();
    let mut out = std::io::stdout().lock();
    loop {
        let read = log.read_to_end(&mut cursor, |page| {
            for event in page.iter().filter(|e| wanted(e)) {
                // A closed pipe (`| head`) ends the command quietly.
                if writeln!(out, "{event}").is_err() {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })?;
        if read.is_break() || !cmd.follow || out.flush().is_err() {
            return Ok(codes::SUCCESS);
        }
        std::thread::sleep(POLL);
    }
}
