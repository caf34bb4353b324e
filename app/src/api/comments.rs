//! A ticket's comment thread for the ticket page: listing, posting (comments, replies,
//! internal notes), editing and deleting one's own, rating. Files reach a comment through the
//! REST multipart endpoint from the browser; live changes arrive on the ticket's WebSocket.

use domain::AppError;
use domain::comments::Comment;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use services::auth::policy::Permission;

/// The thread as the ticket page first shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommentThreadView {
    /// Oldest first; replies after their parent (the page nests them).
    pub comments: Vec<Comment>,
    /// The reader writes and sees internal notes (agents and admins).
    pub sees_internal: bool,
}

#[server(endpoint = "comments/list")]
pub async fn list_comments(ticket_id: i64) -> Result<CommentThreadView, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        let comments = services::comments::list(&services, &principal, ticket_id).await?;
        Ok(CommentThreadView {
            comments,
            sees_internal: services::comments::sees_internal(&principal),
        })
    })
    .await
}

/// Posts a comment, or a reply with `parent_id`; `is_internal` for an agent's note.
#[server(endpoint = "comments/post")]
pub async fn post_comment(
    ticket_id: i64,
    text: String,
    #[server(default)] parent_id: Option<i64>,
    #[server(default)] is_internal: bool,
) -> Result<Comment, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        let input = domain::comments::NewComment {
            text,
            parent_id,
            is_internal,
        };
        Ok(services::comments::post(&services, &principal, ticket_id, input).await?)
    })
    .await
}

/// Changes the text of one's own comment.
#[server(endpoint = "comments/edit")]
pub async fn edit_comment(id: i64, text: String) -> Result<Comment, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        Ok(services::comments::edit(&services, &principal, id, &text).await?)
    })
    .await
}

/// Deletes one's own comment (admins: any); the thread keeps its place.
#[server(endpoint = "comments/delete")]
pub async fn delete_comment(id: i64) -> Result<Comment, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        Ok(services::comments::delete(&services, &principal, id).await?)
    })
    .await
}

/// Rates a comment: `up`, `down`, or `none` to take one's rating back.
#[server(endpoint = "comments/rate")]
pub async fn rate_comment(id: i64, rating: String) -> Result<Comment, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let rating = match rating.as_str() {
            "up" => domain::comments::Rating::Up,
            "down" => domain::comments::Rating::Down,
            "none" => domain::comments::Rating::None,
            _ => {
                return Err(AppError::invalid_field(
                    "rating",
                    "must be up, down or none",
                ));
            }
        };
        let services = crate::ssr::services()?;
        Ok(services::comments::rate(&services, &principal, id, rating).await?)
    })
    .await
}
