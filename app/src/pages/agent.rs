//! The agent's area.

use domain::SystemRole;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{EmptyState, PageHeader};
use crate::session::RequireRole;

/// The agent's inbox of tasks. Tasks arrive with the workflow-engine stage.
#[component]
pub fn InboxPage() -> impl IntoView {
    view! {
        <Title text="Inbox" />
        <RequireRole role=SystemRole::Agent>
            <PageHeader title="Inbox" subtitle="Tasks assigned to you and to your roles." />
            <div class="panel">
                <EmptyState
                    icon="inbox"
                    title="Inbox zero"
                    message="Nothing is waiting for you. New tasks appear here as soon as a workflow assigns them."
                />
            </div>
        </RequireRole>
    }
}
