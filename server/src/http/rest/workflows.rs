//! `/api/v1/workflows/…`, `/api/v1/steps/…`, `/api/v1/transitions/…`: designing workflows
//! (admins) and reading them (agents). The draft graph is edited whole (`PUT …/graph/`, the
//! editor) or a step or transition at a time; `deploy` freezes it into a version.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use domain::workflow::{
    GraphSave, Position, Step, StepId, Transition, Workflow, WorkflowInput, WorkflowSummary,
    WorkflowVersion,
};
use serde::{Deserialize, Serialize};
use services::auth::policy::Permission;

use super::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody};
use crate::http::AppState;

/// `GET /api/v1/workflows/`
#[utoipa::path(get, path = "/api/v1/workflows/", tag = "workflows",
    responses((status = 200, body = Vec<WorkflowSummary>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<WorkflowSummary>>, ApiError> {
    Ok(Json(
        services::workflows::list(state.services.db(), &caller.0).await?,
    ))
}

/// `POST /api/v1/workflows/`: a new draft (settings only; add steps next).
#[utoipa::path(post, path = "/api/v1/workflows/", tag = "workflows", request_body = WorkflowInput,
    responses((status = 201, body = Workflow), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<WorkflowInput>,
) -> Result<(StatusCode, Json<Workflow>), ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    let workflow = services::workflows::create(state.services.db(), &caller.0, body).await?;
    Ok((StatusCode::CREATED, Json(workflow)))
}

/// `GET /api/v1/workflows/{id}/`: settings, draft graph, problems.
#[utoipa::path(get, path = "/api/v1/workflows/{id}/", tag = "workflows", params(("id" = i64, Path)),
    responses((status = 200, body = Workflow), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Workflow>, ApiError> {
    Ok(Json(
        services::workflows::get(state.services.db(), &caller.0, id).await?,
    ))
}

/// `PATCH /api/v1/workflows/{id}/`: the draft's settings (absent fields stay).
#[utoipa::path(patch, path = "/api/v1/workflows/{id}/", tag = "workflows", params(("id" = i64, Path)),
    request_body = WorkflowInput,
    responses((status = 200, body = Workflow), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<WorkflowInput>,
) -> Result<Json<Workflow>, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    Ok(Json(
        services::workflows::update(state.services.db(), &caller.0, id, body).await?,
    ))
}

/// `DELETE /api/v1/workflows/{id}/`: only a workflow never deployed (409 otherwise: pause it).
#[utoipa::path(delete, path = "/api/v1/workflows/{id}/", tag = "workflows", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    services::workflows::delete(state.services.db(), &caller.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/workflows/{id}/graph/`: saves the whole draft graph. New steps and
/// transitions carry ids the draft does not hold (negative ones); `revision` must be the one
/// loaded (409 otherwise).
#[utoipa::path(put, path = "/api/v1/workflows/{id}/graph/", tag = "workflows", params(("id" = i64, Path)),
    request_body = GraphSave,
    responses((status = 200, body = Workflow), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn save_graph(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<GraphSave>,
) -> Result<Json<Workflow>, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    Ok(Json(
        services::workflows::save_graph(state.services.db(), &caller.0, id, body).await?,
    ))
}

/// `POST /api/v1/workflows/{id}/deploy/`: freezes the draft into a new version; 422 with the
/// problems if it is not valid, or if another deployed workflow matches the same tickets.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/deploy/", tag = "workflows", params(("id" = i64, Path)),
    responses((status = 201, body = WorkflowVersion), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn deploy(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<(StatusCode, Json<WorkflowVersion>), ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    let version = services::workflows::deploy(state.services.db(), &caller.0, id, None).await?;
    Ok((StatusCode::CREATED, Json(version)))
}

/// `POST /api/v1/workflows/{id}/pause/`: matches no new ticket; tickets on it carry on.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/pause/", tag = "workflows", params(("id" = i64, Path)),
    responses((status = 200, body = Workflow), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Workflow>, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    Ok(Json(
        services::workflows::set_paused(state.services.db(), &caller.0, id, true).await?,
    ))
}

/// `POST /api/v1/workflows/{id}/resume/`: a paused workflow takes new tickets again.
#[utoipa::path(post, path = "/api/v1/workflows/{id}/resume/", tag = "workflows", params(("id" = i64, Path)),
    responses((status = 200, body = Workflow), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Workflow>, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    Ok(Json(
        services::workflows::set_paused(state.services.db(), &caller.0, id, false).await?,
    ))
}

/// `GET /api/v1/workflows/{id}/versions/`: newest first.
#[utoipa::path(get, path = "/api/v1/workflows/{id}/versions/", tag = "workflows", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<WorkflowVersion>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn versions(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<WorkflowVersion>>, ApiError> {
    Ok(Json(
        services::workflows::versions(state.services.db(), &caller.0, id).await?,
    ))
}

/// `GET /api/v1/workflows/{id}/versions/{number}/`
#[utoipa::path(get, path = "/api/v1/workflows/{id}/versions/{number}/", tag = "workflows",
    params(("id" = i64, Path), ("number" = i64, Path)),
    responses((status = 200, body = WorkflowVersion), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn version(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, number)): ApiPath<(i64, i64)>,
) -> Result<Json<WorkflowVersion>, ApiError> {
    Ok(Json(
        services::workflows::version(state.services.db(), &caller.0, id, number).await?,
    ))
}

