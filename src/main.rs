use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use entente::config::{Config, DatabaseUrl};
use entente::domain::delegation::DelegationKind;
use entente::domain::identity::Role;
use entente::error::AppError;
use entente::service::bootstrap::{self, AdminBootstrap, FIRST_ADMIN_USERNAME};
use entente::service::delegations::{self, NewDelegation};
use entente::service::users::{self, NewUser};
use entente::service::Context;
use entente::store::Store;
use entente::{telemetry, Application};

/// What every command reads from the environment (the README's "Configure it" has the details).
const ENVIRONMENT: &str = "\
Configuration (environment variables, all optional):
  ENTENTE_DATABASE_URL          sqlite://entente.db (default) or postgres://user:pass@host/db
  ENTENTE_DATABASE_POOL_SIZE    connections per instance (default 10)
  ENTENTE_PASSWORD_CONCURRENCY  password hashes at once (default: half the cores, at least 1)
  ENTENTE_FEED_CACHE_MB         megabytes of rendered feeds kept per instance (default: 64; 0: none)
  ENTENTE_BIND                  listen address (default 127.0.0.1:8080)
  ENTENTE_ADMIN_PASSWORD        the first platform admin's password (first start only)
  ENTENTE_JWT_SECRET            token signing key, 32 bytes or more (default: generated, kept in the database)
  ENTENTE_JWT_PREVIOUS_SECRETS  keys still accepted during a rotation, comma-separated
  ENTENTE_TOKEN_TTL             access token lifetime (default 1h)
  ENTENTE_LOGIN_MAX_FAILURES    failed logins per username before 429 (default 10)
  ENTENTE_LOGIN_MAX_FAILURES_PER_ADDRESS  failed logins per client address before 429 (default 50)
  ENTENTE_LOGIN_FAILURE_WINDOW  the window of those limits (default 15m)
  ENTENTE_TRUSTED_PROXIES       reverse proxies whose X-Forwarded-For is believed (CIDRs)
  ENTENTE_PUBLIC_URL            absolute base URL for feed links
  ENTENTE_LOG                   tracing filter (default info)
  ENTENTE_LOG_FORMAT            text (default) or json
  ENTENTE_NEW_PASSWORD          the password for `admin create-user` / `admin reset-password`";

/// entente: scheduling of diplomatic contacts. Configured by ENTENTE_* variables (see README).
#[derive(Parser)]
#[command(version, about, after_help = ENVIRONMENT)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the API (the default).
    #[command(after_help = ENVIRONMENT)]
    Serve,
    /// Apply pending database migrations, then exit.
    #[command(after_help = ENVIRONMENT)]
    Migrate,
    /// Administration without the API (migrates first; audited as the system).
    Admin(Admin),
}

#[derive(Args)]
struct Admin {
    /// Create the database if it does not exist yet (an SQLite file); without it, a missing
    /// database is refused, so that a mistyped directory or URL creates nothing.
    #[arg(long, global = true)]
    create: bool,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a delegation.
    CreateDelegation {
        /// 2–32 characters of A-Z, 0-9, '-', e.g. RU, US, UN-GENEVA.
        #[arg(long)]
        code: String,
        #[arg(long)]
        name: String,
        /// state, organization or other.
        #[arg(long, default_value = "state")]
        kind: String,
        /// IANA zone of the delegation's seat, e.g. Europe/Moscow.
        #[arg(long)]
        time_zone: String,
        #[arg(long)]
        contact_email: Option<String>,
    },
    /// Create a user. The password is read from ENTENTE_NEW_PASSWORD when set, otherwise from
    /// the first line of standard input; never from an argument (arguments show in `ps`).
    CreateUser {
        #[arg(long)]
        username: String,
        /// admin, scheduler or viewer (with --delegation), or platform_admin (without).
        #[arg(long)]
        role: String,
        /// The delegation's code; omit it for a platform admin.
        #[arg(long)]
        delegation: Option<String>,
    },
    /// Set a user's password (read as for create-user).
    ResetPassword {
        #[arg(long)]
        username: String,
    },
}

/// glibc raises its mmap threshold to the size of the largest block freed so far, after which
/// big blocks (a feed being rendered: megabytes) come from per-thread arenas that keep them once
/// freed: the process then holds hundreds of MB it does not use. A fixed threshold keeps blocks
/// of 256 KiB and more in their own mappings, returned to the system when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks() {
    // SAFETY: mallopt only sets an allocator parameter; called first thing in main, before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks() {}

fn main() -> ExitCode {
    return_large_blocks();
    let cli = Cli::parse();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("entente: {error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config),
        Command::Migrate => migrate(&config),
        Command::Admin(command) => admin(&config, command),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("entente: {message}");
            ExitCode::FAILURE
        }
    }
}

