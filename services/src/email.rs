//! Notifications by e-mail: each notification queues an outbox event in its own transaction;
//! the runner sends it (or not, by the user's choices at that moment) through the mailer,
//! with HTML and plain-text templates, records every attempt in the delivery log, and retries
//! with backoff until it gives up. Users may take a daily digest instead.
//!
//! Templates (minijinja): `notification.{html,txt}` and `digest.{html,txt}` are built in;
//! a file of the same name in the templates folder (`DATA_DIR/templates/email/`), or
//! `<kind>.{html,txt}` for one kind (`task.assigned.html`), replaces them. HTML templates
//! escape what they print.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use domain::AppError;
use domain::notifications::{
    EmailDelivery, KINDS, KindPreference, NotificationPreferences, OutsideNotification, kind_label,
};
use serde::Serialize;

use crate::Services;
use crate::db::email::{self as rows, NewDelivery};
use crate::db::notifications as notification_rows;
use crate::db::outbox::ClaimedEvent;
use crate::db::{Conn, outbox, users};
use crate::error::Result;
use crate::mail::Mail;

/// The outbox topic of a notification's e-mail.
pub const NOTIFICATION_EMAIL: &str = "notification.email";
/// Attempts before an e-mail is given up (visible in the delivery log).
pub const MAX_ATTEMPTS: i64 = 8;
/// How long between two digests of one user.
const DIGEST_EVERY: TimeDelta = TimeDelta::hours(24);
/// Most notifications one digest lists.
const DIGEST_LIMIT: i64 = 200;

const BUILT_IN: [(&str, &str); 4] = [
    (
        "notification.html",
        include_str!("../templates/email/notification.html"),
    ),
    (
        "notification.txt",
        include_str!("../templates/email/notification.txt"),
    ),
    (
        "digest.html",
        include_str!("../templates/email/digest.html"),
    ),
    ("digest.txt", include_str!("../templates/email/digest.txt")),
];

/// Where e-mail templates may be overridden.
#[derive(Debug, Clone, Default)]
pub struct EmailSettings {
    pub templates_dir: Option<PathBuf>,
}

/// Queues the e-mail of a new notification (in the notification's transaction).
pub(crate) async fn queue_for_notification(
    conn: &mut Conn<'_>,
    notification_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    let payload = serde_json::json!({ "notification_id": notification_id }).to_string();
    outbox::enqueue(
        conn,
        &format!("{NOTIFICATION_EMAIL}:{notification_id}"),
        NOTIFICATION_EMAIL,
        &payload,
        now,
    )
    .await?;
    Ok(())
}

/// The user's choices, every kind listed (defaults filled in: by e-mail).
pub async fn preferences(services: &Services, user_id: i64) -> Result<NotificationPreferences> {
    let mut pooled = services.db().acquire().await?;
    let mut conn = pooled.conn();
    let stored = rows::preferences(&mut conn, user_id).await?;
    let digest = rows::digest(&mut conn, user_id).await?;
    Ok(NotificationPreferences {
        daily_digest: digest.is_some_and(|d| d.enabled),
        kinds: KINDS
            .iter()
            .map(|(kind, label)| KindPreference {
                kind: (*kind).to_owned(),
                label: (*label).to_owned(),
                email: stored
                    .iter()
                    .find(|(k, _)| k == kind)
                    .is_none_or(|(_, email)| *email),
            })
            .collect(),
    })
}

/// Saves the user's choices (kinds not listed keep theirs; an unknown kind is a 400).
pub async fn set_preferences(
    services: &Services,
    user_id: i64,
    wanted: &NotificationPreferences,
) -> Result<NotificationPreferences> {
    for (index, choice) in wanted.kinds.iter().enumerate() {
        if !KINDS.iter().any(|(kind, _)| *kind == choice.kind) {
            let known: Vec<&str> = KINDS.iter().map(|(kind, _)| *kind).collect();
            return Err(AppError::invalid_field(
                &format!("kinds[{index}].kind"),
                format!(
                    "'{}' is not a kind (known: {})",
                    choice.kind,
                    known.join(", ")
                ),
            )
            .into());
        }
    }
    {
        let mut tx = services.db().begin().await?;
        for choice in &wanted.kinds {
            rows::set_preference(&mut tx.conn(), user_id, &choice.kind, choice.email).await?;
        }
        let newest = notification_rows::newest_id(&mut tx.conn()).await?;
        rows::set_digest(&mut tx.conn(), user_id, wanted.daily_digest, newest).await?;
        tx.commit().await?;
    }
    preferences(services, user_id).await
}

