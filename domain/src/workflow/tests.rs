//! Unit tests of the workflow rules, each on a small graph drawn for the case.

use std::collections::{BTreeSet, HashSet};
use std::time::Instant;

use chrono::{TimeZone, Utc};

use super::*;
use crate::tickets::Priority;

/// A step with role 1, weight 1.
fn step(id: i64, name: &str) -> Step {
    Step {
        role: Some(1),
        ..Step::new(id, name)
    }
}

fn start(id: i64, name: &str) -> Step {
    Step {
        is_start: true,
        ..step(id, name)
    }
}

fn end(id: i64, name: &str) -> Step {
    Step {
        is_end: true,
        ..step(id, name)
    }
}

fn weighted(step: Step, weight: i64) -> Step {
    Step { weight, ..step }
}

fn t(id: i64, from: i64, to: i64, action: &str) -> Transition {
    Transition::new(id, from, to, action)
}

/// Triage (1) branches to Fix remotely (2, weight 2) or Dispatch technician (3, weight 5),
/// both of which close (4).
fn helpdesk() -> WorkflowGraph {
    WorkflowGraph {
        steps: vec![
            start(1, "Triage"),
            weighted(step(2, "Fix remotely"), 2),
            weighted(step(3, "Dispatch technician"), 5),
            end(4, "Closed"),
        ],
        transitions: vec![
            t(10, 1, 2, "Resolve remotely"),
            t(11, 1, 3, "Dispatch"),
            t(12, 2, 4, "Done"),
            t(13, 3, 4, "Done"),
        ],
    }
}

fn sla() -> SlaPolicy {
    SlaPolicy {
        low: Some(86_400),
        medium: Some(28_800),
        high: Some(14_400),
        urgent: Some(3_600),
    }
}

fn problems(graph: &WorkflowGraph) -> Vec<Problem> {
    validate(graph, &sla(), None)
}

fn codes(problems: &[Problem]) -> Vec<&'static str> {
    problems.iter().map(Problem::code).collect()
}

fn ids(ids: &[i64]) -> BTreeSet<StepId> {
    ids.iter().copied().map(StepId).collect()
}

/// A chain start → … → end of `n` steps, ids 1..=n.
fn chain(n: i64) -> WorkflowGraph {
    let mut graph = WorkflowGraph::default();
    for id in 1..=n {
        let mut s = step(id, &format!("Step {id}"));
        s.is_start = id == 1;
        s.is_end = id == n;
        graph.steps.push(s);
        if id < n {
            graph.transitions.push(t(id, id, id + 1, "Next"));
        }
    }
    graph
}

// ---------------------------------------------------------------------------------------------
// Validation, one problem kind at a time.

#[test]
fn a_sound_workflow_has_no_problems() {
    assert_eq!(problems(&helpdesk()), vec![]);
    let roles: HashSet<RoleId> = [1].into();
    assert_eq!(validate(&helpdesk(), &sla(), Some(&roles)), vec![]);
}

#[test]
fn too_many_steps_and_transitions() {
    let graph = chain(MAX_STEPS as i64 + 1);
    assert_eq!(
        problems(&graph),
        vec![Problem::TooManySteps {
            count: MAX_STEPS + 1,
            max: MAX_STEPS
        }]
    );

    let mut graph = chain(2);
    graph.transitions = (0..=MAX_TRANSITIONS as i64)
        .map(|i| t(i, 1, 2, &format!("Action {i}")))
        .collect();
    assert_eq!(
        problems(&graph),
        vec![Problem::TooManyTransitions {
            count: MAX_TRANSITIONS + 1,
            max: MAX_TRANSITIONS
        }]
    );
}

#[test]
fn no_start_step() {
    let mut graph = helpdesk();
    graph.steps[0].is_start = false;
    // Without a start nothing is "unreachable": one problem, not one per step.
    assert_eq!(problems(&graph), vec![Problem::NoStartStep]);
}

#[test]
fn several_start_steps_are_named() {
    let mut graph = helpdesk();
    graph.steps[2].is_start = true;
    let found = problems(&graph);
    assert_eq!(
        found,
        vec![Problem::SeveralStartSteps {
            steps: vec![StepId(1), StepId(3)],
            step_names: vec!["Triage".into(), "Dispatch technician".into()],
        }]
    );
    assert_eq!(found[0].steps(), vec![StepId(1), StepId(3)]);
    assert_eq!(
        found[0].message(),
        "2 steps are marked as the start step ('Triage', 'Dispatch technician'); mark exactly one."
    );
}

#[test]
fn no_end_step() {
    let mut graph = helpdesk();
    graph.steps[3].is_end = false;
    // Without an end nothing is a "dead end" either.
    assert_eq!(problems(&graph), vec![Problem::NoEndStep]);
}

#[test]
fn a_start_step_that_is_an_end_step() {
    let graph = WorkflowGraph {
        steps: vec![Step {
            is_end: true,
            ..start(1, "Everything")
        }],
        transitions: vec![],
    };
    assert_eq!(
        problems(&graph),
        vec![Problem::StartStepIsEnd {
            step: StepId(1),
            step_name: "Everything".into()
        }]
    );
}

