//! The agent's area: the inbox of task items, most urgent first, with live SLA clocks.

use chrono::{DateTime, Utc};
use domain::tasks::{InboxEntry, TaskItemStatus};
use domain::workflow::SlaState;
use domain::{AppError, SystemRole};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::tasks::{InboxView, load_inbox};
use crate::components::icons::Icon;
use crate::components::sla::{SlaCountdown, use_ticker};
use crate::components::ui::{EmptyState, ErrorNotice, PageHeader, Spinner};
use crate::pages::tickets::priority_badge;
use crate::session::{RequireRole, use_session};

/// How often the open inbox asks the server again for new and moved items.
const REFRESH_SECS: u64 = 60;

pub fn item_status_badge(status: TaskItemStatus) -> impl IntoView {
    let class = match status {
        TaskItemStatus::New => "badge badge-purple",
        TaskItemStatus::InProgress => "badge badge-blue",
        TaskItemStatus::Resolved => "badge badge-green",
        TaskItemStatus::Breached => "badge badge-red",
        TaskItemStatus::Escalated => "badge badge-amber",
        TaskItemStatus::Reassigned | TaskItemStatus::Cancelled => "badge badge-gray",
    };
    view! { <span class=class>{status.label()}</span> }
}

#[component]
pub fn InboxPage() -> impl IntoView {
    let session = use_session();
    let query = use_query_map();
    let roles_scope = move || query.read().get("scope").is_some_and(|s| s == "roles");
    let is_agent = move || {
        session.user.with(|user| {
            user.as_ref()
                .is_some_and(|u| u.can_act_as(SystemRole::Agent))
        })
    };
    let refreshes = RwSignal::new(0usize);
    // Made here, outside the views below, and only for agents (anyone else sees "not for your
    // role"; a refused load would make the page a 403).
    let inbox = Resource::new(
        move || (roles_scope(), is_agent(), refreshes.get()),
        |(roles, agent, _)| async move {
            if agent {
                load_inbox(if roles { "roles" } else { "mine" }.to_owned()).await
            } else {
                Err(AppError::forbidden())
            }
        },
    );
    Effect::new(move |_| {
        if let Ok(handle) = set_interval_with_handle(
            move || refreshes.update(|n| *n += 1),
            std::time::Duration::from_secs(REFRESH_SECS),
        ) {
            on_cleanup(move || handle.clear());
        }
    });
    let ticker = use_ticker();
    let tab = move |roles: bool, href: &'static str, label: &'static str, test: &'static str| {
        view! {
            <a
                href=href
                data-test=test
                aria-current=move || (roles_scope() == roles).then_some("page")
            >
                {label}
            </a>
        }
    };
    view! {
        <Title text="Inbox" />
        <RequireRole role=SystemRole::Agent>
            <PageHeader
                title="Inbox"
                subtitle="Your work, most urgent first. Each clock counts down to the step's target."
            >
                <button
                    type="button"
                    class="button button-secondary button-small"
                    data-test="refresh-inbox"
                    on:click=move |_| refreshes.update(|n| *n += 1)
                >
                    <Icon name="refresh" />
                    <span>"Refresh"</span>
                </button>
            </PageHeader>
            <nav class="tabs" aria-label="Whose items">
                {tab(false, "/inbox", "Mine", "inbox-mine")}
                {tab(true, "/inbox?scope=roles", "My roles' queue", "inbox-roles")}
            </nav>
            <Transition fallback=|| view! { <Spinner label="Loading your inbox" /> }>
                {move || inbox.get().map(|result| match result {
                    Ok(view) => view! { <InboxList view roles=roles_scope() ticker /> }.into_any(),
                    Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                })}
            </Transition>
        </RequireRole>
    }
}

