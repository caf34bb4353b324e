//! What the workflow editor does to a graph, without any view: every edit the canvas, the
//! keyboard and the side panel make is one of these functions, so each is unit tested here
//! and the view only translates gestures into them.
//!
//! Steps and transitions the editor adds get negative ids (the server maps them to row ids on
//! save, see `services::workflows::save_graph`); saved ones keep theirs, so the deploy
//! confirmation's diff matches steps by id.

use std::collections::{HashMap, HashSet};

use domain::workflow::{Position, Step, StepId, Transition, TransitionId, WorkflowGraph};

pub use domain::workflow::drawing::{GRID, NODE_HEIGHT, NODE_WIDTH, snap};
/// Between a step and one added after it: room for a label of most actions.
const STEP_GAP: f64 = 160.0;
/// How far down a new step looks for a free place.
const MAX_STEPS_TRIED_BELOW: usize = 50;
/// Undo keeps this many earlier states.
const HISTORY_DEPTH: usize = 200;

/// What is selected: steps and transitions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub steps: Vec<StepId>,
    pub transitions: Vec<TransitionId>,
}

impl Selection {
    pub fn step(id: StepId) -> Self {
        Self {
            steps: vec![id],
            transitions: Vec::new(),
        }
    }

    pub fn transition(id: TransitionId) -> Self {
        Self {
            steps: Vec::new(),
            transitions: vec![id],
        }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty() && self.transitions.is_empty()
    }

    /// The one step selected, if exactly one thing is.
    pub fn single_step(&self) -> Option<StepId> {
        match (self.steps.as_slice(), self.transitions.is_empty()) {
            ([id], true) => Some(*id),
            _ => None,
        }
    }

    /// The one transition selected, if exactly one thing is.
    pub fn single_transition(&self) -> Option<TransitionId> {
        match (self.transitions.as_slice(), self.steps.is_empty()) {
            ([id], true) => Some(*id),
            _ => None,
        }
    }
}

/// The lowest id in use, so a new id below it is unused (new ids are negative).
fn next_new_id(used: impl Iterator<Item = i64>) -> i64 {
    used.min().unwrap_or(0).min(0) - 1
}

fn new_step_id(graph: &WorkflowGraph) -> StepId {
    StepId(next_new_id(graph.steps.iter().map(|s| s.id.0)))
}

fn new_transition_id(graph: &WorkflowGraph) -> TransitionId {
    TransitionId(next_new_id(graph.transitions.iter().map(|t| t.id.0)))
}

/// Adds a step whose box is centred on `at` (snapped), or below it where the place is free;
/// the first step of a graph starts it.
pub fn add_step(graph: &mut WorkflowGraph, at: Position) -> StepId {
    let id = new_step_id(graph);
    let mut step = Step::new(id.0, format!("Step {}", graph.steps.len() + 1));
    let mut place = Position {
        x: snap(at.x - NODE_WIDTH / 2.0),
        y: snap(at.y - NODE_HEIGHT / 2.0),
    };
    let taken = |p: Position| {
        !steps_in(
            graph,
            Position {
                x: p.x + 1.0,
                y: p.y + 1.0,
            },
            Position {
                x: p.x + NODE_WIDTH - 1.0,
                y: p.y + NODE_HEIGHT - 1.0,
            },
        )
        .is_empty()
    };
    for _ in 0..MAX_STEPS_TRIED_BELOW {
        if !taken(place) {
            break;
        }
        place.y += NODE_HEIGHT + 2.0 * GRID;
    }
    step.position = place;
    step.is_start = graph.steps.is_empty();
    graph.steps.push(step);
    id
}

/// Adds a step after `previous` in the flow (to its right, as "Auto layout" would place it, or
/// below that where the place is taken); the first step of a graph starts it.
pub fn add_step_after(graph: &mut WorkflowGraph, previous: StepId) -> Option<StepId> {
    let at = graph.step(previous)?.position;
    Some(add_step(
        graph,
        Position {
            x: at.x + NODE_WIDTH + STEP_GAP + NODE_WIDTH / 2.0,
            y: at.y + NODE_HEIGHT / 2.0,
        },
    ))
}

