//! The WebSockets: `/ws/comments/{ticket_id}/` (the seed's comment protocol, with presence
//! and typing) and `/ws/notifications/` (the signed-in user's notifications as they arrive).
//!
//! Authentication is that of the REST API (bearer header, session cookie, API key) or a
//! `token` query parameter for clients that cannot set headers. A socket authenticated by
//! cookie must come from TTS's own pages (`Origin`), as browsers let any site open a socket
//! with the user's cookies. A refused socket gets the REST error (401, 403, 404) before the
//! upgrade.
//!
//! Each socket reads its room with a bounded buffer (`services::live`); one that falls too far
//! behind is closed with code 4008 and its client reconnects and reloads. Sockets that stop
//! answering pings for [`IDLE_LIMIT`] are closed; a send that takes over [`SEND_LIMIT`] closes
//! the socket rather than hold anything up.

use std::time::{Duration, Instant};

use axum::extract::ws::{
    CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade,
    rejection::WebSocketUpgradeRejection,
};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use domain::comments::{ClientMessage, NewComment, NotificationMessage, ServerMessage, Viewer};
use domain::{AppError, ErrorKind};
use serde::Deserialize;
use services::auth::CredentialSource;
use services::auth::policy::{Permission, Principal, authorize};
use services::auth::socket_rights::{RightsLost, SocketRights, Wake};
use services::live::{TicketEvent, UserEvent};
use tokio::sync::broadcast::error::RecvError;

use super::AppState;
use super::rest::{ApiError, ApiPath};

/// The largest message a client may send that is read (larger ones get an error message).
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// The largest frame the socket accepts at all (beyond it the connection closes, code 1009).
const MAX_FRAME: usize = 1024 * 1024;
/// The read buffer a socket starts with.
const SOCKET_BUFFER: usize = 4 * 1024;
const PING_EVERY: Duration = Duration::from_secs(25);
/// A socket silent this long (no message, no pong) is closed.
const IDLE_LIMIT: Duration = Duration::from_secs(70);
/// A ticket's socket is pinged this often, so that who is viewing stays true: a page that
/// went away without closing its socket (a laptop shut, a network lost) stops being listed
/// after [`PRESENCE_LIMIT`] without an answer, long before its socket is given up. Browsers
/// answer pings by themselves, also in background tabs.
const PRESENCE_PING_EVERY: Duration = Duration::from_secs(4);
const PRESENCE_LIMIT: Duration = Duration::from_secs(10);
const SEND_LIMIT: Duration = Duration::from_secs(10);
/// The close code telling a client it fell behind and should reload what it shows.
const CLOSE_LAGGED: u16 = 4008;

#[derive(Debug, Default, Deserialize)]
pub struct SocketParams {
    /// An access token, for clients that cannot set headers.
    token: Option<String>,
}

/// Who opens a socket, with the rights it will hold: the token parameter, else the request's
/// access token (bearer, or a browser's cookie, only from TTS's own pages). API keys are for
/// requests, not sockets: a socket belongs to a person.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &SocketParams,
) -> Result<SocketRights, ApiError> {
    let token = match params.token.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => token.to_owned(),
        None => {
            let source = services::auth::credential_source(headers);
            if source == CredentialSource::ApiKey {
                return Err(AppError::new(
                    ErrorKind::Forbidden,
                    "API keys cannot open sockets; sign in as a user.",
                )
                .into());
            }
            if source == CredentialSource::Cookies
                && !super::security::is_same_site(&state.protection, headers)
            {
                return Err(AppError::new(
                    ErrorKind::Forbidden,
                    "Cross-site socket refused: open it from TTS's own pages.",
                )
                .into());
            }
            services::auth::access_token_of(headers).ok_or_else(|| {
                AppError::unauthorized(
                    "Authentication required: send a Bearer token, a token parameter, or sign in.",
                )
            })?
        }
    };
    Ok(SocketRights::open(state.services.auth(), token).await?)
}

