//! Signing in (with the second factor when there is one), signing out, resetting a forgotten
//! password, and who is signed in.

use domain::account::SecondFactorMethod;
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

/// What a correct password led to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoginOutcome {
    SignedIn(SessionUser),
    /// The password was right; now the code of this method.
    SecondFactor(SecondFactorMethod),
}

/// A sign-in waiting for its second factor, kept in the browser's server-side session.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingSignIn {
    challenge: String,
    method: SecondFactorMethod,
}

/// Signs in with e-mail and password. Without a second factor this sets the session cookies
/// and goes to `next`; with one, the sign-in waits (server-side) for the code.
#[server(endpoint = "session/login")]
pub async fn login(
    email: String,
    password: String,
    next: Option<String>,
) -> Result<LoginOutcome, AppError> {
    crate::ssr::respond(async move {
        use services::auth::SignInOutcome;
        use services::browser_sessions::PENDING_SIGN_IN;

        let services = crate::ssr::services()?;
        let mut client = crate::ssr::client()?;
        if client.device.is_none() {
            let device = services::auth::tokens::new_id();
            crate::ssr::set_cookies(vec![services.auth().device_cookie(&device)]);
            client.device = Some(device);
        }
        match services.auth().sign_in(&email, &password, &client).await? {
            SignInOutcome::SignedIn(tokens) => {
                crate::ssr::set_cookies(services.auth().session_cookies(&tokens));
                leptos_axum::redirect(&crate::session::safe_next(next.as_deref()));
                Ok(LoginOutcome::SignedIn(tokens.user))
            }
            SignInOutcome::SecondFactorRequired(challenge) => {
                let session = crate::ssr::browser_session().await?;
                let pending = PendingSignIn {
                    challenge: challenge.token,
                    method: challenge.method,
                };
                session
                    .insert(PENDING_SIGN_IN, pending)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "cannot store the pending sign-in");
                        AppError::internal()
                    })?;
                Ok(LoginOutcome::SecondFactor(challenge.method))
            }
        }
    })
    .await
}

/// The second factor a sign-in in this browser is waiting for, if any.
#[server(endpoint = "session/pending")]
pub async fn pending_second_factor() -> Result<Option<SecondFactorMethod>, AppError> {
    crate::ssr::respond(async {
        let session = crate::ssr::browser_session().await?;
        let pending: Option<PendingSignIn> = session
            .get(services::browser_sessions::PENDING_SIGN_IN)
            .await
            .unwrap_or(None);
        Ok(pending.map(|p| p.method))
    })
    .await
}

/// Completes the waiting sign-in with the code from the authenticator app or the e-mail, or a
/// recovery code.
#[server(endpoint = "session/verify")]
pub async fn verify_second_factor(code: String, next: Option<String>) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        use services::browser_sessions::PENDING_SIGN_IN;

        let services = crate::ssr::services()?;
        let session = crate::ssr::browser_session().await?;
        let pending: PendingSignIn = session
            .get(PENDING_SIGN_IN)
            .await
            .unwrap_or(None)
            .ok_or_else(|| {
                AppError::unauthorized("The sign-in took too long. Please start again.")
            })?;
        let client = crate::ssr::client()?;
        let tokens = services
            .auth()
            .complete_second_factor(&pending.challenge, &code, &client)
            .await?;
        let _ = session.remove::<PendingSignIn>(PENDING_SIGN_IN).await;
        crate::ssr::set_cookies(services.auth().session_cookies(&tokens));
        leptos_axum::redirect(&crate::session::safe_next(next.as_deref()));
        Ok(())
    })
    .await
}

/// Abandons a sign-in waiting for its second factor.
#[server(endpoint = "session/cancel")]
pub async fn cancel_sign_in() -> Result<(), AppError> {
    crate::ssr::respond(async {
        let session = crate::ssr::browser_session().await?;
        let _ = session
            .remove::<PendingSignIn>(services::browser_sessions::PENDING_SIGN_IN)
            .await;
        Ok(())
    })
    .await
}

/// Signs out: this session ends on the server (its tokens stop working), the cookies go, and
/// the browser goes to the sign-in page.
#[server(endpoint = "session/logout")]
pub async fn logout() -> Result<(), AppError> {
    crate::ssr::respond(async {
        let services = crate::ssr::services()?;
        if let Ok(Some(services::auth::policy::Principal::User(user))) =
            crate::ssr::principal().await
        {
            services.auth().sign_out(&user).await?;
        }
        if let Some(parts) = use_context::<http::request::Parts>()
            && let Some(refresh) =
                services::auth::cookie_value(&parts.headers, services::auth::REFRESH_COOKIE)
        {
            services.auth().sign_out_refresh(&refresh).await?;
        }
        crate::ssr::set_cookies(services.auth().clear_session_cookies());
        leptos_axum::redirect("/login");
        Ok(())
    })
    .await
}

/// Sends a password-reset link if the address belongs to an account (the answer is the same
/// either way).
#[server(endpoint = "session/forgot-password")]
pub async fn forgot_password(email: String) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let services = crate::ssr::services()?;
        Ok(services.auth().request_password_reset(&email).await?)
    })
    .await
}

/// Chooses a new password with a reset (or invitation) link's token.
#[server(endpoint = "session/reset-password")]
pub async fn reset_password(
    token: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        if new_password != confirm_password {
            return Err(AppError::invalid_field(
                "confirm_password",
                "does not match the new password",
            ));
        }
        let services = crate::ssr::services()?;
        services
            .auth()
            .reset_password(&token, &new_password)
            .await?;
        leptos_axum::redirect("/login?reset=done");
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
