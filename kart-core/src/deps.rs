//! The dependency tree of a task, each node marked complete or pending (Luigi's `deps_tree`),
//! as text or Graphviz DOT. Shared sub-trees appear once.

use std::collections::HashSet;
use std::fmt::Write;

use crate::error::Result;
use crate::task::{AnyTask, TaskId};
use crate::walk::{expand_all, settle_wrappers};
use crate::workspace::Workspace;

/// One task in the tree.
#[derive(Debug, Clone)]
pub struct DepNode {
    /// Its id.
    pub id: TaskId,
    /// `Family(params)`.
    pub display: String,
    /// Whether its output exists (for a wrapper: whether all it requires is complete).
    pub complete: bool,
    /// External data (`#[task(external)]`): kart waits for it, never makes it.
    pub external: bool,
    /// Indexes of its requirements.
    pub requires: Vec<usize>,
}

/// The dependency graph below one task.
#[derive(Debug, Clone)]
pub struct DepTree {
    /// Every task, the root first.
    pub nodes: Vec<DepNode>,
}

impl DepTree {
    /// Expands `root` fully (complete tasks included), checking each task's output once.
    pub fn build(root: &AnyTask, ws: &Workspace) -> Result<Self> {
        let walk = expand_all(std::slice::from_ref(root), ws)?;
        // Completeness bottom-up: outputs for tasks, the wrapper rule for wrappers.
        let mut complete = vec![false; walk.tasks.len()];
        for (i, task) in walk.tasks.iter().enumerate() {
            if !task.is_wrapper() {
                complete[i] = task.output_exists(ws)?;
            }
        }
        let order = walk.order()?;
        settle_wrappers(
            &order,
            &walk.deps,
            |i| walk.tasks[i].is_wrapper(),
            &mut complete,
        );
        let nodes = walk
            .tasks
            .iter()
            .zip(walk.ids)
            .zip(walk.deps)
            .zip(complete)
            .map(|(((task, id), requires), complete)| DepNode {
                id,
                display: task.display(),
                complete,
                external: task.is_external(),
                requires,
            })
            .collect();
        Ok(DepTree { nodes })
    }

    /// The tree as text: `[complete]`/`[pending]` marks; a sub-tree already shown is referred to.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        let mut shown = HashSet::new();
        self.text(0, "", true, true, &mut shown, &mut out);
        out
    }

    fn text(
        &self,
        i: usize,
        prefix: &str,
        last: bool,
        root: bool,
        shown: &mut HashSet<usize>,
        out: &mut String,
    ) {
        let node = &self.nodes[i];
        let mark = match (node.complete, node.external) {
            (true, _) => "complete",
            (false, true) => "MISSING external",
            (false, false) => "PENDING",
        };
        let branch = if root {
            ""
        } else if last {
            "└── "
        } else {
            "├── "
        };
        let again = !node.requires.is_empty() && shown.contains(&i);
        let _ = writeln!(
            out,
            "{prefix}{branch}[{mark}] {}{}",
            node.display,
            if again {
                " (requirements shown above)"
            } else {
                ""
            }
        );
        if again || !shown.insert(i) {
            return;
        }
        let child_prefix = if root {
            String::new()
        } else {
            format!("{prefix}{}", if last { "    " } else { "│   " })
        };
        for (k, &j) in node.requires.iter().enumerate() {
            self.text(
                j,
                &child_prefix,
                k + 1 == node.requires.len(),
                false,
                shown,
                out,
            );
        }
    }

    /// Graphviz DOT: complete nodes filled, pending ones hollow, `failed` ones red.
    pub fn render_dot(&self, failed: &HashSet<String>) -> String {
        let mut out = String::from("digraph kart {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
        for (i, n) in self.nodes.iter().enumerate() {
            let label = n.display.replace('\\', "\\\\").replace('"', "\\\"");
            let style = if failed.contains(n.id.as_str()) {
                "style=filled, fillcolor=\"#f4a6a6\", color=\"#b00020\""
            } else if n.complete {
                "style=filled, fillcolor=\"#b7e1b5\""
            } else {
                "style=solid"
            };
            // External data gets a double border: nothing kart can make.
            let border = if n.external { ", peripheries=2" } else { "" };
            let _ = writeln!(out, "  n{i} [label=\"{label}\", {style}{border}];");
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for &j in &n.requires {
                // Arrows point from a requirement to the task that needs it.
                let _ = writeln!(out, "  n{j} -> n{i};");
            }
        }
        out.push_str("}\n");
        out
    }
}
