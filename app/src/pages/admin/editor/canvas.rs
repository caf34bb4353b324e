//! The SVG canvas: steps as nodes, transitions as curved, labelled edges; pan (drag the
//! background, scroll), zoom (Ctrl/⌘ + wheel, pinch, buttons, keys), a rubber band (Shift +
//! drag), dragging steps, drawing transitions from a step's handle, the keyboard, and a
//! minimap. Every change goes through [`EditorState`] and the pure functions of
//! [`super::model`].

use std::collections::HashMap;
use std::sync::Arc;

use domain::workflow::{Position, StepId, TransitionId, WorkflowGraph};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use domain::workflow::drawing::{self, EdgeRoute, truncate};

use super::model::{self, NODE_HEIGHT, NODE_WIDTH, Selection};
use super::state::{EditorState, Viewport};

/// The largest graph whose edges are routed round the steps (larger ones get curves).
const MAX_ROUTED_STEPS: usize = 250;

/// What a pointer held down on the canvas is doing.
#[derive(Debug, Clone, Default)]
enum Gesture {
    #[default]
    Idle,
    /// Moving the view: where the pointer and the view were when it began.
    Pan { x: f64, y: f64, start: Viewport },
    /// Moving steps: where each was and where the pointer was, in canvas units.
    Drag {
        origin: HashMap<StepId, Position>,
        x: f64,
        y: f64,
        moved: bool,
    },
    /// A rubber band from this canvas point.
    Band { x: f64, y: f64, add: bool },
    /// A transition being drawn from this step.
    Link { from: StepId },
}

/// A point of a pointer event relative to an element's content box. (Not the event's
/// `currentTarget`: Leptos delegates events to the document, so that is not the element
/// whose handler runs.)
fn point_in(element: &web_sys::Element, event: &web_sys::MouseEvent) -> (f64, f64) {
    let rect = element.get_bounding_client_rect();
    (
        f64::from(event.client_x()) - rect.left() - f64::from(element.client_left()),
        f64::from(event.client_y()) - rect.top() - f64::from(element.client_top()),
    )
}

/// Whether the event began on a step or a transition (which handle it themselves).
fn on_graph_item(event: &web_sys::Event) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .and_then(|e| e.closest(".node, .edge").ok().flatten())
        .is_some()
}

/// Whether the event began on a step's transition handle.
fn on_handle(event: &web_sys::Event) -> bool {
    event
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|e| e.class_list().contains("node-handle"))
}

/// The cubic curve of a transition from one step's right side to another's left side, and
/// the point where its label goes: the preview while a transition is drawn or a step dragged
/// (the routed path, [`drawing::route_all`], follows when the drag ends).
pub fn edge_path(from: Position, to: Position) -> (String, (f64, f64)) {
    let (x1, y1) = (from.x + NODE_WIDTH, from.y + NODE_HEIGHT / 2.0);
    let (x2, y2) = (to.x, to.y + NODE_HEIGHT / 2.0);
    let reach = ((x2 - x1).abs() / 2.0).max(60.0);
    let (c1x, c2x) = (x1 + reach, x2 - reach);
    // Leading back (to a step further left): the curve bows below so it does not cross
    // the boxes it passes.
    let bow = if x2 < x1 + 20.0 {
        NODE_HEIGHT * 1.2
    } else {
        0.0
    };
    let (c1y, c2y) = (y1 + bow, y2 + bow);
    let label = (
        (x1 + 3.0 * c1x + 3.0 * c2x + x2) / 8.0,
        (y1 + 3.0 * c1y + 3.0 * c2y + y2) / 8.0,
    );
    (
        format!("M{x1:.1},{y1:.1} C{c1x:.1},{c1y:.1} {c2x:.1},{c2y:.1} {x2:.1},{y2:.1}"),
        label,
    )
}

