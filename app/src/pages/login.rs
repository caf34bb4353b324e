//! The sign-in page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::session::{DemoAccount, demo_accounts};
use crate::components::icons::{Icon, Logo};
use crate::components::ui::{ErrorNotice, HydrationMark};
use crate::session::{safe_next, use_session};

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let login = session.login;
    let query = use_query_map();
    let next = move || query.read().get("next");

    let error = move || login.value().get().and_then(Result::err);
    let field_error = move |field: &'static str| {
        move || {
            error().and_then(|e| {
                e.field(field)
                    .map(|m| format!("{} {m}.", capitalize(field)))
            })
        }
    };
    // A message that is not about one field goes in the banner above the form.
    let general_error = move || {
        error()
            .filter(|e| e.details.is_empty())
            .map(|e| view! { <ErrorNotice message=e.message /> })
    };
    let pending = login.pending();
    let show_password = RwSignal::new(false);
    let demo = Resource::new(|| (), |_| demo_accounts());
    let email_input = NodeRef::<leptos::html::Input>::new();
    let password_input = NodeRef::<leptos::html::Input>::new();
    // Picking a demo account fills the form, ready to submit.
    let pick = Callback::new(move |(email, password): (String, String)| {
        if let (Some(email_field), Some(password_field)) = (email_input.get(), password_input.get())
        {
            email_field.set_value(&email);
            password_field.set_value(&password);
            let _ = password_field.focus();
        }
    });

    view! {
        <Title text="Sign in" />
        // Someone already signed in has nothing to do here.
        <Transition fallback=|| ()>
            {move || {
                session
                    .user
                    .get()
                    .and_then(Result::ok)
                    .flatten()
                    .map(|_| view! { <Redirect path=safe_next(next().as_deref()) /> })
            }}
        </Transition>
        <div class="auth-page">
            <main class="auth-card" id="main">
                <div class="auth-brand">
                    <Logo />
                    <span class="brand-name">"TTS"</span>
                </div>
                <h1 class="auth-title">"Sign in to your helpdesk"</h1>
                <p class="auth-subtitle">"Tickets, workflows and your team, in one place."</p>
                {general_error}
                <ActionForm action=login attr:class="form" attr:novalidate="">
                    <input type="hidden" name="next" value=next />
                    <div class="field">
                        <label for="email">"E-mail"</label>
                        <input
                            node_ref=email_input
                            id="email"
                            name="email"
                            type="email"
                            autocomplete="username"
                            required
                            autofocus
                            placeholder="you@company.com"
                            aria-invalid=move || field_error("email")().is_some().to_string()
                            aria-describedby="email-error"
                        />
                        <p class="field-error" id="email-error">{field_error("email")}</p>
                    </div>
                    <div class="field">
                        <label for="password">"Password"</label>
                        <div class="input-with-button">
                            <input
                                node_ref=password_input
                                id="password"
                                name="password"
                                type=move || if show_password.get() { "text" } else { "password" }
                                autocomplete="current-password"
                                required
                                aria-invalid=move || field_error("password")().is_some().to_string()
                                aria-describedby="password-error"
                            />
                            <button
                                type="button"
                                class="icon-button input-button"
                                aria-label=move || if show_password.get() { "Hide password" } else { "Show password" }
                                aria-pressed=move || show_password.get().to_string()
                                on:click=move |_| show_password.update(|shown| *shown = !*shown)
                            >
                                {move || if show_password.get() {
                                    view! { <Icon name="eye-off" /> }
                                } else {
                                    view! { <Icon name="eye" /> }
                                }}
                            </button>
                        </div>
                        <p class="field-error" id="password-error">{field_error("password")}</p>
                    </div>
                    <button type="submit" class="button button-primary button-block" disabled=pending>
                        {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                    </button>
                </ActionForm>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let accounts = demo.await.unwrap_or_default();
                        view! {
                            {(!accounts.is_empty()).then(|| view! { <DemoAccounts accounts pick /> })}
                            <HydrationMark />
                        }
                    })}
                </Suspense>
            </main>
        </div>
    }
}

/// The demo accounts, when demo data is loaded, so a newcomer can try each role: choosing one
/// fills the form.
#[component]
fn DemoAccounts(accounts: Vec<DemoAccount>, pick: Callback<(String, String)>) -> impl IntoView {
    let password = accounts
        .first()
        .map(|a| a.password.clone())
        .unwrap_or_default();
    view! {
        <section class="demo-accounts" aria-labelledby="demo-title">
            <h2 id="demo-title">"Demo accounts"</h2>
            <p class="muted">"Choose one to fill the form. Password for all: " <code>{password}</code></p>
            <ul>
                {accounts
                    .into_iter()
                    .map(|account| {
                        let credentials = (account.email.clone(), account.password.clone());
                        view! {
                            <li>
                                <button
                                    type="button"
                                    class="demo-account"
                                    on:click=move |_| pick.run(credentials.clone())
                                >
                                    <span class="demo-name">{account.name}</span>
                                    <code class="demo-email">{account.email}</code>
                                    <span class="badge badge-gray">{account.role}</span>
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
