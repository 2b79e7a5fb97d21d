//! The markdown the run prints: one table per database, then the floor, the open loop and the login
//! flood, memory, and anything that went wrong.
use std::{fmt::Write, time::Duration};

use hdrhistogram::Histogram;

use crate::{load::Mode, load::Outcome, run::RunArgs};

/// One scenario in one round.
pub struct Row {
    pub scenario: &'static str,
    pub mode: Mode,
    pub connections: usize,
    pub outcome: Outcome,
    /// CPU seconds of the process that answered (ips-server, or the floor server).
    pub cpu_process: f64,
    /// CPU seconds of PostgreSQL's processes for this database (0 on SQLite).
    pub cpu_database: f64,
    pub peak_rss: f64,
    /// Logins done in the background (login flood).
    pub flood_logins: Option<u64>,
}

/// Resident memory of ips-server, MiB.
#[derive(Default)]
pub struct Memory {
    pub idle_start: f64,
    pub after_logins: (usize, f64),
    pub after_many_logins: (usize, f64),
    pub peak_logins: f64,
    pub idle_end: f64,
    pub hwm: f64,
}

pub struct DbReport {
    pub name: &'static str,
    pub seed: String,
    pub plans: Option<String>,
    pub memory: Memory,
    pub login_rate: f64,
    /// ips-server's CPU per login (the argon2id verify and the session), ms.
    pub login_cpu_ms: f64,
    pub rows: Vec<Row>,
    pub failures: Vec<String>,
    pub locked_in_log: usize,
    pub server_log: String,
    /// The `reports` scenario: each report's latencies, ms.
    pub reports: Vec<(&'static str, Vec<f64>)>,
}

impl DbReport {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            seed: String::new(),
            plans: None,
            memory: Memory::default(),
            login_rate: 0.0,
            login_cpu_ms: 0.0,
            rows: Vec::new(),
            failures: Vec::new(),
            locked_in_log: 0,
            server_log: String::new(),
            reports: Vec::new(),
        }
    }

    pub fn add(&mut self, row: Row) {
        self.rows.push(row);
    }

    pub fn postgres(&self) -> bool {
        self.name == "PostgreSQL"
    }

    /// Nothing failed: every answer 2xx, no "database is locked", no process died.
    pub fn clean(&self) -> bool {
        self.failures.is_empty()
            && self.locked_in_log == 0
            && self.rows.iter().all(|r| r.outcome.errors() == 0)
    }

    /// All rounds of one scenario together.
    fn summary(&self, scenario: &str) -> Option<Summary> {
        let rows: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.scenario == scenario)
            .collect();
        let first = rows.first()?;
        let mut histogram = first.outcome.histogram.clone();
        for r in &rows[1..] {
            let _ = histogram.add(&r.outcome.histogram);
        }
        let requests: u64 = rows.iter().map(|r| r.outcome.requests()).sum();
        let seconds: f64 = rows.iter().map(|r| r.outcome.seconds).sum();
        let per_req = |cpu: f64, n: u64| {
            if n == 0 {
                f64::NAN
            } else {
                1000.0 * cpu / n as f64
            }
        };
        Some(Summary {
            mode: first.mode,
            connections: first.connections,
            rate: requests as f64 / seconds.max(1e-9),
            histogram,
            cpu: per_req(rows.iter().map(|r| r.cpu_process).sum(), requests),
            cpu_db: per_req(
                rows.iter().map(|r| r.cpu_process + r.cpu_database).sum(),
                requests,
            ),
            cpu_rounds: rows
                .iter()
                .map(|r| per_req(r.cpu_process, r.outcome.requests()))
                .collect(),
            cpu_db_rounds: rows
                .iter()
                .map(|r| per_req(r.cpu_process + r.cpu_database, r.outcome.requests()))
                .collect(),
            peak_rss: rows.iter().map(|r| r.peak_rss).fold(0.0, f64::max),
            errors: rows.iter().map(|r| r.outcome.errors()).sum(),
            locked: rows.iter().map(|r| r.outcome.locked).sum(),
            first_error: rows.iter().find_map(|r| r.outcome.first_error.clone()),
            non_2xx: rows
                .iter()
                .flat_map(|r| r.outcome.non_2xx.iter().copied())
                .collect(),
            flood_logins: rows.iter().filter_map(|r| r.flood_logins).sum(),
            flood_seconds: rows
                .iter()
                .filter(|r| r.flood_logins.is_some())
                .map(|r| r.outcome.seconds)
                .sum(),
        })
    }
}

