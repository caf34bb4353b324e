//! A ticket's conversation: the comment thread with replies nested under their comment,
//! ratings, inline reply, edit and delete, internal notes for agents, files on comments, and
//! a composer. It is live: the ticket's WebSocket brings others' comments, ratings and edits
//! without a reload, who else is viewing the ticket, and who is typing.

use std::time::Duration;

use domain::comments::{Comment, ServerMessage, Viewer};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::icons::Icon;
use super::toast::{Toasts, use_toasts};
use super::ui::{ErrorNotice, RelativeTime, Spinner};
use crate::api::comments::{
    CommentThreadView, delete_comment, edit_comment, list_comments, post_comment, rate_comment,
};
use crate::live::{Socket, SocketEnded, now_millis};
use crate::session::use_session;

/// Others' typing indicator goes after this long without news.
const TYPING_EXPIRES: Duration = Duration::from_secs(6);
/// One "typing" message at most this often while the user types.
const TYPING_EVERY_MILLIS: i64 = 3_000;

/// Puts a comment into the thread: replaces the one with its id, or adds it in order. A
/// broadcast carries no rating of the reader's (each socket's user differs), so the one the
/// thread has is kept unless `own` (the answer to the reader's own request) says otherwise.
pub fn merge_comment(list: &mut Vec<Comment>, mut incoming: Comment, own: bool) {
    match list.iter_mut().find(|c| c.id == incoming.id) {
        Some(existing) => {
            if !own {
                incoming.my_rating = existing.my_rating;
            }
            *existing = incoming;
        }
        None => {
            let at = list
                .iter()
                .position(|c| (c.created_at, c.id) > (incoming.created_at, incoming.id))
                .unwrap_or(list.len());
            list.insert(at, incoming);
        }
    }
}

/// The thread's state. It belongs to the ticket page, so it outlives re-renders of the
/// ticket's details (a status change) and keeps drafts, the socket and live changes.
#[derive(Clone, Copy)]
pub struct ThreadState {
    ticket_id: Signal<Option<i64>>,
    resource: Resource<Result<CommentThreadView, domain::AppError>>,
    /// The thread as it is now: the loaded list with live changes merged in.
    items: RwSignal<Option<Vec<Comment>>>,
    viewers: RwSignal<Vec<Viewer>>,
    /// Who is typing, each with the number of their latest news.
    typists: RwSignal<Vec<(Viewer, u64)>>,
    typing_news: StoredValue<u64>,
    last_typing_sent: StoredValue<i64>,
    socket: StoredValue<Option<Socket>>,
    draft: RwSignal<String>,
    internal: RwSignal<bool>,
    replying: RwSignal<Option<i64>>,
    reply_draft: RwSignal<String>,
    editing: RwSignal<Option<i64>>,
    edit_draft: RwSignal<String>,
    confirm_delete: RwSignal<Option<i64>>,
    busy: RwSignal<bool>,
    /// The server ended the live thread for good (signed out, or the ticket out of reach):
    /// nothing more can be written here.
    ended: RwSignal<Option<SocketEnded>>,
    toasts: Toasts,
}

impl ThreadState {
    /// Creates the state, its resource and (in the browser) its socket. Call it where the
    /// page's other resources are created, outside reactive closures.
    pub fn new(ticket_id: Signal<Option<i64>>) -> ThreadState {
        let resource = Resource::new(
            move || ticket_id.get(),
            |id| async move {
                match id {
                    Some(id) => list_comments(id).await,
                    None => Err(domain::AppError::not_found("Ticket")),
                }
            },
        );
        let state = ThreadState {
            ticket_id,
            resource,
            items: RwSignal::new(None),
            viewers: RwSignal::new(Vec::new()),
            typists: RwSignal::new(Vec::new()),
            typing_news: StoredValue::new(0),
            last_typing_sent: StoredValue::new(0),
            socket: StoredValue::new(None),
            draft: RwSignal::new(String::new()),
            internal: RwSignal::new(false),
            replying: RwSignal::new(None),
            reply_draft: RwSignal::new(String::new()),
            editing: RwSignal::new(None),
            edit_draft: RwSignal::new(String::new()),
            confirm_delete: RwSignal::new(None),
            busy: RwSignal::new(false),
            ended: RwSignal::new(None),
            toasts: use_toasts(),
        };
        // A fresh list (another ticket, or after a reconnection) replaces the thread.
        Effect::new(move |_| {
            if let Some(Ok(view)) = resource.get() {
                state.items.set(Some(view.comments));
            }
        });
        // Effects run only in the browser: one socket per ticket shown.
        Effect::new(move |_| {
            let id = ticket_id.get();
            state.disconnect();
            if let Some(id) = id {
                state.connect(id);
            }
        });
        on_cleanup(move || state.disconnect());
        state
    }