/// The delivery log, newest first (admins).
pub async fn deliveries(services: &Services, status: Option<&str>) -> Result<Vec<EmailDelivery>> {
    if let Some(status) = status
        && !["pending", "sent", "failed", "gave_up"].contains(&status)
    {
        return Err(
            AppError::invalid_field("status", "must be pending, sent, failed or gave_up").into(),
        );
    }
    let mut pooled = services.db().acquire().await?;
    Ok(rows::deliveries(&mut pooled.conn(), status, 200)
        .await?
        .into_iter()
        .map(|d| EmailDelivery {
            id: d.id,
            user_id: d.user_id,
            to: d.to_address,
            kind: d.kind,
            subject: d.subject,
            status: d.status,
            attempts: d.attempts,
            last_error: d.last_error,
            created_at: d.created_at,
            updated_at: d.updated_at,
            sent_at: d.sent_at,
        })
        .collect())
}

#[derive(Serialize)]
struct Person<'a> {
    full_name: &'a str,
    email: &'a str,
}

#[derive(Serialize)]
struct Item {
    title: String,
    body: String,
    link: Option<String>,
}

/// Renders `name` (`notification.html`…) from the override folder, else the built-in one.
fn render(dir: Option<&Path>, names: &[String], context: &minijinja::Value) -> Result<String> {
    let mut env = minijinja::Environment::new();
    for name in names {
        let source = dir
            .map(|d| d.join(name))
            .and_then(|path| std::fs::read_to_string(path).ok())
            .or_else(|| {
                BUILT_IN
                    .iter()
                    .find(|(built_in, _)| built_in == name)
                    .map(|(_, source)| (*source).to_owned())
            });
        if let Some(source) = source {
            env.add_template_owned(name.clone(), source)
                .map_err(|e| anyhow::anyhow!("e-mail template {name}: {e}"))?;
            let template = env
                .get_template(name)
                .map_err(|e| anyhow::anyhow!("e-mail template {name}: {e}"))?;
            return Ok(template
                .render(context)
                .map_err(|e| anyhow::anyhow!("e-mail template {name}: {e}"))?);
        }
    }
    Err(anyhow::anyhow!("no e-mail template among {names:?}").into())
}

fn absolute(base: &str, link: Option<&str>) -> Option<String> {
    link.map(|l| format!("{}{l}", base.trim_end_matches('/')))
}

/// The outbox handler of [`NOTIFICATION_EMAIL`]: sends the notification's e-mail unless the
/// user does not want it (any more), takes a digest, or is gone.
pub async fn send_for_notification(
    services: &Services,
    event: &ClaimedEvent,
    notification_id: i64,
) -> Result<()> {
    let now = services.clock().now();
    let (notification, user, wanted) = {
        let mut pooled = services.db().acquire().await?;
        let mut conn = pooled.conn();
        let Some(notification) = notification_rows::find(&mut conn, notification_id).await? else {
            return finish(services, event).await;
        };
        let user = users::find_by_id(&mut conn, notification.user_id).await?;
        let wanted = match &user {
            Some(user) if user.is_active => {
                let digest = rows::digest(&mut conn, user.id).await?;
                let by_email = rows::preferences(&mut conn, user.id)
                    .await?
                    .into_iter()
                    .find(|(kind, _)| *kind == notification.kind)
                    .is_none_or(|(_, email)| email);
                by_email && !digest.is_some_and(|d| d.enabled)
            }
            _ => false,
        };
        (notification, user, wanted)
    };
    let Some(user) = user.filter(|_| wanted) else {
        return finish(services, event).await;
    };
    let base = services.auth().settings().public_url.clone();
    let context = minijinja::context! {
        user => Person { full_name: &user.full_name, email: &user.email },
        notification => Item {
            title: notification.title.clone(),
            body: notification.body.clone(),
            link: notification.link.clone(),
        },
        link => absolute(&base, notification.link.as_deref()),
        kind => notification.kind.clone(),
        kind_label => kind_label(&notification.kind),
        settings_link => format!("{}/account", base.trim_end_matches('/')),
    };
    let dir = services.email_settings().templates_dir.as_deref();
    let names = |extension: &str| {
        vec![
            format!("{}.{extension}", notification.kind),
            format!("notification.{extension}"),
        ]
    };
    let text = render(dir, &names("txt"), &context)?;
    let html = render(dir, &names("html"), &context)?;
    let mail = Mail {
        to: user.email.clone(),
        subject: notification.title.clone(),
        text,
    };
    deliver(
        services,
        event,
        user.id,
        &notification.kind,
        &mail,
        &html,
        now,
    )
    .await
}