#[component]
pub fn Canvas(state: EditorState) -> impl IntoView {
    let gesture = StoredValue::new(Gesture::Idle);
    let band = RwSignal::new(None::<(Position, Position)>);
    let link_end = RwSignal::new(None::<Position>);
    let pointers = StoredValue::new(HashMap::<i32, (f64, f64)>::new());
    let pinch = StoredValue::new(None::<(f64, Viewport)>);
    let container = NodeRef::<leptos::html::Div>::new();
    let graph = state.shown_graph();

    // The canvas's size, for fitting and the minimap; measured when shown and on resize.
    let measure = move || {
        if let Some(element) = container.get_untracked() {
            let size = (
                f64::from(element.client_width()),
                f64::from(element.client_height()),
            );
            if size.0 > 0.0 && size != state.canvas_size.get_untracked() {
                state.canvas_size.set(size);
            }
        }
    };
    Effect::new(move |first: Option<()>| {
        measure();
        if first.is_none() {
            state.fit_to_view();
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| measure());
    on_cleanup(move || resize.remove());

    // Pointer positions in the canvas element's pixels.
    let element_point = move |event: &web_sys::MouseEvent| match container.get_untracked() {
        Some(element) => point_in(&element, event),
        None => (f64::from(event.offset_x()), f64::from(event.offset_y())),
    };
    // Later moves and the release come to the canvas, wherever the pointer goes.
    let capture = move |event: &web_sys::PointerEvent| {
        if let Some(svg) = container
            .get_untracked()
            .and_then(|c| c.query_selector("svg").ok().flatten())
        {
            let _ = svg.set_pointer_capture(event.pointer_id());
        }
    };
    let canvas_point = move |event: &web_sys::MouseEvent| {
        let (x, y) = element_point(event);
        let (cx, cy) = state.viewport.get_untracked().to_canvas(x, y);
        Position { x: cx, y: cy }
    };

    let on_pointer_down = move |event: web_sys::PointerEvent| {
        if (event.button() != 0 && event.pointer_type() == "mouse") || on_graph_item(&event) {
            return;
        }
        if let Some(element) = container.get_untracked() {
            let _ = element.focus();
        }
        let (x, y) = element_point(&event);
        pointers.update_value(|p| {
            p.insert(event.pointer_id(), (x, y));
        });
        if pointers.with_value(HashMap::len) == 2 {
            let distance = pointers.with_value(|p| {
                let mut it = p.values();
                match (it.next(), it.next()) {
                    (Some(a), Some(b)) => ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt(),
                    _ => 1.0,
                }
            });
            pinch.set_value(Some((distance.max(1.0), state.viewport.get_untracked())));
            gesture.set_value(Gesture::Idle);
            band.set(None);
            return;
        }
        capture(&event);
        if event.shift_key() {
            let at = canvas_point(&event);
            gesture.set_value(Gesture::Band {
                x: at.x,
                y: at.y,
                add: true,
            });
            band.set(Some((at, at)));
        } else {
            state.selection.set(Selection::default());
            gesture.set_value(Gesture::Pan {
                x,
                y,
                start: state.viewport.get_untracked(),
            });
        }
    };

    let on_pointer_move = move |event: web_sys::PointerEvent| {
        let (x, y) = element_point(&event);
        pointers.update_value(|p| {
            if let Some(point) = p.get_mut(&event.pointer_id()) {
                *point = (x, y);
            }
        });
        if let Some((distance, start)) = pinch.get_value() {
            let (now, centre) = pointers.with_value(|p| {
                let mut it = p.values();
                match (it.next(), it.next()) {
                    (Some(a), Some(b)) => (
                        ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt(),
                        ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0),
                    ),
                    _ => (distance, (x, y)),
                }
            });
            state
                .viewport
                .set(start.zoomed_at(start.zoom * now / distance, centre.0, centre.1));
            return;
        }
        match gesture.get_value() {
            Gesture::Idle => {}
            Gesture::Pan {
                x: x0,
                y: y0,
                start,
            } => state.viewport.set(Viewport {
                pan_x: start.pan_x + x - x0,
                pan_y: start.pan_y + y - y0,
                zoom: start.zoom,
            }),
            Gesture::Drag {
                origin,
                x: x0,
                y: y0,
                moved,
            } => {
                let at = canvas_point(&event);
                let (dx, dy) = (at.x - x0, at.y - y0);
                if !moved && dx.abs() + dy.abs() < 3.0 {
                    return;
                }
                state.drag_offset.set((dx, dy));
                if !moved {
                    gesture.set_value(Gesture::Drag {
                        origin: origin.clone(),
                        x: x0,
                        y: y0,
                        moved: true,
                    });
                    state.drag.set(Some(model::DragStart {
                        origin,
                        snap_to_grid: state.snap_to_grid.get_untracked(),
                    }));
                }
            }
            Gesture::Band { x: x0, y: y0, .. } => {
                band.set(Some((Position { x: x0, y: y0 }, canvas_point(&event))));
            }
            Gesture::Link { .. } => link_end.set(Some(canvas_point(&event))),
        }
    };

    let on_pointer_up = move |event: web_sys::PointerEvent| {
        pointers.update_value(|p| {
            p.remove(&event.pointer_id());
        });
        if pinch.get_value().is_some() {
            if pointers.with_value(HashMap::is_empty) {
                pinch.set_value(None);
            }
            return;
        }
        match gesture.get_value() {
            Gesture::Band { add, .. } => {
                if let Some((a, b)) = band.get_untracked() {
                    let found = graph.with_untracked(|g| model::steps_in(g, a, b));
                    state.selection.update(|s| {
                        if !add {
                            *s = Selection::default();
                        }
                        for id in found {
                            if !s.steps.contains(&id) {
                                s.steps.push(id);
                            }
                        }
                    });
                }
                band.set(None);
            }
            Gesture::Link { from } => {
                let at = canvas_point(&event);
                let target = graph.with_untracked(|g| {
                    model::steps_in(g, at, at)
                        .into_iter()
                        .find(|id| *id != from)
                });
                if let Some(to) = target {
                    let mut made = None;
                    state.edit(|d| made = model::connect(&mut d.graph, from, to));
                    if let Some(id) = made {
                        state.selection.set(Selection::transition(id));
                    }
                }
                link_end.set(None);
            }
            Gesture::Drag { .. } => {
                // The drag lands in the draft once, as one undoable change.
                if let Some(drag) = state.drag.get_untracked() {
                    let offset = state.drag_offset.get_untracked();
                    state.edit(|d| drag.apply(&mut d.graph, offset));
                    state.drag.set(None);
                }
            }
            _ => {}
        }
        gesture.set_value(Gesture::Idle);
    };

    let on_wheel = move |event: web_sys::WheelEvent| {
        event.prevent_default();
        let (x, y) = element_point(&event);
        let view = state.viewport.get_untracked();
        if event.ctrl_key() || event.meta_key() {
            // Ctrl + wheel, and a trackpad's pinch (which the browser sends as one).
            let factor = (-event.delta_y() * 0.002).exp();
            state.viewport.set(view.zoomed_at(view.zoom * factor, x, y));
        } else {
            state.viewport.set(Viewport {
                pan_x: view.pan_x - event.delta_x(),
                pan_y: view.pan_y - event.delta_y(),
                zoom: view.zoom,
            });
        }
    };

    // A step's box: pressing it selects it (Shift/Ctrl adds) and starts a drag.
    let start_drag = move |id: StepId, event: web_sys::PointerEvent| {
        event.stop_propagation();
        if (event.button() != 0 && event.pointer_type() == "mouse") || on_handle(&event) {
            return;
        }
        if let Some(element) = container.get_untracked() {
            let _ = element.focus();
        }
        let additive = event.shift_key() || event.ctrl_key() || event.meta_key();
        state.selection.update(|s| {
            if additive {
                if let Some(i) = s.steps.iter().position(|x| *x == id) {
                    s.steps.remove(i);
                } else {
                    s.steps.push(id);
                }
            } else if !s.steps.contains(&id) {
                *s = Selection::step(id);
            }
        });
        if state.read_only() {
            return;
        }
        let selected = state.selection.get_untracked().steps;
        let origin: HashMap<StepId, Position> = graph.with_untracked(|g| {
            g.steps
                .iter()
                .filter(|s| selected.contains(&s.id))
                .map(|s| (s.id, s.position))
                .collect()
        });
        let at = canvas_point(&event);
        capture(&event);
        gesture.set_value(Gesture::Drag {
            origin,
            x: at.x,
            y: at.y,
            moved: false,
        });
    };

    let start_link = move |id: StepId, event: web_sys::PointerEvent| {
        event.stop_propagation();
        if state.read_only() {
            return;
        }
        capture(&event);
        gesture.set_value(Gesture::Link { from: id });
    };

    let on_key = move |event: web_sys::KeyboardEvent| {
        if handle_key(state, &event) {
            event.prevent_default();
        }
    };

    let transform = move || {
        let v = state.viewport.get();
        format!(
            "translate({:.1},{:.1}) scale({:.4})",
            v.pan_x, v.pan_y, v.zoom
        )
    };
    let grid_size = move || model::GRID * state.viewport.get().zoom;
    let grid_offset = move || {
        let v = state.viewport.get();
        format!("translate({:.1},{:.1})", v.pan_x, v.pan_y)
    };
    let step_ids =
        Memo::new(move |_| graph.with(|g| g.steps.iter().map(|s| s.id).collect::<Vec<_>>()));
    let transition_ids =
        Memo::new(move |_| graph.with(|g| g.transitions.iter().map(|t| t.id).collect::<Vec<_>>()));
    // What the drawing depends on (where the steps are, which transitions join them, their
    // labels): a rename or a role change does not route again.
    let drawn = Memo::new(move |_| {
        graph.with(|g| WorkflowGraph {
            steps: g
                .steps
                .iter()
                .map(|s| {
                    let mut step = domain::workflow::Step::new(s.id.0, String::new());
                    step.position = s.position;
                    step
                })
                .collect(),
            transitions: g.transitions.clone(),
        })
    });
    // Past a few hundred steps routing would take longer than a person waits: such graphs are
    // drawn with curves (they are read in List view anyway).
    let routes: Memo<Arc<HashMap<TransitionId, EdgeRoute>>> = Memo::new(move |_| {
        drawn.with(|g| {
            Arc::new(if g.steps.len() <= MAX_ROUTED_STEPS {
                drawing::route_all(g)
            } else {
                HashMap::new()
            })
        })
    });
    let link_line = move || {
        let Gesture::Link { from } = gesture.get_value() else {
            return None;
        };
        let end = link_end.get()?;
        let start = graph.with(|g| state.drawn_at(g, from))?;
        let (x1, y1) = (start.x + NODE_WIDTH, start.y + NODE_HEIGHT / 2.0);
        Some(view! {
            <line class="link-preview" x1=x1 y1=y1 x2=end.x y2=end.y />
        })
    };
    let keyboard_link = move || {
        let (from, to) = state.linking.get()?;
        let to = to?;
        graph.with(|g| {
            let (a, b) = (state.drawn_at(g, from)?, state.drawn_at(g, to)?);
            let (d, _) = edge_path(a, b);
            Some(view! { <path class="link-preview" d=d /> })
        })
    };
    let band_rect = move || {
        band.get().map(|(a, b)| {
            view! {
                <rect
                    class="rubber-band"
                    x=a.x.min(b.x)
                    y=a.y.min(b.y)
                    width=(a.x - b.x).abs()
                    height=(a.y - b.y).abs()
                />
            }
        })
    };
    let token = move || {
        let result = state.simulation.get()?;
        let index = state.token.get();
        let visit = result
            .visits
            .get(index.min(result.visits.len().saturating_sub(1)))?;
        let at = graph.with(|g| state.drawn_at(g, visit.step))?;
        Some(view! {
            <g class="sim-token" transform=format!("translate({},{})", at.x + NODE_WIDTH - 6.0, at.y + 6.0)>
                <circle r="11" />
                <text text-anchor="middle" dy="4">{index + 1}</text>
            </g>
        })
    };

    view! {
        <div
            class="editor-canvas"
            node_ref=container
            tabindex="0"
            role="application"
            aria-label="Workflow canvas. Tab moves between steps; N adds a step, T draws a transition, Delete removes, arrows move the selection (Alt+arrows move steps), Ctrl+Z undoes."
            on:keydown=on_key
        >
            <svg
                class="editor-svg"
                on:pointerdown=on_pointer_down
                on:pointermove=on_pointer_move
                on:pointerup=on_pointer_up
                on:pointercancel=on_pointer_up
                on:wheel=on_wheel
            >
                <defs>
                    <pattern
                        id="editor-grid"
                        patternUnits="userSpaceOnUse"
                        width=grid_size
                        height=grid_size
                        patternTransform=grid_offset
                    >
                        <circle cx="1" cy="1" r="1" class="grid-dot" />
                    </pattern>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="arrow-head" />
                    </marker>
                    <marker id="arrow-selected" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="arrow-head selected" />
                    </marker>
                    <marker id="arrow-problem" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0,0 L10,5 L0,10 z" class="arrow-head problem" />
                    </marker>
                </defs>
                <rect class="grid" width="100%" height="100%" fill="url(#editor-grid)" />
                <g transform=transform>
                    <g class="edges">
                        <For each=move || transition_ids.get() key=|id| *id let:id>
                            <Edge state graph routes id />
                        </For>
                    </g>
                    {keyboard_link}
                    {link_line}
                    <g class="nodes">
                        <For each=move || step_ids.get() key=|id| *id let:id>
                            <Node state graph id start_drag start_link />
                        </For>
                    </g>
                    {token}
                    {band_rect}
                </g>
            </svg>
            <Show when=move || step_ids.with(Vec::is_empty) && state.viewing.get().is_none()>
                <div class="canvas-empty">
                    <p class="canvas-empty-title">"An empty workflow"</p>
                    <p>"Add a first step with the button above or the N key. Drag from a step's right handle to another step to join them."</p>
                </div>
            </Show>
            <Minimap state graph />
        </div>
    }
}

#[component]
fn Node(
    state: EditorState,
    graph: Signal<WorkflowGraph>,
    id: StepId,
    start_drag: impl Fn(StepId, web_sys::PointerEvent) + Copy + Send + Sync + 'static,
    start_link: impl Fn(StepId, web_sys::PointerEvent) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let step = Memo::new(move |_| graph.with(|g| g.step(id).cloned()));
    // Whether it is dragged changes as a drag begins and ends; only a dragged step's
    // position reads the drag's moves.
    let dragged = Memo::new(move |_| state.dragged(id));
    let position = Memo::new(move |_| match dragged.get() {
        Some(dragged) => Some(dragged.at(state.drag_offset.get())),
        None => step.with(|s| s.as_ref().map(|s| s.position)),
    });
    let selected = Memo::new(move |_| state.selection.with(|s| s.steps.contains(&id)));
    let problems = Memo::new(move |_| state.step_problems(id));
    let link_target = Memo::new(move |_| {
        state
            .linking
            .with(|l| matches!(l, Some((_, Some(to))) if *to == id))
    });
    let visited = Memo::new(move |_| {
        let shown = state.token.get();
        state.simulation.with(|s| {
            s.as_ref().is_some_and(|s| {
                s.visits
                    .iter()
                    .take(shown + 1)
                    .any(|visit| visit.step == id)
            })
        })
    });
    let class = move || {
        let mut class = String::from("node");
        let step = step.get();
        if selected.get() {
            class.push_str(" selected");
        }
        if !problems.with(Vec::is_empty) {
            class.push_str(" has-problem");
        }
        if step.as_ref().is_some_and(|s| s.is_start) {
            class.push_str(" start");
        }
        if step.as_ref().is_some_and(|s| s.is_end) {
            class.push_str(" end");
        }
        if link_target.get() {
            class.push_str(" link-target");
        }
        if visited.get() {
            class.push_str(" visited");
        }
        class
    };
    let transform = move || {
        position
            .get()
            .map(|p| format!("translate({:.1},{:.1})", p.x, p.y))
            .unwrap_or_default()
    };
    let name = move || {
        step.with(|s| {
            s.as_ref()
                .map(|s| truncate(&s.name, 19))
                .unwrap_or_default()
        })
    };
    let role = move || {
        step.with(|s| s.as_ref().and_then(|s| s.role))
            .and_then(|role| state.role_name(Some(role)))
            .map(|name| truncate(&name, 22))
            .unwrap_or_else(|| "No role yet".to_owned())
    };
    let label = move || {
        let Some(s) = step.get() else {
            return String::new();
        };
        // What the box shows first, in its order (WCAG 2.5.3: the name holds the visible
        // text), then what it means.
        let shown_role = state
            .role_name(s.role)
            .map(|name| truncate(&name, 22))
            .unwrap_or_else(|| "No role yet".to_owned());
        let mut label = format!("{} {shown_role}", truncate(&s.name, 19));
        if s.is_start {
            label.push_str(" START");
        }
        if s.is_end {
            label.push_str(" END");
        }
        label.push_str(&format!(", step “{}”", s.name));
        if s.is_start {
            label.push_str(", where tickets start");
        }
        if s.is_end {
            label.push_str(", where tickets end");
        }
        let problems = problems.get();
        if !problems.is_empty() {
            label.push_str(&format!(
                ", {} problem(s): {}",
                problems.len(),
                problems.join(" ")
            ));
        }
        label
    };
    let focus = move |event: web_sys::FocusEvent| {
        if !state.selection.with_untracked(|s| s.steps.contains(&id)) {
            state.selection.set(Selection::step(id));
        }
        // Reached by keyboard: bring it into view (not on a click, which would move the
        // canvas under the pointer as a drag begins).
        let by_keyboard = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|e| e.matches(":focus-visible").unwrap_or(false));
        if by_keyboard {
            state.reveal(id);
        }
    };
    view! {
        <g
            class=class
            transform=transform
            tabindex="0"
            role="button"
            aria-label=label
            data-step=id.0
            on:pointerdown=move |ev| start_drag(id, ev)
            on:focus=focus
            on:dblclick=move |_| state.tab.set(super::state::PanelTab::Properties)
        >
            // A plain offset box for the shadow: an SVG drop-shadow filter on two hundred
            // steps made every frame of a drag repaint them all through the filter.
            <rect class="node-shadow" y="2" width=NODE_WIDTH height=NODE_HEIGHT rx="10" />
            <rect class="node-box" width=NODE_WIDTH height=NODE_HEIGHT rx="10" />
            <rect class="node-stripe" width="5" height=NODE_HEIGHT rx="2" />
            <text class="node-name" x="16" y="26">{name}</text>
            <text class="node-role" x="16" y="46">{role}</text>
            // Start and end are tags on the box's top edge, clear of the name however long.
            <Show when=move || step.with(|s| s.as_ref().is_some_and(|s| s.is_start))>
                <g class="node-flag" transform=format!("translate({},-8)", NODE_WIDTH - 56.0)>
                    <rect width="44" height="16" rx="8" />
                    <text x="22" y="11.5" text-anchor="middle">"START"</text>
                </g>
            </Show>
            <Show when=move || step.with(|s| s.as_ref().is_some_and(|s| s.is_end))>
                <g class="node-flag end" transform=format!("translate({},-8)", NODE_WIDTH - if step.with(|s| s.as_ref().is_some_and(|s| s.is_start)) { 106.0 } else { 56.0 })>
                    <rect width="44" height="16" rx="8" />
                    <text x="22" y="11.5" text-anchor="middle">"END"</text>
                </g>
            </Show>
            <Show when=move || !problems.with(Vec::is_empty)>
                <g class="node-problem" aria-hidden="true" transform=format!("translate({},{})", NODE_WIDTH - 14.0, NODE_HEIGHT - 14.0)>
                    <circle r="8" />
                    <text text-anchor="middle" dy="4">"!"</text>
                    <title>{move || problems.get().join("\n")}</title>
                </g>
            </Show>
            <circle
                class="node-handle"
                cx=NODE_WIDTH
                cy=NODE_HEIGHT / 2.0
                r="7"
                on:pointerdown=move |ev| start_link(id, ev)
            >
                <title>"Drag to another step to add a transition"</title>
            </circle>
        </g>
    }
}

