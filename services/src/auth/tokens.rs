//! JWT access tokens (HS256). Claims carry `user_id`, `email`, `systems` and `roles`, as the
//! seeds' services read them, plus the registered `sub`, `iat`, `exp` and `jti`.

use chrono::{DateTime, Utc};
use domain::{RoleGrant, System};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

pub const ACCESS: &str = "access";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: String,
    pub user_id: i64,
    pub email: String,
    pub systems: Vec<System>,
    pub roles: Vec<RoleGrant>,
    pub token_type: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

/// Signs and checks tokens with one secret.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
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
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn issue(
        &self,
        user_id: i64,
        email: &str,
        roles: &[RoleGrant],
        token_type: &str,
        now: DateTime<Utc>,
        lifetime: chrono::Duration,
    ) -> anyhow::Result<String> {
        let mut systems: Vec<System> = roles.iter().map(|grant| grant.system).collect();
        systems.sort();
        systems.dedup();
        let claims = Claims {
            sub: user_id.to_string(),
            user_id,
            email: email.to_owned(),
            systems,
            roles: roles.to_vec(),
            token_type: token_type.to_owned(),
            iat: now.timestamp(),
            exp: (now + lifetime).timestamp(),
            jti: uuid::Uuid::new_v4().simple().to_string(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// Checks the signature, the algorithm (only HS256: `alg: none` and others are refused),
    /// the expiry (no leeway) and the token type.
    pub fn verify(&self, token: &str, token_type: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map_err(
            |e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            },
        )?;
        if data.claims.token_type != token_type {
            return Err(TokenError::Invalid);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::SystemRole;

    fn grants() -> Vec<RoleGrant> {
        vec![
            RoleGrant {
                system: System::Tts,
                role: SystemRole::Agent,
            },
            RoleGrant {
                system: System::Hdts,
                role: SystemRole::Employee,
            },
        ]
    }

    #[test]
    fn an_issued_token_verifies_and_carries_the_seed_claims() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let token = keys
            .issue(
                7,
                "a@b.c",
                &grants(),
                ACCESS,
                Utc::now(),
                chrono::Duration::minutes(15),
            )
            .unwrap();
        let claims = keys.verify(&token, ACCESS).unwrap();
        assert_eq!(claims.user_id, 7);
        assert_eq!(claims.systems, vec![System::Tts, System::Hdts]);
        assert_eq!(claims.exp - claims.iat, 900);
    }

    #[test]
    fn expired_tampered_wrong_key_and_wrong_type_tokens_are_refused() {
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        let old = Utc::now() - chrono::Duration::hours(1);
        let expired = keys
            .issue(1, "a@b.c", &[], ACCESS, old, chrono::Duration::minutes(15))
            .unwrap();
        assert_eq!(keys.verify(&expired, ACCESS), Err(TokenError::Expired));

        let good = keys
            .issue(
                1,
                "a@b.c",
                &[],
                ACCESS,
                Utc::now(),
                chrono::Duration::minutes(15),
            )
            .unwrap();
        let other = TokenKeys::new(b"another secret, another key.....");
        assert_eq!(other.verify(&good, ACCESS), Err(TokenError::Invalid));
        assert_eq!(keys.verify(&good, "refresh"), Err(TokenError::Invalid));

        let mut tampered = good.clone();
        tampered.insert(good.len() / 2, 'x');
        assert_eq!(keys.verify(&tampered, ACCESS), Err(TokenError::Invalid));
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
        let keys = TokenKeys::new(b"0123456789abcdef0123456789abcdef");
        assert_eq!(
            keys.verify(&format!("{header}.{body}."), ACCESS),
            Err(TokenError::Invalid)
        );
    }
}
