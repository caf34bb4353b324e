//! Helpers for pages with many forms on one server action, and for reloading a page's data
//! after a change.

use domain::AppError;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use super::ui::last_error;

/// Which of several forms sharing one server action was sent last, so that only that form
/// shows the answer's field errors (every category has its own rename form, and so on).
pub struct Sent<K: Send + Sync + 'static> {
    key: RwSignal<Option<K>>,
    error: Signal<Option<AppError>>,
}

impl<K: Send + Sync + 'static> Clone for Sent<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K: Send + Sync + 'static> Copy for Sent<K> {}

impl<K: Clone + PartialEq + Send + Sync + 'static> Sent<K> {
    /// Follows `action`; `key` names the form an input came from.
    pub fn track<S>(action: ServerAction<S>, key: fn(&S) -> K) -> Self
    where
        S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
        S::Output: Clone + Send + Sync + 'static,
    {
        let sent = RwSignal::new(None);
        let input = action.input();
        // The input is there only while the call runs: remember whose it was.
        Effect::new(move |_| {
            if let Some(current) = input.with(|input| input.as_ref().map(key)) {
                sent.set(Some(current));
            }
        });
        Sent {
            key: sent,
            error: last_error(action.value()),
        }
    }

    /// The last answer's error if the form `key` sent it.
    pub fn error_for(self, key: K) -> Signal<Option<AppError>> {
        Signal::derive(move || {
            if self.key.with(|sent| sent.as_ref() == Some(&key)) {
                self.error.get()
            } else {
                None
            }
        })
    }

    /// Whether the form `key` was the last one sent (read once, when a list is drawn).
    pub fn was_last(self, key: &K) -> bool {
        self.key.with_untracked(|sent| sent.as_ref() == Some(key))
    }
}

/// Counts the successful answers of `action` in `changed`, which reloads the page's data; a
/// failed answer leaves the forms as they are, with what was typed and the errors beside it.
pub fn reload_on_success<S>(action: ServerAction<S>, changed: RwSignal<usize>)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |previous: Option<usize>| {
        let version = action.version().get();
        if previous.is_some_and(|p| p != version)
            && matches!(action.value().get_untracked(), Some(Ok(_)))
        {
            changed.update(|c| *c += 1);
        }
        version
    });
}
