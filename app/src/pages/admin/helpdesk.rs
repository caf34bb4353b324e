//! Helpdesk settings: categories with their sub-categories, departments and their agents, the
//! names of the priorities, and which tickets agents see.

use domain::tickets::{AgentVisibility, Category, Department, PersonRef, PriorityInfo};
use domain::users::{Page, UserSummary};
use domain::{AppError, SystemRole};
use leptos::prelude::*;
use leptos_meta::Title;

use super::AdminHeader;
use crate::api::admin::search_users;
use crate::api::helpdesk::{
    CreateCategory, CreateDepartment, HelpdeskSettings, SetAgentVisibility, SetDepartmentMember,
    UpdateCategory, UpdateDepartment, UpdatePriority, load_helpdesk_settings,
};
use crate::components::forms::{Sent, reload_on_success};
use crate::components::ui::{
    EmptyState, ErrorNotice, FieldError, FormError, Spinner, last_error, toast_result,
};
use crate::session::{RequireRole, use_session};

/// The page's server actions and which of their forms was sent last.
#[derive(Clone, Copy)]
struct Forms {
    create_category: ServerAction<CreateCategory>,
    update_category: ServerAction<UpdateCategory>,
    create_department: ServerAction<CreateDepartment>,
    update_department: ServerAction<UpdateDepartment>,
    set_member: ServerAction<SetDepartmentMember>,
    update_priority: ServerAction<UpdatePriority>,
    set_visibility: ServerAction<SetAgentVisibility>,
    /// By parent: `None` for a top-level category.
    category_created: Sent<Option<i64>>,
    category_updated: Sent<i64>,
    department_updated: Sent<i64>,
    /// By department.
    member_set: Sent<i64>,
    /// By priority code.
    priority_updated: Sent<String>,
}

