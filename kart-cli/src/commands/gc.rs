//! `gc`: remove old intermediate outputs.

use std::io::Write;

use kart_core::registry::Registry;
use kart_core::Workspace;

use super::open_locks;
use crate::exit::{codes, Failure};

pub(crate) fn gc_command(bin: &str, registry: &Registry, args: &[String]) -> Result<u8, Failure> {
    let Some(cmd) = super::parse::<crate::command::GcCommand>(bin, "gc", args)? else {
        return Ok(codes::SUCCESS);
    };
    let settings = super::settings(&cmd.backend)?;
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
    Ok(codes::SUCCESS)
}
