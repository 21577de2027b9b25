//! What a range decided, said plainly before anything runs: the window it checked, the
//! instances before it that it assumed complete, the cap `task_limit` put on the run, and the
//! flag that changes each. Luigi's semantics stay; only the silence goes.

use chrono::NaiveDateTime;

use super::window::{Evaluation, Unit, Window};

/// The explanation of one evaluation: its lines, and whether it is a warning (nothing inside
/// the checked window).
pub(super) struct Explanation {
    pub(super) lines: Vec<String>,
    pub(super) warning: bool,
}

fn plural(n: usize, unit: Unit) -> String {
    format!("{n} {}{}", unit.name(), if n == 1 { "" } else { "s" })
}

/// `name` is `RangeDaily of AllReports`.
pub(super) fn explain(name: &str, w: &Window, e: &Evaluation) -> Explanation {
    let unit = w.unit;
    let (back, forward) = (unit.back_flag(), unit.forward_flag());
    let flags = format!("{back} {}, {forward} {}", w.back, w.forward);
    let moving = match w.span(w.moving_start(), w.moving_stop()) {
        Some(s) => format!(
            "{} to {} ({flags})",
            unit.format(s.first),
            unit.format(s.last)
        ),
        None => format!("({flags})"),
    };
    let Some((first, last)) = e.checked.first().zip(e.checked.last()) else {
        return Explanation {
            lines: vec![nothing_checked(name, w, e, &moving)],
            warning: true,
        };
    };
    let mut lines = vec![format!(
        "{name}: checked {}, {} to {} ({flags}): {} missing",
        plural(e.checked.len(), unit),
        unit.format(*first),
        unit.format(*last),
        e.missing.len()
    )];
    if e.unchecked_before > 0 {
        let start = w.start.expect("unchecked implies a start");
        lines.push(format!(
            "  {} from --start {} to {} were assumed complete and not checked; check them too with {back} {}",
            plural(e.unchecked_before, unit),
            unit.format(start),
            unit.format(unit.step(*first, -1)),
            w.back_to_reach(start)
        ));
    }
    if e.required.len() < e.missing.len() {
        lines.push(format!(
            "  running the {} {} of them: --task-limit {} caps a run; raise it to run more",
            e.required.len(),
            if w.reverse { "newest" } else { "oldest" },
            w.task_limit
        ));
    }
    Explanation {
        lines,
        warning: false,
    }
}

/// Nothing of `--start`/`--stop` lies inside the moving window.
fn nothing_checked(name: &str, w: &Window, e: &Evaluation, moving: &str) -> String {
    let unit = w.unit;
    let given = match (w.start, w.stop) {
        (Some(a), Some(b)) => format!("--start {} --stop {}", unit.format(a), unit.format(b)),
        (Some(a), None) => format!("--start {}", unit.format(a)),
        (None, Some(b)) => format!("--stop {}", unit.format(b)),
        (None, None) => "the range".into(),
    };
    let (moving_from, _) = w.finite_bounds();
    let widen = match (w.start, w.stop) {
        // Before the window: a longer look back reaches it.
        (Some(start), _) if start < moving_from => format!(
            "; its {} were assumed complete and not checked; widen the window with {} {}",
            plural(e.unchecked_before, unit),
            unit.back_flag(),
            w.back_to_reach(start)
        ),
        (None, Some(stop)) if stop <= moving_from => format!(
            "; widen the window with {} {}",
            unit.back_flag(),
            w.back_to_reach(stop)
        ),
        // After it: a longer look forward does.
        (Some(start), _) => format!(
            "; widen the window with {} {}",
            unit.forward_flag(),
            w.forward_to_reach(start)
        ),
        _ => String::new(),
    };
    format!("{name}: nothing to check: {given} lies outside the window {moving}{widen}")
}

impl Window {
    /// The smallest `forward` whose window includes the instance at `t`.
    pub(super) fn forward_to_reach(&self, t: NaiveDateTime) -> i64 {
        let mut forward = self.forward.max(0);
        let probe = |f: i64| Window {
            forward: f,
            ..self.clone()
        };
        // Doubling then bisecting: at most a few dozen window computations.
        let mut high = forward.max(1);
        while probe(high).moving_stop() <= t {
            high *= 2;
        }
        while forward < high {
            let mid = forward + (high - forward) / 2;
            if probe(mid).moving_stop() > t {
                high = mid;
            } else {
                forward = mid + 1;
            }
        }
        forward
    }
}
