//! The administrator's overview.

use domain::AppError;
use domain::status::SystemStatus;
use domain::users::UserSummary;
use leptos::prelude::*;

#[server(endpoint = "admin/status")]
pub async fn load_system_status() -> Result<SystemStatus, AppError> {
    crate::ssr::respond(async {
        crate::ssr::require(services::auth::policy::Permission::ManageUsers).await?;
        let services = crate::ssr::services()?;
        Ok(services::status::system_status(&services).await?)
    })
    .await
}

#[server(endpoint = "admin/users")]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    crate::ssr::respond(async {
        crate::ssr::require(services::auth::policy::Permission::ManageUsers).await?;
        let services = crate::ssr::services()?;
        Ok(services::users::list(services.db(), 200).await?)
    })
    .await
}
