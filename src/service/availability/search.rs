//! `POST /availability/search`: common free times of up to 20 delegations, inside each one's
//! working hours in its own zone (or up to an allowance outside them), earliest or fairest
//! first; with `recurrence`, starts of a series whose every occurrence is free.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::delegations::resolve_delegations;
use super::super::meetings::{occupied, parse_zone};
use super::super::{check_window, Context};
use super::{calendars, Calendar};
use crate::domain::availability::{self as rules, working_intervals, Found, Offsets, Party, Rank};
use crate::domain::busy::merge;
use crate::domain::recurrence::{Rule, Series};
use crate::domain::stored::DelegationId;
use crate::domain::time::{fmt_local, parse_instant, to_local};
use crate::domain::zone::TimeZone;
use crate::error::{AppError, FieldError};
use crate::store::Store;

/// The longest window searched, and the most delegations.
pub const MAX_SEARCH_DAYS: i64 = 92;
pub const MAX_SEARCH_DELEGATIONS: usize = 20;
/// A bounded series searched must end within this many days of `from`.
pub const MAX_SERIES_DAYS: i64 = 365;

/// What to search for.
#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// 1 to 20 delegations, by id or code.
    pub delegations: Vec<String>,
    /// RFC 3339; candidate starts are `from`, `from + step`, … (at most 92 days to `to`).
    pub from: String,
    /// RFC 3339; a slot (a series' first occurrence) ends by `to`.
    pub to: String,
    /// 5 to 1440.
    pub duration_minutes: i64,
    /// 5 to 1440, default 15.
    pub step_minutes: Option<i64>,
    /// 1 to 500, default 20.
    pub limit: Option<i64>,
    /// Kept free before and after every meeting (0 to 720, default 0).
    pub buffer_minutes: Option<i64>,
    /// No slot starts sooner than this after now (default 0: none in the past).
    pub min_notice_minutes: Option<i64>,
    /// How long each delegation may be outside its working hours, per occurrence (default 0).
    pub outside_hours_minutes: Option<i64>,
    /// `earliest` (default) or `fair`: smallest worst per-delegation burden first.
    pub rank: Option<String>,
    /// An RRULE: slots are series starts whose every occurrence is free — up to `to` for a
    /// rule without end, all of them for one with COUNT or UNTIL (within 365 days of `from`).
    pub recurrence: Option<String>,
    /// The zone the series keeps its wall-clock time in (default: the first delegation's).
    pub time_zone: Option<String>,
}

/// A slot in one delegation's zone.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct LocalTime {
    #[schema(value_type = String)]
    pub delegation_id: DelegationId,
    pub code: String,
    pub time_zone: String,
    /// Wall-clock start and end, `2027-03-02T15:00:00`.
    pub start: String,
    pub end: String,
    /// Minutes outside its working hours (for a series: over all its occurrences).
    pub outside_hours_minutes: i64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct Slot {
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    /// In the order the delegations were given.
    pub local: Vec<LocalTime>,
    /// The burden of the worst-off delegation.
    pub max_outside_hours_minutes: i64,
    /// With `recurrence`: how many occurrences were checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrences: Option<usize>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct Slots {
    pub slots: Vec<Slot>,
}

/// A checked request.
struct Plan {
    search: rules::Search,
    buffer: TimeDelta,
    series: Option<(Rule, Option<Tz>)>,
}

fn minutes(
    field: &str,
    value: Option<i64>,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
    errors: &mut Vec<FieldError>,
) -> i64 {
    let n = value.unwrap_or(default);
    if !range.contains(&n) {
        errors.push(FieldError::new(
            field,
            format!("must be from {} to {}", range.start(), range.end()),
        ));
    }
    n
}

fn plan(input: &SearchRequest, now: DateTime<Utc>) -> Result<Plan, AppError> {
    let mut errors = Vec::new();
    let n = input.delegations.len();
    if n == 0 || n > MAX_SEARCH_DELEGATIONS {
        errors.push(FieldError::new(
            "delegations",
            format!("1 to {MAX_SEARCH_DELEGATIONS} delegations"),
        ));
    }
    let mut instant = |field: &str, raw: &str| {
        parse_instant(raw)
            .map_err(|m| errors.push(FieldError::new(field, m)))
            .ok()
    };
    let (from, to) = (instant("from", &input.from), instant("to", &input.to));
    let duration = minutes(
        "duration_minutes",
        Some(input.duration_minutes),
        0,
        5..=1440,
        &mut errors,
    );
    let step = minutes(
        "step_minutes",
        input.step_minutes,
        15,
        5..=1440,
        &mut errors,
    );
    let limit = minutes("limit", input.limit, 20, 1..=500, &mut errors);
    let buffer = minutes(
        "buffer_minutes",
        input.buffer_minutes,
        0,
        0..=720,
        &mut errors,
    );
    let notice = minutes(
        "min_notice_minutes",
        input.min_notice_minutes,
        0,
        0..=527_040,
        &mut errors,
    );
    let allowance = minutes(
        "outside_hours_minutes",
        input.outside_hours_minutes,
        0,
        0..=1440,
        &mut errors,
    );
    let rank = match input.rank.as_deref() {
        None | Some("earliest") => Rank::Earliest,
        Some("fair") => Rank::Fair,
        Some(other) => {
            errors.push(FieldError::new(
                "rank",
                format!("'{other}' is not earliest or fair"),
            ));
            Rank::Earliest
        }
    };
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let (Some(from), Some(to)) = (from, to) else {
        return Err(AppError::validation("from and to are required"));
    };
    check_window((from, to), MAX_SEARCH_DAYS)?;
    let series = match &input.recurrence {
        None => None,
        Some(raw) => {
            let rule = Rule::parse(raw).map_err(|e| AppError::InvalidRecurrence(e.to_string()))?;
            let zone = input
                .time_zone
                .as_deref()
                .map(parse_zone)
                .transpose()?
                .map(TimeZone::tz);
            Some((rule, zone))
        }
    };
    Ok(Plan {
        search: rules::Search {
            window: (from, to),
            earliest: from.max(now + TimeDelta::minutes(notice)),
            duration: TimeDelta::minutes(duration),
            step: TimeDelta::minutes(step),
            limit: usize::try_from(limit).unwrap_or(20),
            allowance: TimeDelta::minutes(allowance),
            rank,
        },
        buffer: TimeDelta::minutes(buffer),
        series,
    })
}

