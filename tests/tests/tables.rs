//! Table outputs against real databases: a PostgreSQL cluster the tests start (`initdb` +
//! `pg_ctl` on a free loopback port) and SQLite files. Rows and the marker row commit together
//! or not at all; racing writers commit once; a range decides from one query; errors are one
//! line naming the database and never its password.

mod support;

use std::path::Path;
use std::time::Duration;

use kart_tests::pg_server::{PgServer, PASSWORD};
use support::{exit_within, of_kind, send_signal, spawn, text, Run};

const SALES: &str =
    "CREATE TABLE sales_daily (day TEXT NOT NULL, n BIGINT NOT NULL, amount BIGINT NOT NULL)";

fn pg_with_table() -> PgServer {
    let pg = PgServer::start();
    pg.psql(SALES, "kart");
    pg
}

fn pg_count(pg: &PgServer, sql: &str) -> i64 {
    pg.client().query_one(sql, &[]).unwrap().get(0)
}

fn lite_db(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("warehouse.db");
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(SALES)
        .unwrap();
    path
}

fn lite_count(path: &Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    match conn.query_row(sql, [], |r| r.get(0)) {
        Ok(n) => n,
        // The marker table is made by the first writer.
        Err(e) if e.to_string().contains("no such table: kart_table_updates") => 0,
        Err(e) => panic!("{sql}: {e}"),
    }
}

fn no_secret(what: &str, text: &str) {
    assert!(
        !text.contains(PASSWORD),
        "the password appears in {what}: {text}"
    );
}

#[test]
fn postgres_rows_and_marker_commit_together_and_a_rerun_starts_nothing() {
    let pg = pg_with_table();
    let run = Run::new();
    let db = format!("pg={}", pg.url());
    run.fixture(&["PgSales", "--day", "2015-01-01", "--database", &db])
        .assert()
        .success();
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM sales_daily"), 3);
    assert_eq!(
        pg_count(&pg, "SELECT count(*) FROM kart_table_updates WHERE target_table = 'sales_daily' AND family = 'PgSales'"),
        1
    );
    run.fixture(&["PgSales", "--day", "2015-01-01", "--database", &db])
        .assert()
        .success();
    assert_eq!(
        run.events_of("started").len(),
        1,
        "the rerun starts nothing"
    );
    let out = run
        .fixture(&["show", "PgSales", "--day", "2015-01-01", "--database", &db])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        text(&out)
            .0
            .ends_with("is complete, by its marker row in the database\n"),
        "{}",
        text(&out).0
    );
    no_secret(
        "the events",
        &std::fs::read_to_string(run.events_path()).unwrap(),
    );
    // Without `on_invalidate`, `invalidate` deletes the marker only: the rows are the user's.
    run.fixture(&[
        "invalidate",
        "PgSales",
        "--day",
        "2015-01-01",
        "--database",
        &db,
    ])
    .assert()
    .success();
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM kart_table_updates"), 0);
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM sales_daily"), 3);
}

