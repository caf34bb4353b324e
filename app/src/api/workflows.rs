//! Designing workflows (admins): the list, one workflow's draft with its versions, its settings,
//! steps and transitions one at a time, deploying, pausing and resuming. Validation and the
//! rules of deployment are the services'; these parse the forms and call them.

// A server function takes one argument per form field (so the forms also post without
// scripts); the browser-side functions the `server` macro writes carry no attribute of ours.
#![allow(clippy::too_many_arguments)]

use domain::AppError;
use domain::account::WorkflowRole;
use domain::tickets::ReferenceData;
use domain::workflow::{DraftSave, Workflow, WorkflowSummary, WorkflowVersion};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use services::auth::policy::{Permission, Principal};

/// A workflow's page: the draft, its versions, and what its forms offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkflowPage {
    pub workflow: Workflow,
    /// Newest first.
    pub versions: Vec<WorkflowVersion>,
    pub roles: Vec<WorkflowRole>,
    pub reference: ReferenceData,
}

/// The signed-in admin (not an API key), as the services want the caller.
#[cfg(feature = "ssr")]
async fn designer() -> Result<Principal, AppError> {
    Ok(Principal::User(
        crate::ssr::require_user(Permission::ManageWorkflows).await?,
    ))
}

/// The services name fields as the JSON API has them (`sla.low`, `steps[2].name`,
/// `transitions[0].from`); the forms name them `sla_low`, `name`, `from_step_id`.
#[cfg(feature = "ssr")]
fn form_fields(err: impl Into<AppError>) -> AppError {
    let mut err: AppError = err.into();
    err.details = std::mem::take(&mut err.details)
        .into_iter()
        .map(|(key, message)| {
            let field = if key.starts_with("steps[") || key.starts_with("transitions[") {
                match key.rsplit('.').next() {
                    Some("from") => "from_step_id".to_owned(),
                    Some("to") => "to_step_id".to_owned(),
                    Some("role") => "role_id".to_owned(),
                    Some("escalation_role") => "escalation_role_id".to_owned(),
                    Some(other) => other.to_owned(),
                    None => key.clone(),
                }
            } else {
                key.replace('.', "_")
            };
            (field, message)
        })
        .collect();
    err
}

/// An optional id from a select ("" is none).
#[cfg(feature = "ssr")]
fn optional_id(field: &str, value: &str) -> Result<Option<i64>, AppError> {
    match value.trim() {
        "" => Ok(None),
        id => id
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid_field(field, "is not one of the choices")),
    }
}

/// An SLA typed in hours ("" is not set yet), in seconds.
#[cfg(feature = "ssr")]
fn hours(field: &str, value: &str) -> Result<Option<i64>, AppError> {
    let value = value.trim().replace(',', ".");
    if value.is_empty() {
        return Ok(None);
    }
    match value.parse::<f64>() {
        Ok(h) if h.is_finite() && h > 0.0 && h <= 1e6 => Ok(Some((h * 3600.0).round() as i64)),
        _ => Err(AppError::invalid_field(
            field,
            "must be a number of hours above 0",
        )),
    }
}

/// The settings form's values as the services take them.
#[cfg(feature = "ssr")]
fn settings_input(
    name: String,
    description: String,
    category_id: &str,
    sub_category_id: &str,
    department_id: &str,
    sla: [&str; 4],
    end_logic: &str,
) -> Result<domain::workflow::WorkflowInput, AppError> {
    let [low, medium, high, urgent] = sla;
    Ok(domain::workflow::WorkflowInput {
        name: Some(name),
        description: Some(description),
        category_id: Some(optional_id("category_id", category_id)?),
        sub_category_id: Some(optional_id("sub_category_id", sub_category_id)?),
        department_id: Some(optional_id("department_id", department_id)?),
        sla: Some(domain::workflow::SlaPolicy {
            low: hours("sla_low", low)?,
            medium: hours("sla_medium", medium)?,
            high: hours("sla_high", high)?,
            urgent: hours("sla_urgent", urgent)?,
        }),
        end_logic: Some(
            end_logic
                .parse()
                .map_err(|_| AppError::invalid_field("end_logic", "is not one of the choices"))?,
        ),
    })
}

#[server(endpoint = "admin/workflows")]
pub async fn list_workflows() -> Result<Vec<WorkflowSummary>, AppError> {
    crate::ssr::respond(async {
        let principal = crate::ssr::require(Permission::ViewWorkflows).await?;
        let services = crate::ssr::services()?;
        Ok(services::workflows::list(services.db(), &principal).await?)
    })
    .await
}

#[server(endpoint = "admin/workflows/get")]
pub async fn load_workflow(id: i64) -> Result<WorkflowPage, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewWorkflows).await?;
        let services = crate::ssr::services()?;
        let db = services.db();
        let workflow = services::workflows::get(db, &principal, id).await?;
        let mut versions = services::workflows::versions(db, &principal, id).await?;
        versions.sort_by_key(|v| std::cmp::Reverse(v.number));
        Ok(WorkflowPage {
            workflow,
            versions,
            roles: services::workflow_roles::list(db).await?,
            reference: services::reference::reference_data(db).await?,
        })
    })
    .await
}

