//! iCalendar export: one meeting's `.ics`, and the subscribable feeds of a delegation.

use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use std::collections::{BTreeMap, HashMap};

use super::meetings::consent::Consent;
use super::meetings::load::{override_of, participants_of, timeline_of};
use super::{Context, Page, PageRequest};
use crate::domain::ical::{self, Attendee, Event, Party};
use crate::domain::meeting::{Confidentiality, MeetingStatus, Response};
use crate::domain::recurrence::{Occurrence, Override, Rule};
use crate::domain::stored::{string_enum, FeedId, MeetingId};
use crate::domain::zone::TimeZone;
use crate::error::{AppError, FieldError};
use crate::store::delegations::{self, PartyRow};
use crate::store::feeds::{self as rows, FeedRow};
use crate::store::gathered::{GatheredAnswer, GatheredOverride};
use crate::store::meetings::{self as meeting_rows, MeetingRow};
use crate::store::{is_unique_violation, now, stored, DbConnection, Store};
use crate::store::{occurrence_answers, overrides};

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

/// A session's own venue and zone, by meeting and original start.
type Venues = HashMap<(String, DateTime<Utc>), (Option<String>, Option<chrono_tz::Tz>)>;

/// The overrides of these meetings' sessions, by meeting, and the venues of those held
/// elsewhere (one read).
fn overrides_and_venues_of(
    conn: &mut DbConnection,
    ids: &[MeetingId],
) -> Result<(HashMap<String, Vec<Override>>, Venues), AppError> {
    let ids: Vec<&str> = ids.iter().map(MeetingId::as_str).collect();
    let mut by_meeting: HashMap<String, Vec<Override>> = HashMap::new();
    let mut venues = Venues::new();
    for row in overrides::of_meetings(conn, &ids)? {
        if row.location.is_some() || row.time_zone.is_some() {
            let zone = row
                .time_zone
                .as_deref()
                .map(|z| TimeZone::parse(z).map(|z| z.tz()))
                .transpose()
                .map_err(|e| AppError::internal(format!("stored zone of a session: {e}")))?;
            let key = (row.meeting_id.clone(), row.original_start_utc.and_utc());
            venues.insert(key, (row.location.clone(), zone));
        }
        let meeting_id = row.meeting_id.clone();
        by_meeting
            .entry(meeting_id)
            .or_default()
            .push(override_of(GatheredOverride::from(row))?);
    }
    Ok((by_meeting, venues))
}

/// The answers to single sessions of these meetings, by meeting.
fn occurrence_answers_of(
    conn: &mut DbConnection,
    ids: &[MeetingId],
) -> Result<HashMap<String, Vec<GatheredAnswer>>, AppError> {
    let ids: Vec<&str> = ids.iter().map(MeetingId::as_str).collect();
    let mut by_meeting: HashMap<String, Vec<GatheredAnswer>> = HashMap::new();
    for a in occurrence_answers::of_meetings(conn, &ids)? {
        by_meeting
            .entry(a.meeting_id.clone())
            .or_default()
            .push(GatheredAnswer::from(&a));
    }
    Ok(by_meeting)
}

/// The VEVENTs of these meetings: a series as its master (cancelled occurrences as EXDATE),
/// plus one per moved, re-statused or separately answered occurrence.
pub(super) fn events(
    conn: &mut DbConnection,
    rows: Vec<MeetingRow>,
    parties: &[PartyRow],
) -> Result<Vec<Event>, AppError> {
    let ids: Vec<MeetingId> = rows.iter().map(MeetingRow::meeting_id).collect();
    let mut participants = participants_of(conn, &ids)?;
    let (mut overrides, venues) = overrides_and_venues_of(conn, &ids)?;
    let mut answered = occurrence_answers_of(conn, &ids)?;
    // Each party's name and address written once, found by id (a feed names thousands).
    let parties: HashMap<&str, Party> = parties
        .iter()
        .map(|p| {
            let named = party(&p.name, &p.code, p.contact_email.as_deref());
            (p.id.as_str(), named)
        })
        .collect();
    let party_of = |id: &str| {
        parties
            .get(id)
            .cloned()
            .unwrap_or_else(|| party(id, id, None))
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let zone = row.zone()?.tz();
        let zone_of_series = zone;
        let timeline = timeline_of(&row, overrides.remove(&row.id).unwrap_or_default())?;
        let people = participants.remove(&row.id).unwrap_or_default();
        let status = row.status()?;
        let mut master = Event {
            uid: format!("{}@entente", row.id),
            dtstamp: row.updated_at.and_utc(),
            created: row.created_at.and_utc(),
            last_modified: row.updated_at.and_utc(),
            zone,
            series_zone: zone,
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
            let consent = Consent::of(&row, &people, answered.remove(&row.id).unwrap_or_default())?;
            // The sessions with a VEVENT of their own: moved, re-statused, or answered on
            // their own (their attendees' PARTSTAT and their STATUS differ from the series').
            let mut sessions: BTreeMap<DateTime<Utc>, Option<&Override>> = BTreeMap::new();
            for original in consent.answered_sessions() {
                sessions.insert(original.and_utc(), None);
            }
            for o in &timeline.overrides {
                sessions.insert(o.original_start_utc, Some(o));
            }
            let duration = timeline.end_utc - timeline.start_utc;
            for (original, o) in sessions {
                let (start, end) = match o.map(|o| (o.status, o.moved)) {
                    Some((Some(MeetingStatus::Cancelled), _)) => {
                        master.exdates.push(original);
                        continue;
                    }
                    Some((_, Some(slot))) => slot,
                    Some((Some(_), None)) => (original, original + duration),
                    // Answered only: where the series puts it (if it still does).
                    _ => match timeline.series.as_ref().map(|s| s.occurrence_at(original)) {
                        Some(Ok(Some(instance))) => (instance.start_utc, instance.end_utc),
                        _ => continue,
                    },
                };
                let occurrence = Occurrence {
                    recurrence_id: Some(original),
                    start_utc: start,
                    end_utc: end,
                    status: o.and_then(|o| o.status).unwrap_or(status),
                };
                let (own_status, _) = consent.of_occurrence(&occurrence)?;
                // A session held elsewhere: its own venue, its times in its own zone.
                let (location, session_zone) = match venues.get(&(row.id.clone(), original)) {
                    Some((location, zone)) => (
                        location.clone().or_else(|| master.location.clone()),
                        zone.unwrap_or(zone_of_series),
                    ),
                    None => (master.location.clone(), zone_of_series),
                };
                moved.push(Event {
                    start,
                    end,
                    zone: session_zone,
                    location,
                    status: ical_status(own_status),
                    attendees: consent
                        .answers_to(original.naive_utc())
                        .iter()
                        .map(|a| Attendee {
                            party: party_of(a.delegation_id.as_str()),
                            partstat: partstat(a.response),
                        })
                        .collect(),
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

pub(super) fn token_hash(token: &str) -> String {
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
