//! `show`: one task's output — a value as JSON, a file's or directory's place and size — or
//! that it is not complete (exit code of missing data).

use kart_core::output::{OutputKind, Shown};
use kart_core::{AnyTask, Workspace};

use crate::exit::{codes, Failure};
use crate::out::say;

pub(crate) fn show(task: &AnyTask, ws: &Workspace) -> Result<u8, Failure> {
    match kart_core::output::show(&**task, ws)? {
        Shown::Wrapper => {
            let complete = kart_core::complete::is_complete(&**task, ws)?;
            say!(
                "{} is a wrapper, with no output of its own; it is {}complete (see `deps`)",
                task.display(),
                if complete { "" } else { "not " }
            );
            Ok(if complete {
                codes::SUCCESS
            } else {
                codes::MISSING_DATA
            })
        }
        Shown::ByRule { complete, kind } => {
            let how = match kind {
                OutputKind::Table => "its marker row in the database",
                _ => "its family's own rule",
            };
            say!(
                "{} is {}complete, by {how}",
                task.display(),
                if complete { "" } else { "not " }
            );
            Ok(if complete {
                codes::SUCCESS
            } else {
                codes::MISSING_DATA
            })
        }
        Shown::Incomplete { location } => {
            say!(
                "{} is not complete: {location} does not exist",
                task.display()
            );
            Ok(codes::MISSING_DATA)
        }
        Shown::Json(value) => {
            let text = serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string());
            say!("{text}");
            Ok(codes::SUCCESS)
        }
        Shown::Stored {
            kind,
            location,
            size,
            files,
        } => {
            match (kind, files) {
                (OutputKind::Dir, Some(n)) => {
                    say!(
                        "{}/\t{n} files, {size} bytes",
                        location.trim_end_matches('/')
                    )
                }
                _ => say!("{location}\t{size} bytes"),
            }
            Ok(codes::SUCCESS)
        }
    }
}
