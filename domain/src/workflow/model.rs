//! The shapes of a workflow: its status and end logic, and its graph of steps and transitions.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Most steps a workflow may have. The editor draws every step on one canvas and people read
/// the graph as a whole; far below this a workflow is already too big to follow, and the bound
/// keeps every rule here cheap whatever a client sends.
pub const MAX_STEPS: usize = 500;
/// Most transitions a workflow may have (four actions per step on average at [`MAX_STEPS`]).
pub const MAX_TRANSITIONS: usize = 2_000;
/// Heaviest step weight. Weights are relative shares of the SLA: 1 to 1,000 gives a step as
/// little as a thousandth of its neighbour's time, finer than anyone plans; the bound also keeps
/// weight sums far from overflowing.
pub const MAX_WEIGHT: i64 = 1_000;
/// Longest step name, in characters.
pub const MAX_STEP_NAME: usize = 100;
/// Longest step instructions, in characters (Markdown source).
pub const MAX_INSTRUCTIONS: usize = 10_000;
/// Longest action label, in characters: it is the text of a button.
pub const MAX_ACTION_LABEL: usize = 100;

/// The id of a workflow role ("IT Support L1"), as `workflow_roles.id` stores it.
pub type RoleId = i64;

/// The id of a step. Saved steps use their row id; the editor gives new, unsaved steps
/// temporary ids (negative ones, say) and the server maps them when it saves. A newtype rather
/// than a bare `i64` so a step id can never be passed where a transition id is meant; it is a
/// plain number on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct StepId(pub i64);

/// The id of a transition; see [`StepId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct TransitionId(pub i64);

impl fmt::Display for StepId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for TransitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where the editor draws a step, in canvas units. Only the editor reads it; no rule does.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Position {
    pub x: f64,
    pub y: f64,
}

/// A step of a workflow: a stage of the work, done by the members of one role.
///
/// Fields that a finished workflow must have are still optional or unchecked here (`role` is an
/// `Option`, `weight` any integer) because the editor holds half-made steps: [`super::validate()`]
/// says what is missing instead of the type refusing to hold it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Step {
    pub id: StepId,
    pub name: String,
    /// What to do at this step, in Markdown.
    #[serde(default)]
    pub instructions: String,
    /// The workflow role ([`RoleId`]) whose members are assigned the step, round robin.
    /// (Spelled `i64` rather than `RoleId` so the OpenAPI schema names no alias.)
    #[serde(default)]
    pub role: Option<i64>,
    /// The workflow role the SLA monitor escalates to at breach; none escalates to nobody.
    #[serde(default)]
    pub escalation_role: Option<i64>,
    /// The step's share of the SLA relative to the other steps: 1 to [`MAX_WEIGHT`].
    #[serde(default = "default_weight")]
    pub weight: i64,
    #[serde(default)]
    pub is_start: bool,
    #[serde(default)]
    pub is_end: bool,
    #[serde(default)]
    pub position: Position,
}

fn default_weight() -> i64 {
    1
}

impl Step {
    /// A step with a name and defaults elsewhere: no role, weight 1, neither start nor end.
    pub fn new(id: i64, name: impl Into<String>) -> Self {
        Self {
            id: StepId(id),
            name: name.into(),
            instructions: String::new(),
            role: None,
            escalation_role: None,
            weight: 1,
            is_start: false,
            is_end: false,
            position: Position::default(),
        }
    }
}

/// A transition: the action that moves a ticket from one step to another. The action label is
/// the button the assignee presses ("Approve", "Send back").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Transition {
    pub id: TransitionId,
    pub from: StepId,
    pub to: StepId,
    pub action: String,
}

impl Transition {
    pub fn new(id: i64, from: i64, to: i64, action: impl Into<String>) -> Self {
        Self {
            id: TransitionId(id),
            from: StepId(from),
            to: StepId(to),
            action: action.into(),
        }
    }
}

/// The steps and transitions of one workflow version.
///
/// The order of both lists is kept and matters in one way only: it breaks ties, so that every
/// answer here (problems, happy path, SLA route) is the same for the same input. When two steps
/// (or transitions) share an id the first one is the one the rules follow; [`super::validate()`]
/// reports the others.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowGraph {
    #[serde(default)]
    pub steps: Vec<Step>,
    #[serde(default)]
    pub transitions: Vec<Transition>,
}

impl WorkflowGraph {
    /// The step with this id (the first, if several share it).
    pub fn step(&self, id: StepId) -> Option<&Step> {
        self.steps.iter().find(|step| step.id == id)
    }

    /// The transition with this id (the first, if several share it).
    pub fn transition(&self, id: TransitionId) -> Option<&Transition> {
        self.transitions.iter().find(|t| t.id == id)
    }

    /// The one start step, or why there is not exactly one. A step whose id an earlier step
    /// already has does not count (the rules follow the first step of an id).
    pub fn start_step(&self) -> Result<&Step, StartError> {
        let mut ids = HashSet::with_capacity(self.steps.len());
        let mut starts = self
            .steps
            .iter()
            .filter(|step| ids.insert(step.id) && step.is_start);
        match (starts.next(), starts.next()) {
            (None, _) => Err(StartError::NoStartStep),
            (Some(step), None) => Ok(step),
            (Some(_), Some(_)) => Err(StartError::SeveralStartSteps),
        }
    }
}

/// Why a ticket cannot enter a workflow: a task begins at the one start step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StartError {
    #[error("the workflow has no start step")]
    NoStartStep,
    #[error("the workflow has several start steps")]
    SeveralStartSteps,
}

string_enum!(
    /// Whether a workflow takes new tickets.
    WorkflowStatus {
        /// Being written; matches no ticket.
        Draft = "draft" / "Draft",
        /// Matches new tickets.
        Deployed = "deployed" / "Deployed",
        /// Matches no new ticket; tickets already on it carry on.
        Paused = "paused" / "Paused",
    }
);

string_enum!(
    /// What happens when a ticket reaches an end step.
    EndLogic {
        None = "none" / "None",
        /// Calls the asset management system (AMS).
        Asset = "asset" / "Asset request",
        /// Calls the budget management system (BMS).
        Budget = "budget" / "Budget request",
        /// Notifies the requester.
        Notification = "notification" / "Notification",
    }
);
