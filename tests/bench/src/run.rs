//! `ips-bench run`: seed a fresh database, start the real ips-server on it (and the floor server beside
//! it), log in, drive every scenario, read CPU and memory from `/proc`, and print the tables.
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use hyper::Method;
use serde_json::json;
use tokio::process::Command;

use crate::{
    explain, floor,
    load::{self, Mode, Target},
    procfs::{self, RssSampler},
    report::{self, DbReport, Row},
    seed::{self, Size},
    server::{self, Process},
    sql::{Conn, Result},
};

/// Which databases to run on.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Which {
    Sqlite,
    Postgres,
    Both,
}

/// Options of `ips-bench run`.
#[derive(clap::Args, Clone, Debug)]
pub struct RunArgs {
    /// The database(s) to measure.
    #[arg(long, value_enum, default_value = "sqlite")]
    pub db: Which,
    /// A smoke test: about 3 s per scenario, one round, fewer logins. No thresholds: it fails only
    /// when a request fails or a process dies.
    #[arg(long)]
    pub quick: bool,
    /// Measured seconds per scenario (default 20; 2.5 with --quick).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Unmeasured seconds before each scenario (default 2; 0.5 with --quick).
    #[arg(long)]
    pub warmup: Option<f64>,
    /// Rounds of all scenarios (default 2; 1 with --quick).
    #[arg(long)]
    pub rounds: Option<usize>,
    /// Connections of the closed-loop scenarios (default 64; 8 with --quick, so that a debug build
    /// answers inside the short window).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Requests per second of the open-loop scenarios (default 500; 100 with --quick).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Candidates logged in for the scenarios (their tokens are rotated over the requests).
    #[arg(long)]
    pub logins: Option<usize>,
    /// Logins in all before the "after N logins" memory reading (default 1,000; 100 with --quick).
    #[arg(long)]
    pub rss_logins: Option<usize>,
    /// Logins at once while logging in.
    #[arg(long, default_value_t = 16)]
    pub login_concurrency: usize,
    /// Logins at once during the login flood (above the server's hashing limit, so it stays full).
    #[arg(long, default_value_t = 8)]
    pub flood_concurrency: usize,
    /// Only these scenarios (comma-separated); default all.
    #[arg(long, value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// The ips-server binary.
    #[arg(long, default_value = "target/release/ips-server")]
    pub server_bin: PathBuf,
    /// PostgreSQL admin connection; a fresh database is created through it and dropped at the end.
    #[arg(
        long,
        env = "IPS_BENCH_PG_ADMIN_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub pg_admin_url: String,
    /// Extra environment for ips-server, e.g. `--server-env IPS_SQLITE_READERS=8`.
    #[arg(long = "server-env", value_name = "KEY=VALUE")]
    pub server_env: Vec<String>,
    /// Also print the query plans of the hot queries (EXPLAIN) for the seeded database.
    #[arg(long)]
    pub explain: bool,
    /// Write the report here as well as to stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Keep the work folder (SQLite file, logs) and the PostgreSQL database.
    #[arg(long)]
    pub keep: bool,
    #[command(flatten)]
    pub size: Size,
}

pub const SCENARIOS: [&str; 8] = [
    "healthz",
    "candidates_page",
    "me_plan",
    "me_plan_floor",
    "me_plan_open",
    "who5_submit",
    "login_flood_plan",
    "reports",
];

/// The reports of SPEC §4.10, as the coordinator asks for them (the whole history as the window).
const REPORTS: [&str; 6] = [
    "outcomes",
    "wellbeing",
    "questionnaires/who5",
    "durations",
    "fidelity",
    "network-groups",
];

/// How often each report is asked for in the `reports` scenario.
const REPORT_TIMES: usize = 5;

pub struct Settings {
    pub connections: usize,
    pub rate: f64,
    duration: Duration,
    warmup: Duration,
    rounds: usize,
    logins: usize,
    rss_logins: usize,
}

impl RunArgs {
    pub fn settings(&self) -> Settings {
        let q = self.quick;
        Settings {
            connections: self.connections.unwrap_or(if q { 8 } else { 64 }).max(1),
            rate: self.rate.unwrap_or(if q { 100.0 } else { 500.0 }),
            duration: Duration::from_secs_f64(self.duration.unwrap_or(if q { 2.5 } else { 20.0 })),
            warmup: Duration::from_secs_f64(self.warmup.unwrap_or(if q { 0.5 } else { 2.0 })),
            rounds: self.rounds.unwrap_or(if q { 1 } else { 2 }).max(1),
            logins: self.logins.unwrap_or(if q { 20 } else { 100 }).max(1),
            rss_logins: self.rss_logins.unwrap_or(if q { 100 } else { 1_000 }),
        }
    }

