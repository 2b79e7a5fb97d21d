//! `ips-server`: the IPS Ung service and its administration commands.
use std::{io::IsTerminal, process::ExitCode};

use clap::{Parser, Subcommand};
use ips_api::{config::Config, db::Db, demo, domain, state::AppState, tokens};

#[derive(Parser)]
#[command(
    name = "ips-server",
    version,
    about = "IPS Ung: the REST service and candidate portal"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (migrations are applied at start).
    Serve {
        /// Create the demo municipality, staff and candidates (if missing) and print their logins.
        #[arg(long)]
        demo: bool,
    },
    /// Apply the database migrations and exit.
    Migrate,
    /// Write openapi/openapi.json and openapi/openapi.yaml from the code (or compare with --check).
    Openapi {
        /// Fail if the committed files differ from the code, instead of writing them.
        #[arg(long)]
        check: bool,
        /// The folder to write to or compare with.
        #[arg(long, default_value = "openapi")]
        dir: std::path::PathBuf,
    },
    /// Create an admin (the installation's operator).
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long, env = "IPS_ADMIN_PASSWORD")]
        password: String,
        #[arg(long)]
        email: Option<String>,
    },
    /// Create the demo data and print the logins.
    SeedDemo,
    /// Signing keys.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
}

#[derive(Subcommand)]
enum KeysAction {
    /// Add a new signing key; older keys keep verifying until their tokens expire.
    Rotate,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("IPS_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn,sea_orm_migration=warn")
    });
    let format = std::env::var("IPS_LOG_FORMAT").unwrap_or_else(|_| "auto".into());
    let json = match format.as_str() {
        "json" => true,
        "text" => false,
        _ => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    if json {
        builder.json().flatten_event(true).init()
    } else {
        builder.init()
    }
}

fn print_logins(logins: &[demo::Login], bind: &str) {
    println!("\nDemo logins (Demo Kommune):");
    for l in logins {
        println!("  {:<28} {:<20} {}", l.role, l.username, l.password);
    }
    println!("\nPortal: http://{bind}/   API reference: http://{bind}/docs\n");
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi { check, dir } = &cli.command {
        return openapi(*check, dir);
    }
    init_logging();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let config = cli.config;
    match cli.command {
        Command::Serve { demo: with_demo } => {
            let state = AppState::build(config).await.map_err(|e| e.to_string())?;
            if with_demo {
                let logins = demo::seed(&state).await.map_err(|e| e.to_string())?;
                print_logins(logins, &state.config.bind);
            }
            ips_api::serve(state).await.map_err(|e| e.to_string())
        }
        Command::Migrate => {
            let db = Db::connect(&config).await.map_err(|e| e.to_string())?;
            db.migrate().await.map_err(|e| e.to_string())?;
            println!("migrations applied");
            Ok(())
        }
        Command::CreateAdmin {
            username,
            password,
            email,
        } => {
            domain::identity::check_password(&password)
                .map_err(|_| "the password must be 10–128 characters".to_string())?;
            let state = AppState::build(config).await.map_err(|e| e.to_string())?;
            let hash = state
                .hasher
                .hash(&password)
                .await
                .map_err(|e| e.to_string())?;
            let id = domain::accounts::create_admin(&state.db, hash, &username, email)
                .await
                .map_err(|e| match e {
                    domain::DomainError::Conflict(m) => m,
                    domain::DomainError::Invalid(errs) => errs
                        .into_iter()
                        .map(|e| format!("{}: {}", e.field, e.message))
                        .collect::<Vec<_>>()
                        .join("; "),
                    other => other.to_string(),
                })?;
            println!("admin {username} created ({id})");
            Ok(())
        }
        Command::SeedDemo => {
            let state = AppState::build(config).await.map_err(|e| e.to_string())?;
            let logins = demo::seed(&state).await.map_err(|e| e.to_string())?;
            print_logins(logins, &state.config.bind);
            Ok(())
        }
        Command::Keys {
            action: KeysAction::Rotate,
        } => {
            let db = Db::connect(&config).await.map_err(|e| e.to_string())?;
            db.migrate().await.map_err(|e| e.to_string())?;
            let kid = tokens::rotate(&db).await.map_err(|e| e.to_string())?;
            println!("new signing key {kid}; older keys verify until their tokens expire");
            Ok(())
        }
        Command::Openapi { .. } => unreachable!("handled before logging starts"),
    }
}

fn openapi(check: bool, dir: &std::path::Path) -> ExitCode {
    let files = [
        ("openapi.json", ips_api::spec_json()),
        ("openapi.yaml", ips_api::spec_yaml()),
    ];
    if check {
        let stale: Vec<&str> = files
            .iter()
            .filter(|(name, content)| {
                std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(content.as_str())
            })
            .map(|(name, _)| *name)
            .collect();
        if stale.is_empty() {
            println!("openapi/ matches the code");
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "openapi/{} differ from the code: run `cargo run -p ips-api --bin ips-server -- openapi` and commit",
            stale.join(", openapi/")
        );
        return ExitCode::FAILURE;
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    for (name, content) in &files {
        if let Err(e) = std::fs::write(dir.join(name), content) {
            eprintln!("error writing {name}: {e}");
            return ExitCode::FAILURE;
        }
    }
    println!("wrote {}/openapi.json and openapi.yaml", dir.display());
    ExitCode::SUCCESS
}
