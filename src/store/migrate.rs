//! Embedded migrations: one portable set for both backends.

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
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

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Text1 {
    #[diesel(sql_type = Text)]
    text: String,
}

/// `meetings.channel_id` and `meetings.forum_id` reference `channels` and `forums` (which came
/// after `meetings`, without the constraints). Added here, once, the way each backend can, since
/// no portable migration can: PostgreSQL adds the constraints; SQLite cannot add one to an
/// existing column, and rebuilding the table needs foreign keys off, which has no effect inside
/// the transaction a migration runs in. True when it added them now.
pub fn ensure_meeting_references(conn: &mut DbConnection) -> Result<bool, StartupError> {
    match conn {
        DbConnection::Postgres(pg) => {
            let found: Count = sql_query(
                "SELECT count(*) AS n FROM pg_constraint \
                 WHERE conname IN ('meetings_channel_fk', 'meetings_forum_fk')",
            )
            .get_result(pg)?;
            if found.n == 2 {
                return Ok(false);
            }
            pg.batch_execute(
                "BEGIN;
                 ALTER TABLE meetings ADD CONSTRAINT meetings_channel_fk
                     FOREIGN KEY (channel_id) REFERENCES channels (id) ON DELETE RESTRICT;
                 ALTER TABLE meetings ADD CONSTRAINT meetings_forum_fk
                     FOREIGN KEY (forum_id) REFERENCES forums (id) ON DELETE RESTRICT;
                 COMMIT;",
            )?;
            Ok(true)
        }
        DbConnection::Sqlite(lite) => {
            let present: Count = sql_query(
                "SELECT count(*) AS n FROM pragma_foreign_key_list('meetings') \
                 WHERE \"from\" IN ('channel_id', 'forum_id')",
            )
            .get_result(lite)?;
            if present.n == 2 {
                return Ok(false);
            }
            let table: Text1 = sql_query(
                "SELECT sql AS text FROM sqlite_master WHERE type = 'table' AND name = 'meetings'",
            )
            .get_result(lite)?;
            let indexes: Vec<Text1> = sql_query(
                "SELECT sql AS text FROM sqlite_master \
                 WHERE type = 'index' AND tbl_name = 'meetings' AND sql IS NOT NULL",
            )
            .load(lite)?;
            let rebuilt = table
                .text
                .replacen("CREATE TABLE meetings", "CREATE TABLE meetings_rebuilt", 1)
                .replacen(
                    "channel_id TEXT,",
                    "channel_id TEXT REFERENCES channels (id) ON DELETE RESTRICT,",
                    1,
                )
                .replacen(
                    "forum_id TEXT,",
                    "forum_id TEXT REFERENCES forums (id) ON DELETE RESTRICT,",
                    1,
                );
            if rebuilt.matches("ON DELETE RESTRICT,").count()
                != table.text.matches("ON DELETE RESTRICT,").count() + 2
            {
                return Err(StartupError::Migration(
                    "the meetings table is not as the migrations made it: cannot add its channel and forum references".into(),
                ));
            }
            // SQLite's procedure for a table change: foreign keys off, rebuild in one
            // transaction, check, commit, foreign keys on.
            lite.batch_execute("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE;")?;
            let mut script = format!(
                "{rebuilt}; INSERT INTO meetings_rebuilt SELECT * FROM meetings; DROP TABLE meetings; \
                 ALTER TABLE meetings_rebuilt RENAME TO meetings;"
            );
            for index in &indexes {
                script.push_str(&index.text);
                script.push(';');
            }
            let outcome = lite
                .batch_execute(&script)
                .map_err(StartupError::from)
                .and_then(|()| {
                    let broken: Count =
                        sql_query("SELECT count(*) AS n FROM pragma_foreign_key_check('meetings')")
                            .get_result(lite)?;
                    if broken.n == 0 {
                        Ok(())
                    } else {
                        Err(StartupError::Migration(format!(
                            "{} meetings name a channel or forum that does not exist",
                            broken.n
                        )))
                    }
                });
            let end = if outcome.is_ok() {
                "COMMIT;"
            } else {
                "ROLLBACK;"
            };
            lite.batch_execute(&format!("{end} PRAGMA foreign_keys = ON;"))?;
            outcome.map(|()| true)
        }
    }
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
