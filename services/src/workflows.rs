//! Designing workflows: the draft (settings, steps, transitions), deployment into frozen
//! versions, pausing and resuming. The engine that runs tickets through them is [`crate::tasks`].
//!
//! The draft graph has one source of truth, the `workflow_steps` and `workflow_transitions`
//! rows; the editor's whole-graph save and the one-at-a-time `/steps/` and `/transitions/`
//! calls all go through [`write_graph`], which checks the revision the client saw.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::AppError;
use domain::tickets::NamedRef;
use domain::workflow::{
    self, DraftSave, EndLogic, GraphSave, MAX_ACTION_LABEL, MAX_INSTRUCTIONS, MAX_STEP_NAME,
    MAX_STEPS, MAX_TRANSITIONS, MAX_WORKFLOW_DESCRIPTION, MAX_WORKFLOW_NAME, MatchOverlap,
    MatchSet, Position, ProblemReport, SlaPolicy, Step, StepId, Transition, Workflow,
    WorkflowGraph, WorkflowInput, WorkflowStatus, WorkflowSummary, WorkflowVersion,
};

use crate::audit::{self, Actor};
use crate::auth::policy::{Permission, Principal, authorize};
use crate::db::tickets as ticket_rows;
use crate::db::workflows::{self as rows, StepFields, WorkflowFields, WorkflowRow};
use crate::db::{Conn, Db};
use crate::error::Result;

fn named(id: Option<i64>, name: Option<String>) -> Option<NamedRef> {
    Some(NamedRef {
        id: id?,
        name: name?,
    })
}

fn status_of(text: &str) -> WorkflowStatus {
    text.parse().unwrap_or(WorkflowStatus::Draft)
}

fn end_logic_of(text: &str) -> EndLogic {
    text.parse().unwrap_or(EndLogic::None)
}

/// The draft graph as stored.
async fn load_graph(conn: &mut Conn<'_>, workflow_id: i64) -> Result<WorkflowGraph> {
    let steps = rows::steps(conn, workflow_id)
        .await?
        .into_iter()
        .map(|s| Step {
            id: StepId(s.id),
            name: s.name,
            instructions: s.instructions,
            role: s.role_id,
            escalation_role: s.escalation_role_id,
            weight: s.weight,
            is_start: s.is_start,
            is_end: s.is_end,
            position: Position {
                x: s.position_x,
                y: s.position_y,
            },
        })
        .collect();
    let transitions = rows::transitions(conn, workflow_id)
        .await?
        .into_iter()
        .map(|t| Transition::new(t.id, t.from_step_id, t.to_step_id, t.action))
        .collect();
    Ok(WorkflowGraph { steps, transitions })
}

async fn known_roles(conn: &mut Conn<'_>) -> Result<HashSet<i64>> {
    Ok(rows::role_ids(conn).await?.into_iter().collect())
}

async fn find_row(conn: &mut Conn<'_>, id: i64) -> Result<WorkflowRow> {
    rows::find(conn, id)
        .await?
        .ok_or_else(|| AppError::not_found("Workflow").into())
}

