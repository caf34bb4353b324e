//! The signed-in user's own account: profile, password, second factor, sessions.

use domain::AppError;
use domain::account::{ActiveSession, SecondFactorStatus, TotpEnrolment};
use domain::users::UserSummary;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use services::auth::policy::Permission::OwnAccount;

#[server(endpoint = "account/profile")]
pub async fn my_profile() -> Result<UserSummary, AppError> {
    crate::ssr::respond(async {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services::users::get(services.db(), me.user.id).await?)
    })
    .await
}

#[server(endpoint = "account/rename")]
pub async fn rename_me(full_name: String) -> Result<UserSummary, AppError> {
    crate::ssr::respond(async move {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services::users::rename_self(services.db(), me.user.id, &full_name).await?)
    })
    .await
}

#[server(endpoint = "account/password")]
pub async fn change_password(
    current_password: String,
    new_password: String,
    confirm_password: String,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let me = crate::ssr::require_user(OwnAccount).await?;
        if new_password != confirm_password {
            return Err(AppError::invalid_field(
                "confirm_password",
                "does not match the new password",
            ));
        }
        let services = crate::ssr::services()?;
        Ok(services
            .auth()
            .change_password(&me, &current_password, &new_password)
            .await?)
    })
    .await
}

#[server(endpoint = "account/second-factor")]
pub async fn load_second_factor() -> Result<SecondFactorStatus, AppError> {
    crate::ssr::respond(async {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services.auth().second_factor_status(&me).await?)
    })
    .await
}

/// Starts setting up an authenticator app: the secret waits in the browser's server-side
/// session until a first code confirms it.
#[server(endpoint = "account/totp/begin")]
pub async fn begin_totp() -> Result<TotpEnrolment, AppError> {
    crate::ssr::respond(async {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        let enrolment = services.auth().begin_totp(&me)?;
        let session = crate::ssr::browser_session().await?;
        session
            .insert(
                services::browser_sessions::PENDING_TOTP_SECRET,
                enrolment.secret.clone(),
            )
            .await
            .map_err(|_| AppError::internal())?;
        Ok(enrolment)
    })
    .await
}

/// Confirms the authenticator app with its current code and the account's password; returns
/// the recovery codes.
#[server(endpoint = "account/totp/confirm")]
pub async fn confirm_totp(code: String, current_password: String) -> Result<Vec<String>, AppError> {
    crate::ssr::respond(async move {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        let session = crate::ssr::browser_session().await?;
        let secret: String = session
            .get(services::browser_sessions::PENDING_TOTP_SECRET)
            .await
            .unwrap_or(None)
            .ok_or_else(|| AppError::bad_request("Start the setup again: it took too long."))?;
        let codes = services
            .auth()
            .confirm_totp(&me, &secret, &code, &current_password)
            .await?;
        let _ = session
            .remove::<String>(services::browser_sessions::PENDING_TOTP_SECRET)
            .await;
        Ok(codes)
    })
    .await
}

#[server(endpoint = "account/email-codes/begin")]
pub async fn begin_email_codes() -> Result<(), AppError> {
    crate::ssr::respond(async {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services.auth().begin_email_codes(&me).await?)
    })
    .await
}

#[server(endpoint = "account/email-codes/confirm")]
pub async fn confirm_email_codes(
    code: String,
    current_password: String,
) -> Result<Vec<String>, AppError> {
    crate::ssr::respond(async move {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services
            .auth()
            .confirm_email_codes(&me, &code, &current_password)
            .await?)
    })
    .await
}

#[server(endpoint = "account/second-factor/disable")]
pub async fn disable_second_factor(current_password: String) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services
            .auth()
            .disable_second_factor(&me, &current_password)
            .await?)
    })
    .await
}

#[server(endpoint = "account/recovery-codes")]
pub async fn new_recovery_codes(current_password: String) -> Result<Vec<String>, AppError> {
    crate::ssr::respond(async move {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services
            .auth()
            .regenerate_recovery_codes(&me, &current_password)
            .await?)
    })
    .await
}

#[server(endpoint = "account/sessions")]
pub async fn my_sessions() -> Result<Vec<ActiveSession>, AppError> {
    crate::ssr::respond(async {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services
            .auth()
            .active_sessions(me.user.id, me.session_id.as_deref())
            .await?)
    })
    .await
}

#[server(endpoint = "account/sessions/revoke")]
pub async fn revoke_session(id: String) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services.auth().revoke_session(me.user.id, &id).await?)
    })
    .await
}

#[server(endpoint = "account/sessions/revoke-others")]
pub async fn revoke_other_sessions() -> Result<u64, AppError> {
    crate::ssr::respond(async {
        let me = crate::ssr::require_user(OwnAccount).await?;
        let services = crate::ssr::services()?;
        Ok(services
            .auth()
            .revoke_other_sessions(me.user.id, me.session_id.as_deref())
            .await?)
    })
    .await
}
