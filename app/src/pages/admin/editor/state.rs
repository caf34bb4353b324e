//! The editor's state, shared by the canvas and the panels: the draft being edited (graph
//! and settings) with its undo history, what is selected, the viewport, live validation, and
//! saving (automatic, with optimistic concurrency).

use std::collections::HashSet;

use domain::account::WorkflowRole;
use domain::tickets::ReferenceData;
use domain::workflow::{
    DraftSave, EndLogic, Position, Problem, SimulationResult, SlaPolicy, StepId, TransitionId,
    Workflow, WorkflowGraph, WorkflowInput, WorkflowStatus, WorkflowVersion, validate,
};
use leptos::prelude::*;

use super::model::{self, Clipboard, History, Selection, ServerIds};

/// The workflow's own properties, as the side panel edits them.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftSettings {
    pub name: String,
    pub description: String,
    pub category_id: Option<i64>,
    pub sub_category_id: Option<i64>,
    pub department_id: Option<i64>,
    pub sla: SlaPolicy,
    pub end_logic: EndLogic,
}

impl DraftSettings {
    pub fn of(workflow: &Workflow) -> Self {
        Self {
            name: workflow.name.clone(),
            description: workflow.description.clone(),
            category_id: workflow.category.as_ref().map(|c| c.id),
            sub_category_id: workflow.sub_category.as_ref().map(|c| c.id),
            department_id: workflow.department.as_ref().map(|d| d.id),
            sla: workflow.sla,
            end_logic: workflow.end_logic,
        }
    }

    fn input(&self) -> WorkflowInput {
        WorkflowInput {
            name: Some(self.name.clone()),
            description: Some(self.description.clone()),
            category_id: Some(self.category_id),
            sub_category_id: Some(self.sub_category_id),
            department_id: Some(self.department_id),
            sla: Some(self.sla),
            end_logic: Some(self.end_logic),
        }
    }
}

/// Everything undo covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    pub graph: WorkflowGraph,
    pub settings: DraftSettings,
}

/// Where saving stands.
#[derive(Debug, Clone, PartialEq)]
pub enum SaveState {
    Saved,
    /// Changed since the last save; saved by itself shortly.
    Unsaved,
    Saving,
    /// Another admin saved the draft since it was loaded: nothing more is saved until the
    /// admin reloads.
    Conflict(String),
    /// The last save failed (the message says why); the next change tries again.
    Failed(String),
}

/// The pan and zoom of the canvas: a canvas point (x, y) is drawn at
/// (x * zoom + pan_x, y * zoom + pan_y) in the canvas element.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub pan_x: f64,
    pub pan_y: f64,
    pub zoom: f64,
}

pub const MIN_ZOOM: f64 = 0.2;
pub const MAX_ZOOM: f64 = 2.5;

impl Default for Viewport {
    fn default() -> Self {
        Self {
            pan_x: 40.0,
            pan_y: 40.0,
            zoom: 1.0,
        }
    }
}

impl Viewport {
    /// The canvas point under a point of the canvas element.
    pub fn to_canvas(&self, x: f64, y: f64) -> (f64, f64) {
        ((x - self.pan_x) / self.zoom, (y - self.pan_y) / self.zoom)
    }

    /// Zoomed to `zoom` (clamped) keeping the canvas point under (x, y) in place.
    pub fn zoomed_at(&self, zoom: f64, x: f64, y: f64) -> Self {
        let zoom = zoom.clamp(MIN_ZOOM, MAX_ZOOM);
        let ratio = zoom / self.zoom;
        Self {
            pan_x: x - (x - self.pan_x) * ratio,
            pan_y: y - (y - self.pan_y) * ratio,
            zoom,
        }
    }

    /// The whole graph in a `width` × `height` element, with a margin.
    pub fn fitting(graph: &WorkflowGraph, width: f64, height: f64) -> Self {
        let Some((left, top, right, bottom)) = model::bounds(graph) else {
            return Self::default();
        };
        let margin = 48.0;
        let zoom = ((width - 2.0 * margin) / (right - left))
            .min((height - 2.0 * margin) / (bottom - top))
            .clamp(MIN_ZOOM, 1.25);
        Self {
            pan_x: (width - (right - left) * zoom) / 2.0 - left * zoom,
            pan_y: (height - (bottom - top) * zoom) / 2.0 - top * zoom,
            zoom,
        }
    }
}