#[component]
fn Edge(
    state: EditorState,
    graph: Signal<WorkflowGraph>,
    routes: Memo<Arc<HashMap<TransitionId, EdgeRoute>>>,
    id: TransitionId,
) -> impl IntoView {
    // The graph's part (unchanged by a drag), then which ends are dragged (changes as a drag
    // begins and ends), then the ends as drawn (only an edge of a dragged step reads the
    // drag's moves), then the path from the ends.
    let transition = Memo::new(move |_| {
        graph.with(|g| {
            let t = g.transition(id)?;
            let (from, to) = (g.step(t.from)?.position, g.step(t.to)?.position);
            Some((
                t.from,
                t.to,
                from,
                to,
                truncate(&t.action, drawing::LABEL_CHARS),
            ))
        })
    });
    let dragged_ends = Memo::new(move |_| {
        let (from, to) = transition.with(|t| t.as_ref().map(|t| (t.0, t.1)))?;
        let ends = (state.dragged(from), state.dragged(to));
        (ends.0.is_some() || ends.1.is_some()).then_some(ends)
    });
    let ends = Memo::new(move |_| {
        let (from, to) = transition.with(|t| t.as_ref().map(|t| (t.2, t.3)))?;
        Some(match dragged_ends.get() {
            Some((dragged_from, dragged_to)) => {
                let offset = state.drag_offset.get();
                (
                    dragged_from.map_or(from, |d| d.at(offset)),
                    dragged_to.map_or(to, |d| d.at(offset)),
                )
            }
            None => (from, to),
        })
    });
    // Routed round the steps; while one of its steps is dragged (or in a graph too large to
    // route), a curve from side to side.
    let shape = Memo::new(move |_| {
        let routed = if dragged_ends.get().is_some() {
            None
        } else {
            routes.with(|r| {
                r.get(&id).map(|route| {
                    (
                        drawing::path_data(&route.points),
                        route.label,
                        route.text.clone(),
                    )
                })
            })
        };
        routed.or_else(|| {
            let (from, to) = ends.get()?;
            let (d, (x, y)) = edge_path(from, to);
            let text = transition.with(|t| t.as_ref().map(|t| t.4.clone()))?;
            let label =
                drawing::Rect::centred(x, y, drawing::label_width(&text), drawing::LABEL_HEIGHT);
            Some((d, label, text))
        })
    });
    let selected = Memo::new(move |_| state.selection.with(|s| s.transitions.contains(&id)));
    let problems = Memo::new(move |_| state.transition_problems(id));
    let class = move || {
        let mut class = String::from("edge");
        if selected.get() {
            class.push_str(" selected");
        }
        if !problems.with(Vec::is_empty) {
            class.push_str(" has-problem");
        }
        class
    };
    let marker = move || {
        if selected.get() {
            "url(#arrow-selected)"
        } else if !problems.with(Vec::is_empty) {
            "url(#arrow-problem)"
        } else {
            "url(#arrow)"
        }
    };
    let select = move |event: web_sys::PointerEvent| {
        event.stop_propagation();
        if event.shift_key() {
            state.selection.update(|s| s.transitions.push(id));
        } else {
            state.selection.set(Selection::transition(id));
        }
    };
    move || {
        shape.get().map(|(d, label, action)| {
            let (lx, ly) = label.centre();
            let width = label.right - label.left;
            let aria = format!("Transition {action}");
            view! {
                <g class=class data-transition=id.0 on:pointerdown=select role="button" aria-label=aria>
                    <path class="edge-hit" d=d.clone() />
                    <path class="edge-line" d=d marker-end=marker />
                    <g class="edge-label" transform=format!("translate({lx:.1},{ly:.1})")>
                        <rect x=-width / 2.0 y=-drawing::LABEL_HEIGHT / 2.0 width=width height=drawing::LABEL_HEIGHT rx="10" />
                        <text text-anchor="middle" dy="4">{action}</text>
                    </g>
                </g>
            }
        })
    }
}

