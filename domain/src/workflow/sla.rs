//! SLA arithmetic: the workflow's SLA per priority, its split over the steps by weight, targets
//! and the state of a running clock.
//!
//! # How the SLA is split over steps
//!
//! A ticket does not visit every step of a branching workflow, so "split by weight" needs a set
//! of steps whose weights make the denominator. This module takes the **heaviest route**: the
//! route from the start step to an end step whose steps weigh the most, where the steps of a
//! loop (a strongly connected part of the graph, such as "Review ⇄ Rework") all count, once
//! each. A step's allowance is `total × weight ÷ route weight`; end steps get 0 (a ticket there
//! is done).
//!
//! Why this rule and not the alternatives:
//!
//! - *All non-end steps* as the denominator is simpler, but on a workflow with two alternative
//!   branches it starves both: a ticket that takes the short branch could meet every step
//!   target and still have used only a fraction of its SLA, so the SLA monitor would warn
//!   assignees about time the ticket actually has.
//! - *The heaviest route* gives the most generous step targets that still add up to no more than
//!   the SLA on **any** route a ticket can take without going round a loop: any such route weighs
//!   at most the heaviest one (counting a whole loop bounds every simple path through it). On
//!   the heaviest route itself the allowances add up to the SLA exactly; in an acyclic graph that
//!   route is the true longest path.
//! - The longest *simple* path through a graph with loops would be tighter but is NP-hard to
//!   compute; the loop-condensed route is linear (Tarjan's algorithm, then a longest path over the
//!   acyclic graph of components).
//!
//! Allowances are whole seconds. Each step gets the floor of its exact share; the seconds the
//! floors leave over on the route (fewer than the route has steps) go one each to the route's
//! steps with the largest fractional remainders, earlier route steps first on ties (the largest
//! remainder method). So the route sums exactly to the SLA and every allowance is within one
//! second of its exact share — which also means another route of the same weight may add up to
//! a few seconds more than the SLA. Steps off every route (only in invalid graphs) get the floor.
//!
//! A ticket that goes round a loop visits a step twice; each visit gets the step's allowance.
//! The task's own target is `created + SLA` whatever the route, and an engine should cap a step
//! target at the task target so a loop cannot push it past the SLA.
//!
//! Time is wall-clock time: the seeds know no business hours.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::graph::Index;
use super::model::{MAX_WEIGHT, StepId, WorkflowGraph};
use crate::tickets::Priority;

/// Longest SLA, in seconds: 366 days. Longer is a mistyped unit, not a service level.
pub const MAX_SLA_SECONDS: i64 = 366 * 24 * 3600;
/// The share of the allowance used at which a clock turns from on track to warning, in percent.
pub const WARNING_PERCENT: i64 = 75;

/// The SLA of a workflow for each priority, in seconds: how long a ticket of that priority may
/// take from arriving in the workflow to reaching an end step. Seconds, not a duration type,
/// because they serialise as plain numbers and an SLA finer than a second means nothing. `None`
/// is "not set yet"; a deployable workflow sets all four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaPolicy {
    #[serde(default)]
    pub low: Option<i64>,
    #[serde(default)]
    pub medium: Option<i64>,
    #[serde(default)]
    pub high: Option<i64>,
    #[serde(default)]
    pub urgent: Option<i64>,
}

impl SlaPolicy {
    /// The same SLA for every priority.
    pub fn uniform(seconds: i64) -> Self {
        Self {
            low: Some(seconds),
            medium: Some(seconds),
            high: Some(seconds),
            urgent: Some(seconds),
        }
    }

    pub fn get(&self, priority: Priority) -> Option<i64> {
        match priority {
            Priority::Low => self.low,
            Priority::Medium => self.medium,
            Priority::High => self.high,
            Priority::Urgent => self.urgent,
        }
    }

