//! API keys for integrations.

use chrono::{DateTime, Utc};

use super::Conn;
use crate::{execute, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub scopes: String,
    pub created_by: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, name, prefix, secret_hash, scopes, created_by, created_at, last_used_at, revoked_at";

pub async fn insert(
    conn: &mut Conn<'_>,
    name: &str,
    prefix: &str,
    secret_hash: &str,
    scopes: &str,
    created_by: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO api_keys (name, prefix, secret_hash, scopes, created_by, created_at) \
                       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(name)
        .bind(prefix)
        .bind(secret_hash)
        .bind(scopes)
        .bind(created_by)
        .bind(now)
        .fetch_one(c)
        .await)
}

pub async fn find_by_prefix(conn: &mut Conn<'_>, prefix: &str) -> sqlx::Result<Option<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE prefix = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(prefix).fetch_optional(c).await)
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys WHERE id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

pub async fn list(conn: &mut Conn<'_>) -> sqlx::Result<Vec<ApiKeyRow>> {
    let sql = format!("SELECT {COLUMNS} FROM api_keys ORDER BY id DESC");
    on_conn!(conn, c => sqlx::query_as(&sql).fetch_all(c).await)
}

pub async fn revoke(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL";
    execute!(conn, sqlx::query(SQL).bind(now).bind(id))
}

pub async fn touch(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE api_keys SET last_used_at = $1 WHERE id = $2";
    execute!(conn, sqlx::query(SQL).bind(now).bind(id))?;
    Ok(())
}
