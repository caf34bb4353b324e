//! In-app notifications.

use chrono::{DateTime, Utc};

use super::Conn;
use crate::{execute, on_conn};

pub struct NewNotification<'a> {
    pub user_id: i64,
    pub kind: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub link: Option<&'a str>,
    /// A notification that must go out once carries a key; a second with the same key is
    /// dropped.
    pub dedupe_key: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// Inserts the notification unless one with its key exists; its id if it was inserted.
pub async fn insert(conn: &mut Conn<'_>, n: &NewNotification<'_>) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "INSERT INTO notifications (user_id, kind, title, body, link, dedupe_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(n.user_id)
        .bind(n.kind)
        .bind(n.title)
        .bind(n.body)
        .bind(n.link)
        .bind(n.dedupe_key)
        .bind(n.now)
        .fetch_optional(c)
        .await)
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<NotificationRow>> {
    let sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// The user's notifications after `after`, oldest first (a digest's content).
pub async fn of_user_after(
    conn: &mut Conn<'_>,
    user_id: i64,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<NotificationRow>> {
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = $1 AND id > $2 \
         ORDER BY id LIMIT $3"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(user_id).bind(after).bind(limit).fetch_all(c).await)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

const NOTIFICATION_COLUMNS: &str = "id, user_id, kind, title, body, link, created_at, read_at";

/// Notifications with an id above `after`, oldest first (for pushing them live).
pub async fn after(
    conn: &mut Conn<'_>,
    after: i64,
    limit: i64,
) -> sqlx::Result<Vec<NotificationRow>> {
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id > $1 ORDER BY id LIMIT $2"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(c).await)
}

pub async fn newest_id(conn: &mut Conn<'_>) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT COALESCE(MAX(id), 0) FROM notifications";
    on_conn!(conn, c => sqlx::query_scalar(SQL).fetch_one(c).await)
}

pub async fn list(
    conn: &mut Conn<'_>,
    user_id: i64,
    unread_only: bool,
    limit: i64,
) -> sqlx::Result<Vec<NotificationRow>> {
    let unread = if unread_only {
        " AND read_at IS NULL"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {NOTIFICATION_COLUMNS} FROM notifications \
         WHERE user_id = $1{unread} ORDER BY id DESC LIMIT $2"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(user_id).bind(limit).fetch_all(c).await)
}

pub async fn unread_count(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(user_id).fetch_one(c).await)
}

/// Marks one (or, with `None`, every) unread notification of the user read.
pub async fn mark_read(
    conn: &mut Conn<'_>,
    user_id: i64,
    id: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE notifications SET read_at = $1 WHERE user_id = $2 \
                       AND read_at IS NULL AND ($3 IS NULL OR id = $3)";
    execute!(conn, sqlx::query(SQL).bind(now).bind(user_id).bind(id))
}

pub async fn belongs_to(conn: &mut Conn<'_>, user_id: i64, id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND id = $2";
    let count: i64 =
        on_conn!(conn, c => sqlx::query_scalar(SQL).bind(user_id).bind(id).fetch_one(c).await)?;
    Ok(count > 0)
}
