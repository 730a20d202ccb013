//! Constants of the application's own written into a statement's text, not bound.
//!
//! PostgreSQL plans a prepared statement for its bound values at first, then keeps one generic
//! plan if that looks no costlier. A bound `confidentiality = $1` is planned for any value
//! (a third of the table), so a generic plan of a window read looks expensive and the
//! statement is planned again on every call (about a millisecond for a window's visibility,
//! more than its execution). Written as `confidentiality = 'public'`, the generic plan knows
//! how rare the value is, and is kept. diesel's own `sql()` literal would make the statement
//! uncacheable; this one is part of the cached text.

use std::marker::PhantomData;

use diesel::backend::Backend;
use diesel::expression::ValidGrouping;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::{Bool, Text};
use diesel::QueryResult;

/// An SQL constant of type `ST`, written as `sql` (quoted for a word).
#[derive(Debug, Clone, Copy)]
pub struct Literal<ST> {
    sql: &'static str,
    quoted: bool,
    kind: PhantomData<ST>,
}

/// One of the application's stored words, as a quoted literal (`word("public")` is
/// `'public'`). Words are fixed names from the code ([a-z_]), never input.
pub fn word(name: &'static str) -> Literal<Text> {
    debug_assert!(!name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    Literal {
        sql: name,
        quoted: true,
        kind: PhantomData,
    }
}

/// `TRUE` or `FALSE` (both backends read them; SQLite as 1 and 0).
pub fn flag(value: bool) -> Literal<Bool> {
    Literal {
        sql: if value { "TRUE" } else { "FALSE" },
        quoted: false,
        kind: PhantomData,
    }
}

impl<ST: diesel::sql_types::SqlType + diesel::sql_types::SingleValue> Expression for Literal<ST> {
    type SqlType = ST;
}

impl<ST, QS> AppearsOnTable<QS> for Literal<ST> where Self: Expression {}

impl<ST, QS> SelectableExpression<QS> for Literal<ST> where Self: Expression {}

impl<ST, GB> ValidGrouping<GB> for Literal<ST> {
    type IsAggregate = is_aggregate::Never;
}

// The text is part of the statement's, which the connection caches by text: no static id.
impl<ST> QueryId for Literal<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, DB: Backend> QueryFragment<DB> for Literal<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        if self.quoted {
            out.push_sql("'");
            out.push_sql(self.sql);
            out.push_sql("'");
        } else {
            out.push_sql(self.sql);
        }
        Ok(())
    }
}
