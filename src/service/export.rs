//! iCalendar export: one meeting's `.ics`, and the subscribable feeds of a delegation.

use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::feed_cache::{Coding, Entry, FeedCache};
use super::meetings::load::{overrides_of, participants_of, timeline_of};
use super::{Context, Page, PageRequest};
use crate::domain::ical::{self, Attendee, Event, Party};
use crate::domain::meeting::{Confidentiality, MeetingStatus, Response};
use crate::domain::recurrence::Rule;
use crate::domain::stored::{string_enum, DelegationId, FeedId, MeetingId};
use crate::error::{AppError, FieldError};
use crate::gate::Gate;
use crate::store::delegations::{self, PartyRow};
use crate::store::feeds::{self as rows, FeedRow};
use crate::store::feeds::{FeedStamps, SubscriptionRow};
use crate::store::meetings::{self as meeting_rows, MeetingRow};
use crate::store::windows::{self, Window};
use crate::store::{is_unique_violation, now, stored, DbConnection, Store};

/// A feed holds meetings from this many days ago on.
pub const FEED_PAST_DAYS: i64 = 90;

fn party(name: &str, code: &str, contact: Option<&str>) -> Party {
    Party {
        name: name.to_owned(),
        address: match contact {
            Some(email) => format!("mailto:{email}"),
            None => format!("urn:entente:delegation:{code}"),
        },
    }
}

fn partstat(response: Response) -> &'static str {
    match response {
        Response::Pending => "NEEDS-ACTION",
        Response::Accepted => "ACCEPTED",
        Response::Declined => "DECLINED",
        Response::Tentative => "TENTATIVE",
    }
}

fn ical_status(status: MeetingStatus) -> &'static str {
    match status {
        MeetingStatus::Proposed => "TENTATIVE",
        MeetingStatus::Confirmed => "CONFIRMED",
        MeetingStatus::Cancelled => "CANCELLED",
    }
}

fn class(confidentiality: Confidentiality) -> &'static str {
    match confidentiality {
        Confidentiality::Public => "PUBLIC",
        Confidentiality::Forum => "PRIVATE",
        Confidentiality::Participants => "CONFIDENTIAL",
    }
}

/// The VEVENTs of these meetings: a series as its master (cancelled occurrences as EXDATE),
/// plus one per moved or re-statused occurrence.
fn events(
    conn: &mut DbConnection,
    rows: Vec<MeetingRow>,
    parties: &[PartyRow],
) -> Result<Vec<Event>, AppError> {
    let ids: Vec<MeetingId> = rows.iter().map(MeetingRow::meeting_id).collect();
    let mut participants = participants_of(conn, &ids)?;
    let mut overrides = overrides_of(conn, &ids)?;
    let party_of = |id: &str| {
        parties
            .iter()
            .find(|p| p.id == id)
            .map(|p| party(&p.name, &p.code, p.contact_email.as_deref()))
            .unwrap_or_else(|| party(id, id, None))
    };
    let mut out = Vec::new();
    for row in rows {
        let zone = row.zone()?.tz();
        let timeline = timeline_of(&row, overrides.remove(&row.id).unwrap_or_default())?;
        let people = participants.remove(&row.id).unwrap_or_default();
        let status = row.status()?;
        let mut master = Event {
            uid: format!("{}@entente", row.id),
            dtstamp: row.updated_at.and_utc(),
            created: row.created_at.and_utc(),
            last_modified: row.updated_at.and_utc(),
            zone,
            start: timeline.start_utc,
            end: timeline.end_utc,
            sequence: row.sequence,
            summary: row.title.clone(),
            description: row.description.clone(),
            location: row.location.clone(),
            status: ical_status(status),
            class: class(stored(&row.confidentiality)?),
            organizer: party_of(&row.host_delegation_id),
            attendees: people
                .iter()
                .map(|p| Attendee {
                    party: party_of(p.delegation_id.as_str()),
                    partstat: partstat(p.response),
                })
                .collect(),
            rrule: row
                .recurrence
                .as_deref()
                .map(|r| Rule::parse(r).map(|rule| rule.to_ical(zone)))
                .transpose()
                .map_err(|e| AppError::internal(e.to_string()))?,
            exdates: Vec::new(),
            recurrence_id: None,
        };
        let mut moved = Vec::new();
        if status != MeetingStatus::Cancelled {
            let duration = timeline.end_utc - timeline.start_utc;
            for o in &timeline.overrides {
                let original = o.original_start_utc;
                let (start, end) = match (o.status, o.moved) {
                    (Some(MeetingStatus::Cancelled), _) => {
                        master.exdates.push(original);
                        continue;
                    }
                    (_, Some(slot)) => slot,
                    (Some(_), None) => (original, original + duration),
                    (None, None) => continue,
                };
                moved.push(Event {
                    start,
                    end,
                    status: ical_status(o.status.unwrap_or(status)),
                    rrule: None,
                    exdates: Vec::new(),
                    recurrence_id: Some(original),
                    ..master.clone()
                });
            }
        }
        master.exdates.sort();
        out.push(master);
        out.extend(moved);
    }
    Ok(out)
}

