//! `ips-bench cluster`: drives the instances that `tests/bench/cluster.sh` started behind HAProxy on one
//! PostgreSQL database (it reads the state file the script wrote).
//!
//! - `throughput`: `GET /me/plan` and the WHO-5 submit through the balancer with 1, 2, … instances in
//!   it (the others put in maintenance through HAProxy's admin socket), closed loop; CPU per request of
//!   every ips-server, PostgreSQL's processes for the database and HAProxy, from `/proc`.
//! - `jobs`: reminders, overdue requests, retention erasure and webhook deliveries made due (by SQL on
//!   the seeded database, and a webhook to a receiver this process runs) while every instance runs its
//!   job tick; each must happen exactly once.
//! - `logout`: a logout on one instance; the old access token must be refused by every instance
//!   within 5 s.
//! - `kill`: WHO-5 submits and goal creations through the balancer, `kill -9` of one instance
//!   mid-run; every acknowledged write must be in the database.
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    net::SocketAddr,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, Response, StatusCode, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, UnixStream},
    process::Command,
};

use crate::{
    load::{self, Mode, Outcome, Target},
    procfs, report, run, seed,
    sql::{Conn, Result},
};

pub const CHECKS: [&str; 4] = ["jobs", "logout", "throughput", "kill"];

/// Options of `ips-bench cluster`.
#[derive(clap::Args, Clone, Debug)]
pub struct ClusterArgs {
    /// The state file `tests/bench/cluster.sh` wrote (it sets this variable for its command).
    #[arg(long, env = "IPS_CLUSTER_STATE")]
    pub state: PathBuf,
    /// The checks to run, in this order (comma-separated). `jobs` and `logout` after `kill` run on
    /// the instances still alive.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "jobs,logout,throughput,kill,jobs,logout"
    )]
    pub checks: Vec<String>,
    /// Measured seconds per throughput scenario and instance count.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Unmeasured seconds before each throughput scenario.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Connections of the closed-loop throughput scenarios.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// Candidates logged in for the throughput scenarios (tokens rotated over the requests).
    #[arg(long, default_value_t = 50)]
    pub logins: usize,
    /// Seconds of write load in the kill test.
    #[arg(long, default_value_t = 15.0)]
    pub kill_duration: f64,
    /// When, in seconds after the write load starts, one instance gets `kill -9`.
    #[arg(long, default_value_t = 5.0)]
    pub kill_after: f64,
    /// Connections of the kill test's write load.
    #[arg(long, default_value_t = 16)]
    pub kill_connections: usize,
    /// Candidates writing in the kill test (each may have at most 50 open goals).
    #[arg(long, default_value_t = 200)]
    pub kill_logins: usize,
    /// The instance (1-based) that is killed; default the last.
    #[arg(long)]
    pub kill_instance: Option<usize>,
    /// The longest time a logout may take to reach every instance.
    #[arg(long, default_value_t = 5.0)]
    pub logout_limit: f64,
    /// Write the report here as well as to stdout.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

struct Instance {
    n: usize,
    pid: u32,
    addr: SocketAddr,
    server: String,
}

struct Cluster {
    lb: SocketAddr,
    database_url: String,
    database_name: String,
    haproxy_socket: PathBuf,
    haproxy_pid: u32,
    backend: String,
    instances: Vec<Instance>,
}

impl Cluster {
    fn read(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading the state file {}: {e}", path.display()))?;
        let vars: HashMap<&str, &str> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim(), v.trim()))
            .collect();
        let get = |k: &str| -> Result<String> {
            vars.get(k)
                .map(|v| v.to_string())
                .ok_or_else(|| format!("the state file has no {k}").into())
        };
        let lb = get("LB_URL")?;
        let lb: SocketAddr = lb.trim_start_matches("http://").parse()?;
        let n: usize = get("INSTANCES")?.parse()?;
        let mut instances = Vec::new();
        for i in 1..=n {
            instances.push(Instance {
                n: i,
                pid: get(&format!("INSTANCE_{i}_PID"))?.parse()?,
                addr: get(&format!("INSTANCE_{i}_ADDR"))?.parse()?,
                server: get(&format!("INSTANCE_{i}_SERVER"))?,
            });
        }
        Ok(Self {
            lb,
            database_url: get("DATABASE_URL")?,
            database_name: get("DATABASE_NAME")?,
            haproxy_socket: get("HAPROXY_SOCKET")?.into(),
            haproxy_pid: get("HAPROXY_PID")?.parse()?,
            backend: get("HAPROXY_BACKEND")?,
            instances,
        })
    }

    /// One command on HAProxy's admin socket; its answer.
    async fn haproxy(&self, command: &str) -> Result<String> {
        let mut s = UnixStream::connect(&self.haproxy_socket).await?;
        s.write_all(format!("{command}\n").as_bytes()).await?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).await?;
        Ok(answer.trim().to_string())
    }

    /// Puts the first `n` instances in the balancer, the others in maintenance.
    async fn use_instances(&self, n: usize) -> Result<()> {
        for i in &self.instances {
            let state = if i.n <= n { "ready" } else { "maint" };
            let answer = self
                .haproxy(&format!(
                    "set server {}/{} state {state}",
                    self.backend, i.server
                ))
                .await?;
            if !answer.is_empty() {
                return Err(format!("HAProxy: {answer}").into());
            }
        }
        Ok(())
    }
}

