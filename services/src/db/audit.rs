//! The audit log: insert and read, never update or delete.

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::{Arg, Conn};
use crate::{bind_all, execute, on_conn};

pub struct NewAuditEvent<'a> {
    pub actor: &'a str,
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub target_kind: &'a str,
    pub target_id: Option<i64>,
    pub before: Option<&'a serde_json::Value>,
    pub after: Option<&'a serde_json::Value>,
    pub now: DateTime<Utc>,
}

pub async fn insert(conn: &mut Conn<'_>, event: &NewAuditEvent<'_>) -> sqlx::Result<u64> {
    const SQL: &str = "INSERT INTO audit_events (actor, actor_id, action, target_kind, target_id, \
         before_value, after_value, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    execute!(
        conn,
        sqlx::query(SQL)
            .bind(event.actor)
            .bind(event.actor_id)
            .bind(event.action)
            .bind(event.target_kind)
            .bind(event.target_id)
            .bind(event.before.map(Json))
            .bind(event.after.map(Json))
            .bind(event.now)
    )
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub actor: String,
    pub actor_name: Option<String>,
    pub action: String,
    pub target_kind: String,
    pub target_id: Option<i64>,
    pub before_value: Option<Json<serde_json::Value>>,
    pub after_value: Option<Json<serde_json::Value>>,
    pub created_at: DateTime<Utc>,
}

/// Filters, each optional; the action filter is exact, or a prefix when it ends in `.`.
#[derive(Debug, Default)]
pub struct AuditFilter<'a> {
    pub actor_id: Option<i64>,
    pub action: Option<&'a str>,
    pub target_kind: Option<&'a str>,
    pub target_id: Option<i64>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

fn filter_sql(filter: &AuditFilter<'_>) -> (String, Vec<Arg>) {
    let mut clauses = Vec::new();
    let mut args = Vec::new();
    let mut push = |clause: &str, arg: Arg| {
        args.push(arg);
        clauses.push(clause.replace('?', &format!("${}", args.len())));
    };
    if let Some(id) = filter.actor_id {
        push("a.actor_id = ?", Arg::Int(id));
    }
    if let Some(action) = filter.action {
        if let Some(prefix) = action.strip_suffix('.') {
            // A prefix match without LIKE's wildcards: compare the start of the text.
            push(
                &format!("SUBSTR(a.action, 1, {}) = ?", prefix.len() + 1),
                Arg::Text(format!("{prefix}.")),
            );
        } else {
            push("a.action = ?", Arg::Text(action.to_owned()));
        }
    }
    if let Some(kind) = filter.target_kind {
        push("a.target_kind = ?", Arg::Text(kind.to_owned()));
    }
    if let Some(id) = filter.target_id {
        push("a.target_id = ?", Arg::Int(id));
    }
    if let Some(since) = filter.since {
        push("a.created_at >= ?", Arg::Time(since));
    }
    if let Some(until) = filter.until {
        push("a.created_at < ?", Arg::Time(until));
    }
    let where_sql = if clauses.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", clauses.join(" AND "))
    };
    (where_sql, args)
}

pub async fn list(
    conn: &mut Conn<'_>,
    filter: &AuditFilter<'_>,
    offset: i64,
    limit: i64,
) -> sqlx::Result<Vec<AuditRow>> {
    let (where_sql, args) = filter_sql(filter);
    let sql = format!(
        "SELECT a.id, a.actor, u.full_name AS actor_name, a.action, a.target_kind, a.target_id, \
         a.before_value, a.after_value, a.created_at FROM audit_events a \
         LEFT JOIN users u ON u.id = a.actor_id{where_sql} ORDER BY a.id DESC LIMIT {limit} OFFSET {offset}"
    );
    on_conn!(conn, c => {
    bind_all!(sqlx::query_as(&sql), &args).fetch_all(c).await
        })
}

pub async fn count(conn: &mut Conn<'_>, filter: &AuditFilter<'_>) -> sqlx::Result<i64> {
    let (where_sql, args) = filter_sql(filter);
    let sql = format!("SELECT COUNT(*) FROM audit_events a{where_sql}");
    on_conn!(conn, c => {
    bind_all!(sqlx::query_scalar(&sql), &args).fetch_one(c).await
        })
}
