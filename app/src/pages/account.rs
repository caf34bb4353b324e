//! The user's own account: profile and password; security (second factor, signed-in devices).

use domain::SystemRole;
use domain::account::{ActiveSession, SecondFactorMethod, TotpEnrolment};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::account::{
    BeginEmailCodes, BeginTotp, ChangePassword, ConfirmEmailCodes, ConfirmTotp,
    DisableSecondFactor, NewRecoveryCodes, RenameMe, RevokeOtherSessions, RevokeSession,
    load_second_factor, my_profile, my_sessions,
};
use crate::components::icons::Icon;
use crate::components::ui::{
    ErrorNotice, FieldError, FormError, PageHeader, Spinner, Timestamp, last_error, toast_result,
};
use crate::session::RequireRole;

#[component]
fn AccountTabs() -> impl IntoView {
    view! {
        <nav class="tabs" aria-label="Account">
            <A href="/account" exact=true>"Profile"</A>
            <A href="/account/security">"Security"</A>
        </nav>
    }
}

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Title text="Your account" />
        <RequireRole role=SystemRole::Employee>
            <PageHeader title="Your account" subtitle="Your name, your sign-in and how you prove it is you." />
            <AccountTabs />
            <div class="two-column">
                <ProfilePanel />
                <PasswordPanel />
            </div>
        </RequireRole>
    }
}

