//! Workflows as the REST API, the admin pages and the editor exchange them: the stored draft,
//! its frozen versions, and what a client sends to change them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{EndLogic, Problem, SlaPolicy, StepId, TransitionId, WorkflowGraph, WorkflowStatus};
use crate::tickets::{NamedRef, PersonRef};

/// Longest workflow name, in characters.
pub const MAX_WORKFLOW_NAME: usize = 100;
/// Longest workflow description, in characters.
pub const MAX_WORKFLOW_DESCRIPTION: usize = 2_000;

/// A problem that keeps a workflow from deployment, as clients read it: a code, a sentence,
/// and the steps and transitions to mark in the editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProblemReport {
    pub code: String,
    pub message: String,
    pub steps: Vec<StepId>,
    pub transitions: Vec<TransitionId>,
}

impl From<&Problem> for ProblemReport {
    fn from(problem: &Problem) -> Self {
        Self {
            code: problem.code().to_owned(),
            message: problem.message(),
            steps: problem.steps(),
            transitions: problem.transitions(),
        }
    }
}

/// A workflow with its draft: what the admin edits. The deployed version, if any, runs
/// meanwhile; `has_undeployed_changes` says whether the draft differs from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Workflow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub category: Option<NamedRef>,
    pub sub_category: Option<NamedRef>,
    pub department: Option<NamedRef>,
    pub status: WorkflowStatus,
    pub sla: SlaPolicy,
    pub end_logic: EndLogic,
    /// Bumped by every change to the draft; send it back with a graph save.
    pub revision: i64,
    pub graph: WorkflowGraph,
    /// The number of the version new tickets start on.
    pub deployed_version: Option<i64>,
    pub has_undeployed_changes: bool,
    /// What keeps the draft from deployment (empty: it can be deployed).
    pub problems: Vec<ProblemReport>,
    pub open_tasks: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A row of the workflow list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowSummary {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub status: WorkflowStatus,
    pub category: Option<String>,
    pub sub_category: Option<String>,
    pub department: Option<String>,
    pub deployed_version: Option<i64>,
    pub step_count: i64,
    pub open_tasks: i64,
    pub updated_at: DateTime<Utc>,
}

/// A deployed graph, frozen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WorkflowVersion {
    pub id: i64,
    pub workflow_id: i64,
    pub number: i64,
    pub graph: WorkflowGraph,
    pub sla: SlaPolicy,
    pub end_logic: EndLogic,
    pub category_id: Option<i64>,
    pub sub_category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub deployed_by: Option<PersonRef>,
    pub deployed_at: DateTime<Utc>,
    /// Whether new tickets start on this version now.
    pub is_current: bool,
}

/// A new workflow, or the new values of its settings (every field optional in a change).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct WorkflowInput {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// `null` clears it; absent leaves it as it is.
    #[serde(default, deserialize_with = "double_option")]
    pub category_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub sub_category_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub department_id: Option<Option<i64>>,
    #[serde(default)]
    pub sla: Option<SlaPolicy>,
    #[serde(default)]
    pub end_logic: Option<EndLogic>,
}

/// Tells a field sent as `null` (`Some(None)`) from a field not sent (`None`).
fn double_option<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The visual editor's save: the draft's settings and graph together, at the `revision` the
/// editor last loaded or saved (409 if the draft changed since: another admin saved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DraftSave {
    pub revision: i64,
    pub settings: WorkflowInput,
    pub graph: WorkflowGraph,
}

/// The whole draft graph, saved at once (the editor's save). `revision` is the one the client
/// loaded: if the draft changed since, the save is refused with 409. Steps and transitions
/// with ids the draft does not hold (the editor's negative ids) are new; the answer carries
/// their saved ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GraphSave {
    pub revision: i64,
    pub graph: WorkflowGraph,
}
