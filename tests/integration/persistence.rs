//! Durability and the database layer on both backends: restarts, migrations, SQLite settings,
//! concurrent writers, PostgreSQL TLS support.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_migrations::MigrationHarness;
use entente::service::audit::{self, Actor, Entry};
use entente::service::bootstrap::AdminBootstrap;
use entente::store::migrate::MIGRATIONS;
use entente::store::schema::{audit_log, users};
use entente::store::{write_transaction, DbConnection, Store};
use entente::Application;

use crate::helpers::{Backend, TestApp, TestDatabase};
use crate::with_both_databases;

with_both_databases!(
    restart_keeps_data_and_migrating_again_changes_nothing,
    generated_signing_key_is_kept_across_restarts,
    migrations_revert_and_reapply_cleanly,
    concurrent_writers_all_commit,
);

pub(crate) fn store(db: &TestDatabase) -> Store {
    let config = db.config(&[]);
    Store::open(&config.database_url, 8).expect("store opens")
}

fn count_users(store: &Store) -> i64 {
    let mut conn = store.connection().unwrap();
    users::table.count().get_result(&mut conn).unwrap()
}

async fn restart_keeps_data_and_migrating_again_changes_nothing(db: TestDatabase) {
    let first = Application::build(db.config(&[])).unwrap();
    assert_eq!(
        first.admin_bootstrap(),
        &AdminBootstrap::CreatedWithConfiguredPassword
    );
    assert!(!first.applied_migrations().is_empty());
    let app = TestApp::run(first, db);
    assert_eq!(app.get("/readyz").await.status(), 200);
    let db = app.stop().await;

    // A second start on the same database: nothing to migrate, nobody created, data kept.
    let second = Application::build(db.config(&[])).unwrap();
    assert_eq!(second.admin_bootstrap(), &AdminBootstrap::Existing);
    assert!(
        second.applied_migrations().is_empty(),
        "{:?}",
        second.applied_migrations()
    );
    let app = TestApp::run(second, db);
    assert_eq!(app.get("/readyz").await.status(), 200);
    let db = app.stop().await;
    assert_eq!(count_users(&store(&db)), 1);
}

async fn generated_signing_key_is_kept_across_restarts(db: TestDatabase) {
    // An empty value is no value: the key is generated and kept in the database.
    let unset = [("ENTENTE_JWT_SECRET", "")];
    let first = Application::build(db.config(&unset)).unwrap();
    let kid = first.signing_key_id().to_owned();
    drop(first);
    let second = Application::build(db.config(&unset)).unwrap();
    assert_eq!(
        second.signing_key_id(),
        kid,
        "a restart must not invalidate issued tokens"
    );

    // A configured secret takes precedence over the stored one.
    let configured = Application::build(db.config(&[(
        "ENTENTE_JWT_SECRET",
        "a-configured-secret-of-at-least-32-bytes",
    )]))
    .unwrap();
    assert_ne!(configured.signing_key_id(), kid);
}

#[derive(QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Named {
    #[diesel(sql_type = Text)]
    name: String,
}

pub(crate) fn table_names(conn: &mut DbConnection) -> Vec<String> {
    let sql = match conn {
        DbConnection::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        DbConnection::Postgres(_) => {
            "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' \
             UNION SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' ORDER BY name"
        }
    };
    let mut names: Vec<String> = diesel::sql_query(sql)
        .load::<Named>(conn)
        .unwrap()
        .into_iter()
        .map(|n| n.name)
        .filter(|n| {
            !n.starts_with("sqlite_autoindex") && !n.ends_with("_pkey") && !n.ends_with("_key")
        })
        .collect();
    names.sort();
    names
}