#[test]
fn duplicate_step_ids_name_the_later_step() {
    let mut graph = helpdesk();
    graph.steps.push(step(2, "Copy"));
    assert_eq!(
        problems(&graph),
        vec![Problem::DuplicateStepId {
            step: StepId(2),
            step_name: "Copy".into()
        }]
    );
}

#[test]
fn duplicate_transition_ids() {
    let mut graph = helpdesk();
    graph.transitions.push(t(12, 2, 4, "Close now"));
    let found = problems(&graph);
    assert_eq!(
        found,
        vec![Problem::DuplicateTransitionId {
            transition: TransitionId(12),
            action: "Close now".into()
        }]
    );
    assert_eq!(found[0].transitions(), vec![TransitionId(12)]);
}

#[test]
fn dangling_transitions_name_the_missing_steps() {
    let mut graph = helpdesk();
    graph.transitions.push(t(20, 1, 99, "Escalate"));
    graph.transitions.push(t(21, 98, 98, "Ghost"));
    graph.transitions.push(t(22, 97, 4, "Phantom"));
    assert_eq!(
        problems(&graph),
        vec![
            Problem::DanglingTransition {
                transition: TransitionId(20),
                action: "Escalate".into(),
                missing: vec![StepId(99)],
            },
            Problem::DanglingTransition {
                transition: TransitionId(21),
                action: "Ghost".into(),
                missing: vec![StepId(98)],
            },
            Problem::DanglingTransition {
                transition: TransitionId(22),
                action: "Phantom".into(),
                missing: vec![StepId(97)],
            },
        ]
    );
}

#[test]
fn unreachable_steps() {
    let mut graph = helpdesk();
    graph.steps.push(step(5, "Orphan"));
    graph.steps.push(step(6, "Orphan's child"));
    graph.transitions.push(t(20, 5, 6, "Go on"));
    graph.transitions.push(t(21, 6, 4, "Finish"));
    assert_eq!(
        problems(&graph),
        vec![
            Problem::UnreachableStep {
                step: StepId(5),
                step_name: "Orphan".into()
            },
            Problem::UnreachableStep {
                step: StepId(6),
                step_name: "Orphan's child".into()
            },
        ]
    );
}

#[test]
fn a_step_reached_only_past_an_end_step_is_unreachable() {
    let mut graph = helpdesk();
    graph.steps.push(step(5, "Afterlife"));
    graph.transitions.push(t(20, 4, 5, "Reopen"));
    graph.transitions.push(t(21, 5, 4, "Close"));
    assert_eq!(
        codes(&problems(&graph)),
        vec!["unreachable_step", "transition_from_end_step"]
    );
    assert_eq!(problems(&graph)[0].steps(), vec![StepId(5)]);
}

#[test]
fn dead_end_steps() {
    let mut graph = helpdesk();
    graph.steps.push(step(5, "Limbo"));
    graph.steps.push(step(6, "Deeper limbo"));
    graph.transitions.push(t(20, 1, 5, "Park"));
    graph.transitions.push(t(21, 5, 6, "Park deeper"));
    graph.transitions.push(t(22, 6, 5, "Back up"));
    assert_eq!(
        problems(&graph),
        vec![
            Problem::DeadEndStep {
                step: StepId(5),
                step_name: "Limbo".into()
            },
            Problem::DeadEndStep {
                step: StepId(6),
                step_name: "Deeper limbo".into()
            },
        ]
    );
}

#[test]
fn transitions_from_end_steps() {
    let mut graph = helpdesk();
    graph.transitions.push(t(20, 4, 1, "Reopen"));
    let found = problems(&graph);
    assert_eq!(
        found,
        vec![Problem::TransitionFromEndStep {
            transition: TransitionId(20),
            action: "Reopen".into(),
            step: StepId(4),
            step_name: "Closed".into(),
        }]
    );
    assert_eq!(found[0].steps(), vec![StepId(4)]);
    assert_eq!(found[0].transitions(), vec![TransitionId(20)]);
}

#[test]
fn self_loops_are_refused_but_loops_through_other_steps_are_fine() {
    let mut graph = helpdesk();
    graph.transitions.push(t(20, 2, 2, "Try again"));
    assert_eq!(
        problems(&graph),
        vec![Problem::SelfLoop {
            transition: TransitionId(20),
            action: "Try again".into(),
            step: StepId(2),
            step_name: "Fix remotely".into(),
        }]
    );

    let mut graph = helpdesk();
    graph.transitions.push(t(20, 2, 1, "Send back"));
    assert_eq!(problems(&graph), vec![]);
}

#[test]
fn step_names_and_instructions() {
    let mut graph = helpdesk();
    graph.steps[1].name = "   ".into();
    graph.steps[2].name = "x".repeat(MAX_STEP_NAME + 1);
    graph.steps[3].instructions = "y".repeat(MAX_INSTRUCTIONS + 1);
    let found = problems(&graph);
    assert_eq!(
        found,
        vec![
            Problem::EmptyStepName { step: StepId(2) },
            Problem::StepNameTooLong {
                step: StepId(3),
                step_name: "x".repeat(MAX_STEP_NAME + 1),
                max: MAX_STEP_NAME,
            },
            Problem::InstructionsTooLong {
                step: StepId(4),
                step_name: "Closed".into(),
                max: MAX_INSTRUCTIONS,
            },
        ]
    );
    assert_eq!(found[0].message(), "Step #2 has no name.");
    // Exactly at the limits is fine; characters, not bytes, are counted.
    let mut graph = helpdesk();
    graph.steps[1].name = "é".repeat(MAX_STEP_NAME);
    graph.steps[1].instructions = "é".repeat(MAX_INSTRUCTIONS);
    assert_eq!(problems(&graph), vec![]);
}

