//! One `Config`, loaded once from flags and `IPS_*` environment variables, passed down.
use std::{fmt, path::PathBuf, str::FromStr};

use clap::Args;

use crate::crypto::Kek;

/// A secret setting: kept out of `Debug` output, so a logged configuration never shows it.
#[derive(Clone)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_string()))
    }
}

/// Runtime configuration of a server instance. Every field has a flag and an environment variable;
/// README.md lists them with their defaults.
#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Address and port to listen on.
    #[arg(
        long,
        global = true,
        env = "IPS_BIND",
        default_value = "127.0.0.1:8080"
    )]
    pub bind: String,
    /// Database URL: `sqlite://PATH?mode=rwc` or `postgres://…`.
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        default_value = "sqlite://./data/ips.db?mode=rwc"
    )]
    pub database_url: String,
    /// `iss` of the access tokens this instance issues and accepts.
    #[arg(long, global = true, env = "IPS_ISSUER", default_value = "ips-ung")]
    pub issuer: String,
    /// `aud` of the access tokens this instance issues and accepts.
    #[arg(
        long,
        global = true,
        env = "IPS_AUDIENCE",
        default_value = "ips-ung-api"
    )]
    pub audience: String,
    /// Lifetime of an access token, in seconds.
    #[arg(
        long,
        global = true,
        env = "IPS_ACCESS_TOKEN_TTL_SECS",
        default_value_t = 900
    )]
    pub access_token_ttl_secs: i64,
    /// A candidate's session ends after this many days without a refresh.
    #[arg(
        long,
        global = true,
        env = "IPS_CANDIDATE_REFRESH_IDLE_DAYS",
        default_value_t = 7
    )]
    pub candidate_refresh_idle_days: i64,
    /// A candidate's session ends this many days after login at the latest.
    #[arg(
        long,
        global = true,
        env = "IPS_CANDIDATE_REFRESH_MAX_DAYS",
        default_value_t = 30
    )]
    pub candidate_refresh_max_days: i64,
    /// A staff or admin session ends this many hours after login.
    #[arg(
        long,
        global = true,
        env = "IPS_STAFF_REFRESH_HOURS",
        default_value_t = 12
    )]
    pub staff_refresh_hours: i64,
    /// Failed logins or invitation attempts allowed per account and hour before 429.
    #[arg(
        long,
        global = true,
        env = "IPS_LOGIN_FAILURES_PER_ACCOUNT_HOUR",
        default_value_t = 100
    )]
    pub login_failures_per_account_hour: u64,
    /// Failed logins or invitation attempts allowed per client address and hour before 429.
    #[arg(
        long,
        global = true,
        env = "IPS_LOGIN_FAILURES_PER_ADDRESS_HOUR",
        default_value_t = 300
    )]
    pub login_failures_per_address_hour: u64,
    /// Password hashes computed at once (each takes 12 MiB and ~20 ms of one core); 0 = half the CPU
    /// cores, at least one.
    #[arg(
        long,
        global = true,
        env = "IPS_PASSWORD_HASH_CONCURRENCY",
        default_value_t = 0
    )]
    pub password_hash_concurrency: usize,
    /// Read connections to SQLite beside the single writer connection.
    #[arg(long, global = true, env = "IPS_SQLITE_READERS", default_value_t = 4)]
    pub sqlite_readers: u32,
    /// Page cache of each SQLite connection, in KiB (SQLite's own default is 2,000). The hot pages
    /// of a read are also in the operating system's file cache, so a small cache costs little CPU
    /// and keeps the process small.
    #[arg(
        long,
        global = true,
        env = "IPS_SQLITE_CACHE_KIB",
        default_value_t = 512,
        value_parser = clap::value_parser!(u32).range(64..=1_048_576)
    )]
    pub sqlite_cache_kib: u32,
    /// Size of the PostgreSQL connection pool.
    #[arg(
        long,
        global = true,
        env = "IPS_DB_MAX_CONNECTIONS",
        default_value_t = 10
    )]
    pub db_max_connections: u32,
    /// Seconds an instance trusts a cached "session still valid" answer.
    #[arg(
        long,
        global = true,
        env = "IPS_SESSION_CHECK_SECS",
        default_value_t = 4
    )]
    pub session_check_secs: u64,
    /// Seconds in-flight requests get to finish on SIGTERM/SIGINT.
    #[arg(
        long,
        global = true,
        env = "IPS_SHUTDOWN_TIMEOUT_SECS",
        default_value_t = 10
    )]
    pub shutdown_timeout_secs: u64,
    /// Seconds between two runs of the background jobs (overdue requests, reminders, …); 0 turns them off.
    #[arg(
        long,
        global = true,
        env = "IPS_JOBS_INTERVAL_SECS",
        default_value_t = 60
    )]
    pub jobs_interval_secs: u64,
    /// Let webhooks reach loopback, private, link-local and other non-public addresses, and plain
    /// `http://` URLs (development and tests only: it opens the server to request forgery).
    #[arg(
        long,
        global = true,
        env = "IPS_WEBHOOK_ALLOW_PRIVATE",
        default_value_t = false
    )]
    pub webhook_allow_private: bool,
    /// Seconds before the first retry of a failed webhook delivery; each further retry waits twice as
    /// long (at most an hour), with ±20 % jitter, for 24 hours.
    #[arg(
        long,
        global = true,
        env = "IPS_WEBHOOK_RETRY_BASE_SECS",
        default_value_t = 10
    )]
    pub webhook_retry_base_secs: u64,
    /// Take the client address from `X-Forwarded-For` (only behind your own load balancer).
    #[arg(
        long,
        global = true,
        env = "IPS_TRUST_FORWARDED_FOR",
        default_value_t = false
    )]
    pub trust_forwarded_for: bool,
    /// The key-encryption key: 32 random bytes in base64 (`openssl rand -base64 32`). Seals the token
    /// signing keys and other secrets the database keeps. Prefer the `_FILE` form.
    #[arg(
        long,
        global = true,
        env = "IPS_KEY_ENCRYPTION_KEY",
        hide_env_values = true
    )]
    pub key_encryption_key: Option<Secret>,
    /// A file holding the key-encryption key (base64), e.g. a mounted secret.
    #[arg(long, global = true, env = "IPS_KEY_ENCRYPTION_KEY_FILE")]
    pub key_encryption_key_file: Option<PathBuf>,
}

