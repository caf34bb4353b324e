//! The triage queue: tickets the workflow engine could not place (no matching workflow, or
//! nobody to assign), each with a way to try again once the cause is fixed.

use domain::tasks::{TriageEntry, TriageReason};
use domain::{AppError, SystemRole};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use super::AdminHeader;
use crate::api::tasks::{RetryTriage, load_triage};
use crate::components::icons::Icon;
use crate::components::toast::use_toasts;
use crate::components::ui::{EmptyState, ErrorNotice, Spinner, Timestamp};
use crate::pages::tickets::priority_badge;
use crate::session::{RequireRole, use_session};

#[component]
pub fn TriagePage() -> impl IntoView {
    let session = use_session();
    let is_admin = move || {
        session.user.with(|user| {
            user.as_ref()
                .is_some_and(|u| u.can_act_as(SystemRole::Admin))
        })
    };
    let retry = ServerAction::<RetryTriage>::new();
    let queue = Resource::new(
        move || (is_admin(), retry.version().get()),
        |(admin, _)| async move {
            if admin {
                load_triage().await
            } else {
                Err(AppError::forbidden())
            }
        },
    );
    // The ticket being tried (the input is there only while the call runs): a retry that
    // still fails queues it again, under a new entry.
    let tried_ticket = RwSignal::new(None::<i64>);
    Effect::new(move |_| {
        if let Some(id) = retry.input().with(|input| input.as_ref().map(|i| i.id)) {
            let ticket = queue.with_untracked(|q| {
                q.as_ref()
                    .and_then(|r| r.as_ref().ok())
                    .and_then(|entries| entries.iter().find(|e| e.id == id).map(|e| e.ticket_id))
            });
            tried_ticket.set(ticket);
        }
    });
    let toasts = use_toasts();
    Effect::new(move |previous: Option<usize>| {
        let version = retry.version().get();
        if previous.is_some_and(|p| p != version) {
            let ticket = tried_ticket.get_untracked();
            match retry.value().get_untracked() {
                Some(Ok(queue)) => {
                    if ticket.is_some_and(|t| queue.iter().any(|e| e.ticket_id == t)) {
                        toasts.error("Still stuck: the cause is not fixed yet.");
                    } else {
                        toasts.success("Tried again: the ticket went on its way");
                    }
                }
                Some(Err(err)) => toasts.error(err.message),
                None => {}
            }
        }
        version
    });
    view! {
        <Title text="Triage" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <section class="panel" aria-labelledby="triage-title">
                <h2 class="panel-title" id="triage-title">"Triage"</h2>
                <p class="panel-intro muted">"Tickets the workflow engine could not place. Deploy a workflow that matches them, or add active members to the step's role, then try again."</p>
                <Transition fallback=|| view! { <Spinner label="Loading the queue" /> }>
                    {move || queue.get().map(|result| match result {
                        Ok(entries) if entries.is_empty() => view! {
                            <EmptyState icon="check" title="Nothing to triage" message="Every ticket found a workflow and someone to work on it." />
                        }
                        .into_any(),
                        Ok(entries) => view! { <TriageTable entries retry /> }.into_any(),
                        Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    })}
                </Transition>
            </section>
        </RequireRole>
    }
}

#[component]
fn TriageTable(entries: Vec<TriageEntry>, retry: ServerAction<RetryTriage>) -> impl IntoView {
    let pending = retry.pending();
    view! {
        <div class="table-wrap">
            <table class="table card-table triage-table" data-test="triage-table">
                <thead>
                    <tr>
                        <th scope="col" class="hide-narrow">"Ticket"</th>
                        <th scope="col">"Subject"</th>
                        <th scope="col" class="hide-narrow">"Priority"</th>
                        <th scope="col">"Why"</th>
                        <th scope="col" class="hide-narrow">"Since"</th>
                        <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    {entries.into_iter().map(|entry| {
                        let reason_class = match entry.reason {
                            TriageReason::NoWorkflow => "badge badge-amber",
                            TriageReason::NoAssignee => "badge badge-red",
                            TriageReason::UnknownNames => "badge badge-purple",
                        };
                        view! {
                            <tr data-test="triage-row">
                                <td class="muted nowrap hide-narrow">{entry.ticket_number.clone()}</td>
                                <td class="cell-subject">
                                    <A href=format!("/tickets/{}", entry.ticket_id) attr:class="strong">{entry.subject.clone()}</A>
                                </td>
                                <td class="hide-narrow">{priority_badge(entry.priority)}</td>
                                <td>
                                    <span class=reason_class>{entry.reason.label()}</span>
                                    {(!entry.detail.is_empty()).then(|| view! { <span class="cell-sub muted small">{entry.detail.clone()}</span> })}
                                </td>
                                <td class="muted nowrap small hide-narrow"><Timestamp at=entry.created_at /></td>
                                <td class="cell-actions">
                                    <ActionForm action=retry>
                                        <input type="hidden" name="id" value=entry.id />
                                        <button type="submit" class="button button-secondary button-small" disabled=pending data-test="retry-triage">
                                            <Icon name="refresh" />
                                            <span>"Try again"</span>
                                        </button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
