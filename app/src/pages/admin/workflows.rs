//! Workflows: the list with a form for a new one, and one workflow's page — its settings, its
//! steps and transitions as tables with forms, what keeps it from deployment, deploying,
//! pausing and resuming, and its versions.

use domain::account::WorkflowRole;
use domain::tickets::{Priority, ReferenceData};
use domain::workflow::{
    EndLogic, ProblemReport, Step, StepId, Transition, Workflow, WorkflowStatus, WorkflowSummary,
    WorkflowVersion,
};
use domain::{AppError, SystemRole};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::AdminHeader;
use crate::api::tickets::load_reference_data;
use crate::api::workflows::{
    AddWorkflowStep, AddWorkflowTransition, CreateWorkflow, DeleteWorkflow, DeleteWorkflowStep,
    DeleteWorkflowTransition, DeployWorkflow, SetWorkflowPaused, UpdateWorkflow,
    UpdateWorkflowStep, UpdateWorkflowTransition, WorkflowPage, list_workflows, load_workflow,
};
use crate::components::forms::reload_on_success;
use crate::components::icons::Icon;
use crate::components::toast::use_toasts;
use crate::components::ui::{
    EmptyState, ErrorNotice, FieldError, FormError, Spinner, Timestamp, last_error, toast_result,
};
use crate::session::{RequireRole, use_session};

pub fn workflow_status_badge(status: WorkflowStatus) -> impl IntoView {
    let class = match status {
        WorkflowStatus::Draft => "badge badge-gray",
        WorkflowStatus::Deployed => "badge badge-green",
        WorkflowStatus::Paused => "badge badge-amber",
    };
    view! { <span class=class data-test="workflow-status">{status.label()}</span> }
}

/// "Hardware › Laptops · IT", or "Any ticket" for a workflow that names nothing.
fn match_set(category: Option<&str>, sub: Option<&str>, department: Option<&str>) -> String {
    let mut parts = Vec::new();
    match (category, sub) {
        (Some(c), Some(s)) => parts.push(format!("{c} › {s}")),
        (Some(c), None) => parts.push(c.to_owned()),
        _ => {}
    }
    if let Some(d) = department {
        parts.push(format!("{d} department"));
    }
    if parts.is_empty() {
        "Any ticket".to_owned()
    } else {
        parts.join(" · ")
    }
}

/// Seconds as the hours a form shows: "8", "0.5", "" when not set.
fn hours_value(seconds: Option<i64>) -> String {
    match seconds {
        None => String::new(),
        Some(s) if s % 3600 == 0 => (s / 3600).to_string(),
        Some(s) => {
            let text = format!("{:.2}", s as f64 / 3600.0);
            text.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    }
}

/// Whether the signed-in user is an admin: the page's resources load only for them (anyone
/// else sees "not for your role"; a refused load would make the page a 403).
fn admin_signal() -> Signal<bool> {
    let session = use_session();
    Signal::derive(move || {
        session.user.with(|user| {
            user.as_ref()
                .is_some_and(|u| u.can_act_as(SystemRole::Admin))
        })
    })
}

// ------------------------------------------------------------------ the list

#[component]
pub fn WorkflowsPage() -> impl IntoView {
    let is_admin = admin_signal();
    let create = ServerAction::<CreateWorkflow>::new();
    toast_result(create.version(), create.value(), "Workflow created");
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            navigate(&format!("/admin/workflows/{id}"), Default::default());
        }
    });
    let workflows = Resource::new(
        move || (is_admin.get(), create.version().get()),
        |(admin, _)| async move {
            if admin {
                list_workflows().await
            } else {
                Err(AppError::forbidden())
            }
        },
    );
    let reference = Resource::new(
        move || is_admin.get(),
        |admin| async move {
            if admin {
                load_reference_data().await
            } else {
                Err(AppError::forbidden())
            }
        },
    );
    view! {
        <Title text="Workflows" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <div class="two-column wide-first">
                <section class="panel" aria-labelledby="workflows-title">
                    <h2 class="panel-title" id="workflows-title">"Workflows"</h2>
                    <p class="panel-intro muted">"How tickets travel: each workflow matches tickets by category, sub-category and department, and moves them through its steps. The most specific deployed match wins."</p>
                    <Transition fallback=|| view! { <Spinner label="Loading workflows" /> }>
                        {move || workflows.get().map(|result| match result {
                            Ok(list) if list.is_empty() => view! {
                                <EmptyState icon="workflow" title="No workflows yet" message="Create the first one with the form: give it a name and what it matches, then add its steps." />
                            }
                            .into_any(),
                            Ok(list) => view! { <WorkflowTable list /> }.into_any(),
                            Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                        })}
                    </Transition>
                </section>
                <section class="panel" aria-labelledby="new-workflow-title">
                    <h2 class="panel-title" id="new-workflow-title">"New workflow"</h2>
                    <p class="panel-intro muted">"It starts as a draft: nothing runs until you deploy it."</p>
                    <Transition fallback=|| view! { <Spinner label="Loading the form" /> }>
                        {move || reference.get().map(|result| match result {
                            Ok(reference) => {
                                let error = last_error(create.value());
                                view! {
                                    <FormError error />
                                    <ActionForm action=create attr:class="form" attr:data-test="new-workflow">
                                        <SettingsFields reference error current=None prefix="new" />
                                        <div class="form-actions">
                                            <button type="submit" class="button button-primary" disabled=create.pending()>
                                                <Icon name="plus" />
                                                <span>"Create workflow"</span>
                                            </button>
                                        </div>
                                    </ActionForm>
                                }
                                .into_any()
                            }
                            Err(err) => view! { <ErrorNotice message=err.message /> }.into_any(),
                        })}
                    </Transition>
                </section>
            </div>
        </RequireRole>
    }
}

