//! Server-only helpers for server functions: the services, the request, the caller.

use domain::{AppError, SessionUser, SystemRole};
use leptos::prelude::*;
use services::Services;

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

/// The signed-in user, if the request carries a valid session.
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    let services = services()?;
    let parts = request_parts()?;
    Ok(services.auth().authenticate(&parts.headers).await?)
}

/// The signed-in user if they may act as `role`; 401 or 403 otherwise.
pub async fn require_role(role: SystemRole) -> Result<SessionUser, AppError> {
    services::auth::require_role(current_user().await?, role)
}

/// Runs a server function's work and gives a failure its proper HTTP status (401, 403, 404…):
/// Leptos answers every server-function error with 500 unless told otherwise. Plain HTML form
/// posts (no WebAssembly yet) keep Leptos's redirect back to the form instead.
pub async fn respond<T>(
    work: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let result = work.await;
    if let Err(err) = &result {
        let plain_form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
            parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
        });
        if !plain_form_post
            && let Some(response) = use_context::<leptos_axum::ResponseOptions>()
            && let Ok(status) = http::StatusCode::from_u16(err.status())
        {
            response.set_status(status);
        }
    }
    result
}
