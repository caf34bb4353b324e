//! Tickets as the portal, the agent views and the REST API show them, with the rules of their
//! fields that the browser checks before sending and the server checks again.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::AppError;

/// Longest subject, in characters.
pub const MAX_SUBJECT: usize = 200;
/// Longest description, in bytes (Markdown source).
pub const MAX_DESCRIPTION_BYTES: usize = 64 * 1024;
/// Largest page of a list.
pub const MAX_PAGE_SIZE: u32 = 100;
pub const DEFAULT_PAGE_SIZE: u32 = 25;
/// Longest search string, in characters.
pub const MAX_QUERY: usize = 200;

string_enum!(
    /// How urgent a ticket is; workflows set an SLA for each.
    Priority {
        Low = "low" / "Low",
        Medium = "medium" / "Medium",
        High = "high" / "High",
        Urgent = "urgent" / "Urgent",
    }
);

string_enum!(
    /// Where a ticket is in its life.
    TicketStatus {
        New = "new" / "New",
        Open = "open" / "Open",
        InProgress = "in_progress" / "In progress",
        OnHold = "on_hold" / "On hold",
        Resolved = "resolved" / "Resolved",
        Closed = "closed" / "Closed",
    }
);

string_enum!(
    /// How a ticket arrived.
    TicketSource {
        Portal = "portal" / "Portal",
        Api = "api" / "API",
        Hdts = "hdts" / "HDTS",
    }
);

impl TicketStatus {
    /// Resolved and closed tickets are done; the rest are open work.
    pub fn is_done(self) -> bool {
        matches!(self, TicketStatus::Resolved | TicketStatus::Closed)
    }
}

/// The human-readable ticket number, `TKT-000123`: the ticket's id, zero-padded to six digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketNumber(pub i64);

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TKT-{:06}", self.0)
    }
}

impl TicketNumber {
    /// Reads `TKT-000123`, `tkt-123` or `#123`; anything else is not a ticket number.
    pub fn parse(text: &str) -> Option<TicketNumber> {
        let text = text.trim();
        let digits = text
            .get(..4)
            .filter(|prefix| prefix.eq_ignore_ascii_case("tkt-"))
            .map(|_| &text[4..])
            .or_else(|| text.strip_prefix('#'))?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().filter(|n| *n > 0).map(TicketNumber)
    }
}

/// Someone a ticket names: its requester, its assignee, the author of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonRef {
    pub id: i64,
    pub full_name: String,
    pub email: String,
}

/// A category, sub-category or department as a ticket names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NamedRef {
    pub id: i64,
    pub name: String,
}

/// A ticket with everything the ticket page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub id: i64,
    /// `TKT-000123`.
    pub number: String,
    pub subject: String,
    /// Markdown, as written.
    pub description: String,
    /// The description rendered to sanitised HTML.
    pub description_html: String,
    pub category: Option<NamedRef>,
    pub sub_category: Option<NamedRef>,
    pub department: Option<NamedRef>,
    pub priority: Priority,
    pub status: TicketStatus,
    pub requester: PersonRef,
    pub assignee: Option<PersonRef>,
    pub source: TicketSource,
    pub external_ref: Option<String>,
    /// Flexible fields from the submitting system or form, kept as given.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// What `POST /api/v1/tickets/send/` answers another system: that its ticket is here, under
/// which number and in which status. Nothing more: the sender may lack the right to read
/// tickets (`tickets:read`), and a repeated submission must not become a way to read one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketReceipt {
    pub id: i64,
    /// `TKT-000123`.
    pub number: String,
    /// The reference as the sender gave it.
    pub external_ref: String,
    pub status: TicketStatus,
    pub created_at: DateTime<Utc>,
    /// Names the sender used that TTS does not know (`category`, `sub_category`, `department`,
    /// `priority`): kept on the ticket, which waits in triage until an admin places it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub unknown_names: std::collections::BTreeMap<String, String>,
}

