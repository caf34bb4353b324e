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

/// The kinds of notification TTS sends, with the names people read. A user chooses per kind
/// whether it also comes by e-mail.
pub const KINDS: [(&str, &str); 8] = [
    ("task.assigned", "A task is assigned to me"),
    ("comment.posted", "A comment on a ticket I follow"),
    ("comment.mention", "Someone mentions me"),
    ("sla.warning", "An SLA is about to run out"),
    ("sla.breached", "An SLA ran out"),
    ("ticket.resolved", "My ticket is resolved"),
    ("triage.waiting", "A ticket waits in triage"),
    (
        "system.notice",
        "Notices from administrators and other systems",
    ),
];

/// The name people read for a kind (the kind itself if it is not one of [`KINDS`]).
pub fn kind_label(kind: &str) -> &str {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(kind, |(_, label)| label)
}

/// One kind and whether it comes by e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KindPreference {
    pub kind: String,
    /// Read-only: the kind's name for people.
    #[serde(default)]
    pub label: String,
    pub email: bool,
}

/// A user's notification settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NotificationPreferences {
    /// One e-mail a day listing everything, instead of one e-mail per notification.
    pub daily_digest: bool,
    pub kinds: Vec<KindPreference>,
}

/// One e-mail TTS tried to send, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EmailDelivery {
    pub id: i64,
    pub user_id: Option<i64>,
    pub to: String,
    pub kind: String,
    pub subject: String,
    /// `pending`, `sent`, `failed` (retried), `gave_up`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// A notification other systems (or admins) send: `POST /api/v1/notifications/send/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OutsideNotification {
    /// The user, by id or by e-mail address (one of the two).
    #[serde(default)]
    pub user_id: Option<i64>,
    #[serde(default)]
    pub email: Option<String>,
    /// One of the notification kinds; `system.notice` if absent. (The `subject`, `message` and
    /// `notification_type` names of the seed's Celery tasks are read as `title`, `body` and
    /// `kind`.)
    #[serde(default, alias = "notification_type")]
    pub kind: Option<String>,
    #[serde(alias = "subject")]
    pub title: String,
    #[serde(default, alias = "message")]
    pub body: String,
    /// A path in TTS (`/tickets/12`).
    #[serde(default)]
    pub link: Option<String>,
}
