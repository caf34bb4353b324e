//! A forgotten password: asking for a link, and choosing a new password with it (also how an
//! invited user sets their first password).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::session::{ForgotPassword, ResetPassword};
use crate::components::icons::{Icon, Logo};
use crate::components::ui::{FieldError, FormError, HydrationMark, last_error};

#[component]
fn AuthCard(children: Children) -> impl IntoView {
    view! {
        <div class="auth-page">
            <main class="auth-card" id="main">
                <div class="auth-brand">
                    <Logo />
                    <span class="brand-name">"TTS"</span>
                </div>
                {children()}
            </main>
        </div>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    let error = last_error(action.value());
    let sent = move || matches!(action.value().get(), Some(Ok(())));
    let pending = action.pending();
    view! {
        <Title text="Forgot your password" />
        <AuthCard>
            <h1 class="auth-title">"Reset your password"</h1>
            {move || if sent() {
                view! {
                    <div class="notice notice-success" role="status">
                        <Icon name="check" />
                        <span>"If an account uses that address, a link to choose a new password is on its way. It works once, for 30 minutes."</span>
                    </div>
                    <p class="auth-footer"><a href="/login">"Back to sign in"</a></p>
                }
                .into_any()
            } else {
                view! {
                    <p class="auth-subtitle">"Enter your e-mail address and we will send you a link to choose a new password."</p>
                    <FormError error />
                    <ActionForm action attr:class="form" attr:novalidate="">
                        <div class="field">
                            <label for="email">"E-mail"</label>
                            <input id="email" name="email" type="email" autocomplete="username" required autofocus placeholder="you@company.com" />
                            <FieldError error field="email" />
                        </div>
                        <button type="submit" class="button button-primary button-block" disabled=pending>
                            {move || if pending.get() { "Sending…" } else { "Send the link" }}
                        </button>
                    </ActionForm>
                    <p class="auth-footer"><a href="/login">"Back to sign in"</a></p>
                }
                .into_any()
            }}
            <HydrationMark />
        </AuthCard>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let action = ServerAction::<ResetPassword>::new();
    let error = last_error(action.value());
    let pending = action.pending();
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    view! {
        <Title text="Choose a new password" />
        <AuthCard>
            <h1 class="auth-title">"Choose a new password"</h1>
            <p class="auth-subtitle">"At least 10 characters. A few unrelated words make a strong one that is easy to remember."</p>
            <FormError error />
            <ActionForm action attr:class="form" attr:novalidate="">
                <input type="hidden" name="token" value=token />
                <div class="field">
                    <label for="new_password">"New password"</label>
                    <input id="new_password" name="new_password" type="password" autocomplete="new-password" required autofocus />
                    <FieldError error field="new_password" />
                </div>
                <div class="field">
                    <label for="confirm_password">"Repeat it"</label>
                    <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required />
                    <FieldError error field="confirm_password" />
                </div>
                <button type="submit" class="button button-primary button-block" disabled=pending>
                    {move || if pending.get() { "Saving…" } else { "Set the password" }}
                </button>
            </ActionForm>
            <p class="auth-footer"><a href="/login">"Back to sign in"</a></p>
            <HydrationMark />
        </AuthCard>
    }
}