/// The key of a ticket's `fields` under which names another system sent and TTS did not know
/// are kept (`{"category": "Laptops"}`): the ticket waits in triage while it has them.
pub const UNKNOWN_NAMES_FIELD: &str = "unknown_names";

/// A row of a ticket list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketSummary {
    pub id: i64,
    pub number: String,
    pub subject: String,
    pub category: Option<String>,
    pub department: Option<String>,
    pub priority: Priority,
    pub status: TicketStatus,
    pub requester: PersonRef,
    pub assignee: Option<PersonRef>,
    /// Where the ticket's workflow is: its current step, or the step where it finished or was
    /// ended. None until a workflow takes the ticket.
    #[serde(default)]
    pub step: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the ticket list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TicketOrdering {
    /// Newest first (the default).
    #[default]
    CreatedDesc,
    CreatedAsc,
    UpdatedDesc,
    UpdatedAsc,
    /// Most urgent first, newest first within a priority.
    PriorityDesc,
    PriorityAsc,
    /// Best match first (only with a search), newest first among equals.
    Relevance,
}

impl TicketOrdering {
    pub const ALL: [TicketOrdering; 7] = [
        TicketOrdering::CreatedDesc,
        TicketOrdering::CreatedAsc,
        TicketOrdering::UpdatedDesc,
        TicketOrdering::UpdatedAsc,
        TicketOrdering::PriorityDesc,
        TicketOrdering::PriorityAsc,
        TicketOrdering::Relevance,
    ];

    /// The REST `ordering` parameter: a field, `-` for descending.
    pub fn as_param(self) -> &'static str {
        match self {
            TicketOrdering::CreatedDesc => "-created_at",
            TicketOrdering::CreatedAsc => "created_at",
            TicketOrdering::UpdatedDesc => "-updated_at",
            TicketOrdering::UpdatedAsc => "updated_at",
            TicketOrdering::PriorityDesc => "-priority",
            TicketOrdering::PriorityAsc => "priority",
            TicketOrdering::Relevance => "relevance",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            TicketOrdering::CreatedDesc => "Newest",
            TicketOrdering::CreatedAsc => "Oldest",
            TicketOrdering::UpdatedDesc => "Recently updated",
            TicketOrdering::UpdatedAsc => "Least recently updated",
            TicketOrdering::PriorityDesc => "Most urgent",
            TicketOrdering::PriorityAsc => "Least urgent",
            TicketOrdering::Relevance => "Best match",
        }
    }

    pub fn parse(value: &str) -> Result<TicketOrdering, String> {
        let value = value.trim();
        let value = if value == "-id" { "-created_at" } else { value };
        let value = if value == "id" { "created_at" } else { value };
        TicketOrdering::ALL
            .iter()
            .copied()
            .find(|o| o.as_param() == value)
            .ok_or_else(|| {
                "must be one of created_at, -created_at, updated_at, -updated_at, priority, \
                 -priority, relevance"
                    .to_owned()
            })
    }
}

/// Filters, search, order and page of a ticket list. Every filter narrows; an absent one does
/// not. The caller's visibility always applies on top.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TicketQuery {
    pub q: Option<String>,
    pub status: Vec<TicketStatus>,
    pub priority: Vec<Priority>,
    pub category: Option<i64>,
    pub department: Option<i64>,
    pub requester: Option<i64>,
    /// `Some(0)`: unassigned tickets.
    pub assignee: Option<i64>,
    pub external_ref: Option<String>,
    /// `None`: best match first when searching, newest first otherwise.
    pub ordering: Option<TicketOrdering>,
    pub page: u32,
    pub page_size: u32,
}

impl TicketQuery {
    /// The page (from 1) and page size after defaults, as the list uses them.
    pub fn paging(&self) -> (u32, u32) {
        let page = self.page.max(1);
        let size = if self.page_size == 0 {
            DEFAULT_PAGE_SIZE
        } else {
            self.page_size.min(MAX_PAGE_SIZE)
        };
        (page, size)
    }