/// "1 ticket", "3 tickets".
fn count(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

#[component]
pub fn HelpdeskSettingsPage() -> impl IntoView {
    let create_category = ServerAction::<CreateCategory>::new();
    let update_category = ServerAction::<UpdateCategory>::new();
    let create_department = ServerAction::<CreateDepartment>::new();
    let update_department = ServerAction::<UpdateDepartment>::new();
    let set_member = ServerAction::<SetDepartmentMember>::new();
    let update_priority = ServerAction::<UpdatePriority>::new();
    let set_visibility = ServerAction::<SetAgentVisibility>::new();
    toast_result(
        create_category.version(),
        create_category.value(),
        "Category added",
    );
    toast_result(update_category.version(), update_category.value(), "Saved");
    toast_result(
        create_department.version(),
        create_department.value(),
        "Department added",
    );
    toast_result(
        update_department.version(),
        update_department.value(),
        "Saved",
    );
    toast_result(set_member.version(), set_member.value(), "Members updated");
    toast_result(
        update_priority.version(),
        update_priority.value(),
        "Priority saved",
    );
    toast_result(
        set_visibility.version(),
        set_visibility.value(),
        "Agent visibility saved",
    );
    let changed = RwSignal::new(0usize);
    reload_on_success(create_category, changed);
    reload_on_success(update_category, changed);
    reload_on_success(create_department, changed);
    reload_on_success(update_department, changed);
    reload_on_success(set_member, changed);
    reload_on_success(update_priority, changed);
    reload_on_success(set_visibility, changed);
    let forms = Forms {
        create_category,
        update_category,
        create_department,
        update_department,
        set_member,
        update_priority,
        set_visibility,
        category_created: Sent::track(create_category, |input| input.parent_id),
        category_updated: Sent::track(update_category, |input| input.id),
        department_updated: Sent::track(update_department, |input| input.id),
        member_set: Sent::track(set_member, |input| input.department_id),
        priority_updated: Sent::track(update_priority, |input| input.code.clone()),
    };
    // Every resource of the page is made here, never inside the views below; they load only
    // for admins (others see "not for your role", and a refused load would make the page a 403).
    let session = use_session();
    let is_admin = move || {
        session.user.with(|user| {
            user.as_ref()
                .is_some_and(|u| u.can_act_as(SystemRole::Admin))
        })
    };
    let settings = Resource::new(
        move || (changed.get(), is_admin()),
        |(_, admin)| async move {
            if admin {
                load_helpdesk_settings().await
            } else {
                Err(AppError::forbidden())
            }
        },
    );
    let people = Resource::new(is_admin, |admin| async move {
        if admin {
            search_users(String::new(), 1).await
        } else {
            Err(AppError::forbidden())
        }
    });

    view! {
        <Title text="Helpdesk settings" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <Transition fallback=|| view! { <Spinner label="Loading the helpdesk settings" /> }>
                {move || Suspend::new(async move {
                    let agents = people.await.map(agents_of).unwrap_or_default();
                    match settings.await {
                        Ok(settings) => view! { <SettingsPanels settings agents forms /> }.into_any(),
                        Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                    }
                })}
            </Transition>
        </RequireRole>
    }
}

/// The active agents among `page` (admins see every ticket, so no department needs them).
fn agents_of(page: Page<UserSummary>) -> Vec<UserSummary> {
    page.results
        .into_iter()
        .filter(|u| u.is_active && u.tts_role() == SystemRole::Agent)
        .collect()
}

#[component]
fn SettingsPanels(
    settings: HelpdeskSettings,
    agents: Vec<UserSummary>,
    forms: Forms,
) -> impl IntoView {
    let HelpdeskSettings {
        reference,
        members,
        agent_visibility,
    } = settings;
    view! {
        <CategoriesPanel categories=reference.categories forms />
        <DepartmentsPanel departments=reference.departments members agents forms />
        <div class="two-column helpdesk-columns">
            <PrioritiesPanel priorities=reference.priorities forms />
            <VisibilityPanel current=agent_visibility forms />
        </div>
    }
}

// ------------------------------------------------------------------ categories

#[component]
fn CategoriesPanel(categories: Vec<Category>, forms: Forms) -> impl IntoView {
    let (top, subs): (Vec<Category>, Vec<Category>) =
        categories.into_iter().partition(|c| c.parent_id.is_none());
    let error = forms.category_created.error_for(None);
    view! {
        <section class="panel" aria-labelledby="categories-title" data-test="categories">
            <h2 class="panel-title" id="categories-title">"Categories"</h2>
            <p class="panel-intro muted">"What tickets are about. A category may have sub-categories, one level deep. Deactivated ones stay on their tickets but are no longer offered."</p>
            {if top.is_empty() {
                view! { <EmptyState icon="ticket" title="No categories yet" message="Add the first one, such as “Hardware”." /> }.into_any()
            } else {
                view! {
                    <ul class="ref-list">
                        {top
                            .into_iter()
                            .map(|category| {
                                let children: Vec<Category> = subs
                                    .iter()
                                    .filter(|s| s.parent_id == Some(category.id))
                                    .cloned()
                                    .collect();
                                view! { <CategoryNode category children forms /> }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
            <FormError error />
            <ActionForm action=forms.create_category attr:class="form inline-form" attr:data-test="new-category">
                <div class="field">
                    <label for="new_category_name">"New category"</label>
                    <input id="new_category_name" name="name" type="text" required maxlength="100" placeholder="Hardware" />
                    <FieldError error field="name" />
                </div>
                <div class="field">
                    <label for="new_category_description">"Description"</label>
                    <input id="new_category_description" name="description" type="text" maxlength="500" placeholder="Optional" />
                    <FieldError error field="description" />
                </div>
                <button type="submit" class="button button-primary">"Add category"</button>
            </ActionForm>
        </section>
    }
}

/// A top-level category with its sub-categories and a form to add one.
#[component]
fn CategoryNode(category: Category, children: Vec<Category>, forms: Forms) -> impl IntoView {
    let id = category.id;
    let error = forms.category_created.error_for(Some(id));
    let name_id = format!("sub_category_name_{id}");
    let description_id = format!("sub_category_description_{id}");
    view! {
        <li class="ref-item" data-test="category">
            <CategoryRow category forms />
            {(!children.is_empty()).then(|| view! {
                <ul class="ref-children">
                    {children
                        .into_iter()
                        .map(|child| view! { <li class="ref-child" data-test="sub-category"><CategoryRow category=child forms /></li> })
                        .collect_view()}
                </ul>
            })}
            <details class="ref-edit" open=forms.category_created.was_last(&Some(id))>
                <summary>"Add a sub-category"</summary>
                <ActionForm action=forms.create_category attr:class="form inline-form">
                    <input type="hidden" name="parent_id" value=id />
                    <div class="field">
                        <label for=name_id.clone()>"Sub-category"</label>
                        <input id=name_id name="name" type="text" required maxlength="100" />
                        <FieldError error field="name" />
                        <FieldError error field="parent_id" />
                    </div>
                    <div class="field">
                        <label for=description_id.clone()>"Description"</label>
                        <input id=description_id name="description" type="text" maxlength="500" placeholder="Optional" />
                        <FieldError error field="description" />
                    </div>
                    <button type="submit" class="button button-secondary">"Add sub-category"</button>
                </ActionForm>
            </details>
        </li>
    }
}

/// One category or sub-category: its name, state and ticket count, and its editor.
#[component]
fn CategoryRow(category: Category, forms: Forms) -> impl IntoView {
    let id = category.id;
    let error = forms.category_updated.error_for(id);
    let name_id = format!("category_name_{id}");
    let description_id = format!("category_description_{id}");
    let active_id = format!("category_active_{id}");
    let active = category.is_active;
    view! {
        <div class="ref-head">
            <div class="ref-text">
                <strong>{category.name.clone()}</strong>
                {(!category.description.is_empty()).then(|| view! { <span class="muted">{category.description.clone()}</span> })}
            </div>
            <span class="badge-row">
                {(!active).then(|| view! { <span class="badge badge-gray">"Inactive"</span> })}
                <span class="badge badge-blue">{count(category.ticket_count, "ticket", "tickets")}</span>
            </span>
        </div>
        <details class="ref-edit">
            <summary>"Edit"</summary>
            <ActionForm action=forms.update_category attr:class="form inline-form">
                <input type="hidden" name="id" value=id />
                <div class="field">
                    <label for=name_id.clone()>"Name"</label>
                    <input id=name_id name="name" type="text" required maxlength="100" value=category.name />
                    <FieldError error field="name" />
                </div>
                <div class="field">
                    <label for=description_id.clone()>"Description"</label>
                    <input id=description_id name="description" type="text" maxlength="500" value=category.description />
                    <FieldError error field="description" />
                </div>
                <div class="field field-narrow">
                    <label for=active_id.clone()>"State"</label>
                    <select id=active_id name="is_active">
                        <option value="true" selected=active>"Active"</option>
                        <option value="false" selected=!active>"Inactive"</option>
                    </select>
                </div>
                <button type="submit" class="button button-primary">"Save"</button>
            </ActionForm>
        </details>
    }
}

// ------------------------------------------------------------------ departments

#[component]
fn DepartmentsPanel(
    departments: Vec<Department>,
    members: Vec<(i64, PersonRef)>,
    agents: Vec<UserSummary>,
    forms: Forms,
) -> impl IntoView {
    let error = last_error(forms.create_department.value());
    view! {
        <section class="panel" aria-labelledby="departments-title" data-test="departments">
            <h2 class="panel-title" id="departments-title">"Departments"</h2>
            <p class="panel-intro muted">"The teams tickets go to. A department's members are the agents who see its tickets when agents see only their departments' tickets."</p>
            {if departments.is_empty() {
                view! { <EmptyState icon="users" title="No departments yet" message="Add the first one, such as “IT”." /> }.into_any()
            } else {
                view! {
                    <ul class="ref-list">
                        {departments
                            .into_iter()
                            .map(|department| {
                                let its_members: Vec<PersonRef> = members
                                    .iter()
                                    .filter(|(id, _)| *id == department.id)
                                    .map(|(_, person)| person.clone())
                                    .collect();
                                view! { <DepartmentItem department members=its_members agents=agents.clone() forms /> }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any()
            }}
            <FormError error />
            <ActionForm action=forms.create_department attr:class="form inline-form" attr:data-test="new-department">
                <div class="field">
                    <label for="new_department_name">"New department"</label>
                    <input id="new_department_name" name="name" type="text" required maxlength="100" placeholder="IT" />
                    <FieldError error field="name" />
                </div>
                <button type="submit" class="button button-primary">"Add department"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn DepartmentItem(
    department: Department,
    members: Vec<PersonRef>,
    agents: Vec<UserSummary>,
    forms: Forms,
) -> impl IntoView {
    let id = department.id;
    let active = department.is_active;
    let error = forms.department_updated.error_for(id);
    let member_error = forms.member_set.error_for(id);
    let name_id = format!("department_name_{id}");
    let active_id = format!("department_active_{id}");
    let agent_id = format!("department_agent_{id}");
    let member_count = members.len() as i64;
    let candidates: Vec<UserSummary> = agents
        .into_iter()
        .filter(|agent| !members.iter().any(|m| m.id == agent.id))
        .collect();
    view! {
        <li class="ref-item" data-test="department">
            <div class="ref-head">
                <div class="ref-text">
                    <strong>{department.name.clone()}</strong>
                </div>
                <span class="badge-row">
                    {(!active).then(|| view! { <span class="badge badge-gray">"Inactive"</span> })}
                    <span class="badge badge-purple" data-test="member-count">{count(member_count, "member", "members")}</span>
                    <span class="badge badge-blue">{count(department.ticket_count, "ticket", "tickets")}</span>
                </span>
            </div>
            <details class="ref-edit">
                <summary>"Edit"</summary>
                <ActionForm action=forms.update_department attr:class="form inline-form">
                    <input type="hidden" name="id" value=id />
                    <div class="field">
                        <label for=name_id.clone()>"Name"</label>
                        <input id=name_id name="name" type="text" required maxlength="100" value=department.name />
                        <FieldError error field="name" />
                    </div>
                    <div class="field field-narrow">
                        <label for=active_id.clone()>"State"</label>
                        <select id=active_id name="is_active">
                            <option value="true" selected=active>"Active"</option>
                            <option value="false" selected=!active>"Inactive"</option>
                        </select>
                    </div>
                    <button type="submit" class="button button-primary">"Save"</button>
                </ActionForm>
            </details>
            <details class="ref-edit" open=forms.member_set.was_last(&id)>
                <summary>"Manage members"</summary>
                {if members.is_empty() {
                    view! { <p class="muted small">"No agents in this department yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="device-list">
                            {members
                                .into_iter()
                                .map(|member| view! { <MemberRow department_id=id member forms /> })
                                .collect_view()}
                        </ul>
                    }
                    .into_any()
                }}
                {if candidates.is_empty() {
                    view! { <p class="muted small">"Every agent already works here, or there are no agents yet."</p> }.into_any()
                } else {
                    view! {
                        <ActionForm action=forms.set_member attr:class="form inline-form">
                            <input type="hidden" name="department_id" value=id />
                            <input type="hidden" name="member" value="true" />
                            <div class="field">
                                <label for=agent_id.clone()>"Add an agent"</label>
                                <select id=agent_id name="user_id" required>
                                    <option value="">"Choose an agent"</option>
                                    {candidates
                                        .into_iter()
                                        .map(|u| view! { <option value=u.id>{format!("{} ({})", u.full_name, u.email)}</option> })
                                        .collect_view()}
                                </select>
                                <FieldError error=member_error field="user_id" />
                            </div>
                            <button type="submit" class="button button-secondary">"Add"</button>
                        </ActionForm>
                    }
                    .into_any()
                }}
            </details>
        </li>
    }
}

#[component]
fn MemberRow(department_id: i64, member: PersonRef, forms: Forms) -> impl IntoView {
    let initial = member
        .full_name
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    view! {
        <li class="device">
            <span class="avatar" aria-hidden="true">{initial}</span>
            <div class="device-text">
                <strong>{member.full_name.clone()}</strong>
                <span class="muted">{member.email}</span>
            </div>
            <ActionForm action=forms.set_member>
                <input type="hidden" name="department_id" value=department_id />
                <input type="hidden" name="user_id" value=member.id />
                <input type="hidden" name="member" value="false" />
                <button type="submit" class="button button-ghost button-small" aria-label=format!("Remove {}", member.full_name)>"Remove"</button>
            </ActionForm>
        </li>
    }
}

// ------------------------------------------------------------------ priorities

#[component]
fn PrioritiesPanel(priorities: Vec<PriorityInfo>, forms: Forms) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="priorities-title" data-test="priorities">
            <h2 class="panel-title" id="priorities-title">"Priorities"</h2>
            <p class="panel-intro muted">"The four priorities keep their order and their SLAs; what they are called is yours."</p>
            <ul class="ref-list">
                {priorities.into_iter().map(|priority| view! { <PriorityRow priority forms /> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn PriorityRow(priority: PriorityInfo, forms: Forms) -> impl IntoView {
    let code = priority.code.as_str();
    let error = forms.priority_updated.error_for(code.to_owned());
    let name_id = format!("priority_name_{code}");
    let description_id = format!("priority_description_{code}");
    view! {
        <li class="ref-item" data-test="priority">
            <ActionForm action=forms.update_priority attr:class="form priority-form">
                <input type="hidden" name="code" value=code />
                <span class=format!("badge badge-priority-{code} priority-code")>{priority.code.label()}</span>
                <div class="field">
                    <label for=name_id.clone()>"Name"</label>
                    <input id=name_id name="name" type="text" required maxlength="100" value=priority.name />
                    <FieldError error field="name" />
                </div>
                <div class="field">
                    <label for=description_id.clone()>"Description"</label>
                    <input id=description_id name="description" type="text" maxlength="200" value=priority.description />
                    <FieldError error field="description" />
                </div>
                <button type="submit" class="button button-secondary">"Save"</button>
            </ActionForm>
        </li>
    }
}

// ------------------------------------------------------------------ agent visibility

#[component]
fn VisibilityPanel(current: AgentVisibility, forms: Forms) -> impl IntoView {
    let error = last_error(forms.set_visibility.value());
    let choices = [
        (
            AgentVisibility::OwnDepartments,
            "own_departments",
            "Their departments' tickets",
            "And the tickets assigned to them or requested by them.",
        ),
        (
            AgentVisibility::All,
            "all",
            "All tickets",
            "Every agent sees every ticket.",
        ),
    ];
    view! {
        <section class="panel" aria-labelledby="visibility-title" data-test="agent-visibility">
            <h2 class="panel-title" id="visibility-title">"Agent visibility"</h2>
            <p class="panel-intro muted">"Which tickets agents see in their lists and searches. Admins always see every ticket."</p>
            <FormError error />
            <ActionForm action=forms.set_visibility attr:class="form">
                <fieldset class="field checkbox-group">
                    <legend>"Agents see"</legend>
                    {choices
                        .into_iter()
                        .map(|(choice, value, label, hint)| view! {
                            <label class="checkbox">
                                <input type="radio" name="visibility" value=value checked=choice == current />
                                <span>
                                    <strong>{label}</strong>
                                    <span class="muted">{hint}</span>
                                </span>
                            </label>
                        })
                        .collect_view()}
                    <FieldError error field="visibility" />
                </fieldset>
                <div class="form-actions">
                    <button type="submit" class="button button-primary">"Save"</button>
                </div>
            </ActionForm>
        </section>
    }
}
