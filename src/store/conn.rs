//! One connection type over both backends, and the pool manager that opens it.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError, QueryResult, RunQueryDsl};

use crate::config::DatabaseUrl;

/// Every query is written once against this enum; diesel dispatches to the backend.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

/// Per-connection SQLite settings. `synchronous=FULL` makes every acknowledged commit durable
/// even across power loss; `busy_timeout` lets a writer wait for another instead of failing.
pub const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA synchronous = FULL; \
     PRAGMA foreign_keys = ON;";

/// Opens connections. The backend is chosen from the URL scheme here (not by the derived
/// `establish`, which tries each backend in turn and hides the real error).
#[derive(Debug, Clone)]
pub struct Connector {
    url: DatabaseUrl,
}

/// Why a connection could not be opened (the backend's own message).
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error("setting up the connection: {0}")]
    Setup(#[from] diesel::result::Error),
}

impl Connector {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }

    pub fn connect(&self) -> Result<DbConnection, ConnectError> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                conn.batch_execute(SQLITE_PRAGMAS)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => Ok(DbConnection::Postgres(PgConnection::establish(url)?)),
        }
    }
}

/// Whether the connection still answers (a trivial statement).
pub fn ping(conn: &mut DbConnection) -> QueryResult<()> {
    conn.batch_execute("SELECT 1")
}

/// Whether the connection was left in a state it cannot be used from (a transaction that could
/// not be closed): it is then dropped and a new one opened.
pub fn is_broken(conn: &mut DbConnection) -> bool {
    match conn {
        DbConnection::Sqlite(inner) => AnsiTransactionManager::is_broken_transaction_manager(inner),
        DbConnection::Postgres(inner) => {
            AnsiTransactionManager::is_broken_transaction_manager(inner)
        }
    }
}

/// Runs `f` in a write transaction. On SQLite it begins `IMMEDIATE`, taking the write lock up
/// front, so that a concurrent writer waits (busy_timeout) instead of failing half-way with
/// "database is locked"; on PostgreSQL it is a plain transaction.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Manager = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConnection::Postgres(_) => Manager::begin_transaction(conn)?,
    }
    match f(conn) {
        Ok(value) => match Manager::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(commit_error) => {
                // The commit failed: leave the connection clean; the commit error is what counts.
                let _ = Manager::rollback_transaction(conn);
                Err(commit_error.into())
            }
        },
        Err(error) => {
            Manager::rollback_transaction(conn)?;
            Err(error)
        }
    }
}

/// The tables whose rows `lock_row` locks.
#[derive(Clone, Copy, Debug)]
pub enum Locked {
    Meeting,
    Delegation,
    Forum,
    User,
    Channel,
}

impl Locked {
    fn table(self) -> &'static str {
        match self {
            Self::Meeting => "meetings",
            Self::Delegation => "delegations",
            Self::Forum => "forums",
            Self::User => "users",
            Self::Channel => "channels",
        }
    }
}

/// Takes the write lock of one row for the rest of the transaction, before it is read, so that
/// writers of the same row queue instead of racing each other: `SELECT … FOR UPDATE` on
/// PostgreSQL; nothing on SQLite, whose `BEGIN IMMEDIATE` already serializes writers.
pub fn lock_row(conn: &mut DbConnection, what: Locked, id: &str) -> QueryResult<()> {
    if let DbConnection::Postgres(pg) = conn {
        diesel::sql_query(format!(
            "SELECT 1 FROM {} WHERE id = $1 FOR UPDATE",
            what.table()
        ))
        .bind::<diesel::sql_types::Text, _>(id)
        .execute(pg)?;
    }
    Ok(())
}
