//! Persistence: diesel over SQLite or PostgreSQL through one connection type.
//!
//! Every database call runs on the blocking thread pool, never on the async workers.

pub mod audit;
pub mod channels;
pub mod conn;
pub mod delegations;
pub mod feeds;
pub mod forums;
pub mod idempotency;
pub mod identity;
pub mod meetings;
pub mod migrate;
pub mod overrides;
pub mod participants;
pub mod schema;
pub mod seed;

use std::time::Duration;

use tracing::Span;

pub use conn::{lock_row, write_transaction, ConnectionManager, DbConnection, Locked};

use crate::config::DatabaseUrl;
use crate::domain::stored::StringEnum;
use crate::error::AppError;

pub type Pool = r2d2::Pool<ConnectionManager>;

/// What can go wrong below the service layer, before a query even runs.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database error: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("blocking task failed: {0}")]
    Blocking(String),
}

/// The shared handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    backend: &'static str,
}

impl Store {
    /// Opens a pool. Fails (with the backend's own message) when no connection can be made.
    pub fn open(url: &DatabaseUrl, max_size: u32) -> Result<Self, StoreError> {
        let pool = r2d2::Pool::builder()
            .max_size(max_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .test_on_check_out(true)
            .build(ConnectionManager::new(url.clone()))?;
        Ok(Self {
            pool,
            backend: url.backend(),
        })
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Pool occupancy for metrics: (open connections, idle connections, maximum).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let state = self.pool.state();
        (
            state.connections,
            state.idle_connections,
            self.pool.max_size(),
        )
    }

    /// A connection for synchronous callers (the CLI, start-up). Async code uses `read`/`write`.
    pub fn connection(&self) -> Result<r2d2::PooledConnection<ConnectionManager>, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Runs `f` with a connection on the blocking pool.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let span = Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            let mut conn = pool.get().map_err(StoreError::from)?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Blocking(e.to_string()))?
    }

    /// Runs `f` in one write transaction (`BEGIN IMMEDIATE` on SQLite) on the blocking pool:
    /// everything `f` writes commits together, or nothing does.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
    {
        self.read(move |conn| write_transaction(conn, f)).await
    }

    /// Whether the database answers a trivial query within `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), StoreError> {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get_timeout(timeout)?;
            diesel::r2d2::R2D2Connection::ping(&mut *conn)?;
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Blocking(e.to_string()))?
    }
}

/// A stored word read back as its enum; a word no variant has is corrupt data: an internal
/// error (logged, never shown), never a silent default.
pub fn stored<T: StringEnum>(raw: &str) -> Result<T, AppError> {
    T::parse(raw)
        .ok_or_else(|| AppError::internal(format!("stored {} '{raw}' is not valid", T::WHAT)))
}

/// Whether a write failed on a unique constraint (a taken code or username, a repeated key).
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        error,
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A new time-ordered id (UUIDv7): good index locality, and ids sort by creation.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The current instant in UTC, to the microsecond (what both backends keep).
pub fn now() -> chrono::NaiveDateTime {
    use chrono::{DurationRound, TimeDelta};
    let now = chrono::Utc::now();
    now.duration_trunc(TimeDelta::microseconds(1))
        .unwrap_or(now)
        .naive_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::AppError;

    /// Every connection taken and none freed in time: the request is told to come back (503
    /// with Retry-After), not that something broke (500).
    #[tokio::test]
    async fn an_exhausted_pool_is_unavailable_not_internal() {
        let dir = tempfile::tempdir().unwrap();
        let url =
            DatabaseUrl::parse(&format!("sqlite://{}", dir.path().join("t.db").display())).unwrap();
        let pool = r2d2::Pool::builder()
            .max_size(1)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_millis(200))
            .build(ConnectionManager::new(url))
            .unwrap();
        let store = Store {
            pool,
            backend: "sqlite",
        };
        // Taken with a generous wait (a loaded machine may be slow to open it); the request
        // below then waits the pool's 200 ms for a second one.
        let _held = store.pool.get_timeout(Duration::from_secs(60)).unwrap();
        let error: AppError = store.read(|_conn| Ok::<_, AppError>(())).await.unwrap_err();
        assert_eq!((error.status(), error.code()), (503, "unavailable"));
        assert!(matches!(error, AppError::Unavailable { .. }));
    }
}
