//! Small building blocks of the design system.

use chrono::{DateTime, Utc};
use domain::SystemRole;
use leptos::prelude::*;

use super::icons::Icon;

/// Marks `<body data-hydrated="true">` once the part of the page it sits in has been hydrated
/// (its effect runs only then). Each page puts one after its last asynchronously rendered part,
/// so the browser tests know when every button has its handler.
#[component]
pub fn HydrationMark() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// What a list shows when it has nothing yet: an icon, a title, a sentence, maybe an action.
#[component]
pub fn EmptyState(
    icon: &'static str,
    title: &'static str,
    #[prop(into)] message: String,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="empty-state">
            <div class="empty-state-icon">
                <Icon name=icon />
            </div>
            <h2 class="empty-state-title">{title}</h2>
            <p class="empty-state-message">{message}</p>
            {children.map(|children| view! { <div class="empty-state-actions">{children()}</div> })}
        </div>
    }
}

#[component]
pub fn Spinner(#[prop(into)] label: String) -> impl IntoView {
    view! {
        <div class="spinner-row" role="status">
            <span class="spinner" aria-hidden="true"></span>
            <span class="muted">{label}</span>
        </div>
    }
}

/// The heading of a page, with an optional line under it and actions on the right.
#[component]
pub fn PageHeader(
    #[prop(into)] title: String,
    #[prop(optional, into)] subtitle: Option<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    view! {
        <div class="page-header">
            <div>
                <h1 class="page-title">{title}</h1>
                {subtitle.map(|text| view! { <p class="page-subtitle">{text}</p> })}
            </div>
            {children.map(|children| view! { <div class="page-actions">{children()}</div> })}
        </div>
    }
}

/// A role as a coloured badge.
#[component]
pub fn RoleBadge(role: SystemRole) -> impl IntoView {
    let class = match role {
        SystemRole::Admin => "badge badge-purple",
        SystemRole::Agent => "badge badge-blue",
        SystemRole::Employee => "badge badge-gray",
    };
    view! { <span class=class>{role.as_str()}</span> }
}

/// An error in a box, for a failed load.
#[component]
pub fn ErrorNotice(#[prop(into)] message: String) -> impl IntoView {
    view! {
        <div class="notice notice-error" role="alert">
            <Icon name="alert" />
            <span>{message}</span>
        </div>
    }
}

/// A timestamp the same on the server and in the browser (no "x minutes ago" that would
/// differ between the two renders), with the exact instant in a tooltip.
#[component]
pub fn Timestamp(at: DateTime<Utc>) -> impl IntoView {
    let iso = at.to_rfc3339();
    let text = at.format("%-d %b %Y, %H:%M UTC").to_string();
    view! { <time datetime=iso.clone() title=iso>{text}</time> }
}

/// The time now in the browser, ticking every half minute, for "5 min ago"; `None` on the
/// server and until the page is hydrated, so both renders show the same exact time first.
#[derive(Debug, Clone, Copy)]
pub struct Clock(pub RwSignal<Option<DateTime<Utc>>>);

pub fn provide_clock() {
    let now = RwSignal::new(None);
    Effect::new(move |_| {
        now.set(Some(Utc::now()));
        set_interval(
            move || now.set(Some(Utc::now())),
            std::time::Duration::from_secs(30),
        );
    });
    provide_context(Clock(now));
}

/// "just now", "5 min ago", "3 h ago", "2 d ago", then the date.
pub fn relative_time(now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let seconds = (now - at).num_seconds().max(0);
    match seconds {
        0..45 => "just now".to_owned(),
        45..3_600 => format!("{} min ago", (seconds / 60).max(1)),
        3_600..86_400 => format!("{} h ago", seconds / 3_600),
        86_400..604_800 => format!("{} d ago", seconds / 86_400),
        _ => at.format("%-d %b %Y").to_string(),
    }
}

