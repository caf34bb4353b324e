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
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::policy::UserPrincipal;

/// How long a checked token is believed without asking the database again.
pub const LIFETIME: Duration = Duration::from_secs(1);

/// Most tokens remembered; past it the memory starts afresh (an attacker presenting many
/// valid tokens gains nothing but a few more statements).
const CAPACITY: usize = 10_000;

/// Bumped by every change that could alter an access check, in any service of this process.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Makes every remembered access check stale. Called by the database functions that change
/// sessions, revoked tokens, accounts, roles and second-factor policies.
pub fn access_changed() {
    GENERATION.fetch_add(1, Ordering::SeqCst);
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
        access_changed();
        assert!(cache.get("one").is_none());
    }

    #[test]
    fn a_check_that_overlapped_a_change_is_not_believed() {
        let cache = AccessCache::default();
        let started = generation();
        access_changed();
        cache.remember(&principal("one"), started);
        assert!(cache.get("one").is_none());
    }
}
