//! The editor's side panel (properties of the selection or of the workflow, problems,
//! simulation, versions), its toolbar, the screen-reader list of the graph, and the deploy
//! confirmation with what changed.

use domain::tickets::Priority;
use domain::workflow::{
    EndLogic, GraphDiff, MAX_WEIGHT, MatchSet, SimulationOutcome, SlaPolicy, StepField, StepId,
    TransitionField, WorkflowGraph, diff, happy_path_actions, simulate,
};
use leptos::prelude::*;

use super::model::Selection;
use super::state::{EditorState, PanelTab, SaveState};
use crate::api::workflows::workflow_overlaps;
use crate::components::ui::format_duration;

fn parse_id(value: &str) -> Option<i64> {
    value.parse().ok()
}

#[component]
pub fn Toolbar(state: EditorState, on_deploy: Callback<()>) -> impl IntoView {
    let can_undo = move || {
        state.changes.get();
        !state.read_only() && state.history.with_value(|h| h.can_undo())
    };
    let can_redo = move || {
        state.changes.get();
        !state.read_only() && state.history.with_value(|h| h.can_redo())
    };
    let add_step = move |_| {
        if state.add_step_in_view().is_some() {
            state.tab.set(PanelTab::Properties);
        }
    };
    let layout = move |_| {
        state.edit(|d| domain::workflow::drawing::auto_layout(&mut d.graph));
        state.fit_to_view();
    };
    let zoom = move |factor: f64| {
        let (width, height) = state.canvas_size.get_untracked();
        let view = state.viewport.get_untracked();
        state
            .viewport
            .set(view.zoomed_at(view.zoom * factor, width / 2.0, height / 2.0));
    };
    let deploy_blocker = move || {
        let count = state.problems.with(Vec::len);
        if state.viewing.get().is_some() {
            Some("You are looking at an earlier version.".to_owned())
        } else if count > 0 {
            Some(format!(
                "{count} problem{} to fix first (see Problems).",
                if count == 1 { "" } else { "s" }
            ))
        } else if matches!(state.save_state.get(), SaveState::Conflict(_)) {
            Some("Reload first: someone else saved this workflow.".to_owned())
        } else if changes_since_running(state).is_some_and(|(_, lines)| lines.is_empty()) {
            Some("Nothing to deploy: the draft is the running version.".to_owned())
        } else {
            None
        }
    };
    let save_label = move || match state.save_state.get() {
        SaveState::Saved => "All changes saved".to_owned(),
        SaveState::Unsaved => "Unsaved changes".to_owned(),
        SaveState::Saving => "Saving…".to_owned(),
        SaveState::Conflict(_) => "Not saved: conflict".to_owned(),
        SaveState::Failed(_) => "Not saved".to_owned(),
    };
    let save_class = move || match state.save_state.get() {
        SaveState::Saved => "save-state saved",
        SaveState::Unsaved | SaveState::Saving => "save-state pending",
        SaveState::Conflict(_) | SaveState::Failed(_) => "save-state failed",
    };
    let zoom_label = move || format!("{:.0} %", state.viewport.get().zoom * 100.0);
    view! {
        <div class="editor-toolbar" role="toolbar" aria-label="Editor tools">
            <div class="toolbar-group">
                <button class="button button-secondary button-small" data-test="add-step" on:click=add_step disabled=move || state.read_only() title="Add a step (N)">
                    "+ Step"
                </button>
                <button class="button button-ghost button-small" data-test="undo" on:click=move |_| state.undo() disabled=move || !can_undo() title="Undo (Ctrl+Z)" aria-label="Undo">
                    "↶"
                </button>
                <button class="button button-ghost button-small" data-test="redo" on:click=move |_| state.redo() disabled=move || !can_redo() title="Redo (Ctrl+Shift+Z)" aria-label="Redo">
                    "↷"
                </button>
                <button class="button button-ghost button-small" on:click=layout disabled=move || state.read_only() title="Arrange the steps from left to right (L)">
                    "Auto layout"
                </button>
            </div>
            <div class="toolbar-group">
                <button class="button button-ghost button-small" on:click=move |_| zoom(1.0 / 1.2) title="Zoom out (-)" aria-label="Zoom out">"−"</button>
                <span class="zoom-level">{zoom_label}</span>
                <button class="button button-ghost button-small" on:click=move |_| zoom(1.2) title="Zoom in (+)" aria-label="Zoom in">"+"</button>
                <button class="button button-ghost button-small" on:click=move |_| state.fit_to_view() title="Fit to view (F)">"Fit"</button>
                <label class="toggle-small">
                    <input type="checkbox" prop:checked=move || state.snap_to_grid.get() on:change=move |ev| state.snap_to_grid.set(event_target_checked(&ev)) />
                    "Snap"
                </label>
                <label class="toggle-small">
                    <input type="checkbox" data-test="list-view" prop:checked=move || state.list_view.get() on:change=move |ev| state.list_view.set(event_target_checked(&ev)) />
                    "List view"
                </label>
            </div>
            <div class="toolbar-group toolbar-end">
                <span class=save_class role="status">{save_label}</span>
                <button
                    class="button button-primary button-small"
                    data-test="deploy"
                    disabled=move || deploy_blocker().is_some()
                    title=move || deploy_blocker().unwrap_or_else(|| "Deploy this draft: new tickets start on it".into())
                    on:click=move |_| on_deploy.run(())
                >
                    "Deploy…"
                </button>
            </div>
        </div>
        {move || deploy_blocker().map(|reason| view! { <p class="deploy-blocker">"Deploy is disabled: " {reason}</p> })}
    }
}

