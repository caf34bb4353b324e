//! `/api/v1/tickets/{id}/comments/`, `/api/v1/comments/{id}/` (read, edit, delete),
//! `/rate/`, `/attachments/` and `/history/`. Whoever may see the ticket may read and write
//! its comments; internal notes are for agents and admins only.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, OriginalUri, State};
use axum::http::StatusCode;
use domain::AppError;
use domain::comments::{Comment, CommentRevision, NewComment, Rating};
use domain::tickets::Attachment;
use serde::{Deserialize, Serialize};
use services::auth::policy::Permission;

use super::attachments::{multipart_of, next_file};
use super::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody, ListParams, Paged};
use crate::http::AppState;

/// A page of comments (for the OpenAPI document).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CommentPage {
    pub count: i64,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<Comment>,
}

/// `GET /api/v1/tickets/{id}/comments/`: oldest first; `page_size` up to 100 (default 25).
#[utoipa::path(get, path = "/api/v1/tickets/{id}/comments/", tag = "comments",
    params(("id" = i64, Path), ListParams),
    responses((status = 200, body = CommentPage), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    OriginalUri(uri): OriginalUri,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<Paged<Comment>>, ApiError> {
    let (page, size) = params.paging()?;
    let all = services::comments::list(&state.services, &caller.0, id).await?;
    let count = all.len() as i64;
    let results = all
        .into_iter()
        .skip(usize::try_from((page - 1) * size).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(0))
        .collect();
    Ok(Json(Paged::new(
        domain::Page {
            count,
            count_capped: false,
            results,
        },
        &uri,
        page,
        size,
    )))
}

/// `POST /api/v1/tickets/{id}/comments/`: a comment, or a reply with `parent_id`; agents and
/// admins may set `is_internal`. `@handle` (the part of an e-mail address before the `@`)
/// mentions and notifies a user who may see the ticket.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/comments/", tag = "comments",
    params(("id" = i64, Path)), request_body = NewComment,
    responses((status = 201, body = Comment), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<NewComment>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    let comment = services::comments::post(&state.services, &caller.0, id, body).await?;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// `GET /api/v1/comments/{id}/`
#[utoipa::path(get, path = "/api/v1/comments/{id}/", tag = "comments", params(("id" = i64, Path)),
    responses((status = 200, body = Comment), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Comment>, ApiError> {
    Ok(Json(
        services::comments::get(&state.services, &caller.0, id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentEdit {
    text: String,
}

/// `PATCH /api/v1/comments/{id}/`: the author changes the text; the earlier one is kept.
#[utoipa::path(patch, path = "/api/v1/comments/{id}/", tag = "comments", params(("id" = i64, Path)),
    request_body = CommentEdit,
    responses((status = 200, body = Comment), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<CommentEdit>,
) -> Result<Json<Comment>, ApiError> {
    Ok(Json(
        services::comments::edit(&state.services, &caller.0, id, &body.text).await?,
    ))
}

/// `DELETE /api/v1/comments/{id}/`: by its author or an admin; the thread keeps a "deleted"
/// placeholder and the history keeps the text.
#[utoipa::path(delete, path = "/api/v1/comments/{id}/", tag = "comments", params(("id" = i64, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    services::comments::delete(&state.services, &caller.0, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateRequest {
    /// `up`, `down`, or `none` to take one's rating back.
    rating: Rating,
}

/// `POST /api/v1/comments/{id}/rate/`: one rating per user, changeable.
#[utoipa::path(post, path = "/api/v1/comments/{id}/rate/", tag = "comments", params(("id" = i64, Path)),
    request_body = RateRequest,
    responses((status = 200, body = Comment), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rate(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<RateRequest>,
) -> Result<Json<Comment>, ApiError> {
    Ok(Json(
        services::comments::rate(&state.services, &caller.0, id, body.rating).await?,
    ))
}

/// `GET /api/v1/comments/{id}/attachments/`
#[utoipa::path(get, path = "/api/v1/comments/{id}/attachments/", tag = "comments", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Attachment>), (status = 404, body = ErrorBody)))]
pub async fn attachments(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<Attachment>>, ApiError> {
    Ok(Json(
        services::comments::get(&state.services, &caller.0, id)
            .await?
            .attachments,
    ))
}

/// `POST /api/v1/comments/{id}/attachments/`: `multipart/form-data` with `file` parts, by the
/// comment's author; the ticket attachment limits apply per comment (413, 409).
#[utoipa::path(post, path = "/api/v1/comments/{id}/attachments/", tag = "comments", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "one or more `file` parts"),
    responses((status = 201, body = Comment), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn attach(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Comment>), ApiError> {
    // Who may, before what was sent: an API key learns it may not, not that its body is wrong.
    caller.user_may(Permission::SubmitTickets)?;
    let mut multipart = multipart_of(multipart)?;
    let mut comment = None;
    while let Some((name, bytes)) = next_file(&mut multipart).await? {
        comment =
            Some(services::comments::attach(&state.services, &caller.0, id, &name, &bytes).await?);
    }
    let comment = comment
        .ok_or_else(|| AppError::invalid_field("file", "send at least one part named 'file'"))?;
    Ok((StatusCode::CREATED, Json(comment)))
}

/// `GET /api/v1/comments/{id}/history/`: the earlier texts, oldest first.
#[utoipa::path(get, path = "/api/v1/comments/{id}/history/", tag = "comments", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<CommentRevision>), (status = 404, body = ErrorBody)))]
pub async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<CommentRevision>>, ApiError> {
    Ok(Json(
        services::comments::revisions(&state.services, &caller.0, id).await?,
    ))
}
