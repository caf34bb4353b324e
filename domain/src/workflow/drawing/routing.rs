//! Edges drawn around the steps: each transition becomes an orthogonal path found by A* on a
//! sparse grid (the lines just clear of every step's box, the steps' middles, and the middles
//! of the gaps between them), leaving and entering a step on whichever side costs least
//! (right out and left in are preferred, so that the flow reads left to right; a way back
//! usually loops below). Turns cost extra, and so does running along a stretch another edge
//! already uses, so parallel edges spread out. Each label then takes the first place along its
//! path, longest stretch first, where it covers no step and no earlier label.
//!
//! Nothing here depends on how the steps were placed: it routes any drawing, also one an admin
//! dragged by hand. It cannot cross a step (the grid has no point or stretch inside one, and
//! the frame around everything is always free), so an edge crosses a step only when the steps
//! themselves overlap.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, HashSet};

use super::{LABEL_CHARS, LABEL_HEIGHT, Rect, truncate};
use crate::workflow::{StepId, TransitionId, WorkflowGraph};

/// Room an edge keeps from the steps it passes: enough for a label on the edge to clear them.
pub const CLEARANCE: f64 = 16.0;
/// What a turn costs, in canvas units of length.
const BEND_COST: f64 = 30.0;
/// How much more a unit of length costs on a stretch another edge already runs along: two
/// edges drawn on one line read as one, so a way round is worth a good deal.
const SHARED_COST: f64 = 3.0;
/// Room a label keeps from the steps and from other labels.
const LABEL_MARGIN: f64 = 4.0;
/// How far apart the places tried for a label along a stretch are.
const LABEL_STEP: f64 = 6.0;
/// Radius of an edge's rounded corners.
const CORNER: f64 = 8.0;

/// A side of a step's box, where an edge leaves or enters it (at the side's middle).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Right,
    Bottom,
    Left,
    Top,
}

/// Where along a side an edge meets it: the middle first; a quarter of the way either side
/// when the middle is taken, so that several edges leaving one side are drawn apart.
const SLOTS: [f64; 3] = [0.0, -0.25, 0.25];
/// What leaving or entering off the middle of a side costs.
const OFF_MIDDLE_COST: f64 = 6.0;

impl Side {
    const ALL: [Side; 4] = [Side::Right, Side::Bottom, Side::Left, Side::Top];

    /// The point of the side at `slot` (an index into [`SLOTS`]).
    fn port(self, r: Rect, slot: usize) -> (f64, f64) {
        let (cx, cy) = r.centre();
        let along = SLOTS[slot];
        let (dx, dy) = (along * (r.right - r.left), along * (r.bottom - r.top));
        match self {
            Side::Right => (r.right, cy + dy),
            Side::Left => (r.left, cy + dy),
            Side::Bottom => (cx + dx, r.bottom),
            Side::Top => (cx + dx, r.top),
        }
    }

    /// The direction away from the box.
    fn outward(self) -> Dir {
        match self {
            Side::Right => Dir::East,
            Side::Left => Dir::West,
            Side::Bottom => Dir::South,
            Side::Top => Dir::North,
        }
    }

    /// Leaving by the right reads best; by the left (against the flow) worst.
    fn leaving_cost(self) -> f64 {
        match self {
            Side::Right => 0.0,
            Side::Bottom | Side::Top => 20.0,
            Side::Left => 60.0,
        }
    }

