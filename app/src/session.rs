//! Who is signed in, for every component: a resource that reloads after signing in or out.

use domain::{AppError, SessionUser, SystemRole};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_location;

use crate::api::session::{Login, Logout, VerifySecondFactor, current_user};
use crate::components::ui::{EmptyState, HydrationMark, Spinner};

#[derive(Clone, Copy)]
pub struct Session {
    pub user: Resource<Result<Option<SessionUser>, AppError>>,
    pub login: ServerAction<Login>,
    /// The second step of a sign-in with a second factor.
    pub verify: ServerAction<VerifySecondFactor>,
    pub logout: ServerAction<Logout>,
}

pub fn provide_session() {
    let login = ServerAction::<Login>::new();
    let verify = ServerAction::<VerifySecondFactor>::new();
    let logout = ServerAction::<Logout>::new();
    let user = Resource::new(
        move || {
            (
                login.version().get(),
                verify.version().get(),
                logout.version().get(),
            )
        },
        |_| current_user(),
    );
    // A completed sign-in or a sign-out ends a sign-in that waited for its second factor: the
    // password step's answer ("second factor needed") must not bring the code step back.
    Effect::new(move |previous: Option<(usize, usize)>| {
        let current = (verify.version().get(), logout.version().get());
        let signed_in = previous.is_some_and(|p| p.0 != current.0)
            && matches!(verify.value().get_untracked(), Some(Ok(())));
        if signed_in || previous.is_some_and(|p| p.1 != current.1) {
            login.value().set(None);
        }
        current
    });
    provide_context(Session {
        user,
        login,
        verify,
        logout,
    });
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// Shows `children` to users who may act as `role`; sends everyone else to sign in, or tells
/// a signed-in user without the role that the page is not for them.
#[component]
pub fn RequireRole(role: SystemRole, children: ChildrenFn) -> impl IntoView {
    let session = use_session();
    let location = use_location();
    let children = StoredValue::new(children);
    view! {
        <Suspense fallback=|| view! { <Spinner label="Loading" /> }>
            {move || Suspend::new(async move {
                match session.user.await {
                    Ok(Some(user)) if user.can_act_as(role) => view! {
                        {children.with_value(|children| children())}
                        <HydrationMark />
                    }
                    .into_any(),
                    Ok(Some(_)) => view! {
                        <EmptyState
                            icon="lock"
                            title="This page is not for your role"
                            message="Ask an administrator if you think you should have access."
                        />
                        <HydrationMark />
                    }
                    .into_any(),
                    _ => {
                        let here = location.pathname.get_untracked();
                        let target = format!("/login?next={}", encode_query_value(&here));
                        view! { <Redirect path=target /> }.into_any()
                    }
                }
            })}
        </Suspense>
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

/// Where to go after signing in: only paths on this site, so a crafted link cannot send a
/// user elsewhere (`//evil.example` and `https://…` are refused).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.starts_with("/login") =>
        {
            path.to_owned()
        }
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
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode_query_value("/admin?x=1&y"), "/admin%3Fx%3D1%26y");
    }
}
