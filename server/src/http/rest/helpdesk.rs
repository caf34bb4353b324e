//! The helpdesk's reference data and settings (`/api/v1/reference-data/`, `/categories/`,
//! `/departments/`, `/priorities/`, `/helpdesk/settings/`) and each user's saved ticket
//! filters (`/saved-filters/`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::AppError;
use domain::tickets::{AgentVisibility, Priority, ReferenceData, SavedFilter};
use serde::{Deserialize, Serialize};
use services::auth::policy::Permission;

use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody};
use crate::http::AppState;

/// `GET /api/v1/reference-data/`: categories (with sub-categories), departments and
/// priorities, for ticket forms.
#[utoipa::path(get, path = "/api/v1/reference-data/", tag = "helpdesk",
    responses((status = 200, body = ReferenceData), (status = 401, body = ErrorBody)))]
pub async fn reference_data(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ReferenceData>, ApiError> {
    caller.may(Permission::ViewTickets)?;
    Ok(Json(
        services::reference::reference_data(state.services.db()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    name: String,
    #[serde(default)]
    description: String,
    /// Set to create a sub-category of this category.
    #[serde(default)]
    parent_id: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Created {
    id: i64,
}

/// `POST /api/v1/categories/`
#[utoipa::path(post, path = "/api/v1/categories/", tag = "helpdesk", request_body = NewCategory,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_category(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewCategory>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id = services::reference::create_category(
        state.services.db(),
        &caller.0,
        body.parent_id,
        &body.name,
        &body.description,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryChanges {
    name: String,
    #[serde(default)]
    description: String,
    is_active: bool,
}

/// `PUT /api/v1/categories/{id}/`
#[utoipa::path(put, path = "/api/v1/categories/{id}/", tag = "helpdesk", params(("id" = i64, Path)),
    request_body = CategoryChanges,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_category(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CategoryChanges>,
) -> Result<StatusCode, ApiError> {
    services::reference::update_category(
        state.services.db(),
        &caller.0,
        id,
        &body.name,
        &body.description,
        body.is_active,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDepartment {
    name: String,
}

/// `POST /api/v1/departments/`
#[utoipa::path(post, path = "/api/v1/departments/", tag = "helpdesk", request_body = NewDepartment,
    responses((status = 201, body = Created), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_department(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewDepartment>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let id =
        services::reference::create_department(state.services.db(), &caller.0, &body.name).await?;
    Ok((StatusCode::CREATED, Json(Created { id })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentChanges {
    name: String,
    is_active: bool,
}

/// `PUT /api/v1/departments/{id}/`
#[utoipa::path(put, path = "/api/v1/departments/{id}/", tag = "helpdesk", params(("id" = i64, Path)),
    request_body = DepartmentChanges,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_department(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DepartmentChanges>,
) -> Result<StatusCode, ApiError> {
    services::reference::update_department(
        state.services.db(),
        &caller.0,
        id,
        &body.name,
        body.is_active,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepartmentMembers {
    user_ids: Vec<i64>,
}

/// `PUT /api/v1/departments/{id}/members/`: the agents who work for the department.
#[utoipa::path(put, path = "/api/v1/departments/{id}/members/", tag = "helpdesk", params(("id" = i64, Path)),
    request_body = DepartmentMembers,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn set_department_members(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<DepartmentMembers>,
) -> Result<StatusCode, ApiError> {
    if body.user_ids.len() > 1000 {
        return Err(AppError::invalid_field("user_ids", "at most 1000 members").into());
    }
    services::reference::set_department_members(state.services.db(), &caller.0, id, &body.user_ids)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriorityChanges {
    name: String,
    #[serde(default)]
    description: String,
}

/// `PUT /api/v1/priorities/{code}/`: rename or describe one of the four priorities.
#[utoipa::path(put, path = "/api/v1/priorities/{code}/", tag = "helpdesk",
    params(("code" = String, Path, description = "low, medium, high or urgent")),
    request_body = PriorityChanges,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn update_priority(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(code): ApiPath<String>,
    ApiJson(body): ApiJson<PriorityChanges>,
) -> Result<StatusCode, ApiError> {
    let code: Priority = code
        .parse()
        .map_err(|p| ApiError(AppError::invalid_field("code", p)))?;
    services::reference::update_priority(
        state.services.db(),
        &caller.0,
        code,
        &body.name,
        &body.description,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HelpdeskSettings {
    /// Which tickets agents see.
    agent_visibility: AgentVisibility,
}

/// `GET /api/v1/helpdesk/settings/`
#[utoipa::path(get, path = "/api/v1/helpdesk/settings/", tag = "helpdesk",
    responses((status = 200, body = HelpdeskSettings), (status = 403, body = ErrorBody)))]
pub async fn settings(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<HelpdeskSettings>, ApiError> {
    caller.may(Permission::ManageHelpdesk)?;
    Ok(Json(HelpdeskSettings {
        agent_visibility: services::tickets::agent_visibility(state.services.db()).await?,
    }))
}

/// `PUT /api/v1/helpdesk/settings/`
#[utoipa::path(put, path = "/api/v1/helpdesk/settings/", tag = "helpdesk", request_body = HelpdeskSettings,
    responses((status = 200, body = HelpdeskSettings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<HelpdeskSettings>,
) -> Result<Json<HelpdeskSettings>, ApiError> {
    services::reference::set_agent_visibility(
        state.services.db(),
        &caller.0,
        body.agent_visibility,
    )
    .await?;
    Ok(Json(body))
}

/// `GET /api/v1/saved-filters/`: the caller's saved ticket-list filters.
#[utoipa::path(get, path = "/api/v1/saved-filters/", tag = "tickets",
    responses((status = 200, body = Vec<SavedFilter>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn saved_filters(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<SavedFilter>>, ApiError> {
    caller.user_may(Permission::ViewTickets)?;
    Ok(Json(
        services::reference::saved_filters(state.services.db(), &caller.0).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSavedFilter {
    name: String,
    /// The list's query string, e.g. `status=open&priority=high`.
    query: String,
}

/// `POST /api/v1/saved-filters/`
#[utoipa::path(post, path = "/api/v1/saved-filters/", tag = "tickets", request_body = NewSavedFilter,
    responses((status = 201, body = SavedFilter), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn save_filter(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewSavedFilter>,
) -> Result<(StatusCode, Json<SavedFilter>), ApiError> {
    caller.user_may(Permission::ViewTickets)?;
    let saved =
        services::reference::save_filter(state.services.db(), &caller.0, &body.name, &body.query)
            .await?;
    Ok((StatusCode::CREATED, Json(saved)))
}

/// `DELETE /api/v1/saved-filters/{id}/`
#[utoipa::path(delete, path = "/api/v1/saved-filters/{id}/", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_filter(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.user_may(Permission::ViewTickets)?;
    services::reference::delete_filter(state.services.db(), &caller.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