#[test]
fn every_step_needs_a_role_even_an_end_step() {
    let mut graph = helpdesk();
    graph.steps[1].role = None;
    graph.steps[3].role = None;
    assert_eq!(
        problems(&graph),
        vec![
            Problem::StepWithoutRole {
                step: StepId(2),
                step_name: "Fix remotely".into()
            },
            Problem::StepWithoutRole {
                step: StepId(4),
                step_name: "Closed".into()
            },
        ]
    );
}

#[test]
fn unknown_roles_only_when_the_roles_are_known() {
    let mut graph = helpdesk();
    graph.steps[1].role = Some(7);
    graph.steps[2].escalation_role = Some(8);
    graph.steps[3].escalation_role = Some(1);
    assert_eq!(problems(&graph), vec![]);
    let roles: HashSet<RoleId> = [1, 2].into();
    assert_eq!(
        validate(&graph, &sla(), Some(&roles)),
        vec![
            Problem::UnknownRole {
                step: StepId(2),
                step_name: "Fix remotely".into(),
                role: 7,
            },
            Problem::UnknownEscalationRole {
                step: StepId(3),
                step_name: "Dispatch technician".into(),
                role: 8,
            },
        ]
    );
}

#[test]
fn weights_run_from_one_to_the_maximum() {
    let mut graph = helpdesk();
    graph.steps[0].weight = 0;
    graph.steps[1].weight = -3;
    graph.steps[2].weight = MAX_WEIGHT + 1;
    graph.steps[3].weight = MAX_WEIGHT;
    assert_eq!(
        problems(&graph),
        vec![
            Problem::InvalidWeight {
                step: StepId(1),
                step_name: "Triage".into(),
                weight: 0,
            },
            Problem::InvalidWeight {
                step: StepId(2),
                step_name: "Fix remotely".into(),
                weight: -3,
            },
            Problem::InvalidWeight {
                step: StepId(3),
                step_name: "Dispatch technician".into(),
                weight: MAX_WEIGHT + 1,
            },
        ]
    );
}

#[test]
fn action_labels() {
    let mut graph = helpdesk();
    graph.transitions[0].action = "  ".into();
    graph.transitions[2].action = "z".repeat(MAX_ACTION_LABEL + 1);
    assert_eq!(
        problems(&graph),
        vec![
            Problem::EmptyActionLabel {
                transition: TransitionId(10),
                step: StepId(1),
                step_name: "Triage".into(),
            },
            Problem::ActionLabelTooLong {
                transition: TransitionId(12),
                action: "z".repeat(MAX_ACTION_LABEL + 1),
                max: MAX_ACTION_LABEL,
            },
        ]
    );
}

#[test]
fn duplicate_actions_per_step_ignore_case_and_spacing() {
    let mut graph = helpdesk();
    graph.transitions[1].action = " resolve   REMOTELY ".into();
    let found = problems(&graph);
    assert_eq!(
        found,
        vec![Problem::DuplicateAction {
            step: StepId(1),
            step_name: "Triage".into(),
            action: "Resolve remotely".into(),
            transitions: vec![TransitionId(10), TransitionId(11)],
        }]
    );
    assert_eq!(found[0].steps(), vec![StepId(1)]);
    assert_eq!(
        found[0].transitions(),
        vec![TransitionId(10), TransitionId(11)]
    );
    // "Done" leaves two different steps: not a duplicate (helpdesk() has that already).
}

#[test]
fn an_sla_for_every_priority() {
    let mut policy = sla();
    policy.medium = None;
    policy.high = Some(0);
    policy.urgent = Some(MAX_SLA_SECONDS + 1);
    assert_eq!(
        validate(&helpdesk(), &policy, None),
        vec![
            Problem::MissingSla {
                priority: Priority::Medium
            },
            Problem::InvalidSla {
                priority: Priority::High,
                seconds: 0
            },
            Problem::InvalidSla {
                priority: Priority::Urgent,
                seconds: MAX_SLA_SECONDS + 1
            },
        ]
    );
    assert_eq!(
        validate(&helpdesk(), &SlaPolicy::uniform(MAX_SLA_SECONDS), None),
        vec![]
    );
}

#[test]
fn problems_come_in_a_fixed_order() {
    let graph = WorkflowGraph {
        steps: vec![
            Step::new(1, ""),
            Step {
                is_start: true,
                ..Step::new(1, "B")
            },
        ],
        transitions: vec![t(1, 1, 2, "Go"), t(1, 1, 1, "go")],
    };
    let found = validate(&graph, &SlaPolicy::default(), None);
    assert_eq!(
        codes(&found),
        vec![
            "no_start_step", // the start step is the shadowed duplicate
            "no_end_step",
            "duplicate_step_id",
            "duplicate_transition_id",
            "dangling_transition",
            "self_loop",
            "empty_step_name",
            "step_without_role",
            "step_without_role",
            "duplicate_action",
            "missing_sla",
            "missing_sla",
            "missing_sla",
            "missing_sla",
        ]
    );
    assert_eq!(found, validate(&graph, &SlaPolicy::default(), None));
}

