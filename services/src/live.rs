//! Live events for open sockets: each ticket's room (comment changes, who is viewing, who is
//! typing) and each user's channel (new notifications, the unread count).
//!
//! A room is a `tokio::sync::broadcast` channel: publishing never waits for a receiver, and
//! each socket reads at its own pace from a bounded buffer ([`ROOM_BUFFER`] events). A socket
//! that falls that far behind is told it lagged and is closed; its client reconnects and
//! reloads, so a slow client never slows the others and never grows memory without bound.
//!
//! Comments are published by the process that commits them. Notifications are written in
//! many transactions (task actions, the SLA monitor, outbox handlers), so instead of each
//! announcing itself, [`watch_notifications`] reads new rows from the database while anyone
//! is listening; that also brings other replicas' notifications to this one's sockets.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use domain::comments::{Comment, CommentAction, Viewer};
use domain::notifications::Notification;
use tokio::sync::{broadcast, watch};

use crate::Services;
use crate::db::notifications as notification_rows;

/// Events a socket may fall behind by before it is dropped.
pub const ROOM_BUFFER: usize = 256;
/// Sockets one user may hold open in one process unless configured otherwise
/// (`TTS_SOCKETS_PER_USER`): a browser holds two per tab (the ticket's and the
/// notifications'); beyond the limit a new one is refused with 429, so one client cannot
/// exhaust the process.
pub const SOCKETS_PER_USER: usize = 40;
/// How often new notifications are looked for while someone listens, unless nudged: this
/// process nudges after its own writes ([`LiveHub::nudge`]); other replicas' writes are found
/// within this time.
const NOTIFICATION_POLL: Duration = Duration::from_millis(250);
/// How long an id below the newest seen is waited for (a transaction that took its id
/// earlier and commits later, on PostgreSQL).
const GAP_GRACE: Duration = Duration::from_secs(10);

/// What a ticket's room carries. (Who is viewing is not an event but a value each socket
/// watches, [`RoomTicket::presence`]: a thousand people opening a ticket at once would
/// otherwise send each socket a thousand lists.)
#[derive(Debug, Clone)]
pub enum TicketEvent {
    Comment {
        action: CommentAction,
        comment: Arc<Comment>,
    },
    Typing {
        user: Viewer,
        is_typing: bool,
    },
}

/// A live event as it travels to the other replicas (with a broker configured): what this
/// process's sockets were sent, for theirs. New notifications do not travel this way; each
/// replica reads them from the database ([`watch_notifications`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PeerEvent {
    Comment {
        action: CommentAction,
        comment: Box<Comment>,
    },
    Typing {
        ticket_id: i64,
        user: Viewer,
        is_typing: bool,
    },
    /// The user's notifications were marked read.
    Read { user_id: i64 },
    /// A replica wrote notifications: look for them now rather than at the next poll.
    NotificationsWritten,
    /// Someone's access changed on a replica (signed out, deactivated, a role taken away):
    /// remembered checks here are stale, and that user's sockets check their rights again.
    AccessChanged {
        change: crate::auth::access_cache::AccessChange,
    },
}

/// Live events waiting to go to the other replicas; beyond this they are dropped (live
/// events are a courtesy: a client that missed one reloads the thread when it reconnects).
pub const PEER_BUFFER: usize = 10_000;

/// What a user's channel carries.
#[derive(Debug, Clone)]
pub enum UserEvent {
    Notification(Arc<Notification>),
    /// Notifications were marked read (the socket sends the new unread count).
    Read,
}

pub struct LiveHub {
    rooms: Mutex<HashMap<i64, Room>>,
    users: Mutex<HashMap<i64, broadcast::Sender<UserEvent>>>,
    next_socket: AtomicU64,
    /// Wakes the notification watcher when the first user socket opens.
    listening: tokio::sync::Notify,
    /// Wakes the notification watcher because this process wrote notifications.
    written: tokio::sync::Notify,
    /// Where events for the other replicas go, once a broker link is made ([`Self::link_peers`]).
    peers: std::sync::OnceLock<tokio::sync::mpsc::Sender<PeerEvent>>,
    /// Open sockets per user ([`Self::hold_socket`]).
    sockets: Arc<Mutex<HashMap<i64, usize>>>,
    sockets_per_user: usize,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new(SOCKETS_PER_USER)
    }
}

/// One of a user's open sockets, counted while it is held ([`LiveHub::hold_socket`]).
pub struct SocketPlace {
    sockets: Arc<Mutex<HashMap<i64, usize>>>,
    user_id: i64,
}