/// The editor: signals are `Copy`, so the struct is passed to every part by value.
#[derive(Clone, Copy)]
pub struct EditorState {
    pub workflow_id: i64,
    pub status: RwSignal<WorkflowStatus>,
    pub draft: RwSignal<Draft>,
    pub revision: RwSignal<i64>,
    pub history: StoredValue<History<Draft>>,
    /// The server's ids of the steps and transitions created here (see [`ServerIds`]).
    server_ids: StoredValue<ServerIds>,
    /// Bumped by every change (for undo buttons and autosave).
    pub changes: RwSignal<u64>,
    pub selection: RwSignal<Selection>,
    pub clipboard: StoredValue<Clipboard>,
    pub viewport: RwSignal<Viewport>,
    /// The canvas element's size in pixels.
    pub canvas_size: RwSignal<(f64, f64)>,
    pub snap_to_grid: RwSignal<bool>,
    pub save_state: RwSignal<SaveState>,
    pub roles: StoredValue<Vec<WorkflowRole>>,
    pub reference: StoredValue<ReferenceData>,
    pub versions: RwSignal<Vec<WorkflowVersion>>,
    /// A deployed version shown read-only instead of the draft.
    pub viewing: RwSignal<Option<i64>>,
    /// The graph shown: the draft's, or the viewed version's (a memo, so that the canvas's
    /// many readers borrow one copy).
    shown: Memo<WorkflowGraph>,
    /// What validation finds in the draft, as the admin edits (the engine's own rules,
    /// compiled to WebAssembly).
    pub problems: Memo<Vec<Problem>>,
    /// A transition being drawn from a step, by keyboard: the step it starts from and the
    /// target chosen so far.
    pub linking: RwSignal<Option<(StepId, Option<StepId>)>>,
    /// What the last edit did, in words, for screen readers (the editor's live region).
    pub announcement: RwSignal<String>,
    pub simulation: RwSignal<Option<SimulationResult>>,
    /// How far the simulation's token has moved (visits shown).
    pub token: RwSignal<usize>,
    /// Steps being dragged, set when a drag begins and ends (see [`model::DragStart`]).
    pub drag: RwSignal<Option<model::DragStart>>,
    /// The pointer's offset since the drag began, set on every move; read only by what a
    /// dragged step draws.
    pub drag_offset: RwSignal<(f64, f64)>,
    /// Which panel tab is open.
    pub tab: RwSignal<PanelTab>,
    pub list_view: RwSignal<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanelTab {
    Properties,
    Problems,
    Simulate,
    Versions,
}

impl EditorState {
    pub fn new(
        workflow: &Workflow,
        versions: Vec<WorkflowVersion>,
        roles: Vec<WorkflowRole>,
        reference: ReferenceData,
    ) -> Self {
        let draft = RwSignal::new(Draft {
            graph: workflow.graph.clone(),
            settings: DraftSettings::of(workflow),
        });
        let versions = RwSignal::new(versions);
        let viewing = RwSignal::new(None::<i64>);
        let shown = Memo::new(move |_| match viewing.get() {
            Some(number) => versions.with(|versions| {
                versions
                    .iter()
                    .find(|v| v.number == number)
                    .map(|v| v.graph.clone())
                    .unwrap_or_default()
            }),
            None => draft.with(|d| d.graph.clone()),
        });
        let known_roles: HashSet<i64> = roles.iter().map(|r| r.id).collect();
        // Validated again on every change but a move: a drag changes the draft each frame,
        // and positions are nothing validation looks at.
        let validated = StoredValue::new(None::<(WorkflowGraph, SlaPolicy)>);
        let problems = Memo::new(move |previous: Option<&Vec<Problem>>| {
            draft.with(|d| {
                let unchanged = validated.with_value(|last| {
                    last.as_ref().is_some_and(|(graph, sla)| {
                        *sla == d.settings.sla && model::same_apart_from_positions(graph, &d.graph)
                    })
                });
                if unchanged && let Some(previous) = previous {
                    return previous.clone();
                }
                validated.set_value(Some((d.graph.clone(), d.settings.sla)));
                validate(&d.graph, &d.settings.sla, Some(&known_roles))
            })
        });
        Self {
            workflow_id: workflow.id,
            status: RwSignal::new(workflow.status),
            draft,
            revision: RwSignal::new(workflow.revision),
            history: StoredValue::new(History::default()),
            server_ids: StoredValue::new(ServerIds::default()),
            changes: RwSignal::new(0),
            selection: RwSignal::new(Selection::default()),
            clipboard: StoredValue::new(Clipboard::default()),
            viewport: RwSignal::new(Viewport::default()),
            canvas_size: RwSignal::new((960.0, 640.0)),
            snap_to_grid: RwSignal::new(true),
            save_state: RwSignal::new(SaveState::Saved),
            roles: StoredValue::new(roles),
            reference: StoredValue::new(reference),
            versions,
            viewing,
            shown,
            problems,
            linking: RwSignal::new(None),
            announcement: RwSignal::new(String::new()),
            simulation: RwSignal::new(None),
            token: RwSignal::new(0),
            drag: RwSignal::new(None),
            drag_offset: RwSignal::new((0.0, 0.0)),
            tab: RwSignal::new(PanelTab::Properties),
            list_view: RwSignal::new(false),
        }
    }