    pub fn set(&mut self, priority: Priority, seconds: Option<i64>) {
        match priority {
            Priority::Low => self.low = seconds,
            Priority::Medium => self.medium = seconds,
            Priority::High => self.high = seconds,
            Priority::Urgent => self.urgent = seconds,
        }
    }

    /// Whether a value is a usable SLA: more than zero, at most [`MAX_SLA_SECONDS`].
    pub fn is_valid_seconds(seconds: i64) -> bool {
        (1..=MAX_SLA_SECONDS).contains(&seconds)
    }
}

/// The SLA of a ticket split over the steps of its workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlaSplit {
    /// The SLA split, in seconds.
    pub total_seconds: i64,
    /// Every step's allowance in seconds, end steps 0.
    #[cfg_attr(feature = "openapi", schema(value_type = BTreeMap<i64, i64>))]
    pub allowances: BTreeMap<StepId, i64>,
    /// The heaviest route, start step first, end step last, whose allowances add up to
    /// `total_seconds`. The steps of a loop on it are listed together, in the order a ticket
    /// entering the loop would first meet them.
    pub route: Vec<StepId>,
    /// The weight of `route`: the denominator of every share.
    pub route_weight: i64,
}

impl SlaSplit {
    /// The allowance of a step in seconds; `None` if the step is not in the graph.
    pub fn allowance(&self, step: StepId) -> Option<i64> {
        self.allowances.get(&step).copied()
    }
}

/// Why an SLA cannot be split over a graph.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SlaError {
    #[error("no SLA is set for {priority} priority")]
    MissingSla { priority: Priority },
    #[error("an SLA of {seconds} seconds cannot be split")]
    InvalidTotal { seconds: i64 },
    /// A weight of zero would give a step no time at all, and a negative one would take time
    /// from the others.
    #[error("step {step} has weight {weight}; weights run from 1 to {MAX_WEIGHT}")]
    InvalidWeight { step: StepId, weight: i64 },
    #[error("the workflow has no start step")]
    NoStartStep,
    #[error("the workflow has several start steps")]
    SeveralStartSteps,
    #[error("the start step is an end step")]
    StartStepIsEnd,
    #[error("no end step can be reached from the start step")]
    NoRoute,
}

impl SlaError {
    pub fn code(&self) -> &'static str {
        match self {
            SlaError::MissingSla { .. } => "missing_sla",
            SlaError::InvalidTotal { .. } => "invalid_total",
            SlaError::InvalidWeight { .. } => "invalid_weight",
            SlaError::NoStartStep => "no_start_step",
            SlaError::SeveralStartSteps => "several_start_steps",
            SlaError::StartStepIsEnd => "start_step_is_end",
            SlaError::NoRoute => "no_route",
        }
    }
}

/// [`step_allowances`] for the policy's SLA at a priority.
pub fn allowances_for(
    graph: &WorkflowGraph,
    policy: &SlaPolicy,
    priority: Priority,
) -> Result<SlaSplit, SlaError> {
    let total = policy
        .get(priority)
        .ok_or(SlaError::MissingSla { priority })?;
    step_allowances(graph, total)
}