    /// The order the list uses.
    pub fn effective_ordering(&self) -> TicketOrdering {
        match (self.ordering, self.search()) {
            (Some(TicketOrdering::Relevance), None) => TicketOrdering::CreatedDesc,
            (Some(ordering), _) => ordering,
            (None, Some(_)) => TicketOrdering::Relevance,
            (None, None) => TicketOrdering::CreatedDesc,
        }
    }

    /// Reads a list's query string (`status=new,open&priority=high&q=vpn&page=2`), as the
    /// REST API and the list pages carry it: lists are comma-separated, letter case does not
    /// matter, unknown keys are ignored, and a wrong value is a 400 naming the parameter.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<TicketQuery, AppError> {
        fn id(field: &str, value: &str) -> Result<Option<i64>, AppError> {
            if value.trim().is_empty() {
                return Ok(None);
            }
            value
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| AppError::invalid_field(field, "must be a number"))
        }
        fn list<T: FromStr<Err = String>>(field: &str, value: &str) -> Result<Vec<T>, AppError> {
            value
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse::<T>()
                        .map_err(|p| AppError::invalid_field(field, p))
                })
                .collect()
        }
        let mut query = TicketQuery::default();
        for (key, value) in pairs {
            match key {
                "q" => {
                    if value.chars().count() > MAX_QUERY {
                        return Err(AppError::invalid_field(
                            "q",
                            format!("must be at most {MAX_QUERY} characters"),
                        ));
                    }
                    query.q = Some(value.to_owned()).filter(|q| !q.trim().is_empty());
                }
                "status" => query.status = list("status", value)?,
                "priority" => query.priority = list("priority", value)?,
                "category" => query.category = id("category", value)?,
                "department" => query.department = id("department", value)?,
                "requester" => query.requester = id("requester", value)?,
                "assignee" => query.assignee = id("assignee", value)?,
                "external_ref" => {
                    query.external_ref = Some(value.trim().to_owned()).filter(|r| !r.is_empty());
                }
                "ordering" if !value.trim().is_empty() => {
                    query.ordering = Some(
                        TicketOrdering::parse(value)
                            .map_err(|p| AppError::invalid_field("ordering", p))?,
                    );
                }
                "page" => {
                    query.page = value
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|p| (1..=100_000).contains(p))
                        .ok_or_else(|| {
                            AppError::invalid_field("page", "must be between 1 and 100000")
                        })?;
                }
                "page_size" => {
                    query.page_size = value
                        .trim()
                        .parse::<u32>()
                        .ok()
                        .filter(|s| (1..=MAX_PAGE_SIZE).contains(s))
                        .ok_or_else(|| {
                            AppError::invalid_field(
                                "page_size",
                                format!("must be between 1 and {MAX_PAGE_SIZE}"),
                            )
                        })?;
                }
                _ => {}
            }
        }
        Ok(query)
    }

    /// The search string if it has anything to search for.
    pub fn search(&self) -> Option<&str> {
        self.q.as_deref().map(str::trim).filter(|q| !q.is_empty())
    }
}

/// A new ticket as a person submits it in the portal or over REST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    pub subject: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub category_id: Option<i64>,
    #[serde(default)]
    pub sub_category_id: Option<i64>,
    #[serde(default)]
    pub department_id: Option<i64>,
    #[serde(default = "default_priority")]
    pub priority: Priority,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: serde_json::Value,
}

fn default_priority() -> Priority {
    Priority::Medium
}

/// Changes to a ticket; an absent field stays as it is.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TicketUpdate {
    pub subject: Option<String>,
    pub description: Option<String>,
    /// `Some(None)` clears it.
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub category_id: Option<Option<i64>>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub sub_category_id: Option<Option<i64>>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<i64>))]
    pub department_id: Option<Option<i64>>,
    pub priority: Option<Priority>,
    /// `0` unassigns.
    pub assignee_id: Option<i64>,
}

/// Serde for `Option<Option<T>>`: absent → `None`, `null` → `Some(None)`.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<Option<T>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            None => serializer.serialize_none(),
            Some(inner) => inner.serialize(serializer),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(deserializer).map(Some)
    }
}

