//! Signing in: the password, then the second factor when the account has one.

use domain::account::SecondFactorMethod;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

use crate::api::session::{
    CancelSignIn, DemoAccount, LoginOutcome, VerifySecondFactor, demo_accounts,
    pending_second_factor,
};
use crate::components::icons::{Icon, Logo};
use crate::components::ui::{FieldError, FormError, HydrationMark, last_error};
use crate::session::{safe_next, use_session};

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let login = session.login;
    let verify = session.verify;
    let cancel = ServerAction::<CancelSignIn>::new();
    let query = use_query_map();
    let next = move || query.read().get("next");
    let reset_done = move || query.read().get("reset").is_some();

    // Which step: the password, or the code of a sign-in waiting for its second factor (known
    // to the server, so it survives a reload and works without scripts).
    let pending = Resource::new(
        move || {
            (
                login.version().get(),
                verify.version().get(),
                cancel.version().get(),
            )
        },
        |_| pending_second_factor(),
    );
    // "Use another account" forgets the answer of the password step too.
    Effect::new(move |previous: Option<usize>| {
        let current = cancel.version().get();
        if previous.is_some_and(|p| p != current) {
            login.value().set(None);
        }
        current
    });

    view! {
        <Title text="Sign in" />
        // Someone already signed in has nothing to do here.
        {move || {
            session
                .user
                .get()
                .map(|_| view! { <Redirect path=safe_next(next().as_deref()) /> })
        }}
        <div class="auth-page">
            <main class="auth-card" id="main">
                <div class="auth-brand">
                    <Logo />
                    <span class="brand-name">"TTS"</span>
                </div>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        // A password step just answered "second factor" (with scripts), or the
                        // server remembers a waiting sign-in (without).
                        let from_login = match login.value().get() {
                            Some(Ok(LoginOutcome::SecondFactor(method))) => Some(method),
                            _ => None,
                        };
                        let waiting = pending.await.ok().flatten();
                        match from_login.or(waiting) {
                            Some(method) => view! {
                                <CodeStep method verify cancel next=Signal::derive(next) />
                            }
                            .into_any(),
                            None => view! { <PasswordStep next=Signal::derive(next) reset_done=Signal::derive(reset_done) /> }
                                .into_any(),
                        }
                    })}
                </Suspense>
            </main>
        </div>
    }
}

#[component]
fn PasswordStep(next: Signal<Option<String>>, reset_done: Signal<bool>) -> impl IntoView {
    let login = use_session().login;
    let error = last_error(login.value());
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
    let invalid = move |field: &'static str| {
        move || {
            error
                .get()
                .is_some_and(|e| e.field(field).is_some())
                .to_string()
        }
    };

    view! {
        <h1 class="auth-title">"Sign in to your helpdesk"</h1>
        <p class="auth-subtitle">"Tickets, workflows and your team, in one place."</p>
        {move || reset_done.get().then(|| view! {
            <div class="notice notice-success" role="status">
                <Icon name="check" />
                <span>"Your password is set. Sign in with it now."</span>
            </div>
        })}
        <FormError error />
        <ActionForm action=login attr:class="form" attr:novalidate="">
            <input type="hidden" name="next" value=move || next.get() />
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
                    aria-invalid=invalid("email")
                    aria-describedby="email-error"
                />
                <FieldError error field="email" id="email-error" />
            </div>
            <div class="field">
                <div class="label-row">
                    <label for="password">"Password"</label>
                    <a class="small-link" href="/forgot-password">"Forgot your password?"</a>
                </div>
                <div class="input-with-button">
                    <input
                        node_ref=password_input
                        id="password"
                        name="password"
                        type=move || if show_password.get() { "text" } else { "password" }
                        autocomplete="current-password"
                        required
                        aria-invalid=invalid("password")
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
                <FieldError error field="password" id="password-error" />
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
    }
}

#[component]
fn CodeStep(
    method: SecondFactorMethod,
    verify: ServerAction<VerifySecondFactor>,
    cancel: ServerAction<CancelSignIn>,
    next: Signal<Option<String>>,
) -> impl IntoView {
    let error = last_error(verify.value());
    let pending = verify.pending();
    let (title, hint) = match method {
        SecondFactorMethod::Email => (
            "Check your e-mail",
            "We sent a 6-digit code to your address. It is valid for 10 minutes.",
        ),
        _ => (
            "Two-step verification",
            "Enter the 6-digit code from your authenticator app.",
        ),
    };
    view! {
        <h1 class="auth-title">{title}</h1>
        <p class="auth-subtitle">{hint}</p>
        <FormError error />
        <ActionForm action=verify attr:class="form" attr:novalidate="">
            <input type="hidden" name="next" value=move || next.get() />
            <div class="field">
                <label for="code">"Code"</label>
                <input
                    id="code"
                    name="code"
                    class="code-input"
                    inputmode="numeric"
                    autocomplete="one-time-code"
                    required
                    autofocus
                    placeholder="123456"
                    aria-invalid=move || error.get().is_some_and(|e| e.field("code").is_some()).to_string()
                    aria-describedby="code-error code-hint"
                />
                <FieldError error field="code" id="code-error" />
                <p class="field-hint" id="code-hint">"Lost your device? Enter one of your recovery codes instead."</p>
            </div>
            <button type="submit" class="button button-primary button-block" disabled=pending>
                {move || if pending.get() { "Checking…" } else { "Verify and sign in" }}
            </button>
        </ActionForm>
        <ActionForm action=cancel attr:class="form-secondary">
            <button type="submit" class="button button-ghost button-block">"Use another account"</button>
        </ActionForm>
        <HydrationMark />
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
