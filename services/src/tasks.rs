//! The workflow engine at run time: a ticket's task on its workflow version, assignment at
//! each step (round robin or least loaded over the role's active members), acting,
//! reassigning, escalating, the SLA monitor, the triage queue, and the inbox.
//!
//! Every change happens in one transaction with its history, audit event, notifications and
//! outbox events. Two changes racing on one task are told apart by the task's `revision`: the
//! second is refused with 409, never applied on top. Round robin reads and advances the
//! role's cursor under a lock (the SQLite write transaction; `FOR UPDATE` on PostgreSQL), so
//! tickets arriving together are handed out strictly in turn.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use domain::tasks::{
    AssignmentStrategy, InboxEntry, ItemOrigin, MAX_NOTES, ReassignRequest, StepProgress,
    StepState, Task, TaskAction, TaskItem, TaskItemEvent, TaskItemStatus, TaskStatus,
    TransitionRequest, TriageEntry, TriageReason,
};
use domain::tickets::{NamedRef, PersonRef, Priority, TicketNumber, TicketStatus};
use domain::workflow::{
    self, EndLogic, SlaState, StepId, TransitionError, WorkflowGraph, allowances_for, target_at,
};
use domain::{AppError, ErrorKind, SystemRole};

use crate::audit::{self, Actor};
use crate::auth::policy::{Permission, Principal, authorize};
use crate::db::outbox::{self, OutboxEvent};
use crate::db::tasks::{self as rows, Candidate, ItemRow, NewItem, NewTask, TaskRow};
use crate::db::tickets::{self as ticket_rows, NewEvent, TicketRow};
use crate::db::workflows::{self as workflow_rows, VersionRow};
use crate::db::{Conn, Db};
use crate::error::Result;
use crate::notifications::{self, Notice};
use crate::{markdown, tickets};

/// The outbox topic of an end-logic call (AMS or BMS) waiting to be made.
pub const END_LOGIC: &str = "task.end_logic";

/// Most rows the inbox shows.
const INBOX_LIMIT: i64 = 200;

/// Most items or tasks one SLA monitor pass handles of each kind (the next pass goes on).
const MONITOR_BATCH: i64 = 500;

fn link(ticket_id: i64) -> String {
    format!("/tickets/{ticket_id}")
}

fn number(ticket_id: i64) -> String {
    TicketNumber(ticket_id).to_string()
}

fn priority_of(ticket: &TicketRow) -> Priority {
    ticket.priority.parse().unwrap_or(Priority::Medium)
}

/// Who acts, as the engine needs it.
#[derive(Clone, Copy)]
struct Acting<'a> {
    actor: Actor<'a>,
    user_id: Option<i64>,
    is_admin: bool,
}

impl<'a> Acting<'a> {
    fn of(principal: &'a Principal) -> Self {
        let user = principal.user();
        Acting {
            actor: Actor::Principal(principal),
            user_id: user.map(|u| u.user.id),
            is_admin: user.is_some_and(|u| u.user.can_act_as(SystemRole::Admin)),
        }
    }

    fn system() -> Self {
        Acting {
            actor: Actor::System,
            user_id: None,
            is_admin: false,
        }
    }
}

// ------------------------------------------------------------------ assignment

/// Picks who gets the next item of a role: the strategy over the candidates (sorted by user
/// id), in turn after `last` (the member who got the previous one).
///
/// Round robin takes the first candidate after `last`, wrapping around. Least loaded takes the
/// candidate with the fewest open items, the first in that same turn order among equals, so
/// a role whose members are equally busy is served round robin.
pub fn choose(
    candidates: &[Candidate],
    last: Option<i64>,
    strategy: AssignmentStrategy,
) -> Option<i64> {
    let after = candidates
        .iter()
        .filter(|c| last.is_none_or(|last| c.user_id > last));
    let before = candidates
        .iter()
        .filter(|c| last.is_some_and(|last| c.user_id <= last));
    let mut in_turn = after.chain(before);
    match strategy {
        AssignmentStrategy::RoundRobin => in_turn.next(),
        AssignmentStrategy::LeastLoaded => in_turn.min_by_key(|c| c.open_items),
    }
    .map(|c| c.user_id)
}

/// The member of `role_id` who gets the next item, advancing the role's cursor; `None` if the
/// role has no active member (or no longer exists).
async fn pick_from_role(
    conn: &mut Conn<'_>,
    role_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let Some(strategy) = rows::role_strategy(conn, role_id).await? else {
        return Ok(None);
    };
    let strategy = strategy.parse().unwrap_or(AssignmentStrategy::RoundRobin);
    // The cursor is locked before the members are read, so that concurrent assignments see
    // each other's choices (and least-loaded counts) in turn.
    let last = rows::lock_rotation(conn, role_id, now).await?;
    let candidates = rows::role_candidates(conn, role_id).await?;
    let Some(chosen) = choose(&candidates, last, strategy) else {
        return Ok(None);
    };
    rows::advance_rotation(conn, role_id, chosen, now).await?;
    Ok(Some(chosen))
}

/// The least busy active admin other than `except`: who an escalation without a role goes to.
async fn pick_admin(conn: &mut Conn<'_>, except: Option<i64>) -> Result<Option<i64>> {
    let admins: Vec<Candidate> = rows::admin_candidates(conn)
        .await?
        .into_iter()
        .filter(|c| Some(c.user_id) != except)
        .collect();
    Ok(choose(&admins, None, AssignmentStrategy::LeastLoaded))
}

/// What the engine knows of a task while it changes it.
struct Context {
    task_id: i64,
    ticket: TicketRow,
    version: VersionRow,
}

impl Context {
    fn graph(&self) -> &WorkflowGraph {
        &self.version.graph.0
    }

    fn step_name(&self, id: i64) -> String {
        self.graph()
            .step(StepId(id))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| format!("step {id}"))
    }

    /// The step's share of the ticket's SLA, in seconds.
    fn allowance(&self, step: StepId) -> i64 {
        let priority = priority_of(&self.ticket);
        allowances_for(self.graph(), &self.version.sla.0, priority)
            .ok()
            .and_then(|split| split.allowance(step))
            .unwrap_or(0)
    }
}

/// Sets the ticket's status and assignee as the task stands, recording what changed.
async fn update_ticket(
    conn: &mut Conn<'_>,
    ctx: &mut Context,
    status: TicketStatus,
    assignee: Option<i64>,
    actor_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    let resolved_at = status.is_done().then_some(now);
    ticket_rows::set_workflow_state(
        conn,
        ctx.ticket.id,
        status.as_str(),
        assignee,
        resolved_at,
        now,
    )
    .await?;
    if ctx.ticket.status != status.as_str() {
        ticket_rows::insert_event(
            conn,
            &NewEvent {
                ticket_id: ctx.ticket.id,
                kind: "status",
                actor_id,
                from_value: Some(&ctx.ticket.status),
                to_value: Some(status.as_str()),
                note: "",
                is_internal: false,
                now,
            },
        )
        .await?;
        ctx.ticket.status = status.as_str().to_owned();
    }
    ctx.ticket.assignee_id = assignee;
    Ok(())
}

