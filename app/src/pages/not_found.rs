//! The page for an address that leads nowhere (with a real 404 status).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::ui::{EmptyState, HydrationMark};

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Page not found" />
        <div class="panel">
            <EmptyState
                icon="search"
                title="Page not found"
                message="The address may be mistyped, or the page may have moved."
            >
                <a class="button button-primary" href="/">"Go to the start page"</a>
            </EmptyState>
        </div>
        <HydrationMark />
    }
}