/// Splits `total_seconds` over the steps by weight, along the heaviest route (see the module
/// documentation for the rule and why). Refuses a negative total, a non-end step whose weight
/// is outside 1 to [`MAX_WEIGHT`], and a graph with no route from its one start step to an end.
pub fn step_allowances(graph: &WorkflowGraph, total_seconds: i64) -> Result<SlaSplit, SlaError> {
    if total_seconds < 0 {
        return Err(SlaError::InvalidTotal {
            seconds: total_seconds,
        });
    }
    let index = Index::new(graph);
    let starts = index.steps_where(|step| step.is_start);
    let start = match starts.as_slice() {
        [] => return Err(SlaError::NoStartStep),
        [start] => *start,
        _ => return Err(SlaError::SeveralStartSteps),
    };
    if graph.steps[start].is_end {
        return Err(SlaError::StartStepIsEnd);
    }
    let steps = &graph.steps;
    let n = steps.len();
    let mut weight = vec![0i64; n];
    for i in index.steps_where(|step| !step.is_end) {
        let w = steps[i].weight;
        if !(1..=MAX_WEIGHT).contains(&w) {
            return Err(SlaError::InvalidWeight {
                step: steps[i].id,
                weight: w,
            });
        }
        weight[i] = w;
    }

    // Components of the graph of usable transitions, numbered sinks first.
    let adjacency: Vec<Vec<usize>> = (0..n)
        .map(|i| index.moves(i).map(|(_, to)| to).collect())
        .collect();
    let (component, count) = strongly_connected(&adjacency);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); count];
    for i in 0..n {
        if index.is_canonical(i) {
            members[component[i]].push(i);
        }
    }

    // Heaviest route from each component to an end step. Components come sinks first, so every
    // successor of a component is settled before it. `best[c]` is `None` when no end step can
    // be reached from `c`; ties go to the successor whose first step comes first in the graph.
    let mut best: Vec<Option<i64>> = vec![None; count];
    // next[c]: the component the route goes on to, and the step it enters it by.
    let mut next: Vec<Option<(usize, usize)>> = vec![None; count];
    for c in 0..count {
        let Some(&first) = members[c].first() else {
            continue;
        };
        if members[c].len() == 1 && steps[first].is_end {
            best[c] = Some(0);
            continue;
        }
        // (weight, first member, component, entry step)
        let mut choice: Option<(i64, usize, usize, usize)> = None;
        for &i in &members[c] {
            for &j in &adjacency[i] {
                let d = component[j];
                if d == c {
                    continue;
                }
                if let (Some(b), Some(&lead)) = (best[d], members[d].first()) {
                    let better = match choice {
                        None => true,
                        Some((cb, clead, _, _)) => b > cb || (b == cb && lead < clead),
                    };
                    if better {
                        choice = Some((b, lead, d, j));
                    }
                }
            }
        }
        if let Some((b, _, d, j)) = choice {
            let own: i64 = members[c].iter().map(|&i| weight[i]).sum();
            best[c] = Some(own + b);
            next[c] = Some((d, j));
        }
    }

    let start_component = component[start];
    let route_weight = best[start_component].ok_or(SlaError::NoRoute)?;
    // The route, component by component; within a loop, its steps in the order a ticket
    // entering it would first meet them (breadth first from the entry step).
    let mut route = Vec::new();
    let mut at = Some((start_component, start));
    let mut queued = vec![false; n];
    while let Some((c, entry)) = at {
        let first = route.len();
        queued[entry] = true;
        route.push(entry);
        let mut k = first;
        while k < route.len() {
            for &j in &adjacency[route[k]] {
                if component[j] == c && !queued[j] {
                    queued[j] = true;
                    route.push(j);
                }
            }
            k += 1;
        }
        at = next[c];
    }

    let total = i128::from(total_seconds);
    let denominator = i128::from(route_weight);
    let share = |i: usize| {
        let exact = total * i128::from(weight[i]);
        // A remainder is below the route weight. A share is at most the total for every step
        // of a valid graph (each lies on some route, no heavier than the heaviest); only a step
        // off every route, in an invalid graph, can weigh more, and then it saturates.
        (
            i64::try_from(exact / denominator).unwrap_or(i64::MAX),
            i64::try_from(exact % denominator).unwrap_or(0),
        )
    };
    let mut allowances = BTreeMap::new();
    for i in index.steps_where(|_| true) {
        allowances.insert(steps[i].id, share(i).0);
    }
    let given: i64 = route.iter().map(|&i| share(i).0).sum();
    let mut by_remainder: Vec<(usize, i64)> = route
        .iter()
        .enumerate()
        .filter(|&(_, &i)| weight[i] > 0)
        .map(|(place, &i)| (place, share(i).1))
        .collect();
    by_remainder.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let left_over = usize::try_from(total_seconds - given).unwrap_or(0);
    for &(place, _) in by_remainder.iter().take(left_over) {
        if let Some(seconds) = allowances.get_mut(&steps[route[place]].id) {
            *seconds += 1;
        }
    }

    Ok(SlaSplit {
        total_seconds,
        allowances,
        route: route.iter().map(|&i| steps[i].id).collect(),
        route_weight,
    })
}

