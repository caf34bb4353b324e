//! Workflows, their draft steps and transitions, and their frozen versions.

use chrono::{DateTime, Utc};
use domain::workflow::{SlaPolicy, WorkflowGraph};
use sqlx::types::Json;

use super::Conn;
use crate::{execute, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WorkflowRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub category_id: Option<i64>,
    pub category_name: Option<String>,
    pub sub_category_id: Option<i64>,
    pub sub_category_name: Option<String>,
    pub department_id: Option<i64>,
    pub department_name: Option<String>,
    pub status: String,
    pub sla: Json<SlaPolicy>,
    pub end_logic: String,
    pub revision: i64,
    pub deployed_version_id: Option<i64>,
    pub deployed_version: Option<i64>,
    pub step_count: i64,
    pub open_tasks: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const WORKFLOW_SELECT: &str = "SELECT w.id, w.name, w.description, \
     w.category_id, c.name AS category_name, w.sub_category_id, s.name AS sub_category_name, \
     w.department_id, d.name AS department_name, w.status, w.sla, w.end_logic, w.revision, \
     w.deployed_version_id, v.number AS deployed_version, \
     (SELECT COUNT(*) FROM workflow_steps st WHERE st.workflow_id = w.id) AS step_count, \
     (SELECT COUNT(*) FROM tasks t JOIN workflow_versions tv ON tv.id = t.workflow_version_id \
        WHERE tv.workflow_id = w.id AND t.status = 'open') AS open_tasks, \
     w.created_at, w.updated_at \
     FROM workflows w \
     LEFT JOIN categories c ON c.id = w.category_id \
     LEFT JOIN categories s ON s.id = w.sub_category_id \
     LEFT JOIN departments d ON d.id = w.department_id \
     LEFT JOIN workflow_versions v ON v.id = w.deployed_version_id";

pub async fn list(conn: &mut Conn<'_>) -> sqlx::Result<Vec<WorkflowRow>> {
    let sql = format!("{WORKFLOW_SELECT} ORDER BY LOWER(w.name)");
    on_conn!(conn, c => sqlx::query_as(&sql).fetch_all(c).await)
}

pub async fn find(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<WorkflowRow>> {
    let sql = format!("{WORKFLOW_SELECT} WHERE w.id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// The id of the workflow with this name (letter case ignored), other than `except`.
pub async fn id_named(conn: &mut Conn<'_>, name: &str, except: i64) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "SELECT id FROM workflows WHERE LOWER(name) = LOWER($1) AND id <> $2";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(name).bind(except).fetch_optional(c).await)
}

/// A workflow's settings, as stored.
pub struct WorkflowFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub category_id: Option<i64>,
    pub sub_category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub sla: &'a SlaPolicy,
    pub end_logic: &'a str,
}

pub async fn insert(
    conn: &mut Conn<'_>,
    fields: &WorkflowFields<'_>,
    created_by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO workflows (name, description, category_id, sub_category_id, \
         department_id, status, sla, end_logic, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, $9, $9) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(fields.name)
        .bind(fields.description)
        .bind(fields.category_id)
        .bind(fields.sub_category_id)
        .bind(fields.department_id)
        .bind(Json(fields.sla))
        .bind(fields.end_logic)
        .bind(created_by)
        .bind(now)
        .fetch_one(c)
        .await)
}

/// Saves the settings and bumps the revision.
pub async fn update(
    conn: &mut Conn<'_>,
    id: i64,
    fields: &WorkflowFields<'_>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE workflows SET name = $1, description = $2, category_id = $3, \
         sub_category_id = $4, department_id = $5, sla = $6, end_logic = $7, \
         revision = revision + 1, updated_at = $8 WHERE id = $9";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(fields.name)
            .bind(fields.description)
            .bind(fields.category_id)
            .bind(fields.sub_category_id)
            .bind(fields.department_id)
            .bind(Json(fields.sla))
            .bind(fields.end_logic)
            .bind(now)
            .bind(id)
    )
}

/// Bumps the revision if it is still `expected`: false if the draft changed meanwhile.
pub async fn bump_revision(
    conn: &mut Conn<'_>,
    id: i64,
    expected: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE workflows SET revision = revision + 1, updated_at = $1 \
                       WHERE id = $2 AND revision = $3";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(id).bind(expected))? == 1)
}

pub async fn set_status(
    conn: &mut Conn<'_>,
    id: i64,
    status: &str,
    deployed_version_id: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE workflows SET status = $1, \
         deployed_version_id = COALESCE($2, deployed_version_id), updated_at = $3 WHERE id = $4";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(status)
            .bind(deployed_version_id)
            .bind(now)
            .bind(id)
    )
}

