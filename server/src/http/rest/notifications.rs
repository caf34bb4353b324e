//! `/api/v1/notifications/inapp/…`: the caller's in-app notifications.

use axum::Json;
use axum::extract::State;
use domain::notifications::Notification;
use serde::{Deserialize, Serialize};
use services::auth::policy::Permission;

use super::{ApiError, ApiPath, ApiQuery, Caller, ErrorBody};
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