/// Sends and records the attempt; an error makes the outbox retry (with backoff) until
/// [`MAX_ATTEMPTS`], after which the delivery is marked `gave_up`.
async fn deliver(
    services: &Services,
    event: &ClaimedEvent,
    user_id: i64,
    kind: &str,
    mail: &Mail,
    html: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let delivery = {
        let mut pooled = services.db().acquire().await?;
        rows::delivery_for(
            &mut pooled.conn(),
            &NewDelivery {
                event_key: &event.event_key,
                user_id,
                to_address: &mail.to,
                kind,
                subject: &mail.subject,
                now,
            },
        )
        .await?
    };
    let outcome = services.auth().mailer().send_with_html(mail, html).await;
    let now = services.clock().now();
    match outcome {
        Ok(()) => {
            let mut tx = services.db().begin().await?;
            rows::record_attempt(&mut tx.conn(), delivery, "sent", None, now).await?;
            if outbox::mark_processed(&mut tx.conn(), event.id, now).await? {
                tx.commit().await?;
            }
            Ok(())
        }
        Err(err) => {
            let reason = format!("{err:#}");
            let last = event.attempts + 1 >= MAX_ATTEMPTS;
            let mut tx = services.db().begin().await?;
            let status = if last { "gave_up" } else { "failed" };
            rows::record_attempt(&mut tx.conn(), delivery, status, Some(&reason), now).await?;
            if last {
                outbox::mark_processed(&mut tx.conn(), event.id, now).await?;
                tx.commit().await?;
                tracing::warn!(error = %reason, to = %mail.to, "e-mail given up");
                return Ok(());
            }
            tx.commit().await?;
            Err(anyhow::anyhow!("sending e-mail failed: {reason}").into())
        }
    }
}

async fn finish(services: &Services, event: &ClaimedEvent) -> Result<()> {
    let mut pooled = services.db().acquire().await?;
    outbox::mark_processed(&mut pooled.conn(), event.id, services.clock().now()).await?;
    Ok(())
}

/// Queues the daily digests that are due (each user's notifications since their last one);
/// how many. Run by the runner; several runners never send one digest twice.
pub async fn queue_digests(services: &Services, now: DateTime<Utc>) -> Result<usize> {
    let due = {
        let mut pooled = services.db().acquire().await?;
        rows::digests_due(&mut pooled.conn(), now - DIGEST_EVERY).await?
    };
    let mut queued = 0;
    for digest in due {
        let mut tx = services.db().begin().await?;
        let items = notification_rows::of_user_after(
            &mut tx.conn(),
            digest.user_id,
            digest.last_notification_id,
            DIGEST_LIMIT,
        )
        .await?;
        let Some(newest) = items.last().map(|n| n.id) else {
            continue;
        };
        if !rows::mark_digest_taken(
            &mut tx.conn(),
            digest.user_id,
            digest.last_notification_id,
            newest,
            now,
        )
        .await?
        {
            continue;
        }
        let payload = serde_json::json!({
            "user_id": digest.user_id,
            "after": digest.last_notification_id,
            "through": newest,
        })
        .to_string();
        outbox::enqueue(
            &mut tx.conn(),
            &format!("{DIGEST_EMAIL}:{}:{newest}", digest.user_id),
            DIGEST_EMAIL,
            &payload,
            now,
        )
        .await?;
        tx.commit().await?;
        queued += 1;
    }
    if queued > 0 {
        services.outbox_wake().wrote();
    }
    Ok(queued)
}

/// The outbox topic of a daily digest.
pub const DIGEST_EMAIL: &str = "notification.digest";