/// `from` moved by (dx, dy), on the grid if `snap_to_grid`.
fn moved(from: Position, dx: f64, dy: f64, snap_to_grid: bool) -> Position {
    let (x, y) = (from.x + dx, from.y + dy);
    if snap_to_grid {
        Position {
            x: snap(x),
            y: snap(y),
        }
    } else {
        Position { x, y }
    }
}

/// Moves the steps by (dx, dy) from where they are; with `snap_to_grid` each lands on the grid.
pub fn move_steps(graph: &mut WorkflowGraph, ids: &[StepId], dx: f64, dy: f64, snap_to_grid: bool) {
    let ids: HashSet<StepId> = ids.iter().copied().collect();
    for step in graph.steps.iter_mut().filter(|s| ids.contains(&s.id)) {
        step.position = moved(step.position, dx, dy, snap_to_grid);
    }
}

/// A drag of steps under way: where each dragged step was when it began. The pointer's whole
/// offset since is kept beside it (a signal of its own) and applied to where the steps were
/// then, so rounding never accumulates.
///
/// While it lasts the canvas draws the dragged steps and their edges from the two, and the
/// draft is left alone: a draft change each frame made every node, edge, the minimap and the
/// validation look at the whole graph again (200 steps: over 16 ms a frame), and an offset
/// read by every node still cost 11 ms a frame in reactive bookkeeping. Only the dragged
/// steps and their edges read the offset. The release applies it to the draft once, as one
/// undoable change.
#[derive(Debug, Clone, PartialEq)]
pub struct DragStart {
    pub origin: HashMap<StepId, Position>,
    pub snap_to_grid: bool,
}

/// One step of a drag: where it was when the drag began.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DraggedStep {
    pub start: Position,
    pub snap_to_grid: bool,
}

impl DraggedStep {
    /// Where the step is after the pointer moved by `offset` since the drag began.
    pub fn at(self, offset: (f64, f64)) -> Position {
        moved(self.start, offset.0, offset.1, self.snap_to_grid)
    }
}

impl DragStart {
    /// The step's part of the drag, if it is being dragged.
    pub fn step(&self, id: StepId) -> Option<DraggedStep> {
        self.origin.get(&id).map(|&start| DraggedStep {
            start,
            snap_to_grid: self.snap_to_grid,
        })
    }

    /// Where the step is after `offset`, if it is being dragged.
    pub fn position_of(&self, id: StepId, offset: (f64, f64)) -> Option<Position> {
        self.step(id).map(|step| step.at(offset))
    }

    /// Puts the dragged steps where `offset` has taken them.
    pub fn apply(&self, graph: &mut WorkflowGraph, offset: (f64, f64)) {
        for step in graph.steps.iter_mut() {
            if let Some(position) = self.position_of(step.id, offset) {
                step.position = position;
            }
        }
    }
}

/// Adds a transition from one step to another and returns it; `None` when either step is
/// missing, or the two are the same step (a step cannot lead to itself), or the same pair is
/// already joined (a second action between them is added from the side panel's label, not by
/// drawing the same line twice).
pub fn connect(graph: &mut WorkflowGraph, from: StepId, to: StepId) -> Option<TransitionId> {
    if from == to || graph.step(from).is_none() || graph.step(to).is_none() {
        return None;
    }
    if graph
        .transitions
        .iter()
        .any(|t| t.from == from && t.to == to)
    {
        return None;
    }
    let id = new_transition_id(graph);
    let action = graph
        .step(to)
        .map(|s| default_action(&s.name))
        .unwrap_or_default();
    graph
        .transitions
        .push(Transition::new(id.0, from.0, to.0, action));
    Some(id)
}

/// The label a new transition gets: the admin renames it ("Approve", "Send back").
fn default_action(target: &str) -> String {
    let label = format!("To {target}");
    label
        .chars()
        .take(domain::workflow::MAX_ACTION_LABEL)
        .collect()
}

