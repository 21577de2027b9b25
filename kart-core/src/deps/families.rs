//! The graph with one node per family: how many of its tasks stand where, and which families
//! require which. A range over years is a handful of nodes instead of thousands.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write;

use super::{dot_escape, draw_tree, legend_dot, legend_text, DepTree, Mark};

/// One family's tasks.
struct Family {
    name: &'static str,
    counts: BTreeMap<Mark, usize>,
    /// Indexes of the families its tasks require, in the order first met.
    requires: Vec<usize>,
}

impl Family {
    /// `3 complete, 97 pending`, in the order of alarm (worst last).
    fn counts(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(m, n)| format!("{n} {}", m.word()))
            .collect();
        parts.join(", ")
    }

    fn worst(&self) -> Mark {
        *self.counts.keys().next_back().expect("a family has a task")
    }
}

impl DepTree {
    /// Families in the order first met from the root.
    fn families(&self) -> Vec<Family> {
        let mut index: BTreeMap<&str, usize> = BTreeMap::new();
        let mut families: Vec<Family> = Vec::new();
        for n in &self.nodes {
            let k = *index.entry(n.family).or_insert_with(|| {
                families.push(Family {
                    name: n.family,
                    counts: BTreeMap::new(),
                    requires: Vec::new(),
                });
                families.len() - 1
            });
            *families[k].counts.entry(n.mark).or_default() += 1;
        }
        let mut edges = HashSet::new();
        for n in &self.nodes {
            let from = index[n.family];
            for &j in &n.requires {
                let to = index[self.nodes[j].family];
                // A family requiring itself (yesterday's report) is said in its counts.
                if from != to && edges.insert((from, to)) {
                    families[from].requires.push(to);
                }
            }
        }
        families
    }

    /// The family tree as text, each family with its counts, and a legend.
    pub fn render_families_text(&self) -> String {
        let families = self.families();
        let mut out = draw_tree(
            |i| format!("{}: {}", families[i].name, families[i].counts()),
            |i| &families[i].requires,
        );
        out.push('\n');
        out.push_str(&legend_text(
            families.iter().flat_map(|f| f.counts.keys().copied()),
        ));
        out
    }

    /// Graphviz DOT, one node per family coloured by its worst mark, with a legend.
    pub fn render_families_dot(&self) -> String {
        let families = self.families();
        let mut out = String::from("digraph kart {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\", fontsize=10];\n");
        for (i, f) in families.iter().enumerate() {
            let _ = writeln!(
                out,
                "  f{i} [label=\"{}\\n{}\", {}];",
                dot_escape(f.name),
                dot_escape(&f.counts()),
                f.worst().dot_style()
            );
        }
        for (i, f) in families.iter().enumerate() {
            for &j in &f.requires {
                let _ = writeln!(out, "  f{j} -> f{i};");
            }
        }
        let used: BTreeSet<Mark> = families.iter().map(Family::worst).collect();
        legend_dot(used, &mut out);
        out.push_str("}\n");
        out
    }
}