fn upgrade_of(
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<WebSocketUpgrade, ApiError> {
    // tungstenite's default buffers are 128 KiB each way per socket: 5,000 sockets took
    // 140 KiB each. Messages here are small; the buffers grow when one needs it.
    ws.map(|ws| {
        ws.read_buffer_size(SOCKET_BUFFER)
            .write_buffer_size(0)
            .max_write_buffer_size(MAX_FRAME)
            .max_message_size(MAX_FRAME)
            .max_frame_size(MAX_FRAME)
    })
    .map_err(|rejection| {
        AppError::bad_request(format!(
            "This address takes WebSocket connections: {rejection}"
        ))
        .into()
    })
}

/// `GET /ws/comments/{ticket_id}/`
pub async fn comments(
    State(state): State<AppState>,
    ApiPath(ticket_id): ApiPath<i64>,
    Query(params): Query<SocketParams>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let rights = authenticate(&state, &headers, &params).await?;
    // 404 for a ticket the user may not see, as the REST API answers.
    services::tickets::get(state.services.db(), rights.principal(), ticket_id).await?;
    let place = state.services.live().hold_socket(rights.user_id())?;
    let ws = upgrade_of(ws)?;
    Ok(ws
        .on_upgrade(move |socket| async move {
            let _place = place;
            comment_socket(state, rights, ticket_id, socket).await;
        })
        .into_response())
}

/// Sends one message; false if the socket is gone or too slow.
async fn send<T: serde::Serialize>(socket: &mut WebSocket, message: &T) -> bool {
    let Ok(text) = serde_json::to_string(message) else {
        return false;
    };
    send_text(socket, text.into()).await
}

async fn send_text(socket: &mut WebSocket, text: Utf8Bytes) -> bool {
    matches!(
        tokio::time::timeout(SEND_LIMIT, socket.send(Message::Text(text))).await,
        Ok(Ok(()))
    )
}

/// The heartbeat: closes a socket silent for [`IDLE_LIMIT`], else pings it; false when the
/// socket is done.
async fn still_alive(socket: &mut WebSocket, last_heard: Instant) -> bool {
    if last_heard.elapsed() > IDLE_LIMIT {
        close(socket, 1001, "no answer to pings").await;
        return false;
    }
    let ping = tokio::time::timeout(SEND_LIMIT, socket.send(Message::Ping(Vec::new().into())));
    matches!(ping.await, Ok(Ok(())))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame {
        code,
        reason: reason.to_owned().into(),
    };
    let _ = tokio::time::timeout(SEND_LIMIT, socket.send(Message::Close(Some(frame)))).await;
}

fn error_message(err: &AppError) -> ServerMessage {
    ServerMessage::Error {
        code: err.kind.code().to_owned(),
        message: err.message.clone(),
    }
}

struct SocketGauge(&'static str);

impl SocketGauge {
    fn open(kind: &'static str) -> Self {
        metrics::gauge!("tts_websockets_open", "kind" => kind).increment(1.0);
        SocketGauge(kind)
    }
}

impl Drop for SocketGauge {
    fn drop(&mut self) {
        metrics::gauge!("tts_websockets_open", "kind" => self.0).decrement(1.0);
    }
}

async fn comment_socket(
    state: AppState,
    mut rights: SocketRights,
    ticket_id: i64,
    mut socket: WebSocket,
) {
    let _gauge = SocketGauge::open("comments");
    let auth = state.services.auth();
    let viewer = viewer_of(rights.principal());
    let mut room = state.services.live().join(ticket_id, viewer.clone());
    if !send(
        &mut socket,
        &ServerMessage::ConnectionEstablished { ticket_id },
    )
    .await
    {
        return;
    }
    let mut heartbeat = tokio::time::interval(PRESENCE_PING_EVERY);
    heartbeat.reset();
    let mut last_heard = Instant::now();
    let mut present = true;
    let mut typing = TypingThrottle::default();
    loop {
        tokio::select! {
            event = room.events.recv() => {
                let event = match event {
                    Ok(event) => event,
                    Err(RecvError::Lagged(_)) => {
                        close(&mut socket, CLOSE_LAGGED, "fell behind; reconnect and reload").await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                };
                // An internal note goes out only on rights checked since the last change.
                let sees_internal = if is_internal(&event) {
                    match rights.current(auth).await {
                        Ok(principal) => services::comments::sees_internal(principal),
                        Err(lost) => return close_for(&mut socket, &lost.into()).await,
                    }
                } else {
                    false
                };
                let Some(text) = outgoing(event, sees_internal, viewer.user_id) else {
                    continue;
                };
                if !send_text(&mut socket, text).await {
                    return;
                }
            }
            Ok(()) = room.presence.changed() => {
                let viewers = room.presence.borrow_and_update().as_ref().clone();
                if !send(&mut socket, &ServerMessage::Presence { viewers }).await {
                    return;
                }
            }
            wake = rights.changed() => {
                if let Err(lost) = recheck(&state, &mut rights, wake, Some(ticket_id)).await {
                    return close_for(&mut socket, &lost).await;
                }
            }
            incoming = socket.recv() => {
                if !present && matches!(incoming, Some(Ok(_))) {
                    present = true;
                    room.set_present(true);
                }
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Binary(_))) => {
                        last_heard = Instant::now();
                        let refusal = AppError::bad_request("Send messages as JSON text.");
                        if !send(&mut socket, &error_message(&refusal)).await {
                            return;
                        }
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                        last_heard = Instant::now();
                        continue;
                    }
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                };
                last_heard = Instant::now();
                // Every message is judged with the user's rights of this moment, as a request
                // with the same token would be (the operation checks the ticket's visibility).
                let principal = match rights.check_for_message(auth).await {
                    Ok(principal) => principal,
                    Err(lost) => return close_for(&mut socket, &lost.into()).await,
                };
                if let Some(reply) = handle_client(
                    &state,
                    principal,
                    &viewer,
                    ticket_id,
                    &mut typing,
                    text.as_str(),
                )
                .await
                    && !send(&mut socket, &reply).await
                {
                    return;
                }
            }
            _ = heartbeat.tick() => {
                if present && last_heard.elapsed() > PRESENCE_LIMIT {
                    present = false;
                    room.set_present(false);
                }
                if !still_alive(&mut socket, last_heard).await {
                    return;
                }
            }
        }
    }
}