/// The workflow with its draft, its problems and whether the draft differs from what runs.
async fn view(conn: &mut Conn<'_>, row: WorkflowRow) -> Result<Workflow> {
    let graph = load_graph(conn, row.id).await?;
    let roles = known_roles(conn).await?;
    let sla = row.sla.0;
    let problems = workflow::validate(&graph, &sla, Some(&roles))
        .iter()
        .map(ProblemReport::from)
        .collect();
    let has_undeployed_changes = match row.deployed_version_id {
        None => false,
        Some(version_id) => match rows::find_version(conn, version_id).await? {
            Some(v) => {
                !workflow::diff(&v.graph.0, &graph).is_empty()
                    || v.sla.0 != sla
                    || v.end_logic != row.end_logic
                    || v.category_id != row.category_id
                    || v.sub_category_id != row.sub_category_id
                    || v.department_id != row.department_id
            }
            None => true,
        },
    };
    Ok(Workflow {
        id: row.id,
        name: row.name,
        description: row.description,
        category: named(row.category_id, row.category_name),
        sub_category: named(row.sub_category_id, row.sub_category_name),
        department: named(row.department_id, row.department_name),
        status: status_of(&row.status),
        sla,
        end_logic: end_logic_of(&row.end_logic),
        revision: row.revision,
        graph,
        deployed_version: row.deployed_version,
        has_undeployed_changes,
        problems,
        open_tasks: row.open_tasks,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub async fn list(db: &Db, principal: &Principal) -> Result<Vec<WorkflowSummary>> {
    authorize(principal, Permission::ViewWorkflows)?;
    let mut pooled = db.acquire().await?;
    Ok(rows::list(&mut pooled.conn())
        .await?
        .into_iter()
        .map(|w| WorkflowSummary {
            id: w.id,
            name: w.name,
            description: w.description,
            status: status_of(&w.status),
            category: w.category_name,
            sub_category: w.sub_category_name,
            department: w.department_name,
            deployed_version: w.deployed_version,
            step_count: w.step_count,
            open_tasks: w.open_tasks,
            updated_at: w.updated_at,
        })
        .collect())
}

pub async fn get(db: &Db, principal: &Principal, id: i64) -> Result<Workflow> {
    authorize(principal, Permission::ViewWorkflows)?;
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    let row = find_row(&mut conn, id).await?;
    view(&mut conn, row).await
}

/// The settings a workflow will have after `input`, checked.
struct Settings {
    name: String,
    description: String,
    category_id: Option<i64>,
    sub_category_id: Option<i64>,
    department_id: Option<i64>,
    sla: SlaPolicy,
    end_logic: EndLogic,
}

impl Settings {
    fn fields(&self) -> WorkflowFields<'_> {
        WorkflowFields {
            name: &self.name,
            description: &self.description,
            category_id: self.category_id,
            sub_category_id: self.sub_category_id,
            department_id: self.department_id,
            sla: &self.sla,
            end_logic: self.end_logic.as_str(),
        }
    }

    fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "description": self.description,
            "category_id": self.category_id,
            "sub_category_id": self.sub_category_id,
            "department_id": self.department_id,
            "sla": self.sla,
            "end_logic": self.end_logic,
        })
    }
}

async fn settings(
    conn: &mut Conn<'_>,
    id: i64,
    current: Option<&WorkflowRow>,
    input: WorkflowInput,
) -> Result<Settings> {
    let name = match (input.name, current) {
        (Some(name), _) => name.trim().to_owned(),
        (None, Some(row)) => row.name.clone(),
        (None, None) => return Err(AppError::invalid_field("name", "is required").into()),
    };
    if name.is_empty() || name.chars().count() > MAX_WORKFLOW_NAME {
        return Err(AppError::invalid_field(
            "name",
            format!("must be 1 to {MAX_WORKFLOW_NAME} characters"),
        )
        .into());
    }
    if name.chars().any(char::is_control) {
        return Err(AppError::invalid_field("name", "must not contain control characters").into());
    }
    if rows::id_named(conn, &name, id).await?.is_some() {
        return Err(
            AppError::conflict(format!("A workflow named '{name}' already exists.")).into(),
        );
    }
    let description = input
        .description
        .map(|d| d.trim().to_owned())
        .or_else(|| current.map(|r| r.description.clone()))
        .unwrap_or_default();
    if description.chars().count() > MAX_WORKFLOW_DESCRIPTION {
        return Err(AppError::invalid_field(
            "description",
            format!("must be at most {MAX_WORKFLOW_DESCRIPTION} characters"),
        )
        .into());
    }
    let pick = |given: Option<Option<i64>>, stored: Option<i64>| match given {
        Some(value) => value,
        None => stored,
    };
    let category_id = pick(input.category_id, current.and_then(|r| r.category_id));
    let sub_category_id = pick(
        input.sub_category_id,
        current.and_then(|r| r.sub_category_id),
    );
    let department_id = pick(input.department_id, current.and_then(|r| r.department_id));
    if let Some(id) = category_id {
        match ticket_rows::category_brief(conn, id).await? {
            Some((None, _)) => {}
            Some((Some(_), _)) => {
                return Err(AppError::invalid_field(
                    "category_id",
                    "is a sub-category; choose its category",
                )
                .into());
            }
            None => return Err(AppError::invalid_field("category_id", "does not exist").into()),
        }
    }
    if let Some(id) = sub_category_id {
        match ticket_rows::category_brief(conn, id).await? {
            Some((Some(parent), _)) if Some(parent) == category_id => {}
            Some((Some(_), _)) => {
                return Err(AppError::invalid_field(
                    "sub_category_id",
                    "does not belong to the chosen category",
                )
                .into());
            }
            Some((None, _)) => {
                return Err(
                    AppError::invalid_field("sub_category_id", "is not a sub-category").into(),
                );
            }
            None => {
                return Err(AppError::invalid_field("sub_category_id", "does not exist").into());
            }
        }
    }
    if let Some(id) = department_id
        && ticket_rows::department_active(conn, id).await?.is_none()
    {
        return Err(AppError::invalid_field("department_id", "does not exist").into());
    }
    let sla = input
        .sla
        .or_else(|| current.map(|r| r.sla.0))
        .unwrap_or_default();
    for (priority, seconds) in [
        ("low", sla.low),
        ("medium", sla.medium),
        ("high", sla.high),
        ("urgent", sla.urgent),
    ] {
        if let Some(seconds) = seconds
            && !SlaPolicy::is_valid_seconds(seconds)
        {
            return Err(AppError::invalid_field(
                &format!("sla.{priority}"),
                format!(
                    "must be from 1 to {} seconds",
                    domain::workflow::MAX_SLA_SECONDS
                ),
            )
            .into());
        }
    }
    let end_logic = input
        .end_logic
        .or_else(|| current.map(|r| end_logic_of(&r.end_logic)))
        .unwrap_or(EndLogic::None);
    Ok(Settings {
        name,
        description,
        category_id,
        sub_category_id,
        department_id,
        sla,
        end_logic,
    })
}

