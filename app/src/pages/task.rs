//! The workflow panel of a ticket's page: where the ticket is in its workflow (a progress line
//! of the steps), the current step's instructions, its SLA clocks, who holds it, what happened,
//! and — for the holder or an admin — the actions that move it on.

use chrono::{DateTime, Utc};
use domain::tasks::{ItemOrigin, StepState, Task, TaskItem, TaskItemStatus, TaskStatus};
use domain::tickets::PersonRef;
use domain::workflow::SlaState;
use domain::{AppError, ErrorKind};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::api::tasks::{
    EscalateTask, ReassignTask, RetryEndLogic, StartTaskWork, TakeTaskAction, TaskPanel,
};
use crate::components::forms::NoteVisibilityToggle;
use crate::components::icons::Icon;
use crate::components::sla::{SlaCountdown, SlaOutcome, use_ticker};
use crate::components::toast::use_toasts;
use crate::components::ui::{ErrorNotice, FieldError, Spinner, Timestamp, last_error};
use crate::pages::agent::item_status_badge;
use crate::session::use_session;

/// The panel's server actions, and a counter of the changes they made (the ticket page reloads
/// the task and the ticket when it moves).
#[derive(Clone, Copy)]
pub struct TaskActions {
    take: ServerAction<TakeTaskAction>,
    start: ServerAction<StartTaskWork>,
    escalate: ServerAction<EscalateTask>,
    reassign: ServerAction<ReassignTask>,
    retry: ServerAction<RetryEndLogic>,
    changes: RwSignal<usize>,
}

impl TaskActions {
    /// Made by the page, outside the views that show the task.
    pub fn new() -> Self {
        let actions = TaskActions {
            take: ServerAction::new(),
            start: ServerAction::new(),
            escalate: ServerAction::new(),
            reassign: ServerAction::new(),
            retry: ServerAction::new(),
            changes: RwSignal::new(0),
        };
        follow(actions.take, actions.changes);
        follow(actions.start, actions.changes);
        follow(actions.escalate, actions.changes);
        follow(actions.reassign, actions.changes);
        follow(actions.retry, actions.changes);
        actions
    }

    /// Changes so far (tracked): a resource that reads it loads again after each.
    pub fn changes(&self) -> usize {
        self.changes.get()
    }
}

impl Default for TaskActions {
    fn default() -> Self {
        Self::new()
    }
}

/// After each answer of `action`: a toast (on success the server's word of where the task is
/// now: "Sent to Manager approval — Morgan Manager"), and a reload when the task changed — also
/// when the answer is a conflict (someone else moved the task first), so the panel shows where
/// it stands now. Field errors stay beside their fields.
fn follow<S>(action: ServerAction<S>, changes: RwSignal<usize>)
where
    S: ServerFn<Output = String, Error = AppError> + Clone + Send + Sync + 'static,
{
    let toasts = use_toasts();
    Effect::new(move |previous: Option<usize>| {
        let version = action.version().get();
        if previous.is_some_and(|p| p != version) {
            match action.value().get_untracked() {
                Some(Ok(said)) => {
                    toasts.success(said);
                    changes.update(|c| *c += 1);
                }
                Some(Err(err)) if err.kind == ErrorKind::Conflict => {
                    // The services' 409s end with "Reload it…": the panel reloads by itself.
                    let reason = err
                        .message
                        .split(" Reload it")
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    toasts.error(format!(
                        "{reason} Nothing was changed; the panel now shows where the task stands."
                    ));
                    changes.update(|c| *c += 1);
                }
                Some(Err(err)) if err.details.is_empty() => toasts.error(err.message),
                _ => {}
            }
        }
        version
    });
}

type PanelResource = Resource<Result<TaskPanel, AppError>>;

