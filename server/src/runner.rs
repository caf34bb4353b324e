//! The background runner: the outbox dispatcher (or the RabbitMQ link) (it starts tickets' workflows and calls AMS and
//! BMS), the SLA monitor, and periodic housekeeping. It runs inside `tts serve`, or alone in
//! `tts worker` processes; any number of them may run against one database (events are taken
//! with `SKIP LOCKED` on PostgreSQL, and every effect is keyed so it happens once).

use std::time::Duration;

use services::Services;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often SQLite's planner statistics are refreshed (SQLite recommends `PRAGMA optimize`
/// every few hours on long-lived connections).
const OPTIMIZE_EVERY: Duration = Duration::from_secs(6 * 3600);

/// How often due daily digests are looked for.
const DIGEST_CHECK_EVERY: Duration = Duration::from_secs(10 * 60);

/// How often expired sessions, revoked tokens and used codes are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(15 * 60);

/// How often the outbox is looked at without being woken: events written by other processes
/// (replicas, workers) and retries coming due are found within this time.
const OUTBOX_POLL: Duration = Duration::from_secs(1);

/// How often a round runs while submissions arrive in a burst.
const BUSY_ROUND_EVERY: Duration = Duration::from_millis(100);

/// Starts the runner; it stops when `cancel` fires. With the browser-session store it also
/// deletes expired browser sessions. With an AMQP URL the outbox goes through RabbitMQ
/// ([`crate::broker`]); without, its events are handled here.
pub fn start(
    services: Services,
    session_store: Option<services::browser_sessions::SessionStore>,
    sla_check_every: Duration,
    amqp_url: Option<String>,
    cancel: CancellationToken,
) -> JoinHandle<()> {
    let dispatcher = match amqp_url {
        Some(url) => tokio::spawn(crate::broker::run(url, services.clone(), cancel.clone())),
        None => tokio::spawn(dispatch(services.clone(), cancel.clone())),
    };
    tokio::spawn(async move {
        tracing::info!("background runner started");
        let mut optimize = tokio::time::interval(OPTIMIZE_EVERY);
        optimize.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        optimize.tick().await; // the first tick is immediate; nothing to optimize at start
        let mut prune = tokio::time::interval(PRUNE_EVERY);
        prune.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut digests = tokio::time::interval(DIGEST_CHECK_EVERY);
        digests.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut sla = tokio::time::interval(sla_check_every);
        sla.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = cancel.cancelled() => break,
                _ = sla.tick() => {
                    let now = services.clock().now();
                    match services::tasks::monitor_sla(services.db(), now).await {
                        Ok(pass) if pass != Default::default() => tracing::info!(?pass, "SLA monitor"),
                        Ok(_) => {}
                        Err(err) => tracing::warn!(error = %err, "SLA monitor failed"),
                    }
                }
                _ = digests.tick() => {
                    match services::email::queue_digests(&services, services.clock().now()).await {
                        Ok(queued) if queued > 0 => tracing::info!(queued, "daily digests queued"),
                        Ok(_) => {}
                        Err(err) => tracing::warn!(error = %err, "queueing digests failed"),
                    }
                }
                _ = optimize.tick() => {
                    if let Err(err) = services.db().optimize().await {
                        tracing::warn!(error = format!("{err:#}"), "database optimize failed");
                    }
                    tidy_search_indexes(&services).await;
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
        let _ = dispatcher.await;
        tracing::info!("background runner stopped");
    })
}

/// Takes due outbox events whenever this process wrote some, and every [`OUTBOX_POLL`].
///
/// It gives way to a burst of submissions: while this process writes events faster than
/// the trickle of a working day (see [`services::outbox::OutboxWake::is_busy`]), rounds are
/// short ([`services::outbox::BUSY_ROUND`]) and at most one every [`BUSY_ROUND_EVERY`].
/// Submitting is what people wait on, and on two cores routing a ticket costs more than
/// taking it; the outbox keeps every event, and the backlog is routed at full speed as soon
/// as the burst eases.
async fn dispatch(services: Services, cancel: CancellationToken) {
    let wake = services.outbox_wake().clone();
    let mut looked = services::outbox::Look::now();
    let mut was_busy = false;
    // A burst leaves the full-text indexes in many small pieces: merged once its backlog is
    // routed.
    let mut tidy_after_backlog = false;
    loop {
        let busy = wake.is_busy(&mut looked);
        if busy != was_busy {
            if busy {
                tracing::info!("a burst of submissions: routing gives way until it eases");
                tidy_after_backlog = true;
            } else {
                tracing::info!("the burst has eased: routing at full speed");
            }
            was_busy = busy;
        }
        if busy {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(BUSY_ROUND_EVERY) => {}
            }
        }
        let round = if busy {
            services::outbox::BUSY_ROUND
        } else {
            services::outbox::ROUND
        };
        // A full round may mean more are waiting: go again at once.
        let again = match services::outbox::dispatch_due(&services, round).await {
            Ok(handled) => handled >= round.events,
            Err(err) => {
                tracing::warn!(error = %err, "outbox dispatch failed");
                false
            }
        };
        if again {
            continue;
        }
        if tidy_after_backlog && !busy {
            tidy_after_backlog = false;
            tidy_search_indexes(&services).await;
        }
        tokio::select! {
            () = cancel.cancelled() => break,
            () = wake.notified() => {}
            () = tokio::time::sleep(OUTBOX_POLL) => {}
        }
    }
}

/// Merges the full-text indexes (see [`services::Db::tidy_search_indexes`]), logging what it did.
async fn tidy_search_indexes(services: &Services) {
    match services.db().tidy_search_indexes().await {
        Ok(0) => {}
        Ok(steps) => tracing::info!(steps, "full-text indexes merged"),
        Err(err) => tracing::warn!(
            error = format!("{err:#}"),
            "merging full-text indexes failed"
        ),
    }
}
