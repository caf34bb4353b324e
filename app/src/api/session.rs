//! Signing in and out, and who is signed in.

use domain::{AppError, SessionUser};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The signed-in user, or `None`. An expired or revoked session counts as signed out.
#[server(endpoint = "session/current")]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    crate::ssr::respond(async {
        match crate::ssr::current_user().await {
            Ok(user) => Ok(user),
            Err(err) if err.kind == domain::ErrorKind::Unauthorized => Ok(None),
            Err(err) => Err(err),
        }
    })
    .await
}

/// Signs in with e-mail and password; on success sets the session cookie and goes to `next`.
#[server(endpoint = "session/login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<SessionUser, AppError> {
    crate::ssr::respond(async move {
        use http::HeaderValue;
        use http::header::SET_COOKIE;

        let services = crate::ssr::services()?;
        let signed_in = services.auth().sign_in(&email, &password).await?;
        let cookie = services.auth().access_cookie(&signed_in.access_token);
        let response = expect_context::<leptos_axum::ResponseOptions>();
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.append_header(SET_COOKIE, value);
        }
        leptos_axum::redirect(&crate::session::safe_next(next.as_deref()));
        Ok(signed_in.user)
    })
    .await
}

/// Signs out: removes the session cookie and goes to the sign-in page.
#[server(endpoint = "session/logout")]
pub async fn logout() -> Result<(), AppError> {
    crate::ssr::respond(async {
        use http::HeaderValue;
        use http::header::SET_COOKIE;

        let services = crate::ssr::services()?;
        let response = expect_context::<leptos_axum::ResponseOptions>();
        if let Ok(value) = HeaderValue::from_str(&services.auth().clear_access_cookie()) {
            response.append_header(SET_COOKIE, value);
        }
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// A demo account, listed on the sign-in page when demo data is loaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoAccount {
    pub email: String,
    pub name: String,
    pub role: String,
    pub password: String,
}

#[server(endpoint = "session/demo-accounts")]
pub async fn demo_accounts() -> Result<Vec<DemoAccount>, AppError> {
    crate::ssr::respond(async {
        let services = crate::ssr::services()?;
        if !services.demo_mode() {
            return Ok(Vec::new());
        }
        Ok(services::demo::DEMO_USERS
            .iter()
            .map(|(email, name, role)| DemoAccount {
                email: (*email).to_owned(),
                name: (*name).to_owned(),
                role: role.to_string(),
                password: services::demo::DEMO_PASSWORD.to_owned(),
            })
            .collect())
    })
    .await
}
