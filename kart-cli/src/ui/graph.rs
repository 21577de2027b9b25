//! A run's graph at family level, drawn as SVG on the server: one box per family with its
//! tasks' counts per state, an arrow to each family it requires. What the run was asked for
//! is on top, its requirements below, layer by layer (nearest first); each box links to the
//! family's instances.

use std::collections::{BTreeMap, HashMap, VecDeque};

use maud::{html, Markup};

use super::state::{Counts, FamilyGraph, TaskState};

const WIDTH: usize = 250;
const HEIGHT: usize = 52;
const GAP_X: usize = 24;
const GAP_Y: usize = 48;
/// Characters of a family's name a box shows (the whole name is its tooltip).
const NAME_CHARS: usize = 32;

/// Each family's layer: its distance from the families nothing requires. Families only
/// reachable through a cycle start a layer 0 of their own.
fn layers(graph: &FamilyGraph) -> BTreeMap<usize, Vec<&str>> {
    let mut requires: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut required: HashMap<&str, usize> = HashMap::new();
    for (from, to) in &graph.edges {
        if from != to {
            requires.entry(from).or_default().push(to);
            *required.entry(to).or_default() += 1;
        }
    }
    let mut layer: HashMap<&str, usize> = HashMap::new();
    let mut queue = VecDeque::new();
    let names: Vec<&str> = graph.families.iter().map(|(f, _)| f.as_str()).collect();
    let starts = names.iter().filter(|f| !required.contains_key(*f));
    for start in starts.chain(names.iter()) {
        if layer.contains_key(start) {
            continue;
        }
        layer.insert(start, 0);
        queue.push_back(*start);
        while let Some(f) = queue.pop_front() {
            let next = layer[f] + 1;
            for to in requires.get(f).into_iter().flatten() {
                if !layer.contains_key(to) {
                    layer.insert(to, next);
                    queue.push_back(to);
                }
            }
        }
    }
    let mut out: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for f in names {
        out.entry(layer[f]).or_default().push(f);
    }
    out
}

/// The box's outline: failed over running over pending over not run; complete when all are.
fn outline(counts: &Counts) -> &'static str {
    [
        TaskState::Failed,
        TaskState::Running,
        TaskState::Pending,
        TaskState::NotRun,
    ]
    .into_iter()
    .find(|&s| counts.get(s) > 0)
    .map(TaskState::class)
    .unwrap_or("complete")
}

/// The SVG of `graph`, each family counted from `counts` (the run's tasks, by family).
pub(crate) fn svg(graph: &FamilyGraph, counts: &HashMap<&str, Counts>) -> Markup {
    let layers = layers(graph);
    let widest = layers.values().map(Vec::len).max().unwrap_or(0);
    let width = widest * (WIDTH + GAP_X) + GAP_X;
    let height = layers.len() * (HEIGHT + GAP_Y) + GAP_Y / 2;
    let mut at: HashMap<&str, (usize, usize)> = HashMap::new();
    for (row, families) in layers.values().enumerate() {
        // Each layer centred under the widest.
        let left = (width - families.len() * (WIDTH + GAP_X) + GAP_X) / 2;
        for (i, f) in families.iter().enumerate() {
            at.insert(
                f,
                (
                    left + i * (WIDTH + GAP_X),
                    GAP_Y / 2 + row * (HEIGHT + GAP_Y),
                ),
            );
        }
    }
    let none = Counts::default();
    html! {
        svg id="graph" xmlns="http://www.w3.org/2000/svg" width=(width) height=(height)
            viewBox={"0 0 " (width) " " (height)} {
            defs {
                marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8"
                    markerHeight="8" orient="auto-start-reverse" {
                    path d="M 0 0 L 10 5 L 0 10 z" fill="#9ca3af";
                }
            }
            @for (from, to) in &graph.edges {
                @if let (Some(&(x1, y1)), Some(&(x2, y2)), true) = (at.get(from.as_str()), at.get(to.as_str()), from != to) {
                    line class="edge" x1=(x1 + WIDTH / 2) y1=(y1 + HEIGHT) x2=(x2 + WIDTH / 2) y2=(y2)
                        stroke="#9ca3af" marker-end="url(#arrow)" {}
                }
            }
            @for (family, instances) in &graph.families {
                @let (x, y) = at[family.as_str()];
                @let c = counts.get(family.as_str()).unwrap_or(&none);
                a href={"/family/" (family)} {
                    g class="family" data-family=(family) {
                        title { (family) ": " (instances) " in this run's graph" }
                        rect class={"box " (outline(c))} x=(x) y=(y) width=(WIDTH) height=(HEIGHT) rx="6" {}
                        text x=(x + 10) y=(y + 20) class="name" {
                            (family.chars().take(NAME_CHARS).collect::<String>())
                            @if family.chars().count() > NAME_CHARS { "…" }
                        }
                        text x=(x + 10) y=(y + 40) class="counts" {
                            @for state in TaskState::ALL.into_iter().filter(|&s| c.get(s) > 0) {
                                tspan class=(state.class()) data-state=(state.class()) { (c.get(state)) " " (state.name()) }
                                "  "
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(families: &[&str], edges: &[(&str, &str)]) -> FamilyGraph {
        FamilyGraph {
            families: families.iter().map(|f| (f.to_string(), 1)).collect(),
            edges: edges
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
        }
    }

    #[test]
    fn what_was_asked_for_is_on_top_and_each_requirement_one_layer_below_its_nearest_user() {
        let g = graph(
            &["All", "Clean", "Raw", "Report"],
            &[
                ("All", "Report"),
                ("Report", "Clean"),
                ("Clean", "Raw"),
                ("All", "Raw"),
                ("Raw", "Raw"),
            ],
        );
        let layers = layers(&g);
        assert_eq!(layers[&0], ["All"]);
        assert_eq!(layers[&1], ["Raw", "Report"]);
        assert_eq!(layers[&2], ["Clean"]);
        assert_eq!(layers.len(), 3);
    }

    #[test]
    fn a_cycle_between_families_is_drawn_and_ends() {
        let g = graph(&["A", "B"], &[("A", "B"), ("B", "A")]);
        let layers = layers(&g);
        assert_eq!(layers[&0], ["A"]);
        assert_eq!(layers[&1], ["B"]);
    }
}
