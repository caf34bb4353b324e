//! Tasks, task items and their history, the round-robin cursors and the triage queue.

use chrono::{DateTime, Utc};

use super::{Backend, Conn};
use crate::{execute, on_conn};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    pub ticket_id: i64,
    pub workflow_version_id: i64,
    pub current_step_id: i64,
    pub status: String,
    pub revision: i64,
    pub sla_seconds: i64,
    pub started_at: DateTime<Utc>,
    pub target_at: DateTime<Utc>,
    pub step_started_at: DateTime<Utc>,
    pub step_target_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub end_logic_status: Option<String>,
    pub end_logic_detail: Option<String>,
}

const TASK_SELECT: &str = "SELECT id, ticket_id, workflow_version_id, current_step_id, status, \
     revision, sla_seconds, started_at, target_at, step_started_at, step_target_at, completed_at, \
     end_logic_status, end_logic_detail FROM tasks";

pub async fn find(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<TaskRow>> {
    let sql = format!("{TASK_SELECT} WHERE id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(id).fetch_optional(c).await)
}

/// Where the tasks of these tickets are: `(ticket_id, workflow_version_id, current_step_id)`.
pub async fn steps_of(
    conn: &mut Conn<'_>,
    ticket_ids: &[i64],
) -> sqlx::Result<Vec<(i64, i64, i64)>> {
    if ticket_ids.is_empty() {
        return Ok(Vec::new());
    }
    on_conn!(conn, c => {
        let mut select = sqlx::QueryBuilder::new(
            "SELECT ticket_id, workflow_version_id, current_step_id FROM tasks WHERE ticket_id IN (",
        );
        let mut list = select.separated(", ");
        for id in ticket_ids {
            list.push_bind(*id);
        }
        select.push(")");
        select.build_query_as().fetch_all(c).await
    })
}

pub async fn find_by_ticket(conn: &mut Conn<'_>, ticket_id: i64) -> sqlx::Result<Option<TaskRow>> {
    let sql = format!("{TASK_SELECT} WHERE ticket_id = $1");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(ticket_id).fetch_optional(c).await)
}

pub struct NewTask {
    pub ticket_id: i64,
    pub workflow_version_id: i64,
    pub step_id: i64,
    pub sla_seconds: i64,
    pub now: DateTime<Utc>,
    pub target_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    pub step_target_at: DateTime<Utc>,
}

/// Inserts the task unless the ticket has one; `None` if it had.
pub async fn insert(conn: &mut Conn<'_>, task: &NewTask) -> sqlx::Result<Option<i64>> {
    const SQL: &str = "INSERT INTO tasks (ticket_id, workflow_version_id, current_step_id, status, \
         sla_seconds, started_at, target_at, warn_at, step_started_at, step_target_at, updated_at) \
         VALUES ($1, $2, $3, 'open', $4, $5, $6, $7, $5, $8, $5) \
         ON CONFLICT (ticket_id) DO NOTHING RETURNING id";
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(task.ticket_id)
        .bind(task.workflow_version_id)
        .bind(task.step_id)
        .bind(task.sla_seconds)
        .bind(task.now)
        .bind(task.target_at)
        .bind(task.warn_at)
        .bind(task.step_target_at)
        .fetch_optional(c)
        .await)
}

/// Moves the task to a step if it is still at `revision`: false if it moved meanwhile.
pub async fn move_to(
    conn: &mut Conn<'_>,
    id: i64,
    revision: i64,
    step_id: i64,
    step_target_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE tasks SET current_step_id = $1, step_started_at = $2, \
         step_target_at = $3, revision = revision + 1, updated_at = $2 \
         WHERE id = $4 AND revision = $5 AND status = 'open'";
    Ok(execute!(
        conn,
        sqlx::query(SQL)
            .bind(step_id)
            .bind(now)
            .bind(step_target_at)
            .bind(id)
            .bind(revision)
    )? == 1)
}