#[component]
fn WorkflowTable(list: Vec<WorkflowSummary>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table card-table workflow-table" data-test="workflow-table">
                <thead>
                    <tr>
                        <th scope="col">"Workflow"</th>
                        <th scope="col">"Status"</th>
                        <th scope="col" class="hide-narrow">"Matches"</th>
                        <th scope="col" class="hide-narrow num">"Version"</th>
                        <th scope="col" class="hide-narrow num">"Steps"</th>
                        <th scope="col" class="num">"Open tasks"</th>
                    </tr>
                </thead>
                <tbody>
                    {list.into_iter().map(|w| {
                        let href = format!("/admin/workflows/{}", w.id);
                        let matches = match_set(w.category.as_deref(), w.sub_category.as_deref(), w.department.as_deref());
                        view! {
                            <tr>
                                <td class="cell-subject">
                                    <A href=href attr:class="strong">{w.name.clone()}</A>
                                    {(!w.description.is_empty()).then(|| view! { <span class="cell-sub muted small clamp">{w.description.clone()}</span> })}
                                </td>
                                <td>{workflow_status_badge(w.status)}</td>
                                <td class="muted hide-narrow">{matches}</td>
                                <td class="hide-narrow num">{w.deployed_version.map_or_else(|| "—".to_owned(), |v| format!("v{v}"))}</td>
                                <td class="hide-narrow num">{w.step_count}</td>
                                <td class="num">{w.open_tasks}<span class="narrow-label">{if w.open_tasks == 1 { " open task" } else { " open tasks" }}</span></td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The settings of a workflow as form fields: name, description, what it matches, its SLA per
/// priority in hours, its end logic. `prefix` keeps the ids of two forms on a page apart.
#[component]
fn SettingsFields(
    reference: ReferenceData,
    error: Signal<Option<AppError>>,
    current: Option<Workflow>,
    prefix: &'static str,
) -> impl IntoView {
    let id = move |field: &str| format!("{prefix}_{field}");
    let chosen_category = current
        .as_ref()
        .and_then(|w| w.category.as_ref().map(|c| c.id));
    let chosen_sub = current
        .as_ref()
        .and_then(|w| w.sub_category.as_ref().map(|c| c.id));
    let chosen_department = current
        .as_ref()
        .and_then(|w| w.department.as_ref().map(|d| d.id));
    let category = RwSignal::new(chosen_category.map(|c| c.to_string()).unwrap_or_default());
    let categories = StoredValue::new(reference.categories.clone());
    let sub_categories = move || {
        let parent = category.get().parse::<i64>().ok();
        categories.with_value(|all| {
            all.iter()
                .filter(|c| {
                    c.parent_id.is_some()
                        && c.parent_id == parent
                        && (c.is_active || Some(c.id) == chosen_sub)
                })
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let invalid = move |field: &'static str| {
        move || {
            error
                .get()
                .is_some_and(|e| e.field(field).is_some())
                .to_string()
        }
    };
    let sla = current.as_ref().map(|w| w.sla).unwrap_or_default();
    let end_logic = current.as_ref().map_or(EndLogic::None, |w| w.end_logic);
    let name = current.as_ref().map(|w| w.name.clone()).unwrap_or_default();
    let description = current
        .as_ref()
        .map(|w| w.description.clone())
        .unwrap_or_default();
    view! {
        <div class="field">
            <label for=id("name")>"Name"</label>
            <input id=id("name") name="name" type="text" required maxlength="100" value=name
                placeholder="Laptop requests" aria-invalid=invalid("name") />
            <FieldError error field="name" />
        </div>
        <div class="field">
            <label for=id("description")>"Description"</label>
            <textarea id=id("description") name="description" rows="2" maxlength="2000"
                placeholder="What this workflow is for (optional)">{description}</textarea>
            <FieldError error field="description" />
        </div>
        <fieldset class="field fieldset">
            <legend>"Matches tickets of"</legend>
            <div class="form-grid form-grid-tight">
                <div class="field">
                    <label for=id("category")>"Category"</label>
                    <select id=id("category") name="category_id" aria-invalid=invalid("category_id")
                        on:change=move |ev| category.set(event_target_value(&ev))>
                        <option value="">"Any category"</option>
                        {reference.categories.iter()
                            .filter(|c| c.parent_id.is_none() && (c.is_active || Some(c.id) == chosen_category))
                            .map(|c| view! { <option value=c.id selected=Some(c.id) == chosen_category>{c.name.clone()}</option> })
                            .collect_view()}
                    </select>
                    <FieldError error field="category_id" />
                </div>
                <div class="field">
                    <label for=id("sub_category")>"Sub-category"</label>
                    <select id=id("sub_category") name="sub_category_id" aria-invalid=invalid("sub_category_id")
                        disabled=move || sub_categories().is_empty()>
                        <option value="">{move || if sub_categories().is_empty() { "None" } else { "Any sub-category" }}</option>
                        {move || sub_categories().into_iter().map(|c| view! {
                            <option value=c.id selected=Some(c.id) == chosen_sub>{c.name}</option>
                        }).collect_view()}
                    </select>
                    <FieldError error field="sub_category_id" />
                </div>
                <div class="field">
                    <label for=id("department")>"Department"</label>
                    <select id=id("department") name="department_id" aria-invalid=invalid("department_id")>
                        <option value="">"Any department"</option>
                        {reference.departments.iter()
                            .filter(|d| d.is_active || Some(d.id) == chosen_department)
                            .map(|d| view! { <option value=d.id selected=Some(d.id) == chosen_department>{d.name.clone()}</option> })
                            .collect_view()}
                    </select>
                    <FieldError error field="department_id" />
                </div>
            </div>
        </fieldset>
        <fieldset class="field fieldset">
            <legend>"SLA in hours, per priority"</legend>
            <div class="sla-grid">
                {[Priority::Urgent, Priority::High, Priority::Medium, Priority::Low].into_iter().map(|priority| {
                    let code = priority.as_str();
                    let field: &'static str = match priority {
                        Priority::Urgent => "sla_urgent",
                        Priority::High => "sla_high",
                        Priority::Medium => "sla_medium",
                        Priority::Low => "sla_low",
                    };
                    view! {
                        <div class="field">
                            <label for=id(field)>
                                <span class=format!("badge badge-priority-{code}")>{priority.label()}</span>
                            </label>
                            <div class="input-suffix">
                                <input id=id(field) name=field type="number" min="0.01" step="any" inputmode="decimal"
                                    value=hours_value(sla.get(priority)) aria-invalid=invalid(field) placeholder="—" />
                                <span aria-hidden="true">"h"</span>
                            </div>
                            <FieldError error field=field />
                        </div>
                    }
                }).collect_view()}
            </div>
        </fieldset>
        <div class="field">
            <label for=id("end_logic")>"When a ticket reaches the end"</label>
            <select id=id("end_logic") name="end_logic">
                {EndLogic::ALL.iter().map(|logic| {
                    let text = match logic {
                        EndLogic::None => "Nothing more",
                        EndLogic::Asset => "Send an asset request (AMS)",
                        EndLogic::Budget => "Send a budget request (BMS)",
                        EndLogic::Notification => "Notify the requester",
                    };
                    view! { <option value=logic.as_str() selected=*logic == end_logic>{text}</option> }
                }).collect_view()}
            </select>
            <FieldError error field="end_logic" />
        </div>
    }
}

// ------------------------------------------------------------------ one workflow

/// The page's server actions.
#[derive(Clone, Copy)]
struct Editor {
    update: ServerAction<UpdateWorkflow>,
    add_step: ServerAction<AddWorkflowStep>,
    update_step: ServerAction<UpdateWorkflowStep>,
    delete_step: ServerAction<DeleteWorkflowStep>,
    add_transition: ServerAction<AddWorkflowTransition>,
    update_transition: ServerAction<UpdateWorkflowTransition>,
    delete_transition: ServerAction<DeleteWorkflowTransition>,
    deploy: ServerAction<DeployWorkflow>,
    pause: ServerAction<SetWorkflowPaused>,
    delete: ServerAction<DeleteWorkflow>,
    /// The step or transition whose row is open for editing.
    editing_step: RwSignal<Option<i64>>,
    editing_transition: RwSignal<Option<i64>>,
}

#[component]
pub fn WorkflowPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|id| id.parse::<i64>().ok())
            .unwrap_or(0)
    };
    let is_admin = admin_signal();
    let editor = Editor {
        update: ServerAction::new(),
        add_step: ServerAction::new(),
        update_step: ServerAction::new(),
        delete_step: ServerAction::new(),
        add_transition: ServerAction::new(),
        update_transition: ServerAction::new(),
        delete_transition: ServerAction::new(),
        deploy: ServerAction::new(),
        pause: ServerAction::new(),
        delete: ServerAction::new(),
        editing_step: RwSignal::new(None),
        editing_transition: RwSignal::new(None),
    };
    toast_result(
        editor.update.version(),
        editor.update.value(),
        "Settings saved",
    );
    toast_result(
        editor.add_step.version(),
        editor.add_step.value(),
        "Step added",
    );
    toast_result(
        editor.update_step.version(),
        editor.update_step.value(),
        "Step saved",
    );
    toast_result(
        editor.delete_step.version(),
        editor.delete_step.value(),
        "Step deleted",
    );
    toast_result(
        editor.add_transition.version(),
        editor.add_transition.value(),
        "Transition added",
    );
    toast_result(
        editor.update_transition.version(),
        editor.update_transition.value(),
        "Transition saved",
    );
    toast_result(
        editor.delete_transition.version(),
        editor.delete_transition.value(),
        "Transition deleted",
    );
    toast_result(
        editor.delete.version(),
        editor.delete.value(),
        "Workflow deleted",
    );
    let toasts = use_toasts();
    Effect::new(move |previous: Option<usize>| {
        let version = editor.deploy.version().get();
        if previous.is_some_and(|p| p != version) {
            match editor.deploy.value().get_untracked() {
                Some(Ok(number)) => toasts.success(format!(
                    "Version {number} deployed: new tickets start on it"
                )),
                Some(Err(err)) if err.kind != domain::ErrorKind::Unprocessable => {
                    toasts.error(err.message)
                }
                Some(Err(_)) => {
                    toasts.error("Not deployed. The reasons are listed at the top of the page.")
                }
                None => {}
            }
        }
        version
    });
    Effect::new(move |previous: Option<usize>| {
        let version = editor.pause.version().get();
        if previous.is_some_and(|p| p != version) {
            match editor.pause.value().get_untracked() {
                Some(Ok(WorkflowStatus::Paused)) => {
                    toasts.success("Paused: new tickets no longer start on it")
                }
                Some(Ok(_)) => toasts.success("Resumed: new tickets start on it again"),
                Some(Err(err)) => toasts.error(err.message),
                None => {}
            }
        }
        version
    });
    let changed = RwSignal::new(0usize);
    reload_on_success(editor.update, changed);
    reload_on_success(editor.add_step, changed);
    reload_on_success(editor.update_step, changed);
    reload_on_success(editor.delete_step, changed);
    reload_on_success(editor.add_transition, changed);
    reload_on_success(editor.update_transition, changed);
    reload_on_success(editor.delete_transition, changed);
    reload_on_success(editor.deploy, changed);
    reload_on_success(editor.pause, changed);
    // A saved row closes its editor.
    Effect::new(move |_| {
        if matches!(editor.update_step.value().get(), Some(Ok(()))) {
            editor.editing_step.set(None);
        }
    });
    Effect::new(move |_| {
        if matches!(editor.update_transition.value().get(), Some(Ok(()))) {
            editor.editing_transition.set(None);
        }
    });
    let page = Resource::new(
        move || (id(), is_admin.get(), changed.get()),
        |(id, admin, _)| async move {
            if admin {
                load_workflow(id).await
            } else {
                Err(AppError::forbidden())
            }
        },
    );
    view! {
        <Title text="Workflow" />
        <RequireRole role=SystemRole::Admin>
            <AdminHeader />
            <A href="/admin/workflows" attr:class="back-link">"← All workflows"</A>
            <Transition fallback=|| view! { <Spinner label="Loading the workflow" /> }>
                {move || page.get().map(|result| match result {
                    Ok(data) => view! { <WorkflowDetail data editor /> }.into_any(),
                    Err(err) => view! {
                        <EmptyState icon="workflow" title="Workflow not found" message=err.message />
                    }
                    .into_any(),
                })}
            </Transition>
        </RequireRole>
    }
}

#[component]
fn WorkflowDetail(data: WorkflowPage, editor: Editor) -> impl IntoView {
    let WorkflowPage {
        workflow,
        versions,
        roles,
        reference,
    } = data;
    let id = workflow.id;
    let title = format!("{} · Workflow", workflow.name);
    let deploy_error = last_error(editor.deploy.value());
    let pause_pending = editor.pause.pending();
    let deploy_pending = editor.deploy.pending();
    let can_deploy_now =
        workflow.status == WorkflowStatus::Draft || workflow.has_undeployed_changes;
    let pause_button = match workflow.status {
        WorkflowStatus::Deployed => Some((
            true,
            "Pause",
            "Stops matching new tickets; tickets on it carry on.",
        )),
        WorkflowStatus::Paused => Some((
            false,
            "Resume",
            "Matches new tickets again, on the deployed version.",
        )),
        WorkflowStatus::Draft => None,
    };
    let deployed_text = match (workflow.status, workflow.deployed_version) {
        (WorkflowStatus::Draft, _) | (_, None) => "Never deployed".to_owned(),
        (WorkflowStatus::Paused, Some(v)) => format!("Version {v} paused"),
        (WorkflowStatus::Deployed, Some(v)) => format!("Version {v} running"),
    };
    let matches = match_set(
        workflow.category.as_ref().map(|c| c.name.as_str()),
        workflow.sub_category.as_ref().map(|c| c.name.as_str()),
        workflow.department.as_ref().map(|d| d.name.as_str()),
    );
    let problems = workflow.problems.clone();
    let never_deployed = versions.is_empty();
    view! {
        <Title text=title />
        <div class="workflow-heading">
            <div class="workflow-heading-text">
                <span class="eyebrow">"Workflow"</span>
                <h1 class="page-title" data-test="workflow-name">{workflow.name.clone()}</h1>
                <div class="badge-row">
                    {workflow_status_badge(workflow.status)}
                    <span class="badge badge-blue">{deployed_text}</span>
                    {(workflow.has_undeployed_changes).then(|| view! {
                        <span class="badge badge-amber" title="The draft differs from the running version">"Undeployed changes"</span>
                    })}
                    <span class="muted small">{format!("{matches} · {} open task{}", workflow.open_tasks, if workflow.open_tasks == 1 { "" } else { "s" })}</span>
                </div>
            </div>
            <div class="page-actions">
                <A href=format!("/admin/workflows/{id}/editor") attr:class="button button-secondary" attr:data-test="open-editor">
                    "Open the editor"
                </A>
                {pause_button.map(|(pause, label, hint)| view! {
                    <ActionForm action=editor.pause>
                        <input type="hidden" name="id" value=id />
                        <input type="hidden" name="paused" value=pause.to_string() />
                        <button type="submit" class="button button-secondary" title=hint disabled=pause_pending data-test="pause-workflow">
                            {label}
                        </button>
                    </ActionForm>
                })}
                <ActionForm action=editor.deploy>
                    <input type="hidden" name="id" value=id />
                    // What this page shows is what gets deployed, or nothing (409).
                    <input type="hidden" name="seen_revision" value=workflow.revision />
                    <button
                        type="submit"
                        class=if can_deploy_now { "button button-primary" } else { "button button-secondary" }
                        disabled=deploy_pending
                        data-test="deploy-workflow"
                        title="Freeze the draft into a new version that new tickets start on"
                    >
                        <Icon name="arrow-right" />
                        <span>{move || if deploy_pending.get() { "Deploying…" } else { "Deploy" }}</span>
                    </button>
                </ActionForm>
            </div>
        </div>
        <ProblemsPanel problems graph_steps=workflow.graph.steps.clone() deploy_error />
        <div class="two-column wide-first workflow-layout">
            <div class="stack">
                <StepsPanel workflow=workflow.clone() roles=roles.clone() editor />
                <TransitionsPanel workflow=workflow.clone() editor />
            </div>
            <aside class="stack">
                <SettingsPanel workflow=workflow.clone() reference editor />
                <VersionsPanel versions />
                {never_deployed.then(|| view! {
                    <section class="panel" aria-labelledby="delete-title">
                        <h2 class="panel-title" id="delete-title">"Delete"</h2>
                        <p class="panel-intro muted">"A workflow that never ran can be deleted; a deployed one is paused instead, as its tickets refer to it."</p>
                        <ActionForm action=editor.delete attr:class="danger-zone">
                            <input type="hidden" name="id" value=id />
                            <button type="submit" class="button button-danger button-small"
                                on:click=|ev| {
                                    let sure = window()
                                        .confirm_with_message("Delete this workflow and its draft?")
                                        .unwrap_or(false);
                                    if !sure {
                                        ev.prevent_default();
                                    }
                                }>"Delete this workflow"</button>
                        </ActionForm>
                    </section>
                })}
            </aside>
        </div>
    }
}

/// What keeps the draft from deployment, or that it is ready.
#[component]
fn ProblemsPanel(
    problems: Vec<ProblemReport>,
    graph_steps: Vec<Step>,
    deploy_error: Signal<Option<AppError>>,
) -> impl IntoView {
    let step_name = move |id: StepId| {
        graph_steps
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.clone())
    };
    let count = problems.len();
    view! {
        {move || deploy_error.get().filter(|_| count == 0).map(|err| view! {
            <div class="notice notice-error banner" role="alert" data-test="deploy-error">
                <Icon name="alert" />
                <span>{err.message}</span>
            </div>
        })}
        {if problems.is_empty() {
            view! {
                <div class="notice notice-success banner" data-test="no-problems">
                    <Icon name="check" />
                    <span>"The draft is complete: it can be deployed."</span>
                </div>
            }
            .into_any()
        } else {
            view! {
                <section class="problems" role="alert" aria-labelledby="problems-title" data-test="problems">
                    <h2 class="problems-title" id="problems-title">
                        <Icon name="alert" />
                        {format!("{count} problem{} keep{} this workflow from deploying", if count == 1 { "" } else { "s" }, if count == 1 { "s" } else { "" })}
                    </h2>
                    <ul>
                        {problems.into_iter().map(|p| {
                            let marks: Vec<(String, String)> = p.steps.iter()
                                .filter_map(|id| step_name(*id).map(|name| (format!("#step-{}", id.0), name)))
                                .collect();
                            view! {
                                <li data-code=p.code.clone()>
                                    <span>{p.message.clone()}</span>
                                    {marks.into_iter().map(|(href, name)| view! {
                                        " " <a class="problem-link" href=href>{name}</a>
                                    }).collect_view()}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            }
            .into_any()
        }}
    }
}

fn role_select(
    id: String,
    name: &'static str,
    roles: &[WorkflowRole],
    selected: Option<i64>,
    none_label: &'static str,
) -> impl IntoView + use<> {
    view! {
        <select id=id name=name>
            <option value="">{none_label}</option>
            {roles.iter().map(|r| view! {
                <option value=r.id selected=Some(r.id) == selected>
                    {format!("{} ({} member{})", r.name, r.member_count, if r.member_count == 1 { "" } else { "s" })}
                </option>
            }).collect_view()}
        </select>
    }
}

/// The fields of a step's form (new or existing).
#[component]
fn StepFields(
    step: Option<Step>,
    roles: Vec<WorkflowRole>,
    error: Signal<Option<AppError>>,
    prefix: String,
) -> impl IntoView {
    let id = {
        let prefix = prefix.clone();
        move |field: &str| format!("{prefix}_{field}")
    };
    let (name, instructions, role, escalation, weight, is_start, is_end) = match &step {
        Some(s) => (
            s.name.clone(),
            s.instructions.clone(),
            s.role,
            s.escalation_role,
            s.weight.to_string(),
            s.is_start,
            s.is_end,
        ),
        None => (
            String::new(),
            String::new(),
            None,
            None,
            "1".to_owned(),
            false,
            false,
        ),
    };
    view! {
        <div class="form-grid">
            <div class="field">
                <label for=id("name")>"Name"</label>
                <input id=id("name") name="name" type="text" required maxlength="100" value=name placeholder="Approve the request" />
                <FieldError error field="name" />
            </div>
            <div class="field">
                <label for=id("role")>"Role doing it"</label>
                {role_select(id("role"), "role_id", &roles, role, "Choose a role")}
                <FieldError error field="role_id" />
            </div>
            <div class="field">
                <label for=id("escalation")>"Escalates to"</label>
                {role_select(id("escalation"), "escalation_role_id", &roles, escalation, "An admin")}
                <FieldError error field="escalation_role_id" />
            </div>
            <div class="field">
                <label for=id("weight")>"Weight (share of the SLA)"</label>
                <input id=id("weight") name="weight" type="number" min="1" max="1000" step="1" value=weight />
                <FieldError error field="weight" />
            </div>
        </div>
        <div class="checkbox-row">
            <label class="checkbox">
                <input type="checkbox" name="is_start" value="on" checked=is_start />
                <span>"Start step"</span>
            </label>
            <label class="checkbox">
                <input type="checkbox" name="is_end" value="on" checked=is_end />
                <span>"End step"</span>
            </label>
        </div>
        <div class="field">
            <label for=id("instructions")>"Instructions"</label>
            <textarea id=id("instructions") name="instructions" rows="3" maxlength="10000"
                placeholder="What the assignee does at this step (Markdown works)">{instructions}</textarea>
            <FieldError error field="instructions" />
        </div>
    }
}

#[component]
fn StepsPanel(workflow: Workflow, roles: Vec<WorkflowRole>, editor: Editor) -> impl IntoView {
    let workflow_id = workflow.id;
    let steps = workflow.graph.steps.clone();
    let count = steps.len();
    // Each step's share of the SLA along the heaviest route, when the graph allows splitting.
    let split = domain::workflow::step_allowances(&workflow.graph, 1_000_000).ok();
    let marked: Vec<(StepId, String)> = workflow
        .problems
        .iter()
        .flat_map(|p| p.steps.iter().map(|s| (*s, p.message.clone())))
        .collect();
    let role_names = StoredValue::new(
        roles
            .iter()
            .map(|r| (r.id, r.name.clone()))
            .collect::<Vec<_>>(),
    );
    let role_name = move |id: Option<i64>| {
        id.and_then(|id| {
            role_names
                .with_value(|names| names.iter().find(|(r, _)| *r == id).map(|(_, n)| n.clone()))
        })
    };
    let add_error = last_error(editor.add_step.value());
    let edit_error = last_error(editor.update_step.value());
    let roles_for_rows = StoredValue::new(roles.clone());
    view! {
        <section class="panel" aria-labelledby="steps-title" data-test="steps">
            <div class="panel-header">
                <h2 class="panel-title" id="steps-title">{format!("Steps ({count})")}</h2>
            </div>
            {if steps.is_empty() {
                view! { <EmptyState icon="workflow" title="No steps yet" message="Add the first step: usually a start step done by a first-line role." /> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="table card-table steps-table">
                            <thead>
                                <tr>
                                    <th scope="col">"Step"</th>
                                    <th scope="col" class="hide-narrow">"Role"</th>
                                    <th scope="col" class="hide-narrow">"Escalates to"</th>
                                    <th scope="col" class="num hide-narrow">"Weight"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {steps.into_iter().map(|step| {
                                    let step_id = step.id.0;
                                    let issues: Vec<String> = marked.iter().filter(|(s, _)| *s == step.id).map(|(_, m)| m.clone()).collect();
                                    let has_issue = !issues.is_empty();
                                    let share = split.as_ref().and_then(|s| s.allowance(step.id)).filter(|_| !step.is_end)
                                        .map(|a| format!("{}%", (a as f64 / 10_000.0).round()));
                                    let editing = move || editor.editing_step.get() == Some(step_id);
                                    let edit_step = step.clone();
                                    let label = step.name.clone();
                                    view! {
                                        <tr id=format!("step-{step_id}") class:row-problem=has_issue data-test="step-row">
                                            <td class="cell-subject">
                                                <span class="step-name">
                                                    {has_issue.then(|| view! { <span class="problem-mark" title=issues.join("\n")><Icon name="alert" /></span> })}
                                                    <strong>{step.name.clone()}</strong>
                                                    {step.is_start.then(|| view! { <span class="badge badge-blue">"Start"</span> })}
                                                    {step.is_end.then(|| view! { <span class="badge badge-green">"End"</span> })}
                                                </span>
                                                {(!step.instructions.is_empty()).then(|| view! { <span class="cell-sub muted small clamp">{plain_text(&step.instructions)}</span> })}
                                                <span class="cell-sub muted small show-narrow">{role_name(step.role).unwrap_or_else(|| "No role".to_owned())}</span>
                                            </td>
                                            <td class="hide-narrow cell-role">{match role_name(step.role) {
                                                Some(name) => view! { <span>{name}</span> }.into_any(),
                                                None if step.is_end => view! { <span class="muted">"—"</span> }.into_any(),
                                                None => view! { <span class="badge badge-red">"No role"</span> }.into_any(),
                                            }}</td>
                                            <td class="muted hide-narrow cell-role">{role_name(step.escalation_role).unwrap_or_else(|| "An admin".to_owned())}</td>
                                            <td class="num hide-narrow">
                                                {step.weight}
                                                {share.map(|s| view! { <span class="muted small">{format!(" · {s}")}</span> })}
                                            </td>
                                            <td class="cell-actions">
                                                <button type="button" class="button button-ghost button-small"
                                                    aria-expanded=move || editing().to_string()
                                                    aria-label=format!("Edit the step {label}")
                                                    on:click=move |_| editor.editing_step.update(|e| *e = if *e == Some(step_id) { None } else { Some(step_id) })>
                                                    {move || if editing() { "Close" } else { "Edit" }}
                                                </button>
                                                <button type="button" class="button button-ghost button-small danger-text"
                                                    aria-label=format!("Delete the step {}", step.name)
                                                    on:click=move |_| {
                                                        if confirm("Delete this step and the transitions to and from it?") {
                                                            editor.delete_step.dispatch(DeleteWorkflowStep { step_id });
                                                        }
                                                    }>
                                                    "Delete"
                                                </button>
                                            </td>
                                        </tr>
                                        {move || editing().then(|| {
                                            let edit_step = edit_step.clone();
                                            view! {
                                                <tr class="edit-row">
                                                    <td colspan="5">
                                                        <FormError error=edit_error />
                                                        <ActionForm action=editor.update_step attr:class="form">
                                                            <input type="hidden" name="workflow_id" value=workflow_id />
                                                            <input type="hidden" name="step_id" value=step_id />
                                                            <StepFields step=Some(edit_step) roles=roles_for_rows.get_value() error=edit_error prefix=format!("step_{step_id}") />
                                                            <div class="form-actions">
                                                                <button type="submit" class="button button-primary">"Save step"</button>
                                                                <button type="button" class="button button-ghost" on:click=move |_| editor.editing_step.set(None)>"Cancel"</button>
                                                            </div>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        })}
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
            <details class="ref-edit add-form" open=count == 0 data-test="add-step">
                <summary>"Add a step"</summary>
                <FormError error=add_error />
                <ActionForm action=editor.add_step attr:class="form">
                    <input type="hidden" name="workflow_id" value=workflow_id />
                    <StepFields step=None roles error=add_error prefix="new_step".to_owned() />
                    <div class="form-actions">
                        <button type="submit" class="button button-primary">
                            <Icon name="plus" />
                            <span>"Add step"</span>
                        </button>
                    </div>
                </ActionForm>
            </details>
        </section>
    }
}

fn step_options(steps: &[Step], selected: Option<StepId>) -> impl IntoView + use<> {
    view! {
        <option value="">"Choose a step"</option>
        {steps.iter().map(|s| view! {
            <option value=s.id.0 selected=Some(s.id) == selected>{s.name.clone()}</option>
        }).collect_view()}
    }
}

/// The fields of a transition's form.
#[component]
fn TransitionFields(
    transition: Option<Transition>,
    steps: Vec<Step>,
    error: Signal<Option<AppError>>,
    prefix: String,
) -> impl IntoView {
    let id = {
        let prefix = prefix.clone();
        move |field: &str| format!("{prefix}_{field}")
    };
    let from = transition.as_ref().map(|t| t.from);
    let to = transition.as_ref().map(|t| t.to);
    let action = transition.map(|t| t.action).unwrap_or_default();
    view! {
        <div class="field">
            <label for=id("from")>"From"</label>
            <select id=id("from") name="from_step_id" required>{step_options(&steps, from)}</select>
            <FieldError error field="from_step_id" />
        </div>
        <div class="field">
            <label for=id("to")>"To"</label>
            <select id=id("to") name="to_step_id" required>{step_options(&steps, to)}</select>
            <FieldError error field="to_step_id" />
        </div>
        <div class="field">
            <label for=id("action")>"Button label"</label>
            <input id=id("action") name="action" type="text" required maxlength="100" value=action placeholder="Approve" />
            <FieldError error field="action" />
        </div>
    }
}

#[component]
fn TransitionsPanel(workflow: Workflow, editor: Editor) -> impl IntoView {
    let steps = workflow.graph.steps.clone();
    let transitions = workflow.graph.transitions.clone();
    let count = transitions.len();
    let marked: Vec<(i64, String)> = workflow
        .problems
        .iter()
        .flat_map(|p| p.transitions.iter().map(|t| (t.0, p.message.clone())))
        .collect();
    let name_of = {
        let steps = steps.clone();
        move |id: StepId| {
            steps
                .iter()
                .find(|s| s.id == id)
                .map_or_else(|| format!("step {}", id.0), |s| s.name.clone())
        }
    };
    let add_error = last_error(editor.add_transition.value());
    let edit_error = last_error(editor.update_transition.value());
    let steps_for_rows = StoredValue::new(steps.clone());
    view! {
        <section class="panel" aria-labelledby="transitions-title" data-test="transitions">
            <h2 class="panel-title" id="transitions-title">{format!("Transitions ({count})")}</h2>
            <p class="panel-intro muted">"The buttons an assignee presses at a step, and where each one takes the ticket."</p>
            {if transitions.is_empty() {
                view! { <p class="muted empty-line">"No transitions yet. Add one for each way a step can end."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="table card-table transitions-table">
                            <thead>
                                <tr>
                                    <th scope="col">"From"</th>
                                    <th scope="col">"Button"</th>
                                    <th scope="col">"To"</th>
                                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                                </tr>
                            </thead>
                            <tbody>
                                {transitions.into_iter().map(|t| {
                                    let transition_id = t.id.0;
                                    let issues: Vec<String> = marked.iter().filter(|(id, _)| *id == transition_id).map(|(_, m)| m.clone()).collect();
                                    let has_issue = !issues.is_empty();
                                    let editing = move || editor.editing_transition.get() == Some(transition_id);
                                    let edit_transition = t.clone();
                                    let label = t.action.clone();
                                    view! {
                                        <tr class:row-problem=has_issue data-test="transition-row">
                                            <td>{name_of(t.from)}</td>
                                            <td>
                                                {has_issue.then(|| view! { <span class="problem-mark" title=issues.join("\n")><Icon name="alert" /></span> })}
                                                <span class="action-chip">{t.action.clone()}</span>
                                            </td>
                                            <td><span class="arrow" aria-hidden="true">"→ "</span>{name_of(t.to)}</td>
                                            <td class="cell-actions">
                                                <button type="button" class="button button-ghost button-small"
                                                    aria-expanded=move || editing().to_string()
                                                    aria-label=format!("Edit the transition {label}")
                                                    on:click=move |_| editor.editing_transition.update(|e| *e = if *e == Some(transition_id) { None } else { Some(transition_id) })>
                                                    {move || if editing() { "Close" } else { "Edit" }}
                                                </button>
                                                <button type="button" class="button button-ghost button-small danger-text"
                                                    aria-label=format!("Delete the transition {}", t.action)
                                                    on:click=move |_| {
                                                        if confirm("Delete this transition?") {
                                                            editor.delete_transition.dispatch(DeleteWorkflowTransition { transition_id });
                                                        }
                                                    }>
                                                    "Delete"
                                                </button>
                                            </td>
                                        </tr>
                                        {move || editing().then(|| {
                                            let edit_transition = edit_transition.clone();
                                            view! {
                                                <tr class="edit-row">
                                                    <td colspan="4">
                                                        <FormError error=edit_error />
                                                        <ActionForm action=editor.update_transition attr:class="form inline-form flush">
                                                            <input type="hidden" name="transition_id" value=transition_id />
                                                            <TransitionFields transition=Some(edit_transition) steps=steps_for_rows.get_value() error=edit_error prefix=format!("transition_{transition_id}") />
                                                            <button type="submit" class="button button-primary">"Save"</button>
                                                            <button type="button" class="button button-ghost" on:click=move |_| editor.editing_transition.set(None)>"Cancel"</button>
                                                        </ActionForm>
                                                    </td>
                                                </tr>
                                            }
                                        })}
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }
                .into_any()
            }}
            {if steps.len() < 2 {
                view! { <p class="muted small add-hint">"Add at least two steps to connect them."</p> }.into_any()
            } else {
                view! {
                    <FormError error=add_error />
                    <ActionForm action=editor.add_transition attr:class="form inline-form" attr:data-test="add-transition">
                        <TransitionFields transition=None steps error=add_error prefix="new_transition".to_owned() />
                        <button type="submit" class="button button-primary">
                            <Icon name="plus" />
                            <span>"Add transition"</span>
                        </button>
                    </ActionForm>
                }
                .into_any()
            }}
        </section>
    }
}

#[component]
fn SettingsPanel(workflow: Workflow, reference: ReferenceData, editor: Editor) -> impl IntoView {
    let error = last_error(editor.update.value());
    let id = workflow.id;
    view! {
        <section class="panel" aria-labelledby="settings-title" data-test="workflow-settings">
            <h2 class="panel-title" id="settings-title">"Settings"</h2>
            <p class="panel-intro muted">"Changes go into the draft; the running version keeps its settings until you deploy again."</p>
            <FormError error />
            <ActionForm action=editor.update attr:class="form">
                <input type="hidden" name="id" value=id />
                <SettingsFields reference error current=Some(workflow) prefix="edit" />
                <div class="form-actions">
                    <button type="submit" class="button button-primary" disabled=editor.update.pending()>"Save settings"</button>
                </div>
            </ActionForm>
        </section>
    }
}

#[component]
fn VersionsPanel(versions: Vec<WorkflowVersion>) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="versions-title" data-test="versions">
            <h2 class="panel-title" id="versions-title">"Versions"</h2>
            {if versions.is_empty() {
                view! { <p class="muted">"Not deployed yet. Each deployment freezes the draft into a numbered version; tickets stay on the version they started on."</p> }.into_any()
            } else {
                view! {
                    <ol class="version-list">
                        {versions.into_iter().map(|v| {
                            let by = v.deployed_by.as_ref().map_or_else(|| "the system".to_owned(), |p| p.full_name.clone());
                            let steps = v.graph.steps.len();
                            view! {
                                <li class="version" class:version-current=v.is_current>
                                    <span class="version-number">{format!("v{}", v.number)}</span>
                                    <div class="version-text">
                                        <span>
                                            {format!("{steps} step{} · by {by}", if steps == 1 { "" } else { "s" })}
                                            {v.is_current.then(|| view! { " " <span class="badge badge-green">"Current"</span> })}
                                        </span>
                                        <span class="muted small"><Timestamp at=v.deployed_at /></span>
                                    </div>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }
                .into_any()
            }}
        </section>
    }
}

/// Markdown as a one-line excerpt: without its emphasis, code and heading marks.
fn plain_text(markdown: &str) -> String {
    markdown
        .chars()
        .filter(|c| !matches!(c, '*' | '_' | '`' | '#'))
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Asks the browser to confirm a destructive action.
fn confirm(message: &str) -> bool {
    window().confirm_with_message(message).unwrap_or(false)
}
