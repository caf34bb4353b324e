//! The REST API under `/api/v1`: JSON in, JSON out, errors as
//! `{"error": {"code", "message", "details"}}` with the status of SPEC.md section 3.

pub mod auth;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use domain::{AppError, ErrorKind, SessionUser};
use serde_json::json;

use super::AppState;

/// An error as the REST API answers it.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError(err)
    }
}

impl From<services::Error> for ApiError {
    fn from(err: services::Error) -> Self {
        ApiError(err.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = axum::http::StatusCode::from_u16(self.0.status())
            .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        let body = json!({
            "error": {
                "code": self.0.kind.code(),
                "message": self.0.message,
                "details": self.0.details,
            }
        });
        (status, Json(body)).into_response()
    }
}

/// A JSON body whose every failure (not JSON, wrong shape, too large, wrong content type)
/// becomes the JSON error envelope instead of axum's plain-text rejection.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(ApiError(json_rejection(&rejection))),
        }
    }
}

fn json_rejection(rejection: &JsonRejection) -> AppError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => {
            AppError::bad_request("Send the body as JSON with Content-Type: application/json.")
        }
        JsonRejection::JsonSyntaxError(_) => AppError::bad_request(format!(
            "The body is not valid JSON: {}",
            rejection
                .body_text()
                .rsplit(": ")
                .next()
                .unwrap_or_default()
        )),
        JsonRejection::JsonDataError(_) => {
            // serde names the field and what was wrong with it.
            let text = rejection.body_text();
            let problem = text
                .split_once(": ")
                .map_or(text.as_str(), |(_, p)| p)
                .to_owned();
            AppError::bad_request(format!(
                "The body does not have the expected fields: {problem}"
            ))
        }
        other if other.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::new(ErrorKind::PayloadTooLarge, "The request body is too large.")
        }
        other => AppError::bad_request(other.body_text()),
    }
}

/// The signed-in caller of a REST endpoint (401 without valid credentials). Authentication is
/// the same as for pages and server functions: [`services::AuthService::authenticate`].
pub struct Caller(pub SessionUser);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match state.services.auth().authenticate(&parts.headers).await? {
            Some(user) => Ok(Caller(user)),
            None => Err(ApiError(AppError::unauthorized(
                "Authentication required: send a Bearer token or sign in.",
            ))),
        }
    }
}

/// Any path under `/api/v1` that does not exist.
pub async fn not_found() -> ApiError {
    ApiError(AppError::not_found("API endpoint"))
}
