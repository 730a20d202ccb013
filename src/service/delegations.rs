//! Delegations: the directory every user reads, and its upkeep.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::{self, Entry};
use super::{check_version, stale, Context, Page, PageRequest};
use crate::domain::delegation::{DelegationCode, DelegationKind, WorkingHours, WorkingHoursJson};
use crate::domain::stored::DelegationId;
use crate::domain::zone::TimeZone;
use crate::error::{AppError, FieldError};
use crate::store::delegations::{self as rows, DelegationRow, DelegationValues};
use crate::store::feed_stamps;
use crate::store::{is_unique_violation, stored, DbConnection, Locked, Store};

/// A delegation, in full.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Delegation {
    #[schema(value_type = String)]
    pub id: DelegationId,
    pub code: String,
    pub name: String,
    pub kind: DelegationKind,
    /// IANA zone of the delegation's seat: its working hours are in this zone.
    pub time_zone: String,
    /// Per weekday (`mon` … `sun`), wall-clock `HH:MM` ranges; a missing day is a day off.
    #[schema(value_type = Object, example = json!({"mon": [["09:00", "13:00"], ["14:00", "18:00"]]}))]
    pub working_hours: WorkingHoursJson,
    /// Where calendar invitations for this delegation go (optional).
    pub contact_email: Option<String>,
    /// Whether other delegations may read its busy times (`GET /delegations/{id}/busy`); when
    /// false only its own users and platform admins may (a slot search still honours them).
    pub share_busy: bool,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A directory entry.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct DirectoryEntry {
    #[schema(value_type = String)]
    pub id: DelegationId,
    pub code: String,
    pub name: String,
    pub kind: DelegationKind,
    pub time_zone: String,
}