/// A new item for `user_id` at `step`, with its history, the ticket's assignee, the user's
/// notification and the audit event.
#[allow(clippy::too_many_arguments)]
async fn give_item(
    conn: &mut Conn<'_>,
    ctx: &mut Context,
    user_id: i64,
    role_id: Option<i64>,
    step: StepId,
    origin: ItemOrigin,
    clock: (DateTime<Utc>, DateTime<Utc>),
    already_breached: bool,
    acting: Acting<'_>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (started_at, target) = clock;
    let item_id = rows::insert_item(
        conn,
        &NewItem {
            task_id: ctx.task_id,
            user_id,
            role_id,
            step_id: step.0,
            origin: origin.as_str(),
            now,
            target_at: target,
            warn_at: SlaState::warning_at(started_at, target),
            already_breached,
        },
    )
    .await?;
    rows::insert_history(
        conn,
        item_id,
        TaskItemStatus::New.as_str(),
        acting.user_id,
        origin.label(),
        now,
    )
    .await?;
    let status = if ctx.ticket.status == TicketStatus::New.as_str() {
        TicketStatus::Open
    } else {
        ctx.ticket
            .status
            .parse()
            .unwrap_or(TicketStatus::InProgress)
    };
    update_ticket(conn, ctx, status, Some(user_id), acting.user_id, now).await?;
    ticket_rows::insert_event(
        conn,
        &NewEvent {
            ticket_id: ctx.ticket.id,
            kind: "assigned",
            actor_id: acting.user_id,
            from_value: None,
            to_value: Some(&user_id.to_string()),
            note: &ctx.step_name(step.0),
            is_internal: false,
            now,
        },
    )
    .await?;
    let step_name = ctx.step_name(step.0);
    notifications::notify(
        conn,
        user_id,
        &Notice {
            kind: "task.assigned",
            title: format!("{} is yours: {}", number(ctx.ticket.id), ctx.ticket.subject),
            body: match origin {
                ItemOrigin::System => format!("Step: {step_name}"),
                ItemOrigin::Transferred => format!("Reassigned to you at step {step_name}"),
                ItemOrigin::Escalation => format!("Escalated to you at step {step_name}"),
                ItemOrigin::Reopened => format!("Reopened: back at step {step_name}"),
            },
            link: Some(link(ctx.ticket.id)),
            dedupe_key: Some(format!("task.assigned:item:{item_id}")),
        },
        now,
    )
    .await?;
    audit::record(
        conn,
        acting.actor,
        "task.assigned",
        "task",
        Some(ctx.task_id),
        None,
        Some(serde_json::json!({
            "item_id": item_id, "user_id": user_id, "role_id": role_id,
            "step_id": step.0, "origin": origin,
        })),
        now,
    )
    .await?;
    Ok(item_id)
}

/// Puts a ticket in the triage queue and tells the admins.
async fn to_triage(
    conn: &mut Conn<'_>,
    ticket: &TicketRow,
    reason: TriageReason,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    rows::add_to_triage(conn, ticket.id, reason.as_str(), detail, now).await?;
    notifications::notify_admins(
        conn,
        &Notice {
            kind: "triage.waiting",
            title: format!("{} needs triage: {}", number(ticket.id), reason.label()),
            body: detail.to_owned(),
            link: Some("/admin/triage".to_owned()),
            // A ticket may come back to triage after a retry: each time is news.
            dedupe_key: None,
        },
        now,
    )
    .await?;
    audit::record(
        conn,
        Actor::System,
        "ticket.triaged",
        "ticket",
        Some(ticket.id),
        None,
        Some(serde_json::json!({ "reason": reason, "detail": detail })),
        now,
    )
    .await?;
    Ok(())
}

/// What an admin reads in triage of a ticket sent with names TTS does not know (kept in its
/// fields by `tickets::submit_external`); `None` when it has none.
fn unknown_names_detail(fields: &str) -> Option<String> {
    let fields: serde_json::Value = serde_json::from_str(fields).ok()?;
    let names = fields
        .get(domain::tickets::UNKNOWN_NAMES_FIELD)?
        .as_object()?;
    let listed: Vec<String> = names
        .iter()
        .map(|(field, name)| {
            let field = field.replace('_', "-");
            format!("{field} '{}'", name.as_str().unwrap_or_default())
        })
        .collect();
    (!listed.is_empty()).then(|| {
        format!(
            "Sent with names TTS does not know: {}. Set them on the ticket, then try again.",
            listed.join(", ")
        )
    })
}

/// Assigns the task at `step` to the next member of the step's role; with nobody to assign,
/// the ticket goes to triage. Returns the new item's id.
async fn assign_at_step(
    conn: &mut Conn<'_>,
    ctx: &mut Context,
    step: StepId,
    now: DateTime<Utc>,
    acting: Acting<'_>,
) -> Result<Option<i64>> {
    let role = ctx.graph().step(step).and_then(|s| s.role);
    let chosen = match role {
        Some(role) => pick_from_role(conn, role, now).await?,
        None => None,
    };
    let Some(user_id) = chosen else {
        let detail = format!(
            "Step '{}' of workflow '{}': its role has no active member.",
            ctx.step_name(step.0),
            ctx.version.workflow_name
        );
        let status = if ctx.ticket.status == TicketStatus::New.as_str() {
            TicketStatus::Open
        } else {
            TicketStatus::InProgress
        };
        update_ticket(conn, ctx, status, None, acting.user_id, now).await?;
        to_triage(conn, &ctx.ticket, TriageReason::NoAssignee, &detail, now).await?;
        return Ok(None);
    };
    let target = target_at(now, ctx.allowance(step));
    let item = give_item(
        conn,
        ctx,
        user_id,
        role,
        step,
        ItemOrigin::System,
        (now, target),
        false,
        acting,
        now,
    )
    .await?;
    Ok(Some(item))
}

/// How a ticket comes to be routed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routing {
    /// Its `ticket.created` event: a ticket sent with names TTS does not know waits in triage.
    New,
    /// An admin's "Try again" from triage: routed by what the ticket names now (the admin may
    /// have set its category meanwhile, or chosen to let the catch-all workflow take it).
    Retried,
}

/// Starts the ticket's task on the deployed workflow that fits it most specifically, and
/// assigns the start step; with no workflow, the ticket waits in triage. Does nothing if the
/// ticket has a task already (a redelivered event).
pub(crate) async fn start_for_ticket(
    conn: &mut Conn<'_>,
    ticket_id: i64,
    routing: Routing,
    now: DateTime<Utc>,
) -> Result<()> {
    if rows::find_by_ticket(conn, ticket_id).await?.is_some() {
        return Ok(());
    }
    let Some(ticket) = ticket_rows::find(conn, ticket_id).await? else {
        return Ok(()); // deleted meanwhile
    };
    if ticket
        .status
        .parse::<TicketStatus>()
        .is_ok_and(TicketStatus::is_done)
    {
        return Ok(()); // resolved before its event was taken: nothing to route
    }
    if routing == Routing::New
        && let Some(detail) = unknown_names_detail(&ticket.fields)
    {
        return to_triage(conn, &ticket, TriageReason::UnknownNames, &detail, now).await;
    }
    let versions = workflow_rows::matching_versions(
        conn,
        ticket.category_id,
        ticket.sub_category_id,
        ticket.department_id,
    )
    .await?;
    let Some(version) = versions.into_iter().next() else {
        return to_triage(
            conn,
            &ticket,
            TriageReason::NoWorkflow,
            "No deployed workflow matches its category, sub-category and department.",
            now,
        )
        .await;
    };
    let graph = &version.graph.0;
    let priority = priority_of(&ticket);
    let (start, split) = match (
        graph.start_step(),
        allowances_for(graph, &version.sla.0, priority),
    ) {
        (Ok(start), Ok(split)) => (start.id, split),
        // Deployment validates both; a version that fails them cannot take tickets.
        (Err(err), _) => {
            let detail = format!("Workflow '{}': {err}", version.workflow_name);
            return to_triage(conn, &ticket, TriageReason::NoWorkflow, &detail, now).await;
        }
        (_, Err(err)) => {
            let detail = format!("Workflow '{}': {err}", version.workflow_name);
            return to_triage(conn, &ticket, TriageReason::NoWorkflow, &detail, now).await;
        }
    };
    let target = target_at(now, split.total_seconds);
    let step_target = target_at(now, split.allowance(start).unwrap_or(split.total_seconds));
    let Some(task_id) = rows::insert(
        conn,
        &NewTask {
            ticket_id,
            workflow_version_id: version.id,
            step_id: start.0,
            sla_seconds: split.total_seconds,
            now,
            target_at: target,
            warn_at: SlaState::warning_at(now, target),
            step_target_at: step_target,
        },
    )
    .await?
    else {
        return Ok(());
    };
    rows::resolve_triage(conn, ticket_id, None, now).await?;
    audit::record(
        conn,
        Actor::System,
        "task.created",
        "task",
        Some(task_id),
        None,
        Some(serde_json::json!({
            "ticket_id": ticket_id, "workflow_id": version.workflow_id,
            "version": version.number, "step_id": start.0, "target_at": target,
        })),
        now,
    )
    .await?;
    ticket_rows::insert_event(
        conn,
        &NewEvent {
            ticket_id,
            kind: "workflow",
            actor_id: None,
            from_value: None,
            to_value: Some(&version.workflow_name),
            note: "",
            is_internal: false,
            now,
        },
    )
    .await?;
    let mut ctx = Context {
        task_id,
        ticket,
        version,
    };
    assign_at_step(conn, &mut ctx, start, now, Acting::system()).await?;
    Ok(())
}

