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
}

const USER_COLUMNS: &str =
    "id, email, full_name, password_hash, is_active, created_at, updated_at, last_login_at";

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

pub async fn set_password_hash(
    conn: &mut Conn<'_>,
    id: i64,
    hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3";
    execute!(conn, sqlx::query(SQL).bind(hash).bind(now).bind(id))?;
    Ok(())
}

pub async fn record_login(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE users SET last_login_at = $1 WHERE id = $2";
    execute!(conn, sqlx::query(SQL).bind(now).bind(id))?;
    Ok(())
}

/// The user's roles, by system. Rows with names this version does not know are skipped
/// (the schema's CHECK constraints keep them out in the first place).
pub async fn grants(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<Vec<RoleGrant>> {
    const SQL: &str =
        "SELECT system, role FROM user_system_roles WHERE user_id = $1 ORDER BY system";
    let rows: Vec<(String, String)> =
        on_conn!(conn, c => sqlx::query_as(SQL).bind(user_id).fetch_all(c).await)?;
    Ok(rows
        .into_iter()
        .filter_map(|(system, role)| {
            Some(RoleGrant {
                system: system.parse().ok()?,
                role: role.parse().ok()?,
            })
        })
        .collect())
}

/// Gives the user `role` in `system`, replacing the role they had there.
pub async fn set_grant(
    conn: &mut Conn<'_>,
    user_id: i64,
    system: System,
    role: SystemRole,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
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
