//! `deps`: a task's dependency tree, as text, DOT or SVG.

use std::io::Write;

use kart_core::{Error, Workspace};

use crate::exit::{codes, Failure};
use crate::out::{say, say_raw};

/// `deps`: the tree, DOT, or an SVG rendered by Graphviz. Failed tasks come from the events
/// file given with `--events` (the last event of each task).
pub(crate) fn show_deps(
    root: &kart_core::AnyTask,
    ws: &Workspace,
    m: &clap::ArgMatches,
    events: Option<&std::path::Path>,
) -> Result<u8, Failure> {
    let tree = kart_core::deps::DepTree::build(root, ws)?;
    let mut failed = std::collections::HashSet::new();
    if let Some(path) = events.filter(|p| p.exists()) {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("cannot read events file", path, e))?;
        let mut last = std::collections::HashMap::new();
        for line in text.lines() {
            let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            if let (Some(id), Some(kind)) = (e["task_id"].as_str(), e["event"].as_str()) {
                last.insert(id.to_string(), kind.to_string());
            }
        }
        failed.extend(
            last.into_iter()
                .filter(|(_, k)| k == "failed" || k == "skipped")
                .map(|(id, _)| id),
        );
    }
    if let Some(svg) = m.get_one::<std::path::PathBuf>("svg") {
        let dot = tree.render_dot(&failed);
        let child = std::process::Command::new("dot")
            .args(["-Tsvg", "-o"])
            .arg(svg)
            .stdin(std::process::Stdio::piped())
            .spawn();
        let mut child = child.map_err(|_| Failure {
            message: "Graphviz `dot` not found: install it (apt-get install graphviz, brew install graphviz) or print DOT with --dot".into(),
            code: codes::BAD_INPUT,
        })?;
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(dot.as_bytes())
            .map_err(|e| Error::io("cannot feed dot", svg, e))?;
        let status = child
            .wait()
            .map_err(|e| Error::io("cannot run dot for", svg, e))?;
        if !status.success() {
            return Err(Failure {
                message: format!("dot failed rendering {}", svg.display()),
                code: codes::TASK_FAILED,
            });
        }
        say!("wrote {}", svg.display());
    } else if m.get_flag("dot") {
        say_raw!("{}", tree.render_dot(&failed));
    } else {
        say_raw!("{}", tree.render_text());
    }
    Ok(codes::SUCCESS)
}