    /// Whether edits are refused: an earlier version is shown, or a save conflicted.
    pub fn read_only(&self) -> bool {
        self.viewing.get().is_some() || matches!(self.save_state.get(), SaveState::Conflict(_))
    }

    /// The graph shown: the draft's, or the version's being viewed.
    pub fn shown_graph(&self) -> Signal<WorkflowGraph> {
        self.shown.into()
    }

    /// Makes a change to the draft as one undoable step.
    pub fn edit(&self, change: impl FnOnce(&mut Draft)) {
        if self.read_only_untracked() {
            return;
        }
        let before = self.draft.get_untracked();
        let mut after = before.clone();
        change(&mut after);
        if after == before {
            return;
        }
        self.history.update_value(|h| h.record(&before));
        self.draft.set(after);
        self.changed();
    }

    /// Where a step of the shown graph is drawn: where a drag under way has taken it, or its
    /// position in the graph. Tracks the drag (its moves only for a dragged step).
    pub fn drawn_at(&self, graph: &WorkflowGraph, id: StepId) -> Option<Position> {
        self.dragged(id)
            .map(|step| step.at(self.drag_offset.get()))
            .or_else(|| graph.step(id).map(|s| s.position))
    }

    /// The step's part of the drag under way, if it is dragged. Tracks the drag's start and
    /// end, not its moves.
    pub fn dragged(&self, id: StepId) -> Option<model::DraggedStep> {
        self.drag
            .with(|drag| drag.as_ref().and_then(|drag| drag.step(id)))
    }

    fn read_only_untracked(&self) -> bool {
        self.viewing.get_untracked().is_some()
            || matches!(self.save_state.get_untracked(), SaveState::Conflict(_))
    }

    fn changed(&self) {
        self.changes.update(|c| *c += 1);
        if !matches!(self.save_state.get_untracked(), SaveState::Conflict(_)) {
            self.save_state.set(SaveState::Unsaved);
        }
    }

    /// Says what happened in the editor's live region (screen readers read it out).
    pub fn announce(&self, text: &str) {
        // The same words twice in a row are read again only if the region changes.
        let text = if self.announcement.get_untracked() == text {
            format!("{text}\u{a0}")
        } else {
            text.to_owned()
        };
        self.announcement.set(text);
    }

    pub fn undo(&self) {
        if self.read_only_untracked() {
            return;
        }
        self.announce("Undone.");
        let current = self.draft.get_untracked();
        if let Some(previous) = self
            .history
            .try_update_value(|h| h.undo(&current))
            .flatten()
        {
            self.draft.set(previous);
            self.forget_missing_selection();
            self.changed();
        }
    }