    fn entering_cost(self) -> f64 {
        match self {
            Side::Left => 0.0,
            Side::Top | Side::Bottom => 20.0,
            Side::Right => 60.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dir {
    East,
    West,
    South,
    North,
}

impl Dir {
    const ALL: [Dir; 4] = [Dir::East, Dir::West, Dir::South, Dir::North];

    fn index(self) -> usize {
        self as usize
    }

    fn opposite(self) -> Dir {
        match self {
            Dir::East => Dir::West,
            Dir::West => Dir::East,
            Dir::South => Dir::North,
            Dir::North => Dir::South,
        }
    }
}

/// A transition as drawn: its path from the source's border to the target's (the last
/// stretch ends at the target, where the arrow goes) and its label's box.
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRoute {
    pub points: Vec<(f64, f64)>,
    pub label: Rect,
    /// The label's text: the action, cut to [`LABEL_CHARS`].
    pub text: String,
}

/// How wide an edge label with this text is drawn.
pub fn label_width(text: &str) -> f64 {
    (text.chars().count() as f64 * 6.6 + 16.0).max(28.0)
}

/// The SVG path of a route, its corners rounded.
pub fn path_data(points: &[(f64, f64)]) -> String {
    use std::fmt::Write as _;
    let mut d = String::new();
    let Some(&(x0, y0)) = points.first() else {
        return d;
    };
    let _ = write!(d, "M{x0:.1},{y0:.1}");
    for k in 1..points.len() {
        let (x, y) = points[k];
        if k + 1 < points.len() {
            let (px, py) = points[k - 1];
            let (nx, ny) = points[k + 1];
            let before = ((x - px).hypot(y - py) / 2.0).min(CORNER);
            let after = ((nx - x).hypot(ny - y) / 2.0).min(CORNER);
            let towards = |from: (f64, f64), to: (f64, f64), by: f64| {
                let length = (to.0 - from.0).hypot(to.1 - from.1);
                if length == 0.0 {
                    from
                } else {
                    (
                        from.0 + (to.0 - from.0) * by / length,
                        from.1 + (to.1 - from.1) * by / length,
                    )
                }
            };
            let (ax, ay) = towards((x, y), (px, py), before);
            let (bx, by) = towards((x, y), (nx, ny), after);
            let _ = write!(d, " L{ax:.1},{ay:.1} Q{x:.1},{y:.1} {bx:.1},{by:.1}");
        } else {
            let _ = write!(d, " L{x:.1},{y:.1}");
        }
    }
    d
}

/// Routes every transition of `graph` whose two steps exist, in the graph's order (earlier
/// transitions get the straighter ways), then places the labels.
pub fn route_all(graph: &WorkflowGraph) -> HashMap<TransitionId, EdgeRoute> {
    let boxes: HashMap<StepId, Rect> = graph
        .steps
        .iter()
        .rev() // the first of a shared id wins, as in the rules
        .map(|s| (s.id, Rect::of_step(s.position)))
        .collect();
    let nodes: Vec<Rect> = graph
        .steps
        .iter()
        .map(|s| Rect::of_step(s.position))
        .collect();
    let grid = Grid::new(&nodes);
    let mut scratch = Scratch::new(grid.xs.len() * grid.ys.len() * 4);
    let mut shared = HashSet::new();
    let mut paths = Vec::with_capacity(graph.transitions.len());
    for t in &graph.transitions {
        let (Some(&from), Some(&to)) = (boxes.get(&t.from), boxes.get(&t.to)) else {
            continue;
        };
        let (leave, enter): (&[Side], &[Side]) = if t.from == t.to {
            (&[Side::Right], &[Side::Top])
        } else {
            (&Side::ALL, &Side::ALL)
        };
        let points = grid
            .route(from, leave, to, enter, &mut shared, &mut scratch)
            .unwrap_or_else(|| straight(from, to));
        paths.push((t.id, points, truncate(&t.action, LABEL_CHARS)));
    }
    // Labels of the shortest edges first: they have the fewest places to go, a long edge has
    // room anywhere along its way.
    let length = |points: &[(f64, f64)]| -> f64 {
        points
            .windows(2)
            .map(|w| (w[1].0 - w[0].0).abs() + (w[1].1 - w[0].1).abs())
            .sum()
    };
    paths.sort_by(|a, b| length(&a.1).total_cmp(&length(&b.1)));
    let mut labels: Vec<Rect> = Vec::with_capacity(paths.len());
    let mut routes = HashMap::with_capacity(paths.len());
    for (id, points, text) in paths {
        let label = place_label(&points, label_width(&text), &nodes, &labels);
        labels.push(label);
        routes.insert(
            id,
            EdgeRoute {
                points,
                label,
                text,
            },
        );
    }
    routes
}

/// The way when there is none around (steps on top of each other): side to side.
fn straight(from: Rect, to: Rect) -> Vec<(f64, f64)> {
    vec![Side::Right.port(from, 0), Side::Left.port(to, 0)]
}

/// The first place along the path, longest stretch first and from its middle outwards, where
/// a label of this width covers no step and no earlier label; else beside the path; else the
/// middle of the longest stretch.
fn place_label(points: &[(f64, f64)], width: f64, nodes: &[Rect], placed: &[Rect]) -> Rect {
    let free = |r: Rect| {
        !nodes.iter().any(|n| n.grown(LABEL_MARGIN).overlaps(r))
            && !placed.iter().any(|l| l.grown(LABEL_MARGIN).overlaps(r))
    };
    let mut stretches: Vec<((f64, f64), (f64, f64))> =
        points.windows(2).map(|w| (w[0], w[1])).collect();
    let length = |s: &((f64, f64), (f64, f64))| (s.1.0 - s.0.0).abs() + (s.1.1 - s.0.1).abs();
    stretches.sort_by(|a, b| length(b).total_cmp(&length(a)));
    // On the line first, then just beside it (above or below a level stretch, left or right
    // of an upright one).
    let beside = [
        (0.0, 0.0),
        (0.0, -(LABEL_HEIGHT / 2.0 + 3.0)),
        (0.0, LABEL_HEIGHT / 2.0 + 3.0),
    ];
    for &(dx, dy) in &beside {
        for stretch in &stretches {
            let ((x1, y1), (x2, y2)) = *stretch;
            let level = (y1 - y2).abs() < f64::EPSILON;
            let (ox, oy) = if level {
                (dx, dy)
            } else if dy == 0.0 {
                (0.0, 0.0)
            } else {
                (dy.signum() * (width / 2.0 + 3.0), dx)
            };
            let span = length(stretch);
            let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
            let (ux, uy) = if span > 0.0 {
                ((x2 - x1) / span, (y2 - y1) / span)
            } else {
                (0.0, 0.0)
            };
            let mut offset = 0.0;
            while offset <= span / 2.0 {
                for sign in [1.0, -1.0] {
                    let (x, y) = (mx + ux * offset * sign + ox, my + uy * offset * sign + oy);
                    let candidate = Rect::centred(x, y, width, LABEL_HEIGHT);
                    if free(candidate) {
                        return candidate;
                    }
                    if offset == 0.0 {
                        break;
                    }
                }
                offset += LABEL_STEP;
            }
        }
    }
    // Everything along the path is taken: the nearest free place around its longest stretch's
    // middle, in widening rings (there is always one further out).
    let (a, b) = stretches
        .first()
        .copied()
        .unwrap_or(((0.0, 0.0), (0.0, 0.0)));
    let (mx, my) = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
    for ring in 1..=400 {
        let radius = f64::from(ring) * LABEL_STEP;
        for k in 0..16 {
            let angle = f64::from(k) * std::f64::consts::PI / 8.0;
            let candidate = Rect::centred(
                mx + radius * angle.cos(),
                my + radius * angle.sin(),
                width,
                LABEL_HEIGHT,
            );
            if free(candidate) {
                return candidate;
            }
        }
    }
    Rect::centred(mx, my, width, LABEL_HEIGHT)
}

/// The routing grid: every line an edge may run along, and which points and stretches between
/// neighbouring points are free (outside every step's box grown by [`CLEARANCE`]).
struct Grid {
    xs: Vec<f64>,
    ys: Vec<f64>,
    obstacles: Vec<Rect>,
    blocked: Vec<bool>,
    /// The stretch from `(i, j)` to `(i + 1, j)` is blocked.
    blocked_level: Vec<bool>,
    /// The stretch from `(i, j)` to `(i, j + 1)` is blocked.
    blocked_upright: Vec<bool>,
}

/// The search's tables, made once for all the edges of a drawing: each search resets only
/// what it touched (a fresh table per edge cost more than the searches on a large graph).
struct Scratch {
    cost: Vec<f64>,
    came_from: Vec<usize>,
    touched: Vec<usize>,
}

impl Scratch {
    fn new(states: usize) -> Scratch {
        Scratch {
            cost: vec![f64::INFINITY; states],
            came_from: vec![usize::MAX; states],
            touched: Vec::new(),
        }
    }

    fn set(&mut self, state: usize, cost: f64, from: usize) {
        if self.cost[state].is_infinite() {
            self.touched.push(state);
        }
        self.cost[state] = cost;
        self.came_from[state] = from;
    }

    fn reset(&mut self) {
        for state in self.touched.drain(..) {
            self.cost[state] = f64::INFINITY;
            self.came_from[state] = usize::MAX;
        }
    }
}

/// A stretch between two neighbouring grid points: level (from `(i, j)` east) or upright
/// (from `(i, j)` south).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Stretch {
    level: bool,
    i: usize,
    j: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Open {
    estimate: f64,
    cost: f64,
    state: usize,
}

impl Eq for Open {}

impl Ord for Open {
    fn cmp(&self, other: &Self) -> Ordering {
        // The heap pops the greatest: the least estimate first, then the longest way so far
        // (closer to a goal), then the state, so that ties break the same way everywhere.
        other
            .estimate
            .total_cmp(&self.estimate)
            .then(self.cost.total_cmp(&other.cost))
            .then(other.state.cmp(&self.state))
    }
}

impl PartialOrd for Open {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn coordinates(mut values: Vec<f64>) -> Vec<f64> {
    values.sort_by(f64::total_cmp);
    values.dedup_by(|a, b| (*a - *b).abs() < 0.01);
    // The middles of wide gaps, so edges run down the middle of a channel, not along a side.
    let mut with_middles = Vec::with_capacity(values.len() * 2);
    for pair in values.windows(2) {
        with_middles.push(pair[0]);
        if pair[1] - pair[0] > 3.0 * CLEARANCE {
            with_middles.push((pair[0] + pair[1]) / 2.0);
        }
    }
    with_middles.extend(values.last());
    with_middles
}

impl Grid {
    fn new(nodes: &[Rect]) -> Grid {
        let obstacles: Vec<Rect> = nodes.iter().map(|n| n.grown(CLEARANCE)).collect();
        let mut xs = Vec::with_capacity(nodes.len() * 3 + 2);
        let mut ys = Vec::with_capacity(nodes.len() * 3 + 2);
        for (node, grown) in nodes.iter().zip(&obstacles) {
            xs.extend([grown.left, grown.right]);
            ys.extend([grown.top, grown.bottom]);
            for slot in 0..SLOTS.len() {
                xs.push(Side::Top.port(*node, slot).0);
                ys.push(Side::Left.port(*node, slot).1);
            }
        }
        // A frame around everything: a way round always exists.
        let frame = obstacles.iter().fold(None::<Rect>, |acc, r| {
            Some(match acc {
                None => *r,
                Some(a) => Rect {
                    left: a.left.min(r.left),
                    top: a.top.min(r.top),
                    right: a.right.max(r.right),
                    bottom: a.bottom.max(r.bottom),
                },
            })
        });
        if let Some(frame) = frame {
            let frame = frame.grown(2.0 * CLEARANCE);
            xs.extend([frame.left, frame.right]);
            ys.extend([frame.top, frame.bottom]);
        }
        let xs = coordinates(xs);
        let ys = coordinates(ys);
        let (nx, ny) = (xs.len(), ys.len());
        let mut grid = Grid {
            blocked: vec![false; nx * ny],
            blocked_level: vec![false; nx * ny],
            blocked_upright: vec![false; nx * ny],
            xs,
            ys,
            obstacles,
        };
        for r in grid.obstacles.clone() {
            // Grid lines strictly inside the box, and lines on or inside it.
            let inside = |values: &[f64], low: f64, high: f64| {
                let first = values.partition_point(|&v| v <= low + 0.005);
                let last = values.partition_point(|&v| v < high - 0.005);
                first..last
            };
            let on_or_inside = |values: &[f64], low: f64, high: f64| {
                let first = values.partition_point(|&v| v < low - 0.005);
                let last = values.partition_point(|&v| v <= high + 0.005);
                first..last
            };
            let (xi, yi) = (
                inside(&grid.xs, r.left, r.right),
                inside(&grid.ys, r.top, r.bottom),
            );
            let (xo, yo) = (
                on_or_inside(&grid.xs, r.left, r.right),
                on_or_inside(&grid.ys, r.top, r.bottom),
            );
            for j in yi.clone() {
                for i in xi.clone() {
                    grid.blocked[j * nx + i] = true;
                }
                // A level stretch inside the box's height, between lines on or inside it.
                for i in xo.clone() {
                    if i + 1 < xo.end {
                        grid.blocked_level[j * nx + i] = true;
                    }
                }
            }
            for i in xi {
                for j in yo.clone() {
                    if j + 1 < yo.end {
                        grid.blocked_upright[j * nx + i] = true;
                    }
                }
            }
        }
        grid
    }

    fn index_of(values: &[f64], v: f64) -> Option<usize> {
        let at = values.partition_point(|&x| x < v - 0.005);
        (at < values.len() && (values[at] - v).abs() < 0.01).then_some(at)
    }

    /// The grid point just outside `side` of the step `node` at `slot`, if it is free.
    fn stub(&self, node: Rect, side: Side, slot: usize) -> Option<(usize, usize)> {
        let (px, py) = side.port(node, slot);
        let (x, y) = match side {
            Side::Right => (px + CLEARANCE, py),
            Side::Left => (px - CLEARANCE, py),
            Side::Bottom => (px, py + CLEARANCE),
            Side::Top => (px, py - CLEARANCE),
        };
        let i = Self::index_of(&self.xs, x)?;
        let j = Self::index_of(&self.ys, y)?;
        (!self.blocked[j * self.xs.len() + i]).then_some((i, j))
    }

    /// The neighbour of `(i, j)` towards `dir`, with the stretch between, if both are free.
    fn step(&self, i: usize, j: usize, dir: Dir) -> Option<(usize, usize, Stretch)> {
        let nx = self.xs.len();
        let (ni, nj, stretch) = match dir {
            Dir::East if i + 1 < nx => (i + 1, j, Stretch { level: true, i, j }),
            Dir::West if i > 0 => (
                i - 1,
                j,
                Stretch {
                    level: true,
                    i: i - 1,
                    j,
                },
            ),
            Dir::South if j + 1 < self.ys.len() => (i, j + 1, Stretch { level: false, i, j }),
            Dir::North if j > 0 => (
                i,
                j - 1,
                Stretch {
                    level: false,
                    i,
                    j: j - 1,
                },
            ),
            _ => return None,
        };
        let blocked = if stretch.level {
            self.blocked_level[stretch.j * nx + stretch.i]
        } else {
            self.blocked_upright[stretch.j * nx + stretch.i]
        };
        (!blocked && !self.blocked[nj * nx + ni]).then_some((ni, nj, stretch))
    }

    fn length(&self, s: Stretch) -> f64 {
        if s.level {
            self.xs[s.i + 1] - self.xs[s.i]
        } else {
            self.ys[s.j + 1] - self.ys[s.j]
        }
    }

    /// The cheapest way from a side of `from` (one of `leave`) to a side of `to` (one of
    /// `enter`); the stretches it uses are added to `shared`.
    fn route(
        &self,
        from: Rect,
        leave: &[Side],
        to: Rect,
        enter: &[Side],
        shared: &mut HashSet<Stretch>,
        scratch: &mut Scratch,
    ) -> Option<Vec<(f64, f64)>> {
        scratch.reset();
        let nx = self.xs.len();
        let slots = |sides: &[Side], node: Rect| -> Vec<(Side, usize, (usize, usize))> {
            sides
                .iter()
                .flat_map(|&side| (0..SLOTS.len()).map(move |slot| (side, slot)))
                .filter_map(|(side, slot)| self.stub(node, side, slot).map(|at| (side, slot, at)))
                .collect()
        };
        let slot_cost = |slot: usize| if slot == 0 { 0.0 } else { OFF_MIDDLE_COST };
        let goals = slots(enter, to);
        if goals.is_empty() {
            return None;
        }
        let estimate = |i: usize, j: usize| {
            goals
                .iter()
                .map(|(_, _, (gi, gj))| {
                    (self.xs[i] - self.xs[*gi]).abs() + (self.ys[j] - self.ys[*gj]).abs()
                })
                .fold(f64::INFINITY, f64::min)
        };
        let state_of = |i: usize, j: usize, dir: Dir| (j * nx + i) * 4 + dir.index();
        let mut starts: HashMap<usize, (Side, usize)> = HashMap::new();
        let mut open = BinaryHeap::new();
        for (side, slot, (i, j)) in slots(leave, from) {
            {
                let state = state_of(i, j, side.outward());
                let start_cost = CLEARANCE + side.leaving_cost() + slot_cost(slot);
                if start_cost < scratch.cost[state] {
                    scratch.set(state, start_cost, usize::MAX);
                    starts.insert(state, (side, slot));
                    open.push(Open {
                        estimate: start_cost + estimate(i, j),
                        cost: start_cost,
                        state,
                    });
                }
            }
        }
        // A goal is a state past the grid: reaching it means entering the target.
        let mut best: Option<(f64, usize, (Side, usize))> = None;
        while let Some(Open {
            cost: so_far,
            state,
            estimate: bound,
        }) = open.pop()
        {
            if best.is_some_and(|(b, ..)| b <= bound) {
                break;
            }
            if so_far > scratch.cost[state] {
                continue;
            }
            let cell = state / 4;
            let (i, j) = (cell % nx, cell / nx);
            let dir = Dir::ALL[state % 4];
            for &(side, slot, (gi, gj)) in &goals {
                if (gi, gj) == (i, j) {
                    let inward = side.outward().opposite();
                    let turn = if dir == inward { 0.0 } else { BEND_COST };
                    let total = so_far + turn + CLEARANCE + side.entering_cost() + slot_cost(slot);
                    if best.is_none_or(|(b, ..)| total < b) {
                        best = Some((total, state, (side, slot)));
                    }
                }
            }
            for next_dir in Dir::ALL {
                if next_dir == dir.opposite() {
                    continue;
                }
                let Some((ni, nj, stretch)) = self.step(i, j, next_dir) else {
                    continue;
                };
                let length = self.length(stretch);
                let mut step_cost = length;
                if shared.contains(&stretch) {
                    step_cost += length * SHARED_COST;
                }
                if next_dir != dir {
                    step_cost += BEND_COST;
                }
                let next = state_of(ni, nj, next_dir);
                let next_cost = so_far + step_cost;
                if next_cost < scratch.cost[next] {
                    scratch.set(next, next_cost, state);
                    open.push(Open {
                        estimate: next_cost + estimate(ni, nj),
                        cost: next_cost,
                        state: next,
                    });
                }
            }
        }
        let (_, last, (side_in, slot_in)) = best?;
        let mut cells = Vec::new();
        let mut state = last;
        loop {
            let cell = state / 4;
            if cells.last() != Some(&cell) {
                cells.push(cell);
            }
            let previous = scratch.came_from[state];
            if previous == usize::MAX {
                break;
            }
            state = previous;
        }
        let (side_out, slot_out) = *starts.get(&state)?;
        cells.reverse();
        for pair in cells.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let (i, j) = (a.min(b) % nx, a.min(b) / nx);
            shared.insert(Stretch {
                level: a / nx == b / nx,
                i,
                j,
            });
        }
        let mut points = vec![side_out.port(from, slot_out)];
        points.extend(cells.iter().map(|&c| (self.xs[c % nx], self.ys[c / nx])));
        points.push(side_in.port(to, slot_in));
        Some(simplified(points))
    }
}

/// The path without points in the middle of a straight run.
fn simplified(points: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len());
    for p in points {
        if out.last() == Some(&p) {
            continue;
        }
        if out.len() >= 2 {
            let (a, b) = (out[out.len() - 2], out[out.len() - 1]);
            let collinear = ((a.0 - b.0).abs() < 0.01 && (b.0 - p.0).abs() < 0.01)
                || ((a.1 - b.1).abs() < 0.01 && (b.1 - p.1).abs() < 0.01);
            if collinear {
                out.pop();
            }
        }
        out.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Position, Step, Transition};

    fn graph(places: &[(f64, f64)], transitions: &[(i64, i64, &str)]) -> WorkflowGraph {
        let mut graph = WorkflowGraph::default();
        for (n, &(x, y)) in places.iter().enumerate() {
            let mut step = Step::new(n as i64 + 1, format!("S{}", n + 1));
            step.position = Position { x, y };
            graph.steps.push(step);
        }
        for (n, &(from, to, action)) in transitions.iter().enumerate() {
            graph
                .transitions
                .push(Transition::new(n as i64 + 1, from, to, action));
        }
        graph
    }

    fn crosses_a_step(graph: &WorkflowGraph, route: &EdgeRoute) -> bool {
        route.points.windows(2).any(|w| {
            graph
                .steps
                .iter()
                .any(|s| Rect::of_step(s.position).crossed_by(w[0], w[1]))
        })
    }

    #[test]
    fn two_steps_side_by_side_are_joined_straight_from_right_to_left() {
        let g = graph(&[(0.0, 0.0), (400.0, 0.0)], &[(1, 2, "Approve")]);
        let routes = route_all(&g);
        let route = &routes[&TransitionId(1)];
        assert_eq!(route.points, vec![(180.0, 32.0), (400.0, 32.0)]);
        assert!(
            route.label.left >= 180.0 && route.label.right <= 400.0,
            "{route:?}"
        );
    }

    #[test]
    fn an_edge_goes_round_a_step_in_its_way() {
        // 1 and 3 on a line with 2 between them.
        let g = graph(
            &[(0.0, 0.0), (300.0, 0.0), (600.0, 0.0)],
            &[(1, 3, "Skip the middle")],
        );
        let routes = route_all(&g);
        let route = &routes[&TransitionId(1)];
        assert!(!crosses_a_step(&g, route), "{route:?}");
        assert!(route.points.len() > 2, "it bends: {route:?}");
    }

    #[test]
    fn a_way_back_loops_round_and_arrives_at_the_first_step() {
        let g = graph(
            &[(0.0, 0.0), (300.0, 0.0)],
            &[(1, 2, "Send"), (2, 1, "Send back")],
        );
        let routes = route_all(&g);
        let back = &routes[&TransitionId(2)];
        assert!(!crosses_a_step(&g, back), "{back:?}");
        let last = *back.points.last().unwrap();
        assert!(
            Rect::of_step(Position { x: 0.0, y: 0.0 })
                .grown(0.5)
                .holds(last.0, last.1),
            "ends on the first step's border: {back:?}"
        );
        assert!(!back.label.overlaps(routes[&TransitionId(1)].label));
    }

    #[test]
    fn a_step_looping_to_itself_leaves_right_and_comes_back_on_top() {
        let g = graph(&[(0.0, 0.0)], &[(1, 1, "Again")]);
        let route = &route_all(&g)[&TransitionId(1)];
        let (first, last) = (route.points[0], *route.points.last().unwrap());
        assert_eq!(first.0, 180.0, "leaves by the right: {route:?}");
        assert_eq!(last.1, 0.0, "comes back on top: {route:?}");
        assert!(!crosses_a_step(&g, route));
    }

    #[test]
    fn the_path_data_rounds_corners_and_ends_where_the_route_ends() {
        let d = path_data(&[(0.0, 0.0), (100.0, 0.0), (100.0, 50.0)]);
        assert!(
            d.starts_with("M0.0,0.0 L92.0,0.0 Q100.0,0.0 100.0,8.0"),
            "{d}"
        );
        assert!(d.ends_with("L100.0,50.0"), "{d}");
        assert_eq!(path_data(&[]), "");
    }
}
