//! An open socket's hold on its user's rights.
//!
//! A request is judged once, with the rights its user has when it arrives. A socket lives for
//! hours, so it is judged again and again: every message a client sends is checked with the
//! user's rights of that moment (the access check of any request, remembered for at most a
//! second by [`super::access_cache`]), and every message the socket sends is filtered with
//! rights that are kept current:
//!
//! - a change to the user's access (sign-out, a session ended elsewhere, deactivation, a role
//!   or membership granted or taken away) is announced by the database function that makes it
//!   ([`access_changed`](super::access_cache::access_changed)), in this process at once and on
//!   the other replicas through the broker's live exchange; the user's sockets check again on
//!   hearing it;
//! - at the access token's expiry the socket's rights end: the client reconnects, and its
//!   browser's session renews the token on the way (or does not, if it has ended);
//! - and every [`RECHECK_EVERY`] regardless, for changes no one announced (a replica without a
//!   broker, the command line).
//!
//! What ends the rights ends the socket, with a close code the client understands
//! ([`RightsLost::close_code`]).

use std::time::Duration;

use chrono::Utc;
use domain::{AppError, ErrorKind};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;

use super::AuthService;
use super::access_cache::{self, AccessNotice};
use super::policy::Principal;
use crate::error::Result;

/// The longest a socket goes without checking its rights again.
pub const RECHECK_EVERY: Duration = Duration::from_secs(25);

/// After hearing of a change, the socket checks at once and again after each of these: a
/// change is announced when its statement runs, before its transaction commits, and a check
/// that reads the database in between still sees the old rights.
const SETTLE_CHECKS: [Duration; 2] = [Duration::from_millis(150), Duration::from_secs(1)];

/// Why a socket's rights ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RightsLost {
    /// The access token expired: reconnect (a browser's session renews it on the way).
    TokenExpired,
    /// Signed out, the session ended, the account deactivated: the user must sign in again.
    SessionEnded(String),
}

impl RightsLost {
    /// The WebSocket close code: 4001 asks the client to reconnect at once, 4401 tells it the
    /// user is signed out (reconnecting would be refused).
    pub fn close_code(&self) -> u16 {
        match self {
            RightsLost::TokenExpired => 4001,
            RightsLost::SessionEnded(_) => 4401,
        }
    }

    pub fn reason(&self) -> &str {
        match self {
            RightsLost::TokenExpired => "access token expired; reconnect",
            RightsLost::SessionEnded(why) => why,
        }
    }
}

/// What woke a socket waiting on [`SocketRights::changed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The user's access may have changed, or it is time to look again: call
    /// [`SocketRights::recheck`].
    Recheck,
    /// The access token expired.
    Expired,
}

/// The rights of one socket's user, as last checked, and the means to check them again.
pub struct SocketRights {
    token: String,
    principal: Principal,
    user_id: i64,
    /// The access generation of the last check: another one means something changed somewhere.
    generation: u64,
    expires_at: tokio::time::Instant,
    /// Wakes from this socket's watcher ([`watch`]): the socket's loop polls only this, its
    /// own channel. Were it to poll the process-wide notices itself, every event sent to a
    /// thousand sockets would take the notices' shared lock a thousand times (a select polls
    /// all its branches whenever its task wakes).
    wakes: mpsc::Receiver<Wake>,
}

impl SocketRights {
    /// The rights of the user of access token `token`; 401 if it is not (or no longer) valid,
    /// 403 for anything but a user's token.
    pub async fn open(auth: &AuthService, token: String) -> Result<Self> {
        // Subscribed before checking: a change made during the check is heard afterwards.
        let notices = access_cache::subscribe();
        let generation = access_cache::generation();
        let principal = auth.authenticate_access_token(&token).await?;
        let Some(user) = principal.user() else {
            return Err(AppError::new(ErrorKind::Forbidden, "Sockets are for users.").into());
        };
        let user_id = user.user.id;
        let expires_at = instant_of(user.token_expires_at);
        // One wake waiting is enough: the socket checks everything at once when it takes it.
        let (wake, wakes) = mpsc::channel(1);
        tokio::spawn(watch(user_id, expires_at, notices, wake));
        Ok(Self {
            token,
            principal,
            user_id,
            generation,
            expires_at,
            wakes,
        })
    }

