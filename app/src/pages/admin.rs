//! The administrator's area: system health and users.

use domain::SystemRole;
use domain::status::SystemStatus;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::admin::{list_users, load_system_status};
use crate::components::icons::Icon;
use crate::components::toast::use_toasts;
use crate::components::ui::{
    EmptyState, ErrorNotice, PageHeader, RoleBadge, Spinner, Timestamp, format_duration,
};
use crate::session::RequireRole;

#[component]
fn AdminTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Administration">
            <A href="/admin" exact=true>"Overview"</A>
            <A href="/admin/users">"Users"</A>
        </nav>
    }
}

#[component]
pub fn AdminOverviewPage() -> impl IntoView {
    view! {
        <Title text="Administration" />
        <RequireRole role=SystemRole::Admin>
            <PageHeader title="Administration" subtitle="The health of this TTS and who uses it." />
            <AdminTabs />
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

#[component]
pub fn UsersPage() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <Title text="Users" />
        <RequireRole role=SystemRole::Admin>
            <PageHeader title="Administration" subtitle="The health of this TTS and who uses it." />
            <AdminTabs />
            <section class="panel" aria-labelledby="users-title">
                <div class="panel-header">
                    <h2 id="users-title" class="panel-title">"Users"</h2>
                </div>
                <Suspense fallback=|| view! { <Spinner label="Loading users" /> }>
                    {move || Suspend::new(async move {
                        match users.await {
                            Ok(list) if list.is_empty() => view! {
                                <EmptyState icon="users" title="No users" message="Create the first administrator with tts create-admin." />
                            }
                            .into_any(),
                            Ok(list) => view! {
                                <div class="table-wrap">
                                    <table class="table">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Name"</th>
                                                <th scope="col">"E-mail"</th>
                                                <th scope="col">"TTS role"</th>
                                                <th scope="col">"Status"</th>
                                                <th scope="col">"Last sign-in"</th>
                                            </tr>
                                        </thead>
                                        <tbody>
                                            {list
                                                .into_iter()
                                                .map(|user| {
                                                    let role = user.tts_role();
                                                    view! {
                                                        <tr>
                                                            <td class="strong">{user.full_name}</td>
                                                            <td class="muted">{user.email}</td>
                                                            <td><RoleBadge role /></td>
                                                            <td>
                                                                {if user.is_active {
                                                                    view! { <span class="badge badge-green">"Active"</span> }
                                                                } else {
                                                                    view! { <span class="badge badge-gray">"Deactivated"</span> }
                                                                }}
                                                            </td>
                                                            <td class="muted">
                                                                {match user.last_login_at {
                                                                    Some(at) => view! { <Timestamp at /> }.into_any(),
                                                                    None => "Never".into_any(),
                                                                }}
                                                            </td>
                                                        </tr>
                                                    }
                                                })
                                                .collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }
                            .into_any(),
                            Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                        }
                    })}
                </Suspense>
            </section>
        </RequireRole>
    }
}
