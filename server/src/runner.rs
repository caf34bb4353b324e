//! The background runner: periodic jobs now; the outbox dispatcher and the SLA monitor join it
//! in later stages. It runs inside `tts serve`, or alone in `tts worker` processes.

use std::time::Duration;

use services::Services;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often SQLite's planner statistics are refreshed (SQLite recommends `PRAGMA optimize`
/// every few hours on long-lived connections).
const OPTIMIZE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// How often expired sessions, revoked tokens and used codes are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(15 * 60);

/// Starts the runner; it stops when `cancel` fires. With the browser-session store it also
/// deletes expired browser sessions.
pub fn start(
    services: Services,
    session_store: Option<services::browser_sessions::SessionStore>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!("background runner started");
        let mut optimize = tokio::time::interval(OPTIMIZE_EVERY);
        optimize.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        optimize.tick().await; // the first tick is immediate; nothing to optimize at start
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = optimize.tick() => {
                    if let Err(err) = services.db().optimize().await {
                        tracing::warn!(error = format!("{err:#}"), "database optimize failed");
                    }
                }
                _ = prune.tick() => {
                    match services::auth::prune_expired(services.db()).await {
                        Ok(removed) if removed > 0 => tracing::debug!(removed, "pruned expired sessions and tokens"),
                        Ok(_) => {}
                        Err(err) => tracing::warn!(error = %err, "pruning failed"),
                    }
                    if let Some(store) = &session_store {
                        use tower_sessions::session_store::ExpiredDeletion as _;
                        if let Err(err) = store.delete_expired().await {
                            tracing::warn!(error = %err, "deleting expired browser sessions failed");
                        }
                    }
                }
            }
        }
        tracing::info!("background runner stopped");
    })
}