async fn migrations_revert_and_reapply_cleanly(db: TestDatabase) {
    let store = store(&db);
    let mut conn = store.connection().unwrap();
    conn.run_pending_migrations(MIGRATIONS).unwrap();
    let migrated = table_names(&mut conn);
    for expected in [
        "audit_log",
        "audit_parties",
        "delegations",
        "signing_keys",
        "users",
        "users_delegation_idx",
    ] {
        assert!(
            migrated.contains(&expected.to_owned()),
            "{expected} missing from {migrated:?}"
        );
    }
    conn.revert_all_migrations(MIGRATIONS).unwrap();
    let reverted = table_names(&mut conn);
    assert_eq!(
        reverted,
        vec!["__diesel_schema_migrations".to_owned()],
        "down migrations leave {reverted:?}"
    );
    conn.run_pending_migrations(MIGRATIONS).unwrap();
    assert_eq!(table_names(&mut conn), migrated);
}

/// 4 threads × 25 write transactions each: every one commits (SQLite writers wait for the
/// write lock instead of failing with "database is locked").
async fn concurrent_writers_all_commit(db: TestDatabase) {
    let store = store(&db);
    store
        .connection()
        .unwrap()
        .run_pending_migrations(MIGRATIONS)
        .unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    let mut conn = store.connection().unwrap();
                    write_transaction(&mut conn, |conn| {
                        let before: i64 = audit_log::table.count().get_result(conn)?;
                        audit::record(
                            conn,
                            &Actor::system(),
                            Entry {
                                action: "test.write",
                                entity_type: "test",
                                entity_id: &format!("{t}-{i}"),
                                summary: format!("seen {before} before"),
                                parties: vec!["d1".into(), "d2".into(), "d1".into()],
                            },
                        )
                    })
                    .unwrap_or_else(|e| panic!("writer {t} write {i} failed: {e}"));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let mut conn = store.connection().unwrap();
    let total: i64 = audit_log::table
        .filter(audit_log::action.eq("test.write"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(total, 100);
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let parties = diesel::sql_query("SELECT COUNT(*) AS n FROM audit_parties")
        .get_result::<Count>(&mut conn)
        .unwrap();
    assert_eq!(parties.n, 200, "parties are deduplicated per entry");
}

/// The failed transaction leaves nothing behind.
#[tokio::test]
async fn a_failed_write_transaction_rolls_back() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let store = store(&db);
    let mut conn = store.connection().unwrap();
    conn.run_pending_migrations(MIGRATIONS).unwrap();
    let result: Result<(), diesel::result::Error> = write_transaction(&mut conn, |conn| {
        audit::record(
            conn,
            &Actor::system(),
            Entry {
                action: "test.rollback",
                entity_type: "test",
                entity_id: "x",
                summary: "must vanish".into(),
                parties: vec![],
            },
        )?;
        Err(diesel::result::Error::RollbackTransaction)
    });
    assert!(result.is_err());
    let left: i64 = audit_log::table
        .filter(audit_log::action.eq("test.rollback"))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(left, 0);
    // The connection is usable again, outside any transaction.
    conn.batch_execute("SELECT 1").unwrap();
}

#[derive(QueryableByName)]
struct Pragma {
    #[diesel(sql_type = Text)]
    value: String,
}

#[tokio::test]
async fn sqlite_connections_are_durable_wal_with_foreign_keys() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap();
    let store = store(&db);
    let mut conn = store.connection().unwrap();
    let mut read = |pragma: &str| -> String {
        let column = if pragma == "busy_timeout" {
            "timeout"
        } else {
            pragma
        };
        diesel::sql_query(format!(
            "SELECT CAST({column} AS TEXT) AS value FROM pragma_{pragma}"
        ))
        .get_result::<Pragma>(&mut conn)
        .unwrap()
        .value
    };
    assert_eq!(read("journal_mode"), "wal");
    assert_eq!(read("synchronous"), "2", "synchronous=FULL");
    assert_eq!(read("foreign_keys"), "1");
    assert_eq!(read("busy_timeout"), "5000");
}

