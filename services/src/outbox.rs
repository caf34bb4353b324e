//! The outbox dispatcher: takes due events and runs their handlers, at least once, with
//! retries and backoff. Each handler marks its event processed in the transaction of its
//! effect, so an effect happens once even when an event is taken twice (a replica died
//! mid-way, its lease ran out, another took it).
//!
//! Handled here: `ticket.created` (start the ticket's workflow), `task.end_logic` (call AMS
//! or BMS), `comment.posted` (notify the people concerned), `notification.email` and
//! `notification.digest` (e-mail).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use futures::StreamExt as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Services;
use crate::comments::COMMENT_POSTED;
use crate::db::outbox::{self as rows, ClaimedEvent};
use crate::db::tasks as task_rows;
use crate::db::tickets as ticket_rows;
use crate::db::workflows as workflow_rows;
use crate::db::{Conn, execute_plain};
use crate::email::{DIGEST_EMAIL, NOTIFICATION_EMAIL};
use crate::error::Result;
use crate::tasks::{self, END_LOGIC};
use crate::tickets::TICKET_CREATED;

/// The topics this dispatcher handles.
pub const TOPICS: [&str; 5] = [
    TICKET_CREATED,
    END_LOGIC,
    COMMENT_POSTED,
    NOTIFICATION_EMAIL,
    DIGEST_EMAIL,
];
/// How much one round of the dispatcher ([`dispatch_due`]) takes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// Most events taken.
    pub events: usize,
    /// On SQLite, most database-only events sharing one transaction (see [`dispatch_due`]).
    pub per_transaction: usize,
}

/// A round when nothing presses: a hundred events, those that only write to the database in
/// one transaction.
pub const ROUND: Round = Round {
    events: 100,
    per_transaction: 100,
};

/// A round while submissions are arriving in a burst (see [`OutboxWake::is_busy`]). Each
/// transaction holds SQLite's write lock, and the submissions arriving meanwhile wait for
/// it: routing 20 tickets in one transaction made the slowest 1 % of creates wait twice as
/// long as with routing paused (p99 38-46 ms against 17-21 ms, 16 clients). With a
/// transaction per event the ticket writer gets its turn between them (p99 16-20 ms; 24 ms
/// with four events a transaction).
pub const BUSY_ROUND: Round = Round {
    events: 20,
    per_transaction: 1,
};
/// How many events of a batch are handled at once on PostgreSQL.
const PARALLEL: usize = 8;
/// How long a taken event stays hidden from other takers: longer than any handler runs.
const LEASE: TimeDelta = TimeDelta::seconds(120);

/// Where and how end logic calls the asset and budget systems.
#[derive(Debug, Clone)]
pub struct EndLogicSettings {
    /// `POST` target for the `asset` end logic (AMS).
    pub ams_url: Option<String>,
    /// `POST` target for the `budget` end logic (BMS).
    pub bms_url: Option<String>,
    /// Signs each body: `X-TTS-Signature: sha256=<HMAC-SHA256 of the body, hex>`.
    pub signing_secret: String,
    pub timeout: Duration,
    /// Attempts before an end-logic call is given up (visible on the task).
    pub max_attempts: i64,
}

impl Default for EndLogicSettings {
    fn default() -> Self {
        Self {
            ams_url: None,
            bms_url: None,
            signing_secret: String::new(),
            timeout: Duration::from_secs(10),
            max_attempts: 8,
        }
    }
}

/// The wait before attempt `attempts + 1`: 2, 4, 8 … seconds, at most ten minutes.
pub fn backoff(attempts: i64) -> TimeDelta {
    let exponent = u32::try_from(attempts.clamp(1, 10)).unwrap_or(10);
    TimeDelta::seconds(2_i64.pow(exponent).min(600))
}

/// Wakes the runner when this process writes outbox events, and counts them, so that the
/// runner can tell a burst of submissions from the usual trickle.
#[derive(Default)]
pub struct OutboxWake {
    notify: tokio::sync::Notify,
    written: AtomicU64,
}

