//! How a workflow graph is drawn: where its steps go ([`auto_layout`], layered, left to
//! right) and how each transition runs between them ([`route_all`]: orthogonal paths around
//! the steps, each with a place for its label that covers no step and no other label).
//!
//! It lives here, not in the editor, because it is pure geometry that both builds use: the
//! editor draws with it in the browser, the demo data is laid out with it on the server, and
//! the property tests check both against one rule — no edge crosses a step, no label covers
//! a step or another label.

mod layout;
mod routing;

pub use layout::auto_layout;
pub use routing::{CLEARANCE, EdgeRoute, Side, label_width, path_data, route_all};

use super::{TransitionId, WorkflowGraph};

/// The canvas grid, in canvas units: positions snap to it.
pub const GRID: f64 = 20.0;
/// A step's box on the canvas.
pub const NODE_WIDTH: f64 = 180.0;
pub const NODE_HEIGHT: f64 = 64.0;
/// An edge label's height (its width follows its text: [`label_width`]).
pub const LABEL_HEIGHT: f64 = 20.0;
/// Farthest a label may be from its edge's path and still read as its edge's.
pub const LABEL_NEAR: f64 = 30.0;
/// The most characters of an action shown on its edge (longer ones end in "…").
pub const LABEL_CHARS: usize = 24;

/// The nearest grid line.
pub fn snap(value: f64) -> f64 {
    (value / GRID).round() * GRID
}

/// An axis-aligned box in canvas units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Rect {
    /// A step's box at `position` (its top left corner).
    pub fn of_step(position: super::Position) -> Rect {
        Rect {
            left: position.x,
            top: position.y,
            right: position.x + NODE_WIDTH,
            bottom: position.y + NODE_HEIGHT,
        }
    }

    /// A box of this size centred on `(x, y)`.
    pub fn centred(x: f64, y: f64, width: f64, height: f64) -> Rect {
        Rect {
            left: x - width / 2.0,
            top: y - height / 2.0,
            right: x + width / 2.0,
            bottom: y + height / 2.0,
        }
    }

    pub fn grown(self, by: f64) -> Rect {
        Rect {
            left: self.left - by,
            top: self.top - by,
            right: self.right + by,
            bottom: self.bottom + by,
        }
    }

    pub fn centre(self) -> (f64, f64) {
        (
            (self.left + self.right) / 2.0,
            (self.top + self.bottom) / 2.0,
        )
    }

    /// The two boxes share more than an edge.
    pub fn overlaps(self, other: Rect) -> bool {
        self.left < other.right
            && other.left < self.right
            && self.top < other.bottom
            && other.top < self.bottom
    }

    /// The point is inside, not on the border.
    pub fn holds(self, x: f64, y: f64) -> bool {
        x > self.left && x < self.right && y > self.top && y < self.bottom
    }

    /// The axis-aligned segment from `a` to `b` passes through the inside (touching the
    /// border is not crossing).
    pub fn crossed_by(self, a: (f64, f64), b: (f64, f64)) -> bool {
        let (x1, x2) = (a.0.min(b.0), a.0.max(b.0));
        let (y1, y2) = (a.1.min(b.1), a.1.max(b.1));
        if (y1 - y2).abs() < f64::EPSILON {
            y1 > self.top && y1 < self.bottom && x1 < self.right && x2 > self.left
        } else if (x1 - x2).abs() < f64::EPSILON {
            x1 > self.left && x1 < self.right && y1 < self.bottom && y2 > self.top
        } else {
            // Not axis-aligned: judged by its box (the router makes none).
            Rect {
                left: x1,
                top: y1,
                right: x2,
                bottom: y2,
            }
            .overlaps(self)
        }
    }
}

/// What is wrong with a drawing, if anything: edges crossing steps, labels covering steps or
/// each other. Empty for every drawing [`auto_layout`] makes (the property tests here and the
/// demo workflows' test in `services::demo` check it).
pub fn faults(graph: &WorkflowGraph) -> Vec<String> {
    let routes = route_all(graph);
    let steps: Vec<(crate::workflow::StepId, Rect)> = graph
        .steps
        .iter()
        .map(|s| (s.id, Rect::of_step(s.position)))
        .collect();
    let mut faults = Vec::new();
    let mut ordered: Vec<(&TransitionId, &EdgeRoute)> = routes.iter().collect();
    ordered.sort_by_key(|(id, _)| **id);
    for (id, route) in &ordered {
        for pair in route.points.windows(2) {
            for (step, rect) in &steps {
                if rect.crossed_by(pair[0], pair[1]) {
                    faults.push(format!("transition {id:?} crosses step {step:?}"));
                }
            }
        }
        for (step, rect) in &steps {
            if rect.overlaps(route.label) {
                faults.push(format!("the label of {id:?} covers step {step:?}"));
            }
        }
        // A label is read as its edge's only when it sits by it.
        let around = route.label.grown(LABEL_NEAR);
        let near = route
            .points
            .windows(2)
            .any(|w| around.crossed_by(w[0], w[1]) || around.holds(w[0].0, w[0].1));
        if !near {
            faults.push(format!("the label of {id:?} is far from its edge"));
        }
    }
    for (n, (a, first)) in ordered.iter().enumerate() {
        for (b, second) in &ordered[n + 1..] {
            if first.label.overlaps(second.label) {
                faults.push(format!("the labels of {a:?} and {b:?} overlap"));
            }
        }
    }
    faults
}

/// `text` cut to `max` characters, ending in "…" when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(max.saturating_sub(1)).collect();
        short.push('…');
        short
    }
}

#[cfg(test)]
mod proptests;
