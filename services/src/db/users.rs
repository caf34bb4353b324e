//! Queries on users and their system roles.

use chrono::{DateTime, Utc};
use domain::{RoleGrant, System, SystemRole};

use super::Conn;
use crate::{execute, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub password_hash: Option<String>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub failed_login_count: i64,
    pub locked_until: Option<DateTime<Utc>>,
    /// `none`, `totp` or `email`.
    pub second_factor: String,
    /// Encrypted; see `auth::crypto::SecretBox`.
    pub totp_secret: Option<String>,
    pub password_changed_at: Option<DateTime<Utc>>,
}

impl UserRow {
    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

const USER_COLUMNS: &str = "id, email, full_name, password_hash, is_active, created_at, updated_at, \
     last_login_at, failed_login_count, locked_until, second_factor, totp_secret, password_changed_at";

pub async fn find_by_email(conn: &mut Conn<'_>, email: &str) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(email).fetch_optional(c).await)
}

pub async fn find_by_id(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// The newest users first, at most `limit`.
pub async fn list(conn: &mut Conn<'_>, limit: i64) -> sqlx::Result<Vec<UserRow>> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY id DESC LIMIT $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(limit).fetch_all(c).await)
}

/// A `LIKE` pattern matching `text` anywhere, with `%`, `_` and `\` taken literally.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{}%", escaped.to_lowercase())
}

/// Users whose e-mail or name contains `query` (any letter case), in the given order, one
/// page; and how many match in all.
pub async fn search(
    conn: &mut Conn<'_>,
    query: &str,
    order_by: &str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<UserRow>, i64)> {
    let pattern = contains_pattern(query.trim());
    let filter = "(email LIKE $1 ESCAPE '\\' OR LOWER(full_name) LIKE $1 ESCAPE '\\')";
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {filter} ORDER BY {order_by} LIMIT $2 OFFSET $3"
    );
    let rows = on_conn!(conn, c => sqlx::query_as(&sql)
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(c)
        .await)?;
    let count_sql = format!("SELECT COUNT(*) FROM users WHERE {filter}");
    let total =
        on_conn!(conn, c => sqlx::query_scalar(&count_sql).bind(&pattern).fetch_one(c).await)?;
    Ok((rows, total))
}

pub async fn count(conn: &mut Conn<'_>) -> sqlx::Result<i64> {
    on_conn!(conn, c => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(c).await)
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub full_name: &'a str,
    pub password_hash: Option<&'a str>,
}

pub async fn insert(
    conn: &mut Conn<'_>,
    user: &NewUser<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO users (email, full_name, password_hash, is_active, created_at, updated_at) \
                       VALUES ($1, $2, $3, TRUE, $4, $4) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(user.email)
        .bind(user.full_name)
        .bind(user.password_hash)
        .bind(now)
        .fetch_one(c)
        .await)
}

/// A successful sign-in: remember when, forget earlier failures.
pub async fn record_login(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE users SET last_login_at = $1, failed_login_count = 0, locked_until = NULL \
                       WHERE id = $2";
    execute!(conn, sqlx::query(SQL).bind(now).bind(id))?;
    Ok(())
}

/// Counts a failed sign-in; at `threshold` consecutive failures the account is locked until
/// `lock_until`. Returns the new count and the lock, atomically (concurrent failures cannot
/// both read the old count).
pub async fn record_failed_login(
    conn: &mut Conn<'_>,
    id: i64,
    threshold: i64,
    lock_until: DateTime<Utc>,
) -> sqlx::Result<(i64, Option<DateTime<Utc>>)> {
    const SQL: &str = "UPDATE users SET failed_login_count = failed_login_count + 1, \
                       locked_until = CASE WHEN failed_login_count + 1 >= $1 THEN $2 ELSE locked_until END \
                       WHERE id = $3 RETURNING failed_login_count, locked_until";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(threshold).bind(lock_until).bind(id).fetch_one(c).await)
}

pub async fn unlock(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE users SET failed_login_count = 0, locked_until = NULL, updated_at = $1 \
                       WHERE id = $2";
    execute!(conn, sqlx::query(SQL).bind(now).bind(id))
}

