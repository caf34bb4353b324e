//! The second factor: authenticator apps (TOTP, RFC 6238: SHA-1, 6 digits, 30 s, one step of
//! clock drift either way), one-time codes by e-mail, and recovery codes.

use chrono::{Duration, Utc};
use domain::account::{SecondFactorMethod, SecondFactorStatus, TotpEnrolment};
use domain::{AppError, ErrorKind};
use totp_rs::{Algorithm, Secret, TOTP};

use super::policy::UserPrincipal;
use super::tokens::TokenType;
use super::{AuthService, ClientInfo, IssuedTokens, crypto, password};
use crate::db::{security, users};
use crate::error::Result;
use crate::mail::Mail;

const SIGN_IN: &str = "sign_in";
const RECOVERY_CODES: usize = 10;
const CODE_ATTEMPTS: i64 = 5;

fn totp(secret: Vec<u8>, account: &str) -> anyhow::Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some("TTS".to_owned()),
        account.replace(':', ""),
    )
    .map_err(|e| anyhow::anyhow!("TOTP setup: {e}"))
}

fn secret_bytes(base32: &str) -> Option<Vec<u8>> {
    Secret::Encoded(base32.trim().replace(' ', "").to_uppercase())
        .to_bytes()
        .ok()
}

/// Checks a 6-digit code against a base32 secret, now (with one step of drift).
pub fn totp_code_is_valid(base32_secret: &str, code: &str) -> bool {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return false;
    }
    let Some(bytes) = secret_bytes(base32_secret) else {
        return false;
    };
    totp(bytes, "user").is_ok_and(|t| t.check_current(&code).unwrap_or(false))
}

/// The code an authenticator app shows now (for tests and tools).
pub fn current_totp_code(base32_secret: &str) -> Option<String> {
    let bytes = secret_bytes(base32_secret)?;
    let now = u64::try_from(Utc::now().timestamp()).ok()?;
    Some(totp(bytes, "user").ok()?.generate(now))
}

/// Recovery codes look like `k7dq-29xm`; compared without the dash and letter case.
fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase()
}

fn new_recovery_codes() -> Vec<String> {
    use rand::Rng as _;
    // No 0/o, 1/l/i: codes are read off paper.
    const ALPHABET: &[u8] = b"23456789abcdefghjkmnpqrstuvwxyz";
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let chars: String = (0..8)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect();
            format!("{}-{}", &chars[..4], &chars[4..])
        })
        .collect()
}

impl AuthService {
    /// Completes a sign-in waiting for its second factor: a TOTP code, an e-mailed code, or a
    /// recovery code (used up). Wrong codes count towards the account lockout.
    pub async fn complete_second_factor(
        &self,
        challenge: &str,
        code: &str,
        client: &ClientInfo,
    ) -> Result<IssuedTokens> {
        let claims = self
            .keys()
            .verify(challenge, TokenType::Challenge)
            .map_err(|_| {
                AppError::unauthorized("The sign-in took too long. Please start again.")
            })?;
        let code = code.trim();
        if code.is_empty() {
            return Err(AppError::invalid_field("code", "is required").into());
        }
        let now = Utc::now();
        let user = {
            let mut pooled = self.db().acquire().await?;
            users::find_by_id(&mut pooled.conn(), claims.user_id)
                .await?
                .filter(|u| u.is_active)
                .ok_or_else(|| AppError::unauthorized("This account is not available."))?
        };
        if user.is_locked(now) {
            return Err(super::locked_error(user.locked_until, now).into());
        }
        // Each challenge serves once: a second use is refused even with a good code.
        {
            let mut pooled = self.db().acquire().await?;
            if crate::db::sessions::is_access_revoked(&mut pooled.conn(), &claims.jti).await? {
                return Err(AppError::unauthorized(
                    "The sign-in took too long. Please start again.",
                )
                .into());
            }
        }

        let accepted = match SecondFactorMethod::parse(&user.second_factor) {
            SecondFactorMethod::Totp => {
                let secret = user
                    .totp_secret
                    .as_deref()
                    .and_then(|s| self.secret_box().open(s));
                match secret {
                    Some(secret) if totp_code_is_valid(&secret, code) => true,
                    _ => self.use_recovery_code(user.id, code).await?,
                }
            }
            SecondFactorMethod::Email => {
                self.check_emailed_code(user.id, code).await?
                    || self.use_recovery_code(user.id, code).await?
            }
            SecondFactorMethod::None => true,
        };
        if !accepted {
            self.record_second_factor_failure(user.id).await?;
            return Err(AppError::invalid_field("code", "is not correct").into());
        }
        {
            let mut pooled = self.db().acquire().await?;
            crate::db::sessions::revoke_access(
                &mut pooled.conn(),
                user.id,
                &claims.jti,
                claims.expires_at(),
            )
            .await?;
        }
        self.open_session(user.id, client).await
    }

