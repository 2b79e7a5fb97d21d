//! Prometheus text metrics: request counts and latency histograms per operation, and pool figures.
use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{Arc, Mutex},
};

const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

#[derive(Default)]
struct Series {
    /// Answers by status code.
    statuses: BTreeMap<u16, u64>,
    counts: [u64; BUCKETS.len()],
    total: u64,
    sum: f64,
}

#[derive(Clone, Default)]
pub struct Metrics {
    /// Per operation; one lock per request, and the key is allocated only the first time.
    operations: Arc<Mutex<BTreeMap<String, Series>>>,
    activity: crate::memory::Activity,
}

impl Metrics {
    /// The count of answered requests, which tells the memory trimmer when the server is quiet.
    pub fn activity(&self) -> crate::memory::Activity {
        self.activity.clone()
    }

    pub fn observe(&self, operation: &str, status: u16, seconds: f64) {
        self.activity.answered();
        let mut operations = self.operations.lock().expect("metrics");
        if !operations.contains_key(operation) {
            operations.insert(operation.to_string(), Series::default());
        }
        let s = operations.get_mut(operation).expect("inserted above");
        *s.statuses.entry(status).or_default() += 1;
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                s.counts[i] += 1;
            }
        }
        s.total += 1;
        s.sum += seconds;
    }

    /// The text exposition format, with the database pool figures appended.
    pub fn render(&self, pool: &[(&str, u32, usize)], statements: u64) -> String {
        let mut out = String::new();
        out.push_str("# HELP ips_http_requests_total HTTP requests by operation and status.\n");
        out.push_str("# TYPE ips_http_requests_total counter\n");
        let operations = self.operations.lock().expect("metrics");
        for (op, s) in operations.iter() {
            for (status, n) in &s.statuses {
                let _ = writeln!(
                    out,
                    "ips_http_requests_total{{operation=\"{op}\",status=\"{status}\"}} {n}"
                );
            }
        }
        out.push_str("# HELP ips_http_request_duration_seconds Request latency by operation.\n");
        out.push_str("# TYPE ips_http_request_duration_seconds histogram\n");
        for (op, s) in operations.iter() {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "ips_http_request_duration_seconds_bucket{{operation=\"{op}\",le=\"{b}\"}} {}",
                    s.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "ips_http_request_duration_seconds_bucket{{operation=\"{op}\",le=\"+Inf\"}} {}",
                s.total
            );
            let _ = writeln!(
                out,
                "ips_http_request_duration_seconds_sum{{operation=\"{op}\"}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "ips_http_request_duration_seconds_count{{operation=\"{op}\"}} {}",
                s.total
            );
        }
        out.push_str("# HELP ips_db_pool_connections Database connections by pool and state.\n");
        out.push_str("# TYPE ips_db_pool_connections gauge\n");
        for (pool, size, idle) in pool {
            let _ = writeln!(
                out,
                "ips_db_pool_connections{{pool=\"{pool}\",state=\"open\"}} {size}"
            );
            let _ = writeln!(
                out,
                "ips_db_pool_connections{{pool=\"{pool}\",state=\"idle\"}} {idle}"
            );
        }
        out.push_str("# HELP ips_db_statements_total SQL statements run by this instance.\n");
        out.push_str("# TYPE ips_db_statements_total counter\n");
        let _ = writeln!(out, "ips_db_statements_total {statements}");
        out
    }
}
