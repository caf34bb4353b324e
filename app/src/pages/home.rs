//! The start page: a greeting and the way into each area the user may use.

use domain::SystemRole;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::icons::Icon;
use crate::session::{RequireRole, use_session};

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="Home" />
        <RequireRole role=SystemRole::Employee>
            <Home />
        </RequireRole>
    }
}

#[component]
fn Home() -> impl IntoView {
    let session = use_session();
    let user = move || session.user.get();
    view! {
        {move || user().map(|user| {
            let first_name = user.full_name.split_whitespace().next().unwrap_or("there").to_owned();
            let role = user.tts_role();
            view! {
                <section class="hero">
                    <p class="eyebrow">{format!("Signed in as {}", role.as_str())}</p>
                    <h1 class="page-title">{format!("Welcome back, {first_name}")}</h1>
                    <p class="page-subtitle">"Here is where your work lives."</p>
                </section>
                <div class="card-grid">
                    {if role >= SystemRole::Agent {
                        view! {
                            <AreaCard
                                href="/tickets"
                                icon="ticket"
                                title="Tickets"
                                text="Every ticket you can work on: filter, search, and act on them."
                            />
                        }
                    } else {
                        view! {
                            <AreaCard
                                href="/tickets"
                                icon="ticket"
                                title="My tickets"
                                text="Follow the requests you submitted: their status, their step and who is on them."
                            />
                        }
                    }}
                    <AreaCard
                        href="/tickets/new"
                        icon="plus"
                        title="New ticket"
                        text="Ask for help: describe the problem, choose a category, and we route it."
                    />
                    {(role >= SystemRole::Agent).then(|| view! {
                        <AreaCard
                            href="/inbox"
                            icon="inbox"
                            title="Inbox"
                            text="The tasks assigned to you and your roles, with their SLA clocks."
                        />
                    })}
                    {(role >= SystemRole::Admin).then(|| view! {
                        <AreaCard
                            href="/admin"
                            icon="settings"
                            title="Administration"
                            text="Workflows, the triage queue and the audit log; users, roles and the helpdesk's settings."
                        />
                    })}
                </div>
            }
        })}
    }
}

#[component]
fn AreaCard(
    href: &'static str,
    icon: &'static str,
    title: &'static str,
    text: &'static str,
) -> impl IntoView {
    view! {
        <a class="card card-link" href=href>
            <span class="card-icon"><Icon name=icon /></span>
            <span class="card-title">{title}</span>
            <span class="card-text">{text}</span>
            <span class="card-go">"Open " <Icon name="arrow-right" /></span>
        </a>
    }
}
