//! Transition rules: which actions a ticket at a step offers, and where each one leads.

use serde::{Deserialize, Serialize};

use super::graph::Index;
use super::model::{StepId, Transition, TransitionId, WorkflowGraph};

/// Why an action cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum TransitionError {
    /// The ticket's step is not in the graph.
    #[error("step {step} does not exist")]
    UnknownStep { step: StepId },
    /// The ticket is at an end step: it is done and takes no more actions.
    #[error("step {step} is an end step: the ticket is done")]
    EndStep { step: StepId },
    /// No action with this label leaves the step.
    #[error("the action '{action}' is not available at step {step}")]
    ActionNotAvailable { step: StepId, action: String },
    /// Several actions with this label leave the step (a graph validation refuses).
    #[error("several actions '{action}' leave step {step}")]
    AmbiguousAction {
        step: StepId,
        action: String,
        transitions: Vec<TransitionId>,
    },
    /// No transition has this id.
    #[error("transition {transition} does not exist")]
    UnknownTransition { transition: TransitionId },
    /// The transition leaves another step than the ticket's.
    #[error("transition {transition} does not leave step {step}")]
    NotFromStep {
        transition: TransitionId,
        step: StepId,
    },
    /// The transition leads to a step that is not in the graph (a graph validation refuses).
    #[error("transition {transition} leads to step {to}, which does not exist")]
    TargetMissing {
        transition: TransitionId,
        to: StepId,
    },
}

impl TransitionError {
    /// The machine-readable code, as serialised in `code`.
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::UnknownStep { .. } => "unknown_step",
            TransitionError::EndStep { .. } => "end_step",
            TransitionError::ActionNotAvailable { .. } => "action_not_available",
            TransitionError::AmbiguousAction { .. } => "ambiguous_action",
            TransitionError::UnknownTransition { .. } => "unknown_transition",
            TransitionError::NotFromStep { .. } => "not_from_step",
            TransitionError::TargetMissing { .. } => "target_missing",
        }
    }
}

/// An action label as rules compare it: trimmed, inner runs of white space made one space,
/// lower case. "Approve", " approve " and "APPROVE" are one action: on a step they would be
/// buttons nobody tells apart, so validation counts them as duplicates, and the simulator
/// accepts an action however it is typed.
pub fn normalize_action(label: &str) -> String {
    label
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The actions offered at a step, in the order of the graph's transitions: the transitions that
/// leave it to a step that exists. None at an end step (the ticket is done) or at a step that is
/// not in the graph.
pub fn available_actions(graph: &WorkflowGraph, current: StepId) -> Vec<&Transition> {
    let index = Index::new(graph);
    match index.step(current) {
        Some(i) => index.moves(i).map(|(t, _)| &graph.transitions[t]).collect(),
        None => Vec::new(),
    }
}

/// Takes the action with this label at step `current`: the transition taken, whose `to` is the
/// ticket's next step. Labels compare as [`normalize_action`] says.
pub fn apply_action<'g>(
    graph: &'g WorkflowGraph,
    current: StepId,
    action: &str,
) -> Result<&'g Transition, TransitionError> {
    apply_action_in(&Index::new(graph), current, action)
}

/// Takes the transition with this id at step `current`. The engine acts by id (a button posts
/// the transition it shows), so a label edited in a later version cannot change what a pressed
/// button meant.
pub fn apply_transition(
    graph: &WorkflowGraph,
    current: StepId,
    transition: TransitionId,
) -> Result<&Transition, TransitionError> {
    let index = Index::new(graph);
    let i = current_step(&index, current)?;
    let t = graph
        .transitions
        .iter()
        .position(|t| t.id == transition)
        .ok_or(TransitionError::UnknownTransition { transition })?;
    if index.step(graph.transitions[t].from) != Some(i) {
        return Err(TransitionError::NotFromStep {
            transition,
            step: current,
        });
    }
    taken(&index, t)
}

fn current_step(index: &Index<'_>, current: StepId) -> Result<usize, TransitionError> {
    let i = index
        .step(current)
        .ok_or(TransitionError::UnknownStep { step: current })?;
    if index.graph.steps[i].is_end {
        return Err(TransitionError::EndStep { step: current });
    }
    Ok(i)
}

fn taken<'g>(index: &Index<'g>, t: usize) -> Result<&'g Transition, TransitionError> {
    let transition = &index.graph.transitions[t];
    match index.target[t] {
        Some(_) => Ok(transition),
        None => Err(TransitionError::TargetMissing {
            transition: transition.id,
            to: transition.to,
        }),
    }
}

pub(crate) fn apply_action_in<'g>(
    index: &Index<'g>,
    current: StepId,
    action: &str,
) -> Result<&'g Transition, TransitionError> {
    let i = current_step(index, current)?;
    let wanted = normalize_action(action);
    let matching: Vec<usize> = index.out[i]
        .iter()
        .copied()
        .filter(|&t| normalize_action(&index.graph.transitions[t].action) == wanted)
        .collect();
    // A matching transition to a missing step is not offered; it only explains a failure when
    // nothing else matches.
    let usable: Vec<usize> = matching
        .iter()
        .copied()
        .filter(|&t| index.target[t].is_some())
        .collect();
    match (usable.as_slice(), matching.first()) {
        ([t], _) => taken(index, *t),
        ([], Some(&t)) => taken(index, t),
        ([], None) => Err(TransitionError::ActionNotAvailable {
            step: current,
            action: action.to_owned(),
        }),
        (several, _) => Err(TransitionError::AmbiguousAction {
            step: current,
            action: action.to_owned(),
            transitions: several
                .iter()
                .map(|&t| index.graph.transitions[t].id)
                .collect(),
        }),
    }
}
