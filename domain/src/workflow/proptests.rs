//! Property tests of the workflow rules on random graphs.

use std::collections::{BTreeSet, HashSet};

use proptest::collection::{btree_set, vec};
use proptest::prelude::*;
use proptest::sample::Index as Pick;

use super::*;
use crate::tickets::Priority;

const ROLES: [RoleId; 5] = [1, 2, 3, 4, 5];

/// A workflow valid by construction: a chain of steps from the start step, extra end steps
/// hanging off the chain (the first off its last step), and extra actions from chain steps to
/// any other step (only forward ones when `dag`). Ids are random and distinct, steps are listed
/// in random order. Every step is on the chain or hangs off it, so every step is reachable
/// and can reach an end.
fn valid_graph(dag: bool) -> impl Strategy<Value = WorkflowGraph> {
    (1usize..=12, 1usize..=4)
        .prop_flat_map(move |(chain, ends)| {
            let n = chain + ends;
            (
                Just((chain, ends)),
                vec(0..chain, ends),
                vec((0..chain, 0..n), 0..=3 * n),
                vec(1..=MAX_WEIGHT, n),
                vec(proptest::sample::select(ROLES.to_vec()), n),
                btree_set(-10_000i64..10_000, n)
                    .prop_map(|ids| ids.into_iter().collect::<Vec<_>>())
                    .prop_shuffle(),
                btree_set(-100_000i64..100_000, 5 * n)
                    .prop_map(|ids| ids.into_iter().collect::<Vec<_>>())
                    .prop_shuffle(),
                Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
        .prop_map(
            move |((chain, ends), hang, extra, weights, roles, step_ids, transition_ids, order)| {
                let mut edges: Vec<(usize, usize)> = (1..chain).map(|i| (i - 1, i)).collect();
                edges.push((chain - 1, chain));
                edges.extend((1..ends).map(|k| (hang[k], chain + k)));
                edges.extend(
                    extra
                        .into_iter()
                        .filter(|&(a, b)| a != b && (!dag || a < b)),
                );
                let mut seen = HashSet::new();
                edges.retain(|edge| seen.insert(*edge));
                let steps = order
                    .iter()
                    .map(|&i| Step {
                        role: Some(roles[i]),
                        weight: weights[i],
                        is_start: i == 0,
                        is_end: i >= chain,
                        position: Position {
                            x: i as f64 * 10.0,
                            y: 0.0,
                        },
                        ..Step::new(step_ids[i], format!("Step {i}"))
                    })
                    .collect();
                let transitions = edges
                    .iter()
                    .zip(&transition_ids)
                    .map(|(&(a, b), &id)| {
                        Transition::new(id, step_ids[a], step_ids[b], format!("Go to {b}"))
                    })
                    .collect();
                WorkflowGraph { steps, transitions }
            },
        )
}

/// Any graph at all: ids from small ranges so they collide, transitions to steps that may not
/// exist, any flags, weights, names and labels.
fn any_graph() -> impl Strategy<Value = WorkflowGraph> {
    let step = (
        -3i64..8,
        proptest::sample::select(vec!["", " ", "A", "B", "Review"]),
        proptest::option::of(0i64..4),
        proptest::option::of(0i64..4),
        -1i64..4,
        proptest::bool::weighted(0.3),
        proptest::bool::weighted(0.3),
        -1.0f64..1.0,
    )
        .prop_map(
            |(id, name, role, escalation_role, weight, is_start, is_end, x)| Step {
                role,
                escalation_role,
                weight,
                is_start,
                is_end,
                position: Position { x, y: -x },
                ..Step::new(id, name)
            },
        );
    let transition = (
        0i64..6,
        -3i64..8,
        -3i64..8,
        proptest::sample::select(vec!["", "Go", "go", " GO ", "Back", "Done"]),
    )
        .prop_map(|(id, from, to, action)| Transition::new(id, from, to, action));
    (vec(step, 0..10), vec(transition, 0..20))
        .prop_map(|(steps, transitions)| WorkflowGraph { steps, transitions })
}

/// A valid graph with a few random edits, most of which break it: graphs that are almost
/// right, as in the editor, where [`any_graph`] rarely makes a valid one.
fn edited_graph() -> impl Strategy<Value = WorkflowGraph> {
    (
        valid_graph(false),
        vec((0u8..11, any::<Pick>(), any::<Pick>()), 0..4),
    )
        .prop_map(|(mut graph, edits)| {
            for (edit, a, b) in edits {
                let (steps, transitions) = (graph.steps.len(), graph.transitions.len());
                if steps == 0 || transitions == 0 {
                    break;
                }
                let (s, s2) = (a.index(steps), b.index(steps));
                let (t, t2) = (a.index(transitions), b.index(transitions));
                match edit {
                    0 => {
                        graph.transitions.remove(t);
                    }
                    1 => graph.steps[s].is_start ^= true,
                    2 => graph.steps[s].is_end ^= true,
                    3 => graph.steps[s].id = graph.steps[s2].id,
                    4 => graph.transitions[t].to = StepId(graph.transitions[t2].id.0),
                    5 => graph.steps[s].weight = 0,
                    6 => graph.steps[s].role = None,
                    7 => {
                        let copy = Transition {
                            id: TransitionId(1_000_000 + t as i64),
                            ..graph.transitions[t2].clone()
                        };
                        graph.transitions.push(copy);
                    }
                    8 => graph.transitions[t].action.clear(),
                    9 => graph.transitions[t].to = graph.transitions[t].from,
                    _ => {
                        graph.steps.remove(s);
                    }
                }
            }
            graph
        })
}

fn any_sla() -> impl Strategy<Value = SlaPolicy> {
    let seconds = proptest::option::of(prop_oneof![
        -5i64..5,
        0..=MAX_SLA_SECONDS + 5,
        Just(i64::MAX),
        Just(i64::MIN)
    ]);
    (seconds.clone(), seconds.clone(), seconds.clone(), seconds).prop_map(
        |(low, medium, high, urgent)| SlaPolicy {
            low,
            medium,
            high,
            urgent,
        },
    )
}

fn step_ids(graph: &WorkflowGraph) -> BTreeSet<StepId> {
    graph.steps.iter().map(|s| s.id).collect()
}

fn transition_ids(graph: &WorkflowGraph) -> BTreeSet<TransitionId> {
    graph.transitions.iter().map(|t| t.id).collect()
}

proptest! {
    /// (1) A graph valid by construction has no problems, every step is reachable and can
    /// reach an end, and its happy path simulates to completion.
    #[test]
    fn valid_graphs_validate_and_their_happy_path_completes(
        graph in prop_oneof![valid_graph(false), valid_graph(true)],
        seconds in 1..=MAX_SLA_SECONDS,
    ) {
        let roles: HashSet<RoleId> = ROLES.into();
        let sla = SlaPolicy::uniform(seconds);
        prop_assert_eq!(validate(&graph, &sla, Some(&roles)), vec![]);
        prop_assert_eq!(reachable_from_start(&graph), step_ids(&graph));
        prop_assert_eq!(can_reach_end(&graph), step_ids(&graph));

        let actions = happy_path_actions(&graph).expect("a valid graph has a happy path");
        let result = simulate(&graph, &sla, Priority::Medium, &actions);
        prop_assert!(result.is_completed(), "{:?}", result.outcome);
        prop_assert_eq!(result.visits.len(), actions.len() + 1);
        prop_assert!(result.sla_error.is_none());
        // The chain is a route, so the shortest is no longer than the number of steps.
        prop_assert!(actions.len() < graph.steps.len());
        // Every visit's actions were offered at its step.
        for visit in &result.visits {
            if let Some(transition) = visit.transition {
                prop_assert!(available_actions(&graph, visit.step).iter().any(|t| t.id == transition));
            }
        }
    }

    /// (2) Cutting every transition into a non-start step makes it unreachable, and nothing
    /// but reachability suffers.
    #[test]
    fn a_step_cut_off_is_unreachable(graph in valid_graph(false), pick in any::<Pick>()) {
        let candidates: Vec<&Step> = graph.steps.iter().filter(|s| !s.is_start).collect();
        prop_assume!(!candidates.is_empty());
        let cut = pick.get(&candidates);
        let (cut_id, cut_name) = (cut.id, cut.name.clone());
        let mut graph = graph.clone();
        graph.transitions.retain(|t| t.to != cut_id);

        let found = validate(&graph, &SlaPolicy::uniform(3_600), None);
        let expected = Problem::UnreachableStep { step: cut_id, step_name: cut_name };
        prop_assert!(found.contains(&expected), "{:?}", found);
        prop_assert!(found.iter().all(|p| matches!(
            p,
            Problem::UnreachableStep { .. } | Problem::DeadEndStep { .. }
        )), "{:?}", found);
        prop_assert!(!reachable_from_start(&graph).contains(&cut_id));
    }

    /// (3) Allowances add up to the SLA exactly along the route, every one is within a second
    /// of its exact share, end steps get nothing, and the happy path fits in the SLA up to one
    /// second of rounding per step.
    #[test]
    fn allowances_add_up(
        graph in prop_oneof![valid_graph(false), valid_graph(true)],
        total in 0..=MAX_SLA_SECONDS,
    ) {
        let split = step_allowances(&graph, total).expect("a valid graph splits");
        prop_assert_eq!(split.total_seconds, total);
        prop_assert_eq!(split.allowances.keys().copied().collect::<BTreeSet<_>>(), step_ids(&graph));
        let step = |id: StepId| graph.step(id).expect("route steps exist");
        let route_sum: i64 = split.route.iter().map(|&id| split.allowances[&id]).sum();
        prop_assert_eq!(route_sum, total);
        let route_weight: i64 = split.route.iter().map(|&id| step(id)).filter(|s| !s.is_end).map(|s| s.weight).sum();
        prop_assert_eq!(route_weight, split.route_weight);
        prop_assert!(step(split.route[0]).is_start);
        prop_assert!(step(*split.route.last().expect("a route")).is_end);
        prop_assert_eq!(split.route.iter().collect::<HashSet<_>>().len(), split.route.len());

        for s in &graph.steps {
            let allowance = split.allowances[&s.id];
            if s.is_end {
                prop_assert_eq!(allowance, 0);
            } else {
                let floor = i128::from(total) * i128::from(s.weight) / i128::from(split.route_weight);
                let allowance = i128::from(allowance);
                prop_assert!(allowance == floor || allowance == floor + 1, "{} vs {}", allowance, floor);
            }
        }

        let path = happy_path(&graph).expect("a valid graph has a happy path");
        let mut visited = vec![graph.start_step().expect("a start").id];
        visited.extend(path.iter().map(|t| t.to));
        let path_weight: i64 = visited.iter().map(|&id| step(id)).filter(|s| !s.is_end).map(|s| s.weight).sum();
        prop_assert!(path_weight <= split.route_weight);
        let path_sum: i64 = visited.iter().map(|id| split.allowances[id]).sum();
        prop_assert!(path_sum <= total + visited.len() as i64);
    }

    /// (4) Nothing panics on any graph, validation is deterministic, problems are well formed,
    /// and a graph without problems runs.
    #[test]
    fn any_graph_is_handled(graph in prop_oneof![any_graph(), edited_graph()], sla in any_sla(), labels in vec("[A-Za-z ]{0,6}", 0..6)) {
        let roles: HashSet<RoleId> = [1, 2].into();
        let found = validate(&graph, &sla, Some(&roles));
        prop_assert_eq!(&found, &validate(&graph, &sla, Some(&roles)));
        let ranks: Vec<u8> = found.iter().map(Problem::rank).collect();
        prop_assert!(ranks.windows(2).all(|w| w[0] <= w[1]));
        let steps = step_ids(&graph);
        let transitions = transition_ids(&graph);
        for problem in &found {
            let json = serde_json::to_value(problem).expect("serialises");
            prop_assert_eq!(&json["code"], problem.code());
            prop_assert!(!problem.message().is_empty());
            prop_assert!(problem.steps().iter().all(|id| steps.contains(id)), "{:?}", problem);
            prop_assert!(problem.transitions().iter().all(|id| transitions.contains(id)), "{:?}", problem);
        }

        let reachable = reachable_from_start(&graph);
        let reaching = can_reach_end(&graph);
        prop_assert!(reachable.is_subset(&steps) && reaching.is_subset(&steps));
        for &id in &steps {
            for t in available_actions(&graph, id) {
                if graph.transitions.iter().filter(|other| other.id == t.id).count() > 1 {
                    continue; // By id, the first transition with the id is taken.
                }
                prop_assert_eq!(apply_transition(&graph, id, t.id).map(|t| t.to), Ok(t.to));
            }
        }
        let mut actions = happy_path_actions(&graph).unwrap_or_default();
        actions.extend(labels);
        let _ = simulate(&graph, &sla, Priority::Urgent, &actions);
        let _ = step_allowances(&graph, 3_600);

        // With any valid SLA, a graph without problems runs: it has a happy path, which
        // completes, and its SLA splits at every priority.
        let sla = SlaPolicy::uniform(3_600);
        if validate(&graph, &sla, None).is_empty() {
            let actions = happy_path_actions(&graph).expect("a valid graph has a happy path");
            for &priority in Priority::ALL {
                let result = simulate(&graph, &sla, priority, &actions);
                prop_assert!(result.is_completed(), "{:?}", result.outcome);
                prop_assert!(result.sla_error.is_none(), "{:?}", result.sla_error);
            }
        }
    }

    /// (5) A graph compared with itself has no changes; between two graphs the counts match
    /// the ids, and comparing the other way round swaps added and removed.
    #[test]
    fn diffs_are_consistent(old in any_graph(), new in any_graph()) {
        prop_assert!(diff(&old, &old).is_empty());
        prop_assert!(diff(&new, &new).is_empty());

        let forth = diff(&old, &new);
        let back = diff(&new, &old);
        let (old_steps, new_steps) = (step_ids(&old), step_ids(&new));
        let (old_transitions, new_transitions) = (transition_ids(&old), transition_ids(&new));
        prop_assert_eq!(forth.steps_added.len(), new_steps.difference(&old_steps).count());
        prop_assert_eq!(forth.steps_removed.len(), old_steps.difference(&new_steps).count());
        prop_assert!(forth.steps_changed.len() <= old_steps.intersection(&new_steps).count());
        prop_assert_eq!(forth.transitions_added.len(), new_transitions.difference(&old_transitions).count());
        prop_assert_eq!(forth.transitions_removed.len(), old_transitions.difference(&new_transitions).count());
        prop_assert!(forth.transitions_changed.len() <= old_transitions.intersection(&new_transitions).count());

        prop_assert_eq!(&forth.steps_added, &back.steps_removed);
        prop_assert_eq!(&forth.steps_removed, &back.steps_added);
        prop_assert_eq!(&forth.transitions_added, &back.transitions_removed);
        let changed = |d: &GraphDiff| d.steps_changed.iter().map(|c| (c.step, c.fields.clone())).collect::<BTreeSet<_>>();
        prop_assert_eq!(changed(&forth), changed(&back));
        prop_assert_eq!(forth.is_empty(), back.is_empty());
    }

    /// (5) One edit shows as exactly that edit.
    #[test]
    fn one_edit_is_one_change(graph in valid_graph(false), pick in any::<Pick>(), weight in 1..=MAX_WEIGHT) {
        let mut edited = graph.clone();
        let step = pick.index(edited.steps.len());
        prop_assume!(edited.steps[step].weight != weight);
        edited.steps[step].weight = weight;
        let change = diff(&graph, &edited);
        prop_assert_eq!(change.steps_changed, vec![StepChange {
            step: graph.steps[step].id,
            fields: vec![StepField::Weight],
        }]);
        prop_assert!(change.steps_added.is_empty() && change.steps_removed.is_empty());
        prop_assert!(change.transitions_added.is_empty() && change.transitions_changed.is_empty());
    }
}