// ------------------------------------------------------------------ steps and transitions

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GraphOf {
    /// The workflow whose draft to list (required).
    pub workflow: Option<i64>,
}

impl GraphOf {
    fn workflow(&self) -> Result<i64, ApiError> {
        self.workflow
            .ok_or_else(|| domain::AppError::invalid_field("workflow", "is required").into())
    }
}

/// A step of a draft, with its workflow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StepOut {
    pub workflow_id: i64,
    #[serde(flatten)]
    pub step: Step,
}

/// A transition of a draft, with its workflow.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TransitionOut {
    pub workflow_id: i64,
    #[serde(flatten)]
    pub transition: Transition,
}

/// `GET /api/v1/steps/?workflow={id}`: the draft's steps.
#[utoipa::path(get, path = "/api/v1/steps/", tag = "workflows", params(GraphOf),
    responses((status = 200, body = Vec<StepOut>), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn steps(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(of): ApiQuery<GraphOf>,
) -> Result<Json<Vec<StepOut>>, ApiError> {
    caller.may(Permission::ViewWorkflows)?;
    let workflow = services::workflows::get(state.services.db(), &caller.0, of.workflow()?).await?;
    Ok(Json(
        workflow
            .graph
            .steps
            .into_iter()
            .map(|step| StepOut {
                workflow_id: workflow.id,
                step,
            })
            .collect(),
    ))
}

/// A step to add or the new values of one.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepIn {
    /// The workflow to add the step to (ignored when changing a step).
    #[serde(default)]
    pub workflow_id: Option<i64>,
    pub name: String,
    #[serde(default)]
    pub instructions: String,
    #[serde(default)]
    pub role: Option<i64>,
    #[serde(default)]
    pub escalation_role: Option<i64>,
    #[serde(default = "one")]
    pub weight: i64,
    #[serde(default)]
    pub is_start: bool,
    #[serde(default)]
    pub is_end: bool,
    #[serde(default)]
    pub position: Position,
}

fn one() -> i64 {
    1
}

impl StepIn {
    fn step(self) -> Step {
        Step {
            id: StepId(0),
            name: self.name,
            instructions: self.instructions,
            role: self.role,
            escalation_role: self.escalation_role,
            weight: self.weight,
            is_start: self.is_start,
            is_end: self.is_end,
            position: self.position,
        }
    }
}

