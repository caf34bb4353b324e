//! The outbox: events written in the transaction that caused them, taken by the background
//! runner (any replica) and marked processed in the transaction of their effect.

use chrono::{DateTime, Utc};

use super::{Backend, Conn};
use crate::{execute, on_conn};

/// An event for the outbox: see [`enqueue`].
pub struct OutboxEvent<'a> {
    pub event_key: String,
    pub topic: &'a str,
    pub payload: String,
    pub now: DateTime<Utc>,
}

/// [`enqueue`] for several events, in one statement.
pub async fn enqueue_many(conn: &mut Conn<'_>, events: &[OutboxEvent<'_>]) -> sqlx::Result<u64> {
    if events.is_empty() {
        return Ok(0);
    }
    let jsonb = conn.backend() == Backend::Postgres;
    on_conn!(conn, c => {
        let mut insert = sqlx::QueryBuilder::new(
            "INSERT INTO outbox (event_key, topic, payload, created_at, available_at) ",
        );
        insert.push_values(events, |mut values, event| {
            values.push_bind(event.event_key.as_str()).push_bind(event.topic);
            if jsonb {
                values
                    .push("CAST(")
                    .push_bind_unseparated(event.payload.as_str())
                    .push_unseparated(" AS JSONB)");
            } else {
                values.push_bind(event.payload.as_str());
            }
            values.push_bind(event.now).push_bind(event.now);
        });
        insert.push(" ON CONFLICT (event_key) DO NOTHING");
        insert.build().execute(c).await.map(|done| done.rows_affected())
    })
}

/// Adds an event to the outbox unless one with the same key is there already.
pub async fn enqueue(
    conn: &mut Conn<'_>,
    event_key: &str,
    topic: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    let event = OutboxEvent {
        event_key: event_key.to_owned(),
        topic,
        payload: payload.to_owned(),
        now,
    };
    enqueue_many(conn, &[event]).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedEvent {
    pub id: i64,
    pub event_key: String,
    pub topic: String,
    pub payload: String,
    pub attempts: i64,
}

/// Takes up to `limit` due events of the given topics, oldest first, and hides them from other
/// takers until `lease_until` (if this process dies, they come back then). PostgreSQL skips
/// rows another replica is taking at the same moment; SQLite has one writer at a time.
pub async fn claim(
    conn: &mut Conn<'_>,
    topics: &[&str],
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<ClaimedEvent>> {
    // The topics are the program's own constants, never input.
    let topics = topics
        .iter()
        .map(|t| format!("'{}'", t.replace('\'', "")))
        .collect::<Vec<_>>()
        .join(", ");
    let (lock, payload) = match conn.backend() {
        Backend::Sqlite => ("", "payload"),
        Backend::Postgres => (" FOR UPDATE SKIP LOCKED", "payload::text"),
    };
    let sql = format!(
        "UPDATE outbox SET attempts = attempts + 1, available_at = $1 WHERE id IN \
         (SELECT id FROM outbox WHERE processed_at IS NULL AND available_at <= $2 \
          AND topic IN ({topics}) ORDER BY id LIMIT $3{lock}) \
         RETURNING id, event_key, topic, {payload} AS payload, attempts"
    );
    let mut events: Vec<ClaimedEvent> = on_conn!(conn, c => sqlx::query_as(&sql)
        .bind(lease_until)
        .bind(now)
        .bind(limit)
        .fetch_all(c)
        .await)?;
    events.sort_by_key(|e| e.id);
    Ok(events)
}

/// Hides taken events until `until` (they are in good hands meanwhile), in one statement.
pub async fn postpone(conn: &mut Conn<'_>, ids: &[i64], until: DateTime<Utc>) -> sqlx::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    on_conn!(conn, c => {
        let mut update = sqlx::QueryBuilder::new("UPDATE outbox SET available_at = ");
        update.push_bind(until).push(" WHERE processed_at IS NULL AND id IN (");
        let mut list = update.separated(", ");
        for id in ids {
            list.push_bind(*id);
        }
        update.push(")");
        update.build().execute(c).await.map(|done| done.rows_affected())
    })
}

/// The event if it is not processed yet.
pub async fn find_pending(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<ClaimedEvent>> {
    let payload = match conn.backend() {
        Backend::Sqlite => "payload",
        Backend::Postgres => "payload::text",
    };
    let sql = format!(
        "SELECT id, event_key, topic, {payload} AS payload, attempts FROM outbox \
         WHERE id = $1 AND processed_at IS NULL"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// Marks the event processed, in the transaction of its effect; false if it already was
/// (another taker finished it first: the caller rolls its effect back).
pub async fn mark_processed(
    conn: &mut Conn<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE outbox SET processed_at = $1, last_error = NULL \
                       WHERE id = $2 AND processed_at IS NULL";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(id))? == 1)
}

/// Records a failed attempt; the event comes back at `retry_at`.
pub async fn mark_failed(
    conn: &mut Conn<'_>,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE outbox SET last_error = $1, available_at = $2 \
                       WHERE id = $3 AND processed_at IS NULL";
    execute!(conn, sqlx::query(SQL).bind(error).bind(retry_at).bind(id))
}

/// Gives up on an event: it is marked processed with its last error, for people to see.
pub async fn give_up(
    conn: &mut Conn<'_>,
    id: i64,
    error: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE outbox SET processed_at = $1, last_error = $2 \
                       WHERE id = $3 AND processed_at IS NULL";
    execute!(conn, sqlx::query(SQL).bind(now).bind(error).bind(id))
}

/// Brings an event back to be handled now, from scratch: one that was given up (it was marked
/// processed with its last error) or is waiting for its next attempt. False if there is no
/// such event, or it was handled successfully.
pub async fn revive(
    conn: &mut Conn<'_>,
    event_key: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE outbox SET processed_at = NULL, attempts = 0, last_error = NULL, \
                       available_at = $1 \
                       WHERE event_key = $2 AND (processed_at IS NULL OR last_error IS NOT NULL)";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(event_key))? == 1)
}