/// The panel, loading on its own beside the ticket.
#[component]
pub fn WorkflowPanel(panel: PanelResource, actions: TaskActions) -> impl IntoView {
    let ticker = use_ticker();
    view! {
        <Transition fallback=|| view! {
            <section class="panel workflow-panel"><Spinner label="Loading the workflow" /></section>
        }>
            {move || panel.get().map(|result| match result {
                Ok(TaskPanel { task: Some(task), candidates, for_staff: true, now }) => {
                    view! { <TaskView task candidates now actions ticker /> }.into_any()
                }
                Ok(TaskPanel { task: Some(task), for_staff: false, .. }) => {
                    view! { <RequesterProgress task /> }.into_any()
                }
                Ok(TaskPanel { task: None, .. }) => view! {
                    <section class="panel workflow-panel workflow-waiting" data-test="workflow-waiting">
                        <span class="workflow-waiting-icon"><Icon name="workflow" /></span>
                        <div>
                            <h2 class="panel-title">"Waiting for a workflow"</h2>
                            <p class="muted">"This ticket has not entered a workflow yet. It does as soon as one matching its category and department is running; until then the helpdesk team looks at it directly."</p>
                        </div>
                    </section>
                }
                .into_any(),
                Err(err) => view! {
                    <section class="panel workflow-panel"><ErrorNotice message=err.message /></section>
                }
                .into_any(),
            })}
        </Transition>
    }
}

#[component]
fn TaskView(
    task: Task,
    candidates: Vec<PersonRef>,
    now: DateTime<Utc>,
    actions: TaskActions,
    ticker: Signal<Option<DateTime<Utc>>>,
) -> impl IntoView {
    let session = use_session();
    let me = session.user.with_untracked(|u| u.as_ref().map(|u| u.id));
    let open = task.status == TaskStatus::Open;
    let current_item = task
        .items
        .iter()
        .rev()
        .find(|i| i.status.is_open())
        .cloned();
    let holds = current_item
        .as_ref()
        .is_some_and(|i| Some(i.assignee.id) == me);
    let can_start = holds
        && current_item
            .as_ref()
            .is_some_and(|i| i.status == TaskItemStatus::New);
    let status_badge = task_status_badge(task.status);
    let assignee = match &task.assignee {
        Some(person) if Some(person.id) == me => "You".to_owned(),
        Some(person) => person.full_name.clone(),
        None if open => "Nobody yet".to_owned(),
        None => "—".to_owned(),
    };
    let step_clock = if open {
        view! {
            <SlaCountdown
                started_at=task.step_started_at
                target_at=task.step_target_at
                state=task.step_sla_state
                server_now=now
                ticker
                with_label=true
            />
        }
        .into_any()
    } else {
        view! { <span class="muted">"—"</span> }.into_any()
    };
    let task_clock = match task.completed_at {
        Some(done) => view! { <SlaOutcome target_at=task.target_at finished_at=done /> }.into_any(),
        None => view! {
            <SlaCountdown
                started_at=task.started_at
                target_at=task.target_at
                state=task.sla_state
                server_now=now
                ticker
                with_label=true
            />
        }
        .into_any(),
    };
    let has_instructions = open && !task.instructions_html.trim().is_empty();
    let may_act = open && (!task.actions.is_empty() || task.can_manage || can_start);
    view! {
        <section class="panel workflow-panel" aria-labelledby="workflow-title" data-test="workflow-panel">
            <div class="panel-header">
                <div>
                    <h2 id="workflow-title" class="panel-title">{task.workflow.name.clone()}</h2>
                    <p class="muted small">{format!("Workflow · version {}", task.version)}</p>
                </div>
                {status_badge}
            </div>
            <ProgressLine task=task.clone() />
            <dl class="workflow-facts">
                <div>
                    <dt>"Current step"</dt>
                    <dd class="strong" data-test="current-step">
                        {match task.status {
                            TaskStatus::Open => task.current_step_name.clone(),
                            TaskStatus::Completed => "Finished".to_owned(),
                            TaskStatus::Cancelled => format!("Ended at {}", task.current_step_name),
                        }}
                    </dd>
                </div>
                <div>
                    <dt>"Assignee"</dt>
                    <dd data-test="task-assignee">{assignee}</dd>
                </div>
                <div>
                    <dt>"Step clock"</dt>
                    <dd>{step_clock}</dd>
                </div>
                <div>
                    <dt>"Workflow SLA"</dt>
                    <dd>{task_clock}</dd>
                </div>
            </dl>
            <EndLogicStatus task=task.clone() retry=actions.retry />
            {has_instructions.then(|| view! {
                <div class="instructions">
                    <h3 class="subsection-title">"What to do at this step"</h3>
                    <div class="prose" inner_html=task.instructions_html.clone()></div>
                </div>
            })}
            {may_act.then(|| view! {
                <TaskControls task=task.clone() candidates can_start actions />
            })}
            <ItemHistory items=task.items.clone() />
        </section>
    }
}