#[test]
fn problems_serialise_with_their_code() {
    let all = vec![
        Problem::TooManySteps { count: 2, max: 1 },
        Problem::TooManyTransitions { count: 2, max: 1 },
        Problem::NoStartStep,
        Problem::SeveralStartSteps {
            steps: vec![StepId(1), StepId(2)],
            step_names: vec!["A".into(), "".into()],
        },
        Problem::NoEndStep,
        Problem::StartStepIsEnd {
            step: StepId(1),
            step_name: "A".into(),
        },
        Problem::DuplicateStepId {
            step: StepId(1),
            step_name: "A".into(),
        },
        Problem::DuplicateTransitionId {
            transition: TransitionId(1),
            action: "Go".into(),
        },
        Problem::DanglingTransition {
            transition: TransitionId(1),
            action: "Go".into(),
            missing: vec![StepId(3)],
        },
        Problem::UnreachableStep {
            step: StepId(1),
            step_name: "A".into(),
        },
        Problem::DeadEndStep {
            step: StepId(1),
            step_name: "A".into(),
        },
        Problem::TransitionFromEndStep {
            transition: TransitionId(1),
            action: "Go".into(),
            step: StepId(1),
            step_name: "A".into(),
        },
        Problem::SelfLoop {
            transition: TransitionId(1),
            action: "Go".into(),
            step: StepId(1),
            step_name: "A".into(),
        },
        Problem::EmptyStepName { step: StepId(1) },
        Problem::StepNameTooLong {
            step: StepId(1),
            step_name: "A".into(),
            max: 1,
        },
        Problem::InstructionsTooLong {
            step: StepId(1),
            step_name: "A".into(),
            max: 1,
        },
        Problem::StepWithoutRole {
            step: StepId(1),
            step_name: "A".into(),
        },
        Problem::UnknownRole {
            step: StepId(1),
            step_name: "A".into(),
            role: 3,
        },
        Problem::UnknownEscalationRole {
            step: StepId(1),
            step_name: "A".into(),
            role: 3,
        },
        Problem::InvalidWeight {
            step: StepId(1),
            step_name: "A".into(),
            weight: 0,
        },
        Problem::EmptyActionLabel {
            transition: TransitionId(1),
            step: StepId(1),
            step_name: "A".into(),
        },
        Problem::ActionLabelTooLong {
            transition: TransitionId(1),
            action: "Go".into(),
            max: 1,
        },
        Problem::DuplicateAction {
            step: StepId(1),
            step_name: "A".into(),
            action: "Go".into(),
            transitions: vec![TransitionId(1), TransitionId(2)],
        },
        Problem::MissingSla {
            priority: Priority::Low,
        },
        Problem::InvalidSla {
            priority: Priority::Low,
            seconds: 0,
        },
    ];
    let mut codes = HashSet::new();
    for problem in &all {
        let json = serde_json::to_value(problem).unwrap();
        assert_eq!(json["code"], problem.code(), "{problem:?}");
        assert_eq!(serde_json::from_value::<Problem>(json).unwrap(), *problem);
        assert!(problem.message().ends_with('.'), "{}", problem.message());
        assert!(codes.insert(problem.code()), "code used twice");
    }
    // Sorting by kind puts them in declaration order, which is the order listed above.
    let mut sorted = all.clone();
    sorted.reverse();
    sorted.sort_by_key(Problem::rank);
    assert_eq!(sorted, all);

    assert_eq!(
        serde_json::to_value(Problem::UnreachableStep {
            step: StepId(12),
            step_name: "Review".into()
        })
        .unwrap(),
        serde_json::json!({"code": "unreachable_step", "step": 12, "step_name": "Review"})
    );
}

#[test]
fn validating_the_largest_graph_is_fast() {
    // 500 steps and 2,000 transitions: a chain, three extra forward actions per step, all from
    // a step with many actions at once for the duplicate check.
    let n = MAX_STEPS as i64;
    let mut graph = chain(n);
    let mut id = n;
    for from in 1..n {
        for k in 1..=3 {
            if graph.transitions.len() >= MAX_TRANSITIONS {
                break;
            }
            let to = (from + k * 7).min(n);
            id += 1;
            graph
                .transitions
                .push(t(id, from, to, &format!("Skip {k}")));
        }
    }
    while graph.transitions.len() < MAX_TRANSITIONS {
        id += 1;
        graph
            .transitions
            .push(t(id, 1, 2 + id % (n - 2), &format!("Jump {id}")));
    }
    let began = Instant::now();
    for _ in 0..10 {
        assert_eq!(problems(&graph), vec![]);
        assert!(step_allowances(&graph, 86_400).is_ok());
        assert!(happy_path(&graph).is_some());
    }
    // Unoptimised, ten rounds take a few milliseconds; quadratic work would take seconds.
    assert!(began.elapsed().as_secs_f64() < 2.0, "{:?}", began.elapsed());
}

