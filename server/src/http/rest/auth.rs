//! `/api/v1/auth/…`: tokens, the second factor, sessions, passwords, and who the caller is.

use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use domain::account::{ActiveSession, SecondFactorMethod, SecondFactorStatus, TotpEnrolment};
use domain::{AppError, SessionUser};
use serde::{Deserialize, Serialize};
use services::auth::policy::Permission;
use services::auth::{ClientInfo, ClientIp, IssuedTokens, REFRESH_COOKIE, SignInOutcome};

use super::{ApiError, ApiJson, ApiPath, Caller, ErrorBody};
use crate::http::AppState;

fn client(headers: &HeaderMap, ip: Option<Extension<ClientIp>>) -> ClientInfo {
    services::auth::client_info(headers, ip.as_ref().map(|Extension(ip)| ip))
}

fn with_cookies(cookies: Vec<String>, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// `username` is the seeds' name for the same field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    #[serde(alias = "username")]
    email: Option<String>,
    password: Option<String>,
}

/// A completed sign-in.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The access token; absent when the tokens travel in HTTP-only cookies only (a browser
    /// refreshing with its cookie: script must not read what the cookie hides).
    #[serde(skip_serializing_if = "Option::is_none")]
    access: Option<String>,
    /// The new refresh token; absent when a refresh raced another one and the current refresh
    /// token stays valid, and for a browser refreshing with its cookie.
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh: Option<String>,
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: i64,
    user: SessionUser,
}

impl TokenResponse {
    fn from(tokens: IssuedTokens) -> Self {
        TokenResponse {
            expires_in: tokens.access_expires_in(),
            access: Some(tokens.access),
            refresh: tokens.refresh,
            token_type: "Bearer",
            user: tokens.user,
        }
    }
}

/// The password was right; send the code to `/api/v1/auth/token/verify/` with the challenge.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SecondFactorResponse {
    second_factor_required: bool,
    challenge: String,
    method: SecondFactorMethod,
    expires_in: i64,
}

/// `POST /api/v1/auth/token/`: e-mail (or `username`) and password in; tokens out (also set as
/// cookies), or a second-factor challenge.
#[utoipa::path(post, path = "/api/v1/auth/token/", tag = "auth", request_body = TokenRequest,
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 202, description = "A second factor is needed", body = SecondFactorResponse),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "Locked or deactivated", body = ErrorBody),
        (status = 429, body = ErrorBody)))]
pub async fn token(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<Response, ApiError> {
    let email = body
        .email
        .ok_or_else(|| AppError::invalid_field("email", "is required"))?;
    let password = body
        .password
        .ok_or_else(|| AppError::invalid_field("password", "is required"))?;
    let auth = state.services.auth();
    match auth
        .sign_in(&email, &password, &client(&headers, ip))
        .await?
    {
        SignInOutcome::SignedIn(tokens) => {
            let cookies = auth.session_cookies(&tokens);
            Ok(with_cookies(cookies, Json(TokenResponse::from(*tokens))))
        }
        SignInOutcome::SecondFactorRequired(challenge) => Ok((
            StatusCode::ACCEPTED,
            Json(SecondFactorResponse {
                second_factor_required: true,
                challenge: challenge.token,
                method: challenge.method,
                expires_in: challenge.expires_in,
            }),
        )
            .into_response()),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    challenge: String,
    /// The authenticator app's or the e-mail's code, or a recovery code.
    code: String,
}

/// `POST /api/v1/auth/token/verify/`: completes a sign-in with its second factor.
#[utoipa::path(post, path = "/api/v1/auth/token/verify/", tag = "auth", request_body = VerifyRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: Option<Extension<ClientIp>>,
    ApiJson(body): ApiJson<VerifyRequest>,
) -> Result<Response, ApiError> {
    let auth = state.services.auth();
    let tokens = auth
        .complete_second_factor(&body.challenge, &body.code, &client(&headers, ip))
        .await?;
    let cookies = auth.session_cookies(&tokens);
    Ok(with_cookies(cookies, Json(TokenResponse::from(tokens))))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token; browsers may leave it out and send the `refresh_token` cookie.
    refresh: Option<String>,
}

/// `POST /api/v1/auth/token/refresh/`: a refresh token in, new access and refresh tokens out.
/// The refresh token rotates; presenting a replaced one ends the session.
#[utoipa::path(post, path = "/api/v1/auth/token/refresh/", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    // The body is optional (a browser sends only the cookie), so it is parsed by hand.
    let body: RefreshRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RefreshRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| AppError::bad_request(format!("The body is not valid: {e}")))?
    };
    let from_cookie = services::auth::cookie_value(&headers, REFRESH_COOKIE);
    let token = body
        .refresh
        .clone()
        .or(from_cookie.clone())
        .ok_or_else(|| AppError::invalid_field("refresh", "is required"))?;
    let auth = state.services.auth();
    let tokens = auth.refresh(&token).await?;
    // A browser refreshing with its cookie gets the new tokens as cookies only.
    if body.refresh.is_none() {
        let cookies = auth.session_cookies(&tokens);
        let mut answer = TokenResponse::from(tokens);
        answer.access = None;
        answer.refresh = None;
        return Ok(with_cookies(cookies, Json(answer)));
    }
    let cookies = if from_cookie.is_some() {
        auth.session_cookies(&tokens)
    } else {
        Vec::new()
    };
    Ok(with_cookies(cookies, Json(TokenResponse::from(tokens))))
}

