//! Task fixtures for kart's integration tests, and helpers the tests share.
//!
//! The `fixture` binary runs these tasks through kart's command line. Tasks that need to
//! count or coordinate across attempts keep their state in files under the workspace, since
//! each attempt may run on another thread (or, in the lock tests, another process).

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use kart_core::{task, tasks, AnyTask, Duration, Error, Result, RunContext, TaskError};
use serde::{Deserialize, Serialize};

/// Appends a line to `<workspace>/<file>` and returns how many lines it now has.
fn append_line(ctx: &RunContext, file: &str, line: &str) -> Result<usize> {
    append_line_in(ctx.workspace(), file, line)
}

/// [`append_line`] from outside a run (a completeness rule).
fn append_line_in(ws: &kart_core::Workspace, file: &str, line: &str) -> Result<usize> {
    let path = std::path::Path::new(ws.root()).join(file);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    writeln!(f, "{line}")?;
    Ok(std::fs::read_to_string(&path)?.lines().count())
}

/// Fails its first `fail_times` attempts, then succeeds.
#[task(output = "flaky/{name}.json")]
pub fn flaky(
    name: String,
    #[param(significant = false)] fail_times: usize,
    ctx: &RunContext,
) -> Result<usize> {
    let attempts = append_line(ctx, &format!("attempts/{name}"), "attempt")?;
    if attempts <= fail_times {
        return Err(TaskError::msg(format!(
            "flaky failure {attempts} of {fail_times}"
        )));
    }
    Ok(attempts)
}

/// Logs `lines` lines through `tracing` (the last a warning), then writes how many, or
/// fails when told to.
#[task(output = "chatty/{name}-{lines}-{fail}.json")]
pub fn chatty(name: String, lines: u32, #[param(default = false)] fail: bool) -> Result<u32> {
    for i in 1..lines {
        tracing::info!(line = i, "{name} says {i}");
    }
    tracing::warn!("{name} is done talking");
    match fail {
        true => Err(TaskError::msg(format!("{name} talked itself out"))),
        false => Ok(lines),
    }
}

/// Runs `sh -c script` through `RunContext::command`: its output lines become the task's
/// log; writes what it printed on stdout.
#[task(output = "shell/{name}.json")]
pub fn shell(
    name: String,
    #[param(significant = false)] script: String,
    ctx: &RunContext,
) -> Result<String> {
    let out = ctx.command(std::process::Command::new("sh").arg("-c").arg(&script))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Always fails.
#[task(output = "boom/{n}.json")]
pub fn boom(n: i64) -> Result<i64> {
    Err(TaskError::msg(format!("boom {n}")))
}

/// Panics: the worker reports a failure instead of crashing.
#[task(output = "panics/{n}.json")]
pub fn panics(n: i64) -> Result<i64> {
    panic!("panic in task {n}")
}

/// A chain: `Chain(n)` requires `Chain(n - 1)` and adds one to its output.
#[task(output = "chain/{n}.json")]
pub fn chain(
    n: u32,
    #[requires(if n > 0 { vec![Chain { n: n - 1 }] } else { vec![] })] previous: Vec<u32>,
) -> Result<u32> {
    Ok(previous.first().map_or(0, |p| p + 1))
}

/// Requires a failing branch and a healthy one: the healthy one still completes.
#[task(wrapper)]
pub fn mixed(n: u32) -> Vec<AnyTask> {
    tasks![Boom { n: i64::from(n) }, Chain { n }]
}

/// Requires the same `Chain` twice through two paths: it runs once.
#[task(output = "diamond/{n}.json")]
pub fn diamond(
    n: u32,
    #[requires(Chain { n })] left: u32,
    #[requires(vec![Chain { n }, Chain { n: n + 1 }])] right: Vec<u32>,
) -> Result<u32> {
    Ok(left + right.iter().sum::<u32>())
}

/// A task whose output is MessagePack.
#[task(output = "packed/{n}.msgpack", format = "msgpack")]
pub fn packed(n: u32) -> Result<BTreeMap<String, u32>> {
    Ok(BTreeMap::from([
        ("n".to_string(), n),
        ("square".to_string(), n * n),
    ]))
}

/// Loads a `Packed` output.
#[task(output = "unpacked/{n}.json")]
pub fn unpacked(n: u32, #[requires(Packed { n })] packed: BTreeMap<String, u32>) -> Result<u32> {
    Ok(packed["square"])
}

/// Sleeps, then succeeds; for tests of parallel workers.
#[task(output = "sleepy/{n}.json")]
pub fn sleepy(n: u32, #[param(default = 50, significant = false)] millis: u64) -> Result<u32> {
    std::thread::sleep(std::time::Duration::from_millis(millis));
    Ok(n)
}

/// Fans in `Sleepy(0..n)`.
#[task(wrapper)]
pub fn sleepy_fanin(n: u32, #[param(default = 50)] millis: u64) -> Vec<AnyTask> {
    (0..n).map(|n| Sleepy { n, millis }.into()).collect()
}

/// A region, used as an enum parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    Eu,
    Us,
}

impl std::str::FromStr for Region {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "eu" => Ok(Region::Eu),
            "us" => Ok(Region::Us),
            other => Err(format!("unknown region `{other}` (expected eu or us)")),
        }
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Region::Eu => "eu",
            Region::Us => "us",
        })
    }
}

kart_core::param_from_str!(Region);