impl Drop for SocketPlace {
    fn drop(&mut self) {
        let mut sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = sockets.get_mut(&self.user_id) {
            *count -= 1;
            if *count == 0 {
                sockets.remove(&self.user_id);
            }
        }
    }
}

struct Room {
    sender: broadcast::Sender<TicketEvent>,
    viewers: HashMap<u64, Viewer>,
    /// Sockets in the room whose page has gone quiet (see [`RoomTicket::set_present`]): they
    /// still get the room's events but do not count as viewing.
    away: HashSet<u64>,
    presence: watch::Sender<Arc<Vec<Viewer>>>,
}

/// A socket's place in a ticket's room; leaving (dropping it) updates the presence list.
pub struct RoomTicket {
    hub: Arc<LiveHub>,
    ticket_id: i64,
    socket: u64,
    pub events: broadcast::Receiver<TicketEvent>,
    /// Who is viewing (each person once); changes when someone arrives or leaves.
    pub presence: watch::Receiver<Arc<Vec<Viewer>>>,
}

impl RoomTicket {
    /// Counts this socket among the viewers or not: a socket whose page stopped answering
    /// (a laptop closed, a network gone) leaves the presence list within seconds, long before
    /// the socket itself is given up, and is back as soon as it is heard again.
    pub fn set_present(&self, present: bool) {
        let mut rooms = self.hub.rooms();
        if let Some(room) = rooms.get_mut(&self.ticket_id) {
            let changed = if present {
                room.away.remove(&self.socket)
            } else {
                room.away.insert(self.socket)
            };
            if changed {
                update_presence(room);
            }
        }
    }
}

impl Drop for RoomTicket {
    fn drop(&mut self) {
        self.hub.leave(self.ticket_id, self.socket);
    }
}

impl LiveHub {
    // A panic while a lock is held leaves plain maps behind, still usable: carry on.
    fn rooms(&self) -> MutexGuard<'_, HashMap<i64, Room>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn users(&self) -> MutexGuard<'_, HashMap<i64, broadcast::Sender<UserEvent>>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn new(sockets_per_user: usize) -> Self {
        Self {
            rooms: Mutex::default(),
            users: Mutex::default(),
            next_socket: AtomicU64::default(),
            listening: tokio::sync::Notify::default(),
            written: tokio::sync::Notify::default(),
            peers: std::sync::OnceLock::default(),
            sockets: Arc::default(),
            sockets_per_user,
        }
    }

    /// Counts a socket of `user_id` for as long as the place is held; 429 past the limit.
    pub fn hold_socket(&self, user_id: i64) -> Result<SocketPlace, domain::AppError> {
        let mut sockets = self.sockets.lock().unwrap_or_else(PoisonError::into_inner);
        let count = sockets.entry(user_id).or_default();
        if *count >= self.sockets_per_user {
            return Err(domain::AppError::new(
                domain::ErrorKind::RateLimited,
                format!(
                    "Too many open connections ({}): close some tabs and reload.",
                    self.sockets_per_user
                ),
            ));
        }
        *count += 1;
        Ok(SocketPlace {
            sockets: self.sockets.clone(),
            user_id,
        })
    }

    /// Enters the ticket's room as `viewer` (who is viewing changes if they were not there).
    pub fn join(self: &Arc<Self>, ticket_id: i64, viewer: Viewer) -> RoomTicket {
        let socket = self.next_socket.fetch_add(1, Ordering::Relaxed);
        let mut rooms = self.rooms();
        let room = rooms.entry(ticket_id).or_insert_with(|| Room {
            sender: broadcast::channel(ROOM_BUFFER).0,
            viewers: HashMap::new(),
            away: HashSet::new(),
            presence: watch::channel(Arc::default()).0,
        });
        let events = room.sender.subscribe();
        room.viewers.insert(socket, viewer);
        update_presence(room);
        let mut presence = room.presence.subscribe();
        presence.mark_changed();
        RoomTicket {
            hub: self.clone(),
            ticket_id,
            socket,
            events,
            presence,
        }
    }

    fn leave(&self, ticket_id: i64, socket: u64) {
        let mut rooms = self.rooms();
        if let Some(room) = rooms.get_mut(&ticket_id) {
            room.viewers.remove(&socket);
            room.away.remove(&socket);
            if room.viewers.is_empty() {
                rooms.remove(&ticket_id);
            } else {
                update_presence(room);
            }
        }
    }

