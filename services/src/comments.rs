//! Comments on tickets: threaded replies, edits and deletes by their author (earlier texts
//! kept), ratings, attachments, @mentions, and internal notes that requesters never see.
//!
//! Every door (REST, the comment WebSocket, server functions) comes here. A change is
//! committed, then published to the ticket's live room; notifications about it (the
//! requester, the people working on the ticket, mentioned users) are an outbox event written
//! in the same transaction, so they happen once even if this process dies right after.

use std::collections::HashMap;

use chrono::Utc;
use domain::comments::{
    Comment, CommentAction, CommentRevision, MAX_COMMENT_CHARS, NewComment, Rating, mention_handles,
};
use domain::tickets::{PersonRef, TicketNumber};
use domain::{AppError, ErrorKind};

use crate::Services;
use crate::auth::policy::{Permission, Principal, authorize};
use crate::db::comments::{self as rows, CommentRow, NewCommentRow};
use crate::db::{Conn, outbox, tickets as ticket_rows};
use crate::error::Result;
use crate::notifications::{self, Notice};

/// The outbox topic of a posted (or edited) comment: its notifications are due.
pub const COMMENT_POSTED: &str = "comment.posted";

/// Whether the principal may read and write internal notes (agents and admins).
pub fn sees_internal(principal: &Principal) -> bool {
    authorize(principal, Permission::WorkTickets).is_ok()
}

fn author_of(principal: &Principal) -> Result<i64> {
    principal.user().map(|u| u.user.id).ok_or_else(|| {
        AppError::new(
            ErrorKind::Forbidden,
            "API keys cannot comment; sign in as a user.",
        )
        .into()
    })
}

fn check_text(text: &str) -> Result<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::invalid_field("text", "must not be empty").into());
    }
    if text.chars().count() > MAX_COMMENT_CHARS {
        return Err(AppError::invalid_field(
            "text",
            format!("must be at most {MAX_COMMENT_CHARS} characters"),
        )
        .into());
    }
    Ok(text.to_owned())
}

/// What a reader sees of a row (without attachments, mentions and their own rating).
fn comment(row: CommentRow) -> Comment {
    let html = if row.deleted_at.is_some() {
        String::new()
    } else {
        crate::markdown::render(&row.body)
    };
    Comment {
        id: row.id,
        ticket_id: row.ticket_id,
        parent_id: row.parent_id,
        author: match (row.author_id, row.author_name, row.author_email) {
            (Some(id), Some(full_name), Some(email)) => Some(PersonRef {
                id,
                full_name,
                email,
            }),
            _ => None,
        },
        text: row.body,
        html,
        is_internal: row.is_internal,
        created_at: row.created_at,
        edited_at: row.edited_at,
        deleted_at: row.deleted_at,
        thumbs_up: row.thumbs_up,
        thumbs_down: row.thumbs_down,
        my_rating: None,
        attachments: Vec::new(),
        mentions: Vec::new(),
    }
}

/// The ticket's comments the principal may see, oldest first (replies after their parent in
/// that order too; the client nests them).
pub async fn list(
    services: &Services,
    principal: &Principal,
    ticket_id: i64,
) -> Result<Vec<Comment>> {
    crate::tickets::get(services.db(), principal, ticket_id).await?;
    let internal = sees_internal(principal);
    let mut pooled = services.db().acquire().await?;
    let mut conn = pooled.conn();
    let rows = rows::of_ticket(&mut conn, ticket_id, internal).await?;
    let mut comments: Vec<Comment> = rows.into_iter().map(comment).collect();
    let mut files = HashMap::<i64, Vec<_>>::new();
    for row in ticket_rows::comment_attachments_of(&mut conn, ticket_id).await? {
        if let Some(comment_id) = row.comment_id {
            files
                .entry(comment_id)
                .or_default()
                .push(crate::attachments::attachment(row));
        }
    }
    let mut mentioned = HashMap::<i64, Vec<PersonRef>>::new();
    for (comment_id, id, full_name, email) in rows::mentions_of_ticket(&mut conn, ticket_id).await?
    {
        mentioned.entry(comment_id).or_default().push(PersonRef {
            id,
            full_name,
            email,
        });
    }
    let mine: HashMap<i64, i64> = match principal.user() {
        Some(user) => rows::ratings_by(&mut conn, ticket_id, user.user.id)
            .await?
            .into_iter()
            .collect(),
        None => HashMap::new(),
    };
    for c in &mut comments {
        c.attachments = files.remove(&c.id).unwrap_or_default();
        c.mentions = mentioned.remove(&c.id).unwrap_or_default();
        c.my_rating = mine.get(&c.id).copied();
    }
    Ok(comments)
}