/// Every supported parameter type; the output echoes what was parsed.
#[task]
#[allow(clippy::too_many_arguments)]
pub fn typed(
    /// An integer.
    count: i64,
    /// A float.
    #[param(default = 0.5)]
    ratio: f64,
    /// A flag.
    #[param(default = false)]
    flag: bool,
    /// Some text.
    #[param(default = String::from("hello"))]
    label: String,
    /// A day.
    #[param(default = NaiveDate::from_ymd_opt(2015, 1, 1).unwrap())]
    day: NaiveDate,
    /// An instant.
    #[param(default = NaiveDateTime::parse_from_str("2015-01-01T00:00:00", "%Y-%m-%dT%H:%M:%S").unwrap())]
    at: NaiveDateTime,
    /// A span of time.
    #[param(default = Duration::from_secs(60))]
    wait: Duration,
    /// An enum.
    #[param(default = Region::Eu)]
    region: Region,
    /// A list.
    #[param(default)]
    ids: Vec<u32>,
    /// Maybe a note.
    #[param(default)]
    note: Option<String>,
    /// A JSON map (Luigi's DictParameter).
    #[param(default)]
    extra: serde_json::Map<String, serde_json::Value>,
    /// Not part of the id.
    #[param(default = 1, significant = false)]
    verbosity: u8,
) -> Result<serde_json::Value> {
    Ok(serde_json::json!({
        "count": count, "ratio": ratio, "flag": flag, "label": label, "day": day.to_string(),
        "at": at.to_string(), "wait_secs": wait.as_std().as_secs(), "region": region.to_string(),
        "ids": ids, "note": note, "extra": extra, "verbosity": verbosity,
    }))
}

/// Output echoing a config-settable parameter, for precedence tests.
#[task(output = "greeting/{name}.json")]
pub fn greeting(
    name: String,
    /// Set by CLI, env, config or default.
    #[param(default = String::from("declared"), significant = false)]
    salutation: String,
) -> Result<String> {
    Ok(format!("{salutation}, {name}"))
}

/// A value computed by a dependency, loaded as a typed input.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Summed {
    pub n: u32,
    pub total: u64,
}

/// Produces a `Summed`.
#[task(output = "stats/{n}.json")]
pub fn stats(n: u32) -> Result<Summed> {
    Ok(Summed {
        n,
        total: (1..=u64::from(n)).sum(),
    })
}

/// Consumes `Stats` as a typed input.
#[task(output = "stats-report/{n}.json")]
pub fn stats_report(n: u32, #[requires(Stats { n })] stats: Summed) -> Result<String> {
    Ok(format!("{} -> {}", stats.n, stats.total))
}

/// One of many readers of the same `Stats`: a corrupt `Stats` fails them all alike.
#[task(output = "stats-reader/{n}/{i}.json")]
pub fn stats_reader(n: u32, i: u32, #[requires(Stats { n })] stats: Summed) -> Result<u64> {
    Ok(stats.total + u64::from(i))
}

/// `count` readers of `Stats(n)`.
#[task(wrapper)]
pub fn stats_readers(n: u32, count: u32) -> Vec<AnyTask> {
    (0..count).map(|i| StatsReader { n, i }.into()).collect()
}

