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

use std::pin::Pin;
use std::time::Duration;

use chrono::Utc;
use domain::{AppError, ErrorKind};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Sleep;

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
    notices: tokio::sync::broadcast::Receiver<AccessNotice>,
    /// The timers [`Self::changed`] waits on, kept from one wait to the next: a socket waits
    /// again after every event it sends, and a thousand sockets making three new timers for
    /// every comment would cost more than the comment.
    recheck_timer: Pin<Box<Sleep>>,
    expiry_timer: Pin<Box<Sleep>>,
    settle_timer: Pin<Box<Sleep>>,
    /// Checks still due after the last change heard of ([`SETTLE_CHECKS`]), soonest first; the
    /// first is what `settle_timer` waits for.
    settle_checks: Vec<tokio::time::Instant>,
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
        Ok(Self {
            token,
            principal,
            user_id,
            generation,
            expires_at,
            notices,
            recheck_timer: Box::pin(tokio::time::sleep(RECHECK_EVERY)),
            expiry_timer: Box::pin(tokio::time::sleep_until(expires_at)),
            settle_timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            settle_checks: Vec::new(),
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
        self.recheck_timer
            .as_mut()
            .reset(tokio::time::Instant::now() + RECHECK_EVERY);
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
            // The database is away: keep the rights last checked, look again soon.
            Err(err) => {
                tracing::warn!(error = %err, "could not check a socket's rights again");
                self.recheck_timer
                    .as_mut()
                    .reset(tokio::time::Instant::now() + Duration::from_secs(1));
                Ok(())
            }
        }
    }

    /// The principal, checked again first if anyone's access changed since the last check:
    /// for what must never be sent or done on stale rights (an internal note, a message from
    /// the client).
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
        loop {
            let settling = !self.settle_checks.is_empty();
            tokio::select! {
                notice = self.notices.recv() => match notice {
                    Ok(notice) if notice.change.concerns(self.user_id) => {
                        self.heard_of_a_change();
                        return Wake::Recheck;
                    }
                    Ok(_) => {}
                    // Missed some: one of them may have been this user's.
                    Err(RecvError::Lagged(_)) => {
                        self.heard_of_a_change();
                        return Wake::Recheck;
                    }
                    Err(RecvError::Closed) => std::future::pending::<()>().await,
                },
                () = self.settle_timer.as_mut(), if settling => {
                    self.settle_checks.remove(0);
                    if let Some(next) = self.settle_checks.first() {
                        self.settle_timer.as_mut().reset(*next);
                    }
                    return Wake::Recheck;
                }
                // Reset by the check this wake leads to.
                () = self.recheck_timer.as_mut() => return Wake::Recheck,
                () = self.expiry_timer.as_mut() => return Wake::Expired,
            }
        }
    }

    fn heard_of_a_change(&mut self) {
        let now = tokio::time::Instant::now();
        self.settle_checks = SETTLE_CHECKS.iter().map(|after| now + *after).collect();
        self.settle_timer.as_mut().reset(now + SETTLE_CHECKS[0]);
    }
}

fn instant_of(at: chrono::DateTime<Utc>) -> tokio::time::Instant {
    let left = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    tokio::time::Instant::now() + left
}
