//! Toasts: short messages in a corner that confirm an action or report a failure, then go.

use std::time::Duration;

use leptos::prelude::*;

use super::icons::Icon;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastKind {
    Success,
    Error,
    Info,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toast {
    pub id: u64,
    pub kind: ToastKind,
    pub message: String,
}

#[derive(Clone, Copy)]
pub struct Toasts {
    items: RwSignal<Vec<Toast>>,
    next_id: StoredValue<u64>,
}

pub fn provide_toaster() {
    provide_context(Toasts {
        items: RwSignal::new(Vec::new()),
        next_id: StoredValue::new(1),
    });
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

impl Toasts {
    pub fn show(&self, kind: ToastKind, message: impl Into<String>) {
        let id = self.next_id.get_value();
        self.next_id.set_value(id + 1);
        self.items.update(|items| {
            items.push(Toast {
                id,
                kind,
                message: message.into(),
            });
            // Keep the stack short: the oldest goes first.
            if items.len() > 4 {
                items.remove(0);
            }
        });
        // Errors stay longer: they are more likely to need reading twice.
        let lifetime = if kind == ToastKind::Error { 8 } else { 4 };
        let this = *self;
        set_timeout(move || this.dismiss(id), Duration::from_secs(lifetime));
    }

    pub fn success(&self, message: impl Into<String>) {
        self.show(ToastKind::Success, message);
    }

    pub fn error(&self, message: impl Into<String>) {
        self.show(ToastKind::Error, message);
    }

    pub fn dismiss(&self, id: u64) {
        self.items
            .update(|items| items.retain(|toast| toast.id != id));
    }
}

#[component]
pub fn Toaster() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || toasts.items.get() key=|toast| toast.id let:toast>
                {
                    let (class, icon) = match toast.kind {
                        ToastKind::Success => ("toast toast-success", "check"),
                        ToastKind::Error => ("toast toast-error", "alert"),
                        ToastKind::Info => ("toast toast-info", "bell"),
                    };
                    let id = toast.id;
                    view! {
                        <div class=class>
                            <Icon name=icon />
                            <span class="toast-message">{toast.message}</span>
                            <button
                                class="icon-button toast-close"
                                aria-label="Dismiss"
                                on:click=move |_| toasts.dismiss(id)
                            >
                                <Icon name="x" />
                            </button>
                        </div>
                    }
                }
            </For>
        </div>
    }
}