/// Writes faster than this (events a second, in this process) are a burst.
const BUSY_RATE: f64 = 200.0;
/// The shortest time over which a rate is judged: two events a millisecond apart are not a
/// burst.
const SHORTEST_WINDOW: Duration = Duration::from_millis(50);

impl OutboxWake {
    /// Events were written (or became due): the runner should look.
    pub fn wrote(&self) {
        self.written.fetch_add(1, Ordering::Relaxed);
        self.notify.notify_one();
    }

    /// Waits until [`Self::wrote`] is called (or was, since the last wait).
    pub async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Whether events have been written faster than [`BUSY_RATE`] since the previous look
    /// (which becomes this one).
    pub fn is_busy(&self, previous: &mut Look) -> bool {
        let now = Look {
            written: self.written.load(Ordering::Relaxed),
            at: Instant::now(),
        };
        let window = now.at.duration_since(previous.at).max(SHORTEST_WINDOW);
        let count = now.written.saturating_sub(previous.written);
        *previous = now;
        count as f64 > BUSY_RATE * window.as_secs_f64()
    }
}

/// How many events [`OutboxWake`] had counted, and when: what [`OutboxWake::is_busy`] compares
/// with.
#[derive(Debug, Clone, Copy)]
pub struct Look {
    written: u64,
    at: Instant,
}

impl Look {
    /// A first look, from now.
    pub fn now() -> Self {
        Self {
            written: 0,
            at: Instant::now(),
        }
    }
}

/// Takes up to `round.events` due events and handles them here; how many were handled. (With a
/// broker, the runner relays them instead: [`claim_due`], then consumers call
/// [`process_by_id`].)
pub async fn dispatch_due(services: &Services, round: Round) -> Result<usize> {
    let limit = i64::try_from(round.events).unwrap_or(i64::MAX);
    let events = claim_due(services, LEASE, limit).await?;
    let count = events.len();
    // Events are independent (each keyed to its own ticket or task), so on PostgreSQL several
    // are handled at once. SQLite has one writer: handlers running together would only wait
    // for its lock, so there the events that only write to the database share transactions
    // of `round.per_transaction` (one for a whole round when nothing presses, as a hundred
    // transactions would take the lock a hundred times; one per event in a burst, see
    // [`BUSY_ROUND`]), and the others run one after the other.
    let (in_database, rest, parallel) = match services.db().backend() {
        crate::db::Backend::Sqlite => {
            let (in_database, rest): (Vec<_>, Vec<_>) =
                events.into_iter().partition(is_database_only);
            (in_database, rest, 1)
        }
        crate::db::Backend::Postgres => (Vec::new(), events, PARALLEL),
    };
    let mut outcomes = Vec::new();
    for together in in_database.chunks(round.per_transaction.max(1)) {
        outcomes.push(process_together(services, together).await);
    }
    let others: Vec<Result<()>> = futures::stream::iter(rest)
        .map(|event| async move { process(services, &event).await })
        .buffer_unordered(parallel)
        .collect()
        .await;
    outcomes
        .into_iter()
        .chain(others)
        .collect::<Result<Vec<()>>>()?;
    if count > 0 {
        // Handlers notify people (assignments, comments): push those to sockets now.
        services.live().nudge();
    }
    Ok(count)
}

/// Takes up to `limit` due events and hides them from other takers for `lease` (if this
/// process dies before they are done, they come back then).
pub async fn claim_due(
    services: &Services,
    lease: TimeDelta,
    limit: i64,
) -> Result<Vec<ClaimedEvent>> {
    let now = services.clock().now();
    let mut tx = services.db().begin().await?;
    let events = rows::claim(&mut tx.conn(), &TOPICS, now, now + lease, limit).await?;
    tx.commit().await?;
    Ok(events)
}

/// Handles one taken event; a failure is recorded on the event, which comes back after its
/// backoff. Errors only when even that record cannot be written.
pub async fn process(services: &Services, event: &ClaimedEvent) -> Result<()> {
    if let Err(err) = handle(services, event).await {
        record_failure(services, event, &err).await?;
    }
    Ok(())
}

