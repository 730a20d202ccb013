//! Users of a delegation: created, listed and deactivated by that delegation's admins (or a
//! platform admin). Passwords are argon2id; a user's row is never deleted, only deactivated,
//! so the audit log keeps naming who did what.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::{self, Entry};
use super::{check_version, Context, Page, PageRequest};
use crate::auth::password::{self, PasswordWork};
use crate::domain::identity::{check_new_password, Role, Username};
use crate::domain::stored::{DelegationId, UserId};
use crate::error::{AppError, FieldError};
use crate::store::identity::{self as rows, NewUserRow, UserRow};
use crate::store::{delegations, is_unique_violation, stored, DbConnection, Locked, Store};

/// A user as the API shows it (never with a password or its hash).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct User {
    #[schema(value_type = String)]
    pub id: UserId,
    pub username: String,
    pub role: Role,
    #[schema(value_type = Option<String>)]
    pub delegation_id: Option<DelegationId>,
    /// False once deactivated: the user can no longer log in, and their tokens stop working.
    pub active: bool,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

fn view(row: UserRow) -> Result<User, AppError> {
    Ok(User {
        role: stored(&row.role)?,
        id: UserId::from(row.id),
        username: row.username,
        delegation_id: row.delegation_id.map(DelegationId::from),
        active: row.active,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    })
}

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 3–64 characters of `a-z 0-9 . _ -` (folded to lower case); unique.
    #[schema(pattern = "^[A-Za-z0-9._-]{3,64}$")]
    pub username: String,
    /// At least 12 characters.
    #[schema(format = Password, min_length = 12)]
    pub password: String,
    /// `admin`, `scheduler` or `viewer`.
    pub role: Role,
}

/// The delegation must exist (404) and the caller administer it (403).
fn authorize(
    conn: &mut DbConnection,
    ctx: &Context,
    delegation_id: &DelegationId,
) -> Result<(), AppError> {
    if !delegations::exists(conn, delegation_id)? {
        return Err(AppError::not_found("delegation"));
    }
    if !ctx.principal.may_administer(delegation_id) {
        return Err(AppError::Forbidden(
            "only platform admins and this delegation's admins manage its users".into(),
        ));
    }
    Ok(())
}

/// Checks a new password, then hashes it as bounded password work (off the async workers).
async fn hash_new_password(
    passwords: &PasswordWork,
    plain: &str,
    field: &str,
) -> Result<String, AppError> {
    check_new_password(plain)
        .map_err(|m| AppError::invalid_fields(vec![FieldError::new(field, m)]))?;
    let plain = plain.to_owned();
    passwords
        .run(move || password::hash(&plain))
        .await?
        .map_err(AppError::internal)
}

pub async fn create(
    (store, passwords): (&Store, &PasswordWork),
    ctx: &Context,
    delegation_id: Option<DelegationId>,
    input: NewUser,
) -> Result<User, AppError> {
    let mut errors = Vec::new();
    let username = Username::parse(&input.username)
        .map_err(|m| errors.push(FieldError::new("username", m)))
        .ok();
    if let Err(m) = check_new_password(&input.password) {
        errors.push(FieldError::new("password", m));
    }
    match (&delegation_id, input.role) {
        (Some(_), Role::PlatformAdmin) => errors.push(FieldError::new(
            "role",
            "must be admin, scheduler or viewer: platform admins belong to no delegation",
        )),
        (None, role) if role != Role::PlatformAdmin => errors.push(FieldError::new(
            "role",
            "a user outside any delegation must be a platform admin",
        )),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(AppError::invalid_fields(errors));
    }
    let Some(username) = username else {
        return Err(AppError::validation("username is invalid"));
    };
    if delegation_id.is_none() && !ctx.principal.is_platform_admin() {
        return Err(AppError::Forbidden(
            "only platform admins create platform admins".into(),
        ));
    }
    // Hashing is deliberately slow: do it before taking a connection and the write lock.
    let hash = hash_new_password(passwords, &input.password, "password").await?;
    let ctx = ctx.clone();
    store
        .write(move |conn| {
            if let Some(delegation_id) = &delegation_id {
                authorize(conn, &ctx, delegation_id)?;
            }
            let id = UserId::generate();
            let row = NewUserRow {
                id: &id,
                username: username.as_str(),
                password_hash: &hash,
                role: input.role.as_str(),
                delegation_id: delegation_id.as_ref(),
            };
            rows::insert(conn, &row).map_err(|e| {
                if is_unique_violation(&e) {
                    AppError::Conflict(format!("the username {username} is taken"))
                } else {
                    e.into()
                }
            })?;
            audit::record(
                conn,
                &ctx.actor(),
                Entry {
                    action: "user.create",
                    entity_type: "user",
                    entity_id: id.as_str(),
                    summary: format!("user {username} created with role {}", input.role.as_str()),
                    parties: delegation_id.iter().cloned().collect(),
                },
            )?;
            load(conn, &id)
        })
        .await
}