/// Bumps the revision (an item changed hands) if it is still `revision`.
pub async fn bump(
    conn: &mut Conn<'_>,
    id: i64,
    revision: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE tasks SET revision = revision + 1, updated_at = $1 \
                       WHERE id = $2 AND revision = $3 AND status = 'open'";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(id).bind(revision))? == 1)
}

pub async fn complete(
    conn: &mut Conn<'_>,
    id: i64,
    end_logic_status: Option<&str>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    // A task completing again (its ticket was reopened) keeps the outcome of its end logic,
    // which runs once per task.
    const SQL: &str = "UPDATE tasks SET status = 'completed', completed_at = $1, \
                       end_logic_status = COALESCE(end_logic_status, $2), updated_at = $1 \
                       WHERE id = $3";
    execute!(
        conn,
        sqlx::query(SQL).bind(now).bind(end_logic_status).bind(id)
    )
}

/// Ends a running task by hand (its ticket resolved or closed); false if it was not running.
pub async fn cancel(conn: &mut Conn<'_>, id: i64, now: DateTime<Utc>) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE tasks SET status = 'cancelled', completed_at = $1, \
                       revision = revision + 1, updated_at = $1 WHERE id = $2 AND status = 'open'";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(id))? == 1)
}

/// The clocks a resumed task starts with.
pub struct Resumed {
    pub step_id: i64,
    pub now: DateTime<Utc>,
    pub target_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    pub step_target_at: DateTime<Utc>,
}

/// Runs an ended task again at a step, with fresh clocks and no SLA marks; false if it was
/// running already.
pub async fn resume(conn: &mut Conn<'_>, id: i64, resumed: &Resumed) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE tasks SET status = 'open', current_step_id = $1, completed_at = NULL, \
         target_at = $2, warn_at = $3, warned_at = NULL, breached_at = NULL, step_started_at = $4, \
         step_target_at = $5, revision = revision + 1, updated_at = $4 \
         WHERE id = $6 AND status IN ('completed', 'cancelled')";
    Ok(execute!(
        conn,
        sqlx::query(SQL)
            .bind(resumed.step_id)
            .bind(resumed.target_at)
            .bind(resumed.warn_at)
            .bind(resumed.now)
            .bind(resumed.step_target_at)
            .bind(id)
    )? == 1)
}

pub async fn set_end_logic_outcome(
    conn: &mut Conn<'_>,
    id: i64,
    status: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE tasks SET end_logic_status = $1, end_logic_detail = $2, \
                       updated_at = $3 WHERE id = $4";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(status)
            .bind(detail)
            .bind(now)
            .bind(id)
    )
}

// ------------------------------------------------------------------ items

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub id: i64,
    pub task_id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub user_email: String,
    pub role_id: Option<i64>,
    pub role_name: Option<String>,
    pub step_id: i64,
    pub origin: String,
    pub status: String,
    pub notes: String,
    pub assigned_at: DateTime<Utc>,
    pub target_at: DateTime<Utc>,
    pub acted_at: Option<DateTime<Utc>>,
}

const ITEM_SELECT: &str = "SELECT i.id, i.task_id, i.user_id, u.full_name AS user_name, \
     u.email AS user_email, i.role_id, r.name AS role_name, i.step_id, i.origin, i.status, \
     i.notes, i.assigned_at, i.target_at, i.acted_at FROM task_items i \
     JOIN users u ON u.id = i.user_id LEFT JOIN workflow_roles r ON r.id = i.role_id";

/// The statuses of items that are a task's current work, for SQL.
pub const OPEN_STATUSES: &str = "('new', 'in_progress', 'breached')";

pub async fn items(conn: &mut Conn<'_>, task_id: i64) -> sqlx::Result<Vec<ItemRow>> {
    let sql = format!("{ITEM_SELECT} WHERE i.task_id = $1 ORDER BY i.id");
    on_conn!(conn, c => sqlx::query_as(&sql).bind(task_id).fetch_all(c).await)
}

