//! The load generator: keep-alive HTTP/1 connections (hyper's client connection, one task each),
//! closed loop (each connection sends its next request when the answer arrives) or open loop (requests
//! at a fixed rate, latency measured from the time each request was *due*, so a slow server cannot
//! hide its queueing: no coordinated omission).
use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode, client::conn::http1};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::sql::Result;

/// One kind of request; `tokens` are rotated over the requests of all connections.
#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub method: Method,
    pub path: String,
    pub body: Option<Bytes>,
    pub tokens: Arc<Vec<String>>,
}

impl Target {
    pub fn get(addr: SocketAddr, path: &str, tokens: Arc<Vec<String>>) -> Self {
        Self {
            addr,
            method: Method::GET,
            path: path.to_string(),
            body: None,
            tokens,
        }
    }

    pub fn post(addr: SocketAddr, path: &str, body: Bytes, tokens: Arc<Vec<String>>) -> Self {
        Self {
            addr,
            method: Method::POST,
            path: path.to_string(),
            body: Some(body),
            tokens,
        }
    }

    fn request(&self, n: usize) -> Request<Full<Bytes>> {
        let mut b = Request::builder()
            .method(self.method.clone())
            .uri(&self.path)
            .header(hyper::header::HOST, self.addr.to_string());
        if !self.tokens.is_empty() {
            let token = &self.tokens[n % self.tokens.len()];
            b = b.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        if self.body.is_some() {
            b = b.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        b.body(Full::new(self.body.clone().unwrap_or_default()))
            .expect("a valid request")
    }
}

/// How to drive the load.
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    /// `connections` connections, each sending as fast as answers come back.
    Closed,
    /// `rate` requests per second in all, spread evenly over the connections.
    Open { rate: f64 },
}

/// What one run measured (only requests answered inside the measured window count).
pub struct Outcome {
    pub histogram: Histogram<u64>,
    pub ok: u64,
    /// Answers other than 2xx, by status.
    pub non_2xx: Vec<(u16, u64)>,
    /// Connection or protocol failures.
    pub io_errors: u64,
    /// Answers whose body mentions "database is locked".
    pub locked: u64,
    pub seconds: f64,
    /// An example of a failed answer, for the report.
    pub first_error: Option<String>,
}

impl Outcome {
    pub fn requests(&self) -> u64 {
        self.ok + self.errors()
    }

    pub fn errors(&self) -> u64 {
        self.non_2xx.iter().map(|(_, n)| n).sum::<u64>() + self.io_errors
    }
}

struct Local {
    histogram: Histogram<u64>,
    ok: u64,
    non_2xx: std::collections::BTreeMap<u16, u64>,
    io_errors: u64,
    locked: u64,
    first_error: Option<String>,
}

impl Local {
    fn new() -> Self {
        Self {
            // 1 µs to 60 s, 3 significant digits.
            histogram: Histogram::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
            ok: 0,
            non_2xx: Default::default(),
            io_errors: 0,
            locked: 0,
            first_error: None,
        }
    }
}

pub async fn connect(addr: SocketAddr) -> Result<http1::SendRequest<Full<Bytes>>> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request; `Err` for a connection failure, else the status and body.
pub async fn send(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let resp = sender.send_request(req).await?;
    let status = resp.status();
    let body = resp.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Runs the load: `warmup` first (not counted), then `duration` measured. `on_start` and `on_end` are
/// called when the measured window opens and closes (the caller reads the CPU counters there).
pub async fn run(
    target: &Target,
    mode: Mode,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    on_start: impl FnOnce(),
    on_end: impl FnOnce(),
) -> Result<Outcome> {
    let connections = connections.max(1);
    let start = Instant::now();
    let measure_from = start + warmup;
    let end = measure_from + duration;
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..connections {
        let target = target.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            connection(target, mode, k, connections, start, measure_from, end, stop).await
        }));
    }
    tokio::time::sleep_until(measure_from.into()).await;
    on_start();
    tokio::time::sleep_until(end.into()).await;
    on_end();
    stop.store(true, Ordering::Relaxed);
    let measured = end.duration_since(measure_from).as_secs_f64();
    let mut total = Local::new();
    for t in tasks {
        let l = t.await?;
        total.histogram.add(&l.histogram)?;
        total.ok += l.ok;
        for (s, n) in l.non_2xx {
            *total.non_2xx.entry(s).or_default() += n;
        }
        total.io_errors += l.io_errors;
        total.locked += l.locked;
        if total.first_error.is_none() {
            total.first_error = l.first_error;
        }
    }
    Ok(Outcome {
        histogram: total.histogram,
        ok: total.ok,
        non_2xx: total.non_2xx.into_iter().collect(),
        io_errors: total.io_errors,
        locked: total.locked,
        seconds: measured,
        first_error: total.first_error,
    })
}

#[allow(clippy::too_many_arguments)]
async fn connection(
    target: Target,
    mode: Mode,
    k: usize,
    connections: usize,
    start: Instant,
    measure_from: Instant,
    end: Instant,
    stop: Arc<AtomicBool>,
) -> Local {
    let mut local = Local::new();
    let mut sender = None;
    let mut n = 0usize;
    loop {
        // Closed loop: the request is due now. Open loop: connection k sends request n at
        // start + (n·C + k)/rate, and is late (counted in the latency) if the previous one took longer.
        let due = match mode {
            Mode::Closed => Instant::now(),
            Mode::Open { rate } => {
                start + Duration::from_secs_f64((n * connections + k) as f64 / rate)
            }
        };
        if due >= end || stop.load(Ordering::Relaxed) {
            break;
        }
        if let Mode::Open { .. } = mode {
            tokio::time::sleep_until(due.into()).await;
        }
        if sender.is_none() {
            match connect(target.addr).await {
                Ok(s) => sender = Some(s),
                Err(e) => {
                    local.io_errors += 1;
                    local.first_error.get_or_insert_with(|| e.to_string());
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    n += 1;
                    continue;
                }
            }
        }
        let req = target.request(n * connections + k);
        let result = send(sender.as_mut().expect("connected"), req).await;
        let done = Instant::now();
        // Requests due inside the window count; in the closed loop only those answered inside it
        // (the CPU counters are read at its end), in the open loop all of them, late ones included.
        let counted = due >= measure_from && (matches!(mode, Mode::Open { .. }) || done <= end);
        match result {
            Ok((status, body)) => {
                if counted {
                    let micros = done.duration_since(due).as_micros().max(1) as u64;
                    let _ = local.histogram.record(micros.min(60_000_000));
                    if status.is_success() {
                        local.ok += 1;
                    } else {
                        *local.non_2xx.entry(status.as_u16()).or_default() += 1;
                        let text = String::from_utf8_lossy(&body);
                        if text.contains("database is locked") {
                            local.locked += 1;
                        }
                        local
                            .first_error
                            .get_or_insert_with(|| format!("{status}: {}", truncate(&text, 300)));
                    }
                }
            }
            Err(e) => {
                if counted {
                    local.io_errors += 1;
                    local.first_error.get_or_insert_with(|| e.to_string());
                }
                sender = None;
            }
        }
        n += 1;
    }
    local
}

fn truncate(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// A single request outside the measurements (logins, set-up, comparisons).
pub async fn once(
    addr: SocketAddr,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<(StatusCode, Bytes)> {
    let target = Target {
        addr,
        method,
        path: path.to_string(),
        body: body.map(|b| Bytes::from(b.to_string())),
        tokens: Arc::new(token.map(str::to_string).into_iter().collect()),
    };
    let mut sender = connect(addr).await?;
    send(&mut sender, target.request(0)).await
}
