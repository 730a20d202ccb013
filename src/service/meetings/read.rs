//! Reading meetings: one, and the list the caller may see.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, TimeDelta};

use super::dto::{Meeting, MeetingFilter};
use super::load::{
    listed_view, load_visible, override_of, recurrence_error, timeline_of, view, WithConflicts,
};
use super::MAX_SCHEDULE_DAYS;
use crate::domain::stored::MeetingId;
use crate::error::{AppError, FieldError};
use crate::service::{channels, Context, Page, PageRequest};
use crate::store::meetings::{self as rows, ListQuery, Listed};
use crate::store::Store;

/// One meeting, with its participants' current conflicts.
pub async fn get(store: &Store, ctx: &Context, id: MeetingId) -> Result<Meeting, AppError> {
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            let row = load_visible(conn, &ctx, &id)?;
            view(conn, &ctx, row, WithConflicts::Yes)
        })
        .await
}

/// `q` as a case-insensitive `LIKE` pattern: lower case, wildcards escaped with `\`.
fn escape_like(q: &str) -> String {
    let mut escaped = String::with_capacity(q.len() + 2);
    escaped.push('%');
    for c in q.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped.push('%');
    escaped
}

/// `…=me`: the caller's delegation (a user of none has no meetings of its own: 422).
fn mine(ctx: &Context, asked: bool, field: &str) -> Result<Option<String>, AppError> {
    if !asked {
        return Ok(None);
    }
    match &ctx.principal.delegation_id {
        Some(d) => Ok(Some(d.as_str().to_owned())),
        None => Err(AppError::invalid_fields(vec![FieldError::new(
            field,
            "me: you belong to no delegation",
        )])),
    }
}

/// The meetings the caller may see, by start, filtered.
pub async fn list(
    store: &Store,
    ctx: &Context,
    filter: MeetingFilter,
    page: PageRequest,
) -> Result<Page<Meeting>, AppError> {
    let after = page.after_key(|c| {
        let (t, id) = c.split_once('|')?;
        let t = DateTime::from_timestamp_micros(t.parse().ok()?)?;
        Some((t.naive_utc(), id.to_owned()))
    })?;
    let query = ListQuery {
        from: filter.from.map(|t| t.naive_utc()),
        to: filter.to.map(|t| t.naive_utc()),
        participant: filter.participant.clone(),
        status: filter.status.map(|s| s.as_str()),
        forum_id: filter.forum_id.as_ref().map(|f| f.as_str().to_owned()),
        channel_id: filter.channel_id.as_ref().map(|c| c.as_str().to_owned()),
        title_or_description: filter.q.as_deref().map(escape_like),
        host: mine(ctx, filter.host_me, "host")?,
        awaiting: mine(ctx, filter.awaiting_me, "awaiting")?,
        after,
        limit: page.fetch(),
    };
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            let viewer = ctx.principal.delegation_id.as_ref();
            if let Some(channel_id) = &filter.channel_id {
                // A channel's meetings are listed for its two parties only.
                if channels::load_for_party(conn, viewer, channel_id)?.is_none() {
                    return Ok(Page {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
            }
            let mut rows = rows::list_visible(conn, viewer, &query)?;
            // The page and its cursor follow the rows loaded; a series whose occurrences all
            // miss the window (its span alone overlaps it) is then left out, so a page may be
            // short.
            let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
            let more = rows.len() > limit;
            rows.truncate(limit);
            let next_cursor = more
                .then(|| rows.last())
                .flatten()
                .map(|r| {
                    format!(
                        "{}|{}",
                        r.row.start_utc.and_utc().timestamp_micros(),
                        r.row.id
                    )
                })
                .map(|key| URL_SAFE_NO_PAD.encode(key));
            if let (Some(from), Some(to)) = (filter.from, filter.to) {
                if to - from <= TimeDelta::days(MAX_SCHEDULE_DAYS) {
                    rows = with_occurrences_between(rows, from, to)?;
                }
            }
            let items = rows
                .into_iter()
                .map(|listed| listed_view(&ctx, listed))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Page { items, next_cursor })
        })
        .await
}

/// The rows that have an occurrence in `[from, to)` (a series' span may overlap a window
/// that none of its occurrences does).
fn with_occurrences_between(
    rows: Vec<Listed>,
    from: DateTime<chrono::Utc>,
    to: DateTime<chrono::Utc>,
) -> Result<Vec<Listed>, AppError> {
    let mut kept = Vec::with_capacity(rows.len());
    for listed in rows {
        let hit = listed.row.recurrence.is_none() || {
            let overrides = listed
                .overrides
                .iter()
                .cloned()
                .map(override_of)
                .collect::<Result<Vec<_>, _>>()?;
            let timeline = timeline_of(&listed.row, overrides)?;
            !timeline
                .between(from, to)
                .map_err(recurrence_error)?
                .is_empty()
        };
        if hit {
            kept.push(listed);
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_are_escaped_and_folded() {
        assert_eq!(escape_like("Cyber"), "%cyber%");
        assert_eq!(escape_like("100%_a\\b"), "%100\\%\\_a\\\\b%");
    }
}
