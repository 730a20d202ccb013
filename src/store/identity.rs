//! `users`, `login_failures` and `signing_keys`: who may log in, how often they failed, and the
//! keys that sign their tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{delegations, login_failures, signing_keys, users};
use super::{new_id, now, DbConnection};
use crate::domain::stored::{DelegationId, UserId};

/// A user as listed (never with the password hash).
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub role: String,
    pub delegation_id: Option<String>,
    pub active: bool,
    pub version: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// What logging in and recognising a token need of a user.
#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = users)]
pub struct AccountRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub delegation_id: Option<String>,
    /// Tokens carry it; a password reset raises it, ending every token issued before.
    pub token_generation: i64,
    pub version: i64,
}

/// How an account is looked up.
pub enum AccountKey<'a> {
    Username(&'a str),
    Id(&'a UserId),
}

/// A new user.
pub struct NewUserRow<'a> {
    pub id: &'a UserId,
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub delegation_id: Option<&'a DelegationId>,
}

pub fn find(conn: &mut DbConnection, id: &UserId) -> QueryResult<Option<UserRow>> {
    users::table
        .find(id.as_str())
        .select(UserRow::as_select())
        .first(conn)
        .optional()
}

/// A delegation's users by username, after `after`.
pub fn of_delegation(
    conn: &mut DbConnection,
    delegation_id: &DelegationId,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<UserRow>> {
    let mut query = users::table
        .select(UserRow::as_select())
        .filter(users::delegation_id.eq(delegation_id.as_str().to_owned()))
        .order(users::username.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::username.gt(after.to_owned()));
    }
    query.load(conn)
}

pub fn count(conn: &mut DbConnection) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// Inserts an active user at version 1 (a taken username is a unique violation).
pub fn insert(conn: &mut DbConnection, user: &NewUserRow<'_>) -> QueryResult<()> {
    let at = now();
    diesel::insert_into(users::table)
        .values((
            users::id.eq(user.id.as_str()),
            users::username.eq(user.username),
            users::password_hash.eq(user.password_hash),
            users::role.eq(user.role),
            users::delegation_id.eq(user.delegation_id.map(DelegationId::as_str)),
            users::active.eq(true),
            users::version.eq(1_i64),
            users::created_at.eq(at),
            users::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Deactivates the user if it is still at `version`; answers the rows changed (0: it was not).
pub fn deactivate(conn: &mut DbConnection, id: &UserId, version: i64) -> QueryResult<usize> {
    diesel::update(
        users::table
            .filter(users::id.eq(id.as_str()))
            .filter(users::version.eq(version)),
    )
    .set((
        users::active.eq(false),
        users::version.eq(version + 1),
        users::updated_at.eq(now()),
    ))
    .execute(conn)
}

/// An active user's account: by username (login) or by id (a token's subject). Each lookup
/// is one fixed statement, prepared once per connection (diesel caches statements that are not
/// boxed): it runs on every authenticated request.
pub fn active_account(
    conn: &mut DbConnection,
    by: AccountKey<'_>,
) -> QueryResult<Option<AccountRow>> {
    let active = users::table.filter(users::active.eq(true));
    match by {
        AccountKey::Username(username) => active
            .filter(users::username.eq(username))
            .select(AccountRow::as_select())
            .first(conn)
            .optional(),
        AccountKey::Id(id) => active
            .filter(users::id.eq(id.as_str()))
            .select(AccountRow::as_select())
            .first(conn)
            .optional(),
    }
}

/// An active account by id, with its delegation's time zone: what every authenticated request
/// reads (one statement).
pub fn active_account_with_zone(
    conn: &mut DbConnection,
    id: &UserId,
) -> QueryResult<Option<(AccountRow, Option<String>)>> {
    users::table
        .left_join(delegations::table)
        .filter(users::active.eq(true))
        .filter(users::id.eq(id.as_str()))
        .select((AccountRow::as_select(), delegations::time_zone.nullable()))
        .first(conn)
        .optional()
}

/// Any user's account by username, active or not (a password reset).
pub fn account_by_username(
    conn: &mut DbConnection,
    username: &str,
) -> QueryResult<Option<AccountRow>> {
    users::table
        .filter(users::username.eq(username))
        .select(AccountRow::as_select())
        .first(conn)
        .optional()
}

/// A new password hash, with the credentials generation and the version raised.
pub fn set_password(
    conn: &mut DbConnection,
    account: &AccountRow,
    password_hash: &str,
) -> QueryResult<()> {
    diesel::update(users::table.filter(users::id.eq(&account.id)))
        .set((
            users::password_hash.eq(password_hash),
            users::token_generation.eq(account.token_generation + 1),
            users::version.eq(account.version + 1),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// When `subject` failed to log in after `since`, oldest first.
pub fn recent_failures(
    conn: &mut DbConnection,
    subject: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    login_failures::table
        .filter(login_failures::subject.eq(subject))
        .filter(login_failures::failed_at.gt(since))
        .select(login_failures::failed_at)
        .order(login_failures::failed_at.asc())
        .load(conn)
}

/// Records one failure for each subject, after forgetting those at or before `forget_until`.
pub fn record_failures(
    conn: &mut DbConnection,
    subjects: &[String],
    at: NaiveDateTime,
    forget_until: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::failed_at.le(forget_until)))
        .execute(conn)?;
    for subject in subjects {
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::id.eq(new_id()),
                login_failures::subject.eq(subject),
                login_failures::failed_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The first stored signing key (kid, secret), if any.
pub fn first_signing_key(conn: &mut DbConnection) -> QueryResult<Option<(String, String)>> {
    signing_keys::table
        .select((signing_keys::kid, signing_keys::secret))
        .order((signing_keys::created_at.asc(), signing_keys::kid.asc()))
        .first(conn)
        .optional()
}

pub fn insert_signing_key(conn: &mut DbConnection, kid: &str, secret: &str) -> QueryResult<()> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(kid),
            signing_keys::secret.eq(secret),
            signing_keys::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}