    /// The principal as last checked.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }

    pub fn user_id(&self) -> i64 {
        self.user_id
    }

    /// Checks the rights again now, from the database.
    pub async fn recheck(&mut self, auth: &AuthService) -> std::result::Result<(), RightsLost> {
        self.check(auth, false).await
    }

    /// Checks the rights for a message the client sent, as a request with the same token
    /// would be checked (a check remembered for up to a second may answer).
    pub async fn check_for_message(
        &mut self,
        auth: &AuthService,
    ) -> std::result::Result<&Principal, RightsLost> {
        self.check(auth, true).await?;
        Ok(&self.principal)
    }

    async fn check(
        &mut self,
        auth: &AuthService,
        remembered: bool,
    ) -> std::result::Result<(), RightsLost> {
        if tokio::time::Instant::now() >= self.expires_at {
            return Err(RightsLost::TokenExpired);
        }
        let generation = access_cache::generation();
        let checked = if remembered {
            auth.authenticate_access_token(&self.token).await
        } else {
            auth.authenticate_access_token_afresh(&self.token).await
        };
        match checked {
            Ok(principal) => {
                self.principal = principal;
                self.generation = generation;
                Ok(())
            }
            Err(crate::Error::App(err)) if err.kind == ErrorKind::Unauthorized => {
                Err(RightsLost::SessionEnded(err.message))
            }
            // The database is away: keep the rights last checked; the next periodic look
            // tries again.
            Err(err) => {
                tracing::warn!(error = %err, "could not check a socket's rights again");
                Ok(())
            }
        }
    }

    /// The principal, checked again first if anyone's access changed since the last check:
    /// for what must never be sent on stale rights (an internal note).
    pub async fn current(
        &mut self,
        auth: &AuthService,
    ) -> std::result::Result<&Principal, RightsLost> {
        if tokio::time::Instant::now() >= self.expires_at {
            return Err(RightsLost::TokenExpired);
        }
        if self.generation != access_cache::generation() {
            self.recheck(auth).await?;
        }
        Ok(&self.principal)
    }

    /// Waits until the rights should be checked again: a change that may concern this user,
    /// the periodic look, or the token's expiry. Cancel-safe (for `tokio::select!`).
    pub async fn changed(&mut self) -> Wake {
        // The watcher ends only with the socket; were it gone, expiry is the safe answer.
        self.wakes.recv().await.unwrap_or(Wake::Expired)
    }
}

/// A socket's watcher, a task of its own: hears every access change of the process, and the
/// socket's timers, and wakes the socket for those that concern its user. Ends with the socket
/// (its channel closed) or at the token's expiry.
async fn watch(
    user_id: i64,
    expires_at: tokio::time::Instant,
    mut notices: tokio::sync::broadcast::Receiver<AccessNotice>,
    wake: mpsc::Sender<Wake>,
) {
    let mut next_look = tokio::time::Instant::now() + RECHECK_EVERY;
    // Checks still due after the last change heard of ([`SETTLE_CHECKS`]), soonest first.
    let mut settle_checks: Vec<tokio::time::Instant> = Vec::new();
    loop {
        let settle_at = settle_checks.first().copied();
        let woken = tokio::select! {
            () = wake.closed() => return,
            () = tokio::time::sleep_until(expires_at) => {
                let _ = wake.send(Wake::Expired).await;
                return;
            }
            notice = notices.recv() => match notice {
                Ok(notice) if !notice.change.concerns(user_id) => continue,
                // Heard of a change (or missed some, one of which may have been this user's).
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    let now = tokio::time::Instant::now();
                    settle_checks = SETTLE_CHECKS.iter().map(|after| now + *after).collect();
                    Wake::Recheck
                }
                Err(RecvError::Closed) => std::future::pending().await,
            },
            () = sleep_until_some(settle_at) => {
                settle_checks.remove(0);
                Wake::Recheck
            }
            () = tokio::time::sleep_until(next_look) => {
                next_look = tokio::time::Instant::now() + RECHECK_EVERY;
                Wake::Recheck
            }
        };
        // A wake already waiting covers this one.
        let _ = wake.try_send(woken);
    }
}

async fn sleep_until_some(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn instant_of(at: chrono::DateTime<Utc>) -> tokio::time::Instant {
    let left = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    tokio::time::Instant::now() + left
}