/// `POST /api/v1/steps/`: adds a step to a draft; the answer is the workflow.
#[utoipa::path(post, path = "/api/v1/steps/", tag = "workflows", request_body = StepIn,
    responses((status = 201, body = Workflow), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_step(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<StepIn>,
) -> Result<(StatusCode, Json<Workflow>), ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    let workflow_id = body
        .workflow_id
        .ok_or_else(|| domain::AppError::invalid_field("workflow_id", "is required"))?;
    let workflow =
        services::workflows::add_step(state.services.db(), &caller.0, workflow_id, body.step())
            .await?;
    Ok((StatusCode::CREATED, Json(workflow)))
}

/// `PUT /api/v1/steps/{id}/`: replaces a draft step (its id stays).
#[utoipa::path(put, path = "/api/v1/steps/{id}/", tag = "workflows", params(("id" = i64, Path)),
    request_body = StepIn,
    responses((status = 200, body = Workflow), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_step(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StepIn>,
) -> Result<Json<Workflow>, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    Ok(Json(
        services::workflows::update_step(state.services.db(), &caller.0, id, body.step()).await?,
    ))
}

/// `DELETE /api/v1/steps/{id}/`: removes a draft step and the transitions touching it.
#[utoipa::path(delete, path = "/api/v1/steps/{id}/", tag = "workflows", params(("id" = i64, Path)),
    responses((status = 200, body = Workflow), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_step(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Workflow>, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    Ok(Json(
        services::workflows::delete_step(state.services.db(), &caller.0, id).await?,
    ))
}

/// `GET /api/v1/transitions/?workflow={id}`: the draft's transitions.
#[utoipa::path(get, path = "/api/v1/transitions/", tag = "workflows", params(GraphOf),
    responses((status = 200, body = Vec<TransitionOut>), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn transitions(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(of): ApiQuery<GraphOf>,
) -> Result<Json<Vec<TransitionOut>>, ApiError> {
    caller.may(Permission::ViewWorkflows)?;
    let workflow = services::workflows::get(state.services.db(), &caller.0, of.workflow()?).await?;
    Ok(Json(
        workflow
            .graph
            .transitions
            .into_iter()
            .map(|transition| TransitionOut {
                workflow_id: workflow.id,
                transition,
            })
            .collect(),
    ))
}

/// A transition to add, or the new values of one: the action leading from one step to another
/// of the same draft.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionIn {
    pub from: i64,
    pub to: i64,
    pub action: String,
}

/// `POST /api/v1/transitions/`
#[utoipa::path(post, path = "/api/v1/transitions/", tag = "workflows", request_body = TransitionIn,
    responses((status = 201, body = Workflow), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn add_transition(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<TransitionIn>,
) -> Result<(StatusCode, Json<Workflow>), ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    let workflow = services::workflows::add_transition(
        state.services.db(),
        &caller.0,
        body.from,
        body.to,
        &body.action,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(workflow)))
}

/// `PUT /api/v1/transitions/{id}/`
#[utoipa::path(put, path = "/api/v1/transitions/{id}/", tag = "workflows", params(("id" = i64, Path)),
    request_body = TransitionIn,
    responses((status = 200, body = Workflow), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update_transition(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TransitionIn>,
) -> Result<Json<Workflow>, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    Ok(Json(
        services::workflows::update_transition(
            state.services.db(),
            &caller.0,
            id,
            body.from,
            body.to,
            &body.action,
        )
        .await?,
    ))
}

/// `DELETE /api/v1/transitions/{id}/`
#[utoipa::path(delete, path = "/api/v1/transitions/{id}/", tag = "workflows", params(("id" = i64, Path)),
    responses((status = 200, body = Workflow), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_transition(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Workflow>, ApiError> {
    caller.user_may(Permission::ManageWorkflows)?;
    Ok(Json(
        services::workflows::delete_transition(state.services.db(), &caller.0, id).await?,
    ))
}
