//! Comments on tickets and the live protocol that carries them (`/ws/comments/{ticket_id}/`,
//! the seed's messages, plus presence and typing).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::tickets::{Attachment, PersonRef};

/// The longest comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 20_000;

/// A comment as every reader sees it. A deleted comment keeps its place in the thread (its
/// replies hang on it) with an empty text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Comment {
    pub id: i64,
    pub ticket_id: i64,
    /// The top-level comment this one answers.
    pub parent_id: Option<i64>,
    /// `None` once the author's account is gone.
    pub author: Option<PersonRef>,
    /// Markdown as written.
    pub text: String,
    /// The text rendered to safe HTML.
    pub html: String,
    /// Agents and admins only; never shown to the requester.
    pub is_internal: bool,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub thumbs_up: i64,
    pub thumbs_down: i64,
    /// The reader's own rating: 1, -1, or `None`. Broadcasts carry `None` (each socket's user
    /// is different); clients keep their own.
    pub my_rating: Option<i64>,
    pub attachments: Vec<Attachment>,
    /// The users the comment mentions (`@name`), who were notified.
    pub mentions: Vec<PersonRef>,
}

/// An earlier text of a comment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CommentRevision {
    pub text: String,
    pub replaced_by: Option<PersonRef>,
    pub replaced_at: DateTime<Utc>,
}

/// A new comment or reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    pub text: String,
    /// Answer to this comment (of the same ticket).
    #[serde(default)]
    pub parent_id: Option<i64>,
    /// An internal note (agents and admins only).
    #[serde(default)]
    pub is_internal: bool,
}

/// A thumbs-up, a thumbs-down, or taking one's rating back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Rating {
    Up,
    Down,
    None,
}

impl Rating {
    /// The stored value (`None` removes the row).
    pub fn value(self) -> Option<i64> {
        match self {
            Rating::Up => Some(1),
            Rating::Down => Some(-1),
            Rating::None => None,
        }
    }
}

/// What changed in a `comment_update` broadcast (the seed's `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommentAction {
    Create,
    Reply,
    Update,
    Delete,
    Rate,
    Attach,
}

/// Someone on the socket, for presence and typing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: i64,
    pub full_name: String,
}

/// Messages a client sends on `/ws/comments/{ticket_id}/` (the seed's, plus `typing`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    Ping {
        #[serde(default)]
        timestamp: serde_json::Value,
    },
    CommentCreate {
        text: String,
        #[serde(default)]
        is_internal: bool,
        #[serde(default)]
        parent_id: Option<i64>,
    },
    CommentReply {
        parent_id: i64,
        text: String,
        #[serde(default)]
        is_internal: bool,
    },
    CommentUpdate {
        comment_id: i64,
        text: String,
    },
    CommentDelete {
        comment_id: i64,
    },
    CommentRate {
        comment_id: i64,
        rating: Rating,
    },
    /// The user is typing (sent at most every few seconds while they type); `false` when they
    /// stop.
    Typing {
        #[serde(default = "yes")]
        is_typing: bool,
    },
}

fn yes() -> bool {
    true
}

impl ClientMessage {
    /// Every message type a client may send, as its `type` is written: the authorization
    /// matrix (`server/tests/authorization.rs`) tries each with every kind of caller.
    pub const KINDS: [&'static str; 7] = [
        "ping",
        "comment_create",
        "comment_reply",
        "comment_update",
        "comment_delete",
        "comment_rate",
        "typing",
    ];

    /// This message's `type`. (A new message type does not compile until it is named here,
    /// which is next to [`Self::KINDS`].)
    pub fn kind(&self) -> &'static str {
        match self {
            ClientMessage::Ping { .. } => "ping",
            ClientMessage::CommentCreate { .. } => "comment_create",
            ClientMessage::CommentReply { .. } => "comment_reply",
            ClientMessage::CommentUpdate { .. } => "comment_update",
            ClientMessage::CommentDelete { .. } => "comment_delete",
            ClientMessage::CommentRate { .. } => "comment_rate",
            ClientMessage::Typing { .. } => "typing",
        }
    }
}

/// Messages the server sends on `/ws/comments/{ticket_id}/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    ConnectionEstablished {
        ticket_id: i64,
    },
    Pong {
        timestamp: serde_json::Value,
    },
    CommentUpdate {
        action: CommentAction,
        comment: Box<Comment>,
    },
    /// Who has the ticket open now (each person once).
    Presence {
        viewers: Vec<Viewer>,
    },
    Typing {
        user: Viewer,
        is_typing: bool,
    },
    /// A message that could not be acted on; the socket stays open.
    Error {
        code: String,
        message: String,
    },
}

/// Messages the server sends on the user's `/ws/notifications/` socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NotificationMessage {
    ConnectionEstablished {
        unread: i64,
    },
    Notification {
        notification: crate::notifications::Notification,
        unread: i64,
    },
    /// Notifications were read elsewhere (another tab, the REST API).
    Unread {
        unread: i64,
    },
    Pong {
        timestamp: serde_json::Value,
    },
    Error {
        code: String,
        message: String,
    },
}

/// The `@mentions` in a comment's text: `@` then a handle of letters, digits, `.`, `_`, `-`
/// (an e-mail address's local part, such as `@sam` or `@fiona.clerk`), not inside a word
/// (`me@example.com` mentions no one). Lower-cased, each once, in order.
pub fn mention_handles(text: &str) -> Vec<String> {
    let mut handles = Vec::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let at_start = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '.');
        if chars[i] == '@' && at_start {
            let handle: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
                .collect();
            let handle = handle.trim_end_matches(['.', '-', '_']).to_lowercase();
            i += 1 + handle.chars().count();
            if !handle.is_empty() && !handles.contains(&handle) {
                handles.push(handle);
            }
        } else {
            i += 1;
        }
    }
    handles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_handles_after_an_at_sign_not_inside_addresses() {
        assert_eq!(
            mention_handles("@sam please check, cc @Fiona.Clerk."),
            ["sam", "fiona.clerk"]
        );
        assert_eq!(mention_handles("mail me@example.com"), Vec::<String>::new());
        assert_eq!(mention_handles("@sam and @sam again"), ["sam"]);
        assert_eq!(mention_handles("(@ana) @ @"), ["ana"]);
    }

    #[test]
    fn every_client_message_kind_is_listed() {
        for kind in ClientMessage::KINDS {
            // The least message of each kind: its required fields.
            let message: ClientMessage = serde_json::from_value(serde_json::json!({
                "type": kind, "text": "t", "parent_id": 1, "comment_id": 1, "rating": "up",
            }))
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert_eq!(message.kind(), kind);
        }
    }

    #[test]
    fn the_seed_protocol_reads_and_writes_as_documented() {
        let ping: ClientMessage =
            serde_json::from_str(r#"{"type":"ping","timestamp":1234567890}"#).unwrap();
        assert_eq!(
            ping,
            ClientMessage::Ping {
                timestamp: serde_json::json!(1234567890)
            }
        );
        let create: ClientMessage =
            serde_json::from_str(r#"{"type":"comment_create","text":"Hi"}"#).unwrap();
        assert!(matches!(create, ClientMessage::CommentCreate { ref text, .. } if text == "Hi"));
        let established =
            serde_json::to_value(ServerMessage::ConnectionEstablished { ticket_id: 123 }).unwrap();
        assert_eq!(
            established,
            serde_json::json!({"type": "connection_established", "ticket_id": 123})
        );
    }
}
