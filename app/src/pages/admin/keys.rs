//! API keys for integrations: created with scopes, shown once, revocable.

use domain::SystemRole;
use leptos::prelude::*;
use leptos_meta::Title;

use super::AdminHeader;
use crate::api::admin::{CreateApiKey, RevokeApiKey, list_api_keys};
use crate::components::icons::Icon;
use crate::components::ui::{
    EmptyState, ErrorNotice, FieldError, FormError, Spinner, Timestamp, last_error, toast_result,
};
use crate::session::RequireRole;

const SCOPES: [(&str, &str, &str); 4] = [
    (
        "tickets_submit",
        "tickets:submit",
        "Submit tickets from another system (HDTS)",
    ),
    (
        "notifications_send",
        "notifications:send",
        "Send notifications to users",
    ),
    ("users_read", "users:read", "Read the user directory"),
    (
        "roles_read",
        "roles:read",
        "Read workflow roles and their members",
    ),
];

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    toast_result(revoke.version(), revoke.value(), "Key revoked");
    let error = last_error(create.value());
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    let created = move || create.value().get().and_then(Result::ok);

    view! {
        <Title text="API keys" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            {move || created().map(|created| view! {
                <div class="recovery" role="alert">
                    <h3 class="subsection-title">{format!("Your new key “{}”", created.summary.name)}</h3>
                    <p>"Copy it now: it is shown only this once. Other systems send it in the X-API-Key header."</p>
                    <code class="secret secret-block" data-test="new-api-key">{created.key}</code>
                </div>
            })}
            <div class="two-column wide-first">
                <section class="panel" aria-labelledby="keys-title">
                    <h2 class="panel-title" id="keys-title">"API keys"</h2>
                    <Transition fallback=|| view! { <Spinner label="Loading keys" /> }>
                        {move || keys.get().map(|result| match result {
                            Ok(list) if list.is_empty() => view! {
                                <EmptyState icon="lock" title="No API keys" message="Create one for each system that calls TTS, with only the scopes it needs." />
                            }
                            .into_any(),
                            Ok(list) => view! {
                                <div class="table-wrap">
                                    <table class="table">
                                        <thead><tr>
                                            <th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Scopes"</th>
                                            <th scope="col">"Last used"</th><th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                        </tr></thead>
                                        <tbody>
                                            {list.into_iter().map(|key| {
                                                let revoked = key.revoked_at.is_some();
                                                view! {
                                                    <tr class:revoked=revoked>
                                                        <td class="strong">{key.name}</td>
                                                        <td><code>{format!("tts_{}_…", key.prefix)}</code></td>
                                                        <td><span class="badge-row">{key.scopes.into_iter().map(|s| view! { <span class="badge badge-blue">{s}</span> }).collect_view()}</span></td>
                                                        <td class="muted">{match key.last_used_at { Some(at) => view! { <Timestamp at /> }.into_any(), None => "Never".into_any() }}</td>
                                                        <td>
                                                            {if revoked {
                                                                view! { <span class="badge badge-gray">"Revoked"</span> }.into_any()
                                                            } else {
                                                                view! {
                                                                    <ActionForm action=revoke>
                                                                        <input type="hidden" name="id" value=key.id />
                                                                        <button type="submit" class="button button-ghost button-small">"Revoke"</button>
                                                                    </ActionForm>
                                                                }
                                                                .into_any()
                                                            }}
                                                        </td>
                                                    </tr>
                                                }
                                            }).collect_view()}
                                        </tbody>
                                    </table>
                                </div>
                            }
                            .into_any(),
                            Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                        })}
                    </Transition>
                </section>
                <section class="panel" aria-labelledby="new-key-title">
                    <h2 class="panel-title" id="new-key-title">"New API key"</h2>
                    <FormError error />
                    <ActionForm action=create attr:class="form">
                        <div class="field">
                            <label for="key_name">"Name"</label>
                            <input id="key_name" name="name" type="text" required placeholder="Help desk (HDTS)" />
                            <FieldError error field="name" />
                        </div>
                        <fieldset class="field checkbox-group">
                            <legend>"Scopes"</legend>
                            {SCOPES.iter().map(|(field, scope, description)| view! {
                                <label class="checkbox">
                                    <input type="checkbox" name=*field value="on" />
                                    <span><code>{*scope}</code><span class="muted">{*description}</span></span>
                                </label>
                            }).collect_view()}
                            <FieldError error field="scopes" />
                        </fieldset>
                        <div class="form-actions">
                            <button type="submit" class="button button-primary"><Icon name="lock" />"Create key"</button>
                        </div>
                    </ActionForm>
                </section>
            </div>
        </RequireRole>
    }
}
