//! The helpdesk's reference data, managed by admins: categories with their sub-categories,
//! departments (and which agents work for them), the names of the four priorities, and the
//! choice of which tickets agents see. Also each user's saved ticket-list filters.

use chrono::Utc;
use domain::AppError;
use domain::tickets::{
    AgentVisibility, Category, Department, PersonRef, Priority, PriorityInfo, ReferenceData,
    SavedFilter,
};

use crate::auth::policy::{Permission, Principal, authorize};
use crate::db::tickets as rows;
use crate::db::{Conn, Db};
use crate::error::Result;

/// The settings key of [`AgentVisibility`].
pub const AGENT_VISIBILITY: &str = "agent_visibility";

fn check_name(field: &str, name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(AppError::invalid_field(field, "must be 1 to 100 characters").into());
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid_field(field, "must be a single line of text").into());
    }
    Ok(name.to_owned())
}

fn check_text(field: &str, text: &str, max: usize) -> Result<String> {
    if text.chars().count() > max {
        return Err(
            AppError::invalid_field(field, format!("must be at most {max} characters")).into(),
        );
    }
    Ok(text.trim().to_owned())
}

/// Everything a ticket form offers, active or not (forms hide inactive entries; lists still
/// name them on old tickets).
pub async fn reference_data(db: &Db) -> Result<ReferenceData> {
    let mut pooled = db.acquire().await?;
    let conn = &mut pooled.conn();
    Ok(ReferenceData {
        categories: rows::categories(conn)
            .await?
            .into_iter()
            .map(|c| Category {
                id: c.id,
                parent_id: c.parent_id,
                name: c.name,
                description: c.description,
                is_active: c.is_active,
                ticket_count: c.ticket_count,
            })
            .collect(),
        departments: rows::departments(conn)
            .await?
            .into_iter()
            .map(|d| Department {
                id: d.id,
                name: d.name,
                is_active: d.is_active,
                ticket_count: d.ticket_count,
            })
            .collect(),
        priorities: rows::priorities(conn)
            .await?
            .into_iter()
            .filter_map(|p| {
                Some(PriorityInfo {
                    code: p.code.parse().ok()?,
                    name: p.name,
                    description: p.description,
                    sort_order: p.sort_order,
                })
            })
            .collect(),
    })
}

