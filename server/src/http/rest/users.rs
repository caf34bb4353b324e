//! `/api/v1/users/…`: the user directory and its administration.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use domain::RoleGrant;
use domain::users::UserSummary;
use serde::Deserialize;
use services::audit::Actor;
use services::auth::policy::Permission;
use services::users::{NewUser, UserChanges};

use super::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody, ListParams, Paged};
use crate::http::AppState;

/// `GET /api/v1/users/`: users matching `q` (e-mail or name), paginated, sortable by `id`,
/// `email`, `full_name`, `last_login_at`.
#[utoipa::path(get, path = "/api/v1/users/", tag = "users", params(ListParams),
    responses((status = 200, description = "{count, next, previous, results}", body = Vec<UserSummary>),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Paged<UserSummary>>, ApiError> {
    caller.may(Permission::ViewUsers)?;
    let (page, size) = params.paging()?;
    let found = services::users::search(
        state.services.db(),
        params.q.as_deref().unwrap_or_default(),
        params.ordering.as_deref(),
        page,
        size,
    )
    .await?;
    Ok(Json(Paged::new(found, &uri, page, size)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    email: String,
    full_name: String,
    /// A first password. Leave it out to invite the user: they get an e-mail to choose one.
    password: Option<String>,
    #[serde(default)]
    roles: Vec<RoleGrant>,
}

/// `POST /api/v1/users/`: creates a user (with a password) or invites one (without).
#[utoipa::path(post, path = "/api/v1/users/", tag = "users", request_body = CreateUserRequest,
    responses((status = 201, body = UserSummary), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<UserSummary>), ApiError> {
    caller.user_may(Permission::ManageUsers)?;
    let input = NewUser {
        email: body.email,
        full_name: body.full_name,
        password: body.password,
        roles: body.roles,
    };
    let id = if input.password.is_some() {
        services::users::create(state.services.db(), Actor::Principal(&caller.0), input).await?
    } else {
        services::users::invite(&state.services, Actor::Principal(&caller.0), input).await?
    };
    Ok((
        StatusCode::CREATED,
        Json(services::users::get(state.services.db(), id).await?),
    ))
}

/// `GET /api/v1/users/{id}/`
#[utoipa::path(get, path = "/api/v1/users/{id}/", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserSummary), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<UserSummary>, ApiError> {
    caller.may(Permission::ViewUsers)?;
    Ok(Json(services::users::get(state.services.db(), id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    email: Option<String>,
    full_name: Option<String>,
    is_active: Option<bool>,
    /// The complete set of system roles; systems left out lose their role.
    roles: Option<Vec<RoleGrant>>,
}

/// `PATCH /api/v1/users/{id}/`: changes the given fields.
#[utoipa::path(patch, path = "/api/v1/users/{id}/", tag = "users", params(("id" = i64, Path)),
    request_body = UpdateUserRequest,
    responses((status = 200, body = UserSummary), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<UpdateUserRequest>,
) -> Result<Json<UserSummary>, ApiError> {
    let actor = caller.user_may(Permission::ManageUsers)?;
    let changes = UserChanges {
        email: body.email,
        full_name: body.full_name,
        is_active: body.is_active,
        roles: body.roles,
    };
    Ok(Json(
        services::users::update(state.services.db(), actor.user.id, id, changes).await?,
    ))
}

/// `DELETE /api/v1/users/{id}/`: deactivates the user (accounts are kept for the history
/// they appear in); their sessions end.
#[utoipa::path(delete, path = "/api/v1/users/{id}/", tag = "users", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn deactivate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    let actor = caller.user_may(Permission::ManageUsers)?;
    let changes = UserChanges {
        is_active: Some(false),
        ..UserChanges::default()
    };
    services::users::update(state.services.db(), actor.user.id, id, changes).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/users/{id}/unlock/`: lifts a lockout after failed sign-ins.
#[utoipa::path(post, path = "/api/v1/users/{id}/unlock/", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserSummary), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unlock(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<UserSummary>, ApiError> {
    caller.user_may(Permission::ManageUsers)?;
    Ok(Json(
        services::users::unlock(state.services.db(), Actor::Principal(&caller.0), id).await?,
    ))
}

/// `POST /api/v1/users/{id}/reset-second-factor/`: removes the user's second factor (a lost
/// phone); they set one up again at their next sign-in if their role requires it.
#[utoipa::path(post, path = "/api/v1/users/{id}/reset-second-factor/", tag = "users",
    params(("id" = i64, Path)),
    responses((status = 200, body = UserSummary), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reset_second_factor(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<UserSummary>, ApiError> {
    caller.user_may(Permission::ManageUsers)?;
    let user = services::users::get(state.services.db(), id).await?;
    state.services.auth().clear_second_factor(user.id).await?;
    Ok(Json(services::users::get(state.services.db(), id).await?))
}