// ---------------------------------------------------------------------------------------------
// Reachability and the transition rules.

#[test]
fn reachability_for_the_editor() {
    let mut graph = helpdesk();
    graph.steps.push(step(5, "Orphan"));
    graph.steps.push(step(6, "Limbo"));
    graph.transitions.push(t(20, 5, 4, "Finish"));
    graph.transitions.push(t(21, 1, 6, "Park"));
    assert_eq!(reachable_from_start(&graph), ids(&[1, 2, 3, 4, 6]));
    assert_eq!(can_reach_end(&graph), ids(&[1, 2, 3, 4, 5]));

    graph.steps[0].is_start = false;
    assert_eq!(reachable_from_start(&graph), ids(&[]));
}

#[test]
fn the_actions_of_a_step() {
    let graph = helpdesk();
    let offered: Vec<TransitionId> = available_actions(&graph, StepId(1))
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(offered, vec![TransitionId(10), TransitionId(11)]);
    assert!(available_actions(&graph, StepId(4)).is_empty());
    assert!(available_actions(&graph, StepId(99)).is_empty());

    let mut graph = helpdesk();
    graph.transitions.push(t(20, 1, 99, "Escalate"));
    graph.transitions.push(t(21, 4, 1, "Reopen"));
    assert_eq!(available_actions(&graph, StepId(1)).len(), 2);
    assert!(available_actions(&graph, StepId(4)).is_empty());
}

#[test]
fn taking_an_action_by_label() {
    let graph = helpdesk();
    let taken = apply_action(&graph, StepId(1), "  DISPATCH ").unwrap();
    assert_eq!((taken.id, taken.to), (TransitionId(11), StepId(3)));
    assert_eq!(
        apply_action(&graph, StepId(1), "Done"),
        Err(TransitionError::ActionNotAvailable {
            step: StepId(1),
            action: "Done".into()
        })
    );
    assert_eq!(
        apply_action(&graph, StepId(4), "Done"),
        Err(TransitionError::EndStep { step: StepId(4) })
    );
    assert_eq!(
        apply_action(&graph, StepId(9), "Done"),
        Err(TransitionError::UnknownStep { step: StepId(9) })
    );

    let mut graph = helpdesk();
    graph.transitions.push(t(20, 1, 4, "dispatch"));
    graph.transitions.push(t(21, 2, 99, "Escalate"));
    let error = apply_action(&graph, StepId(1), "Dispatch").unwrap_err();
    assert_eq!(
        error,
        TransitionError::AmbiguousAction {
            step: StepId(1),
            action: "Dispatch".into(),
            transitions: vec![TransitionId(11), TransitionId(20)],
        }
    );
    assert_eq!(error.code(), "ambiguous_action");
    assert_eq!(
        apply_action(&graph, StepId(2), "Escalate"),
        Err(TransitionError::TargetMissing {
            transition: TransitionId(21),
            to: StepId(99)
        })
    );

    // A matching action to a missing step does not make a usable one ambiguous.
    graph.transitions.push(t(22, 2, 98, "Done"));
    assert_eq!(
        apply_action(&graph, StepId(2), "Done").map(|t| t.id),
        Ok(TransitionId(12))
    );
}

#[test]
fn taking_an_action_by_transition_id() {
    let graph = helpdesk();
    assert_eq!(
        apply_transition(&graph, StepId(1), TransitionId(10)).map(|t| t.to),
        Ok(StepId(2))
    );
    assert_eq!(
        apply_transition(&graph, StepId(1), TransitionId(12)),
        Err(TransitionError::NotFromStep {
            transition: TransitionId(12),
            step: StepId(1)
        })
    );
    assert_eq!(
        apply_transition(&graph, StepId(1), TransitionId(77)),
        Err(TransitionError::UnknownTransition {
            transition: TransitionId(77)
        })
    );
    assert_eq!(
        apply_transition(&graph, StepId(4), TransitionId(12)),
        Err(TransitionError::EndStep { step: StepId(4) })
    );
    let mut graph = helpdesk();
    graph.transitions.push(t(20, 1, 99, "Escalate"));
    assert_eq!(
        apply_transition(&graph, StepId(1), TransitionId(20)),
        Err(TransitionError::TargetMissing {
            transition: TransitionId(20),
            to: StepId(99)
        })
    );
}

#[test]
fn transition_errors_serialise_with_their_code() {
    let error = TransitionError::ActionNotAvailable {
        step: StepId(3),
        action: "Approve".into(),
    };
    assert_eq!(
        serde_json::to_value(&error).unwrap(),
        serde_json::json!({"code": "action_not_available", "step": 3, "action": "Approve"})
    );
    assert_eq!(
        error.to_string(),
        "the action 'Approve' is not available at step 3"
    );
}

// ---------------------------------------------------------------------------------------------
// SLA arithmetic.

#[test]
fn the_sla_is_split_along_the_heaviest_route() {
    let split = step_allowances(&helpdesk(), 3_600).unwrap();
    // Triage (1) + Dispatch technician (5) is heavier than Triage + Fix remotely (2).
    assert_eq!(split.route, vec![StepId(1), StepId(3), StepId(4)]);
    assert_eq!(split.route_weight, 6);
    assert_eq!(split.allowance(StepId(1)), Some(600));
    assert_eq!(split.allowance(StepId(2)), Some(1_200));
    assert_eq!(split.allowance(StepId(3)), Some(3_000));
    assert_eq!(split.allowance(StepId(4)), Some(0));
    assert_eq!(split.allowance(StepId(9)), None);
    assert_eq!(split.total_seconds, 3_600);
}

