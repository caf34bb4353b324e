//! Workflow roles ("IT Support L1", "Finance Approver") and their members: the people the
//! workflow engine assigns work to. Distinct from system roles (Admin, Agent, Employee).

use chrono::Utc;
use domain::account::{RoleMember, RolePolicy, WorkflowRole};
use domain::{AppError, SystemRole};

use crate::db::{Db, security, users, workflow_roles as rows};
use crate::error::Result;

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

pub async fn create(db: &Db, name: &str, description: &str) -> Result<WorkflowRole> {
    let (name, description) = check(name, description)?;
    let mut tx = db.begin().await?;
    if rows::find_by_name(&mut tx.conn(), &name).await?.is_some() {
        return Err(
            AppError::conflict(format!("A workflow role named '{name}' already exists.")).into(),
        );
    }
    let id = rows::insert(&mut tx.conn(), &name, &description, Utc::now()).await?;
    tx.commit().await?;
    get(db, id).await
}

pub async fn update(db: &Db, id: i64, name: &str, description: &str) -> Result<WorkflowRole> {
    let (name, description) = check(name, description)?;
    let mut tx = db.begin().await?;
    if rows::find(&mut tx.conn(), id).await?.is_none() {
        return Err(AppError::not_found("Workflow role").into());
    }
    if rows::find_by_name(&mut tx.conn(), &name)
        .await?
        .is_some_and(|other| other.id != id)
    {
        return Err(
            AppError::conflict(format!("A workflow role named '{name}' already exists.")).into(),
        );
    }
    rows::update(&mut tx.conn(), id, &name, &description, Utc::now()).await?;
    tx.commit().await?;
    get(db, id).await
}

/// Chooses how the role hands out work (round robin or least loaded).
pub async fn set_assignment(
    db: &Db,
    id: i64,
    assignment: domain::tasks::AssignmentStrategy,
) -> Result<WorkflowRole> {
    {
        let mut pooled = db.acquire().await?;
        if rows::set_assignment(&mut pooled.conn(), id, assignment.as_str()).await? == 0 {
            return Err(AppError::not_found("Workflow role").into());
        }
    }
    get(db, id).await
}

pub async fn delete(db: &Db, id: i64) -> Result<()> {
    let mut pooled = db.acquire().await?;
    if rows::delete(&mut pooled.conn(), id).await? == 0 {
        return Err(AppError::not_found("Workflow role").into());
    }
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
    role_id: i64,
    user_id: i64,
    active: bool,
) -> Result<Vec<RoleMember>> {
    get(db, role_id).await?;
    {
        let mut pooled = db.acquire().await?;
        if users::find_by_id(&mut pooled.conn(), user_id)
            .await?
            .is_none()
        {
            return Err(AppError::invalid_field("user_id", "is not a user").into());
        }
        rows::upsert_member(&mut pooled.conn(), role_id, user_id, active, Utc::now()).await?;
    }
    members(db, role_id).await
}

pub async fn remove_member(db: &Db, role_id: i64, user_id: i64) -> Result<()> {
    get(db, role_id).await?;
    let mut pooled = db.acquire().await?;
    if rows::remove_member(&mut pooled.conn(), role_id, user_id).await? == 0 {
        return Err(AppError::not_found("Member").into());
    }
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
    role: SystemRole,
    require_second_factor: bool,
) -> Result<Vec<RolePolicy>> {
    {
        let mut pooled = db.acquire().await?;
        security::set_second_factor_required(&mut pooled.conn(), role, require_second_factor)
            .await?;
    }
    policies(db).await
}