pub async fn delete(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<u64> {
    execute!(
        conn,
        sqlx::query("DELETE FROM workflows WHERE id = $1").bind(id)
    )
}

// ------------------------------------------------------------------ the draft graph

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StepRow {
    pub id: i64,
    pub name: String,
    pub instructions: String,
    pub role_id: Option<i64>,
    pub escalation_role_id: Option<i64>,
    pub weight: i64,
    pub is_start: bool,
    pub is_end: bool,
    pub position_x: f64,
    pub position_y: f64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransitionRow {
    pub id: i64,
    pub from_step_id: i64,
    pub to_step_id: i64,
    pub action: String,
}

pub async fn steps(conn: &mut Conn<'_>, workflow_id: i64) -> sqlx::Result<Vec<StepRow>> {
    const SQL: &str = "SELECT id, name, instructions, role_id, escalation_role_id, weight, \
         is_start, is_end, position_x, position_y FROM workflow_steps \
         WHERE workflow_id = $1 ORDER BY sort_order, id";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(workflow_id).fetch_all(c).await)
}

pub async fn transitions(
    conn: &mut Conn<'_>,
    workflow_id: i64,
) -> sqlx::Result<Vec<TransitionRow>> {
    const SQL: &str = "SELECT id, from_step_id, to_step_id, action FROM workflow_transitions \
                       WHERE workflow_id = $1 ORDER BY sort_order, id";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(workflow_id).fetch_all(c).await)
}

/// The workflow a step or transition of a draft belongs to.
pub async fn workflow_of_step(conn: &mut Conn<'_>, step_id: i64) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "SELECT workflow_id FROM workflow_steps WHERE id = $1";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(step_id).fetch_optional(c).await)
}

pub async fn workflow_of_transition(
    conn: &mut Conn<'_>,
    transition_id: i64,
) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "SELECT workflow_id FROM workflow_transitions WHERE id = $1";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(transition_id).fetch_optional(c).await)
}

/// A step as stored, without its id.
pub struct StepFields<'a> {
    pub sort_order: i64,
    pub name: &'a str,
    pub instructions: &'a str,
    pub role_id: Option<i64>,
    pub escalation_role_id: Option<i64>,
    pub weight: i64,
    pub is_start: bool,
    pub is_end: bool,
    pub position_x: f64,
    pub position_y: f64,
}

pub async fn insert_step(
    conn: &mut Conn<'_>,
    workflow_id: i64,
    step: &StepFields<'_>,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO workflow_steps (workflow_id, sort_order, name, instructions, \
         role_id, escalation_role_id, weight, is_start, is_end, position_x, position_y) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(workflow_id)
        .bind(step.sort_order)
        .bind(step.name)
        .bind(step.instructions)
        .bind(step.role_id)
        .bind(step.escalation_role_id)
        .bind(step.weight)
        .bind(step.is_start)
        .bind(step.is_end)
        .bind(step.position_x)
        .bind(step.position_y)
        .fetch_one(c)
        .await)
}

pub async fn update_step(conn: &mut Conn<'_>, id: i64, step: &StepFields<'_>) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE workflow_steps SET sort_order = $1, name = $2, instructions = $3, \
         role_id = $4, escalation_role_id = $5, weight = $6, is_start = $7, is_end = $8, \
         position_x = $9, position_y = $10 WHERE id = $11";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(step.sort_order)
            .bind(step.name)
            .bind(step.instructions)
            .bind(step.role_id)
            .bind(step.escalation_role_id)
            .bind(step.weight)
            .bind(step.is_start)
            .bind(step.is_end)
            .bind(step.position_x)
            .bind(step.position_y)
            .bind(id)
    )
}

pub async fn delete_step(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<u64> {
    execute!(
        conn,
        sqlx::query("DELETE FROM workflow_steps WHERE id = $1").bind(id)
    )
}

pub async fn insert_transition(
    conn: &mut Conn<'_>,
    workflow_id: i64,
    sort_order: i64,
    from: i64,
    to: i64,
    action: &str,
) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO workflow_transitions (workflow_id, sort_order, from_step_id, \
         to_step_id, action) VALUES ($1, $2, $3, $4, $5) RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(workflow_id)
        .bind(sort_order)
        .bind(from)
        .bind(to)
        .bind(action)
        .fetch_one(c)
        .await)
}

pub async fn update_transition(
    conn: &mut Conn<'_>,
    id: i64,
    sort_order: i64,
    from: i64,
    to: i64,
    action: &str,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE workflow_transitions SET sort_order = $1, from_step_id = $2, \
                       to_step_id = $3, action = $4 WHERE id = $5";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(sort_order)
            .bind(from)
            .bind(to)
            .bind(action)
            .bind(id)
    )
}

pub async fn delete_transition(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<u64> {
    execute!(
        conn,
        sqlx::query("DELETE FROM workflow_transitions WHERE id = $1").bind(id)
    )
}

/// The ids of the workflow roles that exist (validation checks steps name real roles).
pub async fn role_ids(conn: &mut Conn<'_>) -> sqlx::Result<Vec<i64>> {
    on_conn!(conn, c => sqlx::query_scalar("SELECT id FROM workflow_roles").fetch_all(c).await)
}

// ------------------------------------------------------------------ versions

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub id: i64,
    pub workflow_id: i64,
    pub workflow_name: String,
    pub number: i64,
    pub graph: Json<WorkflowGraph>,
    pub sla: Json<SlaPolicy>,
    pub end_logic: String,
    pub category_id: Option<i64>,
    pub sub_category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub deployed_by: Option<i64>,
    pub deployed_by_name: Option<String>,
    pub deployed_by_email: Option<String>,
    pub deployed_at: DateTime<Utc>,
    pub is_current: bool,
}