/// Removes the selection: its steps with every transition touching them, and its transitions.
pub fn delete(graph: &mut WorkflowGraph, selection: &Selection) {
    let steps: HashSet<StepId> = selection.steps.iter().copied().collect();
    let transitions: HashSet<TransitionId> = selection.transitions.iter().copied().collect();
    graph.steps.retain(|s| !steps.contains(&s.id));
    graph.transitions.retain(|t| {
        !transitions.contains(&t.id) && !steps.contains(&t.from) && !steps.contains(&t.to)
    });
}

/// Copied steps with the transitions between them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Clipboard {
    pub steps: Vec<Step>,
    pub transitions: Vec<Transition>,
}

pub fn copy(graph: &WorkflowGraph, selection: &Selection) -> Clipboard {
    let ids: HashSet<StepId> = selection.steps.iter().copied().collect();
    Clipboard {
        steps: graph
            .steps
            .iter()
            .filter(|s| ids.contains(&s.id))
            .cloned()
            .collect(),
        transitions: graph
            .transitions
            .iter()
            .filter(|t| ids.contains(&t.from) && ids.contains(&t.to))
            .cloned()
            .collect(),
    }
}

/// Pastes copies of the clipboard's steps `offset` away from the originals, with new ids and
/// never a second start step; the pasted steps, to select.
pub fn paste(graph: &mut WorkflowGraph, clipboard: &Clipboard, offset: Position) -> Selection {
    let mut renamed = HashMap::new();
    let mut pasted = Selection::default();
    for step in &clipboard.steps {
        let id = new_step_id(graph);
        renamed.insert(step.id, id);
        let mut copy = step.clone();
        copy.id = id;
        copy.is_start = false;
        copy.position.x += offset.x;
        copy.position.y += offset.y;
        graph.steps.push(copy);
        pasted.steps.push(id);
    }
    for transition in &clipboard.transitions {
        if let (Some(&from), Some(&to)) =
            (renamed.get(&transition.from), renamed.get(&transition.to))
        {
            let id = new_transition_id(graph);
            graph.transitions.push(Transition {
                id,
                from,
                to,
                action: transition.action.clone(),
            });
            pasted.transitions.push(id);
        }
    }
    pasted
}

/// The steps whose boxes meet the rectangle between two corners (a rubber band).
pub fn steps_in(graph: &WorkflowGraph, a: Position, b: Position) -> Vec<StepId> {
    let (left, right) = (a.x.min(b.x), a.x.max(b.x));
    let (top, bottom) = (a.y.min(b.y), a.y.max(b.y));
    graph
        .steps
        .iter()
        .filter(|s| {
            s.position.x < right
                && s.position.x + NODE_WIDTH > left
                && s.position.y < bottom
                && s.position.y + NODE_HEIGHT > top
        })
        .map(|s| s.id)
        .collect()
}

/// The rectangle holding every step: (left, top, right, bottom); `None` for an empty graph.
pub fn bounds(graph: &WorkflowGraph) -> Option<(f64, f64, f64, f64)> {
    let mut steps = graph.steps.iter();
    let first = steps.next()?;
    let start = (
        first.position.x,
        first.position.y,
        first.position.x + NODE_WIDTH,
        first.position.y + NODE_HEIGHT,
    );
    Some(steps.fold(start, |(l, t, r, b), s| {
        (
            l.min(s.position.x),
            t.min(s.position.y),
            r.max(s.position.x + NODE_WIDTH),
            b.max(s.position.y + NODE_HEIGHT),
        )
    }))
}

/// The step nearest to `from` in a direction (arrow keys): among steps whose centre lies in
/// that quarter-plane, the closest.
pub fn neighbour(graph: &WorkflowGraph, from: StepId, dx: f64, dy: f64) -> Option<StepId> {
    let origin = graph.step(from)?.position;
    graph
        .steps
        .iter()
        .filter(|s| s.id != from)
        .filter_map(|s| {
            let (vx, vy) = (s.position.x - origin.x, s.position.y - origin.y);
            let along = vx * dx + vy * dy;
            let across = (vx * dy - vy * dx).abs();
            (along > 0.0 && across <= along * 1.5).then_some((along + across * 2.0, s.id))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, id)| id)
}