pub async fn create(db: &Db, principal: &Principal, input: WorkflowInput) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let settings = settings(&mut tx.conn(), 0, None, input).await?;
    let user_id = principal.user().map(|u| u.user.id);
    let id = rows::insert(&mut tx.conn(), &settings.fields(), user_id, now).await?;
    audit::record(
        &mut tx.conn(),
        Actor::Principal(principal),
        "workflow.created",
        "workflow",
        Some(id),
        None,
        Some(settings.snapshot()),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, principal, id).await
}

/// Changes the draft's settings. A deployed workflow keeps running its version meanwhile.
pub async fn update(
    db: &Db,
    principal: &Principal,
    id: i64,
    input: WorkflowInput,
) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let current = find_row(&mut tx.conn(), id).await?;
    let before = settings(&mut tx.conn(), id, Some(&current), WorkflowInput::default())
        .await?
        .snapshot();
    let settings = settings(&mut tx.conn(), id, Some(&current), input).await?;
    rows::update(&mut tx.conn(), id, &settings.fields(), now).await?;
    audit::record(
        &mut tx.conn(),
        Actor::Principal(principal),
        "workflow.updated",
        "workflow",
        Some(id),
        Some(before),
        Some(settings.snapshot()),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, principal, id).await
}

/// Deletes a workflow that never ran; one that did is paused instead (its versions hold the
/// history of its tickets).
pub async fn delete(db: &Db, principal: &Principal, id: i64) -> Result<()> {
    authorize(principal, Permission::ManageWorkflows)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let row = find_row(&mut tx.conn(), id).await?;
    if rows::has_versions(&mut tx.conn(), id).await? {
        return Err(AppError::conflict(
            "This workflow has been deployed, so tickets may refer to it: pause it instead.",
        )
        .into());
    }
    rows::delete(&mut tx.conn(), id).await?;
    audit::record(
        &mut tx.conn(),
        Actor::Principal(principal),
        "workflow.deleted",
        "workflow",
        Some(id),
        Some(serde_json::json!({ "name": row.name })),
        None,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ------------------------------------------------------------------ the draft graph

/// Checks what storage needs of a graph (validation proper reports the rest as problems):
/// the limits, the lengths of texts, unique ids, transitions between steps of the graph,
/// roles that exist.
fn check_graph(graph: &WorkflowGraph, roles: &HashSet<i64>) -> Result<()> {
    if graph.steps.len() > MAX_STEPS {
        return Err(AppError::invalid_field("steps", format!("at most {MAX_STEPS} steps")).into());
    }
    if graph.transitions.len() > MAX_TRANSITIONS {
        return Err(AppError::invalid_field(
            "transitions",
            format!("at most {MAX_TRANSITIONS} transitions"),
        )
        .into());
    }
    let mut step_ids = HashSet::new();
    for (i, step) in graph.steps.iter().enumerate() {
        let field = |name: &str| format!("steps[{i}].{name}");
        if !step_ids.insert(step.id) {
            return Err(AppError::invalid_field(&field("id"), "repeats another step's id").into());
        }
        if step.name.chars().count() > MAX_STEP_NAME {
            return Err(AppError::invalid_field(
                &field("name"),
                format!("must be at most {MAX_STEP_NAME} characters"),
            )
            .into());
        }
        if step.instructions.chars().count() > MAX_INSTRUCTIONS {
            return Err(AppError::invalid_field(
                &field("instructions"),
                format!("must be at most {MAX_INSTRUCTIONS} characters"),
            )
            .into());
        }
        for (name, role) in [
            ("role", step.role),
            ("escalation_role", step.escalation_role),
        ] {
            if let Some(role) = role
                && !roles.contains(&role)
            {
                return Err(AppError::invalid_field(&field(name), "is not a workflow role").into());
            }
        }
        if !step.position.x.is_finite() || !step.position.y.is_finite() {
            return Err(AppError::invalid_field(&field("position"), "must be finite").into());
        }
    }
    let mut transition_ids = HashSet::new();
    for (i, t) in graph.transitions.iter().enumerate() {
        let field = |name: &str| format!("transitions[{i}].{name}");
        if !transition_ids.insert(t.id) {
            return Err(
                AppError::invalid_field(&field("id"), "repeats another transition's id").into(),
            );
        }
        if !step_ids.contains(&t.from) {
            return Err(
                AppError::invalid_field(&field("from"), "is not a step of the graph").into(),
            );
        }
        if !step_ids.contains(&t.to) {
            return Err(AppError::invalid_field(&field("to"), "is not a step of the graph").into());
        }
        if t.action.chars().count() > MAX_ACTION_LABEL {
            return Err(AppError::invalid_field(
                &field("action"),
                format!("must be at most {MAX_ACTION_LABEL} characters"),
            )
            .into());
        }
    }
    Ok(())
}

fn step_fields(sort_order: usize, step: &Step) -> StepFields<'_> {
    StepFields {
        sort_order: i64::try_from(sort_order).unwrap_or(i64::MAX),
        name: step.name.trim(),
        instructions: &step.instructions,
        role_id: step.role,
        escalation_role_id: step.escalation_role,
        weight: step.weight,
        is_start: step.is_start,
        is_end: step.is_end,
        position_x: step.position.x,
        position_y: step.position.y,
    }
}

/// Replaces the draft graph of `workflow_id` with `graph` if the draft is still at
/// `revision`: updates what kept its id, inserts what is new (ids the draft does not hold),
/// deletes what is gone.
async fn write_graph(
    conn: &mut Conn<'_>,
    workflow_id: i64,
    revision: i64,
    graph: &WorkflowGraph,
    now: DateTime<Utc>,
) -> Result<()> {
    let roles = known_roles(conn).await?;
    check_graph(graph, &roles)?;
    if !rows::bump_revision(conn, workflow_id, revision, now).await? {
        return Err(AppError::conflict(
            "The workflow was changed meanwhile (someone else saved it). Reload it and try again.",
        )
        .into());
    }
    let stored_steps: HashSet<i64> = rows::steps(conn, workflow_id)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    let mut step_ids: HashMap<StepId, i64> = HashMap::new();
    for (order, step) in graph.steps.iter().enumerate() {
        let fields = step_fields(order, step);
        let id = if stored_steps.contains(&step.id.0) {
            rows::update_step(conn, step.id.0, &fields).await?;
            step.id.0
        } else {
            rows::insert_step(conn, workflow_id, &fields).await?
        };
        step_ids.insert(step.id, id);
    }
    let stored_transitions: HashSet<i64> = rows::transitions(conn, workflow_id)
        .await?
        .into_iter()
        .map(|t| t.id)
        .collect();
    let kept: HashSet<i64> = graph.transitions.iter().map(|t| t.id.0).collect();
    for gone in stored_transitions.difference(&kept) {
        rows::delete_transition(conn, *gone).await?;
    }
    for (order, t) in graph.transitions.iter().enumerate() {
        let order = i64::try_from(order).unwrap_or(i64::MAX);
        let (Some(&from), Some(&to)) = (step_ids.get(&t.from), step_ids.get(&t.to)) else {
            continue; // check_graph refused this already
        };
        let action = t.action.trim();
        let updated = stored_transitions.contains(&t.id.0)
            && rows::update_transition(conn, t.id.0, order, from, to, action).await? == 1;
        if !updated {
            rows::insert_transition(conn, workflow_id, order, from, to, action).await?;
        }
    }
    let kept_steps: HashSet<i64> = step_ids.values().copied().collect();
    for gone in stored_steps.difference(&kept_steps) {
        rows::delete_step(conn, *gone).await?;
    }
    Ok(())
}

/// Saves the whole draft graph (the editor's save).
pub async fn save_graph(
    db: &Db,
    principal: &Principal,
    id: i64,
    save: GraphSave,
) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    find_row(&mut tx.conn(), id).await?;
    let before = load_graph(&mut tx.conn(), id).await?;
    write_graph(&mut tx.conn(), id, save.revision, &save.graph, now).await?;
    let after = load_graph(&mut tx.conn(), id).await?;
    audit::record(
        &mut tx.conn(),
        Actor::Principal(principal),
        "workflow.graph_saved",
        "workflow",
        Some(id),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&after).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, principal, id).await
}

