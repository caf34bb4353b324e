//! The TTS web application: one Leptos app for employees, agents and admins, rendered on the
//! server and hydrated in the browser.

// Deeply nested views have deeply nested types.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod live;
pub mod pages;
pub mod session;
#[cfg(feature = "ssr")]
pub mod ssr;

use leptos::prelude::*;
use leptos_meta::{Link, Meta, MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use components::layout::AppLayout;
use components::toast::{Toaster, provide_toaster};
use pages::password::{ForgotPasswordPage, ResetPasswordPage};
use pages::{
    account, admin, agent, home::HomePage, login::LoginPage, not_found::NotFound, tickets,
};
use session::provide_session;

/// The HTML document around the app. The inline script applies a theme the user chose before
/// the first paint, so a dark-theme user never sees a white flash.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <script>
                    "try{var t=localStorage.getItem('tts-theme');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}"
                </script>
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_toaster();
    provide_session();
    components::ui::provide_clock();

    view! {
        <Stylesheet id="leptos" href="/pkg/tts.css" />
        <Link rel="icon" type_="image/svg+xml" href="/favicon.svg" />
        <Meta name="color-scheme" content="light dark" />
        <Meta name="description" content="TTS: tickets, workflows and live collaboration for your helpdesk." />
        <Title formatter=|title: String| if title.is_empty() { "TTS".to_owned() } else { format!("{title} · TTS") } />
        <Router>
            <Routes fallback=|| view! { <AppLayout><NotFound /></AppLayout> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view=ForgotPasswordPage ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view=ResetPasswordPage ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=AppLayoutOutlet ssr=SsrMode::Async>
                    <Route path=path!("/") view=HomePage ssr=SsrMode::Async />
                    <Route path=path!("/tickets") view=tickets::TicketsPage ssr=SsrMode::Async />
                    <Route path=path!("/tickets/new") view=tickets::NewTicketPage ssr=SsrMode::Async />
                    <Route path=path!("/tickets/:id") view=tickets::TicketPage ssr=SsrMode::Async />
                    <Route path=path!("/inbox") view=agent::InboxPage ssr=SsrMode::Async />
                    <Route path=path!("/admin") view=admin::AdminOverviewPage ssr=SsrMode::Async />
                    <Route path=path!("/account") view=account::AccountPage ssr=SsrMode::Async />
                    <Route path=path!("/account/security") view=account::SecurityPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/users") view=admin::users::UsersPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/users/:id") view=admin::users::UserPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/roles") view=admin::roles::RolesPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/roles/:id") view=admin::roles::RolePage ssr=SsrMode::Async />
                    <Route path=path!("/admin/api-keys") view=admin::keys::ApiKeysPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/security") view=admin::security::SecurityPolicyPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/helpdesk") view=admin::helpdesk::HelpdeskSettingsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/workflows") view=admin::workflows::WorkflowsPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/workflows/:id") view=admin::workflows::WorkflowPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/workflows/:id/editor") view=admin::editor::WorkflowEditorPage ssr=SsrMode::Async />
                    <Route path=path!("/admin/triage") view=admin::triage::TriagePage ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view=admin::audit::AuditPage ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
        <Toaster />
    }
}

/// The signed-in layout around the nested route's page.
#[component]
fn AppLayoutOutlet() -> impl IntoView {
    view! {
        <AppLayout>
            <leptos_router::components::Outlet />
        </AppLayout>
    }
}