async fn record_failure(
    services: &Services,
    event: &ClaimedEvent,
    err: &crate::error::Error,
) -> Result<()> {
    let now = services.clock().now();
    tracing::warn!(event = %event.event_key, attempts = event.attempts, error = %err, "outbox event failed");
    let mut pooled = services.db().acquire().await?;
    rows::mark_failed(
        &mut pooled.conn(),
        event.id,
        &err.to_string(),
        now + backoff(event.attempts),
    )
    .await?;
    Ok(())
}

/// Whether the event's effect is database writes only, so it can share a transaction.
fn is_database_only(event: &ClaimedEvent) -> bool {
    matches!(event.topic.as_str(), TICKET_CREATED | COMMENT_POSTED)
}

/// Handles database-only events in one transaction, each in its own savepoint so a failing
/// one is undone alone and recorded for its retry; the others land together at the commit.
async fn process_together(services: &Services, events: &[ClaimedEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let now = services.clock().now();
    let mut tx = services.db().begin().await?;
    let mut failed = Vec::new();
    for event in events {
        execute_plain(&mut tx.conn(), "SAVEPOINT event").await?;
        let outcome = match apply(&mut tx.conn(), event, now).await {
            Ok(()) => rows::mark_processed(&mut tx.conn(), event.id, now)
                .await
                .map_err(Into::into),
            Err(err) => Err(err),
        };
        match outcome {
            Ok(true) => execute_plain(&mut tx.conn(), "RELEASE event").await?,
            // Done already by another taker: keep nothing of this attempt.
            Ok(false) => undo_savepoint(&mut tx.conn()).await?,
            Err(err) => {
                undo_savepoint(&mut tx.conn()).await?;
                failed.push((event, err));
            }
        }
    }
    tx.commit().await?;
    for (event, err) in failed {
        record_failure(services, event, &err).await?;
    }
    Ok(())
}

async fn undo_savepoint(conn: &mut Conn<'_>) -> Result<()> {
    execute_plain(conn, "ROLLBACK TO event").await?;
    execute_plain(conn, "RELEASE event").await?;
    Ok(())
}

/// The effect of a database-only event (see [`is_database_only`]), written through `conn`.
async fn apply(conn: &mut Conn<'_>, event: &ClaimedEvent, now: DateTime<Utc>) -> Result<()> {
    let payload = payload_of(event)?;
    match event.topic.as_str() {
        TICKET_CREATED => {
            let ticket_id = payload["ticket_id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no ticket_id in {}", event.payload))?;
            tasks::start_for_ticket(conn, ticket_id, tasks::Routing::New, now).await
        }
        COMMENT_POSTED => {
            let comment_id = payload["comment_id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no comment_id in {}", event.payload))?;
            let posted = payload["posted"].as_bool().unwrap_or(true);
            crate::comments::notify_about(conn, comment_id, posted, now).await
        }
        other => Err(anyhow::anyhow!("topic {other} is not handled in the database alone").into()),
    }
}

fn payload_of(event: &ClaimedEvent) -> Result<serde_json::Value> {
    Ok(serde_json::from_str(&event.payload).map_err(|e| anyhow::anyhow!("bad payload: {e}"))?)
}

/// Hides taken events for `lease` from now (a broker holds them; if their messages are lost
/// they come back then).
pub async fn postpone(services: &Services, ids: &[i64], lease: TimeDelta) -> Result<()> {
    let until = services.clock().now() + lease;
    let mut pooled = services.db().acquire().await?;
    rows::postpone(&mut pooled.conn(), ids, until).await?;
    Ok(())
}

/// Puts taken events back to be taken again shortly (a broker did not take them).
pub async fn retry_soon(services: &Services, ids: &[i64], reason: &str) -> Result<()> {
    let retry_at = services.clock().now() + TimeDelta::seconds(1);
    let mut pooled = services.db().acquire().await?;
    for id in ids {
        rows::mark_failed(&mut pooled.conn(), *id, reason, retry_at).await?;
    }
    Ok(())
}