/// CPU seconds so far: every ips-server, PostgreSQL for the database, HAProxy.
#[derive(Clone, Copy, Default)]
struct Cpu {
    servers: f64,
    database: f64,
    balancer: f64,
}

fn read_cpu(c: &Cluster, ticks: f64) -> Cpu {
    Cpu {
        servers: c
            .instances
            .iter()
            .filter_map(|i| procfs::cpu_seconds(i.pid, ticks))
            .sum(),
        database: procfs::postgres_cpu_seconds(&c.database_name, ticks),
        balancer: procfs::cpu_seconds(c.haproxy_pid, ticks).unwrap_or(0.0),
    }
}

/// One request with extra headers; `Err` for a connection failure.
async fn request(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    headers: &[(&str, String)],
    body: Option<&Value>,
) -> Result<(StatusCode, Bytes)> {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr.to_string());
    if let Some(t) = token {
        b = b.header(hyper::header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if body.is_some() {
        b = b.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    let req = b.body(Full::new(
        body.map_or_else(Bytes::new, |v| Bytes::from(v.to_string())),
    ))?;
    let mut sender = load::connect(addr).await?;
    load::send(&mut sender, req).await
}

/// Logs in; the access and refresh tokens.
async fn login_pair(addr: SocketAddr, username: &str) -> Result<(String, String)> {
    let body = json!({"username": username, "password": seed::PASSWORD});
    let (status, bytes) =
        load::once(addr, Method::POST, "/api/v1/auth/login", None, Some(&body)).await?;
    if !status.is_success() {
        return Err(format!("login as {username} answered {status}").into());
    }
    let v: Value = serde_json::from_slice(&bytes)?;
    let field = |k: &str| -> Result<String> {
        Ok(v[k]
            .as_str()
            .ok_or_else(|| format!("the login answer has no {k}"))?
            .to_string())
    };
    Ok((field("access_token")?, field("refresh_token")?))
}

/// The id in a created resource's answer (`id`, or the `id` of its one object).
fn created_id(body: &[u8]) -> Option<uuid::Uuid> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let id = v["id"].as_str().or_else(|| {
        v.as_object()?
            .values()
            .find_map(|inner| inner.get("id")?.as_str())
    })?;
    id.parse().ok()
}

/// `'a','b'` for an SQL `IN` list (uuids only, so nothing to escape).
fn in_list(ids: &[uuid::Uuid]) -> String {
    ids.iter()
        .map(|u| format!("'{u}'"))
        .collect::<Vec<_>>()
        .join(",")
}

async fn count(db: &mut Conn, sql: &str) -> Result<i64> {
    let rows = db.texts(&format!("SELECT ({sql})::text")).await?;
    Ok(rows
        .first()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no count from {sql}"))?)
}

/// A correctness check's outcome.
struct Check {
    name: String,
    pass: bool,
    detail: String,
}

pub async fn cluster(args: ClusterArgs) -> Result<bool> {
    for c in &args.checks {
        if !CHECKS.contains(&c.as_str()) {
            return Err(format!("unknown check `{c}`; known: {}", CHECKS.join(", ")).into());
        }
    }
    let c = Cluster::read(&args.state)?;
    eprintln!(
        "==> cluster: {} instances behind {} (database {})",
        c.instances.len(),
        c.lb,
        c.database_name
    );
    let mut text = format!(
        "# ips-bench cluster\n\n{} ips-server instances behind HAProxy (round robin) at http://{}, one \
         PostgreSQL database. Load average before: {}.\n\n",
        c.instances.len(),
        c.lb,
        load_average()
    );
    let mut checks = Vec::new();
    let mut killed = false;
    for name in &args.checks {
        match name.as_str() {
            "jobs" => checks.push(jobs(&c, killed).await?),
            "logout" => checks.push(logout(&c, args.logout_limit, killed).await?),
            "throughput" if killed => {
                return Err("run `throughput` before `kill`: an instance is dead".into());
            }
            "throughput" => text.push_str(&throughput(&c, &args).await?),
            "kill" => {
                if killed {
                    return Err("`kill` can run only once: an instance is already dead".into());
                }
                killed = true;
                let (check, section) = kill(&c, &args).await?;
                text.push_str(&section);
                checks.push(check);
            }
            _ => unreachable!("checked above"),
        }
    }
    if !checks.is_empty() {
        text.push_str("## Correctness checks\n\n| check | result | details |\n|---|---|---|\n");
        for ch in &checks {
            text.push_str(&format!(
                "| {} | {} | {} |\n",
                ch.name,
                if ch.pass { "PASS" } else { "FAIL" },
                ch.detail.replace('\n', " ")
            ));
        }
    }
    text.push_str(&format!("\nLoad average after: {}.\n", load_average()));
    println!("{text}");
    if let Some(path) = &args.out {
        std::fs::write(path, &text)?;
    }
    Ok(checks.iter().all(|c| c.pass))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------------
// Throughput with 1, 2, … instances.

async fn throughput(c: &Cluster, args: &ClusterArgs) -> Result<String> {
    let ticks = procfs::clock_ticks();
    eprintln!("==> throughput: logging in {} candidates", args.logins);
    let tokens = Arc::new(run::login_many(c.lb, 0..args.logins.max(1), 16).await?);
    let who5 = run::who5_body(c.lb).await?;
    let mut out = format!(
        "## Throughput through the balancer\n\nClosed loop, {} connections to HAProxy, {:.0} s warm-up \
         and {:.0} s measured per row; the instances beyond the count are in maintenance (HAProxy admin \
         socket) but keep running their job ticks. CPU ms/req: all ips-server processes; then with \
         PostgreSQL's processes for this database; HAProxy's apart.\n\n\
         | instances | scenario | req/s | p50 ms | p99 ms | errors | CPU ms/req ips-server | + PostgreSQL | HAProxy ms/req |\n\
         |---|---|---|---|---|---|---|---|---|\n",
        args.connections, args.warmup, args.duration
    );
    for n in 1..=c.instances.len() {
        c.use_instances(n).await?;
        // HAProxy sends nothing to a server in maintenance from the next request on; give the
        // balancer's connection pools a moment.
        tokio::time::sleep(Duration::from_secs(1)).await;
        for scenario in ["me_plan", "who5_submit"] {
            eprintln!("==> throughput: {n} instance(s), {scenario}");
            let target = match scenario {
                "me_plan" => Target::get(c.lb, "/api/v1/me/plan", tokens.clone()),
                _ => Target::post(
                    c.lb,
                    "/api/v1/me/questionnaire-responses",
                    who5.clone(),
                    tokens.clone(),
                ),
            };
            let before = Arc::new(Mutex::new(Cpu::default()));
            let after = Arc::new(Mutex::new(Cpu::default()));
            let (b, a) = (before.clone(), after.clone());
            let o = load::run(
                &target,
                Mode::Closed,
                args.connections,
                Duration::from_secs_f64(args.warmup),
                Duration::from_secs_f64(args.duration),
                || *b.lock().expect("cpu") = read_cpu(c, ticks),
                || *a.lock().expect("cpu") = read_cpu(c, ticks),
            )
            .await?;
            let (b, a) = (*before.lock().expect("cpu"), *after.lock().expect("cpu"));
            out.push_str(&row(n, scenario, &o, b, a));
        }
    }
    c.use_instances(c.instances.len()).await?;
    out.push('\n');
    Ok(out)
}

fn row(n: usize, scenario: &str, o: &Outcome, b: Cpu, a: Cpu) -> String {
    let req = o.requests();
    let per = |s: f64| {
        if req == 0 {
            f64::NAN
        } else {
            1000.0 * s / req as f64
        }
    };
    let ms = |q: f64| o.histogram.value_at_quantile(q) as f64 / 1000.0;
    let errors = if o.errors() == 0 {
        "0".to_string()
    } else {
        format!(
            "{} ({})",
            o.errors(),
            o.first_error.clone().unwrap_or_default().replace('|', "/")
        )
    };
    format!(
        "| {n} | {scenario} | {:.0} | {:.2} | {:.2} | {errors} | {} | {} | {} |\n",
        req as f64 / o.seconds.max(1e-9),
        ms(0.5),
        ms(0.99),
        report::cpu_cell(per(a.servers - b.servers), &[]),
        report::cpu_cell(per(a.servers - b.servers + a.database - b.database), &[]),
        report::cpu_cell(per(a.balancer - b.balancer), &[]),
    )
}

// ---------------------------------------------------------------------------------------------------
// kill -9 under write load.

#[derive(Default)]
struct Writes {
    responses: Vec<uuid::Uuid>,
    goals: Vec<uuid::Uuid>,
    acked_after_kill: u64,
    io_errors: u64,
    non_2xx: BTreeMap<u16, u64>,
    first_error: Option<String>,
}

async fn kill(c: &Cluster, args: &ClusterArgs) -> Result<(Check, String)> {
    let victim_n = args.kill_instance.unwrap_or(c.instances.len());
    let victim = c
        .instances
        .iter()
        .find(|i| i.n == victim_n)
        .ok_or("--kill-instance is not one of the instances")?;
    if c.instances.len() < 2 {
        return Err("the kill test needs at least 2 instances".into());
    }
    c.use_instances(c.instances.len()).await?;
    // Candidates past the throughput test's, so their goals start from none.
    let first = args.logins.max(100);
    eprintln!("==> kill: logging in {} candidates", args.kill_logins);
    let tokens = Arc::new(run::login_many(c.lb, first..first + args.kill_logins.max(1), 16).await?);
    let who5: Value = serde_json::from_slice(&run::who5_body(c.lb).await?)?;
    let writes = Arc::new(Mutex::new(Writes::default()));
    let killed_at: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.kill_duration);
    let conns = args.kill_connections.max(1);
    let mut tasks = Vec::new();
    for k in 0..conns {
        let (tokens, writes, killed_at, who5) = (
            tokens.clone(),
            writes.clone(),
            killed_at.clone(),
            who5.clone(),
        );
        let lb = c.lb;
        tasks.push(tokio::spawn(async move {
            let mut sender = None;
            let mut n = 0usize;
            while Instant::now() < end {
                let token = &tokens[(n * conns + k) % tokens.len()];
                let goal = n % 2 == 1;
                let (path, body) = if goal {
                    (
                        "/api/v1/me/goals",
                        json!({"title": format!("Cluster goal {k}.{n}"), "category": "job"}),
                    )
                } else {
                    ("/api/v1/me/questionnaire-responses", who5.clone())
                };
                n += 1;
                if sender.is_none() {
                    match load::connect(lb).await {
                        Ok(s) => sender = Some(s),
                        Err(e) => {
                            {
                                let mut w = writes.lock().expect("writes");
                                w.io_errors += 1;
                                w.first_error.get_or_insert(e.to_string());
                            }
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            continue;
                        }
                    }
                }
                let req = Request::builder()
                    .method(Method::POST)
                    .uri(path)
                    .header(hyper::header::HOST, lb.to_string())
                    .header(hyper::header::AUTHORIZATION, format!("Bearer {token}"))
                    .header(hyper::header::CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(body.to_string())))
                    .expect("a valid request");
                let result = load::send(sender.as_mut().expect("connected"), req).await;
                let after_kill = killed_at.lock().expect("kill").is_some();
                let mut w = writes.lock().expect("writes");
                match result {
                    Ok((status, body)) if status.is_success() => match created_id(&body) {
                        Some(id) => {
                            if goal {
                                w.goals.push(id);
                            } else {
                                w.responses.push(id);
                            }
                            if after_kill {
                                w.acked_after_kill += 1;
                            }
                        }
                        None => {
                            w.first_error.get_or_insert(format!(
                                "a {status} answer without an id: {}",
                                String::from_utf8_lossy(&body)
                            ));
                            *w.non_2xx.entry(0).or_default() += 1;
                        }
                    },
                    Ok((status, body)) => {
                        *w.non_2xx.entry(status.as_u16()).or_default() += 1;
                        w.first_error.get_or_insert(format!(
                            "{status}: {}",
                            String::from_utf8_lossy(&body)
                                .chars()
                                .take(200)
                                .collect::<String>()
                        ));
                    }
                    Err(e) => {
                        w.io_errors += 1;
                        w.first_error.get_or_insert(e.to_string());
                        sender = None;
                    }
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(args.kill_after)).await;
    eprintln!(
        "==> kill: kill -9 instance {} (pid {})",
        victim.n, victim.pid
    );
    let status = Command::new("kill")
        .args(["-KILL", &victim.pid.to_string()])
        .status()
        .await?;
    *killed_at.lock().expect("kill") = Some(Instant::now());
    if !status.success() {
        return Err(format!("kill -9 {} failed", victim.pid).into());
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let w = std::mem::take(&mut *writes.lock().expect("writes"));

    eprintln!("==> kill: looking up every acknowledged write");
    let mut db = Conn::connect(&c.database_url).await?;
    let mut found = 0usize;
    let mut missing = Vec::new();
    for (table, ids) in [
        ("questionnaire_responses", &w.responses),
        ("goals", &w.goals),
    ] {
        for chunk in ids.chunks(1000) {
            let present: HashSet<String> = db
                .texts(&format!(
                    "SELECT id::text FROM {table} WHERE id IN ({})",
                    in_list(chunk)
                ))
                .await?
                .into_iter()
                .collect();
            found += present.len();
            missing.extend(
                chunk
                    .iter()
                    .filter(|id| !present.contains(&id.to_string()))
                    .map(|id| format!("{table} {id}")),
            );
        }
    }
    db.close().await;
    let acked = w.responses.len() + w.goals.len();
    let non_2xx: Vec<String> = w.non_2xx.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    let pass = missing.is_empty() && acked > 0 && w.acked_after_kill > 0;
    let detail = format!(
        "acknowledged {acked} ({} WHO-5, {} goals; {} after the kill), found {found}, missing {}; \
         connection errors {}, other answers [{}]{}",
        w.responses.len(),
        w.goals.len(),
        w.acked_after_kill,
        missing.len(),
        w.io_errors,
        non_2xx.join(", "),
        w.first_error
            .as_ref()
            .map(|e| format!("; first error: {}", e.replace('|', "/")))
            .unwrap_or_default()
    );
    let section = format!(
        "## kill -9 under write load\n\n{conns} connections through the balancer, WHO-5 submits and goal \
         creations in turn for {elapsed:.1} s; instance {} (pid {}) got `kill -9` after {:.1} s. \
         Missing: {}\n\n",
        victim.n,
        victim.pid,
        args.kill_after,
        if missing.is_empty() {
            "none".to_string()
        } else {
            missing
                .iter()
                .take(10)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    Ok((
        Check {
            name: "kill -9: every acknowledged write is stored".into(),
            pass,
            detail,
        },
        section,
    ))
}

// ---------------------------------------------------------------------------------------------------
// Logout reaches every instance.

fn logout_name(killed: bool) -> String {
    format!(
        "logout reaches every instance{}",
        if killed {
            " still alive (after the kill)"
        } else {
            ""
        }
    )
}

/// Whether the process runs (not gone, not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rfind(')')
                .map(|i| !s[i + 1..].trim_start().starts_with(['Z', 'X']))
        })
        .unwrap_or(false)
}

async fn logout(c: &Cluster, limit: f64, killed: bool) -> Result<Check> {
    let instances: Vec<&Instance> = c.instances.iter().filter(|i| alive(i.pid)).collect();
    eprintln!("==> logout: propagation to every instance");
    let (access, refresh) = login_pair(c.lb, &seed::candidate_username(99)).await?;
    let plan = |addr| {
        let access = access.clone();
        async move {
            request(
                addr,
                Method::GET,
                "/api/v1/me/plan",
                Some(&access),
                &[],
                None,
            )
            .await
            .map(|(s, _)| s)
        }
    };
    // Every instance accepts the token (and caches the session as "not revoked").
    for i in &instances {
        let s = plan(i.addr).await?;
        if !s.is_success() {
            return Ok(Check {
                name: logout_name(killed),
                pass: false,
                detail: format!("instance {} answered {s} before the logout", i.n),
            });
        }
    }
    let first = instances.first().ok_or("no instance is alive")?;
    let (s, _) = request(
        first.addr,
        Method::POST,
        "/api/v1/auth/logout",
        None,
        &[],
        Some(&json!({"refresh_token": refresh})),
    )
    .await?;
    let t0 = Instant::now();
    if !s.is_success() {
        return Err(format!("logout on instance {} answered {s}", first.n).into());
    }
    let mut refused: Vec<Option<f64>> = vec![None; instances.len()];
    // Answers other than 401 to the old token after the logout, per instance.
    let mut accepted = vec![0u32; instances.len()];
    while t0.elapsed() < Duration::from_secs(20) && refused.iter().any(Option::is_none) {
        for (k, i) in instances.iter().enumerate() {
            if refused[k].is_none() {
                if plan(i.addr).await? == StatusCode::UNAUTHORIZED {
                    refused[k] = Some(t0.elapsed().as_secs_f64());
                } else {
                    accepted[k] += 1;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let each: Vec<String> = instances
        .iter()
        .zip(refused.iter().zip(&accepted))
        .map(|(i, (r, a))| match r {
            Some(s) => format!("instance {}: {s:.2} s ({a} polls still accepted)", i.n),
            None => format!("instance {}: still accepted after 20 s", i.n),
        })
        .collect();
    let max = refused
        .iter()
        .map(|r| r.unwrap_or(f64::INFINITY))
        .fold(0.0, f64::max);
    Ok(Check {
        name: logout_name(killed),
        pass: max <= limit,
        detail: format!(
            "logout on instance {}; old access token refused after: {} (max {max:.2} s, limit {limit} s)",
            first.n,
            each.join(", ")
        ),
    })
}

// ---------------------------------------------------------------------------------------------------
// Background jobs happen exactly once.

/// Event ids the receiver got, with how often each came.
type Received = Arc<Mutex<HashMap<String, u32>>>;

async fn receiver() -> Result<(SocketAddr, Received)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let got: Received = Arc::default();
    let g = got.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let g = g.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let g = g.clone();
                    async move {
                        let id = req
                            .headers()
                            .get("x-ips-event-id")
                            .and_then(|v| v.to_str().ok())
                            .map(str::to_string);
                        let _ = req.into_body().collect().await;
                        if let Some(id) = id {
                            *g.lock().expect("received").entry(id).or_default() += 1;
                        }
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((addr, got))
}

async fn jobs(c: &Cluster, killed: bool) -> Result<Check> {
    eprintln!("==> jobs: a webhook to a local receiver, then reminders, overdue requests, erasure");
    let (hook_addr, received) = receiver().await?;
    let (staff, _) = login_pair(c.lb, &seed::coordinator_username(0)).await?;
    let (s, body) = request(
        c.lb,
        Method::POST,
        "/api/v1/webhooks",
        Some(&staff),
        &[("idempotency-key", uuid::Uuid::now_v7().to_string())],
        Some(&json!({
            "url": format!("http://{hook_addr}/hook"),
            "events": ["*"],
            "description": "ips-bench cluster"
        })),
    )
    .await?;
    if !s.is_success() {
        return Err(format!(
            "subscribing a webhook answered {s}: {} (the instances need IPS_WEBHOOK_ALLOW_PRIVATE=true)",
            String::from_utf8_lossy(&body)
        )
        .into());
    }
    let hook = created_id(&body).ok_or("the webhook answer has no id")?;
    let mut db = Conn::connect(&c.database_url).await?;
    let start_seq = count(
        &mut db,
        &format!("SELECT delivered_seq FROM webhooks WHERE id = '{hook}'"),
    )
    .await?;
    let municipality = db
        .texts(&format!(
            "SELECT municipality_id::text FROM webhooks WHERE id = '{hook}'"
        ))
        .await?
        .pop()
        .ok_or("the webhook is not in the database")?;

    // Work for each job, made due by SQL on the seeded rows.
    let uuids =
        |v: Vec<String>| -> Vec<uuid::Uuid> { v.iter().filter_map(|s| s.parse().ok()).collect() };
    let reminders = uuids(
        db.texts(
            "UPDATE appointments SET starts_at = now() + interval '2 hours', \
             ends_at = now() + interval '3 hours' \
             WHERE id IN (SELECT id FROM appointments WHERE status = 'scheduled' \
             AND reminded_at IS NULL AND starts_at > now() + interval '3 days' ORDER BY id LIMIT 100) \
             RETURNING id::text",
        )
        .await?,
    );
    let overdue = uuids(
        db.texts(
            "UPDATE requests SET created_at = now() - interval '30 days' \
             WHERE id IN (SELECT id FROM requests WHERE status = 'open' AND overdue_at IS NULL \
             ORDER BY id LIMIT 5) RETURNING id::text",
        )
        .await?,
    );
    let erase = uuids(
        db.texts(
            "WITH c AS (SELECT id FROM candidates WHERE erased_at IS NULL ORDER BY id DESC LIMIT 10), \
             e AS (UPDATE enrollments SET status = 'stopped', ended_on = DATE '2001-01-31' \
                   WHERE candidate_id IN (SELECT id FROM c)) \
             UPDATE candidates SET status = 'stopped' WHERE id IN (SELECT id FROM c) RETURNING id::text",
        )
        .await?,
    );
    if reminders.is_empty() || overdue.is_empty() || erase.is_empty() {
        return Err(format!(
            "the seeded database has too little to make due: {} appointments, {} requests, {} candidates",
            reminders.len(),
            overdue.len(),
            erase.len()
        )
        .into());
    }
    let (r_in, o_in, e_in) = (in_list(&reminders), in_list(&overdue), in_list(&erase));
    let t0 = Instant::now();
    let mut done_after = None;
    let mut missing_hooks = Vec::new();
    while t0.elapsed() < Duration::from_secs(90) {
        let reminded = count(
            &mut db,
            &format!(
                "SELECT count(*) FROM appointments WHERE id IN ({r_in}) AND reminded_at IS NOT NULL"
            ),
        )
        .await?;
        let flagged = count(
            &mut db,
            &format!(
                "SELECT count(*) FROM requests WHERE id IN ({o_in}) AND overdue_at IS NOT NULL"
            ),
        )
        .await?;
        let erased = count(
            &mut db,
            &format!(
                "SELECT count(*) FROM candidates WHERE id IN ({e_in}) AND erased_at IS NOT NULL"
            ),
        )
        .await?;
        // Every event since the subscription, up to the newest, must have reached the receiver.
        let expected = db
            .texts(&format!(
                "SELECT id::text FROM events WHERE municipality_id = '{municipality}' AND seq > {start_seq} \
                 ORDER BY seq"
            ))
            .await?;
        let got = received.lock().expect("received").clone();
        missing_hooks = expected
            .into_iter()
            .filter(|id| !got.contains_key(id))
            .collect();
        if reminded == reminders.len() as i64
            && flagged == overdue.len() as i64
            && erased == erase.len() as i64
            && missing_hooks.is_empty()
        {
            done_after = Some(t0.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // A few more ticks on every instance: a second run of any job would show now.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let mut problems = Vec::new();
    let checks: Vec<(&str, String, usize)> = vec![
        (
            "reminder notifications",
            format!(
                "SELECT count(*) FROM notifications WHERE kind = 'appointment_reminder' \
                 AND data::jsonb->>'appointment_id' IN ({r_in})"
            ),
            reminders.len(),
        ),
        (
            "appointment.reminder events",
            format!(
                "SELECT count(*) FROM events WHERE event_type = 'appointment.reminder' \
                 AND payload::jsonb->>'appointment_id' IN ({r_in})"
            ),
            reminders.len(),
        ),
        (
            "request.overdue events",
            format!(
                "SELECT count(*) FROM events WHERE event_type = 'request.overdue' \
                 AND payload::jsonb->>'request_id' IN ({o_in})"
            ),
            overdue.len(),
        ),
        (
            "request_overdue inbox items",
            format!(
                "SELECT count(*) FROM inbox_items WHERE kind = 'request_overdue' AND ref_id IN ({o_in})"
            ),
            overdue.len(),
        ),
        (
            "candidate.erased events",
            format!(
                "SELECT count(*) FROM events WHERE event_type = 'candidate.erased' \
                 AND payload::jsonb->>'candidate_id' IN ({e_in})"
            ),
            erase.len(),
        ),
        // Over the whole database: no appointment reminded twice, no request flagged twice, no
        // candidate erased twice (the seeded appointments of tomorrow were reminded at start-up).
        (
            "appointments reminded more than once (whole database)",
            "SELECT count(*) FROM (SELECT data::jsonb->>'appointment_id' FROM notifications \
             WHERE kind = 'appointment_reminder' GROUP BY 1 HAVING count(*) > 1) d"
                .into(),
            0,
        ),
        (
            "appointment.reminder events twice for one appointment (whole database)",
            "SELECT count(*) FROM (SELECT payload::jsonb->>'appointment_id' FROM events \
             WHERE event_type = 'appointment.reminder' GROUP BY 1 HAVING count(*) > 1) d"
                .into(),
            0,
        ),
        (
            "requests flagged overdue twice (whole database)",
            "SELECT count(*) FROM (SELECT payload::jsonb->>'request_id' FROM events \
             WHERE event_type = 'request.overdue' GROUP BY 1 HAVING count(*) > 1) d"
                .into(),
            0,
        ),
        (
            "candidates erased twice (whole database)",
            "SELECT count(*) FROM (SELECT payload::jsonb->>'candidate_id' FROM events \
             WHERE event_type = 'candidate.erased' GROUP BY 1 HAVING count(*) > 1) d"
                .into(),
            0,
        ),
    ];
    let mut parts = Vec::new();
    for (what, sql, want) in checks {
        let got = count(&mut db, &sql).await?;
        parts.push(format!("{what} {got}/{want}"));
        if got != want as i64 {
            problems.push(format!("{what}: {got}, expected {want}"));
        }
    }
    let got = received.lock().expect("received").clone();
    let twice: Vec<&String> = got
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(id, _)| id)
        .collect();
    let deliveries: u32 = got.values().sum();
    parts.push(format!(
        "webhook: {} events received in {deliveries} deliveries, {} twice, {} not delivered",
        got.len(),
        twice.len(),
        missing_hooks.len()
    ));
    if !twice.is_empty() {
        problems.push(format!(
            "webhook events delivered more than once: {}",
            twice.len()
        ));
    }
    if !missing_hooks.is_empty() {
        problems.push(format!(
            "webhook events never delivered: {}",
            missing_hooks.len()
        ));
    }
    if done_after.is_none() {
        problems.push("not all work was done within 90 s".into());
    }
    // Stop the webhook; the rest of the run need not deliver to a receiver that goes away.
    let _ = request(
        c.lb,
        Method::DELETE,
        &format!("/api/v1/webhooks/{hook}"),
        Some(&staff),
        &[],
        None,
    )
    .await;
    db.close().await;
    Ok(Check {
        name: format!(
            "jobs happen exactly once{}",
            if killed { " (after the kill)" } else { "" }
        ),
        pass: problems.is_empty(),
        detail: format!(
            "{} reminders, {} overdue requests, {} erasures made due; all done after {}; {}{}",
            reminders.len(),
            overdue.len(),
            erase.len(),
            done_after.map_or("–".into(), |s| format!("{s:.1} s")),
            parts.join("; "),
            if problems.is_empty() {
                String::new()
            } else {
                format!(" — PROBLEMS: {}", problems.join("; "))
            }
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_created_resources() {
        let id = uuid::Uuid::now_v7();
        assert_eq!(
            created_id(format!(r#"{{"id":"{id}"}}"#).as_bytes()),
            Some(id)
        );
        assert_eq!(
            created_id(format!(r#"{{"goal":{{"id":"{id}"}},"steps":[]}}"#).as_bytes()),
            Some(id)
        );
        assert_eq!(created_id(b"{}"), None);
        assert_eq!(created_id(b"not json"), None);
    }

    #[test]
    fn reads_the_state_file() {
        let path = std::env::temp_dir().join(format!("ips-cluster-state-{}", std::process::id()));
        std::fs::write(
            &path,
            "LB_URL=http://127.0.0.1:9000\nDATABASE_URL=postgres://u@h/db\nDATABASE_NAME=db\n\
             HAPROXY_SOCKET=/x/haproxy.sock\nHAPROXY_PID=10\nHAPROXY_BACKEND=ips\nINSTANCES=2\n\
             INSTANCE_1_PID=11\nINSTANCE_1_ADDR=127.0.0.1:9001\nINSTANCE_1_SERVER=s1\n\
             INSTANCE_2_PID=12\nINSTANCE_2_ADDR=127.0.0.1:9002\nINSTANCE_2_SERVER=s2\n",
        )
        .unwrap();
        let c = Cluster::read(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(c.lb, "127.0.0.1:9000".parse().unwrap());
        assert_eq!(c.instances.len(), 2);
        assert_eq!(c.instances[1].pid, 12);
        assert_eq!(c.instances[1].server, "s2");
        assert_eq!(c.database_name, "db");
    }
}
