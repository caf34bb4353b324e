//! The application frame: header with the product name, the navigation of the user's role,
//! the notifications bell and the user menu; the page below it.

use domain::{SessionUser, SystemRole};
use leptos::ev;
use leptos::html::Details;
use leptos::prelude::*;
use leptos_router::components::A;
use wasm_bindgen::JsCast;

use domain::comments::NotificationMessage;
use domain::notifications::Notification;
use leptos::task::spawn_local;

use super::icons::{Icon, Logo};
use super::theme::ThemeSwitcher;
use super::ui::{RelativeTime, RoleBadge};
use crate::api::notifications::{
    BELL_SIZE, NotificationsView, list_notifications, mark_notifications_read,
};
use crate::live::Socket;
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
    // "Tickets" is where the list and the ticket pages are, but not the new-ticket form, which
    // has its own entry (the router's own links would light up both on /tickets/new).
    let location = leptos_router::hooks::use_location();
    let on_tickets = move || {
        location.pathname.with(|path| {
            (path == "/tickets" || (path.starts_with("/tickets/") && path != "/tickets/new"))
                .then_some("page")
        })
    };
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
            <a href="/tickets" aria-current=on_tickets>
                <Icon name="ticket" />
                <span>{if role >= SystemRole::Agent { "Tickets" } else { "My tickets" }}</span>
            </a>
            <A href="/tickets/new" exact=true>
                <Icon name="plus" />
                <span>"New ticket"</span>
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

/// The bell: how many notifications are unread, and the latest in a dropdown. It is live:
/// the user's notification socket brings new ones and reads from other tabs.
#[component]
fn NotificationsBell() -> impl IntoView {
    let menu = NodeRef::<Details>::new();
    close_on_escape_or_outside(menu);
    let toasts = super::toast::use_toasts();
    let unread = RwSignal::new(0i64);
    let items = RwSignal::new(None::<Vec<Notification>>);
    let reload = move || {
        spawn_local(async move {
            if let Ok(view) = list_notifications().await {
                unread.set(view.unread);
                items.set(Some(view.items));
            }
        });
    };
    let apply = move |result: Result<NotificationsView, domain::AppError>| match result {
        Ok(view) => {
            unread.set(view.unread);
            items.set(Some(view.items));
        }
        Err(err) => toasts.error(err.message),
    };
    // In the browser only (effects do not run on the server): the list, then the socket.
    let socket = StoredValue::new(None::<Socket>);
    Effect::new(move |_| {
        reload();
        let opened = Socket::open(
            "/ws/notifications/",
            move |text| match serde_json::from_str::<NotificationMessage>(&text) {
                Ok(NotificationMessage::ConnectionEstablished { unread: count }) => {
                    unread.set(count)
                }
                Ok(NotificationMessage::Notification {
                    notification,
                    unread: count,
                }) => {
                    unread.set(count);
                    items.update(|items| {
                        if let Some(items) = items {
                            items.retain(|n| n.id != notification.id);
                            items.insert(0, notification);
                            items.truncate(BELL_SIZE);
                        }
                    });
                }
                // Read elsewhere: which ones is news only the list has.
                Ok(NotificationMessage::Unread { unread: count }) => {
                    unread.set(count);
                    reload();
                }
                _ => {}
            },
            move |reconnected| {
                if reconnected {
                    reload();
                }
            },
            // Signed out elsewhere: the bell stops; the thread (if any) says so.
            move |_ended| unread.set(0),
        );
        socket.set_value(Some(opened));
    });
    on_cleanup(move || {
        if let Some(socket) = socket.try_get_value().flatten() {
            socket.close();
        }
    });
    let open_one = move |id: i64, was_unread: bool| {
        if let Some(menu) = menu.get_untracked() {
            menu.set_open(false);
        }
        if was_unread {
            spawn_local(async move { apply(mark_notifications_read(Some(id)).await) });
        }
    };
    let mark_all = move |_| spawn_local(async move { apply(mark_notifications_read(None).await) });
    let label = move || match unread.get() {
        0 => "Notifications: none unread".to_owned(),
        1 => "Notifications: 1 unread".to_owned(),
        n => format!("Notifications: {n} unread"),
    };
    // Erased: the header's type is deep enough already.
    view! {
        <details class="popover bell" node_ref=menu on:keydown=close_on_escape(menu)>
            <summary class="icon-button bell-button" aria-label=label data-test="notification-bell">
                <Icon name="bell" />
                {move || {
                    let n = unread.get();
                    (n > 0).then(|| view! {
                        <span class="bell-count" data-test="notification-count">
                            {if n > 99 { "99+".to_owned() } else { n.to_string() }}
                        </span>
                    })
                }}
            </summary>
            <div class="popover-panel popover-panel-wide notifications-panel">
                <div class="popover-header notifications-header">
                    <span>"Notifications"</span>
                    {move || (unread.get() > 0).then(|| view! {
                        <button type="button" class="link-action" data-test="notifications-read-all" on:click=mark_all>
                            <Icon name="check" />
                            "Mark all read"
                        </button>
                    })}
                </div>
                {move || match items.get() {
                    None => view! { <div class="popover-empty"><span class="spinner" aria-hidden="true"></span></div> }.into_any(),
                    Some(list) if list.is_empty() => view! {
                        <div class="popover-empty">
                            <Icon name="bell" />
                            <p>"You're all caught up."</p>
                        </div>
                    }.into_any(),
                    Some(list) => view! {
                        <ul class="notification-list" data-test="notification-list">
                            {list.into_iter().map(|n| {
                                let was_unread = n.read_at.is_none();
                                let id = n.id;
                                // Stored links were checked when sent; checked again as they are shown.
                                let href = n
                                    .link
                                    .as_deref()
                                    .and_then(domain::links::local_path)
                                    .unwrap_or("#")
                                    .to_owned();
                                view! {
                                    <li class="notification-item" class:unread=was_unread data-test="notification-item"
                                        data-unread=was_unread.to_string()>
                                        <a href=href on:click=move |_| open_one(id, was_unread)>
                                            <span class="notification-dot" aria-hidden="true"></span>
                                            <span class="notification-text">
                                                <strong class="notification-title">{n.title.clone()}</strong>
                                                {(!n.body.is_empty()).then(|| view! { <span class="notification-body">{n.body.clone()}</span> })}
                                                <span class="notification-time muted small"><RelativeTime at=n.created_at /></span>
                                            </span>
                                        </a>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
            </div>
        </details>
    }
    .into_any()
}

#[component]
fn UserMenu(user: SessionUser) -> impl IntoView {
    let session = use_session();
    let menu = NodeRef::<Details>::new();
    close_on_escape_or_outside(menu);
    let role = user.tts_role();
    view! {
        <details class="popover user-menu" node_ref=menu on:keydown=close_on_escape(menu)>
            // Named by what it shows (WCAG 2.5.3: the name holds the visible text).
            <summary class="avatar-button">
                <span class="avatar" aria-hidden="true">{user.initials()}</span>
                <span class="visually-hidden">"Account menu for "</span>
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