/// Handles the event with this id if it is still to be done (a broker consumer's entry: the
/// message names the event, the row holds the truth); false if it was done already.
pub async fn process_by_id(services: &Services, id: i64) -> Result<bool> {
    let event = {
        let mut pooled = services.db().acquire().await?;
        rows::find_pending(&mut pooled.conn(), id).await?
    };
    let Some(event) = event else {
        return Ok(false);
    };
    process(services, &event).await?;
    services.live().nudge();
    Ok(true)
}

async fn handle(services: &Services, event: &ClaimedEvent) -> Result<()> {
    if is_database_only(event) {
        let now = services.clock().now();
        let mut tx = services.db().begin().await?;
        apply(&mut tx.conn(), event, now).await?;
        if rows::mark_processed(&mut tx.conn(), event.id, now).await? {
            tx.commit().await?;
        }
        return Ok(());
    }
    let payload = payload_of(event)?;
    match event.topic.as_str() {
        END_LOGIC => {
            let task_id = payload["task_id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no task_id in {}", event.payload))?;
            run_end_logic(services, event, task_id).await
        }
        NOTIFICATION_EMAIL => {
            let notification_id = payload["notification_id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no notification_id in {}", event.payload))?;
            crate::email::send_for_notification(services, event, notification_id).await
        }
        DIGEST_EMAIL => crate::email::send_digest(services, event, &payload).await,
        other => Err(anyhow::anyhow!("no handler for topic {other}").into()),
    }
}

