//! Automatic layout, on demand: layered, left to right (the Sugiyama scheme, kept small).
//!
//! 1. Transitions that lead back (found by a depth-first walk from the start step, then from
//!    every step not yet seen) are set aside, which leaves the graph without cycles.
//! 2. Each step's layer is the longest path to it over the remaining transitions, so every
//!    forward transition goes right.
//! 3. Within a layer steps are ordered by the mean place of their neighbours in the layers
//!    beside it, a few sweeps each way, which undoes most crossings.
//! 4. Layers are columns; each column is centred on the tallest one. The gap after a column
//!    is as wide as the widest label of the transitions leaving it needs, so that labels sit
//!    between the steps; rows leave room for an edge and its label between two steps.
//!
//! The transitions set aside in step 1 are drawn as they are: the router takes them round
//! (usually below), see [`super::route_all`].

use std::collections::HashMap;

use super::routing::CLEARANCE;
use super::{
    GRID, LABEL_CHARS, LABEL_HEIGHT, NODE_HEIGHT, NODE_WIDTH, label_width, snap, truncate,
};
use crate::workflow::{Position, StepId, WorkflowGraph};

/// The narrowest gap between two columns.
const MIN_COLUMN_GAP: f64 = 120.0;
/// Between two steps of a column: room for two edges and a label between them.
const ROW_GAP: f64 = 2.0 * CLEARANCE + LABEL_HEIGHT + 2.0 * GRID;
const SWEEPS: usize = 4;

/// Places every step of `graph` in layers from left to right (positions only).
pub fn auto_layout(graph: &mut WorkflowGraph) {
    let count = graph.steps.len();
    if count == 0 {
        return;
    }
    let index: HashMap<StepId, usize> = graph
        .steps
        .iter()
        .enumerate()
        .rev() // the first of a shared id wins, as in the rules
        .map(|(i, s)| (s.id, i))
        .collect();
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); count];
    for t in &graph.transitions {
        if let (Some(&from), Some(&to)) = (index.get(&t.from), index.get(&t.to))
            && from != to
        {
            out[from].push(to);
        }
    }
    let forward = forward_edges(graph, &out);
    let layers = longest_path_layers(count, &forward);
    let columns = order_columns(&layers, &forward);
    // Each gap fits the widest label leaving the column before it.
    let mut gaps = vec![MIN_COLUMN_GAP; columns.len()];
    for t in &graph.transitions {
        if let Some(&from) = index.get(&t.from) {
            let needed = label_width(&truncate(&t.action, LABEL_CHARS)) + 4.0 * CLEARANCE;
            let gap = &mut gaps[layers[from]];
            *gap = gap.max(needed);
        }
    }
    // A crowded drawing (many actions between few steps) may leave a label nowhere near its
    // edge: then the same order is spread wider, a few times at most.
    for spread in 0..=MAX_SPREADS {
        place(graph, &columns, &gaps, spread);
        if spread == MAX_SPREADS || super::faults(graph).is_empty() {
            break;
        }
    }
}

/// How many times a crowded drawing is spread wider.
const MAX_SPREADS: usize = 4;

/// Puts the columns side by side, each centred on the tallest, `spread` times wider apart
/// than they need (by two grid units a column, one a row).
fn place(graph: &mut WorkflowGraph, columns: &[Vec<usize>], gaps: &[f64], spread: usize) {
    let extra = spread as f64 * GRID;
    let row_height = NODE_HEIGHT + ROW_GAP + extra;
    let tallest = columns.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let mut x = 0.0;
    for (column, steps) in columns.iter().enumerate() {
        let offset = (tallest - steps.len() as f64) * row_height / 2.0;
        for (row, &i) in steps.iter().enumerate() {
            graph.steps[i].position = Position {
                x: snap(x),
                y: snap(offset + row as f64 * row_height) + GRID,
            };
        }
        x += NODE_WIDTH + (gaps[column] / GRID).ceil() * GRID + 2.0 * extra;
    }
}

/// The transitions that do not close a cycle, as (from, to) step positions: a depth-first walk
/// from the start step, then from each unvisited step in order, drops every transition into a
/// step still on the walk's path.
fn forward_edges(graph: &WorkflowGraph, out: &[Vec<usize>]) -> Vec<(usize, usize)> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let count = out.len();
    let mut mark = vec![Mark::New; count];
    let mut forward = Vec::new();
    let start = graph.steps.iter().position(|s| s.is_start);
    let roots = start.into_iter().chain(0..count);
    for root in roots {
        if mark[root] != Mark::New {
            continue;
        }
        // An explicit stack (a 500-step chain would be deep for recursion in WebAssembly).
        let mut stack = vec![(root, 0usize)];
        mark[root] = Mark::OnPath;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&to) = out[node].get(*next) {
                *next += 1;
                match mark[to] {
                    Mark::New => {
                        forward.push((node, to));
                        mark[to] = Mark::OnPath;
                        stack.push((to, 0));
                    }
                    Mark::Done => forward.push((node, to)),
                    Mark::OnPath => {} // leads back: set aside
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
    forward
}

/// Each step's layer: the longest path to it over `forward` (which has no cycle).
fn longest_path_layers(count: usize, forward: &[(usize, usize)]) -> Vec<usize> {
    let mut incoming = vec![0usize; count];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); count];
    for &(from, to) in forward {
        incoming[to] += 1;
        out[from].push(to);
    }
    let mut layer = vec![0usize; count];
    let mut ready: Vec<usize> = (0..count).filter(|&i| incoming[i] == 0).rev().collect();
    while let Some(node) = ready.pop() {
        for &to in &out[node] {
            layer[to] = layer[to].max(layer[node] + 1);
            incoming[to] -= 1;
            if incoming[to] == 0 {
                ready.push(to);
            }
        }
    }
    layer
}