pub async fn open_item(conn: &mut Conn<'_>, task_id: i64) -> sqlx::Result<Option<ItemRow>> {
    let sql = format!(
        "{ITEM_SELECT} WHERE i.task_id = $1 AND i.status IN {OPEN_STATUSES} ORDER BY i.id DESC LIMIT 1"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(task_id).fetch_optional(c).await)
}

pub struct NewItem<'a> {
    pub task_id: i64,
    pub user_id: i64,
    pub role_id: Option<i64>,
    pub step_id: i64,
    pub origin: &'a str,
    pub now: DateTime<Utc>,
    pub target_at: DateTime<Utc>,
    pub warn_at: DateTime<Utc>,
    /// An item given out at or after its breach (an escalation at breach) is born breached
    /// and warned: the monitor does not warn or escalate it again.
    pub already_breached: bool,
}

pub async fn insert_item(conn: &mut Conn<'_>, item: &NewItem<'_>) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO task_items (task_id, user_id, role_id, step_id, origin, status, \
         assigned_at, target_at, warn_at, warned_at, breached_at) \
         VALUES ($1, $2, $3, $4, $5, 'new', $6, $7, $8, $9, $9) RETURNING id";
    let marked = item.already_breached.then_some(item.now);
    on_conn!(conn, c => sqlx::query_scalar(SQL)
        .bind(item.task_id)
        .bind(item.user_id)
        .bind(item.role_id)
        .bind(item.step_id)
        .bind(item.origin)
        .bind(item.now)
        .bind(item.target_at)
        .bind(item.warn_at)
        .bind(marked)
        .fetch_one(c)
        .await)
}

/// Closes an open item with a final status (and the assignee's notes, if any).
pub async fn close_item(
    conn: &mut Conn<'_>,
    id: i64,
    status: &str,
    notes: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE task_items SET status = $1, notes = $2, acted_at = $3 \
         WHERE id = $4 AND status IN {OPEN_STATUSES}"
    );
    Ok(execute!(
        conn,
        sqlx::query(&sql)
            .bind(status)
            .bind(notes)
            .bind(now)
            .bind(id)
    )? == 1)
}

/// Marks an item as started by its assignee (from `new` only).
pub async fn start_item(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<bool> {
    const SQL: &str =
        "UPDATE task_items SET status = 'in_progress' WHERE id = $1 AND status = 'new'";
    Ok(execute!(conn, sqlx::query(SQL).bind(id))? == 1)
}

pub async fn insert_history(
    conn: &mut Conn<'_>,
    item_id: i64,
    status: &str,
    actor_id: Option<i64>,
    note: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "INSERT INTO task_item_history (task_item_id, status, actor_id, note, created_at) \
                       VALUES ($1, $2, $3, $4, $5)";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(item_id)
            .bind(status)
            .bind(actor_id)
            .bind(note)
            .bind(now)
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub task_item_id: i64,
    pub status: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub actor_email: Option<String>,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

pub async fn history(conn: &mut Conn<'_>, task_id: i64) -> sqlx::Result<Vec<HistoryRow>> {
    const SQL: &str = "SELECT h.task_item_id, h.status, h.actor_id, u.full_name AS actor_name, \
         u.email AS actor_email, h.note, h.created_at FROM task_item_history h \
         JOIN task_items i ON i.id = h.task_item_id LEFT JOIN users u ON u.id = h.actor_id \
         WHERE i.task_id = $1 ORDER BY h.id";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(task_id).fetch_all(c).await)
}

// ------------------------------------------------------------------ assignment

/// A person who can be given work: an active user, active in the role, with their number of
/// open items (for the least-loaded strategy).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Candidate {
    pub user_id: i64,
    pub open_items: i64,
}

pub async fn role_candidates(conn: &mut Conn<'_>, role_id: i64) -> sqlx::Result<Vec<Candidate>> {
    let sql = format!(
        "SELECT m.user_id, (SELECT COUNT(*) FROM task_items i WHERE i.user_id = m.user_id \
         AND i.status IN {OPEN_STATUSES}) AS open_items \
         FROM workflow_role_members m JOIN users u ON u.id = m.user_id \
         WHERE m.role_id = $1 AND m.is_active AND u.is_active ORDER BY m.user_id"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(role_id).fetch_all(c).await)
}

