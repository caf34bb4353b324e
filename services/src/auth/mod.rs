//! Identity: sign-in, second factor, sessions with rotating refresh tokens, revocation,
//! lockout, password change and reset, API keys, and authentication of every request.
//!
//! Browsers carry the tokens in HTTP-only cookies (`access_token`, `refresh_token`, as the
//! seeds' `JWTCookieAuthentication` reads them); API clients send `Authorization: Bearer …` or
//! `X-API-Key`. Every door resolves the caller through [`AuthService::authenticate`] and asks
//! [`policy::authorize`] whether it may proceed.

pub mod access_cache;
pub mod api_keys;
pub mod crypto;
pub mod password;
pub mod policy;
pub mod second_factor;
pub mod socket_rights;
pub mod tokens;

use chrono::{DateTime, Duration, Utc};
use domain::account::ActiveSession;
use domain::{AppError, ErrorKind, SessionUser, System, SystemRole};
use http::HeaderMap;
use http::header::{AUTHORIZATION, COOKIE};
use secrecy::{ExposeSecret, SecretString};

use crate::db::{Db, security, sessions, users};
use crate::error::Result;
use crate::mail::{Mail, Mailer};
use policy::{Principal, UserPrincipal};
use tokens::{Claims, TokenError, TokenKeys, TokenSpec, TokenType};

pub const ACCESS_COOKIE: &str = "access_token";
pub const REFRESH_COOKIE: &str = "refresh_token";

/// Why a token or session of a deleted or deactivated account is refused.
const ACCOUNT_GONE: &str = "This account no longer exists or is deactivated.";
/// A random, long-lived browser identifier: "is this a device we have seen?" for login alerts.
pub const DEVICE_COOKIE: &str = "tts_device";
pub const API_KEY_HEADER: &str = "x-api-key";

/// Settings of authentication, from the program's configuration.
#[derive(Clone)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    /// The secret before the last rotation: its tokens stay valid until they expire.
    pub previous_jwt_secret: Option<SecretString>,
    /// Encrypts TOTP secrets at rest.
    pub encryption_key: SecretString,
    pub access_lifetime: Duration,
    pub refresh_lifetime: Duration,
    /// Mark cookies `Secure` (when the public URL is HTTPS).
    pub secure_cookies: bool,
    /// The address users reach, for links in e-mails.
    pub public_url: String,
    /// Consecutive failed sign-ins that lock an account, and for how long.
    pub lockout_threshold: i64,
    pub lockout_duration: Duration,
}

impl AuthSettings {
    /// Sensible settings around a secret (tests, tools).
    pub fn with_secret(secret: &str) -> Self {
        Self {
            jwt_secret: SecretString::from(secret.to_owned()),
            previous_jwt_secret: None,
            encryption_key: SecretString::from(format!("{secret}-encryption")),
            access_lifetime: Duration::minutes(15),
            refresh_lifetime: Duration::days(1),
            secure_cookies: false,
            public_url: "http://127.0.0.1:3000".to_owned(),
            lockout_threshold: 5,
            lockout_duration: Duration::minutes(15),
        }
    }
}

/// The client's IP address as the server determined it (the socket's peer, or the proxy's
/// `X-Forwarded-For` when configured to trust it); put in request extensions by the server.
#[derive(Debug, Clone)]
pub struct ClientIp(pub String);

/// The client of a request: user agent and device cookie from the headers, IP as resolved.
pub fn client_info(headers: &HeaderMap, ip: Option<&ClientIp>) -> ClientInfo {
    ClientInfo {
        user_agent: headers
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        ip: ip.map(|ip| ip.0.clone()).unwrap_or_default(),
        device: cookie_value(headers, DEVICE_COOKIE),
    }
}

/// Where a request comes from, as far as sessions and alerts care.
#[derive(Debug, Clone, Default)]
pub struct ClientInfo {
    pub user_agent: String,
    pub ip: String,
    /// The browser's device cookie, if it has one.
    pub device: Option<String>,
}

/// Tokens issued by a sign-in or a refresh.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    pub user: SessionUser,
    pub session_id: String,
    pub access: String,
    pub access_expires_at: DateTime<Utc>,
    /// `None` when a refresh lost a harmless race (see [`AuthService::refresh`]): keep the
    /// refresh token you have.
    pub refresh: Option<String>,
    pub refresh_expires_at: DateTime<Utc>,
}

impl IssuedTokens {
    pub fn access_expires_in(&self) -> i64 {
        (self.access_expires_at - Utc::now()).num_seconds().max(0)
    }
}