#[component]
fn ProfilePanel() -> impl IntoView {
    let rename = ServerAction::<RenameMe>::new();
    toast_result(rename.version(), rename.value(), "Your name is saved");
    let error = last_error(rename.value());
    let profile = Resource::new(move || rename.version().get(), |_| my_profile());
    view! {
        <section class="panel" aria-labelledby="profile-title">
            <h2 class="panel-title" id="profile-title">"Profile"</h2>
            <Suspense fallback=|| view! { <Spinner label="Loading" /> }>
                {move || Suspend::new(async move {
                    match profile.await {
                        Ok(me) => view! {
                            <ActionForm action=rename attr:class="form">
                                <div class="field">
                                    <label for="full_name">"Full name"</label>
                                    <input id="full_name" name="full_name" type="text" autocomplete="name" required value=me.full_name.clone() />
                                    <FieldError error field="full_name" />
                                </div>
                                <div class="field">
                                    <label for="email-readonly">"E-mail"</label>
                                    <input id="email-readonly" type="email" value=me.email.clone() readonly aria-describedby="email-note" />
                                    <p class="field-hint" id="email-note">"Your sign-in name. An administrator can change it."</p>
                                </div>
                                <div class="form-actions">
                                    <button type="submit" class="button button-primary">"Save"</button>
                                </div>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn PasswordPanel() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    toast_result(
        change.version(),
        change.value(),
        "Password changed; your other devices were signed out",
    );
    let error = last_error(change.value());
    let pending = change.pending();
    view! {
        <section class="panel" aria-labelledby="password-title">
            <h2 class="panel-title" id="password-title">"Password"</h2>
            <p class="panel-intro muted">"Changing it signs out your other devices."</p>
            <FormError error />
            <ActionForm action=change attr:class="form">
                <div class="field">
                    <label for="current_password">"Current password"</label>
                    <input id="current_password" name="current_password" type="password" autocomplete="current-password" required />
                    <FieldError error field="current_password" />
                </div>
                <div class="field">
                    <label for="new_password">"New password"</label>
                    <input id="new_password" name="new_password" type="password" autocomplete="new-password" required />
                    <FieldError error field="new_password" />
                </div>
                <div class="field">
                    <label for="confirm_password">"Repeat the new password"</label>
                    <input id="confirm_password" name="confirm_password" type="password" autocomplete="new-password" required />
                    <FieldError error field="confirm_password" />
                </div>
                <div class="form-actions">
                    <button type="submit" class="button button-primary" disabled=pending>"Change password"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn SecurityPage() -> impl IntoView {
    view! {
        <Title text="Security" />
        <RequireRole role=SystemRole::Employee>
            <PageHeader title="Your account" subtitle="Your name, your sign-in and how you prove it is you." />
            <AccountTabs />
            <SecondFactorPanel />
            <SessionsPanel />
        </RequireRole>
    }
}

#[component]
fn SecondFactorPanel() -> impl IntoView {
    let begin_totp = ServerAction::<BeginTotp>::new();
    let confirm_totp = ServerAction::<ConfirmTotp>::new();
    let begin_email = ServerAction::<BeginEmailCodes>::new();
    let confirm_email = ServerAction::<ConfirmEmailCodes>::new();
    let disable = ServerAction::<DisableSecondFactor>::new();
    let regenerate = ServerAction::<NewRecoveryCodes>::new();
    toast_result(
        confirm_totp.version(),
        confirm_totp.value(),
        "Authenticator app turned on",
    );
    toast_result(
        confirm_email.version(),
        confirm_email.value(),
        "Codes by e-mail turned on",
    );
    toast_result(
        disable.version(),
        disable.value(),
        "Two-step verification turned off",
    );
    toast_result(begin_email.version(), begin_email.value(), "");
    let status = Resource::new(
        move || {
            (
                confirm_totp.version().get(),
                confirm_email.version().get(),
                disable.version().get(),
                regenerate.version().get(),
            )
        },
        |_| load_second_factor(),
    );
    // The recovery codes just issued, shown until dismissed.
    let fresh_codes = RwSignal::new(None::<Vec<String>>);
    Effect::new(move |_| {
        for value in [
            confirm_totp.value().get(),
            confirm_email.value().get(),
            regenerate.value().get(),
        ] {
            if let Some(Ok(codes)) = value {
                fresh_codes.set(Some(codes));
            }
        }
    });

    view! {
        <section class="panel" aria-labelledby="second-factor-title">
            <div class="panel-header">
                <h2 class="panel-title" id="second-factor-title">"Two-step verification"</h2>
            </div>
            {move || fresh_codes.get().map(|codes| view! {
                <RecoveryCodes codes on_done=move || fresh_codes.set(None) />
            })}
            <Transition fallback=|| view! { <Spinner label="Loading" /> }>
                {move || status.get().map(|result| match result {
                    Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    Ok(status) if status.method == SecondFactorMethod::None => {
                        let enrolment = move || begin_totp.value().get().and_then(Result::ok);
                        let email_sent = move || matches!(begin_email.value().get(), Some(Ok(())));
                        view! {
                            {status.required.then(|| view! {
                                <div class="notice notice-warning" role="alert">
                                    <Icon name="alert" />
                                    <span>"Your role requires two-step verification. Set it up to use the rest of TTS."</span>
                                </div>
                            })}
                            <p class="panel-intro muted">
                                "A second step after your password: even someone who learns your password cannot sign in."
                            </p>
                            {move || match (enrolment(), email_sent()) {
                                (Some(enrolment), _) => view! { <TotpSetup enrolment confirm=confirm_totp /> }.into_any(),
                                (None, true) => view! { <EmailSetup confirm=confirm_email /> }.into_any(),
                                (None, false) => view! {
                                    <div class="choice-grid">
                                        <div class="choice">
                                            <span class="card-icon"><Icon name="lock" /></span>
                                            <strong>"Authenticator app"</strong>
                                            <span class="muted">"Codes from an app on your phone (Google Authenticator, 1Password, Aegis…). Works offline."</span>
                                            <ActionForm action=begin_totp>
                                                <button type="submit" class="button button-primary" data-test="setup-totp">"Set up the app"</button>
                                            </ActionForm>
                                        </div>
                                        <div class="choice">
                                            <span class="card-icon"><Icon name="bell" /></span>
                                            <strong>"Codes by e-mail"</strong>
                                            <span class="muted">"A code sent to your address each time you sign in."</span>
                                            <ActionForm action=begin_email>
                                                <button type="submit" class="button button-secondary" data-test="setup-email">"Use e-mail codes"</button>
                                            </ActionForm>
                                        </div>
                                    </div>
                                }
                                .into_any(),
                            }}
                        }
                        .into_any()
                    }
                    Ok(status) => {
                        let disable_error = last_error(disable.value());
                        let regenerate_error = last_error(regenerate.value());
                        view! {
                            <div class="status-line">
                                <span class="badge badge-green">"On"</span>
                                <strong>{status.method.label()}</strong>
                                <span class="muted">{format!("{} recovery codes left", status.recovery_codes_left)}</span>
                            </div>
                            <div class="two-column">
                                <ActionForm action=regenerate attr:class="form compact-form">
                                    <h3 class="subsection-title">"New recovery codes"</h3>
                                    <p class="muted">"Replaces the codes you have."</p>
                                    <div class="field">
                                        <label for="regen_password">"Your password"</label>
                                        <input id="regen_password" name="current_password" type="password" autocomplete="current-password" required />
                                        <FieldError error=regenerate_error field="current_password" />
                                    </div>
                                    <button type="submit" class="button button-secondary">"Make new codes"</button>
                                </ActionForm>
                                {(!status.required).then(|| view! {
                                    <ActionForm action=disable attr:class="form compact-form">
                                        <h3 class="subsection-title">"Turn off"</h3>
                                        <p class="muted">"Your password alone will sign you in again."</p>
                                        <div class="field">
                                            <label for="disable_password">"Your password"</label>
                                            <input id="disable_password" name="current_password" type="password" autocomplete="current-password" required />
                                            <FieldError error=disable_error field="current_password" />
                                        </div>
                                        <button type="submit" class="button button-danger">"Turn off two-step verification"</button>
                                    </ActionForm>
                                })}
                            </div>
                        }
                        .into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn TotpSetup(enrolment: TotpEnrolment, confirm: ServerAction<ConfirmTotp>) -> impl IntoView {
    let error = last_error(confirm.value());
    let secret = enrolment
        .secret
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    view! {
        <div class="setup">
            <div class="qr" inner_html=enrolment.qr_svg aria-label="QR code to scan with your authenticator app" role="img"></div>
            <div class="setup-steps">
                <ol>
                    <li>"Scan the code with your authenticator app."</li>
                    <li>"Or type this key into it: " <code class="secret" data-test="totp-secret">{secret}</code></li>
                    <li>"Enter the 6-digit code the app shows."</li>
                </ol>
                <ActionForm action=confirm attr:class="form compact-form">
                    <div class="field">
                        <label for="totp_code">"Code from the app"</label>
                        <input id="totp_code" name="code" class="code-input" inputmode="numeric" autocomplete="one-time-code" required placeholder="123456" />
                        <FieldError error field="code" />
                    </div>
                    <div class="field">
                        <label for="totp_password">"Your password"</label>
                        <input id="totp_password" name="current_password" type="password" autocomplete="current-password" required />
                        <p class="field-hint muted small">"Adding a second factor asks for your password, so a borrowed session cannot add one."</p>
                        <FieldError error field="current_password" />
                    </div>
                    <FormError error />
                    <button type="submit" class="button button-primary">"Turn on"</button>
                </ActionForm>
            </div>
        </div>
    }
}

#[component]
fn EmailSetup(confirm: ServerAction<ConfirmEmailCodes>) -> impl IntoView {
    let error = last_error(confirm.value());
    view! {
        <div class="notice notice-success" role="status">
            <Icon name="check" />
            <span>"We sent a code to your e-mail address. Enter it to confirm."</span>
        </div>
        <ActionForm action=confirm attr:class="form compact-form">
            <div class="field">
                <label for="email_code">"Code from the e-mail"</label>
                <input id="email_code" name="code" class="code-input" inputmode="numeric" autocomplete="one-time-code" required placeholder="123456" />
                <FieldError error field="code" />
            </div>
            <div class="field">
                <label for="email_password">"Your password"</label>
                <input id="email_password" name="current_password" type="password" autocomplete="current-password" required />
                <p class="field-hint muted small">"Adding a second factor asks for your password, so a borrowed session cannot add one."</p>
                <FieldError error field="current_password" />
            </div>
            <FormError error />
            <button type="submit" class="button button-primary">"Turn on"</button>
        </ActionForm>
    }
}

#[component]
fn RecoveryCodes(codes: Vec<String>, on_done: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    view! {
        <div class="recovery" role="alert">
            <h3 class="subsection-title">"Save your recovery codes"</h3>
            <p>"Each code signs you in once if you lose your phone or cannot get e-mail. They are shown only now: print them or keep them in a password manager."</p>
            <ul class="recovery-codes" data-test="recovery-codes">
                {codes.into_iter().map(|code| view! { <li><code>{code}</code></li> }).collect_view()}
            </ul>
            <button type="button" class="button button-secondary" on:click=move |_| on_done()>"I have saved them"</button>
        </div>
    }
}

#[component]
fn SessionsPanel() -> impl IntoView {
    let revoke = ServerAction::<RevokeSession>::new();
    let revoke_others = ServerAction::<RevokeOtherSessions>::new();
    toast_result(
        revoke.version(),
        revoke.value(),
        "That device is signed out",
    );
    toast_result(
        revoke_others.version(),
        revoke_others.value(),
        "Every other device is signed out",
    );
    let sessions = Resource::new(
        move || (revoke.version().get(), revoke_others.version().get()),
        |_| my_sessions(),
    );
    view! {
        <section class="panel" aria-labelledby="sessions-title">
            <div class="panel-header">
                <h2 class="panel-title" id="sessions-title">"Signed-in devices"</h2>
                <ActionForm action=revoke_others>
                    <button type="submit" class="button button-secondary button-small">"Sign out all other devices"</button>
                </ActionForm>
            </div>
            <Transition fallback=|| view! { <Spinner label="Loading" /> }>
                {move || sessions.get().map(|result| match result {
                    Ok(list) => view! {
                        <ul class="device-list">
                            {list.into_iter().map(|session| view! { <DeviceRow session revoke /> }).collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn DeviceRow(session: ActiveSession, revoke: ServerAction<RevokeSession>) -> impl IntoView {
    let id = session.id.clone();
    view! {
        <li class="device">
            <span class="device-icon"><Icon name="monitor" /></span>
            <div class="device-text">
                <strong>{describe_agent(&session.user_agent)}</strong>
                <span class="muted">
                    {if session.ip.is_empty() { String::new() } else { format!("{} · ", session.ip) }}
                    "last active " <Timestamp at=session.last_used_at />
                </span>
            </div>
            {if session.current {
                view! { <span class="badge badge-green">"This device"</span> }.into_any()
            } else {
                view! {
                    <ActionForm action=revoke>
                        <input type="hidden" name="id" value=id />
                        <button type="submit" class="button button-ghost button-small">"Sign out"</button>
                    </ActionForm>
                }
                .into_any()
            }}
        </li>
    }
}

/// "Chrome on Linux" from a user-agent string, or the string itself when unknown.
pub fn describe_agent(agent: &str) -> String {
    if agent.is_empty() {
        return "Unknown device".to_owned();
    }
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("python", "Python client"),
    ]
    .iter()
    .find(|(needle, _)| agent.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("Mac OS", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| agent.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(browser), Some(system)) => format!("{browser} on {system}"),
        (Some(browser), None) => browser.to_owned(),
        _ => agent.chars().take(60).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_agent;

    #[test]
    fn user_agents_read_as_browser_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36";
        assert_eq!(describe_agent(chrome), "Chrome on Linux");
        assert_eq!(describe_agent("curl/8.0"), "curl");
        assert_eq!(describe_agent(""), "Unknown device");
    }
}