/// The lines of `<workspace>/<file>` (none when it does not exist).
fn lines_in(ws: &kart_core::Workspace, file: &str) -> Result<Vec<String>> {
    match std::fs::read_to_string(std::path::Path::new(ws.root()).join(file)) {
        Ok(text) => Ok(text.lines().map(str::to_string).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// A warehouse partition: loaded when its day is listed in `partitions.txt` — completeness
/// that is not "the output file exists".
#[task(complete = partition_loaded)]
pub fn partition(day: NaiveDate, ctx: &RunContext) -> Result<()> {
    append_line(ctx, "partition-runs.txt", &day.to_string())?;
    append_line(ctx, "partitions.txt", &day.to_string())?;
    Ok(())
}

/// `Partition`'s rule. Fails (as a database that cannot be reached would) while
/// `partitions.broken` exists.
pub fn partition_loaded(task: &Partition, ws: &kart_core::Workspace) -> Result<bool> {
    if std::path::Path::new(ws.root())
        .join("partitions.broken")
        .exists()
    {
        return Err(TaskError::msg("partition catalog unreachable"));
    }
    Ok(lines_in(ws, "partitions.txt")?.contains(&task.day.to_string()))
}

/// Reads the partition of its day.
#[task(output = "partition-report/{day}.json")]
pub fn partition_report(day: NaiveDate, #[requires(Partition { day })] _loaded: ()) -> u32 {
    day.day()
}

/// Luigi's range case with `bulk_complete`: days listed in `not-done.txt` are incomplete
/// until run; every rule call is logged to `rule-calls.txt`.
#[task(complete = bulk_day_done, bulk_complete = bulk_days_done)]
pub fn bulk_day(day: NaiveDate, ctx: &RunContext) -> Result<()> {
    append_line(ctx, "done.txt", &day.to_string())?;
    Ok(())
}

fn bulk_day_is_done(ws: &kart_core::Workspace, day: NaiveDate) -> Result<bool> {
    let day = day.to_string();
    Ok(!lines_in(ws, "not-done.txt")?.contains(&day) || lines_in(ws, "done.txt")?.contains(&day))
}

/// `BulkDay`'s per-instance rule.
pub fn bulk_day_done(task: &BulkDay, ws: &kart_core::Workspace) -> Result<bool> {
    append_line_in(ws, "rule-calls.txt", &format!("complete {}", task.day))?;
    bulk_day_is_done(ws, task.day)
}

/// `BulkDay`'s rule for many candidates at once: the complete ones.
pub fn bulk_days_done(candidates: &[BulkDay], ws: &kart_core::Workspace) -> Result<Vec<BulkDay>> {
    append_line_in(ws, "rule-calls.txt", &format!("bulk {}", candidates.len()))?;
    let mut done = Vec::new();
    for c in candidates {
        if bulk_day_is_done(ws, c.day)? {
            done.push(c.clone());
        }
    }
    Ok(done)
}

/// `Cyclic(0)` requires `Cyclic(1)` which requires `Cyclic(0)`: the scheduler reports the cycle.
#[task(output = "cyclic/{n}.json")]
pub fn cyclic(n: u32, #[requires(Cyclic { n: (n + 1) % 2 })] other: u32) -> Result<u32> {
    Ok(other)
}

// Luigi's range test tasks (test/range_test.py), writing real files.

/// Hourly output `TaskA/%Y-%m-%d/%H`.
#[task(output = "TaskA/{dh:%Y-%m-%d}/{dh:%H}")]
pub fn task_a(dh: NaiveDateTime) -> Result<String> {
    Ok(dh.to_string())
}

/// Hourly output under a directory that depends on another parameter.
#[task(output = "TaskB/{complicator}{dh:%Y-%m-%d}/{dh:%H}")]
pub fn task_b(dh: NaiveDateTime, complicator: String) -> Result<String> {
    Ok(format!("{complicator}{dh}"))
}

/// Complete when both `TaskA` and `TaskB` of the hour are.
#[task(wrapper)]
pub fn common_wrapper_task(dh: NaiveDateTime) -> Vec<AnyTask> {
    tasks![
        TaskA { dh },
        TaskB {
            dh,
            complicator: "no/worries".into()
        }
    ]
}

/// A daily task for the range CLI tests, with an extra parameter for `--of-params`.
#[task(output = "daily/{region}/{day}.json")]
pub fn daily(
    day: NaiveDate,
    #[param(default = String::from("eu"))] region: String,
) -> Result<String> {
    Ok(format!("{region} {day}"))
}

/// A monthly task.
#[task(output = "monthly/{month}.json")]
pub fn monthly(month: kart_core::Month) -> Result<String> {
    Ok(month.to_string())
}

/// Every few minutes.
#[task(output = "minutely/{at:%Y-%m-%d}/{at:%H%M}.json")]
pub fn minutely(at: NaiveDateTime) -> Result<String> {
    Ok(at.to_string())
}

pub mod object_server;
pub mod pg_server;
pub mod redis_server;

// Locks.

/// Marks `running/<name>` for the duration of a locked run; a second concurrent holder finds
/// the marker and records the overlap in `overlaps.log` (the tests expect none).
fn exclusive_section(
    ctx: &RunContext,
    name: &str,
    work: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let root = std::path::Path::new(ctx.workspace().root());
    let dir = root.join("running");
    std::fs::create_dir_all(&dir)?;
    let marker = dir.join(name);
    let claim = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&marker)
    };
    if claim().is_err() {
        // A marker left by a killed holder (its pid is gone) is stale, not an overlap.
        let owner = std::fs::read_to_string(&marker).unwrap_or_default();
        let alive =
            !owner.is_empty() && std::path::Path::new(&format!("/proc/{}", owner.trim())).exists();
        if alive {
            append_line(
                ctx,
                "overlaps.log",
                &format!("{name} held by {} and {}", owner.trim(), std::process::id()),
            )?;
        }
        let _ = std::fs::remove_file(&marker);
        let _ = claim();
    }
    std::fs::write(&marker, std::process::id().to_string())?;
    let result = work();
    let _ = std::fs::remove_file(&marker);
    result
}

/// A locked leaf of the multi-process DAG: leaves 10.. require leaf `i % 10`.
#[task(output = "locked/{i}.json")]
#[run_with_lock]
pub fn locked_leaf(
    i: u32,
    #[param(default = 20, significant = false)] millis: u64,
    #[requires(if i >= 10 { vec![LockedLeaf { i: i % 10, millis }] } else { vec![] })] below: Vec<
        u32,
    >,
    ctx: &RunContext,
) -> Result<u32> {
    exclusive_section(ctx, &format!("leaf-{i}"), || {
        std::thread::sleep(std::time::Duration::from_millis(millis));
        Ok(())
    })?;
    Ok(i + below.len() as u32)
}

/// The multi-process DAG: `LockedLeaf(0..n)`.
#[task(wrapper)]
pub fn locked_dag(n: u32, #[param(default = 20)] millis: u64) -> Vec<AnyTask> {
    (0..n).map(|i| LockedLeaf { i, millis }.into()).collect()
}

/// Holds its run lock (TTL 2 s, renewed) for `secs`, polling for cancellation; then writes.
#[task(output = "held/{name}.json")]
#[run_with_lock(ttl = "2s")]
pub fn hold_lock(
    name: String,
    #[param(default = 1.0, significant = false)] secs: f64,
    ctx: &RunContext,
) -> Result<String> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    exclusive_section(ctx, &name, || {
        while std::time::Instant::now() < until && !ctx.is_cancelled() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Ok(())
    })?;
    Ok(format!("{name} held by {}", std::process::id()))
}

/// Unique job locked while executing; the conflicting copy is rejected.
#[task(output = "unique/reject/{n}.json")]
#[run_with_lock(lock = while_executing)]
pub fn unique_reject(
    n: u32,
    #[param(default = 1.0, significant = false)] secs: f64,
) -> Result<u32> {
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    Ok(n)
}

/// Unique job locked while executing; the conflicting copy raises.
#[task(output = "unique/raise/{n}.json")]
#[run_with_lock(lock = while_executing, on_conflict = raise)]
pub fn unique_raise(n: u32, #[param(default = 1.0, significant = false)] secs: f64) -> Result<u32> {
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    Ok(n)
}

/// Unique job locked while executing; the conflicting copy is rescheduled until it can run
/// (and then finds the output made).
#[task(output = "unique/reschedule/{n}.json")]
#[run_with_lock(lock = while_executing, on_conflict = reschedule)]
pub fn unique_reschedule(
    n: u32,
    #[param(default = 1.0, significant = false)] secs: f64,
) -> Result<u32> {
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    Ok(n)
}

/// Unique per region (`unique_args`), locked from scheduling until it starts: while the first
/// waits for its slow requirement, a second one for the same region is rejected.
#[task(output = "unique/region/{region}/{day}.json")]
#[run_with_lock(lock = until_executing, unique_args = [region])]
pub fn region_export(
    day: NaiveDate,
    region: String,
    #[requires(Sleepy { n: day.ordinal0(), millis: 1500 })] _slow: u32,
) -> Result<String> {
    Ok(format!("{region} {day}"))
}

/// Unique per region, locked from scheduling until it has run; conflicts raise.
#[task(output = "unique/executed/{region}/{day}.json")]
#[run_with_lock(lock = until_executed, on_conflict = raise, unique_args = [region])]
pub fn region_import(
    day: NaiveDate,
    region: String,
    #[param(default = 1.0, significant = false)] secs: f64,
) -> Result<String> {
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    Ok(format!("{region} {day}"))
}

/// A named lock shared by every instance (JWQL's `only_one`).
#[task(output = "transfer/{n}.json")]
#[run_with_lock(key = "nightly-transfer", timeout = "30s")]
pub fn nightly_transfer(
    n: u32,
    #[param(default = 200, significant = false)] millis: u64,
    ctx: &RunContext,
) -> Result<u32> {
    exclusive_section(ctx, "nightly-transfer", || {
        std::thread::sleep(std::time::Duration::from_millis(millis));
        Ok(())
    })?;
    Ok(n)
}

