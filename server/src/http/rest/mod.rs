//! The REST API under `/api/v1`: JSON in, JSON out, errors as
//! `{"error": {"code", "message", "details"}}` with the status of SPEC.md section 3.
//!
//! Handlers are thin: parse ([`ApiJson`], [`ApiQuery`]), identify the caller ([`Caller`]),
//! ask the one authorization rule ([`Caller::may`]), call a service.

pub mod api_keys;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod comments;
pub mod helpdesk;
pub mod notifications;
pub mod openapi;
pub mod roles;
pub mod tasks;
pub mod tickets;
pub mod users;
pub mod workflows;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use domain::{AppError, ErrorKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;
use services::auth::policy::{self, Permission, Principal, UserPrincipal};

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
        error_response(&self.0)
    }
}

/// The JSON error envelope for `err`.
pub fn error_response(err: &AppError) -> Response {
    let status = axum::http::StatusCode::from_u16(err.status())
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let body = json!({
        "error": {
            "code": err.kind.code(),
            "message": err.message,
            "details": err.details,
        }
    });
    (status, Json(body)).into_response()
}

/// The error envelope, for the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `bad_request`, `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `payload_too_large`, `unprocessable`, `rate_limited`, `unavailable`, `internal`.
    code: String,
    message: String,
    /// Field names and what is wrong with each, for validation errors.
    details: std::collections::BTreeMap<String, String>,
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

/// Query parameters whose failures become the JSON error envelope.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError(query_rejection(&rejection))),
        }
    }
}

fn query_rejection(rejection: &QueryRejection) -> AppError {
    let text = rejection.body_text();
    let problem = text
        .split_once(": ")
        .map_or(text.as_str(), |(_, p)| p)
        .to_owned();
    AppError::bad_request(format!("The query parameters are not valid: {problem}"))
}

/// Path parameters whose failures (`/users/abc/`) become a 400 envelope.
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(ApiError(AppError::bad_request(format!(
                "The address is not valid: {}",
                rejection.body_text()
            )))),
        }
    }
}

/// The authenticated caller of a REST endpoint (401 without valid credentials). Authentication
/// is the same as for pages and server functions: [`services::AuthService::authenticate`].
pub struct Caller(pub Principal);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match state.services.auth().authenticate(&parts.headers).await? {
            Some(principal) => Ok(Caller(principal)),
            None => Err(ApiError(AppError::unauthorized(
                "Authentication required: send a Bearer token, an X-API-Key, or sign in.",
            ))),
        }
    }
}

impl Caller {
    /// The caller, if they may do `permission` (403 otherwise).
    pub fn may(&self, permission: Permission) -> Result<&Principal, ApiError> {
        policy::authorize(&self.0, permission)?;
        Ok(&self.0)
    }

    /// The signed-in user, if they may do `permission`; API keys are refused.
    pub fn user_may(&self, permission: Permission) -> Result<&UserPrincipal, ApiError> {
        self.may(permission)?;
        self.0.user().ok_or_else(|| {
            ApiError(AppError::new(
                ErrorKind::Forbidden,
                "API keys cannot do this; sign in as a user.",
            ))
        })
    }
}

/// `page`, `page_size` (≤ 100), `ordering` and the text filter `q` of list endpoints.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Page number, from 1.
    pub page: Option<i64>,
    /// Results per page, 1 to 100 (default 25).
    pub page_size: Option<i64>,
    /// A field to sort by; `-` in front for descending.
    pub ordering: Option<String>,
    /// Text to search for.
    pub q: Option<String>,
}

impl ListParams {
    /// The page and page size, checked.
    pub fn paging(&self) -> Result<(i64, i64), ApiError> {
        let page = self.page.unwrap_or(1);
        let page_size = self.page_size.unwrap_or(25);
        if page < 1 {
            return Err(AppError::invalid_field("page", "must be 1 or more").into());
        }
        if !(1..=100).contains(&page_size) {
            return Err(AppError::invalid_field("page_size", "must be between 1 and 100").into());
        }
        Ok((page, page_size))
    }
}

/// A page of results in the shape of SPEC.md section 3.
#[derive(Serialize)]
pub struct Paged<T: Serialize> {
    pub count: i64,
    /// Present (true) when `count` is a lower bound (see `domain::COUNT_AHEAD`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub count_capped: bool,
    pub next: Option<String>,
    pub previous: Option<String>,
    pub results: Vec<T>,
}

impl<T: Serialize> Paged<T> {
    /// Wraps a page, linking the neighbouring pages by the request's own path and query.
    pub fn new(
        page: domain::users::Page<T>,
        uri: &axum::http::Uri,
        number: i64,
        size: i64,
    ) -> Self {
        let link = |target: i64| {
            let mut pairs: Vec<(String, String)> = url_pairs(uri.query().unwrap_or_default())
                .into_iter()
                .filter(|(k, _)| k != "page")
                .collect();
            pairs.push(("page".into(), target.to_string()));
            let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{}?{}", uri.path(), query.join("&"))
        };
        let last = (page.count + size - 1) / size;
        Paged {
            count: page.count,
            count_capped: page.count_capped,
            next: (number < last).then(|| link(number + 1)),
            previous: (number > 1).then(|| link(number - 1)),
            results: page.results,
        }
    }
}

fn url_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (pair.to_owned(), String::new()),
        })
        .collect()
}

/// Any path under `/api/v1` that does not exist.
pub async fn not_found() -> ApiError {
    ApiError(AppError::not_found("API endpoint"))
}
