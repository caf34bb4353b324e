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

/// Who reads the note typed above: the "Internal note" switch used wherever notes are typed
/// (comments, step actions, status changes), so that a note's visibility is always said where
/// it is written. A ticked switch sends `name=true`; the hint under it says what each way means.
#[component]
pub fn NoteVisibilityToggle(
    /// The form field: ticked means staff only.
    name: &'static str,
    /// Whether it starts ticked.
    internal: bool,
) -> impl IntoView {
    let ticked = RwSignal::new(internal);
    let hint_id = format!("{name}-hint");
    view! {
        <div class="note-visibility">
            <label class="note-toggle" title="Internal notes are shown to agents and admins only">
                <input
                    type="checkbox"
                    name=name
                    value="true"
                    checked=internal
                    aria-describedby=hint_id.clone()
                    data-test=name
                    on:change=move |ev| ticked.set(event_target_checked(&ev))
                />
                <span class="note-toggle-track" aria-hidden="true"></span>
                <span>"Internal note"</span>
            </label>
            <span class="muted small" id=hint_id>
                {move || if ticked.get() {
                    "Only agents and admins read it."
                } else {
                    "The requester reads it in the ticket's history."
                }}
            </span>
        </div>
    }
}

/// A Markdown field's preview: `None` while writing; the rendered HTML (or why it could not be
/// rendered) while previewing.
pub type Previewing = RwSignal<Option<Result<String, String>>>;

/// "Preview" / "Write" beside a Markdown field's label: renders the text as the ticket page
/// will show it (the server's renderer and sanitiser, so what you see is what others get).
#[component]
pub fn MarkdownPreviewToggle(
    source: NodeRef<leptos::html::Textarea>,
    previewing: Previewing,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let toggle = move |_| {
        if previewing.get_untracked().is_some() {
            previewing.set(None);
            if let Some(area) = source.get_untracked() {
                let _ = area.focus();
            }
            return;
        }
        let text = source
            .get_untracked()
            .map(|a| a.value())
            .unwrap_or_default();
        busy.set(true);
        leptos::task::spawn_local(async move {
            let shown = crate::api::tickets::preview_markdown(text)
                .await
                .map_err(|err| err.message);
            busy.set(false);
            previewing.set(Some(shown));
        });
    };
    view! {
        <button
            type="button"
            class="button button-ghost button-small"
            aria-pressed=move || previewing.get().is_some().to_string()
            disabled=busy
            data-test="markdown-preview"
            on:click=toggle
        >
            {move || if previewing.get().is_some() { "Write" } else { "Preview" }}
        </button>
    }
}

/// The rendered preview, in place of the field while previewing.
#[component]
pub fn MarkdownPreview(previewing: Previewing) -> impl IntoView {
    move || {
        previewing.get().map(|shown| match shown {
            Ok(html) if html.trim().is_empty() => view! {
                <div class="markdown-preview muted" data-test="markdown-preview-body">"Nothing to preview yet."</div>
            }
            .into_any(),
            Ok(html) => view! {
                <div class="markdown-preview prose" data-test="markdown-preview-body" inner_html=html></div>
            }
            .into_any(),
            Err(message) => view! {
                <div class="markdown-preview notice notice-error" role="alert">{message}</div>
            }
            .into_any(),
        })
    }
}
