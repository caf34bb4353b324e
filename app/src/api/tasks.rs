//! Tasks: the agent inbox, a ticket's workflow panel and acting on it (actions, start, escalate,
//! reassign), the triage queue and the audit log. The rules (who may act, what an action does,
//! revisions) are the services'; these only parse the forms and call them.

use chrono::{DateTime, Utc};
use domain::AppError;
use domain::Page;
use domain::audit::AuditEvent;
use domain::tasks::{InboxEntry, Task, TriageEntry};
use domain::tickets::PersonRef;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use services::auth::policy::Permission;

/// Rows of the audit log a page.
pub const AUDIT_PAGE_SIZE: u32 = 25;

/// The inbox with the server's time, so the countdowns render alike on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxView {
    pub entries: Vec<InboxEntry>,
    pub now: DateTime<Utc>,
}

/// A ticket's workflow panel: its task (if it has one yet) and whom the current item may be
/// handed to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskPanel {
    pub task: Option<Task>,
    /// Active members of the current item's role other than its holder, when the caller may
    /// reassign it.
    pub candidates: Vec<PersonRef>,
    /// The viewer is staff (agent or admin) and sees the panel written for staff: the step's
    /// instructions, its clocks, the end logic's outcome. Others (the requester) see where
    /// their request is, who has it, what comes next and when to expect it.
    pub for_staff: bool,
    pub now: DateTime<Utc>,
}

/// The caller's open task items, most urgent first: `mine`, or `roles` (also the items of
/// their roles' other members).
#[server(endpoint = "tasks/inbox")]
pub async fn load_inbox(scope: String) -> Result<InboxView, AppError> {
    crate::ssr::respond(async move {
        let user = crate::ssr::require_user(Permission::WorkTasks).await?;
        let scope = match scope.as_str() {
            "" | "mine" => services::tasks::InboxScope::Mine,
            "roles" => services::tasks::InboxScope::MineAndRoles,
            _ => return Err(AppError::invalid_field("scope", "must be mine or roles")),
        };
        let services = crate::ssr::services()?;
        let now = services.clock().now();
        let principal = services::auth::policy::Principal::User(user);
        let entries = services::tasks::inbox(services.db(), &principal, scope, now).await?;
        Ok(InboxView { entries, now })
    })
    .await
}

#[server(endpoint = "tasks/for-ticket")]
pub async fn load_ticket_task(ticket_id: i64) -> Result<TaskPanel, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        let now = services.clock().now();
        let task = services::tasks::for_ticket(services.db(), &principal, ticket_id, now).await?;
        let role = task
            .as_ref()
            .filter(|t| t.can_manage)
            .and_then(|t| t.items.iter().rev().find(|i| i.status.is_open()))
            .and_then(|item| item.role.as_ref().map(|r| (r.id, item.assignee.id)));
        let candidates = match role {
            Some((role_id, holder)) => services::workflow_roles::members(services.db(), role_id)
                .await?
                .into_iter()
                .filter(|m| m.is_active && m.user_is_active && m.user_id != holder)
                .map(|m| PersonRef {
                    id: m.user_id,
                    full_name: m.full_name,
                    email: m.email,
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(TaskPanel {
            task,
            candidates,
            for_staff: services::comments::sees_internal(&principal),
            now,
        })
    })
    .await
}

/// Takes the action `transition_id` at the task's current step. `revision` is the task's as
/// the page showed it: if the task moved meanwhile, the answer is a 409. The notes are for
/// staff only when `notes_internal` is ticked (the form ticks it to begin with).
#[server(endpoint = "tasks/transition")]
pub async fn take_task_action(
    task_id: i64,
    transition_id: i64,
    revision: i64,
    #[server(default)] notes: String,
    #[server(default)] notes_internal: Option<String>,
) -> Result<String, AppError> {
    crate::ssr::respond(async move {
        let user = crate::ssr::require_user(Permission::WorkTasks).await?;
        let services = crate::ssr::services()?;
        let request = domain::tasks::TransitionRequest {
            transition_id: domain::workflow::TransitionId(transition_id),
            notes,
            notes_internal: super::ticked(notes_internal),
            revision: Some(revision),
        };
        let principal = services::auth::policy::Principal::User(user);
        let now = services.clock().now();
        let task =
            services::tasks::transition(services.db(), &principal, task_id, &request, now).await?;
        Ok(task.whereabouts())
    })
    .await
}

/// The holder marks their item started.
#[server(endpoint = "tasks/start")]
pub async fn start_task_work(task_id: i64) -> Result<String, AppError> {
    crate::ssr::respond(async move {
        let user = crate::ssr::require_user(Permission::WorkTasks).await?;
        let services = crate::ssr::services()?;
        let principal = services::auth::policy::Principal::User(user);
        let now = services.clock().now();
        services::tasks::start_work(services.db(), &principal, task_id, now).await?;
        Ok("Marked as started".to_owned())
    })
    .await
}

