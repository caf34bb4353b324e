//! `/api/v1/roles/…`: workflow roles and their members; `/api/v1/security/policies/…`: which
//! system roles must use a second factor.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::SystemRole;
use domain::account::{RoleMember, RolePolicy, WorkflowRole};
use serde::Deserialize;
use services::audit::Actor;
use services::auth::policy::Permission;

use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody};
use crate::http::AppState;

/// `GET /api/v1/roles/`: every workflow role with its number of active members.
#[utoipa::path(get, path = "/api/v1/roles/", tag = "roles",
    responses((status = 200, body = Vec<WorkflowRole>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<WorkflowRole>>, ApiError> {
    caller.may(Permission::ViewRoles)?;
    Ok(Json(
        services::workflow_roles::list(state.services.db()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleRequest {
    name: String,
    #[serde(default)]
    description: String,
    /// `round_robin` (default for a new role) or `least_loaded`; absent leaves it as it is.
    #[serde(default)]
    assignment: Option<domain::tasks::AssignmentStrategy>,
}

/// `POST /api/v1/roles/`
#[utoipa::path(post, path = "/api/v1/roles/", tag = "roles", request_body = RoleRequest,
    responses((status = 201, body = WorkflowRole), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<RoleRequest>,
) -> Result<(StatusCode, Json<WorkflowRole>), ApiError> {
    let admin = caller.user_may(Permission::ManageRoles)?;
    let actor = Actor::User(admin.user.id);
    let db = state.services.db();
    let mut role =
        services::workflow_roles::create(db, actor, &body.name, &body.description).await?;
    if let Some(assignment) = body.assignment {
        role = services::workflow_roles::set_assignment(db, actor, role.id, assignment).await?;
    }
    Ok((StatusCode::CREATED, Json(role)))
}

/// `GET /api/v1/roles/{id}/`
#[utoipa::path(get, path = "/api/v1/roles/{id}/", tag = "roles", params(("id" = i64, Path)),
    responses((status = 200, body = WorkflowRole), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<WorkflowRole>, ApiError> {
    caller.may(Permission::ViewRoles)?;
    Ok(Json(
        services::workflow_roles::get(state.services.db(), id).await?,
    ))
}

/// `PATCH /api/v1/roles/{id}/`
#[utoipa::path(patch, path = "/api/v1/roles/{id}/", tag = "roles", params(("id" = i64, Path)),
    request_body = RoleRequest,
    responses((status = 200, body = WorkflowRole), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RoleRequest>,
) -> Result<Json<WorkflowRole>, ApiError> {
    let admin = caller.user_may(Permission::ManageRoles)?;
    let actor = Actor::User(admin.user.id);
    let db = state.services.db();
    let mut role =
        services::workflow_roles::update(db, actor, id, &body.name, &body.description).await?;
    if let Some(assignment) = body.assignment {
        role = services::workflow_roles::set_assignment(db, actor, id, assignment).await?;
    }
    Ok(Json(role))
}

/// `DELETE /api/v1/roles/{id}/`
#[utoipa::path(delete, path = "/api/v1/roles/{id}/", tag = "roles", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.user_may(Permission::ManageRoles)?;
    services::workflow_roles::delete(state.services.db(), Actor::Principal(&caller.0), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/roles/{id}/members/`
#[utoipa::path(get, path = "/api/v1/roles/{id}/members/", tag = "roles", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<RoleMember>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn members(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<RoleMember>>, ApiError> {
    caller.may(Permission::ViewRoles)?;
    Ok(Json(
        services::workflow_roles::members(state.services.db(), id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    user_id: i64,
    /// Active members receive work; inactive ones keep the membership (default true).
    #[serde(default = "default_true")]
    is_active: bool,
}

fn default_true() -> bool {
    true
}

/// `POST /api/v1/roles/{id}/members/`: adds a member, or changes whether they are active.
#[utoipa::path(post, path = "/api/v1/roles/{id}/members/", tag = "roles", params(("id" = i64, Path)),
    request_body = MemberRequest,
    responses((status = 200, body = Vec<RoleMember>), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<MemberRequest>,
) -> Result<Json<Vec<RoleMember>>, ApiError> {
    caller.user_may(Permission::ManageRoles)?;
    Ok(Json(
        services::workflow_roles::set_member(
            state.services.db(),
            Actor::Principal(&caller.0),
            id,
            body.user_id,
            body.is_active,
        )
        .await?,
    ))
}

/// `DELETE /api/v1/roles/{id}/members/{user_id}/`
#[utoipa::path(delete, path = "/api/v1/roles/{id}/members/{user_id}/", tag = "roles",
    params(("id" = i64, Path), ("user_id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, user_id)): ApiPath<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    caller.user_may(Permission::ManageRoles)?;
    services::workflow_roles::remove_member(
        state.services.db(),
        Actor::Principal(&caller.0),
        id,
        user_id,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/security/policies/`
#[utoipa::path(get, path = "/api/v1/security/policies/", tag = "security",
    responses((status = 200, body = Vec<RolePolicy>), (status = 403, body = ErrorBody)))]
pub async fn policies(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<RolePolicy>>, ApiError> {
    caller.user_may(Permission::ManageSecurityPolicy)?;
    Ok(Json(
        services::workflow_roles::policies(state.services.db()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    require_second_factor: bool,
}

/// `PUT /api/v1/security/policies/{role}/`: requires (or not) a second factor of a role's
/// holders; those without one are confined to setting it up at their next request.
#[utoipa::path(put, path = "/api/v1/security/policies/{role}/", tag = "security",
    params(("role" = SystemRole, Path)), request_body = PolicyRequest,
    responses((status = 200, body = Vec<RolePolicy>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn set_policy(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(role): ApiPath<String>,
    ApiJson(body): ApiJson<PolicyRequest>,
) -> Result<Json<Vec<RolePolicy>>, ApiError> {
    caller.user_may(Permission::ManageSecurityPolicy)?;
    let role: SystemRole = role.parse().map_err(|e: domain::roles::UnknownName| {
        domain::AppError::invalid_field("role", e.to_string())
    })?;
    Ok(Json(
        services::workflow_roles::set_policy(
            state.services.db(),
            Actor::Principal(&caller.0),
            role,
            body.require_second_factor,
        )
        .await?,
    ))
}