#[test]
fn remainders_go_to_the_largest_fractions_then_the_earliest_steps() {
    // 10 s over three equal steps: 3⅓ each; the one second left goes to the first.
    let split = step_allowances(&chain(4), 10).unwrap();
    let got: Vec<i64> = (1..=4)
        .map(|id| split.allowance(StepId(id)).unwrap())
        .collect();
    assert_eq!(got, vec![4, 3, 3, 0]);

    // 10 s over weights 1 and 2: 3⅓ and 6⅔; the second has the larger fraction.
    let mut graph = chain(3);
    graph.steps[1].weight = 2;
    let split = step_allowances(&graph, 10).unwrap();
    assert_eq!(split.allowance(StepId(1)), Some(3));
    assert_eq!(split.allowance(StepId(2)), Some(7));

    // Nothing to split.
    let split = step_allowances(&graph, 0).unwrap();
    assert!(split.allowances.values().all(|&s| s == 0));
}

#[test]
fn a_loop_counts_all_its_steps_once() {
    let graph = WorkflowGraph {
        steps: vec![
            start(1, "Submit"),
            weighted(step(2, "Review"), 3),
            weighted(step(3, "Rework"), 2),
            end(4, "Approved"),
        ],
        transitions: vec![
            t(1, 1, 2, "Submit"),
            t(2, 2, 3, "Ask for changes"),
            t(3, 3, 2, "Resubmit"),
            t(4, 2, 4, "Approve"),
        ],
    };
    assert_eq!(problems(&graph), vec![]);
    let split = step_allowances(&graph, 600).unwrap();
    assert_eq!(split.route_weight, 6);
    assert_eq!(
        split.route,
        vec![StepId(1), StepId(2), StepId(3), StepId(4)]
    );
    assert_eq!(split.allowance(StepId(2)), Some(300));
    assert_eq!(split.allowance(StepId(3)), Some(200));
}

#[test]
fn ties_between_routes_go_to_the_earlier_step() {
    let graph = WorkflowGraph {
        steps: vec![
            start(1, "A"),
            weighted(step(2, "B"), 2),
            weighted(step(3, "C"), 2),
            end(4, "End"),
        ],
        transitions: vec![
            t(1, 1, 3, "To C"),
            t(2, 1, 2, "To B"),
            t(3, 2, 4, "End"),
            t(4, 3, 4, "End"),
        ],
    };
    let split = step_allowances(&graph, 30).unwrap();
    assert_eq!(split.route, vec![StepId(1), StepId(2), StepId(4)]);
    assert_eq!(split.allowance(StepId(3)), Some(20));
}

#[test]
fn what_cannot_be_split() {
    let mut graph = helpdesk();
    graph.steps[1].weight = 0;
    assert_eq!(
        step_allowances(&graph, 3_600),
        Err(SlaError::InvalidWeight {
            step: StepId(2),
            weight: 0
        })
    );
    // The weight of an end step does not matter: it gets no time.
    let mut graph = helpdesk();
    graph.steps[3].weight = 0;
    assert!(step_allowances(&graph, 3_600).is_ok());

    assert_eq!(
        step_allowances(&helpdesk(), -1),
        Err(SlaError::InvalidTotal { seconds: -1 })
    );
    let mut graph = helpdesk();
    graph.steps[0].is_start = false;
    assert_eq!(step_allowances(&graph, 60), Err(SlaError::NoStartStep));
    graph.steps[0].is_start = true;
    graph.steps[1].is_start = true;
    assert_eq!(
        step_allowances(&graph, 60),
        Err(SlaError::SeveralStartSteps)
    );
    let mut graph = helpdesk();
    graph.steps[0].is_end = true;
    assert_eq!(step_allowances(&graph, 60), Err(SlaError::StartStepIsEnd));
    let mut graph = helpdesk();
    graph.transitions.truncate(2);
    assert_eq!(step_allowances(&graph, 60), Err(SlaError::NoRoute));

    let mut policy = sla();
    policy.high = None;
    assert_eq!(
        allowances_for(&helpdesk(), &policy, Priority::High),
        Err(SlaError::MissingSla {
            priority: Priority::High
        })
    );
    assert_eq!(
        allowances_for(&helpdesk(), &policy, Priority::Urgent).map(|s| s.total_seconds),
        Ok(3_600)
    );
}

