//! `ips-bench`: the benchmark harness of IPS Ung (see tests/bench/README.md).
//!
//! - `seed`: fast bulk seeding of a database at any size (after `ips-server migrate`).
//! - `run`: seeds a fresh database, starts the real ips-server on it, drives it over HTTP (closed and
//!   open loop), reads its CPU and memory from /proc, measures the floor, prints markdown tables.
//! - `floor-server`: the floor for `GET /me/plan` (started by `run` as its own process).
//! - `cluster`: the scale-out checks on the instances `tests/bench/cluster.sh` starts.
//! - `explain`: the query plans of the hot queries on a seeded database.
mod cluster;
mod explain;
mod floor;
mod load;
mod procfs;
mod report;
mod run;
mod seed;
mod server;
mod sql;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ips-bench",
    about = "Benchmark harness of IPS Ung: seed, run the real server under load, compare with the floor"
)]
struct Cli {
    /// Worker threads of this process's own runtime (the load generator). One keeps the client
    /// from taking the cores the server is measured on.
    #[arg(long, global = true, default_value_t = 1)]
    client_threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate (with `ips-server migrate`) and seed a fresh database.
    Seed {
        /// `sqlite://PATH?mode=rwc` or `postgres://…`.
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
        /// The ips-server binary (for `migrate`).
        #[arg(long, default_value = "target/release/ips-server")]
        server_bin: std::path::PathBuf,
        #[command(flatten)]
        size: seed::Size,
    },
    /// Seed a fresh database, start ips-server, measure every scenario, print the report.
    Run(Box<run::RunArgs>),
    /// Drive the instances `tests/bench/cluster.sh` started: throughput with 1…N instances behind the
    /// balancer, kill -9 under write load, exactly-once background jobs, logout propagation.
    Cluster(Box<cluster::ClusterArgs>),
    /// Serve the floor of `GET /me/plan` (started by `run`).
    FloorServer(floor::FloorArgs),
    /// Print the query plans of the hot queries on a seeded database.
    Explain {
        #[arg(long, env = "DATABASE_URL")]
        database_url: String,
    },
}

// The allocator and settings ips-server has (`ips_api::memory::tune_allocator`), so the floor is
// measured with the same.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs as the program loads, before anything allocates (see ips-server's `main.rs`).
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE_ALLOCATOR: extern "C" fn() = {
    extern "C" fn tune() {
        // SAFETY: plain integers, before other threads exist. mimalloc v3's `arena_eager_commit` (4)
        // and `purge_delay` (15), both 0.
        unsafe {
            libmimalloc_sys::mi_option_set_default(4, 0);
            libmimalloc_sys::mi_option_set_default(15, 0);
        }
    }
    tune
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The floor server gets a runtime like ips-server's (a worker per core); the load generator one
    // thread unless asked.
    let threads = match cli.command {
        Command::FloorServer(_) => std::thread::available_parallelism().map_or(2, |n| n.get()),
        _ => cli.client_threads.max(1),
    };
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Seed {
                database_url,
                server_bin,
                size,
            } => {
                seed::migrate(&server_bin, &database_url).await?;
                let hash = seed::password_hash()?;
                let s = seed::seed(&database_url, &size, &hash).await?;
                println!(
                    "seeded {} rows ({} candidates, {} with a lived-in plan, {} municipalities) in {:.1} s; \
                     every login's password is {}; usernames {} … and {}",
                    s.rows,
                    s.candidates,
                    s.active,
                    s.municipalities.len(),
                    s.seconds,
                    seed::PASSWORD,
                    seed::candidate_username(0),
                    seed::coordinator_username(0),
                );
                Ok(true)
            }
            Command::Run(args) => run::run(*args).await,
            Command::Cluster(args) => cluster::cluster(*args).await,
            Command::FloorServer(args) => floor::serve(args).await.map(|_| true),
            Command::Explain { database_url } => {
                println!("{}", explain::plans(&database_url).await?);
                Ok(true)
            }
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!(
                "error: some requests failed, a process died or a check failed (see the report)"
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