/// `POST /api/v1/auth/logout/`: ends the caller's session (its access token is denied from now
/// on, its refresh token stops working) and clears the cookies.
#[utoipa::path(post, path = "/api/v1/auth/logout/", tag = "auth",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorBody)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    let auth = state.services.auth();
    auth.sign_out(user).await?;
    if let Some(refresh) = services::auth::cookie_value(&headers, REFRESH_COOKIE) {
        auth.sign_out_refresh(&refresh).await?;
    }
    Ok(with_cookies(
        auth.clear_session_cookies(),
        StatusCode::NO_CONTENT,
    ))
}

/// `GET /api/v1/auth/me/`: the signed-in user.
#[utoipa::path(get, path = "/api/v1/auth/me/", tag = "auth",
    responses((status = 200, body = SessionUser), (status = 401, body = ErrorBody)))]
pub async fn me(caller: Caller) -> Result<Json<SessionUser>, ApiError> {
    Ok(Json(caller.user_may(Permission::OwnAccount)?.user.clone()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    current_password: String,
    new_password: String,
}

/// `POST /api/v1/auth/password/`: changes the caller's password; their other sessions end.
#[utoipa::path(post, path = "/api/v1/auth/password/", tag = "auth", request_body = ChangePasswordRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChangePasswordRequest>,
) -> Result<StatusCode, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    state
        .services
        .auth()
        .change_password(user, &body.current_password, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    email: String,
}

/// `POST /api/v1/auth/password/reset/`: e-mails a reset link if the address has an account.
/// Always 202, so it reveals nothing about which addresses exist.
#[utoipa::path(post, path = "/api/v1/auth/password/reset/", tag = "auth", request_body = ResetRequest,
    responses((status = 202), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn request_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .auth()
        .request_password_reset(&body.email)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetConfirmRequest {
    token: String,
    new_password: String,
}

/// `POST /api/v1/auth/password/reset/confirm/`: sets a new password with a reset link's token.
#[utoipa::path(post, path = "/api/v1/auth/password/reset/confirm/", tag = "auth",
    request_body = ResetConfirmRequest,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn confirm_reset(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ResetConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .services
        .auth()
        .reset_password(&body.token, &body.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/auth/sessions/`: the caller's signed-in devices.
#[utoipa::path(get, path = "/api/v1/auth/sessions/", tag = "auth",
    responses((status = 200, body = Vec<ActiveSession>), (status = 401, body = ErrorBody)))]
pub async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<ActiveSession>>, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    let list = state
        .services
        .auth()
        .active_sessions(user.user.id, user.session_id.as_deref())
        .await?;
    Ok(Json(list))
}

/// `DELETE /api/v1/auth/sessions/{id}/`: signs out one of the caller's devices.
#[utoipa::path(delete, path = "/api/v1/auth/sessions/{id}/", tag = "auth",
    params(("id" = String, Path, description = "Session id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    state
        .services
        .auth()
        .revoke_session(user.user.id, &id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RevokedCount {
    revoked: u64,
}

/// `POST /api/v1/auth/sessions/revoke-others/`: signs out every device but this one.
#[utoipa::path(post, path = "/api/v1/auth/sessions/revoke-others/", tag = "auth",
    responses((status = 200, body = RevokedCount), (status = 401, body = ErrorBody)))]
pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RevokedCount>, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    let revoked = state
        .services
        .auth()
        .revoke_other_sessions(user.user.id, user.session_id.as_deref())
        .await?;
    Ok(Json(RevokedCount { revoked }))
}

/// `GET /api/v1/auth/second-factor/`: the caller's second factor.
#[utoipa::path(get, path = "/api/v1/auth/second-factor/", tag = "auth",
    responses((status = 200, body = SecondFactorStatus), (status = 401, body = ErrorBody)))]
pub async fn second_factor(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SecondFactorStatus>, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    Ok(Json(
        state.services.auth().second_factor_status(user).await?,
    ))
}

/// `POST /api/v1/auth/second-factor/totp/`: a new TOTP secret (and its QR code) to confirm.
#[utoipa::path(post, path = "/api/v1/auth/second-factor/totp/", tag = "auth",
    responses((status = 200, body = TotpEnrolment), (status = 401, body = ErrorBody)))]
pub async fn begin_totp(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<TotpEnrolment>, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    Ok(Json(state.services.auth().begin_totp(user)?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotpRequest {
    secret: String,
    code: String,
    /// The account's password: enrolling a factor needs it, not just a signed-in session.
    current_password: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Shown once: each signs in once when the second factor is not at hand.
    recovery_codes: Vec<String>,
}

/// `POST /api/v1/auth/second-factor/totp/confirm/`: turns TOTP on with a first valid code.
#[utoipa::path(post, path = "/api/v1/auth/second-factor/totp/confirm/", tag = "auth",
    request_body = ConfirmTotpRequest,
    responses((status = 200, body = RecoveryCodes), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn confirm_totp(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConfirmTotpRequest>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    let recovery_codes = state
        .services
        .auth()
        .confirm_totp(user, &body.secret, &body.code, &body.current_password)
        .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

/// `POST /api/v1/auth/second-factor/email/`: sends a code to confirm e-mail codes.
#[utoipa::path(post, path = "/api/v1/auth/second-factor/email/", tag = "auth",
    responses((status = 202), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn begin_email(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<StatusCode, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    state.services.auth().begin_email_codes(user).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The code of `POST /api/v1/auth/second-factor/email/confirm/`, with the account's password.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmEmailCodesRequest {
    code: String,
    /// The account's password: enrolling a factor needs it, not just a signed-in session.
    current_password: String,
}

/// `POST /api/v1/auth/second-factor/email/confirm/`: turns e-mail codes on.
#[utoipa::path(post, path = "/api/v1/auth/second-factor/email/confirm/", tag = "auth",
    request_body = ConfirmEmailCodesRequest,
    responses((status = 200, body = RecoveryCodes), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn confirm_email(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConfirmEmailCodesRequest>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    let recovery_codes = state
        .services
        .auth()
        .confirm_email_codes(user, &body.code, &body.current_password)
        .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordConfirmation {
    current_password: String,
}

/// `POST /api/v1/auth/second-factor/disable/`: turns the second factor off (not when the role
/// requires one).
#[utoipa::path(post, path = "/api/v1/auth/second-factor/disable/", tag = "auth",
    request_body = PasswordConfirmation,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn disable_second_factor(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordConfirmation>,
) -> Result<StatusCode, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    state
        .services
        .auth()
        .disable_second_factor(user, &body.current_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/auth/second-factor/recovery-codes/`: new recovery codes, replacing the old.
#[utoipa::path(post, path = "/api/v1/auth/second-factor/recovery-codes/", tag = "auth",
    request_body = PasswordConfirmation,
    responses((status = 200, body = RecoveryCodes), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn recovery_codes(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PasswordConfirmation>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let user = caller.user_may(Permission::OwnAccount)?;
    let recovery_codes = state
        .services
        .auth()
        .regenerate_recovery_codes(user, &body.current_password)
        .await?;
    Ok(Json(RecoveryCodes { recovery_codes }))
}