// ------------------------------------------------------------------ reading

/// The steps for the progress line: the steps visited so far (in order of first visit), the
/// current one, then (while the task runs) the shortest way on to an end step. A finished
/// task's last step is done; where a task ended early is "stopped", with nothing ahead.
fn progress(
    graph: &WorkflowGraph,
    visited: &[i64],
    current: StepId,
    status: TaskStatus,
) -> Vec<StepProgress> {
    let mut seen = HashSet::new();
    let mut line = Vec::new();
    for id in visited.iter().copied().map(StepId) {
        if id != current && seen.insert(id) {
            line.push((id, StepState::Done));
        }
    }
    seen.insert(current);
    line.push((
        current,
        match status {
            TaskStatus::Open => StepState::Current,
            TaskStatus::Completed => StepState::Done,
            TaskStatus::Cancelled => StepState::Stopped,
        },
    ));
    if status == TaskStatus::Open {
        // Breadth first from the current step over everything reachable; the way shown leads
        // to the first end step of the graph that can be reached (workflows list their usual
        // outcome first), by the fewest steps.
        let mut came_from = std::collections::HashMap::new();
        let mut queue = VecDeque::from([current]);
        let mut explored = HashSet::from([current]);
        while let Some(step) = queue.pop_front() {
            for t in workflow::available_actions(graph, step) {
                if explored.insert(t.to) {
                    came_from.insert(t.to, step);
                    queue.push_back(t.to);
                }
            }
        }
        let reached = graph
            .steps
            .iter()
            .find(|s| s.is_end && s.id != current && explored.contains(&s.id))
            .map(|s| s.id);
        let mut ahead = Vec::new();
        let mut at = reached;
        while let Some(step) = at {
            if step == current {
                break;
            }
            ahead.push(step);
            at = came_from.get(&step).copied();
        }
        for step in ahead.into_iter().rev() {
            if seen.insert(step) {
                line.push((step, StepState::Upcoming));
            }
        }
    }
    line.into_iter()
        .filter_map(|(id, state)| {
            graph.step(id).map(|s| StepProgress {
                id,
                name: s.name.clone(),
                is_end: s.is_end,
                state,
            })
        })
        .collect()
}

fn person(id: i64, full_name: String, email: String) -> PersonRef {
    PersonRef {
        id,
        full_name,
        email,
    }
}

async fn view(
    conn: &mut Conn<'_>,
    task: TaskRow,
    acting: Acting<'_>,
    now: DateTime<Utc>,
) -> Result<Task> {
    let ticket = ticket_rows::find(conn, task.ticket_id)
        .await?
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    let version = workflow_rows::find_version(conn, task.workflow_version_id)
        .await?
        .ok_or_else(|| AppError::not_found("Workflow version"))?;
    let graph = &version.graph.0;
    let items = rows::items(conn, task.id).await?;
    let history = rows::history(conn, task.id).await?;
    let status: TaskStatus = task.status.parse().unwrap_or(TaskStatus::Open);
    let current = StepId(task.current_step_id);
    let open_item = items
        .iter()
        .rev()
        .find(|i| i.status.parse().is_ok_and(TaskItemStatus::is_open));
    let holds = open_item.is_some_and(|i| Some(i.user_id) == acting.user_id);
    let may_act = status == TaskStatus::Open && open_item.is_some() && (holds || acting.is_admin);
    let step_name = |id: i64| {
        graph
            .step(StepId(id))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| format!("step {id}"))
    };
    let actions = if may_act {
        workflow::available_actions(graph, current)
            .into_iter()
            .map(|t| TaskAction {
                transition_id: t.id,
                action: t.action.clone(),
                to_step_id: t.to,
                to_step_name: step_name(t.to.0),
                finishes: graph.step(t.to).is_some_and(|s| s.is_end),
            })
            .collect()
    } else {
        Vec::new()
    };
    let visited: Vec<i64> = items.iter().map(|i| i.step_id).collect();
    let steps = progress(graph, &visited, current, status);
    let instructions_html = graph
        .step(current)
        .map(|s| markdown::render(&s.instructions))
        .unwrap_or_default();
    // Once the task ended, who had it last: the ticket's assignee, as the details say.
    let holder = if status == TaskStatus::Open {
        open_item
    } else {
        items.last()
    };
    let assignee = holder.map(|i| person(i.user_id, i.user_name.clone(), i.user_email.clone()));
    let items = items
        .into_iter()
        .map(|i| TaskItem {
            id: i.id,
            assignee: person(i.user_id, i.user_name, i.user_email),
            role: i
                .role_id
                .zip(i.role_name)
                .map(|(id, name)| NamedRef { id, name }),
            step_id: StepId(i.step_id),
            step_name: step_name(i.step_id),
            origin: i.origin.parse().unwrap_or(ItemOrigin::System),
            status: i.status.parse().unwrap_or(TaskItemStatus::New),
            notes: i.notes,
            assigned_at: i.assigned_at,
            target_at: i.target_at,
            acted_at: i.acted_at,
            history: history
                .iter()
                .filter(|h| h.task_item_id == i.id)
                .map(|h| TaskItemEvent {
                    status: h.status.parse().unwrap_or(TaskItemStatus::New),
                    actor: match (h.actor_id, &h.actor_name, &h.actor_email) {
                        (Some(id), Some(name), Some(email)) => {
                            Some(person(id, name.clone(), email.clone()))
                        }
                        _ => None,
                    },
                    note: h.note.clone(),
                    created_at: h.created_at,
                })
                .collect(),
        })
        .collect();
    let clock_state = |start, target| {
        if status == TaskStatus::Completed {
            SlaState::OnTrack
        } else {
            SlaState::at(start, target, now)
        }
    };
    Ok(Task {
        id: task.id,
        ticket_id: ticket.id,
        ticket_number: number(ticket.id),
        ticket_subject: ticket.subject.clone(),
        ticket_status: ticket.status.parse().unwrap_or(TicketStatus::Open),
        priority: priority_of(&ticket),
        workflow: NamedRef {
            id: version.workflow_id,
            name: version.workflow_name.clone(),
        },
        version: version.number,
        status,
        revision: task.revision,
        current_step_id: current,
        current_step_name: step_name(current.0),
        instructions_html,
        started_at: task.started_at,
        target_at: task.target_at,
        sla_state: clock_state(task.started_at, task.target_at),
        step_started_at: task.step_started_at,
        step_target_at: task.step_target_at,
        step_sla_state: clock_state(task.step_started_at, task.step_target_at),
        completed_at: task.completed_at,
        end_logic: version.end_logic.parse().unwrap_or(EndLogic::None),
        end_logic_status: task.end_logic_status,
        end_logic_detail: task.end_logic_detail,
        steps,
        assignee,
        actions,
        can_manage: may_act,
        items,
    })
}

