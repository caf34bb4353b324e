//! The helpdesk's reference data, for admins: categories and sub-categories, departments and
//! their agents, the names of the priorities, and which tickets agents see.

use domain::AppError;
use domain::tickets::{AgentVisibility, PersonRef, ReferenceData};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use services::auth::policy::{Permission, Principal};

/// Everything the helpdesk settings page shows.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct HelpdeskSettings {
    /// Categories, departments and priorities, active or not.
    pub reference: ReferenceData,
    /// `(department id, agent)`, by department, then name.
    pub members: Vec<(i64, PersonRef)>,
    pub agent_visibility: AgentVisibility,
}

/// The signed-in admin (not an API key), as the services want the caller.
#[cfg(feature = "ssr")]
async fn admin() -> Result<Principal, AppError> {
    Ok(Principal::User(
        crate::ssr::require_user(Permission::ManageHelpdesk).await?,
    ))
}

#[server(endpoint = "admin/helpdesk")]
pub async fn load_helpdesk_settings() -> Result<HelpdeskSettings, AppError> {
    crate::ssr::respond(async {
        let principal = crate::ssr::require(Permission::ManageHelpdesk).await?;
        let services = crate::ssr::services()?;
        let db = services.db();
        Ok(HelpdeskSettings {
            reference: services::reference::reference_data(db).await?,
            members: services::reference::department_members(db, &principal).await?,
            agent_visibility: services::tickets::agent_visibility(db).await?,
        })
    })
    .await
}

/// Creates a category, or (with `parent_id`) a sub-category of one; returns its id.
#[server(endpoint = "admin/helpdesk/categories/create")]
pub async fn create_category(
    name: String,
    #[server(default)] description: String,
    #[server(default)] parent_id: Option<i64>,
) -> Result<i64, AppError> {
    crate::ssr::respond(async move {
        let principal = admin().await?;
        let services = crate::ssr::services()?;
        Ok(services::reference::create_category(
            services.db(),
            &principal,
            parent_id,
            &name,
            &description,
        )
        .await?)
    })
    .await
}

/// Renames, describes, activates or deactivates a category or sub-category.
#[server(endpoint = "admin/helpdesk/categories/update")]
pub async fn update_category(
    id: i64,
    name: String,
    #[server(default)] description: String,
    is_active: bool,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = admin().await?;
        let services = crate::ssr::services()?;
        Ok(services::reference::update_category(
            services.db(),
            &principal,
            id,
            &name,
            &description,
            is_active,
        )
        .await?)
    })
    .await
}

/// Creates a department; returns its id.
#[server(endpoint = "admin/helpdesk/departments/create")]
pub async fn create_department(name: String) -> Result<i64, AppError> {
    crate::ssr::respond(async move {
        let principal = admin().await?;
        let services = crate::ssr::services()?;
        Ok(services::reference::create_department(services.db(), &principal, &name).await?)
    })
    .await
}

/// Renames, activates or deactivates a department.
#[server(endpoint = "admin/helpdesk/departments/update")]
pub async fn update_department(id: i64, name: String, is_active: bool) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = admin().await?;
        let services = crate::ssr::services()?;
        Ok(
            services::reference::update_department(services.db(), &principal, id, &name, is_active)
                .await?,
        )
    })
    .await
}

/// Adds (`member`) or removes one agent of a department.
#[server(endpoint = "admin/helpdesk/departments/set-member")]
pub async fn set_department_member(
    department_id: i64,
    user_id: i64,
    member: bool,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = admin().await?;
        let services = crate::ssr::services()?;
        Ok(services::reference::set_department_member(
            services.db(),
            &principal,
            department_id,
            user_id,
            member,
        )
        .await?)
    })
    .await
}

/// Renames or describes one of the four priorities (`code`: low, medium, high or urgent).
#[server(endpoint = "admin/helpdesk/priorities/update")]
pub async fn update_priority(
    code: String,
    name: String,
    #[server(default)] description: String,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = admin().await?;
        let services = crate::ssr::services()?;
        let code = code
            .parse()
            .map_err(|problem: String| AppError::invalid_field("code", problem))?;
        Ok(services::reference::update_priority(
            services.db(),
            &principal,
            code,
            &name,
            &description,
        )
        .await?)
    })
    .await
}

/// Which tickets agents see: `own_departments` or `all`.
#[server(endpoint = "admin/helpdesk/agent-visibility")]
pub async fn set_agent_visibility(
    #[server(default)] visibility: String,
) -> Result<AgentVisibility, AppError> {
    crate::ssr::respond(async move {
        let principal = admin().await?;
        let services = crate::ssr::services()?;
        let visibility = match visibility.as_str() {
            "own_departments" => AgentVisibility::OwnDepartments,
            "all" => AgentVisibility::All,
            _ => {
                return Err(AppError::invalid_field(
                    "visibility",
                    "must be own_departments or all",
                ));
            }
        };
        services::reference::set_agent_visibility(services.db(), &principal, visibility).await?;
        Ok(visibility)
    })
    .await
}
