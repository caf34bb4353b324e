//! Looking a graph up quickly and walking it: the index every rule builds once, and the
//! reachability the editor shows.

use std::collections::{BTreeSet, HashMap, VecDeque};

use super::model::{StepId, WorkflowGraph};

/// A graph with its ids resolved, built in one pass so that no rule loops over the transitions
/// once per step: validation, the SLA split and the simulator are linear in the size of the
/// graph.
///
/// Step `i` is "canonical" when it is the first step carrying its id; later steps with the same
/// id are shadowed (validation reports them) and take no part in the walks.
pub(crate) struct Index<'g> {
    pub graph: &'g WorkflowGraph,
    /// Step id → position of its first step in `graph.steps`.
    pub step_at: HashMap<StepId, usize>,
    /// Per step position: positions in `graph.transitions` of the transitions leaving that step,
    /// in input order (empty for shadowed steps). Includes transitions that are not usable.
    pub out: Vec<Vec<usize>>,
    /// Per transition position: the position of its target step, if that step exists.
    pub target: Vec<Option<usize>>,
    /// Per step position: the positions of the steps with a usable transition into it (one
    /// entry per transition, so possibly repeated).
    pub into: Vec<Vec<usize>>,
}

impl<'g> Index<'g> {
    pub fn new(graph: &'g WorkflowGraph) -> Self {
        let mut step_at = HashMap::with_capacity(graph.steps.len());
        for (i, step) in graph.steps.iter().enumerate() {
            step_at.entry(step.id).or_insert(i);
        }
        let mut out = vec![Vec::new(); graph.steps.len()];
        let mut into = vec![Vec::new(); graph.steps.len()];
        let mut target = Vec::with_capacity(graph.transitions.len());
        for (t, transition) in graph.transitions.iter().enumerate() {
            let from = step_at.get(&transition.from).copied();
            let to = step_at.get(&transition.to).copied();
            target.push(to);
            if let Some(from) = from {
                out[from].push(t);
                if let Some(to) = to
                    && !graph.steps[from].is_end
                {
                    into[to].push(from);
                }
            }
        }
        Self {
            graph,
            step_at,
            out,
            target,
            into,
        }
    }

    pub fn step(&self, id: StepId) -> Option<usize> {
        self.step_at.get(&id).copied()
    }

    pub fn is_canonical(&self, i: usize) -> bool {
        self.step_at.get(&self.graph.steps[i].id) == Some(&i)
    }

    /// The positions of the canonical steps for which `pick` holds, in input order.
    pub fn steps_where(&self, pick: impl Fn(&super::Step) -> bool) -> Vec<usize> {
        (0..self.graph.steps.len())
            .filter(|&i| self.is_canonical(i) && pick(&self.graph.steps[i]))
            .collect()
    }

    /// The target of transition `t` if a ticket can take it: it leaves a step that is not an end
    /// step (a ticket at an end step is done) and arrives at a step that exists.
    pub fn usable(&self, t: usize) -> Option<usize> {
        let from = self.step(self.graph.transitions[t].from)?;
        if self.graph.steps[from].is_end {
            return None;
        }
        self.target[t]
    }

    /// The steps a ticket can take from step `i`, as (transition, target) positions in input
    /// order.
    pub fn moves(&self, i: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.out[i]
            .iter()
            .filter_map(move |&t| self.usable(t).map(|to| (t, to)))
    }

    /// Which steps a ticket can get to from `sources` by usable transitions (sources included).
    pub fn forward(&self, sources: &[usize]) -> Vec<bool> {
        self.walk(sources, |i, next| {
            next.extend(self.moves(i).map(|(_, to)| to))
        })
    }

    /// From which steps a ticket can get to one of `sinks` (sinks included).
    pub fn backward(&self, sinks: &[usize]) -> Vec<bool> {
        self.walk(sinks, |i, next| next.extend(self.into[i].iter().copied()))
    }

    fn walk(&self, sources: &[usize], edges: impl Fn(usize, &mut Vec<usize>)) -> Vec<bool> {
        let mut seen = vec![false; self.graph.steps.len()];
        let mut queue: VecDeque<usize> = VecDeque::new();
        for &s in sources {
            if !seen[s] {
                seen[s] = true;
                queue.push_back(s);
            }
        }
        let mut next = Vec::new();
        while let Some(i) = queue.pop_front() {
            next.clear();
            edges(i, &mut next);
            for &j in &next {
                if !seen[j] {
                    seen[j] = true;
                    queue.push_back(j);
                }
            }
        }
        seen
    }

    fn ids(&self, seen: &[bool]) -> BTreeSet<StepId> {
        seen.iter()
            .enumerate()
            .filter(|&(i, &s)| s && self.is_canonical(i))
            .map(|(i, _)| self.graph.steps[i].id)
            .collect()
    }
}

/// The steps a ticket can reach from a start step, the start step included. With several start
/// steps (an invalid graph) each counts as a start, so the editor does not grey out half the
/// canvas while someone is fixing that; with none the set is empty.
///
/// A transition leaving an end step is not followed: a ticket at an end step is done, so the
/// steps beyond it are unreachable in fact, and saying so is what helps fix the graph.
pub fn reachable_from_start(graph: &WorkflowGraph) -> BTreeSet<StepId> {
    let index = Index::new(graph);
    let starts = index.steps_where(|step| step.is_start);
    index.ids(&index.forward(&starts))
}

/// The steps from which a ticket can reach an end step, end steps included.
pub fn can_reach_end(graph: &WorkflowGraph) -> BTreeSet<StepId> {
    let index = Index::new(graph);
    let ends = index.steps_where(|step| step.is_end);
    index.ids(&index.backward(&ends))
}