/// A small map of the whole graph with the visible part outlined; a click moves the view.
#[component]
fn Minimap(state: EditorState, graph: Signal<WorkflowGraph>) -> impl IntoView {
    const WIDTH: f64 = 200.0;
    const HEIGHT: f64 = 130.0;
    // The canvas point at the map's top left corner, and map units per canvas unit.
    let frame = Memo::new(move |_| {
        graph.with(|g| {
            model::bounds(g).map(|(l, t, r, b)| {
                let pad = 80.0;
                let (w, h) = (r - l + 2.0 * pad, b - t + 2.0 * pad);
                // Widened or heightened to the map's own shape, so the graph sits in its
                // middle (a wide graph left the bottom of the map empty).
                let (framed_w, framed_h) = (w.max(h * WIDTH / HEIGHT), h.max(w * HEIGHT / WIDTH));
                (
                    l - pad - (framed_w - w) / 2.0,
                    t - pad - (framed_h - h) / 2.0,
                    WIDTH / framed_w,
                )
            })
        })
    });
    let on_click = move |event: web_sys::MouseEvent| {
        let Some((l, t, scale)) = frame.get_untracked() else {
            return;
        };
        let Some(minimap) = event
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|e| e.closest("svg.minimap").ok().flatten())
        else {
            return;
        };
        let (x, y) = point_in(&minimap, &event);
        let (cx, cy) = (l + x / scale, t + y / scale);
        let (width, height) = state.canvas_size.get_untracked();
        let view = state.viewport.get_untracked();
        state.viewport.set(Viewport {
            pan_x: width / 2.0 - cx * view.zoom,
            pan_y: height / 2.0 - cy * view.zoom,
            zoom: view.zoom,
        });
    };
    let shown = Memo::new(move |_| graph.with(|g| g.steps.len()) >= 2);
    // Every step's box in one path: a drag changes one attribute per move, where a rect per
    // step rebuilt 200 elements a frame.
    let boxes = move || {
        let (l, t, scale) = frame.get()?;
        let (width, height) = (NODE_WIDTH * scale, NODE_HEIGHT * scale);
        let offset = state.drag_offset.get();
        Some(state.drag.with(|drag| {
            graph.with(|g| {
                let mut d = String::with_capacity(g.steps.len() * 32);
                for s in &g.steps {
                    let at = drag
                        .as_ref()
                        .and_then(|drag| drag.position_of(s.id, offset))
                        .unwrap_or(s.position);
                    d.push_str(&format!(
                        "M{:.1} {:.1}h{width:.1}v{height:.1}h{:.1}z",
                        (at.x - l) * scale,
                        (at.y - t) * scale,
                        -width,
                    ));
                }
                d
            })
        }))
    };
    let visible = move || {
        let (l, t, scale) = frame.get()?;
        let v = state.viewport.get();
        let (width, height) = state.canvas_size.get();
        let (x0, y0) = v.to_canvas(0.0, 0.0);
        let (x1, y1) = v.to_canvas(width, height);
        // Clipped to the map: zoomed out past the graph, the view is the whole map. A pixel
        // inside its edges, or the map would cut off half of the outline there.
        const INSET: f64 = 1.0;
        let (left, top) = (((x0 - l) * scale).max(INSET), ((y0 - t) * scale).max(INSET));
        let (right, bottom) = (
            ((x1 - l) * scale).min(WIDTH - INSET),
            ((y1 - t) * scale).min(HEIGHT - INSET),
        );
        (right > left && bottom > top).then(|| {
            view! {
                <rect
                    class="minimap-view"
                    x=left
                    y=top
                    width=right - left
                    height=bottom - top
                />
            }
        })
    };
    view! {
        <Show when=move || shown.get()>
            <svg class="minimap" width=WIDTH height=HEIGHT on:click=on_click aria-hidden="true">
                <path class="minimap-node" d=boxes />
                {visible}
            </svg>
        </Show>
    }
}