    /// Sends an event to everyone in the ticket's room, here and on the other replicas.
    pub fn publish(&self, ticket_id: i64, event: TicketEvent) {
        self.to_peers(|| match &event {
            TicketEvent::Comment { action, comment } => PeerEvent::Comment {
                action: *action,
                comment: Box::new(Comment::clone(comment)),
            },
            TicketEvent::Typing { user, is_typing } => PeerEvent::Typing {
                ticket_id,
                user: user.clone(),
                is_typing: *is_typing,
            },
        });
        self.publish_here(ticket_id, event);
    }

    /// Sends an event to this process's sockets in the ticket's room (none: nothing to do).
    fn publish_here(&self, ticket_id: i64, event: TicketEvent) {
        if let Some(room) = self.rooms().get(&ticket_id) {
            let _ = room.sender.send(event);
        }
    }

    pub fn publish_comment(&self, action: CommentAction, comment: &Comment) {
        self.publish(
            comment.ticket_id,
            TicketEvent::Comment {
                action,
                comment: Arc::new(comment.clone()),
            },
        );
    }

    /// Starts sending this process's live events to the other replicas: the returned queue is
    /// drained by the broker link. Only the first call links.
    pub fn link_peers(&self) -> Option<tokio::sync::mpsc::Receiver<PeerEvent>> {
        let (sender, receiver) = tokio::sync::mpsc::channel(PEER_BUFFER);
        self.peers.set(sender.clone()).ok()?;
        tokio::spawn(tell_peers_of_access_changes(sender));
        Some(receiver)
    }

    fn to_peers(&self, event: impl FnOnce() -> PeerEvent) {
        if let Some(peers) = self.peers.get()
            && let Err(err) = peers.try_send(event())
        {
            tracing::warn!(error = %err, "a live event for the other replicas was dropped");
        }
    }

    /// An event another replica published: for this process's sockets only.
    pub fn receive_from_peer(&self, event: PeerEvent) {
        match event {
            PeerEvent::Comment { action, comment } => self.publish_here(
                comment.ticket_id,
                TicketEvent::Comment {
                    action,
                    comment: Arc::new(rendered_here(*comment)),
                },
            ),
            PeerEvent::Typing {
                ticket_id,
                user,
                is_typing,
            } => self.publish_here(ticket_id, TicketEvent::Typing { user, is_typing }),
            PeerEvent::Read { user_id } => self.publish_user_here(user_id, UserEvent::Read),
            PeerEvent::NotificationsWritten => self.written.notify_one(),
            PeerEvent::AccessChanged { change } => {
                crate::auth::access_cache::access_changed_elsewhere(change);
            }
        }
    }

    /// How many sockets are in the ticket's room.
    pub fn viewers(&self, ticket_id: i64) -> usize {
        self.rooms()
            .get(&ticket_id)
            .map_or(0, |room| room.viewers.len())
    }

    /// The user's channel (created on first use).
    pub fn subscribe_user(&self, user_id: i64) -> broadcast::Receiver<UserEvent> {
        let receiver = self
            .users()
            .entry(user_id)
            .or_insert_with(|| broadcast::channel(ROOM_BUFFER).0)
            .subscribe();
        self.listening.notify_one();
        receiver
    }

    /// Sends an event to the user's sockets; "marked read" goes to the other replicas too
    /// (new notifications reach each replica from the database).
    pub fn publish_user(&self, user_id: i64, event: UserEvent) {
        if matches!(event, UserEvent::Read) {
            self.to_peers(|| PeerEvent::Read { user_id });
        }
        self.publish_user_here(user_id, event);
    }

    fn publish_user_here(&self, user_id: i64, event: UserEvent) {
        let mut users = self.users();
        if let Some(sender) = users.get(&user_id) {
            if sender.receiver_count() == 0 {
                users.remove(&user_id);
            } else {
                let _ = sender.send(event);
            }
        }
    }

    /// Tells the notification watcher that this process committed notifications, so they
    /// reach sockets now rather than at the next poll.
    pub fn nudge(&self) {
        self.written.notify_one();
        self.to_peers(|| PeerEvent::NotificationsWritten);
    }

    fn has_user_listeners(&self) -> bool {
        let mut users = self.users();
        users.retain(|_, sender| sender.receiver_count() > 0);
        !users.is_empty()
    }
}

