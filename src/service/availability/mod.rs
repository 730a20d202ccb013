//! Availability (issue 18): a delegation's busy times — merged intervals of its meetings,
//! never their titles or ids — and its non-working days; the slot search and host
//! alternation build on them.

mod observances;
mod reciprocity;
mod search;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub use observances::{
    observances, replace_observances, ObservanceDto, Observances, ObservancesPut,
};
pub use reciprocity::{check_turn, reciprocity, Reciprocity};
pub use search::{search, LocalTime, SearchRequest, Slot, Slots};

use super::meetings::occupied;
use super::Context;
use crate::domain::availability::{Interval, Offsets};
use crate::domain::busy::merge;
use crate::domain::delegation::WorkingHours;
use crate::domain::observance::{days_between, Observance};
use crate::domain::stored::DelegationId;
use crate::domain::time::to_local;
use crate::error::AppError;
use crate::store::observances::of_delegations;
use crate::store::{delegations, DbConnection, Store};

/// A delegation as the availability rules see it.
struct Calendar {
    id: DelegationId,
    code: String,
    zone: Tz,
    hours: WorkingHours,
    share_busy: bool,
    observances: Vec<Observance>,
}

/// The calendars of `ids`, in that order (each must exist): two statements, whatever the count.
fn calendars(conn: &mut DbConnection, ids: &[DelegationId]) -> Result<Vec<Calendar>, AppError> {
    let keys: Vec<&str> = ids.iter().map(DelegationId::as_str).collect();
    let mut rows = delegations::find_all(conn, &keys)?;
    let mut observed = of_delegations(conn, &keys)?;
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        let at = rows
            .iter()
            .position(|r| r.id == id.as_str())
            .ok_or_else(|| AppError::not_found("delegation"))?;
        let row = rows.swap_remove(at);
        let zone = row.time_zone.parse::<Tz>().map_err(AppError::internal)?;
        let json = serde_json::from_str(&row.working_hours).map_err(AppError::internal)?;
        let hours = WorkingHours::parse(&json)
            .map_err(|(field, message)| AppError::internal(format!("{field}: {message}")))?;
        let mut observances = Vec::new();
        for (_, o) in observed.iter().filter(|(owner, _)| owner == &row.id) {
            let parsed = Observance::parse(&o.name, o.day.as_deref(), o.rule.as_deref())
                .map_err(|(field, message)| AppError::internal(format!("{field}: {message}")))?;
            observances.push(parsed);
        }
        observed.retain(|(owner, _)| owner != &row.id);
        found.push(Calendar {
            id: id.clone(),
            code: row.code,
            zone,
            hours,
            share_busy: row.share_busy,
            observances,
        });
    }
    Ok(found)
}

impl Calendar {
    /// Its non-working days meeting `[from, to)`, as instants (whole days in its zone), cut to
    /// the window, sorted and disjoint.
    fn unavailable(&self, offsets: &Offsets, (from, to): Interval) -> Vec<Interval> {
        let first = to_local(from, self.zone).date();
        let last = to_local(to, self.zone).date();
        merge(
            days_between(&self.observances, first, last)
                .into_iter()
                .flat_map(|day| offsets.day(day))
                .map(|(s, e)| (s.max(from), e.min(to)))
                .collect(),
        )
    }
}

/// The longest window a busy read covers.
pub const MAX_BUSY_DAYS: i64 = 366;

/// A time taken, `[start_utc, end_utc)`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct BusyTime {
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
}

/// A time the delegation does not work, and why.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct Unavailable {
    #[schema(value_type = String, format = DateTime)]
    pub start_utc: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub end_utc: DateTime<Utc>,
    /// `observance`.
    pub reason: String,
}

/// A delegation's busy times in a window.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct Busy {
    /// Its meetings and the sessions it takes part in (not cancelled, not declined), merged,
    /// cut to the window.
    pub busy: Vec<BusyTime>,
    /// Its non-working days (observances: whole days in its zone), cut to the window.
    pub unavailable: Vec<Unavailable>,
}

/// The busy times of delegation `id` in `[from, to)` (at most 366 days). A delegation that does
/// not share them (`share_busy: false`) is 404 to users of other delegations, as one that does
/// not exist.
pub async fn busy(
    store: &Store,
    ctx: &Context,
    id: DelegationId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Busy, AppError> {
    super::check_window((from, to), MAX_BUSY_DAYS)?;
    let principal = ctx.principal.clone();
    store
        .read(move |conn| {
            let Some(calendar) = calendars(conn, std::slice::from_ref(&id))?.pop() else {
                return Err(AppError::not_found("delegation"));
            };
            let own = principal.delegation_id.as_ref() == Some(&id);
            if !calendar.share_busy && !own && !principal.is_platform_admin() {
                return Err(AppError::not_found("delegation"));
            }
            let taken = occupied(conn, std::slice::from_ref(&id), (from, to), None)?;
            let busy = merge(
                taken
                    .into_iter()
                    .map(|o| (o.start_utc.max(from), o.end_utc.min(to)))
                    .collect(),
            )
            .into_iter()
            .map(|(start_utc, end_utc)| BusyTime { start_utc, end_utc })
            .collect();
            let offsets = Offsets::of(calendar.zone, from, to);
            let unavailable = calendar
                .unavailable(&offsets, (from, to))
                .into_iter()
                .map(|(start_utc, end_utc)| Unavailable {
                    start_utc,
                    end_utc,
                    reason: "observance".to_owned(),
                })
                .collect();
            Ok(Busy { busy, unavailable })
        })
        .await
}
