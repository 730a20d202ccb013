//! A meeting's `channel_id` and `forum_id` are foreign keys on both backends (issue 12): the
//! database itself refuses a meeting on a channel or forum that does not exist. SQLite gets them
//! by a rebuild of `meetings` at the start, which must keep every index.

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use diesel_migrations::MigrationHarness;
use entente::store::migrate::MIGRATIONS;
use entente::store::schema::meetings;
use serde_json::json;

use crate::calendar_rfc::book;
use crate::helpers::TestDatabase;
use crate::persistence::{store, table_names};
use crate::with_both_databases;

with_both_databases!(meetings_reference_their_channel_and_forum);

fn refused(result: QueryResult<usize>, what: &str) {
    assert!(
        matches!(
            result,
            Err(Error::DatabaseError(
                DatabaseErrorKind::ForeignKeyViolation,
                _
            ))
        ),
        "{what}: {result:?}"
    );
}

async fn meetings_reference_their_channel_and_forum(db: TestDatabase) {
    // The schema the migrations alone make, to compare with after the start's rebuild.
    let reference = TestDatabase::create(db.backend).expect("a second database");
    let migrated_only = {
        let store = store(&reference);
        let mut conn = store.connection().unwrap();
        conn.run_pending_migrations(MIGRATIONS).unwrap();
        table_names(&mut conn)
    };

    let app = db.spawn_app().await;
    let w = app.world().await;
    let m = book(
        &app,
        &w,
        json!({"time_zone": "Europe/Zurich", "start": "2027-03-01T10:00", "end": "2027-03-01T11:00"}),
    )
    .await;
    let id = m["id"].as_str().unwrap().to_owned();
    let db = app.stop().await;
    check(&db, &id, &migrated_only, "first start");
    // A second start finds the references in place and changes nothing.
    let app = db.spawn_app().await;
    app.expect(
        200,
        "GET",
        &format!("/api/v1/meetings/{id}"),
        Some(w.token("a-viewer")),
        None,
    )
    .await;
    let db = app.stop().await;
    check(&db, &id, &migrated_only, "second start");
}

fn check(db: &TestDatabase, id: &str, migrated_only: &[String], round: &str) {
    let store = store(db);
    let mut conn = store.connection().unwrap();
    refused(
        diesel::update(meetings::table.filter(meetings::id.eq(id)))
            .set(meetings::channel_id.eq(Some("no-such-channel")))
            .execute(&mut conn),
        &format!("channel, {round}"),
    );
    refused(
        diesel::update(meetings::table.filter(meetings::id.eq(id)))
            .set(meetings::forum_id.eq(Some("no-such-forum")))
            .execute(&mut conn),
        &format!("forum, {round}"),
    );
    assert_eq!(
        table_names(&mut conn),
        migrated_only,
        "{round}: tables and indexes"
    );
}
