//! The dependency graph of a task, each node marked (Luigi's `deps_tree`): complete or pending
//! from the workspace, and — given a run's events — failed, not run, or corrupt (a dependent
//! could not read it). Per instance or per family, as text or Graphviz DOT, with one legend.

mod families;
mod instances;
mod seen;

use crate::error::Result;
use crate::task::{AnyTask, TaskId};
use crate::walk::{expand_all, settle_wrappers};
use crate::workspace::Workspace;

pub use seen::SeenInRun;

/// How a task stands. The order is the order of alarm: a family shows its worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mark {
    /// Its output exists (a wrapper: everything it requires is complete).
    Complete,
    /// It would run.
    Pending,
    /// Not run in the run the events tell of, because a requirement did not complete.
    NotRun,
    /// External data that is not there: kart waits for it, never makes it.
    MissingExternal,
    /// Its output exists, but a dependent could not read it in that run.
    Corrupt,
    /// Failed in that run.
    Failed,
}

impl Mark {
    /// Every mark, in order.
    pub const ALL: [Mark; 6] = [
        Mark::Complete,
        Mark::Pending,
        Mark::NotRun,
        Mark::MissingExternal,
        Mark::Corrupt,
        Mark::Failed,
    ];

    /// The word the text views use.
    pub fn word(self) -> &'static str {
        match self {
            Mark::Complete => "complete",
            Mark::Pending => "pending",
            Mark::NotRun => "not run",
            Mark::MissingExternal => "missing external",
            Mark::Corrupt => "corrupt",
            Mark::Failed => "failed",
        }
    }

    /// The tree's tag: `[complete]`, and the others in capitals so they stand out.
    pub fn tag(self) -> &'static str {
        match self {
            Mark::Complete => "complete",
            Mark::Pending => "PENDING",
            Mark::NotRun => "NOT RUN",
            Mark::MissingExternal => "MISSING external",
            Mark::Corrupt => "CORRUPT",
            Mark::Failed => "FAILED",
        }
    }

    /// What it means, for the legend.
    pub fn meaning(self) -> &'static str {
        match self {
            Mark::Complete => "its output exists",
            Mark::Pending => "would run",
            Mark::NotRun => "a requirement did not complete (from --events)",
            Mark::MissingExternal => "external data not there; kart waits for it",
            Mark::Corrupt => "its output exists but could not be read (from --events)",
            Mark::Failed => "failed in that run (from --events)",
        }
    }

    /// Graphviz node attributes.
    fn dot_style(self) -> &'static str {
        match self {
            Mark::Complete => "style=filled, fillcolor=\"#b7e1b5\"",
            Mark::Pending => "style=solid",
            Mark::NotRun => "style=\"dashed,filled\", fillcolor=\"#e6e6e6\", color=\"#808080\"",
            Mark::MissingExternal => "style=solid, peripheries=2",
            Mark::Corrupt => "style=filled, fillcolor=\"#ffd591\", color=\"#b00020\"",
            Mark::Failed => "style=filled, fillcolor=\"#f4a6a6\", color=\"#b00020\"",
        }
    }
}

/// One task in the graph.
#[derive(Debug, Clone)]
pub struct DepNode {
    /// Its id.
    pub id: TaskId,
    /// Its family.
    pub family: &'static str,
    /// `Family(params)`.
    pub display: String,
    /// How it stands.
    pub mark: Mark,
    /// External data (`#[task(external)]`).
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
    /// Expands `root` fully (complete tasks included), checking each task's output once, and
    /// marks each task with what `seen` tells of the last run.
    pub fn build(root: &AnyTask, ws: &Workspace, seen: &SeenInRun) -> Result<Self> {
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
            .map(|(((task, id), requires), complete)| {
                let external = task.is_external();
                let mark = seen.mark(&id, complete, external);
                DepNode {
                    id,
                    family: task.family(),
                    display: task.display(),
                    mark,
                    external,
                    requires,
                }
            })
            .collect();
        Ok(DepTree { nodes })
    }
}

/// `  Legend: complete = its output exists; ...` for the marks that appear.
fn legend_text(used: impl IntoIterator<Item = Mark>) -> String {
    let mut used: Vec<Mark> = used.into_iter().collect();
    used.sort();
    used.dedup();
    let parts: Vec<String> = used
        .iter()
        .map(|m| format!("{} = {}", m.word(), m.meaning()))
        .collect();
    format!("Legend: {}\n", parts.join("; "))
}

/// A DOT legend: one box per mark that appears, in a cluster of its own.
fn legend_dot(used: impl IntoIterator<Item = Mark>, out: &mut String) {
    use std::fmt::Write;
    let mut used: Vec<Mark> = used.into_iter().collect();
    used.sort();
    used.dedup();
    out.push_str("  subgraph cluster_legend {\n    label=\"Legend\"; fontname=\"Helvetica\"; fontsize=10; color=\"#c0c0c0\";\n");
    for m in &used {
        let _ = writeln!(
            out,
            "    legend_{} [label=\"{}\", {}];",
            m.word().replace(' ', "_"),
            m.word(),
            m.dot_style()
        );
    }
    for pair in used.windows(2) {
        let _ = writeln!(
            out,
            "    legend_{} -> legend_{} [style=invis];",
            pair[0].word().replace(' ', "_"),
            pair[1].word().replace(' ', "_")
        );
    }
    out.push_str("  }\n");
}

/// A DOT string literal's contents.
fn dot_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Draws a tree with `├──`/`└──` from node 0: each node's line once with its requirements
/// below; met again, it is referred to.
fn draw_tree<'a>(
    label: impl Fn(usize) -> String,
    requires: impl Fn(usize) -> &'a [usize],
) -> String {
    struct Drawer<'f, L, R> {
        label: &'f L,
        requires: &'f R,
        shown: std::collections::HashSet<usize>,
        out: String,
    }
    impl<'a, L: Fn(usize) -> String, R: Fn(usize) -> &'a [usize]> Drawer<'_, L, R> {
        fn draw(&mut self, i: usize, prefix: &str, branch: Option<bool>) {
            use std::fmt::Write;
            let requires = (self.requires)(i);
            let again = !requires.is_empty() && self.shown.contains(&i);
            let _ = writeln!(
                self.out,
                "{prefix}{}{}{}",
                match branch {
                    None => "",
                    Some(true) => "└── ",
                    Some(false) => "├── ",
                },
                (self.label)(i),
                if again {
                    " (requirements shown above)"
                } else {
                    ""
                }
            );
            if again || !self.shown.insert(i) {
                return;
            }
            let child_prefix = match branch {
                None => String::new(),
                Some(true) => format!("{prefix}    "),
                Some(false) => format!("{prefix}│   "),
            };
            for (k, &j) in requires.iter().enumerate() {
                self.draw(j, &child_prefix, Some(k + 1 == requires.len()));
            }
        }
    }
    let mut drawer = Drawer {
        label: &label,
        requires: &requires,
        shown: std::collections::HashSet::new(),
        out: String::new(),
    };
    drawer.draw(0, "", None);
    drawer.out
}
