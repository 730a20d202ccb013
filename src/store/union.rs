//! Several statements answered as one: `SELECT … UNION ALL SELECT …`.
//!
//! A read that needs several index paths (a window's visibility: public meetings, the viewer's
//! participations, its forums' meetings, each split into singles and series) would otherwise
//! pay one round trip per path, which on PostgreSQL costs more than the work. The members of a
//! compound statement are planned each on its own, so every path keeps its index. diesel's own
//! `union_all` is not available over the two-backend connection type (`MultiBackend` does not
//! declare compound statements), and both backends write `UNION ALL` the same way.
//!
//! The statement's text depends only on its members' texts, so the connection caches it by text
//! (prepared once per connection for each shape).

use diesel::expression::ValidGrouping;
use diesel::expression::{is_aggregate, AppearsOnTable, Expression, SelectableExpression};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Bool;
use diesel::QueryResult;

use super::conn::MultiBackend;

/// One member of a compound statement: a select of one text column. No member may carry its
/// own `ORDER BY` or `LIMIT` (SQLite refuses them inside a compound).
pub type Member = Box<dyn QueryFragment<MultiBackend> + Send>;

/// `column IN (members[0] UNION ALL …)`: a filter whose candidates come from several index
/// paths, in the statement that reads the rows (one round trip for both).
pub struct InUnion<C> {
    column: C,
    members: Vec<Member>,
}

/// `column` is one of the values the members select (duplicates kept: `IN` ignores them). At
/// least one member: `IN ()` is not a statement.
pub fn in_union<C>(column: C, members: Vec<Member>) -> InUnion<C> {
    InUnion { column, members }
}

impl<C> Expression for InUnion<C> {
    type SqlType = Bool;
}

impl<C, QS> AppearsOnTable<QS> for InUnion<C> where C: AppearsOnTable<QS> {}

impl<C, QS> SelectableExpression<QS> for InUnion<C> where C: SelectableExpression<QS> {}

impl<C, GB> ValidGrouping<GB> for InUnion<C> {
    type IsAggregate = is_aggregate::Never;
}

// Cached by its text instead (the members are boxed, so the type says nothing about it).
impl<C> QueryId for InUnion<C> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<C: QueryFragment<MultiBackend>> QueryFragment<MultiBackend> for InUnion<C> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        self.column.walk_ast(out.reborrow())?;
        out.push_sql(" IN (");
        for (i, member) in self.members.iter().enumerate() {
            if i > 0 {
                out.push_sql(" UNION ALL ");
            }
            member.walk_ast(out.reborrow())?;
        }
        out.push_sql(")");
        Ok(())
    }
}
