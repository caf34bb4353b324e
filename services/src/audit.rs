//! The audit log: every action on workflows, tasks, tickets and users, with who, what, the
//! values before and after, and when. Written in the transaction of the action it records,
//! so an action and its record land together. Append-only: nothing here updates or deletes.

use chrono::{DateTime, Utc};
use domain::audit::{AuditEvent, AuditQuery};
use domain::tickets::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use domain::{AppError, Page};

use crate::auth::policy::{Permission, Principal, authorize};
use crate::db::audit::{self as rows, AuditFilter, NewAuditEvent};
use crate::db::{Conn, Db};
use crate::error::Result;

/// Who did something: a user, an API key, or the engine itself.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    Principal(&'a Principal),
    /// A signed-in user known by id only.
    User(i64),
    System,
}

impl Actor<'_> {
    fn name(&self) -> String {
        match self {
            Actor::Principal(p) => p.actor(),
            Actor::User(id) => format!("user:{id}"),
            Actor::System => "system".to_owned(),
        }
    }

    pub fn user_id(&self) -> Option<i64> {
        match self {
            Actor::Principal(p) => p.user().map(|u| u.user.id),
            Actor::User(id) => Some(*id),
            Actor::System => None,
        }
    }
}

/// Records an action inside the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub async fn record(
    conn: &mut Conn<'_>,
    actor: Actor<'_>,
    action: &str,
    target_kind: &str,
    target_id: Option<i64>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    now: DateTime<Utc>,
) -> Result<()> {
    let name = actor.name();
    rows::insert(
        conn,
        &NewAuditEvent {
            actor: &name,
            actor_id: actor.user_id(),
            action,
            target_kind,
            target_id,
            before: before.as_ref(),
            after: after.as_ref(),
            now,
        },
    )
    .await?;
    Ok(())
}

/// The audit log, newest first (admins).
pub async fn list(db: &Db, principal: &Principal, query: &AuditQuery) -> Result<Page<AuditEvent>> {
    authorize(principal, Permission::ReadAudit)?;
    let page_size = query.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(AppError::invalid_field(
            "page_size",
            format!("must be from 1 to {MAX_PAGE_SIZE}"),
        )
        .into());
    }
    let page = query.page.unwrap_or(1);
    if page == 0 || page > 100_000 {
        return Err(AppError::invalid_field("page", "must be from 1 to 100000").into());
    }
    if let Some(action) = &query.action
        && action.chars().count() > 100
    {
        return Err(AppError::invalid_field("action", "must be at most 100 characters").into());
    }
    let filter = AuditFilter {
        actor_id: query.actor_id,
        action: query
            .action
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty()),
        target_kind: query
            .target_kind
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty()),
        target_id: query.target_id,
        since: query.since,
        until: query.until,
    };
    let offset = i64::from(page - 1) * i64::from(page_size);
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let count = rows::count(&mut conn, &filter).await?;
    let results = rows::list(&mut conn, &filter, offset, i64::from(page_size))
        .await?
        .into_iter()
        .map(|row| AuditEvent {
            id: row.id,
            actor: row.actor,
            actor_name: row.actor_name,
            action: row.action,
            target_kind: row.target_kind,
            target_id: row.target_id,
            before: row.before_value.map(|j| j.0),
            after: row.after_value.map(|j| j.0),
            created_at: row.created_at,
        })
        .collect();
    Ok(Page {
        count,
        count_capped: false,
        results,
    })
}