const VERSION_SELECT: &str = "SELECT v.id, v.workflow_id, w.name AS workflow_name, v.number, \
     v.graph, v.sla, v.end_logic, v.category_id, v.sub_category_id, v.department_id, \
     v.deployed_by, u.full_name AS deployed_by_name, u.email AS deployed_by_email, v.deployed_at, \
     (w.status = 'deployed' AND w.deployed_version_id = v.id) AS is_current \
     FROM workflow_versions v JOIN workflows w ON w.id = v.workflow_id \
     LEFT JOIN users u ON u.id = v.deployed_by";

pub async fn versions(conn: &mut Conn<'_>, workflow_id: i64) -> sqlx::Result<Vec<VersionRow>> {
    let sql = format!("{VERSION_SELECT} WHERE v.workflow_id = $1 ORDER BY v.number DESC");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(workflow_id).fetch_all(c).await)
}

pub async fn find_version(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<VersionRow>> {
    let sql = format!("{VERSION_SELECT} WHERE v.id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// The deployed versions whose match set fits a ticket with these fields (a workflow naming
/// nothing fits every ticket), most specific first.
pub async fn matching_versions(
    conn: &mut Conn<'_>,
    category_id: Option<i64>,
    sub_category_id: Option<i64>,
    department_id: Option<i64>,
) -> sqlx::Result<Vec<VersionRow>> {
    let sql = format!(
        "{VERSION_SELECT} WHERE w.status = 'deployed' AND w.deployed_version_id = v.id \
         AND (v.category_id IS NULL OR v.category_id = $1) \
         AND (v.sub_category_id IS NULL OR v.sub_category_id = $2) \
         AND (v.department_id IS NULL OR v.department_id = $3) \
         ORDER BY (CASE WHEN v.category_id IS NULL THEN 0 ELSE 1 END) \
                + (CASE WHEN v.sub_category_id IS NULL THEN 0 ELSE 1 END) \
                + (CASE WHEN v.department_id IS NULL THEN 0 ELSE 1 END) DESC, w.id"
    );
    on_conn!(conn, c => sqlx::query_as(&sql)
        .bind(category_id)
        .bind(sub_category_id)
        .bind(department_id)
        .fetch_all(c)
        .await)
}

/// Deployed workflows other than `except` whose match set is exactly this one.
pub async fn same_match_set(
    conn: &mut Conn<'_>,
    except: i64,
    category_id: Option<i64>,
    sub_category_id: Option<i64>,
    department_id: Option<i64>,
) -> sqlx::Result<Vec<String>> {
    // `IS NOT DISTINCT FROM` on PostgreSQL is `IS` on SQLite; COALESCE to 0 works on both
    // (ids start at 1).
    const SQL: &str = "SELECT w.name FROM workflows w JOIN workflow_versions v \
         ON v.id = w.deployed_version_id WHERE w.status = 'deployed' AND w.id <> $1 \
         AND COALESCE(v.category_id, 0) = COALESCE($2, 0) \
         AND COALESCE(v.sub_category_id, 0) = COALESCE($3, 0) \
         AND COALESCE(v.department_id, 0) = COALESCE($4, 0) ORDER BY w.name";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(except)
        .bind(category_id)
        .bind(sub_category_id)
        .bind(department_id)
        .fetch_all(c)
        .await)
}

pub struct NewVersion<'a> {
    pub workflow_id: i64,
    pub graph: &'a WorkflowGraph,
    pub sla: &'a SlaPolicy,
    pub end_logic: &'a str,
    pub category_id: Option<i64>,
    pub sub_category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub deployed_by: Option<i64>,
    pub now: DateTime<Utc>,
}

/// Freezes a version, numbered one past the workflow's last; returns its id and number.
pub async fn insert_version(
    conn: &mut Conn<'_>,
    version: &NewVersion<'_>,
) -> sqlx::Result<(i64, i64)> {
    const SQL: &str = "INSERT INTO workflow_versions (workflow_id, number, graph, sla, end_logic, \
         category_id, sub_category_id, department_id, deployed_by, deployed_at) \
         VALUES ($1, (SELECT COALESCE(MAX(number), 0) + 1 FROM workflow_versions WHERE workflow_id = $1), \
         $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id, number";
    on_conn!(conn, c => sqlx::query_as(SQL)
        .bind(version.workflow_id)
        .bind(Json(version.graph))
        .bind(Json(version.sla))
        .bind(version.end_logic)
        .bind(version.category_id)
        .bind(version.sub_category_id)
        .bind(version.department_id)
        .bind(version.deployed_by)
        .bind(version.now)
        .fetch_one(c)
        .await)
}

pub async fn has_versions(conn: &mut Conn<'_>, workflow_id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM workflow_versions WHERE workflow_id = $1";
    let count: i64 =
        on_conn!(conn, c => sqlx::query_scalar(SQL).bind(workflow_id).fetch_one(c).await)?;
    Ok(count > 0)
}