/// All transfers: with several workers they still run one at a time.
#[task(wrapper)]
pub fn all_transfers(n: u32) -> Vec<AnyTask> {
    (0..n)
        .map(|n| NightlyTransfer { n, millis: 100 }.into())
        .collect()
}

// Worker lifecycle.

/// Runs `secs`, looking at cancellation every 20 ms; returns early (and fails) when cancelled.
fn busy_for(ctx: &RunContext, secs: f64) -> Result<()> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    while std::time::Instant::now() < until {
        if ctx.is_cancelled() {
            return Err(Error::Cancelled("stopped early".into()).into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

/// A task with its own one-second timeout.
#[task(output = "slow/{n}.json", timeout = "1s")]
pub fn slow_poll(
    n: u32,
    #[param(default = 5.0, significant = false)] secs: f64,
    ctx: &RunContext,
) -> Result<u32> {
    busy_for(ctx, secs)?;
    Ok(n)
}

/// A task without a timeout of its own.
#[task(output = "busy/{n}.json")]
pub fn busy(
    n: u32,
    #[param(default = 1.0, significant = false)] secs: f64,
    ctx: &RunContext,
) -> Result<u32> {
    busy_for(ctx, secs)?;
    Ok(n)
}

/// Many busy tasks.
#[task(wrapper)]
pub fn busy_fanin(n: u32, #[param(default = 0.3)] secs: f64) -> Vec<AnyTask> {
    (0..n).map(|n| Busy { n, secs }.into()).collect()
}

/// An intermediate output: `gc` may remove it once it is old.
#[task(output = "tmp/{n}.json", intermediate)]
pub fn scratch(n: u32) -> Result<u32> {
    Ok(n * 10)
}

/// A final output computed from an intermediate one.
#[task(output = "final/{n}.json")]
pub fn final_result(n: u32, #[requires(Scratch { n })] scratch: u32) -> Result<u32> {
    Ok(scratch + 1)
}

/// Holds the named lock `key` for `secs`.
#[task(output = "named/{name}.json")]
pub fn hold_named_lock(
    name: String,
    #[param(significant = false)] key: String,
    #[param(default = 3.0, significant = false)] secs: f64,
    ctx: &RunContext,
) -> Result<String> {
    let _guard = ctx.lock(key.as_str())?.acquire()?;
    busy_for(ctx, secs)?;
    Ok(key)
}

// Resources.

/// Uses one unit of `warehouse_db`.
#[task(output = "warehouse/{n}.json")]
#[kart_core::resources(warehouse_db = 1)]
pub fn warehouse(n: u32, #[param(default = 100, significant = false)] millis: u64) -> Result<u32> {
    std::thread::sleep(std::time::Duration::from_millis(millis));
    Ok(n)
}

/// `Warehouse(offset..offset + n)`.
#[task(wrapper)]
pub fn warehouse_load(
    n: u32,
    #[param(default = 0)] offset: u32,
    #[param(default = 100)] millis: u64,
) -> Vec<AnyTask> {
    (offset..offset + n)
        .map(|n| Warehouse { n, millis }.into())
        .collect()
}

/// Luigi's property-based resources: no two runs write one file at once.
#[task(output = "files/{file}/{n}.json")]
#[kart_core::resources("file:{file}" = 1)]
pub fn write_file(file: String, n: u32) -> Result<u32> {
    std::thread::sleep(std::time::Duration::from_millis(150));
    Ok(n)
}

/// Two runs for each of two files.
#[task(wrapper)]
pub fn write_files() -> Vec<AnyTask> {
    tasks![
        WriteFile {
            file: "a".into(),
            n: 1
        },
        WriteFile {
            file: "a".into(),
            n: 2
        },
        WriteFile {
            file: "b".into(),
            n: 1
        },
        WriteFile {
            file: "b".into(),
            n: 2
        },
    ]
}

/// Holds both units of `some_resource`, then gives one back and goes on.
#[task(output = "heavy/{n}.json")]
#[kart_core::resources(some_resource = 2)]
pub fn heavy(n: u32, ctx: &RunContext) -> Result<u32> {
    std::thread::sleep(std::time::Duration::from_millis(300));
    ctx.decrease_resources(&[("some_resource", 1)])?;
    std::thread::sleep(std::time::Duration::from_millis(800));
    Ok(n)
}

/// Needs one unit of `some_resource`.
#[task(output = "light/{n}.json")]
#[kart_core::resources(some_resource = 1)]
pub fn light(n: u32) -> Result<u32> {
    Ok(n)
}

/// `Heavy(0)` then `Light(0)`, both ready at once.
#[task(wrapper)]
pub fn heavy_and_light() -> Vec<AnyTask> {
    tasks![Heavy { n: 0 }, Light { n: 0 }]
}

/// Needs more GPUs than any limit allows by default.
#[task(output = "huge/{n}.json")]
#[kart_core::resources(gpu = 3)]
pub fn huge(n: u32) -> Result<u32> {
    Ok(n)
}

/// A day's raw event counts, dropped into the workspace by another system (Luigi's
/// `ExternalTask`): kart checks that it exists and never makes it.
#[task(external, output = "raw/{date}.json")]
pub fn raw_counts(date: NaiveDate) -> Vec<u32>;

/// Sums a day's raw counts.
#[task(output = "totals/{date}.json")]
pub fn daily_total(date: NaiveDate, #[requires(RawCounts { date })] counts: Vec<u32>) -> u32 {
    counts.iter().sum()
}

/// The seed's loop: works in rounds until told "terminate"; answers anything else. Its output is
/// the messages it understood.
#[task(accepts_messages, output = "listener/{n}.json")]
pub fn listener(n: u32, ctx: &RunContext) -> Result<Vec<String>> {
    let mut heard = Vec::new();
    for round in 0.. {
        if ctx.is_cancelled() {
            return Err(TaskError::msg("cancelled"));
        }
        let Some(msg) = ctx.wait_message(std::time::Duration::from_millis(20)) else {
            continue;
        };
        match msg.content() {
            "terminate" => {
                msg.respond(format!("terminating {n} after {round} rounds"))?;
                break;
            }
            "status" => msg.respond(format!("round {round}"))?,
            other => {
                heard.push(other.to_string());
                msg.respond("unknown message")?;
            }
        }
    }
    Ok(heard)
}

/// Accepts messages but never reads them: senders get "no response".
#[task(accepts_messages, output = "deaf/{millis}.json")]
pub fn deaf(millis: u64, ctx: &RunContext) -> Result<u64> {
    let _ = ctx.task_id();
    std::thread::sleep(std::time::Duration::from_millis(millis));
    Ok(millis)
}

/// The seed's "tasks that regularly overwrite the same data source": loads everything up to
/// `date` into one table. Ready days run as one batch for the latest of them, and the unique
/// resource keeps two loads from overwriting the table at once.
#[task(output = "warehouse/{date}.json")]
#[kart_core::resources(overwrite_resource = 1)]
pub fn load_until(#[param(batch = "max")] date: NaiveDate) -> String {
    std::thread::sleep(std::time::Duration::from_millis(100));
    format!("loaded up to {date}")
}

/// `LoadUntil` for `days` days from `start`.
#[task(wrapper)]
pub fn load_days(start: NaiveDate, days: u32) -> Vec<AnyTask> {
    (0..days)
        .map(|i| {
            LoadUntil {
                date: start + chrono::Days::new(i.into()),
            }
            .into()
        })
        .collect()
}

/// The seed's `A(p1, p2, p3)`: two max-batched parameters and one that splits batches.
#[task(output = "a/{p1}-{p2}-{p3}.json")]
pub fn seed_a(
    #[param(batch = "max")] p1: u32,
    #[param(batch = "max")] p2: u32,
    p3: u32,
) -> (u32, u32, u32) {
    (p1, p2, p3)
}

/// `A(p1=1, p2=2, p3=0)`, `A(p1=2, p2=3, p3=0)`, `A(p1=3, p2=4, p3=1)`.
#[task(wrapper)]
pub fn seed_batches() -> Vec<AnyTask> {
    tasks![
        SeedA {
            p1: 1,
            p2: 2,
            p3: 0
        },
        SeedA {
            p1: 2,
            p2: 3,
            p3: 0
        },
        SeedA {
            p1: 3,
            p2: 4,
            p3: 1
        },
    ]
}

/// Recomputes everything since the earliest requested day.
#[task(output = "since/{from}.json")]
pub fn since(#[param(batch = "min")] from: u32) -> u32 {
    from
}

/// `Since(from)` for each of `froms`.
#[task(wrapper)]
pub fn since_all(froms: Vec<u32>) -> Vec<AnyTask> {
    froms
        .into_iter()
        .map(|from| Since { from }.into())
        .collect()
}

/// The sum of a batch's weights: a user batch method.
pub fn total_weight(weights: &[u64]) -> u64 {
    weights.iter().sum()
}

/// Exports several regions in one call, at most two per batch.
#[task(output = "export/{kind}/{regions}-{weight}.json", max_batch_size = 2)]
pub fn export_regions(
    kind: String,
    #[param(batch = "list")] regions: String,
    #[param(batch = total_weight)] weight: u64,
) -> String {
    format!("{kind}:{regions}:{weight}")
}

/// `ExportRegions` for each region (weight 1 each), of one kind.
#[task(wrapper)]
pub fn export_all(kind: String, regions: Vec<String>) -> Vec<AnyTask> {
    regions
        .into_iter()
        .map(|regions| {
            ExportRegions {
                kind: kind.clone(),
                regions,
                weight: 1,
            }
            .into()
        })
        .collect()
}

/// Always fails; batched by `n`.
#[task(output = "broken/{n}.json")]
pub fn broken_batch(#[param(batch = "max")] n: u32) -> Result<u32> {
    Err(TaskError::msg(format!("cannot load up to {n}")))
}

/// Uses `BrokenBatch(n)` for `n` in 0..3.
#[task(output = "after-broken.json")]
pub fn after_broken(
    #[requires((0..3).map(|n| BrokenBatch { n }).collect::<Vec<_>>())] loaded: Vec<u32>,
) -> usize {
    loaded.len()
}

/// A batch method that panics: a bug in user code the scheduler must survive.
pub fn panicking_weight(weights: &[u64]) -> u64 {
    panic!("cannot combine {} weights", weights.len())
}

/// Batched by a function that panics.
#[task(output = "panicky/{weight}.json")]
pub fn panicky_batch(#[param(batch = panicking_weight)] weight: u64) -> u64 {
    weight
}

/// `PanickyBatch(1..=3)` beside a healthy `Chain(2)`: the chain still completes.
#[task(wrapper)]
pub fn panicky_and_healthy() -> Vec<AnyTask> {
    let mut all: Vec<AnyTask> = (1..=3)
        .map(|weight| PanickyBatch { weight }.into())
        .collect();
    all.push(Chain { n: 2 }.into());
    all
}

/// A unique job from scheduling until it has run; its first attempt fails. Every run appends
/// its pid to `runs/unique-retried-<n>`.
#[task(output = "unique/retried/{n}.json")]
#[run_with_lock(lock = until_executed, on_conflict = raise)]
pub fn unique_retried(
    n: u32,
    #[param(default = 0.5, significant = false)] secs: f64,
    ctx: &RunContext,
) -> Result<u32> {
    let runs = append_line(
        ctx,
        &format!("runs/unique-retried-{n}"),
        &std::process::id().to_string(),
    )?;
    if runs == 1 {
        return Err(TaskError::msg("the first attempt fails"));
    }
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    Ok(n)
}

/// An intermediate MessagePack output at the default path (`PackedScratch/PackedScratch_<hash>.msgpack`).
#[task(intermediate, format = "msgpack")]
pub fn packed_scratch(n: u32) -> u32 {
    n
}

/// Appends `<pid> <what>` to `<workspace>/runs.log` in one write (atomic with `O_APPEND`),
/// so several processes can log into one file: the run log the claim tests count from (on a
/// local workspace).
fn log_run(ctx: &RunContext, what: &str) -> Result<()> {
    // On object storage the events are the log.
    if !ctx.workspace().is_local() {
        return Ok(());
    }
    let path = std::path::Path::new(ctx.workspace().root()).join("runs.log");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    f.write_all(format!("{} {what}\n", std::process::id()).as_bytes())?;
    Ok(())
}

/// One node of a layered DAG with no `#[run_with_lock]`: node `i` of layer `layer` needs
/// nodes `i` and `i + 1` (mod `width`) of the layer below. Logs its run, works `millis`.
#[task(output = "shared/{layer}/{i}.json")]
pub fn shared_node(
    layer: u32,
    i: u32,
    #[param(significant = false)] width: u32,
    #[param(default = 5, significant = false)] millis: u64,
    #[requires(if layer == 0 { Vec::new() } else {
        vec![
            SharedNode { layer: layer - 1, i, width, millis },
            SharedNode { layer: layer - 1, i: (i + 1) % width, width, millis },
        ]
    })]
    below: Vec<u32>,
    ctx: &RunContext,
) -> Result<u32> {
    log_run(ctx, &format!("ran {layer}/{i}"))?;
    std::thread::sleep(std::time::Duration::from_millis(millis));
    Ok(below.iter().sum::<u32>() + 1)
}