    async fn use_recovery_code(&self, user_id: i64, code: &str) -> Result<bool> {
        let normalized = normalize_recovery_code(code);
        if normalized.len() != 8 {
            return Ok(false);
        }
        let mut pooled = self.db().acquire().await?;
        let used = security::use_recovery_code(
            &mut pooled.conn(),
            user_id,
            &crypto::sha256_hex(normalized.as_bytes()),
            Utc::now(),
        )
        .await?;
        if used {
            tracing::info!(user_id, "recovery code used");
        }
        Ok(used)
    }

    /// Sends a 6-digit sign-in code by e-mail (valid 10 minutes, 5 tries).
    pub(crate) async fn send_sign_in_code(&self, user_id: i64, email: &str) -> Result<()> {
        let now = Utc::now();
        let code = crypto::random_digits(6);
        {
            let mut tx = self.db().begin().await?;
            let recent = security::count_codes_since(
                &mut tx.conn(),
                user_id,
                SIGN_IN,
                now - Duration::minutes(15),
            )
            .await?;
            if recent >= 5 {
                return Err(AppError::new(
                    ErrorKind::RateLimited,
                    "Too many codes were sent. Wait a few minutes and try again.",
                )
                .into());
            }
            security::invalidate_codes(&mut tx.conn(), user_id, SIGN_IN, now).await?;
            security::insert_code(
                &mut tx.conn(),
                user_id,
                SIGN_IN,
                &crypto::sha256_hex(code.as_bytes()),
                now,
                now + Duration::minutes(10),
            )
            .await?;
            tx.commit().await?;
        }
        self.mailer()
            .send(&Mail {
                to: email.to_owned(),
                subject: format!("Your TTS sign-in code: {code}"),
                text: format!(
                    "Your TTS sign-in code is\n\n  {code}\n\nIt is valid for 10 minutes. If you did \
                     not try to sign in, someone knows your password: change it.\n"
                ),
            })
            .await?;
        Ok(())
    }

    async fn check_emailed_code(&self, user_id: i64, code: &str) -> Result<bool> {
        let now = Utc::now();
        let mut tx = self.db().begin().await?;
        let Some(stored) = security::latest_code(&mut tx.conn(), user_id, SIGN_IN, now).await?
        else {
            return Ok(false);
        };
        if stored.attempts >= CODE_ATTEMPTS {
            return Ok(false);
        }
        let matches = stored.code_hash == crypto::sha256_hex(code.as_bytes());
        let accepted = if matches {
            security::use_code(&mut tx.conn(), stored.id, now).await?
        } else {
            security::count_attempt(&mut tx.conn(), stored.id).await?;
            false
        };
        tx.commit().await?;
        Ok(accepted)
    }

    /// What second factor the user has, and whether their role requires one.
    pub async fn second_factor_status(&self, user: &UserPrincipal) -> Result<SecondFactorStatus> {
        let mut pooled = self.db().acquire().await?;
        let row = users::find_by_id(&mut pooled.conn(), user.user.id)
            .await?
            .ok_or_else(|| AppError::not_found("User"))?;
        let left = security::remaining_recovery_codes(&mut pooled.conn(), user.user.id).await?;
        let required =
            security::second_factor_required(&mut pooled.conn(), user.user.tts_role()).await?;
        Ok(SecondFactorStatus {
            method: SecondFactorMethod::parse(&row.second_factor),
            recovery_codes_left: left,
            required,
        })
    }

