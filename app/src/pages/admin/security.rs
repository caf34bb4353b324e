//! Security policy: which system roles must use two-step verification.

use domain::SystemRole;
use leptos::prelude::*;
use leptos_meta::Title;

use super::AdminHeader;
use crate::api::admin::{SetPolicy, list_policies};
use crate::components::ui::{ErrorNotice, Spinner, toast_result};
use crate::session::RequireRole;

#[component]
pub fn SecurityPolicyPage() -> impl IntoView {
    let set = ServerAction::<SetPolicy>::new();
    toast_result(set.version(), set.value(), "Policy saved");
    let policies = Resource::new(move || set.version().get(), |_| list_policies());
    view! {
        <Title text="Security policy" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <section class="panel" aria-labelledby="policy-title">
                <h2 class="panel-title" id="policy-title">"Two-step verification by role"</h2>
                <p class="panel-intro muted">"When a role requires it, its holders without a second factor can only set one up until they do."</p>
                <Transition fallback=|| view! { <Spinner label="Loading" /> }>
                    {move || policies.get().map(|result| match result {
                        Ok(list) => view! {
                            <ul class="device-list">
                                {list.into_iter().map(|policy| {
                                    let required = policy.require_second_factor;
                                    view! {
                                        <li class="device">
                                            <div class="device-text">
                                                <strong>{policy.role.as_str()}</strong>
                                                <span class="muted">{if required { "Required" } else { "Optional" }}</span>
                                            </div>
                                            <ActionForm action=set>
                                                <input type="hidden" name="role" value=policy.role.as_str() />
                                                <input type="hidden" name="required" value=(!required).to_string() />
                                                <button
                                                    type="submit"
                                                    class="switch"
                                                    role="switch"
                                                    aria-checked=required.to_string()
                                                    aria-label=format!("Require two-step verification for {}", policy.role.as_str())
                                                >
                                                    <span class="switch-thumb"></span>
                                                </button>
                                            </ActionForm>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }
                        .into_any(),
                        Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    })}
                </Transition>
            </section>
        </RequireRole>
    }
}