fn load(conn: &mut DbConnection, id: &UserId) -> Result<User, AppError> {
    view(rows::find(conn, id)?.ok_or_else(|| AppError::not_found("user"))?)
}

/// A delegation's users, ordered by username.
pub async fn list(
    store: &Store,
    ctx: &Context,
    delegation_id: DelegationId,
    page: PageRequest,
) -> Result<Page<User>, AppError> {
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            authorize(conn, &ctx, &delegation_id)?;
            let rows =
                rows::of_delegation(conn, &delegation_id, page.after.as_deref(), page.fetch())?;
            let users = rows.into_iter().map(view).collect::<Result<Vec<_>, _>>()?;
            Ok(Page::from_rows(users, &page, |u| u.username.clone()))
        })
        .await
}

/// Deactivates a user of the delegation: they can no longer log in, and their tokens stop
/// working at once. The row stays (the audit log names it).
pub async fn deactivate(
    store: &Store,
    ctx: &Context,
    delegation_id: DelegationId,
    user_id: UserId,
    expected_version: Option<i64>,
) -> Result<User, AppError> {
    let ctx = ctx.clone();
    super::write_row(store, Locked::User, user_id.clone(), move |conn| {
        authorize(conn, &ctx, &delegation_id)?;
        let user = load(conn, &user_id)?;
        if user.delegation_id.as_ref() != Some(&delegation_id) {
            return Err(AppError::not_found("user"));
        }
        if user.id == ctx.principal.user_id {
            return Err(AppError::Conflict("you cannot deactivate yourself".into()));
        }
        check_version(expected_version, user.version)?;
        if !user.active {
            return Ok(user);
        }
        let updated = rows::deactivate(conn, &user_id, user.version)?;
        if updated == 0 {
            return Err(super::stale(expected_version, user.version));
        }
        audit::record(
            conn,
            &ctx.actor(),
            Entry {
                action: "user.deactivate",
                entity_type: "user",
                entity_id: user_id.as_str(),
                summary: format!("user {} deactivated", user.username),
                parties: vec![delegation_id.clone()],
            },
        )?;
        load(conn, &user_id)
    })
    .await
}

/// Sets a new password (the `entente admin reset-password` command).
pub async fn reset_password(
    (store, passwords): (&Store, &PasswordWork),
    ctx: &Context,
    username: &str,
    new_password: &str,
) -> Result<User, AppError> {
    let username = Username::parse(username)
        .map_err(|m| AppError::invalid_fields(vec![FieldError::new("username", m)]))?;
    let hash = hash_new_password(passwords, new_password, "password").await?;
    let ctx = ctx.clone();
    store
        .write(move |conn| {
            let account = rows::account_by_username(conn, username.as_str())?
                .ok_or_else(|| AppError::NotFound(format!("no user {username}")))?;
            let delegation_id = account.delegation_id.clone().map(DelegationId::from);
            if !ctx.principal.is_platform_admin()
                && !delegation_id
                    .as_ref()
                    .is_some_and(|d| ctx.principal.may_administer(d))
            {
                return Err(AppError::Forbidden("not your user".into()));
            }
            // A new credentials generation ends every token issued before, on every instance.
            rows::set_password(conn, &account, &hash)?;
            let id = UserId::from(account.id);
            audit::record(
                conn,
                &ctx.actor(),
                Entry {
                    action: "user.reset_password",
                    entity_type: "user",
                    entity_id: id.as_str(),
                    summary: format!("password of {username} reset"),
                    parties: delegation_id.iter().cloned().collect(),
                },
            )?;
            load(conn, &id)
        })
        .await
}