/// Whether two graphs differ at most in where their steps are (a drag): validation has
/// nothing new to say then.
pub fn same_apart_from_positions(a: &WorkflowGraph, b: &WorkflowGraph) -> bool {
    a.transitions == b.transitions
        && a.steps.len() == b.steps.len()
        && a.steps.iter().zip(&b.steps).all(|(x, y)| {
            x.id == y.id
                && x.name == y.name
                && x.instructions == y.instructions
                && x.role == y.role
                && x.escalation_role == y.escalation_role
                && x.weight == y.weight
                && x.is_start == y.is_start
                && x.is_end == y.is_end
        })
}

/// The ids the server gave the steps and transitions this editor created.
///
/// The editor keeps its own (negative) ids for them as long as it is open, and translates
/// at the boundary: a save sends the server's ids, and its answer teaches the new ones. So a
/// save never redraws a node, replaces a form being typed in, loses the selection or a drag,
/// whatever the admin does while it is on its way. (An earlier design rewrote the ids in the
/// draft, the undo history and the selection when a save answered, and a name typed at that
/// moment went to a step that no longer had its id.)
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServerIds {
    steps: HashMap<StepId, StepId>,
    transitions: HashMap<TransitionId, TransitionId>,
}

impl ServerIds {
    pub fn step(&self, id: StepId) -> StepId {
        self.steps.get(&id).copied().unwrap_or(id)
    }

    pub fn transition(&self, id: TransitionId) -> TransitionId {
        self.transitions.get(&id).copied().unwrap_or(id)
    }

    /// `graph` with the server's ids (steps it does not know keep their negative ids: they
    /// are new to it).
    pub fn to_server(&self, graph: &WorkflowGraph) -> WorkflowGraph {
        let mut graph = graph.clone();
        for step in &mut graph.steps {
            step.id = self.step(step.id);
        }
        for t in &mut graph.transitions {
            t.id = self.transition(t.id);
            t.from = self.step(t.from);
            t.to = self.step(t.to);
        }
        graph
    }

    /// Learns the ids of a save: `sent` is the editor's graph the save was made of (its own
    /// ids), `saved` the server's answer, in the same order (the server keeps the order of
    /// both lists).
    pub fn learn(&mut self, sent: &WorkflowGraph, saved: &WorkflowGraph) {
        for (local, server) in sent.steps.iter().zip(&saved.steps) {
            if local.id != server.id {
                self.steps.insert(local.id, server.id);
            }
        }
        for (local, server) in sent.transitions.iter().zip(&saved.transitions) {
            if local.id != server.id {
                self.transitions.insert(local.id, server.id);
            }
        }
    }
}

/// Undo and redo of whole states (the editor's: graph and settings). A drag records one
/// state when it begins, not one per pointer move; a field records one per committed change.
#[derive(Debug, Clone)]
pub struct History<T> {
    undo: Vec<T>,
    redo: Vec<T>,
}

impl<T> Default for History<T> {
    fn default() -> Self {
        Self {
            undo: Vec::new(),
            redo: Vec::new(),
        }
    }
}

impl<T: Clone + PartialEq> History<T> {
    /// Records `before`, the state about to be changed.
    pub fn record(&mut self, before: &T) {
        if self.undo.last() == Some(before) {
            return;
        }
        self.undo.push(before.clone());
        if self.undo.len() > HISTORY_DEPTH {
            self.undo.remove(0);
        }
        self.redo.clear();
    }

    /// The state before the last change, with `current` kept for redo.
    pub fn undo(&mut self, current: &T) -> Option<T> {
        let previous = self.undo.pop()?;
        self.redo.push(current.clone());
        Some(previous)
    }