/// Who a socket's user is to the others in the room.
fn viewer_of(principal: &Principal) -> Viewer {
    let user = principal.user().map(|u| &u.user);
    Viewer {
        user_id: user.map_or(0, |u| u.id),
        full_name: user.map(|u| u.full_name.clone()).unwrap_or_default(),
    }
}

fn is_internal(event: &TicketEvent) -> bool {
    matches!(event, TicketEvent::Comment { comment, .. } if comment.is_internal)
}

/// Acts on a [`Wake`]: checks the socket's rights again and, for a ticket's socket, whether
/// the user may still see the ticket. `Err` when the socket must close.
async fn recheck(
    state: &AppState,
    rights: &mut SocketRights,
    wake: Wake,
    ticket_id: Option<i64>,
) -> Result<(), SocketEnd> {
    if wake == Wake::Expired {
        return Err(SocketEnd::Rights(RightsLost::TokenExpired));
    }
    rights
        .recheck(state.services.auth())
        .await
        .map_err(SocketEnd::Rights)?;
    if let Some(ticket_id) = ticket_id {
        match services::tickets::get(state.services.db(), rights.principal(), ticket_id).await {
            Ok(_) => {}
            Err(services::Error::App(err))
                if matches!(err.kind, ErrorKind::NotFound | ErrorKind::Forbidden) =>
            {
                return Err(SocketEnd::TicketOutOfReach);
            }
            // The database is away: the rights were just checked; the ticket is looked at again
            // at the next wake.
            Err(err) => tracing::warn!(error = %err, "could not check a socket's ticket again"),
        }
    }
    Ok(())
}

/// Why a socket is closed by the server for its user's rights.
enum SocketEnd {
    Rights(RightsLost),
    /// The user may no longer see the socket's ticket (moved out of their departments, a role
    /// taken away).
    TicketOutOfReach,
}

impl From<RightsLost> for SocketEnd {
    fn from(lost: RightsLost) -> Self {
        SocketEnd::Rights(lost)
    }
}

/// The close code for a socket whose user may no longer see its ticket.
const CLOSE_OUT_OF_REACH: u16 = 4403;

async fn close_for(socket: &mut WebSocket, end: &SocketEnd) {
    match end {
        SocketEnd::Rights(lost) => close(socket, lost.close_code(), lost.reason()).await,
        SocketEnd::TicketOutOfReach => {
            close(
                socket,
                CLOSE_OUT_OF_REACH,
                "you may no longer see this ticket",
            )
            .await;
        }
    }
}

