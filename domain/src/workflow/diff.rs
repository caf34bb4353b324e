//! What changed between two versions of a graph ("what changed since the deployed version").
//!
//! Steps and transitions are matched by id, so a version must keep the ids of the steps it
//! copies from the version before (a store that gives every version fresh row ids would show
//! every step as removed and added again). When ids repeat within a graph the first one counts,
//! as everywhere in this module.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::model::{Step, StepId, Transition, TransitionId, WorkflowGraph};

/// A field of a step that can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum StepField {
    Name,
    Instructions,
    Role,
    EscalationRole,
    Weight,
    IsStart,
    IsEnd,
    /// Only the drawing moved; tickets behave the same.
    Position,
}

/// A field of a transition that can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TransitionField {
    From,
    To,
    Action,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepChange {
    pub step: StepId,
    /// In the order of [`StepField`].
    pub fields: Vec<StepField>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TransitionChange {
    pub transition: TransitionId,
    /// In the order of [`TransitionField`].
    pub fields: Vec<TransitionField>,
}

/// The differences from an old graph to a new one. Added and changed entries are in the order
/// of the new graph, removed ones in the order of the old.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GraphDiff {
    pub steps_added: Vec<StepId>,
    pub steps_removed: Vec<StepId>,
    pub steps_changed: Vec<StepChange>,
    pub transitions_added: Vec<TransitionId>,
    pub transitions_removed: Vec<TransitionId>,
    pub transitions_changed: Vec<TransitionChange>,
}

impl GraphDiff {
    pub fn is_empty(&self) -> bool {
        self.steps_added.is_empty()
            && self.steps_removed.is_empty()
            && self.steps_changed.is_empty()
            && self.transitions_added.is_empty()
            && self.transitions_removed.is_empty()
            && self.transitions_changed.is_empty()
    }

    /// Whether tickets would go differently: anything changed but the position of steps on the
    /// canvas. A version that only tidies the drawing need not be offered for deployment.
    pub fn changes_behaviour(&self) -> bool {
        !(self.steps_added.is_empty()
            && self.steps_removed.is_empty()
            && self.transitions_added.is_empty()
            && self.transitions_removed.is_empty()
            && self.transitions_changed.is_empty()
            && self
                .steps_changed
                .iter()
                .all(|change| change.fields == [StepField::Position]))
    }
}

/// The differences from `old` to `new`, matched by id.
pub fn diff(old: &WorkflowGraph, new: &WorkflowGraph) -> GraphDiff {
    let (steps_added, steps_removed, steps_changed) =
        compare(&old.steps, &new.steps, |s| s.id, step_fields);
    let (transitions_added, transitions_removed, transitions_changed) = compare(
        &old.transitions,
        &new.transitions,
        |t| t.id,
        transition_fields,
    );
    GraphDiff {
        steps_added,
        steps_removed,
        steps_changed: steps_changed
            .into_iter()
            .map(|(step, fields)| StepChange { step, fields })
            .collect(),
        transitions_added,
        transitions_removed,
        transitions_changed: transitions_changed
            .into_iter()
            .map(|(transition, fields)| TransitionChange { transition, fields })
            .collect(),
    }
}

type Compared<Id, Field> = (Vec<Id>, Vec<Id>, Vec<(Id, Vec<Field>)>);

fn compare<T, Id, Field>(
    old: &[T],
    new: &[T],
    id: impl Fn(&T) -> Id,
    fields: impl Fn(&T, &T) -> Vec<Field>,
) -> Compared<Id, Field>
where
    Id: Copy + Eq + std::hash::Hash,
{
    let mut old_by_id: HashMap<Id, &T> = HashMap::with_capacity(old.len());
    for item in old {
        old_by_id.entry(id(item)).or_insert(item);
    }
    let mut added = Vec::new();
    let mut changed = Vec::new();
    let mut in_new = HashSet::with_capacity(new.len());
    for item in new {
        let key = id(item);
        if !in_new.insert(key) {
            continue;
        }
        match old_by_id.get(&key) {
            None => added.push(key),
            Some(before) => {
                let fields = fields(before, item);
                if !fields.is_empty() {
                    changed.push((key, fields));
                }
            }
        }
    }
    let mut removed = Vec::new();
    let mut listed = HashSet::with_capacity(old.len());
    for item in old {
        let key = id(item);
        if listed.insert(key) && !in_new.contains(&key) {
            removed.push(key);
        }
    }
    (added, removed, changed)
}

fn step_fields(old: &Step, new: &Step) -> Vec<StepField> {
    [
        (old.name != new.name, StepField::Name),
        (
            old.instructions != new.instructions,
            StepField::Instructions,
        ),
        (old.role != new.role, StepField::Role),
        (
            old.escalation_role != new.escalation_role,
            StepField::EscalationRole,
        ),
        (old.weight != new.weight, StepField::Weight),
        (old.is_start != new.is_start, StepField::IsStart),
        (old.is_end != new.is_end, StepField::IsEnd),
        (
            !same(old.position.x, new.position.x) || !same(old.position.y, new.position.y),
            StepField::Position,
        ),
    ]
    .into_iter()
    .filter_map(|(differs, field)| differs.then_some(field))
    .collect()
}

/// Equal, or both not a number: a graph compared with itself has no changes.
fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

fn transition_fields(old: &Transition, new: &Transition) -> Vec<TransitionField> {
    [
        (old.from != new.from, TransitionField::From),
        (old.to != new.to, TransitionField::To),
        (old.action != new.action, TransitionField::Action),
    ]
    .into_iter()
    .filter_map(|(differs, field)| differs.then_some(field))
    .collect()
}
