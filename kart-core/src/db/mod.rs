//! Database tables as outputs (Luigi's `contrib.postgres` marker table): a table task gets a
//! transaction, writes its rows, and kart inserts a marker row keyed by the task id in the
//! same transaction, then commits. The task is complete exactly when its marker exists; a
//! second writer's marker collides with the first's unique key, so its transaction rolls back
//! and the rows are never written twice.
//!
//! Databases are named (`#[task(table = "sales_daily", db = "warehouse")]`) and located by URL:
//! `[databases.warehouse] url = "postgres://user:password@host:5432/db"` or
//! `"sqlite://path/to/file.db"` in `kart.toml`, `KART_DATABASE_WAREHOUSE`, or
//! `--database warehouse=URL`. A password never appears in a message.

use std::collections::BTreeMap;
use std::sync::{OnceLock, RwLock};

use crate::error::{Error, Result};
use crate::output::{Kind, OutputKind};
use crate::task::{DynTask, RunContext, TaskDef, TaskId};

#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sqlite")]
mod sqlite;

#[cfg(feature = "postgres")]
pub use self::postgres::PgTransaction;
#[cfg(feature = "sqlite")]
pub use self::sqlite::SqliteTransaction;

/// The marker table, created when first needed: one row per committed table task.
pub const MARKER_TABLE: &str = "kart_table_updates";

/// The databases of this process, by name.
static DATABASES: OnceLock<RwLock<BTreeMap<String, String>>> = OnceLock::new();

/// Sets the databases table tasks may name (the command line does, from the config, the
/// environment and `--database`).
pub fn install(databases: BTreeMap<String, String>) {
    let slot = DATABASES.get_or_init(|| RwLock::new(BTreeMap::new()));
    *slot.write().unwrap_or_else(|p| p.into_inner()) = databases;
}

/// The databases from `[databases.NAME] url`, overridden by `KART_DATABASE_<NAME>` (which
/// also names a database of its own: `KART_DATABASE_WAREHOUSE` is `warehouse`), overridden by
/// `--database NAME=URL`.
pub fn resolve(
    config: &BTreeMap<String, String>,
    env: impl IntoIterator<Item = (String, String)>,
    flags: &[(String, String)],
) -> BTreeMap<String, String> {
    let mut out = config.clone();
    for (var, url) in env {
        let Some(upper) = var.strip_prefix("KART_DATABASE_") else {
            continue;
        };
        if url.is_empty() {
            continue;
        }
        let name = out
            .keys()
            .find(|name| env_var(name) == var)
            .cloned()
            .unwrap_or_else(|| upper.to_lowercase());
        out.insert(name, url);
    }
    for (name, url) in flags {
        out.insert(name.clone(), url.clone());
    }
    out
}

/// `KART_DATABASE_WAREHOUSE` for `warehouse`.
pub fn env_var(name: &str) -> String {
    format!(
        "KART_DATABASE_{}",
        name.to_uppercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
    )
}

/// One named database.
#[derive(Clone)]
pub struct Database {
    /// Its name in the task attribute.
    pub name: String,
    url: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

// Some of it is for the backends only, which are features.
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
impl Database {
    /// The database `name`, as installed.
    pub fn named(name: &str) -> Result<Self> {
        let all = DATABASES.get_or_init(|| RwLock::new(BTreeMap::new()));
        let all = all.read().unwrap_or_else(|p| p.into_inner());
        match all.get(name) {
            Some(url) => Ok(Database {
                name: name.to_string(),
                url: url.clone(),
            }),
            None => Err(Error::msg(format!(
                "database `{name}` is not configured: set [databases.{name}] url = \"postgres://...\" or \"sqlite://...\" in kart.toml, {}, or --database {name}=URL",
                env_var(name)
            ))),
        }
    }

    /// The URL with any password left out: what messages show.
    pub fn redacted_url(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(None);
                }
                u.to_string()
            }
            Err(_) => "<unparsable URL>".into(),
        }
    }

    /// `database `warehouse` (postgres://kart@127.0.0.1:5432/db)`.
    pub fn describe(&self) -> String {
        format!("database `{}` ({})", self.name, self.redacted_url())
    }

    /// An error about this database, with its causes (a driver's "db error" says little
    /// alone), without its password.
    pub fn error(&self, what: &str, e: impl std::fmt::Display) -> Error {
        let mut text = e.to_string();
        if let Ok(u) = url::Url::parse(&self.url) {
            if let Some(p) = u.password().filter(|p| !p.is_empty()) {
                text = text.replace(p, "***");
            }
        }
        Error::msg(format!("{}: {what}: {text}", self.describe()))
    }

    /// [`Database::error`] for a driver error, its causes joined: `db error: FATAL: ...`.
    pub(crate) fn driver_error(&self, what: &str, e: &dyn std::error::Error) -> Error {
        let mut text = e.to_string();
        let mut cause = e.source();
        while let Some(c) = cause {
            let more = c.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            cause = c.source();
        }
        self.error(what, text)
    }

    /// The URL itself, for the driver.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The scheme before `://`.
    fn scheme(&self) -> &str {
        self.url.split_once("://").map_or("", |(s, _)| s)
    }

    /// This database is of the backend the task's transaction type is for.
    fn expect(&self, backend: &str, schemes: &[&str]) -> Result<()> {
        if schemes.contains(&self.scheme()) {
            return Ok(());
        }
        Err(Error::msg(format!(
            "{} is not a {backend} database, but the task takes a {backend} transaction (its URL starts {})",
            self.describe(),
            schemes
                .iter()
                .map(|s| format!("{s}://"))
                .collect::<Vec<_>>()
                .join(" or ")
        )))
    }
}

