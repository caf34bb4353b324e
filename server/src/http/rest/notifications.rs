//! `/api/v1/notifications/inapp/…`: the caller's in-app notifications.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::notifications::{
    EmailDelivery, Notification, NotificationPreferences, OutsideNotification,
};
use serde::{Deserialize, Serialize};
use services::auth::policy::Permission;

use super::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody};
use crate::http::AppState;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct NotificationParams {
    /// Only unread ones.
    #[serde(default)]
    pub unread: Option<bool>,
}

/// The caller's notifications and how many are unread.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NotificationList {
    pub unread: i64,
    pub results: Vec<Notification>,
}

fn user_id(caller: &Caller) -> Result<i64, ApiError> {
    Ok(caller.user_may(Permission::OwnAccount)?.user.id)
}

/// `GET /api/v1/notifications/inapp/`: the latest 100, newest first.
#[utoipa::path(get, path = "/api/v1/notifications/inapp/", tag = "notifications", params(NotificationParams),
    responses((status = 200, body = NotificationList), (status = 401, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<NotificationParams>,
) -> Result<Json<NotificationList>, ApiError> {
    let user_id = user_id(&caller)?;
    let db = state.services.db();
    Ok(Json(NotificationList {
        unread: services::notifications::unread_count(db, user_id).await?,
        results: services::notifications::list(db, user_id, params.unread.unwrap_or(false)).await?,
    }))
}

/// `POST /api/v1/notifications/inapp/{id}/read/`
#[utoipa::path(post, path = "/api/v1/notifications/inapp/{id}/read/", tag = "notifications",
    params(("id" = i64, Path)),
    responses((status = 200, body = NotificationList), (status = 404, body = ErrorBody)))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<NotificationList>, ApiError> {
    let user = user_id(&caller)?;
    let db = state.services.db();
    services::notifications::mark_read(&state.services, user, Some(id)).await?;
    Ok(Json(NotificationList {
        unread: services::notifications::unread_count(db, user).await?,
        results: services::notifications::list(db, user, false).await?,
    }))
}

/// `POST /api/v1/notifications/inapp/read-all/`
#[utoipa::path(post, path = "/api/v1/notifications/inapp/read-all/", tag = "notifications",
    responses((status = 200, body = NotificationList), (status = 401, body = ErrorBody)))]
pub async fn read_all(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<NotificationList>, ApiError> {
    let user = user_id(&caller)?;
    let db = state.services.db();
    services::notifications::mark_read(&state.services, user, None).await?;
    Ok(Json(NotificationList {
        unread: 0,
        results: services::notifications::list(db, user, false).await?,
    }))
}

/// `GET /api/v1/notifications/preferences/`: which kinds come by e-mail, and the daily digest.
#[utoipa::path(get, path = "/api/v1/notifications/preferences/", tag = "notifications",
    responses((status = 200, body = NotificationPreferences), (status = 401, body = ErrorBody)))]
pub async fn preferences(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<NotificationPreferences>, ApiError> {
    let user = user_id(&caller)?;
    Ok(Json(
        services::email::preferences(&state.services, user).await?,
    ))
}

/// `PUT /api/v1/notifications/preferences/`: kinds not listed keep their choice.
#[utoipa::path(put, path = "/api/v1/notifications/preferences/", tag = "notifications",
    request_body = NotificationPreferences,
    responses((status = 200, body = NotificationPreferences), (status = 400, body = ErrorBody)))]
pub async fn set_preferences(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NotificationPreferences>,
) -> Result<Json<NotificationPreferences>, ApiError> {
    let user = user_id(&caller)?;
    Ok(Json(
        services::email::set_preferences(&state.services, user, &body).await?,
    ))
}

/// One notification or a batch.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SendRequest {
    Batch {
        notifications: Vec<OutsideNotification>,
    },
    One(OutsideNotification),
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SendAnswer {
    pub created: usize,
}

/// `POST /api/v1/notifications/send/` (API key with `notifications:send`, or an admin): one
/// notification or `{"notifications": [...]}` (up to 1,000), all or none; each also goes by
/// e-mail as its user chose.
#[utoipa::path(post, path = "/api/v1/notifications/send/", tag = "notifications",
    request_body = SendRequest,
    responses((status = 201, body = SendAnswer), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SendRequest>,
) -> Result<(StatusCode, Json<SendAnswer>), ApiError> {
    let batch = match body {
        SendRequest::Batch { notifications } => notifications,
        SendRequest::One(one) => vec![one],
    };
    let created =
        services::email::send_from_outside(&state.services, &caller.0, &batch, None).await?;
    Ok((StatusCode::CREATED, Json(SendAnswer { created })))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DeliveryParams {
    /// `pending`, `sent`, `failed` or `gave_up`.
    pub status: Option<String>,
}

/// `GET /api/v1/notifications/deliveries/`: the e-mail delivery log, newest 200 (admins).
#[utoipa::path(get, path = "/api/v1/notifications/deliveries/", tag = "notifications",
    params(DeliveryParams),
    responses((status = 200, body = Vec<EmailDelivery>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<DeliveryParams>,
) -> Result<Json<Vec<EmailDelivery>>, ApiError> {
    caller.user_may(Permission::ReadAudit)?;
    Ok(Json(
        services::email::deliveries(&state.services, params.status.as_deref()).await?,
    ))
}
