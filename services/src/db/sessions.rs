//! Signed-in sessions (refresh-token families) and revoked access tokens.

use crate::auth::access_cache::{AccessChange, access_changed};
use chrono::{DateTime, Utc};

use super::{Backend, Conn};
use crate::{execute, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_id: i64,
    pub current_refresh_jti: String,
    pub previous_refresh_jti: Option<String>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
    pub user_agent: String,
    pub ip: String,
}

const COLUMNS: &str = "id, user_id, current_refresh_jti, previous_refresh_jti, rotated_at, created_at, \
     last_used_at, expires_at, revoked_at, revoked_reason, user_agent, ip";

pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: i64,
    pub refresh_jti: &'a str,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub user_agent: &'a str,
    pub ip: &'a str,
}

pub async fn insert(conn: &mut Conn<'_>, new: &NewSession<'_>) -> sqlx::Result<()> {
    const SQL: &str = "INSERT INTO auth_sessions (id, user_id, current_refresh_jti, created_at, last_used_at, \
                       expires_at, user_agent, ip) VALUES ($1, $2, $3, $4, $4, $5, $6, $7)";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(new.id)
            .bind(new.user_id)
            .bind(new.refresh_jti)
            .bind(new.now)
            .bind(new.expires_at)
            .bind(new.user_agent)
            .bind(new.ip)
    )?;
    Ok(())
}

pub async fn find(conn: &mut Conn<'_>, id: &str) -> sqlx::Result<Option<SessionRow>> {
    let sql = format!("SELECT {COLUMNS} FROM auth_sessions WHERE id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// Replaces the session's refresh token if `old_jti` is still the current one (compare and
/// swap: of two concurrent refreshes with the same token, exactly one wins). Returns whether
/// this call won.
pub async fn rotate(
    conn: &mut Conn<'_>,
    id: &str,
    old_jti: &str,
    new_jti: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE auth_sessions SET current_refresh_jti = $1, previous_refresh_jti = $2, \
                       rotated_at = $3, last_used_at = $3, expires_at = $4 \
                       WHERE id = $5 AND current_refresh_jti = $2 AND revoked_at IS NULL";
    let changed = execute!(
        conn,
        sqlx::query(SQL)
            .bind(new_jti)
            .bind(old_jti)
            .bind(now)
            .bind(expires_at)
            .bind(id)
    )?;
    Ok(changed == 1)
}

pub async fn touch(conn: &mut Conn<'_>, id: &str, now: DateTime<Utc>) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE auth_sessions SET last_used_at = $1 WHERE id = $2";
    execute!(conn, sqlx::query(SQL).bind(now).bind(id))?;
    Ok(())
}

/// Ends session `id` of user `user_id` (whose sockets hear of it and close).
pub async fn revoke(
    conn: &mut Conn<'_>,
    user_id: i64,
    id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    access_changed(AccessChange::User(user_id));
    const SQL: &str = "UPDATE auth_sessions SET revoked_at = $1, revoked_reason = $2 \
                       WHERE id = $3 AND revoked_at IS NULL";
    execute!(conn, sqlx::query(SQL).bind(now).bind(reason).bind(id))
}

/// Revokes every session of the user except `keep` (none kept if `None`).
pub async fn revoke_all_of_user(
    conn: &mut Conn<'_>,
    user_id: i64,
    keep: Option<&str>,
    reason: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    access_changed(AccessChange::User(user_id));
    const SQL: &str = "UPDATE auth_sessions SET revoked_at = $1, revoked_reason = $2 \
                       WHERE user_id = $3 AND revoked_at IS NULL AND id <> $4";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(now)
            .bind(reason)
            .bind(user_id)
            .bind(keep.unwrap_or(""))
    )
}

/// The user's sessions that are still valid, most recently used first.
pub async fn list_active(
    conn: &mut Conn<'_>,
    user_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Vec<SessionRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM auth_sessions WHERE user_id = $1 AND revoked_at IS NULL \
         AND expires_at > $2 ORDER BY last_used_at DESC"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(user_id).bind(now).fetch_all(c).await)
}

/// Whether an access token was revoked before its expiry.
pub async fn is_access_revoked(conn: &mut Conn<'_>, jti: &str) -> sqlx::Result<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM revoked_access_tokens WHERE jti = $1";
    let count: i64 = on_conn!(conn, c => sqlx::query_scalar(SQL).bind(jti).fetch_one(c).await)?;
    Ok(count > 0)
}

/// Puts access token `jti` of user `user_id` on the deny-list until it expires.
pub async fn revoke_access(
    conn: &mut Conn<'_>,
    user_id: i64,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    access_changed(AccessChange::User(user_id));
    const SQL: &str = "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) \
                       ON CONFLICT (jti) DO NOTHING";
    execute!(conn, sqlx::query(SQL).bind(jti).bind(expires_at))?;
    Ok(())
}

/// Forgets what can no longer matter: revoked tokens past their expiry, sessions expired or
/// revoked more than a week ago.
pub async fn prune(conn: &mut Conn<'_>, now: DateTime<Utc>) -> sqlx::Result<u64> {
    let week_ago = now - chrono::Duration::days(7);
    let tokens = execute!(
        conn,
        sqlx::query("DELETE FROM revoked_access_tokens WHERE expires_at < $1").bind(now)
    )?;
    let sessions = execute!(
        conn,
        sqlx::query(
            "DELETE FROM auth_sessions WHERE expires_at < $1 OR (revoked_at IS NOT NULL AND revoked_at < $1)"
        )
        .bind(week_ago)
    )?;
    Ok(tokens + sessions)
}

/// What accepting an access token needs to know, read in one statement (it runs on every
/// authenticated request): the user, if active, with their role grants, and whether the
/// token was revoked, its session ended, and the user's system role asks for a second factor.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccessCheck {
    pub email: String,
    pub full_name: String,
    /// `none`, `totp` or `email`.
    pub second_factor: String,
    pub token_revoked: bool,
    pub session_ended: bool,
    pub second_factor_required: bool,
    /// `system:role` pairs separated by spaces (see [`super::users::parse_grants`]).
    pub grants: Option<String>,
}

