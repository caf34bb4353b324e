//! Workflow roles: the list, creating one, and a role's page with its members.

use domain::SystemRole;
use domain::account::RoleMember;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use super::AdminHeader;
use crate::api::admin::{
    CreateRole, DeleteRole, RemoveRoleMember, SetRoleMember, UpdateRole, get_role, list_roles,
    search_users,
};
use crate::components::ui::{
    EmptyState, ErrorNotice, FieldError, FormError, Spinner, Timestamp, last_error, toast_result,
};
use crate::session::RequireRole;

#[component]
pub fn RolesPage() -> impl IntoView {
    let create = ServerAction::<CreateRole>::new();
    toast_result(create.version(), create.value(), "Workflow role created");
    let error = last_error(create.value());
    let roles = Resource::new(move || create.version().get(), |_| list_roles());
    view! {
        <Title text="Workflow roles" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <div class="two-column wide-first">
                <section class="panel" aria-labelledby="roles-title">
                    <h2 class="panel-title" id="roles-title">"Workflow roles"</h2>
                    <p class="panel-intro muted">"The teams workflows assign work to. Each step of a workflow names one; its active members share the work in turn."</p>
                    <Transition fallback=|| view! { <Spinner label="Loading roles" /> }>
                        {move || roles.get().map(|result| match result {
                            Ok(list) if list.is_empty() => view! {
                                <EmptyState icon="users" title="No workflow roles yet" message="Create the first one, such as “IT Support L1”." />
                            }
                            .into_any(),
                            Ok(list) => view! {
                                <ul class="role-list">
                                    {list.into_iter().map(|role| view! {
                                        <li>
                                            <A href=format!("/admin/roles/{}", role.id) attr:class="role-link">
                                                <span class="role-name">{role.name}</span>
                                                <span class="muted role-description">{role.description}</span>
                                                <span class="badge badge-gray">{format!("{} active member{}", role.member_count, if role.member_count == 1 { "" } else { "s" })}</span>
                                            </A>
                                        </li>
                                    }).collect_view()}
                                </ul>
                            }
                            .into_any(),
                            Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                        })}
                    </Transition>
                </section>
                <section class="panel" aria-labelledby="new-role-title">
                    <h2 class="panel-title" id="new-role-title">"New workflow role"</h2>
                    <FormError error />
                    <ActionForm action=create attr:class="form">
                        <div class="field">
                            <label for="role_name">"Name"</label>
                            <input id="role_name" name="name" type="text" required placeholder="IT Support L1" />
                            <FieldError error field="name" />
                        </div>
                        <div class="field">
                            <label for="role_description">"Description"</label>
                            <textarea id="role_description" name="description" rows="3" placeholder="What this team handles"></textarea>
                            <FieldError error field="description" />
                        </div>
                        <div class="form-actions">
                            <button type="submit" class="button button-primary">"Create role"</button>
                        </div>
                    </ActionForm>
                </section>
            </div>
        </RequireRole>
    }
}

