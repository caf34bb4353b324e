//! Administration: system status, users, workflow roles, API keys, security policy.

use domain::AppError;
#[cfg(feature = "ssr")]
use domain::RoleGrant;
use domain::account::{ApiKeySummary, CreatedApiKey, RoleMember, RolePolicy, WorkflowRole};
use domain::status::SystemStatus;
use domain::users::{Page, UserSummary};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use services::auth::policy::Permission;

#[server(endpoint = "admin/status")]
pub async fn load_system_status() -> Result<SystemStatus, AppError> {
    crate::ssr::respond(async {
        crate::ssr::require(Permission::ManageUsers).await?;
        let services = crate::ssr::services()?;
        Ok(services::status::system_status(&services).await?)
    })
    .await
}

/// Page `page` (25 a page) of users matching `query`.
#[server(endpoint = "admin/users/search")]
pub async fn search_users(query: String, page: i64) -> Result<Page<UserSummary>, AppError> {
    crate::ssr::respond(async move {
        crate::ssr::require(Permission::ViewUsers).await?;
        let services = crate::ssr::services()?;
        Ok(
            services::users::search(services.db(), &query, Some("full_name"), page.max(1), 25)
                .await?,
        )
    })
    .await
}

#[server(endpoint = "admin/users/get")]
pub async fn get_user(id: i64) -> Result<UserSummary, AppError> {
    crate::ssr::respond(async move {
        crate::ssr::require(Permission::ViewUsers).await?;
        let services = crate::ssr::services()?;
        Ok(services::users::get(services.db(), id).await?)
    })
    .await
}

/// The system roles chosen in a form: one select per system, empty for none.
#[cfg(feature = "ssr")]
fn grants(tts: &str, hdts: &str, ams: &str, bms: &str) -> Result<Vec<RoleGrant>, AppError> {
    use domain::System;
    let mut grants = Vec::new();
    for (system, value) in [
        (System::Tts, tts),
        (System::Hdts, hdts),
        (System::Ams, ams),
        (System::Bms, bms),
    ] {
        if !value.is_empty() {
            let role = value.parse().map_err(|e: domain::roles::UnknownName| {
                AppError::invalid_field(&format!("role_{system}"), e.to_string())
            })?;
            grants.push(RoleGrant { system, role });
        }
    }
    Ok(grants)
}

/// Creates a user with a password, or (password left empty) invites them by e-mail.
#[server(endpoint = "admin/users/create")]
pub async fn create_user(
    email: String,
    full_name: String,
    password: String,
    role_tts: String,
    role_hdts: String,
) -> Result<i64, AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageUsers).await?;
        let actor = services::audit::Actor::User(admin.user.id);
        let services = crate::ssr::services()?;
        let input = services::users::NewUser {
            email,
            full_name,
            password: (!password.is_empty()).then_some(password),
            roles: grants(&role_tts, &role_hdts, "", "")?,
        };
        let id = if input.password.is_some() {
            services::users::create(services.db(), actor, input).await?
        } else {
            services::users::invite(&services, actor, input).await?
        };
        Ok(id)
    })
    .await
}

#[allow(clippy::too_many_arguments)]
#[server(endpoint = "admin/users/update")]
pub async fn update_user(
    id: i64,
    email: String,
    full_name: String,
    role_tts: String,
    role_hdts: String,
    role_ams: String,
    role_bms: String,
) -> Result<UserSummary, AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageUsers).await?;
        let services = crate::ssr::services()?;
        let changes = services::users::UserChanges {
            email: Some(email),
            full_name: Some(full_name),
            is_active: None,
            roles: Some(grants(&role_tts, &role_hdts, &role_ams, &role_bms)?),
        };
        Ok(services::users::update(services.db(), admin.user.id, id, changes).await?)
    })
    .await
}

#[server(endpoint = "admin/users/set-active")]
pub async fn set_user_active(id: i64, active: bool) -> Result<UserSummary, AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageUsers).await?;
        let services = crate::ssr::services()?;
        let changes = services::users::UserChanges {
            is_active: Some(active),
            ..Default::default()
        };
        Ok(services::users::update(services.db(), admin.user.id, id, changes).await?)
    })
    .await
}

#[server(endpoint = "admin/users/unlock")]
pub async fn unlock_user(id: i64) -> Result<UserSummary, AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageUsers).await?;
        let actor = services::audit::Actor::User(admin.user.id);
        let services = crate::ssr::services()?;
        Ok(services::users::unlock(services.db(), actor, id).await?)
    })
    .await
}

#[server(endpoint = "admin/users/reset-second-factor")]
pub async fn reset_user_second_factor(id: i64) -> Result<UserSummary, AppError> {
    crate::ssr::respond(async move {
        crate::ssr::require_user(Permission::ManageUsers).await?;
        let services = crate::ssr::services()?;
        services.auth().clear_second_factor(id).await?;
        Ok(services::users::get(services.db(), id).await?)
    })
    .await
}

#[server(endpoint = "admin/roles")]
pub async fn list_roles() -> Result<Vec<WorkflowRole>, AppError> {
    crate::ssr::respond(async {
        crate::ssr::require(Permission::ViewRoles).await?;
        let services = crate::ssr::services()?;
        Ok(services::workflow_roles::list(services.db()).await?)
    })
    .await
}