/// The task's row, if the caller may see its ticket; 404 otherwise (whether the task exists
/// or not).
async fn find_visible(db: &Db, principal: &Principal, id: i64) -> Result<TaskRow> {
    let task = {
        let mut pooled = db.acquire().await?;
        rows::find(&mut pooled.conn(), id).await?
    }
    .ok_or_else(|| AppError::not_found("Task"))?;
    tickets::get(db, principal, task.ticket_id)
        .await
        .map_err(|_| AppError::not_found("Task"))?;
    Ok(task)
}

/// A task, if the caller may see its ticket (or holds one of its items).
pub async fn get(db: &Db, principal: &Principal, id: i64, now: DateTime<Utc>) -> Result<Task> {
    // The right to read tickets first: a caller without it learns nothing of which tasks exist.
    authorize(principal, Permission::ViewTickets)?;
    let task = find_visible(db, principal, id).await?;
    let mut pooled = db.acquire().await?;
    let task = view(&mut pooled.conn(), task, Acting::of(principal), now).await?;
    Ok(as_seen_by(principal, task))
}

/// What of a task `principal` may read: staff (who read internal notes) everything; the
/// requester and integrations not the staff's instructions, notes and end-logic answers.
fn as_seen_by(principal: &Principal, task: Task) -> Task {
    if crate::comments::sees_internal(principal) {
        task
    } else {
        task.without_staff_detail()
    }
}

/// The task of a ticket the caller may see; `None` if the ticket has none (yet).
pub async fn for_ticket(
    db: &Db,
    principal: &Principal,
    ticket_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Task>> {
    tickets::get(db, principal, ticket_id).await?;
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    match rows::find_by_ticket(&mut conn, ticket_id).await? {
        Some(task) => Ok(Some(as_seen_by(
            principal,
            view(&mut conn, task, Acting::of(principal), now).await?,
        ))),
        None => Ok(None),
    }
}

/// Which open items the inbox lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboxScope {
    /// Assigned to the caller.
    Mine,
    /// Assigned to the caller or to anyone in the caller's roles.
    MineAndRoles,
}

/// The caller's inbox, most urgent first.
pub async fn inbox(
    db: &Db,
    principal: &Principal,
    scope: InboxScope,
    now: DateTime<Utc>,
) -> Result<Vec<InboxEntry>> {
    authorize(principal, Permission::WorkTasks)?;
    let Some(user_id) = principal.user().map(|u| u.user.id) else {
        return Err(AppError::forbidden().into());
    };
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let roles = match scope {
        InboxScope::Mine => Vec::new(),
        InboxScope::MineAndRoles => rows::roles_of(&mut conn, user_id).await?,
    };
    let found = rows::inbox(&mut conn, user_id, &roles, INBOX_LIMIT).await?;
    let mut graphs: std::collections::HashMap<i64, WorkflowGraph> = Default::default();
    let mut entries = Vec::with_capacity(found.len());
    for row in found {
        if !graphs.contains_key(&row.version_id)
            && let Some(v) = workflow_rows::find_version(&mut conn, row.version_id).await?
        {
            graphs.insert(row.version_id, v.graph.0);
        }
        let step_name = graphs
            .get(&row.version_id)
            .and_then(|g| g.step(StepId(row.step_id)))
            .map(|s| s.name.clone())
            .unwrap_or_default();
        entries.push(InboxEntry {
            task_id: row.task_id,
            item_id: row.item_id,
            ticket_id: row.ticket_id,
            ticket_number: number(row.ticket_id),
            subject: row.subject,
            priority: row.priority.parse().unwrap_or(Priority::Medium),
            workflow_name: row.workflow_name,
            step_name,
            mine: row.user_id == user_id,
            assignee: person(row.user_id, row.user_name, row.user_email),
            item_status: row.item_status.parse().unwrap_or(TaskItemStatus::New),
            assigned_at: row.assigned_at,
            target_at: row.target_at,
            sla_state: SlaState::at(row.assigned_at, row.target_at, now),
        });
    }
    Ok(entries)
}

// ------------------------------------------------------------------ acting

/// The task and its current item, locked for a change by `acting`: refused if the task is
/// done, moved since `revision`, held by nobody, or held by someone else.
async fn load_for_change(
    conn: &mut Conn<'_>,
    id: i64,
    revision: Option<i64>,
    acting: Acting<'_>,
) -> Result<(TaskRow, Context, ItemRow)> {
    let task = rows::find(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("Task"))?;
    if task.status != TaskStatus::Open.as_str() {
        let how = if task.status == TaskStatus::Cancelled.as_str() {
            "was ended early"
        } else {
            "is completed"
        };
        return Err(
            AppError::conflict(format!("This task {how}: it takes no more actions.")).into(),
        );
    }
    if revision.is_some_and(|r| r != task.revision) {
        return Err(AppError::conflict(
            "This task changed since you loaded it (someone acted on it). Reload it and try again.",
        )
        .into());
    }
    let item = rows::open_item(conn, id).await?.ok_or_else(|| {
        AppError::conflict("Nobody holds this task: an admin must assign it from the triage queue.")
    })?;
    if Some(item.user_id) != acting.user_id && !acting.is_admin {
        return Err(AppError::new(
            ErrorKind::Forbidden,
            format!("This task is assigned to {}.", item.user_name),
        )
        .into());
    }
    let ticket = ticket_rows::find(conn, task.ticket_id)
        .await?
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    let version = workflow_rows::find_version(conn, task.workflow_version_id)
        .await?
        .ok_or_else(|| AppError::not_found("Workflow version"))?;
    let ctx = Context {
        task_id: task.id,
        ticket,
        version,
    };
    Ok((task, ctx, item))
}

fn check_notes(notes: &str) -> Result<&str> {
    let notes = notes.trim();
    if notes.chars().count() > MAX_NOTES {
        return Err(AppError::invalid_field(
            "notes",
            format!("must be at most {MAX_NOTES} characters"),
        )
        .into());
    }
    Ok(notes)
}

fn moved_meanwhile() -> AppError {
    AppError::conflict(
        "This task moved on since this action was offered (someone acted on it). Reload it.",
    )
}

/// Before anything is looked up: the caller must be someone who works tasks, and a ticket
/// they cannot see is a task that does not exist for them.
async fn check_caller(db: &Db, principal: &Principal, task_id: i64) -> Result<()> {
    authorize(principal, Permission::WorkTasks)?;
    let ticket_id = {
        let mut pooled = db.acquire().await?;
        rows::find(&mut pooled.conn(), task_id)
            .await?
            .map(|t| t.ticket_id)
    }
    .ok_or_else(|| AppError::not_found("Task"))?;
    let held = {
        let mut pooled = db.acquire().await?;
        rows::open_item(&mut pooled.conn(), task_id)
            .await?
            .map(|i| i.user_id)
    };
    if held.is_some() && held == principal.user().map(|u| u.user.id) {
        return Ok(());
    }
    tickets::get(db, principal, ticket_id)
        .await
        .map_err(|_| AppError::not_found("Task"))?;
    Ok(())
}