/// The steps of each layer, top to bottom, after barycentre sweeps.
fn order_columns(layers: &[usize], forward: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let depth = layers.iter().max().map_or(0, |m| m + 1);
    let mut columns: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (i, &layer) in layers.iter().enumerate() {
        columns[layer].push(i);
    }
    let mut before: Vec<Vec<usize>> = vec![Vec::new(); layers.len()];
    let mut after: Vec<Vec<usize>> = vec![Vec::new(); layers.len()];
    for &(from, to) in forward {
        after[from].push(to);
        before[to].push(from);
    }
    let mut row = vec![0f64; layers.len()];
    let place = |columns: &[Vec<usize>], row: &mut [f64]| {
        for column in columns {
            for (r, &i) in column.iter().enumerate() {
                row[i] = r as f64;
            }
        }
    };
    place(&columns, &mut row);
    for sweep in 0..SWEEPS {
        let (range, neighbours): (Vec<usize>, _) = if sweep % 2 == 0 {
            ((1..depth).collect(), &before)
        } else {
            ((0..depth.saturating_sub(1)).rev().collect(), &after)
        };
        for layer in range {
            let mut keyed: Vec<(f64, usize)> = columns[layer]
                .iter()
                .map(|&i| {
                    let near = &neighbours[i];
                    let key = if near.is_empty() {
                        row[i]
                    } else {
                        near.iter().map(|&n| row[n]).sum::<f64>() / near.len() as f64
                    };
                    (key, i)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            columns[layer] = keyed.into_iter().map(|(_, i)| i).collect();
            for (r, &i) in columns[layer].iter().enumerate() {
                row[i] = r as f64;
            }
        }
    }
    columns
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{Step, Transition};

    fn graph(steps: usize, transitions: &[(i64, i64)]) -> WorkflowGraph {
        let mut graph = WorkflowGraph::default();
        for i in 1..=steps as i64 {
            let mut step = Step::new(i, format!("S{i}"));
            step.is_start = i == 1;
            graph.steps.push(step);
        }
        for (n, &(from, to)) in transitions.iter().enumerate() {
            graph
                .transitions
                .push(Transition::new(n as i64 + 1, from, to, "go"));
        }
        graph
    }

    fn x_of(graph: &WorkflowGraph, id: i64) -> f64 {
        graph.step(StepId(id)).unwrap().position.x
    }

    #[test]
    fn every_forward_transition_goes_right_even_with_a_way_back() {
        // 1 → 2 → 3 → 4, 2 → 4, and 3 → 1 sends back.
        let mut g = graph(4, &[(1, 2), (2, 3), (3, 4), (2, 4), (3, 1)]);
        auto_layout(&mut g);
        assert!(x_of(&g, 1) < x_of(&g, 2));
        assert!(x_of(&g, 2) < x_of(&g, 3));
        assert!(
            x_of(&g, 3) < x_of(&g, 4),
            "the longest path decides the column"
        );
    }

    #[test]
    fn no_two_steps_overlap_and_all_sit_on_the_grid() {
        let edges: Vec<(i64, i64)> = (1..200).map(|i| (i / 3 + 1, i + 1)).collect();
        let mut g = graph(200, &edges);
        auto_layout(&mut g);
        let mut seen = std::collections::HashSet::new();
        for step in &g.steps {
            assert_eq!(step.position.x % GRID, 0.0);
            assert_eq!(step.position.y % GRID, 0.0);
            assert!(
                seen.insert((step.position.x as i64, step.position.y as i64)),
                "two steps at one place"
            );
        }
    }

    #[test]
    fn siblings_keep_their_parents_order() {
        // 1 → 2, 1 → 3; 2 → 4, 3 → 5: 4 stays level with 2's side, 5 with 3's.
        let mut g = graph(5, &[(1, 2), (1, 3), (3, 5), (2, 4)]);
        auto_layout(&mut g);
        let y = |id| g.step(StepId(id)).unwrap().position.y;
        assert_eq!(y(2) < y(3), y(4) < y(5));
    }

    #[test]
    fn unreachable_steps_and_empty_graphs_are_placed_too() {
        let mut g = graph(3, &[]);
        auto_layout(&mut g);
        assert_eq!(x_of(&g, 1), x_of(&g, 3));
        let mut empty = WorkflowGraph::default();
        auto_layout(&mut empty);
    }
}