/// One meeting as a calendar (404 unless the caller may see it).
pub async fn meeting_ics(store: &Store, ctx: &Context, id: MeetingId) -> Result<String, AppError> {
    let viewer = ctx.principal.delegation_id.clone();
    store
        .read(move |conn| {
            let row = meeting_rows::find_visible(conn, viewer.as_ref(), &id)?
                .ok_or_else(|| AppError::not_found("meeting"))?;
            let name = row.title.clone();
            let parties = delegations::parties_of_meetings(conn, &[row.meeting_id()])?;
            Ok(ical::calendar(
                Some(&name),
                false,
                &events(conn, vec![row], &parties)?,
            ))
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// Feeds

string_enum!(FeedScope {
    /// The meetings the owner's delegation takes part in.
    Participating => "participating",
    /// Every meeting the owner may see (public ones included).
    Visible => "visible",
});

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewFeed {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub scope: Option<FeedScope>,
}

/// A feed as its owner lists it (never with its token).
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct Feed {
    #[schema(value_type = String)]
    pub id: FeedId,
    pub name: String,
    pub scope: FeedScope,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new feed, with its secret token: shown only this once (only its hash is kept).
#[derive(Debug, Clone)]
pub struct NewFeedToken {
    pub feed: Feed,
    pub token: String,
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub async fn create_feed(
    store: &Store,
    ctx: &Context,
    input: NewFeed,
) -> Result<NewFeedToken, AppError> {
    let n = input.name.trim().chars().count();
    if n == 0 || input.name.chars().count() > 200 {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "name",
            "must be 1 to 200 characters",
        )]));
    }
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes);
    let scope = input.scope.unwrap_or(FeedScope::Participating);
    let owner = ctx.principal.user_id.clone();
    let name = input.name.trim().to_owned();
    let hash = token_hash(&token);
    let actor = ctx.actor();
    let party = ctx.principal.delegation_id.clone();
    store
        .write(move |conn| {
            let id = FeedId::generate();
            let at = now();
            rows::insert(conn, &id, &owner, &name, scope.as_str(), &hash, at).map_err(|e| {
                if is_unique_violation(&e) {
                    AppError::Conflict("retry".into())
                } else {
                    e.into()
                }
            })?;
            super::audit::record(
                conn,
                &actor,
                super::audit::Entry {
                    action: "feed.create",
                    entity_type: "feed",
                    entity_id: id.as_str(),
                    summary: format!("calendar feed '{name}' ({}) created", scope.as_str()),
                    parties: party.into_iter().collect(),
                },
            )?;
            Ok(NewFeedToken {
                feed: Feed {
                    id,
                    name,
                    scope,
                    created_at: at.and_utc(),
                    revoked_at: None,
                },
                token,
            })
        })
        .await
}

fn feed_view(row: FeedRow) -> Result<Feed, AppError> {
    Ok(Feed {
        scope: stored(&row.scope)?,
        id: FeedId::from(row.id),
        name: row.name,
        created_at: row.created_at.and_utc(),
        revoked_at: row.revoked_at.map(|t| t.and_utc()),
    })
}

/// The caller's own feeds that are not revoked, oldest first, one page at a time.
pub async fn list_feeds(
    store: &Store,
    ctx: &Context,
    page: PageRequest,
) -> Result<Page<Feed>, AppError> {
    let owner = ctx.principal.user_id.clone();
    store
        .read(move |conn| {
            let rows = rows::live_of(conn, &owner, page.after.as_deref(), page.fetch())?;
            let page = Page::from_rows(rows, &page, |r| r.id.clone());
            let items = page
                .items
                .into_iter()
                .map(feed_view)
                .collect::<Result<_, _>>()?;
            Ok(Page {
                items,
                next_cursor: page.next_cursor,
            })
        })
        .await
}