fn migrate(config: &Config) -> Result<(), String> {
    let store = Store::open(&config.database_url, 1)
        .map_err(|e| format!("ENTENTE_DATABASE_URL: cannot open the database: {e}"))?;
    let applied = bootstrap::migrate(&store).map_err(|e| format!("ENTENTE_DATABASE_URL: {e}"))?;
    if applied.is_empty() {
        tracing::info!(database = ?config.database_url, "the schema is current");
    } else {
        tracing::info!(database = ?config.database_url, applied = ?applied, "migrations applied");
    }
    Ok(())
}

/// The new password: ENTENTE_NEW_PASSWORD, or the first line of standard input.
fn read_new_password() -> Result<String, String> {
    if let Ok(password) = std::env::var("ENTENTE_NEW_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("cannot read the password from standard input: {e}"))?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err("no password: set ENTENTE_NEW_PASSWORD or give it on standard input".into());
    }
    Ok(password)
}

fn problem_line(error: AppError) -> String {
    match error {
        AppError::Validation { errors, .. } if !errors.is_empty() => errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        AppError::Validation { detail, .. } => detail,
        AppError::Internal(cause) => format!("internal error: {cause}"),
        other => other.to_string(),
    }
}

fn admin(config: &Config, Admin { create, command }: Admin) -> Result<(), String> {
    if let DatabaseUrl::Sqlite(path) = &config.database_url {
        if !create && !path.exists() {
            return Err(format!(
                "no entente database at {} (ENTENTE_DATABASE_URL): start `entente serve` or `entente migrate` with this configuration first, or pass --create",
                std::path::absolute(path).unwrap_or_else(|_| path.clone()).display()
            ));
        }
    }
    let passwords = entente::auth::password::PasswordWork::new(config.password_concurrency);
    let store = Store::open(&config.database_url, 2)
        .map_err(|e| format!("ENTENTE_DATABASE_URL: cannot open the database: {e}"))?;
    let startup =
        bootstrap::prepare(&store, config).map_err(|e| format!("ENTENTE_DATABASE_URL: {e}"))?;
    show_first_admin(&startup.admin);
    let ctx = Context::system();
    actix_web::rt::System::new().block_on(async move {
        match command {
            AdminCommand::CreateDelegation {
                code,
                name,
                kind,
                time_zone,
                contact_email,
            } => {
                let kind = DelegationKind::parse(&kind).ok_or_else(|| {
                    format!("--kind: '{kind}' is not one of state, organization, other")
                })?;
                let input = NewDelegation {
                    code,
                    name,
                    kind,
                    time_zone,
                    working_hours: None,
                    contact_email,
                };
                let created = delegations::create(&store, &ctx, input)
                    .await
                    .map_err(problem_line)?;
                println!("{} {} {}", created.id, created.code, created.name);
            }
            AdminCommand::CreateUser {
                username,
                role,
                delegation,
            } => {
                let role = Role::parse(&role).ok_or_else(|| {
                    format!(
                        "--role: '{role}' is not one of admin, scheduler, viewer, platform_admin"
                    )
                })?;
                let delegation_id = match delegation {
                    Some(code) => Some(
                        delegations::id_for_code(&store, code)
                            .await
                            .map_err(problem_line)?,
                    ),
                    None => None,
                };
                let password = read_new_password()?;
                let input = NewUser {
                    username,
                    password,
                    role,
                };
                let created = users::create((&store, &passwords), &ctx, delegation_id, input)
                    .await
                    .map_err(problem_line)?;
                println!(
                    "{} {} {}",
                    created.id,
                    created.username,
                    created.role.as_str()
                );
            }
            AdminCommand::ResetPassword { username } => {
                let password = read_new_password()?;
                let user = users::reset_password((&store, &passwords), &ctx, &username, &password)
                    .await
                    .map_err(problem_line)?;
                println!("password of {} reset", user.username);
            }
        }
        Ok(())
    })
}

/// The first admin's generated password, shown once, outside the log filter, so that no filter
/// can hide it (whichever command made the database).
fn show_first_admin(bootstrap: &AdminBootstrap) {
    if let AdminBootstrap::CreatedWithGeneratedPassword(password) = bootstrap {
        eprintln!(
            "\n  First start: created the platform admin.\n    username: {FIRST_ADMIN_USERNAME}\n    password: {password}\n  It is shown only this once; set ENTENTE_ADMIN_PASSWORD before the first start to choose it.\n"
        );
    }
}

fn serve(config: Config) -> Result<(), String> {
    let database = format!("{:?}", config.database_url);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config).map_err(|e| e.to_string())?;
        show_first_admin(app.admin_bootstrap());
        tracing::info!(
            address = %app.local_addr(),
            database = %database,
            migrations_applied = app.applied_migrations().len(),
            "entente is serving on http://{}",
            app.local_addr()
        );
        app.run_until_stopped()
            .await
            .map_err(|e| format!("server error: {e}"))?;
        tracing::info!("entente stopped");
        Ok(())
    })
}
