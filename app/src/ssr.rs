//! Server-only helpers for server functions: the services, the request, the caller.

use domain::{AppError, SessionUser};
use leptos::prelude::*;
use services::Services;
use services::auth::policy::{self, Permission, Principal, UserPrincipal};
use services::auth::{ClientInfo, ClientIp};

pub fn services() -> Result<Services, AppError> {
    use_context::<Services>().ok_or_else(|| {
        tracing::error!("services missing from the Leptos context");
        AppError::internal()
    })
}

fn request_parts() -> Result<http::request::Parts, AppError> {
    use_context::<http::request::Parts>().ok_or_else(|| {
        tracing::error!("request parts missing from the Leptos context");
        AppError::internal()
    })
}

/// Where the request comes from (user agent, IP, device cookie).
pub fn client() -> Result<ClientInfo, AppError> {
    let parts = request_parts()?;
    Ok(services::auth::client_info(
        &parts.headers,
        parts.extensions.get::<ClientIp>(),
    ))
}

/// Who requests a page, found once by the server before it renders the page (a middleware
/// puts it in the request's extensions): the page and the server functions it calls while
/// rendering use it instead of authenticating again.
#[derive(Debug, Clone)]
pub struct PageCaller(pub Option<Principal>);

/// The caller, if the request carries valid credentials.
pub async fn principal() -> Result<Option<Principal>, AppError> {
    let parts = request_parts()?;
    if let Some(PageCaller(caller)) = parts.extensions.get::<PageCaller>() {
        return Ok(caller.clone());
    }
    let services = services()?;
    Ok(services.auth().authenticate(&parts.headers).await?)
}

/// The signed-in user, if any.
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    Ok(principal()
        .await?
        .and_then(|p| p.user().map(|u| u.user.clone())))
}

/// The caller if they may do `permission`; 401 or 403 otherwise.
pub async fn require(permission: Permission) -> Result<Principal, AppError> {
    policy::require(principal().await?, permission)
}

/// The signed-in user (not an API key) if they may do `permission`.
pub async fn require_user(permission: Permission) -> Result<UserPrincipal, AppError> {
    match require(permission).await? {
        Principal::User(user) => Ok(user),
        Principal::ApiKey(_) => Err(AppError::forbidden()),
    }
}

/// Adds `Set-Cookie` headers to the response.
pub fn set_cookies(cookies: Vec<String>) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        for cookie in cookies {
            if let Ok(value) = http::HeaderValue::from_str(&cookie) {
                response.append_header(http::header::SET_COOKIE, value);
            }
        }
    }
}

/// The browser's server-side session (tower-sessions).
pub async fn browser_session() -> Result<tower_sessions::Session, AppError> {
    leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "browser session unavailable");
            AppError::internal()
        })
}

/// Runs a server function's work and gives a failure its proper HTTP status (401, 403, 404…):
/// Leptos answers every server-function error with 500 unless told otherwise. Plain HTML form
/// posts (no WebAssembly yet) keep Leptos's redirect back to the form instead.
pub async fn respond<T>(
    work: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let result = work.await;
    if let Err(err) = &result
        && !is_plain_form_post()
        && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(status) = http::StatusCode::from_u16(err.status())
    {
        response.set_status(status);
    }
    result
}

/// Whether this server-function call is a plain HTML form post (no WebAssembly running yet):
/// it then needs a redirect to a page, where a call from the running app does not.
pub fn is_plain_form_post() -> bool {
    use_context::<http::request::Parts>().is_some_and(|parts| {
        parts
            .headers
            .get(http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    })
}
