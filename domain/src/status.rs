//! The health of a running TTS, as the admin overview shows it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SystemStatus {
    pub version: String,
    /// "SQLite" or "PostgreSQL".
    pub database: String,
    pub database_ok: bool,
    pub uptime_seconds: u64,
    pub users: i64,
    pub checked_at: DateTime<Utc>,
}
