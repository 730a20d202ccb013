//! Forums: multilateral platforms with member delegations. Platform admins create and edit
//! them; members see them (anyone else: 404). A forum's members see its meetings marked
//! `confidentiality: forum` (the branch of `meetings::visible`), for as long as they are members.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::audit::{self, Entry};
use super::delegations::{double_option, resolve_delegations};
use super::idempotency::{self, Created};
use super::{check_version, length_errors, stale, Context, Page, PageRequest};
use crate::domain::meeting::{check_len, MAX_DESCRIPTION_CHARS, MAX_TITLE_CHARS};
use crate::domain::stored::{DelegationId, ForumId};
use crate::error::{AppError, FieldError};
use crate::store::feed_stamps;
use crate::store::forums::{self as rows, ForumRow, Viewer};
use crate::store::{DbConnection, Locked, Store};

/// The most member delegations a forum has (the UN has 193 member states).
pub const MAX_MEMBERS: usize = 1_000;

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct Forum {
    #[schema(value_type = String)]
    pub id: ForumId,
    pub name: String,
    pub description: Option<String>,
    /// Member delegation ids.
    #[schema(value_type = Vec<String>)]
    pub members: Vec<DelegationId>,
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

#[derive(Deserialize, Debug, Clone, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewForum {
    /// At most 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// At most 10,000 characters.
    pub description: Option<String>,
    /// Member delegations, each by id or by code (may be empty, and added later).
    pub members: Vec<String>,
}

/// A partial update; `members` replaces the whole list.
#[derive(Deserialize, Debug, Clone, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForumPatch {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// The whole member list, each by id or by code.
    pub members: Option<Vec<String>>,
}

fn check_texts(name: Option<&str>, description: Option<&str>) -> Result<(), AppError> {
    let errors = length_errors([
        name.map(|n| check_len("name", n, MAX_TITLE_CHARS, false)),
        description.map(|d| check_len("description", d, MAX_DESCRIPTION_CHARS, true)),
    ]);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid_fields(errors))
    }
}

/// The members (ids or codes), deduplicated in the order given; each must be a delegation.
fn member_set(conn: &mut DbConnection, given: &[String]) -> Result<Vec<DelegationId>, AppError> {
    if given.len() > MAX_MEMBERS {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "members",
            format!("at most {MAX_MEMBERS} delegations"),
        )]));
    }
    let mut set = Vec::with_capacity(given.len());
    for id in resolve_delegations(conn, "members", given)? {
        if !set.contains(&id) {
            set.push(id);
        }
    }
    Ok(set)
}

/// The feed stamps of these delegations.
fn member_scopes(members: &[DelegationId]) -> Vec<String> {
    members
        .iter()
        .map(|d| feed_stamps::delegation(d.as_str()))
        .collect()
}

fn authorize(ctx: &Context) -> Result<(), AppError> {
    if ctx.principal.may_create_delegations() {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "forums are created and edited by platform admins".into(),
        ))
    }
}

/// Who the caller is, for what forums they see.
fn viewer(ctx: &Context) -> Viewer<'_> {
    match &ctx.principal.delegation_id {
        _ if ctx.principal.is_platform_admin() => Viewer::Platform,
        Some(d) => Viewer::Delegation(d),
        None => Viewer::Nobody,
    }
}

/// The forum, if the caller may see it: platform admins see every forum, delegations the
/// forums they are members of; anyone else gets 404.
fn load_visible(conn: &mut DbConnection, ctx: &Context, id: &ForumId) -> Result<Forum, AppError> {
    let row =
        rows::find_visible(conn, viewer(ctx), id)?.ok_or_else(|| AppError::not_found("forum"))?;
    let members = rows::members_of(conn, &[row.id.as_str()])?
        .remove(&row.id)
        .unwrap_or_default();
    Ok(view(row, members))
}

fn view(row: ForumRow, members: Vec<DelegationId>) -> Forum {
    Forum {
        id: ForumId::from(row.id),
        name: row.name,
        description: row.description,
        members,
        version: row.version,
        created_at: row.created_at.and_utc(),
        updated_at: row.updated_at.and_utc(),
    }
}

/// A meeting in forum `forum_id`, hosted by `host` with the delegations `set`: the host and
/// every participant must be members. A forum the host is not a member of is refused like one
/// that does not exist (422), so its existence does not leak.
pub(super) fn check_meeting(
    conn: &mut DbConnection,
    forum_id: &ForumId,
    host: &DelegationId,
    set: &[DelegationId],
) -> Result<(), AppError> {
    let members = rows::members_of(conn, &[forum_id.as_str()])?
        .remove(forum_id.as_str())
        .unwrap_or_default();
    if !members.contains(host) {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "forum_id",
            "no forum the host delegation is a member of has this id",
        )]));
    }
    let outsiders: Vec<&DelegationId> = set.iter().filter(|d| !members.contains(d)).collect();
    if outsiders.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid_fields(
            outsiders
                .into_iter()
                .map(|d| {
                    FieldError::new(
                        "participants",
                        format!("delegation {d} is not a member of the forum"),
                    )
                })
                .collect(),
        ))
    }
}

