//! `/api/v1/tickets/{id}/attachments/` (list, upload as multipart) and
//! `/api/v1/attachments/{id}/` (download). Whoever may see the ticket may use them.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::tickets::Attachment;
use domain::{AppError, ErrorKind};

use super::{ApiError, ApiPath, Caller, ErrorBody};
use crate::http::AppState;

/// `GET /api/v1/tickets/{id}/attachments/`
#[utoipa::path(get, path = "/api/v1/tickets/{id}/attachments/", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Attachment>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<Vec<Attachment>>, ApiError> {
    Ok(Json(
        services::attachments::list(state.services.db(), &caller.0, id).await?,
    ))
}

/// `POST /api/v1/tickets/{id}/attachments/`: `multipart/form-data` with one or more `file`
/// parts. Each file at most the configured size (413 beyond), at most the configured number
/// per ticket (409 beyond). The stored type comes from the bytes, not from the upload.
#[utoipa::path(post, path = "/api/v1/tickets/{id}/attachments/", tag = "tickets", params(("id" = i64, Path)),
    request_body(content_type = "multipart/form-data", description = "one or more `file` parts"),
    responses((status = 201, body = Vec<Attachment>), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Vec<Attachment>>), ApiError> {
    // Who may attach here is settled before the upload is read.
    services::attachments::may_attach(state.services.db(), &caller.0, id).await?;
    let mut multipart = multipart_of(multipart)?;
    let settings = state.services.attachment_settings();
    let mut stored = Vec::new();
    while let Some((name, bytes)) = next_file(&mut multipart).await? {
        stored.push(
            services::attachments::attach(
                state.services.db(),
                settings,
                &caller.0,
                id,
                &name,
                &bytes,
            )
            .await?,
        );
    }
    if stored.is_empty() {
        return Err(AppError::invalid_field("file", "send at least one part named 'file'").into());
    }
    Ok((StatusCode::CREATED, Json(stored)))
}

/// The multipart body, or a 400 saying how to send files.
pub(super) fn multipart_of(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Multipart, ApiError> {
    multipart.map_err(|rejection| {
        ApiError(AppError::bad_request(format!(
            "Send the files as multipart/form-data: {}",
            rejection.body_text()
        )))
    })
}

/// The next part named `file` (its name as uploaded and its bytes); other parts are skipped.
pub(super) async fn next_file(
    multipart: &mut Multipart,
) -> Result<Option<(String, axum::body::Bytes)>, ApiError> {
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(None),
            Err(e) => return Err(multipart_error(e.status(), &e.body_text())),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_owned();
        let bytes = field
            .bytes()
            .await
            .map_err(|e| multipart_error(e.status(), &e.body_text()))?;
        return Ok(Some((name, bytes)));
    }
}

fn multipart_error(status: StatusCode, text: &str) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError(AppError::new(
            ErrorKind::PayloadTooLarge,
            "The upload is larger than the attachment limit.",
        ))
    } else {
        ApiError(AppError::bad_request(format!(
            "The upload is not valid multipart: {text}"
        )))
    }
}

/// `GET /api/v1/attachments/{id}/`: the file, with its type; shown inline only if it is an
/// image or a PDF, downloaded otherwise; never sniffed or scripted by the browser.
#[utoipa::path(get, path = "/api/v1/attachments/{id}/", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, description = "the file"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, ApiError> {
    let (attachment, path) = services::attachments::open(
        state.services.db(),
        state.services.attachment_settings(),
        &caller.0,
        id,
    )
    .await?;
    let bytes = tokio::fs::read(&path).await.map_err(|e| {
        tracing::error!(error = %e, path = %path.display(), "attachment content missing");
        ApiError(AppError::not_found("Attachment content"))
    })?;
    let inline = attachment.is_image() || attachment.content_type == "application/pdf";
    let disposition = format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        ascii_fallback(&attachment.file_name),
        percent_encode(&attachment.file_name)
    );
    let mut response = Body::from(bytes).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, attachment.content_type.as_str()),
        (header::CONTENT_DISPOSITION, disposition.as_str()),
        (header::CACHE_CONTROL, "private, max-age=3600"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; sandbox",
        ),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    Ok(response)
}

/// The file name for old clients: ASCII only, anything else as `_`.
fn ascii_fallback(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// RFC 5987 encoding of a file name.
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
