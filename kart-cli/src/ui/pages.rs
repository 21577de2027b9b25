//! The pages, rendered on the server. Everything shown is escaped (maud escapes every
//! interpolation): parameters and errors are user data. Each page's `<main>` is also served
//! alone, which the page's few lines of script fetch every second to stay live.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::state::{Run, State, TaskState};

/// How long a run may stay silent before it counts as lost (three missed heartbeats of the
/// default 5 s, and some).
pub(crate) const SILENCE_SECS: i64 = 20;

const STYLE: &str = "
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#222}
header{background:#1f2933;color:#fff;padding:8px 16px}header a{color:#fff;margin-right:16px}
main{padding:12px 16px}table{border-collapse:collapse;margin:8px 0 16px}
td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left;vertical-align:top}
.n{text-align:right;font-variant-numeric:tabular-nums}
.complete{color:#17803d}.running{color:#1d4ed8}.pending{color:#6b7280}
.failed{color:#b91c1c}.notrun{color:#a16207}.lost{color:#b91c1c}.live{color:#1d4ed8}
pre{white-space:pre-wrap;margin:0}code{font-size:13px}
table.cal td{width:22px;height:18px;padding:0;border:1px solid #fff}
table.cal th{padding:2px 4px;font-size:11px;text-align:center}
.day.complete{background:#bbf7d0}.day.missing{background:#fecaca}.day.running{background:#bfdbfe}
.day.failed{background:#f87171}.day.pending{background:#e5e7eb}.day.notrun{background:#fde68a}
span.day{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
svg text{font:12px system-ui,sans-serif}svg text.name{font-weight:600;fill:#222}
rect.box{fill:#fff;stroke-width:2}rect.complete{stroke:#17803d}rect.running{stroke:#1d4ed8}
rect.pending{stroke:#9ca3af}rect.notrun{stroke:#a16207;stroke-dasharray:5 3}rect.failed{stroke:#b91c1c;fill:#fef2f2}
tspan.complete{fill:#17803d}tspan.running{fill:#1d4ed8}tspan.pending{fill:#6b7280}
tspan.failed{fill:#b91c1c}tspan.notrun{fill:#a16207}";

/// Fetches this page's `<main>` again every second: the live view.
const LIVE: &str = "setInterval(async()=>{try{const r=await fetch(location.href,\
{headers:{'x-kart-partial':'1'}});if(r.ok){document.querySelector('main').innerHTML=await r.text();}}\
catch(e){}},1000);";

/// A whole page, or only its `<main>` when `partial`.
pub(crate) fn page(title: &str, partial: bool, main: Markup) -> Markup {
    if partial {
        return main;
    }
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "kart · " (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header { a href="/" { "kart" } a href="/" { "runs" } a href="/families" { "families" } }
                main { (main) }
                script { (PreEscaped(LIVE)) }
            }
        }
    }
}

fn counts_cells(counts: &super::state::Counts) -> Markup {
    html! {
        @for state in TaskState::ALL {
            td class={"n " (state.class())} { (counts.get(state)) }
        }
    }
}

fn counts_head() -> Markup {
    html! { @for state in TaskState::ALL { th class="n" { (state.name()) } } }
}

fn run_state(run: &Run, now: chrono::DateTime<chrono::Utc>) -> Markup {
    match &run.finished {
        Some((_, true, _)) => html! { span class="complete" { "succeeded" } },
        Some((_, false, _)) => html! { span class="failed" { "failed" } },
        None if State::alive(run, now, chrono::Duration::seconds(SILENCE_SECS)) => {
            html! { span class="live" { "running" } }
        }
        None => html! { span class="lost" { "lost (no heartbeat)" } },
    }
}

/// `/`: the runs, live and past, and the workers alive.
pub(crate) fn runs(state: &State, now: chrono::DateTime<chrono::Utc>) -> Markup {
    let alive: Vec<&Run> = state
        .runs
        .values()
        .filter(|r| State::alive(r, now, chrono::Duration::seconds(SILENCE_SECS)))
        .collect();
    html! {
        h2 { "Workers alive (" (alive.len()) ")" }
        table id="workers" {
            tr { th { "host" } th class="n" { "pid" } th class="n" { "workers" } th { "running" } th { "locks" } th class="n" { "claims" } th { "resources" } th { "run" } }
            @for run in &alive {
                tr {
                    td { (run.host) } td class="n" { (run.pid) } td class="n" { (run.workers) }
                    td {
                        @for t in &run.running {
                            @let id = t["task_id"].as_str().unwrap_or("");
                            a href={"/task/" (id)} { (id) } " "
                            span class="pending" { "(" (t["worker"].as_str().unwrap_or("")) ")" } br;
                        }
                    }
                    td class="locks" {
                        @for (key, _) in &run.holds.locks { code { (key) } br; }
                        @if run.holds.locks_more > 0 { span class="pending" { "and " (run.holds.locks_more) " more" } }
                    }
                    td class="n claims" { (run.holds.claims) }
                    td class="resources" {
                        @for (name, held, _) in run.holds.resources.iter().filter(|r| r.1 > 0) {
                            code { (name) } " " (held) br;
                        }
                    }
                    td { a href={"/run/" (run.id)} { (run.id) } }
                }
            }
        }
        @let resources = resources_in_use(&alive);
        @if !resources.is_empty() {
            h2 { "Resources in use" }
            table id="resources" {
                tr { th { "resource" } th class="n" { "in use" } th class="n" { "limit" } }
                @for (name, (held, limit)) in &resources {
                    tr class=(if held >= limit { "running" } else { "" }) {
                        td { code { (name) } } td class="n" { (held) } td class="n" { (limit) }
                    }
                }
            }
        }
        h2 { "Families" }
        (families_table(state))
        h2 { "Runs (" (state.runs.len()) ")" }
        table id="runs" {
            tr { th { "run" } th { "asked for" } th { "host" } th class="n" { "pid" } th { "started" } th { "state" } th class="n" { "seconds" } th class="n" { "succeeded" } th class="n" { "failed" } }
            @for run in state.runs.values().rev() {
                tr {
                    td { a href={"/run/" (run.id)} { (run.id) } }
                    td { code { (run.root) } }
                    td { (run.host) } td class="n" { (run.pid) }
                    td { (run.started) }
                    td { (run_state(run, now)) }
                    td class="n" { @if let Some((_, _, s)) = &run.finished { (format!("{s:.1}")) } }
                    td class="n" { (run.succeeded) } td class="n" { (run.failed) }
                }
            }
        }
        p class="pending" { (state.events) " events read." }
    }
}

/// Each resource's units held by the live workers, with its limit (every process must use
/// the same limits; the highest said is shown).
fn resources_in_use<'a>(alive: &[&'a Run]) -> std::collections::BTreeMap<&'a str, (u64, u64)> {
    let mut out = std::collections::BTreeMap::new();
    for (name, held, limit) in alive.iter().flat_map(|r| &r.holds.resources) {
        let entry: &mut (u64, u64) = out.entry(name.as_str()).or_default();
        entry.0 += held;
        entry.1 = entry.1.max(*limit);
    }
    out
}

fn families_table(state: &State) -> Markup {
    html! {
        table id="families" {
            tr { th { "family" } (counts_head()) th class="n" { "total" } th { "range" } }
            @for (family, counts) in state.families() {
                tr {
                    td { a href={"/family/" (family)} { (family) } }
                    (counts_cells(&counts))
                    td class="n" { (counts.total()) }
                    td { @if state.ranges.contains_key(family) { a href={"/calendar/" (family)} { "calendar" } } }
                }
            }
        }
    }
}

/// `/families`: every family's counts.
pub(crate) fn families(state: &State) -> Markup {
    html! { h2 { "Families" } (families_table(state)) }
}

/// Rows a family's or a run's page shows: a page stays quick for a hundred thousand tasks.
const ROWS: usize = 500;

/// `/family/NAME`: its instances, the ones needing attention first.
pub(crate) fn family(state: &State, name: &str) -> Markup {
    let tasks = state.family(name);
    let shown = tasks.len().min(ROWS);
    html! {
        h2 { "Family " code { (name) } " (" (tasks.len()) ")" }
        @if shown < tasks.len() {
            p class="pending" { "The first " (shown) " of " (tasks.len()) ": failed, running, pending and not run before complete." }
        }
        table id="tasks" {
            tr { th { "task" } th { "parameters" } th { "state" } th class="n" { "attempts" } th { "last ran on" } th { "error" } }
            @for t in &tasks[..shown] {
                tr {
                    td { a href={"/task/" (t.id)} { (t.id) } }
                    td { code { (t.params.to_string()) } }
                    td class=(t.state.class()) { (t.state.name()) }
                    td class="n" { (t.attempts) }
                    td { @if let Some((run, worker)) = &t.worker {
                        a href={"/run/" (run)} { (state.runs.get(run).map_or("?", |r| r.host.as_str())) } ", " (worker)
                    } }
                    td { @if let Some(e) = &t.error { pre { (e) } } }
                }
            }
        }
    }
}

/// `/task/ID`: what is known of one task.
pub(crate) fn task(state: &State, id: &str, outputs: &super::outputs::Outputs) -> Option<Markup> {
    let t = state.tasks.get(id)?;
    let output = outputs.of(&t.id, &t.family, &t.params);
    Some(html! {
        h2 { "Task " code { (t.id) } }
        table id="task" {
            tr { th { "family" } td { a href={"/family/" (t.family)} { (t.family) } } }
            tr { th { "parameters" } td { code { (t.params.to_string()) } } }
            @if let Some(output) = &output {
                tr { th { "output" } td { code { (output) } } }
            }
            tr { th { "state" } td class=(t.state.class()) { (t.state.name()) } }
            tr { th { "attempts" } td { (t.attempts) } }
            @if let Some((run, worker)) = &t.worker {
                tr { th { "last ran in" } td { a href={"/run/" (run)} { (run) } ", " (worker) } }
            }
            @if let Some(e) = &t.error {
                tr { th { "error" } td { pre class="failed" { (e) } } }
            }
        }
        h3 { "Log (" (t.log.len()) " lines)" }
        table id="log" {
            tr { th { "time" } th { "level" } th { "message" } }
            @for (ts, level, message) in &t.log {
                tr { td { (ts) } td { (level) } td { pre { (message) } } }
            }
        }
        h3 { "Events (last " (t.events.len()) ")" }
        table id="events" {
            tr { th { "time" } th { "event" } th { "run" } th { "details" } }
            @for e in &t.events {
                tr {
                    td { (e["ts"].as_str().unwrap_or("")) }
                    td { (e["event"].as_str().unwrap_or("")) }
                    td { (e["run"].as_str().unwrap_or("")) }
                    td { code { (details(e)) } }
                }
            }
        }
    })
}

/// An event's own fields, beyond what every event has.
fn details(e: &serde_json::Value) -> String {
    let mut rest = e.as_object().cloned().unwrap_or_default();
    for k in ["ts", "event", "run", "task_id", "family", "params", "pid"] {
        rest.remove(k);
    }
    serde_json::Value::Object(rest).to_string()
}

/// `/run/ID`: one process's run.
pub(crate) fn run(state: &State, id: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Markup> {
    let r = state.runs.get(id)?;
    let mine = state.ran_in(id);
    let shown = mine.len().min(ROWS);
    Some(html! {
        h2 { "Run " code { (r.id) } }
        table id="run" {
            tr { th { "asked for" } td { code { (r.root) } } }
            tr { th { "host, pid" } td { (r.host) ", " (r.pid) } }
            tr { th { "workers" } td { (r.workers) } }
            tr { th { "started" } td { (r.started) } }
            @if let Some((ended, _, seconds)) = &r.finished {
                tr { th { "ended" } td { (ended) " (" (format!("{seconds:.1}")) " s)" } }
            }
            tr { th { "state" } td { (run_state(r, now)) } }
            tr { th { "last heard" } td { (r.last_seen) } }
            tr { th { "tasks run, succeeded, failed" } td { (r.started_tasks) ", " (r.succeeded) ", " (r.failed) } }
        }
        @if let Some(graph) = &r.graph {
            h3 { "Its graph, by family" }
            p class="pending" { "Each family's tasks in this run's graph, as every worker left them; a box opens the family's instances." }
            (super::graph::svg(graph, &state.run_families(r)))
        }
        h3 { "Tasks it ran (" (mine.len()) ")" }
        @if shown < mine.len() {
            p class="pending" { "The first " (shown) " of " (mine.len()) ": failed and running before complete." }
        }
        table id="tasks" {
            tr { th { "task" } th { "state" } }
            @for t in &mine[..shown] {
                tr { td { a href={"/task/" (t.id)} { (t.id) } } td class=(t.state.class()) { (t.state.name()) } }
            }
        }
    })
}

/// A page for what is not there.
pub(crate) fn not_found(what: &str) -> Markup {
    html! { h2 { "Not found" } p { (what) } }
}
