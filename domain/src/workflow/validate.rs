//! Validation: everything that keeps a workflow from being deployed, each problem naming the
//! steps and transitions the editor should mark.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::graph::Index;
use super::model::{
    MAX_ACTION_LABEL, MAX_INSTRUCTIONS, MAX_STEP_NAME, MAX_STEPS, MAX_TRANSITIONS, MAX_WEIGHT,
    RoleId, StepId, TransitionId, WorkflowGraph,
};
use super::rules::normalize_action;
use super::sla::{MAX_SLA_SECONDS, SlaPolicy};
use crate::tickets::Priority;

/// One thing wrong with a workflow. Serialised with its `code` beside its fields:
/// `{"code": "unreachable_step", "step": 12, "step_name": "Review"}`.
///
/// Problems carry the names they speak of (`step_name`, `action`) as well as the ids, so that
/// [`Problem::message`] reads well on its own and a REST client gets a useful answer without
/// looking the ids up. [`Problem::steps`] and [`Problem::transitions`] give the ids to mark.
///
/// The variants are listed in the order [`validate()`] reports them: the shape of the graph
/// first (the limits, then start and end steps, then broken references), then how tickets can
/// move through it, then the fields of steps and of actions, then the SLA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    /// More than [`MAX_STEPS`] steps.
    TooManySteps { count: usize, max: usize },
    /// More than [`MAX_TRANSITIONS`] transitions.
    TooManyTransitions { count: usize, max: usize },
    /// No step is the start step: a ticket would have nowhere to begin.
    NoStartStep,
    /// Several steps are start steps: the engine would not know where a ticket begins.
    SeveralStartSteps {
        steps: Vec<StepId>,
        step_names: Vec<String>,
    },
    /// No step is an end step: no ticket could ever be done.
    NoEndStep,
    /// The start step is also an end step: a ticket would be done before anyone saw it. A
    /// ticket that needs no work should not be matched to a workflow at all.
    StartStepIsEnd { step: StepId, step_name: String },
    /// A step has the id of an earlier step. The earlier one is the one the rules follow.
    DuplicateStepId { step: StepId, step_name: String },
    /// A transition has the id of an earlier transition.
    DuplicateTransitionId {
        transition: TransitionId,
        action: String,
    },
    /// A transition starts or ends at a step that is not in the graph; `missing` names the ids.
    DanglingTransition {
        transition: TransitionId,
        action: String,
        missing: Vec<StepId>,
    },
    /// No route from the start step leads to this step. Transitions leaving end steps are not
    /// routes: a ticket at an end step is done.
    UnreachableStep { step: StepId, step_name: String },
    /// No end step can be reached from this (non-end) step: a ticket there would be stuck.
    DeadEndStep { step: StepId, step_name: String },
    /// An end step has an action: a ticket at an end step is done and takes no more actions.
    TransitionFromEndStep {
        transition: TransitionId,
        action: String,
        step: StepId,
        step_name: String,
    },
    /// An action leads from a step back to itself. Refused because every action moves a ticket
    /// to another step (the history and the round-robin assignment both rest on that); handing
    /// a ticket to someone else at the same step is a transfer, not an action of the workflow.
    SelfLoop {
        transition: TransitionId,
        action: String,
        step: StepId,
        step_name: String,
    },
    /// A step has no name.
    EmptyStepName { step: StepId },
    /// A step name is longer than `max` characters.
    StepNameTooLong {
        step: StepId,
        step_name: String,
        max: usize,
    },
    /// A step's instructions are longer than `max` characters.
    InstructionsTooLong {
        step: StepId,
        step_name: String,
        max: usize,
    },
    /// A step has no responsible role: nobody would be assigned. End steps need one too: their
    /// role owns the finished ticket and receives the end logic's outcome.
    StepWithoutRole { step: StepId, step_name: String },
    /// A step's role is not one of the known workflow roles.
    UnknownRole {
        step: StepId,
        step_name: String,
        role: i64,
    },
    /// A step's escalation role is not one of the known workflow roles.
    UnknownEscalationRole {
        step: StepId,
        step_name: String,
        role: i64,
    },
    /// A step's weight is outside 1 to [`MAX_WEIGHT`].
    InvalidWeight {
        step: StepId,
        step_name: String,
        weight: i64,
    },
    /// An action has no label: its button would be blank.
    EmptyActionLabel {
        transition: TransitionId,
        step: StepId,
        step_name: String,
    },
    /// An action label is longer than `max` characters.
    ActionLabelTooLong {
        transition: TransitionId,
        action: String,
        max: usize,
    },
    /// Several actions leaving one step have the same label (compared as
    /// [`normalize_action`] does): the assignee could not tell the buttons apart.
    DuplicateAction {
        step: StepId,
        step_name: String,
        action: String,
        transitions: Vec<TransitionId>,
    },
    /// No SLA is set for a priority: a ticket of that priority would have no target.
    MissingSla { priority: Priority },
    /// An SLA is zero, negative or longer than [`MAX_SLA_SECONDS`].
    InvalidSla { priority: Priority, seconds: i64 },
}