/// Creates a category, or a sub-category under `parent_id` (one level only).
pub async fn create_category(
    db: &Db,
    principal: &Principal,
    parent_id: Option<i64>,
    name: &str,
    description: &str,
) -> Result<i64> {
    authorize(principal, Permission::ManageHelpdesk)?;
    let name = check_name("name", name)?;
    let description = check_text("description", description, 500)?;
    let mut tx = db.begin().await?;
    if let Some(parent) = parent_id {
        match rows::category_brief(&mut tx.conn(), parent).await? {
            Some((None, _)) => {}
            Some((Some(_), _)) => {
                return Err(AppError::invalid_field(
                    "parent_id",
                    "sub-categories cannot have sub-categories",
                )
                .into());
            }
            None => return Err(AppError::invalid_field("parent_id", "is not a category").into()),
        }
    }
    if rows::category_named(&mut tx.conn(), parent_id, &name)
        .await?
        .is_some()
    {
        return Err(
            AppError::conflict(format!("A category named '{name}' already exists here.")).into(),
        );
    }
    let id =
        rows::insert_category(&mut tx.conn(), parent_id, &name, &description, Utc::now()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Renames, describes, activates or deactivates a category. Deactivated categories stay on
/// their tickets but are no longer offered.
pub async fn update_category(
    db: &Db,
    principal: &Principal,
    id: i64,
    name: &str,
    description: &str,
    is_active: bool,
) -> Result<()> {
    authorize(principal, Permission::ManageHelpdesk)?;
    let name = check_name("name", name)?;
    let description = check_text("description", description, 500)?;
    let mut tx = db.begin().await?;
    let Some((parent_id, _)) = rows::category_brief(&mut tx.conn(), id).await? else {
        return Err(AppError::not_found("Category").into());
    };
    if rows::category_named(&mut tx.conn(), parent_id, &name)
        .await?
        .is_some_and(|other| other != id)
    {
        return Err(
            AppError::conflict(format!("A category named '{name}' already exists here.")).into(),
        );
    }
    rows::update_category(&mut tx.conn(), id, &name, &description, is_active).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn create_department(db: &Db, principal: &Principal, name: &str) -> Result<i64> {
    authorize(principal, Permission::ManageHelpdesk)?;
    let name = check_name("name", name)?;
    let mut tx = db.begin().await?;
    if rows::department_named(&mut tx.conn(), &name)
        .await?
        .is_some()
    {
        return Err(
            AppError::conflict(format!("A department named '{name}' already exists.")).into(),
        );
    }
    let id = rows::insert_department(&mut tx.conn(), &name, Utc::now()).await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update_department(
    db: &Db,
    principal: &Principal,
    id: i64,
    name: &str,
    is_active: bool,
) -> Result<()> {
    authorize(principal, Permission::ManageHelpdesk)?;
    let name = check_name("name", name)?;
    let mut tx = db.begin().await?;
    if rows::department_named(&mut tx.conn(), &name)
        .await?
        .is_some_and(|other| other != id)
    {
        return Err(
            AppError::conflict(format!("A department named '{name}' already exists.")).into(),
        );
    }
    if rows::update_department(&mut tx.conn(), id, &name, is_active).await? == 0 {
        return Err(AppError::not_found("Department").into());
    }
    tx.commit().await?;
    Ok(())
}

/// Sets which agents work for a department (their tickets are visible to them).
pub async fn set_department_members(
    db: &Db,
    principal: &Principal,
    department_id: i64,
    user_ids: &[i64],
) -> Result<()> {
    authorize(principal, Permission::ManageHelpdesk)?;
    let mut tx = db.begin().await?;
    require_department(&mut tx.conn(), department_id).await?;
    for user_id in user_ids {
        if crate::db::users::find_by_id(&mut tx.conn(), *user_id)
            .await?
            .is_none()
        {
            return Err(AppError::invalid_field(
                "user_ids",
                format!("user {user_id} does not exist"),
            )
            .into());
        }
    }
    let mut unique = user_ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    rows::set_department_members(&mut tx.conn(), department_id, &unique).await?;
    tx.commit().await?;
    Ok(())
}

/// 404 unless the department exists (active or not).
async fn require_department(conn: &mut Conn<'_>, id: i64) -> Result<()> {
    match rows::department_active(conn, id).await? {
        Some(_) => Ok(()),
        None => Err(AppError::not_found("Department").into()),
    }
}

/// Who works for each department: `(department id, member)`, by department, then name.
pub async fn department_members(db: &Db, principal: &Principal) -> Result<Vec<(i64, PersonRef)>> {
    authorize(principal, Permission::ManageHelpdesk)?;
    let mut pooled = db.acquire().await?;
    Ok(rows::department_members(&mut pooled.conn())
        .await?
        .into_iter()
        .map(|m| {
            (
                m.department_id,
                PersonRef {
                    id: m.user_id,
                    full_name: m.full_name,
                    email: m.email,
                },
            )
        })
        .collect())
}

/// Adds (`member`) or removes one agent of a department; its other members stay as they are.
pub async fn set_department_member(
    db: &Db,
    principal: &Principal,
    department_id: i64,
    user_id: i64,
    member: bool,
) -> Result<()> {
    authorize(principal, Permission::ManageHelpdesk)?;
    let mut tx = db.begin().await?;
    require_department(&mut tx.conn(), department_id).await?;
    if member
        && crate::db::users::find_by_id(&mut tx.conn(), user_id)
            .await?
            .is_none()
    {
        return Err(AppError::invalid_field("user_id", "is not a user").into());
    }
    let mut ids = rows::department_member_ids(&mut tx.conn(), department_id).await?;
    ids.retain(|id| *id != user_id);
    if member {
        ids.push(user_id);
        ids.sort_unstable();
    }
    rows::set_department_members(&mut tx.conn(), department_id, &ids).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn update_priority(
    db: &Db,
    principal: &Principal,
    code: Priority,
    name: &str,
    description: &str,
) -> Result<()> {
    authorize(principal, Permission::ManageHelpdesk)?;
    let name = check_name("name", name)?;
    let description = check_text("description", description, 200)?;
    let mut pooled = db.acquire().await?;
    rows::update_priority(&mut pooled.conn(), code.as_str(), &name, &description).await?;
    Ok(())
}

pub async fn set_agent_visibility(
    db: &Db,
    principal: &Principal,
    visibility: AgentVisibility,
) -> Result<()> {
    authorize(principal, Permission::ManageHelpdesk)?;
    let value = match visibility {
        AgentVisibility::All => "all",
        AgentVisibility::OwnDepartments => "own_departments",
    };
    let mut pooled = db.acquire().await?;
    rows::put_setting(&mut pooled.conn(), AGENT_VISIBILITY, value, Utc::now()).await?;
    Ok(())
}

// ------------------------------------------------------------------ saved filters

/// Most saved filters per user.
const MAX_SAVED_FILTERS: usize = 50;

pub async fn saved_filters(db: &Db, principal: &Principal) -> Result<Vec<SavedFilter>> {
    let user = signed_in(principal)?;
    let mut pooled = db.acquire().await?;
    Ok(rows::saved_filters(&mut pooled.conn(), user)
        .await?
        .into_iter()
        .map(|(id, name, query)| SavedFilter { id, name, query })
        .collect())
}

pub async fn save_filter(
    db: &Db,
    principal: &Principal,
    name: &str,
    query: &str,
) -> Result<SavedFilter> {
    let user = signed_in(principal)?;
    authorize(principal, Permission::ViewTickets)?;
    let name = check_name("name", name)?;
    let query = query.trim().trim_start_matches('?');
    if query.len() > 1000 || query.chars().any(char::is_control) {
        return Err(AppError::invalid_field("query", "is not a ticket-list filter").into());
    }
    let mut tx = db.begin().await?;
    let existing = rows::saved_filters(&mut tx.conn(), user).await?;
    if existing
        .iter()
        .any(|(_, n, _)| n.eq_ignore_ascii_case(&name))
    {
        return Err(
            AppError::conflict(format!("You already have a filter named '{name}'.")).into(),
        );
    }
    if existing.len() >= MAX_SAVED_FILTERS {
        return Err(AppError::invalid_field(
            "name",
            format!("at most {MAX_SAVED_FILTERS} saved filters"),
        )
        .into());
    }
    let id = rows::insert_saved_filter(&mut tx.conn(), user, &name, query, Utc::now()).await?;
    tx.commit().await?;
    Ok(SavedFilter {
        id,
        name,
        query: query.to_owned(),
    })
}

pub async fn delete_filter(db: &Db, principal: &Principal, id: i64) -> Result<()> {
    let user = signed_in(principal)?;
    let mut pooled = db.acquire().await?;
    if rows::delete_saved_filter(&mut pooled.conn(), user, id).await? == 0 {
        return Err(AppError::not_found("Saved filter").into());
    }
    Ok(())
}

fn signed_in(principal: &Principal) -> Result<i64> {
    principal.user().map(|u| u.user.id).ok_or_else(|| {
        AppError::new(
            domain::ErrorKind::Forbidden,
            "Saved filters belong to users.",
        )
        .into()
    })
}