/// A time as "5 min ago" once the page runs (the exact time before, and in the tooltip).
#[component]
pub fn RelativeTime(at: DateTime<Utc>) -> impl IntoView {
    let clock = use_context::<Clock>();
    // Relative only once this very element is hydrated, so hydration finds the server's text.
    let mounted = RwSignal::new(false);
    Effect::new(move |_| mounted.set(true));
    let iso = at.to_rfc3339();
    let exact = at.format("%-d %b %Y, %H:%M UTC").to_string();
    let text = {
        let exact = exact.clone();
        move || match clock.and_then(|c| c.0.get()).filter(|_| mounted.get()) {
            Some(now) => relative_time(now, at),
            None => exact.clone(),
        }
    };
    view! { <time datetime=iso title=exact>{text}</time> }
}

/// A duration in words: "3 d 4 h", "12 min", "40 s".
pub fn format_duration(seconds: u64) -> String {
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        format!("{seconds} s")
    }
}

#[cfg(test)]
mod tests {
    use super::format_duration;

    #[test]
    fn times_read_relative_to_now() {
        use super::relative_time;
        let now = chrono::DateTime::parse_from_rfc3339("2026-03-10T12:00:00Z")
            .unwrap()
            .to_utc();
        let ago = |s| relative_time(now, now - chrono::Duration::seconds(s));
        assert_eq!(ago(10), "just now");
        assert_eq!(ago(-30), "just now");
        assert_eq!(ago(50), "1 min ago");
        assert_eq!(ago(5 * 60 + 10), "5 min ago");
        assert_eq!(ago(3 * 3_600), "3 h ago");
        assert_eq!(ago(2 * 86_400), "2 d ago");
        assert_eq!(ago(30 * 86_400), "8 Feb 2026");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(40), "40 s");
        assert_eq!(format_duration(12 * 60 + 5), "12 min");
        assert_eq!(format_duration(3 * 3600 + 60), "3 h 1 min");
        assert_eq!(format_duration(2 * 86_400 + 4 * 3600), "2 d 4 h");
    }
}

/// The message for one form field from a server function's last answer.
#[component]
pub fn FieldError(
    #[prop(into)] error: Signal<Option<domain::AppError>>,
    field: &'static str,
    #[prop(optional)] id: Option<&'static str>,
) -> impl IntoView {
    view! {
        <p class="field-error" id=id>
            {move || error.get().and_then(|e| e.field(field).map(|m| format!("{} {m}.", field_label(field))))}
        </p>
    }
}

/// A form-level error (one not about a single field), as a notice.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<domain::AppError>>) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| e.details.is_empty())
            .map(|e| view! { <ErrorNotice message=e.message /> })
    }
}

/// "new_password" → "New password".
pub fn field_label(field: &str) -> String {
    let words = field.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The error of a server action's last answer, if it failed.
pub fn last_error<T, S>(value: S) -> Signal<Option<domain::AppError>>
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, domain::AppError>>> + Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(Result::err))
}

/// Shows a toast when a server action completes: `success` when it worked, the error's message
/// when it failed with one not about a field (field errors show beside their fields).
pub fn toast_result<T, S>(version: RwSignal<usize>, value: S, success: &'static str)
where
    T: Clone + Send + Sync + 'static,
    S: Get<Value = Option<Result<T, domain::AppError>>> + Send + Sync + 'static,
{
    let toasts = super::toast::use_toasts();
    Effect::new(move |previous: Option<usize>| {
        let current = version.get();
        if previous.is_some_and(|p| p != current) {
            match untrack(|| value.get()) {
                Some(Ok(_)) if !success.is_empty() => toasts.success(success),
                Some(Err(err)) if err.details.is_empty() => toasts.error(err.message),
                _ => {}
            }
        }
        current
    });
}

/// A small status badge for a user account.
#[component]
pub fn AccountBadges(user: domain::users::UserSummary) -> impl IntoView {
    let now = chrono::Utc::now();
    let locked = user.is_locked(now);
    view! {
        <span class="badge-row">
            {if !user.is_active {
                view! { <span class="badge badge-gray">"Deactivated"</span> }.into_any()
            } else if locked {
                view! { <span class="badge badge-red">"Locked"</span> }.into_any()
            } else if user.invited {
                view! { <span class="badge badge-amber">"Invited"</span> }.into_any()
            } else {
                view! { <span class="badge badge-green">"Active"</span> }.into_any()
            }}
            {(user.second_factor != domain::account::SecondFactorMethod::None)
                .then(|| view! { <span class="badge badge-blue" title=user.second_factor.label()>"2FA"</span> })}
        </span>
    }
}
