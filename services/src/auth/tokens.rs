//! JWTs (HS256): access tokens (15 minutes), refresh tokens (1 day) and second-factor
//! challenges (5 minutes). Claims carry `user_id`, `email`, `systems` and `roles`, as the
//! seeds' services read them, plus `sub`, `iat`, `exp`, `jti`, the token type and the
//! session (`sid`) the token belongs to.
//!
//! Key rotation: tokens are signed with the current secret; a token signed with the previous
//! secret (`TTS_JWT_PREVIOUS_SECRET`) is still accepted until it expires.

use chrono::{DateTime, Duration, Utc};
use domain::{RoleGrant, System};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenType {
    Access,
    Refresh,
    /// Proof that the password was right, waiting for the second factor.
    Challenge,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub user_id: i64,
    pub email: String,
    pub systems: Vec<System>,
    pub roles: Vec<RoleGrant>,
    pub token_type: TokenType,
    /// The signed-in session (refresh-token family) the token belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

impl Claims {
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or_else(Utc::now)
    }
}

/// What a new token is for and about.
pub struct TokenSpec<'a> {
    pub user_id: i64,
    pub email: &'a str,
    pub roles: &'a [RoleGrant],
    pub token_type: TokenType,
    pub sid: Option<&'a str>,
    pub jti: Option<&'a str>,
    pub now: DateTime<Utc>,
    pub lifetime: Duration,
}

/// Signs with the current secret; verifies with the current or the previous one.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: Vec<DecodingKey>,
}

/// Why a token was refused; the message is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("The session has expired. Please sign in again.")]
    Expired,
    #[error("The token is not valid.")]
    Invalid,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self::with_previous(secret, None)
    }

    pub fn with_previous(secret: &[u8], previous: Option<&[u8]>) -> Self {
        let mut decoding = vec![DecodingKey::from_secret(secret)];
        decoding.extend(previous.map(DecodingKey::from_secret));
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding,
        }
    }

    pub fn issue(&self, spec: &TokenSpec<'_>) -> anyhow::Result<(String, Claims)> {
        let mut systems: Vec<System> = spec.roles.iter().map(|grant| grant.system).collect();
        systems.sort();
        systems.dedup();
        let claims = Claims {
            sub: spec.user_id.to_string(),
            user_id: spec.user_id,
            email: spec.email.to_owned(),
            systems,
            roles: spec.roles.to_vec(),
            token_type: spec.token_type,
            sid: spec.sid.map(str::to_owned),
            iat: spec.now.timestamp(),
            exp: (spec.now + spec.lifetime).timestamp(),
            jti: spec.jti.map_or_else(new_id, str::to_owned),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, claims))
    }

    /// Checks the signature (current key, then the previous one), the algorithm (only HS256:
    /// `alg: none` and others are refused), the expiry (no leeway) and the token type.
    pub fn verify(&self, token: &str, token_type: TokenType) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let mut outcome = Err(TokenError::Invalid);
        for key in &self.decoding {
            outcome = jsonwebtoken::decode::<Claims>(token, key, &validation)
                .map(|data| data.claims)
                .map_err(|e| match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                });
            if !matches!(outcome, Err(TokenError::Invalid)) {
                break;
            }
        }
        let claims = outcome?;
        if claims.token_type != token_type {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }
}

/// A random identifier (128 bits, hex).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::SystemRole;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn spec(token_type: TokenType, now: DateTime<Utc>) -> TokenSpec<'static> {
        TokenSpec {
            user_id: 7,
            email: "a@b.c",
            roles: &[
                RoleGrant {
                    system: System::Tts,
                    role: SystemRole::Agent,
                },
                RoleGrant {
                    system: System::Hdts,
                    role: SystemRole::Employee,
                },
            ],
            token_type,
            sid: Some("session-1"),
            jti: None,
            now,
            lifetime: Duration::minutes(15),
        }
    }

    #[test]
    fn an_issued_token_verifies_and_carries_the_seed_claims() {
        let keys = TokenKeys::new(SECRET);
        let (token, issued) = keys.issue(&spec(TokenType::Access, Utc::now())).unwrap();
        let claims = keys.verify(&token, TokenType::Access).unwrap();
        assert_eq!(claims, issued);
        assert_eq!(claims.user_id, 7);
        assert_eq!(claims.systems, vec![System::Tts, System::Hdts]);
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.sid.as_deref(), Some("session-1"));
    }

    #[test]
    fn expired_tampered_wrong_key_and_wrong_type_tokens_are_refused() {
        let keys = TokenKeys::new(SECRET);
        let old = Utc::now() - Duration::hours(1);
        let (expired, _) = keys.issue(&spec(TokenType::Access, old)).unwrap();
        assert_eq!(
            keys.verify(&expired, TokenType::Access),
            Err(TokenError::Expired)
        );

        let (good, _) = keys.issue(&spec(TokenType::Access, Utc::now())).unwrap();
        let other = TokenKeys::new(b"another secret, another key.....");
        assert_eq!(
            other.verify(&good, TokenType::Access),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            keys.verify(&good, TokenType::Refresh),
            Err(TokenError::Invalid)
        );

        let mut tampered = good.clone();
        tampered.insert(good.len() / 2, 'x');
        assert_eq!(
            keys.verify(&tampered, TokenType::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn tokens_of_the_previous_key_stay_valid_after_rotation() {
        let old_keys = TokenKeys::new(b"the old secret, before rotation!");
        let (token, _) = old_keys
            .issue(&spec(TokenType::Access, Utc::now()))
            .unwrap();
        let rotated = TokenKeys::with_previous(SECRET, Some(b"the old secret, before rotation!"));
        assert!(rotated.verify(&token, TokenType::Access).is_ok());
        let forgotten = TokenKeys::new(SECRET);
        assert_eq!(
            forgotten.verify(&token, TokenType::Access),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn alg_none_is_refused() {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let now = Utc::now().timestamp();
        let body = b64.encode(format!(
            r#"{{"sub":"1","user_id":1,"email":"a@b.c","systems":[],"roles":[],"token_type":"access","iat":{now},"exp":{},"jti":"x"}}"#,
            now + 600
        ));
        let keys = TokenKeys::new(SECRET);
        assert_eq!(
            keys.verify(&format!("{header}.{body}."), TokenType::Access),
            Err(TokenError::Invalid)
        );
    }
}