impl Problem {
    /// The machine-readable code, as serialised in `code`.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::TooManySteps { .. } => "too_many_steps",
            Problem::TooManyTransitions { .. } => "too_many_transitions",
            Problem::NoStartStep => "no_start_step",
            Problem::SeveralStartSteps { .. } => "several_start_steps",
            Problem::NoEndStep => "no_end_step",
            Problem::StartStepIsEnd { .. } => "start_step_is_end",
            Problem::DuplicateStepId { .. } => "duplicate_step_id",
            Problem::DuplicateTransitionId { .. } => "duplicate_transition_id",
            Problem::DanglingTransition { .. } => "dangling_transition",
            Problem::UnreachableStep { .. } => "unreachable_step",
            Problem::DeadEndStep { .. } => "dead_end_step",
            Problem::TransitionFromEndStep { .. } => "transition_from_end_step",
            Problem::SelfLoop { .. } => "self_loop",
            Problem::EmptyStepName { .. } => "empty_step_name",
            Problem::StepNameTooLong { .. } => "step_name_too_long",
            Problem::InstructionsTooLong { .. } => "instructions_too_long",
            Problem::StepWithoutRole { .. } => "step_without_role",
            Problem::UnknownRole { .. } => "unknown_role",
            Problem::UnknownEscalationRole { .. } => "unknown_escalation_role",
            Problem::InvalidWeight { .. } => "invalid_weight",
            Problem::EmptyActionLabel { .. } => "empty_action_label",
            Problem::ActionLabelTooLong { .. } => "action_label_too_long",
            Problem::DuplicateAction { .. } => "duplicate_action",
            Problem::MissingSla { .. } => "missing_sla",
            Problem::InvalidSla { .. } => "invalid_sla",
        }
    }

    /// Where the problem sits in the report: the place of its variant in the declaration.
    pub(crate) fn rank(&self) -> u8 {
        match self {
            Problem::TooManySteps { .. } => 0,
            Problem::TooManyTransitions { .. } => 1,
            Problem::NoStartStep => 2,
            Problem::SeveralStartSteps { .. } => 3,
            Problem::NoEndStep => 4,
            Problem::StartStepIsEnd { .. } => 5,
            Problem::DuplicateStepId { .. } => 6,
            Problem::DuplicateTransitionId { .. } => 7,
            Problem::DanglingTransition { .. } => 8,
            Problem::UnreachableStep { .. } => 9,
            Problem::DeadEndStep { .. } => 10,
            Problem::TransitionFromEndStep { .. } => 11,
            Problem::SelfLoop { .. } => 12,
            Problem::EmptyStepName { .. } => 13,
            Problem::StepNameTooLong { .. } => 14,
            Problem::InstructionsTooLong { .. } => 15,
            Problem::StepWithoutRole { .. } => 16,
            Problem::UnknownRole { .. } => 17,
            Problem::UnknownEscalationRole { .. } => 18,
            Problem::InvalidWeight { .. } => 19,
            Problem::EmptyActionLabel { .. } => 20,
            Problem::ActionLabelTooLong { .. } => 21,
            Problem::DuplicateAction { .. } => 22,
            Problem::MissingSla { .. } => 23,
            Problem::InvalidSla { .. } => 24,
        }
    }

    /// The steps to mark on the canvas.
    pub fn steps(&self) -> Vec<StepId> {
        match self {
            Problem::SeveralStartSteps { steps, .. } => steps.clone(),
            Problem::StartStepIsEnd { step, .. }
            | Problem::DuplicateStepId { step, .. }
            | Problem::UnreachableStep { step, .. }
            | Problem::DeadEndStep { step, .. }
            | Problem::TransitionFromEndStep { step, .. }
            | Problem::SelfLoop { step, .. }
            | Problem::EmptyStepName { step }
            | Problem::StepNameTooLong { step, .. }
            | Problem::InstructionsTooLong { step, .. }
            | Problem::StepWithoutRole { step, .. }
            | Problem::UnknownRole { step, .. }
            | Problem::UnknownEscalationRole { step, .. }
            | Problem::InvalidWeight { step, .. }
            | Problem::DuplicateAction { step, .. } => vec![*step],
            Problem::TooManySteps { .. }
            | Problem::TooManyTransitions { .. }
            | Problem::NoStartStep
            | Problem::NoEndStep
            | Problem::DuplicateTransitionId { .. }
            | Problem::DanglingTransition { .. }
            | Problem::EmptyActionLabel { .. }
            | Problem::ActionLabelTooLong { .. }
            | Problem::MissingSla { .. }
            | Problem::InvalidSla { .. } => Vec::new(),
        }
    }

    /// The transitions to mark on the canvas.
    pub fn transitions(&self) -> Vec<TransitionId> {
        match self {
            Problem::DuplicateAction { transitions, .. } => transitions.clone(),
            Problem::DuplicateTransitionId { transition, .. }
            | Problem::DanglingTransition { transition, .. }
            | Problem::TransitionFromEndStep { transition, .. }
            | Problem::SelfLoop { transition, .. }
            | Problem::EmptyActionLabel { transition, .. }
            | Problem::ActionLabelTooLong { transition, .. } => vec![*transition],
            _ => Vec::new(),
        }
    }

    /// What is wrong, in a sentence for the person editing the workflow.
    pub fn message(&self) -> String {
        match self {
            Problem::TooManySteps { count, max } => {
                format!("The workflow has {count} steps; at most {max} are allowed.")
            }
            Problem::TooManyTransitions { count, max } => {
                format!("The workflow has {count} actions; at most {max} are allowed.")
            }
            Problem::NoStartStep => {
                "No step is marked as the start step; mark exactly one.".to_owned()
            }
            Problem::SeveralStartSteps { steps, step_names } => format!(
                "{} steps are marked as the start step ({}); mark exactly one.",
                steps.len(),
                steps
                    .iter()
                    .zip(step_names)
                    .map(|(id, name)| step_ref(*id, name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Problem::NoEndStep => "No step is marked as an end step; mark at least one.".to_owned(),
            Problem::StartStepIsEnd { step, step_name } => format!(
                "The start step {} is also an end step: tickets would be done before anyone \
                 worked on them.",
                step_ref(*step, step_name)
            ),
            Problem::DuplicateStepId { step, step_name } => format!(
                "Step {} has the id {step}, which an earlier step already has.",
                step_ref(*step, step_name)
            ),
            Problem::DuplicateTransitionId { transition, action } => format!(
                "The action {} has the id {transition}, which an earlier action already has.",
                action_ref(action)
            ),
            Problem::DanglingTransition {
                action, missing, ..
            } => format!(
                "The action {} connects a step that does not exist (id {}).",
                action_ref(action),
                missing
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Problem::UnreachableStep { step, step_name } => format!(
                "Step {} cannot be reached from the start step.",
                step_ref(*step, step_name)
            ),
            Problem::DeadEndStep { step, step_name } => format!(
                "No end step can be reached from step {}: tickets there would be stuck.",
                step_ref(*step, step_name)
            ),
            Problem::TransitionFromEndStep {
                action,
                step,
                step_name,
                ..
            } => format!(
                "The end step {} has the action {}; a ticket at an end step is done.",
                step_ref(*step, step_name),
                action_ref(action)
            ),
            Problem::SelfLoop {
                action,
                step,
                step_name,
                ..
            } => format!(
                "The action {} leads from step {} back to itself; an action must move the \
                 ticket to another step.",
                action_ref(action),
                step_ref(*step, step_name)
            ),
            Problem::EmptyStepName { step } => format!("Step {} has no name.", step_ref(*step, "")),
            Problem::StepNameTooLong {
                step,
                step_name,
                max,
            } => format!(
                "The name of step {} is longer than {max} characters.",
                step_ref(*step, step_name)
            ),
            Problem::InstructionsTooLong {
                step,
                step_name,
                max,
            } => format!(
                "The instructions of step {} are longer than {max} characters.",
                step_ref(*step, step_name)
            ),
            Problem::StepWithoutRole { step, step_name } => format!(
                "Step {} has no responsible role.",
                step_ref(*step, step_name)
            ),
            Problem::UnknownRole {
                step,
                step_name,
                role,
            } => format!(
                "The role of step {} does not exist (role {role}).",
                step_ref(*step, step_name)
            ),
            Problem::UnknownEscalationRole {
                step,
                step_name,
                role,
            } => format!(
                "The escalation role of step {} does not exist (role {role}).",
                step_ref(*step, step_name)
            ),
            Problem::InvalidWeight {
                step,
                step_name,
                weight,
            } => format!(
                "Step {} has weight {weight}; a weight is a whole number from 1 to {MAX_WEIGHT}.",
                step_ref(*step, step_name)
            ),
            Problem::EmptyActionLabel {
                step, step_name, ..
            } => format!(
                "An action leaving step {} has no label.",
                step_ref(*step, step_name)
            ),
            Problem::ActionLabelTooLong { action, max, .. } => format!(
                "The action label {} is longer than {max} characters.",
                action_ref(action)
            ),
            Problem::DuplicateAction {
                step,
                step_name,
                action,
                transitions,
            } => format!(
                "Step {} has {} actions labelled {}; the actions of a step need different \
                 labels.",
                step_ref(*step, step_name),
                transitions.len(),
                action_ref(action)
            ),
            Problem::MissingSla { priority } => {
                format!("No SLA is set for {} priority.", priority.label())
            }
            Problem::InvalidSla { priority, .. } => format!(
                "The SLA for {} priority must be more than zero and at most {} days.",
                priority.label(),
                MAX_SLA_SECONDS / 86_400
            ),
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

/// `'Review'`, or `#12` for a step without a name.
fn step_ref(id: StepId, name: &str) -> String {
    if name.trim().is_empty() {
        format!("#{id}")
    } else {
        format!("'{}'", name.trim())
    }
}

fn action_ref(label: &str) -> String {
    format!("'{}'", label.trim())
}

/// Everything that keeps `graph` with `sla` from being deployed; empty when it can be. A draft
/// may be saved with problems; deploying requires none.
///
/// `known_roles`, when given, is the set of existing workflow role ids: the server passes it;
/// the editor passes the roles it listed, or `None` to skip that check.
///
/// Problems come grouped in the order of the [`Problem`] variants, and within a group in the
/// order of the steps and transitions in the graph, so the same graph always gives the same
/// list. The reachability problems are only looked for when they mean something: unreachable
/// steps when there is a start step, dead ends when there is an end step.
///
/// Linear in the size of the graph (hash maps and two breadth-first walks), whatever it holds:
/// a graph over the limits is still checked in full, only the limits are reported first.
pub fn validate(
    graph: &WorkflowGraph,
    sla: &SlaPolicy,
    known_roles: Option<&HashSet<RoleId>>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let steps = &graph.steps;
    let transitions = &graph.transitions;
    let index = Index::new(graph);
    let name_of = |id: StepId| {
        index
            .step(id)
            .map(|i| steps[i].name.trim().to_owned())
            .unwrap_or_default()
    };

    if steps.len() > MAX_STEPS {
        problems.push(Problem::TooManySteps {
            count: steps.len(),
            max: MAX_STEPS,
        });
    }
    if transitions.len() > MAX_TRANSITIONS {
        problems.push(Problem::TooManyTransitions {
            count: transitions.len(),
            max: MAX_TRANSITIONS,
        });
    }

    // Start and end steps.
    let starts = index.steps_where(|step| step.is_start);
    let ends = index.steps_where(|step| step.is_end);
    match starts.as_slice() {
        [] => problems.push(Problem::NoStartStep),
        [_] => {}
        several => problems.push(Problem::SeveralStartSteps {
            steps: several.iter().map(|&i| steps[i].id).collect(),
            step_names: several
                .iter()
                .map(|&i| steps[i].name.trim().to_owned())
                .collect(),
        }),
    }
    if ends.is_empty() {
        problems.push(Problem::NoEndStep);
    }
    for &i in &starts {
        if steps[i].is_end {
            problems.push(Problem::StartStepIsEnd {
                step: steps[i].id,
                step_name: steps[i].name.trim().to_owned(),
            });
        }
    }

    // Every step: its id and its fields.
    for (i, step) in steps.iter().enumerate() {
        let step_name = step.name.trim().to_owned();
        if !index.is_canonical(i) {
            problems.push(Problem::DuplicateStepId {
                step: step.id,
                step_name: step_name.clone(),
            });
        }
        if step_name.is_empty() {
            problems.push(Problem::EmptyStepName { step: step.id });
        } else if step_name.chars().count() > MAX_STEP_NAME {
            problems.push(Problem::StepNameTooLong {
                step: step.id,
                step_name: step_name.clone(),
                max: MAX_STEP_NAME,
            });
        }
        if step.instructions.chars().count() > MAX_INSTRUCTIONS {
            problems.push(Problem::InstructionsTooLong {
                step: step.id,
                step_name: step_name.clone(),
                max: MAX_INSTRUCTIONS,
            });
        }
        match step.role {
            None => problems.push(Problem::StepWithoutRole {
                step: step.id,
                step_name: step_name.clone(),
            }),
            Some(role) if known_roles.is_some_and(|known| !known.contains(&role)) => {
                problems.push(Problem::UnknownRole {
                    step: step.id,
                    step_name: step_name.clone(),
                    role,
                });
            }
            Some(_) => {}
        }
        if let Some(role) = step.escalation_role
            && known_roles.is_some_and(|known| !known.contains(&role))
        {
            problems.push(Problem::UnknownEscalationRole {
                step: step.id,
                step_name: step_name.clone(),
                role,
            });
        }
        if !(1..=MAX_WEIGHT).contains(&step.weight) {
            problems.push(Problem::InvalidWeight {
                step: step.id,
                step_name,
                weight: step.weight,
            });
        }
    }

    // Every transition: its id, its ends and its label. Duplicate labels are grouped per
    // leaving step, groups kept in the order of their first transition.
    let mut seen_ids: HashSet<TransitionId> = HashSet::with_capacity(transitions.len());
    let mut groups: Vec<(StepId, String, Vec<TransitionId>)> = Vec::new();
    let mut group_of: HashMap<(StepId, String), usize> = HashMap::new();
    for (t, transition) in transitions.iter().enumerate() {
        let action = transition.action.trim().to_owned();
        if !seen_ids.insert(transition.id) {
            problems.push(Problem::DuplicateTransitionId {
                transition: transition.id,
                action: action.clone(),
            });
        }
        let from = index.step(transition.from);
        let mut missing = Vec::new();
        if from.is_none() {
            missing.push(transition.from);
        }
        if index.target[t].is_none() && !missing.contains(&transition.to) {
            missing.push(transition.to);
        }
        if !missing.is_empty() {
            problems.push(Problem::DanglingTransition {
                transition: transition.id,
                action: action.clone(),
                missing,
            });
        }
        if let Some(from) = from {
            if steps[from].is_end {
                problems.push(Problem::TransitionFromEndStep {
                    transition: transition.id,
                    action: action.clone(),
                    step: transition.from,
                    step_name: steps[from].name.trim().to_owned(),
                });
            }
            if transition.to == transition.from {
                problems.push(Problem::SelfLoop {
                    transition: transition.id,
                    action: action.clone(),
                    step: transition.from,
                    step_name: steps[from].name.trim().to_owned(),
                });
            }
        }
        if action.is_empty() {
            problems.push(Problem::EmptyActionLabel {
                transition: transition.id,
                step: transition.from,
                step_name: name_of(transition.from),
            });
        } else {
            if action.chars().count() > MAX_ACTION_LABEL {
                problems.push(Problem::ActionLabelTooLong {
                    transition: transition.id,
                    action: action.clone(),
                    max: MAX_ACTION_LABEL,
                });
            }
            if from.is_none() {
                // Already dangling; its label has no buttons to clash with.
                continue;
            }
            let key = (transition.from, normalize_action(&action));
            let group = *group_of.entry(key).or_insert_with(|| {
                groups.push((transition.from, action, Vec::new()));
                groups.len() - 1
            });
            groups[group].2.push(transition.id);
        }
    }
    for (step, action, ids) in groups {
        if ids.len() > 1 {
            problems.push(Problem::DuplicateAction {
                step,
                step_name: name_of(step),
                action,
                transitions: ids,
            });
        }
    }

    // How tickets move: from the start steps forward, from the end steps backward.
    if !starts.is_empty() {
        let reached = index.forward(&starts);
        for i in index.steps_where(|_| true) {
            if !reached[i] {
                problems.push(Problem::UnreachableStep {
                    step: steps[i].id,
                    step_name: steps[i].name.trim().to_owned(),
                });
            }
        }
    }
    if !ends.is_empty() {
        let reaching = index.backward(&ends);
        for i in index.steps_where(|step| !step.is_end) {
            if !reaching[i] {
                problems.push(Problem::DeadEndStep {
                    step: steps[i].id,
                    step_name: steps[i].name.trim().to_owned(),
                });
            }
        }
    }

    for &priority in Priority::ALL {
        match sla.get(priority) {
            None => problems.push(Problem::MissingSla { priority }),
            Some(seconds) if !SlaPolicy::is_valid_seconds(seconds) => {
                problems.push(Problem::InvalidSla { priority, seconds });
            }
            Some(_) => {}
        }
    }

    // Stable: within a kind, the order of the graph stays.
    problems.sort_by_key(Problem::rank);
    problems
}