struct Summary {
    mode: Mode,
    connections: usize,
    rate: f64,
    histogram: Histogram<u64>,
    /// ms of CPU per request: the answering process alone, and with PostgreSQL's.
    cpu: f64,
    cpu_db: f64,
    cpu_rounds: Vec<f64>,
    cpu_db_rounds: Vec<f64>,
    peak_rss: f64,
    errors: u64,
    locked: u64,
    first_error: Option<String>,
    non_2xx: Vec<(u16, u64)>,
    flood_logins: u64,
    flood_seconds: f64,
}

impl Summary {
    fn ms(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1000.0
    }
}

/// `0.614 (0.60, 0.63)`: the total and each round.
pub fn cpu_cell(total: f64, rounds: &[f64]) -> String {
    if !total.is_finite() || rounds.iter().any(|c| !c.is_finite()) {
        return "–".into();
    }
    if rounds.len() < 2 {
        return format!("{total:.3}");
    }
    let each: Vec<String> = rounds.iter().map(|c| format!("{c:.3}")).collect();
    format!("{total:.3} ({})", each.join(", "))
}

pub fn render(
    args: &RunArgs,
    reports: &[DbReport],
    load_before: &str,
    load_after: &str,
    took: Duration,
) -> String {
    let mut o = String::new();
    let cmd: Vec<String> = std::env::args().skip(1).collect();
    let _ = writeln!(o, "# ips-bench\n");
    let _ = writeln!(o, "`ips-bench {}`\n", cmd.join(" "));
    let _ = writeln!(
        o,
        "{} CPU(s); load average {load_before} before, {load_after} after; {:.0} s in all. \
         CPU is utime+stime from /proc over the measured window, divided by the requests answered in it.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        took.as_secs_f64()
    );
    for r in reports {
        render_db(&mut o, args, r);
    }
    o
}

