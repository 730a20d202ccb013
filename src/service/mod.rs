//! Use cases: authorization, one transaction each, orchestration of domain rules and the store.

pub mod audit;
pub mod availability;
pub mod bootstrap;
pub mod channels;
pub mod delegations;
pub mod export;
pub mod feed;
pub mod feed_cache;
pub mod forums;
pub mod idempotency;
pub mod identity;
pub mod meetings;
pub mod users;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::domain::access::Principal;
use crate::domain::identity::Role;
use crate::domain::stored::{DelegationId, UserId};
use crate::error::{AppError, FieldError};
use crate::store::{lock_row, DbConnection, Locked, Store};

/// Who runs a use case: an authenticated user (with the request's id), or the system itself
/// (the `entente admin` commands), which acts with platform rights and is audited as such.
#[derive(Clone, Debug)]
pub struct Context {
    pub principal: Principal,
    pub request_id: Option<String>,
    system: bool,
}

impl Context {
    pub fn user(principal: Principal, request_id: Option<String>) -> Self {
        Self {
            principal,
            request_id,
            system: false,
        }
    }

    pub fn system() -> Self {
        Self {
            principal: Principal {
                user_id: UserId::from(""),
                username: "(system)".into(),
                role: Role::PlatformAdmin,
                delegation_id: None,
                delegation_time_zone: None,
            },
            request_id: None,
            system: true,
        }
    }

    pub fn actor(&self) -> audit::Actor {
        if self.system {
            return audit::Actor::system();
        }
        audit::Actor {
            user_id: Some(self.principal.user_id.clone()),
            delegation_id: self.principal.delegation_id.clone(),
            request_id: self.request_id.clone(),
        }
    }
}

/// The caller's delegation, when `allowed` says the caller may act for it this way; else 403
/// with `refusal` (platform admins belong to no delegation).
pub fn acting_for(
    ctx: &Context,
    allowed: impl Fn(&Principal, &DelegationId) -> bool,
    refusal: &str,
) -> Result<DelegationId, AppError> {
    match &ctx.principal.delegation_id {
        Some(d) if allowed(&ctx.principal, d) => Ok(d.clone()),
        _ => Err(AppError::Forbidden(refusal.to_owned())),
    }
}

/// Text checks (`domain::meeting::check_len` results; None where the field is absent) as the
/// field errors of a 422.
pub fn length_errors<const N: usize>(
    checks: [Option<Result<(), (String, String)>>; N],
) -> Vec<FieldError> {
    checks
        .into_iter()
        .flatten()
        .filter_map(Result::err)
        .map(|(field, message)| FieldError::new(field, message))
        .collect()
}

/// API.md: `?limit=` defaults to 50, at most 500.
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 500;

fn bad_cursor() -> AppError {
    AppError::invalid_fields(vec![FieldError::new(
        "cursor",
        "not a cursor this API gave out",
    )])
}

/// A page request: how many, and after which sort key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<String>,
}

impl PageRequest {
    pub fn parse(limit: Option<u32>, cursor: Option<&str>) -> Result<Self, AppError> {
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::invalid_fields(vec![FieldError::new(
                "limit",
                format!("must be from 1 to {MAX_PAGE}"),
            )]));
        }
        let after = cursor
            .map(|c| {
                URL_SAFE_NO_PAD
                    .decode(c)
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(bad_cursor)
            })
            .transpose()?;
        Ok(Self {
            limit: i64::from(limit),
            after,
        })
    }

    /// The cursor's sort key, read by `read`; one it cannot read → 422 on `cursor`.
    pub fn after_key<T>(
        &self,
        read: impl FnOnce(&str) -> Option<T>,
    ) -> Result<Option<T>, AppError> {
        self.after
            .as_deref()
            .map(|raw| read(raw).ok_or_else(bad_cursor))
            .transpose()
    }

    /// Rows to load: one more than the page, to know whether another page follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

/// One page of a list, as every list endpoint answers (`next_cursor`: null on the last page).
#[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Cuts `rows` (loaded with `PageRequest::fetch`) to the page; the cursor is the sort key
    /// of the last item when more rows follow.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, key: impl Fn(&T) -> String) -> Self {
        let limit = usize::try_from(request.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|last| URL_SAFE_NO_PAD.encode(key(last)))
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

