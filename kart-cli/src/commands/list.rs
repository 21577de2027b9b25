//! `list`: every task with its parameters.

use std::io::Write;

use kart_core::registry::Registry;

pub(crate) fn list(registry: &Registry) {
    let mut out = std::io::stdout().lock();
    for entry in registry.iter() {
        let kind = match (entry.spec.wrapper, entry.spec.external) {
            (true, _) => " (wrapper)",
            (_, true) => " (external)",
            _ => "",
        };
        let _ = writeln!(out, "{}{kind}", entry.name());
        let summary = crate::command::first_sentence(entry.doc);
        if !summary.is_empty() {
            let _ = writeln!(out, "    {summary}");
        }
        for p in entry.params {
            let default = p.default.map(|d| format!(" = {}", d())).unwrap_or_default();
            let _ = writeln!(out, "    --{} <{}>{default}", p.flag(), (p.type_name)());
        }
    }
}