/// Revokes one of the caller's feeds; another user's feed is 404.
pub async fn revoke_feed(store: &Store, ctx: &Context, id: FeedId) -> Result<Feed, AppError> {
    let owner = ctx.principal.user_id.clone();
    let actor = ctx.actor();
    let party = ctx.principal.delegation_id.clone();
    store
        .write(move |conn| {
            let row =
                rows::find_owned(conn, &owner, &id)?.ok_or_else(|| AppError::not_found("feed"))?;
            if row.revoked_at.is_none() {
                rows::revoke(conn, &id)?;
                super::audit::record(
                    conn,
                    &actor,
                    super::audit::Entry {
                        action: "feed.revoke",
                        entity_type: "feed",
                        entity_id: id.as_str(),
                        summary: format!("calendar feed '{}' revoked", row.name),
                        parties: party.into_iter().collect(),
                    },
                )?;
            }
            let row =
                rows::find_owned(conn, &owner, &id)?.ok_or_else(|| AppError::not_found("feed"))?;
            feed_view(row)
        })
        .await
}

/// A feed as served: its cache entry (validator, body and the compressed forms made so far,
/// shared with the cache), and the key it is kept under.
pub struct RenderedFeed {
    /// The feed's entry in the cache (its token's hash).
    key: String,
    pub entry: Entry,
}

impl RenderedFeed {
    /// Its `ETag`.
    pub fn etag(&self) -> &str {
        &self.entry.validator
    }

    /// The body in `coding`: made once per rendering, then kept with it.
    pub fn compressed(&self, coding: Coding, cache: &FeedCache) -> Result<Bytes, AppError> {
        if let Some(form) = self.entry.compressed(coding) {
            return Ok(form.clone());
        }
        coding
            .compress(&self.entry.plain)
            .map(|form| {
                let form = Bytes::from(form);
                cache.put_compressed(&self.key, &self.entry.validator, coding, form.clone());
                form
            })
            .map_err(|e| AppError::internal(format!("{}: {e}", coding.token())))
    }
}

/// The calendar behind a feed token, or None (404) for an unknown or revoked token or a
/// deactivated owner. The token is looked up by its hash and the hash compared in constant time.
///
/// Its validator is computed from the stamps of what the feed shows (`store::feed_stamps`: moved
/// in the transaction of every change that can alter it), the feed's name and scope, the day
/// its window starts, the tz data and this build — a few rows by key, whatever the feed holds —
/// and the rendering is taken from `cache` when it was made under the same validator; otherwise
/// it is rendered and kept.
pub async fn feed_calendar(
    store: &Store,
    (cache, renders): (&Arc<FeedCache>, &Gate),
    token: String,
) -> Result<Option<RenderedFeed>, AppError> {
    let hash = token_hash(&token);
    let kept = cache.clone();
    let validated = store
        .read(move |conn| {
            let Some((found, stamps)) = rows::validation(conn, &hash)? else {
                return Ok::<_, AppError>(None);
            };
            if !bool::from(found.token_hash.as_bytes().ct_eq(hash.as_bytes())) {
                return Ok(None);
            }
            let delegation_id = found.owner_delegation_id.clone().map(DelegationId::from);
            // From midnight (UTC) so many days ago: what a feed holds changes with the day.
            let since = (Utc::now() - TimeDelta::days(FEED_PAST_DAYS))
                .date_naive()
                .and_time(chrono::NaiveTime::MIN);
            let window = Window {
                from: since,
                to: None,
            };
            // The validator digests the stamps of what the feed shows, read with the feed; the
            // meetings and names are read only when rendering.
            let visible = stored::<FeedScope>(&found.scope)? == FeedScope::Visible;
            let etag = feed_validator(&found, since, stamps);
            let hit = kept.get(&hash, &etag);
            Ok(Some((
                found,
                hash,
                etag,
                (window, delegation_id, visible),
                hit,
            )))
        })
        .await?;
    let Some((found, hash, etag, (window, delegation_id, visible), hit)) = validated else {
        return Ok(None);
    };
    if let Some(kept) = hit {
        return Ok(Some(RenderedFeed {
            key: hash,
            entry: kept,
        }));
    }
    // Only a rendering takes a turn at the gate: validations and cache hits do not wait for it.
    let _turn = renders.enter().await?;
    let cache = cache.clone();
    store
        .read(move |conn| {
            let ids = match (visible, &delegation_id) {
                (false, Some(d)) => windows::participation_ids(conn, d.as_str(), window)?,
                (false, None) => Vec::new(),
                (true, viewer) => windows::visible_ids(conn, viewer.as_ref(), window)?,
            };
            let parties = delegations::all_parties(conn)?;
            let rows = meeting_rows::by_ids_with_cancelled(conn, ids)?;
            let body = Bytes::from(ical::calendar(
                Some(&found.name),
                true,
                &events(conn, rows, &parties)?,
            ));
            let entry = Entry::new(etag, body);
            cache.put(hash.clone(), entry.clone());
            Ok(Some(RenderedFeed { key: hash, entry }))
        })
        .await
}