fn render_db(o: &mut String, args: &RunArgs, r: &DbReport) {
    let pg = r.postgres();
    let _ = writeln!(o, "## {}\n", r.name);
    let _ = writeln!(o, "Seeded: {}.\n", r.seed);
    let cpu_head = if pg {
        "CPU ms/req: process | + PostgreSQL"
    } else {
        "CPU ms/req"
    };
    let _ = writeln!(
        o,
        "| scenario | load | req/s | p50 / p99 / p999 ms | {cpu_head} | peak RSS MiB | errors |"
    );
    let _ = writeln!(
        o,
        "|---|---|---:|---:|---:|{}---:|---:|",
        if pg { "---:|" } else { "" }
    );
    for name in crate::run::SCENARIOS {
        let Some(s) = r.summary(name) else { continue };
        let load = match s.mode {
            Mode::Closed => format!("closed, {} conn", s.connections),
            Mode::Open { rate } => format!("open, {rate:.0}/s"),
        };
        let cpu = if pg {
            format!(
                "{} | {}",
                cpu_cell(s.cpu, &s.cpu_rounds),
                cpu_cell(s.cpu_db, &s.cpu_db_rounds)
            )
        } else {
            cpu_cell(s.cpu, &s.cpu_rounds)
        };
        let label = if name == "me_plan_floor" {
            "me_plan_floor (floor server)".to_string()
        } else {
            name.to_string()
        };
        let _ = writeln!(
            o,
            "| {label} | {load} | {:.0} | {:.2} / {:.2} / {:.2} | {cpu} | {:.1} | {} |",
            s.rate,
            s.ms(0.5),
            s.ms(0.99),
            s.ms(0.999),
            s.peak_rss,
            s.errors
        );
    }
    let _ = writeln!(o);

    if let (Some(server), Some(fl)) = (r.summary("me_plan"), r.summary("me_plan_floor")) {
        let (sv, fv) = if pg {
            (server.cpu_db, fl.cpu_db)
        } else {
            (server.cpu, fl.cpu)
        };
        let _ = writeln!(
            o,
            "**Floor** (`GET /me/plan` by one SQL statement on one connection, same JSON): \
             ips-server {sv:.3} ms/req, floor {fv:.3} ms/req{}; floor ÷ server = **{:.2}** \
             (target ≥ 0.85), server is {:.1}× the floor.\n",
            if pg { " (process + PostgreSQL)" } else { "" },
            fv / sv.max(1e-9),
            sv / fv.max(1e-9)
        );
    }
    if let Some(open) = r.summary("me_plan_open") {
        let _ = write!(
            o,
            "**Open loop** at {:.0} req/s: `/me/plan` p99 {:.2} ms (target ≤ 10 ms).",
            args.settings().rate,
            open.ms(0.99)
        );
        if let Some(flood) = r.summary("login_flood_plan") {
            let _ = write!(
                o,
                " **Login flood** ({} logins at once, {:.0} logins/s): p99 {:.2} ms = **{:.2}×** the \
                 idle p99 (target ≤ 2×).",
                args.flood_concurrency,
                flood.flood_logins as f64 / flood.flood_seconds.max(1e-9),
                flood.ms(0.99),
                flood.ms(0.99) / open.ms(0.99).max(1e-9)
            );
        }
        let _ = writeln!(o, "\n");
    }
    let m = &r.memory;
    // Only the load scenarios sample RSS; with none of them run (`--scenarios reports`) there is no peak.
    let scenarios_peak = match r.rows.iter().map(|x| x.peak_rss).reduce(f64::max) {
        Some(peak) => format!("{peak:.1}"),
        None => "not measured (no load scenario)".to_string(),
    };
    let many = if m.after_many_logins.0 > m.after_logins.0 {
        format!(
            "after {} logins {:.1}; ",
            m.after_many_logins.0, m.after_many_logins.1
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        o,
        "**Memory** (ips-server RSS, MiB; targets: ≤ 64 at all times, ≤ 32 idle): idle after start {:.1}; \
         after {} logins ({} at once, {:.0} logins/s, {:.1} ms of server CPU each) {:.1}; {many}peak while \
         logging in {:.1}; peak during the scenarios {}; VmHWM {:.1}; idle at the end {:.1}.\n",
        m.idle_start,
        m.after_logins.0,
        args.login_concurrency,
        r.login_rate,
        r.login_cpu_ms,
        m.after_logins.1,
        m.peak_logins,
        scenarios_peak,
        m.hwm,
        m.idle_end
    );
    if !r.reports.is_empty() {
        let figures: Vec<String> = r
            .reports
            .iter()
            .map(|(report, times)| {
                let mut sorted = times.clone();
                sorted.sort_by(f64::total_cmp);
                format!(
                    "`{report}` {:.1} / {:.1}",
                    sorted[sorted.len() / 2],
                    sorted.last().copied().unwrap_or_default()
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "**Reports** (target: each under 1 s; the whole history as the window, {} requests each, one at a time; median / slowest ms): {}.\n",
            r.reports.first().map_or(0, |(_, t)| t.len()),
            figures.join(", ")
        );
    }
    let mut errors = Vec::new();
    for name in crate::run::SCENARIOS {
        if let Some(s) = r.summary(name)
            && s.errors > 0
        {
            errors.push(format!(
                "{name}: {} errors (statuses {:?}; {} \"database is locked\"); first: {}",
                s.errors,
                s.non_2xx,
                s.locked,
                s.first_error.unwrap_or_default()
            ));
        }
    }
    let _ = writeln!(
        o,
        "**Errors**: {} non-2xx or failed requests; \"database is locked\" in {} answers and {} server log lines.",
        r.rows.iter().map(|x| x.outcome.errors()).sum::<u64>(),
        r.rows.iter().map(|x| x.outcome.locked).sum::<u64>(),
        r.locked_in_log
    );
    for e in errors.iter().chain(&r.failures) {
        let _ = writeln!(o, "- {e}");
    }
    let _ = writeln!(o);
    if let Some(plans) = &r.plans {
        let _ = writeln!(o, "### Query plans ({})\n\n{plans}", r.name);
    }
}
