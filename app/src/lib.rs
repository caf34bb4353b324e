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
use leptos_router::{Lazy, LazyRoute, SsrMode, lazy_route, path};

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
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()} ssr=SsrMode::Async />
                <Route path=path!("/reset-password") view={Lazy::<ResetPasswordRoute>::new()} ssr=SsrMode::Async />
                <ParentRoute path=path!("") view=AppLayoutOutlet ssr=SsrMode::Async>
                    <Route path=path!("/") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/tickets") view={Lazy::<TicketsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/tickets/new") view={Lazy::<NewTicketRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/tickets/:id") view={Lazy::<TicketRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/inbox") view={Lazy::<InboxRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin") view={Lazy::<AdminOverviewRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/account") view={Lazy::<AccountRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/account/security") view={Lazy::<SecurityRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/users") view={Lazy::<UsersRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/users/:id") view={Lazy::<UserRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/roles") view={Lazy::<RolesRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/roles/:id") view={Lazy::<RoleRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/api-keys") view={Lazy::<ApiKeysRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/security") view={Lazy::<SecurityPolicyRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/helpdesk") view={Lazy::<HelpdeskSettingsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/workflows") view={Lazy::<WorkflowsRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/workflows/:id") view={Lazy::<WorkflowRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/workflows/:id/editor") view={Lazy::<WorkflowEditorRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/triage") view={Lazy::<TriageRoute>::new()} ssr=SsrMode::Async />
                    <Route path=path!("/admin/audit") view={Lazy::<AuditRoute>::new()} ssr=SsrMode::Async />
                </ParentRoute>
            </Routes>
        </Router>
        <Toaster />
    }
}

/// Each page is a [`LazyRoute`]: `cargo leptos build --split` puts its WebAssembly in a chunk
/// of its own, fetched when the page is first shown (and preloaded by the server-rendered
/// page that shows it), so the first load carries the app's shell and one page rather than
/// every page. Data is loaded by the page's own resources, as before; see
/// docs/wasm-splitting.md.
macro_rules! split_pages {
    ($($route:ident => $($page:ident)::+,)*) => {$(
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                view! { <$($page)::+ /> }.into_any()
            }
        }
    )*};
}

split_pages! {
    LoginRoute => LoginPage,
    ForgotPasswordRoute => ForgotPasswordPage,
    ResetPasswordRoute => ResetPasswordPage,
    HomeRoute => HomePage,
    TicketsRoute => tickets::TicketsPage,
    NewTicketRoute => tickets::NewTicketPage,
    TicketRoute => tickets::TicketPage,
    InboxRoute => agent::InboxPage,
    AdminOverviewRoute => admin::AdminOverviewPage,
    AccountRoute => account::AccountPage,
    SecurityRoute => account::SecurityPage,
    UsersRoute => admin::users::UsersPage,
    UserRoute => admin::users::UserPage,
    RolesRoute => admin::roles::RolesPage,
    RoleRoute => admin::roles::RolePage,
    ApiKeysRoute => admin::keys::ApiKeysPage,
    SecurityPolicyRoute => admin::security::SecurityPolicyPage,
    HelpdeskSettingsRoute => admin::helpdesk::HelpdeskSettingsPage,
    WorkflowsRoute => admin::workflows::WorkflowsPage,
    WorkflowRoute => admin::workflows::WorkflowPage,
    WorkflowEditorRoute => admin::editor::WorkflowEditorPage,
    TriageRoute => admin::triage::TriagePage,
    AuditRoute => admin::audit::AuditPage,
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
