//! Logging in and recognising callers.

use std::net::IpAddr;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::delegations::{self, Delegation};
use crate::auth::keys::KeyRing;
use crate::auth::password::PasswordWork;
use crate::auth::{jwt, password};
use crate::config::{Config, LoginThrottle};
use crate::domain::access::Principal;
use crate::domain::identity::Role;
use crate::domain::stored::{DelegationId, UserId};
use crate::domain::throttle;
use crate::error::AppError;
use crate::store::identity::{self as rows, AccountKey, AccountRow};
use crate::store::{now, stored, Store};

/// The same answer for an unknown user and a wrong password.
const BAD_CREDENTIALS: &str = "the username or password is wrong";

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// Who a user is, as login and `/me` show it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, ToSchema)]
pub struct UserSummary {
    #[schema(value_type = String)]
    pub id: UserId,
    pub username: String,
    pub role: Role,
    #[schema(value_type = Option<String>)]
    pub delegation_id: Option<DelegationId>,
}

impl From<&Principal> for UserSummary {
    fn from(p: &Principal) -> Self {
        Self {
            id: p.user_id.clone(),
            username: p.username.clone(),
            role: p.role,
            delegation_id: p.delegation_id.clone(),
        }
    }
}

#[derive(Serialize, Deserialize, Debug, ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    pub user: UserSummary,
}

#[derive(Serialize, Deserialize, Debug, ToSchema)]
pub struct Me {
    pub user: UserSummary,
    /// The caller's delegation; null for platform admins.
    pub delegation: Option<Delegation>,
}

fn principal_of(account: AccountRow, time_zone: Option<String>) -> Result<Principal, AppError> {
    Ok(Principal {
        user_id: UserId::from(account.id),
        username: account.username,
        role: stored::<Role>(&account.role)?,
        delegation_id: account.delegation_id.map(DelegationId::from),
        delegation_time_zone: time_zone,
    })
}

/// Logs in: 200 with a token, one 401 for every wrong combination, 429 while throttled.
///
/// Failed attempts are counted per username and per client address in the database (so the
/// limit holds across instances). While a username is over its limit, every attempt for it —
/// even with the right password — gets 429 with the time to wait; while an address is over its
/// limit, so does every attempt from it for a username that has failed from it. An unknown user
/// costs the same argon2 work as a known one.
pub async fn login(
    store: &Store,
    (config, keys, passwords): (&Config, &KeyRing, &PasswordWork),
    credentials: Credentials,
    client: Option<IpAddr>,
) -> Result<LoginResponse, AppError> {
    let throttle: LoginThrottle = config.login_throttle;
    let window = TimeDelta::from_std(throttle.window).map_err(AppError::internal)?;
    // The throttle key is what the user typed, folded and bounded, valid or not.
    let folded: String = credentials
        .username
        .to_lowercase()
        .chars()
        .take(64)
        .collect();
    let user_subject = format!("user:{folded}");
    let address_subject = client.map(|ip| format!("addr:{ip}"));
    // This username from this address: the per-address limit holds back only these.
    let pair_subject = client.map(|ip| format!("pair:{ip}|{folded}"));

    let (account, wait) = {
        let user_subject = user_subject.clone();
        let address_subject = address_subject.clone();
        let pair_subject = pair_subject.clone();
        let folded = folded.clone();
        store
            .read(move |conn| {
                let at = now();
                let since = at - window;
                let mut wait = throttle::retry_after(
                    &rows::recent_failures(conn, &user_subject, since)?,
                    throttle.max_failures_per_username,
                    window,
                    at,
                );
                if let (Some(address), Some(pair)) = (&address_subject, &pair_subject) {
                    let by_address = throttle::retry_after(
                        &rows::recent_failures(conn, address, since)?,
                        throttle.max_failures_per_address,
                        window,
                        at,
                    );
                    // An address over its limit is held back on the usernames it has been
                    // failing on, not on everyone behind it: a user who has not failed from
                    // there (the admin behind the same proxy) still logs in.
                    if by_address.is_some() && !rows::recent_failures(conn, pair, since)?.is_empty()
                    {
                        wait = wait.max(by_address);
                    }
                }
                let account = rows::active_account(conn, AccountKey::Username(&folded))?;
                Ok::<_, AppError>((account, wait))
            })
            .await?
    };
    if let Some(wait) = wait {
        tracing::warn!(username = %folded, client = ?client, "login throttled");
        return Err(AppError::RateLimited {
            detail: format!(
                "too many failed logins: try again in {} s",
                wait.num_seconds()
            ),
            retry_after: wait.to_std().unwrap_or_default(),
        });
    }

    let stored_hash = account.as_ref().map(|a| a.password_hash.clone());
    let given = credentials.password;
    let matches = passwords
        .run(move || match stored_hash {
            Some(hash) => password::verify(&given, &hash),
            None => {
                // Same work as a real check, so that timing does not tell whether the user exists.
                let _ = password::verify(&given, password::dummy_hash());
                false
            }
        })
        .await?;

    match (account, matches) {
        (Some(account), true) => {
            let generation = account.token_generation;
            let principal = principal_of(account, None)?;
            let (access_token, _) = jwt::issue(
                keys,
                &principal,
                generation,
                config.token_ttl,
                chrono::Utc::now(),
            )
            .map_err(AppError::internal)?;
            tracing::info!(user_id = %principal.user_id, "login");
            Ok(LoginResponse {
                access_token,
                token_type: "Bearer".into(),
                expires_in: config.token_ttl.as_secs(),
                user: UserSummary::from(&principal),
            })
        }
        _ => {
            store
                .write(move |conn| {
                    let at = now();
                    // Forget what has left the window; keep the table small.
                    let subjects: Vec<String> = std::iter::once(user_subject)
                        .chain(address_subject)
                        .chain(pair_subject)
                        .collect();
                    rows::record_failures(conn, &subjects, at, at - window)?;
                    Ok::<_, AppError>(())
                })
                .await?;
            tracing::info!(username = %folded, client = ?client, "login failed");
            Err(AppError::Unauthorized(BAD_CREDENTIALS.into()))
        }
    }
}

/// The caller behind a bearer token, as the database knows them now: a deactivated user's
/// tokens, and those issued before a password reset, stop working at once.
pub async fn authenticate(
    store: &Store,
    keys: &KeyRing,
    token: &str,
) -> Result<Principal, AppError> {
    let claims = jwt::verify(keys, token).map_err(|error| {
        tracing::info!(error = %error, "token refused");
        AppError::Unauthorized("the access token is missing, invalid or expired".into())
    })?;
    store
        .read(move |conn| {
            let subject = UserId::from(claims.sub.clone());
            let account = rows::active_account_with_zone(conn, &subject)?;
            match account {
                Some((account, zone)) if account.token_generation == claims.gen => {
                    principal_of(account, zone)
                }
                Some(_) => {
                    tracing::info!(
                        sub = %claims.sub,
                        "token issued before the user's password was reset"
                    );
                    Err(AppError::Unauthorized(
                        "the access token is missing, invalid or expired".into(),
                    ))
                }
                None => {
                    tracing::info!(sub = %claims.sub, "token of an unknown or deactivated user");
                    Err(AppError::Unauthorized(
                        "the access token is missing, invalid or expired".into(),
                    ))
                }
            }
        })
        .await
}

pub async fn me(store: &Store, principal: &Principal) -> Result<Me, AppError> {
    let delegation = match &principal.delegation_id {
        Some(id) => Some(delegations::get(store, id.clone()).await?),
        None => None,
    };
    Ok(Me {
        user: UserSummary::from(principal),
        delegation,
    })
}
