//! Workflow roles ("IT Support L1", "Finance Approver") and their members: the people the
//! workflow engine assigns work to. Distinct from system roles (Admin, Agent, Employee).

use chrono::Utc;
use domain::account::{RoleMember, RolePolicy, WorkflowRole};
use domain::{AppError, SystemRole};

use crate::audit::{self, Actor};
use crate::db::{Conn, Db, security, users, workflow_roles as rows};
use crate::error::Result;

/// Records a change to a role in the audit log, inside the change's transaction.
async fn audit_role(
    conn: &mut Conn<'_>,
    actor: Actor<'_>,
    action: &str,
    id: i64,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<()> {
    audit::record(
        conn,
        actor,
        action,
        "workflow_role",
        Some(id),
        before,
        after,
        Utc::now(),
    )
    .await
}

fn role(row: rows::RoleRow) -> WorkflowRole {
    WorkflowRole {
        id: row.id,
        name: row.name,
        description: row.description,
        assignment: row
            .assignment
            .parse()
            .unwrap_or(domain::tasks::AssignmentStrategy::RoundRobin),
        member_count: row.member_count,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

fn check(name: &str, description: &str) -> Result<(String, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid_field("name", "must be 1 to 100 characters").into());
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid_field("name", "must not contain control characters").into());
    }
    if description.chars().count() > 2000 {
        return Err(
            AppError::invalid_field("description", "must be at most 2000 characters").into(),
        );
    }
    Ok((name.to_owned(), description.trim().to_owned()))
}

pub async fn list(db: &Db) -> Result<Vec<WorkflowRole>> {
    let mut pooled = db.acquire().await?;
    Ok(rows::list(&mut pooled.conn())
        .await?
        .into_iter()
        .map(role)
        .collect())
}

pub async fn get(db: &Db, id: i64) -> Result<WorkflowRole> {
    let mut pooled = db.acquire().await?;
    rows::find(&mut pooled.conn(), id)
        .await?
        .map(role)
        .ok_or_else(|| AppError::not_found("Workflow role").into())
}

pub async fn create(
    db: &Db,
    actor: Actor<'_>,
    name: &str,
    description: &str,
) -> Result<WorkflowRole> {
    let (name, description) = check(name, description)?;
    let mut tx = db.begin().await?;
    if rows::find_by_name(&mut tx.conn(), &name).await?.is_some() {
        return Err(
            AppError::conflict(format!("A workflow role named '{name}' already exists.")).into(),
        );
    }
    let id = rows::insert(&mut tx.conn(), &name, &description, Utc::now()).await?;
    let after = serde_json::json!({ "name": name, "description": description });
    audit_role(&mut tx.conn(), actor, "role.created", id, None, Some(after)).await?;
    tx.commit().await?;
    get(db, id).await
}

pub async fn update(
    db: &Db,
    actor: Actor<'_>,
    id: i64,
    name: &str,
    description: &str,
) -> Result<WorkflowRole> {
    let (name, description) = check(name, description)?;
    let mut tx = db.begin().await?;
    let Some(current) = rows::find(&mut tx.conn(), id).await? else {
        return Err(AppError::not_found("Workflow role").into());
    };
    if rows::find_by_name(&mut tx.conn(), &name)
        .await?
        .is_some_and(|other| other.id != id)
    {
        return Err(
            AppError::conflict(format!("A workflow role named '{name}' already exists.")).into(),
        );
    }
    rows::update(&mut tx.conn(), id, &name, &description, Utc::now()).await?;
    let before = serde_json::json!({ "name": current.name, "description": current.description });
    let after = serde_json::json!({ "name": name, "description": description });
    audit_role(
        &mut tx.conn(),
        actor,
        "role.updated",
        id,
        Some(before),
        Some(after),
    )
    .await?;
    tx.commit().await?;
    get(db, id).await
}

/// Chooses how the role hands out work (round robin or least loaded).
pub async fn set_assignment(
    db: &Db,
    actor: Actor<'_>,
    id: i64,
    assignment: domain::tasks::AssignmentStrategy,
) -> Result<WorkflowRole> {
    let mut tx = db.begin().await?;
    let Some(current) = rows::find(&mut tx.conn(), id).await? else {
        return Err(AppError::not_found("Workflow role").into());
    };
    if current.assignment != assignment.as_str() {
        rows::set_assignment(&mut tx.conn(), id, assignment.as_str()).await?;
        let before = serde_json::json!({ "assignment": current.assignment });
        let after = serde_json::json!({ "assignment": assignment.as_str() });
        audit_role(
            &mut tx.conn(),
            actor,
            "role.assignment_changed",
            id,
            Some(before),
            Some(after),
        )
        .await?;
    }
    tx.commit().await?;
    get(db, id).await
}