/// How far a series searched reaches: `to` for a rule without end; else `MAX_SERIES_DAYS`
/// after `from` (a series anchored at `to` that ends later is refused).
fn horizon(rule: &Rule, zone: Tz, search: &rules::Search) -> Result<DateTime<Utc>, AppError> {
    let (from, to) = search.window;
    if !rule.is_bounded() {
        return Ok(to);
    }
    let anchor = to_local(to, zone);
    let end = Series::new(rule.clone(), zone, anchor, search.duration)
        .and_then(|s| s.last_end())
        .map_err(|e| AppError::InvalidRecurrence(e.to_string()))?
        .unwrap_or(to);
    if end > from + TimeDelta::days(MAX_SERIES_DAYS) {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "recurrence",
            format!(
                "a series searched ends within {MAX_SERIES_DAYS} days of from (fewer COUNT, \
                 an earlier UNTIL), or has no end and is checked up to to"
            ),
        )]));
    }
    Ok(from + TimeDelta::days(MAX_SERIES_DAYS))
}

/// A delegation that hides its busy times is searched only beside the caller's own
/// delegation (or by a platform admin): the answer then reveals common free times, not its
/// calendar.
fn check_hidden(ctx: &Context, calendars: &[Calendar]) -> Result<(), AppError> {
    let principal = &ctx.principal;
    let with_own = calendars.iter().any(|c| principal.belongs_to(&c.id));
    if principal.is_platform_admin() || with_own {
        return Ok(());
    }
    let errors: Vec<FieldError> = calendars
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.share_busy)
        .map(|(i, c)| {
            FieldError::new(
                format!("delegations[{i}]"),
                format!(
                    "{} does not share its busy times: search it together with your own delegation",
                    c.code
                ),
            )
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid_fields(errors))
    }
}

/// Searches; the loading and the search run on the database's blocking pool.
pub async fn search(store: &Store, ctx: &Context, input: SearchRequest) -> Result<Slots, AppError> {
    let plan = plan(&input, Utc::now())?;
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            let ids = resolve_delegations(conn, "delegations", &input.delegations)?;
            let mut distinct = ids.clone();
            distinct.sort();
            distinct.dedup();
            if distinct.len() != ids.len() {
                return Err(AppError::invalid_fields(vec![FieldError::new(
                    "delegations",
                    "each delegation once",
                )]));
            }
            let calendars = calendars(conn, &ids)?;
            check_hidden(&ctx, &calendars)?;
            let search = &plan.search;
            let mut series = match &plan.series {
                None => None,
                Some((rule, zone)) => {
                    let first = calendars.first().map_or(Tz::UTC, |c| c.zone);
                    let zone = zone.unwrap_or(first);
                    let horizon = horizon(rule, zone, search)?;
                    Some(rules::SeriesPlan::new(rule.clone(), zone, horizon))
                }
            };
            let reach = (
                search.window.0,
                series.as_ref().map_or(search.window.1, |s| s.horizon()),
            );
            let taken = occupied(
                conn,
                &ids,
                (reach.0 - plan.buffer, reach.1 + plan.buffer),
                None,
            )?;
            let mut blocked: Vec<_> = taken
                .into_iter()
                .map(|o| (o.start_utc - plan.buffer, o.end_utc + plan.buffer))
                .collect();
            let mut parties = Vec::with_capacity(calendars.len());
            for calendar in &calendars {
                let offsets = Offsets::of(calendar.zone, reach.0, reach.1);
                blocked.extend(calendar.unavailable(
                    &offsets,
                    (reach.0 - TimeDelta::days(1), reach.1 + TimeDelta::days(1)),
                ));
                parties.push(Party {
                    zone: calendar.zone,
                    working: working_intervals(&calendar.hours, &offsets, reach),
                });
            }
            let blocked = merge(blocked);
            let found = rules::search(search, &parties, &blocked, series.as_mut())
                .map_err(|e| AppError::InvalidRecurrence(e.to_string()))?;
            Ok(Slots {
                slots: found
                    .iter()
                    .map(|f| slot(f, &calendars, series.is_some()))
                    .collect(),
            })
        })
        .await
}

fn slot(found: &Found, calendars: &[Calendar], series: bool) -> Slot {
    let local = calendars
        .iter()
        .zip(&found.outside)
        .map(|(c, outside)| LocalTime {
            delegation_id: c.id.clone(),
            code: c.code.clone(),
            time_zone: c.zone.name().to_owned(),
            start: fmt_local(&to_local(found.start, c.zone)),
            end: fmt_local(&to_local(found.end, c.zone)),
            outside_hours_minutes: outside.num_minutes(),
        })
        .collect();
    Slot {
        start_utc: found.start,
        end_utc: found.end,
        local,
        max_outside_hours_minutes: found.worst().num_minutes(),
        occurrences: series.then_some(found.occurrences),
    }
}