/// The shared DAG: `width × layers` nodes, the top layer required.
#[task(wrapper)]
pub fn shared_dag(width: u32, layers: u32, #[param(default = 5)] millis: u64) -> Vec<SharedNode> {
    (0..width)
        .map(|i| SharedNode {
            layer: layers - 1,
            i,
            width,
            millis,
        })
        .collect()
}

/// Logs its start, works `secs` (stopping early when cancelled), logs its end and writes its
/// process id: the task a claim test kills, stops and takes over.
#[task(output = "long/{name}.json")]
pub fn long_claim(
    name: String,
    #[param(default = 5.0, significant = false)] secs: f64,
    ctx: &RunContext,
) -> Result<u32> {
    log_run(ctx, &format!("start {name}"))?;
    let until = std::time::Instant::now() + std::time::Duration::from_secs_f64(secs);
    while std::time::Instant::now() < until {
        if ctx.is_cancelled() {
            return Err(TaskError::msg("cancelled"));
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    log_run(ctx, &format!("end {name}"))?;
    Ok(std::process::id())
}

/// Fails after `secs`: what another process waiting on its claim must see as failed.
#[task(output = "doomed/{name}.json")]
pub fn doomed(
    name: String,
    #[param(default = 1.0, significant = false)] secs: f64,
    ctx: &RunContext,
) -> Result<u32> {
    log_run(ctx, &format!("start {name}"))?;
    std::thread::sleep(std::time::Duration::from_secs_f64(secs));
    Err(TaskError::msg(format!("{name} is doomed")))
}

/// Ready tasks of different urgency, from an expression of the parameter: even `n` are the
/// most urgent (10), odd ones as urgent as `n`.
#[task(output = "urgent/{n}.json", priority = if n.is_multiple_of(2) { 10 } else { i64::from(n) })]
pub fn urgent(n: u32, ctx: &RunContext) -> Result<u32> {
    log_run(ctx, &format!("urgent {n}"))?;
    Ok(n)
}

/// `Urgent(0..count)`.
#[task(wrapper)]
pub fn urgents(count: u32) -> Vec<Urgent> {
    (0..count).map(|n| Urgent { n }).collect()
}

/// Max-batched over `day`, except days marked `alone`, which always run by themselves
/// (Luigi's per-instance `batchable`).
#[task(output = "picky/{day}.json", batchable = !alone)]
pub fn picky(#[param(batch = "max")] day: u32, #[param(significant = false)] alone: bool) -> u32 {
    day
}

/// `Picky(1..=4)`, day 3 alone.
#[task(wrapper)]
pub fn pickies() -> Vec<Picky> {
    (1..=4)
        .map(|day| Picky {
            day,
            alone: day == 3,
        })
        .collect()
}

/// Max-batched over `day`, but each day needs its own resource unit: members needing
/// different resources are never batched together.
#[task(output = "slotted/{day}.json")]
#[resources("slot:{day}" = 1)]
pub fn slotted(#[param(batch = "max")] day: u32) -> u32 {
    day
}

/// `Slotted(1..=3)`.
#[task(wrapper)]
pub fn slotted_days() -> Vec<Slotted> {
    (1..=3).map(|day| Slotted { day }).collect()
}

/// A family in a namespace: `wohoo.SpacedDaily` on the command line, in ids and in ranges.
#[task(namespace = "wohoo", output = "spaced/{day}.json")]
pub fn spaced_daily(day: NaiveDate, #[param(default = 1, significant = false)] n: u32) -> u32 {
    day.day() * n
}

/// Max-batched over `day` within a `group`; the `hi` group is the more urgent.
#[task(
    output = "pb/{group}/{day}.json",
    priority = if group == "hi" { 10 } else { 0 }
)]
pub fn prio_batched(
    group: String,
    #[param(batch = "max")] day: u32,
    ctx: &RunContext,
) -> Result<u32> {
    log_run(ctx, &format!("batch {group} {day}"))?;
    Ok(day)
}