#[test]
fn targets_and_clock_states() {
    let started = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let target = target_at(started, 100);
    assert_eq!(target, Utc.with_ymd_and_hms(2026, 3, 2, 9, 1, 40).unwrap());
    let at = |seconds: i64| SlaState::at(started, target, target_at(started, seconds));
    assert_eq!(at(0), SlaState::OnTrack);
    assert_eq!(at(74), SlaState::OnTrack);
    assert_eq!(at(75), SlaState::Warning);
    assert_eq!(at(99), SlaState::Warning);
    assert_eq!(at(100), SlaState::Breached);
    assert_eq!(at(1_000), SlaState::Breached);
    assert_eq!(
        SlaState::warning_at(started, target),
        target_at(started, 75)
    );

    // An allowance of nothing: no warning time, breached from the start.
    assert_eq!(SlaState::at(started, started, started), SlaState::Breached);
    assert_eq!(
        SlaState::at(started, started, target_at(started, -1)),
        SlaState::OnTrack
    );

    // Far past what a date holds: the last date, not a panic.
    assert_eq!(
        target_at(started, i64::MAX),
        chrono::DateTime::<Utc>::MAX_UTC
    );
    assert_eq!(
        target_at(started, i64::MIN),
        chrono::DateTime::<Utc>::MIN_UTC
    );

    assert_eq!(
        serde_json::to_value(SlaState::OnTrack).unwrap(),
        serde_json::json!("on_track")
    );
}

#[test]
fn sla_policies_read_and_write_by_priority() {
    let mut policy = SlaPolicy::default();
    for (n, &priority) in Priority::ALL.iter().enumerate() {
        assert_eq!(policy.get(priority), None);
        policy.set(priority, Some(n as i64 + 1));
    }
    assert_eq!(
        policy,
        SlaPolicy {
            low: Some(1),
            medium: Some(2),
            high: Some(3),
            urgent: Some(4)
        }
    );
    assert_eq!(
        serde_json::to_value(policy).unwrap(),
        serde_json::json!({"low": 1, "medium": 2, "high": 3, "urgent": 4})
    );
}

// ---------------------------------------------------------------------------------------------
// The simulator.

fn actions(labels: &[&str]) -> Vec<String> {
    labels.iter().map(|s| s.to_string()).collect()
}

#[test]
fn the_happy_path_is_the_shortest_and_completes() {
    let graph = helpdesk();
    let path: Vec<TransitionId> = happy_path(&graph).unwrap().iter().map(|t| t.id).collect();
    assert_eq!(path, vec![TransitionId(10), TransitionId(12)]);
    let labels = happy_path_actions(&graph).unwrap();
    assert_eq!(labels, actions(&["Resolve remotely", "Done"]));

    let result = simulate(&graph, &sla(), Priority::Urgent, &labels);
    assert!(result.is_completed());
    assert_eq!(
        result.outcome,
        SimulationOutcome::Completed { step: StepId(4) }
    );
    assert_eq!(result.sla_seconds, Some(3_600));
    assert_eq!(result.sla_error, None);
    let steps: Vec<i64> = result.visits.iter().map(|v| v.step.0).collect();
    assert_eq!(steps, vec![1, 2, 4]);
    assert_eq!(
        result.visits[0],
        SimulatedVisit {
            step: StepId(1),
            step_name: "Triage".into(),
            allowance_seconds: Some(600),
            cumulative_seconds: Some(600),
            action: Some("Resolve remotely".into()),
            transition: Some(TransitionId(10)),
        }
    );
    assert_eq!(result.visits[1].cumulative_seconds, Some(1_800));
    assert_eq!(result.visits[2].action, None);
    assert_eq!(result.within_sla(), Some(true));
}

#[test]
fn a_simulation_that_runs_out_of_actions_stops() {
    let result = simulate(&helpdesk(), &sla(), Priority::Low, &actions(&["Dispatch"]));
    assert_eq!(
        result.outcome,
        SimulationOutcome::Stopped { step: StepId(3) }
    );
    assert_eq!(result.visits.len(), 2);
    // 86,400 s × 5/6.
    assert_eq!(result.visits[1].allowance_seconds, Some(72_000));

    let result = simulate(&helpdesk(), &sla(), Priority::Low, &[]);
    assert_eq!(
        result.outcome,
        SimulationOutcome::Stopped { step: StepId(1) }
    );
}

#[test]
fn a_simulation_fails_at_an_action_the_step_does_not_offer() {
    let result = simulate(
        &helpdesk(),
        &sla(),
        Priority::High,
        &actions(&["Dispatch", "Approve", "Done"]),
    );
    assert_eq!(
        result.outcome,
        SimulationOutcome::Failed {
            action_index: 1,
            step: StepId(3),
            action: "Approve".into(),
            error: TransitionError::ActionNotAvailable {
                step: StepId(3),
                action: "Approve".into()
            },
        }
    );
    assert_eq!(result.visits.len(), 2);

    // Past the end.
    let result = simulate(
        &helpdesk(),
        &sla(),
        Priority::High,
        &actions(&["Dispatch", "Done", "Reopen"]),
    );
    assert_eq!(
        result.outcome,
        SimulationOutcome::Failed {
            action_index: 2,
            step: StepId(4),
            action: "Reopen".into(),
            error: TransitionError::EndStep { step: StepId(4) },
        }
    );
}