#[component]
pub fn SidePanel(state: EditorState, on_reload: Callback<()>) -> impl IntoView {
    let tab_button = move |tab: PanelTab, label: &'static str| {
        let count = move || match tab {
            PanelTab::Problems => {
                let n = state.problems.with(Vec::len);
                (n > 0).then(|| view! { <span class="tab-count">{n}</span> })
            }
            _ => None,
        };
        view! {
            <button
                role="tab"
                class="panel-tab"
                data-test=format!("tab-{}", label.to_lowercase())
                aria-selected=move || (state.tab.get() == tab).to_string()
                on:click=move |_| state.tab.set(tab)
            >
                {label}
                {count}
            </button>
        }
    };
    view! {
        <aside class="editor-panel" aria-label="Properties">
            {move || match state.save_state.get() {
                SaveState::Conflict(message) => Some(view! {
                    <div class="panel-alert" role="alert">
                        <p>{message}</p>
                        <button class="button button-primary button-small" data-test="reload-workflow" on:click=move |_| on_reload.run(())>
                            "Reload the workflow"
                        </button>
                    </div>
                }.into_any()),
                SaveState::Failed(message) => Some(view! {
                    <div class="panel-alert" role="alert"><p>"Not saved: " {message}</p></div>
                }.into_any()),
                _ => None,
            }}
            <div class="panel-tabs" role="tablist">
                {tab_button(PanelTab::Properties, "Properties")}
                {tab_button(PanelTab::Problems, "Problems")}
                {tab_button(PanelTab::Simulate, "Simulate")}
                {tab_button(PanelTab::Versions, "Versions")}
            </div>
            <div class="panel-body">
                {move || match state.tab.get() {
                    PanelTab::Properties => view! { <Properties state /> }.into_any(),
                    PanelTab::Problems => view! { <Problems state /> }.into_any(),
                    PanelTab::Simulate => view! { <Simulate state /> }.into_any(),
                    PanelTab::Versions => view! { <Versions state /> }.into_any(),
                }}
            </div>
        </aside>
    }
}

#[component]
fn Properties(state: EditorState) -> impl IntoView {
    move || {
        let selection = state.selection.get();
        if let Some(id) = selection.single_step() {
            view! { <StepForm state id /> }.into_any()
        } else if let Some(id) = selection.single_transition() {
            view! { <TransitionForm state id /> }.into_any()
        } else if !selection.is_empty() {
            let (steps, transitions) = (selection.steps.len(), selection.transitions.len());
            view! {
                <div class="panel-section">
                    <h3>"Several selected"</h3>
                    <p class="muted">{format!("{steps} steps and {transitions} transitions. Drag to move them together; Delete removes them; Ctrl+C copies the steps.")}</p>
                    <button class="button button-danger button-small" on:click=move |_| state.delete_selection() disabled=move || state.read_only()>"Delete selection"</button>
                </div>
            }
            .into_any()
        } else {
            view! { <WorkflowForm state /> }.into_any()
        }
    }
}

/// A field's value as committed (on change), recorded as one undoable edit.
fn step_edit(
    state: EditorState,
    id: StepId,
    change: impl Fn(&mut domain::workflow::Step, String) + Copy + 'static,
) -> impl Fn(leptos::ev::Event) + Copy + 'static {
    move |ev| {
        let value = event_target_value(&ev);
        state.edit(|d| {
            if let Some(step) = d.graph.steps.iter_mut().find(|s| s.id == id) {
                change(step, value);
            }
        });
    }
}

