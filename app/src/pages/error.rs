//! What the error boundary shows when part of a page fails.

use leptos::prelude::*;

use crate::components::ui::ErrorNotice;

#[component]
pub fn ErrorPage(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, error)| error.to_string())
            .collect::<Vec<_>>()
    };
    view! {
        <div class="panel">
            <h1 class="page-title">"Something went wrong"</h1>
            <p class="page-subtitle">"This part of the page could not be shown. Reload to try again."</p>
            {move || messages().into_iter().map(|message| view! { <ErrorNotice message /> }).collect_view()}
        </div>
    }
}