/// The editor's keys; whether the key was used.
fn handle_key(state: EditorState, event: &web_sys::KeyboardEvent) -> bool {
    let key = event.key();
    let command = event.ctrl_key() || event.meta_key();
    // Keys typed into the side panel's fields are theirs.
    if let Some(target) = event.target()
        && let Ok(element) = target.dyn_into::<web_sys::Element>()
        && matches!(element.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT")
    {
        return false;
    }
    if let Some((from, to)) = state.linking.get_untracked() {
        return link_key(state, &key, from, to);
    }
    let selection = state.selection.get_untracked();
    match (key.as_str(), command) {
        ("z" | "Z", true) if event.shift_key() => state.redo(),
        ("z", true) => state.undo(),
        ("y", true) => state.redo(),
        ("c", true) => state.copy_selection(),
        ("v", true) => state.paste(),
        ("a", true) => {
            let all = state.shown_graph().with_untracked(|g| Selection {
                steps: g.steps.iter().map(|s| s.id).collect(),
                transitions: g.transitions.iter().map(|t| t.id).collect(),
            });
            state.selection.set(all);
        }
        ("Delete" | "Backspace", _) => {
            // Focus stays on the canvas (the deleted step had it), so Ctrl+Z works at once.
            state.delete_selection();
            focus_canvas();
        }
        ("Escape", _) => state.selection.set(Selection::default()),
        ("n" | "N", false) => {
            if let Some(id) = state.add_step_in_view() {
                focus_step(id);
            }
        }
        ("t" | "T", false) => {
            if let Some(from) = selection.single_step() {
                state.linking.set(Some((from, None)));
                state.announce(
                    "Drawing a transition: choose the step it leads to with the arrow keys, then Enter; Escape to give up.",
                );
            }
        }
        ("l" | "L", false) => {
            state.edit(|d| drawing::auto_layout(&mut d.graph));
            state.fit_to_view();
            state.announce("Steps arranged from left to right.");
        }
        ("f" | "F", false) => state.fit_to_view(),
        ("+" | "=", _) => zoom_by(state, 1.2),
        ("-" | "_", _) => zoom_by(state, 1.0 / 1.2),
        ("Enter", _) => {
            state.tab.set(super::state::PanelTab::Properties);
            focus_panel();
        }
        ("ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown", _) => {
            let (dx, dy) = arrow(&key);
            if event.alt_key() {
                // Moves the selected steps a grid square.
                let ids = selection.steps.clone();
                state.edit(|d| {
                    model::move_steps(&mut d.graph, &ids, dx * model::GRID, dy * model::GRID, true)
                });
                state.announce("Moved.");
            } else if let Some(from) = selection.single_step().or(selection.steps.first().copied())
            {
                let next = state
                    .shown_graph()
                    .with_untracked(|g| model::neighbour(g, from, dx, dy));
                if let Some(next) = next {
                    state.selection.set(Selection::step(next));
                    focus_step(next);
                }
            } else if let Some(first) = state
                .shown_graph()
                .with_untracked(|g| g.steps.first().map(|s| s.id))
            {
                state.selection.set(Selection::step(first));
                focus_step(first);
            }
        }
        _ => return false,
    }
    true
}

/// Keys while a transition is drawn by keyboard: arrows choose the target, Enter joins,
/// Escape gives up.
fn link_key(state: EditorState, key: &str, from: StepId, to: Option<StepId>) -> bool {
    match key {
        "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" => {
            let (dx, dy) = arrow(key);
            let origin = to.unwrap_or(from);
            let next = state.draft.with_untracked(|d| {
                model::neighbour(&d.graph, origin, dx, dy).filter(|id| *id != from)
            });
            if next.is_some() {
                state.linking.set(Some((from, next)));
            }
        }
        "Enter" => {
            state.linking.set(None);
            if let Some(to) = to {
                let mut made = None;
                state.edit(|d| made = model::connect(&mut d.graph, from, to));
                if let Some(id) = made {
                    state.selection.set(Selection::transition(id));
                    state.announce("Transition added. Enter names its action.");
                } else {
                    state.announce("These two steps are joined already.");
                }
            }
        }
        "Escape" => {
            state.linking.set(None);
            state.announce("No transition added.");
        }
        _ => return false,
    }
    true
}

fn arrow(key: &str) -> (f64, f64) {
    match key {
        "ArrowLeft" => (-1.0, 0.0),
        "ArrowRight" => (1.0, 0.0),
        "ArrowUp" => (0.0, -1.0),
        _ => (0.0, 1.0),
    }
}

fn zoom_by(state: EditorState, factor: f64) {
    let (width, height) = state.canvas_size.get_untracked();
    let view = state.viewport.get_untracked();
    state
        .viewport
        .set(view.zoomed_at(view.zoom * factor, width / 2.0, height / 2.0));
}

/// Moves keyboard focus to a step's node (after it was drawn).
/// Puts the keyboard focus on the canvas (after a deletion, whose step had it).
pub fn focus_canvas() {
    request_animation_frame(move || {
        if let Some(canvas) = document().query_selector(".editor-canvas").ok().flatten()
            && let Ok(canvas) = canvas.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = canvas.focus();
        }
    });
}

