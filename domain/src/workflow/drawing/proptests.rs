//! The drawing's rule, on random workflows of up to 30 steps: after "Auto layout", no edge
//! crosses a step and no label covers a step or another label. (The demo workflows are
//! checked the same way in `services::demo`.)

use proptest::prelude::*;

use super::{auto_layout, faults};
use crate::workflow::{Step, Transition, WorkflowGraph};

/// Most actions between the same two steps, one way, in the generated workflows. (Each side of
/// a step has three places where edges meet it; a fourth action between the same pair shares
/// a line and its label may sit further off. Real workflows have one or two.)
const MAX_PARALLEL: usize = 3;

/// A workflow of `count` steps: a way from the start through every step (each joined to an
/// earlier one), plus up to `count` of the `extra` transitions anywhere (forward, back, up to
/// [`MAX_PARALLEL`] between the same two steps; not from a step to itself, which the rules
/// refuse), with labels of 3 to 40 characters. So up to two actions a step: the demo workflows
/// have 1.2 to 1.5, the seeds' examples no more than two.
fn workflow(
    count: usize,
    parents: &[usize],
    extra: &[(usize, usize)],
    labels: &[usize],
) -> WorkflowGraph {
    let mut graph = WorkflowGraph::default();
    for n in 0..count {
        let mut step = Step::new(n as i64 + 1, format!("Step {}", n + 1));
        step.is_start = n == 0;
        step.is_end = n + 1 == count;
        graph.steps.push(step);
    }
    let mut pairs: Vec<(usize, usize)> = (1..count).map(|n| (parents[n] % n, n)).collect();
    for (a, b) in extra
        .iter()
        .take(count)
        .map(|&(a, b)| (a % count, b % count))
    {
        let parallel = pairs.iter().filter(|&&p| p == (a, b)).count();
        if a != b && parallel < MAX_PARALLEL {
            pairs.push((a, b));
        }
    }
    for (k, (from, to)) in pairs.into_iter().enumerate() {
        let length = 3 + labels[k % labels.len()] % 38;
        let label: String = "Send for approval and wait for the manager"
            .chars()
            .cycle()
            .skip(k % 7)
            .take(length)
            .collect();
        graph.transitions.push(Transition::new(
            k as i64 + 1,
            from as i64 + 1,
            to as i64 + 1,
            label.trim(),
        ));
    }
    graph
}

proptest! {
    // A fixed seed and 200 workflows, so that a run in CI is the same run everywhere; set
    // PROPTEST_RNG_SEED and PROPTEST_CASES to explore others (7,000 random ones passed on
    // 2026-12-08).
    #![proptest_config(ProptestConfig {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            ProptestConfig::default().cases
        } else {
            200
        },
        rng_seed: if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
            ProptestConfig::default().rng_seed
        } else {
            proptest::test_runner::RngSeed::Fixed(20_261_208)
        },
        ..ProptestConfig::default()
    })]

    #[test]
    fn after_auto_layout_no_edge_crosses_a_step_and_no_label_covers_anything(
        count in 1usize..=30,
        parents in proptest::collection::vec(0usize..1000, 30),
        extra in proptest::collection::vec((0usize..1000, 0usize..1000), 0..16),
        labels in proptest::collection::vec(0usize..1000, 1..8),
    ) {
        let mut graph = workflow(count, &parents, &extra, &labels);
        auto_layout(&mut graph);
        let faults = faults(&graph);
        prop_assert!(faults.is_empty(), "{faults:#?}");
    }
}
