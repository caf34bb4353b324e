//! Accounts and access as the UI and the REST API show them: sessions, second factor, API
//! keys, workflow roles.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How a user proves the second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum SecondFactorMethod {
    None,
    /// An authenticator app (time-based one-time passwords).
    Totp,
    /// One-time codes sent by e-mail.
    Email,
}

impl SecondFactorMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SecondFactorMethod::None => "none",
            SecondFactorMethod::Totp => "totp",
            SecondFactorMethod::Email => "email",
        }
    }

    /// Reads the stored name; anything unknown counts as none.
    pub fn parse(value: &str) -> SecondFactorMethod {
        match value {
            "totp" => SecondFactorMethod::Totp,
            "email" => SecondFactorMethod::Email,
            _ => SecondFactorMethod::None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SecondFactorMethod::None => "Off",
            SecondFactorMethod::Totp => "Authenticator app",
            SecondFactorMethod::Email => "Codes by e-mail",
        }
    }
}

/// A signed-in device of the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ActiveSession {
    pub id: String,
    pub user_agent: String,
    pub ip: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// The session this request comes from.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SecondFactorStatus {
    pub method: SecondFactorMethod,
    pub recovery_codes_left: i64,
    /// The user's role requires a second factor.
    pub required: bool,
}

/// A TOTP secret being set up: shown once, confirmed with a first code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TotpEnrolment {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    pub otpauth_url: String,
    /// The same URL as a QR code, an SVG document.
    pub qr_svg: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiKeySummary {
    pub id: i64,
    pub name: String,
    /// The public start of the key, to recognise it.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new API key: the only time its secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    pub key: String,
    pub summary: ApiKeySummary,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowRole {
    pub id: i64,
    pub name: String,
    pub description: String,
    /// How the role hands out work: round robin (default) or least loaded.
    pub assignment: crate::tasks::AssignmentStrategy,
    pub member_count: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleMember {
    pub user_id: i64,
    pub email: String,
    pub full_name: String,
    /// Active in this role (an inactive member keeps the membership but gets no work).
    pub is_active: bool,
    /// The account itself is active.
    pub user_is_active: bool,
    pub added_at: DateTime<Utc>,
}

/// Whether a role's holders must use a second factor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RolePolicy {
    pub role: crate::SystemRole,
    pub require_second_factor: bool,
}