    pub fn redo(&mut self, current: &T) -> Option<T> {
        let next = self.redo.pop()?;
        self.undo.push(current.clone());
        Some(next)
    }

    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Forgets everything (another version was loaded).
    pub fn clear(&mut self) {
        self.undo.clear();
        self.redo.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_steps() -> (WorkflowGraph, StepId, StepId) {
        let mut graph = WorkflowGraph::default();
        let a = add_step(&mut graph, Position { x: 100.0, y: 100.0 });
        let b = add_step(&mut graph, Position { x: 400.0, y: 100.0 });
        (graph, a, b)
    }

    #[test]
    fn new_steps_get_unused_negative_ids_and_the_first_one_starts() {
        let mut graph = WorkflowGraph::default();
        graph
            .steps
            .push(Step::new(-3, "Saved before with a temporary id"));
        let id = add_step(&mut graph, Position { x: 0.0, y: 0.0 });
        assert_eq!(id, StepId(-4));
        assert!(
            !graph.step(id).unwrap().is_start,
            "a graph with steps has its start"
        );
        let (graph, a, b) = two_steps();
        assert!(graph.step(a).unwrap().is_start);
        assert!(!graph.step(b).unwrap().is_start);
        assert_ne!(a, b);
    }

    #[test]
    fn a_step_added_where_another_is_goes_below_it() {
        let mut graph = WorkflowGraph::default();
        let at = Position { x: 300.0, y: 300.0 };
        let a = add_step(&mut graph, at);
        let b = add_step(&mut graph, at);
        let (pa, pb) = (
            graph.step(a).unwrap().position,
            graph.step(b).unwrap().position,
        );
        assert_eq!(pa.x, pb.x);
        assert!(pb.y >= pa.y + NODE_HEIGHT, "{pa:?} {pb:?}");
    }

    #[test]
    fn steps_land_on_the_grid() {
        let (mut graph, a, _) = two_steps();
        move_steps(&mut graph, &[a], 13.0, 27.0, true);
        let p = graph.step(a).unwrap().position;
        assert_eq!((p.x % GRID, p.y % GRID), (0.0, 0.0));
        let drag = DragStart {
            origin: [(a, Position { x: 0.0, y: 0.0 })].into(),
            snap_to_grid: false,
        };
        assert_eq!(
            drag.position_of(a, (7.0, 9.0)),
            Some(Position { x: 7.0, y: 9.0 })
        );
        assert_eq!(drag.position_of(StepId(99), (7.0, 9.0)), None);
        drag.apply(&mut graph, (7.0, 9.0));
        assert_eq!(graph.step(a).unwrap().position, Position { x: 7.0, y: 9.0 });
    }

    #[test]
    fn connecting_refuses_loops_duplicates_and_missing_steps() {
        let (mut graph, a, b) = two_steps();
        let t = connect(&mut graph, a, b).unwrap();
        assert_eq!(graph.transition(t).unwrap().action, "To Step 2");
        assert_eq!(connect(&mut graph, a, b), None);
        assert_eq!(connect(&mut graph, a, a), None);
        assert_eq!(connect(&mut graph, a, StepId(99)), None);
        assert!(
            connect(&mut graph, b, a).is_some(),
            "the way back is another transition"
        );
    }

    #[test]
    fn deleting_a_step_takes_its_transitions() {
        let (mut graph, a, b) = two_steps();
        connect(&mut graph, a, b);
        delete(&mut graph, &Selection::step(b));
        assert_eq!(graph.steps.len(), 1);
        assert!(graph.transitions.is_empty());
    }

    #[test]
    fn paste_copies_steps_and_their_inner_transitions_never_a_second_start() {
        let (mut graph, a, b) = two_steps();
        connect(&mut graph, a, b);
        let clipboard = copy(
            &graph,
            &Selection {
                steps: vec![a, b],
                transitions: Vec::new(),
            },
        );
        let pasted = paste(&mut graph, &clipboard, Position { x: 40.0, y: 40.0 });
        assert_eq!(graph.steps.len(), 4);
        assert_eq!(graph.transitions.len(), 2);
        assert_eq!(pasted.steps.len(), 2);
        assert_eq!(graph.steps.iter().filter(|s| s.is_start).count(), 1);
        let copied = graph.transition(pasted.transitions[0]).unwrap();
        assert!(pasted.steps.contains(&copied.from) && pasted.steps.contains(&copied.to));
        let ids: HashSet<_> = graph.steps.iter().map(|s| s.id).collect();
        assert_eq!(ids.len(), 4, "every id unique");
    }

    #[test]
    fn a_rubber_band_selects_the_boxes_it_touches() {
        let (graph, a, b) = two_steps();
        let pa = graph.step(a).unwrap().position;
        let found = steps_in(
            &graph,
            Position {
                x: pa.x - 10.0,
                y: pa.y - 10.0,
            },
            Position {
                x: pa.x + 20.0,
                y: pa.y + 20.0,
            },
        );
        assert_eq!(found, vec![a]);
        let all = steps_in(
            &graph,
            Position { x: -1e4, y: -1e4 },
            Position { x: 1e4, y: 1e4 },
        );
        assert_eq!(all, vec![a, b]);
    }

    #[test]
    fn arrows_find_the_step_that_way() {
        let (graph, a, b) = two_steps();
        assert_eq!(neighbour(&graph, a, 1.0, 0.0), Some(b));
        assert_eq!(neighbour(&graph, a, -1.0, 0.0), None);
        assert_eq!(neighbour(&graph, b, -1.0, 0.0), Some(a));
        assert_eq!(neighbour(&graph, a, 0.0, 1.0), None);
    }

    #[test]
    fn saves_send_the_server_ids_and_the_editor_keeps_its_own() {
        let (mut local, a, b) = two_steps();
        let t = connect(&mut local, a, b).unwrap();
        let mut ids = ServerIds::default();
        assert_eq!(ids.to_server(&local), local, "nothing saved yet: all new");
        let mut saved = local.clone();
        saved.steps[0].id = StepId(11);
        saved.steps[1].id = StepId(12);
        saved.transitions[0] = Transition::new(21, 11, 12, "To Step 2");
        ids.learn(&local, &saved);
        // Edited while the save was on its way: a third step, joined to the second.
        let c = add_step(&mut local, Position { x: 700.0, y: 100.0 });
        let u = connect(&mut local, b, c).unwrap();
        assert_eq!(local.steps[0].id, a, "the editor's own ids stay");
        let sent = ids.to_server(&local);
        assert_eq!(sent.steps[0].id, StepId(11));
        assert_eq!(sent.steps[1].id, StepId(12));
        assert_eq!(sent.steps[2].id, c, "not saved yet: still new");
        assert_eq!(sent.transitions[0].id, TransitionId(21));
        assert_eq!(sent.transitions[0].from, StepId(11));
        assert_eq!(sent.transitions[1].id, u);
        assert_eq!(
            (sent.transitions[1].from, sent.transitions[1].to),
            (StepId(12), c)
        );
        assert_eq!(ids.transition(t), TransitionId(21));
    }

    #[test]
    fn a_move_is_not_a_change_of_shape_but_a_rename_is() {
        let (graph, a, _) = two_steps();
        let mut moved = graph.clone();
        move_steps(&mut moved, &[a], 40.0, 20.0, true);
        assert!(same_apart_from_positions(&graph, &moved));
        let mut renamed = graph.clone();
        renamed.steps[0].name = "Triage".into();
        assert!(!same_apart_from_positions(&graph, &renamed));
    }

    #[test]
    fn undo_and_redo_walk_the_states() {
        let (mut graph, a, b) = two_steps();
        let mut history = History::default();
        let before = graph.clone();
        history.record(&graph);
        connect(&mut graph, a, b);
        let after = graph.clone();
        let undone = history.undo(&graph).unwrap();
        assert_eq!(undone, before);
        assert!(history.can_redo());
        let redone = history.redo(&undone).unwrap();
        assert_eq!(redone, after);
        history.record(&redone);
        assert!(!history.can_redo(), "a new change ends the redo trail");
    }
}
