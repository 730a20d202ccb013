//! iCalendar export: one meeting's `.ics`, and the subscribable feeds of a delegation.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::meetings::{
    overrides_of, parse_zone, participants_of, timeline_of, visible, MeetingRow,
};
use super::{is_unique_violation, Context, Page, PageRequest};
use crate::config::Config;
use crate::domain::access::Principal;
use crate::domain::ical::{self, Attendee, Event, Party};
use crate::domain::identity::Role;
use crate::domain::meeting::{Confidentiality, MeetingStatus, Response};
use crate::domain::recurrence::Rule;
use crate::error::{AppError, FieldError};
use crate::store::schema::{delegations, feeds, meeting_participants as mp, meetings, users};
use crate::store::{new_id, now, DbConnection, Store};

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

fn class(raw: &str) -> &'static str {
    match Confidentiality::parse(raw) {
        Some(Confidentiality::Public) => "PUBLIC",
        Some(Confidentiality::Forum) => "PRIVATE",
        _ => "CONFIDENTIAL",
    }
}

/// The VEVENTs of these meetings: a series as its master (cancelled occurrences as EXDATE),
/// plus one per moved or re-statused occurrence.
fn events(conn: &mut DbConnection, rows: Vec<MeetingRow>) -> Result<Vec<Event>, AppError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut participants = participants_of(conn, &ids)?;
    let mut overrides = overrides_of(conn, &ids)?;
    let parties: Vec<(String, String, String, Option<String>)> = delegations::table
        .filter(
            delegations::id.eq_any(
                mp::table
                    .filter(mp::meeting_id.eq_any(&ids))
                    .select(mp::delegation_id),
            ),
        )
        .select((
            delegations::id,
            delegations::code,
            delegations::name,
            delegations::contact_email,
        ))
        .load(conn)?;
    let party_of = |id: &str| {
        parties
            .iter()
            .find(|(d, ..)| d == id)
            .map(|(_, code, name, contact)| party(name, code, contact.as_deref()))
            .unwrap_or_else(|| party(id, id, None))
    };
    let mut out = Vec::new();
    for row in rows {
        let zone = parse_zone(&row.time_zone)?.tz();
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
            class: class(&row.confidentiality),
            organizer: party_of(&row.host_delegation_id),
            attendees: people
                .iter()
                .map(|p| Attendee {
                    party: party_of(&p.delegation_id),
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
pub async fn meeting_ics(store: &Store, ctx: &Context, id: String) -> Result<String, AppError> {
    let viewer = ctx.principal.delegation_id.clone();
    store
        .read(move |conn| {
            let row: MeetingRow = visible(meetings::table.into_boxed(), viewer.as_deref())
                .filter(meetings::id.eq(&id))
                .first(conn)
                .optional()?
                .ok_or_else(|| AppError::not_found("meeting"))?;
            let name = row.title.clone();
            Ok(ical::calendar(
                Some(&name),
                false,
                &events(conn, vec![row])?,
            ))
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// Feeds

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FeedScope {
    /// The meetings the owner's delegation takes part in.
    Participating,
    /// Every meeting the owner may see (public ones included).
    Visible,
}

impl FeedScope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Participating => "participating",
            Self::Visible => "visible",
        }
    }

    fn parse(raw: &str) -> Self {
        if raw == "visible" {
            Self::Visible
        } else {
            Self::Participating
        }
    }
}

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
    pub id: String,
    pub name: String,
    pub scope: FeedScope,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new feed: the token and its URLs are shown only this once.
#[derive(Serialize, Deserialize, Debug, Clone, ToSchema)]
pub struct CreatedFeed {
    pub id: String,
    pub name: String,
    pub scope: FeedScope,
    /// `<ENTENTE_PUBLIC_URL>/feeds/<token>.ics`, or a path when no public URL is configured.
    pub url: String,
    /// The same with `webcal://`, for one-click subscription; null without ENTENTE_PUBLIC_URL.
    pub webcal_url: Option<String>,
    pub token: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub async fn create_feed(
    store: &Store,
    config: &Config,
    ctx: &Context,
    input: NewFeed,
) -> Result<CreatedFeed, AppError> {
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
    let path = format!("/feeds/{token}.ics");
    let (url, webcal_url) = match &config.public_url {
        Some(base) => {
            let url = format!("{}{path}", base.as_str().trim_end_matches('/'));
            let webcal = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"))
                .map(|rest| format!("webcal://{rest}"));
            (url, webcal)
        }
        None => (path, None),
    };
    let scope = input.scope.unwrap_or(FeedScope::Participating);
    let user_id = ctx.principal.user_id.clone();
    let name = input.name.trim().to_owned();
    let hash = token_hash(&token);
    let actor = ctx.actor();
    let party = ctx.principal.delegation_id.clone();
    store
        .write(move |conn| {
            let id = new_id();
            let at = now();
            diesel::insert_into(feeds::table)
                .values((
                    feeds::id.eq(&id),
                    feeds::user_id.eq(&user_id),
                    feeds::name.eq(&name),
                    feeds::scope.eq(scope.as_str()),
                    feeds::token_hash.eq(&hash),
                    feeds::created_at.eq(at),
                ))
                .execute(conn)
                .map_err(|e| {
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
                    entity_id: &id,
                    summary: format!("calendar feed '{name}' ({}) created", scope.as_str()),
                    parties: party.into_iter().collect(),
                },
            )?;
            Ok(CreatedFeed {
                id,
                name,
                scope,
                url,
                webcal_url,
                token,
                created_at: at.and_utc(),
            })
        })
        .await
}

type FeedRow = (
    String,
    String,
    String,
    chrono::NaiveDateTime,
    Option<chrono::NaiveDateTime>,
);

fn feed_view((id, name, scope, created_at, revoked_at): FeedRow) -> Feed {
    Feed {
        id,
        name,
        scope: FeedScope::parse(&scope),
        created_at: created_at.and_utc(),
        revoked_at: revoked_at.map(|t| t.and_utc()),
    }
}

/// The caller's own feeds that are not revoked, oldest first, one page at a time.
pub async fn list_feeds(
    store: &Store,
    ctx: &Context,
    page: PageRequest,
) -> Result<Page<Feed>, AppError> {
    let user_id = ctx.principal.user_id.clone();
    store
        .read(move |conn| {
            let mut query = feeds::table
                .filter(feeds::user_id.eq(&user_id))
                .filter(feeds::revoked_at.is_null())
                .select((
                    feeds::id,
                    feeds::name,
                    feeds::scope,
                    feeds::created_at,
                    feeds::revoked_at,
                ))
                .into_boxed();
            if let Some(after) = &page.after {
                query = query.filter(feeds::id.gt(after.clone()));
            }
            // Ids are UUIDv7: in the order the feeds were created.
            let rows: Vec<FeedRow> = query
                .order(feeds::id.asc())
                .limit(page.fetch())
                .load(conn)?;
            Ok(Page::from_rows(rows, &page, |r| r.0.clone()).map(feed_view))
        })
        .await
}

/// Revokes one of the caller's feeds; another user's feed is 404.
pub async fn revoke_feed(store: &Store, ctx: &Context, id: String) -> Result<Feed, AppError> {
    let user_id = ctx.principal.user_id.clone();
    let actor = ctx.actor();
    let party = ctx.principal.delegation_id.clone();
    store
        .write(move |conn| {
            let row: FeedRow = feeds::table
                .filter(feeds::id.eq(&id))
                .filter(feeds::user_id.eq(&user_id))
                .select((
                    feeds::id,
                    feeds::name,
                    feeds::scope,
                    feeds::created_at,
                    feeds::revoked_at,
                ))
                .first(conn)
                .optional()?
                .ok_or_else(|| AppError::not_found("feed"))?;
            if row.4.is_none() {
                diesel::update(feeds::table.filter(feeds::id.eq(&id)))
                    .set(feeds::revoked_at.eq(Some(now())))
                    .execute(conn)?;
                super::audit::record(
                    conn,
                    &actor,
                    super::audit::Entry {
                        action: "feed.revoke",
                        entity_type: "feed",
                        entity_id: &id,
                        summary: format!("calendar feed '{}' revoked", row.1),
                        parties: party.into_iter().collect(),
                    },
                )?;
            }
            let row: FeedRow = feeds::table
                .filter(feeds::id.eq(&id))
                .select((
                    feeds::id,
                    feeds::name,
                    feeds::scope,
                    feeds::created_at,
                    feeds::revoked_at,
                ))
                .first(conn)?;
            Ok(feed_view(row))
        })
        .await
}

/// The calendar behind a feed token, or None (404) for an unknown or revoked token or a
/// deactivated owner. The token is looked up by its hash and the hash compared in constant time.
pub async fn feed_calendar(store: &Store, token: String) -> Result<Option<String>, AppError> {
    let hash = token_hash(&token);
    store
        .read(move |conn| {
            let found: Option<(String, String, String, String, String, Option<String>)> =
                feeds::table
                    .inner_join(users::table)
                    .filter(feeds::token_hash.eq(&hash))
                    .filter(feeds::revoked_at.is_null())
                    .filter(users::active.eq(true))
                    .select((
                        feeds::token_hash,
                        feeds::name,
                        feeds::scope,
                        users::id,
                        users::role,
                        users::delegation_id,
                    ))
                    .first(conn)
                    .optional()?;
            let Some((stored, name, scope, user_id, role, delegation_id)) = found else {
                return Ok(None);
            };
            if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
                return Ok(None);
            }
            let owner = Principal {
                user_id,
                username: String::new(),
                role: Role::parse(&role).unwrap_or(Role::Viewer),
                delegation_id,
            };
            let since = (Utc::now() - TimeDelta::days(FEED_PAST_DAYS)).naive_utc();
            let rows: Vec<MeetingRow> = match (FeedScope::parse(&scope), &owner.delegation_id) {
                (FeedScope::Participating, Some(d)) => meetings::table
                    .filter(
                        meetings::id.eq_any(
                            mp::table
                                .filter(mp::delegation_id.eq(d.clone()))
                                .filter(mp::span_end_utc.gt(since))
                                .select(mp::meeting_id),
                        ),
                    )
                    .order((meetings::start_utc.asc(), meetings::id.asc()))
                    .load(conn)?,
                (FeedScope::Participating, None) => Vec::new(),
                (FeedScope::Visible, _) => {
                    visible(meetings::table.into_boxed(), owner.delegation_id.as_deref())
                        .filter(meetings::span_end_utc.gt(since))
                        .order((meetings::start_utc.asc(), meetings::id.asc()))
                        .load(conn)?
                }
            };
            Ok(Some(ical::calendar(
                Some(&name),
                true,
                &events(conn, rows)?,
            )))
        })
        .await
}