/// `lo` days 1..=3 listed before `hi` days 1..=3.
#[task(wrapper)]
pub fn prio_batches() -> Vec<PrioBatched> {
    ["lo", "hi"]
        .iter()
        .flat_map(|g| {
            (1..=3).map(move |day| PrioBatched {
                group: g.to_string(),
                day,
            })
        })
        .collect()
}

// Outputs of every kind: values in CSV, Parquet and a format of the test's own, a file made by
// an external program, a directory of several files; and failures of any error type.

/// One row of a CSV output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SalesRow {
    pub region: String,
    pub total: u64,
    pub note: Option<String>,
}

/// `n` rows, one with a comma and one without a note, as CSV.
#[task(output = "csv/{n}.csv", format = "csv")]
pub fn sales_rows(n: u32) -> Result<Vec<SalesRow>> {
    Ok((0..n)
        .map(|i| SalesRow {
            region: format!("region {i}, inner"),
            total: u64::from(i) * 10,
            note: (i % 2 == 0).then(|| format!("note {i}")),
        })
        .collect())
}

/// The CSV loaded back as typed rows: the sum of the totals.
#[task(output = "csv-total/{n}.json")]
pub fn sales_total(n: u32, #[requires(SalesRows { n })] rows: Vec<SalesRow>) -> Result<u64> {
    let expected = sales_rows(n)?;
    if rows != expected {
        return Err(TaskError::msg(format!("rows came back changed: {rows:?}")));
    }
    Ok(rows.iter().map(|r| r.total).sum())
}