    /// A new TOTP secret to add to an authenticator app. Nothing is stored until
    /// [`AuthService::confirm_totp`] proves the app produces the right codes.
    pub fn begin_totp(&self, user: &UserPrincipal) -> Result<TotpEnrolment> {
        let bytes = crypto::random_bytes(20);
        let secret = match Secret::Raw(bytes.clone()).to_encoded() {
            Secret::Encoded(text) => text,
            Secret::Raw(_) => return Err(anyhow::anyhow!("base32 encoding failed").into()),
        };
        let otpauth_url = totp(bytes, &user.user.email)?.get_url();
        let qr = qrcode::QrCode::new(otpauth_url.as_bytes())
            .map_err(|e| anyhow::anyhow!("QR code: {e}"))?;
        let qr_svg = qr
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build();
        Ok(TotpEnrolment {
            secret,
            otpauth_url,
            qr_svg,
        })
    }

    /// Turns on TOTP with `secret` if `code` matches it and `current_password` is the user's;
    /// returns fresh recovery codes (shown once). The password: a stolen access token alone
    /// must not be able to put its thief's factor on the account.
    pub async fn confirm_totp(
        &self,
        user: &UserPrincipal,
        secret: &str,
        code: &str,
        current_password: &str,
    ) -> Result<Vec<String>> {
        self.check_password_of(user.user.id, current_password)
            .await?;
        if secret_bytes(secret).is_none_or(|b| b.len() < 16) {
            return Err(AppError::invalid_field("secret", "is not a valid TOTP secret").into());
        }
        if !totp_code_is_valid(secret, code) {
            return Err(AppError::invalid_field(
                "code",
                "does not match: check the time on your phone and try the newest code",
            )
            .into());
        }
        let sealed = self.secret_box().seal(&secret.trim().to_uppercase())?;
        self.turn_on(user, SecondFactorMethod::Totp, Some(&sealed))
            .await
    }

    /// Starts e-mail codes as the second factor by sending a first code to confirm.
    pub async fn begin_email_codes(&self, user: &UserPrincipal) -> Result<()> {
        self.send_sign_in_code(user.user.id, &user.user.email).await
    }

    /// Turns on e-mail codes if `code` is the one just sent and `current_password` is the
    /// user's; returns fresh recovery codes.
    pub async fn confirm_email_codes(
        &self,
        user: &UserPrincipal,
        code: &str,
        current_password: &str,
    ) -> Result<Vec<String>> {
        self.check_password_of(user.user.id, current_password)
            .await?;
        if !self.check_emailed_code(user.user.id, code.trim()).await? {
            return Err(AppError::invalid_field("code", "is not correct or has expired").into());
        }
        self.turn_on(user, SecondFactorMethod::Email, None).await
    }

