//! `/api/v1/tasks/…`: the agent's inbox and acting on tasks; `/api/v1/triage/…`: tickets the
//! engine could not place.

use axum::Json;
use axum::extract::State;
use domain::tasks::{
    EscalateRequest, InboxEntry, ReassignRequest, Task, TransitionRequest, TriageEntry,
};
use serde::Deserialize;
use services::auth::policy::Permission;
use services::tasks::InboxScope;

use super::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody};
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

/// `POST /api/v1/tasks/{id}/end-logic/retry/`: sends a failed end-logic call (AMS, BMS)
/// again, now. 409 if it has not failed.
#[utoipa::path(post, path = "/api/v1/tasks/{id}/end-logic/retry/", tag = "tasks", params(("id" = i64, Path)),
    responses((status = 200, body = Task), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn retry_end_logic(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Task>, ApiError> {
    caller.user_may(Permission::WorkTasks)?;
    let now = state.services.clock().now();
    Ok(Json(
        services::tasks::retry_end_logic(&state.services, &caller.0, id, now).await?,
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