/// Two record batches of `n` rows each: ids, nullable names, scores.
#[task(output = "parquet/{n}.parquet", format = "parquet")]
pub fn table(n: u32) -> Result<Vec<kart_core::arrow_array::RecordBatch>> {
    use kart_core::arrow_array::{Float64Array, Int64Array, RecordBatch, StringArray};
    use kart_core::arrow_schema::{DataType, Field, Schema};
    let schema = std::sync::Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, false),
    ]));
    (0..2)
        .map(|b| {
            let ids: Vec<i64> = (0..n).map(|i| i64::from(b * n + i)).collect();
            let names: Vec<Option<String>> = ids
                .iter()
                .map(|i| (i % 3 != 0).then(|| format!("name {i}")))
                .collect();
            let scores: Vec<f64> = ids.iter().map(|i| *i as f64 / 4.0).collect();
            Ok(RecordBatch::try_new(
                schema.clone(),
                vec![
                    std::sync::Arc::new(Int64Array::from(ids)),
                    std::sync::Arc::new(StringArray::from(names)),
                    std::sync::Arc::new(Float64Array::from(scores)),
                ],
            )?)
        })
        .collect()
}

/// What came back from the Parquet output.
#[derive(Debug, Serialize, Deserialize)]
pub struct TableBack {
    pub rows: usize,
    pub schema: Vec<String>,
    pub same_values: bool,
}

#[task(output = "parquet-summary/{n}.json")]
pub fn table_summary(
    n: u32,
    #[requires(Table { n })] batches: Vec<kart_core::arrow_array::RecordBatch>,
) -> Result<TableBack> {
    let written = table(n)?;
    let back = kart_core::arrow_array::RecordBatch::schema(&batches[0]);
    Ok(TableBack {
        rows: batches.iter().map(|b| b.num_rows()).sum(),
        schema: back
            .fields()
            .iter()
            .map(|f| format!("{}:{}:{}", f.name(), f.data_type(), f.is_nullable()))
            .collect(),
        // The reader may batch the rows differently: compare them row by row.
        same_values: table_rows(&batches) == table_rows(&written),
    })
}

/// Every row of `Table`'s batches, as text.
fn table_rows(batches: &[kart_core::arrow_array::RecordBatch]) -> Vec<String> {
    use kart_core::arrow_array::{Array, Float64Array, Int64Array, StringArray};
    let mut rows = Vec::new();
    for b in batches {
        let ids = b.column(0).as_any().downcast_ref::<Int64Array>().unwrap();
        let names = b.column(1).as_any().downcast_ref::<StringArray>().unwrap();
        let scores = b.column(2).as_any().downcast_ref::<Float64Array>().unwrap();
        for i in 0..b.num_rows() {
            let name = (!names.is_null(i)).then(|| names.value(i));
            rows.push(format!("{} {name:?} {}", ids.value(i), scores.value(i)));
        }
    }
    rows
}

/// A format of the test's own: one value per line, `# kart lines` first.
pub struct Lines;