    fn disconnect(self) {
        if let Some(socket) = self.socket.try_get_value().flatten() {
            socket.close();
        }
        let _ = self.socket.try_set_value(None);
        let _ = self.viewers.try_set(Vec::new());
        let _ = self.typists.try_set(Vec::new());
    }

    fn connect(self, ticket_id: i64) {
        let socket = Socket::open(
            &format!("/ws/comments/{ticket_id}/"),
            move |text| self.on_message(ticket_id, &text),
            // Back after a break: what happened meanwhile comes with a fresh list.
            move |reconnected| {
                if reconnected {
                    self.resource.refetch();
                }
            },
            move |ended| {
                self.ended.set(Some(ended));
                self.viewers.set(Vec::new());
                self.typists.set(Vec::new());
            },
        );
        self.socket.set_value(Some(socket));
    }

    fn on_message(self, ticket_id: i64, text: &str) {
        let Ok(message) = serde_json::from_str::<ServerMessage>(text) else {
            return;
        };
        match message {
            ServerMessage::CommentUpdate { comment, .. } if comment.ticket_id == ticket_id => {
                if let Some(author) = &comment.author {
                    let id = author.id;
                    self.typists.update(|t| t.retain(|(v, _)| v.user_id != id));
                }
                self.merge(*comment, false);
            }
            ServerMessage::Presence { viewers } => self.viewers.set(viewers),
            ServerMessage::Typing { user, is_typing } => {
                let user_id = user.user_id;
                if !is_typing {
                    self.typists
                        .update(|t| t.retain(|(v, _)| v.user_id != user_id));
                    return;
                }
                let news = self.typing_news.get_value() + 1;
                self.typing_news.set_value(news);
                self.typists.update(|t| {
                    t.retain(|(v, _)| v.user_id != user_id);
                    t.push((user, news));
                });
                set_timeout(
                    move || {
                        let _ = self.typists.try_update(|t| {
                            t.retain(|(v, n)| !(v.user_id == user_id && *n == news))
                        });
                    },
                    TYPING_EXPIRES,
                );
            }
            _ => {}
        }
    }

    fn merge(self, comment: Comment, own: bool) {
        self.items.update(|items| {
            if let Some(items) = items {
                merge_comment(items, comment, own);
            }
        });
    }

