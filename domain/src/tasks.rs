//! Tasks: a ticket's way through its workflow, the people assigned at each step (task items),
//! and what the agent inbox, the ticket page's workflow panel and the REST API show of them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::tickets::{NamedRef, PersonRef, Priority, TicketStatus};
use crate::workflow::{EndLogic, SlaState, StepId, TransitionId};

/// Longest note on an action, in characters.
pub const MAX_NOTES: usize = 4_000;

string_enum!(
    /// Whether a task is still moving.
    TaskStatus {
        Open = "open" / "Running",
        /// The ticket reached an end step.
        Completed = "completed" / "Finished",
        /// A person resolved or closed the ticket before it reached an end step.
        Cancelled = "cancelled" / "Ended early",
    }
);

string_enum!(
    /// Where one person's share of a task stands.
    TaskItemStatus {
        /// Assigned, not acted on yet.
        New = "new" / "To do",
        /// The assignee has started on it.
        InProgress = "in_progress" / "Started",
        /// The assignee took an action: the task moved on. (The wire name is the seeds'; the
        /// word people read is "Done", so that it never reads like the ticket's "Resolved".)
        Resolved = "resolved" / "Done",
        /// Handed to another member of the role.
        Reassigned = "reassigned" / "Handed over",
        /// Handed up, by the assignee or by the SLA monitor at breach.
        Escalated = "escalated" / "Escalated",
        /// Its time ran out and nobody could take it over: it stays with its assignee.
        Breached = "breached" / "Overdue",
        /// The workflow was ended by hand (the ticket resolved or closed) while it was open.
        Cancelled = "cancelled" / "Ended early",
    }
);

impl TaskItemStatus {
    /// Items in these states are the task's current work: exactly one per open task.
    pub const OPEN: [TaskItemStatus; 3] = [
        TaskItemStatus::New,
        TaskItemStatus::InProgress,
        TaskItemStatus::Breached,
    ];

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

string_enum!(
    /// How an item came to its assignee.
    ItemOrigin {
        /// Assigned by the engine (round robin or least loaded).
        System = "system" / "System",
        /// Reassigned by a person.
        Transferred = "transferred" / "Transferred",
        /// Escalated (by a person or at SLA breach).
        Escalation = "escalation" / "Escalation",
        /// Given back when the ticket was reopened and its workflow resumed.
        Reopened = "reopened" / "Reopened",
    }
);

string_enum!(
    /// How a workflow role hands out work.
    AssignmentStrategy {
        /// Each active member in turn.
        RoundRobin = "round_robin" / "Round robin",
        /// The active member with the fewest open items; in turn among equals.
        LeastLoaded = "least_loaded" / "Least loaded",
    }
);

string_enum!(
    /// Why a ticket waits for an admin in the triage queue.
    TriageReason {
        /// No deployed workflow matches the ticket.
        NoWorkflow = "no_workflow" / "No matching workflow",
        /// The step's role has no active member to assign.
        NoAssignee = "no_assignee" / "No one to assign",
        /// Another system sent names (category, department, …) that TTS does not know.
        UnknownNames = "unknown_names" / "Unknown names",
    }
);

/// A change of an item's status, with who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskItemEvent {
    pub status: TaskItemStatus,
    pub actor: Option<PersonRef>,
    pub note: String,
    pub created_at: DateTime<Utc>,
}

/// One person's share of a task at a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskItem {
    pub id: i64,
    pub assignee: PersonRef,
    pub role: Option<NamedRef>,
    pub step_id: StepId,
    pub step_name: String,
    pub origin: ItemOrigin,
    pub status: TaskItemStatus,
    pub notes: String,
    pub assigned_at: DateTime<Utc>,
    pub target_at: DateTime<Utc>,
    pub acted_at: Option<DateTime<Utc>>,
    pub history: Vec<TaskItemEvent>,
}

/// An action the current assignee can take: a transition leaving the current step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaskAction {
    pub transition_id: TransitionId,
    pub action: String,
    pub to_step_id: StepId,
    pub to_step_name: String,
    /// The action ends the workflow (its step is an end step).
    pub finishes: bool,
}

string_enum!(
    /// A step's place on the progress line.
    StepState {
        Done = "done" / "Done",
        Current = "current" / "Current",
        Upcoming = "upcoming" / "Upcoming",
        /// Where a workflow ended early (its ticket resolved or closed by hand) stopped.
        Stopped = "stopped" / "Ended here",
    }
);

