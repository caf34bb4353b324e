//! Users: the directory with search, creating and inviting, and one user's page.

use domain::users::UserSummary;
use domain::{System, SystemRole};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Form};
use leptos_router::hooks::{use_params_map, use_query_map};

use super::AdminHeader;
use crate::api::admin::{
    CreateUser, ResetUserSecondFactor, SetUserActive, UnlockUser, UpdateUser, get_user,
    search_users,
};
use crate::components::icons::Icon;
use crate::components::ui::{
    AccountBadges, EmptyState, ErrorNotice, FieldError, FormError, RoleBadge, Spinner, Timestamp,
    last_error, toast_result,
};
use crate::session::RequireRole;

const PAGE_SIZE: i64 = 25;

#[component]
pub fn UsersPage() -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").unwrap_or_default();
    let page = move || {
        query
            .read()
            .get("page")
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(1)
            .max(1)
    };
    let create = ServerAction::<CreateUser>::new();
    toast_result(create.version(), create.value(), "User created");
    let show_create = RwSignal::new(false);
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_))) {
            show_create.set(false);
        }
    });
    let users = Resource::new(
        move || (search(), page(), create.version().get()),
        |(q, page, _)| search_users(q, page),
    );

    view! {
        <Title text="Users" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <section class="panel" aria-labelledby="users-title">
                <div class="panel-header">
                    <h2 id="users-title" class="panel-title">"Users"</h2>
                    <div class="toolbar">
                        <Form method="GET" action="" attr:class="search-form" attr:role="search">
                            <span class="search-icon"><Icon name="search" /></span>
                            <input
                                type="search"
                                name="q"
                                placeholder="Search by name or e-mail"
                                aria-label="Search users"
                                value=search
                            />
                        </Form>
                        <button
                            type="button"
                            class="button button-primary button-small"
                            data-test="new-user"
                            aria-expanded=move || show_create.get().to_string()
                            on:click=move |_| show_create.update(|s| *s = !*s)
                        >
                            "New user"
                        </button>
                    </div>
                </div>
                {move || show_create.get().then(|| view! { <CreateUserForm create /> })}
                <Transition fallback=|| view! { <Spinner label="Loading users" /> }>
                    {move || users.get().map(|result| match result {
                        Ok(page_of_users) if page_of_users.results.is_empty() => view! {
                            <EmptyState icon="users" title="No users found" message="Try another search, or create a user." />
                        }
                        .into_any(),
                        Ok(page_of_users) => {
                            let count = page_of_users.count;
                            let current = page();
                            let first = (current - 1) * PAGE_SIZE + 1;
                            let last = (first + page_of_users.results.len() as i64 - 1).max(first);
                            let link = move |target: i64| {
                                let q = search();
                                if q.is_empty() { format!("?page={target}") } else { format!("?q={}&page={target}", crate::session::encode_query_value(&q)) }
                            };
                            view! {
                                <UserTable users=page_of_users.results />
                                <div class="pager">
                                    <span class="muted">{format!("{first}–{last} of {count}")}</span>
                                    {(current > 1).then(|| view! { <A href=link(current - 1) attr:class="button button-secondary button-small">"Previous"</A> })}
                                    {(last < count).then(|| view! { <A href=link(current + 1) attr:class="button button-secondary button-small">"Next"</A> })}
                                </div>
                            }
                            .into_any()
                        }
                        Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    })}
                </Transition>
            </section>
        </RequireRole>
    }
}

