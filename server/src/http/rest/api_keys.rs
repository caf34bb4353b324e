//! `/api/v1/api-keys/…`: keys for integrations (administrators only).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::account::{ApiKeySummary, CreatedApiKey};
use serde::Deserialize;
use services::audit::Actor;
use services::auth::policy::Permission;

use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody};
use crate::http::AppState;

/// `GET /api/v1/api-keys/`: every key, revoked ones included; never their secrets.
#[utoipa::path(get, path = "/api/v1/api-keys/", tag = "api-keys",
    responses((status = 200, body = Vec<ApiKeySummary>), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ApiKeySummary>>, ApiError> {
    caller.user_may(Permission::ManageApiKeys)?;
    Ok(Json(state.services.auth().list_api_keys().await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    name: String,
    /// Among `tickets:submit`, `notifications:send`, `users:read`, `roles:read`.
    scopes: Vec<String>,
}

/// `POST /api/v1/api-keys/`: a new key; the response is the only time its secret is shown.
#[utoipa::path(post, path = "/api/v1/api-keys/", tag = "api-keys", request_body = CreateKeyRequest,
    responses((status = 201, body = CreatedApiKey), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<CreateKeyRequest>,
) -> Result<(StatusCode, Json<CreatedApiKey>), ApiError> {
    let admin = caller.user_may(Permission::ManageApiKeys)?;
    let created = state
        .services
        .auth()
        .create_api_key(&body.name, &body.scopes, admin.user.id)
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `DELETE /api/v1/api-keys/{id}/`: revokes the key at once.
#[utoipa::path(delete, path = "/api/v1/api-keys/{id}/", tag = "api-keys", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.user_may(Permission::ManageApiKeys)?;
    state
        .services
        .auth()
        .revoke_api_key(Actor::Principal(&caller.0), id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