/// Typing events from one socket, thinned: "typing" at most once per [`TypingThrottle::GAP`]
/// and "stopped" only after a "typing" that went out, so a client cannot flood a room (and
/// make its slower readers fall behind) with them. The others are dropped quietly.
#[derive(Default)]
struct TypingThrottle {
    last_typing: Option<Instant>,
    shown: bool,
}

impl TypingThrottle {
    const GAP: Duration = Duration::from_millis(500);

    fn allow(&mut self, is_typing: bool) -> bool {
        if !is_typing {
            return std::mem::take(&mut self.shown);
        }
        let now = Instant::now();
        if self
            .last_typing
            .is_some_and(|last| now.duration_since(last) < Self::GAP)
        {
            return false;
        }
        self.last_typing = Some(now);
        self.shown = true;
        true
    }
}

/// The text a room event becomes for this socket, if it may see it.
fn outgoing(event: TicketEvent, sees_internal: bool, me: i64) -> Option<Utf8Bytes> {
    match event {
        TicketEvent::Comment { action, comment } => {
            if comment.is_internal && !sees_internal {
                return None;
            }
            encoded_comment(action, comment)
        }
        TicketEvent::Typing { user, is_typing } => (user.user_id != me)
            .then(|| serde_json::to_string(&ServerMessage::Typing { user, is_typing }).ok())
            .flatten()
            .map(Utf8Bytes::from),
    }
}

/// A comment event as text, encoded once for all the sockets of its room: they all get the
/// same event (the same `Arc`) at the same moment, so the last one encoded is kept and shared
/// (a thousand watchers would otherwise clone and serialize it a thousand times).
fn encoded_comment(
    action: domain::comments::CommentAction,
    comment: std::sync::Arc<domain::comments::Comment>,
) -> Option<Utf8Bytes> {
    type Encoded = (
        std::sync::Arc<domain::comments::Comment>,
        domain::comments::CommentAction,
        Utf8Bytes,
    );
    static LAST: std::sync::Mutex<Option<Encoded>> = std::sync::Mutex::new(None);
    let mut last = LAST
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((kept, kept_action, text)) = last.as_ref()
        && std::sync::Arc::ptr_eq(kept, &comment)
        && *kept_action == action
    {
        return Some(text.clone());
    }
    let text = Utf8Bytes::from(
        serde_json::to_string(&ServerMessage::CommentUpdate {
            action,
            comment: Box::new((*comment).clone()),
        })
        .ok()?,
    );
    // Keeping the `Arc` keeps its address from being reused by another comment meanwhile.
    *last = Some((comment, action, text.clone()));
    Some(text)
}

/// Acts on a client's message; the answer for this socket alone, if any (a pong, an error).
/// Changes reach every socket, this one included, through the room.
async fn handle_client(
    state: &AppState,
    principal: &Principal,
    viewer: &Viewer,
    ticket_id: i64,
    typing: &mut TypingThrottle,
    text: &str,
) -> Option<ServerMessage> {
    if text.len() > MAX_CLIENT_MESSAGE {
        return Some(error_message(&AppError::new(
            ErrorKind::PayloadTooLarge,
            format!("Messages are at most {} KiB.", MAX_CLIENT_MESSAGE / 1024),
        )));
    }
    let message: ClientMessage = match serde_json::from_str(text) {
        Ok(message) => message,
        Err(err) => {
            return Some(error_message(&AppError::bad_request(format!(
                "Not a message this socket understands: {err}"
            ))));
        }
    };
    let services = &state.services;
    let outcome = match message {
        ClientMessage::Ping { timestamp } => return Some(ServerMessage::Pong { timestamp }),
        ClientMessage::Typing { is_typing } => {
            if !typing.allow(is_typing) {
                return None;
            }
            services.live().publish(
                ticket_id,
                TicketEvent::Typing {
                    user: viewer.clone(),
                    is_typing,
                },
            );
            return None;
        }
        ClientMessage::CommentCreate {
            text,
            is_internal,
            parent_id,
        } => {
            let input = NewComment {
                text,
                parent_id,
                is_internal,
            };
            services::comments::post(services, principal, ticket_id, input).await
        }
        ClientMessage::CommentReply {
            parent_id,
            text,
            is_internal,
        } => {
            let input = NewComment {
                text,
                parent_id: Some(parent_id),
                is_internal,
            };
            services::comments::post(services, principal, ticket_id, input).await
        }
        ClientMessage::CommentUpdate { comment_id, text } => {
            match on_this_ticket(state, principal, ticket_id, comment_id).await {
                Ok(()) => services::comments::edit(services, principal, comment_id, &text).await,
                Err(err) => Err(err),
            }
        }
        ClientMessage::CommentDelete { comment_id } => {
            match on_this_ticket(state, principal, ticket_id, comment_id).await {
                Ok(()) => services::comments::delete(services, principal, comment_id).await,
                Err(err) => Err(err),
            }
        }
        ClientMessage::CommentRate { comment_id, rating } => {
            match on_this_ticket(state, principal, ticket_id, comment_id).await {
                Ok(()) => services::comments::rate(services, principal, comment_id, rating).await,
                Err(err) => Err(err),
            }
        }
    };
    match outcome {
        Ok(_) => None,
        Err(err) => Some(error_message(&err.into())),
    }
}