pub async fn set_password(
    conn: &mut Conn<'_>,
    id: i64,
    hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::User(id));
    const SQL: &str = "UPDATE users SET password_hash = $1, password_changed_at = $2, updated_at = $2, \
                       failed_login_count = 0, locked_until = NULL WHERE id = $3";
    execute!(conn, sqlx::query(SQL).bind(hash).bind(now).bind(id))?;
    Ok(())
}

/// Sets the second factor: `none` (clearing any secret), `totp` with its encrypted secret, or
/// `email`.
pub async fn set_second_factor(
    conn: &mut Conn<'_>,
    id: i64,
    method: &str,
    totp_secret: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::User(id));
    const SQL: &str =
        "UPDATE users SET second_factor = $1, totp_secret = $2, updated_at = $3 WHERE id = $4";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(method)
            .bind(totp_secret)
            .bind(now)
            .bind(id)
    )?;
    Ok(())
}

pub async fn set_active(
    conn: &mut Conn<'_>,
    id: i64,
    active: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::User(id));
    const SQL: &str = "UPDATE users SET is_active = $1, updated_at = $2 WHERE id = $3";
    execute!(conn, sqlx::query(SQL).bind(active).bind(now).bind(id))
}

pub async fn update_profile(
    conn: &mut Conn<'_>,
    id: i64,
    email: &str,
    full_name: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::User(id));
    const SQL: &str = "UPDATE users SET email = $1, full_name = $2, updated_at = $3 WHERE id = $4";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(email)
            .bind(full_name)
            .bind(now)
            .bind(id)
    )
}

/// Removes the user's role in `system`.
pub async fn remove_grant(conn: &mut Conn<'_>, user_id: i64, system: System) -> sqlx::Result<u64> {
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::User(
        user_id,
    ));
    const SQL: &str = "DELETE FROM user_system_roles WHERE user_id = $1 AND system = $2";
    execute!(conn, sqlx::query(SQL).bind(user_id).bind(system.as_str()))
}

/// How many active users hold `role` in TTS (to keep at least one administrator).
pub async fn count_active_with_role(conn: &mut Conn<'_>, role: SystemRole) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM users u JOIN user_system_roles r ON r.user_id = u.id \
                       WHERE r.system = 'tts' AND r.role = $1 AND u.is_active";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(role.as_str()).fetch_one(c).await)
}

/// The user's roles, by system. Rows with names this version does not know are skipped
/// (the schema's CHECK constraints keep them out in the first place).
pub async fn grants(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<Vec<RoleGrant>> {
    const SQL: &str =
        "SELECT system, role FROM user_system_roles WHERE user_id = $1 ORDER BY system";
    let rows: Vec<(String, String)> =
        on_conn!(conn, c => sqlx::query_as(SQL).bind(user_id).fetch_all(c).await)?;
    Ok(rows
        .iter()
        .filter_map(|(system, role)| grant(system, role))
        .collect())
}

fn grant(system: &str, role: &str) -> Option<RoleGrant> {
    Some(RoleGrant {
        system: system.parse().ok()?,
        role: role.parse().ok()?,
    })
}

/// Grants aggregated as `system:role` pairs separated by spaces, ordered by system (as
/// [`grants`] gives them); pairs naming an unknown system or role are left out.
pub fn parse_grants(aggregated: &str) -> Vec<RoleGrant> {
    let mut grants: Vec<RoleGrant> = aggregated
        .split_whitespace()
        .filter_map(|pair| pair.split_once(':'))
        .filter_map(|(system, role)| grant(system, role))
        .collect();
    grants.sort_by_key(|g| g.system.as_str());
    grants
}

/// Gives the user `role` in `system`, replacing the role they had there.
pub async fn set_grant(
    conn: &mut Conn<'_>,
    user_id: i64,
    system: System,
    role: SystemRole,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::User(
        user_id,
    ));
    const SQL: &str = "INSERT INTO user_system_roles (user_id, system, role, granted_at) \
                       VALUES ($1, $2, $3, $4) \
                       ON CONFLICT (user_id, system) DO UPDATE SET role = excluded.role, granted_at = excluded.granted_at";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(user_id)
            .bind(system.as_str())
            .bind(role.as_str())
            .bind(now)
    )?;
    Ok(())
}
