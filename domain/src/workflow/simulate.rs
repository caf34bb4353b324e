//! The simulator: walks a ticket through a graph by a list of actions, as the editor's "try it"
//! panel shows, with the SLA allowance of every step visited. Also the happy path, the shortest
//! way through.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::graph::Index;
use super::model::{StartError, StepId, Transition, TransitionId, WorkflowGraph};
use super::rules::{TransitionError, apply_action_in};
use super::sla::{SlaError, SlaPolicy, allowances_for};
use crate::tickets::Priority;

/// One stay of the simulated ticket at a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimulatedVisit {
    pub step: StepId,
    pub step_name: String,
    /// The step's share of the SLA in seconds; `None` when the SLA could not be split (see
    /// [`SimulationResult::sla_error`]).
    pub allowance_seconds: Option<i64>,
    /// Seconds from the ticket's arrival to the end of this visit's allowance: the sum of the
    /// allowances of this visit and every visit before it. A step visited twice counts twice.
    pub cumulative_seconds: Option<i64>,
    /// The action that moved the ticket on; `None` for the last visit.
    pub action: Option<String>,
    pub transition: Option<TransitionId>,
}

/// How a simulation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum SimulationOutcome {
    /// The ticket reached an end step with the last action.
    Completed { step: StepId },
    /// The actions ran out with the ticket at a step that is not an end step.
    Stopped { step: StepId },
    /// The action at `action_index` (counting from 0) could not be taken at `step`; the visits
    /// end at that step. An action after the ticket reached an end step fails with
    /// [`TransitionError::EndStep`].
    Failed {
        action_index: usize,
        step: StepId,
        action: String,
        error: TransitionError,
    },
    /// The graph has no single start step, so the ticket could not enter it.
    CannotStart { error: StartError },
}

/// What happened to the simulated ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SimulationResult {
    pub priority: Priority,
    /// The workflow's SLA for the priority, in seconds, if set.
    pub sla_seconds: Option<i64>,
    /// Why there are no allowances, if there are none. The walk itself does not need them, so
    /// a graph whose SLA cannot be split still simulates.
    pub sla_error: Option<SlaError>,
    pub visits: Vec<SimulatedVisit>,
    pub outcome: SimulationOutcome,
}

impl SimulationResult {
    pub fn is_completed(&self) -> bool {
        matches!(self.outcome, SimulationOutcome::Completed { .. })
    }

    /// Whether the ticket would meet its SLA if every visit used its whole allowance: `None`
    /// without allowances.
    pub fn within_sla(&self) -> Option<bool> {
        let total = self.sla_seconds?;
        let used = self.visits.last()?.cumulative_seconds?;
        Some(used <= total)
    }
}

/// Walks a ticket of `priority` from the start step through `actions` (labels, compared as
/// [`super::normalize_action`] says), stopping at the first action that cannot be taken.
pub fn simulate(
    graph: &WorkflowGraph,
    sla: &SlaPolicy,
    priority: Priority,
    actions: &[String],
) -> SimulationResult {
    let split = allowances_for(graph, sla, priority);
    let (allowances, sla_error) = match split {
        Ok(split) => (Some(split.allowances), None),
        Err(error) => (None, Some(error)),
    };
    let mut result = SimulationResult {
        priority,
        sla_seconds: sla.get(priority),
        sla_error,
        visits: Vec::new(),
        outcome: SimulationOutcome::CannotStart {
            error: StartError::NoStartStep,
        },
    };
    let index = Index::new(graph);
    let start = match graph.start_step() {
        Ok(step) => step,
        Err(error) => {
            result.outcome = SimulationOutcome::CannotStart { error };
            return result;
        }
    };
    let mut elapsed = allowances.as_ref().map(|_| 0i64);
    let mut visit = |step: StepId, visits: &mut Vec<SimulatedVisit>| {
        let allowance = allowances
            .as_ref()
            .map(|all| all.get(&step).copied().unwrap_or(0));
        elapsed = elapsed
            .zip(allowance)
            .map(|(before, own)| before.saturating_add(own));
        visits.push(SimulatedVisit {
            step,
            step_name: index
                .step(step)
                .map(|i| graph.steps[i].name.clone())
                .unwrap_or_default(),
            allowance_seconds: allowance,
            cumulative_seconds: elapsed,
            action: None,
            transition: None,
        });
    };

    let mut current = start.id;
    visit(current, &mut result.visits);
    for (action_index, action) in actions.iter().enumerate() {
        match apply_action_in(&index, current, action) {
            Ok(transition) => {
                if let Some(last) = result.visits.last_mut() {
                    last.action = Some(transition.action.clone());
                    last.transition = Some(transition.id);
                }
                current = transition.to;
                visit(current, &mut result.visits);
            }
            Err(error) => {
                result.outcome = SimulationOutcome::Failed {
                    action_index,
                    step: current,
                    action: action.clone(),
                    error,
                };
                return result;
            }
        }
    }
    let at_end = index.step(current).is_some_and(|i| graph.steps[i].is_end);
    result.outcome = if at_end {
        SimulationOutcome::Completed { step: current }
    } else {
        SimulationOutcome::Stopped { step: current }
    };
    result
}

/// A shortest route from the start step to an end step, as the transitions taken: fewest
/// actions, ties going to the transition that comes first in the graph (a breadth-first walk in
/// graph order), so the answer is stable. `Some(vec![])` if the start step is an end step;
/// `None` without a single start step or without any route.
pub fn happy_path(graph: &WorkflowGraph) -> Option<Vec<&Transition>> {
    let start = graph.start_step().ok()?;
    let index = Index::new(graph);
    let start = index.step(start.id)?;
    if graph.steps[start].is_end {
        return Some(Vec::new());
    }
    // came_by[i]: the transition that first reached step i.
    let mut came_by: Vec<Option<usize>> = vec![None; graph.steps.len()];
    let mut seen = vec![false; graph.steps.len()];
    seen[start] = true;
    let mut queue = VecDeque::from([start]);
    while let Some(i) = queue.pop_front() {
        for (t, to) in index.moves(i) {
            if seen[to] {
                continue;
            }
            seen[to] = true;
            came_by[to] = Some(t);
            if graph.steps[to].is_end {
                let mut path = Vec::new();
                let mut at = to;
                while let Some(t) = came_by[at] {
                    path.push(&graph.transitions[t]);
                    at = index.step(graph.transitions[t].from)?;
                }
                path.reverse();
                return Some(path);
            }
            queue.push_back(to);
        }
    }
    None
}

/// The action labels of [`happy_path`], ready for [`simulate()`].
pub fn happy_path_actions(graph: &WorkflowGraph) -> Option<Vec<String>> {
    happy_path(graph).map(|path| path.into_iter().map(|t| t.action.clone()).collect())
}
