//! `/api/v1/auth/…`: tokens for API clients, and who they are.

use axum::Json;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::IntoResponse;
use domain::{AppError, SessionUser};
use serde::Deserialize;
use serde_json::json;

use super::{ApiError, ApiJson, Caller};
use crate::http::AppState;

/// The seeds accept `username` or `email` for the same thing.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[serde(alias = "username")]
    email: Option<String>,
    password: Option<String>,
}

/// `POST /api/v1/auth/token/`: e-mail (or `username`) and password in, an access token out
/// (also set as the `access_token` cookie).
pub async fn token(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let email = body
        .email
        .ok_or_else(|| AppError::invalid_field("email", "is required"))?;
    let password = body
        .password
        .ok_or_else(|| AppError::invalid_field("password", "is required"))?;
    let auth = state.services.auth();
    let signed_in = auth.sign_in(&email, &password).await?;
    let mut headers = HeaderMap::new();
    if let Ok(cookie) = HeaderValue::from_str(&auth.access_cookie(&signed_in.access_token)) {
        headers.insert(SET_COOKIE, cookie);
    }
    let body = json!({
        "access": signed_in.access_token,
        "token_type": "Bearer",
        "expires_in": signed_in.expires_in,
        "user": signed_in.user,
    });
    Ok((headers, Json(body)))
}

/// `GET /api/v1/auth/me/`: the caller.
pub async fn me(Caller(user): Caller) -> Json<SessionUser> {
    Json(user)
}