#[component]
fn StepForm(state: EditorState, id: StepId) -> impl IntoView {
    let step = Memo::new(move |_| state.shown_graph().with(|g| g.step(id).cloned()));
    let field = move |read: fn(&domain::workflow::Step) -> String| {
        move || step.with(|s| s.as_ref().map(read).unwrap_or_default())
    };
    let roles = state.roles.get_value();
    let role_options = move |current: Option<i64>| {
        roles
            .iter()
            .map(|r| {
                view! { <option value=r.id.to_string() selected=current == Some(r.id)>{r.name.clone()}</option> }
            })
            .collect_view()
    };
    let role_options_2 = role_options.clone();
    let problems = move || state.step_problems(id);
    let disabled = move || state.read_only();
    view! {
        <div class="panel-section">
            <h3>"Step"</h3>
            <label class="field">
                <span>"Name"</span>
                <input type="text" data-test="step-name" maxlength=domain::workflow::MAX_STEP_NAME prop:value=field(|s| s.name.clone()) disabled=disabled
                    on:change=step_edit(state, id, |s, v| s.name = v) />
            </label>
            <label class="field">
                <span>"Instructions " <small class="muted">"(Markdown)"</small></span>
                <textarea rows="4" prop:value=field(|s| s.instructions.clone()) disabled=disabled
                    on:change=step_edit(state, id, |s, v| s.instructions = v)></textarea>
            </label>
            <label class="field">
                <span>"Responsible role"</span>
                <select data-test="step-role" disabled=disabled on:change=step_edit(state, id, |s, v| s.role = parse_id(&v))>
                    <option value="" selected=move || step.with(|s| s.as_ref().is_some_and(|s| s.role.is_none()))>"— choose a role —"</option>
                    {move || role_options(step.with(|s| s.as_ref().and_then(|s| s.role)))}
                </select>
            </label>
            <label class="field">
                <span>"Escalation role"</span>
                <select data-test="step-escalation" disabled=disabled on:change=step_edit(state, id, |s, v| s.escalation_role = parse_id(&v))>
                    <option value="">"Nobody"</option>
                    {move || role_options_2(step.with(|s| s.as_ref().and_then(|s| s.escalation_role)))}
                </select>
            </label>
            <label class="field">
                <span>"Weight " <small class="muted">"(its share of the SLA)"</small></span>
                <input type="number" min="1" max=MAX_WEIGHT prop:value=field(|s| s.weight.to_string()) disabled=disabled
                    on:change=step_edit(state, id, |s, v| { if let Ok(w) = v.parse() { s.weight = w } }) />
            </label>
            <div class="field-row">
                <label class="check">
                    <input type="checkbox" data-test="step-start" prop:checked=move || step.with(|s| s.as_ref().is_some_and(|s| s.is_start)) disabled=disabled
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            state.edit(|d| {
                                for s in &mut d.graph.steps {
                                    // One start step: choosing this one unmarks the others.
                                    if s.id == id { s.is_start = on } else if on { s.is_start = false }
                                }
                            });
                        } />
                    "Start step"
                </label>
                <label class="check">
                    <input type="checkbox" data-test="step-end" prop:checked=move || step.with(|s| s.as_ref().is_some_and(|s| s.is_end)) disabled=disabled
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            state.edit(|d| if let Some(s) = d.graph.steps.iter_mut().find(|s| s.id == id) { s.is_end = on });
                        } />
                    "End step"
                </label>
            </div>
            <ProblemList messages=Signal::derive(problems) />
            <AddTransition state from=id />
            <div class="panel-actions">
                <button class="button button-danger button-small" disabled=disabled data-test="delete-step"
                    on:click=move |_| {
                        state.delete_selection();
                        super::canvas::focus_canvas();
                    }>
                    "Delete step"
                </button>
            </div>
        </div>
    }
}