pub async fn create(
    store: &Store,
    ctx: &Context,
    input: NewForum,
    idempotency: Option<idempotency::Key>,
) -> Result<Created<Forum>, AppError> {
    authorize(ctx)?;
    check_texts(Some(&input.name), input.description.as_deref())?;
    let ctx = ctx.clone();
    store
        .write(move |conn| {
            idempotency::once(conn, idempotency.as_ref(), |conn| {
                let members = member_set(conn, &input.members)?;
                let id = ForumId::generate();
                let name = input.name.trim();
                rows::insert(conn, &id, name, input.description.as_deref())?;
                rows::replace_members(conn, &id, &[], &members)?;
                feed_stamps::bump(conn, &member_scopes(&members))?;
                audit::record(
                    conn,
                    &ctx.actor(),
                    Entry {
                        action: "forum.create",
                        entity_type: "forum",
                        entity_id: id.as_str(),
                        summary: format!("forum '{name}' created with {} member(s)", members.len()),
                        parties: members,
                    },
                )?;
                load_visible(conn, &ctx, &id)
            })
        })
        .await
}

pub async fn get(store: &Store, ctx: &Context, id: ForumId) -> Result<Forum, AppError> {
    let ctx = ctx.clone();
    store.read(move |conn| load_visible(conn, &ctx, &id)).await
}

/// The forums the caller may see (every forum for platform admins), by creation.
pub async fn list(
    store: &Store,
    ctx: &Context,
    page: PageRequest,
) -> Result<Page<Forum>, AppError> {
    let ctx = ctx.clone();
    store
        .read(move |conn| {
            let rows = rows::list_visible(conn, viewer(&ctx), page.after.as_deref(), page.fetch())?;
            let page = Page::from_rows(rows, &page, |r| r.id.clone());
            let ids: Vec<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
            let mut members = rows::members_of(conn, &ids)?;
            Ok(page.map(|row| {
                let m = members.remove(&row.id).unwrap_or_default();
                view(row, m)
            }))
        })
        .await
}

/// Edits a forum (platform admins). Removing a member takes away its view of the forum's
/// `forum`-confidential meetings; the meetings themselves stay.
pub async fn update(
    store: &Store,
    ctx: &Context,
    id: ForumId,
    expected_version: Option<i64>,
    patch: ForumPatch,
) -> Result<Forum, AppError> {
    check_texts(
        patch.name.as_deref(),
        patch.description.as_ref().and_then(Option::as_deref),
    )?;
    let ctx = ctx.clone();
    super::write_row(store, Locked::Forum, id.clone(), move |conn| {
        // 404 for a forum the caller may not see; 403 for a member who is no platform admin.
        let current = load_visible(conn, &ctx, &id)?;
        authorize(&ctx)?;
        check_version(expected_version, current.version)?;
        let name = patch
            .name
            .as_deref()
            .map(str::trim)
            .unwrap_or(&current.name)
            .to_owned();
        let description = patch
            .description
            .clone()
            .unwrap_or(current.description.clone());
        let members = match &patch.members {
            Some(given) => member_set(conn, given)?,
            None => current.members.clone(),
        };
        let updated = rows::update(conn, &id, current.version, &name, description.as_deref())?;
        if updated == 0 {
            return Err(stale(expected_version, current.version));
        }
        rows::replace_members(conn, &id, &current.members, &members)?;
        // A member's `visible` feeds show the forum's meetings: who joined or left moves them.
        let mut moved: Vec<DelegationId> = current.members.clone();
        moved.extend(members.iter().cloned());
        moved.retain(|d| current.members.contains(d) != members.contains(d));
        feed_stamps::bump(conn, &member_scopes(&moved))?;
        let joined = members
            .iter()
            .filter(|d| !current.members.contains(d))
            .count();
        let left = current
            .members
            .iter()
            .filter(|d| !members.contains(d))
            .count();
        let mut parties = current.members.clone();
        parties.extend(members.iter().cloned());
        audit::record(
            conn,
            &ctx.actor(),
            Entry {
                action: "forum.update",
                entity_type: "forum",
                entity_id: id.as_str(),
                summary: format!("forum '{name}' edited: {joined} member(s) joined, {left} left"),
                parties,
            },
        )?;
        load_visible(conn, &ctx, &id)
    })
    .await
}
