//! The rules of the workflow engine (SPEC.md section 2, "Workflow engine"), with no I/O: the
//! server runs them when it saves, deploys and moves tickets, and the browser runs the same
//! code in the workflow editor to check a graph as it is drawn.
//!
//! - The model ([`WorkflowGraph`] of [`Step`]s and [`Transition`]s, [`SlaPolicy`],
//!   [`WorkflowStatus`], [`EndLogic`]).
//! - Validation: [`validate()`] lists every [`Problem`] that keeps a workflow from deployment.
//! - Transition rules: [`available_actions`], [`apply_action`], [`apply_transition`].
//! - SLA arithmetic: [`step_allowances`] splits the SLA over the steps by weight ([`sla`]
//!   explains the rule), [`target_at`] and [`SlaState`] follow a clock.
//! - The simulator: [`simulate()`] walks a ticket through a list of actions; [`happy_path`] finds
//!   the shortest way from start to end.
//! - For the editor and the versions: [`reachable_from_start`], [`can_reach_end`], [`diff()`].
//!
//! # Decisions
//!
//! - **Ids are the caller's.** Saved steps carry their row ids; the editor invents ids for new
//!   ones. [`StepId`] and [`TransitionId`] are distinct newtypes (plain numbers in JSON) so the
//!   two cannot be mixed up in the many places that name both.
//! - **Invalid graphs are representable.** The editor holds graphs that are half drawn, so the
//!   types accept what validation then reports: a step without a role, a zero weight, a
//!   transition to a step that no longer exists, two steps with one id. Every function here
//!   accepts any graph without panicking; where ids repeat, the first step or transition with
//!   an id is the one the rules follow.
//! - **A ticket at an end step is done.** Transitions leaving end steps are a problem
//!   ([`Problem::TransitionFromEndStep`]) and are never followed: not by the transition rules,
//!   not when deciding what is reachable.
//! - **Every action moves the ticket.** A transition from a step to itself is refused
//!   ([`Problem::SelfLoop`]); loops through other steps ("send back") are fine.
//! - **Action labels compare loosely** ([`normalize_action`]): case and spacing do not make two
//!   buttons different.
//! - **Deterministic answers.** Ties are broken by the order of steps and transitions in the
//!   graph, and no answer depends on hash order, so the browser and the server agree.
//! - **Linear time.** Every function builds one index of the graph (hash maps from ids to
//!   positions and adjacency lists) and walks it breadth first; nothing loops over the
//!   transitions once per step. The limits ([`MAX_STEPS`], [`MAX_TRANSITIONS`]) are reported
//!   as problems, not enforced by refusing to look.

mod diff;
pub mod drawing;
mod graph;
mod matching;
mod model;
mod records;
mod rules;
mod simulate;
pub mod sla;
mod validate;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use diff::{GraphDiff, StepChange, StepField, TransitionChange, TransitionField, diff};
pub use graph::{can_reach_end, reachable_from_start};
pub use matching::{MatchOverlap, MatchSet};
pub use model::{
    EndLogic, MAX_ACTION_LABEL, MAX_INSTRUCTIONS, MAX_STEP_NAME, MAX_STEPS, MAX_TRANSITIONS,
    MAX_WEIGHT, Position, RoleId, StartError, Step, StepId, Transition, TransitionId,
    WorkflowGraph, WorkflowStatus,
};
pub use records::{
    DraftSave, GraphSave, MAX_WORKFLOW_DESCRIPTION, MAX_WORKFLOW_NAME, ProblemReport, Workflow,
    WorkflowInput, WorkflowSummary, WorkflowVersion,
};
pub use rules::{
    TransitionError, apply_action, apply_transition, available_actions, normalize_action,
};
pub use simulate::{
    SimulatedVisit, SimulationOutcome, SimulationResult, happy_path, happy_path_actions, simulate,
};
pub use sla::{
    MAX_SLA_SECONDS, SlaError, SlaPolicy, SlaSplit, SlaState, WARNING_PERCENT, allowances_for,
    step_allowances, target_at,
};
pub use validate::{Problem, validate};