/// "3 overdue · 1 due soon · 4 on track".
fn summary(entries: &[InboxEntry]) -> Vec<(SlaState, usize)> {
    [SlaState::Breached, SlaState::Warning, SlaState::OnTrack]
        .into_iter()
        .map(|state| {
            (
                state,
                entries.iter().filter(|e| e.sla_state == state).count(),
            )
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[component]
fn InboxList(view: InboxView, roles: bool, ticker: Signal<Option<DateTime<Utc>>>) -> impl IntoView {
    let InboxView { mut entries, now } = view;
    if entries.is_empty() {
        let message = if roles {
            "Nobody in your roles has open work. New tasks appear here as soon as a workflow assigns them."
        } else {
            "Nothing is waiting for you. New tasks appear here as soon as a workflow assigns them to you."
        };
        return view! {
            <section class="panel" data-test="inbox-empty">
                <EmptyState icon="check" title="Inbox zero" message=message>
                    {(!roles).then(|| view! {
                        <A href="/inbox?scope=roles" attr:class="button button-secondary">"See my roles' queue"</A>
                    })}
                </EmptyState>
            </section>
        }
        .into_any();
    }
    // The nearest target first (overdue items lead); on equal targets the higher priority.
    entries.sort_by_key(|e| (e.target_at, std::cmp::Reverse(e.priority), e.item_id));
    let counts = summary(&entries);
    let total = entries.len();
    view! {
        <section class="panel" aria-labelledby="inbox-title">
            <div class="panel-header">
                <h2 id="inbox-title" class="panel-title">
                    {format!("{total} open item{}", if total == 1 { "" } else { "s" })}
                </h2>
                <span class="badge-row">
                    {counts.into_iter().map(|(state, n)| {
                        let (class, label) = match state {
                            SlaState::Breached => ("badge badge-red", "overdue"),
                            SlaState::Warning => ("badge badge-amber", "due soon"),
                            SlaState::OnTrack => ("badge badge-green", "on track"),
                        };
                        view! { <span class=class>{format!("{n} {label}")}</span> }
                    }).collect_view()}
                </span>
            </div>
            <div class="table-wrap">
                <table class="table card-table inbox-table" data-test="inbox-table">
                    <thead>
                        <tr>
                            <th scope="col">"Time left"</th>
                            <th scope="col" class="hide-narrow">"Ticket"</th>
                            <th scope="col">"Subject"</th>
                            <th scope="col">"Priority"</th>
                            {roles.then(|| view! { <th scope="col">"Assignee"</th> })}
                            <th scope="col" class="hide-narrow">"Status"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {entries.into_iter().map(|entry| view! { <InboxRow entry now roles ticker /> }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn InboxRow(
    entry: InboxEntry,
    now: DateTime<Utc>,
    roles: bool,
    ticker: Signal<Option<DateTime<Utc>>>,
) -> impl IntoView {
    let href = format!("/tickets/{}", entry.ticket_id);
    let navigate = use_navigate();
    let row_href = href.clone();
    // The whole row opens the ticket; the subject is the link keyboards and screen readers use.
    let open = move |event: leptos::ev::MouseEvent| {
        let on_link = event
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .and_then(|el| el.closest("a, button").ok().flatten())
            .is_some();
        if !on_link {
            navigate(&row_href, Default::default());
        }
    };
    view! {
        <tr class="clickable-row" class:row-mine=roles && entry.mine on:click=open data-test="inbox-row">
            <td class="cell-sla">
                <SlaCountdown
                    started_at=entry.assigned_at
                    target_at=entry.target_at
                    state=entry.sla_state
                    server_now=now
                    ticker
                />
            </td>
            <td class="muted nowrap cell-number hide-narrow">{entry.ticket_number.clone()}</td>
            <td class="cell-subject">
                <A href=href attr:class="strong">{entry.subject.clone()}</A>
                <span class="cell-sub muted small">
                    <Icon name="workflow" />
                    {format!("{} › {}", entry.workflow_name, entry.step_name)}
                </span>
            </td>
            <td class="cell-priority">{priority_badge(entry.priority)}</td>
            {roles.then(|| view! {
                <td class="cell-assignee">
                    {if entry.mine {
                        view! { <span class="badge badge-blue">"You"</span> }.into_any()
                    } else {
                        view! { <span class="muted">{entry.assignee.full_name.clone()}</span> }.into_any()
                    }}
                </td>
            })}
            <td class="cell-status hide-narrow">{item_status_badge(entry.item_status)}</td>
        </tr>
    }
}
