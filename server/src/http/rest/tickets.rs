//! `/api/v1/tickets/…`: listing, searching, submitting, reading and changing tickets, and
//! `POST /api/v1/tickets/send/` for other systems. Visibility is the services' one rule.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use domain::tickets::{
    NewTicket, ReopenRequest, StatusChange, Ticket, TicketEvent, TicketQuery, TicketReceipt,
    TicketSource, TicketSummary, TicketUpdate,
};
use serde::Deserialize;
use services::tickets::ExternalTicket;

use super::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody, Paged};
use crate::http::AppState;

/// The ticket list's parameters (SPEC.md section 3), for the OpenAPI document; they are read
/// by [`TicketQuery::from_pairs`], the same reader the list pages use. Lists of values are
/// comma-separated (`status=new,open`).
#[derive(Debug, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct TicketListParams {
    /// Page number, from 1.
    page: Option<i64>,
    /// Results per page, 1 to 100 (default 25).
    page_size: Option<i64>,
    /// `created_at`, `updated_at`, `priority` (`-` in front for descending) or `relevance`;
    /// default: best match first when searching, newest first otherwise.
    ordering: Option<String>,
    /// Full-text search over subject and description (words, as you type), or a ticket
    /// number (`TKT-000123`).
    q: Option<String>,
    /// `new`, `open`, `in_progress`, `on_hold`, `resolved`, `closed`; comma-separated.
    status: Option<String>,
    /// `low`, `medium`, `high`, `urgent`; comma-separated.
    priority: Option<String>,
    /// A category or sub-category id.
    category: Option<i64>,
    department: Option<i64>,
    /// A requester's user id.
    requester: Option<i64>,
    /// An assignee's user id; `0` for unassigned tickets.
    assignee: Option<i64>,
    external_ref: Option<String>,
}

/// `GET /api/v1/tickets/`: the tickets the caller may see, filtered, searched, ordered, paged.
#[utoipa::path(get, path = "/api/v1/tickets/", tag = "tickets", params(TicketListParams),
    responses((status = 200, body = inline(Object), description = "`{count, next, previous, results: [TicketSummary]}`"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    uri: Uri,
    ApiQuery(pairs): ApiQuery<Vec<(String, String)>>,
) -> Result<Json<Paged<TicketSummary>>, ApiError> {
    let query = TicketQuery::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    let (page, size) = query.paging();
    let found = services::tickets::list(state.services.db(), &caller.0, &query).await?;
    Ok(Json(Paged::new(
        found,
        &uri,
        i64::from(page),
        i64::from(size),
    )))
}

/// `POST /api/v1/tickets/`: submit a ticket as the signed-in user.
#[utoipa::path(post, path = "/api/v1/tickets/", tag = "tickets", request_body = NewTicket,
    responses((status = 201, body = Ticket), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTicket>,
) -> Result<(StatusCode, Json<Ticket>), ApiError> {
    let ticket =
        services::tickets::create(&state.services, &caller.0, body, TicketSource::Api).await?;
    Ok((StatusCode::CREATED, Json(ticket)))
}

/// The body of `POST /api/v1/tickets/send/`: the seed's `{"ticket_data": {...}}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SendRequest {
    #[schema(value_type = Object)]
    ticket_data: ExternalTicket,
}

/// `POST /api/v1/tickets/send/`: a ticket from another system (API key with
/// `tickets:submit`, or an admin). The same `ticket_id` from the same sender again answers the
/// same receipt with 200. Names TTS does not know are kept and the ticket waits in triage.
#[utoipa::path(post, path = "/api/v1/tickets/send/", tag = "tickets", request_body = SendRequest,
    responses((status = 201, body = TicketReceipt, description = "created"),
        (status = 200, body = TicketReceipt, description = "already received from this sender: the same ticket"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn send(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SendRequest>,
) -> Result<(StatusCode, Json<TicketReceipt>), ApiError> {
    let source = match caller.0 {
        services::auth::policy::Principal::ApiKey(_) => TicketSource::Hdts,
        services::auth::policy::Principal::User(_) => TicketSource::Api,
    };
    let (receipt, created) =
        services::tickets::submit_external(&state.services, &caller.0, body.ticket_data, source)
            .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(receipt)))
}

/// `GET /api/v1/tickets/{id}/`: 404 for a ticket that does not exist or that the caller may
/// not see.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Ticket), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(
        services::tickets::get(state.services.db(), &caller.0, id).await?,
    ))
}

/// `PATCH /api/v1/tickets/{id}/`: change fields or the assignee (agents and admins).
#[utoipa::path(patch, path = "/api/v1/tickets/{id}/", tag = "tickets", params(("id" = i64, Path)),
    request_body = TicketUpdate,
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TicketUpdate>,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(
        services::tickets::update(state.services.db(), &caller.0, id, body).await?,
    ))
}

/// `POST /api/v1/tickets/{id}/status/`: move the ticket to another status, with a note.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/status/", tag = "tickets", params(("id" = i64, Path)),
    request_body = StatusChange,
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn change_status(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<StatusChange>,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(
        services::tickets::change_status(state.services.db(), &caller.0, id, body).await?,
    ))
}

/// `POST /api/v1/tickets/{id}/reopen/`: the requester's "still broken" on a resolved ticket;
/// its workflow resumes.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/reopen/", tag = "tickets", params(("id" = i64, Path)),
    request_body = ReopenRequest,
    responses((status = 200, body = Ticket), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<ReopenRequest>,
) -> Result<Json<Ticket>, ApiError> {
    Ok(Json(
        services::tickets::reopen(state.services.db(), &caller.0, id, body).await?,
    ))
}

/// `GET /api/v1/tickets/{id}/history/`: what happened to the ticket, oldest first.
#[utoipa::path(get, path = "/api/v1/tickets/{id}/history/", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<TicketEvent>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<TicketEvent>>, ApiError> {
    Ok(Json(
        services::tickets::history(state.services.db(), &caller.0, id).await?,
    ))
}
