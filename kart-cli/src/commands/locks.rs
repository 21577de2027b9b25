//! `locks list` and `locks clear`.

use std::io::{IsTerminal, Write};

use super::open_locks;
use crate::exit::{codes, Failure};
use crate::out::{say, tell_raw};

fn human(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    kart_core::Duration::from_secs(secs.max(if d.is_zero() { 0 } else { 1 })).to_string()
}

pub(crate) fn locks_command(bin: &str, args: &[String]) -> Result<u8, Failure> {
    let Some(cmd) = super::parse::<crate::command::LocksCommand>(bin, "locks", args)? else {
        return Ok(codes::SUCCESS);
    };
    let settings = super::settings(&cmd.backend)?;
    let locks = open_locks(&settings)?;
    let backend = locks.backend();
    let held = backend.list()?;
    match cmd.action {
        crate::command::LocksAction::List => {
            let mut out = std::io::stdout().lock();
            if held.is_empty() {
                let _ = writeln!(out, "No locks held ({}).", backend.describe());
                return Ok(codes::SUCCESS);
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
            Ok(codes::SUCCESS)
        }
        crate::command::LocksAction::Clear { key, all, yes } => {
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
                        code: codes::BAD_INPUT,
                    });
                }
                vec![key]
            };
            if targets.is_empty() {
                say!("No locks held ({}).", backend.describe());
                return Ok(codes::SUCCESS);
            }
            if !yes {
                if !std::io::stdin().is_terminal() {
                    return Err(Failure {
                        message: "refusing to clear locks without confirmation: make sure their holders have crashed or finished, then pass --yes".into(),
                        code: codes::BAD_INPUT,
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
                    return Ok(codes::SUCCESS);
                }
            }
            for key in &targets {
                if backend.clear(key)? {
                    say!("cleared {key}");
                }
            }
            Ok(codes::SUCCESS)
        }
    }
}