#[component]
fn UserTable(users: Vec<UserSummary>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"E-mail"</th>
                        <th scope="col">"TTS role"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col">"Workflow roles"</th>
                        <th scope="col">"Last sign-in"</th>
                    </tr>
                </thead>
                <tbody>
                    {users
                        .into_iter()
                        .map(|user| {
                            let role = user.tts_role();
                            let href = format!("/admin/users/{}", user.id);
                            let name = user.full_name.clone();
                            view! {
                                <tr>
                                    <td class="strong"><A href=href>{name}</A></td>
                                    <td class="muted">{user.email.clone()}</td>
                                    <td><RoleBadge role /></td>
                                    <td><AccountBadges user=user.clone() /></td>
                                    <td class="muted">{if user.workflow_roles.is_empty() { "—".to_owned() } else { user.workflow_roles.join(", ") }}</td>
                                    <td class="muted">
                                        {match user.last_login_at {
                                            Some(at) => view! { <Timestamp at /> }.into_any(),
                                            None => "Never".into_any(),
                                        }}
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// A select of the roles a user may hold in one system, with "none".
#[component]
fn RoleSelect(system: System, selected: Option<SystemRole>, label: &'static str) -> impl IntoView {
    let name = format!("role_{system}");
    view! {
        <div class="field">
            <label for=name.clone()>{label}</label>
            <select id=name.clone() name=name>
                <option value="" selected=selected.is_none()>"No access"</option>
                {SystemRole::ALL
                    .iter()
                    .map(|role| view! { <option value=role.as_str() selected=selected == Some(*role)>{role.as_str()}</option> })
                    .collect_view()}
            </select>
        </div>
    }
}

#[component]
fn CreateUserForm(create: ServerAction<CreateUser>) -> impl IntoView {
    let error = last_error(create.value());
    let pending = create.pending();
    view! {
        <div class="inset-panel">
            <h3 class="subsection-title">"New user"</h3>
            <FormError error />
            <ActionForm action=create attr:class="form form-grid">
                <div class="field">
                    <label for="new_email">"E-mail"</label>
                    <input id="new_email" name="email" type="email" required placeholder="name@company.com" />
                    <FieldError error field="email" />
                </div>
                <div class="field">
                    <label for="new_full_name">"Full name"</label>
                    <input id="new_full_name" name="full_name" type="text" required />
                    <FieldError error field="full_name" />
                </div>
                <RoleSelect system=System::Tts selected=Some(SystemRole::Employee) label="Role in TTS" />
                <RoleSelect system=System::Hdts selected=None label="Role in the help desk (HDTS)" />
                <div class="field field-wide">
                    <label for="new_password">"First password"</label>
                    <input id="new_password" name="password" type="password" autocomplete="new-password" aria-describedby="new-password-hint" />
                    <p class="field-hint" id="new-password-hint">"Leave it empty to send an invitation: they choose their own password from an e-mailed link."</p>
                    <FieldError error field="password" />
                </div>
                <div class="form-actions field-wide">
                    <button type="submit" class="button button-primary" disabled=pending>"Create user"</button>
                </div>
            </ActionForm>
        </div>
    }
}

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let update = ServerAction::<UpdateUser>::new();
    let set_active = ServerAction::<SetUserActive>::new();
    let unlock = ServerAction::<UnlockUser>::new();
    let reset = ServerAction::<ResetUserSecondFactor>::new();
    toast_result(update.version(), update.value(), "Saved");
    toast_result(set_active.version(), set_active.value(), "Saved");
    toast_result(unlock.version(), unlock.value(), "Unlocked");
    toast_result(
        reset.version(),
        reset.value(),
        "Two-step verification removed",
    );
    let user = Resource::new(
        move || {
            (
                id(),
                update.version().get(),
                set_active.version().get(),
                unlock.version().get(),
                reset.version().get(),
            )
        },
        |(id, ..)| get_user(id),
    );
    let error = last_error(update.value());

    view! {
        <Title text="User" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <A href="/admin/users" attr:class="back-link">"← All users"</A>
            <Transition fallback=|| view! { <Spinner label="Loading" /> }>
                {move || user.get().map(|result| match result {
                    Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    Ok(user) => {
                        let grants = user.roles.clone();
                        let role_in = move |system: System| grants.iter().find(|g| g.system == system).map(|g| g.role);
                        let locked = user.is_locked(chrono::Utc::now());
                        view! {
                            <div class="user-heading">
                                <span class="avatar avatar-large" aria-hidden="true">{initials(&user.full_name)}</span>
                                <div>
                                    <h2 class="page-title">{user.full_name.clone()}</h2>
                                    <p class="muted">{user.email.clone()} " · " <AccountBadges user=user.clone() /></p>
                                </div>
                            </div>
                            <div class="two-column">
                                <section class="panel" aria-labelledby="edit-title">
                                    <h3 class="panel-title" id="edit-title">"Details and access"</h3>
                                    <FormError error />
                                    <ActionForm action=update attr:class="form">
                                        <input type="hidden" name="id" value=user.id />
                                        <div class="field">
                                            <label for="full_name">"Full name"</label>
                                            <input id="full_name" name="full_name" type="text" required value=user.full_name.clone() />
                                            <FieldError error field="full_name" />
                                        </div>
                                        <div class="field">
                                            <label for="email">"E-mail"</label>
                                            <input id="email" name="email" type="email" required value=user.email.clone() />
                                            <FieldError error field="email" />
                                        </div>
                                        <div class="form-grid">
                                            <RoleSelect system=System::Tts selected=role_in(System::Tts) label="TTS" />
                                            <RoleSelect system=System::Hdts selected=role_in(System::Hdts) label="Help desk (HDTS)" />
                                            <RoleSelect system=System::Ams selected=role_in(System::Ams) label="Assets (AMS)" />
                                            <RoleSelect system=System::Bms selected=role_in(System::Bms) label="Budget (BMS)" />
                                        </div>
                                        <div class="form-actions">
                                            <button type="submit" class="button button-primary">"Save changes"</button>
                                        </div>
                                    </ActionForm>
                                </section>
                                <section class="panel" aria-labelledby="account-title">
                                    <h3 class="panel-title" id="account-title">"Account"</h3>
                                    <dl class="facts">
                                        <dt>"Created"</dt><dd><Timestamp at=user.created_at /></dd>
                                        <dt>"Last sign-in"</dt>
                                        <dd>{match user.last_login_at { Some(at) => view! { <Timestamp at /> }.into_any(), None => "Never".into_any() }}</dd>
                                        <dt>"Two-step verification"</dt><dd>{user.second_factor.label()}</dd>
                                        <dt>"Workflow roles"</dt>
                                        <dd>{if user.workflow_roles.is_empty() { "None".to_owned() } else { user.workflow_roles.join(", ") }}</dd>
                                    </dl>
                                    <div class="action-list">
                                        {locked.then(|| view! {
                                            <ActionForm action=unlock>
                                                <input type="hidden" name="id" value=user.id />
                                                <button type="submit" class="button button-secondary" data-test="unlock">"Unlock the account"</button>
                                            </ActionForm>
                                        })}
                                        {(user.second_factor != domain::account::SecondFactorMethod::None).then(|| view! {
                                            <ActionForm action=reset>
                                                <input type="hidden" name="id" value=user.id />
                                                <button type="submit" class="button button-secondary">"Reset two-step verification"</button>
                                            </ActionForm>
                                        })}
                                        <ActionForm action=set_active>
                                            <input type="hidden" name="id" value=user.id />
                                            <input type="hidden" name="active" value=(!user.is_active).to_string() />
                                            {if user.is_active {
                                                view! { <button type="submit" class="button button-danger">"Deactivate"</button> }.into_any()
                                            } else {
                                                view! { <button type="submit" class="button button-primary">"Reactivate"</button> }.into_any()
                                            }}
                                        </ActionForm>
                                    </div>
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

fn initials(name: &str) -> String {
    let initials: String = name
        .split_whitespace()
        .filter_map(|part| part.chars().next())
        .take(2)
        .flat_map(char::to_uppercase)
        .collect();
    if initials.is_empty() {
        "?".to_owned()
    } else {
        initials
    }
}