/// A status change with its reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub status: TicketStatus,
    #[serde(default)]
    pub note: String,
    /// The note is for staff only; by default the requester reads it in their history (a
    /// status change's note is usually the answer: "replaced the toner").
    #[serde(default)]
    pub note_internal: bool,
    /// Confirms that resolving or closing the ticket ends its running workflow. Without it
    /// such a change is refused (409) with what it would end.
    #[serde(default)]
    pub end_workflow: bool,
}

/// The requester's "still broken": reopens a resolved ticket, saying why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReopenRequest {
    /// What is still wrong (1 to 2,000 characters): it goes to whoever gets the ticket back.
    pub note: String,
}

/// Longest note on a status change or a reopening, in characters.
pub const MAX_STATUS_NOTE: usize = 2_000;

/// Where a ticket's workflow stands, as far as a manual status change cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkflowState {
    /// The ticket never had a task (no workflow matched, or it waits in triage).
    None,
    /// The task is at a step: it sets the ticket's status.
    Running,
    /// The task reached an end step or was ended by hand.
    Ended,
}

/// What a permitted manual status change does besides setting the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusMove {
    /// Nothing else: no workflow is involved.
    Set,
    /// The ticket is resolved or closed while its workflow runs: the task ends ("cancelled").
    EndsWorkflow,
    /// A resolved or closed ticket opens again: its task resumes (docs/workflow-engine.md).
    ResumesWorkflow,
}

/// Why a manual status change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusRefusal {
    /// While a workflow runs it sets the open statuses (new, open, in progress, on hold).
    WorkflowSetsStatus,
    /// Resolving or closing would end the running workflow: the caller must confirm.
    NeedsConfirmation,
}

/// The rule of manual status changes (the "Change status" panel, `POST /tickets/{id}/status/`):
/// while a workflow runs the ticket's status follows it, and a person may only end it by
/// resolving or closing the ticket, having confirmed so; a done ticket that opens again
/// resumes its workflow.
pub fn status_move(
    from: TicketStatus,
    to: TicketStatus,
    workflow: WorkflowState,
    confirmed: bool,
) -> Result<StatusMove, StatusRefusal> {
    if from == to {
        return Ok(StatusMove::Set);
    }
    match workflow {
        // (A done ticket never has a running task: ending one ends the other, and migration
        // 0013 ended the tasks of tickets resolved by hand before this rule.)
        WorkflowState::Running if !to.is_done() => Err(StatusRefusal::WorkflowSetsStatus),
        WorkflowState::Running if confirmed => Ok(StatusMove::EndsWorkflow),
        WorkflowState::Running => Err(StatusRefusal::NeedsConfirmation),
        WorkflowState::Ended if from.is_done() && !to.is_done() => Ok(StatusMove::ResumesWorkflow),
        WorkflowState::Ended | WorkflowState::None => Ok(StatusMove::Set),
    }
}

/// Something that happened to a ticket, for its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TicketEvent {
    pub id: i64,
    /// `created`, `status`, `assigned`, `updated`, `attachment`.
    pub kind: String,
    pub actor: Option<PersonRef>,
    pub from_value: Option<String>,
    pub to_value: Option<String>,
    /// Empty for a requester when the note was written for staff only.
    pub note: String,
    /// The note was written for staff only (agents and admins see it marked so).
    #[serde(default)]
    pub is_internal: bool,
    pub created_at: DateTime<Utc>,
}

/// Serde's default for notes typed in a workflow step's action box: staff only.
pub fn internal_by_default() -> bool {
    true
}

/// A file attached to a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attachment {
    pub id: i64,
    pub ticket_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub uploaded_by: Option<PersonRef>,
    pub created_at: DateTime<Utc>,
}

impl Attachment {
    /// Images are shown inline (as thumbnails); other files are downloaded.
    pub fn is_image(&self) -> bool {
        is_inline_image(&self.content_type)
    }
}

/// The image types browsers show inline and that carry no script (SVG can, so it is not one).
pub fn is_inline_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