/// Adds a transition from a step, by choosing where it leads and naming its action: the way
/// to draw one without a pointer (on the canvas, T then the arrow keys does the same).
#[component]
fn AddTransition(state: EditorState, from: StepId) -> impl IntoView {
    let to = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let targets = move || {
        state.shown_graph().with(|g| {
            g.steps
                .iter()
                .filter(|s| s.id != from)
                .map(|s| (s.id, s.name.clone()))
                .collect::<Vec<_>>()
        })
    };
    let add = move || {
        let Some(target) = to.get_untracked().parse::<i64>().ok().map(StepId) else {
            state.announce("Choose the step the transition leads to first.");
            return;
        };
        let label = action.get_untracked().trim().to_owned();
        let mut made = None;
        state.edit(|d| {
            made = super::model::connect(&mut d.graph, from, target);
            if let Some(id) = made
                && !label.is_empty()
                && let Some(t) = d.graph.transitions.iter_mut().find(|t| t.id == id)
            {
                t.action = label.clone();
            }
        });
        match made {
            Some(_) => {
                let names = state.shown_graph().with_untracked(|g| {
                    (
                        g.step(from).map(|s| s.name.clone()).unwrap_or_default(),
                        g.step(target).map(|s| s.name.clone()).unwrap_or_default(),
                    )
                });
                state.announce(&format!(
                    "Transition added from {} to {}.",
                    names.0, names.1
                ));
                to.set(String::new());
                action.set(String::new());
            }
            None => state.announce("These two steps are joined already."),
        }
    };
    view! {
        <fieldset class="add-transition" data-test="add-transition" disabled=move || state.read_only()>
            <legend>"Add a transition"</legend>
            <label class="field">
                <span>"Leads to"</span>
                <select data-test="new-transition-to" prop:value=move || to.get()
                    on:change=move |ev| to.set(event_target_value(&ev))>
                    <option value="">"Choose a step"</option>
                    {move || targets().into_iter().map(|(id, name)| view! {
                        <option value=id.0.to_string()>{name}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"Action " <small class="muted">"(the button agents press)"</small></span>
                <input type="text" data-test="new-transition-action" maxlength=domain::workflow::MAX_ACTION_LABEL
                    placeholder="For example: Approve" prop:value=move || action.get()
                    on:input=move |ev| action.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); add(); } />
            </label>
            <button type="button" class="button button-secondary button-small" data-test="add-transition-button"
                on:click=move |_| add()>
                "Add transition"
            </button>
        </fieldset>
    }
}

#[component]
fn TransitionForm(state: EditorState, id: domain::workflow::TransitionId) -> impl IntoView {
    let graph = state.shown_graph();
    let transition = Memo::new(move |_| graph.with(|g| g.transition(id).cloned()));
    let step_name = move |step: Option<StepId>| {
        graph.with(|g| {
            step.and_then(|s| g.step(s))
                .map(|s| s.name.clone())
                .unwrap_or_default()
        })
    };
    let disabled = move || state.read_only();
    view! {
        <div class="panel-section">
            <h3>"Transition"</h3>
            <p class="transition-ends">
                {move || step_name(transition.with(|t| t.as_ref().map(|t| t.from)))}
                " → "
                {move || step_name(transition.with(|t| t.as_ref().map(|t| t.to)))}
            </p>
            <label class="field">
                <span>"Action label " <small class="muted">"(the button the assignee presses)"</small></span>
                <input type="text" data-test="action-label" maxlength=domain::workflow::MAX_ACTION_LABEL disabled=disabled
                    prop:value=move || transition.with(|t| t.as_ref().map(|t| t.action.clone()).unwrap_or_default())
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        state.edit(|d| if let Some(t) = d.graph.transitions.iter_mut().find(|t| t.id == id) { t.action = value });
                    } />
            </label>
            <ProblemList messages=Signal::derive(move || state.transition_problems(id)) />
            <div class="panel-actions">
                <button class="button button-danger button-small" disabled=disabled on:click=move |_| state.delete_selection()>
                    "Delete transition"
                </button>
            </div>
        </div>
    }
}

#[component]
fn ProblemList(messages: Signal<Vec<String>>) -> impl IntoView {
    move || {
        let messages = messages.get();
        (!messages.is_empty()).then(|| {
            view! {
                <ul class="problem-list compact">
                    {messages.into_iter().map(|m| view! { <li>{m}</li> }).collect_view()}
                </ul>
            }
        })
    }
}

fn hours(seconds: Option<i64>) -> String {
    seconds
        .map(|s| {
            let hours = s as f64 / 3600.0;
            if hours.fract() == 0.0 {
                format!("{hours:.0}")
            } else {
                format!("{hours:.2}")
            }
        })
        .unwrap_or_default()
}

fn sla_field(policy: &mut SlaPolicy, priority: Priority) -> &mut Option<i64> {
    match priority {
        Priority::Low => &mut policy.low,
        Priority::Medium => &mut policy.medium,
        Priority::High => &mut policy.high,
        Priority::Urgent => &mut policy.urgent,
    }
}

