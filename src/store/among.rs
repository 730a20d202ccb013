//! `column IN (these values)` as a fixed statement.
//!
//! diesel writes `IN (?, ?, …)` with one bind per value on SQLite, so the statement's text
//! changes with the number of values and is parsed and planned again on every call (a tenth
//! of a window read). Here the values travel as one JSON array bound to one parameter, so the
//! text is the same for one value or ten thousand (prepared once per connection, no limit on
//! binds): SQLite reads the array with `json_each`, PostgreSQL with `json_array_elements_text`
//! into an array compared with `= ANY`, which both plan as lookups on the column's index.

use diesel::backend::Backend;
use diesel::expression::{AppearsOnTable, Expression, SelectableExpression, ValidGrouping};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Bool, HasSqlType, Text};
use diesel::sqlite::Sqlite;
use diesel::QueryResult;

use super::conn::MultiBackend;

/// `column` is one of `values`.
#[derive(Debug, Clone)]
pub struct Among<C> {
    column: C,
    /// The values as a JSON array of strings.
    values: String,
}

/// `column` is one of `values` (none: nothing matches).
pub fn among<C, S: AsRef<str>>(column: C, values: &[S]) -> Among<C> {
    let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
    Among {
        column,
        // A list of strings always serialises; the fallback (no value) matches nothing.
        values: serde_json::to_string(&values).unwrap_or_else(|_| "[]".to_owned()),
    }
}

impl<C: Expression> Expression for Among<C> {
    type SqlType = Bool;
}

impl<C, QS> AppearsOnTable<QS> for Among<C> where C: AppearsOnTable<QS> {}

impl<C, QS> SelectableExpression<QS> for Among<C> where C: SelectableExpression<QS> {}

impl<C, GB> ValidGrouping<GB> for Among<C>
where
    C: ValidGrouping<GB>,
{
    type IsAggregate = <C as ValidGrouping<GB>>::IsAggregate;
}

// The statement's text depends only on the column (a type) and the backend (the connection's,
// whose statement cache this is): the type identifies it.
impl<C: 'static> QueryId for Among<C> {
    type QueryId = Among<C>;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<C> Among<C> {
    fn walk<'b, DB>(&'b self, mut out: AstPass<'_, 'b, DB>, postgres: bool) -> QueryResult<()>
    where
        DB: Backend + HasSqlType<Text>,
        C: QueryFragment<DB>,
        String: ToSql<Text, DB>,
    {
        self.column.walk_ast(out.reborrow())?;
        if postgres {
            out.push_sql(" = ANY(ARRAY(SELECT json_array_elements_text(CAST(");
            out.push_bind_param::<Text, _>(&self.values)?;
            out.push_sql(" AS json))))");
        } else {
            out.push_sql(" IN (SELECT value FROM json_each(");
            out.push_bind_param::<Text, _>(&self.values)?;
            out.push_sql("))");
        }
        Ok(())
    }
}

impl<C> QueryFragment<MultiBackend> for Among<C>
where
    C: QueryFragment<Sqlite> + QueryFragment<Pg>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        MultiBackend::walk_variant_ast(self, out)
    }
}

impl<C: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Among<C> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.walk(out, false)
    }
}

impl<C: QueryFragment<Pg>> QueryFragment<Pg> for Among<C> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk(out, true)
    }
}