#[test]
fn sqlite_needs_no_server_and_its_table_task_feeds_a_workspace_task() {
    let run = Run::new();
    let path = lite_db(run.dir.path());
    let db = format!("lite=sqlite://{}", path.display());
    run.fixture(&["LiteSalesReport", "--day", "2015-01-01", "--database", &db])
        .assert()
        .success();
    assert_eq!(lite_count(&path, "SELECT count(*) FROM sales_daily"), 3);
    assert_eq!(
        lite_count(&path, "SELECT count(*) FROM kart_table_updates"),
        1
    );
    assert_eq!(
        run.output("sales-report/2015-01-01.json"),
        "sales of 2015-01-01 loaded"
    );
    // The environment names a database as well as the config or a flag.
    let out = run
        .fixture(&["LiteSales", "--day", "2015-01-01"])
        .env("KART_DATABASE_LITE", format!("sqlite://{}", path.display()))
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        text(&out).0.contains("* 1 was already complete"),
        "{}",
        text(&out).0
    );
    assert_eq!(run.events_of("started").len(), 2);
    // `invalidate` deletes the marker, and with `on_invalidate` the rows in the same
    // transaction.
    let out = run
        .fixture(&[
            "invalidate",
            "LiteSales",
            "--day",
            "2015-01-01",
            "--database",
            &db,
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    assert!(
        text(&out).0.contains("removed LiteSales(day=2015-01-01, rows=3, hold_millis=0, fail=false): its marker row in kart_table_updates"),
        "{}",
        text(&out).0
    );
    assert_eq!(
        lite_count(&path, "SELECT count(*) FROM kart_table_updates"),
        0
    );
    assert_eq!(lite_count(&path, "SELECT count(*) FROM sales_daily"), 0);
    run.fixture(&["LiteSales", "--day", "2015-01-01", "--database", &db])
        .assert()
        .success();
    assert_eq!(run.events_of("started").len(), 3, "made again");
    assert_eq!(lite_count(&path, "SELECT count(*) FROM sales_daily"), 3);
}

#[test]
fn racing_writers_commit_the_rows_once_on_both_backends() {
    let pg = pg_with_table();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let lite = lite_db(dir.path());
    for (task, db) in [
        ("PgSales", format!("pg={}", pg.url())),
        ("LiteSales", format!("lite=sqlite://{}", lite.display())),
    ] {
        // Without claims both processes run the task body; the marker's key decides.
        let args = [
            task,
            "--day",
            "2015-01-02",
            "--hold-millis",
            "700",
            "--no-claims",
            "--database",
            &db,
        ];
        let a = spawn(&ws, &format!("{task}-a"), &args, &[]);
        let b = spawn(&ws, &format!("{task}-b"), &args, &[]);
        let (out_a, events_a) = a.finish();
        let (out_b, events_b) = b.finish();
        assert!(out_a.status.success(), "{}", text(&out_a).1);
        assert!(out_b.status.success(), "{}", text(&out_b).1);
        let all: Vec<_> = events_a.into_iter().chain(events_b).collect();
        assert_eq!(of_kind(&all, "succeeded").len(), 1, "{task}: one commits");
        assert_eq!(
            of_kind(&all, "already_committed").len(),
            1,
            "{task}: the other rolls back"
        );
    }
    let writes = std::fs::read_to_string(ws.join("table-writes.txt")).unwrap();
    assert_eq!(
        writes.matches("pg 2015-01-02").count(),
        2,
        "both bodies ran: {writes}"
    );
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM sales_daily"), 3);
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM kart_table_updates"), 1);
    assert_eq!(lite_count(&lite, "SELECT count(*) FROM sales_daily"), 3);
    assert_eq!(
        lite_count(&lite, "SELECT count(*) FROM kart_table_updates"),
        1
    );
}

#[test]
fn kill_9_mid_transaction_leaves_neither_rows_nor_marker() {
    let pg = pg_with_table();
    let dir = tempfile::tempdir().unwrap();
    let ws = dir.path().join("ws");
    let lite = lite_db(dir.path());
    for (task, db, prefix) in [
        ("PgSales", format!("pg={}", pg.url()), "pg"),
        (
            "LiteSales",
            format!("lite=sqlite://{}", lite.display()),
            "lite",
        ),
    ] {
        let args = [
            task,
            "--day",
            "2015-01-03",
            "--hold-millis",
            "60000",
            "--database",
            &db,
        ];
        let victim = spawn(&ws, &format!("{task}-victim"), &args, &[]);
        // The rows are written, uncommitted, when the body logs its write.
        let line = format!("{prefix} 2015-01-03");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !std::fs::read_to_string(ws.join("table-writes.txt"))
            .unwrap_or_default()
            .contains(&line)
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{task} never wrote its rows"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        send_signal(victim.child.id(), "KILL");
        let status = exit_within(victim.child, Duration::from_secs(20), "the killed writer");
        assert!(!status.success());
    }
    // PostgreSQL ends the dead client's transaction; give it the moment it takes.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while pg_count(
        &pg,
        "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'",
    ) > 0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the killed client's transaction is still open"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM sales_daily"), 0);
    assert_eq!(lite_count(&lite, "SELECT count(*) FROM sales_daily"), 0);
    assert_eq!(
        lite_count(&lite, "SELECT count(*) FROM kart_table_updates"),
        0
    );
    // Run again, it commits once.
    let again = spawn(
        &ws,
        "pg-again",
        &[
            "PgSales",
            "--day",
            "2015-01-03",
            "--database",
            &format!("pg={}", pg.url()),
        ],
        &[],
    );
    assert!(again.finish().0.status.success());
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM sales_daily"), 3);
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM kart_table_updates"), 1);
}