#[component]
fn WorkflowForm(state: EditorState) -> impl IntoView {
    let settings = Memo::new(move |_| state.draft.with(|d| d.settings.clone()));
    let reference = state.reference.get_value();
    let categories: Vec<_> = reference
        .categories
        .iter()
        .filter(|c| c.parent_id.is_none() && c.is_active)
        .cloned()
        .collect();
    let subcategories = reference.categories.clone();
    let departments: Vec<_> = reference
        .departments
        .iter()
        .filter(|d| d.is_active)
        .cloned()
        .collect();
    let disabled = move || state.read_only();
    let set = move |change: Box<dyn FnOnce(&mut super::state::DraftSettings)>| {
        state.edit(|d| change(&mut d.settings));
    };
    view! {
        <div class="panel-section">
            <h3>"Workflow"</h3>
            <label class="field">
                <span>"Name"</span>
                <input type="text" maxlength=domain::workflow::MAX_WORKFLOW_NAME disabled=disabled
                    prop:value=move || settings.with(|s| s.name.clone())
                    on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |s| s.name = v)) } />
            </label>
            <label class="field">
                <span>"Description"</span>
                <textarea rows="2" disabled=disabled prop:value=move || settings.with(|s| s.description.clone())
                    on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |s| s.description = v)) }></textarea>
            </label>
            <p class="field-help">"Tickets of this category, sub-category and department start on this workflow."</p>
            <label class="field">
                <span>"Category"</span>
                <select disabled=disabled on:change=move |ev| {
                    let v = parse_id(&event_target_value(&ev));
                    set(Box::new(move |s| { s.category_id = v; s.sub_category_id = None; }))
                }>
                    <option value="">"Any"</option>
                    {categories.into_iter().map(|c| view! {
                        <option value=c.id.to_string() selected=move || settings.with(|s| s.category_id == Some(c.id))>{c.name.clone()}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"Sub-category"</span>
                <select disabled=disabled on:change=move |ev| {
                    let v = parse_id(&event_target_value(&ev));
                    set(Box::new(move |s| s.sub_category_id = v))
                }>
                    <option value="">"Any"</option>
                    {move || {
                        let parent = settings.with(|s| s.category_id);
                        subcategories.iter().filter(|c| parent.is_some() && c.parent_id == parent && c.is_active).map(|c| {
                            let id = c.id;
                            view! { <option value=id.to_string() selected=move || settings.with(|s| s.sub_category_id == Some(id))>{c.name.clone()}</option> }
                        }).collect_view()
                    }}
                </select>
            </label>
            <label class="field">
                <span>"Department"</span>
                <select disabled=disabled on:change=move |ev| {
                    let v = parse_id(&event_target_value(&ev));
                    set(Box::new(move |s| s.department_id = v))
                }>
                    <option value="">"Any"</option>
                    {departments.into_iter().map(|d| view! {
                        <option value=d.id.to_string() selected=move || settings.with(|s| s.department_id == Some(d.id))>{d.name.clone()}</option>
                    }).collect_view()}
                </select>
            </label>
            <fieldset class="sla-grid">
                <legend>"SLA, in hours"</legend>
                {Priority::ALL.iter().map(|&priority| view! {
                    <label class="field">
                        <span>{priority.label()}</span>
                        <input type="number" min="0" step="0.25" disabled=disabled data-test=format!("sla-{}", priority.as_str())
                            prop:value=move || settings.with(|s| hours(*sla_field(&mut s.sla.clone(), priority)))
                            on:change=move |ev| {
                                let value = event_target_value(&ev).trim().parse::<f64>().ok();
                                let seconds = value.filter(|h| *h > 0.0).map(|h| (h * 3600.0).round() as i64);
                                set(Box::new(move |s| *sla_field(&mut s.sla, priority) = seconds))
                            } />
                    </label>
                }).collect_view()}
            </fieldset>
            <label class="field">
                <span>"At the end"</span>
                <select disabled=disabled on:change=move |ev| {
                    if let Ok(v) = event_target_value(&ev).parse::<EndLogic>() {
                        set(Box::new(move |s| s.end_logic = v))
                    }
                }>
                    {EndLogic::ALL.iter().map(|&logic| view! {
                        <option value=logic.as_str() selected=move || settings.with(|s| s.end_logic == logic)>{end_logic_label(logic)}</option>
                    }).collect_view()}
                </select>
            </label>
        </div>
    }
}

fn end_logic_label(logic: EndLogic) -> &'static str {
    match logic {
        EndLogic::None => "Nothing more",
        EndLogic::Asset => "Ask the asset system (AMS)",
        EndLogic::Budget => "Ask the budget system (BMS)",
        EndLogic::Notification => "Notify the requester",
    }
}

