//! Table outputs measured against the driver alone, on one PostgreSQL database and one SQLite
//! file (`bench/tables.sh` starts the cluster):
//!
//! - a range's decision: kart's one marker query for N task ids, against N single-row checks
//!   (what a per-instance `complete()` costs);
//! - a bulk insert of R rows: through kart's write path (transaction, rows, marker, commit)
//!   against the driver inserting the same rows in one transaction.
//!
//! `table_bench <postgres-url> <sqlite-file> <N> <R>`; prints one line per measurement.

use std::collections::BTreeMap;
use std::time::Instant;

use kart_core::db::{Backend, Database, Postgres, Sqlite};
use kart_core::TaskId;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, pg_url, lite_path, n, rows] = &args[..] else {
        eprintln!("usage: table_bench <postgres-url> <sqlite-file> <N> <R>");
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N");
    let rows: i64 = rows.parse().expect("R");
    kart_core::db::install(BTreeMap::from([
        ("pg".to_string(), pg_url.clone()),
        ("lite".to_string(), format!("sqlite://{lite_path}")),
    ]));
    let pg = Database::named("pg").unwrap();
    let lite = Database::named("lite").unwrap();
    let ids: Vec<TaskId> = (0..n)
        .map(|i| TaskId::new("Day", &[("day", serde_json::Value::from(i as u64))]))
        .collect();
    let ddl = "CREATE TABLE IF NOT EXISTS bench_rows (day BIGINT NOT NULL, n BIGINT NOT NULL, amount BIGINT NOT NULL)";
    let mut pg_client = postgres::Client::connect(pg_url, postgres::NoTls).unwrap();
    pg_client.batch_execute(ddl).unwrap();
    let lite_conn = rusqlite::Connection::open(lite_path).unwrap();
    lite_conn.execute_batch(ddl).unwrap();

    // Markers for every id, written through kart's write path (no rows).
    for id in &ids {
        Postgres::write_rows(&pg, "bench_rows", id, "Day", &mut |_| Ok(())).unwrap();
        Sqlite::write_rows(&lite, "bench_rows", id, "Day", &mut |_| Ok(())).unwrap();
    }
    let all: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    decision::<Postgres>("postgres", &pg, &all);
    decision::<Sqlite>("sqlite", &lite, &all);

    // Bulk insert: kart's transaction with its marker against the driver alone, each into a
    // fresh table, alternating which goes first; the best of three rounds each.
    let (mut pg_kart, mut pg_driver, mut lite_kart, mut lite_driver) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..3u32 {
        let (k, d) = (format!("bench_k{round}"), format!("bench_d{round}"));
        for t in [&k, &d] {
            let ddl = format!(
                "CREATE TABLE {t} (day BIGINT NOT NULL, n BIGINT NOT NULL, amount BIGINT NOT NULL)"
            );
            pg_client.batch_execute(&ddl).unwrap();
            lite_conn.execute_batch(&ddl).unwrap();
        }
        let order = if round % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for through_kart in order {
            if through_kart {
                let id = TaskId::new("Load", &[("round", serde_json::Value::from(round))]);
                let started = Instant::now();
                Postgres::write_rows(&pg, &k, &id, "Load", &mut |tx| {
                    let stmt = tx
                        .prepare(&format!("INSERT INTO {k} VALUES ($1, $2, $3)"))
                        .map_err(kart_core::Error::msg)?;
                    for r in 0..rows {
                        tx.execute(&stmt, &[&1i64, &r, &(r * 10)])
                            .map_err(kart_core::Error::msg)?;
                    }
                    Ok(())
                })
                .unwrap();
                pg_kart.push(started.elapsed());
                let started = Instant::now();
                Sqlite::write_rows(&lite, &k, &id, "Load", &mut |tx| {
                    let mut stmt = tx
                        .prepare(&format!("INSERT INTO {k} VALUES (?1, ?2, ?3)"))
                        .map_err(kart_core::Error::msg)?;
                    for r in 0..rows {
                        stmt.execute((1i64, r, r * 10))
                            .map_err(kart_core::Error::msg)?;
                    }
                    Ok(())
                })
                .unwrap();
                lite_kart.push(started.elapsed());
            } else {
                let started = Instant::now();
                let mut tx = pg_client.transaction().unwrap();
                let stmt = tx
                    .prepare(&format!("INSERT INTO {d} VALUES ($1, $2, $3)"))
                    .unwrap();
                for r in 0..rows {
                    tx.execute(&stmt, &[&2i64, &r, &(r * 10)]).unwrap();
                }
                tx.commit().unwrap();
                pg_driver.push(started.elapsed());
                let started = Instant::now();
                let mut conn = rusqlite::Connection::open(lite_path).unwrap();
                let tx = conn.transaction().unwrap();
                {
                    let mut stmt = tx
                        .prepare(&format!("INSERT INTO {d} VALUES (?1, ?2, ?3)"))
                        .unwrap();
                    for r in 0..rows {
                        stmt.execute((2i64, r, r * 10)).unwrap();
                    }
                }
                tx.commit().unwrap();
                lite_driver.push(started.elapsed());
            }
        }
    }
    let best = |v: &[std::time::Duration]| *v.iter().min().unwrap();
    report_rows("postgres", rows, best(&pg_kart), best(&pg_driver));
    report_rows("sqlite", rows, best(&lite_kart), best(&lite_driver));
}

/// One query for all ids against one query per id, best of three each.
fn decision<B: Backend>(name: &str, db: &Database, ids: &[String]) {
    let best = |f: &dyn Fn()| {
        (0..3)
            .map(|_| {
                let started = Instant::now();
                f();
                started.elapsed()
            })
            .min()
            .unwrap()
    };
    let bulk = best(&|| assert!(B::recorded(db, ids).unwrap().iter().all(|&r| r)));
    let single = best(&|| {
        for id in ids {
            assert!(B::recorded(db, std::slice::from_ref(id)).unwrap()[0]);
        }
    });
    println!(
        "{name}: decision over {} markers: one query {:.2} ms, one query per id {:.1} ms ({:.0}x)",
        ids.len(),
        bulk.as_secs_f64() * 1000.0,
        single.as_secs_f64() * 1000.0,
        single.as_secs_f64() / bulk.as_secs_f64()
    );
}

fn report_rows(name: &str, rows: i64, kart: std::time::Duration, driver: std::time::Duration) {
    let rate = |d: std::time::Duration| rows as f64 / d.as_secs_f64();
    println!(
        "{name}: bulk insert of {rows} rows: through kart {:.0} rows/s, driver alone {:.0} rows/s ({:.0}% of the driver)",
        rate(kart),
        rate(driver),
        100.0 * rate(kart) / rate(driver)
    );
}
