//! Background work every instance runs: a tick each `IPS_JOBS_INTERVAL_SECS`. Each unit of work is
//! claimed in the database (a conditional update that only one instance can win), so several instances
//! never do the same thing twice.
use std::time::Duration;

use crate::{domain, state::AppState};

/// Webhook passes run at least this often (or at the jobs interval, when shorter).
const WEBHOOKS_AT_LEAST_EVERY: Duration = Duration::from_secs(5);

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
    match domain::erasure::retention_tick(&state.db).await {
        // Erased candidates' sessions are gone: stop trusting them on this instance at once.
        Ok(n) if n > 0 => state.sessions.forget_all(),
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, job = "retention", "background job failed"),
    }
    if let Err(e) = domain::erasure::purge_audit(&state.db).await {
        tracing::error!(error = %e, job = "audit_purge", "background job failed");
    }
    if let Err(e) = domain::job_support_plans::tick(&state.db).await {
        tracing::error!(error = %e, job = "job_support_plans", "background job failed");
    }
    if let Err(e) = domain::network_groups::tick(&state.db).await {
        tracing::error!(error = %e, job = "network_groups", "background job failed");
    }
    // Stored idempotent answers are kept 24 hours, failed-attempt counters an hour or two.
    if let Err(e) = crate::idempotency::purge(&state.db).await {
        tracing::error!(error = %e, job = "idempotency", "background job failed");
    }
    if let Err(e) = domain::identity::purge_attempts(&state.db).await {
        tracing::error!(error = %e, job = "login_attempts", "background job failed");
    }
}

/// One webhook delivery pass: the events written since the last one, from the events table as the
/// outbox (see `domain::webhooks`).
pub async fn deliver_webhooks(state: &AppState) {
    let deliverer = domain::webhooks::Deliverer {
        db: &state.db,
        kek: &state.kek,
        allow_private: state.config.webhook_allow_private,
        retry_base_secs: state.config.webhook_retry_base_secs,
    };
    if let Err(e) = deliverer.run(chrono::Utc::now()).await {
        tracing::error!(error = %e, job = "webhooks", "background job failed");
    }
}

/// The background loops of this instance, started by `spawn`.
pub struct Jobs {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Jobs {
    /// Ends the loops before the database pool closes: a pass in progress may finish within `grace`
    /// (its work is claimed and transactional, so a pass cut short is simply done again by the next
    /// tick, here or on another instance); no new pass starts.
    pub async fn stop(self, grace: Duration) {
        let _ = self.stop.send(true);
        for mut task in self.tasks {
            if tokio::time::timeout(grace, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
    }
}

/// Runs `run_once` at the configured interval, and webhook deliveries in a loop of their own (at most
/// 5 seconds apart, so events arrive soon, and a slow receiver never holds up the other jobs), until
/// `Jobs::stop`.
pub fn spawn(state: AppState) -> Jobs {
    let every = Duration::from_secs(state.config.jobs_interval_secs.max(1));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let webhooks = state.clone();
    let mut webhooks_stopped = stopped.clone();
    let deliveries = tokio::spawn(async move {
        let mut interval = tokio::time::interval(every.min(WEBHOOKS_AT_LEAST_EVERY));
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => deliver_webhooks(&webhooks).await,
                _ = webhooks_stopped.changed() => return,
            }
        }
    });
    let mut ticks_stopped = stopped;
    let ticks = tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = interval.tick() => run_once(&state).await,
                _ = ticks_stopped.changed() => return,
            }
        }
    });
    Jobs {
        stop,
        tasks: vec![deliveries, ticks],
    }
}