/// The feed's ETag: a digest of everything its rendering depends on (see `feed_calendar`).
fn feed_validator(
    feed: &SubscriptionRow,
    since: chrono::NaiveDateTime,
    stamps: FeedStamps,
) -> String {
    let mut digest = Sha256::new()
        .chain_update(b"entente-feed\0")
        .chain_update(env!("CARGO_PKG_VERSION"))
        .chain_update(b"\0")
        .chain_update(crate::domain::zone::TZDB_VERSION)
        .chain_update(b"\0")
        .chain_update(since.to_string())
        .chain_update(b"\0")
        .chain_update(&feed.name)
        .chain_update(b"\0")
        .chain_update(&feed.scope);
    // A `participating` feed shows no public nor forum meetings: those do not move it.
    let visible = feed.scope == FeedScope::Visible.as_str();
    let FeedStamps {
        names,
        public,
        delegation,
        forums,
    } = stamps;
    let shown = |stamp: Option<i64>, shown: bool| match (stamp, shown) {
        (Some(n), true) => n.to_string(),
        _ => "-".to_owned(),
    };
    digest.update(format!(
        "\0s{}:{}:{}:{}",
        shown(names, true),
        shown(delegation, true),
        shown(public, visible),
        shown(forums, visible)
    ));
    let hex: String = digest.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("\"{hex}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed(scope: FeedScope) -> SubscriptionRow {
        SubscriptionRow {
            token_hash: "h".into(),
            name: "Ours".into(),
            scope: scope.as_str().into(),
            owner_delegation_id: Some("d".into()),
        }
    }

    fn day(d: u32) -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2027, 1, d)
            .and_then(|day| day.and_hms_opt(0, 0, 0))
            .unwrap()
    }

    const STAMPS: FeedStamps = FeedStamps {
        names: Some(3),
        public: Some(5),
        delegation: Some(7),
        forums: None,
    };

    #[test]
    fn the_validator_moves_with_what_the_feed_shows_and_only_with_it() {
        let participating = feed(FeedScope::Participating);
        let visible = feed(FeedScope::Visible);
        let etag = |f: &SubscriptionRow, since, stamps| feed_validator(f, since, stamps);
        let base = etag(&participating, day(1), STAMPS);
        assert_eq!(base, etag(&participating, day(1), STAMPS), "deterministic");
        // The window's first day (the passage of a day), names, the delegation's meetings.
        assert_ne!(base, etag(&participating, day(2), STAMPS));
        let moved = |f: fn(&mut FeedStamps)| {
            let mut stamps = STAMPS;
            f(&mut stamps);
            stamps
        };
        assert_ne!(
            base,
            etag(&participating, day(1), moved(|s| s.names = Some(4)))
        );
        assert_ne!(
            base,
            etag(&participating, day(1), moved(|s| s.delegation = Some(8)))
        );
        // A participating feed shows no public nor forum meetings: their stamps do not move it.
        assert_eq!(
            base,
            etag(&participating, day(1), moved(|s| s.public = Some(6)))
        );
        assert_eq!(
            base,
            etag(&participating, day(1), moved(|s| s.forums = Some(1)))
        );
        // A visible feed shows both; and it is another feed than the participating one.
        let all = etag(&visible, day(1), STAMPS);
        assert_ne!(all, base);
        assert_ne!(all, etag(&visible, day(1), moved(|s| s.public = Some(6))));
        assert_ne!(all, etag(&visible, day(1), moved(|s| s.forums = Some(1))));
        let renamed = SubscriptionRow {
            name: "Theirs".into(),
            ..participating.clone()
        };
        assert_ne!(base, etag(&renamed, day(1), STAMPS));
    }
}
