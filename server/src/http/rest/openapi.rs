//! The OpenAPI 3 document of the REST API (`/api/openapi.json`, browsable at `/api/docs`),
//! generated from the handlers' annotations so it cannot drift from them.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    api_keys, attachments, audit, auth, comments, helpdesk, notifications, roles, tasks, tickets,
    users, workflows,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "TTS REST API",
        description = "Tickets, workflows and identity. Lists take page, page_size (≤ 100), \
            ordering and answer {count, next, previous, results}. Errors are \
            {\"error\": {\"code\", \"message\", \"details\"}}. Authenticate with \
            `Authorization: Bearer <access>` (from /api/v1/auth/token/), the `access_token` \
            cookie, or `X-API-Key` for integrations. Paths accept a trailing slash or none.",
        version = env!("CARGO_PKG_VERSION"),
    ),
    paths(
        auth::token, auth::verify, auth::refresh, auth::logout, auth::me, auth::change_password,
        auth::request_reset, auth::confirm_reset, auth::sessions, auth::revoke_session,
        auth::revoke_other_sessions, auth::second_factor, auth::begin_totp, auth::confirm_totp,
        auth::begin_email, auth::confirm_email, auth::disable_second_factor, auth::recovery_codes,
        users::list, users::create, users::get, users::update, users::deactivate, users::unlock,
        users::reset_second_factor,
        roles::list, roles::create, roles::get, roles::update, roles::delete, roles::members,
        roles::set_member, roles::remove_member, roles::policies, roles::set_policy,
        api_keys::list, api_keys::create, api_keys::revoke,
        tickets::list, tickets::create, tickets::send, tickets::get, tickets::update,
        tickets::change_status, tickets::reopen, tickets::history,
        attachments::list, attachments::upload, attachments::download,
        helpdesk::reference_data, helpdesk::create_category, helpdesk::update_category,
        helpdesk::create_department, helpdesk::update_department, helpdesk::set_department_members,
        helpdesk::update_priority, helpdesk::settings, helpdesk::put_settings,
        helpdesk::saved_filters, helpdesk::save_filter, helpdesk::delete_filter,
        workflows::list, workflows::create, workflows::get, workflows::update, workflows::delete,
        workflows::save_graph, workflows::deploy, workflows::pause, workflows::resume,
        workflows::versions, workflows::version, workflows::steps, workflows::add_step,
        workflows::update_step, workflows::delete_step, workflows::transitions,
        workflows::add_transition, workflows::update_transition, workflows::delete_transition,
        tasks::inbox, tasks::get, tasks::of_ticket, tasks::transition, tasks::reassign,
        tasks::escalate, tasks::start, tasks::retry_end_logic, tasks::triage, tasks::retry_triage, audit::audit,
        notifications::list, notifications::read, notifications::read_all,
        notifications::preferences, notifications::set_preferences, notifications::send,
        notifications::deliveries,
        comments::list, comments::create, comments::get, comments::update, comments::delete,
        comments::rate, comments::attachments, comments::attach, comments::history,
    ),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("api_key" = []), ("cookie" = [])),
    tags(
        (name = "auth", description = "Sign-in, tokens, second factor, sessions, passwords"),
        (name = "users", description = "The user directory (administrators)"),
        (name = "roles", description = "Workflow roles and their members"),
        (name = "security", description = "Second-factor requirements per system role"),
        (name = "api-keys", description = "Keys for integrations (administrators)"),
        (name = "tickets", description = "Tickets: list, search, submit, change, history; external intake"),
        (name = "helpdesk", description = "Categories, departments, priorities and helpdesk settings"),
        (name = "workflows", description = "Workflows, their draft steps and transitions, versions, deployment"),
        (name = "tasks", description = "The agent inbox, acting on tasks, the triage queue"),
        (name = "audit", description = "The audit log (administrators)"),
        (name = "notifications", description = "In-app notifications"),
        (name = "comments", description = "Comments on tickets, replies, ratings, attachments, internal notes; live at /ws/comments/{ticket_id}/"),
    )
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        );
        components.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("access_token"))),
        );
    }
}

/// `GET /api/openapi.json`: the document, built on the first request and kept as its JSON.
///
/// Kept as utoipa's `OpenApi` value (a tree of thousands of small maps), as Swagger UI's own
/// route keeps it, the document held about 10 MB of the server's memory from start-up on,
/// and building it was part of every start. As JSON it is a few hundred kilobytes, and only
/// once someone asks for it.
pub async fn document() -> axum::response::Response {
    use axum::response::IntoResponse;
    static DOCUMENT: std::sync::OnceLock<axum::body::Bytes> = std::sync::OnceLock::new();
    let json = DOCUMENT.get_or_init(|| match serde_json::to_vec(&ApiDoc::openapi()) {
        Ok(json) => json.into(),
        // Not expected (every key is text); the error names what could not be written.
        Err(err) => {
            tracing::error!(error = %err, "the OpenAPI document could not be written as JSON");
            axum::body::Bytes::new()
        }
    });
    if json.is_empty() {
        return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json.clone(),
    )
        .into_response()
}
