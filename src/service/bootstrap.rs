//! What every start does before serving: migrate, create the first platform admin on an empty
//! database, and settle the key that signs access tokens.

use crate::auth::keys::{KeyRing, SigningKey};
use crate::auth::password;
use crate::config::Config;
use crate::domain::identity::Role;
use crate::domain::stored::UserId;
use crate::service::audit::{self, Actor, Entry};
use crate::service::meetings::rederive;
use crate::store::identity::{self as rows, NewUserRow};
use crate::store::migrate::{self, StartupError};
use crate::store::{write_transaction, DbConnection, Store};

pub const FIRST_ADMIN_USERNAME: &str = "admin";

/// What the start found and did.
#[derive(Debug)]
pub struct Startup {
    /// Migrations applied by this start (empty when the schema was current).
    pub applied_migrations: Vec<String>,
    pub admin: AdminBootstrap,
    pub keys: KeyRing,
}

#[derive(Debug, PartialEq, Eq)]
pub enum AdminBootstrap {
    /// The database already had users.
    Existing,
    /// The first admin was created with ENTENTE_ADMIN_PASSWORD.
    CreatedWithConfiguredPassword,
    /// The first admin was created with this random password, to be shown once.
    CreatedWithGeneratedPassword(String),
}

/// Migrates, and re-derives meeting instants if the tz database changed (`entente migrate`).
pub fn migrate(store: &Store) -> Result<Vec<String>, StartupError> {
    let mut conn = store
        .connection()
        .map_err(|e| StartupError::Bootstrap(e.to_string()))?;
    migrate::with_startup_lock(&mut conn, |conn| {
        let applied = migrate::run_pending(conn)?;
        migrate::ensure_meeting_references(conn)?;
        rederive(conn)?;
        Ok(applied)
    })
}

/// Meeting instants follow the bundled tz rules (see `rederive::rederive_utc`).
fn rederive(conn: &mut DbConnection) -> Result<(), StartupError> {
    let outcome = rederive::rederive_utc(conn)
        .map_err(|e| StartupError::Bootstrap(format!("re-deriving meeting times: {e:?}")))?;
    if outcome.checked > 0 {
        tracing::warn!(
            checked = outcome.checked,
            moved = outcome.moved,
            unresolved = ?outcome.unresolved,
            tzdb = crate::domain::zone::TZDB_VERSION,
            "meeting times re-derived for a new tz database"
        );
    }
    Ok(())
}

/// Migrates and bootstraps. Instances starting together on one PostgreSQL database take turns
/// (advisory lock), so exactly one creates the admin and the generated key.
pub fn prepare(store: &Store, config: &Config) -> Result<Startup, StartupError> {
    let mut conn = store
        .connection()
        .map_err(|e| StartupError::Bootstrap(e.to_string()))?;
    migrate::with_startup_lock(&mut conn, |conn| {
        let applied_migrations = migrate::run_pending(conn)?;
        migrate::ensure_meeting_references(conn)?;
        rederive(conn)?;
        let (admin, current) = write_transaction(conn, |conn| {
            let admin = ensure_first_admin(conn, config)?;
            let current = match &config.jwt_secret {
                Some(secret) => SigningKey::from_secret(secret.clone()),
                None => ensure_generated_key(conn)?,
            };
            Ok::<_, StartupError>((admin, current))
        })?;
        let previous = config
            .jwt_previous_secrets
            .iter()
            .cloned()
            .map(SigningKey::from_secret)
            .filter(|key| key.kid != current.kid)
            .collect();
        Ok(Startup {
            applied_migrations,
            admin,
            keys: KeyRing { current, previous },
        })
    })
}

fn ensure_first_admin(
    conn: &mut DbConnection,
    config: &Config,
) -> Result<AdminBootstrap, StartupError> {
    let existing = rows::count(conn)?;
    if existing > 0 {
        if config.admin_password.is_some() {
            tracing::warn!(
                "ENTENTE_ADMIN_PASSWORD is set, but the database already has its users: it is ignored (it only sets the first admin's password on the first start); to change a password, run `entente admin reset-password --username {FIRST_ADMIN_USERNAME}`"
            );
        }
        return Ok(AdminBootstrap::Existing);
    }
    let (plain, outcome) = match &config.admin_password {
        Some(secret) => (
            String::from_utf8_lossy(secret.expose()).into_owned(),
            AdminBootstrap::CreatedWithConfiguredPassword,
        ),
        None => {
            let generated = password::generate();
            (
                generated.clone(),
                AdminBootstrap::CreatedWithGeneratedPassword(generated),
            )
        }
    };
    let hash = password::hash(&plain).map_err(|e| StartupError::Bootstrap(e.to_string()))?;
    let id = UserId::generate();
    let admin = NewUserRow {
        id: &id,
        username: FIRST_ADMIN_USERNAME,
        password_hash: &hash,
        role: Role::PlatformAdmin.as_str(),
        delegation_id: None,
    };
    rows::insert(conn, &admin)?;
    audit::record(
        conn,
        &Actor::system(),
        Entry {
            action: "user.create",
            entity_type: "user",
            entity_id: id.as_str(),
            summary: format!(
                "first platform admin '{FIRST_ADMIN_USERNAME}' created at first start"
            ),
            parties: Vec::new(),
        },
    )?;
    Ok(outcome)
}

/// The generated signing key: the first one stored, created on the first start.
fn ensure_generated_key(conn: &mut DbConnection) -> Result<SigningKey, StartupError> {
    if let Some((kid, secret)) = rows::first_signing_key(conn)? {
        return SigningKey::decode(kid, &secret).ok_or_else(|| {
            StartupError::Bootstrap("the stored signing key is not valid base64".into())
        });
    }
    let key = SigningKey::generate();
    rows::insert_signing_key(conn, &key.kid, &key.encoded_secret())?;
    Ok(key)
}
