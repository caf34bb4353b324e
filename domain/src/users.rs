//! Users as lists and forms see them, and the rules their fields follow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::roles::RoleGrant;

/// A user as administrators see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub full_name: String,
    pub is_active: bool,
    pub roles: Vec<RoleGrant>,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// Locked after failed sign-ins, until this time.
    pub locked_until: Option<DateTime<Utc>>,
    pub second_factor: crate::account::SecondFactorMethod,
    /// Has never set a password (invited).
    pub invited: bool,
    /// The workflow roles they belong to.
    pub workflow_roles: Vec<String>,
}

impl UserSummary {
    pub fn tts_role(&self) -> crate::SystemRole {
        self.roles
            .iter()
            .find(|g| g.system == crate::System::Tts)
            .map_or(crate::SystemRole::Employee, |g| g.role)
    }

    pub fn is_locked(&self, now: DateTime<Utc>) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

pub use crate::Page;

pub const MIN_PASSWORD_LENGTH: usize = 10;
pub const MAX_PASSWORD_LENGTH: usize = 256;
pub const MAX_NAME_LENGTH: usize = 200;
pub const MAX_EMAIL_LENGTH: usize = 254;

/// Checks the shape of an e-mail address (already trimmed and lower-cased): something before
/// one `@`, a domain with a dot after it, no spaces. Whether it receives mail is another matter.
pub fn check_email(email: &str) -> Result<(), String> {
    if email.is_empty() {
        return Err("is required".into());
    }
    if email.len() > MAX_EMAIL_LENGTH {
        return Err(format!("must be at most {MAX_EMAIL_LENGTH} characters"));
    }
    let valid = match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(())
    } else {
        Err("is not a valid e-mail address".into())
    }
}

/// Checks a new password's length. (The list of common passwords is checked by the server.)
pub fn check_password(password: &str) -> Result<(), String> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        return Err(format!("must be at least {MIN_PASSWORD_LENGTH} characters"));
    }
    if length > MAX_PASSWORD_LENGTH {
        return Err(format!("must be at most {MAX_PASSWORD_LENGTH} characters"));
    }
    Ok(())
}

pub fn check_full_name(name: &str) -> Result<(), String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("is required".into());
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(format!("must be at most {MAX_NAME_LENGTH} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_shapes() {
        assert!(check_email("ada@example.com").is_ok());
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a b@example.com",
            "a@b@c.d",
            "a@.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn password_length_is_counted_in_characters() {
        assert!(check_password("short").is_err());
        assert!(check_password("ünïcödé-10").is_ok());
        assert!(check_password(&"x".repeat(257)).is_err());
    }

    #[test]
    fn names_are_required_and_bounded() {
        assert!(check_full_name("  ").is_err());
        assert!(check_full_name("Ada\u{0}").is_err());
        assert!(check_full_name("Ada Lovelace").is_ok());
    }
}
