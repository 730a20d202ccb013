//! One connection type over both backends, and the pool manager that opens it.

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::R2D2Connection;
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, QueryResult, RunQueryDsl};

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

/// Opens connections for the pool. The backend is chosen from the URL scheme here (not by the
/// derived `establish`, which tries each backend in turn and hides the real error).
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: DatabaseUrl,
}

impl ConnectionManager {
    pub fn new(url: DatabaseUrl) -> Self {
        Self { url }
    }
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn = SqliteConnection::establish(&path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
            DatabaseUrl::Postgres(url) => PgConnection::establish(url)
                .map(DbConnection::Postgres)
                .map_err(diesel::r2d2::Error::ConnectionError),
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking() || conn.is_broken()
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