#[server(endpoint = "admin/roles/get")]
pub async fn get_role(id: i64) -> Result<(WorkflowRole, Vec<RoleMember>), AppError> {
    crate::ssr::respond(async move {
        crate::ssr::require(Permission::ViewRoles).await?;
        let services = crate::ssr::services()?;
        let role = services::workflow_roles::get(services.db(), id).await?;
        let members = services::workflow_roles::members(services.db(), id).await?;
        Ok((role, members))
    })
    .await
}

#[server(endpoint = "admin/roles/create")]
pub async fn create_role(name: String, description: String) -> Result<WorkflowRole, AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageRoles).await?;
        let actor = services::audit::Actor::User(admin.user.id);
        let services = crate::ssr::services()?;
        Ok(services::workflow_roles::create(services.db(), actor, &name, &description).await?)
    })
    .await
}

#[server(endpoint = "admin/roles/update")]
pub async fn update_role(
    id: i64,
    name: String,
    description: String,
) -> Result<WorkflowRole, AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageRoles).await?;
        let actor = services::audit::Actor::User(admin.user.id);
        let services = crate::ssr::services()?;
        Ok(services::workflow_roles::update(services.db(), actor, id, &name, &description).await?)
    })
    .await
}

#[server(endpoint = "admin/roles/delete")]
pub async fn delete_role(id: i64) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageRoles).await?;
        let actor = services::audit::Actor::User(admin.user.id);
        let services = crate::ssr::services()?;
        services::workflow_roles::delete(services.db(), actor, id).await?;
        leptos_axum::redirect("/admin/roles");
        Ok(())
    })
    .await
}

#[server(endpoint = "admin/roles/set-member")]
pub async fn set_role_member(
    role_id: i64,
    user_id: i64,
    active: bool,
) -> Result<Vec<RoleMember>, AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageRoles).await?;
        let actor = services::audit::Actor::User(admin.user.id);
        let services = crate::ssr::services()?;
        Ok(
            services::workflow_roles::set_member(services.db(), actor, role_id, user_id, active)
                .await?,
        )
    })
    .await
}

#[server(endpoint = "admin/roles/remove-member")]
pub async fn remove_role_member(role_id: i64, user_id: i64) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageRoles).await?;
        let actor = services::audit::Actor::User(admin.user.id);
        let services = crate::ssr::services()?;
        Ok(services::workflow_roles::remove_member(services.db(), actor, role_id, user_id).await?)
    })
    .await
}

#[server(endpoint = "admin/api-keys")]
pub async fn list_api_keys() -> Result<Vec<ApiKeySummary>, AppError> {
    crate::ssr::respond(async {
        crate::ssr::require_user(Permission::ManageApiKeys).await?;
        let services = crate::ssr::services()?;
        Ok(services.auth().list_api_keys().await?)
    })
    .await
}

/// Creates a key; each scope is a checkbox (`Some` when ticked).
#[server(endpoint = "admin/api-keys/create")]
pub async fn create_api_key(
    name: String,
    tickets_submit: Option<String>,
    notifications_send: Option<String>,
    users_read: Option<String>,
    roles_read: Option<String>,
) -> Result<CreatedApiKey, AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageApiKeys).await?;
        let services = crate::ssr::services()?;
        let scopes: Vec<String> = [
            (tickets_submit, "tickets:submit"),
            (notifications_send, "notifications:send"),
            (users_read, "users:read"),
            (roles_read, "roles:read"),
        ]
        .into_iter()
        .filter_map(|(ticked, scope)| ticked.map(|_| scope.to_owned()))
        .collect();
        Ok(services
            .auth()
            .create_api_key(&name, &scopes, admin.user.id)
            .await?)
    })
    .await
}

#[server(endpoint = "admin/api-keys/revoke")]
pub async fn revoke_api_key(id: i64) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageApiKeys).await?;
        let actor = services::audit::Actor::User(admin.user.id);
        let services = crate::ssr::services()?;
        Ok(services.auth().revoke_api_key(actor, id).await?)
    })
    .await
}

#[server(endpoint = "admin/policies")]
pub async fn list_policies() -> Result<Vec<RolePolicy>, AppError> {
    crate::ssr::respond(async {
        crate::ssr::require_user(Permission::ManageSecurityPolicy).await?;
        let services = crate::ssr::services()?;
        Ok(services::workflow_roles::policies(services.db()).await?)
    })
    .await
}

#[server(endpoint = "admin/policies/set")]
pub async fn set_policy(
    role: domain::SystemRole,
    required: bool,
) -> Result<Vec<RolePolicy>, AppError> {
    crate::ssr::respond(async move {
        let admin = crate::ssr::require_user(Permission::ManageSecurityPolicy).await?;
        let actor = services::audit::Actor::User(admin.user.id);
        let services = crate::ssr::services()?;
        Ok(services::workflow_roles::set_policy(services.db(), actor, role, required).await?)
    })
    .await
}

/// The old list for the overview's "users" count.
#[server(endpoint = "admin/users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    crate::ssr::respond(async {
        crate::ssr::require(Permission::ViewUsers).await?;
        let services = crate::ssr::services()?;
        Ok(services::users::list(services.db(), 200).await?)
    })
    .await
}