/// The workflow's state, in the words used for workflows everywhere: Running, Finished,
/// Ended early.
fn task_status_badge(status: TaskStatus) -> impl IntoView {
    let class = match status {
        TaskStatus::Open => "badge badge-blue",
        TaskStatus::Completed => "badge badge-green",
        TaskStatus::Cancelled => "badge badge-gray",
    };
    view! {
        <span class=class data-test="workflow-state" data-state=status.as_str()>{status.label()}</span>
    }
}

/// The panel a requester reads: where their request is, who has it, what happens next and
/// when to expect it. Nothing written for staff reaches it (the services strip the step's
/// instructions, the notes and the end logic's outcome; the clocks are not shown).
#[component]
fn RequesterProgress(task: Task) -> impl IntoView {
    let count = task.steps.len();
    let position = task
        .steps
        .iter()
        .position(|s| matches!(s.state, StepState::Current | StepState::Stopped))
        .map_or(count, |i| i + 1);
    let next = task
        .steps
        .iter()
        .find(|s| s.state == StepState::Upcoming)
        .map(|s| s.name.clone());
    let holder = task.assignee.as_ref().map(|p| p.full_name.clone());
    // When a run that is over ended, and who had it last.
    let ended_facts = |when: &'static str| {
        view! {
            <div>
                <dt>{when}</dt>
                <dd>{task.completed_at.map(|at| view! { <Timestamp at /> })}</dd>
            </div>
            <div>
                <dt>"Last handled by"</dt>
                <dd data-test="task-assignee">{holder.clone().unwrap_or_else(|| "—".to_owned())}</dd>
            </div>
        }
        .into_any()
    };
    let (headline, facts) = match task.status {
        TaskStatus::Open => {
            let headline = match &holder {
                Some(name) => format!("{name} is on it, at the step {}.", task.current_step_name),
                None => format!(
                    "At the step {}: the help desk is finding who takes it.",
                    task.current_step_name
                ),
            };
            let expect = if task.sla_state == SlaState::Breached {
                view! {
                    <span data-test="expected-by">"Later than planned (it was due "<Timestamp at=task.target_at />"); the team has been told."</span>
                }
                .into_any()
            } else {
                view! { <span data-test="expected-by">"By "<Timestamp at=task.target_at /></span> }
                    .into_any()
            };
            let facts = view! {
                <div>
                    <dt>"Now"</dt>
                    <dd class="strong" data-test="current-step">
                        {format!("{} (step {position} of {count})", task.current_step_name)}
                    </dd>
                </div>
                <div>
                    <dt>"Who has it"</dt>
                    <dd data-test="task-assignee">{holder.clone().unwrap_or_else(|| "Being assigned".to_owned())}</dd>
                </div>
                <div>
                    <dt>"What happens next"</dt>
                    <dd data-test="next-step">{match &next {
                        Some(step) => format!("It goes on to {step}."),
                        None => "This is the last step.".to_owned(),
                    }}</dd>
                </div>
                <div>
                    <dt>"When to expect it"</dt>
                    <dd>{expect}</dd>
                </div>
            }
            .into_any();
            (headline, facts)
        }
        TaskStatus::Completed => (
            "Your request went through every step: it is done.".to_owned(),
            ended_facts("Finished"),
        ),
        TaskStatus::Cancelled => (
            format!(
                "The help desk finished your request at the step {}; the history below says why.",
                task.current_step_name
            ),
            ended_facts("Ended"),
        ),
    };
    view! {
        <section class="panel workflow-panel requester-progress" aria-labelledby="workflow-title" data-test="workflow-panel" data-view="requester">
            <div class="panel-header">
                <div>
                    <h2 id="workflow-title" class="panel-title">"Where your request is"</h2>
                    <p class="muted small">{task.workflow.name.clone()}</p>
                </div>
                {task_status_badge(task.status)}
            </div>
            <ProgressLine task=task.clone() />
            <p class="requester-headline" data-test="requester-headline">{headline}</p>
            <dl class="workflow-facts">{facts}</dl>
        </section>
    }
}