/// Active TTS admins, with their open items: who an escalation without a role goes to.
pub async fn admin_candidates(conn: &mut Conn<'_>) -> sqlx::Result<Vec<Candidate>> {
    let sql = format!(
        "SELECT u.id AS user_id, (SELECT COUNT(*) FROM task_items i WHERE i.user_id = u.id \
         AND i.status IN {OPEN_STATUSES}) AS open_items \
         FROM users u JOIN user_system_roles g ON g.user_id = u.id \
         WHERE g.system = 'tts' AND g.role = 'Admin' AND u.is_active ORDER BY u.id"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).fetch_all(c).await)
}

/// The role's assignment strategy (`None` if the role is gone).
pub async fn role_strategy(conn: &mut Conn<'_>, role_id: i64) -> sqlx::Result<Option<String>> {
    const SQL: &str = "SELECT assignment FROM workflow_roles WHERE id = $1";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(role_id).fetch_optional(c).await)
}

/// Reads the role's round-robin cursor, locking it until the transaction ends (PostgreSQL;
/// SQLite's write transaction already excludes every other writer). Creates it if missing.
pub async fn lock_rotation(
    conn: &mut Conn<'_>,
    role_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<Option<i64>> {
    const CREATE: &str = "INSERT INTO role_rotation (role_id, last_user_id, updated_at) \
                          VALUES ($1, NULL, $2) ON CONFLICT (role_id) DO NOTHING";
    execute!(conn, sqlx::query(CREATE).bind(role_id).bind(now))?;
    let sql = match conn.backend() {
        Backend::Sqlite => "SELECT last_user_id FROM role_rotation WHERE role_id = $1",
        Backend::Postgres => "SELECT last_user_id FROM role_rotation WHERE role_id = $1 FOR UPDATE",
    };
    on_conn!(conn, c => sqlx::query_scalar(sql).bind(role_id).fetch_one(c).await)
}

pub async fn advance_rotation(
    conn: &mut Conn<'_>,
    role_id: i64,
    user_id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str =
        "UPDATE role_rotation SET last_user_id = $1, updated_at = $2 WHERE role_id = $3";
    execute!(conn, sqlx::query(SQL).bind(user_id).bind(now).bind(role_id))
}

/// Whether the user is an active member of the role (and an active user).
pub async fn is_active_member(
    conn: &mut Conn<'_>,
    role_id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    const SQL: &str = "SELECT COUNT(*) FROM workflow_role_members m JOIN users u ON u.id = m.user_id \
                       WHERE m.role_id = $1 AND m.user_id = $2 AND m.is_active AND u.is_active";
    let count: i64 = on_conn!(conn, c => sqlx::query_scalar(SQL).bind(role_id).bind(user_id).fetch_one(c).await)?;
    Ok(count > 0)
}

/// The ids of the roles the user is an active member of.
pub async fn roles_of(conn: &mut Conn<'_>, user_id: i64) -> sqlx::Result<Vec<i64>> {
    const SQL: &str = "SELECT role_id FROM workflow_role_members WHERE user_id = $1 AND is_active";
    on_conn!(conn, c => sqlx::query_scalar(SQL).bind(user_id).fetch_all(c).await)
}

// ------------------------------------------------------------------ visibility

/// SQL that is true when ticket `ticket` (an SQL expression) has a task with an item held,
/// now or before, by user `user` or by one of their active workflow roles: agents see the
/// tickets they work on and those in their roles' queues, whatever their departments.
pub fn works_on_sql(ticket: &str, user: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM tasks wt JOIN task_items wi ON wi.task_id = wt.id \
         WHERE wt.ticket_id = {ticket} AND (wi.user_id = {user} OR wi.role_id IN \
         (SELECT wm.role_id FROM workflow_role_members wm WHERE wm.user_id = {user} AND wm.is_active)))"
    )
}