/// `If-Match` (as `expected`) against the version just read: a mismatch → 412, changing nothing.
/// The `UPDATE … WHERE version = ?` that follows catches a change made in between.
pub fn check_version(expected: Option<i64>, current: i64) -> Result<(), AppError> {
    match expected {
        Some(v) if v != current => Err(stale(Some(v), current)),
        _ => Ok(()),
    }
}

/// The outcome of an optimistic `UPDATE … WHERE version = ?`: no row means someone else
/// changed it first.
pub fn stale(expected: Option<i64>, current: i64) -> AppError {
    match expected {
        Some(expected) => AppError::PreconditionFailed(format!(
            "the resource is at version {current}, not {expected}: reload it and apply your change again"
        )),
        None => AppError::LostRace("the resource was changed concurrently".into()),
    }
}

/// A use case that changes one row (and what hangs on it): the row's write lock is taken first,
/// so that writers of the same row queue instead of racing (`store::lock_row`), and a write that
/// lost a race all the same is run again (`write_retrying`). Every versioned update goes through
/// here.
pub async fn write_row<T, F>(
    store: &Store,
    row: Locked,
    id: impl AsRef<str>,
    f: F,
) -> Result<T, AppError>
where
    F: Fn(&mut DbConnection) -> Result<T, AppError> + Send + Sync + 'static,
    T: Send + 'static,
{
    let id = id.as_ref().to_owned();
    write_retrying(store, move |conn| {
        lock_row(conn, row, &id)?;
        f(conn)
    })
    .await
}

/// How many times `write_retrying` runs a write.
pub const WRITE_ATTEMPTS: u32 = 5;

/// `store.write(f)`, run again on the state the other writer left when it lost a race: an
/// optimistic `UPDATE … WHERE version = ?` that found another version while the client sent no
/// If-Match (an unconditional change simply applies, on either backend), or a PostgreSQL
/// serialization failure. Still losing after `WRITE_ATTEMPTS` → 503 `unavailable` with
/// `Retry-After`, never `conflict` (which means a scheduling conflict).
async fn write_retrying<T, F>(store: &Store, f: F) -> Result<T, AppError>
where
    F: Fn(&mut DbConnection) -> Result<T, AppError> + Send + Sync + 'static,
    T: Send + 'static,
{
    let f = std::sync::Arc::new(f);
    for attempt in 1..=WRITE_ATTEMPTS {
        let once = f.clone();
        match store.write(move |conn| once(conn)).await {
            Err(AppError::LostRace(reason)) => {
                tracing::debug!(attempt, %reason, "write lost a race; running it again");
                let pause = 5 * u64::from(attempt) + u64::from(rand::random::<u8>() % 10);
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            }
            other => return other,
        }
    }
    Err(AppError::Unavailable {
        detail: "the resource is being changed by others right now: try again".into(),
        retry_after: std::time::Duration::from_secs(1),
    })
}

/// A window `[from, to)` of at most `max_days` days (422 on `to` otherwise).
pub fn check_window(
    (from, to): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    max_days: i64,
) -> Result<(), AppError> {
    if to <= from {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "to",
            "must be after from",
        )]));
    }
    if to - from > chrono::TimeDelta::days(max_days) {
        return Err(AppError::invalid_fields(vec![FieldError::new(
            "to",
            format!("the window is at most {max_days} days"),
        )]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_limits() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, 50);
        assert_eq!(PageRequest::parse(Some(500), None).unwrap().limit, 500);
        for bad in [0, 501] {
            assert_eq!(
                PageRequest::parse(Some(bad), None).unwrap_err().code(),
                "validation"
            );
        }
        assert_eq!(
            PageRequest::parse(None, Some("%%%")).unwrap_err().code(),
            "validation"
        );
    }

    #[test]
    fn pages_chain_through_cursors() {
        let all: Vec<String> = (0..7).map(|i| format!("k{i}")).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let request = PageRequest::parse(Some(3), cursor.as_deref()).unwrap();
            let rows: Vec<String> = all
                .iter()
                .filter(|k| request.after.as_ref().is_none_or(|a| *k > a))
                .take(usize::try_from(request.fetch()).unwrap())
                .cloned()
                .collect();
            let page = Page::from_rows(rows, &request, Clone::clone);
            assert!(page.items.len() <= 3);
            seen.extend(page.items);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, all);
    }
}