    /// Turns the factor on, with new recovery codes, and tells the owner by e-mail: a factor
    /// someone else put on the account does not go unnoticed.
    async fn turn_on(
        &self,
        user: &UserPrincipal,
        method: SecondFactorMethod,
        sealed_secret: Option<&str>,
    ) -> Result<Vec<String>> {
        let user_id = user.user.id;
        let codes = new_recovery_codes();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| crypto::sha256_hex(normalize_recovery_code(c).as_bytes()))
            .collect();
        let now = Utc::now();
        let mut tx = self.db().begin().await?;
        users::set_second_factor(&mut tx.conn(), user_id, method.as_str(), sealed_secret, now)
            .await?;
        security::replace_recovery_codes(&mut tx.conn(), user_id, &hashes).await?;
        tx.commit().await?;
        tracing::info!(user_id, method = method.as_str(), "second factor turned on");
        self.mailer().send_in_background(Mail {
            to: user.user.email.clone(),
            subject: "A second factor was added to your TTS account".into(),
            text: format!(
                "Hello {},\n\n{} now protects your TTS account as its second factor, and new \
                 recovery codes replaced any earlier ones.\n\nIf this was not you, reset your \
                 password at once and ask your administrator to reset your second factor.\n",
                user.user.full_name,
                method_phrase(method),
            ),
        });
        Ok(codes)
    }

    /// New recovery codes, replacing the old ones (after checking the password).
    pub async fn regenerate_recovery_codes(
        &self,
        user: &UserPrincipal,
        current_password: &str,
    ) -> Result<Vec<String>> {
        self.check_password_of(user.user.id, current_password)
            .await?;
        let status = self.second_factor_status(user).await?;
        if status.method == SecondFactorMethod::None {
            return Err(
                AppError::new(ErrorKind::Unprocessable, "Turn on a second factor first.").into(),
            );
        }
        let codes = new_recovery_codes();
        let hashes: Vec<String> = codes
            .iter()
            .map(|c| crypto::sha256_hex(normalize_recovery_code(c).as_bytes()))
            .collect();
        let mut pooled = self.db().acquire().await?;
        security::replace_recovery_codes(&mut pooled.conn(), user.user.id, &hashes).await?;
        Ok(codes)
    }

    /// Turns the second factor off (after checking the password), unless the role requires one.
    pub async fn disable_second_factor(
        &self,
        user: &UserPrincipal,
        current_password: &str,
    ) -> Result<()> {
        self.check_password_of(user.user.id, current_password)
            .await?;
        let status = self.second_factor_status(user).await?;
        if status.required {
            return Err(AppError::new(
                ErrorKind::Unprocessable,
                "Your role requires a second factor; you can switch methods but not turn it off.",
            )
            .into());
        }
        self.clear_second_factor(user.user.id).await
    }

    /// Removes a user's second factor and recovery codes (their own choice, or an
    /// administrator's reset for someone who lost their phone).
    pub async fn clear_second_factor(&self, user_id: i64) -> Result<()> {
        let now = Utc::now();
        let mut tx = self.db().begin().await?;
        users::set_second_factor(&mut tx.conn(), user_id, "none", None, now).await?;
        security::delete_recovery_codes(&mut tx.conn(), user_id).await?;
        tx.commit().await?;
        tracing::info!(user_id, "second factor removed");
        Ok(())
    }

    async fn check_password_of(&self, user_id: i64, candidate: &str) -> Result<()> {
        let hash = {
            let mut pooled = self.db().acquire().await?;
            users::find_by_id(&mut pooled.conn(), user_id)
                .await?
                .and_then(|u| u.password_hash)
        };
        let ok = match hash {
            Some(hash) => password::verify(&hash, candidate).await?,
            None => false,
        };
        if ok {
            Ok(())
        } else {
            Err(AppError::invalid_field("current_password", "is not your current password").into())
        }
    }
}

/// How an e-mail names a second-factor method.
fn method_phrase(method: SecondFactorMethod) -> &'static str {
    match method {
        SecondFactorMethod::Totp => "An authenticator app",
        SecondFactorMethod::Email => "A code sent by e-mail",
        SecondFactorMethod::None => "Nothing",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_code_verifies_and_a_wrong_one_does_not() {
        let secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
        let code = current_totp_code(secret).unwrap();
        assert!(totp_code_is_valid(secret, &code));
        assert!(totp_code_is_valid(
            secret,
            &format!("{} {}", &code[..3], &code[3..])
        ));
        let wrong = if code == "000000" { "111111" } else { "000000" };
        assert!(!totp_code_is_valid(secret, wrong));
        assert!(!totp_code_is_valid(secret, "12345"));
        assert!(!totp_code_is_valid("not base32!", &code));
    }

    #[test]
    fn recovery_codes_are_distinct_and_readable() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        let unique: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), 10);
        assert!(codes.iter().all(|c| c.len() == 9 && &c[4..5] == "-"));
        assert_eq!(normalize_recovery_code("K7DQ-29XM"), "k7dq29xm");
    }
}
