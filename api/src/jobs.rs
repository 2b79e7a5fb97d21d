//! Background work every instance runs: a tick each `IPS_JOBS_INTERVAL_SECS`. Each unit of work is
//! claimed in the database (a conditional update that only one instance can win), so several instances
//! never do the same thing twice.
use std::time::Duration;

use crate::{domain, state::AppState};

/// One pass over every job; errors are logged and the next tick tries again.
pub async fn run_once(state: &AppState) {
    // `keys rotate` may have run elsewhere: start signing with the newest key within one tick.
    if let Err(e) = state.keys.reload(&state.db).await {
        tracing::error!(error = %e, job = "keys", "background job failed");
    }
    if let Err(e) = domain::requests::tick(&state.db).await {
        tracing::error!(error = %e, job = "requests", "background job failed");
    }
    if let Err(e) = domain::appointments::tick(&state.db).await {
        tracing::error!(error = %e, job = "appointments", "background job failed");
    }
    if let Err(e) = domain::questionnaires::tick(&state.db).await {
        tracing::error!(error = %e, job = "questionnaires", "background job failed");
    }
}

/// Runs `run_once` forever at the configured interval (stops with the runtime).
pub fn spawn(state: AppState) {
    let every = Duration::from_secs(state.config.jobs_interval_secs.max(1));
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            run_once(&state).await;
        }
    });
}