/// The outbox handler of [`DIGEST_EMAIL`].
pub async fn send_digest(
    services: &Services,
    event: &ClaimedEvent,
    payload: &serde_json::Value,
) -> Result<()> {
    let (Some(user_id), Some(after), Some(through)) = (
        payload["user_id"].as_i64(),
        payload["after"].as_i64(),
        payload["through"].as_i64(),
    ) else {
        return Err(anyhow::anyhow!("bad digest payload {payload}").into());
    };
    let now = services.clock().now();
    let (user, items) = {
        let mut pooled = services.db().acquire().await?;
        let mut conn = pooled.conn();
        let user = users::find_by_id(&mut conn, user_id).await?;
        let items =
            notification_rows::of_user_after(&mut conn, user_id, after, DIGEST_LIMIT).await?;
        (user, items)
    };
    let Some(user) = user.filter(|u| u.is_active) else {
        return finish(services, event).await;
    };
    let base = services.auth().settings().public_url.clone();
    let items: Vec<Item> = items
        .into_iter()
        .filter(|n| n.id <= through)
        .map(|n| Item {
            link: absolute(&base, n.link.as_deref()),
            title: n.title,
            body: n.body,
        })
        .collect();
    let context = minijinja::context! {
        user => Person { full_name: &user.full_name, email: &user.email },
        notifications => items,
        settings_link => format!("{}/account", base.trim_end_matches('/')),
    };
    let dir = services.email_settings().templates_dir.as_deref();
    let text = render(dir, &["digest.txt".to_owned()], &context)?;
    let html = render(dir, &["digest.html".to_owned()], &context)?;
    let mail = Mail {
        to: user.email.clone(),
        subject: "Your TTS digest".to_owned(),
        text,
    };
    deliver(services, event, user.id, "digest", &mail, &html, now).await
}

/// Most notifications one request may create.
pub const MAX_BULK: usize = 1000;

/// Creates notifications for other systems, all or none; how many.
///
/// With `once_key` (a broker message's id), the batch is created once however often it is
/// delivered: each notification is keyed by it and its place in the batch.
pub async fn send_from_outside(
    services: &Services,
    principal: &crate::auth::policy::Principal,
    batch: &[OutsideNotification],
    once_key: Option<&str>,
) -> Result<usize> {
    crate::auth::policy::authorize(
        principal,
        crate::auth::policy::Permission::SendNotifications,
    )?;
    if batch.is_empty() || batch.len() > MAX_BULK {
        return Err(AppError::invalid_field(
            "notifications",
            format!("send 1 to {MAX_BULK} notifications"),
        )
        .into());
    }
    let now = services.clock().now();
    let mut tx = services.db().begin().await?;
    for (index, n) in batch.iter().enumerate() {
        let field = |name: &str| format!("notifications[{index}].{name}");
        let kind = n.kind.as_deref().unwrap_or("system.notice");
        if !KINDS.iter().any(|(k, _)| *k == kind) {
            return Err(
                AppError::invalid_field(&field("kind"), format!("'{kind}' is not a kind")).into(),
            );
        }
        let title = n.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(
                AppError::invalid_field(&field("title"), "must be 1 to 200 characters").into(),
            );
        }
        if n.body.chars().count() > 5000 {
            return Err(
                AppError::invalid_field(&field("body"), "must be at most 5000 characters").into(),
            );
        }
        if n.link
            .as_deref()
            .is_some_and(|l| domain::links::local_path(l).is_none())
        {
            return Err(AppError::invalid_field(
                &field("link"),
                "must be a path in TTS, such as /tickets/12",
            )
            .into());
        }
        let user = match (n.user_id, n.email.as_deref()) {
            (Some(id), None) => users::find_by_id(&mut tx.conn(), id).await?,
            (None, Some(email)) => {
                users::find_by_email(&mut tx.conn(), &crate::auth::normalize_email(email)).await?
            }
            _ => {
                return Err(AppError::invalid_field(
                    &field("user_id"),
                    "give user_id or email, one of the two",
                )
                .into());
            }
        };
        let Some(user) = user.filter(|u| u.is_active) else {
            return Err(AppError::invalid_field(&field("user_id"), "is not an active user").into());
        };
        let notice = crate::notifications::Notice {
            kind,
            title: title.to_owned(),
            body: n.body.clone(),
            link: n.link.clone(),
            dedupe_key: once_key.map(|key| format!("outside:{key}:{index}")),
        };
        crate::notifications::notify(&mut tx.conn(), user.id, &notice, now).await?;
    }
    tx.commit().await?;
    services.outbox_wake().wrote();
    services.live().nudge();
    Ok(batch.len())
}
