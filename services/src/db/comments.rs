//! Comments, their revisions, ratings and mentions.

use chrono::{DateTime, Utc};

use super::Conn;
use crate::{execute, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub ticket_id: i64,
    pub parent_id: Option<i64>,
    pub author_id: Option<i64>,
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    pub body: String,
    pub is_internal: bool,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub thumbs_up: i64,
    pub thumbs_down: i64,
}

const COMMENT_SELECT: &str = "SELECT c.id, c.ticket_id, c.parent_id, c.author_id, \
     u.full_name AS author_name, u.email AS author_email, c.body, c.is_internal, \
     c.created_at, c.edited_at, c.deleted_at, \
     (SELECT COUNT(*) FROM comment_ratings r WHERE r.comment_id = c.id AND r.value = 1) AS thumbs_up, \
     (SELECT COUNT(*) FROM comment_ratings r WHERE r.comment_id = c.id AND r.value = -1) AS thumbs_down \
     FROM comments c LEFT JOIN users u ON u.id = c.author_id";

pub struct NewCommentRow<'a> {
    pub ticket_id: i64,
    pub parent_id: Option<i64>,
    pub author_id: Option<i64>,
    pub body: &'a str,
    pub is_internal: bool,
    pub now: DateTime<Utc>,
}

pub async fn insert(conn: &mut Conn<'_>, new: &NewCommentRow<'_>) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO comments (ticket_id, parent_id, author_id, body, is_internal, \
                       created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(new.ticket_id)
        .bind(new.parent_id)
        .bind(new.author_id)
        .bind(new.body)
        .bind(new.is_internal)
        .bind(new.now)
        .fetch_one(c)
        .await)
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<CommentRow>> {
    let sql = format!("{COMMENT_SELECT} WHERE c.id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// The ticket's comments in the order they were written; internal notes only if asked for.
pub async fn of_ticket(
    conn: &mut Conn<'_>,
    ticket_id: i64,
    with_internal: bool,
) -> sqlx::Result<Vec<CommentRow>> {
    let internal = if with_internal {
        ""
    } else {
        " AND c.is_internal = FALSE"
    };
    let sql = format!("{COMMENT_SELECT} WHERE c.ticket_id = $1{internal} ORDER BY c.id");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(ticket_id).fetch_all(c).await)
}

/// Replaces the text (keeping the old one as a revision).
pub async fn set_body(
    conn: &mut Conn<'_>,
    id: i64,
    body: &str,
    editor_id: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    keep_revision(conn, id, editor_id, now).await?;
    execute!(
        conn,
        sqlx::query("UPDATE comments SET body = $1, edited_at = $2 WHERE id = $3")
            .bind(body)
            .bind(now)
            .bind(id)
    )
}

/// Marks the comment deleted and empties it (the text stays in its revisions).
pub async fn mark_deleted(
    conn: &mut Conn<'_>,
    id: i64,
    editor_id: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    keep_revision(conn, id, editor_id, now).await?;
    execute!(
        conn,
        sqlx::query(
            "UPDATE comments SET body = '', deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL"
        )
        .bind(now)
        .bind(id)
    )
}

async fn keep_revision(
    conn: &mut Conn<'_>,
    id: i64,
    editor_id: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "INSERT INTO comment_revisions (comment_id, body, replaced_by, replaced_at) \
                       SELECT id, body, $2, $3 FROM comments WHERE id = $1";
    execute!(conn, sqlx::query(SQL).bind(id).bind(editor_id).bind(now))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub body: String,
    pub replaced_by: Option<i64>,
    pub editor_name: Option<String>,
    pub editor_email: Option<String>,
    pub replaced_at: DateTime<Utc>,
}

pub async fn revisions(conn: &mut Conn<'_>, comment_id: i64) -> sqlx::Result<Vec<RevisionRow>> {
    const SQL: &str = "SELECT r.body, r.replaced_by, u.full_name AS editor_name, \
                       u.email AS editor_email, r.replaced_at FROM comment_revisions r \
                       LEFT JOIN users u ON u.id = r.replaced_by WHERE r.comment_id = $1 ORDER BY r.id";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(comment_id).fetch_all(c).await)
}