/// The visual editor's save: the draft's settings and graph in one transaction, if the draft
/// is still at `save.revision`. The answer carries the new revision (and the saved ids of the
/// editor's new steps and transitions).
pub async fn save_draft(
    db: &Db,
    principal: &Principal,
    id: i64,
    save: DraftSave,
) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let current = find_row(&mut tx.conn(), id).await?;
    let before_settings = settings(&mut tx.conn(), id, Some(&current), WorkflowInput::default())
        .await?
        .snapshot();
    let settings = settings(&mut tx.conn(), id, Some(&current), save.settings).await?;
    let before = load_graph(&mut tx.conn(), id).await?;
    // The graph first: it checks the revision, then the settings bump it once more.
    write_graph(&mut tx.conn(), id, save.revision, &save.graph, now).await?;
    rows::update(&mut tx.conn(), id, &settings.fields(), now).await?;
    let after = load_graph(&mut tx.conn(), id).await?;
    audit::record(
        &mut tx.conn(),
        Actor::Principal(principal),
        "workflow.draft_saved",
        "workflow",
        Some(id),
        Some(serde_json::json!({ "settings": before_settings, "graph": before })),
        Some(serde_json::json!({ "settings": settings.snapshot(), "graph": after })),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, principal, id).await
}

/// Changes one part of a draft graph: loads it, lets `change` edit it, saves it at the
/// revision it was loaded at. Used by the one-at-a-time step and transition calls.
async fn edit_graph(
    db: &Db,
    principal: &Principal,
    workflow_id: i64,
    action: &str,
    change: impl FnOnce(&mut WorkflowGraph) -> Result<()>,
) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let row = find_row(&mut tx.conn(), workflow_id).await?;
    let before = load_graph(&mut tx.conn(), workflow_id).await?;
    let mut graph = before.clone();
    change(&mut graph)?;
    write_graph(&mut tx.conn(), workflow_id, row.revision, &graph, now).await?;
    let after = load_graph(&mut tx.conn(), workflow_id).await?;
    audit::record(
        &mut tx.conn(),
        Actor::Principal(principal),
        action,
        "workflow",
        Some(workflow_id),
        serde_json::to_value(&before).ok(),
        serde_json::to_value(&after).ok(),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, principal, workflow_id).await
}