    fn wants(&self, scenario: &str) -> bool {
        self.scenarios.is_empty() || self.scenarios.iter().any(|s| s == scenario)
    }
}

/// Runs everything; `Ok(false)` when a request failed or a process died (the report says which).
pub async fn run(args: RunArgs) -> Result<bool> {
    for s in &args.scenarios {
        if !SCENARIOS.contains(&s.as_str()) {
            return Err(format!("unknown scenario `{s}`; known: {}", SCENARIOS.join(", ")).into());
        }
    }
    if !args.server_bin.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release -p ips-api --bin ips-server` or pass --server-bin",
            args.server_bin.display()
        )
        .into());
    }
    let dbs: &[Which] = match args.db {
        Which::Both => &[Which::Sqlite, Which::Postgres],
        Which::Sqlite => &[Which::Sqlite],
        Which::Postgres => &[Which::Postgres],
    };
    let started = Instant::now();
    let load_before = load_average();
    let mut reports = Vec::new();
    let mut ok = true;
    for &which in dbs {
        let r = on_database(&args, which).await?;
        ok &= r.clean();
        reports.push(r);
    }
    let text = report::render(
        &args,
        &reports,
        &load_before,
        &load_average(),
        started.elapsed(),
    );
    println!("{text}");
    if let Some(path) = &args.out {
        std::fs::write(path, &text)?;
    }
    Ok(ok)
}

/// `/proc/loadavg`'s first three numbers.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The URL of database `name` on the server of `admin` (its path replaced).
pub fn database_url(admin: &str, name: &str) -> String {
    let base = admin.split('?').next().unwrap_or(admin);
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    match base[after_scheme..].find('/') {
        Some(slash) => format!("{}/{name}", &base[..after_scheme + slash]),
        None => format!("{base}/{name}"),
    }
}

fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000)
}

async fn on_database(args: &RunArgs, which: Which) -> Result<DbReport> {
    let work = std::env::temp_dir().join(format!("ips-bench-{}", unique_suffix()));
    std::fs::create_dir_all(&work)?;
    let (url, pg_name) = match which {
        Which::Postgres => {
            let name = format!("ips_bench_{}", unique_suffix());
            let mut admin = Conn::connect(&args.pg_admin_url).await.map_err(|e| {
                format!(
                    "connecting to PostgreSQL at {} (set --pg-admin-url): {e}",
                    args.pg_admin_url
                )
            })?;
            admin.exec(&format!("CREATE DATABASE \"{name}\"")).await?;
            admin.close().await;
            (database_url(&args.pg_admin_url, &name), Some(name))
        }
        _ => (
            format!("sqlite://{}?mode=rwc", work.join("bench.db").display()),
            None,
        ),
    };
    eprintln!(
        "==> {}: work folder {}",
        backend_name(which),
        work.display()
    );
    let result = measure(args, which, &url, pg_name.as_deref(), &work).await;
    if !args.keep {
        if let Some(name) = &pg_name
            && let Ok(mut admin) = Conn::connect(&args.pg_admin_url).await
        {
            let _ = admin
                .exec(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            admin.close().await;
        }
        if result.as_ref().is_ok_and(|r| r.clean()) {
            let _ = std::fs::remove_dir_all(&work);
        }
    }
    result
}

fn backend_name(which: Which) -> &'static str {
    match which {
        Which::Postgres => "PostgreSQL",
        _ => "SQLite",
    }
}

/// CPU counters read at the edges of a measured window.
#[derive(Clone, Copy, Default)]
struct Cpu {
    process: f64,
    database: f64,
}

struct Meter {
    ticks: f64,
    pg_database: Option<String>,
}

impl Meter {
    fn read(&self, pid: u32) -> Cpu {
        Cpu {
            process: procfs::cpu_seconds(pid, self.ticks).unwrap_or(0.0),
            database: self
                .pg_database
                .as_deref()
                .map_or(0.0, |db| procfs::postgres_cpu_seconds(db, self.ticks)),
        }
    }
}

async fn measure(
    args: &RunArgs,
    which: Which,
    url: &str,
    pg_name: Option<&str>,
    work: &Path,
) -> Result<DbReport> {
    let st = args.settings();
    let mut rep = DbReport::new(backend_name(which));

    eprintln!("==> migrating and seeding");
    let t = Instant::now();
    seed::migrate(&args.server_bin, url).await?;
    let hash = seed::password_hash()?;
    let seeded = seed::seed(url, &args.size, &hash).await?;
    rep.seed = format!(
        "{} rows ({} candidates) in {:.1} s (migrations included: {:.1} s)",
        seeded.rows,
        seeded.candidates,
        seeded.seconds,
        t.elapsed().as_secs_f64()
    );
    if args.explain {
        rep.plans = Some(explain::plans(url).await?);
    }

    let port = server::free_port()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse()?;
    let mut cmd = Command::new(&args.server_bin);
    cmd.arg("serve")
        .env("DATABASE_URL", url)
        .env("IPS_BIND", addr.to_string())
        .env("IPS_JOBS_INTERVAL_SECS", "0")
        .env("IPS_LOG", "warn")
        .env("IPS_LOG_FORMAT", "text")
        .env("IPS_LOGIN_FAILURES_PER_ACCOUNT_HOUR", "1000000")
        .env("IPS_LOGIN_FAILURES_PER_ADDRESS_HOUR", "1000000")
        // Tokens must outlive the whole run.
        .env("IPS_ACCESS_TOKEN_TTL_SECS", "14400")
        // A fresh key-encryption key for this throwaway database.
        .env("IPS_KEY_ENCRYPTION_KEY", throwaway_kek())
        .env("IPS_SHUTDOWN_TIMEOUT_SECS", "5");
    for kv in &args.server_env {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| format!("--server-env {kv}: expected KEY=VALUE"))?;
        cmd.env(k, v);
    }
    let meter = Meter {
        ticks: procfs::clock_ticks(),
        pg_database: pg_name.map(str::to_string),
    };
    eprintln!("==> starting ips-server on {addr}");
    let mut server = Process::start("ips-server", cmd, addr, &work.join("server.log")).await?;
    // Idle after start: three seconds after the readiness check's last request. The server gives
    // back what starting freed once a whole tick of its one-second clock has passed without a
    // request, so between one and two seconds after the last one (this was read after one second
    // before it did).
    tokio::time::sleep(Duration::from_secs(3)).await;
    rep.memory.idle_start = procfs::rss_mib(server.pid);

    // Logins: the first ones give the scenarios' tokens; memory is read after them and after all.
    eprintln!("==> logging in {} candidates", st.rss_logins.max(st.logins));
    let total = st.rss_logins.max(st.logins).min(seeded.candidates);
    let sampler = RssSampler::start(server.pid);
    let t = Instant::now();
    let cpu = meter.read(server.pid).process;
    let tokens = login_many(addr, 0..st.logins.min(total), args.login_concurrency).await?;
    rep.memory.after_logins = (tokens.len(), procfs::rss_mib(server.pid));
    rep.login_rate = tokens.len() as f64 / t.elapsed().as_secs_f64();
    login_many(addr, st.logins.min(total)..total, args.login_concurrency).await?;
    rep.login_cpu_ms = 1000.0 * (meter.read(server.pid).process - cpu) / total.max(1) as f64;
    rep.memory.after_many_logins = (total, procfs::rss_mib(server.pid));
    rep.memory.peak_logins = sampler.finish();
    let tokens = Arc::new(tokens);
    let coordinator = Arc::new(vec![login(addr, &seed::coordinator_username(0)).await?]);

    let who5_body = who5_body(addr).await?;

    // The floor server, checked against ips-server's own answer.
    let mut floor_proc = None;
    if args.wants("me_plan_floor") {
        let fport = server::free_port()?;
        let faddr: SocketAddr = format!("127.0.0.1:{fport}").parse()?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.arg("floor-server")
            .arg("--database-url")
            .arg(url)
            .arg("--bind")
            .arg(faddr.to_string())
            .arg("--server")
            .arg(addr.to_string());
        eprintln!("==> starting the floor server on {faddr}");
        let p = Process::start("floor-server", cmd, faddr, &work.join("floor.log")).await?;
        // Two candidates: with the default seed the first is in a network group, the second not.
        for token in tokens.iter().take(2) {
            compare_plans(addr, faddr, token).await?;
        }
        floor_proc = Some(p);
    }

    let flood_users: Arc<Vec<String>> =
        Arc::new((0..total.max(1)).map(seed::candidate_username).collect());
    for round in 1..=st.rounds {
        for &name in SCENARIOS.iter().filter(|s| args.wants(s)) {
            eprintln!("==> round {round}: {name}");
            if name == "reports" {
                if round == 1 {
                    rep.reports = reports(addr, &coordinator[0]).await?;
                }
                continue;
            }
            let (target, mode, pid) = match name {
                "healthz" => (
                    Target::get(addr, "/healthz", Arc::new(Vec::new())),
                    Mode::Closed,
                    server.pid,
                ),
                "candidates_page" => (
                    Target::get(addr, "/api/v1/candidates?limit=10", coordinator.clone()),
                    Mode::Closed,
                    server.pid,
                ),
                "me_plan" => (
                    Target::get(addr, "/api/v1/me/plan", tokens.clone()),
                    Mode::Closed,
                    server.pid,
                ),
                "me_plan_floor" => {
                    let f = floor_proc.as_ref().ok_or("no floor server")?;
                    (
                        Target::get(f.addr, "/api/v1/me/plan", tokens.clone()),
                        Mode::Closed,
                        f.pid,
                    )
                }
                "me_plan_open" | "login_flood_plan" => (
                    Target::get(addr, "/api/v1/me/plan", tokens.clone()),
                    Mode::Open { rate: st.rate },
                    server.pid,
                ),
                "who5_submit" => (
                    Target::post(
                        addr,
                        "/api/v1/me/questionnaire-responses",
                        who5_body.clone(),
                        tokens.clone(),
                    ),
                    Mode::Closed,
                    server.pid,
                ),
                _ => unreachable!("checked above"),
            };
            let flood = (name == "login_flood_plan")
                .then(|| Flood::start(addr, flood_users.clone(), args.flood_concurrency));
            if flood.is_some() {
                // Let the hashing queue fill before measuring.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let sampler = RssSampler::start(pid);
            let before = Arc::new(Mutex::new(Cpu::default()));
            let after = Arc::new(Mutex::new(Cpu::default()));
            let (b, a) = (before.clone(), after.clone());
            let outcome = load::run(
                &target,
                mode,
                st.connections,
                st.warmup,
                st.duration,
                || *b.lock().expect("cpu") = meter.read(pid),
                || *a.lock().expect("cpu") = meter.read(pid),
            )
            .await?;
            let peak = sampler.finish();
            let logins = match flood {
                Some(f) => Some(f.stop().await),
                None => None,
            };
            let (b, a) = (*before.lock().expect("cpu"), *after.lock().expect("cpu"));
            rep.add(Row {
                scenario: name,
                mode,
                connections: st.connections,
                outcome,
                cpu_process: a.process - b.process,
                cpu_database: a.database - b.database,
                peak_rss: peak,
                flood_logins: logins,
            });
            if rep.rows.last().is_some_and(|r| r.outcome.requests() == 0) {
                rep.failures.push(format!(
                    "{name} (round {round}): no request was answered inside the measured window"
                ));
            }
            if !server.alive() {
                rep.failures.push("ips-server died during the run".into());
                break;
            }
        }
    }
    // Idle: two seconds after the last request (the hashing threads give their areas back within a
    // quarter of a second of the last login).
    tokio::time::sleep(Duration::from_secs(2)).await;
    rep.memory.idle_end = procfs::rss_mib(server.pid);
    rep.memory.hwm = procfs::hwm_mib(server.pid);
    rep.locked_in_log = server.log_count("database is locked");
    rep.server_log = server.log.display().to_string();
    if let Some(f) = floor_proc
        && let Err(e) = f.stop().await
    {
        rep.failures.push(e.to_string());
    }
    if let Err(e) = server.stop().await {
        rep.failures.push(e.to_string());
    }
    if !rep.failures.is_empty() {
        rep.failures.push(format!(
            "last lines of the server log:\n{}",
            server::tail(Path::new(&rep.server_log), 20)
        ));
    }
    Ok(rep)
}

/// Each report `REPORT_TIMES` times, one request at a time: the latencies (ms) per report, in order.
async fn reports(addr: SocketAddr, token: &str) -> Result<Vec<(&'static str, Vec<f64>)>> {
    let to = chrono::Utc::now().date_naive();
    let mut out = Vec::new();
    for report in REPORTS {
        let path = format!("/api/v1/reports/{report}?from=2000-01-01&to={to}");
        let mut times = Vec::new();
        for _ in 0..REPORT_TIMES {
            let started = std::time::Instant::now();
            let (status, body) = load::once(addr, Method::GET, &path, Some(token), None).await?;
            if !status.is_success() {
                return Err(format!(
                    "GET {path} answered {status}: {}",
                    String::from_utf8_lossy(&body)
                )
                .into());
            }
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        out.push((report, times));
    }
    Ok(out)
}

async fn login(addr: SocketAddr, username: &str) -> Result<String> {
    let body = json!({"username": username, "password": seed::PASSWORD});
    let (status, bytes) =
        load::once(addr, Method::POST, "/api/v1/auth/login", None, Some(&body)).await?;
    if !status.is_success() {
        return Err(format!(
            "login as {username} answered {status}: {}",
            String::from_utf8_lossy(&bytes)
        )
        .into());
    }
    let v: serde_json::Value = serde_json::from_slice(&bytes)?;
    Ok(v["access_token"]
        .as_str()
        .ok_or("the login answer has no access_token")?
        .to_string())
}

/// The body of a valid WHO-5 submit (raw score 15, no alert), from the served definition.
pub async fn who5_body(addr: SocketAddr) -> Result<Bytes> {
    let (status, body) =
        load::once(addr, Method::GET, "/api/v1/questionnaires/who5", None, None).await?;
    if !status.is_success() {
        return Err(format!("GET /api/v1/questionnaires/who5 answered {status}").into());
    }
    let def: serde_json::Value = serde_json::from_slice(&body)?;
    let answers: Vec<_> = def["items"]
        .as_array()
        .ok_or("the WHO-5 definition has no items")?
        .iter()
        .map(|i| json!({"item": i["id"], "value": 3}))
        .collect();
    Ok(Bytes::from(
        json!({"questionnaire": "who5", "version": def["version"], "answers": answers}).to_string(),
    ))
}

/// Logs in the candidates with these indexes, `concurrency` at a time; their tokens in order.
pub async fn login_many(
    addr: SocketAddr,
    range: std::ops::Range<usize>,
    concurrency: usize,
) -> Result<Vec<String>> {
    let indexes: Vec<usize> = range.collect();
    let mut tokens = vec![String::new(); indexes.len()];
    for (c, chunk) in indexes.chunks(concurrency.max(1)).enumerate() {
        let mut set = tokio::task::JoinSet::new();
        for (j, &i) in chunk.iter().enumerate() {
            set.spawn(async move {
                (
                    c * concurrency.max(1) + j,
                    login(addr, &seed::candidate_username(i)).await,
                )
            });
        }
        while let Some(done) = set.join_next().await {
            let (slot, token) = done?;
            tokens[slot] = token.map_err(|e| e.to_string())?;
        }
    }
    Ok(tokens)
}

/// Logins in the background, as many at once as `concurrency`, until stopped.
struct Flood {
    stop: Arc<std::sync::atomic::AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<u64>>,
}

impl Flood {
    fn start(addr: SocketAddr, users: Arc<Vec<String>>, concurrency: usize) -> Self {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let tasks = (0..concurrency.max(1))
            .map(|k| {
                let (stop, users) = (stop.clone(), users.clone());
                tokio::spawn(async move {
                    let mut n = 0u64;
                    let mut i = k;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        if login(addr, &users[i % users.len()]).await.is_ok() {
                            n += 1;
                        }
                        i += concurrency.max(1);
                    }
                    n
                })
            })
            .collect();
        Self { stop, tasks }
    }

    /// Stops and returns the number of successful logins.
    async fn stop(self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut n = 0;
        for t in self.tasks {
            n += t.await.unwrap_or(0);
        }
        n
    }
}

/// Fails loudly unless the floor answers exactly what ips-server answers.
async fn compare_plans(server: SocketAddr, floor: SocketAddr, token: &str) -> Result<()> {
    let get = |addr| load::once(addr, Method::GET, "/api/v1/me/plan", Some(token), None);
    let (s1, b1) = get(server).await?;
    let (s2, b2) = get(floor).await?;
    if !s1.is_success() || !s2.is_success() {
        return Err(format!(
            "GET /me/plan: ips-server {s1}, floor {s2}: {}",
            String::from_utf8_lossy(&b2)
        )
        .into());
    }
    let a: serde_json::Value = serde_json::from_slice(&b1)?;
    let b: serde_json::Value = serde_json::from_slice(&b2)?;
    if let Some(diff) = floor::first_difference(&a, &b) {
        return Err(format!(
            "the floor's /me/plan differs from ips-server's at {diff} (ips-server vs floor); \
             the floor must build the same answer: update tests/bench/src/floor.rs"
        )
        .into());
    }
    Ok(())
}

/// 32 random bytes in base64: the key-encryption key of a benchmark's throwaway database.
fn throwaway_kek() -> String {
    use base64::Engine;
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            database_url("postgres://u@h:5432", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            database_url("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x"
        );
    }
}