/// Creates a workflow (a draft) and goes to its page.
#[server(endpoint = "admin/workflows/create")]
pub async fn create_workflow(
    name: String,
    #[server(default)] description: String,
    #[server(default)] category_id: String,
    #[server(default)] sub_category_id: String,
    #[server(default)] department_id: String,
    #[server(default)] sla_low: String,
    #[server(default)] sla_medium: String,
    #[server(default)] sla_high: String,
    #[server(default)] sla_urgent: String,
    #[server(default)] end_logic: String,
) -> Result<i64, AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let input = settings_input(
            name,
            description,
            &category_id,
            &sub_category_id,
            &department_id,
            [&sla_low, &sla_medium, &sla_high, &sla_urgent],
            if end_logic.is_empty() {
                "none"
            } else {
                &end_logic
            },
        )?;
        let services = crate::ssr::services()?;
        let workflow = services::workflows::create(services.db(), &principal, input)
            .await
            .map_err(form_fields)?;
        if crate::ssr::is_plain_form_post() {
            leptos_axum::redirect(&format!("/admin/workflows/{}", workflow.id));
        }
        Ok(workflow.id)
    })
    .await
}

/// Saves the settings of a draft (name, match set, SLA, end logic).
#[server(endpoint = "admin/workflows/update")]
pub async fn update_workflow(
    id: i64,
    name: String,
    #[server(default)] description: String,
    #[server(default)] category_id: String,
    #[server(default)] sub_category_id: String,
    #[server(default)] department_id: String,
    #[server(default)] sla_low: String,
    #[server(default)] sla_medium: String,
    #[server(default)] sla_high: String,
    #[server(default)] sla_urgent: String,
    #[server(default)] end_logic: String,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let input = settings_input(
            name,
            description,
            &category_id,
            &sub_category_id,
            &department_id,
            [&sla_low, &sla_medium, &sla_high, &sla_urgent],
            if end_logic.is_empty() {
                "none"
            } else {
                &end_logic
            },
        )?;
        let services = crate::ssr::services()?;
        services::workflows::update(services.db(), &principal, id, input)
            .await
            .map_err(form_fields)?;
        Ok(())
    })
    .await
}

/// A step as its form describes it (`id` and position are set by the caller).
#[cfg(feature = "ssr")]
fn step_of(
    name: String,
    instructions: String,
    role_id: &str,
    escalation_role_id: &str,
    weight: &str,
    is_start: bool,
    is_end: bool,
) -> Result<domain::workflow::Step, AppError> {
    let mut step = domain::workflow::Step::new(0, name.trim());
    step.instructions = instructions;
    step.role = optional_id("role_id", role_id)?;
    step.escalation_role = optional_id("escalation_role_id", escalation_role_id)?;
    step.weight = match weight.trim() {
        "" => 1,
        w => w
            .parse()
            .map_err(|_| AppError::invalid_field("weight", "must be a whole number"))?,
    };
    step.is_start = is_start;
    step.is_end = is_end;
    Ok(step)
}

#[server(endpoint = "admin/workflows/steps/add")]
pub async fn add_workflow_step(
    workflow_id: i64,
    name: String,
    #[server(default)] instructions: String,
    #[server(default)] role_id: String,
    #[server(default)] escalation_role_id: String,
    #[server(default)] weight: String,
    #[server(default)] is_start: Option<String>,
    #[server(default)] is_end: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let step = step_of(
            name,
            instructions,
            &role_id,
            &escalation_role_id,
            &weight,
            is_start.is_some(),
            is_end.is_some(),
        )?;
        let services = crate::ssr::services()?;
        services::workflows::add_step(services.db(), &principal, workflow_id, step)
            .await
            .map_err(form_fields)?;
        Ok(())
    })
    .await
}

/// Replaces a step of a draft; where the editor draws it stays as it was.
#[server(endpoint = "admin/workflows/steps/update")]
pub async fn update_workflow_step(
    workflow_id: i64,
    step_id: i64,
    name: String,
    #[server(default)] instructions: String,
    #[server(default)] role_id: String,
    #[server(default)] escalation_role_id: String,
    #[server(default)] weight: String,
    #[server(default)] is_start: Option<String>,
    #[server(default)] is_end: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let mut step = step_of(
            name,
            instructions,
            &role_id,
            &escalation_role_id,
            &weight,
            is_start.is_some(),
            is_end.is_some(),
        )?;
        let services = crate::ssr::services()?;
        let current = services::workflows::get(services.db(), &principal, workflow_id).await?;
        if let Some(stored) = current.graph.step(domain::workflow::StepId(step_id)) {
            step.position = stored.position;
        }
        services::workflows::update_step(services.db(), &principal, step_id, step)
            .await
            .map_err(form_fields)?;
        Ok(())
    })
    .await
}