#[component]
pub fn RolePage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let update = ServerAction::<UpdateRole>::new();
    let delete = ServerAction::<DeleteRole>::new();
    let set_member = ServerAction::<SetRoleMember>::new();
    let remove = ServerAction::<RemoveRoleMember>::new();
    toast_result(update.version(), update.value(), "Saved");
    toast_result(delete.version(), delete.value(), "Workflow role deleted");
    toast_result(set_member.version(), set_member.value(), "Members updated");
    toast_result(remove.version(), remove.value(), "Member removed");
    let role = Resource::new(
        move || {
            (
                id(),
                update.version().get(),
                set_member.version().get(),
                remove.version().get(),
            )
        },
        |(id, ..)| get_role(id),
    );
    let candidates = Resource::new(|| (), |_| search_users(String::new(), 1));
    let error = last_error(update.value());
    let member_error = last_error(set_member.value());

    view! {
        <Title text="Workflow role" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <A href="/admin/roles" attr:class="back-link">"← All workflow roles"</A>
            <Transition fallback=|| view! { <Spinner label="Loading" /> }>
                {move || role.get().map(|result| match result {
                    Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    Ok((role, members)) => {
                        let role_id = role.id;
                        let member_ids: Vec<i64> = members.iter().map(|m| m.user_id).collect();
                        view! {
                            <div class="two-column wide-first">
                                <section class="panel" aria-labelledby="members-title">
                                    <div class="panel-header">
                                        <h2 class="panel-title" id="members-title">{format!("Members of {}", role.name)}</h2>
                                    </div>
                                    {if members.is_empty() {
                                        view! { <EmptyState icon="users" title="No members yet" message="Add the people who handle this role's work." /> }.into_any()
                                    } else {
                                        view! {
                                            <ul class="device-list">
                                                {members.into_iter().map(|member| view! { <MemberRow role_id member set_member remove /> }).collect_view()}
                                            </ul>
                                        }
                                        .into_any()
                                    }}
                                    <ActionForm action=set_member attr:class="form inline-form">
                                        <input type="hidden" name="role_id" value=role_id />
                                        <input type="hidden" name="active" value="true" />
                                        <div class="field">
                                            <label for="member_user">"Add a member"</label>
                                            <Suspense fallback=|| ()>
                                                {move || {
                                                    let member_ids = member_ids.clone();
                                                    Suspend::new(async move {
                                                        let people = candidates.await.map(|p| p.results).unwrap_or_default();
                                                        view! {
                                                            <select id="member_user" name="user_id" required>
                                                                <option value="">"Choose a person"</option>
                                                                {people
                                                                    .into_iter()
                                                                    .filter(|u| u.is_active && !member_ids.contains(&u.id))
                                                                    .map(|u| view! { <option value=u.id>{format!("{} ({})", u.full_name, u.email)}</option> })
                                                                    .collect_view()}
                                                            </select>
                                                        }
                                                    })
                                                }}
                                            </Suspense>
                                            <FieldError error=member_error field="user_id" />
                                        </div>
                                        <button type="submit" class="button button-primary">"Add"</button>
                                    </ActionForm>
                                </section>
                                <section class="panel" aria-labelledby="role-edit-title">
                                    <h2 class="panel-title" id="role-edit-title">"Details"</h2>
                                    <FormError error />
                                    <ActionForm action=update attr:class="form">
                                        <input type="hidden" name="id" value=role_id />
                                        <div class="field">
                                            <label for="role_name">"Name"</label>
                                            <input id="role_name" name="name" type="text" required value=role.name.clone() />
                                            <FieldError error field="name" />
                                        </div>
                                        <div class="field">
                                            <label for="role_description">"Description"</label>
                                            <textarea id="role_description" name="description" rows="3">{role.description.clone()}</textarea>
                                        </div>
                                        <div class="form-actions">
                                            <button type="submit" class="button button-primary">"Save"</button>
                                        </div>
                                    </ActionForm>
                                    <p class="muted small">"Created " <Timestamp at=role.created_at /></p>
                                    <ActionForm action=delete attr:class="danger-zone">
                                        <input type="hidden" name="id" value=role_id />
                                        <button type="submit" class="button button-danger button-small">"Delete this role"</button>
                                    </ActionForm>
                                </section>
                            </div>
                        }
                        .into_any()
                    }
                })}
            </Transition>
        </RequireRole>
    }
}

#[component]
fn MemberRow(
    role_id: i64,
    member: RoleMember,
    set_member: ServerAction<SetRoleMember>,
    remove: ServerAction<RemoveRoleMember>,
) -> impl IntoView {
    let user_id = member.user_id;
    let active = member.is_active;
    view! {
        <li class="device">
            <span class="avatar" aria-hidden="true">{member.full_name.chars().next().map(|c| c.to_uppercase().to_string()).unwrap_or_default()}</span>
            <div class="device-text">
                <strong>{member.full_name}</strong>
                <span class="muted">{member.email}</span>
            </div>
            {if !member.user_is_active {
                view! { <span class="badge badge-gray">"Account deactivated"</span> }.into_any()
            } else if active {
                view! { <span class="badge badge-green">"Receives work"</span> }.into_any()
            } else {
                view! { <span class="badge badge-amber">"Paused"</span> }.into_any()
            }}
            <ActionForm action=set_member>
                <input type="hidden" name="role_id" value=role_id />
                <input type="hidden" name="user_id" value=user_id />
                <input type="hidden" name="active" value=(!active).to_string() />
                <button type="submit" class="button button-ghost button-small">{if active { "Pause" } else { "Resume" }}</button>
            </ActionForm>
            <ActionForm action=remove>
                <input type="hidden" name="role_id" value=role_id />
                <input type="hidden" name="user_id" value=user_id />
                <button type="submit" class="button button-ghost button-small">"Remove"</button>
            </ActionForm>
        </li>
    }
}
