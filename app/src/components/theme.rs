//! Light, dark, or whatever the system prefers. The choice is kept in the browser's local
//! storage; the document's inline script applies it before the first paint.

use leptos::prelude::*;

use super::icons::Icon;

const STORAGE_KEY: &str = "tts-theme";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    fn key(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }
}

fn stored_theme() -> Theme {
    let stored = window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|storage| storage.get_item(STORAGE_KEY).ok().flatten());
    match stored.as_deref() {
        Some("light") => Theme::Light,
        Some("dark") => Theme::Dark,
        _ => Theme::System,
    }
}

fn apply(theme: Theme) {
    if let Some(root) = document().document_element() {
        let _ = match theme {
            Theme::System => root.remove_attribute("data-theme"),
            other => root.set_attribute("data-theme", other.key()),
        };
    }
    if let Ok(Some(storage)) = window().local_storage() {
        let _ = storage.set_item(STORAGE_KEY, theme.key());
    }
}

/// Three buttons: system, light, dark.
#[component]
pub fn ThemeSwitcher() -> impl IntoView {
    // The server cannot know the stored choice; start at "system" and read it once hydrated,
    // so server and browser render the same markup first.
    let theme = RwSignal::new(Theme::System);
    Effect::new(move |_| theme.set(stored_theme()));

    let option = move |value: Theme, icon: &'static str, label: &'static str| {
        view! {
            <button
                type="button"
                class="segmented-option"
                aria-pressed=move || (theme.get() == value).to_string()
                title=label
                on:click=move |_| {
                    theme.set(value);
                    apply(value);
                }
            >
                <Icon name=icon />
                <span class="visually-hidden">{label}</span>
            </button>
        }
    };
    view! {
        <div class="segmented" role="group" aria-label="Theme">
            {option(Theme::System, "monitor", "System theme")}
            {option(Theme::Light, "sun", "Light theme")}
            {option(Theme::Dark, "moon", "Dark theme")}
        </div>
    }
}