#[server(endpoint = "admin/workflows/steps/delete")]
pub async fn delete_workflow_step(step_id: i64) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let services = crate::ssr::services()?;
        services::workflows::delete_step(services.db(), &principal, step_id).await?;
        Ok(())
    })
    .await
}

#[server(endpoint = "admin/workflows/transitions/add")]
pub async fn add_workflow_transition(
    #[server(default)] from_step_id: String,
    #[server(default)] to_step_id: String,
    #[server(default)] action: String,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let (from, to) = transition_ends(&from_step_id, &to_step_id)?;
        let services = crate::ssr::services()?;
        services::workflows::add_transition(services.db(), &principal, from, to, action.trim())
            .await
            .map_err(form_fields)?;
        Ok(())
    })
    .await
}

#[server(endpoint = "admin/workflows/transitions/update")]
pub async fn update_workflow_transition(
    transition_id: i64,
    #[server(default)] from_step_id: String,
    #[server(default)] to_step_id: String,
    #[server(default)] action: String,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let (from, to) = transition_ends(&from_step_id, &to_step_id)?;
        let services = crate::ssr::services()?;
        services::workflows::update_transition(
            services.db(),
            &principal,
            transition_id,
            from,
            to,
            action.trim(),
        )
        .await
        .map_err(form_fields)?;
        Ok(())
    })
    .await
}

/// The two steps a transition form names; both are required.
#[cfg(feature = "ssr")]
fn transition_ends(from: &str, to: &str) -> Result<(i64, i64), AppError> {
    let from = optional_id("from_step_id", from)?
        .ok_or_else(|| AppError::invalid_field("from_step_id", "choose a step"))?;
    let to = optional_id("to_step_id", to)?
        .ok_or_else(|| AppError::invalid_field("to_step_id", "choose a step"))?;
    Ok((from, to))
}

#[server(endpoint = "admin/workflows/transitions/delete")]
pub async fn delete_workflow_transition(transition_id: i64) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let services = crate::ssr::services()?;
        services::workflows::delete_transition(services.db(), &principal, transition_id).await?;
        Ok(())
    })
    .await
}

/// Freezes the draft into a new version that new tickets start on; its number. Refused
/// (422) with the problems if the draft cannot run.
#[server(endpoint = "admin/workflows/deploy")]
pub async fn deploy_workflow(id: i64, seen_revision: Option<i64>) -> Result<i64, AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let services = crate::ssr::services()?;
        Ok(
            services::workflows::deploy(services.db(), &principal, id, seen_revision)
                .await?
                .number,
        )
    })
    .await
}

/// Where the workflow, deployed with this match set, would meet the other deployed workflows
/// (the deploy confirmation lists it).
#[server(endpoint = "admin/workflows/overlaps", input = Json)]
pub async fn workflow_overlaps(
    id: i64,
    matches: domain::workflow::MatchSet,
) -> Result<Vec<domain::workflow::MatchOverlap>, AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let services = crate::ssr::services()?;
        Ok(services::workflows::overlaps(services.db(), &principal, id, matches).await?)
    })
    .await
}

/// Pauses a deployed workflow (`paused`), or resumes a paused one; its status after.
#[server(endpoint = "admin/workflows/pause")]
pub async fn set_workflow_paused(
    id: i64,
    paused: bool,
) -> Result<domain::workflow::WorkflowStatus, AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let services = crate::ssr::services()?;
        Ok(
            services::workflows::set_paused(services.db(), &principal, id, paused)
                .await?
                .status,
        )
    })
    .await
}

/// Deletes a workflow that was never deployed, and goes back to the list.
#[server(endpoint = "admin/workflows/delete")]
pub async fn delete_workflow(id: i64) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let services = crate::ssr::services()?;
        services::workflows::delete(services.db(), &principal, id).await?;
        leptos_axum::redirect("/admin/workflows");
        Ok(())
    })
    .await
}

/// The visual editor's save (explicit or automatic): settings and graph together, refused
/// with 409 if another admin saved the draft since `save.revision`. JSON, since a graph does
/// not fit a form.
#[server(endpoint = "admin/workflows/save-draft", input = Json)]
pub async fn save_workflow_draft(id: i64, save: DraftSave) -> Result<Workflow, AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let services = crate::ssr::services()?;
        Ok(services::workflows::save_draft(services.db(), &principal, id, save).await?)
    })
    .await
}

/// Replaces the draft with an earlier version (graph, SLA, end logic, match set).
#[server(endpoint = "admin/workflows/draft-from-version")]
pub async fn draft_from_version(id: i64, number: i64, revision: i64) -> Result<Workflow, AppError> {
    crate::ssr::respond(async move {
        let principal = designer().await?;
        let services = crate::ssr::services()?;
        Ok(
            services::workflows::draft_from_version(
                services.db(),
                &principal,
                id,
                number,
                revision,
            )
            .await?,
        )
    })
    .await
}
