//! In-app notifications as the bell and the REST API show them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: i64,
    /// `task.assigned`, `sla.warning`, `sla.breached`, `triage.waiting`, `ticket.resolved`, …
    pub kind: String,
    pub title: String,
    pub body: String,
    /// Where the notification leads in the application (`/tickets/12`).
    pub link: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}
