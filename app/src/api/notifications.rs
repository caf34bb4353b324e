//! The bell: the caller's latest in-app notifications and marking them read. New ones arrive
//! on the user's notification WebSocket.

use domain::AppError;
use domain::notifications::Notification;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use services::auth::policy::Permission;

/// How many notifications the bell lists.
pub const BELL_SIZE: usize = 15;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationsView {
    pub unread: i64,
    /// The latest, newest first.
    pub items: Vec<Notification>,
}

#[cfg(feature = "ssr")]
async fn view_of(user_id: i64) -> Result<NotificationsView, AppError> {
    let services = crate::ssr::services()?;
    let db = services.db();
    let mut items = services::notifications::list(db, user_id, false).await?;
    items.truncate(BELL_SIZE);
    Ok(NotificationsView {
        unread: services::notifications::unread_count(db, user_id).await?,
        items,
    })
}

#[server(endpoint = "notifications/list")]
pub async fn list_notifications() -> Result<NotificationsView, AppError> {
    crate::ssr::respond(async {
        let user = crate::ssr::require_user(Permission::OwnAccount).await?;
        view_of(user.user.id).await
    })
    .await
}

/// Marks one notification read, or all of them without `id`; the bell as it is then.
#[server(endpoint = "notifications/read")]
pub async fn mark_notifications_read(
    #[server(default)] id: Option<i64>,
) -> Result<NotificationsView, AppError> {
    crate::ssr::respond(async move {
        let user = crate::ssr::require_user(Permission::OwnAccount).await?;
        let services = crate::ssr::services()?;
        services::notifications::mark_read(&services, user.user.id, id).await?;
        view_of(user.user.id).await
    })
    .await
}
