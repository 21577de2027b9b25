//! The range metrics of a run (Luigi's `range_delay`, `range_complete_count`,
//! `range_complete_fraction`), collected from events for the summary.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde_json::Value;

use crate::event::{Event, EventKind};

/// Collects the range metrics of a run for its summary line.
#[derive(Default)]
pub struct RangeMetrics {
    /// By range task id: its name and `[delay, complete_count, complete_fraction]`.
    lines: Mutex<BTreeMap<String, (String, MetricValues)>>,
}

type MetricValues = [Option<f64>; 3];

impl crate::event::EventSink for RangeMetrics {
    fn handle(&self, event: &Event) {
        let slot = match event.event {
            EventKind::RangeDelay => 0,
            EventKind::RangeCompleteCount => 1,
            EventKind::RangeCompleteFraction => 2,
            _ => return,
        };
        let (Some(id), Some(family)) = (&event.task_id, &event.family) else {
            return;
        };
        let of = event.get("of").and_then(Value::as_str).unwrap_or("?");
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        let entry = lines
            .entry(id.clone())
            .or_insert_with(|| (format!("{family} of {of}"), [None; 3]));
        entry.1[slot] = event.get("value").and_then(Value::as_f64);
    }
}

impl RangeMetrics {
    /// One line per range evaluated: `RangeDaily of AllReports: 5 complete (71.4%), delay 2`.
    pub fn summary_lines(&self) -> Vec<String> {
        let lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        lines
            .values()
            .map(|(name, [delay, count, fraction])| {
                format!(
                    "Range metrics before this run: {name}: {} complete ({:.1}%), delay {} (range_complete_count, range_complete_fraction, range_delay)",
                    count.unwrap_or(0.0),
                    fraction.unwrap_or(1.0) * 100.0,
                    delay.unwrap_or(0.0),
                )
            })
            .collect()
    }
}