/// Takes a transition at the task's current step: the item is resolved, the task moves to the
/// next step and is assigned there, or completes at an end step (the ticket is resolved and
/// the end logic runs).
pub async fn transition(
    db: &Db,
    principal: &Principal,
    id: i64,
    request: &TransitionRequest,
    now: DateTime<Utc>,
) -> Result<Task> {
    check_caller(db, principal, id).await?;
    let notes = check_notes(&request.notes)?;
    let acting = Acting::of(principal);
    let mut tx = db.begin().await?;
    let conn = &mut tx.conn();
    let (task, mut ctx, item) = load_for_change(conn, id, request.revision, acting).await?;
    let current = StepId(task.current_step_id);
    let taken = match workflow::apply_transition(ctx.graph(), current, request.transition_id) {
        Ok(t) => t.clone(),
        Err(TransitionError::UnknownTransition { .. }) => {
            return Err(AppError::invalid_field(
                "transition_id",
                "is not a transition of this task's workflow",
            )
            .into());
        }
        Err(TransitionError::NotFromStep { .. }) => return Err(moved_meanwhile().into()),
        Err(err) => return Err(AppError::conflict(err.to_string()).into()),
    };
    let to = taken.to;
    let to_is_end = ctx.graph().step(to).is_some_and(|s| s.is_end);
    let step_target = target_at(now, ctx.allowance(to));
    if !rows::move_to(conn, id, task.revision, to.0, step_target, now).await? {
        return Err(moved_meanwhile().into());
    }
    if !rows::close_item(conn, item.id, TaskItemStatus::Resolved.as_str(), notes, now).await? {
        return Err(moved_meanwhile().into());
    }
    // The action's name is no note: only what the person wrote can be staff-only.
    let notes_internal = request.notes_internal && !notes.is_empty();
    let note = if notes.is_empty() {
        taken.action.clone()
    } else {
        format!("{}: {notes}", taken.action)
    };
    rows::insert_history(
        conn,
        item.id,
        TaskItemStatus::Resolved.as_str(),
        acting.user_id,
        &note,
        now,
    )
    .await?;
    ticket_rows::insert_event(
        conn,
        &NewEvent {
            ticket_id: ctx.ticket.id,
            kind: "action",
            actor_id: acting.user_id,
            from_value: Some(&ctx.step_name(current.0)),
            to_value: Some(&ctx.step_name(to.0)),
            note: &note,
            is_internal: notes_internal,
            now,
        },
    )
    .await?;
    audit::record(
        conn,
        acting.actor,
        "task.transitioned",
        "task",
        Some(id),
        Some(serde_json::json!({ "step_id": current.0, "step": ctx.step_name(current.0), "revision": task.revision })),
        Some(serde_json::json!({
            "step_id": to.0, "step": ctx.step_name(to.0), "action": taken.action,
            "transition_id": taken.id, "notes": notes,
        })),
        now,
    )
    .await?;
    if to_is_end {
        complete(conn, &mut ctx, acting, now).await?;
    } else {
        if ctx.ticket.status != TicketStatus::InProgress.as_str() {
            let assignee = ctx.ticket.assignee_id;
            update_ticket(
                conn,
                &mut ctx,
                TicketStatus::InProgress,
                assignee,
                acting.user_id,
                now,
            )
            .await?;
        }
        assign_at_step(conn, &mut ctx, to, now, acting).await?;
    }
    tx.commit().await?;
    get(db, principal, id, now).await
}

