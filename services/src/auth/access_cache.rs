//! A one-second memory of access tokens already checked.
//!
//! Every authenticated request checks its token against the database (account active,
//! session not ended, token not revoked, roles, second-factor policy): one statement, which on
//! SQLite is a round trip to the connection's thread and a quarter of a small request's cost.
//! A page load or a busy integration presents the same token many times a second, so the
//! answer is remembered for [`LIFETIME`].
//!
//! What that costs in correctness, and how it is kept small:
//! - Every change that could alter an answer (a session or token revoked, an account
//!   deactivated or renamed, a role granted or removed, a second-factor setting or policy)
//!   calls [`access_changed`], which makes everything remembered in this process stale at
//!   once: in the single binary a revocation takes effect immediately.
//! - Another process (another replica, or the `tts` command line) sees the change when the
//!   entry expires: within [`LIFETIME`].
//! - A check that read the database just before a change and finished just after it is
//!   remembered with the generation it started under, so it is stale too. (The change is
//!   announced when its statement runs, not when its transaction commits: a check that
//!   starts in between, a matter of milliseconds, may be believed for up to [`LIFETIME`].)
//! - Refusals are never remembered: a revoked token costs the statement every time.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::policy::UserPrincipal;

/// How long a checked token is believed without asking the database again.
pub const LIFETIME: Duration = Duration::from_secs(1);

/// Most tokens remembered; past it the memory starts afresh (an attacker presenting many
/// valid tokens gains nothing but a few more statements).
const CAPACITY: usize = 10_000;

/// Bumped by every change that could alter an access check, in any service of this process.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Whose access changed: one user's (their sessions, tokens, account, roles), or anyone's (a
/// policy for a whole role, who belongs to a department or a workflow role).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "who", content = "id", rename_all = "snake_case")]
pub enum AccessChange {
    User(i64),
    Everyone,
}

impl AccessChange {
    /// Whether the change may concern `user_id`.
    pub fn concerns(self, user_id: i64) -> bool {
        match self {
            AccessChange::User(id) => id == user_id,
            AccessChange::Everyone => true,
        }
    }
}

/// A change as open sockets hear of it ([`subscribe`]).
#[derive(Debug, Clone, Copy)]
pub struct AccessNotice {
    pub change: AccessChange,
    /// Made in this process (and so to be told to the other replicas), or heard from one.
    pub here: bool,
}

/// Changes waiting for slow listeners; one that falls behind re-checks as for `Everyone`.
const NOTICE_BUFFER: usize = 1024;

static NOTICES: LazyLock<broadcast::Sender<AccessNotice>> =
    LazyLock::new(|| broadcast::channel(NOTICE_BUFFER).0);

/// Makes every remembered access check stale and tells the open sockets of the users
/// concerned, which check their rights again at once. Called by the database functions that
/// change sessions, revoked tokens, accounts, roles, policies and memberships.
pub fn access_changed(change: AccessChange) {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    let _ = NOTICES.send(AccessNotice { change, here: true });
}

/// The same for a change another replica made and announced (`live::PeerEvent`).
pub fn access_changed_elsewhere(change: AccessChange) {
    GENERATION.fetch_add(1, Ordering::SeqCst);
    let _ = NOTICES.send(AccessNotice {
        change,
        here: false,
    });
}

/// Hears every access change from now on.
pub fn subscribe() -> broadcast::Receiver<AccessNotice> {
    NOTICES.subscribe()
}

/// The current generation, read before a check so that a change during it makes it stale.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::SeqCst)
}

struct Entry {
    principal: UserPrincipal,
    generation: u64,
    checked_at: Instant,
}

#[derive(Default)]
pub struct AccessCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl AccessCache {
    /// The principal token `jti` was found to be, if checked within [`LIFETIME`] and since the
    /// last change.
    pub fn get(&self, jti: &str) -> Option<UserPrincipal> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(jti)?;
        (entry.generation == generation() && entry.checked_at.elapsed() < LIFETIME)
            .then(|| entry.principal.clone())
    }

    /// Remembers a successful check that started at `generation`.
    pub fn remember(&self, principal: &UserPrincipal, generation: u64) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY {
            let now = Instant::now();
            entries.retain(|_, entry| now.duration_since(entry.checked_at) < LIFETIME);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            principal.token_id.clone(),
            Entry {
                principal: principal.clone(),
                generation,
                checked_at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::SessionUser;

    fn principal(jti: &str) -> UserPrincipal {
        UserPrincipal {
            user: SessionUser {
                id: 7,
                email: "a@example.com".into(),
                full_name: "A".into(),
                roles: Vec::new(),
                must_set_up_second_factor: false,
            },
            session_id: None,
            token_id: jti.into(),
            token_expires_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn a_change_makes_every_remembered_check_stale() {
        let cache = AccessCache::default();
        // Other tests of this process may change access at any moment: one of a few tries
        // sees no change between remembering and asking.
        let believed = (0..100).any(|_| {
            cache.remember(&principal("one"), generation());
            cache.get("one").is_some_and(|p| p.user.id == 7)
        });
        assert!(believed);
        assert!(cache.get("two").is_none());
        access_changed(AccessChange::Everyone);
        assert!(cache.get("one").is_none());
    }

    #[test]
    fn a_check_that_overlapped_a_change_is_not_believed() {
        let cache = AccessCache::default();
        let started = generation();
        access_changed(AccessChange::Everyone);
        cache.remember(&principal("one"), started);
        assert!(cache.get("one").is_none());
    }
}
