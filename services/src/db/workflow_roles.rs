//! Workflow roles and their members.

use chrono::{DateTime, Utc};

use super::Conn;
use crate::{execute, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoleRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub assignment: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub member_count: i64,
}

const ROLE_SELECT: &str = "SELECT r.id, r.name, r.description, r.assignment, r.created_at, r.updated_at, \
     (SELECT COUNT(*) FROM workflow_role_members m WHERE m.role_id = r.id AND m.is_active) AS member_count \
     FROM workflow_roles r";

pub async fn list(conn: &mut Conn<'_>) -> sqlx::Result<Vec<RoleRow>> {
    let sql = format!("{ROLE_SELECT} ORDER BY r.name");
    on_conn!(conn, c => sqlx::query_as(&sql).fetch_all(c).await)
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<RoleRow>> {
    let sql = format!("{ROLE_SELECT} WHERE r.id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

pub async fn find_by_name(conn: &mut Conn<'_>, name: &str) -> sqlx::Result<Option<RoleRow>> {
    let sql = format!("{ROLE_SELECT} WHERE LOWER(r.name) = LOWER($1)");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(name).fetch_optional(c).await)
}

pub async fn insert(
    conn: &mut Conn<'_>,
    name: &str,
    description: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO workflow_roles (name, description, created_at, updated_at) \
                       VALUES ($1, $2, $3, $3) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(name).bind(description).bind(now).fetch_one(c).await)
}

pub async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    name: &str,
    description: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str =
        "UPDATE workflow_roles SET name = $1, description = $2, updated_at = $3 WHERE id = $4";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(name)
            .bind(description)
            .bind(now)
            .bind(id)
    )
}

pub async fn set_assignment(conn: &mut Conn<'_>, id: i64, assignment: &str) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE workflow_roles SET assignment = $1 WHERE id = $2";
    execute!(conn, sqlx::query(SQL).bind(assignment).bind(id))
}

pub async fn delete(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<u64> {
    execute!(
        conn,
        sqlx::query("DELETE FROM workflow_roles WHERE id = $1").bind(id)
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub user_id: i64,
    pub email: String,
    pub full_name: String,
    pub is_active: bool,
    pub user_is_active: bool,
    pub added_at: DateTime<Utc>,
}

pub async fn members(conn: &mut Conn<'_>, role_id: i64) -> sqlx::Result<Vec<MemberRow>> {
    const SQL: &str = "SELECT m.user_id, u.email, u.full_name, m.is_active, u.is_active AS user_is_active, \
                       m.added_at FROM workflow_role_members m JOIN users u ON u.id = m.user_id \
                       WHERE m.role_id = $1 ORDER BY u.full_name, u.id";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(role_id).fetch_all(c).await)
}

/// Adds the user to the role, or reactivates them in it.
pub async fn upsert_member(
    conn: &mut Conn<'_>,
    role_id: i64,
    user_id: i64,
    active: bool,
    now: DateTime<Utc>,
) -> sqlx::Result<()> {
    // A role's members see the tickets waiting in its queue: a socket's reach changes.
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::User(
        user_id,
    ));
    const SQL: &str = "INSERT INTO workflow_role_members (role_id, user_id, is_active, added_at) \
                       VALUES ($1, $2, $3, $4) \
                       ON CONFLICT (role_id, user_id) DO UPDATE SET is_active = excluded.is_active";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(role_id)
            .bind(user_id)
            .bind(active)
            .bind(now)
    )?;
    Ok(())
}

pub async fn remove_member(conn: &mut Conn<'_>, role_id: i64, user_id: i64) -> sqlx::Result<u64> {
    crate::auth::access_cache::access_changed(crate::auth::access_cache::AccessChange::User(
        user_id,
    ));
    const SQL: &str = "DELETE FROM workflow_role_members WHERE role_id = $1 AND user_id = $2";
    execute!(conn, sqlx::query(SQL).bind(role_id).bind(user_id))
}

/// The workflow roles a user belongs to (active memberships), by name.
pub async fn names_of_user(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<Vec<String>> {
    const SQL: &str = "SELECT r.name FROM workflow_roles r JOIN workflow_role_members m ON m.role_id = r.id \
                       WHERE m.user_id = $1 AND m.is_active ORDER BY r.name";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(user_id).fetch_all(c).await)
}