/// A step of the task's workflow version, for the progress line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepProgress {
    pub id: StepId,
    pub name: String,
    pub is_end: bool,
    pub state: StepState,
}

/// A ticket's task: where it is in its workflow, its clocks, its people and what can be done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Task {
    pub id: i64,
    pub ticket_id: i64,
    pub ticket_number: String,
    pub ticket_subject: String,
    pub ticket_status: TicketStatus,
    pub priority: Priority,
    pub workflow: NamedRef,
    pub version: i64,
    pub status: TaskStatus,
    /// Send it back with an action: if the task moved meanwhile, the action is refused (409).
    pub revision: i64,
    pub current_step_id: StepId,
    pub current_step_name: String,
    /// The current step's instructions, rendered to sanitised HTML.
    pub instructions_html: String,
    pub started_at: DateTime<Utc>,
    pub target_at: DateTime<Utc>,
    pub sla_state: SlaState,
    pub step_started_at: DateTime<Utc>,
    pub step_target_at: DateTime<Utc>,
    pub step_sla_state: SlaState,
    pub completed_at: Option<DateTime<Utc>>,
    pub end_logic: EndLogic,
    /// `pending`, `done`, `failed` (retrying) or `gave_up`, once the end step is reached.
    pub end_logic_status: Option<String>,
    pub end_logic_detail: Option<String>,
    pub steps: Vec<StepProgress>,
    /// Who holds the task now (nobody: it waits in triage); once it ended, who had it last.
    pub assignee: Option<PersonRef>,
    /// The actions the caller may take now (empty if they may not act).
    pub actions: Vec<TaskAction>,
    /// The caller may reassign or escalate the current item.
    pub can_manage: bool,
    pub items: Vec<TaskItem>,
}

impl Task {
    /// Where the task is now, in a few words for a toast or a notification: "Sent to Manager
    /// approval — Morgan Manager", "Finished: the ticket is resolved".
    pub fn whereabouts(&self) -> String {
        match (self.status, &self.assignee) {
            (TaskStatus::Completed, _) => "Finished: the ticket is resolved".to_owned(),
            (TaskStatus::Cancelled, _) => "The workflow was ended early".to_owned(),
            (TaskStatus::Open, Some(person)) => {
                format!("Sent to {} — {}", self.current_step_name, person.full_name)
            }
            (TaskStatus::Open, None) => format!(
                "Sent to {}: nobody can take it yet, it waits in triage",
                self.current_step_name
            ),
        }
    }

    /// The task as its requester (or an integration reading tickets) sees it: where it is and
    /// how it moves, without what was written for staff: the step's instructions, the notes
    /// agents left on their items, and whether and how the systems called at the end answered.
    pub fn without_staff_detail(mut self) -> Task {
        self.instructions_html.clear();
        self.end_logic_status = None;
        self.end_logic_detail = None;
        for item in &mut self.items {
            item.notes.clear();
            for event in &mut item.history {
                event.note.clear();
            }
        }
        self
    }
}

/// A row of the agent inbox: an open item of a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxEntry {
    pub task_id: i64,
    pub item_id: i64,
    pub ticket_id: i64,
    pub ticket_number: String,
    pub subject: String,
    pub priority: Priority,
    pub workflow_name: String,
    pub step_name: String,
    pub assignee: PersonRef,
    pub item_status: TaskItemStatus,
    pub assigned_at: DateTime<Utc>,
    pub target_at: DateTime<Utc>,
    pub sla_state: SlaState,
    /// Assigned to the caller (otherwise: to someone in one of the caller's roles).
    pub mine: bool,
}

/// Takes a transition at the task's current step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    pub transition_id: TransitionId,
    #[serde(default)]
    pub notes: String,
    /// The notes are for staff only (the default): the requester sees that the ticket moved,
    /// not what was written. `false` shows them in the requester's history too.
    #[serde(default = "crate::tickets::internal_by_default")]
    pub notes_internal: bool,
    /// The task revision the caller saw; an older one is refused with 409.
    #[serde(default)]
    pub revision: Option<i64>,
}

/// Hands the current item to another member of the step's role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReassignRequest {
    pub user_id: i64,
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub revision: Option<i64>,
}

/// Hands the current item up: to the step's escalation role, or to the admins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub revision: Option<i64>,
}

/// A ticket waiting in the triage queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TriageEntry {
    pub id: i64,
    pub ticket_id: i64,
    pub ticket_number: String,
    pub subject: String,
    pub priority: Priority,
    pub reason: TriageReason,
    pub detail: String,
    pub created_at: DateTime<Utc>,
}
