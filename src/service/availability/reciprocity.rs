//! Host alternation between two delegations: who hosted their bilateral meetings, and whose
//! turn it is.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::Context;
use crate::domain::stored::DelegationId;
use crate::error::{AppError, FieldError};
use crate::store::reciprocity::bilateral_hosts;
use crate::store::{delegations, lock_row, DbConnection, Locked, Store};

/// The bilateral meetings of two delegations (not cancelled; a series counts once) by host.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct Reciprocity {
    /// Meetings hosted, by delegation id (both present, 0 when none).
    pub hosted: BTreeMap<String, i64>,
    /// The host of the meeting that starts latest (of a series: its first session), null when
    /// they have never met.
    #[schema(value_type = Option<String>)]
    pub last_host: Option<DelegationId>,
    /// Whoever hosted fewer; on a tie, the one that did not host last; null when they have
    /// never met (either may host).
    #[schema(value_type = Option<String>)]
    pub next_host: Option<DelegationId>,
}

/// Counts and turn for `a` and `b`, read in the caller's transaction.
pub fn turn(
    conn: &mut DbConnection,
    a: &DelegationId,
    b: &DelegationId,
) -> Result<Reciprocity, AppError> {
    let hosts = bilateral_hosts(conn, a.as_str(), b.as_str())?;
    let count = |d: &DelegationId| {
        hosts
            .iter()
            .find(|(h, _, _)| h == d.as_str())
            .map_or(0, |(_, n, _)| *n)
    };
    let (na, nb) = (count(a), count(b));
    let last_host = hosts
        .iter()
        .filter_map(|(h, _, latest)| latest.map(|t| (t, h)))
        .max()
        .map(|(_, h)| DelegationId::from(h.as_str()));
    let next_host = match na.cmp(&nb) {
        std::cmp::Ordering::Less => Some(a.clone()),
        std::cmp::Ordering::Greater => Some(b.clone()),
        std::cmp::Ordering::Equal => match &last_host {
            Some(last) if last == a => Some(b.clone()),
            Some(_) => Some(a.clone()),
            None => None,
        },
    };
    Ok(Reciprocity {
        hosted: BTreeMap::from([(a.to_string(), na), (b.to_string(), nb)]),
        last_host,
        next_host,
    })
}

/// A delegation by id or code; 422 naming `field` when there is none.
fn resolve(conn: &mut DbConnection, field: &str, raw: &str) -> Result<DelegationId, AppError> {
    let found = delegations::by_id_or_code(conn, &[raw.to_owned()], &[raw.to_uppercase()])?;
    found
        .into_iter()
        .next()
        .map(|(id, _)| DelegationId::from(id))
        .ok_or_else(|| {
            AppError::invalid_fields(vec![FieldError::new(
                field,
                format!("no delegation {raw} (give its id or its code)"),
            )])
        })
}

/// `GET /reciprocity?a=&b=` (ids or codes): for the users of either delegation and platform
/// admins (404 to others); 422 for an unknown delegation or the same one twice.
pub async fn reciprocity(
    store: &Store,
    ctx: &Context,
    a: String,
    b: String,
) -> Result<Reciprocity, AppError> {
    let principal = ctx.principal.clone();
    store
        .read(move |conn| {
            let (a, b) = (resolve(conn, "a", &a)?, resolve(conn, "b", &b)?);
            if a == b {
                return Err(AppError::invalid_fields(vec![FieldError::new(
                    "b",
                    "two different delegations",
                )]));
            }
            if !principal.belongs_to(&a)
                && !principal.belongs_to(&b)
                && !principal.is_platform_admin()
            {
                return Err(AppError::not_found("delegation"));
            }
            turn(conn, &a, &b)
        })
        .await
}

/// For a booking with `host_rotation: true`: a bilateral meeting, hosted by the delegation
/// whose turn it is (422 `host-out-of-turn` otherwise). Call it in the booking's transaction.
pub fn check_turn(
    conn: &mut DbConnection,
    host: &DelegationId,
    participants: &[DelegationId],
) -> Result<(), AppError> {
    let [first, second] = participants else {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "host_rotation",
            "host alternation applies to bilateral meetings (two delegations)",
        )]));
    };
    let guest = if first == host { second } else { first };
    // Bookings of the pair queue here (in id order, the same for every writer) and read the
    // count after the one before them committed: two at once cannot both take one turn.
    let mut pair = [host.as_str(), guest.as_str()];
    pair.sort_unstable();
    for id in pair {
        lock_row(conn, Locked::Delegation, id)?;
    }
    let turn = turn(conn, host, guest)?;
    match turn.next_host {
        Some(next) if &next != host => Err(AppError::HostOutOfTurn(format!(
            "it is delegation {next}'s turn to host: it hosted {} of your bilateral meetings, you {}",
            turn.hosted.get(next.as_str()).copied().unwrap_or(0),
            turn.hosted.get(host.as_str()).copied().unwrap_or(0),
        ))),
        _ => Ok(()),
    }
}