/// The task reached an end step: it completes, the ticket is resolved, and the end logic is
/// started (a call to AMS or BMS through the outbox, or the requester's notification).
async fn complete(
    conn: &mut Conn<'_>,
    ctx: &mut Context,
    acting: Acting<'_>,
    now: DateTime<Utc>,
) -> Result<()> {
    let end_logic: EndLogic = ctx.version.end_logic.parse().unwrap_or(EndLogic::None);
    let end_status = match end_logic {
        EndLogic::Asset | EndLogic::Budget => Some("pending"),
        EndLogic::Notification => Some("done"),
        EndLogic::None => None,
    };
    // End logic runs once per task: a task completing again after its ticket was reopened
    // calls no system a second time.
    let first_completion = rows::find(conn, ctx.task_id)
        .await?
        .is_some_and(|task| task.end_logic_status.is_none());
    rows::complete(conn, ctx.task_id, end_status, now).await?;
    // The last holder stays the ticket's assignee: who resolved it.
    let assignee = ctx.ticket.assignee_id;
    update_ticket(
        conn,
        ctx,
        TicketStatus::Resolved,
        assignee,
        acting.user_id,
        now,
    )
    .await?;
    match end_logic {
        _ if !first_completion => {}
        EndLogic::Asset | EndLogic::Budget => {
            outbox::enqueue_many(
                conn,
                &[OutboxEvent {
                    event_key: format!("{END_LOGIC}:{}", ctx.task_id),
                    topic: END_LOGIC,
                    payload: serde_json::json!({ "task_id": ctx.task_id }).to_string(),
                    now,
                }],
            )
            .await?;
        }
        EndLogic::Notification => {
            notifications::notify(
                conn,
                ctx.ticket.requester_id,
                &Notice {
                    kind: "ticket.resolved",
                    title: format!(
                        "{} is resolved: {}",
                        number(ctx.ticket.id),
                        ctx.ticket.subject
                    ),
                    body: format!("Your request went through '{}'.", ctx.version.workflow_name),
                    link: Some(link(ctx.ticket.id)),
                    dedupe_key: Some(format!("ticket.resolved:task:{}", ctx.task_id)),
                },
                now,
            )
            .await?;
        }
        EndLogic::None => {}
    }
    audit::record(
        conn,
        acting.actor,
        "task.completed",
        "task",
        Some(ctx.task_id),
        None,
        Some(serde_json::json!({ "end_logic": end_logic, "ticket_status": "resolved" })),
        now,
    )
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ ended and resumed by hand

/// The task's workflow and current step, by name (empty if its version is gone).
async fn where_task_is(conn: &mut Conn<'_>, task: &TaskRow) -> Result<(String, String)> {
    Ok(
        match workflow_rows::find_version(conn, task.workflow_version_id).await? {
            Some(version) => {
                let step = version
                    .graph
                    .0
                    .step(StepId(task.current_step_id))
                    .map_or_else(String::new, |s| s.name.clone());
                (version.workflow_name, step)
            }
            None => (String::new(), String::new()),
        },
    )
}

/// What a running task is doing, for a person about to end it: "'IT hardware request' is at
/// the step 'Manager approval', with Morgan Manager".
pub(crate) async fn describe_running(conn: &mut Conn<'_>, task: &TaskRow) -> Result<String> {
    let (workflow, step) = where_task_is(conn, task).await?;
    let holder = rows::open_item(conn, task.id).await?;
    Ok(match holder {
        Some(item) => format!(
            "'{workflow}' is at the step '{step}', with {}",
            item.user_name
        ),
        None => format!("'{workflow}' is at the step '{step}', waiting in triage"),
    })
}

/// A person resolved or closed the ticket while its workflow ran (having confirmed it): the
/// task ends, "cancelled", with its open item, so its clocks stop and it leaves the inbox.
/// The ticket keeps its assignee: who had it when it ended.
pub(crate) async fn end_by_hand(
    conn: &mut Conn<'_>,
    task: &TaskRow,
    status: TicketStatus,
    principal: &Principal,
    note: &str,
    note_internal: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let acting = Acting::of(principal);
    if !rows::cancel(conn, task.id, now).await? {
        return Err(moved_meanwhile().into());
    }
    let (_, step) = where_task_is(conn, task).await?;
    let ended = format!(
        "The workflow was ended: the ticket was {} by hand.",
        status.label().to_lowercase()
    );
    if let Some(item) = rows::open_item(conn, task.id).await? {
        rows::close_item(
            conn,
            item.id,
            TaskItemStatus::Cancelled.as_str(),
            &item.notes,
            now,
        )
        .await?;
        rows::insert_history(
            conn,
            item.id,
            TaskItemStatus::Cancelled.as_str(),
            acting.user_id,
            &ended,
            now,
        )
        .await?;
    }
    ticket_rows::insert_event(
        conn,
        &NewEvent {
            ticket_id: task.ticket_id,
            kind: "workflow_ended",
            actor_id: acting.user_id,
            from_value: Some(&step),
            to_value: Some(status.as_str()),
            note,
            is_internal: note_internal,
            now,
        },
    )
    .await?;
    audit::record(
        conn,
        acting.actor,
        "task.cancelled",
        "task",
        Some(task.id),
        Some(
            serde_json::json!({ "status": "open", "step_id": task.current_step_id, "step": step }),
        ),
        Some(serde_json::json!({ "status": "cancelled", "ticket_status": status, "note": note })),
        now,
    )
    .await?;
    Ok(())
}

/// A resolved or closed ticket opened again: its ended task runs again.
///
/// It resumes where it stopped: at the step it was ended at by hand, or, if it reached an end
/// step, at the step whose action ended it (the last step worked). The person who held that
/// step gets it back if they still may (an active member of the step's role); otherwise the
/// role's strategy picks someone, as for any step. The step and the task start fresh clocks:
/// the time the ticket spent done is not counted against anyone. See docs/workflow-engine.md.
pub(crate) async fn resume(
    conn: &mut Conn<'_>,
    task: &TaskRow,
    principal: &Principal,
    now: DateTime<Utc>,
) -> Result<()> {
    let acting = Acting::of(principal);
    let version = workflow_rows::find_version(conn, task.workflow_version_id)
        .await?
        .ok_or_else(|| AppError::not_found("Workflow version"))?;
    let ticket = ticket_rows::find(conn, task.ticket_id)
        .await?
        .ok_or_else(|| AppError::not_found("Ticket"))?;
    let items = rows::items(conn, task.id).await?;
    let graph = &version.graph.0;
    let is_work_step = |id: i64| graph.step(StepId(id)).is_some_and(|s| !s.is_end);
    let step = if is_work_step(task.current_step_id) {
        StepId(task.current_step_id)
    } else {
        match items.iter().rev().find(|i| is_work_step(i.step_id)) {
            Some(item) => StepId(item.step_id),
            None => graph
                .start_step()
                .map(|s| s.id)
                .map_err(|e| AppError::conflict(e.to_string()))?,
        }
    };
    let mut ctx = Context {
        task_id: task.id,
        ticket,
        version,
    };
    let step_target = target_at(now, ctx.allowance(step));
    let task_target = target_at(now, task.sla_seconds);
    let resumed = rows::Resumed {
        step_id: step.0,
        now,
        target_at: task_target,
        warn_at: SlaState::warning_at(now, task_target),
        step_target_at: step_target,
    };
    if !rows::resume(conn, task.id, &resumed).await? {
        return Err(moved_meanwhile().into());
    }
    let step_name = ctx.step_name(step.0);
    ticket_rows::insert_event(
        conn,
        &NewEvent {
            ticket_id: ctx.ticket.id,
            kind: "workflow_resumed",
            actor_id: acting.user_id,
            from_value: None,
            to_value: Some(&step_name),
            note: "",
            is_internal: false,
            now,
        },
    )
    .await?;
    audit::record(
        conn,
        acting.actor,
        "task.resumed",
        "task",
        Some(task.id),
        Some(serde_json::json!({ "status": task.status, "step_id": task.current_step_id })),
        Some(serde_json::json!({ "status": "open", "step_id": step.0, "step": step_name })),
        now,
    )
    .await?;
    let role = ctx.graph().step(step).and_then(|s| s.role);
    let previous = items.iter().rev().find(|i| i.step_id == step.0);
    let keeper = match (previous, role) {
        (Some(item), Some(role)) if rows::is_active_member(conn, role, item.user_id).await? => {
            Some(item.user_id)
        }
        _ => None,
    };
    match keeper {
        Some(user_id) => {
            give_item(
                conn,
                &mut ctx,
                user_id,
                role,
                step,
                ItemOrigin::Reopened,
                (now, step_target),
                false,
                acting,
                now,
            )
            .await?;
        }
        None => {
            assign_at_step(conn, &mut ctx, step, now, acting).await?;
        }
    }
    Ok(())
}

/// Hands the current item to another active member of its role (of the admins, for an item
/// escalated to them).
pub async fn reassign(
    db: &Db,
    principal: &Principal,
    id: i64,
    request: &ReassignRequest,
    now: DateTime<Utc>,
) -> Result<Task> {
    check_caller(db, principal, id).await?;
    let notes = check_notes(&request.notes)?;
    let acting = Acting::of(principal);
    let mut tx = db.begin().await?;
    let conn = &mut tx.conn();
    let (task, mut ctx, item) = load_for_change(conn, id, request.revision, acting).await?;
    if request.user_id == item.user_id {
        return Err(AppError::invalid_field("user_id", "already holds this task").into());
    }
    let allowed = match item.role_id {
        Some(role) => rows::is_active_member(conn, role, request.user_id).await?,
        None => rows::admin_candidates(conn)
            .await?
            .iter()
            .any(|c| c.user_id == request.user_id),
    };
    if !allowed {
        let whose = item.role_name.clone().map_or_else(
            || "an active admin".to_owned(),
            |name| format!("an active member of the role '{name}'"),
        );
        return Err(AppError::invalid_field("user_id", format!("is not {whose}")).into());
    }
    if !rows::bump(conn, id, task.revision, now).await? {
        return Err(moved_meanwhile().into());
    }
    rows::close_item(
        conn,
        item.id,
        TaskItemStatus::Reassigned.as_str(),
        notes,
        now,
    )
    .await?;
    rows::insert_history(
        conn,
        item.id,
        TaskItemStatus::Reassigned.as_str(),
        acting.user_id,
        notes,
        now,
    )
    .await?;
    let breached = item.status == TaskItemStatus::Breached.as_str();
    let new_item = give_item(
        conn,
        &mut ctx,
        request.user_id,
        item.role_id,
        StepId(item.step_id),
        ItemOrigin::Transferred,
        (item.assigned_at, item.target_at),
        breached,
        acting,
        now,
    )
    .await?;
    audit::record(
        conn,
        acting.actor,
        "task.reassigned",
        "task",
        Some(id),
        Some(serde_json::json!({ "item_id": item.id, "user_id": item.user_id })),
        Some(
            serde_json::json!({ "item_id": new_item, "user_id": request.user_id, "notes": notes }),
        ),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, principal, id, now).await
}

/// Hands `item` up: to the next member of the step's escalation role, or to the least busy
/// admin if the step has none, it has no other active member, or the item is already with
/// it. Returns the new holder, or `None` if there is nobody to take it.
async fn escalate_item(
    conn: &mut Conn<'_>,
    ctx: &mut Context,
    item: &ItemRow,
    notes: &str,
    at_breach: bool,
    acting: Acting<'_>,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let escalation_role = ctx
        .graph()
        .step(StepId(item.step_id))
        .and_then(|s| s.escalation_role);
    // Escalation goes up, never around: from the step's role to its escalation role, from
    // there to the admins, and from the admins nowhere.
    if item.role_id.is_none() && item.origin == ItemOrigin::Escalation.as_str() {
        return Ok(None);
    }
    let mut chosen = None;
    if let Some(role) = escalation_role
        && item.role_id != Some(role)
    {
        chosen = pick_from_role(conn, role, now)
            .await?
            .filter(|user| *user != item.user_id)
            .map(|user| (user, Some(role)));
    }
    if chosen.is_none() {
        chosen = pick_admin(conn, Some(item.user_id))
            .await?
            .map(|user| (user, None));
    }
    let Some((user_id, role_id)) = chosen else {
        return Ok(None);
    };
    rows::close_item(
        conn,
        item.id,
        TaskItemStatus::Escalated.as_str(),
        notes,
        now,
    )
    .await?;
    rows::insert_history(
        conn,
        item.id,
        TaskItemStatus::Escalated.as_str(),
        acting.user_id,
        notes,
        now,
    )
    .await?;
    let breached = at_breach || item.status == TaskItemStatus::Breached.as_str();
    let new_item = give_item(
        conn,
        ctx,
        user_id,
        role_id,
        StepId(item.step_id),
        ItemOrigin::Escalation,
        (item.assigned_at, item.target_at),
        breached,
        acting,
        now,
    )
    .await?;
    audit::record(
        conn,
        acting.actor,
        "task.escalated",
        "task",
        Some(ctx.task_id),
        Some(serde_json::json!({ "item_id": item.id, "user_id": item.user_id })),
        Some(serde_json::json!({
            "item_id": new_item, "user_id": user_id, "role_id": role_id,
            "at_breach": at_breach, "notes": notes,
        })),
        now,
    )
    .await?;
    Ok(Some(user_id))
}

/// Escalates the current item by hand (its holder or an admin).
pub async fn escalate(
    db: &Db,
    principal: &Principal,
    id: i64,
    request: &domain::tasks::EscalateRequest,
    now: DateTime<Utc>,
) -> Result<Task> {
    check_caller(db, principal, id).await?;
    let notes = check_notes(&request.notes)?;
    let acting = Acting::of(principal);
    let mut tx = db.begin().await?;
    let conn = &mut tx.conn();
    let (task, mut ctx, item) = load_for_change(conn, id, request.revision, acting).await?;
    if !rows::bump(conn, id, task.revision, now).await? {
        return Err(moved_meanwhile().into());
    }
    if escalate_item(conn, &mut ctx, &item, notes, false, acting, now)
        .await?
        .is_none()
    {
        return Err(AppError::conflict(
            "There is no one to escalate to: the step has no escalation role with active \
             members, and no other admin is active.",
        )
        .into());
    }
    tx.commit().await?;
    get(db, principal, id, now).await
}

/// Sends a task's end-logic call (to AMS or BMS) again, now, after it failed: agents and admins
/// who see the ticket may. Refused (409) when there is nothing to retry: the call succeeded,
/// is still on its way, or the workflow calls no system.
pub async fn retry_end_logic(
    services: &crate::Services,
    principal: &Principal,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Task> {
    authorize(principal, Permission::WorkTasks)?;
    let db = services.db();
    let task = find_visible(db, principal, id).await?;
    let nothing_to_retry = || {
        AppError::conflict(
            "There is nothing to retry: the call to the other system has not failed.",
        )
    };
    if !matches!(task.end_logic_status.as_deref(), Some("failed" | "gave_up")) {
        return Err(nothing_to_retry().into());
    }
    let mut tx = db.begin().await?;
    let conn = &mut tx.conn();
    if !outbox::revive(conn, &format!("{END_LOGIC}:{id}"), now).await? {
        return Err(nothing_to_retry().into());
    }
    let who = principal
        .user()
        .map_or_else(|| "an integration".to_owned(), |u| u.user.full_name.clone());
    rows::set_end_logic_outcome(
        conn,
        id,
        "pending",
        &format!("sent again at the request of {who}"),
        now,
    )
    .await?;
    audit::record(
        conn,
        Actor::Principal(principal),
        "task.end_logic_retried",
        "task",
        Some(id),
        Some(serde_json::json!({ "end_logic_status": task.end_logic_status })),
        Some(serde_json::json!({ "end_logic_status": "pending" })),
        now,
    )
    .await?;
    tx.commit().await?;
    services.outbox_wake().wrote();
    get(db, principal, id, now).await
}

/// The holder marks their item started (`new` → `in_progress`); doing it twice is harmless.
pub async fn start_work(
    db: &Db,
    principal: &Principal,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Task> {
    check_caller(db, principal, id).await?;
    let acting = Acting::of(principal);
    let mut tx = db.begin().await?;
    let conn = &mut tx.conn();
    let (_, mut ctx, item) = load_for_change(conn, id, None, acting).await?;
    if rows::start_item(conn, item.id).await? {
        rows::insert_history(
            conn,
            item.id,
            TaskItemStatus::InProgress.as_str(),
            acting.user_id,
            "",
            now,
        )
        .await?;
        if ctx.ticket.status == TicketStatus::Open.as_str() {
            let assignee = ctx.ticket.assignee_id;
            update_ticket(
                conn,
                &mut ctx,
                TicketStatus::InProgress,
                assignee,
                acting.user_id,
                now,
            )
            .await?;
        }
    }
    tx.commit().await?;
    get(db, principal, id, now).await
}

// ------------------------------------------------------------------ triage

pub async fn triage(db: &Db, principal: &Principal) -> Result<Vec<TriageEntry>> {
    authorize(principal, Permission::ManageWorkflows)?;
    let mut pooled = db.acquire().await?;
    Ok(rows::triage(&mut pooled.conn())
        .await?
        .into_iter()
        .map(|r| TriageEntry {
            id: r.id,
            ticket_id: r.ticket_id,
            ticket_number: number(r.ticket_id),
            subject: r.subject,
            priority: r.priority.parse().unwrap_or(Priority::Medium),
            reason: r.reason.parse().unwrap_or(TriageReason::NoWorkflow),
            detail: r.detail,
            created_at: r.created_at,
        })
        .collect())
}

/// Tries a triaged ticket again (after a workflow was deployed or a member added): matching
/// for a ticket without a task, assignment at its step for one whose role had nobody.
pub async fn retry_triage(
    db: &Db,
    principal: &Principal,
    id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<TriageEntry>> {
    authorize(principal, Permission::ManageWorkflows)?;
    let acting = Acting::of(principal);
    let mut tx = db.begin().await?;
    let conn = &mut tx.conn();
    let entry = rows::find_triage(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("Triage entry"))?;
    rows::resolve_triage(conn, entry.ticket_id, acting.user_id, now).await?;
    match rows::find_by_ticket(conn, entry.ticket_id).await? {
        None => start_for_ticket(conn, entry.ticket_id, Routing::Retried, now).await?,
        Some(task) if task.status == TaskStatus::Open.as_str() => {
            if rows::open_item(conn, task.id).await?.is_none() {
                let ticket = ticket_rows::find(conn, task.ticket_id)
                    .await?
                    .ok_or_else(|| AppError::not_found("Ticket"))?;
                let version = workflow_rows::find_version(conn, task.workflow_version_id)
                    .await?
                    .ok_or_else(|| AppError::not_found("Workflow version"))?;
                let mut ctx = Context {
                    task_id: task.id,
                    ticket,
                    version,
                };
                assign_at_step(conn, &mut ctx, StepId(task.current_step_id), now, acting).await?;
            }
        }
        Some(_) => {}
    }
    audit::record(
        conn,
        acting.actor,
        "triage.retried",
        "ticket",
        Some(entry.ticket_id),
        Some(serde_json::json!({ "reason": entry.reason })),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    triage(db, principal).await
}

// ------------------------------------------------------------------ SLA monitor

/// What one pass of the SLA monitor did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct MonitorPass {
    pub warned: usize,
    pub breached: usize,
    pub escalated: usize,
}

/// One pass of the SLA monitor at `now`: warns holders of items (and tasks) at 75 % of their
/// time, marks breaches at 100 % and escalates the breached items. Each warning and breach is
/// marked on its row in the transaction that notifies, with a conditional update, so however
/// often it runs and on however many replicas, each goes out once.
pub async fn monitor_sla(db: &Db, now: DateTime<Utc>) -> Result<MonitorPass> {
    let mut pass = MonitorPass::default();
    let due = {
        let mut pooled = db.acquire().await?;
        rows::items_to_warn(&mut pooled.conn(), now, MONITOR_BATCH).await?
    };
    for item in due {
        let mut tx = db.begin().await?;
        let conn = &mut tx.conn();
        if rows::mark_item_warned(conn, item.id, now).await? {
            let subject = ticket_rows::find(conn, item.ticket_id)
                .await?
                .map(|t| t.subject)
                .unwrap_or_default();
            notifications::notify(
                conn,
                item.user_id,
                &Notice {
                    kind: "sla.warning",
                    title: format!("{} is close to its SLA: {subject}", number(item.ticket_id)),
                    body: "75 % of the time for this step is used.".to_owned(),
                    link: Some(link(item.ticket_id)),
                    dedupe_key: Some(format!("sla.warning:item:{}", item.id)),
                },
                now,
            )
            .await?;
            pass.warned += 1;
        }
        tx.commit().await?;
    }
    let due = {
        let mut pooled = db.acquire().await?;
        rows::items_to_breach(&mut pooled.conn(), now, MONITOR_BATCH).await?
    };
    for item in due {
        let mut tx = db.begin().await?;
        let conn = &mut tx.conn();
        let Some(current) = rows::open_item(conn, item.task_id).await? else {
            continue;
        };
        if current.id != item.id || !rows::mark_item_breached(conn, item.id, now).await? {
            continue;
        }
        pass.breached += 1;
        rows::insert_history(
            conn,
            item.id,
            TaskItemStatus::Breached.as_str(),
            None,
            "",
            now,
        )
        .await?;
        let Some(task) = rows::find(conn, item.task_id).await? else {
            continue;
        };
        let (Some(ticket), Some(version)) = (
            ticket_rows::find(conn, task.ticket_id).await?,
            workflow_rows::find_version(conn, task.workflow_version_id).await?,
        ) else {
            continue;
        };
        let notice = Notice {
            kind: "sla.breached",
            title: format!("{} breached its SLA: {}", number(ticket.id), ticket.subject),
            body: format!("Step '{}' ran out of time.", {
                version
                    .graph
                    .0
                    .step(StepId(current.step_id))
                    .map(|s| s.name.clone())
                    .unwrap_or_default()
            }),
            link: Some(link(ticket.id)),
            dedupe_key: Some(format!("sla.breached:item:{}", item.id)),
        };
        notifications::notify(conn, item.user_id, &notice, now).await?;
        audit::record(
            conn,
            Actor::System,
            "task.sla_breached",
            "task",
            Some(task.id),
            None,
            Some(serde_json::json!({ "item_id": item.id, "user_id": item.user_id })),
            now,
        )
        .await?;
        let mut ctx = Context {
            task_id: task.id,
            ticket,
            version,
        };
        let breached_item = ItemRow {
            status: TaskItemStatus::Breached.as_str().to_owned(),
            ..current
        };
        match escalate_item(
            conn,
            &mut ctx,
            &breached_item,
            "SLA breached",
            true,
            Acting::system(),
            now,
        )
        .await?
        {
            Some(_) => pass.escalated += 1,
            // Nobody to hand it to: it stays with its holder, and the admins know.
            None => notifications::notify_admins(conn, &notice, now).await?,
        }
        tx.commit().await?;
    }
    let due = {
        let mut pooled = db.acquire().await?;
        rows::tasks_to_warn(&mut pooled.conn(), now, MONITOR_BATCH).await?
    };
    for task in due {
        let mut tx = db.begin().await?;
        let conn = &mut tx.conn();
        if rows::mark_task_warned(conn, task.id, now).await?
            && let Some(holder) = rows::open_item(conn, task.id).await?
        {
            notifications::notify(
                conn,
                holder.user_id,
                &Notice {
                    kind: "sla.warning",
                    title: format!(
                        "{} is close to its resolution target",
                        number(task.ticket_id)
                    ),
                    body: "75 % of the ticket's SLA is used.".to_owned(),
                    link: Some(link(task.ticket_id)),
                    dedupe_key: Some(format!("sla.warning:task:{}", task.id)),
                },
                now,
            )
            .await?;
            pass.warned += 1;
        }
        tx.commit().await?;
    }
    let due = {
        let mut pooled = db.acquire().await?;
        rows::tasks_to_breach(&mut pooled.conn(), now, MONITOR_BATCH).await?
    };
    for task in due {
        let mut tx = db.begin().await?;
        let conn = &mut tx.conn();
        if rows::mark_task_breached(conn, task.id, now).await? {
            let notice = Notice {
                kind: "sla.breached",
                title: format!("{} missed its resolution target", number(task.ticket_id)),
                body: "The ticket's SLA has passed.".to_owned(),
                link: Some(link(task.ticket_id)),
                dedupe_key: Some(format!("sla.breached:task:{}", task.id)),
            };
            if let Some(holder) = rows::open_item(conn, task.id).await? {
                notifications::notify(conn, holder.user_id, &notice, now).await?;
            }
            notifications::notify_admins(conn, &notice, now).await?;
            audit::record(
                conn,
                Actor::System,
                "task.sla_breached",
                "task",
                Some(task.id),
                None,
                Some(serde_json::json!({ "scope": "task" })),
                now,
            )
            .await?;
            pass.breached += 1;
        }
        tx.commit().await?;
    }
    Ok(pass)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(ids: &[(i64, i64)]) -> Vec<Candidate> {
        ids.iter()
            .map(|&(user_id, open_items)| Candidate {
                user_id,
                open_items,
            })
            .collect()
    }

    #[test]
    fn round_robin_takes_the_next_member_after_the_last_and_wraps() {
        let members = people(&[(3, 0), (5, 0), (9, 0)]);
        let rr = AssignmentStrategy::RoundRobin;
        assert_eq!(choose(&members, None, rr), Some(3));
        assert_eq!(choose(&members, Some(3), rr), Some(5));
        assert_eq!(choose(&members, Some(5), rr), Some(9));
        assert_eq!(choose(&members, Some(9), rr), Some(3));
        // The last one left the role: the turn goes on from where they were.
        assert_eq!(choose(&members, Some(4), rr), Some(5));
        assert_eq!(choose(&[], Some(4), rr), None);
    }

    #[test]
    fn least_loaded_takes_the_least_busy_in_turn_among_equals() {
        let ll = AssignmentStrategy::LeastLoaded;
        let members = people(&[(3, 2), (5, 1), (9, 1)]);
        assert_eq!(choose(&members, None, ll), Some(5));
        assert_eq!(choose(&members, Some(5), ll), Some(9));
        assert_eq!(choose(&members, Some(9), ll), Some(5));
        let busy = people(&[(3, 0), (5, 4)]);
        assert_eq!(choose(&busy, Some(3), ll), Some(3));
    }

    #[test]
    fn the_progress_line_shows_visited_current_and_the_way_to_the_end() {
        use domain::workflow::{Step, Transition};
        let mut start = Step::new(1, "Triage");
        start.is_start = true;
        let mut done = Step::new(4, "Done");
        done.is_end = true;
        let mut rejected = Step::new(5, "Rejected");
        rejected.is_end = true;
        let graph = WorkflowGraph {
            steps: vec![
                start,
                Step::new(2, "Approve"),
                Step::new(3, "Fulfil"),
                done,
                rejected,
            ],
            transitions: vec![
                Transition::new(1, 1, 2, "Send"),
                Transition::new(2, 2, 3, "Approve"),
                Transition::new(3, 2, 5, "Reject"),
                Transition::new(4, 3, 4, "Deliver"),
            ],
        };
        let line = progress(&graph, &[1, 2], StepId(2), TaskStatus::Open);
        let names: Vec<_> = line.iter().map(|s| (s.name.as_str(), s.state)).collect();
        assert_eq!(
            names,
            vec![
                ("Triage", StepState::Done),
                ("Approve", StepState::Current),
                ("Fulfil", StepState::Upcoming),
                ("Done", StepState::Upcoming),
            ],
            "the way ahead leads to the first end step listed, not the nearest"
        );
        let line = progress(&graph, &[1, 2, 3, 4], StepId(4), TaskStatus::Completed);
        assert!(line.iter().all(|s| s.state == StepState::Done));
        assert_eq!(line.len(), 4);
        let line = progress(&graph, &[1, 2], StepId(2), TaskStatus::Cancelled);
        let names: Vec<_> = line.iter().map(|s| (s.name.as_str(), s.state)).collect();
        assert_eq!(
            names,
            vec![("Triage", StepState::Done), ("Approve", StepState::Stopped)],
            "a workflow ended early stops where it was: no current step, nothing ahead"
        );
    }
}