/// Tarjan's strongly connected components, without recursion (a long chain of steps must not
/// overflow the browser's stack). Returns each node's component and the number of components;
/// components are numbered in the order Tarjan completes them, which is a reverse topological
/// order: every edge between components goes from a higher number to a lower one.
fn strongly_connected(adjacency: &[Vec<usize>]) -> (Vec<usize>, usize) {
    const UNSEEN: usize = usize::MAX;
    let n = adjacency.len();
    let mut order = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut component = vec![UNSEEN; n];
    let mut seen = 0;
    let mut count = 0;
    let mut calls: Vec<(usize, usize)> = Vec::new(); // (node, next edge to look at)
    for root in 0..n {
        if order[root] != UNSEEN {
            continue;
        }
        order[root] = seen;
        low[root] = seen;
        seen += 1;
        stack.push(root);
        on_stack[root] = true;
        calls.push((root, 0));
        while let Some(top) = calls.last_mut() {
            let v = top.0;
            if let Some(&w) = adjacency[v].get(top.1) {
                top.1 += 1;
                if order[w] == UNSEEN {
                    order[w] = seen;
                    low[w] = seen;
                    seen += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(order[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == order[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = count;
                    if w == v {
                        break;
                    }
                }
                count += 1;
            }
        }
    }
    (component, count)
}

/// The moment `seconds` after `start`; a time past what a date can hold is the last one it can
/// (an SLA target that far out is "never").
pub fn target_at(start: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    TimeDelta::try_seconds(seconds)
        .and_then(|delta| start.checked_add_signed(delta))
        .unwrap_or(if seconds < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

/// Where an SLA clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SlaState {
    OnTrack,
    /// At least [`WARNING_PERCENT`] of the allowed time is used: the monitor warns.
    Warning,
    /// The target has passed: the monitor escalates.
    Breached,
}

impl SlaState {
    /// The state at `now` of a clock that started at `started_at` and is due at `target`.
    /// Breached from the target on; warning from [`WARNING_PERCENT`] of the way there. A target
    /// at or before the start (an allowance of 0 s) has no warning time: on track until it
    /// passes.
    pub fn at(started_at: DateTime<Utc>, target: DateTime<Utc>, now: DateTime<Utc>) -> SlaState {
        if now >= target {
            return SlaState::Breached;
        }
        let allowed = (target - started_at).num_milliseconds();
        let used = (now - started_at).num_milliseconds();
        // used / allowed >= WARNING_PERCENT / 100, without division or floating point.
        if allowed > 0
            && i128::from(used) * 100 >= i128::from(allowed) * i128::from(WARNING_PERCENT)
        {
            SlaState::Warning
        } else {
            SlaState::OnTrack
        }
    }

    /// The moment a clock turns to [`SlaState::Warning`]: when the monitor should look again.
    pub fn warning_at(started_at: DateTime<Utc>, target: DateTime<Utc>) -> DateTime<Utc> {
        let allowed = (target - started_at).num_milliseconds().max(0);
        // Rounded up, so that at this moment `at` already says warning.
        let warn = (i128::from(allowed) * i128::from(WARNING_PERCENT) + 99) / 100;
        TimeDelta::try_milliseconds(i64::try_from(warn).unwrap_or(i64::MAX))
            .and_then(|delta| started_at.checked_add_signed(delta))
            .unwrap_or(target)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SlaState::OnTrack => "on_track",
            SlaState::Warning => "warning",
            SlaState::Breached => "breached",
        }
    }
}
