//! `/api/v1/audit/`: the audit log (administrators).

use axum::Json;
use axum::extract::{OriginalUri, State};
use domain::audit::{AuditEvent, AuditQuery};
use serde::Serialize;

use super::{ApiError, ApiQuery, Caller, ErrorBody, Paged};
use crate::http::AppState;

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