#[test]
fn a_simulation_without_a_start_or_an_sla() {
    let mut graph = helpdesk();
    graph.steps[0].is_start = false;
    let result = simulate(&graph, &sla(), Priority::High, &[]);
    assert_eq!(
        result.outcome,
        SimulationOutcome::CannotStart {
            error: StartError::NoStartStep
        }
    );
    assert!(result.visits.is_empty());

    // Without an SLA the ticket still walks, without allowances.
    let mut policy = sla();
    policy.high = None;
    let result = simulate(
        &helpdesk(),
        &policy,
        Priority::High,
        &actions(&["Dispatch", "Done"]),
    );
    assert!(result.is_completed());
    assert_eq!(
        result.sla_error,
        Some(SlaError::MissingSla {
            priority: Priority::High
        })
    );
    assert!(result.visits.iter().all(|v| v.allowance_seconds.is_none()));
    assert_eq!(result.within_sla(), None);
}

#[test]
fn going_round_a_loop_counts_each_visit() {
    let mut graph = helpdesk();
    graph.transitions.push(t(20, 3, 1, "Back to triage"));
    let result = simulate(
        &graph,
        &sla(),
        Priority::Urgent,
        &actions(&["Dispatch", "Back to triage", "Dispatch", "Done"]),
    );
    assert!(result.is_completed());
    // Triage ⇄ Dispatch is now a loop, weighing 6, and Fix remotely (2) follows it on the
    // heaviest route: 8 shares of 450 s.
    let split = step_allowances(&graph, 3_600).unwrap();
    assert_eq!(
        split.route,
        vec![StepId(1), StepId(3), StepId(2), StepId(4)]
    );
    assert_eq!(split.allowance(StepId(1)), Some(450));
    assert_eq!(split.allowance(StepId(3)), Some(2_250));
    assert_eq!(split.allowance(StepId(2)), Some(900));
    let last = result.visits.last().unwrap();
    assert_eq!(last.cumulative_seconds, Some(2 * (450 + 2_250)));
    assert_eq!(result.within_sla(), Some(false));
}

#[test]
fn happy_paths_of_odd_graphs() {
    let mut graph = helpdesk();
    graph.transitions.truncate(2);
    assert_eq!(happy_path(&graph), None);
    let mut graph = helpdesk();
    graph.steps[0].is_end = true;
    assert_eq!(happy_path(&graph), Some(vec![]));
    graph.steps[0].is_start = false;
    assert_eq!(happy_path(&graph), None);
    assert_eq!(happy_path(&WorkflowGraph::default()), None);
}

// ---------------------------------------------------------------------------------------------
// Diff between versions.

#[test]
fn what_changed_between_versions() {
    let old = helpdesk();
    assert!(diff(&old, &old).is_empty());

    let mut new = helpdesk();
    new.steps[1].name = "Fix it remotely".into();
    new.steps[1].weight = 3;
    new.steps[2].position = Position { x: 10.0, y: 20.0 };
    new.steps.remove(3);
    new.steps.push(end(5, "Resolved"));
    new.transitions[2].to = StepId(5);
    new.transitions[3].to = StepId(5);
    new.transitions[3].action = "Finished".into();
    new.transitions.remove(0);
    new.transitions.push(t(14, 1, 2, "Remote fix"));

    let change = diff(&old, &new);
    assert_eq!(
        change,
        GraphDiff {
            steps_added: vec![StepId(5)],
            steps_removed: vec![StepId(4)],
            steps_changed: vec![
                StepChange {
                    step: StepId(2),
                    fields: vec![StepField::Name, StepField::Weight],
                },
                StepChange {
                    step: StepId(3),
                    fields: vec![StepField::Position],
                },
            ],
            transitions_added: vec![TransitionId(14)],
            transitions_removed: vec![TransitionId(10)],
            transitions_changed: vec![
                TransitionChange {
                    transition: TransitionId(12),
                    fields: vec![TransitionField::To],
                },
                TransitionChange {
                    transition: TransitionId(13),
                    fields: vec![TransitionField::To, TransitionField::Action],
                },
            ],
        }
    );
    assert!(change.changes_behaviour());

    let mut moved = helpdesk();
    moved.steps[0].position.x += 5.0;
    let change = diff(&old, &moved);
    assert!(!change.is_empty());
    assert!(!change.changes_behaviour());
}

#[test]
fn graphs_and_enums_round_trip_through_json() {
    let graph = helpdesk();
    let json = serde_json::to_string(&graph).unwrap();
    assert_eq!(serde_json::from_str::<WorkflowGraph>(&json).unwrap(), graph);
    // Ids are plain numbers; fields the editor leaves out take their defaults.
    let sparse: WorkflowGraph = serde_json::from_value(serde_json::json!({
        "steps": [{"id": -1, "name": "New step"}],
        "transitions": [{"id": -2, "from": -1, "to": -1, "action": "Loop"}]
    }))
    .unwrap();
    assert_eq!(sparse.steps[0], Step::new(-1, "New step"));
    assert_eq!(sparse.transitions[0], Transition::new(-2, -1, -1, "Loop"));

    assert_eq!("Deployed".parse(), Ok(WorkflowStatus::Deployed));
    assert_eq!(WorkflowStatus::Paused.to_string(), "paused");
    assert_eq!(" budget ".parse(), Ok(EndLogic::Budget));
    assert_eq!(EndLogic::Asset.label(), "Asset request");
    assert!("sometimes".parse::<EndLogic>().is_err());
    assert_eq!(
        serde_json::to_value(EndLogic::Notification).unwrap(),
        serde_json::json!("notification")
    );
}
