//! `/api/v1/tasks/…`: the agent's inbox and acting on tasks; `/api/v1/triage/…`: tickets the
//! engine could not place; `/api/v1/audit/`: the audit log; `/api/v1/notifications/inapp/…`:
//! in-app notifications.

use axum::Json;
use axum::extract::{OriginalUri, State};
use domain::audit::{AuditEvent, AuditQuery};
use domain::notifications::Notification;
use domain::tasks::{
    EscalateRequest, InboxEntry, ReassignRequest, Task, TransitionRequest, TriageEntry,
};
use serde::{Deserialize, Serialize};
use services::auth::policy::Permission;
use services::tasks::InboxScope;

use super::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody, Paged};
use crate::http::AppState;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InboxParams {
    /// `mine` (default): items assigned to me; `roles`: also my roles' items held by others.
    pub scope: Option<String>,
}

/// `GET /api/v1/tasks/`: open task items, most urgent (nearest SLA target) first.
#[utoipa::path(get, path = "/api/v1/tasks/", tag = "tasks", params(InboxParams),
    responses((status = 200, body = Vec<InboxEntry>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn inbox(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<InboxParams>,
) -> Result<Json<Vec<InboxEntry>>, ApiError> {
    let scope = match params.scope.as_deref().map(str::trim) {
        None | Some("" | "mine") => InboxScope::Mine,
        Some("roles") => InboxScope::MineAndRoles,
        Some(_) => {
            return Err(domain::AppError::invalid_field("scope", "must be mine or roles").into());
        }
    };
    let now = state.services.clock().now();
    Ok(Json(
        services::tasks::inbox(state.services.db(), &caller.0, scope, now).await?,
    ))
}

/// `GET /api/v1/tasks/{id}/`: the task with its steps, clocks, items, history and the
/// actions the caller may take.
#[utoipa::path(get, path = "/api/v1/tasks/{id}/", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Task>, ApiError> {
    let now = state.services.clock().now();
    Ok(Json(
        services::tasks::get(state.services.db(), &caller.0, id, now).await?,
    ))
}

/// `GET /api/v1/tickets/{id}/task/`: the ticket's task (404 if it has none yet).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/task/", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 404, body = ErrorBody)))]
pub async fn of_ticket(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Task>, ApiError> {
    let now = state.services.clock().now();
    services::tasks::for_ticket(state.services.db(), &caller.0, id, now)
        .await?
        .map(Json)
        .ok_or_else(|| domain::AppError::not_found("Task").into())
}

/// `POST /api/v1/tasks/{id}/transition/`: takes an action at the current step. 409 if the
/// task moved since (`revision`), 403 if someone else holds it.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/transition/", tag = "tasks", params(("id" = i64, Path)),
    request_body = TransitionRequest,
    responses((status = 200, body = Task), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn transition(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TransitionRequest>,
) -> Result<Json<Task>, ApiError> {
    caller.user_may(Permission::WorkTasks)?;
    let now = state.services.clock().now();
    Ok(Json(
        services::tasks::transition(state.services.db(), &caller.0, id, &body, now).await?,
    ))
}

/// `POST /api/v1/tasks/{id}/reassign/`: hands the current item to another active member of
/// its role.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/reassign/", tag = "tasks", params(("id" = i64, Path)),
    request_body = ReassignRequest,
    responses((status = 200, body = Task), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reassign(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReassignRequest>,
) -> Result<Json<Task>, ApiError> {
    caller.user_may(Permission::WorkTasks)?;
    let now = state.services.clock().now();
    Ok(Json(
        services::tasks::reassign(state.services.db(), &caller.0, id, &body, now).await?,
    ))
}

/// `POST /api/v1/tasks/{id}/escalate/`: to the step's escalation role, or to the admins.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/escalate/", tag = "tasks", params(("id" = i64, Path)),
    request_body = EscalateRequest,
    responses((status = 200, body = Task), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn escalate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<EscalateRequest>,
) -> Result<Json<Task>, ApiError> {
    caller.user_may(Permission::WorkTasks)?;
    let now = state.services.clock().now();
    Ok(Json(
        services::tasks::escalate(state.services.db(), &caller.0, id, &body, now).await?,
    ))
}

/// `POST /api/v1/tasks/{id}/start/`: the holder starts work (`new` → `in_progress`).
#[utoipa::path(post, path = "/api/v1/tasks/{id}/start/", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn start(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Task>, ApiError> {
    caller.user_may(Permission::WorkTasks)?;
    let now = state.services.clock().now();
    Ok(Json(
        services::tasks::start_work(state.services.db(), &caller.0, id, now).await?,
    ))
}

/// `GET /api/v1/triage/`: tickets waiting for an admin.
#[utoipa::path(get, path = "/api/v1/triage/", tag = "tasks",
    responses((status = 200, body = Vec<TriageEntry>), (status = 403, body = ErrorBody)))]
pub async fn triage(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<TriageEntry>>, ApiError> {
    Ok(Json(
        services::tasks::triage(state.services.db(), &caller.0).await?,
    ))
}

/// `POST /api/v1/triage/{id}/retry/`: matches (or assigns) the ticket again; the answer is
/// the queue as it is after.
#[utoipa::path(post, path = "/api/v1/triage/{id}/retry/", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TriageEntry>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn retry_triage(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<TriageEntry>>, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    let now = state.services.clock().now();
    Ok(Json(
        services::tasks::retry_triage(state.services.db(), &caller.0, id, now).await?,
    ))
}

/// A page of the audit log (for the OpenAPI document).
#[derive(Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<AuditEvent>,
}

/// `GET /api/v1/audit/`: newest first; filter by actor, action (or prefix ending in `.`),
/// target and time.
#[utoipa::path(get, path = "/api/v1/audit/", tag = "audit", params(AuditQuery),
    responses((status = 200, body = AuditPage), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<Paged<AuditEvent>>, ApiError> {
    let page = services::audit::list(state.services.db(), &caller.0, &query).await?;
    Ok(Json(Paged::new(
        page,
        &uri,
        i64::from(query.page.unwrap_or(1)),
        i64::from(
            query
                .page_size
                .unwrap_or(domain::tickets::DEFAULT_PAGE_SIZE),
        ),
    )))
}

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
pub async fn notifications(
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
pub async fn read_notification(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<NotificationList>, ApiError> {
    let user = user_id(&caller)?;
    let db = state.services.db();
    services::notifications::mark_read(db, user, Some(id)).await?;
    Ok(Json(NotificationList {
        unread: services::notifications::unread_count(db, user).await?,
        results: services::notifications::list(db, user, false).await?,
    }))
}

/// `POST /api/v1/notifications/inapp/read-all/`
#[utoipa::path(post, path = "/api/v1/notifications/inapp/read-all/", tag = "notifications",
    responses((status = 200, body = NotificationList), (status = 401, body = ErrorBody)))]
pub async fn read_all_notifications(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<NotificationList>, ApiError> {
    let user = user_id(&caller)?;
    let db = state.services.db();
    services::notifications::mark_read(db, user, None).await?;
    Ok(Json(NotificationList {
        unread: 0,
        results: services::notifications::list(db, user, false).await?,
    }))
}