/// The steps from the start to the end: done, current, upcoming (or where it stopped).
#[component]
fn ProgressLine(task: Task) -> impl IntoView {
    let count = task.steps.len();
    view! {
        <ol class="progress-line" data-test="progress-line" aria-label="Steps">
            {task.steps.into_iter().enumerate().map(|(index, step)| {
                let (class, icon, state) = match step.state {
                    StepState::Done => ("progress-step step-done", Some("check"), "done"),
                    StepState::Current => ("progress-step step-current", None, "current step"),
                    StepState::Upcoming => ("progress-step step-upcoming", None, "upcoming"),
                    StepState::Stopped => ("progress-step step-stopped", Some("x"), "the workflow ended here"),
                };
                let current = step.state == StepState::Current;
                view! {
                    <li class=class aria-current=current.then_some("step") data-state=step.state.as_str()>
                        <span class="progress-dot" aria-hidden="true">
                            {icon.map(|name| view! { <Icon name=name /> })}
                        </span>
                        <span class="progress-name">
                            {step.name.clone()}
                            <span class="visually-hidden">{format!(", {state}, {} of {count}", index + 1)}</span>
                        </span>
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}

/// What became of the end logic (an AMS or BMS call, a notification) once the task finished,
/// with a Retry when the call failed.
#[component]
fn EndLogicStatus(task: Task, retry: ServerAction<RetryEndLogic>) -> impl IntoView {
    let what = task.end_logic.label();
    let detail = task.end_logic_detail.clone().filter(|d| !d.is_empty());
    let task_id = task.id;
    task.end_logic_status.map(|status| {
        let can_retry = matches!(status.as_str(), "failed" | "gave_up");
        let (class, icon, text) = match status.as_str() {
            "done" => ("notice notice-success", "check", format!("{what}: sent.")),
            "pending" => (
                "notice notice-info",
                "clock",
                format!("{what}: being sent."),
            ),
            "failed" => (
                "notice notice-warning",
                "refresh",
                format!("{what}: the last attempt failed; it is tried again."),
            ),
            "gave_up" => (
                "notice notice-error",
                "alert",
                format!("{what}: it could not be sent and is no longer retried."),
            ),
            other => ("notice notice-info", "clock", format!("{what}: {other}.")),
        };
        view! {
            <div class=format!("{class} end-logic") data-test="end-logic" role="status">
                <Icon name=icon />
                <div class="end-logic-text">
                    <strong>{text}</strong>
                    {detail.map(|d| view! { <p class="small">{d}</p> })}
                </div>
                {can_retry.then(|| view! {
                    <ActionForm action=retry attr:class="end-logic-retry">
                        <input type="hidden" name="task_id" value=task_id />
                        <button type="submit" class="button button-secondary button-small" disabled=retry.pending() data-test="retry-end-logic">
                            <Icon name="refresh" />
                            <span>"Retry now"</span>
                        </button>
                    </ActionForm>
                })}
            </div>
        }
    })
}

/// The actions of the current step, starting work, escalating and reassigning.
#[component]
fn TaskControls(
    task: Task,
    candidates: Vec<PersonRef>,
    can_start: bool,
    actions: TaskActions,
) -> impl IntoView {
    let task_id = task.id;
    let revision = task.revision;
    let take_error = last_error(actions.take.value());
    let escalate_error = last_error(actions.escalate.value());
    let reassign_error = last_error(actions.reassign.value());
    let busy = Signal::derive(move || {
        actions.take.pending().get()
            || actions.start.pending().get()
            || actions.escalate.pending().get()
            || actions.reassign.pending().get()
    });
    let role_name = task
        .items
        .iter()
        .rev()
        .find(|i| i.status.is_open())
        .and_then(|i| i.role.as_ref().map(|r| r.name.clone()));
    let has_actions = !task.actions.is_empty();
    view! {
        <div class="task-controls" data-test="task-controls">
            {can_start.then(|| view! {
                <ActionForm action=actions.start attr:class="task-start">
                    <input type="hidden" name="task_id" value=task_id />
                    <p class="muted small">"This step is yours. Optional: mark it started so others see someone is on it; acting below works either way."</p>
                    <button type="submit" class="button button-secondary" disabled=busy data-test="start-work">
                        <Icon name="arrow-right" />
                        <span>"Start work"</span>
                    </button>
                </ActionForm>
            })}
            {has_actions.then(|| view! {
                <ActionForm action=actions.take attr:class="form task-actions">
                    <input type="hidden" name="task_id" value=task_id />
                    <input type="hidden" name="revision" value=revision />
                    <div class="field">
                        <label for="task-notes">"Notes"</label>
                        <textarea
                            id="task-notes"
                            name="notes"
                            rows="3"
                            maxlength="4000"
                            placeholder="What you did or found (kept in the history)"
                            aria-describedby="task-notes-error"
                        ></textarea>
                        <FieldError error=take_error field="notes" id="task-notes-error" />
                        <NoteVisibilityToggle name="notes_internal" internal=true />
                    </div>
                    <div class="task-action-buttons" role="group" aria-label="Actions">
                        {task.actions.iter().enumerate().map(|(index, action)| {
                            let class = if index == 0 { "button button-primary" } else { "button button-secondary" };
                            let hint = if action.finishes {
                                format!("Finishes the workflow at {}", action.to_step_name)
                            } else {
                                format!("Moves the ticket to {}", action.to_step_name)
                            };
                            view! {
                                <button
                                    type="submit"
                                    class=class
                                    name="transition_id"
                                    value=action.transition_id.0
                                    title=hint.clone()
                                    disabled=busy
                                    data-test="task-action"
                                >
                                    <span>{action.action.clone()}</span>
                                    <span class="button-hint">
                                        {format!("→ {}", action.to_step_name)}
                                    </span>
                                </button>
                            }
                        }).collect_view()}
                    </div>
                </ActionForm>
            })}
            {task.can_manage.then(|| view! {
                <div class="task-manage">
                    <details class="ref-edit" data-test="reassign">
                        <summary>"Reassign"</summary>
                        {if candidates.is_empty() {
                            view! {
                                <p class="muted small">
                                    {match role_name.clone() {
                                        Some(role) => format!("No other active member of {role} can take it."),
                                        None => "This item was escalated to the admins; escalate it again or act on it.".to_owned(),
                                    }}
                                </p>
                            }
                            .into_any()
                        } else {
                            view! {
                                <ActionForm action=actions.reassign attr:class="form">
                                    <input type="hidden" name="task_id" value=task_id />
                                    <input type="hidden" name="revision" value=revision />
                                    <div class="field">
                                        <label for="reassign-user">
                                            {match role_name.clone() {
                                                Some(role) => format!("Hand it to a member of {role}"),
                                                None => "Hand it to".to_owned(),
                                            }}
                                        </label>
                                        <select id="reassign-user" name="user_id" required>
                                            <option value="">"Choose a person"</option>
                                            {candidates.iter().map(|p| view! {
                                                <option value=p.id>{p.full_name.clone()}</option>
                                            }).collect_view()}
                                        </select>
                                        <FieldError error=reassign_error field="user_id" />
                                    </div>
                                    <div class="field">
                                        <label for="reassign-notes">"Why"</label>
                                        <textarea id="reassign-notes" name="notes" rows="2" maxlength="4000"
                                            placeholder="Optional, kept in the history"></textarea>
                                        <FieldError error=reassign_error field="notes" />
                                    </div>
                                    <button type="submit" class="button button-secondary" disabled=busy>"Reassign"</button>
                                </ActionForm>
                            }
                            .into_any()
                        }}
                    </details>
                    <details class="ref-edit" data-test="escalate">
                        <summary>"Escalate"</summary>
                        <ActionForm action=actions.escalate attr:class="form">
                            <input type="hidden" name="task_id" value=task_id />
                            <input type="hidden" name="revision" value=revision />
                            <p class="muted small">"Hands the item to the step's escalation role, or to an admin if it has none."</p>
                            <div class="field">
                                <label for="escalate-notes">"Why"</label>
                                <textarea id="escalate-notes" name="notes" rows="2" maxlength="4000"
                                    placeholder="What is blocking it"></textarea>
                                <FieldError error=escalate_error field="notes" />
                            </div>
                            <button type="submit" class="button button-danger" disabled=busy data-test="escalate-submit">"Escalate"</button>
                        </ActionForm>
                    </details>
                </div>
            })}
        </div>
    }
}

fn origin_text(origin: ItemOrigin) -> &'static str {
    match origin {
        ItemOrigin::System => "assigned by the workflow",
        ItemOrigin::Transferred => "reassigned",
        ItemOrigin::Escalation => "escalated",
        ItemOrigin::Reopened => "given back when the ticket was reopened",
    }
}

/// Every item of the task, oldest first, with what happened to each.
#[component]
fn ItemHistory(items: Vec<TaskItem>) -> impl IntoView {
    let count = items.len();
    view! {
        <details class="item-history" open=count <= 4>
            <summary>
                <span class="subsection-title">"History"</span>
                <span class="muted small">{format!(" · {count} assignment{}", if count == 1 { "" } else { "s" })}</span>
            </summary>
            <ol class="timeline" data-test="task-history">
                {items.into_iter().map(|item| {
                    let role = item.role.as_ref().map(|r| format!(" · {}", r.name)).unwrap_or_default();
                    let events = item.history.iter().filter(|e| e.status != TaskItemStatus::New).cloned().collect::<Vec<_>>();
                    view! {
                        <li class="timeline-item">
                            <span class="timeline-dot" aria-hidden="true"></span>
                            <div class="history-item">
                                <p class="history-head">
                                    <strong>{item.step_name.clone()}</strong>
                                    <span class="muted">{format!(" · {}{role}", item.assignee.full_name)}</span>
                                    " "
                                    {item_status_badge(item.status)}
                                </p>
                                <p class="muted small">
                                    {format!("{} ", capitalise(origin_text(item.origin)))}
                                    <Timestamp at=item.assigned_at />
                                </p>
                                {events.into_iter().map(|event| {
                                    let who = event.actor.as_ref().map_or_else(|| "The system".to_owned(), |a| a.full_name.clone());
                                    view! {
                                        <div class="history-event">
                                            <p>
                                                <span>{who}</span>
                                                " "
                                                {item_status_badge(event.status)}
                                                " "
                                                <span class="muted small"><Timestamp at=event.created_at /></span>
                                            </p>
                                            {(!event.note.is_empty()).then(|| view! { <p class="timeline-note">{event.note.clone()}</p> })}
                                        </div>
                                    }
                                }).collect_view()}
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </details>
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