/// A file size as people read it: `10 MiB`, `1.5 MiB`, `2 KiB`, `300 bytes`.
pub fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else if bytes >= 10 * KIB || (bytes >= KIB && bytes.is_multiple_of(KIB)) {
        format!("{} KiB", bytes.div_ceil(KIB))
    } else if bytes >= KIB {
        // Small files read to a tenth: 1.2 KiB is not "2 KiB".
        format!("{:.1} KiB", bytes as f64 / KIB as f64)
    } else {
        format!("{bytes} bytes")
    }
}

/// A department, with whether new tickets may name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Department {
    pub id: i64,
    pub name: String,
    pub is_active: bool,
    pub ticket_count: i64,
}

/// A category or (with `parent_id`) a sub-category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Category {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub name: String,
    pub description: String,
    pub is_active: bool,
    pub ticket_count: i64,
}

/// A priority as admins named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriorityInfo {
    pub code: Priority,
    pub name: String,
    pub description: String,
    pub sort_order: i64,
}

/// Everything a ticket form offers to choose from.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReferenceData {
    pub categories: Vec<Category>,
    pub departments: Vec<Department>,
    pub priorities: Vec<PriorityInfo>,
}

/// Which tickets agents see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AgentVisibility {
    /// Tickets of the agent's departments, assigned to them, or requested by them.
    #[default]
    OwnDepartments,
    /// Every ticket.
    All,
}

/// A named ticket-list filter of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedFilter {
    pub id: i64,
    pub name: String,
    /// The list's query string, e.g. `status=open&priority=high`.
    pub query: String,
}

/// Checks a subject: present, at most [`MAX_SUBJECT`] characters, one line.
pub fn check_subject(subject: &str) -> Result<String, AppError> {
    let subject = subject.trim();
    if subject.is_empty() {
        return Err(AppError::invalid_field("subject", "is required"));
    }
    if subject.chars().count() > MAX_SUBJECT {
        return Err(AppError::invalid_field(
            "subject",
            format!("must be at most {MAX_SUBJECT} characters"),
        ));
    }
    if subject.chars().any(char::is_control) {
        return Err(AppError::invalid_field(
            "subject",
            "must be a single line of text",
        ));
    }
    Ok(subject.to_owned())
}