fn focus_step(id: StepId) {
    request_animation_frame(move || {
        if let Some(node) = document()
            .query_selector(&format!("[data-step=\"{}\"]", id.0))
            .ok()
            .flatten()
            && let Ok(node) = node.dyn_into::<web_sys::SvgElement>()
        {
            let _ = node.focus();
        }
    });
}

/// Moves keyboard focus to the side panel's first field.
fn focus_panel() {
    request_animation_frame(move || {
        if let Some(field) = document()
            .query_selector(".editor-panel input, .editor-panel textarea")
            .ok()
            .flatten()
            && let Ok(field) = field.dyn_into::<web_sys::HtmlElement>()
        {
            let _ = field.focus();
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_runs_from_the_right_side_to_the_left_side() {
        let (d, label) = edge_path(Position { x: 0.0, y: 0.0 }, Position { x: 400.0, y: 0.0 });
        assert!(d.starts_with(&format!("M{NODE_WIDTH:.1},{:.1}", NODE_HEIGHT / 2.0)));
        assert!(d.ends_with(&format!("400.0,{:.1}", NODE_HEIGHT / 2.0)));
        assert!(label.0 > NODE_WIDTH && label.0 < 400.0);
    }

    #[test]
    fn long_names_are_shortened_with_an_ellipsis() {
        assert_eq!(truncate("Short", 22), "Short");
        let short = truncate("A very long step name indeed", 10);
        assert_eq!(short.chars().count(), 10);
        assert!(short.ends_with('…'));
    }
}
