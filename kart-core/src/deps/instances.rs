//! The graph with one node per task: a text tree (a sub-tree shown once) or DOT.

use std::fmt::Write;

use super::{dot_escape, draw_tree, legend_dot, DepTree};

impl DepTree {
    /// The tree as text: each task tagged (`[complete]`, `[PENDING]`, `[FAILED]`, ...); a
    /// sub-tree already shown is referred to.
    pub fn render_text(&self) -> String {
        draw_tree(
            |i| format!("[{}] {}", self.nodes[i].mark.tag(), self.nodes[i].display),
            |i| &self.nodes[i].requires,
        )
    }

    /// Graphviz DOT, one node per task coloured by its mark, with a legend.
    pub fn render_dot(&self) -> String {
        let mut out = String::from("digraph kart {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
        for (i, n) in self.nodes.iter().enumerate() {
            // External data keeps its double border whatever its mark.
            let border = match (n.external, n.mark) {
                (true, m) if m != super::Mark::MissingExternal => ", peripheries=2",
                _ => "",
            };
            let _ = writeln!(
                out,
                "  n{i} [label=\"{}\", {}{border}];",
                dot_escape(&n.display),
                n.mark.dot_style()
            );
        }
        for (i, n) in self.nodes.iter().enumerate() {
            for &j in &n.requires {
                // Arrows point from a requirement to the task that needs it.
                let _ = writeln!(out, "  n{j} -> n{i};");
            }
        }
        legend_dot(self.nodes.iter().map(|n| n.mark), &mut out);
        out.push_str("}\n");
        out
    }
}
