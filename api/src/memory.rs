//! Keeping the allocator's memory small: fewer arenas, and freed memory given back to the system once
//! the server is quiet.
//!
//! glibc's allocator keeps what a burst of requests freed in each thread's arena (tens of MiB after a
//! load test on two cores, measured by `ips-bench`) and returns it only when told to. So a task looks
//! once a second at how many requests were answered; when some were, and then a whole second passes
//! with none, it calls `malloc_trim(0)` on a blocking thread; the first quiet second after start does
//! too. A busy server never trims, and an idle one trims once per quiet spell. Other allocators and
//! platforms give memory back by themselves: there the task does nothing.
use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

/// How long the server must have answered nothing before memory is trimmed.
const QUIET: Duration = Duration::from_secs(1);

/// Counts answered requests (cheap: one relaxed increment per request).
#[derive(Clone, Default)]
pub struct Activity(Arc<AtomicU64>);

impl Activity {
    pub fn answered(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Runs until the runtime ends (the task holds nothing that needs closing).
pub fn trim_when_quiet(activity: Activity) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut seen = activity.count();
        // Starting leaves freed memory too (the migrations, the spec read for the path templates):
        // the first quiet second gives it back.
        let mut dirty = true;
        // The first look a second from now, once the app is built (an interval's first tick is at once).
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + QUIET, QUIET);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let now = activity.count();
            if now != seen {
                seen = now;
                dirty = true;
            } else if dirty {
                dirty = false;
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        }
    })
}

/// Caps glibc's malloc arenas at four per core (at least 8) unless `MALLOC_ARENA_MAX` says otherwise.
/// glibc's default is 8 per core: every thread that meets a locked arena gets a new one, and each
/// keeps its own freed memory. The cap is a trade between memory and lock waits. `ips-bench` on SQLite,
/// 2 cores, 1,000 logins and a login flood, CPU per request (`tests/bench/README.md` has the runs):
///
/// | arenas | candidates page | `/me/plan` | WHO-5 | peak RSS | idle after load |
/// |---|---:|---:|---:|---:|---:|
/// | 2 (one per core, the cap before) | 0.45 ms | 0.71 ms | 0.98 ms | 60.6 MiB | 32.9 MiB |
/// | 4 | 0.41 | 0.67 | 0.88 | 61.2 | 34.0 |
/// | 8 (three runs) | 0.31–0.32 | 0.51–0.54 | 0.86–0.96 | 63.0–64.2 | 33.9–35.8 |
/// | 16 (glibc's default here) | 0.30 | 0.51 | 0.85 | 64.1 | 33.0 |
///
/// With one arena per core, the request threads and SQLite's connection threads shared two arenas: in
/// `perf` about 30% of the server's samples were threads waiting on a lock or waking another. Call it
/// before threads start allocating.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let arenas = libc::c_int::try_from((cores * 4).max(8)).unwrap_or(libc::c_int::MAX);
        // SAFETY: `mallopt` takes plain integers; called before other threads allocate.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// Returns the free memory at the top of every arena (and the free pages inside them) to the system.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` takes no pointers and may be called from any thread at any time; it locks
    // each arena while it works.
    unsafe {
        libc::malloc_trim(0);
    }
}