/// The default build bundles libpq with OpenSSL: `sslmode=require` is understood (the local
/// test server may not offer TLS, but the client must not say TLS is "not compiled in").
#[tokio::test]
async fn postgres_client_speaks_tls() {
    let Some(server) = crate::helpers::postgres_server_url() else {
        return;
    };
    let separator = if server.contains('?') { '&' } else { '?' };
    match diesel::PgConnection::establish(&format!("{server}{separator}sslmode=require")) {
        Ok(_) => {}
        Err(error) => {
            let message = error.to_string();
            assert!(
                !message.contains("not compiled in"),
                "libpq was built without TLS: {message}"
            );
            assert!(message.contains("SSL"), "unexpected error: {message}");
        }
    }
}

with_both_databases!(meeting_instants_follow_a_new_tz_database);

/// A meeting derived under older tz rules (simulated: another version, an hour off) is
/// re-derived from its wall-clock time at the next start; one whose local time has become
/// invalid is left alone and the start still succeeds.
async fn meeting_instants_follow_a_new_tz_database(db: TestDatabase) {
    use entente::store::schema::{meeting_participants, meetings};
    let app = db.spawn_app().await;
    let w = app.world().await;
    let booking = |start: &str, end: &str| serde_json::json!({"title": "T", "participants": [w.b], "time_zone": "Europe/Moscow", "start": start, "end": end});
    let m = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(booking("2027-03-29T10:00", "2027-03-29T11:00")),
        )
        .await;
    let broken = app
        .expect(
            201,
            "POST",
            "/api/v1/meetings",
            Some(w.token("a-scheduler")),
            Some(booking("2027-04-01T10:00", "2027-04-01T11:00")),
        )
        .await;
    let id = m["id"].as_str().unwrap().to_owned();
    let broken_id = broken["id"].as_str().unwrap().to_owned();
    let db = app.stop().await;

    {
        let store = store(&db);
        let mut conn = store.connection().unwrap();
        let wrong = chrono::NaiveDate::from_ymd_opt(2027, 3, 29)
            .unwrap()
            .and_hms_opt(6, 0, 0)
            .unwrap();
        diesel::update(meetings::table.filter(meetings::id.eq(&id)))
            .set((
                meetings::tzdb_version.eq("2010a"),
                meetings::start_utc.eq(wrong),
                meetings::span_start_utc.eq(wrong),
            ))
            .execute(&mut conn)
            .unwrap();
        diesel::update(
            meeting_participants::table.filter(meeting_participants::meeting_id.eq(&id)),
        )
        .set(meeting_participants::span_start_utc.eq(wrong))
        .execute(&mut conn)
        .unwrap();
        // A wall-clock time that no longer exists (Moscow has no gap; Zurich has one).
        let gap = chrono::NaiveDate::from_ymd_opt(2027, 3, 28)
            .unwrap()
            .and_hms_opt(2, 30, 0)
            .unwrap();
        diesel::update(meetings::table.filter(meetings::id.eq(&broken_id)))
            .set((
                meetings::tzdb_version.eq("2010a"),
                meetings::time_zone.eq("Europe/Zurich"),
                meetings::start_local.eq(gap),
            ))
            .execute(&mut conn)
            .unwrap();
    }

    let app = db.spawn_app().await;
    let token = app.login("a-viewer", crate::helpers::USER_PASSWORD).await;
    let fixed = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/meetings/{id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(fixed["start_utc"], "2027-03-29T07:00:00Z");
    assert_eq!(
        fixed["start"], "2027-03-29T10:00:00",
        "the wall-clock time is the truth"
    );
    assert_eq!(
        fixed["sequence"], 1,
        "calendar clients must pick the change up"
    );
    // Found again through the participants' index at the right time.
    let schedule = app
        .expect(
            200,
            "GET",
            "/api/v1/schedule?from=2027-03-29T06:30:00Z&to=2027-03-29T07:30:00Z",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(schedule["occurrences"].as_array().unwrap().len(), 1);
    let left = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/meetings/{broken_id}"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(left["sequence"], 0);
    let admin = app.admin_token().await;
    let audit = app
        .expect(
            200,
            "GET",
            &format!("/api/v1/audit?entity_id={id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(audit["items"][0]["action"], "meeting.rederive");
}
