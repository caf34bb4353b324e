//! The application frame: header with the product name, the navigation of the user's role,
//! the notifications bell and the user menu; the page below it.

use domain::{SessionUser, SystemRole};
use leptos::ev;
use leptos::html::Details;
use leptos::prelude::*;
use leptos_router::components::A;
use wasm_bindgen::JsCast;

use super::icons::{Icon, Logo};
use super::theme::ThemeSwitcher;
use super::ui::RoleBadge;
use crate::pages::error::ErrorPage;
use crate::session::use_session;

#[component]
pub fn AppLayout(children: Children) -> impl IntoView {
    let session = use_session();
    let user = move || session.user.get();
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="topbar">
            <div class="topbar-inner">
                <a class="brand" href="/" aria-label="TTS home">
                    <Logo />
                    <span class="brand-name">"TTS"</span>
                </a>
                {move || user().map(|user| view! { <MainNav user /> })}
                <div class="topbar-actions">
                    {move || match user() {
                            Some(user) => view! {
                                <NotificationsBell />
                                <UserMenu user />
                            }
                            .into_any(),
                            None => view! {
                                <a class="button button-primary button-small" href="/login">
                                    "Sign in"
                                </a>
                            }
                            .into_any(),
                        }}
                </div>
            </div>
        </header>
        <main id="main" class="page" tabindex="-1">
            {move || user().filter(|u| u.must_set_up_second_factor).map(|_| view! {
                    <div class="notice notice-warning banner" role="alert">
                        <Icon name="lock" />
                        <span>"Your role requires two-step verification. "</span>
                        <a href="/account/security">"Set it up now"</a>
                    </div>
                })}
            <ErrorBoundary fallback=|errors| view! { <ErrorPage errors /> }>{children()}</ErrorBoundary>
        </main>
    }
}

/// The areas the user may use, by role.
#[component]
fn MainNav(user: SessionUser) -> impl IntoView {
    let role = user.tts_role();
    view! {
        <nav class="mainnav" aria-label="Main">
            // An agent's day starts in the inbox: it leads their navigation.
            {(role >= SystemRole::Agent)
                .then(|| view! {
                    <A href="/inbox">
                        <Icon name="inbox" />
                        <span>"Inbox"</span>
                    </A>
                })}
            <A href="/" exact=true>
                <Icon name="home" />
                <span>"Home"</span>
            </A>
            <A href="/tickets">
                <Icon name="ticket" />
                <span>{if role >= SystemRole::Agent { "Tickets" } else { "My tickets" }}</span>
            </A>
            {(role >= SystemRole::Admin)
                .then(|| view! {
                    <A href="/admin">
                        <Icon name="settings" />
                        <span>"Admin"</span>
                    </A>
                })}
        </nav>
    }
}

/// Closes a `<details>` popover on Escape and on a click outside it.
fn close_on_escape_or_outside(menu: NodeRef<Details>) {
    let handle = window_event_listener(ev::click, move |event| {
        let Some(menu) = menu.get_untracked() else {
            return;
        };
        let inside = event
            .target()
            .and_then(|target| target.dyn_into::<web_sys::Node>().ok())
            .is_some_and(|node| menu.contains(Some(&node)));
        if !inside {
            menu.set_open(false);
        }
    });
    on_cleanup(move || handle.remove());
}

fn close_on_escape(menu: NodeRef<Details>) -> impl Fn(ev::KeyboardEvent) {
    move |event| {
        if event.key() == "Escape"
            && let Some(menu) = menu.get_untracked()
        {
            menu.set_open(false);
        }
    }
}

/// The bell. Notifications arrive with a later stage; for now it says there are none.
#[component]
fn NotificationsBell() -> impl IntoView {
    let menu = NodeRef::<Details>::new();
    close_on_escape_or_outside(menu);
    view! {
        <details class="popover" node_ref=menu on:keydown=close_on_escape(menu)>
            <summary class="icon-button" aria-label="Notifications: none unread">
                <Icon name="bell" />
            </summary>
            <div class="popover-panel popover-panel-wide">
                <div class="popover-header">"Notifications"</div>
                <div class="popover-empty">
                    <Icon name="bell" />
                    <p>"You're all caught up."</p>
                </div>
            </div>
        </details>
    }
}

#[component]
fn UserMenu(user: SessionUser) -> impl IntoView {
    let session = use_session();
    let menu = NodeRef::<Details>::new();
    close_on_escape_or_outside(menu);
    let role = user.tts_role();
    view! {
        <details class="popover user-menu" node_ref=menu on:keydown=close_on_escape(menu)>
            <summary class="avatar-button" aria-label=format!("Account menu for {}", user.full_name)>
                <span class="avatar" aria-hidden="true">{user.initials()}</span>
                <span class="user-menu-name">{user.full_name.clone()}</span>
            </summary>
            <div class="popover-panel">
                <div class="user-card">
                    <span class="avatar avatar-large" aria-hidden="true">{user.initials()}</span>
                    <div class="user-card-text">
                        <strong>{user.full_name.clone()}</strong>
                        <span class="muted">{user.email.clone()}</span>
                        <span><RoleBadge role /></span>
                    </div>
                </div>
                <nav class="menu-links" aria-label="Account">
                    <a class="menu-item" href="/account">
                        <Icon name="users" />
                        <span>"Your account"</span>
                    </a>
                    <a class="menu-item" href="/account/security">
                        <Icon name="lock" />
                        <span>"Security"</span>
                    </a>
                </nav>
                <div class="menu-section">
                    <span class="menu-label">"Theme"</span>
                    <ThemeSwitcher />
                </div>
                <ActionForm action=session.logout attr:class="menu-section">
                    <button type="submit" class="menu-item">
                        <Icon name="logout" />
                        <span>"Sign out"</span>
                    </button>
                </ActionForm>
            </div>
        </details>
    }
}