/// A comment from another replica, its HTML rendered again here from its text: whoever can
/// publish to the broker's live exchange must not be able to put markup of their own choosing
/// into every viewer's page (the text is rendered and sanitised as this process's own are).
fn rendered_here(mut comment: Comment) -> Comment {
    comment.html = if comment.deleted_at.is_some() {
        String::new()
    } else {
        crate::markdown::render(&comment.text)
    };
    comment
}

/// Sends the access changes made in this process to the other replicas, for as long as the
/// link lasts.
async fn tell_peers_of_access_changes(peers: tokio::sync::mpsc::Sender<PeerEvent>) {
    let mut notices = crate::auth::access_cache::subscribe();
    loop {
        let change = match notices.recv().await {
            Ok(notice) if notice.here => notice.change,
            Ok(_) => continue,
            // Missed some: everyone's then.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                crate::auth::access_cache::AccessChange::Everyone
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if peers
            .send(PeerEvent::AccessChanged { change })
            .await
            .is_err()
        {
            return;
        }
    }
}

/// Recomputes who is viewing (each person once: two tabs are one viewer) and tells the
/// sockets only if that changed.
fn update_presence(room: &Room) {
    let mut viewers: Vec<Viewer> = room
        .viewers
        .iter()
        .filter(|(socket, _)| !room.away.contains(socket))
        .map(|(_, viewer)| viewer.clone())
        .collect();
    viewers.sort_by(|a, b| {
        a.full_name
            .cmp(&b.full_name)
            .then(a.user_id.cmp(&b.user_id))
    });
    viewers.dedup();
    room.presence.send_if_modified(|current| {
        if **current == viewers {
            false
        } else {
            *current = Arc::new(viewers);
            true
        }
    });
}

/// Which notification ids have been pushed, allowing for ids that commit out of order: ids
/// below the newest seen that have not appeared are waited for a while ([`GAP_GRACE`]).
#[derive(Debug, Default)]
struct Watermark {
    /// Every id at or below this has been pushed or given up on.
    floor: i64,
    /// Ids above `floor` already pushed.
    seen: BTreeSet<i64>,
    /// Ids above `floor` not seen yet, with when they were first missed.
    gaps: HashMap<i64, Instant>,
}

impl Watermark {
    /// Takes a batch of ids (ascending, all above `floor`); returns those not pushed before.
    fn take(&mut self, ids: &[i64], now: Instant) -> Vec<i64> {
        let fresh: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| self.seen.insert(*id))
            .collect();
        for id in &fresh {
            self.gaps.remove(id);
        }
        let newest = self.seen.last().copied().unwrap_or(self.floor);
        for id in self.floor + 1..newest {
            if !self.seen.contains(&id) {
                self.gaps.entry(id).or_insert(now);
            }
        }
        self.gaps
            .retain(|_, missed| now.duration_since(*missed) < GAP_GRACE);
        let floor = self
            .gaps
            .keys()
            .min()
            .map_or(newest, |oldest_gap| oldest_gap - 1);
        self.floor = self.floor.max(floor);
        let floor = self.floor;
        self.seen.retain(|id| *id > floor);
        fresh
    }
}

