//! The background runner: periodic jobs now; the outbox dispatcher and the SLA monitor join it
//! in later stages. It runs inside `tts serve`, or alone in `tts worker` processes.

use std::time::Duration;

use services::Services;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often SQLite's planner statistics are refreshed (SQLite recommends `PRAGMA optimize`
/// every few hours on long-lived connections).
const OPTIMIZE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// Starts the runner; it stops when `cancel` fires.
pub fn start(services: Services, cancel: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        tracing::info!("background runner started");
        let mut optimize = tokio::time::interval(OPTIMIZE_EVERY);
        optimize.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        optimize.tick().await; // the first tick is immediate; nothing to optimize at start
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = optimize.tick() => {
                    if let Err(err) = services.db().optimize().await {
                        tracing::warn!(error = format!("{err:#}"), "database optimize failed");
                    }
                }
            }
        }
        tracing::info!("background runner stopped");
    })
}