/// A socket changes the comments of its own ticket only (404 for any other id, as if it did
/// not exist).
async fn on_this_ticket(
    state: &AppState,
    principal: &Principal,
    ticket_id: i64,
    comment_id: i64,
) -> services::Result<()> {
    if services::comments::ticket_of(&state.services, principal, comment_id).await? == ticket_id {
        Ok(())
    } else {
        Err(AppError::not_found("Comment").into())
    }
}

/// `GET /ws/notifications/`: the signed-in user's new notifications and unread count.
pub async fn notifications(
    State(state): State<AppState>,
    Query(params): Query<SocketParams>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    let rights = authenticate(&state, &headers, &params).await?;
    authorize(rights.principal(), Permission::OwnAccount)?;
    let place = state.services.live().hold_socket(rights.user_id())?;
    let ws = upgrade_of(ws)?;
    Ok(ws
        .on_upgrade(move |socket| async move {
            let _place = place;
            notification_socket(state, rights, socket).await;
        })
        .into_response())
}

async fn notification_socket(state: AppState, mut rights: SocketRights, mut socket: WebSocket) {
    let _gauge = SocketGauge::open("notifications");
    let user_id = rights.user_id();
    let mut events = state.services.live().subscribe_user(user_id);
    let unread = |state: &AppState| {
        let db = state.services.db().clone();
        async move {
            services::notifications::unread_count(&db, user_id)
                .await
                .unwrap_or(0)
        }
    };
    let hello = NotificationMessage::ConnectionEstablished {
        unread: unread(&state).await,
    };
    if !send(&mut socket, &hello).await {
        return;
    }
    let mut heartbeat = tokio::time::interval(PING_EVERY);
    heartbeat.reset();
    let mut last_heard = Instant::now();
    loop {
        tokio::select! {
            event = events.recv() => {
                let message = match event {
                    Ok(UserEvent::Notification(notification)) => NotificationMessage::Notification {
                        notification: (*notification).clone(),
                        unread: unread(&state).await,
                    },
                    Ok(UserEvent::Read) => NotificationMessage::Unread { unread: unread(&state).await },
                    Err(RecvError::Lagged(_)) => {
                        close(&mut socket, CLOSE_LAGGED, "fell behind; reconnect and reload").await;
                        return;
                    }
                    Err(RecvError::Closed) => return,
                };
                if !send(&mut socket, &message).await {
                    return;
                }
            }
            wake = rights.changed() => {
                if let Err(end) = recheck(&state, &mut rights, wake, None).await {
                    return close_for(&mut socket, &end).await;
                }
            }
            incoming = socket.recv() => {
                last_heard = Instant::now();
                let reply = match incoming {
                    Some(Ok(Message::Text(text))) => {
                        match serde_json::from_str::<ClientMessage>(text.as_str()) {
                            Ok(ClientMessage::Ping { timestamp }) => NotificationMessage::Pong { timestamp },
                            _ => NotificationMessage::Error {
                                code: "bad_request".into(),
                                message: "This socket only answers {\"type\":\"ping\"}.".into(),
                            },
                        }
                    }
                    Some(Ok(Message::Binary(_))) => NotificationMessage::Error {
                        code: "bad_request".into(),
                        message: "Send messages as JSON text.".into(),
                    },
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                };
                if !send(&mut socket, &reply).await {
                    return;
                }
            }
            _ = heartbeat.tick() => {
                if !still_alive(&mut socket, last_heard).await {
                    return;
                }
            }
        }
    }
}
