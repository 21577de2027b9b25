//! SQLite through `rusqlite` with the bundled library: table outputs with no server. The
//! URL names a file: `sqlite://warehouse.db` (relative to the working directory) or
//! `sqlite:///var/lib/warehouse.db`.

use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::{Backend, Committed, Database, Idle, InTransaction, Sqlite, MARKER_TABLE};
use crate::error::Result;
use crate::task::TaskId;

/// A table task's transaction on SQLite: `rusqlite`'s, with kart's marker added before it
/// commits. Write with `tx.execute("INSERT ... VALUES (?1, ?2)", (a, b))`.
pub struct SqliteTransaction<'c>(rusqlite::Transaction<'c>);

impl<'c> std::ops::Deref for SqliteTransaction<'c> {
    type Target = rusqlite::Transaction<'c>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for SqliteTransaction<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

const SCHEMES: &[&str] = &["sqlite"];

fn open(db: &Database) -> Result<Connection> {
    db.expect("SQLite", SCHEMES)?;
    let path = db.url().trim_start_matches("sqlite://");
    if path.is_empty() {
        return Err(db.error("invalid URL", "no file after sqlite://"));
    }
    let conn = Connection::open(path).map_err(|e| db.driver_error("cannot open", &e))?;
    // Writers in other processes take turns instead of failing at once.
    conn.busy_timeout(Duration::from_secs(60))
        .map_err(|e| db.driver_error("cannot open", &e))?;
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (task_id TEXT PRIMARY KEY, family TEXT NOT NULL, target_table TEXT NOT NULL, inserted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))"
    ))
    .map_err(|e| db.driver_error(&format!("cannot create {MARKER_TABLE}"), &e))?;
    Ok(conn)
}

/// Idle connections, shared by runs and completeness checks.
static IDLE: Idle<Connection> = Idle::new();

/// Runs `work` on an idle connection to `db` (or a newly opened one), keeping the connection
/// for the next task or check when the work ended cleanly.
fn with_connection<R>(db: &Database, work: impl FnOnce(&mut Connection) -> Result<R>) -> Result<R> {
    let mut conn = match IDLE.take(db, |_| true) {
        Some(conn) => conn,
        None => open(db)?,
    };
    let out = work(&mut conn)?;
    IDLE.give_back(db, conn);
    Ok(out)
}

impl Backend for Sqlite {
    type Tx<'c> = SqliteTransaction<'c>;

    fn write_rows(
        db: &Database,
        table: &str,
        task: &TaskId,
        family: &str,
        write: InTransaction<'_, Sqlite>,
    ) -> Result<Committed> {
        with_connection(db, |conn| write_in(conn, db, table, task, family, write))
    }

    fn recorded(db: &Database, ids: &[String]) -> Result<Vec<bool>> {
        with_connection(db, |conn| recorded_in(conn, db, ids))
    }

    fn forget(db: &Database, id: &str, rows: Option<InTransaction<'_, Sqlite>>) -> Result<()> {
        with_connection(db, |conn| forget_in(conn, db, id, rows))
    }
}

fn write_in(
    conn: &mut Connection,
    db: &Database,
    table: &str,
    task: &TaskId,
    family: &str,
    write: InTransaction<'_, Sqlite>,
) -> Result<Committed> {
    // Immediate: the write lock is taken now, not upgraded later into a deadlock.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db.driver_error("cannot begin a transaction", &e))?;
    let mut tx = SqliteTransaction(tx);
    write(&mut tx)?;
    let id = task.to_string();
    let marker =
        format!("INSERT INTO {MARKER_TABLE} (task_id, family, target_table) VALUES (?1, ?2, ?3)");
    match tx.0.execute(&marker, (&id, family, table)) {
        Ok(_) => {
            tx.0.commit()
                .map_err(|e| db.driver_error("cannot commit", &e))?;
            Ok(Committed::Now)
        }
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == ErrorCode::ConstraintViolation => {
            Ok(Committed::Already)
        }
        Err(e) => Err(db.driver_error(&format!("cannot record {id} in {MARKER_TABLE}"), &e)),
    }
}

fn recorded_in(conn: &Connection, db: &Database, ids: &[String]) -> Result<Vec<bool>> {
    // One statement for any number of ids: they go in as one JSON array.
    let sql = format!(
        "SELECT task_id FROM {MARKER_TABLE} WHERE task_id IN (SELECT value FROM json_each(?1))"
    );
    let list = serde_json::to_string(ids).expect("strings serialize");
    let mut stmt = conn
        .prepare_cached(&sql)
        .map_err(|e| db.driver_error(&format!("cannot read {MARKER_TABLE}"), &e))?;
    let found: std::collections::HashSet<String> = stmt
        .query_map([list], |row| row.get::<_, String>(0))
        .and_then(|rows| rows.collect())
        .map_err(|e| db.driver_error(&format!("cannot read {MARKER_TABLE}"), &e))?;
    Ok(ids.iter().map(|id| found.contains(id)).collect())
}

fn forget_in(
    conn: &mut Connection,
    db: &Database,
    id: &str,
    rows: Option<InTransaction<'_, Sqlite>>,
) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| db.driver_error("cannot begin a transaction", &e))?;
    let mut tx = SqliteTransaction(tx);
    if let Some(rows) = rows {
        rows(&mut tx)?;
    }
    tx.0.execute(
        &format!("DELETE FROM {MARKER_TABLE} WHERE task_id = ?1"),
        [id],
    )
    .map_err(|e| db.driver_error(&format!("cannot delete from {MARKER_TABLE}"), &e))?;
    tx.0.commit()
        .map_err(|e| db.driver_error("cannot commit", &e))?;
    Ok(())
}
