//! E-mail choices, digests and the delivery log.

use chrono::{DateTime, Utc};

use super::Conn;
use crate::{execute, on_conn};

/// The user's stored choices: (kind, by e-mail).
pub async fn preferences(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<Vec<(String, bool)>> {
    const SQL: &str = "SELECT kind, email FROM notification_preferences WHERE user_id = $1";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(user_id).fetch_all(c).await)
}

pub async fn set_preference(
    conn: &mut Conn<'_>,
    user_id: i64,
    kind: &str,
    email: bool,
) -> sqlx::Result<u64> {
    const SQL: &str = "INSERT INTO notification_preferences (user_id, kind, email) VALUES ($1, $2, $3) \
                       ON CONFLICT (user_id, kind) DO UPDATE SET email = excluded.email";
    execute!(conn, sqlx::query(SQL).bind(user_id).bind(kind).bind(email))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DigestRow {
    pub user_id: i64,
    pub enabled: bool,
    pub last_notification_id: i64,
    pub sent_at: Option<DateTime<Utc>>,
}

pub async fn digest(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<Option<DigestRow>> {
    const SQL: &str = "SELECT user_id, enabled, last_notification_id, sent_at \
                       FROM notification_digests WHERE user_id = $1";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(user_id).fetch_optional(c).await)
}

/// Turns the digest on or off; turning it on starts from the newest notification (what came
/// before was e-mailed one by one).
pub async fn set_digest(
    conn: &mut Conn<'_>,
    user_id: i64,
    enabled: bool,
    newest_notification: i64,
) -> sqlx::Result<u64> {
    const SQL: &str = "INSERT INTO notification_digests (user_id, enabled, last_notification_id) \
                       VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET enabled = excluded.enabled, \
                       last_notification_id = CASE WHEN notification_digests.enabled THEN \
                       notification_digests.last_notification_id ELSE excluded.last_notification_id END";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(user_id)
            .bind(enabled)
            .bind(newest_notification)
    )
}

/// Digests due: enabled, not sent since `due_before`.
pub async fn digests_due(
    conn: &mut Conn<'_>,
    due_before: DateTime<Utc>,
) -> sqlx::Result<Vec<DigestRow>> {
    const SQL: &str = "SELECT user_id, enabled, last_notification_id, sent_at FROM notification_digests \
                       WHERE enabled AND (sent_at IS NULL OR sent_at < $1) ORDER BY user_id LIMIT 500";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(due_before).fetch_all(c).await)
}

/// Records that the digest up to `last_notification_id` is on its way; false if another
/// runner did it first (the row changed since it was read).
pub async fn mark_digest_taken(
    conn: &mut Conn<'_>,
    user_id: i64,
    seen_last: i64,
    last_notification_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE notification_digests SET last_notification_id = $1, sent_at = $2 \
                       WHERE user_id = $3 AND last_notification_id = $4";
    Ok(execute!(
        conn,
        sqlx::query(SQL)
            .bind(last_notification_id)
            .bind(now)
            .bind(user_id)
            .bind(seen_last)
    )? == 1)
}

pub struct NewDelivery<'a> {
    pub event_key: &'a str,
    pub user_id: i64,
    pub to_address: &'a str,
    pub kind: &'a str,
    pub subject: &'a str,
    pub now: DateTime<Utc>,
}

/// The delivery row of an outbox event (created on its first attempt); its id.
pub async fn delivery_for(conn: &mut Conn<'_>, d: &NewDelivery<'_>) -> sqlx::Result<i64> {
    const INSERT: &str = "INSERT INTO email_deliveries (event_key, user_id, to_address, kind, subject, \
         status, attempts, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) \
         ON CONFLICT (event_key) DO NOTHING";
    execute!(
        conn,
        sqlx::query(INSERT)
            .bind(d.event_key)
            .bind(d.user_id)
            .bind(d.to_address)
            .bind(d.kind)
            .bind(d.subject)
            .bind(d.now)
    )?;
    on_conn!(conn, c => sqlx::query_scalar("SELECT id FROM email_deliveries WHERE event_key = $1")
        .bind(d.event_key)
        .fetch_one(c)
        .await)
}

/// Records an attempt's outcome: `sent`, `failed` (with the error) or `gave_up`.
pub async fn record_attempt(
    conn: &mut Conn<'_>,
    id: i64,
    status: &str,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE email_deliveries SET status = $1, attempts = attempts + 1, last_error = $2, \
         updated_at = $3, sent_at = CASE WHEN $1 = 'sent' THEN $3 ELSE sent_at END WHERE id = $4";
    execute!(
        conn,
        sqlx::query(SQL).bind(status).bind(error).bind(now).bind(id)
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub to_address: String,
    pub kind: String,
    pub subject: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// The newest deliveries, optionally of one status.
pub async fn deliveries(
    conn: &mut Conn<'_>,
    status: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    const SQL: &str = "SELECT id, user_id, to_address, kind, subject, status, attempts, last_error, \
         created_at, updated_at, sent_at FROM email_deliveries WHERE ($1 IS NULL OR status = $1) \
         ORDER BY id DESC LIMIT $2";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(status).bind(limit).fetch_all(c).await)
}
