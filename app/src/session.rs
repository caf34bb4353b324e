//! Who is signed in, for every component.
//!
//! The server knows the user before it renders a page (the `PageCaller` request extension,
//! set by a middleware), and hands that answer to the browser with the page (`SharedValue`), so
//! nothing waits on a resource for it. An earlier design read one "current user" resource
//! in several `<Suspense>`s (header, banner, page guard): Leptos 0.8 then, now and again,
//! never finished a server-rendered response (leptos-rs/leptos#4851), and hydration broke.
//! After signing in or out the browser asks the server again.

use domain::{SessionUser, SystemRole};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::api::session::{Login, Logout, VerifySecondFactor, current_user};
use crate::components::ui::{EmptyState, HydrationMark};

#[derive(Clone, Copy)]
pub struct Session {
    /// The signed-in user, or `None`.
    pub user: Signal<Option<SessionUser>>,
    pub login: ServerAction<Login>,
    /// The second step of a sign-in with a second factor.
    pub verify: ServerAction<VerifySecondFactor>,
    pub logout: ServerAction<Logout>,
}

#[cfg(feature = "ssr")]
fn user_of_this_request() -> Option<SessionUser> {
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::ssr::PageCaller>().cloned())
        .and_then(|caller| caller.0)
        .and_then(|principal| principal.user().map(|u| u.user.clone()))
}

#[cfg(not(feature = "ssr"))]
fn user_of_this_request() -> Option<SessionUser> {
    None
}

pub fn provide_session() {
    let login = ServerAction::<Login>::new();
    let verify = ServerAction::<VerifySecondFactor>::new();
    let logout = ServerAction::<Logout>::new();
    let user = RwSignal::new(SharedValue::new(user_of_this_request).into_inner());
    let reload = Action::new(|_: &()| current_user());
    Effect::new(move |_| {
        // An answer that left while a sign-out was on its way is stale: it must not bring
        // the user back.
        if let Some(Ok(answer)) = reload.value().get()
            && !logout.pending().get_untracked()
        {
            user.set(answer);
        }
    });
    // Signing out ends the session in this page at once, before the server answers: the
    // sign-out's redirect to the sign-in page must not find a user there (it would send
    // them back into the app, whose bell would then call the server with ended credentials),
    // and nothing signed-in keeps running against a session the server is ending.
    Effect::new(move |_| {
        if logout.pending().get() {
            user.set(None);
        }
    });
    // After any sign-in step or a sign-out, ask again who is signed in. A completed sign-in
    // or a sign-out also ends a sign-in that waited for its second factor: the password
    // step's answer ("second factor needed") must not bring the code step back.
    Effect::new(move |previous: Option<(usize, usize, usize)>| {
        let current = (
            login.version().get(),
            verify.version().get(),
            logout.version().get(),
        );
        if previous.is_some_and(|p| p != current) {
            reload.dispatch(());
        }
        let signed_in = previous.is_some_and(|p| p.1 != current.1)
            && matches!(verify.value().get_untracked(), Some(Ok(())));
        if signed_in || previous.is_some_and(|p| p.2 != current.2) {
            login.value().set(None);
        }
        current
    });
    provide_context(Session {
        user: user.into(),
        login,
        verify,
        logout,
    });
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// What a page guard decides for the current user.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    Allowed,
    WrongRole,
    SignedOut,
}

/// Shows `children` to users who may act as `role`; sends everyone else to sign in, or tells
/// a signed-in user without the role that the page is not for them.
#[component]
pub fn RequireRole(role: SystemRole, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let location = use_location();
    // Only a change of the decision re-renders the page, not every new copy of the user.
    let access = Memo::new(move |_| match session.user.get() {
        Some(user) if user.can_act_as(role) => Access::Allowed,
        Some(_) => Access::WrongRole,
        None => Access::SignedOut,
    });
    move || match access.get() {
        Access::Allowed => view! {
            {children()}
            <HydrationMark />
        }
        .into_any(),
        Access::WrongRole => view! {
            <EmptyState
                icon="lock"
                title="This page is not for your role"
                message="Ask an administrator if you think you should have access."
            />
            <HydrationMark />
        }
        .into_any(),
        // Signing out is not a reason to come back here after the next sign-in.
        Access::SignedOut if session.logout.pending().get_untracked() => {
            view! { <Redirect path="/login" /> }.into_any()
        }
        Access::SignedOut => {
            let here = location.pathname.get_untracked();
            let target = format!("/login?next={}", encode_query_value(&here));
            view! { <Redirect path=target /> }.into_any()
        }
    }
}

/// Percent-encodes a value for a query string.
pub fn encode_query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(byte as char)
            }
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

/// Where to go after signing in: only paths every browser keeps on this site
/// (`domain::links::local_path`), never the sign-in page itself; anything else goes home.
pub fn safe_next(next: Option<&str>) -> String {
    match next.and_then(domain::links::local_path) {
        Some(path) if !path.starts_with("/login") => path.to_owned(),
        _ => "/".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_the_site() {
        assert_eq!(safe_next(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(Some("/login")), "/");
        assert_eq!(safe_next(Some("/\t/evil.example/x")), "/");
        assert_eq!(safe_next(Some("/x\u{1}")), "/");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query_value("/admin?x=1&y"), "/admin%3Fx%3D1%26y");
    }
}