/// Calls AMS or BMS with the ticket and task, and records the outcome on the task: `done`,
/// `failed` (to be retried) or `gave_up` after the last attempt. The call is made outside any
/// transaction (it may take seconds); the receiver de-duplicates by `X-TTS-Event-Id` should a
/// crash make us call twice.
async fn run_end_logic(services: &Services, event: &ClaimedEvent, task_id: i64) -> Result<()> {
    let settings = services.end_logic_settings();
    let (body, url) = {
        let mut pooled = services.db().acquire().await?;
        let mut conn = pooled.conn();
        let Some(task) = task_rows::find(&mut conn, task_id).await? else {
            rows::mark_processed(&mut conn, event.id, services.clock().now()).await?;
            return Ok(());
        };
        let ticket = ticket_rows::find(&mut conn, task.ticket_id).await?;
        let version = workflow_rows::find_version(&mut conn, task.workflow_version_id).await?;
        let items = task_rows::items(&mut conn, task_id).await?;
        let (Some(ticket), Some(version)) = (ticket, version) else {
            rows::mark_processed(&mut conn, event.id, services.clock().now()).await?;
            return Ok(());
        };
        let url = match version.end_logic.as_str() {
            "asset" => settings.ams_url.clone(),
            "budget" => settings.bms_url.clone(),
            _ => None,
        };
        let body = serde_json::json!({
            "event_id": event.event_key,
            "end_logic": version.end_logic,
            "ticket": {
                "id": ticket.id,
                "number": domain::tickets::TicketNumber(ticket.id).to_string(),
                "subject": ticket.subject,
                "description": ticket.description,
                "priority": ticket.priority,
                "category": ticket.category_name,
                "sub_category": ticket.sub_category_name,
                "department": ticket.department_name,
                "requester": { "id": ticket.requester_id, "name": ticket.requester_name, "email": ticket.requester_email },
                "external_ref": ticket.external_ref,
                "fields": serde_json::from_str::<serde_json::Value>(&ticket.fields).unwrap_or_default(),
            },
            "task": {
                "id": task.id,
                "workflow": version.workflow_name,
                "version": version.number,
                "started_at": task.started_at,
                "completed_at": task.completed_at,
                "steps": items.iter().map(|i| serde_json::json!({
                    "step_id": i.step_id,
                    "assignee": i.user_email,
                    "status": i.status,
                    "notes": i.notes,
                    "acted_at": i.acted_at,
                })).collect::<Vec<_>>(),
            },
        });
        (body.to_string(), url)
    };
    let outcome = match &url {
        None => Err("no URL is configured for this end logic (AMS_URL / BMS_URL)".to_owned()),
        Some(url) => call(services, url, &event.event_key, &body, settings).await,
    };
    let now = services.clock().now();
    let mut tx = services.db().begin().await?;
    let conn = &mut tx.conn();
    let gave_up = url.is_none() || event.attempts >= settings.max_attempts;
    let (status, detail) = match &outcome {
        Ok(answer) => ("done", answer.clone()),
        Err(err) if gave_up => (
            "gave_up",
            format!("after {} attempts: {err}", event.attempts),
        ),
        Err(err) => (
            "failed",
            format!("attempt {}: {err}; retrying", event.attempts),
        ),
    };
    task_rows::set_end_logic_outcome(conn, task_id, status, &detail, now).await?;
    match outcome {
        Ok(_) => {
            rows::mark_processed(conn, event.id, now).await?;
        }
        Err(err) if gave_up => {
            rows::give_up(conn, event.id, &err, now).await?;
        }
        Err(err) => {
            rows::mark_failed(conn, event.id, &err, now + backoff(event.attempts)).await?;
        }
    }
    crate::audit::record(
        conn,
        crate::audit::Actor::System,
        "task.end_logic",
        "task",
        Some(task_id),
        None,
        Some(serde_json::json!({ "status": status, "detail": detail })),
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The signature of a body: hex HMAC-SHA256 with the shared secret.
pub fn sign(secret: &str, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(body.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn call(
    services: &Services,
    url: &str,
    event_id: &str,
    body: &str,
    settings: &EndLogicSettings,
) -> std::result::Result<String, String> {
    let response = services
        .http()
        .post(url)
        .timeout(settings.timeout)
        .header("content-type", "application/json")
        .header("x-tts-event-id", event_id)
        .header(
            "x-tts-signature",
            format!("sha256={}", sign(&settings.signing_secret, body)),
        )
        .body(body.to_owned())
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                format!("no answer within {} s", settings.timeout.as_secs())
            } else {
                format!("could not reach {url}: {}", root_cause(&e))
            }
        })?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let text: String = text.chars().take(500).collect();
    if status.is_success() {
        Ok(format!("{} {}", status.as_u16(), text.trim()))
    } else {
        Err(format!(
            "{url} answered {}: {}",
            status.as_u16(),
            text.trim()
        ))
    }
}

fn root_cause(err: &dyn std::error::Error) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        assert_eq!(backoff(1), TimeDelta::seconds(2));
        assert_eq!(backoff(3), TimeDelta::seconds(8));
        assert_eq!(backoff(9), TimeDelta::seconds(512));
        assert_eq!(backoff(10), TimeDelta::seconds(600));
        assert_eq!(backoff(50), TimeDelta::seconds(600));
    }

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// A few events over a second are the usual trickle; a hundred at once are a burst; the
    /// next look, with nothing written since, is calm again.
    #[test]
    fn a_burst_of_writes_is_told_from_a_trickle() {
        let wake = OutboxWake::default();
        let second_ago = Instant::now()
            .checked_sub(Duration::from_secs(1))
            .unwrap_or_else(Instant::now);
        let mut looked = Look {
            written: 0,
            at: second_ago,
        };
        for _ in 0..5 {
            wake.wrote();
        }
        assert!(!wake.is_busy(&mut looked), "5 events in a second");
        assert_eq!(looked.written, 5);
        for _ in 0..100 {
            wake.wrote();
        }
        assert!(wake.is_busy(&mut looked), "100 events at once");
        assert!(!wake.is_busy(&mut looked), "nothing since the last look");
        wake.wrote();
        assert!(!wake.is_busy(&mut looked), "one event is never a burst");
    }
}