#[server(endpoint = "tasks/escalate")]
pub async fn escalate_task(
    task_id: i64,
    revision: i64,
    #[server(default)] notes: String,
) -> Result<String, AppError> {
    crate::ssr::respond(async move {
        let user = crate::ssr::require_user(Permission::WorkTasks).await?;
        let services = crate::ssr::services()?;
        let request = domain::tasks::EscalateRequest {
            notes,
            revision: Some(revision),
        };
        let principal = services::auth::policy::Principal::User(user);
        let now = services.clock().now();
        let task =
            services::tasks::escalate(services.db(), &principal, task_id, &request, now).await?;
        Ok(match task.assignee {
            Some(person) => format!("Escalated to {}", person.full_name),
            None => "Escalated".to_owned(),
        })
    })
    .await
}

#[server(endpoint = "tasks/reassign")]
pub async fn reassign_task(
    task_id: i64,
    revision: i64,
    #[server(default)] user_id: String,
    #[server(default)] notes: String,
) -> Result<String, AppError> {
    crate::ssr::respond(async move {
        let user = crate::ssr::require_user(Permission::WorkTasks).await?;
        let user_id = user_id
            .trim()
            .parse()
            .map_err(|_| AppError::invalid_field("user_id", "choose a person"))?;
        let services = crate::ssr::services()?;
        let request = domain::tasks::ReassignRequest {
            user_id,
            notes,
            revision: Some(revision),
        };
        let principal = services::auth::policy::Principal::User(user);
        let now = services.clock().now();
        let task =
            services::tasks::reassign(services.db(), &principal, task_id, &request, now).await?;
        Ok(match task.assignee {
            Some(person) => format!("Reassigned to {}", person.full_name),
            None => "Reassigned".to_owned(),
        })
    })
    .await
}

/// Sends the task's failed end-logic call (AMS, BMS) again, now.
#[server(endpoint = "tasks/retry-end-logic")]
pub async fn retry_end_logic(task_id: i64) -> Result<String, AppError> {
    crate::ssr::respond(async move {
        let user = crate::ssr::require_user(Permission::WorkTasks).await?;
        let services = crate::ssr::services()?;
        let principal = services::auth::policy::Principal::User(user);
        let now = services.clock().now();
        services::tasks::retry_end_logic(&services, &principal, task_id, now).await?;
        Ok("Sent again: the outcome shows here in a moment".to_owned())
    })
    .await
}

/// Tickets the engine could not place (admins).
#[server(endpoint = "admin/triage")]
pub async fn load_triage() -> Result<Vec<TriageEntry>, AppError> {
    crate::ssr::respond(async {
        let principal = crate::ssr::require(Permission::ManageWorkflows).await?;
        let services = crate::ssr::services()?;
        Ok(services::tasks::triage(services.db(), &principal).await?)
    })
    .await
}

/// Tries a triaged ticket again; the answer is the queue afterwards.
#[server(endpoint = "admin/triage/retry")]
pub async fn retry_triage(id: i64) -> Result<Vec<TriageEntry>, AppError> {
    crate::ssr::respond(async move {
        let user = crate::ssr::require_user(Permission::ManageWorkflows).await?;
        let services = crate::ssr::services()?;
        let principal = services::auth::policy::Principal::User(user);
        let now = services.clock().now();
        Ok(services::tasks::retry_triage(services.db(), &principal, id, now).await?)
    })
    .await
}

/// A page of the audit log, newest first: `action` is an exact action or a prefix (`task.`),
/// `target_kind` and `target_id` narrow it to one kind of thing or one thing.
#[server(endpoint = "admin/audit")]
pub async fn load_audit(
    #[server(default)] action: String,
    #[server(default)] target_kind: String,
    #[server(default)] target_id: String,
    page: u32,
) -> Result<Page<AuditEvent>, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ReadAudit).await?;
        let target_id = match target_id.trim() {
            "" => None,
            id => Some(
                id.trim_start_matches('#')
                    .parse()
                    .map_err(|_| AppError::invalid_field("target_id", "must be a number"))?,
            ),
        };
        let non_empty = |s: String| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let query = domain::audit::AuditQuery {
            action: non_empty(action),
            target_kind: non_empty(target_kind),
            target_id,
            page: Some(page.max(1)),
            page_size: Some(AUDIT_PAGE_SIZE),
            ..Default::default()
        };
        let services = crate::ssr::services()?;
        Ok(services::audit::list(services.db(), &principal, &query).await?)
    })
    .await
}
