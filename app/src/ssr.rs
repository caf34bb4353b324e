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

/// The Content-Security-Policy of a page: scripts only from this site or carrying this page's
/// nonce (the hydration scripts and the theme script do), WebAssembly compiled from this site,
/// images only from this site (ticket text may show attachments, never another host's
/// images), connections (server functions, the sockets) only to this site, no plugins, no
/// `<base>`, forms posting only here, and no framing. Styles allow inline `style` attributes:
/// a few components size elements with them (an upload's progress bar), and a style attribute
/// cannot run script.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    )
}

/// Sends the page's policy ([`page_policy`]) with the nonce Leptos gave this response's inline
/// scripts. A page rendered without one (it cannot happen with the `nonce` feature on) gets
/// the server's default policy, which allows no inline script at all.
pub fn send_page_policy() {
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) && let Ok(value) = http::HeaderValue::from_str(&page_policy(&nonce))
    {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// Who requests a page, found once by the server before it renders the page (a middleware
/// puts it in the request's extensions): the page and the server functions it calls while
/// rendering use it instead of authenticating again.
#[derive(Debug, Clone)]
pub struct PageCaller(pub Option<Principal>);

/// The caller, if the request carries valid credentials. Pages and server functions are the
/// browser's door, for people: an API key is refused here (403) and uses the REST API.
pub async fn principal() -> Result<Option<Principal>, AppError> {
    let parts = request_parts()?;
    let caller = match parts.extensions.get::<PageCaller>() {
        Some(PageCaller(caller)) => caller.clone(),
        None => services()?.auth().authenticate(&parts.headers).await?,
    };
    match caller {
        Some(Principal::ApiKey(_)) => Err(AppError::new(
            domain::ErrorKind::Forbidden,
            "API keys use the REST API (/api/v1/); the pages are for people.",
        )),
        other => Ok(other),
    }
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

/// The signed-in user if they may do `permission`.
pub async fn require_user(permission: Permission) -> Result<UserPrincipal, AppError> {
    match require(permission).await? {
        Principal::User(user) => Ok(user),
        // `principal` refuses API keys already.
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