/// The [`AccessCheck`] of token `jti` of session `session_id` for user `user_id`; `None` when
/// the user does not exist or is deactivated. A session that does not exist has ended.
/// Without a token or session (loading the user alone), neither is revoked or ended.
pub async fn access_check(
    conn: &mut Conn<'_>,
    user_id: i64,
    jti: Option<&str>,
    session_id: Option<&str>,
) -> sqlx::Result<Option<AccessCheck>> {
    let grants = match conn.backend() {
        Backend::Sqlite => "group_concat(g.system || ':' || g.role, ' ')",
        Backend::Postgres => "string_agg(g.system || ':' || g.role, ' ')",
    };
    // A user without a `tts` grant is an employee (`SessionUser::tts_role`).
    let sql = format!(
        "SELECT u.email, u.full_name, u.second_factor, \
         ($2 IS NOT NULL AND EXISTS (SELECT 1 FROM revoked_access_tokens t \
             WHERE t.jti = $2)) AS token_revoked, \
         ($3 IS NOT NULL AND NOT EXISTS (SELECT 1 FROM auth_sessions s \
             WHERE s.id = $3 AND s.revoked_at IS NULL)) AS session_ended, \
         COALESCE((SELECT p.require_second_factor FROM role_policies p WHERE p.role = \
             COALESCE((SELECT r.role FROM user_system_roles r \
                 WHERE r.user_id = u.id AND r.system = 'tts'), 'Employee')), FALSE) \
             AS second_factor_required, \
         (SELECT {grants} FROM user_system_roles g WHERE g.user_id = u.id) AS grants \
         FROM users u WHERE u.id = $1 AND u.is_active"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(user_id).bind(jti).bind(session_id).fetch_optional(c).await)
}