pub async fn delete(db: &Db, actor: Actor<'_>, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let Some(current) = rows::find(&mut tx.conn(), id).await? else {
        return Err(AppError::not_found("Workflow role").into());
    };
    rows::delete(&mut tx.conn(), id).await?;
    let before = serde_json::json!({ "name": current.name, "description": current.description });
    audit_role(
        &mut tx.conn(),
        actor,
        "role.deleted",
        id,
        Some(before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn members(db: &Db, role_id: i64) -> Result<Vec<RoleMember>> {
    get(db, role_id).await?;
    let mut pooled = db.acquire().await?;
    Ok(rows::members(&mut pooled.conn(), role_id)
        .await?
        .into_iter()
        .map(|m| RoleMember {
            user_id: m.user_id,
            email: m.email,
            full_name: m.full_name,
            is_active: m.is_active,
            user_is_active: m.user_is_active,
            added_at: m.added_at,
        })
        .collect())
}

/// Adds a user to the role, or changes whether they are active in it.
pub async fn set_member(
    db: &Db,
    actor: Actor<'_>,
    role_id: i64,
    user_id: i64,
    active: bool,
) -> Result<Vec<RoleMember>> {
    get(db, role_id).await?;
    {
        let mut tx = db.begin().await?;
        if users::find_by_id(&mut tx.conn(), user_id).await?.is_none() {
            return Err(AppError::invalid_field("user_id", "is not a user").into());
        }
        let before = rows::members(&mut tx.conn(), role_id)
            .await?
            .into_iter()
            .find(|m| m.user_id == user_id)
            .map(|m| serde_json::json!({ "user_id": user_id, "is_active": m.is_active }));
        rows::upsert_member(&mut tx.conn(), role_id, user_id, active, Utc::now()).await?;
        let after = serde_json::json!({ "user_id": user_id, "is_active": active });
        if before.as_ref() != Some(&after) {
            let action = if before.is_some() {
                "role.member_changed"
            } else {
                "role.member_added"
            };
            audit_role(&mut tx.conn(), actor, action, role_id, before, Some(after)).await?;
        }
        tx.commit().await?;
    }
    members(db, role_id).await
}

pub async fn remove_member(db: &Db, actor: Actor<'_>, role_id: i64, user_id: i64) -> Result<()> {
    get(db, role_id).await?;
    let mut tx = db.begin().await?;
    if rows::remove_member(&mut tx.conn(), role_id, user_id).await? == 0 {
        return Err(AppError::not_found("Member").into());
    }
    let before = serde_json::json!({ "user_id": user_id });
    audit_role(
        &mut tx.conn(),
        actor,
        "role.member_removed",
        role_id,
        Some(before),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether each system role must use a second factor.
pub async fn policies(db: &Db) -> Result<Vec<RolePolicy>> {
    let mut pooled = db.acquire().await?;
    let stored = security::policies(&mut pooled.conn()).await?;
    Ok(SystemRole::ALL
        .iter()
        .rev()
        .map(|role| RolePolicy {
            role: *role,
            require_second_factor: stored
                .iter()
                .any(|(name, required)| name == role.as_str() && *required),
        })
        .collect())
}

pub async fn set_policy(
    db: &Db,
    actor: Actor<'_>,
    role: SystemRole,
    require_second_factor: bool,
) -> Result<Vec<RolePolicy>> {
    {
        let mut tx = db.begin().await?;
        security::set_second_factor_required(&mut tx.conn(), role, require_second_factor).await?;
        audit::record(
            &mut tx.conn(),
            actor,
            "policy.second_factor_changed",
            "system_role",
            None,
            None,
            Some(serde_json::json!({
                "role": role.as_str(), "require_second_factor": require_second_factor,
            })),
            Utc::now(),
        )
        .await?;
        tx.commit().await?;
    }
    policies(db).await
}
