use std::process::ExitCode;

use clap::{Parser, Subcommand};

use entente::config::Config;
use entente::service::bootstrap::{self, AdminBootstrap, FIRST_ADMIN_USERNAME};
use entente::store::Store;
use entente::{telemetry, Application};

/// entente: scheduling of diplomatic contacts. Configured by ENTENTE_* variables (see README).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database and serve the API (the default).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
}

fn main() -> ExitCode {
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

fn serve(config: Config) -> Result<(), String> {
    let database = format!("{:?}", config.database_url);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(config).map_err(|e| e.to_string())?;
        if let AdminBootstrap::CreatedWithGeneratedPassword(password) = app.admin_bootstrap() {
            // Shown once, outside the log filter, so that no filter can hide it.
            eprintln!(
                "\n  First start: created the platform admin.\n    username: {FIRST_ADMIN_USERNAME}\n    password: {password}\n  It is shown only this once; set ENTENTE_ADMIN_PASSWORD before the first start to choose it.\n"
            );
        }
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
