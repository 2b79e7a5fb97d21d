//! Connections. On SQLite all writes go through one writer connection (so overlapping writers queue
//! instead of failing with "database is locked") and reads through a small pool of readers; WAL lets
//! both run at once. On PostgreSQL both handles are the same pool, and its connections run without
//! JIT compilation (`jit = off`): PostgreSQL compiles any statement it estimates above 100,000 cost
//! units, which at 100,000 candidates is each report's grouped query, and the compiling took about
//! 110 ms of each report's second or so (`EXPLAIN ANALYZE`) to make no later part of it faster. The
//! service's other statements read a few rows each.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    DbErr, SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};

use crate::config::Config;

/// A PostgreSQL connection idle this long is pinged before it is used again, and replaced if the
/// server, a proxy or a firewall dropped it meanwhile. The pool's default pings on every checkout:
/// one more round trip to PostgreSQL for every request (`ips-bench` counted 21–23 system calls of
/// PostgreSQL's per `/me/plan` or candidates page with it, 15–18 without). A connection the
/// database closed less than this ago (a restart) fails its next statement instead; that request is
/// answered 503 (`error::ApiError::database_unavailable`) and the pool discards the connection.
pub const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

#[derive(Clone, Debug)]
pub struct Db {
    writer: DatabaseConnection,
    reader: DatabaseConnection,
    statements: Arc<AtomicU64>,
    /// The questionnaire definitions: rows that only a migration writes, read once per process.
    instruments: Arc<tokio::sync::OnceCell<Arc<crate::domain::questionnaires::Catalog>>>,
    /// How many parts a report that seeks per candidate runs in at once (`report_slices`).
    report_slices: usize,
}

impl Db {
    pub async fn connect(config: &Config) -> Result<Self, DbErr> {
        let url = &config.database_url;
        if url.starts_with("sqlite:") {
            if let Some(dir) = sqlite_parent_dir(url) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DbErr::Custom(format!("creating the database folder: {e}")))?;
            }
            let statements = Arc::new(AtomicU64::new(0));
            let mut writer =
                Database::connect(sqlite_options(url, 1, config.sqlite_cache_kib)).await?;
            // The writer creates the file and switches it to WAL before readers open it.
            let mut reader = Database::connect(sqlite_options(
                url,
                config.sqlite_readers.max(1),
                config.sqlite_cache_kib,
            ))
            .await?;
            count_into(&mut writer, &statements);
            count_into(&mut reader, &statements);
            Ok(Self {
                writer,
                reader,
                statements,
                instruments: Arc::default(),
                report_slices: 1,
            })
        } else {
            let mut opts = ConnectOptions::new(url.clone());
            opts.max_connections(config.db_max_connections)
                .min_connections(1)
                .connect_timeout(Duration::from_secs(10))
                .acquire_timeout(Duration::from_secs(10))
                .test_before_acquire_if_idle_for(PING_AFTER_IDLE)
                .sqlx_logging(false)
                .map_sqlx_postgres_opts(|o| o.options([("jit", "off")]));
            let statements = Arc::new(AtomicU64::new(0));
            let mut pool = Database::connect(opts).await?;
            let report_slices = report_slices(&pool, config.db_max_connections).await;
            count_into(&mut pool, &statements);
            Ok(Self {
                writer: pool.clone(),
                reader: pool,
                statements,
                instruments: Arc::default(),
                report_slices,
            })
        }
    }

    /// The cached questionnaire definitions (see `questionnaires::catalog`).
    pub(crate) fn instruments(
        &self,
    ) -> &tokio::sync::OnceCell<Arc<crate::domain::questionnaires::Catalog>> {
        &self.instruments
    }

    /// How many parts the reports that seek each candidate's responses (`wellbeing`, `questionnaires`)
    /// run in at once, each on a connection of its own: 1 on SQLite; on PostgreSQL the number of
    /// processes its own parallel query would use (`max_parallel_workers_per_gather` + 1), at most
    /// half the pool. PostgreSQL does not run those seeks in parallel itself: they are `LATERAL`
    /// subqueries with `LIMIT`, which its planner keeps in the leading process. At 100,000 candidates
    /// on two cores, three parts answered `wellbeing` in 0.58–0.66 s where one took 0.95–1.05 s.
    pub fn report_slices(&self) -> usize {
        self.report_slices
    }

    /// Statements run so far by this process (for `/metrics`, and tests that count a page's queries).
    pub fn statement_count(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    /// The connection for transactions that write.
    pub fn write(&self) -> &DatabaseConnection {
        &self.writer
    }

    /// Starts a writing transaction. On SQLite it is `BEGIN IMMEDIATE`: a deferred transaction that
    /// reads and then writes fails at once with "database is locked" when another process (a second
    /// instance, the CLI) wrote in between; an immediate one waits for the lock instead.
    pub async fn begin(&self) -> Result<DatabaseTransaction, DbErr> {
        if self.backend() == DbBackend::Sqlite {
            let options = TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            };
            self.writer.begin_with_options(options).await
        } else {
            self.writer.begin().await
        }
    }

    /// The connection for reads.
    pub fn read(&self) -> &DatabaseConnection {
        &self.reader
    }

    pub fn backend(&self) -> DbBackend {
        self.writer.get_database_backend()
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.writer, None).await
    }

    /// True when the database answers and every migration is applied.
    pub async fn ready(&self) -> bool {
        match Migrator::get_pending_migrations(&self.reader).await {
            Ok(pending) => pending.is_empty(),
            Err(_) => false,
        }
    }

    pub async fn close(self) {
        let _ = self.reader.close().await;
        let _ = self.writer.close().await;
    }
}

