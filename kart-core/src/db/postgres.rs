//! PostgreSQL through the `postgres` crate (synchronous, as kart's workers are threads; the
//! well-kept driver under `tokio-postgres`, without a runtime to carry).

use std::time::Duration;

use postgres::error::SqlState;
use postgres::{Client, NoTls};

use super::{Backend, Committed, Database, Idle, InTransaction, Postgres, MARKER_TABLE};
use crate::error::Result;
use crate::task::TaskId;

/// A table task's transaction on PostgreSQL: the `postgres` crate's, with kart's marker added
/// before it commits. Write with `tx.execute("INSERT ... VALUES ($1, $2)", &[&a, &b])`.
pub struct PgTransaction<'c>(postgres::Transaction<'c>);

impl<'c> std::ops::Deref for PgTransaction<'c> {
    type Target = postgres::Transaction<'c>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for PgTransaction<'_> {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

const SCHEMES: &[&str] = &["postgres", "postgresql"];

fn connect(db: &Database) -> Result<Client> {
    db.expect("PostgreSQL", SCHEMES)?;
    let mut config: postgres::Config = db
        .url()
        .parse()
        .map_err(|e| db.driver_error("invalid URL", &e))?;
    config.connect_timeout(Duration::from_secs(10));
    config
        .connect(NoTls)
        .map_err(|e| db.driver_error("cannot connect", &e))
}

fn create_marker_table(client: &mut Client, db: &Database) -> Result<()> {
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (task_id TEXT PRIMARY KEY, family TEXT NOT NULL, target_table TEXT NOT NULL, inserted_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    );
    match client.batch_execute(&sql) {
        Ok(()) => Ok(()),
        // Two first writers at once: one creates it, the other collides in the catalog.
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Ok(()),
        Err(e) => Err(db.driver_error(&format!("cannot create {MARKER_TABLE}"), &e)),
    }
}

/// Idle connections, shared by runs and completeness checks.
static IDLE: Idle<Client> = Idle::new();

/// An idle connection to `db`, or a new one (with the marker table made sure of).
fn take(db: &Database) -> Result<Client> {
    match IDLE.take(db, |c| !c.is_closed()) {
        Some(client) => Ok(client),
        None => {
            let mut client = connect(db)?;
            create_marker_table(&mut client, db)?;
            Ok(client)
        }
    }
}

/// Puts a connection whose work ended cleanly back for the next run or check.
fn give_back(db: &Database, client: Client) {
    if !client.is_closed() {
        IDLE.give_back(db, client);
    }
}

impl Backend for Postgres {
    type Tx<'c> = PgTransaction<'c>;

    fn write_rows(
        db: &Database,
        table: &str,
        task: &TaskId,
        family: &str,
        write: InTransaction<'_, Postgres>,
    ) -> Result<Committed> {
        let mut client = take(db)?;
        let committed = {
            let tx = client
                .transaction()
                .map_err(|e| db.driver_error("cannot begin a transaction", &e))?;
            let mut tx = PgTransaction(tx);
            // The task's error rolls everything back (the transaction is dropped
            // uncommitted).
            write(&mut tx)?;
            let marker = format!(
                "INSERT INTO {MARKER_TABLE} (task_id, family, target_table) VALUES ($1, $2, $3)"
            );
            let id = task.to_string();
            match tx.0.execute(marker.as_str(), &[&id, &family, &table]) {
                Ok(_) => {
                    tx.0.commit()
                        .map_err(|e| db.driver_error("cannot commit", &e))?;
                    Committed::Now
                }
                Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => Committed::Already,
                Err(e) => {
                    return Err(
                        db.driver_error(&format!("cannot record {id} in {MARKER_TABLE}"), &e)
                    )
                }
            }
        };
        give_back(db, client);
        Ok(committed)
    }

    fn recorded(db: &Database, ids: &[String]) -> Result<Vec<bool>> {
        let mut client = take(db)?;
        let sql = format!("SELECT task_id FROM {MARKER_TABLE} WHERE task_id = ANY($1)");
        let rows = client
            .query(sql.as_str(), &[&ids])
            .map_err(|e| db.driver_error(&format!("cannot read {MARKER_TABLE}"), &e))?;
        give_back(db, client);
        let found: std::collections::HashSet<String> =
            rows.iter().map(|r| r.get::<_, String>(0)).collect();
        Ok(ids.iter().map(|id| found.contains(id)).collect())
    }

    fn forget(db: &Database, id: &str, rows: Option<InTransaction<'_, Postgres>>) -> Result<()> {
        let mut client = take(db)?;
        {
            let tx = client
                .transaction()
                .map_err(|e| db.driver_error("cannot begin a transaction", &e))?;
            let mut tx = PgTransaction(tx);
            if let Some(rows) = rows {
                rows(&mut tx)?;
            }
            let sql = format!("DELETE FROM {MARKER_TABLE} WHERE task_id = $1");
            tx.0.execute(sql.as_str(), &[&id])
                .map_err(|e| db.driver_error(&format!("cannot delete from {MARKER_TABLE}"), &e))?;
            tx.0.commit()
                .map_err(|e| db.driver_error("cannot commit", &e))?;
        }
        give_back(db, client);
        Ok(())
    }
}
