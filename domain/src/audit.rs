//! The audit log: who did what to which workflow, task, ticket or user, with the values
//! before and after, and when. Append-only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    pub id: i64,
    /// `user:12`, `api_key:3` or `system`.
    pub actor: String,
    /// The acting user's name, when a user acted.
    pub actor_name: Option<String>,
    /// `workflow.deployed`, `task.transitioned`, `ticket.status_changed`, …
    pub action: String,
    /// `workflow`, `task`, `ticket`, `user`, `role`.
    pub target_kind: String,
    pub target_id: Option<i64>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
    pub created_at: DateTime<Utc>,
}

/// Filters of the audit log; every one optional.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    pub actor_id: Option<i64>,
    /// An exact action, or a prefix ending in `.` (`task.`).
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<i64>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub page: Option<u32>,
    pub page_size: Option<u32>,
}