/// `Db::report_slices` for a PostgreSQL pool of `max_connections`. A server that does not say how many
/// parallel workers it allows (a proxy in between, say) gets one part: the reports as one statement.
async fn report_slices(pool: &DatabaseConnection, max_connections: u32) -> usize {
    let workers = pool
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT CAST(current_setting('max_parallel_workers_per_gather') AS INTEGER)",
        ))
        .await
        .ok()
        .flatten()
        .and_then(|row| row.try_get_by_index::<i32>(0).ok())
        .unwrap_or(0);
    let most = (max_connections as usize / 2).max(1);
    (workers.max(0) as usize + 1).min(most)
}

fn count_into(conn: &mut DatabaseConnection, counter: &Arc<AtomicU64>) {
    let counter = counter.clone();
    conn.set_metric_callback(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
    });
}

/// `cache_kib` is each connection's page cache. With SQLite's default (2,000 KiB) five connections
/// may hold 10 MiB of pages the file cache has too; with 512 KiB `ips-bench` measured the peak under
/// a login flood 5 MiB lower, at the same CPU per request.
fn sqlite_options(url: &str, connections: u32, cache_kib: u32) -> ConnectOptions {
    let mut opts = ConnectOptions::new(url.to_string());
    opts.max_connections(connections)
        .min_connections(1)
        .sqlx_logging(false)
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .map_sqlx_sqlite_opts(move |o| {
            use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                .create_if_missing(true)
                .pragma("cache_size", format!("-{cache_kib}"))
        });
    opts
}

/// Turns SQLite's memory statistics off for the process. With them on (SQLite's default) every
/// allocation of every connection takes one process-wide mutex, so the writer and the readers wait on
/// each other; the service never reads the statistics. Call it once, before the first connection
/// opens and while no other thread uses SQLite: SQLite refuses the setting once it has started.
pub fn sqlite_without_memory_statistics() {
    // SAFETY: `sqlite3_config` with `SQLITE_CONFIG_MEMSTATUS` takes one `int`. It is not thread-safe
    // and valid only before SQLite initialises; the caller runs it first thing in `main`, and after
    // initialisation SQLite only answers `SQLITE_MISUSE`, changing nothing.
    unsafe {
        libsqlite3_sys::sqlite3_config(
            libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
            0 as std::ffi::c_int,
        );
    }
}

/// True when `err` says the connection to the database is gone or cannot be had: a broken socket,
/// PostgreSQL closing the session (SQLSTATE class 08, or 57P01–57P03: shut down, crashed, starting
/// up), or no connection from the pool in time. Such a request is worth sending again; any other
/// database error is a fault of the request or the service.
pub fn connection_lost(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error};
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx.as_ref() {
        Error::Io(_) | Error::PoolTimedOut | Error::PoolClosed | Error::WorkerCrashed => true,
        Error::Database(e) => e.code().is_some_and(|code| {
            code.starts_with("08") || matches!(code.as_ref(), "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

pub fn sqlite_parent_dir(url: &str) -> Option<&std::path::Path> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    std::path::Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
}

impl Db {
    /// (pool, open connections, idle connections) for `/metrics`.
    pub fn pool_stats(&self) -> Vec<(&'static str, u32, usize)> {
        let stats = |c: &DatabaseConnection| match c.get_database_backend() {
            DbBackend::Postgres => {
                let pool = c.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            _ => {
                let pool = c.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        };
        let (ws, wi) = stats(&self.writer);
        if self.backend() == DbBackend::Postgres {
            return vec![("postgres", ws, wi)];
        }
        let (rs, ri) = stats(&self.reader);
        vec![("sqlite_writer", ws, wi), ("sqlite_readers", rs, ri)]
    }
}