fn view(row: DelegationRow) -> Result<Delegation, AppError> {
    let working_hours = serde_json::from_str(&row.working_hours).map_err(AppError::internal)?;
    Ok(Delegation {
        kind: stored(&row.kind)?,
        id: DelegationId::from(row.id),
        code: row.code,
        name: row.name,
        time_zone: row.time_zone,
        working_hours,
        contact_email: row.contact_email,
        share_busy: row.share_busy,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDelegation {
    /// 2–32 characters of `A-Z`, `0-9`, `-`; unique.
    #[schema(pattern = "^[A-Z0-9-]{2,32}$")]
    pub code: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    pub kind: DelegationKind,
    pub time_zone: String,
    /// Defaults to Monday–Friday 09:00–18:00 in `time_zone`.
    #[schema(value_type = Option<Object>)]
    pub working_hours: Option<WorkingHoursJson>,
    pub contact_email: Option<String>,
}

/// A partial update: a field present replaces the stored value; `null` clears `contact_email`.
#[derive(Deserialize, Debug, Clone, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DelegationPatch {
    pub code: Option<String>,
    pub name: Option<String>,
    pub kind: Option<DelegationKind>,
    pub time_zone: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub working_hours: Option<WorkingHoursJson>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub contact_email: Option<Option<String>>,
    /// Whether other delegations may read its busy times.
    pub share_busy: Option<bool>,
}

/// The delegations `given` names, each by id or by code (`"US"`, any case), as ids in the order
/// given; every one that names no delegation is refused (422), each as `<field>[i]`.
pub(super) fn resolve_delegations(
    conn: &mut DbConnection,
    field: &str,
    given: &[String],
) -> Result<Vec<DelegationId>, AppError> {
    let codes: Vec<String> = given.iter().map(|g| g.to_uppercase()).collect();
    let found = rows::by_id_or_code(conn, given, &codes)?;
    let mut ids = Vec::with_capacity(given.len());
    let mut errors = Vec::new();
    for (i, (raw, code)) in given.iter().zip(&codes).enumerate() {
        match found.iter().find(|(id, c)| id == raw || c == code) {
            Some((id, _)) => ids.push(DelegationId::from(id.as_str())),
            None => errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("no delegation {raw} (give its id or its code)"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(AppError::invalid_fields(errors))
    }
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
pub fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn check_name(name: &str, errors: &mut Vec<FieldError>) {
    let n = name.trim().chars().count();
    if n == 0 || name.chars().count() > 200 {
        errors.push(FieldError::new("name", "must be 1 to 200 characters"));
    }
}

fn check_email(email: &str, errors: &mut Vec<FieldError>) {
    let ok = email.chars().count() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !ok {
        errors.push(FieldError::new("contact_email", "not an e-mail address"));
    }
}

fn check_zone(zone: &str) -> Result<TimeZone, AppError> {
    TimeZone::parse(zone).map_err(|e| AppError::UnknownTimeZone(format!("time_zone: {e}")))
}

fn check_hours(json: &WorkingHoursJson, errors: &mut Vec<FieldError>) -> Option<WorkingHours> {
    WorkingHours::parse(json)
        .map_err(|(field, message)| errors.push(FieldError::new(field, message)))
        .ok()
}

fn check_code(code: &str, errors: &mut Vec<FieldError>) {
    if let Err(message) = DelegationCode::parse(code) {
        errors.push(FieldError::new("code", message));
    }
}

fn conflict_on_code(error: diesel::result::Error, code: &str) -> AppError {
    if is_unique_violation(&error) {
        AppError::Conflict(format!("a delegation with code {code} already exists"))
    } else {
        error.into()
    }
}

pub async fn create(
    store: &Store,
    ctx: &Context,
    input: NewDelegation,
) -> Result<Delegation, AppError> {
    if !ctx.principal.may_create_delegations() {
        return Err(AppError::Forbidden(
            "only platform admins create delegations".into(),
        ));
    }
    let mut errors = Vec::new();
    check_code(&input.code, &mut errors);
    check_name(&input.name, &mut errors);
    if let Some(email) = &input.contact_email {
        check_email(email, &mut errors);
    }
    let hours = match &input.working_hours {
        Some(json) => check_hours(json, &mut errors),
        None => Some(WorkingHours::default_office()),
    };
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let zone = check_zone(&input.time_zone)?;
    let hours_json =
        serde_json::to_string(&hours.unwrap_or_else(WorkingHours::default_office).to_json())
            .map_err(AppError::internal)?;
    let actor = ctx.actor();
    store
        .write(move |conn| {
            let id = DelegationId::generate();
            let values = DelegationValues {
                code: &input.code,
                name: input.name.trim(),
                kind: input.kind.as_str(),
                time_zone: zone.name(),
                working_hours: &hours_json,
                contact_email: input.contact_email.as_deref(),
                share_busy: true,
            };
            rows::insert(conn, &id, &values).map_err(|e| conflict_on_code(e, &input.code))?;
            audit::record(
                conn,
                &actor,
                Entry {
                    action: "delegation.create",
                    entity_type: "delegation",
                    entity_id: id.as_str(),
                    summary: format!("delegation {} ({}) created", input.code, input.name.trim()),
                    parties: vec![id.clone()],
                },
            )?;
            load(conn, &id)
        })
        .await
}

fn load(conn: &mut DbConnection, id: &DelegationId) -> Result<Delegation, AppError> {
    view(rows::find(conn, id)?.ok_or_else(|| AppError::not_found("delegation"))?)
}

/// Any authenticated user reads the directory.
pub async fn get(store: &Store, id: DelegationId) -> Result<Delegation, AppError> {
    store.read(move |conn| load(conn, &id)).await
}

/// The directory, ordered by code.
pub async fn list(store: &Store, page: PageRequest) -> Result<Page<DirectoryEntry>, AppError> {
    store
        .read(move |conn| {
            let entries = rows::directory(conn, page.after.as_deref(), page.fetch())?
                .into_iter()
                .map(|row| {
                    Ok(DirectoryEntry {
                        kind: stored(&row.kind)?,
                        id: DelegationId::from(row.id),
                        code: row.code,
                        name: row.name,
                        time_zone: row.time_zone,
                    })
                })
                .collect::<Result<Vec<_>, AppError>>()?;
            Ok(Page::from_rows(entries, &page, |e| e.code.clone()))
        })
        .await
}

/// Platform admins, or the delegation's own admins. `If-Match` (as `expected_version`) is
/// checked in the `UPDATE` itself, so two instances can never both win.
pub async fn update(
    store: &Store,
    ctx: &Context,
    id: DelegationId,
    expected_version: Option<i64>,
    patch: DelegationPatch,
) -> Result<Delegation, AppError> {
    let mut errors = Vec::new();
    if let Some(code) = &patch.code {
        check_code(code, &mut errors);
    }
    if let Some(name) = &patch.name {
        check_name(name, &mut errors);
    }
    if let Some(Some(email)) = &patch.contact_email {
        check_email(email, &mut errors);
    }
    let hours = patch
        .working_hours
        .as_ref()
        .and_then(|json| check_hours(json, &mut errors));
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let zone = patch.time_zone.as_deref().map(check_zone).transpose()?;
    let hours_json = hours
        .map(|h| serde_json::to_string(&h.to_json()))
        .transpose()
        .map_err(AppError::internal)?;
    let principal = ctx.principal.clone();
    let actor = ctx.actor();
    super::write_row(store, Locked::Delegation, id.clone(), move |conn| {
        let current = load(conn, &id)?;
        if !principal.may_administer(&id) {
            return Err(AppError::Forbidden(
                "only platform admins and this delegation's admins edit it".into(),
            ));
        }
        if patch.code.as_ref().is_some_and(|c| *c != current.code) && !principal.is_platform_admin()
        {
            return Err(AppError::Forbidden(
                "only platform admins change a delegation's code".into(),
            ));
        }
        check_version(expected_version, current.version)?;
        let mut changed = Vec::new();
        let code = patch.code.clone().unwrap_or(current.code.clone());
        if code != current.code {
            changed.push("code");
        }
        let name = patch
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or(&current.name)
            .to_owned();
        if name != current.name {
            changed.push("name");
        }
        let kind = patch.kind.unwrap_or(current.kind);
        if kind != current.kind {
            changed.push("kind");
        }
        let time_zone = zone
            .map(|z| z.name().to_owned())
            .unwrap_or(current.time_zone.clone());
        if time_zone != current.time_zone {
            changed.push("time_zone");
        }
        let working_hours = match &hours_json {
            Some(json) => json.clone(),
            None => serde_json::to_string(&current.working_hours).map_err(AppError::internal)?,
        };
        if patch.working_hours.is_some() {
            changed.push("working_hours");
        }
        let contact_email = match &patch.contact_email {
            Some(value) => value.clone(),
            None => current.contact_email.clone(),
        };
        if contact_email != current.contact_email {
            changed.push("contact_email");
        }
        let share_busy = patch.share_busy.unwrap_or(current.share_busy);
        if share_busy != current.share_busy {
            changed.push("share_busy");
        }
        let values = DelegationValues {
            code: &code,
            name: &name,
            kind: kind.as_str(),
            time_zone: &time_zone,
            working_hours: &working_hours,
            contact_email: contact_email.as_deref(),
            share_busy,
        };
        let updated = rows::update(conn, &id, current.version, &values)
            .map_err(|e| conflict_on_code(e, &code))?;
        if updated == 0 {
            return Err(stale(expected_version, current.version));
        }
        // Names, codes and addresses appear in every feed that shows the delegation.
        feed_stamps::bump(conn, &[feed_stamps::NAMES.to_owned()])?;
        audit::record(
            conn,
            &actor,
            Entry {
                action: "delegation.update",
                entity_type: "delegation",
                entity_id: id.as_str(),
                summary: if changed.is_empty() {
                    format!("delegation {code} saved unchanged")
                } else {
                    format!("delegation {code}: {} changed", changed.join(", "))
                },
                parties: vec![id.clone()],
            },
        )?;
        load(conn, &id)
    })
    .await
}

/// The delegation id for a code (the admin commands take codes).
pub async fn id_for_code(store: &Store, code: String) -> Result<DelegationId, AppError> {
    store
        .read(move |conn| {
            rows::id_for_code(conn, &code)?
                .ok_or_else(|| AppError::NotFound(format!("no delegation with code {code}")))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for good in ["protocol@mid.ru", "a.b+c@state.gov"] {
            let mut e = Vec::new();
            check_email(good, &mut e);
            assert!(e.is_empty(), "{good}");
        }
        for bad in ["", "x", "a@b", "@mid.ru", "a b@mid.ru", "a@.ru", "a@ru."] {
            let mut e = Vec::new();
            check_email(bad, &mut e);
            assert_eq!(e.len(), 1, "{bad}");
        }
    }

    #[test]
    fn patch_tells_null_from_absent() {
        let p: DelegationPatch = serde_json::from_str(r#"{"contact_email": null}"#).unwrap();
        assert_eq!(p.contact_email, Some(None));
        let p: DelegationPatch = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(p.contact_email, None);
        assert!(serde_json::from_str::<DelegationPatch>(r#"{"colour": 1}"#).is_err());
    }
}
