//! The administrator's area: system health, users, workflow roles, API keys, security policy,
//! the helpdesk's reference data, workflows, the triage queue and the audit log.

pub mod audit;
pub mod editor;
pub mod helpdesk;
pub mod keys;
pub mod roles;
pub mod security;
pub mod triage;
pub mod users;
pub mod workflows;

use domain::SystemRole;
use domain::status::SystemStatus;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::admin::load_system_status;
use crate::components::icons::Icon;
use crate::components::toast::use_toasts;
use crate::components::ui::{ErrorNotice, PageHeader, Spinner, Timestamp, format_duration};
use crate::session::RequireRole;

#[component]
pub fn AdminTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Administration">
            <A href="/admin" exact=true>"Overview"</A>
            <A href="/admin/workflows">"Workflows"</A>
            <A href="/admin/triage">"Triage"</A>
            <A href="/admin/users">"Users"</A>
            <A href="/admin/roles">"Workflow roles"</A>
            <A href="/admin/api-keys">"API keys"</A>
            <A href="/admin/security">"Security"</A>
            <A href="/admin/helpdesk">"Helpdesk"</A>
            <A href="/admin/audit">"Audit log"</A>
        </nav>
    }
}

/// The heading every administration page shares.
#[component]
pub fn AdminHeader() -> impl IntoView {
    view! {
        <PageHeader title="Administration" subtitle="The health of this TTS, its workflows, who uses it and how." />
        <AdminTabs />
    }
}

#[component]
pub fn AdminOverviewPage() -> impl IntoView {
    view! {
        <Title text="Administration" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <StatusPanel />
        </RequireRole>
    }
}

/// The system status, refreshed on demand.
#[component]
fn StatusPanel() -> impl IntoView {
    let toasts = use_toasts();
    let refresh = Action::new(|_: &()| load_system_status());
    let initial = Resource::new(|| (), |_| load_system_status());
    // The latest answer: from the refresh button once used, else from the first load.
    let status = move || match refresh.value().get() {
        Some(result) => Some(result),
        None => initial.get(),
    };
    Effect::new(move |previous: Option<usize>| {
        let version = refresh.version().get();
        if previous.is_some_and(|p| p != version) {
            match refresh.value().get_untracked() {
                Some(Ok(_)) => toasts.success("Status refreshed"),
                Some(Err(err)) => toasts.error(err.message),
                None => {}
            }
        }
        version
    });
    let pending = refresh.pending();

    view! {
        <section class="panel" aria-labelledby="status-title">
            <div class="panel-header">
                <h2 id="status-title" class="panel-title">"System status"</h2>
                <button
                    class="button button-secondary button-small"
                    data-test="refresh-status"
                    disabled=pending
                    on:click=move |_| {
                        refresh.dispatch(());
                    }
                >
                    <span class="icon-wrap" class:spin=move || pending.get()><Icon name="refresh" /></span>
                    {move || if pending.get() { "Checking…" } else { "Refresh" }}
                </button>
            </div>
            <Transition fallback=|| view! { <Spinner label="Checking the system" /> }>
                {move || status().map(|result| match result {
                    Ok(status) => view! { <StatusGrid status /> }.into_any(),
                    Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn StatusGrid(status: SystemStatus) -> impl IntoView {
    let (db_class, db_text) = if status.database_ok {
        ("badge badge-green", "Reachable")
    } else {
        ("badge badge-red", "Unreachable")
    };
    view! {
        <dl class="stats">
            <div class="stat">
                <dt><Icon name="database" />"Database"</dt>
                <dd>
                    <span class="stat-value">{status.database}</span>
                    <span class=db_class>{db_text}</span>
                </dd>
            </div>
            <div class="stat">
                <dt><Icon name="users" />"Users"</dt>
                <dd><span class="stat-value">{status.users}</span></dd>
            </div>
            <div class="stat">
                <dt><Icon name="clock" />"Uptime"</dt>
                <dd><span class="stat-value">{format_duration(status.uptime_seconds)}</span></dd>
            </div>
            <div class="stat">
                <dt><Icon name="workflow" />"Version"</dt>
                <dd><span class="stat-value">{status.version}</span></dd>
            </div>
        </dl>
        <p class="panel-footer muted" data-test="checked-at">
            "Checked " <Timestamp at=status.checked_at />
        </p>
    }
}
