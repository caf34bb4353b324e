//! Second-factor material, one-time codes, known devices and role policies.

use chrono::{DateTime, Utc};
use domain::SystemRole;

use super::Conn;
use crate::{execute, on_conn};

// ---- recovery codes

pub async fn replace_recovery_codes(
    conn: &mut Conn<'_>,
    user_id: i64,
    hashes: &[String],
) -> sqlx::Result<()> {
    execute!(
        conn,
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id)
    )?;
    for hash in hashes {
        execute!(
            conn,
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(hash)
        )?;
    }
    Ok(())
}

/// Uses up a recovery code; returns whether it was valid and unused.
pub async fn use_recovery_code(
    conn: &mut Conn<'_>,
    user_id: i64,
    hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE recovery_codes SET used_at = $1 \
                       WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(user_id).bind(hash))? == 1)
}

pub async fn remaining_recovery_codes(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(user_id).fetch_one(c).await)
}

pub async fn delete_recovery_codes(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<()> {
    execute!(
        conn,
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1").bind(user_id)
    )?;
    Ok(())
}

// ---- one-time codes (e-mailed sign-in codes, password-reset links)

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OneTimeCode {
    pub id: i64,
    pub user_id: i64,
    pub purpose: String,
    pub code_hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
    pub attempts: i64,
}

const CODE_COLUMNS: &str =
    "id, user_id, purpose, code_hash, created_at, expires_at, used_at, attempts";

pub async fn insert_code(
    conn: &mut Conn<'_>,
    user_id: i64,
    purpose: &str,
    hash: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    const SQL: &str = "INSERT INTO one_time_codes (user_id, purpose, code_hash, created_at, expires_at) \
                       VALUES ($1, $2, $3, $4, $5)";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(user_id)
            .bind(purpose)
            .bind(hash)
            .bind(now)
            .bind(expires_at)
    )?;
    Ok(())
}

/// The newest unused, unexpired code of this purpose for the user.
pub async fn latest_code(
    conn: &mut Conn<'_>,
    user_id: i64,
    purpose: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<OneTimeCode>> {
    let sql = format!(
        "SELECT {CODE_COLUMNS} FROM one_time_codes WHERE user_id = $1 AND purpose = $2 \
         AND used_at IS NULL AND expires_at > $3 ORDER BY id DESC LIMIT 1"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(user_id).bind(purpose).bind(now).fetch_optional(c).await)
}

/// The code with this hash, whatever its state.
pub async fn code_by_hash(
    conn: &mut Conn<'_>,
    purpose: &str,
    hash: &str,
) -> sqlx::Result<Option<OneTimeCode>> {
    let sql =
        format!("SELECT {CODE_COLUMNS} FROM one_time_codes WHERE purpose = $1 AND code_hash = $2");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(purpose).bind(hash).fetch_optional(c).await)
}

/// Marks a code used if nobody used it first; returns whether this call did.
pub async fn use_code(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE one_time_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(id))? == 1)
}

pub async fn count_attempt(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE one_time_codes SET attempts = attempts + 1 WHERE id = $1";
    execute!(conn, sqlx::query(SQL).bind(id))?;
    Ok(())
}

/// How many codes of this purpose the user was sent since `since` (to rate-limit requests).
pub async fn count_codes_since(
    conn: &mut Conn<'_>,
    user_id: i64,
    purpose: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "SELECT COUNT(*) FROM one_time_codes WHERE user_id = $1 AND purpose = $2 \
                       AND created_at > $3";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(user_id).bind(purpose).bind(since).fetch_one(c).await)
}

pub async fn invalidate_codes(
    conn: &mut Conn<'_>,
    user_id: i64,
    purpose: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    const SQL: &str = "UPDATE one_time_codes SET used_at = $1 \
                       WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL";
    execute!(conn, sqlx::query(SQL).bind(now).bind(user_id).bind(purpose))?;
    Ok(())
}

pub async fn prune_codes(conn: &mut Conn<'_>, before: DateTime<Utc>) -> sqlx::Result<u64> {
    execute!(
        conn,
        sqlx::query("DELETE FROM one_time_codes WHERE expires_at < $1").bind(before)
    )
}

// ---- known devices (login alerts)

/// Records a sign-in from a device; returns whether the device was new to this user, and
/// whether the user had any known device before (a first sign-in alerts nobody).
pub async fn remember_device(
    conn: &mut Conn<'_>,
    user_id: i64,
    device_hash: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<(bool, bool)> {
    const KNOWN: &str = "SELECT COUNT(*) FROM known_devices WHERE user_id = $1";
    let known_before: i64 =
        on_conn!(conn, c => sqlx::query_scalar(KNOWN).bind(user_id).fetch_one(c).await)?;
    const UPDATE: &str =
        "UPDATE known_devices SET last_seen_at = $1 WHERE user_id = $2 AND device_hash = $3";
    let seen = execute!(
        conn,
        sqlx::query(UPDATE)
            .bind(now)
            .bind(user_id)
            .bind(device_hash)
    )?;
    if seen == 1 {
        return Ok((false, true));
    }
    const INSERT: &str = "INSERT INTO known_devices (user_id, device_hash, first_seen_at, last_seen_at) \
                          VALUES ($1, $2, $3, $3) ON CONFLICT (user_id, device_hash) DO NOTHING";
    execute!(
        conn,
        sqlx::query(INSERT)
            .bind(user_id)
            .bind(device_hash)
            .bind(now)
    )?;
    Ok((true, known_before > 0))
}

// ---- role policies

pub async fn second_factor_required(conn: &mut Conn<'_>, role: SystemRole) -> sqlx::Result<bool> {
    const SQL: &str = "SELECT require_second_factor FROM role_policies WHERE role = $1";
    let required: Option<bool> =
        on_conn!(conn, c => sqlx::query_scalar(SQL).bind(role.as_str()).fetch_optional(c).await)?;
    Ok(required.unwrap_or(false))
}

pub async fn set_second_factor_required(
    conn: &mut Conn<'_>,
    role: SystemRole,
    required: bool,
) -> sqlx::Result<()> {
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::Everyone);
    const SQL: &str = "INSERT INTO role_policies (role, require_second_factor) VALUES ($1, $2) \
                       ON CONFLICT (role) DO UPDATE SET require_second_factor = excluded.require_second_factor";
    execute!(conn, sqlx::query(SQL).bind(role.as_str()).bind(required))?;
    Ok(())
}

pub async fn policies(conn: &mut Conn<'_>) -> sqlx::Result<Vec<(String, bool)>> {
    const SQL: &str = "SELECT role, require_second_factor FROM role_policies ORDER BY role";
    on_conn!(conn, c => sqlx::query_as(SQL).fetch_all(c).await)
}
