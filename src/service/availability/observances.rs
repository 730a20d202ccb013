//! `GET/PUT /delegations/{id}/observances`: a delegation's non-working days, read by its own
//! users (and platform admins), replaced as a whole by its admins.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::super::audit::{self, Entry};
use super::super::{check_version, stale, write_row, Context};
use crate::domain::observance::{Observance, MAX_OBSERVANCES};
use crate::domain::stored::DelegationId;
use crate::error::{AppError, FieldError};
use crate::store::observances::{self as rows, ObservanceRow};
use crate::store::{delegations, DbConnection, Locked, Store};

/// One non-working day: a `date`, or a yearly `rule` — whole days in the delegation's zone.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservanceDto {
    /// `Orthodox Christmas`, `Day of mourning`.
    pub name: String,
    /// `2027-03-02`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// A yearly RRULE naming the month and the day: `FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=7`,
    /// `FREQ=YEARLY;BYMONTH=11;BYDAY=4TH`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
}

/// A delegation's observances, in the order they were given, and the delegation's version
/// (a PUT moves it on; `If-Match` guards against overwriting a concurrent change).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq, ToSchema)]
pub struct Observances {
    #[schema(value_type = String)]
    pub delegation_id: DelegationId,
    pub version: i64,
    pub observances: Vec<ObservanceDto>,
}

/// The whole list, replacing the stored one.
#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObservancesPut {
    pub observances: Vec<ObservanceDto>,
}

fn load(conn: &mut DbConnection, id: &DelegationId) -> Result<Observances, AppError> {
    let row = delegations::find(conn, id)?.ok_or_else(|| AppError::not_found("delegation"))?;
    let observances = rows::of_delegations(conn, &[id.as_str()])?
        .into_iter()
        .map(|(_, o)| ObservanceDto {
            name: o.name,
            date: o.day,
            rule: o.rule,
        })
        .collect();
    Ok(Observances {
        delegation_id: id.clone(),
        version: row.version,
        observances,
    })
}

/// Its users and platform admins read a delegation's observances; to others it is 404 (the
/// names may be confidential: `busy` shows them as times only).
pub async fn observances(
    store: &Store,
    ctx: &Context,
    id: DelegationId,
) -> Result<Observances, AppError> {
    let principal = ctx.principal.clone();
    if !principal.belongs_to(&id) && !principal.is_platform_admin() {
        return Err(AppError::not_found("delegation"));
    }
    store.read(move |conn| load(conn, &id)).await
}

/// Checks every entry; errors name `observances[i].name|date|rule`.
fn check(list: &[ObservanceDto]) -> Result<Vec<ObservanceRow>, AppError> {
    if list.len() > MAX_OBSERVANCES {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "observances",
            format!("at most {MAX_OBSERVANCES}"),
        )]));
    }
    let mut errors = Vec::new();
    let mut rows = Vec::with_capacity(list.len());
    for (i, o) in list.iter().enumerate() {
        match Observance::parse(&o.name, o.date.as_deref(), o.rule.as_deref()) {
            Ok(parsed) => rows.push(ObservanceRow {
                name: parsed.name,
                day: o.date.clone(),
                rule: o.rule.as_ref().map(|r| r.trim().to_owned()),
            }),
            Err((field, message)) => errors.push(FieldError::new(
                format!("observances[{i}].{field}"),
                message,
            )),
        }
    }
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(AppError::invalid_fields(errors))
    }
}

/// Replaces the delegation's observances (its admins, platform admins); audited.
pub async fn replace_observances(
    store: &Store,
    ctx: &Context,
    id: DelegationId,
    expected_version: Option<i64>,
    put: ObservancesPut,
) -> Result<Observances, AppError> {
    let principal = ctx.principal.clone();
    if !principal.belongs_to(&id) && !principal.is_platform_admin() {
        return Err(AppError::not_found("delegation"));
    }
    if !principal.may_administer(&id) {
        return Err(AppError::Forbidden(
            "only this delegation's admins and platform admins record its observances".into(),
        ));
    }
    let rows = check(&put.observances)?;
    let actor = ctx.actor();
    write_row(store, Locked::Delegation, id.clone(), move |conn| {
        let current = load(conn, &id)?;
        check_version(expected_version, current.version)?;
        if !rows::replace(conn, &id, current.version, &rows)? {
            return Err(stale(expected_version, current.version));
        }
        audit::record(
            conn,
            &actor,
            Entry {
                action: "delegation.observances",
                entity_type: "delegation",
                entity_id: id.as_str(),
                summary: format!("observances replaced: {} recorded", rows.len()),
                parties: vec![id.clone()],
            },
        )?;
        load(conn, &id)
    })
    .await
}
