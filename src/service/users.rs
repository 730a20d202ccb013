//! Users of a delegation: created, listed and deactivated by that delegation's admins (or a
//! platform admin). Passwords are argon2id; a user's row is never deleted, only deactivated,
//! so the audit log keeps naming who did what.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::{self, Entry};
use super::{check_version, is_unique_violation, Context, Page, PageRequest};
use crate::auth::password;
use crate::domain::identity::{check_new_password, Role, Username};
use crate::error::{AppError, FieldError};
use crate::store::schema::{delegations, users};
use crate::store::{new_id, now, DbConnection, Locked, Store};

/// A user as the API shows it (never with a password or its hash).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct User {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub delegation_id: Option<String>,
    /// False once deactivated: the user can no longer log in, and their tokens stop working.
    pub active: bool,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: chrono::DateTime<chrono::Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

type UserColumns = (
    users::id,
    users::username,
    users::role,
    users::delegation_id,
    users::active,
    users::version,
    users::created_at,
    users::updated_at,
);
const USER_COLUMNS: UserColumns = (
    users::id,
    users::username,
    users::role,
    users::delegation_id,
    users::active,
    users::version,
    users::created_at,
    users::updated_at,
);
type UserRow = (
    String,
    String,
    String,
    Option<String>,
    bool,
    i64,
    NaiveDateTime,
    NaiveDateTime,
);

fn view(
    (id, username, role, delegation_id, active, version, created_at, updated_at): UserRow,
) -> Result<User, AppError> {
    Ok(User {
        id,
        username,
        role: Role::parse(&role)
            .ok_or_else(|| AppError::internal(format!("stored role '{role}'")))?,
        delegation_id,
        active,
        version,
        created_at: created_at.and_utc(),
        updated_at: updated_at.and_utc(),
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
fn authorize(conn: &mut DbConnection, ctx: &Context, delegation_id: &str) -> Result<(), AppError> {
    let exists: i64 = delegations::table
        .filter(delegations::id.eq(delegation_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Err(AppError::not_found("delegation"));
    }
    if !ctx.principal.may_administer(delegation_id) {
        return Err(AppError::Forbidden(
            "only platform admins and this delegation's admins manage its users".into(),
        ));
    }
    Ok(())
}

fn hash_new_password(plain: &str, field: &str) -> Result<String, AppError> {
    check_new_password(plain)
        .map_err(|m| AppError::invalid_fields(vec![FieldError::new(field, m)]))?;
    password::hash(plain).map_err(AppError::internal)
}

pub async fn create(
    store: &Store,
    ctx: &Context,
    delegation_id: Option<String>,
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
    let hash = hash_new_password(&input.password, "password")?;
    let ctx = ctx.clone();
    store
        .write(move |conn| {
            if let Some(delegation_id) = &delegation_id {
                authorize(conn, &ctx, delegation_id)?;
            }
            let id = new_id();
            let at = now();
            diesel::insert_into(users::table)
                .values((
                    users::id.eq(&id),
                    users::username.eq(username.as_str()),
                    users::password_hash.eq(&hash),
                    users::role.eq(input.role.as_str()),
                    users::delegation_id.eq(&delegation_id),
                    users::active.eq(true),
                    users::version.eq(1_i64),
                    users::created_at.eq(at),
                    users::updated_at.eq(at),
                ))
                .execute(conn)
                .map_err(|e| {
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
                    entity_id: &id,
                    summary: format!("user {username} created with role {}", input.role.as_str()),
                    parties: delegation_id.iter().cloned().collect(),
                },
            )?;
            load(conn, &id)
        })
        .await
}

fn load(conn: &mut DbConnection, id: &str) -> Result<User, AppError> {
    let row: UserRow = users::table
        .find(id)
        .select(USER_COLUMNS)
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("user"))?;
    view(row)
}

/// A delegation's users, ordered by username.
pub async fn list(
    store: &Store,
    ctx: &Context,
    delegation_id: String,
    page: PageRequest,
) -> Result<Page<User>, AppError> {
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            authorize(conn, &ctx, &delegation_id)?;
            let mut query = users::table
                .select(USER_COLUMNS)
                .filter(users::delegation_id.eq(&delegation_id))
                .order(users::username.asc())
                .limit(page.fetch())
                .into_boxed();
            if let Some(after) = &page.after {
                query = query.filter(users::username.gt(after.clone()));
            }
            let rows: Vec<UserRow> = query.load(conn)?;
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
    delegation_id: String,
    user_id: String,
    expected_version: Option<i64>,
) -> Result<User, AppError> {
    let ctx = ctx.clone();
    super::write_row(store, Locked::User, user_id.clone(), move |conn| {
        authorize(conn, &ctx, &delegation_id)?;
        let user = load(conn, &user_id)?;
        if user.delegation_id.as_deref() != Some(delegation_id.as_str()) {
            return Err(AppError::not_found("user"));
        }
        if user.id == ctx.principal.user_id {
            return Err(AppError::Conflict("you cannot deactivate yourself".into()));
        }
        check_version(expected_version, user.version)?;
        if !user.active {
            return Ok(user);
        }
        let updated = diesel::update(
            users::table
                .filter(users::id.eq(&user_id))
                .filter(users::version.eq(user.version)),
        )
        .set((
            users::active.eq(false),
            users::version.eq(user.version + 1),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(super::stale(expected_version, user.version));
        }
        audit::record(
            conn,
            &ctx.actor(),
            Entry {
                action: "user.deactivate",
                entity_type: "user",
                entity_id: &user_id,
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
    store: &Store,
    ctx: &Context,
    username: &str,
    new_password: &str,
) -> Result<User, AppError> {
    let username = Username::parse(username)
        .map_err(|m| AppError::invalid_fields(vec![FieldError::new("username", m)]))?;
    let hash = hash_new_password(new_password, "password")?;
    let ctx = ctx.clone();
    store
        .write(move |conn| {
            let (id, delegation_id, version, generation): (String, Option<String>, i64, i64) =
                users::table
                    .filter(users::username.eq(username.as_str()))
                    .select((
                        users::id,
                        users::delegation_id,
                        users::version,
                        users::token_generation,
                    ))
                    .first(conn)
                    .optional()?
                    .ok_or_else(|| AppError::NotFound(format!("no user {username}")))?;
            if !ctx.principal.is_platform_admin()
                && !delegation_id
                    .as_deref()
                    .is_some_and(|d| ctx.principal.may_administer(d))
            {
                return Err(AppError::Forbidden("not your user".into()));
            }
            diesel::update(users::table.filter(users::id.eq(&id)))
                .set((
                    users::password_hash.eq(&hash),
                    // Ends every token issued before, on every instance.
                    users::token_generation.eq(generation + 1),
                    users::version.eq(version + 1),
                    users::updated_at.eq(now()),
                ))
                .execute(conn)?;
            audit::record(
                conn,
                &ctx.actor(),
                Entry {
                    action: "user.reset_password",
                    entity_type: "user",
                    entity_id: &id,
                    summary: format!("password of {username} reset"),
                    parties: delegation_id.iter().cloned().collect(),
                },
            )?;
            load(conn, &id)
        })
        .await
}
