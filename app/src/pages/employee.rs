//! The employee's area.

use domain::SystemRole;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{EmptyState, PageHeader};
use crate::session::RequireRole;

/// The requester's own tickets. Tickets arrive with the helpdesk-core stage; until then
/// the list is honestly empty.
#[component]
pub fn MyTicketsPage() -> impl IntoView {
    view! {
        <Title text="My tickets" />
        <RequireRole role=SystemRole::Employee>
            <PageHeader title="My tickets" subtitle="Requests you submitted, newest first." />
            <div class="panel">
                <EmptyState
                    icon="ticket"
                    title="No tickets yet"
                    message="When you submit a request, it appears here with its status, its current step and its SLA target."
                />
            </div>
        </RequireRole>
    }
}
