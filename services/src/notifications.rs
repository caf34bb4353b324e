//! In-app notifications: written in the transaction of what caused them, read by the bell.
//! (E-mail delivery, preferences and the live push come with the messaging stage.)

use chrono::{DateTime, Utc};
use domain::notifications::Notification;

use crate::db::notifications::{self as rows, NewNotification};
use crate::db::{Conn, Db, tasks};
use crate::error::Result;

/// What a notification says and where it leads.
pub struct Notice<'a> {
    pub kind: &'a str,
    pub title: String,
    pub body: String,
    pub link: Option<String>,
    /// Set for notifications that must go out once (per item and kind, say).
    pub dedupe_key: Option<String>,
}

/// Notifies one user inside the caller's transaction, and queues its e-mail (sent or not by
/// the user's choices when its turn comes); false if a notification with the same key was
/// already sent.
pub async fn notify(
    conn: &mut Conn<'_>,
    user_id: i64,
    notice: &Notice<'_>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = rows::insert(
        conn,
        &NewNotification {
            user_id,
            kind: notice.kind,
            title: &notice.title,
            body: &notice.body,
            link: notice.link.as_deref(),
            dedupe_key: notice.dedupe_key.as_deref(),
            now,
        },
    )
    .await?;
    match inserted {
        Some(id) => {
            crate::email::queue_for_notification(conn, id, now).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Notifies every active TTS admin (each gets the key suffixed with their id).
pub async fn notify_admins(
    conn: &mut Conn<'_>,
    notice: &Notice<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    for admin in tasks::admin_candidates(conn).await? {
        let keyed = Notice {
            kind: notice.kind,
            title: notice.title.clone(),
            body: notice.body.clone(),
            link: notice.link.clone(),
            dedupe_key: notice
                .dedupe_key
                .as_ref()
                .map(|k| format!("{k}:user:{}", admin.user_id)),
        };
        notify(conn, admin.user_id, &keyed, now).await?;
    }
    Ok(())
}

/// The user's latest notifications, newest first.
pub async fn list(db: &Db, user_id: i64, unread_only: bool) -> Result<Vec<Notification>> {
    let mut pooled = db.acquire().await?;
    Ok(rows::list(&mut pooled.conn(), user_id, unread_only, 100)
        .await?
        .into_iter()
        .map(from_row)
        .collect())
}

pub(crate) fn from_row(n: rows::NotificationRow) -> Notification {
    Notification {
        id: n.id,
        kind: n.kind,
        title: n.title,
        body: n.body,
        link: n.link,
        created_at: n.created_at,
        read_at: n.read_at,
    }
}

pub async fn unread_count(db: &Db, user_id: i64) -> Result<i64> {
    let mut pooled = db.acquire().await?;
    Ok(rows::unread_count(&mut pooled.conn(), user_id).await?)
}

/// Marks one of the user's notifications (or all, with `None`) read; another user's or a
/// missing one is a 404.
/// Marks user `user_id`'s notification `id` read on behalf of another system (the seeds'
/// `notifications.mark_notification_read`): only for a sender of notifications, and only a
/// notification of that user.
pub async fn mark_read_for(
    services: &crate::Services,
    sender: &crate::auth::policy::Principal,
    user_id: i64,
    id: i64,
) -> Result<()> {
    crate::auth::policy::authorize(sender, crate::auth::policy::Permission::SendNotifications)?;
    mark_read(services, user_id, Some(id)).await
}

pub async fn mark_read(services: &crate::Services, user_id: i64, id: Option<i64>) -> Result<()> {
    let mut pooled = services.db().acquire().await?;
    let mut conn = pooled.conn();
    if let Some(id) = id
        && !rows::belongs_to(&mut conn, user_id, id).await?
    {
        return Err(domain::AppError::not_found("Notification").into());
    }
    if rows::mark_read(&mut conn, user_id, id, Utc::now()).await? > 0 {
        // The user's other tabs update their bell.
        services
            .live()
            .publish_user(user_id, crate::live::UserEvent::Read);
    }
    Ok(())
}
