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
    message: &'static str,
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
    fn durations_read_naturally() {
        assert_eq!(format_duration(40), "40 s");
        assert_eq!(format_duration(12 * 60 + 5), "12 min");
        assert_eq!(format_duration(3 * 3600 + 60), "3 h 1 min");
        assert_eq!(format_duration(2 * 86_400 + 4 * 3600), "2 d 4 h");
    }
}
