//! Micro-benchmarks of kart's hot paths: task-id hashing, parameter parsing, scheduler
//! overhead per task, range completeness over a directory listing, a file-lock cycle.
//! `cargo bench -p kart-bench` (the Redis lock cycle is in `bench/locks.sh`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use kart_core::chrono::NaiveDate;
use kart_core::{task, AnyTask, DynTask, Param, RunOptions, TaskId, Workspace};

#[task(output = "leaf/{i}.json")]
fn leaf(i: u32) -> kart_core::Result<u32> {
    Ok(i)
}

#[task(wrapper)]
fn fanin(n: u32) -> Vec<AnyTask> {
    (0..n).map(|i| Leaf { i }.into()).collect()
}

#[task(output = "daily/{date}.json")]
fn daily(date: NaiveDate) -> kart_core::Result<u8> {
    Ok(1)
}

fn ids(c: &mut Criterion) {
    let params = vec![
        ("date", serde_json::json!("2015-01-01")),
        ("region", serde_json::json!("eu")),
    ];
    c.bench_function("task id: family + SHA-256 of 2 params", |b| {
        b.iter(|| TaskId::new(black_box("SomeReport"), black_box(&params)))
    });
}

fn params(c: &mut Criterion) {
    c.bench_function("parse NaiveDate param", |b| {
        b.iter(|| NaiveDate::parse_param(black_box("2015-01-01")).unwrap())
    });
    c.bench_function("parse Duration param", |b| {
        b.iter(|| kart_core::Duration::parse_param(black_box("1h30m")).unwrap())
    });
    c.bench_function("parse Vec<u32> param", |b| {
        b.iter(|| Vec::<u32>::parse_param(black_box("1,2,3,4,5")).unwrap())
    });
}

fn scheduler(c: &mut Criterion) {
    let mut g = c.benchmark_group("scheduler");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    // Graph building and completeness checks only: every output exists.
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::local_with(dir.path(), false).unwrap();
    kart_core::build(vec![Fanin { n: 1000 }.into()], &ws, &RunOptions::default()).unwrap();
    g.bench_function("rerun of 1000 complete tasks", |b| {
        b.iter(|| {
            kart_core::build(vec![Fanin { n: 1000 }.into()], &ws, &RunOptions::default()).unwrap()
        })
    });
    // Running: 1000 trivial tasks writing tiny outputs (no fsync), a fresh workspace each time.
    g.bench_function("run 1000 trivial tasks", |b| {
        b.iter_with_setup(
            || {
                let dir = tempfile::tempdir().unwrap();
                let ws = Workspace::local_with(dir.path(), false).unwrap();
                (dir, ws)
            },
            |(_dir, ws)| {
                kart_core::build(vec![Fanin { n: 1000 }.into()], &ws, &RunOptions::default())
                    .unwrap()
            },
        )
    });
    g.finish();
}

fn range_completeness(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::local_with(dir.path(), false).unwrap();
    let days: Vec<Daily> = (0..3650)
        .map(|i| Daily {
            date: NaiveDate::from_ymd_opt(2010, 1, 1).unwrap() + kart_core::chrono::Days::new(i),
        })
        .collect();
    for (i, d) in days.iter().enumerate() {
        if i % 10 != 3 {
            ws.target(&d.output_key().unwrap().unwrap())
                .publish(b"1")
                .unwrap();
        }
    }
    let refs: Vec<&dyn DynTask> = days.iter().map(|d| d as &dyn DynTask).collect();
    c.bench_function("bulk completeness of 3650 daily outputs (1 listing)", |b| {
        b.iter(|| kart_core::complete::bulk_complete(black_box(&refs), &ws).unwrap())
    });
}

fn file_lock_cycle(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let locks = kart_core::Locks::local(dir.path()).unwrap();
    c.bench_function("file lock acquire + release", |b| {
        b.iter(|| drop(locks.lock("bench").try_acquire().unwrap().unwrap()))
    });
}

criterion_group!(
    benches,
    ids,
    params,
    scheduler,
    range_completeness,
    file_lock_cycle
);
criterion_main!(benches);