#[test]
fn a_range_of_3650_days_decides_from_one_query() {
    let pg = pg_with_table();
    let run = Run::new();
    let db = format!("pg={}", pg.url());
    let range = [
        "RangeDaily",
        "--of",
        "PgSales",
        "--start",
        "2000-01-01",
        "--stop",
        "2009-12-29",
        "--days-back",
        "100000",
        "--now",
        "2020-01-01T00",
        "--task-limit",
        "4000",
        "--workers",
        "4",
        "--database",
        &db,
        "-q",
    ];
    run.fixture(&range).assert().success();
    assert_eq!(
        pg_count(&pg, "SELECT count(*) FROM kart_table_updates"),
        3650
    );
    let marker_reads = |log: &str| {
        log.matches("SELECT task_id FROM kart_table_updates")
            .count()
    };
    let before = marker_reads(&pg.log());
    let started = run.events_of("started").len();
    run.fixture(&range).assert().success();
    assert_eq!(
        run.events_of("started").len(),
        started,
        "the rerun starts nothing"
    );
    assert_eq!(
        marker_reads(&pg.log()) - before,
        1,
        "one query for 3650 days"
    );
}

#[test]
fn database_errors_are_one_line_naming_the_database_and_never_its_password() {
    let pg = PgServer::start(); // no sales_daily table yet
    let run = Run::new();
    let fail = |db: String, extra: &[&str]| {
        let mut args = vec!["PgSales", "--day", "2015-01-05", "--database", &db];
        args.extend_from_slice(extra);
        let out = run.fixture(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let (stdout, stderr) = text(&out);
        no_secret("stdout", &stdout);
        no_secret("stderr", &stderr);
        no_secret(
            "the events",
            &std::fs::read_to_string(run.events_path()).unwrap_or_default(),
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        stderr.lines().next().unwrap_or("").to_string()
    };
    let line = fail(format!("pg={}", pg.url()), &[]);
    assert!(
        line.starts_with("error: PgSales(day=2015-01-05")
            && line.contains("relation \"sales_daily\" does not exist"),
        "missing table: {line}"
    );
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM kart_table_updates"), 0);
    pg.psql(SALES, "kart");
    let line = fail(format!("pg={}", pg.url()), &["--fail"]);
    assert!(line.contains("failed after writing its rows"), "{line}");
    assert_eq!(
        pg_count(&pg, "SELECT count(*) FROM sales_daily"),
        0,
        "rolled back"
    );
    assert_eq!(pg_count(&pg, "SELECT count(*) FROM kart_table_updates"), 0);
    let wrong = pg.url().replace(PASSWORD, &format!("{PASSWORD}-wrong"));
    let line = fail(format!("pg={wrong}"), &[]);
    assert!(
        line.contains(&format!(
            "database `pg` (postgres://kart@127.0.0.1:{}/kart)",
            pg.port
        )) && line.contains("password authentication failed"),
        "bad credentials: {line}"
    );
    let port = kart_tests::redis_server::free_port();
    let line = fail(
        format!("pg=postgres://kart:{PASSWORD}@127.0.0.1:{port}/kart"),
        &[],
    );
    assert!(
        line.contains(&format!(
            "database `pg` (postgres://kart@127.0.0.1:{port}/kart): cannot connect"
        )),
        "unreachable: {line}"
    );
    let out = run
        .fixture(&["PgSales", "--day", "2015-01-05", "--database", &pg.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out).1,
        "error: --database #1 is not NAME=URL (e.g. --database warehouse=postgres://user@host/db)\n"
    );
}