/// A second factor waiting to be given: the password was right.
#[derive(Debug, Clone)]
pub struct SecondFactorChallenge {
    /// Short-lived proof of the first factor, to send back with the code.
    pub token: String,
    pub method: domain::account::SecondFactorMethod,
    pub expires_in: i64,
}

#[derive(Debug, Clone)]
pub enum SignInOutcome {
    SignedIn(Box<IssuedTokens>),
    SecondFactorRequired(SecondFactorChallenge),
}

pub struct AuthService {
    db: Db,
    mailer: Mailer,
    settings: AuthSettings,
    keys: TokenKeys,
    secret_box: crypto::SecretBox,
    /// A real hash of a random password, verified when the account does not exist so that an
    /// unknown e-mail costs the same time as a wrong password. Made on first use, not at start.
    decoy_hash: tokio::sync::OnceCell<String>,
    /// Access tokens checked within the last second (see [`access_cache`]).
    access_cache: access_cache::AccessCache,
}

/// The one answer to a sign-in that fails on its credentials: an unknown e-mail, a wrong
/// password, and a locked account (whatever the password) all read the same, so the answer
/// tells nobody which addresses have accounts, and a locked account does not confirm a right
/// guess. The owner of a locked account is told by e-mail, with until when.
const WRONG_CREDENTIALS: &str = "The e-mail or password is incorrect, or the account is locked \
     for a while after repeated failed sign-ins (its owner gets an e-mail).";
const CHALLENGE_LIFETIME_MINUTES: i64 = 5;
/// A refresh token replaced less than this long ago may still be presented once more: two
/// requests of the same page racing to refresh are not an attack.
const REFRESH_RACE_GRACE_SECONDS: i64 = 30;

impl AuthService {
    pub fn new(db: Db, mailer: Mailer, settings: AuthSettings) -> Self {
        let keys = TokenKeys::with_previous(
            settings.jwt_secret.expose_secret().as_bytes(),
            settings
                .previous_jwt_secret
                .as_ref()
                .map(|s| s.expose_secret().as_bytes()),
        );
        let secret_box = crypto::SecretBox::new(settings.encryption_key.expose_secret().as_bytes());
        Self {
            db,
            mailer,
            settings,
            keys,
            secret_box,
            decoy_hash: tokio::sync::OnceCell::new(),
            access_cache: access_cache::AccessCache::default(),
        }
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) fn mailer(&self) -> &Mailer {
        &self.mailer
    }

    async fn decoy_hash(&self) -> anyhow::Result<&str> {
        let hash = self
            .decoy_hash
            .get_or_try_init(|| async { password::hash(&uuid::Uuid::new_v4().to_string()).await })
            .await?;
        Ok(hash)
    }

    // ------------------------------------------------------------------ sign-in