/// Checks a description: at most [`MAX_DESCRIPTION_BYTES`], no NUL characters.
pub fn check_description(description: &str) -> Result<String, AppError> {
    if description.len() > MAX_DESCRIPTION_BYTES {
        return Err(AppError::invalid_field(
            "description",
            format!("must be at most {} KiB", MAX_DESCRIPTION_BYTES / 1024),
        ));
    }
    if description.contains('\0') {
        return Err(AppError::invalid_field(
            "description",
            "must not contain NUL characters",
        ));
    }
    Ok(description.trim_end().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_padded_and_parse_back_in_their_forms() {
        assert_eq!(TicketNumber(123).to_string(), "TKT-000123");
        assert_eq!(TicketNumber(1_234_567).to_string(), "TKT-1234567");
        for text in ["TKT-000123", "tkt-123", "#123", " TKT-123 "] {
            assert_eq!(TicketNumber::parse(text), Some(TicketNumber(123)), "{text}");
        }
        for text in [
            "TKT-",
            "TKT-12a",
            "123",
            "TKT-0",
            "#",
            "TKT-99999999999999999999",
            "é",
        ] {
            assert_eq!(TicketNumber::parse(text), None, "{text}");
        }
    }

    #[test]
    fn enums_parse_in_any_letter_case() {
        assert_eq!("HIGH".parse::<Priority>(), Ok(Priority::High));
        assert_eq!("Urgent".parse::<Priority>(), Ok(Priority::Urgent));
        assert_eq!(
            "In Progress".parse::<TicketStatus>(),
            Ok(TicketStatus::InProgress)
        );
        assert_eq!("on-hold".parse::<TicketStatus>(), Ok(TicketStatus::OnHold));
        let err = "critical".parse::<Priority>().unwrap_err();
        assert!(err.contains("low, medium, high, urgent"), "{err}");
    }

    #[test]
    fn a_running_workflow_sets_the_status_and_ends_only_when_confirmed() {
        use TicketStatus::*;
        use WorkflowState::*;
        for to in [New, Open, InProgress, OnHold] {
            let from = if to == InProgress { Open } else { InProgress };
            assert_eq!(
                status_move(from, to, Running, true),
                Err(StatusRefusal::WorkflowSetsStatus),
                "{to:?}"
            );
        }
        for to in [Resolved, Closed] {
            assert_eq!(
                status_move(InProgress, to, Running, false),
                Err(StatusRefusal::NeedsConfirmation)
            );
            assert_eq!(
                status_move(Open, to, Running, true),
                Ok(StatusMove::EndsWorkflow)
            );
        }
        // Reopening resumes an ended workflow; without one it is a plain change.
        assert_eq!(
            status_move(Resolved, Open, Ended, false),
            Ok(StatusMove::ResumesWorkflow)
        );
        assert_eq!(
            status_move(Closed, InProgress, Ended, false),
            Ok(StatusMove::ResumesWorkflow)
        );
        assert_eq!(
            status_move(Resolved, Open, None, false),
            Ok(StatusMove::Set)
        );
        assert_eq!(
            status_move(Resolved, Closed, Ended, false),
            Ok(StatusMove::Set)
        );
        assert_eq!(status_move(Open, OnHold, None, false), Ok(StatusMove::Set));
    }

    #[test]
    fn paging_defaults_and_caps() {
        let mut query = TicketQuery::default();
        assert_eq!(query.paging(), (1, DEFAULT_PAGE_SIZE));
        query.page = 3;
        query.page_size = 10_000;
        assert_eq!(query.paging(), (3, MAX_PAGE_SIZE));
    }

    #[test]
    fn subjects_and_descriptions_are_checked() {
        assert!(check_subject("  ").is_err());
        assert!(check_subject(&"x".repeat(MAX_SUBJECT + 1)).is_err());
        assert!(check_subject("two\nlines").is_err());
        assert_eq!(check_subject("  Printer jam ").unwrap(), "Printer jam");
        assert!(check_description(&"x".repeat(MAX_DESCRIPTION_BYTES + 1)).is_err());
        assert!(check_description("a\0b").is_err());
    }

    #[test]
    fn list_queries_parse_from_their_parameters() {
        let query = TicketQuery::from_pairs([
            ("status", "New, IN_PROGRESS"),
            ("priority", "high"),
            ("q", "vpn"),
            ("assignee", "0"),
            ("page", "2"),
            ("page_size", "50"),
            ("ordering", "-updated_at"),
            ("unknown", "ignored"),
        ])
        .unwrap();
        assert_eq!(
            query.status,
            vec![TicketStatus::New, TicketStatus::InProgress]
        );
        assert_eq!(query.priority, vec![Priority::High]);
        assert_eq!(query.assignee, Some(0));
        assert_eq!(query.paging(), (2, 50));
        assert_eq!(query.effective_ordering(), TicketOrdering::UpdatedDesc);
        for (key, value) in [
            ("page_size", "10000"),
            ("page_size", "-1"),
            ("page", "0"),
            ("status", "lost"),
            ("category", "abc"),
            ("ordering", "subject"),
        ] {
            let err = TicketQuery::from_pairs([(key, value)]).unwrap_err();
            assert!(err.field(key).is_some(), "{key}={value}: {err:?}");
        }
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(10 * 1024 * 1024), "10 MiB");
        assert_eq!(human_size(1536 * 1024), "1.5 MiB");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(1229), "1.2 KiB");
        assert_eq!(human_size(20 * 1024 + 1), "21 KiB");
        assert_eq!(human_size(12), "12 bytes");
    }

    #[test]
    fn orderings_round_trip_through_their_parameter() {
        for ordering in TicketOrdering::ALL {
            assert_eq!(TicketOrdering::parse(ordering.as_param()), Ok(ordering));
        }
        assert!(TicketOrdering::parse("subject; DROP TABLE").is_err());
    }
}
