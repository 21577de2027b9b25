//! `deps`: a task's dependency graph, per task or per family (`--families`), as text, DOT or
//! SVG, marked with what the last runs said (the shared events, or an `--events` file).

use std::io::Write;

use kart_core::deps::{DepTree, SeenInRun};
use kart_core::{Error, Workspace};

use crate::exit::{codes, Failure};
use crate::out::{say, say_raw};

/// `deps`: the tree, DOT, or an SVG rendered by Graphviz.
pub(crate) fn show_deps(
    root: &kart_core::AnyTask,
    ws: &Workspace,
    m: &clap::ArgMatches,
    seen: &SeenInRun,
) -> Result<u8, Failure> {
    let tree = DepTree::build(root, ws, seen)?;
    let families = m.get_flag("families");
    let dot = || match families {
        true => tree.render_families_dot(),
        false => tree.render_dot(),
    };
    if let Some(svg) = m.get_one::<std::path::PathBuf>("svg") {
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
            .write_all(dot().as_bytes())
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
        say_raw!("{}", dot());
    } else if families {
        say_raw!("{}", tree.render_families_text());
    } else {
        say_raw!("{}", tree.render_text());
    }
    Ok(codes::SUCCESS)
}
