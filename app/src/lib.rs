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
use leptos_router::{Lazy, LazyRoute, SsrMode, path};

use components::layout::AppLayout;
use components::toast::{Toaster, provide_toaster};
use pages::password::{ForgotPasswordPage, ResetPasswordPage};
use pages::{
    account, admin, agent, home::HomePage, login::LoginPage, not_found::NotFound, tickets,
};
use session::provide_session;

/// The HTML document around the app. The inline script applies a theme the user chose before
/// the first paint, so a dark-theme user never sees a white flash. Every inline script carries
/// the page's nonce, which the page's Content-Security-Policy names (`ssr::send_page_policy`).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    ssr::send_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <script nonce=leptos::nonce::use_nonce()>
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

/// The pages come in five groups, each a [`LazyRoute`] chunk of WebAssembly that
/// `cargo leptos build --split` cuts out of the main module: the first load carries the app's
/// shell and the group of the page shown, and a group is fetched when one of its pages is
/// first shown (the server-rendered page preloads it). Groups rather than one chunk per
/// page: the splitter gives every set of pages sharing some code a chunk of its own, and with
/// a chunk per page a page needed up to 300 small files. Data is loaded by the pages' own
/// resources, as before; see docs/wasm-splitting.md.
macro_rules! page_groups {
    ($($group:ident, preloaded by $preload:ident { $($route:ident => $($page:ident)::+,)* })*) => {$(
        #[leptos::lazy]
        fn $group(route: &'static str) -> AnyView {
            match route {
                $(stringify!($route) => view! { <$($page)::+ /> }.into_any(),)*
                _ => unreachable!("{route} is not in {}", stringify!($group)),
            }
        }

        $(
            struct $route;

            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn view(_this: Self) -> AnyView {
                    $group(stringify!($route)).await
                }

                // The router awaits this before it builds (or hydrates) the page, so that the
                // page's view is ready at once; `#[lazy]` names the loader `__preload_<fn>`.
                async fn preload() {
                    #[cfg(target_arch = "wasm32")]
                    $preload().await;
                }
            }
        )*
    )*};
}

page_groups! {
    sign_in_pages, preloaded by __preload_sign_in_pages {
        LoginRoute => LoginPage,
        ForgotPasswordRoute => ForgotPasswordPage,
        ResetPasswordRoute => ResetPasswordPage,
    }
    home_pages, preloaded by __preload_home_pages {
        HomeRoute => HomePage,
        AccountRoute => account::AccountPage,
        SecurityRoute => account::SecurityPage,
    }
    ticket_pages, preloaded by __preload_ticket_pages {
        TicketsRoute => tickets::TicketsPage,
        NewTicketRoute => tickets::NewTicketPage,
        TicketRoute => tickets::TicketPage,
        InboxRoute => agent::InboxPage,
    }
    admin_pages, preloaded by __preload_admin_pages {
        AdminOverviewRoute => admin::AdminOverviewPage,
        UsersRoute => admin::users::UsersPage,
        UserRoute => admin::users::UserPage,
        RolesRoute => admin::roles::RolesPage,
        RoleRoute => admin::roles::RolePage,
        ApiKeysRoute => admin::keys::ApiKeysPage,
        SecurityPolicyRoute => admin::security::SecurityPolicyPage,
        HelpdeskSettingsRoute => admin::helpdesk::HelpdeskSettingsPage,
        WorkflowsRoute => admin::workflows::WorkflowsPage,
        WorkflowRoute => admin::workflows::WorkflowPage,
        TriageRoute => admin::triage::TriagePage,
        AuditRoute => admin::audit::AuditPage,
    }
    editor_pages, preloaded by __preload_editor_pages {
        WorkflowEditorRoute => admin::editor::WorkflowEditorPage,
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
