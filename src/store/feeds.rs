//! `feeds`: calendar subscriptions, found by the hash of their token.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{feeds, users};
use super::{now, DbConnection};
use crate::domain::stored::{FeedId, UserId};

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = feeds)]
pub struct FeedRow {
    pub id: String,
    pub name: String,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

/// A live feed behind a token hash, with its active owner.
#[derive(Queryable, Debug, Clone)]
pub struct SubscriptionRow {
    pub token_hash: String,
    pub name: String,
    pub scope: String,
    pub owner_delegation_id: Option<String>,
}

pub fn insert(
    conn: &mut DbConnection,
    id: &FeedId,
    owner: &UserId,
    name: &str,
    scope: &str,
    token_hash: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(feeds::table)
        .values((
            feeds::id.eq(id.as_str()),
            feeds::user_id.eq(owner.as_str()),
            feeds::name.eq(name),
            feeds::scope.eq(scope),
            feeds::token_hash.eq(token_hash),
            feeds::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The owner's feeds that are not revoked, by creation (UUIDv7 ids), after `after`.
pub fn live_of(
    conn: &mut DbConnection,
    owner: &UserId,
    after: Option<&str>,
    limit: i64,
) -> QueryResult<Vec<FeedRow>> {
    let mut query = feeds::table
        .filter(feeds::user_id.eq(owner.as_str().to_owned()))
        .filter(feeds::revoked_at.is_null())
        .select(FeedRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(feeds::id.gt(after.to_owned()));
    }
    query.order(feeds::id.asc()).limit(limit).load(conn)
}

/// The feed, if `owner` owns it (revoked or not).
pub fn find_owned(
    conn: &mut DbConnection,
    owner: &UserId,
    id: &FeedId,
) -> QueryResult<Option<FeedRow>> {
    feeds::table
        .filter(feeds::id.eq(id.as_str()))
        .filter(feeds::user_id.eq(owner.as_str()))
        .select(FeedRow::as_select())
        .first(conn)
        .optional()
}

pub fn revoke(conn: &mut DbConnection, id: &FeedId) -> QueryResult<()> {
    diesel::update(feeds::table.filter(feeds::id.eq(id.as_str())))
        .set(feeds::revoked_at.eq(Some(now())))
        .execute(conn)?;
    Ok(())
}

/// The stamps a feed's validator digests (`store::feed_stamps`; none: never moved). The sum
/// of the delegation's forums' stamps moves with each of them: stamps only grow, and a change of
/// the set of forums moves the delegation's own stamp.
#[derive(Queryable, Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedStamps {
    pub names: Option<i64>,
    pub public: Option<i64>,
    pub delegation: Option<i64>,
    pub forums: Option<i64>,
    /// When the stamps last moved (for `Last-Modified`): names or the delegation's, public
    /// meetings, the delegation's forums.
    pub changed: StampTimes,
}

/// When a feed's stamps last moved, by the kind of meetings they cover.
#[derive(Queryable, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StampTimes {
    pub own: Option<NaiveDateTime>,
    pub public: Option<NaiveDateTime>,
    pub forums: Option<NaiveDateTime>,
}

/// The live feed with this token hash whose owner is active, with the stamps of what it shows:
/// one statement (a `304` costs one round trip).
pub fn validation(
    conn: &mut DbConnection,
    token_hash: &str,
) -> QueryResult<Option<(SubscriptionRow, FeedStamps)>> {
    feeds::table
        .inner_join(users::table)
        .filter(feeds::token_hash.eq(token_hash))
        .filter(feeds::revoked_at.is_null())
        .filter(users::active.eq(true))
        .select((
            (
                feeds::token_hash,
                feeds::name,
                feeds::scope,
                users::delegation_id,
            ),
            (
                stamp::NAMES,
                stamp::PUBLIC,
                stamp::DELEGATION,
                stamp::FORUMS,
                (
                    stamp::OWN_CHANGED,
                    stamp::PUBLIC_CHANGED,
                    stamp::FORUMS_CHANGED,
                ),
            ),
        ))
        .first(conn)
        .optional()
}

/// The stamps, as scalar subqueries on the owner's row (the same text on both backends).
mod stamp {
    use diesel::backend::Backend;
    use diesel::expression::ValidGrouping;
    use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
    use diesel::query_builder::{AstPass, QueryFragment, QueryId};
    use diesel::sql_types::{BigInt, Nullable, SingleValue, SqlType, Timestamp};
    use diesel::QueryResult;
    use std::marker::PhantomData;

    /// A scalar subquery of type `T`.
    #[derive(Debug, Clone, Copy)]
    pub struct Stamp<T>(&'static str, PhantomData<T>);

    const fn stamp(sql: &'static str) -> Stamp<Nullable<BigInt>> {
        Stamp(sql, PhantomData)
    }

    const fn changed(sql: &'static str) -> Stamp<Nullable<Timestamp>> {
        Stamp(sql, PhantomData)
    }

    pub const NAMES: Stamp<Nullable<BigInt>> =
        stamp("(SELECT s.stamp FROM feed_stamps s WHERE s.scope = 'names')");
    pub const PUBLIC: Stamp<Nullable<BigInt>> =
        stamp("(SELECT s.stamp FROM feed_stamps s WHERE s.scope = 'public')");
    pub const DELEGATION: Stamp<Nullable<BigInt>> =
        stamp("(SELECT s.stamp FROM feed_stamps s WHERE s.scope = \"users\".\"delegation_id\")");
    pub const FORUMS: Stamp<Nullable<BigInt>> = stamp(
        "(SELECT CAST(sum(s.stamp) AS BIGINT) FROM forum_members m \
         JOIN feed_stamps s ON s.scope = m.forum_id \
         WHERE m.delegation_id = \"users\".\"delegation_id\")",
    );
    pub const OWN_CHANGED: Stamp<Nullable<Timestamp>> = changed(
        "(SELECT max(s.changed_at) FROM feed_stamps s \
         WHERE s.scope IN ('names', \"users\".\"delegation_id\"))",
    );
    pub const PUBLIC_CHANGED: Stamp<Nullable<Timestamp>> =
        changed("(SELECT s.changed_at FROM feed_stamps s WHERE s.scope = 'public')");
    pub const FORUMS_CHANGED: Stamp<Nullable<Timestamp>> = changed(
        "(SELECT max(s.changed_at) FROM forum_members m \
         JOIN feed_stamps s ON s.scope = m.forum_id \
         WHERE m.delegation_id = \"users\".\"delegation_id\")",
    );

    impl<T: SqlType + SingleValue> Expression for Stamp<T> {
        type SqlType = T;
    }

    impl<QS, T: SqlType + SingleValue> AppearsOnTable<QS> for Stamp<T> {}

    impl<QS, T: SqlType + SingleValue> SelectableExpression<QS> for Stamp<T> {}

    impl<GB, T> ValidGrouping<GB> for Stamp<T> {
        type IsAggregate = is_aggregate::Never;
    }

    impl<T> QueryId for Stamp<T> {
        type QueryId = ();
        const HAS_STATIC_QUERY_ID: bool = false;
    }

    impl<DB: Backend, T> QueryFragment<DB> for Stamp<T> {
        fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
            out.push_sql(self.0);
            Ok(())
        }
    }
}