impl kart_core::Format<Vec<String>> for Lines {
    const EXTENSION: &'static str = "lines";
    fn write(
        value: &Vec<String>,
        out: &mut (dyn std::io::Write + Send),
    ) -> std::result::Result<(), kart_core::BoxError> {
        writeln!(out, "# kart lines")?;
        for line in value {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
    fn read(bytes: Vec<u8>) -> std::result::Result<Vec<String>, kart_core::BoxError> {
        let text = String::from_utf8(bytes)?;
        let mut lines = text.lines();
        if lines.next() != Some("# kart lines") {
            return Err("not a lines file".into());
        }
        Ok(lines.map(str::to_string).collect())
    }
}

#[task(format = Lines)]
pub fn numbered_lines(n: u32) -> Result<Vec<String>> {
    Ok((1..=n).map(|i| format!("line {i}")).collect())
}

#[task(output = "lines-count/{n}.json")]
pub fn count_lines(n: u32, #[requires(NumberedLines { n })] lines: Vec<String>) -> Result<usize> {
    Ok(lines.len())
}

/// A file written by an external program: `seq 1 n`.
#[task(output = "seq/{n}.txt")]
pub fn seq_file(n: u32, out: &mut kart_core::OutputFile) -> Result<()> {
    let status = std::process::Command::new("sh")
        .args(["-c", r#"seq 1 "$1" > "$2""#, "sh"])
        .arg(n.to_string())
        .arg(out.path())
        .status()?;
    if !status.success() {
        return Err(TaskError::msg(format!("seq failed: {status}")));
    }
    Ok(())
}

/// The file's numbers, read from the path it receives.
#[task(output = "seq-sum/{n}.json")]
pub fn seq_sum(n: u32, #[requires(SeqFile { n })] file: std::path::PathBuf) -> Result<u64> {
    let text = std::fs::read_to_string(&file)?;
    Ok(text
        .lines()
        .map(|l| l.parse::<u64>())
        .sum::<std::result::Result<u64, _>>()?)
}

/// `mib` MiB of a repeating pattern (larger than a part of a multipart upload).
#[task(output = "big/{mib}.bin")]
pub fn big_file(mib: u32, out: &mut kart_core::OutputFile) -> Result<()> {
    let mut file = std::io::BufWriter::new(out.create()?);
    let block: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    for _ in 0..mib {
        file.write_all(&block)?;
    }
    file.flush()?;
    Ok(())
}

/// `n` files and a nested one, each naming `tag`: which writer made a directory shows in
/// every file.
#[task(output = "parts/{n}/")]
pub fn parts(
    n: u32,
    #[param(default, significant = false)] tag: String,
    out: &mut kart_core::OutputDir,
) -> Result<()> {
    for i in 0..n {
        std::fs::write(out.join(format!("part-{i}.txt")), format!("{tag} {i}\n"))?;
    }
    std::fs::create_dir(out.join("meta"))?;
    std::fs::write(out.join("meta/info.txt"), format!("{tag} meta\n"))?;
    Ok(())
}

/// The directory's files (relative path and content), read from the path it receives.
#[task(output = "parts-list/{n}.json")]
pub fn parts_list(
    n: u32,
    #[requires(Parts { n, tag: String::new() })] dir: std::path::PathBuf,
) -> Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.clone()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                dirs.push(entry.path());
            } else {
                let rel = entry
                    .path()
                    .strip_prefix(&dir)
                    .unwrap()
                    .display()
                    .to_string();
                files.push((rel, std::fs::read_to_string(entry.path())?));
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Writes part of its file, then panics.
#[task(output = "panicky/{n}.bin")]
pub fn panicky_file(n: u32, out: &mut kart_core::OutputFile) -> Result<()> {
    std::fs::write(out.path(), b"half")?;
    panic!("the writer of {n} gave up halfway");
}

/// An error type of the test's own, with a cause.
#[derive(Debug)]
pub enum FetchError {
    Upstream { status: u16, source: std::io::Error },
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Upstream { status, .. } => write!(f, "upstream answered {status}"),
        }
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchError::Upstream { source, .. } => Some(source),
        }
    }
}

fn fetch(n: u32) -> std::result::Result<u32, FetchError> {
    Err(FetchError::Upstream {
        status: 503,
        source: std::io::Error::other(format!("connection {n} reset by peer")),
    })
}

/// Fails through `?` on the error type above.
#[task(output = "custom-error/{n}.json")]
pub fn custom_error(n: u32) -> Result<u32> {
    Ok(fetch(n)?)
}

/// Fails through `?` on an `anyhow::Error` with context.
#[task(output = "anyhow-error/{n}.json")]
pub fn anyhow_error(n: u32) -> Result<u32> {
    use anyhow::Context;
    let value = std::fs::read_to_string(format!("/nonexistent/kart/{n}"))
        .context("cannot read the day's file")?;
    Ok(value.len() as u32)
}

/// Runs `secs` after its input is made (polling for cancellation), then reports it: a
/// dependent that is running while someone tries to invalidate its input.
#[task(output = "slow-report/{n}.json")]
pub fn slow_report(
    n: u32,
    #[param(default = 30.0, significant = false)] secs: f64,
    #[requires(Sleepy { n, millis: 0 })] input: u32,
    ctx: &RunContext,
) -> Result<u32> {
    busy_for(ctx, secs)?;
    Ok(input)
}

/// One directory per day, for ranges over directory outputs.
#[task(output = "daily-dirs/{day}/")]
pub fn daily_dir(day: NaiveDate, out: &mut kart_core::OutputDir) -> Result<()> {
    std::fs::write(out.join("day.txt"), day.to_string())?;
    Ok(())
}

/// An intermediate directory of two files, which `gc` may remove.
#[task(output = "scratch-dirs/{n}/", intermediate)]
pub fn scratch_dir(n: u32, out: &mut kart_core::OutputDir) -> Result<()> {
    std::fs::write(out.join("a.txt"), n.to_string())?;
    std::fs::create_dir(out.join("sub"))?;
    std::fs::write(out.join("sub/b.txt"), n.to_string())?;
    Ok(())
}

/// Loads one day's sales rows into PostgreSQL's `sales_daily` (database `pg`), holding the
/// transaction open `hold_millis` after the rows (for tests that kill it or race it), and
/// failing after the rows when `fail` is set.
#[task(table = "sales_daily", db = "pg")]
pub fn pg_sales(
    day: NaiveDate,
    #[param(default = 3)] rows: u32,
    #[param(default = 0, significant = false)] hold_millis: u64,
    #[param(default = false, significant = false)] fail: bool,
    ctx: &RunContext,
    tx: &mut kart_core::db::PgTransaction,
) -> Result<()> {
    for n in 0..rows {
        tx.execute(
            "INSERT INTO sales_daily (day, n, amount) VALUES ($1, $2, $3)",
            &[&day.to_string(), &i64::from(n), &(i64::from(n) * 10)],
        )?;
    }
    append_line(ctx, "table-writes.txt", &format!("pg {day}"))?;
    std::thread::sleep(std::time::Duration::from_millis(hold_millis));
    if fail {
        return Err(TaskError::msg("failed after writing its rows"));
    }
    Ok(())
}

/// The same into SQLite's `sales_daily` (database `lite`); `invalidate` deletes its day's rows
/// with its marker.
#[task(table = "sales_daily", db = "lite", on_invalidate = lite_sales_rows)]
pub fn lite_sales(
    day: NaiveDate,
    #[param(default = 3)] rows: u32,
    #[param(default = 0, significant = false)] hold_millis: u64,
    #[param(default = false, significant = false)] fail: bool,
    ctx: &RunContext,
    tx: &mut kart_core::db::SqliteTransaction,
) -> Result<()> {
    for n in 0..rows {
        tx.execute(
            "INSERT INTO sales_daily (day, n, amount) VALUES (?1, ?2, ?3)",
            (day.to_string(), n, n * 10),
        )?;
    }
    append_line(ctx, "table-writes.txt", &format!("lite {day}"))?;
    std::thread::sleep(std::time::Duration::from_millis(hold_millis));
    if fail {
        return Err(TaskError::msg("failed after writing its rows"));
    }
    Ok(())
}

/// `LiteSales`'s rows, deleted with its marker.
pub fn lite_sales_rows(task: &LiteSales, tx: &mut kart_core::db::SqliteTransaction) -> Result<()> {
    tx.execute(
        "DELETE FROM sales_daily WHERE day = ?1",
        [task.day.to_string()],
    )?;
    Ok(())
}

/// A report over a day's loaded sales, in the workspace: requires the table task.
#[task(output = "sales-report/{day}.json")]
pub fn lite_sales_report(
    day: NaiveDate,
    #[requires(LiteSales { day, rows: 3, hold_millis: 0, fail: false })] _rows: (),
) -> String {
    format!("sales of {day} loaded")
}