/// Idle connections by database URL, kept between tasks and checks: opening one (a login, a
/// file and its schema check) costs far more than a statement.
#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
pub(crate) struct Idle<C>(std::sync::Mutex<Option<std::collections::HashMap<String, Vec<C>>>>);

#[cfg_attr(not(any(feature = "postgres", feature = "sqlite")), allow(dead_code))]
impl<C> Idle<C> {
    /// At most this many idle connections are kept per database.
    const KEEP: usize = 16;

    pub(crate) const fn new() -> Self {
        Idle(std::sync::Mutex::new(None))
    }

    /// An idle connection to `db` that is still `usable`, if any.
    pub(crate) fn take(&self, db: &Database, usable: impl Fn(&C) -> bool) -> Option<C> {
        let mut idle = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let clients = idle
            .get_or_insert_with(Default::default)
            .get_mut(db.url())?;
        std::iter::from_fn(|| clients.pop()).find(|c| usable(c))
    }

    /// Keeps a connection whose work ended cleanly for the next task or check.
    pub(crate) fn give_back(&self, db: &Database, conn: C) {
        let mut idle = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let conns = idle
            .get_or_insert_with(Default::default)
            .entry(db.url().to_string())
            .or_default();
        if conns.len() < Self::KEEP {
            conns.push(conn);
        }
    }
}

/// How a table task's run ended.
pub enum Committed {
    /// Its rows and marker are committed.
    Now,
    /// Another worker's marker was there first: this transaction rolled back.
    Already,
}

/// What runs in a backend's transaction: a task writing its rows, or its `on_invalidate`
/// deleting them.
pub type InTransaction<'a, B> =
    &'a mut dyn for<'c> FnMut(&mut <B as Backend>::Tx<'c>) -> Result<()>;

/// A database backend: the transaction a table task receives, and the marker table.
pub trait Backend: 'static {
    /// The transaction the task writes its rows in.
    type Tx<'c>;

    /// Runs `write` in one transaction on `db`, then records `task`'s marker in it and
    /// commits; nothing is committed when `write` fails.
    fn write_rows(
        db: &Database,
        table: &str,
        task: &TaskId,
        family: &str,
        write: InTransaction<'_, Self>,
    ) -> Result<Committed>;

    /// Which of `ids` have their marker, in one query.
    fn recorded(db: &Database, ids: &[String]) -> Result<Vec<bool>>;

    /// Deletes the marker of `id`, after `rows` (the task's `on_invalidate`) in the same
    /// transaction; without it the rows stay: they are the user's.
    fn forget(db: &Database, id: &str, rows: Option<InTransaction<'_, Self>>) -> Result<()>;
}

/// PostgreSQL (`&mut PgTransaction`).
#[cfg(feature = "postgres")]
pub struct Postgres;

/// SQLite (`&mut SqliteTransaction`).
#[cfg(feature = "sqlite")]
pub struct Sqlite;

/// The generated run of a table task: `write` in a transaction with the marker.
pub fn in_transaction<B: Backend, T: TaskDef>(
    task: &T,
    ctx: &RunContext,
    db: &str,
    table: &str,
    write: InTransaction<'_, B>,
) -> Result<()> {
    let db = Database::named(db)?;
    // A run cancelled meanwhile (lock lost, timeout, shutdown) commits nothing.
    let mut guarded = |tx: &mut B::Tx<'_>| {
        write(tx)?;
        if ctx.is_cancelled() {
            return Err(Error::Cancelled(
                "cancelled before its rows were committed; rolled back".into(),
            ));
        }
        Ok(())
    };
    match B::write_rows(&db, table, &task.id(), T::SPEC.family, &mut guarded)? {
        Committed::Now => Ok(()),
        Committed::Already => {
            ctx.mark_already_committed();
            Ok(())
        }
    }
}

/// A table task's completeness: its marker exists.
pub fn is_recorded<B: Backend>(db: &str, task: &dyn DynTask) -> crate::Result<bool> {
    let db = Database::named(db)?;
    Ok(B::recorded(&db, &[task.id().to_string()])?[0])
}

/// Deletes a table task's marker row: it is incomplete again (`invalidate`).
pub fn forget<B: Backend>(
    db: &str,
    task: &dyn DynTask,
    rows: Option<InTransaction<'_, B>>,
) -> crate::Result<()> {
    let db = Database::named(db)?;
    Ok(B::forget(&db, &task.id().to_string(), rows)?)
}

/// A table task family's bulk completeness: the candidates whose marker exists, in one query.
pub fn recorded_among<B: Backend, T: TaskDef>(db: &str, candidates: &[T]) -> crate::Result<Vec<T>> {
    let db = Database::named(db)?;
    let ids: Vec<String> = candidates.iter().map(|t| t.id().to_string()).collect();
    let recorded = B::recorded(&db, &ids)?;
    Ok(candidates
        .iter()
        .zip(recorded)
        .filter(|(_, r)| *r)
        .map(|(t, _)| t.clone())
        .collect())
}

/// The output kind of a table task: rows in a database, nothing in the workspace.
pub struct Table;

impl Kind<()> for Table {
    type Made = ();
    const OUTPUT: OutputKind = OutputKind::Table;
    const SUFFIX: &'static str = "";
    fn commit(_: (), _: &RunContext, _: &str) -> Result<()> {
        Ok(())
    }
    fn load(_: &RunContext, _: &dyn DynTask, _: &str) -> Result<()> {
        Ok(())
    }
}
