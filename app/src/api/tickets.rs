//! Tickets for the portal and the agent views: reference data for forms, submitting, the
//! list (the same query string as the REST list), one ticket with its history, and status
//! changes. Visibility is the services' one rule.

use domain::AppError;
use domain::Page;
use domain::tickets::{Attachment, ReferenceData, Ticket, TicketEvent, TicketSummary};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use services::auth::policy::Permission;

/// A ticket with what its page shows around it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketView {
    pub ticket: Ticket,
    pub history: Vec<TicketEvent>,
    pub attachments: Vec<Attachment>,
    /// The viewer may change status and fields (agents and admins).
    pub can_work: bool,
    /// The viewer is the requester of this resolved ticket: they may say it is still broken.
    pub can_reopen: bool,
}

#[server(endpoint = "tickets/reference")]
pub async fn load_reference_data() -> Result<ReferenceData, AppError> {
    crate::ssr::respond(async {
        crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        Ok(services::reference::reference_data(services.db()).await?)
    })
    .await
}

/// The caller's visible tickets for a list query string (`status=open&q=vpn&page=2`).
#[server(endpoint = "tickets/list")]
pub async fn list_tickets(query: String) -> Result<Page<TicketSummary>, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect();
        let query = domain::tickets::TicketQuery::from_pairs(
            pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        )?;
        let services = crate::ssr::services()?;
        Ok(services::tickets::list(services.db(), &principal, &query).await?)
    })
    .await
}

#[server(endpoint = "tickets/get")]
pub async fn load_ticket(id: i64) -> Result<TicketView, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        let ticket = services::tickets::get(services.db(), &principal, id).await?;
        let history = services::tickets::history(services.db(), &principal, id).await?;
        let attachments = services::attachments::list(services.db(), &principal, id).await?;
        let can_work =
            services::auth::policy::authorize(&principal, Permission::WorkTickets).is_ok();
        let can_reopen = ticket.status == domain::tickets::TicketStatus::Resolved
            && principal.user().map(|u| u.user.id) == Some(ticket.requester.id)
            && services::auth::policy::authorize(&principal, Permission::ReopenOwnTickets).is_ok();
        Ok(TicketView {
            ticket,
            history,
            attachments,
            can_work,
            can_reopen,
        })
    })
    .await
}

/// Submits a ticket from the portal form and goes to its page.
#[server(endpoint = "tickets/submit")]
pub async fn submit_ticket(
    subject: String,
    description: String,
    // Optional: a disabled select (no sub-categories) is not sent at all.
    category_id: Option<String>,
    sub_category_id: Option<String>,
    department_id: Option<String>,
    priority: String,
) -> Result<i64, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::SubmitTickets).await?;
        let optional_id = |field: &str, value: &Option<String>| -> Result<Option<i64>, AppError> {
            let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) else {
                return Ok(None);
            };
            value
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| AppError::invalid_field(field, "is not one of the choices"))
        };
        let input = domain::tickets::NewTicket {
            subject,
            description,
            category_id: optional_id("category_id", &category_id)?,
            sub_category_id: optional_id("sub_category_id", &sub_category_id)?,
            department_id: optional_id("department_id", &department_id)?,
            priority: priority
                .parse()
                .map_err(|p| AppError::invalid_field("priority", p))?,
            fields: Default::default(),
        };
        let services = crate::ssr::services()?;
        let ticket = services::tickets::create(
            &services,
            &principal,
            input,
            domain::tickets::TicketSource::Portal,
        )
        .await?;
        // The running app uploads the chosen files first and then goes to the ticket itself;
        // a plain form post (no WebAssembly yet) is sent there at once.
        if crate::ssr::is_plain_form_post() {
            leptos_axum::redirect(&format!("/tickets/{}", ticket.id));
        }
        Ok(ticket.id)
    })
    .await
}

/// Moves a ticket to another status with a note (agents and admins), for the requester's eyes
/// too unless `note_internal` is ticked. `end_workflow` is the form's confirmation that resolving or closing ends the running workflow.
#[server(endpoint = "tickets/status")]
pub async fn change_ticket_status(
    id: i64,
    status: String,
    note: String,
    #[server(default)] note_internal: Option<String>,
    #[server(default)] end_workflow: Option<String>,
) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::WorkTickets).await?;
        let status = status
            .parse()
            .map_err(|p| AppError::invalid_field("status", p))?;
        let services = crate::ssr::services()?;
        services::tickets::change_status(
            services.db(),
            &principal,
            id,
            domain::tickets::StatusChange {
                status,
                note,
                note_internal: super::ticked(note_internal),
                end_workflow: super::ticked(end_workflow),
            },
        )
        .await?;
        Ok(())
    })
    .await
}

/// The requester's "still broken": reopens their resolved ticket, saying why.
#[server(endpoint = "tickets/reopen")]
pub async fn reopen_ticket(id: i64, note: String) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ReopenOwnTickets).await?;
        let services = crate::ssr::services()?;
        services::tickets::reopen(
            services.db(),
            &principal,
            id,
            domain::tickets::ReopenRequest { note },
        )
        .await?;
        Ok(())
    })
    .await
}

/// The caller's saved ticket-list filters.
#[server(endpoint = "tickets/saved-filters")]
pub async fn list_saved_filters() -> Result<Vec<domain::tickets::SavedFilter>, AppError> {
    crate::ssr::respond(async {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        Ok(services::reference::saved_filters(services.db(), &principal).await?)
    })
    .await
}

/// Saves the list's current query string under a name.
#[server(endpoint = "tickets/save-filter")]
pub async fn save_filter(
    name: String,
    query: String,
) -> Result<domain::tickets::SavedFilter, AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        Ok(services::reference::save_filter(services.db(), &principal, &name, &query).await?)
    })
    .await
}

#[server(endpoint = "tickets/delete-filter")]
pub async fn delete_saved_filter(id: i64) -> Result<(), AppError> {
    crate::ssr::respond(async move {
        let principal = crate::ssr::require(Permission::ViewTickets).await?;
        let services = crate::ssr::services()?;
        Ok(services::reference::delete_filter(services.db(), &principal, id).await?)
    })
    .await
}

/// Markdown as the ticket page will show it (sanitised HTML), for the Preview of a form.
#[server(endpoint = "markdown/preview")]
pub async fn preview_markdown(text: String) -> Result<String, AppError> {
    crate::ssr::respond(async move {
        crate::ssr::require(Permission::ViewTickets).await?;
        let text = domain::tickets::check_description(&text)?;
        Ok(services::markdown::render(&text))
    })
    .await
}