    /// The user typed in a composer: tell the others, at most every few seconds.
    fn typed(self) {
        let now = now_millis();
        if now - self.last_typing_sent.get_value() >= TYPING_EVERY_MILLIS
            && let Some(socket) = self.socket.get_value()
            && socket.send(r#"{"type":"typing","is_typing":true}"#)
        {
            self.last_typing_sent.set_value(now);
        }
    }

    fn stopped_typing(self) {
        if self.last_typing_sent.get_value() != 0 {
            self.last_typing_sent.set_value(0);
            if let Some(socket) = self.socket.get_value() {
                socket.send(r#"{"type":"typing","is_typing":false}"#);
            }
        }
    }
}

/// Runs a comment request; its answer goes into the thread, a failure into a toast.
fn run(
    state: ThreadState,
    request: impl std::future::Future<Output = Result<Comment, domain::AppError>> + 'static,
    done: impl FnOnce() + 'static,
) {
    let toasts = state.toasts;
    state.busy.set(true);
    spawn_local(async move {
        let result = request.await;
        state.busy.set(false);
        match result {
            Ok(comment) => {
                state.merge(comment, true);
                done();
            }
            Err(err) => toasts.error(err.message),
        }
    });
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .take(2)
        .collect::<String>()
        .to_uppercase()
}

/// Ctrl+Enter (⌘+Enter) in a text area.
fn is_send_shortcut(event: &web_sys::KeyboardEvent) -> bool {
    event.key() == "Enter" && (event.ctrl_key() || event.meta_key())
}

/// The conversation panel of a ticket page.
#[component]
pub fn CommentThread(state: ThreadState) -> impl IntoView {
    view! {
        <section class="panel comments-panel" aria-labelledby="comments-title" data-test="comment-thread">
            <Transition fallback=|| view! { <Spinner label="Loading the conversation" /> }>
                {move || state.resource.get().map(|result| match result {
                    Ok(view) => view! { <ThreadBody state view /> }.into_any(),
                    Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                })}
            </Transition>
        </section>
    }
    // Erased: the ticket page's type is deep enough already.
    .into_any()
}

/// Who else has the ticket open.
#[component]
fn Viewers(state: ThreadState) -> impl IntoView {
    let session = use_session();
    let others = Memo::new(move |_| {
        let me = session.user.get().map(|u| u.id);
        state
            .viewers
            .get()
            .into_iter()
            .filter(|v| Some(v.user_id) != me)
            .collect::<Vec<_>>()
    });
    view! {
        <div class="viewers" data-test="viewers" aria-live="polite">
            {move || {
                let others = others.get();
                if others.is_empty() {
                    return None;
                }
                let names: Vec<String> = others.iter().map(|v| v.full_name.clone()).collect();
                let text = match names.as_slice() {
                    [one] => format!("{one} is viewing this ticket"),
                    [one, two] => format!("{one} and {two} are viewing this ticket"),
                    [one, rest @ ..] => format!("{one} and {} others are viewing this ticket", rest.len()),
                    [] => String::new(),
                };
                Some(view! {
                    <span class="viewer-stack" aria-hidden="true">
                        {others.iter().take(3).map(|v| view! {
                            <span class="avatar avatar-small" title=v.full_name.clone()>{initials(&v.full_name)}</span>
                        }).collect_view()}
                    </span>
                    <span class="viewer-text">
                        <span class="live-dot" aria-hidden="true"></span>
                        {text}
                    </span>
                })
            }}
        </div>
    }
}

#[component]
fn ThreadBody(state: ThreadState, view: CommentThreadView) -> impl IntoView {
    let CommentThreadView {
        comments,
        sees_internal,
    } = view;
    // The first rendering (on the server, and hydrating) starts from the loaded list; later
    // loads (another ticket, a reconnection) replace it through the state's effect, and a
    // re-rendering of the page keeps the live changes merged since.
    if state.items.with_untracked(Option::is_none) {
        state.items.set(Some(comments));
    }
    let top_level = Memo::new(move |_| {
        state.items.with(|items| {
            items
                .iter()
                .flatten()
                .filter(|c| c.parent_id.is_none())
                .map(|c| c.id)
                .collect::<Vec<_>>()
        })
    });
    let empty = move || top_level.with(Vec::is_empty);
    let count = move || {
        state.items.with(|items| {
            items
                .iter()
                .flatten()
                .filter(|c| c.deleted_at.is_none())
                .count()
        })
    };
    view! {
        <div class="comments-header">
            <h2 id="comments-title" class="panel-title">
                "Conversation"
                {move || (count() > 0).then(|| view! { <span class="count-pill">{count()}</span> })}
            </h2>
            <Viewers state />
        </div>
        {move || empty().then(|| view! {
            <div class="comments-empty">
                <Icon name="message" />
                <p>"No comments yet. Ask a question or add details below."</p>
            </div>
        })}
        <ol class="comment-list">
            <For each=move || top_level.get() key=|id| *id let:id>
                <CommentBlock state id />
            </For>
        </ol>
        <TypingIndicator state />
        {move || match state.ended.get() {
            None => view! { <Composer state sees_internal /> }.into_any(),
            Some(ended) => view! { <ThreadEnded state ended /> }.into_any(),
        }}
    }
}

/// In place of the composer once the server ended the live thread: why, and the way back.
#[component]
fn ThreadEnded(state: ThreadState, ended: SocketEnded) -> impl IntoView {
    let (title, text) = match ended {
        SocketEnded::SignedOut => (
            "You are signed out",
            "Your session ended (you signed out, perhaps in another tab). Sign in again to \
             keep following this ticket; what you wrote is kept below.",
        ),
        SocketEnded::OutOfReach => (
            "This ticket is no longer yours to see",
            "Your access changed while the ticket was open. Go back to your tickets.",
        ),
    };
    let next = state
        .ticket_id
        .get_untracked()
        .map(|id| format!("/tickets/{id}"))
        .unwrap_or_else(|| "/".to_owned());
    let href = match ended {
        SocketEnded::SignedOut => {
            format!("/login?next={}", crate::session::encode_query_value(&next))
        }
        SocketEnded::OutOfReach => "/tickets".to_owned(),
    };
    let draft = move || state.draft.get();
    view! {
        <div class="thread-ended" role="status" data-test="thread-ended">
            <Icon name="lock" />
            <div>
                <p class="strong">{title}</p>
                <p class="muted small">{text}</p>
                {move || (!draft().trim().is_empty()).then(|| view! {
                    <blockquote class="thread-ended-draft small">{draft()}</blockquote>
                })}
            </div>
            <a class="button button-primary" href=href data-test="thread-ended-action">
                {match ended {
                    SocketEnded::SignedOut => "Sign in again",
                    SocketEnded::OutOfReach => "My tickets",
                }}
            </a>
        </div>
    }
}

/// The comment with `id` as the thread has it now (re-rendered only when it changes).
fn comment_memo(state: ThreadState, id: i64) -> Memo<Option<Comment>> {
    Memo::new(move |_| {
        state
            .items
            .with(|items| items.iter().flatten().find(|c| c.id == id).cloned())
    })
}

/// A top-level comment with its replies and, when answering, the reply box.
#[component]
fn CommentBlock(state: ThreadState, id: i64) -> impl IntoView {
    let comment = comment_memo(state, id);
    let replies = Memo::new(move |_| {
        state.items.with(|items| {
            items
                .iter()
                .flatten()
                .filter(|c| c.parent_id == Some(id))
                .map(|c| c.id)
                .collect::<Vec<_>>()
        })
    });
    view! {
        <li class="comment-block">
            {move || comment.get().map(|comment| view! { <CommentCard state comment /> })}
            <ol class="comment-replies" class:comment-replies-empty=move || replies.with(Vec::is_empty)>
                <For each=move || replies.get() key=|id| *id let:reply_id>
                    <ReplyItem state id=reply_id />
                </For>
            </ol>
            {move || (state.replying.get() == Some(id)).then(|| view! { <ReplyBox state parent_id=id /> })}
        </li>
    }
}

#[component]
fn ReplyItem(state: ThreadState, id: i64) -> impl IntoView {
    let comment = comment_memo(state, id);
    view! {
        <li>{move || comment.get().map(|comment| view! { <CommentCard state comment /> })}</li>
    }
}

#[component]
fn CommentCard(state: ThreadState, comment: Comment) -> impl IntoView {
    let session = use_session();
    let me = session.user.get_untracked();
    let id = comment.id;
    let is_deleted = comment.deleted_at.is_some();
    let is_mine = me
        .as_ref()
        .zip(comment.author.as_ref())
        .is_some_and(|(me, author)| me.id == author.id);
    let is_admin = me
        .as_ref()
        .is_some_and(|u| u.can_act_as(domain::SystemRole::Admin));
    let can_edit = is_mine && !is_deleted;
    let can_delete = (is_mine || is_admin) && !is_deleted;
    let can_reply = comment.parent_id.is_none() && !is_deleted;
    let author = comment
        .author
        .as_ref()
        .map_or_else(|| "Former user".to_owned(), |a| a.full_name.clone());
    let author_initials = initials(&author);
    let text = comment.text.clone();
    let html = comment.html.clone();
    let my_rating = comment.my_rating;
    let rate = move |value: i64| {
        let rating = if my_rating == Some(value) {
            "none"
        } else if value > 0 {
            "up"
        } else {
            "down"
        };
        run(state, rate_comment(id, rating.to_owned()), || ());
    };
    let edited_title = comment
        .edited_at
        .map(|at| format!("Edited {}", at.format("%-d %b %Y, %H:%M UTC")));
    view! {
        <article
            class="comment"
            class:comment-internal=comment.is_internal
            class:comment-deleted=is_deleted
            class:comment-mine=is_mine
            id=format!("comment-{id}")
            data-test="comment"
            data-comment-id=id.to_string()
            data-internal=comment.is_internal.to_string()
        >
            <span class="avatar comment-avatar" aria-hidden="true">{author_initials}</span>
            <div class="comment-main">
                <header class="comment-header">
                    <strong class="comment-author">{author}</strong>
                    {comment.is_internal.then(|| view! {
                        <span class="badge badge-amber comment-internal-badge" title="Only agents and admins see internal notes">
                            <Icon name="lock" />
                            "Internal"
                        </span>
                    })}
                    <span class="comment-time muted small"><RelativeTime at=comment.created_at /></span>
                    {(comment.edited_at.is_some() && !is_deleted).then(|| view! {
                        <span class="comment-edited muted small" title=edited_title data-test="comment-edited">"· edited"</span>
                    })}
                </header>
                {move || {
                    if is_deleted {
                        view! { <p class="comment-text comment-deleted-text" data-test="comment-text">"This comment was deleted."</p> }.into_any()
                    } else if state.editing.get() == Some(id) {
                        view! { <EditBox state id /> }.into_any()
                    } else {
                        view! { <div class="prose comment-text" data-test="comment-text" inner_html=html.clone()></div> }.into_any()
                    }
                }}
                {(!comment.attachments.is_empty() && !is_deleted).then(|| view! {
                    <ul class="comment-files" data-test="comment-attachments">
                        {comment.attachments.iter().map(|file| {
                            let href = format!("/api/v1/attachments/{}/", file.id);
                            let size = domain::tickets::human_size(file.size_bytes.max(0) as u64);
                            view! {
                                <li>
                                    <a class="comment-file" href=href target="_blank" rel="noopener">
                                        <Icon name="paperclip" />
                                        <span class="comment-file-name">{file.file_name.clone()}</span>
                                        <span class="muted small">{size}</span>
                                    </a>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                })}
                {(!is_deleted).then(|| view! {
                    <footer class="comment-actions">
                        <button
                            type="button"
                            class="rate-button"
                            class:rated=my_rating == Some(1)
                            aria-pressed=(my_rating == Some(1)).to_string()
                            title="Helpful"
                            data-test="rate-up"
                            on:click=move |_| rate(1)
                        >
                            <Icon name="thumbs-up" />
                            <span class="visually-hidden">"Helpful: "</span>
                            <span data-test="thumbs-up-count">{comment.thumbs_up}</span>
                        </button>
                        <button
                            type="button"
                            class="rate-button rate-down"
                            class:rated=my_rating == Some(-1)
                            aria-pressed=(my_rating == Some(-1)).to_string()
                            title="Not helpful"
                            data-test="rate-down"
                            on:click=move |_| rate(-1)
                        >
                            <Icon name="thumbs-down" />
                            <span class="visually-hidden">"Not helpful: "</span>
                            <span data-test="thumbs-down-count">{comment.thumbs_down}</span>
                        </button>
                        <span class="comment-actions-spacer"></span>
                        {can_reply.then(|| view! {
                            <button type="button" class="link-action" data-test="comment-reply"
                                on:click=move |_| {
                                    state.reply_draft.set(String::new());
                                    state.replying.set(Some(id));
                                }>
                                <Icon name="reply" />
                                "Reply"
                            </button>
                        })}
                        {can_edit.then(|| {
                            let text = text.clone();
                            view! {
                                <button type="button" class="link-action" data-test="comment-edit"
                                    on:click=move |_| {
                                        state.edit_draft.set(text.clone());
                                        state.editing.set(Some(id));
                                    }>
                                    <Icon name="pencil" />
                                    "Edit"
                                </button>
                            }
                        })}
                        {can_delete.then(|| view! {
                            {move || if state.confirm_delete.get() == Some(id) {
                                view! {
                                    <span class="confirm-delete">
                                        <span class="small">"Delete this comment?"</span>
                                        <button type="button" class="link-action link-danger" data-test="comment-delete-confirm"
                                            on:click=move |_| run(state, delete_comment(id), move || state.confirm_delete.set(None))>
                                            "Delete"
                                        </button>
                                        <button type="button" class="link-action" on:click=move |_| state.confirm_delete.set(None)>
                                            "Keep"
                                        </button>
                                    </span>
                                }.into_any()
                            } else {
                                view! {
                                    <button type="button" class="link-action" data-test="comment-delete"
                                        on:click=move |_| state.confirm_delete.set(Some(id))>
                                        <Icon name="trash" />
                                        "Delete"
                                    </button>
                                }.into_any()
                            }}
                        })}
                    </footer>
                })}
            </div>
        </article>
    }
}

/// Editing one's own comment in place.
#[component]
fn EditBox(state: ThreadState, id: i64) -> impl IntoView {
    let save = move || {
        let text = state.edit_draft.get_untracked();
        if text.trim().is_empty() {
            return;
        }
        run(state, edit_comment(id, text), move || {
            state.editing.set(None)
        });
    };
    view! {
        <div class="inline-editor">
            <textarea
                class="comment-textarea"
                rows="3"
                aria-label="Edit the comment"
                data-test="comment-edit-input"
                prop:value=move || state.edit_draft.get()
                on:input=move |ev| state.edit_draft.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if is_send_shortcut(&ev) {
                        ev.prevent_default();
                        save();
                    } else if ev.key() == "Escape" {
                        state.editing.set(None);
                    }
                }
            ></textarea>
            <div class="inline-editor-actions">
                <button type="button" class="button button-ghost button-small" on:click=move |_| state.editing.set(None)>"Cancel"</button>
                <button type="button" class="button button-primary button-small" data-test="comment-edit-save"
                    disabled=move || state.busy.get() on:click=move |_| save()>"Save"</button>
            </div>
        </div>
    }
}

/// Answering a comment, under its replies.
#[component]
fn ReplyBox(state: ThreadState, parent_id: i64) -> impl IntoView {
    let input = NodeRef::<leptos::html::Textarea>::new();
    // The box opens to be typed in.
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    let send = move || {
        let text = state.reply_draft.get_untracked();
        let Some(ticket_id) = state.ticket_id.get_untracked() else {
            return;
        };
        if text.trim().is_empty() {
            return;
        }
        state.stopped_typing();
        run(
            state,
            post_comment(ticket_id, text, Some(parent_id), false),
            move || {
                state.reply_draft.set(String::new());
                state.replying.set(None);
            },
        );
    };
    view! {
        <div class="reply-box">
            <textarea
                node_ref=input
                class="comment-textarea"
                rows="2"
                placeholder="Write a reply… (Ctrl+Enter to send)"
                aria-label="Your reply"
                data-test="reply-input"
                prop:value=move || state.reply_draft.get()
                on:input=move |ev| {
                    state.reply_draft.set(event_target_value(&ev));
                    state.typed();
                }
                on:keydown=move |ev| {
                    if is_send_shortcut(&ev) {
                        ev.prevent_default();
                        send();
                    } else if ev.key() == "Escape" {
                        state.replying.set(None);
                    }
                }
            ></textarea>
            <div class="inline-editor-actions">
                <button type="button" class="button button-ghost button-small" on:click=move |_| state.replying.set(None)>"Cancel"</button>
                <button type="button" class="button button-primary button-small" data-test="reply-submit"
                    disabled=move || state.busy.get() || state.reply_draft.with(|t| t.trim().is_empty())
                    on:click=move |_| send()>
                    "Reply"
                </button>
            </div>
        </div>
    }
}

/// "Sam Support is typing…"
#[component]
fn TypingIndicator(state: ThreadState) -> impl IntoView {
    let text = move || {
        let names: Vec<String> = state
            .typists
            .with(|t| t.iter().map(|(v, _)| v.full_name.clone()).collect());
        match names.as_slice() {
            [] => None,
            [one] => Some(format!("{one} is typing…")),
            [one, two] => Some(format!("{one} and {two} are typing…")),
            _ => Some("Several people are typing…".to_owned()),
        }
    };
    view! {
        <div class="typing-indicator" data-test="typing-indicator" aria-live="polite">
            {move || text().map(|text| view! {
                <span class="typing-dots" aria-hidden="true"><span></span><span></span><span></span></span>
                <span>{text}</span>
            })}
        </div>
    }
}

/// Writing a new comment (or, for agents, an internal note), with files.
#[component]
fn Composer(state: ThreadState, sees_internal: bool) -> impl IntoView {
    let session = use_session();
    let toasts = state.toasts;
    let files: crate::components::upload::ChosenFiles = RwSignal::new(Vec::new());
    let progress = RwSignal::new(None::<u32>);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let me = session.user.get_untracked();
    let my_initials = me.as_ref().map(|u| u.initials()).unwrap_or_default();
    let send = move || {
        let text = state.draft.get_untracked();
        let Some(ticket_id) = state.ticket_id.get_untracked() else {
            return;
        };
        if text.trim().is_empty() || state.busy.get_untracked() {
            return;
        }
        let is_internal = sees_internal && state.internal.get_untracked();
        let chosen = files.get_untracked();
        state.stopped_typing();
        state.busy.set(true);
        spawn_local(async move {
            let result = post_comment(ticket_id, text, None, is_internal).await;
            state.busy.set(false);
            match result {
                Ok(comment) => {
                    let id = comment.id;
                    state.merge(comment, true);
                    state.draft.set(String::new());
                    state.internal.set(false);
                    if !chosen.is_empty() {
                        files.set(Vec::new());
                        super::upload::upload_to(
                            &format!("/api/v1/comments/{id}/attachments/"),
                            chosen,
                            progress,
                            move |result| match result.and_then(|text| {
                                serde_json::from_str::<Comment>(&text).map_err(|e| e.to_string())
                            }) {
                                Ok(comment) => state.merge(comment, true),
                                Err(message) => toasts.error(message),
                            },
                        );
                    }
                }
                Err(err) => toasts.error(err.message),
            }
        });
    };
    let internal = move || sees_internal && state.internal.get();
    view! {
        <div class="composer" class:composer-internal=internal>
            <span class="avatar comment-avatar" aria-hidden="true">{my_initials}</span>
            <div class="composer-main">
                <textarea
                    class="comment-textarea"
                    rows="3"
                    placeholder=move || if internal() {
                        "Write an internal note (only agents and admins see it)…"
                    } else {
                        "Write a comment… Markdown works; @name mentions someone."
                    }
                    aria-label="Your comment"
                    data-test="comment-input"
                    prop:value=move || state.draft.get()
                    on:input=move |ev| {
                        state.draft.set(event_target_value(&ev));
                        state.typed();
                    }
                    on:keydown=move |ev| {
                        if is_send_shortcut(&ev) {
                            ev.prevent_default();
                            send();
                        }
                    }
                    on:blur=move |_| state.stopped_typing()
                ></textarea>
                {move || {
                    let chosen = files.get();
                    (!chosen.is_empty()).then(|| view! {
                        <ul class="composer-files">
                            {chosen.into_iter().enumerate().map(|(index, file)| view! {
                                <li>
                                    <Icon name="paperclip" />
                                    <span>{format!("{} · {}", file.name(), domain::tickets::human_size(file.size() as u64))}</span>
                                    <button type="button" class="icon-button" aria-label=format!("Remove {}", file.name())
                                        on:click=move |_| files.update(|f| if index < f.len() { f.remove(index); })>
                                        <Icon name="x" />
                                    </button>
                                </li>
                            }).collect_view()}
                        </ul>
                    })
                }}
                <super::upload::UploadProgress progress />
                <div class="composer-toolbar">
                    <label class="icon-button composer-attach" for="comment-file-input" title="Attach files">
                        <Icon name="paperclip" />
                        <span class="visually-hidden">"Attach files"</span>
                    </label>
                    <input
                        node_ref=file_input
                        id="comment-file-input"
                        class="visually-hidden"
                        type="file"
                        multiple
                        on:change=move |_| {
                            if let Some(element) = file_input.get_untracked() {
                                let more = crate::components::upload::file_list(element.files());
                                files.update(|f| f.extend(more));
                                element.set_value("");
                            }
                        }
                    />
                    {sees_internal.then(|| view! {
                        <label class="note-toggle" title="Internal notes are shown to agents and admins only">
                            <input
                                type="checkbox"
                                data-test="comment-internal"
                                prop:checked=move || state.internal.get()
                                on:change=move |ev| state.internal.set(event_target_checked(&ev))
                            />
                            <span class="note-toggle-track" aria-hidden="true"></span>
                            <span>"Internal note"</span>
                        </label>
                    })}
                    <span class="composer-hint muted small">"Ctrl+Enter to send"</span>
                    <button
                        type="button"
                        class="button button-primary"
                        class:button-amber=internal
                        data-test="comment-submit"
                        disabled=move || state.busy.get() || state.draft.with(|t| t.trim().is_empty())
                        on:click=move |_| send()
                    >
                        <Icon name="send" />
                        <span>{move || if internal() { "Add note" } else { "Comment" }}</span>
                    </button>
                </div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(id: i64, minute: u32, my_rating: Option<i64>) -> Comment {
        Comment {
            id,
            ticket_id: 1,
            parent_id: None,
            author: None,
            text: format!("c{id}"),
            html: String::new(),
            is_internal: false,
            created_at: chrono::DateTime::parse_from_rfc3339(&format!(
                "2026-03-10T12:{minute:02}:00Z"
            ))
            .unwrap()
            .to_utc(),
            edited_at: None,
            deleted_at: None,
            thumbs_up: 0,
            thumbs_down: 0,
            my_rating,
            attachments: Vec::new(),
            mentions: Vec::new(),
        }
    }

    #[test]
    fn broadcasts_replace_by_id_keep_my_rating_and_insert_in_order() {
        let mut list = vec![comment(1, 0, Some(1)), comment(3, 5, None)];
        let mut rated = comment(1, 0, None);
        rated.thumbs_up = 2;
        merge_comment(&mut list, rated, false);
        assert_eq!(list[0].thumbs_up, 2);
        assert_eq!(list[0].my_rating, Some(1), "a broadcast keeps my rating");
        merge_comment(&mut list, comment(1, 0, None), true);
        assert_eq!(list[0].my_rating, None, "my own answer says what I rated");
        merge_comment(&mut list, comment(2, 3, None), false);
        merge_comment(&mut list, comment(4, 9, None), false);
        let ids: Vec<i64> = list.iter().map(|c| c.id).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
    }
}
