//! Sign-in and authentication: who is calling, for every door alike.
//!
//! Browsers carry the access token in the HTTP-only `access_token` cookie (the name the seeds'
//! `JWTCookieAuthentication` reads); API clients send `Authorization: Bearer …`. Both resolve
//! through [`AuthService::authenticate`], which also re-reads the user, so a deactivated account
//! or a changed role takes effect at the next request.

pub mod password;
pub mod tokens;

use chrono::Utc;
use domain::{AppError, SessionUser};
use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};
use secrecy::{ExposeSecret, SecretString};

use crate::db::{Db, users};
use crate::error::Result;
use tokens::{TokenError, TokenKeys};

pub const ACCESS_COOKIE: &str = "access_token";

/// Settings of authentication, from the program's configuration.
#[derive(Clone)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub access_lifetime: chrono::Duration,
    /// Mark cookies `Secure` (when the public URL is HTTPS).
    pub secure_cookies: bool,
}

pub struct AuthService {
    db: Db,
    settings: AuthSettings,
    keys: TokenKeys,
    /// A real hash of a random password, verified when the account does not exist so that an
    /// unknown e-mail costs the same time as a wrong password. Made on first use, not at start.
    decoy_hash: tokio::sync::OnceCell<String>,
}

/// A successful sign-in.
pub struct SignedIn {
    pub user: SessionUser,
    pub access_token: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

const WRONG_CREDENTIALS: &str = "The e-mail or password is incorrect.";

impl AuthService {
    pub fn new(db: Db, settings: AuthSettings) -> Self {
        let keys = TokenKeys::new(settings.jwt_secret.expose_secret().as_bytes());
        Self {
            db,
            settings,
            keys,
            decoy_hash: tokio::sync::OnceCell::new(),
        }
    }

    async fn decoy_hash(&self) -> anyhow::Result<&str> {
        let hash = self
            .decoy_hash
            .get_or_try_init(|| async { password::hash(&uuid::Uuid::new_v4().to_string()).await })
            .await?;
        Ok(hash)
    }

    /// Checks an e-mail and password and issues an access token.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<SignedIn> {
        let email = normalize_email(email);
        if email.is_empty() {
            return Err(AppError::invalid_field("email", "is required").into());
        }
        if password.is_empty() {
            return Err(AppError::invalid_field("password", "is required").into());
        }

        let mut pooled = self.db.acquire().await?;
        let user = users::find_by_email(&mut pooled.conn(), &email).await?;
        let stored_hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let hash_to_check = match stored_hash {
            Some(hash) => hash,
            None => self.decoy_hash().await?,
        };
        let matches = password::verify(hash_to_check, password).await?;
        let user = match user {
            Some(user) if matches && stored_hash.is_some() => user,
            _ => return Err(AppError::unauthorized(WRONG_CREDENTIALS).into()),
        };
        if !user.is_active {
            return Err(AppError::new(
                domain::ErrorKind::Forbidden,
                "This account is deactivated. Ask an administrator to reactivate it.",
            )
            .into());
        }

        let now = Utc::now();
        users::record_login(&mut pooled.conn(), user.id, now).await?;
        let roles = users::grants(&mut pooled.conn(), user.id).await?;
        let access_token = self.keys.issue(
            user.id,
            &user.email,
            &roles,
            tokens::ACCESS,
            now,
            self.settings.access_lifetime,
        )?;
        tracing::info!(user_id = user.id, "signed in");
        Ok(SignedIn {
            user: SessionUser {
                id: user.id,
                email: user.email,
                full_name: user.full_name,
                roles,
            },
            access_token,
            expires_in: self.settings.access_lifetime.num_seconds(),
        })
    }

    /// Who sent these request headers: `Ok(None)` when they carry no credentials, an
    /// `Unauthorized` error when they carry credentials that are not (or no longer) valid.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<SessionUser>> {
        let Some(token) = bearer_token(headers).or_else(|| cookie_value(headers, ACCESS_COOKIE))
        else {
            return Ok(None);
        };
        let claims = self
            .keys
            .verify(&token, tokens::ACCESS)
            .map_err(|e| match e {
                TokenError::Expired | TokenError::Invalid => AppError::unauthorized(e.to_string()),
            })?;
        let user = self.session_user(claims.user_id).await?;
        match user {
            Some(user) => Ok(Some(user)),
            None => Err(
                AppError::unauthorized("This account no longer exists or is deactivated.").into(),
            ),
        }
    }

    /// The active user with this id, with their roles.
    pub async fn session_user(&self, id: i64) -> Result<Option<SessionUser>> {
        let mut pooled = self.db.acquire().await?;
        let Some(user) = users::find_by_id(&mut pooled.conn(), id).await? else {
            return Ok(None);
        };
        if !user.is_active {
            return Ok(None);
        }
        let roles = users::grants(&mut pooled.conn(), id).await?;
        Ok(Some(SessionUser {
            id,
            email: user.email,
            full_name: user.full_name,
            roles,
        }))
    }

    /// The `Set-Cookie` value that stores an access token in the browser.
    pub fn access_cookie(&self, token: &str) -> String {
        let lifetime = cookie::time::Duration::seconds(self.settings.access_lifetime.num_seconds());
        cookie::Cookie::build((ACCESS_COOKIE, token))
            .http_only(true)
            .secure(self.settings.secure_cookies)
            .same_site(cookie::SameSite::Lax)
            .path("/")
            .max_age(lifetime)
            .build()
            .to_string()
    }

    /// The `Set-Cookie` value that removes the access token.
    pub fn clear_access_cookie(&self) -> String {
        cookie::Cookie::build((ACCESS_COOKIE, ""))
            .http_only(true)
            .secure(self.settings.secure_cookies)
            .same_site(cookie::SameSite::Lax)
            .path("/")
            .max_age(cookie::time::Duration::ZERO)
            .build()
            .to_string()
    }
}

/// E-mail addresses are compared without surrounding spaces and letter case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(std::result::Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// The one authorization rule of this stage: a caller must be signed in (401) and hold at
/// least `role` in TTS (403). Server functions and REST handlers both go through it.
pub fn require_role(
    user: Option<SessionUser>,
    role: domain::SystemRole,
) -> std::result::Result<SessionUser, AppError> {
    match user {
        Some(user) if user.can_act_as(role) => Ok(user),
        Some(_) => Err(AppError::forbidden()),
        None => Err(AppError::unauthorized("Please sign in.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn credentials_come_from_bearer_first_then_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("theme=dark; access_token=from-cookie"),
        );
        assert_eq!(
            cookie_value(&headers, ACCESS_COOKIE).as_deref(),
            Some("from-cookie")
        );
        assert_eq!(bearer_token(&headers), None);
        headers.insert(
            AUTHORIZATION,
            HeaderValue::from_static("Bearer from-header"),
        );
        assert_eq!(bearer_token(&headers).as_deref(), Some("from-header"));
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }
}