impl Config {
    /// The defaults, as if no flag or variable were given; tests start from here.
    pub fn for_database(database_url: &str) -> Self {
        #[derive(clap::Parser)]
        struct Wrapper {
            #[command(flatten)]
            config: Config,
        }
        let mut config = <Wrapper as clap::Parser>::parse_from(["ips-server"]).config;
        config.database_url = database_url.to_string();
        config
    }

    /// The key-encryption key from `IPS_KEY_ENCRYPTION_KEY` or `IPS_KEY_ENCRYPTION_KEY_FILE`; `None`
    /// when neither is set. A key that is set but malformed is an error, never ignored.
    pub fn kek(&self) -> Result<Option<Kek>, String> {
        match (&self.key_encryption_key, &self.key_encryption_key_file) {
            (Some(_), Some(_)) => Err(
                "set IPS_KEY_ENCRYPTION_KEY or IPS_KEY_ENCRYPTION_KEY_FILE, not both".to_string(),
            ),
            (Some(key), None) => Kek::parse(&key.0).map(Some),
            (None, Some(path)) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!(
                        "reading the key-encryption key from {}: {e}",
                        path.display()
                    )
                })?;
                Kek::parse(&text).map(Some)
            }
            (None, None) => Ok(None),
        }
    }

    /// Half the cores (at least one) unless set: hashing then never takes more than half the CPU, so
    /// a login flood cannot starve the other requests, and holds at most half the cores × 12 MiB.
    pub fn password_hash_concurrency(&self) -> usize {
        if self.password_hash_concurrency == 0 {
            std::thread::available_parallelism()
                .map(|n| (n.get() / 2).max(1))
                .unwrap_or(1)
        } else {
            self.password_hash_concurrency
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Config;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        config: Config,
    }

    #[test]
    fn the_sqlite_page_cache_is_512_kib_unless_set_within_its_range() {
        let parse = |value: &str| {
            Wrapper::try_parse_from([
                "ips-server".to_string(),
                format!("--sqlite-cache-kib={value}"),
            ])
            .map(|w| w.config.sqlite_cache_kib)
        };
        assert_eq!(
            Config::for_database("sqlite::memory:").sqlite_cache_kib,
            512
        );
        assert_eq!(parse("64").expect("the least"), 64);
        assert_eq!(parse("1048576").expect("the most"), 1_048_576);
        for bad in ["0", "63", "1048577", "-512", "lots", "5\u{7}12"] {
            let error = parse(bad).expect_err(bad).to_string();
            assert!(error.contains("--sqlite-cache-kib"), "{bad}: {error}");
        }
    }
}
