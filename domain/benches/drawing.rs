//! How long the workflow editor's drawing takes, natively (the browser runs the same code
//! compiled to WebAssembly, typically 1.5 to 2 times slower): "Auto layout" and routing every
//! edge, on a 6-step workflow like the demo's, a 30-step one with two actions a step, and a
//! 200-step chain laid out in rows (the editor's drag benchmark's workflow).
//!
//! `cargo bench -p domain --bench drawing`
#![allow(clippy::unwrap_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use domain::workflow::drawing::{auto_layout, route_all};
use domain::workflow::{Position, Step, Transition, WorkflowGraph};

/// `steps` steps; each joined to the next, and every third also to the one after next and
/// back to the one before (two actions a step, ways back included).
fn workflow(steps: i64, in_rows_of: Option<i64>) -> WorkflowGraph {
    let mut graph = WorkflowGraph::default();
    for n in 1..=steps {
        let mut step = Step::new(n, format!("Step {n}"));
        step.is_start = n == 1;
        step.is_end = n == steps;
        if let Some(row) = in_rows_of {
            step.position = Position {
                x: ((n - 1) % row) as f64 * 300.0,
                y: ((n - 1) / row) as f64 * 160.0,
            };
        }
        graph.steps.push(step);
    }
    let mut id = 0;
    let mut join = |graph: &mut WorkflowGraph, from: i64, to: i64, label: &str| {
        id += 1;
        graph.transitions.push(Transition::new(id, from, to, label));
    };
    for n in 1..steps {
        join(&mut graph, n, n + 1, "Send for approval");
        if in_rows_of.is_none() && n % 3 == 0 && n + 2 <= steps {
            join(&mut graph, n, n + 2, "Skip");
            join(&mut graph, n, n - 1, "Send back");
        }
    }
    graph
}

fn time(what: &str, runs: u32, mut work: impl FnMut()) {
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            work();
            start.elapsed()
        })
        .collect();
    samples.sort();
    let p50 = samples[samples.len() / 2];
    let p95 = samples[samples.len() * 95 / 100];
    println!("{what:<48} p50 {p50:>10.2?}  p95 {p95:>10.2?}  ({runs} runs)");
}

fn main() {
    for steps in [6, 30] {
        let graph = workflow(steps, None);
        let name = format!("{steps} steps, {} transitions", graph.transitions.len());
        time(&format!("auto layout, {name}"), 200, || {
            let mut g = graph.clone();
            auto_layout(&mut g);
        });
        let mut laid_out = graph.clone();
        auto_layout(&mut laid_out);
        time(&format!("route every edge, {name}"), 200, || {
            route_all(&laid_out);
        });
    }
    let chain = workflow(200, Some(20));
    time("route every edge, 200-step chain in 10 rows", 20, || {
        route_all(&chain);
    });
}