    pub fn redo(&self) {
        if self.read_only_untracked() {
            return;
        }
        self.announce("Redone.");
        let current = self.draft.get_untracked();
        if let Some(next) = self
            .history
            .try_update_value(|h| h.redo(&current))
            .flatten()
        {
            self.draft.set(next);
            self.forget_missing_selection();
            self.changed();
        }
    }

    fn forget_missing_selection(&self) {
        let (steps, transitions): (HashSet<StepId>, HashSet<TransitionId>) =
            self.draft.with_untracked(|d| {
                (
                    d.graph.steps.iter().map(|s| s.id).collect(),
                    d.graph.transitions.iter().map(|t| t.id).collect(),
                )
            });
        self.selection.update(|s| {
            s.steps.retain(|id| steps.contains(id));
            s.transitions.retain(|id| transitions.contains(id));
        });
    }

    pub fn delete_selection(&self) {
        let selection = self.selection.get_untracked();
        if selection.is_empty() {
            return;
        }
        self.edit(|d| model::delete(&mut d.graph, &selection));
        self.selection.set(Selection::default());
        let (steps, transitions) = (selection.steps.len(), selection.transitions.len());
        let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
        self.announce(&match (steps, transitions) {
            (0, t) => format!("Deleted {}.", plural(t, "transition")),
            (s, 0) => format!("Deleted {}.", plural(s, "step")),
            (s, t) => format!(
                "Deleted {} and {}.",
                plural(s, "step"),
                plural(t, "transition")
            ),
        });
    }

    pub fn copy_selection(&self) {
        let selection = self.selection.get_untracked();
        let clip = self
            .draft
            .with_untracked(|d| model::copy(&d.graph, &selection));
        if !clip.steps.is_empty() {
            self.clipboard.set_value(clip);
        }
    }

    pub fn paste(&self) {
        let clip = self.clipboard.get_value();
        if clip.steps.is_empty() {
            return;
        }
        let mut pasted = Selection::default();
        self.edit(|d| {
            pasted = model::paste(
                &mut d.graph,
                &clip,
                domain::workflow::Position {
                    x: 2.0 * model::GRID,
                    y: 2.0 * model::GRID,
                },
            );
        });
        // A second paste lands further on, not on the first.
        self.clipboard.update_value(|c| {
            for step in &mut c.steps {
                step.position.x += 2.0 * model::GRID;
                step.position.y += 2.0 * model::GRID;
            }
        });
        self.selection.set(pasted);
    }

    /// The centre of what the canvas shows, in canvas units (where keyboard-added steps go).
    pub fn view_centre(&self) -> domain::workflow::Position {
        let (width, height) = self.canvas_size.get_untracked();
        let (x, y) = self
            .viewport
            .get_untracked()
            .to_canvas(width / 2.0, height / 2.0);
        domain::workflow::Position { x, y }
    }

    /// Adds a step after the selected one (to its right, in the flow's direction) or, with no
    /// single step selected, where the admin is looking; selects it and keeps it in view.
    pub fn add_step_in_view(&self) -> Option<StepId> {
        let after = self.selection.with_untracked(Selection::single_step);
        let at = self.view_centre();
        let mut added = None;
        self.edit(|d| {
            added = after
                .and_then(|previous| model::add_step_after(&mut d.graph, previous))
                .or_else(|| Some(model::add_step(&mut d.graph, at)));
        });
        let id = added?;
        self.selection.set(Selection::step(id));
        let names = self.shown_graph().with_untracked(|g| {
            (
                g.step(id).map(|s| s.name.clone()).unwrap_or_default(),
                after.and_then(|a| g.step(a)).map(|s| s.name.clone()),
            )
        });
        self.announce(&match names {
            (name, Some(previous)) => format!("{name} added after {previous}. Enter edits it."),
            (name, None) => format!("{name} added. Enter edits it."),
        });
        self.reveal(id);
        Some(id)
    }