#[component]
fn Problems(state: EditorState) -> impl IntoView {
    move || {
        let problems = state.problems.get();
        if problems.is_empty() {
            return view! {
                <div class="panel-section">
                    <p class="all-good">"No problems: this draft can be deployed."</p>
                </div>
            }
            .into_any();
        }
        view! {
            <div class="panel-section">
                <p class="muted">"Click a problem to select what it concerns."</p>
                <ul class="problem-list" aria-live="polite">
                    {problems.into_iter().map(|problem| {
                        let selection = Selection { steps: problem.steps(), transitions: problem.transitions() };
                        let message = problem.message();
                        view! {
                            <li>
                                <button class="problem" data-code=problem.code() on:click=move |_| {
                                    state.selection.set(selection.clone());
                                    state.tab.set(PanelTab::Properties);
                                }>{message}</button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
        }
        .into_any()
    }
}

#[component]
fn Simulate(state: EditorState) -> impl IntoView {
    let priority = RwSignal::new(Priority::Medium);
    let actions = RwSignal::new(String::new());
    let timer = StoredValue::new(None::<leptos::prelude::IntervalHandle>);
    let run = move || {
        let list: Vec<String> = actions
            .get_untracked()
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        let result = state.draft.with_untracked(|d| {
            simulate(&d.graph, &d.settings.sla, priority.get_untracked(), &list)
        });
        let visits = result.visits.len();
        state.simulation.set(Some(result));
        state.token.set(0);
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        // The token moves on every 0.7 s until it has shown every visit.
        let handle = set_interval_with_handle(
            move || {
                if state.token.get_untracked() + 1 < visits {
                    state.token.update(|t| *t += 1);
                } else if let Some(handle) = timer.get_value() {
                    handle.clear();
                }
            },
            std::time::Duration::from_millis(700),
        )
        .ok();
        timer.set_value(handle);
    };
    on_cleanup(move || {
        if let Some(handle) = timer.get_value() {
            handle.clear();
        }
        state.simulation.set(None);
    });
    let happy = move |_| {
        let path = state.draft.with_untracked(|d| happy_path_actions(&d.graph));
        match path {
            Some(list) => actions.set(list.join(", ")),
            None => actions.set(String::new()),
        }
        run();
    };
    let outcome = move || {
        state.simulation.get().map(|result| {
            let (class, text) = match &result.outcome {
                SimulationOutcome::Completed { .. } => (
                    "sim-outcome ok",
                    "The ticket reaches an end step.".to_owned(),
                ),
                SimulationOutcome::Stopped { .. } => (
                    "sim-outcome warn",
                    "The actions ran out before an end step.".to_owned(),
                ),
                SimulationOutcome::Failed { action, error, .. } => (
                    "sim-outcome bad",
                    format!("“{action}” cannot be taken: {error}."),
                ),
                SimulationOutcome::CannotStart { .. } => (
                    "sim-outcome bad",
                    "The ticket cannot enter: there is not exactly one start step.".to_owned(),
                ),
            };
            let sla = match (result.sla_seconds, &result.sla_error) {
                (_, Some(err)) => format!("SLA not split: {err}"),
                (Some(total), None) => format!(
                    "SLA for {}: {}",
                    result.priority.label(),
                    format_duration(total.max(0) as u64)
                ),
                (None, None) => "No SLA for this priority yet.".to_owned(),
            };
            let shown = state.token.get();
            let visits = result
                .visits
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let allowance = v
                        .allowance_seconds
                        .map(|s| format_duration(s.max(0) as u64))
                        .unwrap_or_else(|| "—".into());
                    let by = v
                        .cumulative_seconds
                        .map(|s| format_duration(s.max(0) as u64))
                        .unwrap_or_else(|| "—".into());
                    let action = v
                        .action
                        .clone()
                        .map(|a| format!("then “{a}”"))
                        .unwrap_or_default();
                    view! {
                        <li class:current={i == shown} class:upcoming={i > shown}>
                            <span class="sim-step">{v.step_name.clone()}</span>
                            <span class="sim-time">{allowance} " · due by " {by}</span>
                            <span class="sim-action">{action}</span>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <p class=class role="status">{text}</p>
                <p class="muted">{sla}</p>
                <ol class="sim-visits">{visits}</ol>
            }
        })
    };
    view! {
        <div class="panel-section">
            <h3>"Simulate a ticket"</h3>
            <label class="field">
                <span>"Priority"</span>
                <select on:change=move |ev| if let Ok(p) = event_target_value(&ev).parse() { priority.set(p) }>
                    {Priority::ALL.iter().map(|&p| view! { <option value=p.as_str() selected=p == Priority::Medium>{p.label()}</option> }).collect_view()}
                </select>
            </label>
            <label class="field">
                <span>"Actions, in order " <small class="muted">"(comma-separated)"</small></span>
                <input type="text" placeholder="Approve, Resolve" prop:value=move || actions.get() on:input=move |ev| actions.set(event_target_value(&ev)) />
            </label>
            <div class="panel-actions">
                <button class="button button-secondary button-small" data-test="happy-path" on:click=happy>"Happy path"</button>
                <button class="button button-primary button-small" data-test="run-simulation" on:click=move |_| run()>"Run"</button>
            </div>
            {outcome}
        </div>
    }
}

#[component]
fn Versions(state: EditorState) -> impl IntoView {
    let restore = Action::new(move |number: &i64| {
        let number = *number;
        let revision = state.revision.get_untracked();
        async move {
            crate::api::workflows::draft_from_version(state.workflow_id, number, revision).await
        }
    });
    let toasts = crate::components::toast::use_toasts();
    Effect::new(move |_| {
        if let Some(result) = restore.value().get() {
            match result {
                Ok(workflow) => {
                    state.load(&workflow);
                    state.fit_to_view();
                    toasts.success("The draft now starts from that version");
                }
                Err(err) => toasts.error(err.message),
            }
        }
    });
    move || {
        let versions = state.versions.get();
        if versions.is_empty() {
            return view! { <div class="panel-section"><p class="muted">"Not deployed yet: the first deploy makes version 1."</p></div> }.into_any();
        }
        let viewing = state.viewing.get();
        view! {
            <div class="panel-section">
                <ul class="version-list">
                    {versions.into_iter().map(|v| {
                        let number = v.number;
                        let who = v.deployed_by.as_ref().map(|p| p.full_name.clone()).unwrap_or_else(|| "someone".into());
                        let when = v.deployed_at.format("%Y-%m-%d %H:%M").to_string();
                        let is_viewed = viewing == Some(number);
                        view! {
                            <li class:viewed=is_viewed>
                                <div>
                                    <strong>{format!("Version {number}")}</strong>
                                    {v.is_current.then(|| view! { <span class="badge badge-green">"Running"</span> })}
                                    <div class="muted">{format!("{when} by {who}")}</div>
                                </div>
                                <div class="version-actions">
                                    {if is_viewed {
                                        view! { <button class="button button-ghost button-small" on:click=move |_| { state.viewing.set(None); state.selection.set(Selection::default()); }>"Back to the draft"</button> }.into_any()
                                    } else {
                                        view! { <button class="button button-ghost button-small" on:click=move |_| { state.viewing.set(Some(number)); state.selection.set(Selection::default()); }>"View"</button> }.into_any()
                                    }}
                                    <button class="button button-secondary button-small"
                                        title="Replace the draft with this version"
                                        on:click=move |_| { restore.dispatch(number); }>
                                        "New draft from it"
                                    </button>
                                </div>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
        }
        .into_any()
    }
}

/// The graph as a list, for screen readers and keyboard users who prefer it.
#[component]
pub fn GraphList(state: EditorState) -> impl IntoView {
    let graph = state.shown_graph();
    move || {
        graph.with(|g| {
            let items = g
                .steps
                .iter()
                .map(|step| {
                    let id = step.id;
                    let leaving: Vec<(domain::workflow::TransitionId, String)> = g
                        .transitions
                        .iter()
                        .filter(|t| t.from == id)
                        .map(|t| {
                            let to = g.step(t.to).map(|s| s.name.clone()).unwrap_or_default();
                            (t.id, format!("“{}” → {to}", t.action))
                        })
                        .collect();
                    let flags = match (step.is_start, step.is_end) {
                        (true, true) => " (start, end)",
                        (true, false) => " (start)",
                        (false, true) => " (end)",
                        _ => "",
                    };
                    let role = state
                        .role_name(step.role)
                        .unwrap_or_else(|| "no role".into());
                    let selected = move || state.selection.with(|s| s.steps.contains(&id));
                    view! {
                        <li>
                            <button class="list-step" aria-pressed=move || selected().to_string()
                                title="Select it: the panel edits it"
                                on:click=move |_| {
                                    state.selection.set(Selection::step(id));
                                    state.tab.set(PanelTab::Properties);
                                }>
                                {format!("{}{flags}", step.name)}
                            </button>
                            <span class="muted">{format!(" · {role}")}</span>
                            <ul>
                                {leaving.into_iter().map(|(transition, text)| view! {
                                    <li>
                                        <button class="list-transition"
                                            aria-pressed=move || state.selection.with(|s| s.transitions.contains(&transition)).to_string()
                                            title="Select it: the panel edits it"
                                            on:click=move |_| {
                                                state.selection.set(Selection::transition(transition));
                                                state.tab.set(PanelTab::Properties);
                                            }>
                                            {text}
                                        </button>
                                    </li>
                                }).collect_view()}
                            </ul>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <p class="muted small">"Select a step or a transition to edit it in the panel; a new step goes after the selected one."</p>
                <ol class="graph-list" aria-label="Steps and their transitions">{items}</ol>
                <button class="button button-secondary button-small" data-test="list-add-step"
                    disabled=move || state.read_only()
                    on:click=move |_| {
                        if state.add_step_in_view().is_some() {
                            state.tab.set(PanelTab::Properties);
                        }
                    }>
                    "+ Add a step"
                </button>
            }
        })
    }
}

/// The deploy confirmation: what changed since the running version, then deploy.
#[component]
pub fn DeployDialog(
    state: EditorState,
    open: RwSignal<bool>,
    on_confirm: Callback<()>,
    pending: Signal<bool>,
) -> impl IntoView {
    let summary = move || {
        match changes_since_running(state) {
        None => view! { <p>"This is the first version: new tickets of this workflow's category start on it."</p> }.into_any(),
        Some((number, lines)) => {
            let heading = format!("Changes since version {number}");
            view! {
                <h3>{heading}</h3>
                {if lines.is_empty() {
                    view! { <p class="muted">"Nothing changed: deploying makes an identical version."</p> }.into_any()
                } else {
                    view! { <ul class="diff-list">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul> }.into_any()
                }}
            }
            .into_any()
        }
    }
    };
    // Which tickets it would take from other deployed workflows, or leave to them.
    let matches = Memo::new(move |_| {
        state.draft.with(|d| MatchSet {
            category_id: d.settings.category_id,
            sub_category_id: d.settings.sub_category_id,
            department_id: d.settings.department_id,
        })
    });
    let overlaps = Resource::new(
        move || open.get().then(|| matches.get()),
        move |set| async move {
            match set {
                Some(set) => Some(workflow_overlaps(state.workflow_id, set).await),
                None => None,
            }
        },
    );
    let overlap_list = move || {
        overlaps.get().flatten().map(|result| match result {
            Ok(list) if list.is_empty() => view! {
                <p class="muted" data-test="overlaps">"No other deployed workflow takes these tickets."</p>
            }
            .into_any(),
            Ok(list) => view! {
                <h3>"Other workflows"</h3>
                <ul class="diff-list" data-test="overlaps">
                    {list.into_iter().map(|o| {
                        let line = if o.same {
                            format!("“{}” takes exactly the same tickets: change which tickets this one takes, or pause it, before deploying.", o.workflow)
                        } else if o.taken {
                            format!("Takes {} from “{}” (this one names more).", o.tickets, o.workflow)
                        } else {
                            format!("Leaves {} to “{}”, which names more.", o.tickets, o.workflow)
                        };
                        view! { <li class:overlap-taken=o.taken>{line}</li> }
                    }).collect_view()}
                </ul>
            }
            .into_any(),
            Err(err) => view! { <p class="notice notice-error">{err.message}</p> }.into_any(),
        })
    };
    view! {
        <Show when=move || open.get()>
            <div class="dialog-backdrop" on:click=move |_| open.set(false)>
                <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="deploy-title" on:click=|ev| ev.stop_propagation()>
                    <h2 id="deploy-title">"Deploy this draft?"</h2>
                    <p class="muted">"New tickets start on the new version; tickets already on a version finish on it."</p>
                    {summary}
                    <Transition fallback=|| view! { <p class="muted">"Looking for other workflows…"</p> }>
                        {overlap_list}
                    </Transition>
                    <div class="dialog-actions">
                        <button class="button button-ghost" on:click=move |_| open.set(false)>"Cancel"</button>
                        <button class="button button-primary" data-test="confirm-deploy" disabled=move || pending.get() on:click=move |_| on_confirm.run(())>
                            {move || if pending.get() { "Deploying…" } else { "Deploy" }}
                        </button>
                    </div>
                </div>
            </div>
        </Show>
    }
}

/// What the draft changes against the running version, in words, with that version's number;
/// `None` before the first deploy. Moving steps counts too ("The layout changed.").
pub fn changes_since_running(state: EditorState) -> Option<(i64, Vec<String>)> {
    let version = state.versions.with(|versions| {
        versions
            .iter()
            .find(|v| v.is_current)
            .or_else(|| versions.iter().max_by_key(|v| v.number))
            .cloned()
    })?;
    let draft = state.draft.get();
    // The version has the server's ids; so must the draft, to be compared.
    let graph = state.server_graph();
    let changes = diff(&version.graph, &graph);
    let mut lines = describe(&changes, &version.graph, &graph);
    let moved = changes
        .steps_changed
        .iter()
        .any(|c| c.fields.contains(&StepField::Position));
    if lines.is_empty() && moved {
        lines.push("The layout changed.".into());
    }
    if version.sla != draft.settings.sla {
        lines.push("The SLA changed.".into());
    }
    if version.end_logic != draft.settings.end_logic {
        lines.push("What happens at the end changed.".into());
    }
    if (
        version.category_id,
        version.sub_category_id,
        version.department_id,
    ) != (
        draft.settings.category_id,
        draft.settings.sub_category_id,
        draft.settings.department_id,
    ) {
        lines.push("Which tickets start on it changed.".into());
    }
    Some((version.number, lines))
}

/// The diff in words.
fn describe(changes: &GraphDiff, old: &WorkflowGraph, new: &WorkflowGraph) -> Vec<String> {
    let name = |g: &WorkflowGraph, id: StepId| {
        g.step(id)
            .map(|s| s.name.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let action = |g: &WorkflowGraph, id| {
        g.transition(id)
            .map(|t| format!("“{}” ({} → {})", t.action, name(g, t.from), name(g, t.to)))
            .unwrap_or_default()
    };
    let mut lines = Vec::new();
    for id in &changes.steps_added {
        lines.push(format!("Step added: {}", name(new, *id)));
    }
    for id in &changes.steps_removed {
        lines.push(format!("Step removed: {}", name(old, *id)));
    }
    for change in &changes.steps_changed {
        let fields: Vec<&str> = change
            .fields
            .iter()
            .filter(|f| **f != StepField::Position)
            .map(|f| match f {
                StepField::Name => "name",
                StepField::Instructions => "instructions",
                StepField::Role => "role",
                StepField::EscalationRole => "escalation role",
                StepField::Weight => "weight",
                StepField::IsStart => "start",
                StepField::IsEnd => "end",
                StepField::Position => "position",
            })
            .collect();
        if !fields.is_empty() {
            lines.push(format!(
                "Step changed: {} ({})",
                name(new, change.step),
                fields.join(", ")
            ));
        }
    }
    for id in &changes.transitions_added {
        lines.push(format!("Transition added: {}", action(new, *id)));
    }
    for id in &changes.transitions_removed {
        lines.push(format!("Transition removed: {}", action(old, *id)));
    }
    for change in &changes.transitions_changed {
        let fields: Vec<&str> = change
            .fields
            .iter()
            .map(|f| match f {
                TransitionField::From => "from",
                TransitionField::To => "to",
                TransitionField::Action => "label",
            })
            .collect();
        lines.push(format!(
            "Transition changed: {} ({})",
            action(new, change.transition),
            fields.join(", ")
        ));
    }
    lines
}