/// Sets (or with `None` removes) the user's rating of the comment.
pub async fn rate(
    conn: &mut Conn<'_>,
    comment_id: i64,
    user_id: i64,
    value: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    match value {
        Some(value) => {
            const SQL: &str = "INSERT INTO comment_ratings (comment_id, user_id, value, rated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (comment_id, user_id) \
                 DO UPDATE SET value = excluded.value, rated_at = excluded.rated_at";
            execute!(
                conn,
                sqlx::query(SQL)
                    .bind(comment_id)
                    .bind(user_id)
                    .bind(value)
                    .bind(now)
            )
        }
        None => execute!(
            conn,
            sqlx::query("DELETE FROM comment_ratings WHERE comment_id = $1 AND user_id = $2")
                .bind(comment_id)
                .bind(user_id)
        ),
    }
}

/// The user's ratings of the ticket's comments: (comment id, value).
pub async fn ratings_by(
    conn: &mut Conn<'_>,
    ticket_id: i64,
    user_id: i64,
) -> sqlx::Result<Vec<(i64, i64)>> {
    const SQL: &str = "SELECT r.comment_id, CAST(r.value AS BIGINT) FROM comment_ratings r \
                       JOIN comments c ON c.id = r.comment_id WHERE c.ticket_id = $1 AND r.user_id = $2";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(ticket_id).bind(user_id).fetch_all(c).await)
}

pub async fn add_mention(conn: &mut Conn<'_>, comment_id: i64, user_id: i64) -> sqlx::Result<u64> {
    const SQL: &str = "INSERT INTO comment_mentions (comment_id, user_id) VALUES ($1, $2) \
                       ON CONFLICT DO NOTHING";
    execute!(conn, sqlx::query(SQL).bind(comment_id).bind(user_id))
}

/// The mentioned users of the ticket's comments: (comment id, user id, name, e-mail).
pub async fn mentions_of_ticket(
    conn: &mut Conn<'_>,
    ticket_id: i64,
) -> sqlx::Result<Vec<(i64, i64, String, String)>> {
    const SQL: &str = "SELECT m.comment_id, u.id, u.full_name, u.email FROM comment_mentions m \
                       JOIN comments c ON c.id = m.comment_id JOIN users u ON u.id = m.user_id \
                       WHERE c.ticket_id = $1 ORDER BY m.comment_id, u.full_name";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(ticket_id).fetch_all(c).await)
}

/// Users whose e-mail address starts with `handle@` (a mention's candidates).
pub async fn users_with_handle(
    conn: &mut Conn<'_>,
    handle: &str,
) -> sqlx::Result<Vec<(i64, String, String)>> {
    const SQL: &str = "SELECT id, full_name, email FROM users \
                       WHERE SUBSTR(email, 1, LENGTH($1) + 1) = $1 || '@' AND is_active = TRUE";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(handle).fetch_all(c).await)
}

/// Whether the user already takes part in the ticket: its requester or assignee, the author
/// of one of its public comments, or the holder of one of its task items. (What an employee's
/// @mention may reach: see `comments::resolve_mentions`.)
pub async fn takes_part_in(
    conn: &mut Conn<'_>,
    ticket_id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    const SQL: &str = "SELECT EXISTS (SELECT 1 FROM tickets WHERE id = $1 \
             AND (requester_id = $2 OR assignee_id = $2)) \
         OR EXISTS (SELECT 1 FROM comments WHERE ticket_id = $1 AND author_id = $2 \
             AND NOT is_internal AND deleted_at IS NULL) \
         OR EXISTS (SELECT 1 FROM tasks t JOIN task_items i ON i.task_id = t.id \
             WHERE t.ticket_id = $1 AND i.user_id = $2)";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(ticket_id).bind(user_id).fetch_one(c).await)
}

pub async fn mentioned_users(conn: &mut Conn<'_>, comment_id: i64) -> sqlx::Result<Vec<i64>> {
    const SQL: &str = "SELECT user_id FROM comment_mentions WHERE comment_id = $1 ORDER BY user_id";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(comment_id).fetch_all(c).await)
}

/// The users holding the ticket's open task items (the people working on it now).
pub async fn open_holders(conn: &mut Conn<'_>, ticket_id: i64) -> sqlx::Result<Vec<i64>> {
    const SQL: &str = "SELECT DISTINCT i.user_id FROM task_items i JOIN tasks t ON t.id = i.task_id \
                       WHERE t.ticket_id = $1 AND i.status IN ('new', 'in_progress') ORDER BY i.user_id";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(ticket_id).fetch_all(c).await)
}
