//! Availability (issue 18): a delegation's busy times — merged intervals of its meetings,
//! never their titles or ids.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::meetings::occupied;
use super::Context;
use crate::domain::busy::merge;
use crate::domain::stored::DelegationId;
use crate::error::AppError;
use crate::store::{delegations, Store};

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
    /// Its non-working days (observances), none until it records some.
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
            let delegation =
                delegations::find(conn, &id)?.ok_or_else(|| AppError::not_found("delegation"))?;
            let own = principal.delegation_id.as_ref() == Some(&id);
            if !delegation.share_busy && !own && !principal.is_platform_admin() {
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
            Ok(Busy {
                busy,
                unavailable: Vec::new(),
            })
        })
        .await
}
