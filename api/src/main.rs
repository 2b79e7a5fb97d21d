//! `ips-server`: the IPS Ung service and its administration commands.
use std::{io::IsTerminal, process::ExitCode};

// Less CPU per request than glibc's malloc (`tests/bench/README.md`, "mimalloc"); its settings are in
// `ips_api::memory::tune_allocator`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs as the program loads, before Rust's runtime starts: mimalloc reserves its arena, with the
/// settings of that moment, before `main` (called there, `arena_eager_commit` came too late). Elsewhere
/// than Linux, mimalloc keeps its defaults.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = {
    extern "C" fn tune() {
        ips_api::memory::tune_allocator();
    }
    tune
};

use clap::{Parser, Subcommand};
use ips_api::{
    config::Config,
    crypto::Kek,
    db::Db,
    demo,
    domain::{self, passwords::Hasher, tokens},
    state::AppState,
};

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
    /// Print the OpenAPI spec (JSON) to stdout; with --out DIR write openapi.json and openapi.yaml
    /// there; with --check compare them with the code instead.
    Openapi {
        /// Write openapi.json and openapi.yaml into this folder instead of printing.
        #[arg(long, value_name = "DIR")]
        out: Option<std::path::PathBuf>,
        /// Fail if openapi.json and openapi.yaml in the --out folder (default `openapi`) differ from
        /// the code; writes nothing.
        #[arg(long)]
        check: bool,
    },
    /// Create an admin (the installation's operator). The password comes from --password-file, or
    /// is asked for (twice, not echoed) when stdin is a terminal, or is read as the first line of stdin.
    CreateAdmin {
        #[arg(long)]
        username: String,
        /// A file whose first line is the password (the safe way in scripts).
        #[arg(long, conflicts_with = "password")]
        password_file: Option<std::path::PathBuf>,
        /// The password itself. Avoid it: other users of the machine can see it in the process list.
        #[arg(long, env = "IPS_ADMIN_PASSWORD", hide_env_values = true)]
        password: Option<String>,
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
    /// Re-seal the stored secrets under a new key-encryption key (then restart every instance with it).
    Rewrap {
        /// A file holding the new key-encryption key (32 random bytes in base64).
        #[arg(long)]
        new_key_file: std::path::PathBuf,
    },
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

fn main() -> ExitCode {
    // Before any thread starts allocating, and before SQLite starts.
    ips_api::memory::limit_arenas();
    ips_api::db::sqlite_without_memory_statistics();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(start()),
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn start() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi { out, check } = &cli.command {
        return openapi(out.as_deref(), *check);
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

/// The demo's key-encryption key: the configured one, or a key file kept beside the demo database
/// (made on first use). Only `--demo` and `seed-demo` may do this; a real installation passes its
/// own key, kept apart from the database and its backups.
fn demo_kek(config: &mut Config) -> Result<(), String> {
    if config.kek()?.is_some() {
        return Ok(());
    }
    let dir = ips_api::db::sqlite_parent_dir(&config.database_url)
        .map(std::path::Path::to_path_buf)
        .unwrap_or_else(|| std::path::PathBuf::from("data"));
    let path = dir.join("key-encryption-key");
    if !path.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        let (_, text) = Kek::generate();
        write_private(&path, &format!("{text}\n"))?;
    }
    eprintln!(
        "demo: using the key-encryption key in {} (a real installation sets IPS_KEY_ENCRYPTION_KEY_FILE)",
        path.display()
    );
    config.key_encryption_key_file = Some(path);
    Ok(())
}

/// Writes a file only its owner may read.
fn write_private(path: &std::path::Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| format!("writing {}: {e}", path.display()))
}

/// The new admin's password: from the file, the flag, a prompt on a terminal, or stdin's first line.
fn admin_password(
    file: Option<std::path::PathBuf>,
    flag: Option<String>,
) -> Result<String, String> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_string());
    }
    if let Some(password) = flag {
        return Ok(password);
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password for the new admin: ")
            .map_err(|e| e.to_string())?;
        let again =
            rpassword::prompt_password("The same password again: ").map_err(|e| e.to_string())?;
        if first != again {
            return Err("the two passwords differ".into());
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| format!("reading the password from stdin: {e}"))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

async fn run(cli: Cli) -> Result<(), String> {
    let mut config = cli.config;
    match cli.command {
        Command::Serve { demo: with_demo } => {
            if with_demo {
                demo_kek(&mut config)?;
            }
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
            password_file,
            password,
            email,
        } => {
            let password = admin_password(password_file, password)?;
            domain::identity::check_password(&password)
                .map_err(|_| "the password must be 10–128 characters".to_string())?;
            // No keys are needed to create an account: only the database and the hasher.
            let db = Db::connect(&config).await.map_err(|e| e.to_string())?;
            db.migrate().await.map_err(|e| e.to_string())?;
            let hash = Hasher::new(1)
                .hash(&password)
                .await
                .map_err(|e| e.to_string())?;
            let id = domain::accounts::create_admin(&db, hash, &username, email)
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
            demo_kek(&mut config)?;
            let state = AppState::build(config).await.map_err(|e| e.to_string())?;
            let logins = demo::seed(&state).await.map_err(|e| e.to_string())?;
            print_logins(logins, &state.config.bind);
            Ok(())
        }
        Command::Keys { action } => {
            let kek = config
                .kek()?
                .ok_or_else(|| ips_api::state::KEK_REQUIRED.to_string())?;
            let db = Db::connect(&config).await.map_err(|e| e.to_string())?;
            db.migrate().await.map_err(|e| e.to_string())?;
            match action {
                KeysAction::Rotate => {
                    let kid = tokens::rotate(&db, &kek).await.map_err(|e| e.to_string())?;
                    println!("new signing key {kid}; older keys verify until their tokens expire");
                }
                KeysAction::Rewrap { new_key_file } => {
                    let text = std::fs::read_to_string(&new_key_file)
                        .map_err(|e| format!("reading {}: {e}", new_key_file.display()))?;
                    let new = Kek::parse(&text)?;
                    let (keys, webhooks) = tokens::rewrap(&db, &kek, &new)
                        .await
                        .map_err(|e| e.to_string())?;
                    println!(
                        "{keys} signing keys and {webhooks} webhook secrets re-sealed; restart every instance with the new key-encryption key"
                    );
                }
            }
            Ok(())
        }
        Command::Openapi { .. } => unreachable!("handled before logging starts"),
    }
}

fn openapi(out: Option<&std::path::Path>, check: bool) -> ExitCode {
    if check {
        let dir = out.unwrap_or(std::path::Path::new("openapi"));
        let stale = ips_api::stale_spec_files(dir);
        if stale.is_empty() {
            println!("{} matches the code", dir.display());
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "{} in {} differ from the code: run `cargo run -p ips-api --bin ips-server -- openapi --out {}` and commit",
            stale.join(", "),
            dir.display(),
            dir.display()
        );
        return ExitCode::FAILURE;
    }
    let Some(dir) = out else {
        print!("{}", ips_api::spec_json());
        return ExitCode::SUCCESS;
    };
    if let Err(e) = ips_api::write_spec_files(dir) {
        eprintln!("error writing {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    eprintln!("wrote {0}/openapi.json and {0}/openapi.yaml", dir.display());
    ExitCode::SUCCESS
}