/// A new id for a step or transition added one at a time: an id no row has, so the save
/// inserts it (negative, like the editor's).
fn unsaved_id() -> i64 {
    -1
}

/// Adds a step to a draft; the answer is the workflow with the step's saved id.
pub async fn add_step(
    db: &Db,
    principal: &Principal,
    workflow_id: i64,
    mut step: Step,
) -> Result<Workflow> {
    step.id = StepId(unsaved_id());
    edit_graph(db, principal, workflow_id, "workflow.step_added", |graph| {
        graph.steps.push(step);
        Ok(())
    })
    .await
}

async fn workflow_of_step(db: &Db, step_id: i64) -> Result<i64> {
    let mut pooled = db.acquire().await?;
    rows::workflow_of_step(&mut pooled.conn(), step_id)
        .await?
        .ok_or_else(|| AppError::not_found("Step").into())
}

async fn workflow_of_transition(db: &Db, transition_id: i64) -> Result<i64> {
    let mut pooled = db.acquire().await?;
    rows::workflow_of_transition(&mut pooled.conn(), transition_id)
        .await?
        .ok_or_else(|| AppError::not_found("Transition").into())
}

/// Replaces a step of a draft (its id stays).
pub async fn update_step(
    db: &Db,
    principal: &Principal,
    step_id: i64,
    mut step: Step,
) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let workflow_id = workflow_of_step(db, step_id).await?;
    step.id = StepId(step_id);
    edit_graph(
        db,
        principal,
        workflow_id,
        "workflow.step_updated",
        |graph| match graph.steps.iter_mut().find(|s| s.id.0 == step_id) {
            Some(slot) => {
                *slot = step;
                Ok(())
            }
            None => Err(AppError::not_found("Step").into()),
        },
    )
    .await
}

