//! Embedded migrations: one portable set for both backends.

use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::conn::DbConnection;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Any fixed number: instances starting together on one PostgreSQL database take turns.
const STARTUP_LOCK_KEY: i64 = 0x0065_6e74_656e_7465;

/// Runs `f` while holding the start-up lock: on PostgreSQL a session advisory lock, so that
/// instances starting at the same time migrate and bootstrap one after the other. (SQLite
/// serialises writers itself.) The lock is released even when `f` fails, and by PostgreSQL
/// when the connection dies.
pub fn with_startup_lock<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, StartupError>,
) -> Result<T, StartupError> {
    let postgres = matches!(conn, DbConnection::Postgres(_));
    if postgres {
        conn.batch_execute(&format!("SELECT pg_advisory_lock({STARTUP_LOCK_KEY})"))?;
    }
    let result = f(conn);
    if postgres {
        conn.batch_execute(&format!("SELECT pg_advisory_unlock({STARTUP_LOCK_KEY})"))?;
    }
    result
}

/// Applies the pending migrations and returns the versions it applied, oldest first.
pub fn run_pending(conn: &mut DbConnection) -> Result<Vec<String>, StartupError> {
    conn.run_pending_migrations(MIGRATIONS)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| StartupError::Migration(e.to_string()))
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("{0}")]
    Bootstrap(String),
}