/// One comment, if the principal may see it (404 as if it did not exist otherwise).
pub async fn get(services: &Services, principal: &Principal, id: i64) -> Result<Comment> {
    let row = find_visible(services, principal, id).await?;
    list(services, principal, row.ticket_id)
        .await?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| AppError::not_found("Comment").into())
}

/// The ticket of a comment the principal may see.
pub async fn ticket_of(services: &Services, principal: &Principal, id: i64) -> Result<i64> {
    Ok(find_visible(services, principal, id).await?.ticket_id)
}

/// The comment's row if the principal may see it. Whether they may read tickets at all is
/// asked first, so a caller without that right learns nothing of which comments exist.
async fn find_visible(services: &Services, principal: &Principal, id: i64) -> Result<CommentRow> {
    authorize(principal, Permission::ViewTickets)?;
    let row = {
        let mut pooled = services.db().acquire().await?;
        rows::find(&mut pooled.conn(), id).await?
    }
    .ok_or_else(|| AppError::not_found("Comment"))?;
    if row.is_internal && !sees_internal(principal) {
        return Err(AppError::not_found("Comment").into());
    }
    crate::tickets::get(services.db(), principal, row.ticket_id)
        .await
        .map_err(|_| AppError::not_found("Comment"))?;
    Ok(row)
}

/// Posts a comment or a reply on a ticket the principal may see.
pub async fn post(
    services: &Services,
    principal: &Principal,
    ticket_id: i64,
    input: NewComment,
) -> Result<Comment> {
    let author_id = author_of(principal)?;
    authorize(principal, Permission::SubmitTickets)?;
    crate::tickets::get(services.db(), principal, ticket_id).await?;
    let text = check_text(&input.text)?;
    let internal_allowed = sees_internal(principal);
    if input.is_internal && !internal_allowed {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            "Only agents and admins write internal notes.",
        )
        .into());
    }
    let mut is_internal = input.is_internal;
    let parent_id = match input.parent_id {
        None => None,
        Some(parent_id) => {
            let parent = {
                let mut pooled = services.db().acquire().await?;
                rows::find(&mut pooled.conn(), parent_id).await?
            };
            let parent = parent
                .filter(|p| p.ticket_id == ticket_id && (internal_allowed || !p.is_internal))
                .ok_or_else(|| {
                    AppError::invalid_field("parent_id", "is not a comment of this ticket")
                })?;
            if parent.deleted_at.is_some() {
                return Err(AppError::new(
                    ErrorKind::Unprocessable,
                    "That comment was deleted; it takes no replies.",
                )
                .into());
            }
            // A reply to an internal note is internal too: the requester never sees half a
            // conversation.
            is_internal |= parent.is_internal;
            // One level of threading: a reply to a reply joins its thread.
            Some(parent.parent_id.unwrap_or(parent.id))
        }
    };
    let mentioned = resolve_mentions(services, principal, ticket_id, &text, is_internal).await?;

    let now = Utc::now();
    let mut tx = services.db().begin().await?;
    let id = rows::insert(
        &mut tx.conn(),
        &NewCommentRow {
            ticket_id,
            parent_id,
            author_id: Some(author_id),
            body: &text,
            is_internal,
            now,
        },
    )
    .await?;
    for user_id in &mentioned {
        rows::add_mention(&mut tx.conn(), id, *user_id).await?;
    }
    ticket_rows::touch(&mut tx.conn(), ticket_id, now).await?;
    enqueue_notifications(&mut tx.conn(), id, true, now).await?;
    tx.commit().await?;
    services.outbox_wake().wrote();

    let posted = get(services, principal, id).await?;
    let action = if parent_id.is_some() {
        CommentAction::Reply
    } else {
        CommentAction::Create
    };
    publish(services, action, &posted);
    Ok(posted)
}

/// Changes the text of one's own comment (the earlier text is kept).
pub async fn edit(
    services: &Services,
    principal: &Principal,
    id: i64,
    text: &str,
) -> Result<Comment> {
    let row = own_live_comment(services, principal, id).await?;
    let text = check_text(text)?;
    if text == row.body {
        return get(services, principal, id).await;
    }
    let mentioned =
        resolve_mentions(services, principal, row.ticket_id, &text, row.is_internal).await?;
    let now = Utc::now();
    let mut tx = services.db().begin().await?;
    rows::set_body(&mut tx.conn(), id, &text, row.author_id, now).await?;
    for user_id in &mentioned {
        rows::add_mention(&mut tx.conn(), id, *user_id).await?;
    }
    // Newly mentioned people are told; everyone else was told when it was posted.
    enqueue_notifications(&mut tx.conn(), id, false, now).await?;
    tx.commit().await?;
    services.outbox_wake().wrote();
    let edited = get(services, principal, id).await?;
    publish(services, CommentAction::Update, &edited);
    Ok(edited)
}