/// Removes a step from a draft, with the transitions that touch it.
pub async fn delete_step(db: &Db, principal: &Principal, step_id: i64) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let workflow_id = workflow_of_step(db, step_id).await?;
    edit_graph(
        db,
        principal,
        workflow_id,
        "workflow.step_deleted",
        |graph| {
            graph.steps.retain(|s| s.id.0 != step_id);
            graph
                .transitions
                .retain(|t| t.from.0 != step_id && t.to.0 != step_id);
            Ok(())
        },
    )
    .await
}

/// Adds a transition between two steps of the same draft.
pub async fn add_transition(
    db: &Db,
    principal: &Principal,
    from: i64,
    to: i64,
    action: &str,
) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let workflow_id = workflow_of_step(db, from).await?;
    let transition = Transition::new(unsaved_id(), from, to, action);
    edit_graph(
        db,
        principal,
        workflow_id,
        "workflow.transition_added",
        |graph| {
            graph.transitions.push(transition);
            Ok(())
        },
    )
    .await
}

pub async fn update_transition(
    db: &Db,
    principal: &Principal,
    transition_id: i64,
    from: i64,
    to: i64,
    action: &str,
) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let workflow_id = workflow_of_transition(db, transition_id).await?;
    edit_graph(
        db,
        principal,
        workflow_id,
        "workflow.transition_updated",
        |graph| match graph
            .transitions
            .iter_mut()
            .find(|t| t.id.0 == transition_id)
        {
            Some(slot) => {
                *slot = Transition::new(transition_id, from, to, action);
                Ok(())
            }
            None => Err(AppError::not_found("Transition").into()),
        },
    )
    .await
}

pub async fn delete_transition(
    db: &Db,
    principal: &Principal,
    transition_id: i64,
) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let workflow_id = workflow_of_transition(db, transition_id).await?;
    edit_graph(
        db,
        principal,
        workflow_id,
        "workflow.transition_deleted",
        |graph| {
            graph.transitions.retain(|t| t.id.0 != transition_id);
            Ok(())
        },
    )
    .await
}

// ------------------------------------------------------------------ versions