/// Whether the user works on the ticket (see [`works_on_sql`]).
pub async fn works_on(conn: &mut Conn<'_>, ticket_id: i64, user_id: i64) -> sqlx::Result<bool> {
    let sql = format!("SELECT {}", works_on_sql("$1", "$2"));
    on_conn!(conn, c => sqlx::query_scalar(&sql).bind(ticket_id).bind(user_id).fetch_one(c).await)
}

// ------------------------------------------------------------------ inbox

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InboxRow {
    pub task_id: i64,
    pub item_id: i64,
    pub ticket_id: i64,
    pub subject: String,
    pub priority: String,
    pub workflow_name: String,
    pub version_id: i64,
    pub step_id: i64,
    pub user_id: i64,
    pub user_name: String,
    pub user_email: String,
    pub item_status: String,
    pub assigned_at: DateTime<Utc>,
    pub target_at: DateTime<Utc>,
}

/// Open items assigned to the user or to anyone in the given roles, most urgent first.
pub async fn inbox(
    conn: &mut Conn<'_>,
    user_id: i64,
    role_ids: &[i64],
    limit: i64,
) -> sqlx::Result<Vec<InboxRow>> {
    // Role ids are numbers from the database, so listing them in the SQL is safe.
    let roles = if role_ids.is_empty() {
        "NULL".to_owned()
    } else {
        role_ids
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sql = format!(
        "SELECT t.id AS task_id, i.id AS item_id, t.ticket_id, k.subject, k.priority, \
         w.name AS workflow_name, v.id AS version_id, i.step_id, i.user_id, \
         u.full_name AS user_name, u.email AS user_email, i.status AS item_status, \
         i.assigned_at, i.target_at \
         FROM task_items i JOIN tasks t ON t.id = i.task_id JOIN tickets k ON k.id = t.ticket_id \
         JOIN workflow_versions v ON v.id = t.workflow_version_id \
         JOIN workflows w ON w.id = v.workflow_id JOIN users u ON u.id = i.user_id \
         WHERE i.status IN {OPEN_STATUSES} AND t.status = 'open' \
         AND (i.user_id = $1 OR i.role_id IN ({roles})) \
         ORDER BY i.target_at, i.id LIMIT $2"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(user_id).bind(limit).fetch_all(c).await)
}

// ------------------------------------------------------------------ SLA monitor

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueItem {
    pub id: i64,
    pub task_id: i64,
    pub user_id: i64,
    pub ticket_id: i64,
}

/// Open items of open tasks whose warning time has come and who were not warned yet.
pub async fn items_to_warn(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<DueItem>> {
    let sql = format!(
        "SELECT i.id, i.task_id, i.user_id, t.ticket_id FROM task_items i \
         JOIN tasks t ON t.id = i.task_id \
         WHERE i.status IN {OPEN_STATUSES} AND t.status = 'open' AND i.warned_at IS NULL \
         AND i.warn_at <= $1 AND i.target_at > $1 ORDER BY i.id LIMIT $2"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(c).await)
}

/// Open items of open tasks past their target and not marked breached yet.
pub async fn items_to_breach(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<DueItem>> {
    let sql = format!(
        "SELECT i.id, i.task_id, i.user_id, t.ticket_id FROM task_items i \
         JOIN tasks t ON t.id = i.task_id \
         WHERE i.status IN {OPEN_STATUSES} AND t.status = 'open' AND i.breached_at IS NULL \
         AND i.target_at <= $1 ORDER BY i.id LIMIT $2"
    );
    on_conn!(conn, c => sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(c).await)
}

/// Marks the item warned; false if another run did first.
pub async fn mark_item_warned(
    conn: &mut Conn<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE task_items SET warned_at = $1 WHERE id = $2 AND warned_at IS NULL";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(id))? == 1)
}

/// Marks the item breached (status and time); false if another run did first.
pub async fn mark_item_breached(
    conn: &mut Conn<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let sql = format!(
        "UPDATE task_items SET breached_at = $1, warned_at = COALESCE(warned_at, $1), \
         status = 'breached' WHERE id = $2 AND breached_at IS NULL AND status IN {OPEN_STATUSES}"
    );
    Ok(execute!(conn, sqlx::query(&sql).bind(now).bind(id))? == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueTask {
    pub id: i64,
    pub ticket_id: i64,
}

/// Open tasks whose own warning time (75 % of the task's SLA) has come, not warned yet.
pub async fn tasks_to_warn(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<DueTask>> {
    const SQL: &str = "SELECT id, ticket_id FROM tasks WHERE status = 'open' AND warned_at IS NULL \
                       AND warn_at <= $1 AND target_at > $1 ORDER BY id LIMIT $2";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(now).bind(limit).fetch_all(c).await)
}

pub async fn tasks_to_breach(
    conn: &mut Conn<'_>,
    now: DateTime<Utc>,
    limit: i64,
) -> sqlx::Result<Vec<DueTask>> {
    const SQL: &str = "SELECT id, ticket_id FROM tasks WHERE status = 'open' \
                       AND breached_at IS NULL AND target_at <= $1 ORDER BY id LIMIT $2";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(now).bind(limit).fetch_all(c).await)
}

pub async fn mark_task_warned(
    conn: &mut Conn<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE tasks SET warned_at = $1 WHERE id = $2 AND warned_at IS NULL";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(id))? == 1)
}

pub async fn mark_task_breached(
    conn: &mut Conn<'_>,
    id: i64,
    now: DateTime<Utc>,
) -> sqlx::Result<bool> {
    const SQL: &str = "UPDATE tasks SET breached_at = $1, warned_at = COALESCE(warned_at, $1) \
                       WHERE id = $2 AND breached_at IS NULL";
    Ok(execute!(conn, sqlx::query(SQL).bind(now).bind(id))? == 1)
}

// ------------------------------------------------------------------ triage

pub async fn add_to_triage(
    conn: &mut Conn<'_>,
    ticket_id: i64,
    reason: &str,
    detail: &str,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    // The unique index on open entries keeps one per ticket; a repeated miss changes nothing.
    const SQL: &str = "INSERT INTO triage (ticket_id, reason, detail, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (ticket_id) WHERE resolved_at IS NULL DO NOTHING";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(ticket_id)
            .bind(reason)
            .bind(detail)
            .bind(now)
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TriageRow {
    pub id: i64,
    pub ticket_id: i64,
    pub subject: String,
    pub priority: String,
    pub reason: String,
    pub detail: String,
    pub created_at: DateTime<Utc>,
}

pub async fn triage(conn: &mut Conn<'_>) -> sqlx::Result<Vec<TriageRow>> {
    const SQL: &str = "SELECT g.id, g.ticket_id, k.subject, k.priority, g.reason, g.detail, \
         g.created_at FROM triage g JOIN tickets k ON k.id = g.ticket_id \
         WHERE g.resolved_at IS NULL ORDER BY g.id";
    on_conn!(conn, c => sqlx::query_as(SQL).fetch_all(c).await)
}

pub async fn find_triage(conn: &mut Conn<'_>, id: i64) -> sqlx::Result<Option<TriageRow>> {
    const SQL: &str = "SELECT g.id, g.ticket_id, k.subject, k.priority, g.reason, g.detail, \
         g.created_at FROM triage g JOIN tickets k ON k.id = g.ticket_id \
         WHERE g.id = $1 AND g.resolved_at IS NULL";
    on_conn!(conn, c => sqlx::query_as(SQL).bind(id).fetch_optional(c).await)
}

/// Closes the ticket's open triage entry, if any.
pub async fn resolve_triage(
    conn: &mut Conn<'_>,
    ticket_id: i64,
    by: Option<i64>,
    now: DateTime<Utc>,
) -> sqlx::Result<u64> {
    const SQL: &str = "UPDATE triage SET resolved_at = $1, resolved_by = $2 \
                       WHERE ticket_id = $3 AND resolved_at IS NULL";
    execute!(conn, sqlx::query(SQL).bind(now).bind(by).bind(ticket_id))
}