    /// Pans the canvas, if needed, so that the step is wholly in view: one added below a
    /// full view, or reached with Tab or the arrows, is not left off screen.
    pub fn reveal(&self, id: StepId) {
        let Some(at) = self
            .shown_graph()
            .with_untracked(|g| g.step(id).map(|s| s.position))
        else {
            return;
        };
        let view = self.viewport.get_untracked();
        let (width, height) = self.canvas_size.get_untracked();
        let margin = 24.0;
        let shift = |start: f64, size: f64, room: f64| {
            let end = start + size;
            if start < margin {
                margin - start
            } else if end > room - margin {
                (room - margin - end).max(margin - start)
            } else {
                0.0
            }
        };
        let dx = shift(
            at.x * view.zoom + view.pan_x,
            model::NODE_WIDTH * view.zoom,
            width,
        );
        let dy = shift(
            at.y * view.zoom + view.pan_y,
            model::NODE_HEIGHT * view.zoom,
            height,
        );
        if dx != 0.0 || dy != 0.0 {
            self.viewport.set(Viewport {
                pan_x: view.pan_x + dx,
                pan_y: view.pan_y + dy,
                zoom: view.zoom,
            });
        }
    }

    pub fn fit_to_view(&self) {
        let (width, height) = self.canvas_size.get_untracked();
        let graph = self.shown_graph().get_untracked();
        self.viewport.set(Viewport::fitting(&graph, width, height));
    }

    /// What a save sends (with the server's ids), and the draft's graph it was made of.
    pub fn draft_save(&self) -> (DraftSave, WorkflowGraph) {
        self.draft.with_untracked(|d| {
            let save = DraftSave {
                revision: self.revision.get_untracked(),
                settings: d.settings.input(),
                graph: self.server_ids.with_value(|ids| ids.to_server(&d.graph)),
            };
            (save, d.graph.clone())
        })
    }

    /// The draft's graph with the server's ids, to compare with a deployed version.
    pub fn server_graph(&self) -> WorkflowGraph {
        self.draft
            .with(|d| self.server_ids.with_value(|ids| ids.to_server(&d.graph)))
    }

    /// Takes a save's answer: the new revision, and the ids the server gave new steps and
    /// transitions. `sent` is the draft's graph the save was made of.
    pub fn saved(&self, sent: &WorkflowGraph, workflow: &Workflow, changes_at_send: u64) {
        self.revision.set(workflow.revision);
        self.status.set(workflow.status);
        self.server_ids
            .update_value(|ids| ids.learn(sent, &workflow.graph));
        let edited_meanwhile = self.changes.get_untracked() != changes_at_send;
        self.save_state.set(if edited_meanwhile {
            SaveState::Unsaved
        } else {
            SaveState::Saved
        });
    }

    /// Replaces everything with a workflow as loaded (after "start a draft from version N").
    pub fn load(&self, workflow: &Workflow) {
        self.draft.set(Draft {
            graph: workflow.graph.clone(),
            settings: DraftSettings::of(workflow),
        });
        self.revision.set(workflow.revision);
        self.status.set(workflow.status);
        self.history.update_value(History::clear);
        self.server_ids.set_value(ServerIds::default());
        self.selection.set(Selection::default());
        self.viewing.set(None);
        self.save_state.set(SaveState::Saved);
        self.changes.update(|c| *c += 1);
    }

    pub fn role_name(&self, id: Option<i64>) -> Option<String> {
        let id = id?;
        self.roles
            .with_value(|roles| roles.iter().find(|r| r.id == id).map(|r| r.name.clone()))
    }

    /// The problems that concern a step or a transition.
    pub fn step_problems(&self, id: StepId) -> Vec<String> {
        self.problems_where(|p| p.steps().contains(&id))
    }

    pub fn transition_problems(&self, id: TransitionId) -> Vec<String> {
        self.problems_where(|p| p.transitions().contains(&id))
    }

    fn problems_where(&self, concerns: impl Fn(&Problem) -> bool) -> Vec<String> {
        self.problems.with(|problems| {
            problems
                .iter()
                .filter(|p| concerns(p))
                .map(Problem::message)
                .collect()
        })
    }
}