/// Pushes new notifications to their users' sockets, from any process's transactions, for
/// as long as the program runs. Reads the database only while someone listens.
pub async fn watch_notifications(services: Services) {
    let mut mark = Watermark::default();
    let start = async {
        let mut pooled = services.db().acquire().await?;
        notification_rows::newest_id(&mut pooled.conn()).await
    };
    match start.await {
        Ok(newest) => mark.floor = newest,
        Err(err) => tracing::warn!(error = %err, "the notification watcher cannot start"),
    }
    let hub = services.live().clone();
    loop {
        if !hub.has_user_listeners() {
            let _ = tokio::time::timeout(Duration::from_secs(5), hub.listening.notified()).await;
            continue;
        }
        let batch = async {
            let mut pooled = services.db().acquire().await?;
            notification_rows::after(&mut pooled.conn(), mark.floor, 500).await
        };
        match batch.await {
            Ok(rows) => {
                let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
                let fresh = mark.take(&ids, Instant::now());
                for row in rows {
                    if fresh.contains(&row.id) {
                        let user_id = row.user_id;
                        let notification = crate::notifications::from_row(row);
                        hub.publish_user(user_id, UserEvent::Notification(Arc::new(notification)));
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "reading new notifications failed"),
        }
        let _ = tokio::time::timeout(NOTIFICATION_POLL, hub.written.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_that_commits_late_is_still_pushed_once() {
        let mut mark = Watermark::default();
        let t0 = Instant::now();
        assert_eq!(mark.take(&[1, 2], t0), [1, 2]);
        // 3 took its id first but has not committed yet.
        assert_eq!(mark.take(&[4, 5], t0), [4, 5]);
        assert_eq!(mark.floor, 2);
        assert_eq!(mark.take(&[3, 4, 5], t0), [3]);
        assert_eq!(mark.floor, 5);
        assert!(mark.take(&[], t0).is_empty());
    }

    #[test]
    fn an_id_that_never_commits_is_given_up_after_the_grace() {
        let mut mark = Watermark::default();
        let t0 = Instant::now();
        mark.take(&[1, 3], t0);
        assert_eq!(mark.floor, 1);
        mark.take(&[], t0 + GAP_GRACE + Duration::from_secs(1));
        assert_eq!(mark.floor, 3);
        assert!(mark.seen.is_empty());
    }

    /// Whoever can publish to the broker's live exchange must not put markup into pages: a
    /// comment from another replica is shown as this process renders its text.
    #[tokio::test]
    async fn a_peers_comment_is_rendered_here_not_trusted() {
        let hub = Arc::new(LiveHub::default());
        let mut room = hub.join(
            7,
            Viewer {
                user_id: 1,
                full_name: "A".into(),
            },
        );
        let forged = Comment {
            id: 1,
            ticket_id: 7,
            parent_id: None,
            author: None,
            text: "**hello**".into(),
            html: "<script>steal()</script><img src=x onerror=alert(1)>".into(),
            is_internal: false,
            created_at: chrono::Utc::now(),
            edited_at: None,
            deleted_at: None,
            thumbs_up: 0,
            thumbs_down: 0,
            my_rating: None,
            attachments: Vec::new(),
            mentions: Vec::new(),
        };
        hub.receive_from_peer(PeerEvent::Comment {
            action: CommentAction::Create,
            comment: Box::new(forged),
        });
        let TicketEvent::Comment { comment, .. } = room.events.recv().await.unwrap() else {
            panic!("expected a comment");
        };
        assert_eq!(comment.html, "<p><strong>hello</strong></p>\n");
    }

    #[tokio::test]
    async fn a_room_tells_who_is_there_and_forgets_those_who_left() {
        let hub = Arc::new(LiveHub::default());
        let ana = Viewer {
            user_id: 1,
            full_name: "Ana".into(),
        };
        let mut first = hub.join(7, ana.clone());
        let second = hub.join(
            7,
            Viewer {
                user_id: 2,
                full_name: "Ben".into(),
            },
        );
        assert_eq!(hub.viewers(7), 2);
        assert_eq!(first.presence.borrow_and_update().len(), 2);
        // A second tab of Ana's changes nothing anyone sees.
        let tab = hub.join(7, ana.clone());
        assert!(!first.presence.has_changed().unwrap());
        drop(tab);
        drop(second);
        assert!(first.presence.has_changed().unwrap());
        assert_eq!(**first.presence.borrow_and_update(), vec![ana.clone()]);
        drop(first);
        assert_eq!(hub.viewers(7), 0);
    }

    #[tokio::test]
    async fn a_quiet_socket_stops_counting_as_viewing_and_counts_again_when_heard() {
        let hub = Arc::new(LiveHub::default());
        let ana = Viewer {
            user_id: 1,
            full_name: "Ana".into(),
        };
        let ben = Viewer {
            user_id: 2,
            full_name: "Ben".into(),
        };
        let mut watching = hub.join(7, ana.clone());
        let quiet = hub.join(7, ben.clone());
        assert_eq!(watching.presence.borrow_and_update().len(), 2);
        quiet.set_present(false);
        assert!(watching.presence.has_changed().unwrap());
        assert_eq!(**watching.presence.borrow_and_update(), vec![ana.clone()]);
        // Saying it twice changes nothing.
        quiet.set_present(false);
        assert!(!watching.presence.has_changed().unwrap());
        quiet.set_present(true);
        assert_eq!(
            **watching.presence.borrow_and_update(),
            vec![ana.clone(), ben]
        );
        // Leaving while away leaves no trace.
        quiet.set_present(false);
        drop(quiet);
        assert_eq!(**watching.presence.borrow_and_update(), vec![ana]);
        assert_eq!(hub.viewers(7), 1);
    }
}