/// Deletes a comment: its author, or an admin (moderation). The thread shows that a comment
/// was deleted; its texts and files are no longer served to anyone.
pub async fn delete(services: &Services, principal: &Principal, id: i64) -> Result<Comment> {
    let user_id = author_of(principal)?;
    let row = find_visible(services, principal, id).await?;
    let is_admin = authorize(principal, Permission::ManageHelpdesk).is_ok();
    if row.author_id != Some(user_id) && !is_admin {
        return Err(
            AppError::new(ErrorKind::Forbidden, "Only its author deletes a comment.").into(),
        );
    }
    if row.deleted_at.is_some() {
        return Err(AppError::conflict("This comment is already deleted.").into());
    }
    let now = Utc::now();
    let mut tx = services.db().begin().await?;
    rows::mark_deleted(&mut tx.conn(), id, Some(user_id), now).await?;
    crate::audit::record(
        &mut tx.conn(),
        crate::audit::Actor::Principal(principal),
        "comment.deleted",
        "comment",
        Some(id),
        Some(serde_json::json!({ "ticket_id": row.ticket_id, "author_id": row.author_id })),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    let deleted = get(services, principal, id).await?;
    publish(services, CommentAction::Delete, &deleted);
    Ok(deleted)
}

/// Rates a comment (one rating per user, changeable, `none` takes it back).
pub async fn rate(
    services: &Services,
    principal: &Principal,
    id: i64,
    rating: Rating,
) -> Result<Comment> {
    let user_id = author_of(principal)?;
    let row = find_visible(services, principal, id).await?;
    if row.deleted_at.is_some() {
        return Err(AppError::conflict("A deleted comment cannot be rated.").into());
    }
    {
        let mut pooled = services.db().acquire().await?;
        rows::rate(&mut pooled.conn(), id, user_id, rating.value(), Utc::now()).await?;
    }
    let rated = get(services, principal, id).await?;
    publish(services, CommentAction::Rate, &rated);
    Ok(rated)
}

/// Attaches a file to one's own comment (the ticket attachment limits apply per comment).
pub async fn attach(
    services: &Services,
    principal: &Principal,
    id: i64,
    file_name: &str,
    bytes: &[u8],
) -> Result<Comment> {
    let row = own_live_comment(services, principal, id).await?;
    crate::attachments::attach_to_comment(
        services.db(),
        services.attachment_settings(),
        principal,
        row.ticket_id,
        id,
        file_name,
        bytes,
    )
    .await?;
    let attached = get(services, principal, id).await?;
    publish(services, CommentAction::Attach, &attached);
    Ok(attached)
}

/// The earlier texts of a comment, oldest first; none once it is deleted (its author took it
/// back: the texts stay in the database, out of every reader's reach, admins' included).
pub async fn revisions(
    services: &Services,
    principal: &Principal,
    id: i64,
) -> Result<Vec<CommentRevision>> {
    if find_visible(services, principal, id)
        .await?
        .deleted_at
        .is_some()
    {
        return Ok(Vec::new());
    }
    let mut pooled = services.db().acquire().await?;
    Ok(rows::revisions(&mut pooled.conn(), id)
        .await?
        .into_iter()
        .map(|r| CommentRevision {
            text: r.body,
            replaced_by: match (r.replaced_by, r.editor_name, r.editor_email) {
                (Some(id), Some(full_name), Some(email)) => Some(PersonRef {
                    id,
                    full_name,
                    email,
                }),
                _ => None,
            },
            replaced_at: r.replaced_at,
        })
        .collect())
}

/// The principal's own comment, not deleted (403 for someone else's, 409 once deleted).
async fn own_live_comment(
    services: &Services,
    principal: &Principal,
    id: i64,
) -> Result<CommentRow> {
    let author_id = author_of(principal)?;
    let row = find_visible(services, principal, id).await?;
    if row.author_id != Some(author_id) {
        return Err(
            AppError::new(ErrorKind::Forbidden, "Only its author changes a comment.").into(),
        );
    }
    if row.deleted_at.is_some() {
        return Err(AppError::conflict("This comment is deleted.").into());
    }
    Ok(row)
}

fn publish(services: &Services, action: CommentAction, comment: &Comment) {
    let mut shared = comment.clone();
    // Each socket's reader is someone else: their own rating is theirs to keep.
    shared.my_rating = None;
    services.live().publish_comment(action, &shared);
}

/// The users `@mentioned` in the text who may see the comment (the ticket, and for an
/// internal note, internal notes); unknown or ambiguous handles are ignored. A comment by
/// someone who is not staff (a requester) reaches only people who already take part in the
/// ticket: otherwise mentioning handles one by one would list the staff with their addresses.
async fn resolve_mentions(
    services: &Services,
    author: &Principal,
    ticket_id: i64,
    text: &str,
    is_internal: bool,
) -> Result<Vec<i64>> {
    let author_is_staff = sees_internal(author);
    let mut users = Vec::new();
    for handle in mention_handles(text).into_iter().take(20) {
        let candidates = {
            let mut pooled = services.db().acquire().await?;
            rows::users_with_handle(&mut pooled.conn(), &handle).await?
        };
        let [(user_id, _, _)] = candidates.as_slice() else {
            continue;
        };
        if !author_is_staff {
            let mut pooled = services.db().acquire().await?;
            if !rows::takes_part_in(&mut pooled.conn(), ticket_id, *user_id).await? {
                continue;
            }
        }
        let Some(user) = services.auth().session_user(*user_id).await? else {
            continue;
        };
        let reader = Principal::on_behalf_of(user);
        if is_internal && !sees_internal(&reader) {
            continue;
        }
        if crate::tickets::get(services.db(), &reader, ticket_id)
            .await
            .is_ok()
        {
            users.push(*user_id);
        }
    }
    Ok(users)
}

async fn enqueue_notifications(
    conn: &mut Conn<'_>,
    comment_id: i64,
    posted: bool,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let payload = serde_json::json!({ "comment_id": comment_id, "posted": posted }).to_string();
    let key = format!(
        "comment:{comment_id}:{}",
        if posted {
            "posted".to_owned()
        } else {
            format!("edited:{}", now.timestamp_micros())
        }
    );
    outbox::enqueue(conn, &key, COMMENT_POSTED, &payload, now).await?;
    Ok(())
}

/// The outbox handler of [`COMMENT_POSTED`]: tells the requester (of a public comment), the
/// people holding the ticket's open task items, and the mentioned users, never the author,
/// each once per comment (the notifications' keys make a second run harmless).
pub async fn notify_about(
    conn: &mut Conn<'_>,
    comment_id: i64,
    posted: bool,
    now: chrono::DateTime<Utc>,
) -> Result<()> {
    let Some(row) = rows::find(conn, comment_id).await? else {
        return Ok(());
    };
    if row.deleted_at.is_some() {
        return Ok(());
    }
    let Some(ticket) = ticket_rows::find(conn, row.ticket_id).await? else {
        return Ok(());
    };
    let number = TicketNumber(row.ticket_id);
    let author = row
        .author_name
        .clone()
        .unwrap_or_else(|| "Someone".to_owned());
    let excerpt = crate::markdown::plain_excerpt(&row.body, 140);
    let link = Some(format!("/tickets/{}#comment-{comment_id}", row.ticket_id));
    let mut told = vec![row.author_id.unwrap_or_default()];

    let mentioned = rows::mentioned_users(conn, comment_id).await?;
    for user_id in mentioned {
        if told.contains(&user_id) {
            continue;
        }
        told.push(user_id);
        let notice = Notice {
            kind: "comment.mention",
            title: format!("{author} mentioned you on {number}"),
            body: excerpt.clone(),
            link: link.clone(),
            dedupe_key: Some(format!("comment:{comment_id}:user:{user_id}")),
        };
        notifications::notify(conn, user_id, &notice, now).await?;
    }
    if !posted {
        return Ok(());
    }
    let mut readers = rows::open_holders(conn, row.ticket_id).await?;
    if !row.is_internal {
        readers.insert(0, ticket.requester_id);
    }
    for user_id in readers {
        if told.contains(&user_id) {
            continue;
        }
        told.push(user_id);
        let notice = Notice {
            kind: "comment.posted",
            title: format!("{author} commented on {number}: {}", ticket.subject),
            body: excerpt.clone(),
            link: link.clone(),
            dedupe_key: Some(format!("comment:{comment_id}:user:{user_id}")),
        };
        notifications::notify(conn, user_id, &notice, now).await?;
    }
    Ok(())
}