/// Problems as a 422: the message lists them, the details name each by code.
fn refuse(problems: &[ProblemReport]) -> AppError {
    let mut err = AppError::new(
        domain::ErrorKind::Unprocessable,
        format!(
            "The workflow cannot be deployed: {}",
            problems
                .iter()
                .map(|p| p.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        ),
    );
    for (i, problem) in problems.iter().enumerate() {
        err.details
            .insert(format!("{}.{i}", problem.code), problem.message.clone());
    }
    err
}

/// Refuses a match set another deployed workflow already has: there are never ties when a
/// ticket is matched.
async fn check_unique_match(conn: &mut Conn<'_>, row: &WorkflowRow) -> Result<()> {
    let clashes = rows::same_match_set(
        conn,
        row.id,
        row.category_id,
        row.sub_category_id,
        row.department_id,
    )
    .await?;
    if let Some(other) = clashes.first() {
        let mut err = AppError::new(
            domain::ErrorKind::Unprocessable,
            format!(
                "The deployed workflow '{other}' already matches the same category, \
                 sub-category and department; change one of them or pause '{other}' first."
            ),
        );
        err.details
            .insert("match".to_owned(), format!("same match set as '{other}'"));
        return Err(err.into());
    }
    Ok(())
}

/// Where the workflow `id`, deployed with the match set `draft`, would meet the other deployed
/// workflows: which tickets both would match, and which of the two would get them. The deploy
/// confirmation lists these, so that nobody moves another team's tickets unawares.
pub async fn overlaps(
    db: &Db,
    principal: &Principal,
    id: i64,
    draft: MatchSet,
) -> Result<Vec<MatchOverlap>> {
    authorize(principal, Permission::ManageWorkflows)?;
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    find_row(&mut conn, id).await?;
    let categories = ticket_rows::categories(&mut conn).await?;
    let departments = ticket_rows::departments(&mut conn).await?;
    let category = |id: Option<i64>| {
        id.and_then(|id| categories.iter().find(|c| c.id == id))
            .map(|c| c.name.clone())
    };
    let department = |id: Option<i64>| {
        id.and_then(|id| departments.iter().find(|d| d.id == id))
            .map(|d| d.name.clone())
    };
    let describe = |set: MatchSet| {
        let kind = match (category(set.category_id), category(set.sub_category_id)) {
            (Some(c), Some(s)) => format!("{c} › {s} tickets"),
            (Some(c), None) | (None, Some(c)) => format!("{c} tickets"),
            (None, None) => "tickets".to_owned(),
        };
        match department(set.department_id) {
            Some(d) => format!("{kind} from {d}"),
            None if set.specificity() == 0 => "every ticket".to_owned(),
            None => kind,
        }
    };
    let mut found = Vec::new();
    for other in rows::list(&mut conn).await? {
        if other.id == id || other.status != "deployed" {
            continue;
        }
        let Some(version_id) = other.deployed_version_id else {
            continue;
        };
        let Some(version) = rows::find_version(&mut conn, version_id).await? else {
            continue;
        };
        let theirs = MatchSet {
            category_id: version.category_id,
            sub_category_id: version.sub_category_id,
            department_id: version.department_id,
        };
        if let Some(both) = draft.overlap(theirs) {
            found.push(MatchOverlap {
                workflow_id: other.id,
                workflow: other.name,
                tickets: describe(both),
                taken: draft.wins_over(id, theirs, other.id),
                same: draft == theirs,
            });
        }
    }
    Ok(found)
}

/// Freezes the draft into a new version and starts new tickets on it. Refused with 422 and
/// the list of problems if the draft is not valid.
///
/// `seen_revision`, when given, is the draft revision the admin reviewed (the editor's
/// confirmation lists what changed): if the draft changed since, 409 rather than deploy
/// something nobody looked at.
pub async fn deploy(
    db: &Db,
    principal: &Principal,
    id: i64,
    seen_revision: Option<i64>,
) -> Result<WorkflowVersion> {
    authorize(principal, Permission::ManageWorkflows)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let row = find_row(&mut tx.conn(), id).await?;
    if seen_revision.is_some_and(|seen| seen != row.revision) {
        return Err(AppError::conflict(
            "The draft was changed since you reviewed it (someone else saved it). Reload it and review the changes again.",
        )
        .into());
    }
    let graph = load_graph(&mut tx.conn(), id).await?;
    let roles = known_roles(&mut tx.conn()).await?;
    let problems: Vec<ProblemReport> = workflow::validate(&graph, &row.sla.0, Some(&roles))
        .iter()
        .map(ProblemReport::from)
        .collect();
    if !problems.is_empty() {
        return Err(refuse(&problems).into());
    }
    check_unique_match(&mut tx.conn(), &row).await?;
    let user_id = principal.user().map(|u| u.user.id);
    let (version_id, number) = rows::insert_version(
        &mut tx.conn(),
        &rows::NewVersion {
            workflow_id: id,
            graph: &graph,
            sla: &row.sla.0,
            end_logic: &row.end_logic,
            category_id: row.category_id,
            sub_category_id: row.sub_category_id,
            department_id: row.department_id,
            deployed_by: user_id,
            now,
        },
    )
    .await?;
    rows::set_status(
        &mut tx.conn(),
        id,
        WorkflowStatus::Deployed.as_str(),
        Some(version_id),
        now,
    )
    .await?;
    audit::record(
        &mut tx.conn(),
        Actor::Principal(principal),
        "workflow.deployed",
        "workflow",
        Some(id),
        Some(serde_json::json!({ "status": row.status, "version": row.deployed_version })),
        Some(serde_json::json!({ "status": "deployed", "version": number })),
        now,
    )
    .await?;
    tx.commit().await?;
    version(db, principal, id, number).await
}

/// Stops matching new tickets (tickets on it carry on), or starts again.
pub async fn set_paused(db: &Db, principal: &Principal, id: i64, paused: bool) -> Result<Workflow> {
    authorize(principal, Permission::ManageWorkflows)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let row = find_row(&mut tx.conn(), id).await?;
    let current = status_of(&row.status);
    let target = if paused {
        if current != WorkflowStatus::Deployed {
            return Err(AppError::conflict("Only a deployed workflow can be paused.").into());
        }
        WorkflowStatus::Paused
    } else {
        if current != WorkflowStatus::Paused {
            return Err(AppError::conflict("Only a paused workflow can be resumed.").into());
        }
        // Resuming runs the version that was deployed; the match set is its.
        let version_id = row
            .deployed_version_id
            .ok_or_else(|| AppError::conflict("This workflow has no deployed version."))?;
        if let Some(v) = rows::find_version(&mut tx.conn(), version_id).await? {
            let frozen = WorkflowRow {
                category_id: v.category_id,
                sub_category_id: v.sub_category_id,
                department_id: v.department_id,
                ..row.clone()
            };
            check_unique_match(&mut tx.conn(), &frozen).await?;
        }
        WorkflowStatus::Deployed
    };
    rows::set_status(&mut tx.conn(), id, target.as_str(), None, now).await?;
    audit::record(
        &mut tx.conn(),
        Actor::Principal(principal),
        if paused {
            "workflow.paused"
        } else {
            "workflow.resumed"
        },
        "workflow",
        Some(id),
        Some(serde_json::json!({ "status": current })),
        Some(serde_json::json!({ "status": target })),
        now,
    )
    .await?;
    tx.commit().await?;
    get(db, principal, id).await
}

fn version_view(v: rows::VersionRow) -> WorkflowVersion {
    WorkflowVersion {
        id: v.id,
        workflow_id: v.workflow_id,
        number: v.number,
        graph: v.graph.0,
        sla: v.sla.0,
        end_logic: end_logic_of(&v.end_logic),
        category_id: v.category_id,
        sub_category_id: v.sub_category_id,
        department_id: v.department_id,
        deployed_by: match (v.deployed_by, v.deployed_by_name, v.deployed_by_email) {
            (Some(id), Some(full_name), Some(email)) => Some(domain::tickets::PersonRef {
                id,
                full_name,
                email,
            }),
            _ => None,
        },
        deployed_at: v.deployed_at,
        is_current: v.is_current,
    }
}

pub async fn versions(db: &Db, principal: &Principal, id: i64) -> Result<Vec<WorkflowVersion>> {
    authorize(principal, Permission::ViewWorkflows)?;
    let mut pooled = db.acquire().await?;
    let mut conn = pooled.conn();
    find_row(&mut conn, id).await?;
    Ok(rows::versions(&mut conn, id)
        .await?
        .into_iter()
        .map(version_view)
        .collect())
}

pub async fn version(
    db: &Db,
    principal: &Principal,
    id: i64,
    number: i64,
) -> Result<WorkflowVersion> {
    versions(db, principal, id)
        .await?
        .into_iter()
        .find(|v| v.number == number)
        .ok_or_else(|| AppError::not_found("Version").into())
}

/// Starts the draft afresh from an earlier version: its graph, SLA, end logic and match
/// set replace the draft's (if the draft is still at `revision`). Steps the draft still holds
/// keep their ids; steps deleted since come back with new ids, so the next deploy's diff
/// shows them as removed and added.
pub async fn draft_from_version(
    db: &Db,
    principal: &Principal,
    id: i64,
    number: i64,
    revision: i64,
) -> Result<Workflow> {
    let version = version(db, principal, id, number).await?;
    let save = DraftSave {
        revision,
        settings: WorkflowInput {
            category_id: Some(version.category_id),
            sub_category_id: Some(version.sub_category_id),
            department_id: Some(version.department_id),
            sla: Some(version.sla),
            end_logic: Some(version.end_logic),
            ..WorkflowInput::default()
        },
        graph: version.graph,
    };
    save_draft(db, principal, id, save).await
}

/// A version by its id (the engine's view of what a task runs on).
pub async fn version_by_id(conn: &mut Conn<'_>, id: i64) -> Result<WorkflowVersion> {
    rows::find_version(conn, id)
        .await?
        .map(version_view)
        .ok_or_else(|| AppError::not_found("Workflow version").into())
}
