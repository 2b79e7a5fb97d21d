//! Keeping the allocators' memory small.
//!
//! ips-server allocates with mimalloc (its `#[global_allocator]`), told by `tune_allocator` to give
//! freed memory back at once. SQLite, being C, still allocates with glibc's malloc; for it, the rest of
//! this module keeps fewer arenas and gives freed memory back to the system once the server is quiet.
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

/// mimalloc's settings for a small resident size, unless a `MIMALLOC_…` environment variable sets them
/// (mimalloc reads those when the process loads). Call before anything allocates: ips-server calls it
/// from a function in `.init_array`, which runs as the program loads, before Rust's runtime starts
/// (mimalloc reserves its arena, with the settings of that moment, before `main`; called at the start
/// of `main`, `arena_eager_commit` came too late: 36 MiB idle instead of 25).
///
/// - `arena_eager_commit` 0: commit an arena's memory as it is used, not all of it at once.
/// - `purge_delay` 0: give freed pages back at once, not a second later (a thread gone quiet would
///   otherwise keep its freed pages: it only purges when it allocates or frees again).
///
/// `ips-bench` on SQLite, 2 cores (`tests/bench/README.md`, "mimalloc"): RSS idle after start 22 MiB
/// with glibc, 53 with mimalloc's defaults, 36 and 38 with one of these settings each, 25 with both.
pub fn tune_allocator() {
    // SAFETY: plain integers; called before other threads exist (the functions are not thread safe).
    unsafe {
        libmimalloc_sys::mi_option_set_default(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set_default(MI_OPTION_PURGE_DELAY, 0);
    }
}

// mimalloc v3's `mi_option_t` values (`mimalloc.h`; the sys crate names only the options of v2). The
// test `mimalloc_options_are_the_documented_ones` checks them against the options' defaults.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mimalloc_options_are_the_documented_ones() {
        // mimalloc v3's defaults: arena_eager_commit 2 ("on systems that overcommit"), purge_delay
        // 1000 ms. Another option behind either number would have another default. This test process
        // never calls `tune_allocator`.
        if std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("MIMALLOC_")) {
            return;
        }
        // SAFETY: reads of plain integers.
        let (eager, delay) = unsafe {
            (
                libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT),
                libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY),
            )
        };
        assert_eq!((eager, delay), (2, 1000));
    }
}