    /// Checks an e-mail and password. Then either signs in, or asks for the second factor.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: &ClientInfo,
    ) -> Result<SignInOutcome> {
        let email = normalize_email(email);
        if email.is_empty() {
            return Err(AppError::invalid_field("email", "is required").into());
        }
        if password.is_empty() {
            return Err(AppError::invalid_field("password", "is required").into());
        }
        if password.len() > domain::users::MAX_PASSWORD_LENGTH * 4 {
            return Err(AppError::unauthorized(WRONG_CREDENTIALS).into());
        }

        let user = {
            let mut pooled = self.db.acquire().await?;
            users::find_by_email(&mut pooled.conn(), &email).await?
        };
        let stored_hash = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let hash_to_check = match stored_hash {
            Some(hash) => hash,
            None => self.decoy_hash().await?,
        };
        let matches = password::verify(hash_to_check, password).await?;
        let has_password = stored_hash.is_some();
        let Some(user) = user else {
            return Err(AppError::unauthorized(WRONG_CREDENTIALS).into());
        };
        let now = Utc::now();
        if user.is_locked(now) {
            tracing::info!(user_id = user.id, "sign-in to a locked account");
            return Err(AppError::unauthorized(WRONG_CREDENTIALS).into());
        }
        if !matches || !has_password {
            self.record_failure(&user, now).await?;
            return Err(AppError::unauthorized(WRONG_CREDENTIALS).into());
        }
        if !user.is_active {
            return Err(deactivated_error().into());
        }

        match domain::account::SecondFactorMethod::parse(&user.second_factor) {
            domain::account::SecondFactorMethod::None => {
                let tokens = self.open_session(user.id, client).await?;
                Ok(SignInOutcome::SignedIn(Box::new(tokens)))
            }
            method => {
                if method == domain::account::SecondFactorMethod::Email {
                    self.send_sign_in_code(user.id, &user.email).await?;
                }
                let (token, _) = self.keys.issue(&TokenSpec {
                    user_id: user.id,
                    email: &user.email,
                    roles: &[],
                    token_type: TokenType::Challenge,
                    sid: None,
                    jti: None,
                    now,
                    lifetime: Duration::minutes(CHALLENGE_LIFETIME_MINUTES),
                })?;
                Ok(SignInOutcome::SecondFactorRequired(SecondFactorChallenge {
                    token,
                    method,
                    expires_in: CHALLENGE_LIFETIME_MINUTES * 60,
                }))
            }
        }
    }

    /// Counts a failed sign-in (password or second factor); locks the account at the
    /// threshold and tells its owner by e-mail.
    async fn record_failure(&self, user: &users::UserRow, now: DateTime<Utc>) -> Result<()> {
        let mut pooled = self.db.acquire().await?;
        let (count, locked_until) = users::record_failed_login(
            &mut pooled.conn(),
            user.id,
            self.settings.lockout_threshold,
            now + self.settings.lockout_duration,
        )
        .await?;
        tracing::info!(user_id = user.id, failures = count, "failed sign-in");
        if count == self.settings.lockout_threshold && locked_until.is_some() {
            tracing::warn!(
                user_id = user.id,
                "account locked after repeated failed sign-ins"
            );
            self.mailer.send_in_background(Mail {
                to: user.email.clone(),
                subject: "Your TTS account was locked".into(),
                text: format!(
                    "Hello {},\n\nthere were {count} failed attempts to sign in to your TTS account, \
                     so it is locked for {} minutes. If this was not you, tell your administrator.\n",
                    user.full_name,
                    self.settings.lockout_duration.num_minutes()
                ),
            });
        }
        Ok(())
    }

    /// Creates a session for the user (after every factor was checked) and issues its tokens.
    pub(crate) async fn open_session(
        &self,
        user_id: i64,
        client: &ClientInfo,
    ) -> Result<IssuedTokens> {
        let now = Utc::now();
        let session_id = tokens::new_id();
        let refresh_jti = tokens::new_id();
        let user = self.load_active_user(user_id).await?;
        {
            let mut tx = self.db.begin().await?;
            sessions::insert(
                &mut tx.conn(),
                &sessions::NewSession {
                    id: &session_id,
                    user_id,
                    refresh_jti: &refresh_jti,
                    now,
                    expires_at: now + self.settings.refresh_lifetime,
                    user_agent: &truncate(&client.user_agent, 300),
                    ip: &truncate(&client.ip, 64),
                },
            )
            .await?;
            users::record_login(&mut tx.conn(), user_id, now).await?;
            tx.commit().await?;
        }
        self.alert_on_new_device(&user, client, now).await?;
        tracing::info!(user_id, "signed in");
        self.issue(&user, &session_id, Some(&refresh_jti), now)
    }

    fn issue(
        &self,
        user: &SessionUser,
        session_id: &str,
        refresh_jti: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<IssuedTokens> {
        let (access, access_claims) = self.keys.issue(&TokenSpec {
            user_id: user.id,
            email: &user.email,
            roles: &user.roles,
            token_type: TokenType::Access,
            sid: Some(session_id),
            jti: None,
            now,
            lifetime: self.settings.access_lifetime,
        })?;
        let refresh = match refresh_jti {
            Some(jti) => Some(self.keys.issue(&TokenSpec {
                user_id: user.id,
                email: &user.email,
                roles: &user.roles,
                token_type: TokenType::Refresh,
                sid: Some(session_id),
                jti: Some(jti),
                now,
                lifetime: self.settings.refresh_lifetime,
            })?),
            None => None,
        };
        Ok(IssuedTokens {
            user: user.clone(),
            session_id: session_id.to_owned(),
            access,
            access_expires_at: access_claims.expires_at(),
            refresh_expires_at: refresh
                .as_ref()
                .map_or(now + self.settings.refresh_lifetime, |(_, c)| {
                    c.expires_at()
                }),
            refresh: refresh.map(|(token, _)| token),
        })
    }

    /// An e-mail to the user when they sign in from a device not seen before (not on their
    /// very first sign-in).
    async fn alert_on_new_device(
        &self,
        user: &SessionUser,
        client: &ClientInfo,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let device = client.device.as_deref().unwrap_or(&client.user_agent);
        let device_hash = crypto::sha256_hex(device.as_bytes());
        let (new_device, had_devices) = {
            let mut pooled = self.db.acquire().await?;
            security::remember_device(&mut pooled.conn(), user.id, &device_hash, now).await?
        };
        if new_device && had_devices {
            self.mailer.send_in_background(Mail {
                to: user.email.clone(),
                subject: "New sign-in to your TTS account".into(),
                text: format!(
                    "Hello {},\n\nyour TTS account was just signed in to from a device we have not \
                     seen before:\n\n  {}\n  at {} UTC\n\nIf this was you, there is nothing to do. \
                     If not, change your password and sign out the other sessions under Account → \
                     Security.\n",
                    user.full_name,
                    if client.user_agent.is_empty() {
                        "an unknown browser"
                    } else {
                        &client.user_agent
                    },
                    now.format("%Y-%m-%d %H:%M")
                ),
            });
        }
        Ok(())
    }

    // ------------------------------------------------------------------ refresh and sign-out

    /// Exchanges a refresh token for new tokens, rotating the refresh token. Presenting a
    /// refresh token that was already replaced revokes the whole session (it was stolen, or
    /// the thief already used it); the exception is the same token presented again within
    /// seconds of its rotation, which is two requests of one page racing, and gets a new
    /// access token only.
    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<IssuedTokens> {
        let claims = self
            .keys
            .verify(refresh_token, TokenType::Refresh)
            .map_err(|e| AppError::unauthorized(e.to_string()))?;
        let session_id = claims
            .sid
            .clone()
            .ok_or_else(|| AppError::unauthorized("The token is not valid."))?;
        let now = Utc::now();
        let mut pooled = self.db.acquire().await?;
        let session = sessions::find(&mut pooled.conn(), &session_id)
            .await?
            .filter(|s| s.user_id == claims.user_id)
            .ok_or_else(|| {
                AppError::unauthorized("The session has ended. Please sign in again.")
            })?;
        if session.revoked_at.is_some() || session.expires_at <= now {
            return Err(
                AppError::unauthorized("The session has ended. Please sign in again.").into(),
            );
        }

        let new_jti = tokens::new_id();
        let rotated = sessions::rotate(
            &mut pooled.conn(),
            &session_id,
            &claims.jti,
            &new_jti,
            now,
            now + self.settings.refresh_lifetime,
        )
        .await?;
        let refresh_jti = if rotated {
            Some(new_jti.as_str())
        } else {
            let current = sessions::find(&mut pooled.conn(), &session_id).await?;
            let benign_race = current.as_ref().is_some_and(|s| {
                s.revoked_at.is_none()
                    && s.previous_refresh_jti.as_deref() == Some(claims.jti.as_str())
                    && s.rotated_at
                        .is_some_and(|at| now - at < Duration::seconds(REFRESH_RACE_GRACE_SECONDS))
            });
            if !benign_race {
                sessions::revoke(
                    &mut pooled.conn(),
                    claims.user_id,
                    &session_id,
                    "refresh token reused",
                    now,
                )
                .await?;
                tracing::warn!(
                    user_id = claims.user_id,
                    "refresh token reused: the session is revoked"
                );
                return Err(AppError::unauthorized(
                    "This session was ended for your safety. Please sign in again.",
                )
                .into());
            }
            None
        };
        drop(pooled);
        let user = self.load_active_user(claims.user_id).await?;
        self.issue(&user, &session_id, refresh_jti, now)
    }

    /// Signs out the session behind an access token: the token joins the deny-list until it
    /// expires, and the session's refresh token stops working.
    pub async fn sign_out(&self, principal: &UserPrincipal) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        sessions::revoke_access(
            &mut tx.conn(),
            principal.user.id,
            &principal.token_id,
            principal.token_expires_at,
        )
        .await?;
        if let Some(session_id) = &principal.session_id {
            sessions::revoke(
                &mut tx.conn(),
                principal.user.id,
                session_id,
                "signed out",
                now,
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(user_id = principal.user.id, "signed out");
        Ok(())
    }

    /// Signs out the session of a refresh token (a browser whose access token already expired).
    pub async fn sign_out_refresh(&self, refresh_token: &str) -> Result<()> {
        if let Ok(claims) = self.keys.verify(refresh_token, TokenType::Refresh)
            && let Some(session_id) = claims.sid
        {
            let mut pooled = self.db.acquire().await?;
            sessions::revoke(
                &mut pooled.conn(),
                claims.user_id,
                &session_id,
                "signed out",
                Utc::now(),
            )
            .await?;
        }
        Ok(())
    }

    /// The user's signed-in sessions, the current one marked.
    pub async fn active_sessions(
        &self,
        user_id: i64,
        current: Option<&str>,
    ) -> Result<Vec<ActiveSession>> {
        let mut pooled = self.db.acquire().await?;
        let rows = sessions::list_active(&mut pooled.conn(), user_id, Utc::now()).await?;
        Ok(rows
            .into_iter()
            .map(|row| ActiveSession {
                current: current == Some(row.id.as_str()),
                id: row.id,
                user_agent: row.user_agent,
                ip: row.ip,
                created_at: row.created_at,
                last_used_at: row.last_used_at,
            })
            .collect())
    }

    /// Ends one of the user's own sessions.
    pub async fn revoke_session(&self, user_id: i64, session_id: &str) -> Result<()> {
        let mut pooled = self.db.acquire().await?;
        let session = sessions::find(&mut pooled.conn(), session_id)
            .await?
            .filter(|s| s.user_id == user_id)
            .ok_or_else(|| AppError::not_found("Session"))?;
        sessions::revoke(
            &mut pooled.conn(),
            user_id,
            &session.id,
            "signed out remotely",
            Utc::now(),
        )
        .await?;
        Ok(())
    }

    /// Ends all of the user's sessions but `keep`; returns how many.
    pub async fn revoke_other_sessions(&self, user_id: i64, keep: Option<&str>) -> Result<u64> {
        let mut pooled = self.db.acquire().await?;
        Ok(sessions::revoke_all_of_user(
            &mut pooled.conn(),
            user_id,
            keep,
            "signed out remotely",
            Utc::now(),
        )
        .await?)
    }

    // ------------------------------------------------------------------ authentication

    /// Who sent these request headers: `Ok(None)` when they carry no credentials, an
    /// `Unauthorized` error when they carry credentials that are not (or no longer) valid.
    /// An API key wins over a bearer token, which wins over the cookie.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Option<Principal>> {
        let token = match credential_source(headers) {
            CredentialSource::None => return Ok(None),
            CredentialSource::ApiKey => {
                let key = headers
                    .get(API_KEY_HEADER)
                    .and_then(|key| key.to_str().ok())
                    .ok_or_else(|| AppError::unauthorized("The API key is not valid."))?;
                return Ok(Some(self.authenticate_api_key(key).await?));
            }
            CredentialSource::Bearer => bearer_token(headers),
            CredentialSource::Cookies => cookie_value(headers, ACCESS_COOKIE),
        };
        match token {
            Some(token) => Ok(Some(self.authenticate_access_token(&token).await?)),
            None => Ok(None),
        }
    }

    /// Checks an access token: signature, expiry, deny-list, session and account still valid.
    pub async fn authenticate_access_token(&self, token: &str) -> Result<Principal> {
        self.check_access_token(token, true).await
    }

    /// [`Self::authenticate_access_token`] reading the database whatever was remembered: for a
    /// socket that heard of a change, since a check made just before the change committed may
    /// be remembered (see [`access_cache`]).
    pub async fn authenticate_access_token_afresh(&self, token: &str) -> Result<Principal> {
        self.check_access_token(token, false).await
    }

    async fn check_access_token(&self, token: &str, remembered: bool) -> Result<Principal> {
        let claims = self
            .keys
            .verify(token, TokenType::Access)
            .map_err(|e| match e {
                TokenError::Expired | TokenError::Invalid => AppError::unauthorized(e.to_string()),
            })?;
        if remembered && let Some(user) = self.access_cache.get(&claims.jti) {
            return Ok(Principal::User(user));
        }
        let generation = access_cache::generation();
        let principal = self.principal_for(claims).await?;
        if let Principal::User(user) = &principal {
            self.access_cache.remember(user, generation);
        }
        Ok(principal)
    }

    async fn principal_for(&self, claims: Claims) -> Result<Principal> {
        // Every authenticated request comes through here: one statement.
        let (revoked, user) = self
            .active_user(claims.user_id, Some(&claims.jti), claims.sid.as_deref())
            .await?;
        if revoked {
            return Err(
                AppError::unauthorized("The session has ended. Please sign in again.").into(),
            );
        }
        Ok(Principal::User(UserPrincipal {
            token_expires_at: claims.expires_at(),
            user,
            session_id: claims.sid,
            token_id: claims.jti,
        }))
    }

    /// The user with their roles, if active, and whether their role requires a second factor
    /// they lack.
    async fn load_active_user(&self, id: i64) -> Result<SessionUser> {
        Ok(self.active_user(id, None, None).await?.1)
    }

    /// The active user `id` (401 if deleted or deactivated), after whether token `jti` or
    /// its session `session_id` (when given) was revoked.
    async fn active_user(
        &self,
        id: i64,
        jti: Option<&str>,
        session_id: Option<&str>,
    ) -> Result<(bool, SessionUser)> {
        let mut pooled = self.db.acquire().await?;
        let check = sessions::access_check(&mut pooled.conn(), id, jti, session_id)
            .await?
            .ok_or_else(|| AppError::unauthorized(ACCOUNT_GONE))?;
        let revoked = check.token_revoked || check.session_ended;
        let user = SessionUser {
            id,
            email: check.email,
            full_name: check.full_name,
            roles: users::parse_grants(check.grants.as_deref().unwrap_or_default()),
            must_set_up_second_factor: check.second_factor == "none"
                && check.second_factor_required,
        };
        Ok((revoked, user))
    }

    /// The active user with this id, with their roles.
    pub async fn session_user(&self, id: i64) -> Result<Option<SessionUser>> {
        match self.load_active_user(id).await {
            Ok(user) => Ok(Some(user)),
            Err(crate::Error::App(e)) if e.kind == ErrorKind::Unauthorized => Ok(None),
            Err(other) => Err(other),
        }
    }

    // ------------------------------------------------------------------ passwords

    /// Changes the signed-in user's password after checking the current one; every other
    /// session of theirs ends.
    pub async fn change_password(
        &self,
        principal: &UserPrincipal,
        current: &str,
        new_password: &str,
    ) -> Result<()> {
        let user = {
            let mut pooled = self.db.acquire().await?;
            users::find_by_id(&mut pooled.conn(), principal.user.id)
                .await?
                .ok_or_else(|| AppError::not_found("User"))?
        };
        let current_ok = match &user.password_hash {
            Some(hash) => password::verify(hash, current).await?,
            None => false,
        };
        if !current_ok {
            return Err(AppError::invalid_field(
                "current_password",
                "is not your current password",
            )
            .into());
        }
        password::check_new(new_password, &user.email)
            .map_err(|p| AppError::invalid_field("new_password", p))?;
        if current == new_password {
            return Err(AppError::invalid_field(
                "new_password",
                "must differ from the current one",
            )
            .into());
        }
        let hash = password::hash(new_password).await?;
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        users::set_password(&mut tx.conn(), user.id, &hash, now).await?;
        sessions::revoke_all_of_user(
            &mut tx.conn(),
            user.id,
            principal.session_id.as_deref(),
            "password changed",
            now,
        )
        .await?;
        tx.commit().await?;
        self.mailer.send_in_background(Mail {
            to: user.email,
            subject: "Your TTS password was changed".into(),
            text: format!(
                "Hello {},\n\nthe password of your TTS account was just changed, and your other \
                 sessions were signed out. If this was not you, contact your administrator at once.\n",
                user.full_name
            ),
        });
        Ok(())
    }

    /// Sends a password-reset link (valid 30 minutes, single use) if the address belongs to an
    /// active account. The answer is the same either way, so it tells nobody which addresses
    /// exist; at most three links per account per hour.
    pub async fn request_password_reset(&self, email: &str) -> Result<()> {
        let email = normalize_email(email);
        domain::users::check_email(&email).map_err(|p| AppError::invalid_field("email", p))?;
        let now = Utc::now();
        let mut pooled = self.db.acquire().await?;
        let Some(user) = users::find_by_email(&mut pooled.conn(), &email)
            .await?
            .filter(|u| u.is_active)
        else {
            return Ok(());
        };
        let recent = security::count_codes_since(
            &mut pooled.conn(),
            user.id,
            PASSWORD_RESET,
            now - Duration::hours(1),
        )
        .await?;
        if recent >= 3 {
            tracing::info!(user_id = user.id, "password reset rate-limited");
            return Ok(());
        }
        let token = crypto::random_token(32);
        security::insert_code(
            &mut pooled.conn(),
            user.id,
            PASSWORD_RESET,
            &crypto::sha256_hex(token.as_bytes()),
            now,
            now + Duration::minutes(30),
        )
        .await?;
        drop(pooled);
        let link = format!(
            "{}/reset-password?token={token}",
            self.settings.public_url.trim_end_matches('/')
        );
        self.mailer
            .send(&Mail {
                to: user.email,
                subject: "Reset your TTS password".into(),
                text: format!(
                    "Hello {},\n\nsomeone asked to reset the password of your TTS account. To choose \
                     a new password, open this link within 30 minutes:\n\n  {link}\n\nThe link works \
                     once. If you did not ask for it, ignore this message: your password stays as it is.\n",
                    user.full_name
                ),
            })
            .await?;
        Ok(())
    }

    /// Sets a new password with a reset link's token: single use, unexpired. Every session of
    /// the user ends and the account is unlocked.
    pub async fn reset_password(&self, token: &str, new_password: &str) -> Result<()> {
        let invalid = || {
            AppError::new(
                ErrorKind::BadRequest,
                "This reset link is not valid any more. Ask for a new one.",
            )
        };
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        let code = security::code_by_hash(
            &mut tx.conn(),
            PASSWORD_RESET,
            &crypto::sha256_hex(token.trim().as_bytes()),
        )
        .await?
        .filter(|c| c.used_at.is_none() && c.expires_at > now)
        .ok_or_else(invalid)?;
        let user = users::find_by_id(&mut tx.conn(), code.user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or_else(invalid)?;
        password::check_new(new_password, &user.email)
            .map_err(|p| AppError::invalid_field("new_password", p))?;
        if !security::use_code(&mut tx.conn(), code.id, now).await? {
            return Err(invalid().into());
        }
        let hash = password::hash(new_password).await?;
        users::set_password(&mut tx.conn(), user.id, &hash, now).await?;
        security::invalidate_codes(&mut tx.conn(), user.id, PASSWORD_RESET, now).await?;
        sessions::revoke_all_of_user(&mut tx.conn(), user.id, None, "password reset", now).await?;
        tx.commit().await?;
        tracing::info!(user_id = user.id, "password reset");
        // The reset keeps the second factor (the reset link alone must not undo it), so the
        // owner is told it is there: one they did not put there is theirs to have removed.
        let factor = match domain::account::SecondFactorMethod::parse(&user.second_factor) {
            domain::account::SecondFactorMethod::None => String::new(),
            method => format!(
                "\n\nYour account's second factor ({}) is still in place. If you did not set it \
                 up yourself, ask your administrator to reset it.",
                method.label()
            ),
        };
        self.mailer.send_in_background(Mail {
            to: user.email,
            subject: "Your TTS password was reset".into(),
            text: format!(
                "Hello {},\n\nthe password of your TTS account was reset with a link sent to this \
                 address, and every session was signed out. If this was not you, contact your \
                 administrator at once.{factor}\n",
                user.full_name
            ),
        });
        Ok(())
    }

    // ------------------------------------------------------------------ cookies

    fn cookie(&self, name: &'static str, value: &str, lifetime: Duration) -> String {
        cookie::Cookie::build((name, value.to_owned()))
            .http_only(true)
            .secure(self.settings.secure_cookies)
            .same_site(cookie::SameSite::Lax)
            .path("/")
            .max_age(cookie::time::Duration::seconds(
                lifetime.num_seconds().max(0),
            ))
            .build()
            .to_string()
    }

    /// `Set-Cookie` values that store the tokens in the browser.
    pub fn session_cookies(&self, tokens: &IssuedTokens) -> Vec<String> {
        let mut cookies =
            vec![self.cookie(ACCESS_COOKIE, &tokens.access, self.settings.access_lifetime)];
        if let Some(refresh) = &tokens.refresh {
            cookies.push(self.cookie(REFRESH_COOKIE, refresh, self.settings.refresh_lifetime));
        }
        cookies
    }

    /// `Set-Cookie` values that remove the tokens.
    pub fn clear_session_cookies(&self) -> Vec<String> {
        vec![
            self.cookie(ACCESS_COOKIE, "", Duration::zero()),
            self.cookie(REFRESH_COOKIE, "", Duration::zero()),
        ]
    }

    /// The device cookie for a browser that has none (two years).
    pub fn device_cookie(&self, device_id: &str) -> String {
        self.cookie(DEVICE_COOKIE, device_id, Duration::days(730))
    }

    /// Whether a browser's access token should be renewed now: missing or expiring within
    /// three minutes (the browser session renews itself before it lapses).
    pub fn access_needs_renewal(&self, access_token: Option<&str>) -> bool {
        match access_token {
            None => true,
            Some(token) => match self.keys.verify(token, TokenType::Access) {
                Ok(claims) => claims.expires_at() - Utc::now() < Duration::minutes(3),
                Err(TokenError::Expired) => true,
                Err(TokenError::Invalid) => false,
            },
        }
    }

    pub(crate) fn keys(&self) -> &TokenKeys {
        &self.keys
    }

    pub(crate) fn secret_box(&self) -> &crypto::SecretBox {
        &self.secret_box
    }

    pub(crate) async fn record_second_factor_failure(&self, user_id: i64) -> Result<()> {
        let user = {
            let mut pooled = self.db.acquire().await?;
            users::find_by_id(&mut pooled.conn(), user_id).await?
        };
        if let Some(user) = user {
            self.record_failure(&user, Utc::now()).await?;
        }
        Ok(())
    }
}

const PASSWORD_RESET: &str = "password_reset";

/// Deletes what can no longer matter: revoked tokens past expiry, old sessions, expired codes.
/// Safe to run from every replica at once.
pub async fn prune_expired(db: &Db) -> Result<u64> {
    let now = Utc::now();
    let mut pooled = db.acquire().await?;
    let sessions_and_tokens = sessions::prune(&mut pooled.conn(), now).await?;
    let codes = security::prune_codes(&mut pooled.conn(), now - Duration::days(1)).await?;
    Ok(sessions_and_tokens + codes)
}

fn locked_error(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> AppError {
    let minutes = until
        .map_or(15, |until| ((until - now).num_seconds() + 59) / 60)
        .max(1);
    AppError::new(
        ErrorKind::Forbidden,
        format!(
            "This account is locked after too many failed sign-ins. Try again in {minutes} \
             minute{}, or ask an administrator to unlock it.",
            if minutes == 1 { "" } else { "s" }
        ),
    )
}

fn deactivated_error() -> AppError {
    AppError::new(
        ErrorKind::Forbidden,
        "This account is deactivated. Ask an administrator to reactivate it.",
    )
}

fn truncate(text: &str, max_chars: usize) -> String {
    text.chars().take(max_chars).collect()
}

/// E-mail addresses are compared without surrounding spaces and letter case.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// The name of the browser-session cookie (tower-sessions' server-side state).
pub const BROWSER_SESSION_COOKIE: &str = "tts_session";

/// What a request's credentials are, read once for every door: authentication takes the
/// credentials from here, and the cross-site checks apply exactly when they are cookies (a
/// page on another site can make a browser send its cookies, never a header of its choosing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    /// `X-API-Key`: wins over everything else.
    ApiKey,
    /// `Authorization: Bearer …`.
    Bearer,
    /// The session cookies (access, refresh or browser session), including a request with
    /// another `Authorization` scheme: that header authenticates nothing.
    Cookies,
    None,
}

pub fn credential_source(headers: &HeaderMap) -> CredentialSource {
    if headers.contains_key(API_KEY_HEADER) {
        CredentialSource::ApiKey
    } else if bearer_token(headers).is_some() {
        CredentialSource::Bearer
    } else if [ACCESS_COOKIE, REFRESH_COOKIE, BROWSER_SESSION_COOKIE]
        .iter()
        .any(|name| cookie_value(headers, name).is_some())
    {
        CredentialSource::Cookies
    } else {
        CredentialSource::None
    }
}

/// The access token a request authenticates with (a bearer token, or the access cookie), as
/// [`credential_source`] reads them; `None` for an API key or no credentials.
pub fn access_token_of(headers: &HeaderMap) -> Option<String> {
    match credential_source(headers) {
        CredentialSource::Bearer => bearer_token(headers),
        CredentialSource::Cookies => cookie_value(headers, ACCESS_COOKIE),
        CredentialSource::ApiKey | CredentialSource::None => None,
    }
}

/// The bearer token of an `Authorization` header, if any.
pub fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// A cookie's value from the request headers, if present and not empty.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(std::result::Result::ok)
        .find(|c| c.name() == name && !c.value().is_empty())
        .map(|c| c.value().to_owned())
}

/// Whether `user` holds a TTS role of at least `role`; used where a rule concerns a person
/// other than the caller (for example "at least one administrator remains").
pub fn holds(user: &SessionUser, role: SystemRole) -> bool {
    user.roles
        .iter()
        .any(|g| g.system == System::Tts && g.role >= role)
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
        assert_eq!(credential_source(&headers), CredentialSource::Bearer);
        // Another scheme authenticates nothing: the cookies do, and count as cookies.
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        assert_eq!(credential_source(&headers), CredentialSource::Cookies);
        headers.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(credential_source(&headers), CredentialSource::Cookies);
        headers.insert(API_KEY_HEADER, HeaderValue::from_static("tts_x_y"));
        assert_eq!(credential_source(&headers), CredentialSource::ApiKey);
        assert_eq!(credential_source(&HeaderMap::new()), CredentialSource::None);
    }

    #[test]
    fn the_lock_message_counts_minutes_up() {
        let now = Utc::now();
        let message = locked_error(Some(now + Duration::seconds(61)), now).message;
        assert!(message.contains("2 minutes"), "{message}");
        let message = locked_error(Some(now + Duration::seconds(5)), now).message;
        assert!(message.contains("1 minute,"), "{message}");
    }
}
